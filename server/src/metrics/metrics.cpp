#include "metrics/metrics.h"

#include <cstdio>

namespace lumbung::server {

void Metrics::observe_request(const std::string& route, int status, size_t bytes_in,
                              size_t bytes_out, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  RouteStats& r = routes_[route];
  ++r.by_status[status];
  r.bytes_in += bytes_in;
  r.bytes_out += bytes_out;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++r.buckets[i];
  }
  ++r.count;
  r.sum += seconds;
}

void Metrics::add_bytes_out(const std::string& route, size_t bytes_out) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_[route].bytes_out += bytes_out;
}

std::string Metrics::render() const {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    line(std::string("# HELP ") + name + " " + help);
    line(std::string("# TYPE ") + name + " counter");
    line(std::string(name) + " " + std::to_string(v));
  };
  counter("lumbung_ops_applied_total", "Ops accepted from pushes and review actions.",
          ops_applied_);
  counter("lumbung_ops_pulled_total", "Ops sent in pull pages.", ops_pulled_);
  counter("lumbung_conflicts_opened_total", "Conflict entries opened.", conflicts_opened_);
  counter("lumbung_duplicates_opened_total", "Duplicate entries opened.", duplicates_opened_);
  counter("lumbung_ops_restamped_total", "Ops re-stamped for a far-future clock.", ops_restamped_);

  std::lock_guard<std::mutex> lock(mu_);
  line("# HELP lumbung_http_requests_total HTTP requests by route and status.");
  line("# TYPE lumbung_http_requests_total counter");
  for (const auto& [route, r] : routes_) {
    for (const auto& [status, n] : r.by_status) {
      line("lumbung_http_requests_total{route=\"" + route + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(n));
    }
  }
  line("# HELP lumbung_http_request_bytes_total Request body bytes as received.");
  line("# TYPE lumbung_http_request_bytes_total counter");
  for (const auto& [route, r] : routes_) {
    line("lumbung_http_request_bytes_total{route=\"" + route + "\"} " + std::to_string(r.bytes_in));
  }
  line("# HELP lumbung_http_response_bytes_total Response body bytes as sent.");
  line("# TYPE lumbung_http_response_bytes_total counter");
  for (const auto& [route, r] : routes_) {
    line("lumbung_http_response_bytes_total{route=\"" + route + "\"} " +
         std::to_string(r.bytes_out));
  }
  line("# HELP lumbung_http_request_duration_seconds Request latency.");
  line("# TYPE lumbung_http_request_duration_seconds histogram");
  char num[64];
  for (const auto& [route, r] : routes_) {
    const std::string lbl = "route=\"" + route + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(num, sizeof num, "%g", kBuckets[i]);
      line("lumbung_http_request_duration_seconds_bucket{" + lbl + ",le=\"" + num + "\"} " +
           std::to_string(r.buckets[i]));
    }
    line("lumbung_http_request_duration_seconds_bucket{" + lbl + ",le=\"+Inf\"} " +
         std::to_string(r.count));
    std::snprintf(num, sizeof num, "%.6f", r.sum);
    line("lumbung_http_request_duration_seconds_sum{" + lbl + "} " + num);
    line("lumbung_http_request_duration_seconds_count{" + lbl + "} " + std::to_string(r.count));
  }
  return out;
}

}  // namespace lumbung::server

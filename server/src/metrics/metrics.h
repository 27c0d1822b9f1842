// Server metrics in Prometheus text format (GET /metrics). Thread-safe: counters are
// atomics; the per-route table takes a mutex (one short critical section per request).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace lumbung::server {

class Metrics {
 public:
  // One finished HTTP request: its route pattern (e.g. "/v1/conflicts/{id}/resolve", or
  // "unmatched"), status, body bytes in and out as on the wire, and latency in seconds.
  void observe_request(const std::string& route, int status, size_t bytes_in, size_t bytes_out,
                       double seconds);

  // Body bytes of an answer sent after its request was observed (a chunked answer's rest).
  void add_bytes_out(const std::string& route, size_t bytes_out);

  void add_ops_applied(uint64_t n) { ops_applied_ += n; }
  void add_ops_pulled(uint64_t n) { ops_pulled_ += n; }
  void add_conflicts_opened(uint64_t n) { conflicts_opened_ += n; }
  void add_duplicates_opened(uint64_t n) { duplicates_opened_ += n; }
  void add_ops_restamped(uint64_t n) { ops_restamped_ += n; }

  std::string render() const;

 private:
  // Latency histogram bucket bounds in seconds (Prometheus "le").
  static constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1.0,  2.5,   5.0,  10.0};
  struct RouteStats {
    std::map<int, uint64_t> by_status;
    uint64_t bytes_in = 0, bytes_out = 0;
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, RouteStats> routes_;
  std::atomic<uint64_t> ops_applied_{0}, ops_pulled_{0}, conflicts_opened_{0},
      duplicates_opened_{0}, ops_restamped_{0};
};

}  // namespace lumbung::server

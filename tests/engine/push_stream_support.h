// What tests/engine/push_stream_test.cpp shares among its cases: varied records, laptops,
// a transport that notes requests, raw requests and state asks to the real server.
#pragma once

#include <doctest/doctest.h>

#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/push_stream.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "relay.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/raw_http.h"
#include "support/temp_dir.h"

using namespace lumbung;
using bench::LinkProfile;
using bench::Relay;
using test::ServerFixture;

namespace {

// Records that differ the way real ones do, so they compress like the workload.
Json varied_enrolment(int serial, std::mt19937& rng) {
  static const char* first[] = {"Eko", "Wulan", "Joko", "Sri", "Agus", "Dewi", "Budi", "Rina"};
  static const char* last[] = {"Setiawan", "Pratama", "Gunawan", "Lestari", "Saputra", "Wati"};
  Json r = test::konawe_enrolment(serial);
  r["full_name"] = std::string(first[rng() % 8]) + " " + last[rng() % 6];
  std::string phone = "08";
  for (int i = 0; i < 10; ++i) phone.push_back(static_cast<char>('0' + rng() % 10));
  r["phone"] = phone;
  r["monthly_income"] = 1000000 + 100000 * static_cast<int>(rng() % 190);
  r["officer_id"] = "OFC-0" + std::to_string(100 + rng() % 900);
  return r;
}

// Passes requests to the real transport and notes their targets; `plain_type` sends a
// push stream as if it were JSON - what a server older than the stream reads it as.
class Tap final : public Transport {
 public:
  explicit Tap(Transport& inner) : inner_(inner) {}
  HttpResponse send(const HttpRequest& request) override {
    targets.push_back(request.target);
    if (before) before(request);
    HttpRequest r = request;
    for (auto& [k, v] : r.headers) {
      if (plain_type && k == "Content-Type" && v == kPushStreamMediaType) v = "application/json";
    }
    HttpResponse resp = inner_.send(r);
    if (plain_type) resp.headers.erase("lumbung-push-stream");  // nor does it say it reads them
    // A state without answers is small, so not gzip'ed: readable here.
    incomplete_states += request.target.rfind("/v1/push/state", 0) == 0 &&
                         resp.body.find("\"complete\":false") != std::string::npos;
    return resp;
  }
  size_t count(const std::string& part) const {
    size_t n = 0;
    for (const auto& t : targets) n += t.find(part) != std::string::npos;
    return n;
  }
  std::vector<std::string> targets;
  bool plain_type = false;
  size_t incomplete_states = 0;                    // state answers that said "complete": false
  std::function<void(const HttpRequest&)> before;  // runs before a request is passed on

 private:
  Transport& inner_;
};

struct Laptop {
  test::TempDir dir;
  std::unique_ptr<Store> store;
  std::string token;

  Laptop(ServerFixture& f, const std::string& id, WallClock* clock = nullptr) {
    OpenOptions o;
    o.path = dir.path() + "/" + id + ".db";
    o.schema = test::enrolment_schema();
    o.device_id = id;
    o.clock = clock;
    store = Store::open(o);
    auto direct = make_http_transport(f.server().base_url());
    SyncClient c(*store, *direct, "");
    token = c.register_device(f.code({"74.02"}), id);
  }
  void create(int n, int serial_base) {
    std::mt19937 rng(static_cast<unsigned>(serial_base));
    Batch batch = store->begin_batch();
    for (int i = 1; i <= n; ++i) batch.create("enrolment", varied_enrolment(serial_base + i, rng));
    batch.commit();
  }
};

SyncOptions streamed() {
  SyncOptions o;
  o.push_stream = true;       // asked for (not yet the default)
  o.initial_backoff_ms = 20;  // the link heals at once: only the count matters here
  o.max_backoff_ms = 100;
  return o;
}

struct Carried {
  SyncReport report;
  uint64_t bytes = 0, cuts = 0;
  size_t state_asks = 0;
};

Carried push_through(Relay& relay, Laptop& l, const SyncOptions& o) {
  relay.reset();
  auto http = make_http_transport(relay.url());
  Tap tap(*http);
  SyncClient c(*l.store, tap, l.token);
  Carried out;
  out.report = c.push(o);
  out.bytes = relay.bytes_up() + relay.bytes_down();
  out.cuts = relay.cuts();
  out.state_asks = tap.count("/v1/push/state");
  return out;
}

// What a new laptop pulls: every op the server holds, once each.
uint64_t pulled_by_new_laptop(ServerFixture& f, const std::string& id) {
  Laptop l(f, id);
  auto http = make_http_transport(f.server().base_url());
  SyncClient c(*l.store, *http, l.token);
  SyncOptions o;
  o.bootstrap_snapshot = false;  // the log itself: an op applied twice would come twice
  const SyncReport r = c.pull(o);
  CHECK(l.store->stats().records == r.pulled);
  return r.pulled;
}

HttpResponse raw_push(ServerFixture& f, const std::string& token, std::string body,
                      const std::string& encoding = "") {
  auto http = make_http_transport(f.server().base_url());
  HttpRequest req;
  req.method = "POST";
  req.target = "/v1/push?stream=1";
  req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", kPushStreamMediaType}};
  if (!encoding.empty()) req.headers.emplace_back("Content-Encoding", encoding);
  req.body = std::move(body);
  return http->send(req);
}

Json push_state(ServerFixture& f, const std::string& token, const std::string& after) {
  auto http = make_http_transport(f.server().base_url());
  HttpRequest req;
  req.method = "GET";
  req.target = "/v1/push/state?after=" + after;
  req.headers = {{"Authorization", "Bearer " + token}};
  const HttpResponse r = http->send(req);
  Json j = Json::parse(r.body);
  j["status"] = r.status;
  return j;
}

std::string chunked(const std::string& body, size_t chunk) {
  std::string out;
  char size[32];
  for (size_t at = 0; at < body.size(); at += chunk) {
    const size_t n = std::min(chunk, body.size() - at);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size + body.substr(at, n) + "\r\n";
  }
  return out;
}

constexpr int kRecords = 2400;

// Under the sanitizers the server applies frames several times slower: timing and the
// one-request checks hold in optimised builds only (as engine_pull_stream_test).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSlowServer = true;
#else
constexpr bool kSlowServer = false;
#endif

}  // namespace

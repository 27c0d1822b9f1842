// The sync client's helper task (it reads the next push batch while the current one is with
// the server) against writers on other threads, with a minimal in-process server that
// acknowledges whatever it is sent. Run under ASan/UBSan by tools/test.sh.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "common/gzip.h"
#include "lumbung/changeset.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;

namespace {

// Acknowledges every push up to its last seq, checking the device's seqs arrive in order
// without gaps; pulls are empty.
class AckingServer final : public Transport {
 public:
  HttpResponse send(const HttpRequest& req) override {
    HttpResponse r;
    r.status = 200;
    if (req.target.rfind("/v1/push", 0) == 0) {
      const Json body = is_changeset_v2(req.body)  // the client's default format
                            ? decode_changeset_v2(req.body, 64u << 20)
                            : Json::parse(gzip::decompress(req.body, 64u << 20));
      for (const auto& op : body.at("ops")) {
        const uint64_t seq = op.at("seq").get<uint64_t>();
        if (seq <= acked_) continue;  // a resend
        if (seq != acked_ + 1) gaps_++;
        acked_ = seq;
        ops_++;
      }
      r.body = Json{{"acked_seq", acked_}, {"server_time_ms", 0}}.dump();
    } else {
      r.body = R"({"ops":[],"next":"c1","more":false})";
    }
    return r;
  }
  uint64_t acked_ = 0, ops_ = 0, gaps_ = 0;
};

}  // namespace

TEST_CASE("pushing on one thread while three threads write loses and repeats nothing") {
  test::TempDir dir;
  OpenOptions o;
  o.path = dir.file("t.db");
  o.schema = test::enrolment_schema();
  o.device_id = "dev-threads";
  auto store = Store::open(o);
  AckingServer server;
  SyncClient client(*store, server, "token");
  SyncOptions opts;
  opts.push_batch = 7;       // many small batches, so prefetches overlap the writers a lot
  opts.push_stream = false;  // batches: their read-ahead is what races the writers here
  std::atomic<bool> writing{true};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const std::string id = store->create("enrolment", test::sample_enrolment(t * 1000 + i + 1));
        if (i % 3 == 0)
          store->update("enrolment", id, {{"phone", "0812345678" + std::to_string(t)}});
      }
    });
  }
  for (int round = 0; round < 200 && writing; ++round) {
    client.sync(opts);
    bool done = true;
    for (auto& w : writers) done = done && !w.joinable();
    if (round > 20) writing = false;
  }
  for (auto& w : writers) w.join();
  client.sync(opts);  // the rest
  CHECK(store->pending_count() == 0);
  CHECK(server.gaps_ == 0);
  CHECK(server.acked_ == 3 * 150 + 3 * 50);
  CHECK(server.ops_ == server.acked_);
}

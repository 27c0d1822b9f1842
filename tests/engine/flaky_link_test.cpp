// Field links (issue 14): syncs through an emulated link that is cut every ~30 KB per
// connection (tools/bench/relay.h, a TCP relay on 127.0.0.1) against the real
// lumbung-server, with the real SyncClient and HTTP transport. Short: a few hundred
// records, retries without long waits, every loop bounded.
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <set>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "relay.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;
using bench::LinkProfile;
using bench::Relay;
using test::ServerFixture;

namespace {

// Records that differ the way real ones do (names, phones, incomes, times), so they
// compress like the workload (~80-100 B each gzip'ed) and not to nothing.
Json varied_enrolment(int serial, std::mt19937& rng) {
  static const char* first[] = {"Eko", "Wulan", "Joko", "Sri", "Agus", "Dewi", "Budi", "Rina"};
  static const char* last[] = {"Setiawan", "Pratama", "Gunawan", "Lestari", "Saputra", "Wati"};
  Json r = test::konawe_enrolment(serial);
  r["full_name"] = std::string(first[rng() % 8]) + " " + last[rng() % 6];
  std::string phone = "08";
  for (int i = 0; i < 10; ++i) phone.push_back(static_cast<char>('0' + rng() % 10));
  r["phone"] = phone;
  r["monthly_income"] = 1000000 + 100000 * static_cast<int>(rng() % 190);
  char at[32];  // the NIK fixes the birth date; the entry time varies
  const unsigned hour = rng() % 24, minute = rng() % 60, ms = rng() % 1000;
  std::snprintf(at, sizeof at, "2025-01-06T%02u:%02u:03.%03uZ", hour, minute, ms);
  r["created_at"] = at;
  r["officer_id"] = "OFC-0" + std::to_string(100 + rng() % 900);
  return r;
}

struct Laptop {
  test::TempDir dir;
  std::unique_ptr<Store> store;
  std::string token;

  Laptop(ServerFixture& f, const std::string& id) {
    OpenOptions o;
    o.path = dir.path() + "/" + id + ".db";
    o.schema = test::enrolment_schema();
    o.device_id = id;
    store = Store::open(o);
    auto direct = make_http_transport(f.server().base_url());
    SyncClient c(*store, *direct, "");
    token = c.register_device(f.code({"74.02"}), id);
  }
};

SyncOptions quick_retries() {
  SyncOptions o;
  o.initial_backoff_ms = 20;  // the link heals at once: only the count matters here
  o.max_backoff_ms = 100;
  return o;
}

// Pushes in change-set format v1: in v2 the 800 records are ~30 KB, no longer surely cut
// every 30 KB (pulls stay v2, and are cut).
SyncOptions v1_push() {
  SyncOptions o = quick_retries();
  o.changeset_format = 1;
  return o;
}

uint64_t live_records(Store& s) { return s.stats().records; }

struct Carried {
  SyncReport report;
  uint64_t bytes = 0;
  uint64_t cuts = 0;
  uint64_t connections = 0;
};

Carried sync_through(Relay& relay, Laptop& l, bool push, const SyncOptions& o) {
  relay.reset();
  auto transport = make_http_transport(relay.url());
  SyncClient c(*l.store, *transport, l.token);
  Carried out;
  out.report = push ? c.push(o) : c.pull(o);
  out.bytes = relay.bytes_up() + relay.bytes_down();
  out.cuts = relay.cuts();
  out.connections = relay.connections();
  return out;
}

}  // namespace

TEST_CASE("a link cut every 30 KB: push and pull complete - every cut a counted retry") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b"), c(f, "laptop-c");
  std::mt19937 rng(14);
  constexpr int kRecords = 800;
  {
    Batch batch = a.store->begin_batch();
    for (int i = 1; i <= kRecords; ++i) batch.create("enrolment", varied_enrolment(i, rng));
    batch.commit();
  }
  // Records of other people through a clean relay, for the bytes a clean push carries.
  Laptop a2(f, "laptop-a2");
  {
    Batch batch = a2.store->begin_batch();
    for (int i = 1; i <= kRecords; ++i) {
      batch.create("enrolment", varied_enrolment(kRecords + i, rng));
    }
    batch.commit();
  }
  // 2 Mbit/s and 20 ms one way (a fair 3G link, so the test stays short), cut every 30 KB;
  // the clean runs go over the same link uncut.
  Relay clean(f.server().port(), LinkProfile{2000000, 20, 0});
  Relay cut(f.server().port(), LinkProfile{2000000, 20, 30000});
  const Carried clean_push = sync_through(clean, a2, true, v1_push());
  CHECK(clean_push.report.retries == 0);

  const auto t0 = std::chrono::steady_clock::now();
  const Carried push = sync_through(cut, a, true, v1_push());
  CHECK(push.report.pushed == kRecords);
  CHECK(a.store->stats().pending_changes == 0);
  // The same 2 x 800 records pulled clean by C and through the cutting link by B, page by
  // page (as from a server older than the streamed pull; pull_stream_test.cpp has the
  // streamed pull through this link).
  SyncOptions paged = quick_retries();
  paged.pull_stream = false;
  const Carried clean_pull = sync_through(clean, c, false, paged);
  CHECK(clean_pull.report.pulled == 2 * kRecords);
  CHECK(clean_pull.report.retries == 0);
  const Carried pull = sync_through(cut, b, false, paged);
  CHECK(pull.report.pulled == 2 * kRecords);  // A's and A2's
  CHECK(live_records(*b.store) == 2 * kRecords);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));

  // One connection per sync (issue 14): on a clean link every request of a push or a pull
  // reuses the first connection. This is also what makes the counts below exact: the relay
  // cuts each connection after 30,000 bytes, so a client that spread a sync over several
  // connections (as cpprestsdk did when the next request came before the previous
  // connection was back in its pool) would see fewer cuts, or none.
  MESSAGE("push: " << push.bytes << " B, " << push.cuts << " cuts, " << push.report.retries
                   << " retries, " << push.report.requests << " requests, " << push.connections
                   << " connections (clean " << clean_push.bytes << " B, " << clean_push.connections
                   << " connections)");
  MESSAGE("pull: " << pull.bytes << " B, " << pull.cuts << " cuts, " << pull.report.retries
                   << " retries, " << pull.report.requests << " requests, " << pull.connections
                   << " connections (clean " << clean_pull.bytes << " B, " << clean_pull.connections
                   << " connections)");
  CHECK(clean_push.connections == 1);
  CHECK(clean_pull.connections == 1);
  // Through the cutting link a new connection only after a cut: each connection but the
  // last was cut (at exactly 30,000 bytes), the last one only if the sync's last answer
  // ended right where the cut fell.
  CHECK(push.connections >= push.cuts);
  CHECK(push.connections <= push.cuts + 1);
  CHECK(pull.connections >= pull.cuts);
  CHECK(pull.connections <= pull.cuts + 1);
  // So the link was really cut: each run needs more than 30,000 bytes, all on its first
  // connection until a cut (push ~43 KB clean, ~58 KB cut, once; pull ~50 KB clean, ~74 KB
  // cut, twice: its first cut falls in a ~30 KB page, whose first ~12 KB are carried again).
  REQUIRE(clean_push.bytes > 30000);
  REQUIRE(clean_pull.bytes > 30000);
  CHECK(push.cuts >= 1);
  CHECK(pull.cuts >= 1);
  CHECK(push.cuts + pull.cuts >= 3);
  // Every cut is one attempt reported, no more, no less: a cut while a request or its
  // answer was on the way fails it (the client's retry) or, on a reused connection before
  // the answer's first byte, makes the HTTP stack send it again by itself (let through and
  // counted). Only a cut of the last connection right after the sync's last answer costs
  // nothing: that connection was then the sync's last, so it is counted among the cuts.
  const uint64_t push_free_cut = push.connections == push.cuts ? 1 : 0;
  const uint64_t pull_free_cut = pull.connections == pull.cuts ? 1 : 0;
  CHECK(push.report.retries + push_free_cut >= push.cuts);  // (unsigned: no "cuts - 1")
  CHECK(pull.report.retries + pull_free_cut >= pull.cuts);
  CHECK(push.report.retries <= push.cuts);
  CHECK(pull.report.retries <= pull.cuts);
  // About one transfer lost per cut: bytes stay near a clean run's. The push re-sends one
  // ~15 KB batch (1.34-1.36x measured). The pull's first cut falls in its third page (~30
  // KB, the sizer has not seen a cut yet) and loses ~12 KB of it, the second ~6 KB: ~74 KB
  // against 49.9-51.0 KB clean, 1.45-1.48x; but the clean pull's pages split differently
  // from run to run (1.52x once in 88 runs, with 48.5 KB clean; 1.43-1.54x at 700-1,000
  // records). So 1.6x for it.
  CHECK(push.bytes < clean_push.bytes * 3 / 2);
  CHECK(pull.bytes < clean_pull.bytes * 8 / 5);

  // Both replicas hold what the server holds.
  auto reviewer = f.reviewer();
  CHECK(f.records(reviewer).size() == 2 * kRecords);
}

namespace {

// B pulls 1,000 records (~55 KB compressed) at 200 kbit/s, 100 ms one way, cut every 30 KB:
// a few seconds in all. What the officer sees meanwhile.
struct CuttingPull {
  SyncReport report;
  std::set<SyncProgress::Stage> stages;
  double longest_gap = 0;
  int64_t countdown_seen = -1;
  uint64_t cuts = 0, connections = 0;
};

CuttingPull pull_through_cuts(bool stream) {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  std::mt19937 rng(7);
  {
    Batch batch = a.store->begin_batch();
    for (int i = 1; i <= 1000; ++i) batch.create("enrolment", varied_enrolment(i, rng));
    batch.commit();
  }
  {
    auto direct = make_http_transport(f.server().base_url());
    SyncClient(*a.store, *direct, a.token).push();
  }
  Relay link(f.server().port(), LinkProfile{200000, 100, 30000});
  auto transport = make_http_transport(link.url());
  SyncClient client(*b.store, *transport, b.token);
  SyncOptions o = quick_retries();
  o.pull_stream = stream;
  o.initial_backoff_ms = 1500;  // long enough to see the countdown
  CuttingPull out;
  int events = 0;
  auto last = std::chrono::steady_clock::now();
  o.on_progress = [&](const SyncProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    out.longest_gap = std::max(out.longest_gap, std::chrono::duration<double>(now - last).count());
    last = now;
    ++events;
    out.stages.insert(p.stage);
    if (p.stage == SyncProgress::Stage::kRetryWait && p.retry_in_ms > 0) {
      out.countdown_seen = p.retry_in_ms;
      CHECK(p.attempt >= 1);
      CHECK(p.max_attempts == o.max_attempts);
      CHECK(!p.last_error.empty());
    }
  };
  out.report = client.sync(o);
  CHECK(out.report.pulled == 1000);
  CHECK(live_records(*b.store) == 1000);
  out.cuts = link.cuts();
  out.connections = link.connections();
  const std::string how = stream ? "streamed" : "pages";
  MESSAGE(how << ": " << events << " events, longest gap " << out.longest_gap << " s, "
              << out.report.retries << " retries, " << out.cuts << " cuts, " << out.connections
              << " connections, " << out.report.seconds << " s");
  return out;
}

}  // namespace

TEST_CASE("a slow link that cuts: progress at least every second with what the link does") {
  const CuttingPull pages = pull_through_cuts(false), stream = pull_through_cuts(true);
  for (const CuttingPull* c : {&pages, &stream}) {
    CHECK(c->longest_gap < 1.0);
    CHECK(c->stages.count(SyncProgress::Stage::kWaiting) +
              c->stages.count(SyncProgress::Stage::kReceiving) >
          0);
    CHECK(c->cuts >= 1);
    CHECK(c->connections <= c->cuts + 1);  // a new connection only after a cut
    CHECK(c->report.retries >= 1);
    CHECK(c->report.seconds < 15);
  }
  // A page cut on its way is lost whole: the retry waits, its countdown on screen.
  CHECK(pages.countdown_seen > 0);
  // A streamed pull keeps the frames that arrived whole, so the link works: it goes on at
  // once from the last of them, without the 1.5 s wait (a cut before any whole frame would
  // still wait; here the frames are smaller than the 30 KB between cuts).
  CHECK(stream.countdown_seen < 0);
  CHECK(stream.report.seconds < pages.report.seconds);
}

TEST_CASE("pull max_bytes: pages end within the budget - every op once - no budget is v1") {
  ServerFixture f;
  test::Device d = f.device("laptop-a", {"74.02"});
  test::Device reader = f.device("laptop-b", {"74.02"});
  std::mt19937 rng(3);
  Json ops = Json::array();
  for (int i = 1; i <= 50; ++i) {
    ops.push_back(test::make_op(static_cast<uint64_t>(i), "rec-" + std::to_string(i),
                                test::hlc_now(static_cast<uint64_t>(i)), varied_enrolment(i, rng)));
  }
  REQUIRE(f.push(d, ops).status == 200);

  // v1: no max_bytes, one page.
  auto whole = f.http().get("/v1/pull?cursor=", reader.token).json();
  CHECK(whole["ops"].size() == 50);
  CHECK(whole["more"] == false);

  // 2,000 bytes of ops a page (clamped to at least 1 KiB): several pages, each within
  // it unless it holds one op only, every op exactly once and in order.
  std::string cursor;
  std::vector<std::string> ids;
  int pages = 0;
  for (; pages < 100; ++pages) {
    auto r = f.http().get("/v1/pull?max_bytes=2000&cursor=" + cursor, reader.token);
    REQUIRE(r.status == 200);
    Json j = r.json();
    size_t text = 0;
    for (auto& op : j["ops"]) {
      text += op.dump().size() + 1;
      ids.push_back(op["id"]);
    }
    if (j["ops"].size() > 1) CHECK(text <= 2000 + 200);  // dump() spacing may differ a little
    cursor = j["next"];
    if (!j["more"].get<bool>()) break;
  }
  CHECK(pages > 5);
  REQUIRE(ids.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(ids[static_cast<size_t>(i)] == "rec-" + std::to_string(i + 1));

  // A budget below one op still moves: one op a page.
  auto tiny = f.http().get("/v1/pull?max_bytes=1&cursor=", reader.token).json();
  CHECK(tiny["ops"].size() >= 1);
  CHECK(tiny["more"] == true);
  CHECK(f.http().get("/v1/pull?max_bytes=abc", reader.token).status == 400);
}

// Several lumbung-server processes on one PostgreSQL database (issue 13): what one server
// guarantees by having a single writer must hold across servers (server/src/store/
// pg_write_txn.cpp, docs/ARCHITECTURE.md "PostgreSQL backend"):
//   - a push sent to two servers at once (a retry after a lost answer) is applied once;
//   - concurrent edits of one record through different servers lose no update;
//   - one NIK arriving on two servers at the same moment opens exactly one duplicate entry;
//   - a pull never skips an op whose transaction commits after later ones (the late-commit
//     test holds a push's transaction open with a row lock taken over libpq);
//   - interleaved pushes of many devices through three servers reach a reader exactly once,
//     each device's ops in seq order;
//   - pushes never deadlock each other (records locked in id order, natural keys in lock
//     order, other devices' rows only read): opposite-order edits, ops waiting for a record
//     another push brings, and two NIKs created in opposite orders.
// The cluster is the test binary's own (support/pg_cluster.h); every wait is bounded.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "doctest/doctest.h"
#include "server/server_fixture.h"
#include "support/pg_cluster.h"
#include "support/temp_dir.h"

using namespace lumbung::test;

namespace {

// A libpq connection of the test's own, to look at the database or take locks in it.
class Sql {
 public:
  explicit Sql(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c_));
  }
  ~Sql() { PQfinish(c_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;
  // The first column of the first row ("" if none); throws on an error.
  std::string value(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> v;
    for (const auto& p : params) v.push_back(p.c_str());
    PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(),
                               nullptr, nullptr, 0);
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      const std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error(sql + ": " + msg);
    }
    std::string out = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return out;
  }
  long number(const std::string& sql, const std::vector<std::string>& params = {}) {
    return std::stol(value(sql, params));
  }

 private:
  PGconn* c_;
};

// K servers on one new database of the binary's cluster, sharing one key file.
class Servers {
 public:
  explicit Servers(int k) : url_(PgCluster::shared().create_database()) {
    for (int i = 0; i < k; ++i) {
      servers_.push_back(std::make_unique<ServerProcess>(
          LUMBUNG_SERVER_BIN, "", dir_.path() + "/admin-token",
          std::vector<std::string>{"--db", url_, "--key-file", dir_.path() + "/server.key"},
          dir_.path() + "/server-" + std::to_string(i) + ".log"));
    }
    admin_ = read_text_file(dir_.path() + "/admin-token");
    if (admin_.empty()) throw std::runtime_error("no admin token from the first server");
  }
  HttpTestClient http(int i) const { return HttpTestClient(servers_.at(i)->base_url()); }
  const std::string& url() const { return url_; }

  Device device(const std::string& id, std::vector<std::string> scope, int via = 0) {
    auto h = http(via);
    auto c = h.post("/v1/admin/codes", json{{"scope", scope}, {"label", "test"}}, admin_);
    if (c.status != 201) throw std::runtime_error("code creation failed: " + c.body);
    auto r = h.post("/v1/devices/register",
                    json{{"code", c.json()["code"]}, {"device_id", id}, {"label", id}});
    if (r.status != 201) throw std::runtime_error("register failed: " + r.body);
    return Device{id, r.json()["token"], 1};
  }

  std::string reviewer() {
    auto r = http(0).post("/v1/admin/tokens", json{{"role", "reviewer"}, {"label", "rev"}}, admin_);
    if (r.status != 201) throw std::runtime_error("token failed: " + r.body);
    return r.json()["token"];
  }

  // Pulls through server `via` until more=false (bounded); appends to `out`.
  void pull(int via, const Device& d, std::string& cursor, json& out) const {
    auto h = http(via);
    for (int page = 0; page < 1000; ++page) {
      auto r = h.get("/v1/pull?cursor=" + cursor, d.token);
      if (r.status != 200) throw std::runtime_error("pull failed: " + r.body);
      json j = r.json();
      for (auto& op : j["ops"]) out.push_back(op);
      cursor = j["next"];
      if (!j["more"].get<bool>()) return;
    }
  }

 private:
  TempDir dir_;
  std::string url_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  std::string admin_;
};

json push_body(const Device& d, json ops) {
  return json{{"device", d.id}, {"ops", std::move(ops)}};
}

json konawe_with_nik(const std::string& nik) {
  json rec = konawe_record_2();
  rec["nik"] = nik;
  return rec;
}

// (dev, seq) of every op pulled, with how often each came.
std::map<std::pair<std::string, uint64_t>, int> tally(const json& ops) {
  std::map<std::pair<std::string, uint64_t>, int> out;
  for (const auto& op : ops) ++out[{op["dev"].get<std::string>(), op["seq"].get<uint64_t>()}];
  return out;
}

}  // namespace

TEST_CASE("a push sent to two servers at once is applied once") {
  Servers s(3);
  Device a = s.device("dev-a", {"7402"});
  Device reader = s.device("dev-reader", {"7402"});
  json ops = json::array();
  for (uint64_t i = 1; i <= 40; ++i) {
    char nik[24];
    // The first 12 digits must agree with the record's region and birth date.
    std::snprintf(nik, sizeof nik, "740210060781%04llu", static_cast<unsigned long long>(i));
    ops.push_back(make_op(i, "rec-" + std::to_string(i), hlc_now(i), konawe_with_nik(nik)));
  }
  const json body = push_body(a, ops);
  // The same push on two servers at once, then once more on a third (the laptop's retry).
  std::vector<HttpResult> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] { results[i] = s.http(i).post("/v1/push", body, a.token, true); });
  }
  for (auto& t : threads) t.join();
  auto third = s.http(2).post("/v1/push", body, a.token, true);
  for (const auto& r : results) {
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.json()["acked_seq"] == 40);
  }
  REQUIRE(third.status == 200);
  CHECK(third.json()["applied"] == 0);
  CHECK(results[0].json()["applied"].get<int>() + results[1].json()["applied"].get<int>() == 40);

  Sql sql(s.url());
  CHECK(sql.number("SELECT count(*) FROM oplog WHERE dev='dev-a'") == 40);
  CHECK(sql.number("SELECT count(*) FROM records") == 40);
  std::string cursor;
  json got = json::array();
  s.pull(1, reader, cursor, got);
  CHECK(got.size() == 40);
}

TEST_CASE("concurrent edits of one record through two servers lose no update") {
  Servers s(2);
  Device a = s.device("dev-a", {"7402"});
  Device b = s.device("dev-b", {"7402"});
  const uint64_t h0 = hlc_now();
  REQUIRE(s.http(0)
              .post("/v1/push",
                    push_body(a, json::array({make_op(1, "rec-1", h0, konawe_record_1())})),
                    a.token, true)
              .status == 200);
  // Each device sets its own field 20 times, its pushes on its own server, at the same time.
  // A lost update would leave a field at an older value (or drop one device's field).
  constexpr int kRounds = 20;
  std::atomic<int> failures{0};
  auto writer = [&](Device d, int via, const char* field, const char* prefix, uint64_t seq0) {
    auto http = s.http(via);
    for (int i = 0; i < kRounds; ++i) {
      const std::string value = std::string(prefix) + std::to_string(100000 + i);
      json op = make_op(seq0 + i, "rec-1", hlc_now(static_cast<uint64_t>(i)), json{{field, value}});
      for (int attempt = 0; attempt < 5; ++attempt) {  // a 503 (deadlock victim) is retried
        auto r = http.post("/v1/push", push_body(d, json::array({op})), d.token, true);
        if (r.status == 200) break;
        if (r.status != 503 || attempt == 4) ++failures;
      }
    }
  };
  std::thread ta(writer, a, 0, "phone", "0812", 2);
  std::thread tb(writer, b, 1, "officer_id", "OFC-", 1);
  ta.join();
  tb.join();
  CHECK(failures == 0);
  const std::string reviewer = s.reviewer();
  for (int via = 0; via < 2; ++via) {
    auto r = s.http(via).get("/v1/records?collection=enrolment&limit=10", reviewer);
    REQUIRE(r.status == 200);
    json recs = r.json()["records"];
    REQUIRE(recs.size() == 1);
    const json& doc = recs[0]["fields"];
    CHECK(doc["phone"] == "0812" + std::to_string(100000 + kRounds - 1));
    CHECK(doc["officer_id"] == "OFC-" + std::to_string(100000 + kRounds - 1));
  }
}

TEST_CASE("one NIK arriving on two servers at once opens exactly one duplicate entry") {
  Servers s(2);
  Device a = s.device("dev-a", {"7402"});
  Device b = s.device("dev-b", {"7402"});
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    char nik[24];
    std::snprintf(nik, sizeof nik, "740210060781%04d", 5000 + round);
    const json rec = konawe_with_nik(nik);
    std::vector<int> status(2);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        Device& d = i == 0 ? a : b;
        const std::string id = "rec-" + std::to_string(round) + (i == 0 ? "-a" : "-b");
        status[i] = s.http(i)
                        .post("/v1/push",
                              push_body(d, json::array({make_op(static_cast<uint64_t>(round + 1),
                                                                id, hlc_now(), rec)})),
                              d.token, true)
                        .status;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(status[0] == 200);
    CHECK(status[1] == 200);
  }
  Sql sql(s.url());
  CHECK(sql.number("SELECT count(*) FROM records") == 2 * kRounds);
  CHECK(sql.number("SELECT count(*) FROM duplicates") == kRounds);
  CHECK(sql.number("SELECT count(DISTINCT (rid_a, rid_b)) FROM duplicates") == kRounds);
}

TEST_CASE("a pull never skips an op whose transaction commits late") {
  Servers s(3);
  Device a = s.device("dev-a", {"7402"});
  Device b = s.device("dev-b", {"7402"});
  Device c = s.device("dev-c", {"7402"});
  REQUIRE(s.http(0)
              .post("/v1/push",
                    push_body(a, json::array({make_op(1, "rec-x", hlc_now(), konawe_record_1())})),
                    a.token, true)
              .status == 200);
  // Everyone is up to date.
  std::string cursor_b, cursor_c;
  json seen_b = json::array(), seen_c = json::array();
  s.pull(1, b, cursor_b, seen_b);
  s.pull(2, c, cursor_c, seen_c);
  REQUIRE(seen_c.size() == 1);

  // Our own transaction locks rec-x. A's next push (via server 0) creates rec-late, which
  // takes its transaction id and oplog position, then waits on rec-x: its commit is late.
  Sql holder(s.url());
  holder.value("BEGIN");
  holder.value("SELECT id FROM records WHERE id='rec-x' FOR UPDATE");
  HttpResult late;
  std::thread slow([&] {
    late = s.http(0).post(
        "/v1/push",
        push_body(a,
                  json::array({make_op(2, "rec-late", hlc_now(1), konawe_record_2()),
                               make_op(3, "rec-x", hlc_now(2), json{{"phone", "081299990000"}})})),
        a.token, true);
  });
  Sql watch(s.url());
  bool waiting = false;
  for (int i = 0; i < 400 && !waiting; ++i) {  // at most 20 s
    waiting = watch.number(
                  "SELECT count(*) FROM pg_stat_activity WHERE datname=current_database() "
                  "AND wait_event_type='Lock'") > 0;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE_MESSAGE(waiting, "the slow push never waited on the held row lock");
  REQUIRE(watch.number("SELECT count(*) FROM oplog WHERE id='rec-late'") == 0);  // not committed

  // Meanwhile B pushes through server 1 and commits: its op's position is above rec-late's.
  auto quick = s.http(1).post(
      "/v1/push",
      push_body(b, json::array(
                       {make_op(1, "rec-quick", hlc_now(3), konawe_with_nik("7402100607816000"))})),
      b.token, true);
  REQUIRE_MESSAGE(quick.status == 200, quick.body);
  // C pulls now, through each server in turn. Whatever it gets, its cursor must not pass
  // rec-late, which is not committed yet.
  for (int via = 0; via < 3; ++via) s.pull(via, c, cursor_c, seen_c);
  bool late_seen_early = false;
  for (const auto& op : seen_c) late_seen_early = late_seen_early || op["id"] == "rec-late";
  CHECK_FALSE(late_seen_early);

  holder.value("COMMIT");  // releases rec-x: A's push goes on and commits
  slow.join();
  REQUIRE_MESSAGE(late.status == 200, late.body);
  CHECK(late.json()["acked_seq"] == 3);

  // Every device receives rec-late and the edit of rec-x, whichever server it asks, once.
  s.pull(2, c, cursor_c, seen_c);
  s.pull(0, b, cursor_b, seen_b);
  Device fresh = s.device("dev-fresh", {"7402"}, 1);
  std::string cursor_f;
  json seen_f = json::array();
  s.pull(1, fresh, cursor_f, seen_f);
  for (const json* seen : {&seen_c, &seen_f}) {
    auto t = tally(*seen);
    CHECK(t[{"dev-a", 2}] == 1);
    CHECK(t[{"dev-a", 3}] == 1);
    CHECK(t[{"dev-b", 1}] == 1);
    CHECK(t.size() == 4);
  }
  auto tb = tally(seen_b);
  CHECK(tb[{"dev-a", 2}] == 1);
  CHECK(tb[{"dev-a", 3}] == 1);
}

TEST_CASE("interleaved pushes through three servers reach a reader once and in seq order") {
  Servers s(3);
  constexpr int kDevices = 6, kBatches = 4, kOps = 25;
  std::vector<Device> devices;
  for (int d = 0; d < kDevices; ++d)
    devices.push_back(s.device("dev-" + std::to_string(d), {"7402"}));
  Device reader = s.device("dev-reader", {"7402"});
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  // The reader pulls all along, server after server, while the pushes commit.
  std::string cursor;
  json seen = json::array();
  std::thread pulling([&] {
    for (int i = 0; i < 2000 && !done; ++i) {
      s.pull(i % 3, reader, cursor, seen);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> threads;
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      uint64_t seq = 1;
      for (int bt = 0; bt < kBatches; ++bt) {
        json ops = json::array();
        for (int i = 0; i < kOps; ++i, ++seq) {
          char nik[24];
          std::snprintf(nik, sizeof nik, "740210060781%04d", d * 1000 + static_cast<int>(seq));
          ops.push_back(make_op(seq, "rec-" + std::to_string(d) + "-" + std::to_string(seq),
                                hlc_now(seq), konawe_with_nik(nik)));
        }
        // Each batch through another server.
        auto r = s.http((d + bt) % 3)
                     .post("/v1/push", push_body(devices[d], ops), devices[d].token, true);
        if (r.status != 200 || r.json()["acked_seq"] != seq - 1) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  pulling.join();
  CHECK(failures == 0);
  s.pull(1, reader, cursor, seen);  // the rest, after the last commit
  auto t = tally(seen);
  CHECK(t.size() == size_t{kDevices * kBatches * kOps});
  bool once = true;
  for (const auto& [key, n] : t) once = once && n == 1;
  CHECK(once);
  std::map<std::string, uint64_t> last;
  bool ordered = true;
  for (const auto& op : seen) {
    uint64_t& l = last[op["dev"].get<std::string>()];
    ordered = ordered && op["seq"].get<uint64_t>() == l + 1;
    l = op["seq"];
  }
  CHECK(ordered);
}

// A push locks the records it names in id order before writing any (WriteTxn::
// lock_records): two pushes that edit the same two records in opposite orders through two
// servers wait for each other, never deadlock, and merge as one server would: every push is
// answered 200 at once (no 503 for a laptop to retry) and the last values win.
TEST_CASE("pushes that lock two records in opposite orders all land once") {
  Servers s(2);
  Device a = s.device("dev-a", {"7402"});
  Device b = s.device("dev-b", {"7402"});
  REQUIRE(s.http(0)
              .post("/v1/push",
                    push_body(a, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1()),
                                              make_op(2, "rec-2", hlc_now(1), konawe_record_2())})),
                    a.token, true)
              .status == 200);
  constexpr int kRounds = 6;
  std::atomic<int> failures{0}, retries{0};
  auto writer = [&](Device d, int via, const char* field, const char* prefix, uint64_t seq,
                    bool forward) {
    auto http = s.http(via);
    for (int i = 0; i < kRounds; ++i) {
      const std::string value = std::string(prefix) + std::to_string(100000 + i);
      json first = make_op(seq, forward ? "rec-1" : "rec-2", hlc_now(2 * i), json{{field, value}});
      json second =
          make_op(seq + 1, forward ? "rec-2" : "rec-1", hlc_now(2 * i + 1), json{{field, value}});
      seq += 2;
      const json body = push_body(d, json::array({first, second}));
      bool ok = false;
      for (int attempt = 0; attempt < 6 && !ok; ++attempt) {
        auto r = http.post("/v1/push", body, d.token, true);
        ok = r.status == 200;
        if (!ok) ++retries;
        if (!ok && r.status != 503) break;
      }
      if (!ok) ++failures;
    }
  };
  std::thread ta(writer, a, 0, "phone", "0812", 3, true);
  std::thread tb(writer, b, 1, "officer_id", "OFC-", 1, false);
  ta.join();
  tb.join();
  CHECK(failures == 0);
  CHECK(retries == 0);  // before lock_records: 2 deadlocks (503, retried) per run
  Sql sql(s.url());
  CHECK(sql.number("SELECT count(*) FROM oplog") == 2 + 2 * 2 * kRounds);
  const std::string reviewer = s.reviewer();
  auto r = s.http(1).get("/v1/records?collection=enrolment&limit=10", reviewer);
  REQUIRE(r.status == 200);
  const json recs = r.json()["records"];  // kept: a range-for over a temporary's member dangles
  REQUIRE(recs.size() == 2);
  for (const auto& rec : recs) {
    CHECK(rec["fields"]["phone"] == "0812" + std::to_string(100000 + kRounds - 1));
    CHECK(rec["fields"]["officer_id"] == "OFC-" + std::to_string(100000 + kRounds - 1));
  }
}

// OpWriter::apply_waiting, inside a push that brings a record, reads the device of every op
// that waited for that record. Two pushes, each bringing the record the other device's edit
// waits for, once held each other's device row and deadlocked (one answered 503). The
// test's own transaction holds both waiting rows until both pushes are blocked on them
// (each holding its own device row), then lets them go at once.
TEST_CASE("two pushes each bringing the record the other device's edit waits for both land") {
  Servers s(2);
  Device a = s.device("dev-a", {"7402"});
  Device b = s.device("dev-b", {"7402"});
  // Each device edits the phone of a record the other creates (it had seen the creation:
  // its base names the creation's version), pushed before that creation: acknowledged,
  // waiting for the record.
  const int64_t ms = wall_ms();
  const uint64_t create_r = lumbung::hlc::make(ms, 1), create_s = lumbung::hlc::make(ms, 2);
  REQUIRE(s.http(0)
              .post("/v1/push",
                    push_body(a, json::array({make_op(1, "rec-s", lumbung::hlc::make(ms, 3),
                                                      json{{"phone", "081211110001"}},
                                                      json{{"phone", {create_s, "dev-b"}}})})),
                    a.token, true)
              .status == 200);
  REQUIRE(s.http(1)
              .post("/v1/push",
                    push_body(b, json::array({make_op(1, "rec-r", lumbung::hlc::make(ms, 4),
                                                      json{{"phone", "081222220002"}},
                                                      json{{"phone", {create_r, "dev-a"}}})})),
                    b.token, true)
              .status == 200);
  Sql sql(s.url());
  REQUIRE(sql.number("SELECT count(*) FROM refused WHERE code='waiting_for_record' AND "
                     "status='open'") == 2);
  Sql holder(s.url());
  holder.value("BEGIN");
  holder.value("SELECT 1 FROM refused WHERE code='waiting_for_record' FOR UPDATE");
  std::atomic<int> status_a{0}, status_b{0};
  std::thread ta([&] {
    status_a =
        s.http(0)
            .post("/v1/push",
                  push_body(a, json::array({make_op(2, "rec-r", create_r, konawe_record_1())})),
                  a.token, true)
            .status;
  });
  std::thread tb([&] {
    status_b =
        s.http(1)
            .post("/v1/push",
                  push_body(b, json::array({make_op(2, "rec-s", create_s, konawe_record_2())})),
                  b.token, true)
            .status;
  });
  // Both pushes wait on the held rows (bounded: 10 s).
  bool both_waiting = false;
  for (int i = 0; i < 500 && !both_waiting; ++i) {
    both_waiting = sql.number(
                       "SELECT count(*) FROM pg_stat_activity WHERE "
                       "datname=current_database() AND wait_event_type='Lock'") == 2;
    if (!both_waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  holder.value("COMMIT");
  ta.join();
  tb.join();
  CHECK(both_waiting);
  CHECK(status_a == 200);
  CHECK(status_b == 200);
  CHECK(sql.number("SELECT count(*) FROM refused WHERE status='applied'") == 2);
  CHECK(sql.number("SELECT count(*) FROM conflicts") == 0);
  const std::string reviewer = s.reviewer();
  auto r = s.http(0).get("/v1/records?collection=enrolment&limit=10", reviewer);
  REQUIRE(r.status == 200);
  const json recs = r.json()["records"];
  REQUIRE(recs.size() == 2);
  for (const auto& rec : recs) {
    CHECK(rec["fields"]["phone"] == (rec["id"] == "rec-r" ? "081222220002" : "081211110001"));
  }
}

// Natural keys are locked before the first write, in one order: two pushes that create
// records with the same two NIKs in opposite orders wait for each other instead of
// deadlocking. The test holds the push's progress after its first record (the rows of edits
// waiting for those records, as above) so that, had each push locked a NIK only when it
// came to it, each would hold one NIK and want the other's.
TEST_CASE("two pushes creating records with two NIKs in opposite orders both land") {
  Servers s(2);
  Device a = s.device("dev-a", {"7402"});
  Device b = s.device("dev-b", {"7402"});
  Device c = s.device("dev-c", {"7402"});
  const int64_t ms = wall_ms();
  const uint64_t create_a1 = lumbung::hlc::make(ms, 1), create_b1 = lumbung::hlc::make(ms, 2);
  json waiting =
      json::array({make_op(1, "a1", lumbung::hlc::make(ms, 5), json{{"phone", "081233330001"}},
                           json{{"phone", {create_a1, "dev-a"}}}),
                   make_op(2, "b1", lumbung::hlc::make(ms, 6), json{{"phone", "081233330002"}},
                           json{{"phone", {create_b1, "dev-b"}}})});
  REQUIRE(s.http(0).post("/v1/push", push_body(c, waiting), c.token, true).status == 200);
  Sql sql(s.url());
  Sql holder(s.url());
  holder.value("BEGIN");
  holder.value("SELECT 1 FROM refused WHERE code='waiting_for_record' FOR UPDATE");
  json nik1 = konawe_record_1(), nik2 = konawe_record_2();
  json nik1_again = nik1, nik2_again = nik2;
  nik1_again["full_name"] = "Wulan Pratama Dua";
  nik2_again["full_name"] = "Joko Simanjuntak Dua";
  std::atomic<int> status_a{0}, status_b{0};
  std::thread ta([&] {
    status_a = s.http(0)
                   .post("/v1/push",
                         push_body(a, json::array({make_op(1, "a1", create_a1, nik1),
                                                   make_op(2, "a2", hlc_now(3), nik2)})),
                         a.token, true)
                   .status;
  });
  std::thread tb([&] {
    status_b = s.http(1)
                   .post("/v1/push",
                         push_body(b, json::array({make_op(1, "b1", create_b1, nik2_again),
                                                   make_op(2, "b2", hlc_now(4), nik1_again)})),
                         b.token, true)
                   .status;
  });
  bool both_waiting = false;  // on the held rows or on each other (bounded: 10 s)
  for (int i = 0; i < 500 && !both_waiting; ++i) {
    both_waiting = sql.number(
                       "SELECT count(*) FROM pg_stat_activity WHERE "
                       "datname=current_database() AND wait_event_type='Lock'") == 2;
    if (!both_waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  holder.value("COMMIT");
  ta.join();
  tb.join();
  CHECK(both_waiting);
  CHECK(status_a == 200);  // before: one of them 503 (deadlock detected)
  CHECK(status_b == 200);
  CHECK(sql.number("SELECT count(*) FROM duplicates") == 2);  // a1~b2 and a2~b1
  CHECK(sql.number("SELECT count(*) FROM refused WHERE status='applied'") == 2);
}

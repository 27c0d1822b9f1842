// A new device's bootstrap from a snapshot of its regions' records (issue 13) against the
// real lumbung-server: pages, byte budgets, the region index, and the records it wrote that
// left its regions. Built into the sync tests' executables (both backends).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/server_fixture.h"
#include "support/test_backend.h"

using namespace lumbung::test;

// Issue 13: a new device bootstraps from a snapshot of its regions' current records (pages
// of "rec" ops, one per record), then follows the log from where the snapshot stands
// (server/src/sync/snapshot.cpp, docs/PROTOCOL.md "Bootstrap from a snapshot").
TEST_CASE("a new device bootstraps from a snapshot of its regions' records then follows the log") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device far = f.device("dev-far", {"7414"});
  const uint64_t h = hlc_now();
  json ops = json::array();
  for (int i = 0; i < 12; ++i) {
    json r = konawe_record_1();
    r["full_name"] = "Snapshot " + std::to_string(i);
    ops.push_back(make_op(i + 1, "rec-" + std::to_string(100 + i), h + i, r));
  }
  for (int i = 0; i < 3; ++i) {  // three edits and a delete: history the snapshot folds
    ops.push_back(make_op(13 + i, "rec-" + std::to_string(100 + i), h + 20 + i,
                          json{{"phone", "08129900000" + std::to_string(i)}},
                          json{{"phone", json::array({h + i, "dev-a"})}}));
  }
  ops.push_back(make_delete(16, "rec-111", h + 30, json::array({h + 11, "dev-a"})));
  REQUIRE(f.push(a, ops).status == 200);
  REQUIRE(f.push(far, json::array({make_op(1, "far-1", h, buton_tengah_record())})).status == 200);

  Device b = f.device("dev-b", {"7402"});
  std::string cursor;
  std::map<std::string, json> recs;  // id -> "rec"
  int pages = 0, log_ops = 0;
  for (bool more = true; more && pages < 50; ++pages) {
    auto r = f.http().get("/v1/pull?snapshot=1&limit=5&cursor=" + cursor, b.token);
    REQUIRE(r.status == 200);
    const json j = r.json();
    for (const auto& op : j["ops"]) {
      if (op.contains("rec")) {
        CHECK(recs.count(op["id"]) == 0);
        recs[op["id"].get<std::string>()] = op["rec"];
      } else {
        ++log_ops;
      }
    }
    more = j["more"].get<bool>();
    if (more) CHECK(j["next"] != cursor);  // every page but the last moves on
    cursor = j["next"];
  }
  CHECK(pages == 4);    // 12 records in pages of 5, 5 and 2, then the log (nothing new)
  CHECK(log_ops == 0);  // 16 ops of history came as 12 records
  REQUIRE(recs.size() == 12);
  CHECK(recs.count("far-1") == 0);
  CHECK(recs["rec-101"]["fields"]["phone"] == "081299000001");
  CHECK(recs["rec-105"]["fields"]["full_name"] == "Snapshot 5");
  CHECK(recs["rec-111"]["tombstone"].is_array());
  CHECK(recs["rec-110"]["tombstone"].is_null());

  // After it, the log: a new edit arrives, once.
  REQUIRE(f.push(a, json::array({make_op(17, "rec-104", h + 40, json{{"phone", "081277770004"}},
                                         json{{"phone", json::array({h + 4, "dev-a"})}})}))
              .status == 200);
  const json later = f.pull_all(b, &cursor);
  REQUIRE(later.size() == 1);
  CHECK(later[0]["seq"] == 17);
  CHECK(later[0]["set"]["phone"] == "081277770004");
}

// A snapshot page keeps to max_bytes as a log page does (at least one record), so a new
// laptop on a link that drops every few KB still advances.
TEST_CASE("a snapshot page keeps to max_bytes") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  const uint64_t h = hlc_now();
  json ops = json::array();
  for (int i = 0; i < 20; ++i) {
    json r = konawe_record_1();
    r["full_name"] = "Snapshot " + std::to_string(i);
    ops.push_back(make_op(i + 1, "rec-" + std::to_string(100 + i), h + i, r));
  }
  REQUIRE(f.push(a, ops).status == 200);
  Device b = f.device("dev-b", {"7402"});
  std::string cursor;
  std::set<std::string> ids;
  int pages = 0;
  for (bool more = true; more && pages < 50; ++pages) {
    auto r = f.http().get("/v1/pull?snapshot=1&max_bytes=1024&cursor=" + cursor, b.token);
    REQUIRE(r.status == 200);
    const json j = r.json();
    size_t text = 0;
    for (const auto& op : j["ops"]) {
      ids.insert(op["id"].get<std::string>());
      text += op.dump().size() + 1;
    }
    if (j["ops"].size() > 1) CHECK(text <= 1024 + 64);  // dump() may differ by a few bytes
    more = j["more"].get<bool>();
    cursor = j["next"];
  }
  CHECK(ids.size() == 20);
  CHECK(pages >= 10);  // ~500 bytes a record: one or two a page

  // snapshot=2: the version all of a record's fields share is given once, as "*".
  auto compact = f.http().get("/v1/pull?snapshot=2&limit=1", b.token);
  REQUIRE(compact.status == 200);
  const json rec = compact.json()["ops"][0]["rec"];
  CHECK(rec["versions"].size() == 1);
  CHECK(rec["versions"]["*"].is_array());
  CHECK(rec["fields"].size() > 5);
}

// Issue 13: the snapshot reads records through the region index records_region (col, scope,
// id), made when the store opens: a server database from before it gets it at its next start
// (PostgreSQL makes it the same way, CREATE INDEX IF NOT EXISTS in its schema at start).
// SQLite only: the database file is opened beside the server.
TEST_CASE("a server database from before the region index gets it at its next start" *
          doctest::test_suite(kSqliteOnly)) {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1())})).status ==
          200);
  f.stop();
  auto sql_count = [&f](const char* sql) {
    sqlite3* db = nullptr;
    const std::string path = f.data_dir() + "/lumbung-server.db";
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    const int rc = sqlite3_step(st);
    const int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  };
  const char* kHasIndex =
      "SELECT count(*) FROM sqlite_master WHERE type='index' AND name='records_region'";
  REQUIRE(sql_count(kHasIndex) == 1);
  sql_count("DROP INDEX records_region");  // the database as an older server left it
  REQUIRE(sql_count(kHasIndex) == 0);
  f.start();
  CHECK(sql_count(kHasIndex) == 1);
  Device b = f.device("dev-b", {"7402"});
  auto r = f.http().get("/v1/pull?snapshot=2", b.token);
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["ops"].size() == 1);
  CHECK(r.json()["ops"][0]["rec"]["fields"]["full_name"] == "Wulan Pratama");
}

// A snapshot walks its regions in (scope, id) order through the region index: records of
// several villages under the device's prefix, pushed in an order that is neither, each come
// once across small pages, with their sealed personal fields joined back in (the fixture's
// server seals), in the compact and the full form alike.
TEST_CASE("a snapshot reads its regions by village then id - every record once") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402", "7414"});
  const uint64_t h = hlc_now();
  json ops = json::array();
  const char* villages[] = {"7402292053", "7402291001", "7402299009"};
  for (int i = 0; i < 9; ++i) {
    json r = konawe_record_1();
    r["village_code"] = villages[i % 3];
    r["full_name"] = "Village " + std::to_string(i);
    r["nik"] = "74022948096903" + std::to_string(10 + i);
    ops.push_back(make_op(i + 1, "rec-" + std::to_string(900 - i), h + i, r));
  }
  ops.push_back(make_op(10, "far-1", h + 10, buton_tengah_record()));
  REQUIRE(f.push(a, ops).status == 200);
  Device b = f.device("dev-b", {"7402"});
  for (const char* form : {"2", "1"}) {
    CAPTURE(form);
    std::string cursor;
    std::vector<std::pair<std::string, std::string>> order;  // (village, id)
    int pages = 0;
    for (bool more = true; more && pages < 50; ++pages) {
      auto r = f.http().get(std::string("/v1/pull?snapshot=") + form + "&limit=2&cursor=" + cursor,
                            b.token);
      REQUIRE(r.status == 200);
      const json j = r.json();
      for (const auto& op : j["ops"]) {
        REQUIRE(op.contains("rec"));
        const json& fields = op["rec"]["fields"];
        CHECK(fields["nik"].get<std::string>().size() == 16);  // personal: joined back in
        CHECK(fields["full_name"].get<std::string>().rfind("Village ", 0) == 0);
        order.emplace_back(fields["village_code"], op["id"]);
      }
      more = j["more"].get<bool>();
      cursor = j["next"];
    }
    CHECK(pages == 6);  // 9 records in pages of 2, then the log
    REQUIRE(order.size() == 9);
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(std::adjacent_find(order.begin(), order.end()) == order.end());
  }
}

// A laptop that wrote records before its first pull, one of which moved to another region
// before it pulled: the move's "gone" notice sits below the snapshot's horizon and is never
// sent, so the snapshot ends with a "gone" for each record the device wrote that is now
// outside its regions - within the page limit, each once - and nothing for records it did
// not write (tests/sim --restores seed 6940: the laptop kept such a record for ever).
TEST_CASE("a snapshot tells its device which records it wrote have left its regions") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device office = f.device("dev-office", {"74"});
  const uint64_t h = hlc_now();
  json third = konawe_record_1();
  third["nik"] = "7402294809690330";
  third["full_name"] = "Sri Lestari";
  REQUIRE(f.push(a, json::array({make_op(1, "rec-stays", h, konawe_record_1()),
                                 make_op(2, "rec-moves", h + 1, konawe_record_2()),
                                 make_op(3, "rec-moves-too", h + 2, third)}))
              .status == 200);
  const json to_buton{{"village_code", "7414091481"}};
  REQUIRE(f.push(office, json::array({make_op(1, "rec-moves", h + 10, to_buton),
                                      make_op(2, "rec-moves-too", h + 11, to_buton),
                                      make_op(3, "rec-office", h + 12, buton_tengah_record())}))
              .status == 200);
  for (const char* form : {"2", "1"}) {
    CAPTURE(form);
    std::string cursor;
    std::vector<std::string> recs, gone;
    int pages = 0;
    bool snapshot = true;
    for (; snapshot && pages < 20; ++pages) {
      auto r = f.http().get(std::string("/v1/pull?snapshot=") + form + "&limit=1&cursor=" + cursor,
                            a.token);
      REQUIRE(r.status == 200);
      const json j = r.json();
      CHECK(j["ops"].size() <= 1);
      for (const auto& op : j["ops"]) {
        if (op.contains("gone")) {
          CHECK(op["gone"] == true);
          gone.push_back(op["id"]);
        } else {
          REQUIRE(op.contains("rec"));
          recs.push_back(op["id"]);
        }
      }
      cursor = j["next"];
      snapshot = j.value("snapshot", false) && !j["ops"].empty();
    }
    CHECK(recs == std::vector<std::string>{"rec-stays"});
    std::sort(gone.begin(), gone.end());
    CHECK(gone == std::vector<std::string>{"rec-moves", "rec-moves-too"});
    // The office's regions hold all four: it is told of none leaving.
    auto r = f.http().get(std::string("/v1/pull?snapshot=") + form + "&limit=100", office.token);
    REQUIRE(r.status == 200);
    const json office_page = r.json();  // (a member of a temporary would dangle in the loop)
    for (const auto& op : office_page["ops"]) CHECK_FALSE(op.contains("gone"));
  }
}

// snapshot=auto: the server chooses for a first pull - a snapshot where the log holds more
// than twice as many positions as the device's regions hold records (a small region on a
// larger server; records edited several times), a replay where the log is little more than
// the records' creations (SyncService::snapshot_pays).
TEST_CASE("snapshot=auto replays a log of creations and snapshots a longer one") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  const uint64_t h = hlc_now();
  json ops = json::array();
  for (int i = 0; i < 10; ++i) {
    json r = konawe_record_1();
    r["full_name"] = "Auto " + std::to_string(i);
    ops.push_back(make_op(i + 1, "auto-" + std::to_string(i), h + i, r));
  }
  REQUIRE(f.push(a, ops).status == 200);
  // Counts every first-pull op by form: "rec" (snapshot) or a logged op (replay).
  auto first_pull = [&](const Device& d, const std::string& param) {
    std::pair<int, int> recs_and_ops{0, 0};
    std::string cursor;
    for (int page = 0; page < 20; ++page) {
      auto r = f.http().get("/v1/pull?" + param + "&limit=4&cursor=" + cursor, d.token);
      REQUIRE_MESSAGE(r.status == 200, r.body);
      const json j = r.json();
      for (const auto& op : j["ops"])
        (op.contains("rec") ? recs_and_ops.first : recs_and_ops.second)++;
      cursor = j["next"];
      if (!j["more"].get<bool>()) break;
    }
    return recs_and_ops;
  };
  // 10 records, 10 log positions: a replay.
  Device b = f.device("dev-b", {"7402"});
  CHECK(first_pull(b, "snapshot=auto") == std::pair<int, int>{0, 10});
  // Each record edited twice more: 30 positions for 10 records: a snapshot, one per record.
  json edits = json::array();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10; ++i) {
      const uint64_t seen = round == 0 ? h + i : h + 100 + i;
      edits.push_back(make_op(11 + round * 10 + i, "auto-" + std::to_string(i),
                              h + 100 * (round + 1) + i,
                              json{{"phone", "0812990000" + std::to_string(round * 10 + i)}},
                              json{{"phone", json::array({seen, "dev-a"})}}));
    }
  }
  REQUIRE(f.push(a, edits).status == 200);
  Device c = f.device("dev-c", {"7402"});
  CHECK(first_pull(c, "snapshot=auto") == std::pair<int, int>{10, 0});
  // A device of another region whose records are few against the log: a snapshot (of its
  // one record) rather than a replay of everyone's log.
  Device far = f.device("dev-far", {"7414"});
  REQUIRE(f.push(far, json::array({make_op(1, "far-1", h, buton_tengah_record())})).status == 200);
  Device far2 = f.device("dev-far2", {"7414"});
  CHECK(first_pull(far2, "snapshot=auto") == std::pair<int, int>{1, 0});
  // "auto" with a cursor, and any other value, are the log as before.
  CHECK(first_pull(b, "snapshot=yes") == std::pair<int, int>{0, 30});
}

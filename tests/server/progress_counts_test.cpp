// Issue 16, "progress over 1 M records in under 1 s": the progress answers come from counts
// the store keeps in each record write's transaction (store/record_counts.h), no longer from
// a scan of the records. Through the real lumbung-server, after every kind of write that
// changes a record (create, an edit moving it to another desa or status, programmes, delete,
// a conflict and its resolution, a duplicate merge, an edit that waited for its record, a
// reviewer's status move on the web page, a restart, a restore from an older copy), both
// progress answers (/v1/progress and /v1/web/progress) equal a recount from the records the
// server lists. And a database made before the counts gets them built once at start.
// Run on SQLite and on PostgreSQL ("postgres: ..." in CTest, support/test_backend.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "server/server_fixture.h"
#include "support/test_backend.h"

using namespace lumbung::test;

namespace {

// Desa codes of the Kemendagri list (two in Konawe 74.02, one in Buton Tengah 74.14).
const char* const kDesa[] = {"7402292053", "7402101229", "7414091481"};

json person(int i) {
  json r = konawe_record_1();
  r["nik"] = "740229480969" + std::to_string(5100 + i);  // one NIK each: no duplicates
  r["full_name"] = "Progress Person " + std::to_string(i);
  r["village_code"] = kDesa[i % 3];
  r["status"] = i % 2 ? "submitted" : "draft";
  r["programs"] = i % 3 ? json::array({"JKK", "JKM"}) : json::array({"JKK"});
  if (i % 4 == 1) r["segment"] = "PU";
  if (i % 4 == 2) r["segment"] = "BPU";
  r["officer_id"] = "OFC-" + std::to_string(100 + i % 3);
  r["created_at"] = "2025-01-0" + std::to_string(1 + i % 5) + "T08:00:00.000Z";
  return r;
}

// What the progress answers must say, recounted from the live records the server lists.
struct Expected {
  uint64_t total = 0;
  std::map<std::string, uint64_t> by_status, by_program, by_segment, by_officer, by_day;
  std::map<std::string, std::pair<uint64_t, std::map<std::string, uint64_t>>> by_desa;
};

std::string text_or_none(const json& fields, const char* name, size_t len = std::string::npos) {
  auto it = fields.find(name);
  if (it == fields.end() || !it->is_string() || it->get<std::string>().empty()) return "(none)";
  return it->get<std::string>().substr(0, len);
}

Expected recount(ServerFixture& f) {
  Expected e;
  for (const auto& r : f.records(f.admin())) {
    if (r["deleted"].get<bool>()) continue;
    const json& fl = r["fields"];
    const std::string st = text_or_none(fl, "status");
    ++e.total;
    ++e.by_status[st];
    auto& d = e.by_desa[fl["village_code"].get<std::string>()];
    ++d.first;
    ++d.second[st];
    if (fl.contains("programs")) {
      for (const auto& p : fl["programs"]) ++e.by_program[p.get<std::string>()];
    }
    ++e.by_segment[text_or_none(fl, "segment")];
    ++e.by_officer[text_or_none(fl, "officer_id")];
    ++e.by_day[text_or_none(fl, "created_at", 10)];
  }
  return e;
}

std::map<std::string, uint64_t> as_map(const json& j) {
  std::map<std::string, uint64_t> m;
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) m[k] = v.get<uint64_t>();
  }
  return m;
}

// Logs in on the web page with `token`; returns the session cookie.
std::string web_cookie(ServerFixture& f, const std::string& token) {
  auto r =
      f.http().request("POST", "/v1/web/login", json{{"token", token}}.dump(), RequestOptions{});
  REQUIRE(r.status == 200);
  const std::string set = r.header("set-cookie");
  return set.substr(0, set.find(';'));
}

// Both progress answers against the recount. `cookie`: a web session of an all-regions
// reviewer.
void check_progress(ServerFixture& f, const std::string& cookie, const char* when) {
  INFO("after: " << std::string(when));
  const Expected e = recount(f);
  auto all = f.http().get("/v1/progress", f.admin());
  REQUIRE(all.status == 200);
  CHECK(all.json()["total"] == e.total);
  CHECK(as_map(all.json()["by_status"]) == e.by_status);
  CHECK(as_map(all.json()["by_program"]["programs"]) == e.by_program);
  // Per desa: one kabupaten at a time (the answer lists desa only that narrow).
  std::map<std::string, std::pair<uint64_t, std::map<std::string, uint64_t>>> desa;
  for (const char* kab : {"74.02", "74.14"}) {
    auto p = f.http().get(std::string("/v1/progress?scope=") + kab, f.admin());
    REQUIRE(p.status == 200);
    const json regions = p.json()["regions"];
    if (!regions.contains("desa")) continue;
    for (auto& [code, t] : regions["desa"].items()) {
      desa[code] = {t["total"].get<uint64_t>(), as_map(t["by_status"])};
    }
  }
  json got_desa = json::object(), want_desa = json::object();
  for (auto& [k, v] : desa) got_desa[k] = {v.first, v.second};
  for (auto& [k, v] : e.by_desa) want_desa[k] = {v.first, v.second};
  CHECK(got_desa.dump() == want_desa.dump());
  RequestOptions o;
  o.headers["Cookie"] = cookie;
  auto w = f.http().request("GET", "/v1/web/progress", "", o);
  REQUIRE(w.status == 200);
  const json wj = w.json();
  CHECK(wj["total"] == e.total);
  CHECK(as_map(wj["by_status"]) == e.by_status);
  CHECK(as_map(wj["by_program"]) == e.by_program);
  CHECK(as_map(wj["by_segment"]) == e.by_segment);
  CHECK(as_map(wj["by_officer"]) == e.by_officer);
  CHECK(as_map(wj["by_day"]) == e.by_day);
}

json base_of(const std::vector<std::string>& fields, uint64_t hlc, const std::string& dev) {
  json b = json::object();
  for (const auto& k : fields) b[k] = json::array({hlc, dev});
  return b;
}

// Runs `sql` on the server's database (the server stopped).
void run_sql(ServerFixture& f, const std::string& sql) {
  if (test_postgres()) {
    PGconn* c = PQconnectdb(f.db_url().c_str());
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    INFO(PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    REQUIRE(ok);
    return;
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((f.data_dir() + "/lumbung-server.db").c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("progress counts equal a recount after creates - moves - deletes - conflicts - merges") {
  ServerFixture f;
  Device a = f.device("dev-a", {"74"});
  Device b = f.device("dev-b", {"74"});
  const std::string reviewer = f.reviewer();
  const std::string cookie = web_cookie(f, reviewer);
  check_progress(f, cookie, "nothing");

  // Creates: 9 records over 3 desa, 2 statuses, programme sets, segments, officers, days.
  const uint64_t h0 = hlc_now();
  json ops = json::array();
  for (int i = 0; i < 9; ++i) {
    ops.push_back(make_op(a.next_seq++, "rec-" + std::to_string(i), h0 + i, person(i)));
  }
  REQUIRE(f.push(a, ops).status == 200);
  check_progress(f, cookie, "creates");

  // Edits: rec-0 to another desa, rec-1 submitted -> verified, rec-2's programmes, rec-3's
  // segment and officer, rec-4's created_at (another day).
  const uint64_t h1 = h0 + 100;
  ops = json::array({
      make_op(a.next_seq++, "rec-0", h1, json{{"village_code", kDesa[1]}},
              base_of({"village_code"}, h0, "dev-a")),
      make_op(a.next_seq++, "rec-1", h1 + 1, json{{"status", "verified"}},
              base_of({"status"}, h0 + 1, "dev-a")),
      make_op(a.next_seq++, "rec-2", h1 + 2, json{{"programs", json::array({"JKK", "JHT", "JP"})}},
              base_of({"programs"}, h0 + 2, "dev-a")),
      make_op(a.next_seq++, "rec-3", h1 + 3, json{{"segment", "BPU"}, {"officer_id", "OFC-999"}},
              base_of({"segment", "officer_id"}, h0 + 3, "dev-a")),
      make_op(a.next_seq++, "rec-4", h1 + 4, json{{"created_at", "2025-02-11T08:00:00.000Z"}},
              base_of({"created_at"}, h0 + 4, "dev-a")),
  });
  auto pe = f.push(a, ops);
  REQUIRE_MESSAGE(pe.status == 200, pe.body);
  CHECK(pe.json()["refused"].empty());
  check_progress(f, cookie, "edits");

  // Delete rec-5.
  REQUIRE(f.push(a, json::array({make_delete(a.next_seq++, "rec-5", h1 + 5,
                                             json::array({h0 + 5, "dev-a"}))}))
              .status == 200);
  check_progress(f, cookie, "a delete");

  // A conflict: A and B both move rec-6 to another desa from the same base; the later wins,
  // then the reviewer keeps the earlier (a server op moves it again).
  const json seen6 = base_of({"village_code"}, h0 + 6, "dev-a");
  REQUIRE(f.push(a, json::array({make_op(a.next_seq++, "rec-6", h1 + 10,
                                         json{{"village_code", kDesa[1]}}, seen6)}))
              .status == 200);
  auto pc = f.push(b, json::array({make_op(b.next_seq++, "rec-6", h1 + 20,
                                           json{{"village_code", kDesa[2]}}, seen6)}));
  REQUIRE(pc.status == 200);
  CHECK(pc.json()["conflicts"] == 1);
  check_progress(f, cookie, "a conflict");
  auto conflicts = f.http().get("/v1/conflicts?status=open", reviewer).json()["conflicts"];
  REQUIRE(conflicts.size() == 1);
  auto res = f.http().post("/v1/conflicts/" + conflicts[0]["id"].get<std::string>() + "/resolve",
                           json{{"keep", "loser"}}, reviewer);
  REQUIRE_MESSAGE(res.status == 200, res.body);
  check_progress(f, cookie, "a conflict resolved");

  // A duplicate: B enrols rec-7's NIK again; the merge deletes one of the two.
  json again = person(7);
  again["status"] = "draft";
  auto pd = f.push(b, json::array({make_op(b.next_seq++, "rec-7b", h1 + 30, again)}));
  REQUIRE(pd.status == 200);
  CHECK(pd.json()["duplicates"] == 1);
  check_progress(f, cookie, "a duplicate");
  auto dups = f.http().get("/v1/duplicates", reviewer).json()["duplicates"];
  REQUIRE(dups.size() == 1);
  auto m = f.http().post("/v1/duplicates/" + dups[0]["id"].get<std::string>() + "/merge",
                         json{{"survivor", "rec-7"}}, reviewer);
  REQUIRE_MESSAGE(m.status == 200, m.body);
  check_progress(f, cookie, "a merge");

  // An edit that arrives before its record waits for it, then is applied with it.
  const uint64_t h2 = h1 + 100;
  auto pw =
      f.push(b, json::array({make_op(b.next_seq++, "rec-late", h2 + 1, json{{"status", "verified"}},
                                     base_of({"status"}, h2, "dev-a"))}));
  REQUIRE(pw.status == 200);
  check_progress(f, cookie, "an edit waiting for its record");
  json late = person(20);
  REQUIRE(f.push(a, json::array({make_op(a.next_seq++, "rec-late", h2, late)})).status == 200);
  bool applied = false;
  for (const auto& r : f.records(f.admin())) {
    if (r["id"] == "rec-late") applied = r["fields"]["status"] == "verified";
  }
  CHECK(applied);
  check_progress(f, cookie, "the waiting edit applied");

  // A reviewer's status move on the web page (the server's own write).
  auto login =
      f.http().request("POST", "/v1/web/login", json{{"token", reviewer}}.dump(), RequestOptions{});
  REQUIRE(login.status == 200);
  RequestOptions o;
  const std::string set = login.header("set-cookie");
  o.headers["Cookie"] = set.substr(0, set.find(';'));
  o.headers["X-CSRF-Token"] = login.json()["csrf"];
  auto mv = f.http().request("POST", "/v1/web/records/rec-8/status",
                             json{{"status", "verified"}}.dump(), o);
  REQUIRE_MESSAGE(mv.status == 200, mv.body);
  check_progress(f, cookie, "a status move on the web page");

  f.restart();
  check_progress(f, web_cookie(f, reviewer), "a restart");
}

TEST_CASE("a database made before the progress counts gets them built once at start") {
  ServerFixture f;
  Device a = f.device("dev-a", {"74"});
  const std::string reviewer = f.reviewer();
  const uint64_t h0 = hlc_now();
  json ops = json::array();
  for (int i = 0; i < 7; ++i) {
    ops.push_back(make_op(a.next_seq++, "rec-" + std::to_string(i), h0 + i, person(i)));
  }
  ops.push_back(make_delete(a.next_seq++, "rec-6", h0 + 10, json::array({h0 + 6, "dev-a"})));
  REQUIRE(f.push(a, ops).status == 200);
  f.stop();
  // As an older server left it: no counts (and a wrong row, which the build must drop).
  run_sql(f,
          "DELETE FROM counts; DELETE FROM meta WHERE key='counts_version'; "
          "INSERT INTO counts(col,scope,dim,key,n) VALUES('enrolment','7402292053','status',"
          "'rejected',5)");
  f.start();
  const Expected e = recount(f);
  CHECK(e.total == 6);
  check_progress(f, web_cookie(f, reviewer), "counts built at start");
  // Built once: later writes keep them, nothing rebuilds them.
  REQUIRE(f.push(a, json::array({make_op(a.next_seq++, "rec-9", h0 + 20, person(9))})).status ==
          200);
  f.restart();
  check_progress(f, web_cookie(f, reviewer), "a write and a restart");
}

// The dashboard lists at most 300 officers (the 299 with the most records, the rest summed
// under "...") and the latest 120 days.
TEST_CASE("web progress lists the busiest officers and the latest days") {
  ServerFixture f;
  Device a = f.device("dev-a", {"74"});
  const std::string reviewer = f.reviewer();
  json ops = json::array();
  const uint64_t h0 = hlc_now();
  for (int i = 0; i < 302; ++i) {
    json r = person(i);
    char officer[16], day[64];
    // Officer OFC-0000 enrols two people, 300 others one each; 121 days, 2025-01-01 first.
    std::snprintf(officer, sizeof officer, "OFC-%04d", i == 301 ? 0 : i);
    const int d = std::min(i, 120);
    std::snprintf(day, sizeof day, "2025-%02d-%02dT08:00:00.000Z", 1 + d / 28, 1 + d % 28);
    r["officer_id"] = officer;
    r["created_at"] = day;
    ops.push_back(make_op(a.next_seq++, "rec-" + std::to_string(i), h0 + i, r));
  }
  auto p = f.push(a, ops);
  REQUIRE_MESSAGE(p.status == 200, p.body);
  RequestOptions o;
  o.headers["Cookie"] = web_cookie(f, reviewer);
  auto w = f.http().request("GET", "/v1/web/progress", "", o);
  REQUIRE(w.status == 200);
  const json wj = w.json();
  CHECK(wj["total"] == 302);
  CHECK(wj["by_officer"].size() == 300);
  CHECK(wj["by_officer"]["OFC-0000"] == 2);  // the busiest is kept
  CHECK(wj["by_officer"]["..."] == 2);       // 301 officers: 299 listed, 2 summed
  uint64_t listed = 0;
  for (auto& [k, v] : wj["by_officer"].items()) listed += v.get<uint64_t>();
  CHECK(listed == 302);
  CHECK(wj["by_day"].size() == 120);
  CHECK_FALSE(wj["by_day"].contains("2025-01-01"));  // the earliest day is left out
  CHECK(wj["by_day"]["2025-05-09"] == 182);          // the latest: records 120..301
}

// Two server processes on one database, two laptops pushing at once into the same desa
// (creates, then moves to another desa and status): every write changes the same count rows
// from two transactions at a time. A lost update of a count would show in the recount.
// PostgreSQL only: a SQLite server takes no second process on its database.
TEST_CASE("concurrent pushes through two servers into one desa keep the counts exact" *
          doctest::test_suite(kPostgresOnly)) {
  ServerFixture f;
  // The fixture's directory (its data/ is not made on PostgreSQL: no "data/..").
  const std::string dir = std::filesystem::path(f.data_dir()).parent_path().string();
  ServerProcess second(LUMBUNG_SERVER_BIN, "", dir + "/admin-token-2",
                       {"--db", f.db_url(), "--key-file", dir + "/server.key"},
                       dir + "/server-2.log");
  std::vector<Device> devs = {f.device("dev-a", {"74"}), f.device("dev-b", {"74"})};
  const std::string reviewer = f.reviewer();
  constexpr int kRounds = 15;
  std::atomic<int> failures{0};
  auto writer = [&](int w) {
    Device& d = devs[static_cast<size_t>(w)];
    HttpTestClient http(w == 0 ? f.server().base_url() : second.base_url());
    uint64_t prev = 0;  // hlc of the previous round's create
    for (int i = 0; i < kRounds; ++i) {
      const std::string id = "rec-" + d.id + "-" + std::to_string(i);
      json rec = person(w * 100 + i);
      rec["village_code"] = kDesa[0];
      rec["status"] = "draft";
      const uint64_t h = hlc_now(static_cast<uint64_t>(10 * i));
      json ops = json::array({make_op(d.next_seq++, id, h, rec)});
      if (i > 0) {  // the previous record moves to another desa and status
        ops.push_back(make_op(d.next_seq++, "rec-" + d.id + "-" + std::to_string(i - 1), h + 1,
                              json{{"village_code", kDesa[1]}, {"status", "submitted"}},
                              base_of({"village_code", "status"}, prev, d.id)));
      }
      prev = h;
      const json body{{"device", d.id}, {"ops", ops}};
      for (int attempt = 0; attempt < 5; ++attempt) {  // a 503 (deadlock victim) is retried
        auto r = http.post("/v1/push", body, d.token, true);
        if (r.status == 200) break;
        if (r.status != 503 || attempt == 4) ++failures;
      }
    }
  };
  std::thread ta(writer, 0), tb(writer, 1);
  ta.join();
  tb.join();
  CHECK(failures == 0);
  const Expected e = recount(f);
  CHECK(e.total == 2 * kRounds);
  CHECK(e.by_desa.at(kDesa[1]).first == 2 * (kRounds - 1));
  check_progress(f, web_cookie(f, reviewer), "concurrent pushes through two servers");
}

// The counts live in the same database file as the records: a restore from an older copy
// brings back the counts of that copy's records. SQLite only: the file copied aside and back.
TEST_CASE("after a restore from an older copy the progress counts are the copy's" *
          doctest::test_suite(kSqliteOnly)) {
  namespace fs = std::filesystem;
  ServerFixture f;
  Device a = f.device("dev-a", {"74"});
  const std::string reviewer = f.reviewer();
  const uint64_t h0 = hlc_now();
  REQUIRE(f.push(a, json::array({make_op(a.next_seq++, "rec-0", h0, person(0)),
                                 make_op(a.next_seq++, "rec-1", h0 + 1, person(1))}))
              .status == 200);
  const uint16_t port = f.server().port();
  const fs::path db = fs::path(f.data_dir()) / "lumbung-server.db";
  const fs::path copy = fs::path(f.data_dir()) / ".." / "progress-backup.db";
  f.stop();
  fs::copy_file(db, copy, fs::copy_options::overwrite_existing);
  f.start(port);
  REQUIRE(f.push(a, json::array(
                        {make_op(a.next_seq++, "rec-2", h0 + 2, person(2)),
                         make_delete(a.next_seq++, "rec-0", h0 + 3, json::array({h0, "dev-a"}))}))
              .status == 200);
  check_progress(f, web_cookie(f, reviewer), "writes after the backup");
  f.stop();
  for (const char* ext : {"-wal", "-shm"}) fs::remove(db.string() + ext);
  fs::copy_file(copy, db, fs::copy_options::overwrite_existing);
  f.start(port);
  CHECK(recount(f).total == 2);
  check_progress(f, web_cookie(f, reviewer), "the restore");
  // A new laptop's create after the restore is counted.
  Device c = f.device("dev-c", {"74"});
  REQUIRE(f.push(c, json::array({make_op(c.next_seq++, "rec-c", hlc_now(), person(3))})).status ==
          200);
  check_progress(f, web_cookie(f, reviewer), "a create after the restore");
  fs::remove(copy);
}

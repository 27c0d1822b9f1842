// `lumbung-admin migrate` (issue 13): an office moves from the SQLite lumbung-server to
// PostgreSQL and its laptops keep syncing without a reset. Real processes throughout: the
// SQLite server, stopped by pid; the lumbung-admin binary; a PostgreSQL server started on
// the same address with --db and the SQLite server's key file; two engine laptops (Store +
// SyncClient over HTTP) and a raw HTTP device whose pull cursor spans the move.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <set>

#include "cli/cli_runner.h"
#include "doctest/doctest.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/attachment_upload.h"
#include "support/enrolment.h"
#include "support/pg_cluster.h"
#include "support/sha256_hex.h"

using namespace lumbung;
using namespace lumbung::test;

namespace {

// A field laptop: its own store, the engine's HTTP transport to `base_url`, a SyncClient.
struct Laptop {
  Laptop(const std::string& base_url, const std::string& id, const std::string& code)
      : http(make_http_transport(base_url)) {
    OpenOptions o;
    o.path = dir.path() + "/" + id + ".db";
    o.schema = enrolment_schema();
    o.device_id = id;
    store = Store::open(o);
    client = std::make_unique<SyncClient>(*store, *http, "");
    client->register_device(code, "laptop " + id);
  }
  SyncReport sync() {
    SyncOptions o;
    o.sleep = [](int) {};
    o.max_attempts = 5;  // the first request after the server changed meets a closed socket
    return client->sync(o);
  }
  TempDir dir;
  std::unique_ptr<Transport> http;
  std::unique_ptr<Store> store;
  std::unique_ptr<SyncClient> client;
};

std::string code(HttpTestClient& http, const std::string& admin,
                 const std::vector<std::string>& scope) {
  auto r = http.post("/v1/admin/codes", json{{"scope", scope}, {"label", "test"}}, admin);
  REQUIRE(r.status == 201);
  return r.json()["code"];
}

Device raw_device(HttpTestClient& http, const std::string& admin, const std::string& id,
                  const std::vector<std::string>& scope) {
  auto r = http.post("/v1/devices/register",
                     json{{"code", code(http, admin, scope)}, {"device_id", id}, {"label", id}});
  REQUIRE(r.status == 201);
  return Device{id, r.json()["token"], 1};
}

// One pull page from `cursor`; the answer as JSON.
json pull_page(HttpTestClient& http, const Device& d, const std::string& cursor) {
  auto r = http.get("/v1/pull?cursor=" + cursor, d.token);
  REQUIRE(r.status == 200);
  return r.json();
}

std::map<std::string, uint64_t> acked_seqs(HttpTestClient& http, const std::string& admin) {
  auto r = http.get("/v1/admin/devices", admin);
  REQUIRE(r.status == 200);
  std::map<std::string, uint64_t> out;
  const json page = r.json();
  for (const auto& d : page["devices"]) out[d["device_id"]] = d["acked_seq"];
  return out;
}

// What the office sees: records (personal fields in clear), and the three review queues.
json office_view(HttpTestClient& http, const std::string& admin) {
  json v;
  auto rec = http.get("/v1/records?collection=enrolment&limit=1000", admin);
  REQUIRE(rec.status == 200);
  v["records"] = rec.json()["records"];
  for (const char* q : {"conflicts", "duplicates", "refused"}) {
    auto r = http.get(std::string("/v1/") + q + "?status=all", admin);
    REQUIRE(r.status == 200);
    v[q] = r.json()[q];
  }
  return v;
}

// Runs a statement on `url`; the first value of its first row ("" if none).
std::string pg_value(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  INFO(PQresultErrorMessage(r));
  CHECK((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK));
  std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  return out;
}

CliResult migrate(const std::string& data, const std::string& url, bool json_out = false) {
  std::vector<std::string> args{"--lang", "en", "migrate", "--data", data, "--db", url};
  if (json_out) args.insert(args.begin(), "--json");
  return run_cli(LUMBUNG_ADMIN_BIN, args, {}, {}, 120000);
}

}  // namespace

TEST_CASE(
    "laptops synced with a SQLite server keep syncing after migrate to PostgreSQL - no reset") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto sqlite = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data, dir.file("admin-token"));
  const uint16_t port = sqlite->port();
  HttpTestClient http(sqlite->base_url());
  const std::string admin = read_text_file(dir.file("admin-token"));
  REQUIRE(!admin.empty());

  Laptop a(sqlite->base_url(), "lap-a", code(http, admin, {"74.02"}));
  Laptop b(sqlite->base_url(), "lap-b", code(http, admin, {"74.02"}));
  Device watcher = raw_device(http, admin, "dev-watch", {"74.02"});
  Device other = raw_device(http, admin, "dev-other", {"74.14"});

  // Records, an edit conflict, a duplicate NIK, and a refused change.
  const std::string r1 = a.store->create("enrolment", konawe_enrolment(101));
  const std::string r2 = a.store->create("enrolment", konawe_enrolment(102));
  a.sync();
  b.sync();
  REQUIRE(b.store->get("enrolment", r1));
  a.store->update("enrolment", r1, {{"phone", "081111111111"}});
  b.store->update("enrolment", r1, {{"phone", "082222222222"}});
  const std::string dup = b.store->create("enrolment", konawe_enrolment(102));  // r2's NIK
  a.sync();
  b.sync();
  a.sync();
  auto refused =
      http.post("/v1/push",
                json{{"device", other.id},
                     {"ops", json::array({make_op(1, "rec-trap", hlc_now(), konawe_record_1())})}},
                other.token);
  REQUIRE(refused.status == 200);
  REQUIRE(refused.json()["refused"].size() == 1);
  std::string cursor;
  json before_ops = json::array();
  for (int page = 0; page < 100; ++page) {
    json p = pull_page(http, watcher, cursor);
    for (auto& op : p["ops"]) before_ops.push_back(op);
    cursor = p["next"];
    if (!p["more"].get<bool>()) break;
  }
  REQUIRE(before_ops.size() >= 4);
  const json before = office_view(http, admin);
  REQUIRE(before["conflicts"].size() == 1);
  REQUIRE(before["duplicates"].size() == 1);
  REQUIRE(before["refused"].size() == 1);
  const auto acked_before = acked_seqs(http, admin);
  REQUIRE(acked_before.at("lap-a") >= 3);
  REQUIRE(acked_before.at("lap-b") >= 2);
  const auto a_before = a.store->get("enrolment", dup);
  REQUIRE(a_before);

  PgCluster& pg = PgCluster::shared();
  const std::string url = pg.create_database();

  // One more start and stop with no write: the last SQLite epoch then starts above the
  // last row (a SQLite start opens its epoch at the wall clock in microseconds).
  REQUIRE(sqlite->stop() == 0);
  sqlite = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data, dir.file("admin-token"));
  REQUIRE(sqlite->stop() == 0);
  sqlite.reset();

  // The move.
  const CliResult moved = migrate(data, url, true);
  INFO(moved.out << moved.err);
  REQUIRE(moved.exit == 0);
  const json summary = json::parse(moved.out);
  CHECK(summary["migrated"] == true);
  CHECK(summary["tables"]["records"] == 3);  // r1, r2, dup (the refused change made none)
  CHECK(summary["tables"]["conflicts"] == 1);
  CHECK(summary["tables"]["duplicates"] == 1);
  CHECK(summary["tables"]["refused"] == 1);
  CHECK(summary["devices_checked"] == 4);
  // Everything the SQLite server had: its oplog positions too.
  CHECK(pg_value(url, "SELECT count(*) FROM oplog") ==
        std::to_string(summary["tables"]["oplog"].get<uint64_t>()));
  CHECK(pg_value(url, "SELECT max(pos) FROM oplog") ==
        std::to_string(summary["max_pos"].get<uint64_t>()));
  // The PostgreSQL history starts above every SQLite one, the last of which has no row.
  CHECK(pg_value(url,
                 "SELECT max(start_pos) > max(pos) FROM epochs, oplog "
                 "WHERE cluster = 'sqlite'") == "t");
  CHECK(pg_value(url,
                 "SELECT start_pos > (SELECT max(start_pos) FROM epochs WHERE cluster = "
                 "'sqlite') FROM epochs WHERE cluster <> 'sqlite'") == "t");

  // The SQLite copy is marked moved: a server started on it again refuses, writing nothing,
  // so laptops never meet two diverging servers.
  CHECK(summary["source_marked"] == true);
  const auto sqlite_start = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--data", data};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(LUMBUNG_SERVER_BIN, args, {}, {}, 30000);
  };
  {
    const std::string history_before = read_text_file(data + "/history");
    const CliResult again = sqlite_start({});
    INFO(again.err);
    CHECK(again.exit == 1);
    CHECK(again.err.find("moved to PostgreSQL") != std::string::npos);
    CHECK(again.err.find("--serve-moved-data") != std::string::npos);
    CHECK(read_text_file(data + "/history") == history_before);  // no new history opened
  }

  // A PostgreSQL server on the office's address, with the SQLite server's key file.
  const std::vector<std::string> pg_args{
      "--db", url, "--key-file", data + ".key", "--listen", "127.0.0.1:" + std::to_string(port)};
  auto server =
      std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, "", dir.file("admin-token-pg"), pg_args);
  REQUIRE(server->port() == port);

  // The cursor from before the move continues: no reset, nothing new to send.
  {
    json p = pull_page(http, watcher, cursor);
    CHECK_FALSE(p.contains("reset"));
    CHECK(p["ops"].empty());
    CHECK(p["acked_seq"] == 0);
    cursor = p["next"];
  }
  // The laptops neither pull their history again nor send their log again.
  {
    const SyncReport ra = a.sync();
    const SyncReport rb = b.sync();
    CHECK(ra.pushed == 0);
    CHECK(ra.pulled == 0);
    CHECK(rb.pushed == 0);
    CHECK(rb.pulled == 0);
    CHECK(acked_seqs(http, admin) == acked_before);
  }
  // The office sees the same records (sealed personal data opens) and the same queues.
  const json after = office_view(http, admin);
  CHECK(after == before);
  auto audit = http.get("/v1/admin/audit/verify", admin);
  REQUIRE(audit.status == 200);
  CHECK(audit.json()["ok"] == true);
  // The move itself is in the chain, once, with its counts (written by the first start).
  const auto migration_entries = [&http, &admin] {
    std::vector<json> out;
    std::string after;
    for (int page = 0; page < 100; ++page) {
      const json p = http.get("/v1/admin/audit?limit=1000&after=" + after, admin).json();
      for (const auto& e : p["entries"]) {
        if (e["action"] == "migrated_from_sqlite") out.push_back(e);
      }
      if (!p["more"].get<bool>()) break;
      after = std::to_string(p["next"].get<uint64_t>());
    }
    return out;
  };
  {
    const auto moved_entries = migration_entries();
    REQUIRE(moved_entries.size() == 1);
    CHECK(moved_entries[0]["detail"]["tables"]["records"] == 3);
    CHECK(moved_entries[0]["detail"]["epoch"] == summary["epoch"]);
  }

  // New records flow both ways.
  const std::string r3 = a.store->create("enrolment", konawe_enrolment(103));
  CHECK(a.sync().pushed == 1);
  const SyncReport rb = b.sync();
  CHECK(rb.pulled == 1);
  REQUIRE(b.store->get("enrolment", r3));
  b.store->update("enrolment", r3, {{"phone", "083333333333"}});
  CHECK(b.sync().pushed == 1);
  CHECK(a.sync().pulled == 1);
  CHECK(a.store->get("enrolment", r3)->fields["phone"] == "083333333333");
  const auto acked_after = acked_seqs(http, admin);
  CHECK(acked_after.at("lap-a") == acked_before.at("lap-a") + 1);
  CHECK(acked_after.at("lap-b") == acked_before.at("lap-b") + 1);
  {
    json p = pull_page(http, watcher, cursor);
    CHECK_FALSE(p.contains("reset"));
    CHECK(p["ops"].size() == 2);
    for (const auto& op : p["ops"]) CHECK(op["id"] == r3);
    cursor = p["next"];
  }
  // A review decision on the moved queue works (the sealed conflict body opens).
  const std::string conflict_id = after["conflicts"][0]["id"];
  auto resolved =
      http.post("/v1/conflicts/" + conflict_id + "/resolve", json{{"keep", "winner"}}, admin);
  CHECK(resolved.status == 200);

  // The PostgreSQL server restarted: still the same history (the migrated epoch is its own).
  REQUIRE(server->stop() == 0);
  server =
      std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, "", dir.file("admin-token-pg"), pg_args);
  {
    json p = pull_page(http, watcher, cursor);
    CHECK_FALSE(p.contains("reset"));
    const SyncReport ra = a.sync();
    CHECK(ra.pushed == 0);
    CHECK(ra.pulled <= 1);  // at most the resolution's op
  }
  CHECK(pg_value(url, "SELECT count(*) FROM epochs WHERE cluster <> 'sqlite'") == "1");
  CHECK(pg_value(url, "SELECT count(*) FROM epochs WHERE cluster = 'sqlite'") == "2");
  CHECK(migration_entries().size() == 1);  // not written again by the restart

  // The operator undoes the move on purpose: served with --serve-moved-data, the mark goes,
  // and a later start needs no flag.
  REQUIRE(server->stop() == 0);
  {
    auto back = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data, dir.file("admin-token"),
                                                std::vector<std::string>{"--serve-moved-data"});
    CHECK(HttpTestClient(back->base_url()).get("/v1/health").status == 200);
    REQUIRE(back->stop() == 0);
    back = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data, dir.file("admin-token"));
    CHECK(HttpTestClient(back->base_url()).get("/v1/health").status == 200);
  }
}

TEST_CASE(
    "migrate refuses a running SQLite server and a database that is not empty - changing "
    "nothing") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto sqlite = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data, dir.file("admin-token"));
  HttpTestClient http(sqlite->base_url());
  const std::string admin = read_text_file(dir.file("admin-token"));
  Device d = raw_device(http, admin, "dev-a", {"74.02"});
  auto push = [&](uint64_t seq, const std::string& id) {
    return http.post("/v1/push",
                     json{{"device", d.id},
                          {"ops", json::array({make_op(seq, id, hlc_now(), konawe_record_1())})}},
                     d.token);
  };
  REQUIRE(push(1, "rec-1").status == 200);
  PgCluster& pg = PgCluster::shared();
  const std::string url = pg.create_database();

  // The server still runs: refused, nothing written to PostgreSQL, the server unharmed.
  const CliResult busy = migrate(data, url);
  INFO(busy.out << busy.err);
  CHECK(busy.exit == 3);
  CHECK(busy.err.find("still running") != std::string::npos);
  CHECK(pg_value(url, "SELECT to_regclass('oplog') IS NULL") == "t");
  CHECK(push(2, "rec-2").status == 200);
  REQUIRE(sqlite->stop() == 0);

  // A database that is not empty: refused, and left exactly as it was.
  pg_value(url, "CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL)");
  pg_value(url, "INSERT INTO meta VALUES('someone', 'else')");
  const CliResult full = migrate(data, url);
  INFO(full.out << full.err);
  CHECK(full.exit == 3);
  CHECK(full.err.find("not empty") != std::string::npos);
  CHECK(pg_value(url, "SELECT count(*) FROM meta") == "1");
  CHECK(pg_value(url, "SELECT to_regclass('records') IS NULL") == "t");

  // A SQLite file with a table this version does not know: refused rather than dropped.
  const std::string fresh = pg.create_database();
  auto sqlite_exec = [&](const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((data + "/lumbung-server.db").c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  };
  sqlite_exec("CREATE TABLE extra(x)");
  const CliResult unknown = migrate(data, fresh);
  INFO(unknown.out << unknown.err);
  CHECK(unknown.exit == 3);
  CHECK(unknown.err.find("table extra") != std::string::npos);
  CHECK(pg_value(fresh, "SELECT to_regclass('oplog') IS NULL") == "t");
  sqlite_exec("DROP TABLE extra");
  const CliResult ok = migrate(data, fresh);
  INFO(ok.out << ok.err);
  CHECK(ok.exit == 0);
  CHECK(ok.out.find("oplog: 2 rows") != std::string::npos);

  // Not a data directory, no database URL: usage errors.
  CHECK(migrate(dir.path(), url).exit == 2);
  CHECK(run_cli(LUMBUNG_ADMIN_BIN, {"migrate", "--data", data}).exit == 2);
}

namespace {

std::string photo_bytes(char seed, size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u + static_cast<uint32_t>(seed);
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

}  // namespace

// The attachment files of the SQLite server (sealed frames under data/attachments) move into
// the database with everything else, as stored: every PostgreSQL server then serves a
// finished photo and takes the rest of an unfinished one, with no --attachments directory.
TEST_CASE("migrate moves attachment files into the database - every server serves them") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto sqlite = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data, dir.file("admin-token"));
  HttpTestClient http(sqlite->base_url());
  const std::string admin = read_text_file(dir.file("admin-token"));
  Device d = raw_device(http, admin, "dev-photo", {"74.02"});
  const std::string done = photo_bytes('a', 3000), half = photo_bytes('b', 3000);
  const std::string done_sha = sha256_hex(done), half_sha = sha256_hex(half);
  for (const auto& [id, sha] :
       {std::pair<std::string, std::string>{"rec-done", done_sha}, {"rec-half", half_sha}}) {
    json rec = id == "rec-done" ? konawe_record_1() : konawe_record_2();
    rec["foto_ktp"] = json{{"sha256", sha}, {"size", 3000}, {"mime", "image/jpeg"}};
    auto p = http.post(
        "/v1/push",
        json{{"device", d.id}, {"ops", json::array({make_op(d.next_seq++, id, hlc_now(), rec)})}},
        d.token);
    REQUIRE_MESSAGE(p.status == 200, p.body);
    REQUIRE_MESSAGE(p.json()["refused"].empty(), p.body);
  }
  REQUIRE(post_attachment_chunk(http, d.token, done_sha, 0, 3000, done.substr(0, 2000)).status ==
          200);
  REQUIRE(post_attachment_chunk(http, d.token, done_sha, 2000, 3000, done.substr(2000))
              .json()["complete"] == true);
  REQUIRE(post_attachment_chunk(http, d.token, half_sha, 0, 3000, half.substr(0, 2000)).status ==
          200);
  REQUIRE(sqlite->stop() == 0);
  sqlite.reset();

  const std::string url = PgCluster::shared().create_database();
  const CliResult moved = run_cli(
      LUMBUNG_ADMIN_BIN, {"migrate", "--data", data, "--db", url, "--json"}, {}, {}, 120000);
  INFO(moved.out << moved.err);
  REQUIRE(moved.exit == 0);
  const json summary = json::parse(moved.out);
  CHECK(summary["attachments"] == 2);
  CHECK(summary["attachment_bytes"] == 5000);
  CHECK(pg_value(url, "SELECT count(*) FROM attachment_chunks") == "3");
  // As stored: the chunks stay sealed (no 16-byte run of a photo in clear in any row).
  CHECK(pg_value(url, "SELECT count(*) FROM attachment_chunks WHERE position(decode('" +
                          hex_of(done.substr(100, 16)) + "', 'hex') in sealed) > 0") == "0");

  // Two PostgreSQL servers, no --attachments: the bytes are the database's.
  const std::vector<std::string> pg_args{"--db", url, "--key-file", data + ".key"};
  ServerProcess s1(LUMBUNG_SERVER_BIN, "", dir.file("admin-token-pg"), pg_args);
  ServerProcess s2(LUMBUNG_SERVER_BIN, "", dir.file("admin-token-pg"), pg_args);
  HttpTestClient h1(s1.base_url()), h2(s2.base_url());
  auto got = h2.get("/v1/attachments/" + done_sha + "/content?collection=enrolment&record=rec-done",
                    d.token);
  REQUIRE(got.status == 200);
  CHECK(got.body == done);
  auto status = h1.get("/v1/attachments/" + half_sha, d.token);
  REQUIRE(status.status == 200);
  CHECK(status.json()["received"] == 2000);
  CHECK(status.json()["complete"] == false);
  auto last = post_attachment_chunk(h2, d.token, half_sha, 2000, 3000, half.substr(2000));
  REQUIRE(last.status == 200);
  CHECK(last.json()["complete"] == true);
  got = h1.get("/v1/attachments/" + half_sha + "/content?collection=enrolment&record=rec-half",
               d.token);
  REQUIRE(got.status == 200);
  CHECK(got.body == half);
}

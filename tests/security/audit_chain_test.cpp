// Issue 12, item 6: an audit trail that cannot be cut quietly. The real lumbung-server and
// the real lumbung-admin, as an operator meets them; the attacks are SQL on the stopped
// server's database, made by someone who can write the file but does not hold the key file
// (each one passed `audit verify` before the chain was keyed: see each case).
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_runner.h"
#include "security/security_support.h"

using namespace lumbung::test;
using nlohmann::json;

namespace {

struct Row {
  int64_t seq = 0, at_ms = 0;
  std::string role, actor, action, target, detail, prev_hash, hash;
};

std::vector<Row> read_rows(const std::string& db_path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT seq,at_ms,role,actor,action,target,detail,prev_hash,hash "
                             "FROM audit ORDER BY seq",
                             -1, &st, nullptr) == SQLITE_OK);
  std::vector<Row> rows;
  auto text = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i))); };
  while (sqlite3_step(st) == SQLITE_ROW) {
    rows.push_back(Row{sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), text(2), text(3),
                       text(4), text(5), text(6), text(7), text(8)});
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::string sql_one(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// What anyone reading the source knows: the canonical form and the old plain link.
std::string canonical(const Row& r) {
  json j{{"seq", r.seq},     {"at_ms", r.at_ms},   {"role", r.role},
         {"actor", r.actor}, {"action", r.action}, {"target", r.target}};
  j["detail"] = json::parse(r.detail);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[32];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) == 1);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Rewrites the prev_hash and hash of every entry up to `upto` (0: all) as the plain SHA-256
// chain, optionally after changing one entry's detail, and the head to match, as the old
// verify wanted it.
void recompute_plain(const std::string& db_path, int64_t edit_seq = 0,
                     const std::string& new_detail = {}, int64_t upto = 0) {
  std::vector<Row> rows = read_rows(db_path);
  if (upto > 0 && static_cast<size_t>(upto) < rows.size()) rows.resize(static_cast<size_t>(upto));
  std::string prev(64, '0');
  std::string sql = "BEGIN;";
  for (Row& r : rows) {
    if (r.seq == edit_seq) r.detail = new_detail;
    r.prev_hash = prev;
    r.hash = sha256_hex(prev + canonical(r));
    prev = r.hash;
    sql += "UPDATE audit SET detail=" + q(r.detail) + ", prev_hash=" + q(r.prev_hash) +
           ", hash=" + q(r.hash) + " WHERE seq=" + std::to_string(r.seq) + ";";
  }
  if (upto == 0) {
    sql += "UPDATE meta SET value=" + q(std::to_string(rows.back().seq) + ":" + prev) +
           " WHERE key='audit_head';";
  }
  sql += "COMMIT;";
  sql_exec(db_path, sql);
}

// Every audited kind of action: codes, a registration, a push, staff tokens, revocations.
void do_things(SecServer& s, const std::string& device_id) {
  const std::string dev = s.device(device_id, {"7402"});
  json created = s.staff("reviewer");
  json r = sample_enrolment(1);
  r["village_code"] = "7402292053";
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  json ops = json::array({json{{"seq", 1},
                               {"col", "enrolment"},
                               {"id", "rec-" + device_id},
                               {"hlc", static_cast<uint64_t>(ms) << 16},
                               {"set", r}}});
  REQUIRE(s.http().post("/v1/push", json{{"device", device_id}, {"ops", ops}}, dev, true).status ==
          200);
  REQUIRE(s.http()
              .post("/v1/admin/tokens/" + created["id"].get<std::string>() + "/revoke",
                    json::object(), s.admin())
              .status == 200);
}

CliResult admin(SecServer& s, std::vector<std::string> args) {
  std::vector<std::string> full{"--server", s.server().base_url(), "--token", s.admin(), "--lang",
                                "en"};
  full.insert(full.end(), args.begin(), args.end());
  return run_cli(LUMBUNG_ADMIN_BIN, full, {}, {}, 60000);
}

// `audit verify` must fail (exit 1) and say `needle` in its report.
void expect_broken(SecServer& s, std::vector<std::string> extra, const std::string& needle) {
  std::vector<std::string> args{"audit", "verify"};
  args.insert(args.end(), extra.begin(), extra.end());
  const CliResult r = admin(s, args);
  INFO(r.out << r.err);
  CHECK(r.exit == 1);
  CHECK(r.out.find("AUDIT LOG BROKEN") != std::string::npos);
  CHECK(r.out.find(needle) != std::string::npos);
}

std::string key_file(const SecServer& s) { return s.data_dir() + ".key"; }

}  // namespace

TEST_CASE("an intact keyed audit chain verifies - against the server's and the operator's checkpoints") {
  SecServer s;
  do_things(s, "dev-a");
  struct stat st {};
  REQUIRE(::stat(key_file(s).c_str(), &st) == 0);  // made at the first start, beside --data
  CHECK((st.st_mode & 0777) == 0600);

  TempDir operator_dir;  // somewhere off the server
  const std::string held = operator_dir.path() + "/checkpoint.json";
  CliResult r = admin(s, {"audit", "checkpoint", "--out", held});
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("signed and written to") != std::string::npos);
  const json cp = json::parse(read_text_file(held));
  CHECK(cp["format"] == "lumbung-audit-checkpoint-v1");
  CHECK(cp["public_key"].get<std::string>().size() == 64);
  CHECK(cp["sig"].get<std::string>().size() == 128);

  r = admin(s, {"audit", "verify"});
  CHECK_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("Audit log intact") != std::string::npos);
  // Restarts (a checkpoint at each stop) and more work: the kept checkpoint still holds.
  s.restart();
  do_things(s, "dev-b");
  r = admin(s, {"audit", "verify", "--checkpoint", held});
  CHECK_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("Your checkpoint #" + std::to_string(cp["count"].get<int>())) !=
        std::string::npos);
  s.restart();
  const json v = json::parse(admin(s, {"--json", "audit", "verify"}).out);
  CHECK(v["ok"] == true);
  CHECK(v["keyed_from"] == 1);
  CHECK(v["checkpoints"]["stored"] == 2);  // one per count: the one asked for, the last stop
  CHECK(v["public_key"] == cp["public_key"]);

  SUBCASE("a changed checkpoint file is not taken on trust") {
    json bad = cp;
    bad["count"] = cp["count"].get<int>() - 1;
    std::ofstream(held, std::ios::trunc) << bad.dump();
    expect_broken(s, {"--checkpoint", held}, "not validly signed");
  }
}

TEST_CASE("attack: the newest entries cut and the head rewritten is reported") {
  // Before: the chain 1..4 was intact and audit_head named its last entry: verify said ok.
  SecServer s;
  do_things(s, "dev-a");  // 6 entries
  s.stop();
  const std::string cut =
      "DELETE FROM audit WHERE seq>=5;"  // the push and the revocation
      "UPDATE meta SET value=(SELECT seq||':'||hash FROM audit WHERE seq=4) "
      "WHERE key='audit_head';";
  SUBCASE("two statements, as in the issue") {
    sql_exec(s.db_path(), cut);
    s.start();
    expect_broken(s, {}, "does not carry the audit key's tag");
    // The server's own checkpoint at the stop says so too.
    const json v = json::parse(admin(s, {"--json", "audit", "verify"}).out);
    bool named = false;
    for (const auto& p : v["problems"]) {
      named = named || p["reason"].get<std::string>().find("checkpoint covers #6") != std::string::npos;
    }
    CHECK(named);
  }
  SUBCASE("and the server's checkpoints deleted as well") {
    sql_exec(s.db_path(), cut + "DROP TABLE IF EXISTS audit_checkpoints;");
    s.start();
    expect_broken(s, {}, "the newest entries were cut and the head rewritten");
  }
}

TEST_CASE("attack: the chain recomputed with plain hashes is reported") {
  // Before: SHA-256 over (prev, entry) was all verify checked, so a rewritten detail with
  // every later hash and the head recomputed passed.
  SecServer s;
  do_things(s, "dev-a");
  s.stop();
  recompute_plain(s.db_path(), 5, R"({"acked_seq":1,"applied":0})");
  sql_exec(s.db_path(), "DROP TABLE IF EXISTS audit_checkpoints;");
  s.start();
  expect_broken(s, {}, "recomputed without the key");
  const json v = json::parse(admin(s, {"--json", "audit", "verify"}).out);
  CHECK(v["first_bad"]["seq"] == 1);  // no entry holds under the key
}

TEST_CASE("attack: a forged entry appended is reported") {
  // Before: a new last row with the plain SHA-256 link and the head moved to it passed.
  SecServer s;
  do_things(s, "dev-a");
  s.stop();
  Row last = read_rows(s.db_path()).back();
  Row forged{last.seq + 1, last.at_ms + 1, "admin", last.actor, "revoke_device", "dev-x", "{}",
             last.hash, ""};
  forged.hash = sha256_hex(forged.prev_hash + canonical(forged));
  sql_exec(s.db_path(),
           "INSERT INTO audit(seq,at_ms,role,actor,action,target,detail,prev_hash,hash) VALUES(" +
               std::to_string(forged.seq) + "," + std::to_string(forged.at_ms) + "," +
               q(forged.role) + "," + q(forged.actor) + "," + q(forged.action) + "," +
               q(forged.target) + "," + q(forged.detail) + "," + q(forged.prev_hash) + "," +
               q(forged.hash) + ");UPDATE meta SET value=" +
               q(std::to_string(forged.seq) + ":" + forged.hash) + " WHERE key='audit_head';");
  s.start();
  expect_broken(s, {}, "forged");
  const json v = json::parse(admin(s, {"--json", "audit", "verify"}).out);
  CHECK(v["first_bad"]["seq"] == forged.seq);
  CHECK(v["entries"] == last.seq);
}

TEST_CASE("what only a checkpoint kept off the server catches: a rollback - a new key file") {
  SecServer s;
  do_things(s, "dev-a");
  s.stop();
  // The attacker's earlier copy of what matters: the head as it was then.
  const std::string old_head = sql_one(s.db_path(), "SELECT value FROM meta WHERE key='audit_head'");
  const std::string old_count = sql_one(s.db_path(), "SELECT max(seq) FROM audit");
  s.start();
  TempDir operator_dir;
  const std::string held = operator_dir.path() + "/checkpoint.json";
  REQUIRE(admin(s, {"audit", "checkpoint", "--out", held}).exit == 0);
  do_things(s, "dev-b");
  s.stop();

  SUBCASE("the tail cut back to an authentic earlier head") {
    sql_exec(s.db_path(), "DELETE FROM audit WHERE seq>" + old_count +
                              ";DELETE FROM audit_checkpoints WHERE count>" + old_count +
                              ";UPDATE meta SET value=" + q(old_head) + " WHERE key='audit_head';");
    s.start();
    // Everything left is authentic: without the operator's checkpoint this passes.
    CHECK(admin(s, {"audit", "verify"}).exit == 0);
    expect_broken(s, {"--checkpoint", held}, "but your checkpoint covers #");
  }
  SUBCASE("the key file replaced and the whole chain recomputed unkeyed") {
    recompute_plain(s.db_path());
    sql_exec(s.db_path(), "DELETE FROM audit_checkpoints;DELETE FROM meta WHERE key='key_id';");
    std::filesystem::remove(key_file(s));
    s.start();  // takes it for a data directory from before key files, makes a new key
    CHECK(admin(s, {"audit", "verify"}).exit == 0);
    expect_broken(s, {"--checkpoint", held}, "the key file was replaced");
  }
}

TEST_CASE("the key file: refused when others may read it - or when missing for a keyed data dir") {
  SecServer s;
  do_things(s, "dev-a");
  s.stop();
  auto start_fails = [&](const std::string& needle) {
    const CliResult r = run_cli(LUMBUNG_SERVER_BIN,
                                {"--listen", "127.0.0.1:0", "--data", s.data_dir(),
                                 "--insecure-http"},
                                {}, {}, 30000);
    INFO(r.err);
    CHECK(r.exit == 1);
    CHECK(r.err.find(needle) != std::string::npos);
    CHECK(r.out.find("listening") == std::string::npos);
  };
  ::chmod(key_file(s).c_str(), 0640);
  start_fails("group or others may access it (mode 0640); run: chmod 600");
  ::chmod(key_file(s).c_str(), 0600);
  std::filesystem::rename(key_file(s), key_file(s) + ".elsewhere");
  start_fails("is missing, but this data directory was keyed with key");
  std::filesystem::rename(key_file(s) + ".elsewhere", key_file(s));
  s.start();
  CHECK(admin(s, {"audit", "verify"}).exit == 0);
}

TEST_CASE("upgrade: a data dir whose chain predates key files opens - old entries checked as before - new ones keyed") {
  SecServer s;
  do_things(s, "dev-a");  // 6 entries
  s.stop();
  // Made into what the server before key files left: the plain chain, its "seq:hash" head,
  // no key id, no checkpoints table, no key file.
  recompute_plain(s.db_path());
  sql_exec(s.db_path(), "DROP TABLE audit_checkpoints;DELETE FROM meta WHERE key='key_id';");
  std::filesystem::remove(key_file(s));
  s.start();
  json v = json::parse(admin(s, {"--json", "audit", "verify"}).out);
  CHECK(v["ok"] == true);
  CHECK(v["keyed_from"] == 7);
  json page = s.http().get("/v1/admin/audit?after=6", s.admin()).json();
  REQUIRE(page["entries"].size() == 1);
  CHECK(page["entries"][0]["action"] == "audit_keyed");
  CHECK(page["entries"][0]["detail"]["unkeyed_entries"] == 6);
  do_things(s, "dev-b");
  CHECK(admin(s, {"audit", "verify"}).exit == 0);
  s.stop();

  SUBCASE("an old entry edited is still caught") {
    sql_exec(s.db_path(), "UPDATE audit SET actor='someone-else' WHERE seq=3");
    s.start();
    expect_broken(s, {}, "(edited)");
  }
  SUBCASE("the old part recomputed is caught by the first keyed entry") {
    recompute_plain(s.db_path(), 5, R"({"acked_seq":1,"applied":0})", 6);
    s.start();
    json w = json::parse(admin(s, {"--json", "audit", "verify"}).out);
    CHECK(w["ok"] == false);
    CHECK(w["first_bad"]["seq"] == 7);  // the first keyed entry no longer follows
  }
}

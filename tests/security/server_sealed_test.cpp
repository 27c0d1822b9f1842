// Issue 12, "sealed on the server": the server's database files hold no personal value in
// clear, yet pulls, review lists and duplicate detection by NIK work as before; a data
// directory from before sealing is sealed at its first start. Through the real
// lumbung-server; the files are read byte by byte (database, WAL and shared memory).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli_runner.h"
#include "lumbung/changeset.h"
#include "security/security_support.h"
#include "store/record_codec.h"
#include "store/sqlite_server_store.h"

using namespace lumbung;
using namespace lumbung::test;
using nlohmann::json;

namespace {

// Distinct values that appear nowhere else by chance.
Json person(int i, const std::string& village = "74.02.01.2006") {
  Json r = sample_enrolment(100 + i);                    // born 1980-11-19, male
  r["nik"] = "740201191180" + std::to_string(2000 + i);  // Kec. Lambuya, born 19-11-80
  r["full_name"] = "Wa Ode Sealtest " + std::string(1, static_cast<char>('A' + i));
  r["phone"] = "0813" + std::to_string(52700000 + i * 7919);
  r["monthly_income"] = 3718291 + i * 17;
  r["village_code"] = village;
  return r;
}

std::vector<std::string> values_of(const Json& r) {
  return {r["nik"].get<std::string>(), r["full_name"].get<std::string>(),
          r["phone"].get<std::string>(), std::to_string(r["monthly_income"].get<int64_t>())};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every personal value searched for in the raw bytes of the database's files.
void expect_no_clear_values(const std::string& db_path, const std::vector<std::string>& values) {
  std::string bytes;
  for (const char* ext : {"", "-wal", "-shm"}) bytes += slurp(db_path + ext);
  REQUIRE(bytes.size() > 4096);
  for (const auto& v : values) {
    INFO("value in clear: " << v);
    CHECK(bytes.find(v) == std::string::npos);
  }
}

std::string key_file_of(const std::string& data_dir) { return data_dir + ".key"; }

}  // namespace

TEST_CASE("after a sync the server's files hold no NIK - name - phone or income in clear - yet pulls - reviews and duplicates work") {
  SecServer s;
  const std::string url = s.server().base_url();
  HttpTransportOptions topt;
  topt.timeout_ms = 20000;
  Laptop a(url, topt, "laptop-a"), b(url, topt, "laptop-b");
  a.client->register_device(s.code({"74.02"}), "A");
  b.client->register_device(s.code({"74.02"}), "B");

  std::vector<std::string> personal;
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    const Json r = person(i);
    for (auto& v : values_of(r)) personal.push_back(v);
    ids.push_back(a.store->create("enrolment", r));
  }
  a.sync();
  b.sync();
  // Pulled whole by the other laptop.
  auto got = b.store->get("enrolment", ids[2]);
  REQUIRE(got);
  CHECK(got->fields["full_name"] == "Wa Ode Sealtest C");
  CHECK(got->fields["monthly_income"] == Json(3718291 + 2 * 17));
  // The same person enrolled again on B (duplicate NIK), and both edit one phone (conflict).
  Json again = person(3);
  again["full_name"] = "Wa Ode Sealtest Again";
  again["phone"] = "081352799901";
  personal.push_back("Wa Ode Sealtest Again");
  personal.push_back("081352799901");
  b.store->create("enrolment", again);
  a.store->update("enrolment", ids[0], Json{{"phone", "081352799902"}});
  b.store->update("enrolment", ids[0], Json{{"phone", "081352799903"}});
  personal.push_back("081352799902");
  personal.push_back("081352799903");
  a.sync();
  b.sync();
  a.sync();
  // A device of another kabupaten pushes a Konawe record: refused and kept with its values.
  const std::string other = s.device("dev-other", {"7414"});
  Json trap = person(9);
  trap["village_code"] = "7402012006";
  for (auto& v : values_of(trap)) personal.push_back(v);
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  json op{{"seq", 1}, {"col", "enrolment"}, {"id", "trap-1"},
          {"hlc", static_cast<uint64_t>(ms) << 16}, {"set", trap}};
  REQUIRE(s.http()
              .post("/v1/push", json{{"device", "dev-other"}, {"ops", json::array({op})}}, other,
                    true)
              .status == 200);

  // The office sees everything as before.
  const std::string reviewer = s.staff("reviewer")["token"];
  auto records = s.http().get("/v1/records?collection=enrolment", reviewer);
  REQUIRE(records.status == 200);
  CHECK(records.body.find("Wa Ode Sealtest E") != std::string::npos);
  CHECK(records.body.find("3718359") != std::string::npos);  // person 4's income
  auto dups = s.http().get("/v1/duplicates", reviewer).json()["duplicates"];
  CHECK(dups.size() == 1);  // found by the NIK's blind index
  auto conflicts = s.http().get("/v1/conflicts", reviewer);
  CHECK(conflicts.body.find("081352799902") != std::string::npos);
  CHECK(conflicts.body.find("081352799903") != std::string::npos);
  const json open_conflicts = conflicts.json()["conflicts"];
  REQUIRE(open_conflicts.size() == 1);
  for (const auto& cf : open_conflicts) {
    if (cf["field"] != "phone") continue;
    CHECK(s.http()
              .post("/v1/conflicts/" + cf["id"].get<std::string>() + "/resolve",
                    json{{"value", "081352799904"}}, reviewer)
              .status == 200);
  }
  personal.push_back("081352799904");
  auto refused = s.http().get("/v1/refused", reviewer);
  CHECK(refused.body.find(trap["full_name"].get<std::string>()) != std::string::npos);
  a.sync();
  b.sync();
  got = b.store->get("enrolment", ids[0]);
  REQUIRE(got);
  CHECK(got->fields["phone"] == "081352799904");

  s.stop();
  expect_no_clear_values(s.db_path(), personal);

  SUBCASE("served again after a restart - to a new laptop") {
    s.start();
    Laptop c(s.server().base_url(), topt, "laptop-c");
    c.client->register_device(s.code({"74.02"}), "C");
    c.sync();
    auto rec = c.store->get("enrolment", ids[5]);
    REQUIRE(rec);
    CHECK(rec->fields["full_name"] == "Wa Ode Sealtest F");
    CHECK(rec->fields["nik"] == person(5)["nik"]);
  }
  SUBCASE("without its key file the server refuses to start") {
    std::filesystem::rename(key_file_of(s.data_dir()), key_file_of(s.data_dir()) + ".away");
    const CliResult r = run_cli(
        LUMBUNG_SERVER_BIN, {"--listen", "127.0.0.1:0", "--data", s.data_dir(), "--insecure-http"},
        {}, {}, 30000);
    CHECK(r.exit == 1);
    CHECK(r.err.find("is missing, but this data directory was keyed with key") !=
          std::string::npos);
    CHECK(r.err.find("personal data") != std::string::npos);
    CHECK(r.out.find("listening") == std::string::npos);
  }
}

TEST_CASE("upgrade: a data dir from before sealing is sealed at its first start - and still served") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::filesystem::create_directory(data);
  // What the server before sealing wrote: the same store code, without keys.
  std::vector<std::string> personal;
  const Json old_person = person(0), old_person2 = person(1);
  {
    auto store = server::SqliteServerStore::open(data);
    auto txn = store->begin_write();
    uint64_t seq = 0;
    for (const Json& p : {old_person, old_person2}) {
      for (auto& v : values_of(p)) personal.push_back(v);
      Json set = p;
      set["village_code"] = "7402012006";
      Op op;
      op.seq = ++seq;
      op.collection = "enrolment";
      op.id = "old-" + std::to_string(seq);
      op.version = Version{(uint64_t{1735689600000} << 16) + seq, "dev-old"};
      op.set = set;
      REQUIRE(txn->insert_new_record(op.collection, op.id, set.dump(),
                                     codec::encode_one_version(op.version), "7402012006",
                                     set["nik"].get<std::string>()));
      txn->append_op(op, "7402012006", encode_op(op, true).dump());
    }
    server::RefusedRow r;
    r.id = "dev-old:9";
    r.device = "dev-old";
    r.seq = 9;
    r.collection = "enrolment";
    r.record_id = "old-9";
    r.code = "out_of_scope";
    r.message = "outside the device's regions";
    Json set = person(2);
    for (auto& v : values_of(set)) personal.push_back(v);
    r.op_text = json{{"seq", 9}, {"col", "enrolment"}, {"id", "old-9"}, {"set", set}}.dump();
    r.scope = "7402012006";
    r.found_ms = 1;
    REQUIRE(txn->insert_refused(r));
    txn->commit();
  }
  const std::string before = slurp(data + "/lumbung-server.db") +
                             slurp(data + "/lumbung-server.db-wal");
  REQUIRE(before.find(old_person["full_name"].get<std::string>()) != std::string::npos);  // clear

  const std::string err = dir.path() + "/server.err";
  auto server = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data,
                                                dir.path() + "/admin-token",
                                                std::vector<std::string>{}, err);
  CHECK(slurp(err).find("sealed the personal data of 6 rows") != std::string::npos);
  const std::string admin = read_text_file(dir.path() + "/admin-token");
  HttpTestClient http(server->base_url());
  auto records = http.get("/v1/records?collection=enrolment", admin);
  CHECK(records.body.find(old_person2["full_name"].get<std::string>()) != std::string::npos);
  CHECK(http.get("/v1/refused", admin).body.find(person(2)["phone"].get<std::string>()) !=
        std::string::npos);
  // A laptop pulls the old records whole, and enrolling the same NIK again is a duplicate.
  HttpTransportOptions topt;
  topt.timeout_ms = 20000;
  Laptop lap(server->base_url(), topt, "laptop-new");
  auto code = http.post("/v1/admin/codes", json{{"scope", {"74.02"}}, {"label", "x"}}, admin);
  REQUIRE(code.status == 201);
  lap.client->register_device(code.json()["code"], "new");
  lap.sync();
  auto rec = lap.store->get("enrolment", "old-1");
  REQUIRE(rec);
  CHECK(rec->fields["phone"] == old_person["phone"]);
  Json again = old_person;
  again["full_name"] = "Wa Ode Sealtest Twice";
  personal.push_back("Wa Ode Sealtest Twice");
  lap.store->create("enrolment", again);
  lap.sync();
  CHECK(http.get("/v1/duplicates", admin).json()["duplicates"].size() == 1);
  server->stop();
  expect_no_clear_values(data + "/lumbung-server.db", personal);
}

// The PostgreSQL store keeps personal data sealed exactly as the SQLite one does
// (store/sealer.h): after pushes that create records, a conflict, a duplicate NIK and a
// refused op, no NIK, name, phone or income is anywhere in the database's tables nor in the
// cluster's files (tables, indexes and WAL), yet the server serves them back in clear.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <libpq-fe.h>

#include "doctest/doctest.h"
#include "server/server_fixture.h"
#include "support/pg_cluster.h"

using namespace lumbung::test;

namespace {

json person(int i) {
  json r = konawe_record_1();  // born 1969-09-08 in 74.02.29: the NIK's first 12 digits
  r["nik"] = "740229480969" + std::to_string(4100 + i);
  r["full_name"] = "Wa Ode Pgseal " + std::string(1, static_cast<char>('A' + i));
  r["phone"] = "0813" + std::to_string(61700000 + i * 7919);
  r["monthly_income"] = 4718291 + i * 17;
  return r;
}

std::vector<std::string> values_of(const json& r) {
  return {r["nik"].get<std::string>(), r["full_name"].get<std::string>(),
          r["phone"].get<std::string>(), std::to_string(r["monthly_income"].get<int64_t>())};
}

// Every row of every table of the database as text.
std::string dump_tables(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  std::string out;
  for (const char* t : {"records", "oplog", "conflicts", "duplicates", "refused", "meta", "audit",
                        "devices", "epochs", "clocks"}) {
    const std::string sql =
        std::string("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM ") + t + " t";
    PGresult* r = PQexec(c, sql.c_str());
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    out += PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  PGresult* r = PQexec(c, "CHECKPOINT");  // table and index pages written to the files
  PQclear(r);
  PQfinish(c);
  return out;
}

std::string cluster_bytes(const std::string& dir) {
  std::string bytes;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/data")) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes += ss.str();
  }
  return bytes;
}

}  // namespace

TEST_CASE(
    "the PostgreSQL database holds no NIK - name - phone or income in clear - yet serves them") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  Device other = f.device("dev-other", {"7414"});
  std::vector<std::string> personal;
  json ops = json::array();
  for (int i = 0; i < 4; ++i) {
    const json r = person(i);
    for (auto& v : values_of(r)) personal.push_back(v);
    ops.push_back(make_op(static_cast<uint64_t>(i + 1), "rec-" + std::to_string(i), hlc_now(i), r));
  }
  REQUIRE(f.push(a, ops).status == 200);
  // B enrols person 2 again (a duplicate NIK) and both edit rec-0's phone unseen (a conflict).
  json again = person(2);
  again["full_name"] = "Wa Ode Pgseal Again";
  personal.push_back("Wa Ode Pgseal Again");
  REQUIRE(f.push(b, json::array({make_op(1, "rec-again", hlc_now(10), again),
                                 make_op(2, "rec-0", hlc_now(11), json{{"phone", "081361799902"}},
                                         json{{"phone", json::array({hlc_now(), "dev-x"})}})}))
              .status == 200);
  personal.push_back("081361799902");
  // Out of its regions: refused and kept, with its values.
  json trap = person(7);
  for (auto& v : values_of(trap)) personal.push_back(v);
  auto refused = f.push(other, json::array({make_op(1, "trap-1", hlc_now(12), trap)}));
  REQUIRE(refused.status == 200);
  CHECK(refused.json()["refused"].size() == 1);

  // Served in clear.
  json pulled = f.pull_all(b);
  bool found = false;
  for (const auto& op : pulled)
    found = found || (op["id"] == "rec-3" && op["set"]["full_name"] == "Wa Ode Pgseal D");
  CHECK(found);
  auto dups = f.http().get("/v1/duplicates", f.admin());
  REQUIRE(dups.status == 200);
  CHECK(dups.body.find("rec-again") != std::string::npos);

  const std::string tables = dump_tables(f.db_url());
  REQUIRE(tables.size() > 1000);
  const std::string files = cluster_bytes(PgCluster::shared().dir());
  REQUIRE(files.size() > 1000000);
  // The scans do see the data: ids and region codes are kept in clear.
  CHECK(tables.find("rec-again") != std::string::npos);
  CHECK(files.find("rec-again") != std::string::npos);
  for (const auto& v : personal) {
    INFO("value in clear: " << v);
    CHECK(tables.find(v) == std::string::npos);
    CHECK(files.find(v) == std::string::npos);
  }
}

// `lumbung-admin devices` tells the truth (issue 15 item 9): "never" for a laptop that never
// synced, a STUCK flag on one that has gone quiet, labelled columns, and device ids by a
// unique prefix. The real binaries against the real server.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs one statement on the (stopped) server's database.
void server_sql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(h);
  REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
}

}  // namespace

TEST_CASE("devices list says never and flags a stuck laptop - devices revoke takes a prefix") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  f.init_laptop("b", "74.02.01", "OFC-0002");
  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  const std::string a = f.json_of(f.lumbung("a", {"--json", "config"}))["device_id"];
  const std::string b = f.json_of(f.lumbung("b", {"--json", "config"}))["device_id"];

  CliResult r = f.admin({"devices", "list"});
  REQUIRE(r.exit == 0);
  CHECK(has(r.out, "not sent"));
  CHECK(has(r.out, "attention"));
  auto row_of = [](const std::string& out, const std::string& id) {
    std::string row = out.substr(out.find(id));
    return row.substr(0, row.find('\n'));
  };
  // A time that never happened is "never", not 20,000 days ago.
  CHECK(has(row_of(r.out, b), "never"));
  CHECK_FALSE(has(row_of(r.out, b), "days ago"));
  CHECK_FALSE(has(row_of(r.out, a), "never"));
  CHECK_FALSE(has(row_of(r.out, b), "STUCK"));

  // Laptop b was registered four days ago and never synced: stuck.
  const uint16_t port = f.server.server().port();  // the laptops keep this address
  f.server.stop();
  server_sql(f.server.data_dir() + "/lumbung-server.db",
             "UPDATE devices SET registered_ms = registered_ms - 4 * 86400000 WHERE device_id = '" +
                 b + "'");
  f.server.start(port);
  const json list = f.json_of(f.admin({"--json", "devices", "list"}));
  for (const auto& d : list["devices"]) CHECK(d["stuck"] == (d["device_id"] == b));
  r = f.admin({"--lang", "id", "devices", "list"});
  CHECK(has(row_of(r.out, b), "MACET"));
  CHECK_FALSE(has(row_of(r.out, a), "MACET"));
  CHECK(has(row_of(r.out, b), "belum pernah"));

  // Ids by a unique prefix: "lap-" is both laptops' (refused, both named), more is one.
  r = f.admin({"devices", "revoke", "lap-"});
  CHECK(r.exit == 2);
  CHECK(has(r.err, a));
  CHECK(has(r.err, b));
  r = f.admin({"devices", "revoke", a.substr(0, 9)});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, a));
  CHECK(f.lumbung("a", {"sync"}).exit == 6);
  r = f.admin({"devices", "revoke", "lap-zzzzzzzz"});
  CHECK(r.exit == 4);
}

TEST_CASE("devices revoke refuses a laptop with changes the server lacks - unless --force") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  f.init_laptop("b", "74.02.01", "OFC-0002");
  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  REQUIRE(
      f.lumbung("b", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L")).exit ==
      0);
  REQUIRE(f.lumbung("b", {"sync"}).exit == 0);
  const std::string a = f.json_of(f.lumbung("a", {"--json", "config"}))["device_id"];
  const std::string b = f.json_of(f.lumbung("b", {"--json", "config"}))["device_id"];

  // The laptop reports its newest seq; the pending count it sent included the batch the
  // server then took, so what is not sent is counted now: 0.
  auto device = [&](const std::string& id) {
    const json list = f.json_of(f.admin({"--json", "devices", "list"}));
    for (const auto& d : list["devices"]) {
      if (d["device_id"] == id) return d;
    }
    FAIL("no device " << id);
    return json();
  };
  json da = device(a);
  CHECK(da["status"]["last_seq"] == 1);
  CHECK(da["status"]["pending"] == 1);
  CHECK(da["unsent"] == 0);

  // Two more changes on laptop a that the server knows of only by a's report (a sync cut
  // after its first batch), and an older laptop b whose report has no last_seq.
  REQUIRE(
      f.lumbung("a", official_flags("7402016408920004", "Wa Ode Sitti", "1992-08-24", "P")).exit ==
      0);
  REQUIRE(f.lumbung("a", {"edit", "7402015203780001", "--set", "phone=0812-4100-2299"}).exit == 0);
  const uint16_t port = f.server.server().port();
  f.server.stop();
  const std::string db = f.server.data_dir() + "/lumbung-server.db";
  server_sql(
      db, "UPDATE devices SET status = json_set(status, '$.last_seq', 3) WHERE device_id = '" + a +
              "'");
  server_sql(db,
             "UPDATE devices SET status = json_remove(json_set(status, '$.pending', 4), "
             "'$.last_seq') WHERE device_id = '" +
                 b + "'");
  f.server.start(port);
  CHECK(device(a)["unsent"] == 2);
  CHECK(device(b)["unsent"] == 4);
  CliResult r = f.admin({"devices", "list"});
  CHECK(has(r.out, "not sent"));

  // Refused with the count, nothing revoked: the laptop still syncs.
  r = f.admin({"devices", "revoke", a});
  CHECK(r.exit == 2);
  CHECK_MESSAGE(has(r.err, "still has 2 changes the server does not have"), r.err);
  CHECK(has(r.err, "Nothing was revoked"));
  CHECK(device(a)["revoked"] == false);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  CHECK(device(a)["unsent"] == 0);  // sent: now it may go
  r = f.admin({"devices", "revoke", a});
  CHECK_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("a", {"sync"}, "", "id");
  CHECK(r.exit == 6);
  CHECK_MESSAGE(has(r.err, "Kantor pusat telah mencabut laptop ini"), r.err);
  CHECK_FALSE(has(r.err, "device revoked"));  // not the server's English

  // A lost laptop is revoked on purpose with --force.
  r = f.admin({"devices", "revoke", b});
  CHECK(r.exit == 2);
  CHECK(has(r.err, "4 changes"));
  r = f.admin({"devices", "revoke", b, "--force"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(f.lumbung("b", {"sync"}).exit == 6);
}

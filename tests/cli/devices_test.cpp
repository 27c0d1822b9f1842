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
  CHECK(has(r.out, "pending (reported)"));
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

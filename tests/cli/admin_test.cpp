// End-to-end tests of `lumbung-admin` with two field laptops: a conflicting edit and a
// duplicate NIK reach the central office, are resolved there, and the decisions reach
// both laptops.
#include <doctest/doctest.h>

#include <algorithm>

#include "cli/cli_fixture.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

TEST_CASE("admin resolves a conflict and merges a duplicate: both reach every laptop") {
  CliFixture f;
  // Two laptops of Kecamatan Lambuya: both see every desa of the kecamatan.
  f.init_laptop("awuliti", "74.02.01", "OFC-0001");
  f.init_laptop("lambuya", "74.02.01", "OFC-0002");

  CliResult r =
      f.lumbung("awuliti", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("lambuya", {"sync"}).exit == 0);
  CHECK(f.json_of(f.lumbung("lambuya", {"--json", "status"}))["records"] == 1);

  // Offline, both officers change the kepala desa's phone, differently; the Lambuya officer
  // also enrols a person the Awuliti officer enrolled too (same NIK).
  CHECK(f.lumbung("awuliti", {"edit", "7402015203780001", "--phone", "081241002299"}).exit == 0);
  CHECK(f.lumbung("lambuya", {"edit", "7402015203780001", "--phone", "085241002288"}).exit == 0);
  CHECK(f.lumbung("awuliti", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L"))
            .exit == 0);
  r = f.lumbung("lambuya", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L"));
  CHECK(r.exit == 0);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("lambuya", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);

  // The central office sees one conflict on the phone.
  json conflicts = f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"];
  json phone;
  for (const auto& c : conflicts) {
    if (c["field"] == "phone") phone = c;
  }
  REQUIRE_MESSAGE(!phone.is_null(), conflicts.dump());
  const std::string cid = phone["id"];
  // Unknown ids and bad usage have their exit codes.
  CHECK(f.admin({"conflicts", "resolve", "ffffffff", "--keep", "winner"}).exit == 4);
  CHECK(f.admin({"conflicts", "resolve", cid, "--keep", "both"}).exit == 2);
  CHECK(f.admin({"conflicts", "resolve", cid, "--value", "12"}).exit == 3);  // not a phone
  // Resolved by typing the number confirmed with the village (short id accepted).
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--value", "0812-4100-2277"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"].size() ==
        conflicts.size() - 1);

  // The duplicate, side by side, then merged into record A.
  r = f.admin({"duplicates", "list"});
  CHECK(r.exit == 0);
  CHECK(r.out.find("La Ode Amir") != std::string::npos);
  json dups = f.json_of(f.admin({"--json", "duplicates", "list"}))["duplicates"];
  REQUIRE(dups.size() == 1);
  const std::string survivor = dups[0]["record_ids"][0];
  r = f.admin(
      {"duplicates", "merge", dups[0]["id"].get<std::string>().substr(0, 8), "--survivor", "A"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);

  // Both laptops receive the decisions and agree.
  for (const char* laptop : {"awuliti", "lambuya"}) {
    REQUIRE(f.lumbung(laptop, {"sync"}).exit == 0);
  }
  for (const char* laptop : {"awuliti", "lambuya"}) {
    CAPTURE(laptop);
    json kades = f.json_of(f.lumbung(laptop, {"--json", "show", "7402015203780001"}));
    CHECK(kades["fields"]["phone"] == "081241002277");
    json amir = f.json_of(f.lumbung(laptop, {"--json", "search", "--nik", "7402012107850002"}));
    REQUIRE(amir["count"] == 1);
    CHECK(amir["records"][0]["id"] == survivor);
    CHECK(f.json_of(f.lumbung(laptop, {"--json", "status"}))["records"] == 2);
    // The phone conflict this laptop knew of is settled by the resolution.
    const json local = f.json_of(f.lumbung(laptop, {"--json", "conflicts"}));
    for (const auto& c : local["conflicts"]) {
      CHECK(c["field"] != "phone");
    }
  }

  // Devices, progress and exports.
  json devices = f.json_of(f.admin({"--json", "devices", "list"}))["devices"];
  CHECK(devices.size() == 2);
  json progress = f.json_of(f.admin({"--json", "progress", "--scope", "74.02"}));
  CHECK(progress["total"] == 2);
  CHECK(progress["regions"]["desa"]["7402012006"]["total"] == 2);
  r = f.admin({"export", "records", "--scope", "74.02.01"});
  CHECK(r.exit == 0);
  CHECK(r.out.rfind("id,nik,full_name", 0) == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);  // header + 2 live records
  r = f.admin({"progress", "--scope", "74.02", "--csv", "-"});
  CHECK(r.exit == 0);
  CHECK(r.out.find("desa,7402012006,2") != std::string::npos);

  // A reviewer token works for review, not for admin calls (exit 6).
  r = f.admin({"--json", "tokens", "create", "--role", "reviewer", "--label", "Ibu Sari"});
  REQUIRE(r.exit == 0);
  const std::string reviewer = f.json_of(r)["token"];
  CliResult rr = lumbung::test::run_cli(
      LUMBUNG_ADMIN_BIN,
      {"--server", f.server.server().base_url(), "--token", reviewer, "devices", "list"});
  CHECK(rr.exit == 6);
  rr = lumbung::test::run_cli(LUMBUNG_ADMIN_BIN, {"--server", f.server.server().base_url(),
                                                  "--token", reviewer, "progress"});
  CHECK(rr.exit == 0);
}

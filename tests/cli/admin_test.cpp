// End-to-end tests of `lumbung-admin` with two field laptops: a conflicting edit and a
// duplicate NIK reach the central office, are resolved there, and the decisions reach
// both laptops.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

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
  // ... and her position, differently too (a second conflict: the lists page).
  CHECK(f.lumbung("awuliti", {"edit", "7402015203780001", "--position", "kepala desa (pj)"}).exit ==
        0);
  CHECK(f.lumbung("lambuya", {"edit", "7402015203780001", "--position", "kepala desa definitif"})
            .exit == 0);
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
  // The rows name the person: name, NIK, desa (issue 15 item 8).
  r = f.admin({"conflicts", "list"});
  CHECK(r.out.find("Siti Rahmawati · 740201******0001 · Awuliti (74.02.01.2006)") !=
        std::string::npos);
  // The list pages (the API's "next"): one entry a page, then every page.
  REQUIRE(conflicts.size() >= 2);
  {
    json one = f.json_of(f.admin({"--json", "conflicts", "list", "--limit", "1"}));
    CHECK(one["conflicts"].size() == 1);
    CHECK(one["next"] != "");
    CHECK(one["total"] == conflicts.size());
    CHECK(f.admin({"conflicts", "list", "--limit", "1"}).out.find("Next: --after") !=
          std::string::npos);
    json all = f.json_of(f.admin({"--json", "conflicts", "list", "--limit", "1", "--all-pages"}));
    CHECK(all["conflicts"].size() == conflicts.size());
    CHECK(all["next"] == "");
  }
  // Unknown ids and bad usage have their exit codes.
  CHECK(f.admin({"conflicts", "resolve", "ffffffff", "--keep", "winner"}).exit == 4);
  CHECK(f.admin({"conflicts", "resolve", cid, "--keep", "both"}).exit == 2);
  CHECK(f.admin({"conflicts", "resolve", cid, "--value", "12"}).exit == 3);  // not a phone
  // Resolved by typing the number confirmed with the village (short id accepted).
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--value", "0812-4100-2277", "--yes"});
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
  r = f.admin({"duplicates", "merge", dups[0]["id"].get<std::string>().substr(0, 8), "--survivor",
               "A", "--yes"});
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

TEST_CASE(
    "a refused change is set aside: the officer is told and the office applies or dismisses") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02.01", "OFC-0001");  // Kecamatan Lambuya only
  f.init_laptop("kantor", "74", "OFC-0100");         // a laptop covering all of Sulawesi Tenggara
  CliResult r =
      f.lumbung("awuliti", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("awuliti", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("kantor", {"sync"}).exit == 0);
  const std::string device =
      f.json_of(f.lumbung("awuliti", {"--json", "status"}))["device_id"].get<std::string>();

  // Offline, the Awuliti officer corrects both phone numbers, while the other laptop moves
  // both people to Kecamatan Abuki (74.02.02), outside Awuliti's regions, and syncs first.
  for (const char* nik : {"7402015203780001", "7402012107850002"}) {
    CHECK(f.lumbung("awuliti", {"edit", nik, "--phone", "0813-1111-2222"}).exit == 0);
    CHECK(f.lumbung("kantor", {"edit", nik, "--village-code", "74.02.02.2001"}).exit == 0);
  }
  REQUIRE(f.lumbung("kantor", {"sync"}).exit == 0);
  // A new enrolment behind the two edits that will be refused.
  r = f.lumbung("awuliti", official_flags("7402014506920004", "Wa Ode Nur", "1992-06-05", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);

  // The sync is not wedged: exit 0, it says two changes were refused and where to look.
  r = f.lumbung("awuliti", {"sync"}, "", "id");
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK_MESSAGE(r.out.find("2 perubahan ditolak server pada sinkronisasi ini") != std::string::npos,
                r.out);
  CHECK(r.out.find("lumbung refused") != std::string::npos);
  json st = f.json_of(f.lumbung("awuliti", {"--json", "status"}));
  CHECK(st["pending_changes"] == 0);
  CHECK(st["refused_changes"] == 2);
  CHECK(st["records"] == 1);  // the two people moved out of this laptop's regions
  bool wa_ode_on_server = false;
  for (const auto& rec : f.server.records(f.server.reviewer())) {
    wa_ode_on_server = wa_ode_on_server || rec["fields"]["nik"] == "7402014506920004";
  }
  CHECK(wa_ode_on_server);

  // The officer sees them in `status` and in `refused`, in Indonesian, with what to do.
  r = f.lumbung("awuliti", {"status"}, "", "id");
  CHECK(r.exit == 0);
  CHECK(r.out.find("Perubahan ditolak server:  2") != std::string::npos);
  CHECK(r.out.find("Lihat `lumbung refused`") != std::string::npos);
  r = f.lumbung("awuliti", {"refused"}, "", "id");
  CHECK(r.exit == 0);
  CHECK_MESSAGE(r.out.find("Perubahan yang ditolak server (2)") != std::string::npos, r.out);
  CHECK(r.out.find("sudah berada di luar wilayah laptop ini") != std::string::npos);
  CHECK(r.out.find("Yang perlu dilakukan: Tidak ada yang perlu dilakukan di laptop ini") !=
        std::string::npos);
  CHECK(f.lumbung("awuliti", {"ditolak"}, "", "id").out == r.out);  // the Indonesian name
  json mine = f.json_of(f.lumbung("awuliti", {"--json", "refused"}));
  REQUIRE(mine["count"] == 2);
  for (const auto& e : mine["refused"]) {
    CHECK(e["code"] == "out_of_scope");
    CHECK(e["on_laptop"] == false);
    CHECK(!e["reason"].get<std::string>().empty());
  }
  // The moved record cannot be edited here; it says so (exit 4: not on this laptop).
  r = f.lumbung("awuliti",
                {"edit", mine["refused"][0]["record_id"].get<std::string>(), "--phone", "0813"}, "",
                "id");
  CHECK(r.exit == 4);
  CHECK(r.err.find("sudah pindah ke luar wilayah laptop ini") != std::string::npos);

  // The office lists them (paged by the API's "next"), and sees the count per device.
  json q = f.json_of(f.admin({"--json", "refused", "list"}));
  REQUIRE(q["refused"].size() == 2);
  CHECK(q["next"] == "");
  for (const auto& e : q["refused"]) {
    CHECK(e["device_id"] == device);
    CHECK(e["code"] == "out_of_scope");
    CHECK(e["op"]["set"]["phone"] == "081311112222");
  }
  json page = f.json_of(f.admin({"--json", "refused", "list", "--limit", "1"}));
  CHECK(page["refused"].size() == 1);
  CHECK(page["next"] != "");
  CHECK(page["total"] == 2);
  r = f.admin({"refused", "list", "--limit", "1"});
  CHECK(r.exit == 0);
  CHECK(r.out.find("1 of 2 shown. Next: --after") != std::string::npos);
  page = f.json_of(f.admin({"--json", "refused", "list", "--limit", "1", "--all-pages"}));
  CHECK(page["refused"].size() == 2);
  CHECK(page["next"] == "");
  r = f.admin({"refused", "list", "--device", device});
  CHECK(r.exit == 0);
  CHECK(r.out.find("outside regions") != std::string::npos);
  CHECK(r.out.find("Phone=081311112222") != std::string::npos);
  CHECK(f.json_of(f.admin({"--json", "refused", "list", "--device", "lap-nobody"}))["refused"]
            .empty());
  auto open_count = [&]() {
    const json devices = f.json_of(f.admin({"--json", "devices", "list"}));
    for (const auto& d : devices["devices"]) {
      if (d["device_id"] == device) return d["open_refused"].get<int>();
    }
    return -1;
  };
  CHECK(open_count() == 2);
  CHECK(f.admin({"devices", "list"}).out.find("refused") != std::string::npos);

  // Apply one with a correction (checked here first: a bad phone is exit 3, nothing done),
  // dismiss the other with a note.
  const std::string first = q["refused"][0]["id"], second = q["refused"][1]["id"];
  r = f.admin({"refused", "apply", first, "--set", "phone=12"});
  CHECK(r.exit == 3);
  CHECK(r.err.find("Still not valid") != std::string::npos);
  r = f.admin({"refused", "apply", first, "--set", "phone=0813-9999-0000"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("applied with corrections Phone = 081399990000") != std::string::npos);
  r = f.admin({"refused", "dismiss", second, "--note", "nomor lama, sudah dikonfirmasi"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("closed without applying") != std::string::npos);
  // Done once: again is refused (exit 1), an unknown id is not found (exit 4).
  CHECK(f.admin({"refused", "dismiss", first}).exit == 1);
  CHECK(f.admin({"refused", "apply", device + ":999"}).exit == 4);
  CHECK(f.admin({"refused", "list", "--status", "maybe"}).exit == 2);
  CHECK(f.admin({"refused", "list"}).out.find("No refused changes.") != std::string::npos);
  q = f.json_of(f.admin({"--json", "refused", "list", "--status", "all"}));
  REQUIRE(q["refused"].size() == 2);
  std::set<std::string> statuses;
  for (const auto& e : q["refused"]) statuses.insert(e["status"].get<std::string>());
  CHECK(statuses == std::set<std::string>{"applied", "dismissed"});
  CHECK(open_count() == 0);

  // The applied correction reaches the laptop of the record's new region.
  REQUIRE(f.lumbung("kantor", {"sync"}).exit == 0);
  const std::string applied_record = q["refused"][0]["id"] == first
                                         ? q["refused"][0]["record_id"].get<std::string>()
                                         : q["refused"][1]["record_id"].get<std::string>();
  json shown = f.json_of(f.lumbung("kantor", {"--json", "show", applied_record}));
  CHECK(shown["fields"]["phone"] == "081399990000");
  CHECK(shown["fields"]["village_code"] == "7402022001");

  // A decision corrected by a new one, kept in the entry's history (issue 15 item 8): the
  // applied change gets other values (without them: exit 3, nothing done), the dismissed one
  // is applied after all.
  r = f.admin({"refused", "correct", first});
  CHECK(r.exit == 3);
  CHECK(r.err.find("its correction gives new values") != std::string::npos);
  r = f.admin({"refused", "correct", first, "--set", "phone=0813-7777-6666", "--note", "salah"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("corrected (decision 2): applied with corrections Phone = 081377776666") !=
        std::string::npos);
  r = f.admin({"refused", "correct", second});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  q = f.json_of(f.admin({"--json", "refused", "list", "--status", "all"}));
  for (const auto& e : q["refused"]) {
    CHECK(e["status"] == "applied");
    CHECK(e["resolution"]["decision"] == 2);
    CHECK(e["resolution"]["history"].size() == 1);
  }
  REQUIRE(f.lumbung("kantor", {"sync"}).exit == 0);
  shown = f.json_of(f.lumbung("kantor", {"--json", "show", applied_record}));
  CHECK(shown["fields"]["phone"] == "081377776666");
}

TEST_CASE("admin mints a reviewer token for some regions and revokes an unused enrolment code") {
  CliFixture f;
  // A kabupaten reviewer for Konawe (74.02) and all of Sulawesi Tenggara's neighbour 73.
  CliResult r = f.admin(
      {"tokens", "create", "--role", "reviewer", "--scope", "74.02,73", "--label", "Kab. Konawe"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("lbr_") != std::string::npos);
  CHECK(r.out.find("regions: 7402, 73") != std::string::npos);
  json made = f.json_of(f.admin({"--json", "tokens", "create", "--role", "reviewer", "--scope",
                                 "74.02.01", "--expires-hours", "48"}));
  CHECK(made["scope"] == json::array({"740201"}));
  CHECK(made["expires_ms"].get<int64_t>() - lumbung::test::wall_ms() <= 48LL * 3600 * 1000);
  const std::string kecamatan = made["token"];
  // The token sees its regions only: progress outside them is refused (exit 6), inside works.
  auto as_kecamatan = [&](std::vector<std::string> args) {
    std::vector<std::string> full{
        "--server", f.server.server().base_url(), "--token", kecamatan, "--lang", "en"};
    full.insert(full.end(), args.begin(), args.end());
    return lumbung::test::run_cli(LUMBUNG_ADMIN_BIN, full, {}, {}, 60000);
  };
  CHECK(as_kecamatan({"progress", "--scope", "74.02.01"}).exit == 0);
  CliResult outside = as_kecamatan({"progress", "--scope", "74.14"});
  CHECK(outside.exit != 0);
  // Without --scope a reviewer token is the national office's, and says so.
  r = f.admin({"tokens", "create", "--role", "reviewer"});
  CHECK(r.out.find("every region") != std::string::npos);
  // A scope is for reviewer tokens only (the server refuses it for admin tokens).
  CHECK(f.admin({"tokens", "create", "--role", "admin", "--scope", "74.02"}).exit != 0);

  // Codes: the id printed at creation revokes it; the laptop then cannot register with it.
  r = f.admin({"codes", "create", "--scope", "74.02.01", "--label", "lost in the post"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  const auto at = r.out.find("code id ");
  REQUIRE(at != std::string::npos);
  const std::string id = r.out.substr(at + 8, 16);
  const auto code_at = r.out.find("Enrolment code: ");
  REQUIRE(code_at != std::string::npos);
  const std::string code = r.out.substr(code_at + 16, r.out.find('\n', code_at) - code_at - 16);
  r = f.admin({"codes", "revoke", id});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("revoked") != std::string::npos);
  r = f.lumbung("awuliti", {"init", "--unencrypted", "--server", f.server.server().base_url(),
                            "--code", code, "--officer", "OFC-0001"});
  CHECK(r.exit != 0);
  CHECK(r.err.find("enrolment code revoked") != std::string::npos);
  CHECK(f.json_of(f.admin({"--json", "devices", "list"}))["devices"].empty());
  // An unknown id is reported as such.
  CHECK(f.admin({"codes", "revoke", "ffffffffffffffff"}).exit != 0);
}

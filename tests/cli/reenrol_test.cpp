// Issue 15 item 3: a revoked or re-issued laptop gets back. The real `lumbung` and
// `lumbung-admin` against the real lumbung-server: the office makes a code for the laptop
// (codes create --device), `lumbung init --code` registers it again keeping its store,
// outbox and drafts, and the next sync sends what was stranded. Wrong codes change nothing.
#include <doctest/doctest.h>

#include <filesystem>

#include "cli/cli_fixture.h"

using namespace lumbung::test;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int pending(CliFixture& f, const std::string& laptop) {
  return f.json_of(f.lumbung(laptop, {"--json", "status"}))["pending_changes"].get<int>();
}

bool on_server(CliFixture& f, const std::string& nik) {
  for (const auto& r : f.server.records(f.server.reviewer())) {
    if (r.contains("fields") && r["fields"].value("nik", "") == nik) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a revoked laptop enrolled again with a code made for it sends its unsent changes") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  f.init_laptop("b", "74.02.01", "OFC-0002");
  const std::string a = f.json_of(f.lumbung("a", {"--json", "config"}))["device_id"];
  const std::string b = f.json_of(f.lumbung("b", {"--json", "config"}))["device_id"];
  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  // Unsent work: one record, and a draft (a form stopped half way).
  auto amir = official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L");
  REQUIRE(f.lumbung("a", amir).exit == 0);
  REQUIRE(f.lumbung("a", {"enrol"}, "7402014503900004\nRina Wati\n").exit == 130);
  REQUIRE(pending(f, "a") == 1);
  REQUIRE(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 1);

  // The laptop is revoked (lost, then found); its sync is refused and says so.
  REQUIRE(f.admin({"devices", "revoke", a, "--force"}).exit == 0);
  CliResult r = f.lumbung("a", {"sync"}, "", "id");
  CHECK(r.exit == 6);
  CHECK_MESSAGE(has(r.err, "Kantor pusat telah mencabut laptop ini"), r.err);
  CHECK(has(r.err, "lumbung init --code KODE"));

  // A general code cannot take the laptop's identity: refused, nothing changed, not spent.
  const std::string general = f.server.code({"74.02.01"});
  r = f.lumbung("a", {"init", "--code", general}, "", "id");
  CHECK(r.exit == 6);
  CHECK_MESSAGE(has(r.err, "perlu kode yang dibuat kantor pusat khusus untuk perangkat ini"),
                r.err);
  CHECK(f.lumbung("a", {"sync"}).exit == 6);
  CHECK(pending(f, "a") == 1);
  CHECK(f.lumbung("c", {"init", "--unencrypted", "--server", f.server.server().base_url(), "--code",
                        general})
            .exit == 0);

  // A code made for laptop b: refused on a, nothing changed; b (never revoked, say
  // re-issued) can use it and keeps syncing.
  r = f.admin({"--json", "codes", "create", "--device", b});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  const std::string for_b = f.json_of(r)["code"];
  r = f.lumbung("a", {"init", "--code", for_b}, "", "en");
  CHECK(r.exit == 6);
  CHECK_MESSAGE(has(r.err, "made by the central office for another device, not for " + a), r.err);
  CHECK(f.lumbung("a", {"sync"}).exit == 6);
  // A copy of b as it is now holds b's current token, which works ...
  std::filesystem::copy(f.home("b"), f.home("b-copy"), std::filesystem::copy_options::recursive);
  REQUIRE(f.lumbung("b-copy", {"sync"}).exit == 0);
  r = f.lumbung("b", {"init", "--code", for_b}, "", "en");
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "Laptop " + b + " is registered again"));
  CHECK(has(r.out, "0 changes not sent yet will be sent at the next sync"));
  CHECK(f.lumbung("b", {"sync"}).exit == 0);
  // ... until b enrolled again: from then the old token is refused.
  CHECK(f.lumbung("b-copy", {"sync"}).exit == 6);

  // A code for a device the server does not know is refused at once (exit 4).
  r = f.admin({"codes", "create", "--device", "lap-tidakada"});
  CHECK(r.exit == 4);
  CHECK_MESSAGE(has(r.err, "does not know that device"), r.err);

  // The office makes a code for a (its regions kept) and the laptop enrols again.
  r = f.admin({"codes", "create", "--device", a});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "for laptop " + a + " only"));
  r = f.admin({"--json", "codes", "create", "--device", a});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  const std::string for_a = f.json_of(r)["code"];
  // Offline: said so, exit 5, nothing kept; the same command works once the server is back.
  const uint16_t port = f.server.server().port();  // the laptops keep this address
  f.server.stop();
  r = f.lumbung("a", {"init", "--code", for_a}, "", "id");
  CHECK(r.exit == 5);
  CHECK_MESSAGE(has(r.err, "laptop belum terdaftar ulang dan kode belum terpakai"), r.err);
  f.server.start(port);
  r = f.lumbung("a", {"init", "--code", for_a}, "", "id");
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "Laptop " + a + " terdaftar ulang"));
  CHECK(has(r.out, "1 perubahan yang belum terkirim akan dikirim pada sinkron berikutnya"));
  // Store, outbox and draft kept.
  CHECK(pending(f, "a") == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 2);
  CHECK_FALSE(on_server(f, "7402012107850002"));

  // The next sync sends what was stranded; it is on the server.
  r = f.lumbung("a", {"sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(pending(f, "a") == 0);
  CHECK(on_server(f, "7402012107850002"));
  CHECK(on_server(f, "7402015203780001"));

  // The code is spent: used again it is refused and the laptop's token stays good.
  r = f.lumbung("a", {"init", "--code", for_a}, "", "en");
  CHECK(r.exit == 6);
  CHECK(has(r.err, "already used"));
  CHECK(f.lumbung("a", {"sync"}).exit == 0);

  // The office sees it: not revoked, in the audit log as a re-enrolment.
  r = f.admin({"--json", "devices", "list"});
  REQUIRE(r.exit == 0);
  const json devices = f.json_of(r);  // kept: the loop must not run over a temporary
  bool listed = false;
  for (const auto& d : devices["devices"]) {
    if (d["device_id"] != a) continue;
    listed = true;
    CHECK(d["revoked"] == false);
  }
  CHECK(listed);
  r = f.admin({"audit", "list"});
  CHECK(has(r.out, "reenrol"));
}

namespace {

// The laptop's copy of the record with this NIK (null: it does not hold one).
json laptop_record(CliFixture& f, const std::string& laptop, const std::string& nik) {
  const json list = f.json_of(f.lumbung(laptop, {"--json", "list", "--limit", "1000"}));
  for (const auto& r : list["records"]) {
    if (r["fields"].value("nik", "") == nik) return r;
  }
  return json();
}

}  // namespace

TEST_CASE(
    "a laptop re-enrolled for other regions pulls them - and its stranded change is refused") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  f.init_laptop("b", "74.02.01", "OFC-0002");
  const std::string a = f.json_of(f.lumbung("a", {"--json", "config"}))["device_id"];
  // Buton Tengah (74.14) has a record already, sent by a laptop there before a's syncs:
  // a's pull cursor passes it (not a's region then).
  Device bt = f.server.device("lap-bt", {"7414"});
  REQUIRE(f.server
              .push(bt, json::array(
                            {make_op(bt.next_seq++, "rec-bt", hlc_now(), buton_tengah_record())}))
              .status == 200);
  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("b", {"sync"}).exit == 0);
  REQUIRE(laptop_record(f, "a", "7414090107611329").is_null());
  // A change a has not sent: a record of its old region.
  REQUIRE(
      f.lumbung("a", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L")).exit ==
      0);
  REQUIRE(pending(f, "a") == 1);

  // The office moves laptop a to Buton Tengah: a code for a with the new regions.
  CliResult r = f.admin({"--json", "codes", "create", "--device", a, "--scope", "74.14"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("a", {"init", "--code", f.json_of(r)["code"]}, "", "en");
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(pending(f, "a") == 1);

  // The next sync: the stranded change is refused into the office's queue with its reason
  // (not lost, not retried for ever), and the new region's record arrives.
  r = f.lumbung("a", {"sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(pending(f, "a") == 0);
  auto q = f.server.http().get("/v1/refused?status=open&device=" + a, f.server.admin());
  REQUIRE(q.status == 200);
  const json refused = q.json()["refused"];
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["code"] == "out_of_scope");
  CHECK(refused[0]["op"]["set"]["nik"] == "7402012107850002");
  CHECK_FALSE(on_server(f, "7402012107850002"));
  CHECK_MESSAGE(laptop_record(f, "a", "7414090107611329").is_object(),
                "the new region's record did not reach the re-enrolled laptop");

  // From now on: Buton Tengah's changes reach a, Konawe's do not.
  REQUIRE(f.lumbung("b", {"edit", "7402015203780001", "--phone", "081277776666"}).exit == 0);
  REQUIRE(f.lumbung("b", {"sync"}).exit == 0);
  REQUIRE(f.server
              .push(bt, json::array({make_op(bt.next_seq++, "rec-bt", hlc_now(),
                                             json{{"phone", "081355554444"}})}))
              .status == 200);
  r = f.lumbung("a", {"sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  const json there = laptop_record(f, "a", "7414090107611329");
  CHECK((there.is_object() && there["fields"].value("phone", "") == "081355554444"));
  // The old region's record left the laptop at the move: kept, it would never be updated
  // again (Store::set_regions).
  CHECK(laptop_record(f, "a", "7402015203780001").is_null());
  // Nothing is wedged: a further sync has nothing to send and succeeds.
  CHECK(f.lumbung("a", {"sync"}).exit == 0);
  CHECK(pending(f, "a") == 0);
}

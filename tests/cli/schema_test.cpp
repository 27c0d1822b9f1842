// `lumbung-admin schema publish FILE` and `schema list` (issue 18): the real binary against
// the real server. A document that is no valid successor is refused with every problem named
// and nothing stored; a good one is stored and listed with its steps.
#include <doctest/doctest.h>

#include <fstream>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"
#include "support/temp_dir.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using nlohmann::json;

namespace {

// The shipped schema as version 2 with phone renamed to phone_number.
json version_2(bool with_step) {
  std::ifstream in(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  json d = json::parse(in);
  d["version"] = 2;
  for (auto& f : d["collections"][0]["fields"]) {
    if (f["name"] == "phone") f["name"] = "phone_number";
  }
  json steps = json::array();
  if (with_step) {
    steps.push_back({{"op", "rename_field"},
                     {"collection", "enrolment"},
                     {"from", "phone"},
                     {"to", "phone_number"}});
  } else {
    steps.push_back({{"op", "loosen_rule"}, {"collection", "enrolment"}, {"field", "email"}});
  }
  d["changelog"] = json::array({{{"version", 2}, {"steps", steps}}});
  return d;
}

}  // namespace

TEST_CASE("schema publish refuses a bad successor naming the problems then stores a good one") {
  CliFixture f;
  lumbung::test::TempDir dir;
  const std::string bad = dir.path() + "/bad.json", good = dir.path() + "/good.json";
  std::ofstream(bad) << version_2(false).dump(2);
  std::ofstream(good) << version_2(true).dump(2);

  CliResult r = f.admin({"schema", "publish", bad});
  CHECK(r.exit == 3);
  CHECK(r.err.find("enrolment.phone_number is new") != std::string::npos);
  CHECK(r.err.find("enrolment.phone is gone") != std::string::npos);
  CHECK(r.err.find("loosen_rule but no rule is looser") != std::string::npos);
  CHECK(f.json_of(f.admin({"--json", "schema", "list"}))["newest_version"] == 1);

  r = f.admin({"schema", "publish", good});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("Schema version 2 published; the server uses it now") != std::string::npos);
  r = f.admin({"schema", "list"});
  CHECK(r.exit == 0);
  CHECK(r.out.find("Active schema: version 2; newest published: version 2.") != std::string::npos);
  CHECK(r.out.find("rename_field enrolment.phone -> phone_number") != std::string::npos);
  CHECK(f.admin({"schema", "publish", dir.path() + "/missing.json"}).exit == 2);
}

TEST_CASE("lumbung sync takes the server's newer schema once nothing is pending") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02", "OFC-0007");
  CliResult r = f.lumbung("awuliti", lumbung::test::official_flags(
                                         "7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  // Offline: the office publishes version 2 meanwhile (active at once, no restart).
  REQUIRE(f.admin({"schema", "publish", f.write_file("v2.json", version_2(true).dump())}).exit ==
          0);

  // The first sync sends the version-1 record (upgraded on the server), then takes version 2.
  r = f.lumbung("awuliti", {"sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.err.find("now uses schema version 2 from the server (was 1)") != std::string::npos);
  std::ifstream in(f.home("awuliti") + "/schema.json");
  CHECK(json::parse(in)["version"] == 2);
  // The next command opens the store under version 2: the record has the new field name.
  r = f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "phone_number=081299990000"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("awuliti", {"sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  const json recs = f.server.records(f.server.reviewer());
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["fields"]["phone_number"] == "081299990000");
  CHECK_FALSE(recs[0]["fields"].contains("phone"));
}

TEST_CASE("lumbung sync moves a laptop with an unsent edit and a draft to the server's version") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02", "OFC-0007");
  CliResult r = f.lumbung("awuliti", lumbung::test::official_flags(
                                         "7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  // Offline under version 1: an edit of the field version 2 renames, and a guided enrolment
  // stopped half way (a draft holding the birth place version 2 renames too).
  r = f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "phone=081299990001"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("awuliti", {"enrol"}, "7402015203780002\nBudi Santoso\nUnaaha\n");
  json drafts = f.json_of(f.lumbung("awuliti", {"--json", "drafts"}));
  REQUIRE(drafts["count"] == 1);
  REQUIRE(drafts["drafts"][0]["fields"]["birth_place"] == "Unaaha");

  json v2 = version_2(true);
  for (auto& fd : v2["collections"][0]["fields"]) {
    if (fd["name"] == "birth_place") fd["name"] = "tempat_lahir";
  }
  v2["changelog"][0]["steps"].push_back({{"op", "rename_field"},
                                         {"collection", "enrolment"},
                                         {"from", "birth_place"},
                                         {"to", "tempat_lahir"}});
  REQUIRE(f.admin({"schema", "publish", f.write_file("v2.json", v2.dump())}).exit == 0);

  // One sync sends the version-1 edit (upgraded on the server) and takes version 2.
  r = f.lumbung("awuliti", {"sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.err.find("now uses schema version 2 from the server (was 1)") != std::string::npos);
  json recs = f.server.records(f.server.reviewer());
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["fields"]["phone_number"] == "081299990001");
  // The next command runs on version 2: the draft's birth place under its new name.
  drafts = f.json_of(f.lumbung("awuliti", {"--json", "drafts"}));
  REQUIRE(drafts["count"] == 1);
  CHECK(drafts["drafts"][0]["fields"]["tempat_lahir"] == "Unaaha");
  CHECK_FALSE(drafts["drafts"][0]["fields"].contains("birth_place"));
  CHECK(drafts["drafts"][0]["fields"]["full_name"] == "Budi Santoso");
  // An edit made after the move but before any sync also keeps: version 1's edit was sent,
  // this one is written under version 2.
  r = f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "tempat_lahir=Kendari"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  recs = f.server.records(f.server.reviewer());
  CHECK(recs[0]["fields"]["tempat_lahir"] == "Kendari");
  CHECK(recs[0]["fields"]["phone_number"] == "081299990001");
}

// A value valid when typed under version 1 that version 2's tighter rule refuses: the record
// on the laptop shows the server's value again, and `lumbung refused` says what was typed.
TEST_CASE("lumbung refused shows the value a newer rule refused and the record the server's") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02", "OFC-0007");
  CliResult r = f.lumbung("awuliti", lumbung::test::official_flags(
                                         "7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "birth_place=Unaaha"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  const std::string typed = "Desa Lambuya Kecamatan Konawe Selatan";  // 37 characters
  r = f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "birth_place=" + typed});
  REQUIRE_MESSAGE(r.exit == 0, r.err);

  json v2 = version_2(true);
  for (auto& fd : v2["collections"][0]["fields"]) {
    if (fd["name"] == "birth_place") fd["max_length"] = 20;
  }
  v2["changelog"][0]["steps"].push_back(
      {{"op", "tighten_rule"}, {"collection", "enrolment"}, {"field", "birth_place"}});
  REQUIRE(f.admin({"schema", "publish", f.write_file("v2.json", v2.dump())}).exit == 0);

  r = f.lumbung("awuliti", {"sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  json shown = f.json_of(f.lumbung("awuliti", {"--json", "show", "7402015203780001"}));
  CHECK(shown["fields"]["birth_place"] == "Unaaha");
  json refused = f.json_of(f.lumbung("awuliti", {"--json", "refused"}));
  REQUIRE(refused["count"] == 1);
  CHECK(refused["refused"][0]["field"] == "birth_place");
  CHECK(refused["refused"][0]["values"]["birth_place"] == typed);
  r = f.lumbung("awuliti", {"refused"});
  CHECK_MESSAGE(r.out.find("What was typed: ") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find(typed) != std::string::npos, r.out);
  // Typed again as the new rule wants it, it goes through.
  r = f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "birth_place=Lambuya"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  json recs = f.server.records(f.server.reviewer());
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["fields"]["birth_place"] == "Lambuya");
}

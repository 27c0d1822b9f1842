// `lumbung sync` and a schema document whose signature does not verify (issue 18): the real
// binaries, the real server, a loopback man in the middle (tests/support/tamper_relay.h)
// that changes one character of the schema answer's signature. The officer is told, the
// laptop stays on its schema file, the records still sync and the command succeeds; the
// next sync over an honest link moves the laptop.
#include <doctest/doctest.h>

#include <fstream>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"
#include "support/tamper_relay.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::TamperRelay;
using nlohmann::json;

namespace {

// The shipped schema as version 2 with phone renamed to phone_number.
json version_2() {
  std::ifstream in(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  json d = json::parse(in);
  d["version"] = 2;
  for (auto& f : d["collections"][0]["fields"]) {
    if (f["name"] == "phone") f["name"] = "phone_number";
  }
  d["changelog"] = json::array({{{"version", 2},
                                 {"steps", json::array({{{"op", "rename_field"},
                                                         {"collection", "enrolment"},
                                                         {"from", "phone"},
                                                         {"to", "phone_number"}}})}}});
  return d;
}

int schema_file_version(CliFixture& f, const std::string& laptop) {
  std::ifstream in(f.home(laptop) + "/schema.json");
  const json j = json::parse(in, nullptr, false);
  return j.is_object() ? j.value("version", 0) : 0;
}

}  // namespace

TEST_CASE("lumbung sync refuses a schema whose signature does not verify and still syncs") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02", "OFC-0007");
  CliResult r = f.lumbung("awuliti", lumbung::test::official_flags(
                                         "7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  REQUIRE(f.admin({"schema", "publish", f.write_file("v2.json", version_2().dump())}).exit == 0);

  TamperRelay relay(f.server.server().port());
  relay.on_answer = [](std::string& head, std::string&) {
    const std::string sig = TamperRelay::header(head, "lumbung-schema-signature");
    if (sig.empty()) return;
    const size_t at = TamperRelay::find_nocase(head, sig) + sig.rfind(' ') + 1;
    head[at] = head[at] == 'A' ? 'B' : 'A';
  };
  r = f.lumbung("awuliti", {"--json", "--server", relay.url(), "sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(r.err.find("Schema version 2 from the server was REFUSED") != std::string::npos);
  CHECK(r.err.find("does not match its bytes") != std::string::npos);
  CHECK(r.err.find("This laptop stays on schema version 1") != std::string::npos);
  const json report = f.json_of(r);
  CHECK(report["pushed"] == 1);  // the record went all the same
  CHECK(report["schema_refused"].get<std::string>().find("signature") != std::string::npos);
  CHECK(schema_file_version(f, "awuliti") == 1);
  CHECK(f.server.records(f.server.reviewer()).size() == 1);

  // Still on version 1: the laptop enrols under it and syncs through the same relay.
  r = f.lumbung("awuliti", lumbung::test::official_flags("7402011203780002", "Budi Santoso",
                                                         "1978-03-12", "L"));
  CHECK_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("awuliti", {"--server", relay.url(), "sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(schema_file_version(f, "awuliti") == 1);
  CHECK(f.server.records(f.server.reviewer()).size() == 2);

  // Over an honest link the same laptop takes version 2 (--server is kept: name it again).
  r = f.lumbung("awuliti", {"--server", f.server.server().base_url(), "sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(r.err.find("now uses schema version 2 from the server (was 1)") != std::string::npos);
  CHECK(schema_file_version(f, "awuliti") == 2);
}

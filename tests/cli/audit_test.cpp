// `lumbung-admin audit list` is readable (issue 15 item 10): a table of when, who, action,
// target and detail, a line naming the next page, and the server's JSON with --json. The real
// binaries against the real server.
#include <doctest/doctest.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

TEST_CASE("audit list is a labelled table with the next page named - --json as the server sent") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  const std::string device = f.json_of(f.lumbung("a", {"--json", "config"}))["device_id"];

  CliResult r = f.admin({"audit", "list"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.rfind("{", 0) == std::string::npos);  // not JSON
  for (const char* header : {"when", "who", "action", "target", "detail"}) {
    CHECK_MESSAGE(r.out.find(header) != std::string::npos, std::string(header) << "\n" << r.out);
  }
  // The laptop's registration and its push, with who did them and what came of it.
  const auto row = [&](const std::string& action) {
    const auto at = r.out.find(" " + action + " ");
    if (at == std::string::npos) return std::string();
    const auto start = r.out.rfind('\n', at) + 1;
    return r.out.substr(start, r.out.find('\n', at) - start);
  };
  CHECK(row("register").find("device " + device) != std::string::npos);
  CHECK(row("register").find("scope=") != std::string::npos);
  CHECK(row("push").find("applied=1") != std::string::npos);
  CHECK(r.out.find("There is more") == std::string::npos);

  // One entry a page: the next page is named.
  r = f.admin({"audit", "list", "--limit", "1"});
  REQUIRE(r.exit == 0);
  CHECK(r.out.find("There is more: lumbung-admin audit list --after ") != std::string::npos);
  r = f.admin({"--lang", "id", "audit", "list"});
  CHECK(r.out.find("tindakan") != std::string::npos);

  const json page = f.json_of(f.admin({"--json", "audit", "list"}));
  CHECK(page["entries"].size() >= 3);  // the admin token at start, the code, register, push
  CHECK(page["entries"][0].contains("hash"));
}

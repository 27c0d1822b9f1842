// `lumbung-admin tokens list` and `tokens revoke ID` (issue 15 item 10, in part): the
// office sees its staff tokens and revokes one by a prefix of its id. The real binaries
// against the real server.
#include <doctest/doctest.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using nlohmann::json;

TEST_CASE("tokens list shows the staff tokens and tokens revoke ends one by its id prefix") {
  CliFixture f;
  const json made = f.json_of(f.admin({"--json", "tokens", "create", "--role", "reviewer",
                                       "--label", "Ibu Sari", "--scope", "74.02"}));
  const std::string id = made["id"], reviewer = made["token"];
  CliResult r = f.admin({"tokens", "list"});
  REQUIRE(r.exit == 0);
  std::string row = r.out.substr(r.out.find(id));
  row = row.substr(0, row.find('\n'));
  CHECK(row.find("reviewer") != std::string::npos);
  CHECK(row.find("Ibu Sari") != std::string::npos);
  CHECK(row.find("74.02") != std::string::npos);
  CHECK(r.out.find(reviewer) == std::string::npos);  // a token is shown once, at creation
  const json list = f.json_of(f.admin({"--json", "tokens", "list"}));
  CHECK(list["tokens"].size() == 2);  // the first admin token and this one

  auto as_reviewer = [&] {
    return lumbung::test::run_cli(LUMBUNG_ADMIN_BIN, {"--server", f.server.server().base_url(),
                                                      "--token", reviewer, "conflicts", "list"});
  };
  CHECK(as_reviewer().exit == 0);
  r = f.admin({"tokens", "revoke", id.substr(0, 6)});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("Ibu Sari") != std::string::npos);
  CHECK(as_reviewer().exit == 6);
  r = f.admin({"--lang", "id", "tokens", "list"});
  row = r.out.substr(r.out.find(id));
  CHECK(row.substr(0, row.find('\n')).find("DICABUT") != std::string::npos);
  CHECK(f.admin({"tokens", "revoke", "ffffffff"}).exit == 4);
}

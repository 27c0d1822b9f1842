// `lumbung-admin export ... --excel` (issue 15 item 10, in part): a file Indonesian Excel
// opens directly - ';' separators, a UTF-8 byte-order mark, formula-like cells kept as
// text. The real binaries against the real server.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;

TEST_CASE("export --excel writes semicolons and a UTF-8 byte-order mark") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  auto flags = official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P");
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] == "--position") flags[i + 1] = "=kepala desa";  // a formula to Excel
  }
  REQUIRE(f.lumbung("a", flags).exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  const std::string path = f.dir.path() + "/rekap.csv";
  CliResult r = f.admin({"export", "records", "--excel", "--out", path});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string csv = text.str();
  REQUIRE(csv.size() > 3);
  CHECK(csv.compare(0, 3, "\xEF\xBB\xBF") == 0);
  const std::string header = csv.substr(3, csv.find('\n') - 3);
  CHECK(header.find("id;nik;full_name") == 0);
  CHECK(header.find(',') == std::string::npos);
  CHECK(csv.find(";Siti Rahmawati;") != std::string::npos);
  CHECK(csv.find(";'=kepala desa;") != std::string::npos);
  CHECK(csv.find("JKK,JKM") != std::string::npos);  // a set stays one cell

  r = f.admin({"export", "progress", "--excel"});
  REQUIRE(r.exit == 0);
  CHECK(r.out.compare(0, 3, "\xEF\xBB\xBF") == 0);
  CHECK(r.out.find("level;code;total") != std::string::npos);
  // Without --excel: plain CSV as before.
  CHECK(f.admin({"export", "progress"}).out.compare(0, 16, "level,code,total") == 0);
}

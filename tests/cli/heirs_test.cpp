// Guided enrol's heirs (issue 15 item 7): the relationship prompt lists its choices, a wrong
// answer is caught at once and asked again (not after the whole entry), and an heir's NIK
// is checked against the heir's birth date. The real binary, answers on stdin.
#include <doctest/doctest.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using nlohmann::json;

TEST_CASE(
    "guided heirs: choices listed - a wrong relationship and an heir NIK against its birth date "
    "caught at once") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  const std::string answers =
      "7402015203780001\nSiti Rahmawati\nUnaaha\n12-03-1978\nP\n74.02.01.2006\n\n\n"
      "1\nkepala desa\nBPU\n+62 812-4100-2201\n\n\n1,2\nRp 4.500.000\nAPBDes\n"
      // heir 1
      "Rahman\n"
      "istri\n"             // not a choice: asked again at once
      "2\n"                 // anak, by its number
      "7402011505050001\n"  // born 15-05-05
      "16-05-2005\n"        // disagrees with the NIK: asked again
      "15-05-2005\n"
      "\n"   // no second heir
      "\n";  // save? [Y/n]
  CliResult r = f.lumbung("a", {"enrol"}, answers, "id");
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("1) suami_istri  2) anak") != std::string::npos);
  CHECK(r.out.find("\"istri\" tidak dikenal") != std::string::npos);
  CHECK(r.out.find("NIK ahli waris menyatakan lahir 15-05-05, tanggal lahirnya 16-05-2005") !=
        std::string::npos);
  const json rec = f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}))["fields"];
  REQUIRE(rec["heirs"].size() == 1);
  CHECK(rec["heirs"][0]["relationship"] == "anak");
  CHECK(rec["heirs"][0]["birth_date"] == "2005-05-15");
}

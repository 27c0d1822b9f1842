// import-csv with spreadsheets as offices have them (issue 15 item 4): Windows-1252 files
// read as such (or refused clearly), the same with --dry-run; an id column that would make
// a second record for a NIK the laptop holds; rows numbered as the spreadsheet shows them;
// line breaks and control characters in names refused. The real binary, a real server.
#include <doctest/doctest.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

namespace {

const char* kHeader =
    "nik;full_name;birth_date;gender;village_code;programs;monthly_income;position";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a Windows-1252 file is read as such - and said so - with and without --dry-run") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  // "José Fernandes" and "Wa Ode Nurhalizà" as Excel on Windows saves them (0xE9, 0xE0).
  const std::string path = f.write_file(
      "cp1252.csv", std::string(kHeader) +
                        "\r\n7402012107850002;Jos\xE9 Fernandes;21-07-1985;L;74.02.01.2006;JKK,JKM;"
                        "3200000;sekretaris desa\r\n"
                        "7402014506920004;Wa Ode Nurhaliz\xE0;1992-06-05;P;74.02.01.2006;JKK,JKM;"
                        "2500000;kaur umum\r\n");
  CliResult dry = f.lumbung("a", {"import-csv", "--dry-run", path});
  CHECK(dry.exit == 0);
  CHECK(has(dry.err, "read as Windows-1252"));
  CHECK(has(dry.out, "José Fernandes"));
  CHECK(has(dry.out, "Wa Ode Nurhalizà"));
  CliResult r = f.lumbung("a", {"--json", "import-csv", path});
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(has(r.err, "read as Windows-1252"));
  CHECK(f.json_of(r)["encoding"] == "Windows-1252");
  CHECK(f.json_of(r)["imported"] == 2);
  CHECK(f.json_of(f.lumbung("a", {"--json", "show", "7402012107850002"}))["fields"]["full_name"] ==
        "José Fernandes");

  // A byte no Windows code page defines, and UTF-16: refused before anything, in both modes.
  const std::string bad =
      f.write_file("bad.csv", std::string(kHeader) +
                                  "\r\n7402015203780001;Siti;1978-03-12;P;74.02.01.2006;JKK;"
                                  "4500000;kepala desa\r\n7402010901900003;A\x81;1990-01-"
                                  "09;L;74.02.01.2006;JKK;2800000;kaur\r\n");
  for (const bool dry_run : {true, false}) {
    std::vector<std::string> args{"import-csv", bad};
    if (dry_run) args.push_back("--dry-run");
    r = f.lumbung("a", args, "", "id");
    CHECK(r.exit == 2);
    CHECK(has(r.err, "byte 0x81 di baris 3"));
    CHECK(has(r.err, "CSV UTF-8"));
  }
  r = f.lumbung("a",
                {"import-csv", f.write_file("utf16.csv", std::string("\xFF\xFEn\0i\0k\0", 8))});
  CHECK(r.exit == 2);
  CHECK(has(r.err, "UTF-16"));
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 2);
}

TEST_CASE("an id column does not make a second record for a NIK the laptop holds") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  const std::string held = f.json_of(f.lumbung("a", {"--json", "list"}))["records"][0]["id"];
  const std::string other_id = "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
  const std::string csv = "id," +
                          std::string(
                              "nik,full_name,birth_date,gender,village_code,"
                              "programs,monthly_income,position\n") +
                          other_id +
                          ",7402015203780001,Siti Rahmawati,1978-03-12,P,74.02.01.2006,JKK,"
                          "4500000,kepala desa\n";
  for (const bool dry_run : {true, false}) {
    std::vector<std::string> args{"--json", "import-csv", f.write_file("ids.csv", csv)};
    if (dry_run) args.push_back("--dry-run");
    CliResult r = f.lumbung("a", args);
    CHECK(r.exit == 3);
    const json rep = f.json_of(r);
    CHECK(rep["refused"] == 1);
    CHECK(rep["rows"][0]["reason"] == "duplicate_key");
    CHECK(has(rep["rows"][0]["message"], held.substr(held.size() - 8)));
  }
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 1);
}

TEST_CASE(
    "rows are numbered as the spreadsheet shows them and cells with control characters are "
    "refused") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  const std::string csv =
      "nik,full_name,birth_date,gender,village_code,programs,monthly_income,position,address\n"
      // row 2: quoted cells with the separator are fine
      "7402015203780001,Siti Rahmawati,1978-03-12,P,74.02.01.2006,JKK,4500000,kepala desa,"
      "\"Jl. Poros Unaaha, Dusun II\"\n"
      // row 3: a name over two lines
      "7402012107850002,\"La Ode\nAmir\",1985-07-21,L,74.02.01.2006,JKK,3200000,sekretaris,\n"
      // row 4: an invisible control character in the name
      "7402014506920004,Wa Ode\x01Nur,1992-06-05,P,74.02.01.2006,JKK,2500000,kaur umum,\n"
      // row 5: a date that is no date
      "7402010901900003,Andi Saputra,1990-02-31,L,74.02.01.2006,JKK,2800000,kaur,\n";
  CliResult r = f.lumbung("a", {"--json", "import-csv", f.write_file("rows.csv", csv)});
  CHECK(r.exit == 3);
  const json rep = f.json_of(r);
  REQUIRE(rep["rows"].size() == 4);
  CHECK(rep["rows"][0]["line"] == 2);
  CHECK(rep["rows"][0]["result"] == "imported");
  CHECK(rep["rows"][1]["line"] == 3);
  CHECK(rep["rows"][1]["reason"] == "control_character");
  CHECK(has(rep["rows"][1]["message"], "line break"));
  CHECK(rep["rows"][2]["line"] == 4);
  CHECK(rep["rows"][2]["reason"] == "control_character");
  CHECK(has(rep["rows"][2]["message"], "U+0001"));
  CHECK(rep["rows"][3]["line"] == 5);  // a physical line count would say 6
  r = f.lumbung("a", {"import-csv", f.write_file("rows2.csv", csv)}, "", "id");
  CHECK(has(r.out, "baris 3: DITOLAK"));
  CHECK(has(r.out, "baris 5: DITOLAK Andi Saputra"));
  CHECK(f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}))["fields"]["address"] ==
        "Jl. Poros Unaaha, Dusun II");
}

// Messages a field officer reads (issue 15 item 5): in Indonesian, with the value typed and
// what would be right - an impossible date is not a format problem, a letter in a NIK is
// named, dates in one form (DD-MM-YYYY), a status that cannot move back shows both values
// and the order, a wrong passphrase in Indonesian. The real binary against a real server.
#include <doctest/doctest.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> with(std::vector<std::string> flags, const std::string& name,
                              const std::string& value) {
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] == name) flags[i + 1] = value;
  }
  return flags;
}

}  // namespace

TEST_CASE("validation messages show the wrong value and what is right - in Indonesian") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  const auto siti = official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P");

  CliResult r = f.lumbung("a", with(siti, "--birth-date", "31-02-1980"), "", "id");
  CHECK(r.exit == 3);
  CHECK(has(r.err, "31-02-1980 bukan tanggal yang ada: Februari 1980 hanya sampai tanggal 29"));
  CHECK(has(r.err, "formatnya sudah benar"));
  r = f.lumbung("a", with(siti, "--birth-date", "12-13-1978"), "", "id");
  CHECK(has(r.err, "tidak ada bulan 13"));
  r = f.lumbung("a", with(siti, "--birth-date", "kemarin"), "", "id");
  CHECK(has(r.err, "\"kemarin\" tidak terbaca sebagai tanggal"));

  r = f.lumbung("a", with(siti, "--nik", "74020152037800O1"), "", "id");
  CHECK(r.exit == 3);
  CHECK(has(r.err, "\"74020152037800O1\" berisi \"O\" di posisi 15"));
  CHECK(has(r.err, "ketik angka 0"));
  CHECK_FALSE(has(r.err, "harus tepat 16"));
  r = f.lumbung("a", with(siti, "--nik", "740201520378001"), "", "id");
  CHECK(has(r.err, "berisi 15 angka; NIK tepat 16 angka"));

  r = f.lumbung("a", with(siti, "--gender", "W"), "", "id");
  CHECK(has(r.err, "\"W\" tidak dikenal; pilih salah satu: L, P"));

  // The NIK and the birth date disagree: both dates in one form.
  r = f.lumbung("a", with(siti, "--birth-date", "1978-03-21"), "", "id");
  CHECK(has(r.err, "NIK menyatakan lahir 12-03-1978, Tanggal lahir menyatakan 21-03-1978"));
  r = f.lumbung("a", with(siti, "--birth-date", "1978-03-21"));
  CHECK(has(r.err, "says born 12-03-1978"));
  CHECK(has(r.err, "says 21-03-1978"));

  // A status cannot move back: both values and the order.
  REQUIRE(f.lumbung("a", siti).exit == 0);
  REQUIRE(f.lumbung("a", {"edit", "7402015203780001", "--set", "status=verified"}).exit == 0);
  r = f.lumbung("a", {"edit", "7402015203780001", "--set", "status=submitted"}, "", "id");
  CHECK(r.exit == 3);
  CHECK(has(r.err, "tidak bisa mundur dari \"verified\" ke \"submitted\""));
  CHECK(has(r.err, "draft → submitted → verified"));
  CHECK_FALSE(has(r.err, "can only move forward"));
}

TEST_CASE("a wrong passphrase is said in Indonesian") {
  CliFixture f;
  const std::string home = f.home("enc");
  CliResult r = lumbung::test::run_cli(
      LUMBUNG_CLI_BIN, {"--home", home, "init", "--server", f.server.server().base_url()}, {},
      {{"LUMBUNG_PASSPHRASE", "frasa-sandi-benar"}});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = lumbung::test::run_cli(LUMBUNG_CLI_BIN, {"--home", home, "status"}, {},
                             {{"LUMBUNG_PASSPHRASE", "frasa-sandi-salah"}});
  CHECK(r.exit == 6);
  CHECK(has(r.err, "frasa sandi salah"));
  CHECK_FALSE(has(r.err, "wrong passphrase"));
}

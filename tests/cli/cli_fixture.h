// Shared setup of the CLI end-to-end tests: a real lumbung-server (tests/server
// ServerFixture), a temp directory for laptops, and helpers that run the real `lumbung`
// and `lumbung-admin` binaries against it.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "server/server_fixture.h"

namespace lumbung::test {

class CliFixture {
 public:
  CliFixture() = default;

  ServerFixture server;
  TempDir dir;

  std::string home(const std::string& name) const { return dir.path() + "/" + name; }

  // `lumbung --home HOME ARGS...` (English messages unless `lang` says otherwise).
  CliResult lumbung(const std::string& laptop, std::vector<std::string> args,
                    const std::string& input = {}, const std::string& lang = "en") {
    std::vector<std::string> full{"--home", home(laptop), "--lang", lang};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(LUMBUNG_CLI_BIN, full, input, {}, 120000);
  }
  // `lumbung-admin` with the admin token; `input` answers its questions, `env` e.g. TZ.
  CliResult admin(std::vector<std::string> args, const std::string& input = {},
                  const std::vector<std::pair<std::string, std::string>>& env = {}) {
    std::vector<std::string> full{
        "--server", server.server().base_url(), "--token", server.admin(), "--lang", "en"};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(LUMBUNG_ADMIN_BIN, full, input, env, 60000);
  }
  // Sets up and registers a laptop with a fresh code for `scope`. Unencrypted (the flag a
  // real laptop never gets): these tests are about the commands; encryption has its own.
  void init_laptop(const std::string& laptop, const std::string& scope,
                   const std::string& officer) {
    CliResult r = admin({"--json", "codes", "create", "--scope", scope, "--label", laptop});
    REQUIRE_MESSAGE(r.exit == 0, r.err);
    const std::string code = nlohmann::json::parse(r.out)["code"];
    r = lumbung(laptop, {"init", "--unencrypted", "--server", server.server().base_url(), "--code",
                         code, "--officer", officer, "--label", laptop});
    REQUIRE_MESSAGE(r.exit == 0, r.err);
  }
  nlohmann::json json_of(const CliResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << r.out << r.err);
    return j;
  }
  std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = dir.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

// Flags of one valid enrolment in Desa Awuliti (74.02.01.2006), Kecamatan Lambuya, Konawe.
inline std::vector<std::string> official_flags(const std::string& nik, const std::string& name,
                                               const std::string& birth,
                                               const std::string& gender) {
  return {"enrol",
          "--nik",
          nik,
          "--full-name",
          name,
          "--birth-date",
          birth,
          "--gender",
          gender,
          "--village-code",
          "74.02.01.2006",
          "--programs",
          "JKK,JKM",
          "--monthly-income",
          "4500000",
          "--position",
          "kepala desa",
          "--phone",
          "0812-4100-2201"};
}

// Guided answers from the birth date on (NIK, name and birth place given before), for Siti
// Rahmawati in Desa Awuliti; ends with "save? [Y/n]" answered by Enter.
inline const char* kRestFromBirthDate =
    "12-03-1978\n"     // birth date (agrees with the NIK: a woman born 12-03-78)
    "P\n"              // gender
    "74.02.01.2006\n"  // village
    "\n\n"             // address, RT/RW
    "1\n"              // occupation by number
    "kepala desa\n"
    "BPU\n"
    "+62 812-4100-2201\n"
    "\n\n"   // email, KPJ
    "1,2\n"  // programs
    "Rp 4.500.000\n"
    "APBDes\n"
    "\n"   // no heirs
    "\n";  // save? [Y/n]

}  // namespace lumbung::test

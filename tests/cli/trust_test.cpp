// Setting a laptop up against the office's own HTTPS server (issue 15 item 1): the setup
// code from `lumbung-admin codes create` (code, address and key pin in one), `init --ca-file
// / --pin`, and a refused certificate or key explained as such - never as "no signal".
// The real binaries against the real server with a tools/dev-cert.sh certificate.
#include <doctest/doctest.h>

#include <filesystem>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"
#include "security/security_support.h"

using lumbung::test::CliResult;
using lumbung::test::official_flags;
using lumbung::test::run_cli;
using lumbung::test::ServerProcess;
using lumbung::test::TempDir;
using lumbung::test::TestCert;
using nlohmann::json;

namespace {

// The office's server with its own certificate, and laptops beside it.
struct Office {
  TempDir dir;
  TestCert cert = lumbung::test::make_cert(dir.path());
  ServerProcess server{LUMBUNG_SERVER_BIN,
                       dir.path() + "/data",
                       dir.path() + "/admin-token",
                       {"--tls-cert", cert.cert, "--tls-key", cert.key}};
  std::string admin_token = lumbung::test::read_text_file(dir.path() + "/admin-token");

  std::string home(const std::string& laptop) const { return dir.path() + "/" + laptop; }
  CliResult lumbung(const std::string& laptop, std::vector<std::string> args,
                    const std::string& lang = "en") {
    std::vector<std::string> full{"--home", home(laptop), "--lang", lang};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(LUMBUNG_CLI_BIN, full, {}, {}, 60000);
  }
  CliResult admin(std::vector<std::string> args) {
    std::vector<std::string> full{"--server",  server.base_url(), "--token", admin_token,
                                  "--ca-file", cert.cert,         "--lang",  "en"};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(LUMBUNG_ADMIN_BIN, full, {}, {}, 60000);
  }
  json new_code() {
    CliResult r = admin({"--json", "codes", "create", "--scope", "74.02.01"});
    REQUIRE_MESSAGE(r.exit == 0, r.err);
    return json::parse(r.out);
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "init with the office's setup code trusts its own certificate - without it the laptop says "
    "so") {
  Office o;
  const json made = o.new_code();
  const std::string setup = made["setup_code"];
  CHECK(setup == made["code"].get<std::string>() + "@" + o.server.base_url() + "#" + o.cert.pin);

  SUBCASE("the human output shows the setup code") {
    CliResult r = o.admin(
        {"codes", "create", "--scope", "74.02.01", "--laptop-server", "https://10.8.0.5:8443"});
    REQUIRE(r.exit == 0);
    CHECK(has(r.out, "@https://10.8.0.5:8443#" + o.cert.pin));
  }

  // A laptop given only the address and the code: the certificate is refused, and it is
  // called what it is, in Indonesian, not a missing signal; the code is kept.
  CliResult r = o.lumbung(
      "plain", {"init", "--unencrypted", "--server", o.server.base_url(), "--code", made["code"]},
      "id");
  CHECK(r.exit == 6);
  CHECK(has(r.err, "sertifikat TLS-nya tidak dipercaya"));
  CHECK(has(r.err, "BUKAN masalah sinyal"));
  CHECK_FALSE(has(r.err, "saat ada sinyal"));
  CHECK_FALSE(has(r.err, "tidak terjangkau"));
  // Its sync says the same at once (no retries: waiting cannot fix a certificate).
  r = o.lumbung("plain", {"sync"});
  CHECK(r.exit == 6);
  CHECK(has(r.err, "NOT a signal problem"));
  CHECK_FALSE(has(r.err, "when there is a signal"));
  // The office's certificate file and pin fix it; the kept code registers.
  r = o.lumbung("plain", {"init", "--ca-file", o.cert.cert, "--pin", o.cert.pin});
  CHECK_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(has(r.out, "Registered with"));
  CHECK(std::filesystem::exists(o.home("plain") + "/office-ca.pem"));

  // The setup code alone: no --server, no file to carry.
  r = o.lumbung("a", {"init", "--unencrypted", "--code", o.new_code()["setup_code"], "--officer",
                      "OFC-0001"});
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(has(r.out, "matches the pin"));
  CHECK(has(r.out, "Registered with " + o.server.base_url()));
  REQUIRE(o.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  r = o.lumbung("a", {"--json", "sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(json::parse(r.out)["pushed"] == 1);

  // The office's key changes (or someone sits in between): a new pin that the server's key
  // does not match stops the sync at once with the reason, nothing sent.
  r = o.lumbung("a", {"init", "--pin", std::string(64, 'b')});
  REQUIRE(r.exit == 0);
  r = o.lumbung("a", {"sync"}, "id");
  CHECK(r.exit == 6);
  CHECK(has(r.err, "kuncinya tidak cocok dengan pin kantor"));
  CHECK(has(r.err, "BUKAN masalah sinyal"));
}

TEST_CASE("a setup code whose pin is not the server's key registers nothing") {
  Office o;
  const json made = o.new_code();
  const std::string wrong =
      made["code"].get<std::string>() + "@" + o.server.base_url() + "#" + std::string(64, 'a');
  CliResult r = o.lumbung("a", {"init", "--unencrypted", "--code", wrong});
  CHECK(r.exit == 6);
  CHECK(has(r.err, "does not match the office's pin"));
  CHECK_FALSE(std::filesystem::exists(o.home("a") + "/office-ca.pem"));
  // The code was not spent: the right setup code registers.
  r = o.lumbung("a", {"init", "--code", made["setup_code"]});
  CHECK_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(has(r.out, "Registered with"));
}

TEST_CASE(
    "bad trust input is refused before anything is written - with the value and what is right") {
  Office o;
  CliResult r = o.lumbung(
      "a", {"init", "--unencrypted", "--server", o.server.base_url(), "--pin", "3f:1a:zz"}, "id");
  CHECK(r.exit == 2);
  CHECK(has(r.err, "\"3f:1a:zz\""));
  CHECK(has(r.err, "64 digit heksadesimal"));
  CHECK_FALSE(std::filesystem::exists(o.home("a")));

  r = o.lumbung("a",
                {"init", "--unencrypted", "--server", "http://127.0.0.1:1", "--pin", o.cert.pin});
  CHECK(r.exit == 2);
  CHECK(has(r.err, "https://"));

  const std::string not_a_cert = o.dir.path() + "/not-a-cert.pem";
  lumbung::test::run_capture("echo hello > '" + not_a_cert + "'");
  r = o.lumbung(
      "a", {"init", "--unencrypted", "--server", o.server.base_url(), "--ca-file", not_a_cert});
  CHECK(r.exit == 2);
  CHECK(has(r.err, "BEGIN CERTIFICATE"));

  r = o.lumbung("a", {"init", "--unencrypted", "--code", "ABCDE@ftp://x"});
  CHECK(r.exit == 2);
  CHECK(has(r.err, "ftp://x"));
  CHECK_FALSE(std::filesystem::exists(o.home("a")));
}

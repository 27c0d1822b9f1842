// Drafts (issue 15 item 2): a guided enrolment that is stopped - the input ends, Ctrl-C, three
// wrong answers, a KTP whose NIK disagrees with its birth date - is kept as a draft instead of
// thrown away; `lumbung drafts` lists it, `drafts resume` completes it into one record,
// `drafts delete` drops it; a draft is personal data and is sealed in the encrypted store.
// The real binary, answers on stdin.
#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::Child;
using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::kRestFromBirthDate;
using nlohmann::json;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every byte the laptop keeps in its state directory's database files.
std::string store_bytes(const std::string& home) {
  return read_all(home + "/lumbung.db") + read_all(home + "/lumbung.db-wal");
}

}  // namespace

TEST_CASE("input ending half way keeps a draft - listed - resumed into one record") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");

  CliResult r = f.lumbung("a", {"enrol"}, "7402015203780001\nSiti Rahmawati\nUnaaha\n");
  CHECK(r.exit == 130);
  CHECK_MESSAGE(r.err.find("kept as draft D1 (Siti Rahmawati)") != std::string::npos, r.err);
  CHECK(r.err.find("lumbung drafts resume D1") != std::string::npos);
  json st = f.json_of(f.lumbung("a", {"--json", "status"}));
  CHECK(st["records"] == 0);
  CHECK(st["pending_changes"] == 0);  // a draft is not a change: nothing is sent
  CHECK(st["drafts"] == 1);
  r = f.lumbung("a", {"status"});
  CHECK(r.out.find("Drafts not finished: 1") != std::string::npos);

  // Listed, with what is still missing.
  json drafts = f.json_of(f.lumbung("a", {"--json", "drafts"}));
  REQUIRE(drafts["count"] == 1);
  const json& d = drafts["drafts"][0];
  CHECK(d["id"] == "D1");
  CHECK(d["fields"]["nik"] == "7402015203780001");
  CHECK(d["fields"]["birth_place"] == "Unaaha");
  CHECK(d["missing"].size() >= 4);  // birth date, gender, village, programs, income
  r = f.lumbung("a", {"drafts"}, "", "id");
  CHECK(r.exit == 0);
  CHECK(r.out.find("D1") != std::string::npos);
  CHECK(r.out.find("Siti Rahmawati") != std::string::npos);
  CHECK(r.out.find("belum diisi: Tanggal lahir") != std::string::npos);

  // Resumed: only what is missing is asked; saved once, and the draft goes.
  r = f.lumbung("a", {"drafts", "resume", "d1"}, kRestFromBirthDate);
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("Nik *") == std::string::npos);  // the NIK is not asked again
  CHECK(r.out.find("Saved: Siti Rahmawati") != std::string::npos);
  CHECK(r.out.find("Draft D1 is complete") != std::string::npos);
  st = f.json_of(f.lumbung("a", {"--json", "status"}));
  CHECK(st["records"] == 1);
  CHECK(st["pending_changes"] == 1);  // one create
  const json rec = f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}))["fields"];
  CHECK(rec["birth_place"] == "Unaaha");
  CHECK(rec["birth_date"] == "1978-03-12");
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 0);
  CHECK(f.lumbung("a", {"drafts", "resume", "D1"}, kRestFromBirthDate).exit == 4);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["records"] == 1);

  // The record syncs like any other.
  r = f.lumbung("a", {"sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(f.server.records(f.server.reviewer()).size() == 1);
}

TEST_CASE("Ctrl-C mid-form keeps a draft - and drafts delete drops it after asking") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");

  Child c(LUMBUNG_CLI_BIN, {"--home", f.home("a"), "--lang", "id", "enrol"}, {});
  c.write_stdin("7402012107850002\nLa Ode Amir\n");
  REQUIRE_MESSAGE(c.wait_for_stdout("Tempat lahir", 20000), c.out_text);
  kill(c.pid(), SIGINT);
  CliResult r = c.finish(20000);
  CHECK(r.exit == 130);
  CHECK_MESSAGE(
      r.err.find("Dihentikan (Ctrl-C). Formulir disimpan sebagai draf D1 (La Ode Amir)") !=
          std::string::npos,
      r.err);
  json drafts = f.json_of(f.lumbung("a", {"--json", "drafts"}));
  REQUIRE(drafts["count"] == 1);
  CHECK(drafts["drafts"][0]["fields"]["full_name"] == "La Ode Amir");

  // "no" keeps it; "yes" deletes it; no record was ever made.
  r = f.lumbung("a", {"drafts", "delete", "D1"}, "n\n");
  CHECK(r.exit == 130);
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 1);
  r = f.lumbung("a", {"drafts", "delete", "D1"}, "y\n");
  CHECK(r.exit == 0);
  CHECK(r.out.find("Draft D1 (La Ode Amir) deleted") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 0);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["records"] == 0);
  CHECK(f.lumbung("a", {"drafts", "delete", "D1"}, "y\n").exit == 4);

  // Ctrl-C before anything was typed keeps nothing.
  Child empty(LUMBUNG_CLI_BIN, {"--home", f.home("a"), "--lang", "en", "enrol"}, {});
  REQUIRE(empty.wait_for_stdout("Nik *", 20000));
  kill(empty.pid(), SIGINT);
  r = empty.finish(20000);
  CHECK(r.exit == 130);
  CHECK(r.err.find("nothing saved") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 0);
}

TEST_CASE("a KTP whose NIK and birth date disagree is kept for review with a note") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  std::string answers =
      "7402015203780001\nSiti Rahmawati\nUnaaha\n21-03-1978\nreview\n"
      "KTP says 21-03-1978\n";
  answers += std::string(kRestFromBirthDate).substr(std::string("12-03-1978\n").size());
  CliResult r = f.lumbung("a", {"enrol"}, answers);
  CHECK(r.exit == 3);
  CHECK_MESSAGE(r.out.find("Kept as draft D1 (Siti Rahmawati) for review") != std::string::npos,
                r.out);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["records"] == 0);
  json d = f.json_of(f.lumbung("a", {"--json", "drafts", "show", "D1"}));
  CHECK(d["review"] == true);
  CHECK(d["note"] == "KTP says 21-03-1978");
  CHECK(d["fields"]["birth_date"] == "1978-03-21");
  CHECK(d["fields"]["monthly_income"] == 4500000);

  // Resumed: the birth date is asked again with its value shown; corrected, it is saved.
  r = f.lumbung("a", {"drafts", "resume", "D1"}, "12-03-1978\n\n");
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("[21-03-1978]") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["records"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 0);
}

TEST_CASE("three wrong answers leave the field for later - not the end of the form") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  // The birth date three times wrong, the rest answered; at the end it is asked again.
  std::string answers = "7402015203780001\nSiti Rahmawati\nUnaaha\n31-02-1978\nx\n1978\n";
  answers += std::string(kRestFromBirthDate).substr(std::string("12-03-1978\n").size());
  // The last "\n" of kRestFromBirthDate answers "save?"; before it, the birth date again.
  answers.insert(answers.size() - 1, "12-03-1978\n");
  CliResult r = f.lumbung("a", {"enrol"}, answers);
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("Birth date is left for now") != std::string::npos);
  CHECK(r.out.find("Back to the fields left for later") != std::string::npos);
  CHECK(r.out.find("Saved: Siti Rahmawati") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["records"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 0);
}

TEST_CASE("a draft is sealed in the encrypted store - never written in clear") {
  CliFixture f;
  const std::vector<std::pair<std::string, std::string>> pass{
      {"LUMBUNG_PASSPHRASE", "kopi-tubruk-1978"}};
  // The passphrase only for the encrypted laptop (--unencrypted refuses one).
  auto run = [&](const std::string& home, std::vector<std::string> args, const std::string& input) {
    std::vector<std::string> full{"--home", f.home(home), "--lang", "en"};
    full.insert(full.end(), args.begin(), args.end());
    return lumbung::test::run_cli(LUMBUNG_CLI_BIN, full, input,
                                  home == "enc" ? pass : decltype(pass){}, 60000);
  };
  const std::string url = f.server.server().base_url();
  REQUIRE(run("enc", {"init", "--server", url, "--code", f.server.code({"74.02.01"})}, "").exit ==
          0);
  REQUIRE(run("plain",
              {"init", "--unencrypted", "--server", url, "--code", f.server.code({"74.02.01"})}, "")
              .exit == 0);
  const std::string partial = "7402016611900003\nWa Ode Kasturiani\nRaha\n";
  CliResult r = run("enc", {"enrol"}, partial);
  CHECK_MESSAGE(r.exit == 130, r.err);
  r = run("plain", {"enrol"}, partial);
  CHECK_MESSAGE(r.exit == 130, r.err);
  // Both laptops hold the draft...
  for (const char* home : {"enc", "plain"}) {
    r = run(home, {"--json", "drafts"}, "");
    REQUIRE_MESSAGE(r.exit == 0, r.err);
    CHECK(json::parse(r.out)["drafts"][0]["fields"]["full_name"] == "Wa Ode Kasturiani");
  }
  // ...the encrypted one nowhere in clear (the plain one shows the scan finds it), and no
  // other file beside the store.
  CHECK(store_bytes(f.home("plain")).find("Kasturiani") != std::string::npos);
  CHECK(store_bytes(f.home("enc")).find("Kasturiani") == std::string::npos);
  CHECK(store_bytes(f.home("enc")).find("7402016611900003") == std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(f.home("enc"))) {
    if (e.path().filename().string().rfind("lumbung.db", 0) == 0) continue;
    CHECK_MESSAGE(read_all(e.path().string()).find("Kasturiani") == std::string::npos,
                  e.path().string());
  }
}

TEST_CASE("forms stopped at the same moment in several terminals each keep their own draft") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  // Each process ends its input at once, so all of them keep their draft together.
  constexpr int kForms = 12;
  std::vector<std::unique_ptr<Child>> forms;
  for (int i = 0; i < kForms; ++i) {
    forms.push_back(std::make_unique<Child>(
        LUMBUNG_CLI_BIN, std::vector<std::string>{"--home", f.home("a"), "--lang", "en", "enrol"},
        std::vector<std::pair<std::string, std::string>>{}));
  }
  for (int i = 0; i < kForms; ++i) {
    const int serial = i + 1;  // 0000 is no NIK's serial
    forms[i]->write_stdin("74020121078500" + std::string(serial < 10 ? "0" : "") +
                          std::to_string(serial) + "\nPeserta " + std::to_string(i) + "\n");
    forms[i]->close_stdin();
  }
  for (auto& c : forms) CHECK(c->finish(60000).exit == 130);
  const json drafts = f.json_of(f.lumbung("a", {"--json", "drafts"}));
  CHECK(drafts["count"] == kForms);
  std::set<std::string> ids, names;
  for (const auto& d : drafts["drafts"]) {
    ids.insert(d["id"].get<std::string>());
    names.insert(d["fields"]["full_name"].get<std::string>());
  }
  CHECK(ids.size() == static_cast<size_t>(kForms));
  CHECK(names.size() == static_cast<size_t>(kForms));
}

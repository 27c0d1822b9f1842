// End-to-end tests of the field officer's `lumbung` CLI: the real binary, a real server.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <set>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

namespace {

// Answers for guided `enrol`, one per prompt in schema order (auto fields are not asked).
// The first birth date contradicts the NIK (day 52 = a woman born on the 12th) and is
// corrected on the second try.
std::string guided_answers(const std::string& first_birth_date,
                           const std::string& village_answers = "74.02.01.2006\n") {
  return "7402015203780001\n"  // NIK
         "Siti Rahmawati\n"    // full name
         "Unaaha\n"            // birth place
         + first_birth_date +
         "\n"
         "12-03-1978\n"       // corrected, day-first form
         "P\n"                // gender
         + village_answers +  // village (Awuliti)
         "\n\n"               // address, RT/RW skipped
         "1\n"                // occupation by number: perangkat_desa
         "kepala desa\n"
         "BPU\n"
         "+62 812-4100-2201\n"
         "\n\n"   // email, KPJ skipped
         "1,2\n"  // programs JKK,JKM
         "Rp 4.500.000\n"
         "APBDes\n"
         "\n"   // no heirs
         "\n";  // save? [Y/n]
}

}  // namespace

TEST_CASE("guided enrol through stdin: a wrong birth date is explained and corrected") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");

  CliResult r = f.lumbung("a", {"enrol"}, guided_answers("1978-03-21"), "id");
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  // The cross-field problem is explained in Indonesian, with both dates.
  CHECK(r.out.find("NIK menyatakan lahir 12-03-1978, Tanggal lahir menyatakan 21-03-1978") !=
        std::string::npos);
  CHECK(r.out.find("Tersimpan: Siti Rahmawati") != std::string::npos);

  json list = f.json_of(f.lumbung("a", {"--json", "list"}));
  REQUIRE(list["count"] == 1);
  const json& rec = list["records"][0]["fields"];
  CHECK(rec["birth_date"] == "1978-03-12");
  CHECK(rec["village_code"] == "7402012006");
  CHECK(rec["phone"] == "081241002201");
  CHECK(rec["programs"] == json::array({"JKK", "JKM"}));
  CHECK(rec["monthly_income"] == 4500000);
  CHECK(rec["officer_id"] == "OFC-0001");
  CHECK(rec["status"] == "submitted");

  SUBCASE("the same NIK again warns, and 'no' saves nothing") {
    r = f.lumbung("a", {"enrol"}, "7402015203780001\nn\n");
    CHECK(r.exit == 130);
    CHECK(r.out.find("already on this laptop") != std::string::npos);
    CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 1);
  }
  SUBCASE("input ending half way saves no record - the form is kept as a draft") {
    r = f.lumbung("a", {"enrol"}, "7402012107850002\nLa Ode Amir\n");
    CHECK(r.exit == 130);
    CHECK(r.err.find("kept as draft D1 (La Ode Amir)") != std::string::npos);
    CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 1);
    CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 1);
  }
  SUBCASE("three wrong answers leave the field for later - nothing typed saves nothing") {
    r = f.lumbung("a", {"enrol"}, "123\n7402\nabc\n");
    CHECK(r.exit == 130);
    CHECK(r.out.find("Nik is left for now") != std::string::npos);
    CHECK(r.err.find("nothing saved") != std::string::npos);
    CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 1);
    CHECK(f.json_of(f.lumbung("a", {"--json", "drafts"}))["count"] == 0);
  }
}

TEST_CASE("enrol with flags - show - search - edit - delete: exit codes") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  CliResult r =
      f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);

  // A contradiction refused with exit 3, the reason named.
  r = f.lumbung("a", official_flags("7402012107850002", "La Ode Amir", "1985-07-12", "L"));
  CHECK(r.exit == 3);
  CHECK(r.err.find("NIK says born 21-07-1985") != std::string::npos);
  // Usage errors: exit 2.
  CHECK(f.lumbung("a", {"enrol", "--no-such-field", "x"}).exit == 2);
  CHECK(f.lumbung("a", {"frobnicate"}).exit == 2);

  json found = f.json_of(f.lumbung("a", {"--json", "search", "siti"}));
  REQUIRE(found["count"] == 1);
  const std::string id = found["records"][0]["id"];
  CHECK(f.json_of(f.lumbung("a", {"--json", "search", "74.02.01"}))["count"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "search", "7402015203780001"}))["count"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "search", "budi"}))["count"] == 0);

  // show by the last 8 characters, edit two fields, an invalid edit refused.
  json shown = f.json_of(f.lumbung("a", {"--json", "show", id.substr(id.size() - 8)}));
  CHECK(shown["id"] == id);
  r = f.lumbung("a",
                {"edit", id, "--set", "phone=0813 1111 2222", "--set", "position=sekretaris desa"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  shown = f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}));
  CHECK(shown["fields"]["phone"] == "081311112222");
  CHECK(shown["fields"]["position"] == "sekretaris desa");
  CHECK(f.lumbung("a", {"edit", id, "--set", "monthly_income=5"}).exit == 3);
  CHECK(f.lumbung("a", {"show", "ffffffff"}).exit == 4);

  json status = f.json_of(f.lumbung("a", {"--json", "status"}));
  CHECK(status["records"] == 1);
  CHECK(status["pending_changes"] == 2);  // the create and the edit
  CHECK(status["registered"] == true);

  // delete asks: "no" keeps it (exit 130), --force deletes.
  r = f.lumbung("a", {"delete", id}, "n\n");
  CHECK(r.exit == 130);
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 1);
  CHECK(f.lumbung("a", {"delete", id, "--force"}).exit == 0);
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 0);
}

TEST_CASE("import-csv: good - invalid and repeated rows: re-running creates no duplicates") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  // ';' separated with a BOM and CRLF, as Excel in the Indonesian locale saves it.
  const std::string csv =
      "\xEF\xBB\xBFnik;full_name;birth_date;gender;village_code;programs;monthly_income;"
      "position\r\n"
      "7402015203780001;Siti Rahmawati;1978-03-12;P;74.02.01.2006;JKK,JKM;4.500.000;kepala "
      "desa\r\n"
      "7402012107850002;La Ode Amir;21-07-1985;L;74.02.01.2006;JKK,JKM;3200000;sekretaris "
      "desa\r\n"
      "7402010901900003;Andi Saputra;1990-01-19;L;74.02.01.2006;JKK;2800000;kaur "
      "keuangan\r\n"  // date wrong
      "7402015203780001;Siti Rahmawati;1978-03-12;P;74.02.01.2006;JKK,JKM;4500000;kepala "
      "desa\r\n"                                                                           // repeat
      "7402014506920004;Wa Ode Nur;1992-06-05;P;74.02.01.2006;JKK,JKM;999;kaur umum\r\n";  // income
  const std::string path = f.write_file("desa-awuliti.csv", csv);

  CliResult r = f.lumbung("a", {"--json", "import-csv", path});
  CHECK(r.exit == 3);  // some rows refused; the others went in
  json rep = f.json_of(r);
  CHECK(rep["imported"] == 2);
  CHECK(rep["updated"] == 0);
  CHECK(rep["unchanged"] == 1);  // Siti's repeated row
  CHECK(rep["refused"] == 2);
  REQUIRE(rep["rows"].size() == 5);
  CHECK(rep["rows"][0]["line"] == 2);
  CHECK(rep["rows"][2]["result"] == "refused");
  CHECK(rep["rows"][2]["reason"] == "nik_birth_date_mismatch");
  CHECK(rep["rows"][4]["reason"] == "out_of_range");
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 2);

  // The human report names every row, in Indonesian by default.
  r = f.lumbung("a", {"import-csv", path}, "", "id");
  CHECK(r.exit == 3);
  CHECK(r.out.find("baris 4: DITOLAK Andi Saputra") != std::string::npos);
  CHECK(r.out.find("0 diimpor, 0 diperbarui, 3 tidak berubah, 2 ditolak") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 2);

  // A corrected list updates only what changed (La Ode Amir now also takes JHT).
  rep = f.json_of(f.lumbung(
      "a",
      {"--json", "import-csv",
       f.write_file(
           "koreksi.csv",
           "nik,programs\n7402012107850002,\"JKK,JKM,JHT\"\n7402015203780001,\"JKK,JKM\"\n")}));
  CHECK(rep["updated"] == 1);
  CHECK(rep["unchanged"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "show", "7402012107850002"}))["fields"]["programs"] ==
        json::array({"JKK", "JKM", "JHT"}));

  // An exported file imports back as unchanged (matched by id).
  const std::string out = f.dir.path() + "/export.csv";
  CHECK(f.lumbung("a", {"export-csv", out}).exit == 0);
  rep = f.json_of(f.lumbung("a", {"--json", "import-csv", out}));
  CHECK(rep["unchanged"] == 2);
  CHECK(rep["imported"] == 0);
  // An unknown column refuses the whole file (exit 2) before anything is written.
  CHECK(f.lumbung("a", {"import-csv", f.write_file("bad.csv", "nik,nama\n1,2\n")}).exit == 2);
}

TEST_CASE("sync: a dropped link and a killed sync lose nothing and double nothing") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  // 1,500 people of Desa Awuliti (serials 0001..1500, all valid).
  std::string csv = "nik,full_name,birth_date,gender,village_code,programs,monthly_income\n";
  for (int i = 1; i <= 1500; ++i) {
    char nik[32];  // 16 digits; room for any int, so the compiler sees no truncation
    std::snprintf(nik, sizeof nik, "740201120785%04d", i);
    csv += std::string(nik) + ",Warga " + std::to_string(i) +
           ",1985-07-12,L,7402012006,JKK;JKM,2000000\n";
  }
  // (JKK;JKM: enum sets split on ';' too inside a ','-separated file.)
  CliResult r = f.lumbung("a", {"--json", "import-csv", f.write_file("warga.csv", csv)});
  REQUIRE_MESSAGE(r.exit == 0, r.out.substr(0, 2000) << r.err);
  CHECK(f.json_of(r)["imported"] == 1500);

  // Start syncing in small batches and kill the process after its first progress line.
  {
    lumbung::test::Child c(LUMBUNG_CLI_BIN,
                           {"--home", f.home("a"), "--lang", "en", "sync", "--batch", "10"}, {});
    REQUIRE(c.wait_for_stderr("\n", 30000));
    kill(c.pid(), SIGKILL);
    CliResult killed = c.finish(10000);
    CHECK(killed.exit == 128 + SIGKILL);
  }
  json st = f.json_of(f.lumbung("a", {"--json", "status"}));
  // Some of it made it: batches the laptop saw acknowledged, or frames of its streamed push
  // (SyncOptions::push_stream) the server applied before the kill - the laptop learns of
  // those at its next sync, which must not apply them twice.
  const size_t held_after_kill = f.server.records(f.server.reviewer()).size();
  INFO("pending after the kill: " << st["pending_changes"] << ", on the server "
                                  << held_after_kill);
  CHECK((st["pending_changes"].get<int>() < 1500 || held_after_kill > 0));

  // The server goes away: the sync gives up with exit 5, nothing is lost.
  f.server.server().stop();
  r = f.lumbung("a", {"sync", "--retries", "2"});
  CHECK(r.exit == 5);
  CHECK(r.err.find("cannot be reached") != std::string::npos);
  const int pending_before = f.json_of(f.lumbung("a", {"--json", "status"}))["pending_changes"];

  // Back on another port (port 0 again): the new address is given once and remembered.
  f.server.start();
  r = f.lumbung("a", {"--server", f.server.server().base_url(), "--json", "sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  json rep = f.json_of(r);
  CHECK(rep["pushed"] == pending_before);
  st = f.json_of(f.lumbung("a", {"--json", "status"}));
  CHECK(st["pending_changes"] == 0);
  CHECK(st["records"] == 1500);

  // The server holds each record exactly once.
  const json records = f.server.records(f.server.reviewer());
  CHECK(records.size() == 1500);
  std::set<std::string> niks;
  for (const auto& rec : records) niks.insert(rec["fields"]["nik"].get<std::string>());
  CHECK(niks.size() == 1500);

  // A second laptop receives all of them.
  f.init_laptop("b", "74.02.01", "OFC-0002");
  CHECK(f.lumbung("b", {"sync"}).exit == 0);
  CHECK(f.json_of(f.lumbung("b", {"--json", "status"}))["records"] == 1500);
}

TEST_CASE("init offline registers at the first sync: a revoked laptop is refused with exit 6") {
  CliFixture f;
  const std::string code = f.server.code({"74.02.01"});
  // A port nobody listens on: init keeps the code and says so.
  CliResult r =
      f.lumbung("a", {"init", "--unencrypted", "--server", "http://127.0.0.1:9", "--code", code});
  CHECK(r.exit == 0);
  CHECK(r.err.find("registers itself at the first") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["registered"] == false);
  CHECK(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
            .exit == 0);
  r = f.lumbung("a", {"--server", f.server.server().base_url(), "sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  json st = f.json_of(f.lumbung("a", {"--json", "status"}));
  CHECK(st["registered"] == true);
  CHECK(st["pending_changes"] == 0);

  const std::string device = st["device_id"];
  CHECK(f.admin({"devices", "revoke", device}).exit == 0);
  r = f.lumbung("a", {"sync"});
  CHECK(r.exit == 6);
}

TEST_CASE("a laptop made with a passphrase needs it for every command (exit 6 without)") {
  CliFixture f;
  const std::string code = f.server.code({"74.02.01"});
  const std::vector<std::pair<std::string, std::string>> pass{
      {"LUMBUNG_PASSPHRASE", "kopi-tubruk-1978"}};
  auto run = [&](std::vector<std::string> args, const decltype(pass)& env) {
    std::vector<std::string> full{"--home", f.home("enc"), "--lang", "en"};
    full.insert(full.end(), args.begin(), args.end());
    return lumbung::test::run_cli(LUMBUNG_CLI_BIN, full, {}, env, 60000);
  };
  CliResult r = run({"init", "--server", f.server.server().base_url(), "--code", code}, pass);
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  auto flags = official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P");
  REQUIRE(run(flags, pass).exit == 0);
  CHECK(run({"status"}, {}).exit == 6);
  CHECK(run({"status"}, {{"LUMBUNG_PASSPHRASE", "salah"}}).exit == 6);
  CHECK(run({"sync"}, pass).exit == 0);
  CHECK(f.server.records(f.server.reviewer()).size() == 1);
}

TEST_CASE("init without a passphrase refuses - unless --unencrypted - which warns") {
  CliFixture f;
  const std::string url = f.server.server().base_url();
  auto run = [&](const std::string& home, std::vector<std::string> args,
                 const std::vector<std::pair<std::string, std::string>>& env = {},
                 const std::string& input = {}, const std::string& lang = "en") {
    std::vector<std::string> full{"--home", f.home(home), "--lang", lang};
    full.insert(full.end(), args.begin(), args.end());
    return lumbung::test::run_cli(LUMBUNG_CLI_BIN, full, input, env, 60000);
  };
  // No passphrase, no terminal to ask on: refused in Indonesian, nothing made.
  CliResult r = run("plain", {"init", "--server", url}, {}, {}, "id");
  CHECK(r.exit == 2);
  CHECK(r.err.find("perlu frasa sandi") != std::string::npos);
  CHECK(r.err.find("--unencrypted") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.home("plain")));
  // With the flag: made, with a warning that says what it means.
  r = run("plain", {"init", "--unencrypted", "--server", url});
  CHECK(r.exit == 0);
  CHECK(r.err.find("WARNING: this laptop is made WITHOUT encryption") != std::string::npos);
  CHECK(run("plain", {"--json", "status"}).exit == 0);
  // A passphrase and the flag together, or a short passphrase: refused, nothing made.
  const std::vector<std::pair<std::string, std::string>> pass{
      {"LUMBUNG_PASSPHRASE", "kopi-tubruk-1978"}};
  CHECK(run("both", {"init", "--unencrypted", "--server", url}, pass).exit == 2);
  CHECK(run("short", {"init", "--server", url}, {{"LUMBUNG_PASSPHRASE", "kopi"}}).exit == 2);
  CHECK_FALSE(std::filesystem::exists(f.home("both")));
  CHECK_FALSE(std::filesystem::exists(f.home("short")));
  // --passphrase-fd: one line read from a descriptor (here stdin), no variable, no file.
  r = run("fd", {"--passphrase-fd", "0", "init", "--server", url}, {}, "kopi-tubruk-1978\n");
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.err.find("WARNING") == std::string::npos);
  CHECK(run("fd", {"status"}).exit == 6);  // encrypted: needs it
  CHECK(run("fd", {"--passphrase-fd", "0", "status"}, {}, "kopi-tubruk-1978\n").exit == 0);
  CHECK(run("fd", {"status"}, pass).exit == 0);
  CHECK(run("fd", {"--passphrase-fd", "0", "status"}, {}, "salah-sekali-ini\n").exit == 6);
  CHECK(run("fd", {"--passphrase-fd", "x", "status"}).exit == 2);
}

TEST_CASE("a village outside the laptop's regions: refused at enrol and edit and import-csv") {
  CliFixture f;
  f.init_laptop("a", "74.02", "OFC-0001");  // Kabupaten Konawe: the regions come at registration
  auto makassar = official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P");
  makassar[10] = "73.71.01.1001";  // --village-code: Kota Makassar, not Konawe
  REQUIRE(makassar[9] == "--village-code");

  // enrol with flags: an Indonesian message naming the laptop's regions, exit 3, nothing saved.
  CliResult r = f.lumbung("a", makassar, "", "id");
  CHECK(r.exit == 3);
  CHECK_MESSAGE(
      r.err.find("Kode desa 73.71.01.1001 di luar wilayah laptop ini (74.02)") != std::string::npos,
      r.err);
  CHECK(r.err.find("tidak ada yang disimpan") != std::string::npos);
  CHECK(r.err.find("outside this device") == std::string::npos);  // not the engine's English
  json st = f.json_of(f.lumbung("a", {"--json", "status"}));
  CHECK(st["records"] == 0);
  CHECK(st["pending_changes"] == 0);
  CHECK(st["regions"] == json::array({"7402"}));

  // Guided: the village prompt says so and asks again, while the person is still there.
  r = f.lumbung("a", {"enrol"}, guided_answers("1978-03-21", "73.71.01.1001\n74.02.01.2006\n"),
                "id");
  REQUIRE_MESSAGE(r.exit == 0, r.out << r.err);
  CHECK(r.out.find("✗ Kode desa 73.71.01.1001 di luar wilayah laptop ini (74.02)") !=
        std::string::npos);
  CHECK(r.out.find("Tersimpan: Siti Rahmawati") != std::string::npos);

  // edit: moving the record out of the regions is refused the same way; nothing changes.
  r = f.lumbung("a", {"edit", "7402015203780001", "--set", "village_code=73.71.01.1001"}, "", "id");
  CHECK(r.exit == 3);
  CHECK(r.err.find("Perubahan ditolak, tidak ada yang disimpan") != std::string::npos);
  CHECK(r.err.find("di luar wilayah laptop ini (74.02)") != std::string::npos);
  json shown = f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}));
  CHECK(shown["fields"]["village_code"] == "7402012006");
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["pending_changes"] == 1);
  // In English too (--lang en), still the CLI's sentence, not the engine's.
  r = f.lumbung("a", {"edit", "7402015203780001", "--village-code", "7371011001"});
  CHECK(r.exit == 3);
  CHECK(r.err.find("Village code 73.71.01.1001 is outside this laptop's regions (74.02)") !=
        std::string::npos);

  // import-csv: out-of-region rows are reported like other refused rows; the rest go in.
  const std::string csv =
      "nik,full_name,birth_date,gender,village_code,programs,monthly_income\n"
      "7402012107850002,La Ode Amir,1985-07-21,L,74.02.01.2006,JKK,3200000\n"
      "7371014506920004,Wa Ode Nur,1992-06-05,P,73.71.01.1001,JKK,2800000\n"
      "7403010901900003,Andi Saputra,1990-01-09,L,74.03.01.2001,JKK,2800000\n"
      "7402015203780001,Siti Rahmawati,1978-03-12,P,73.71.01.1001,JKK,4500000\n";  // a move
  const std::string path = f.write_file("campur.csv", csv);
  r = f.lumbung("a", {"--json", "import-csv", path});
  CHECK(r.exit == 3);
  json rep = f.json_of(r);
  CHECK(rep["imported"] == 1);
  CHECK(rep["refused"] == 3);
  REQUIRE(rep["rows"].size() == 4);
  for (int i : {1, 2, 3}) {
    CAPTURE(i);
    CHECK(rep["rows"][i]["result"] == "refused");
    CHECK(rep["rows"][i]["reason"] == "out_of_scope");
    CHECK(rep["rows"][i]["field"] == "village_code");
  }
  CHECK(f.json_of(f.lumbung("a", {"--json", "list"}))["count"] == 2);
  shown = f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}));
  CHECK(shown["fields"]["village_code"] == "7402012006");
  r = f.lumbung("a", {"import-csv", path}, "", "id");
  CHECK(r.exit == 3);
  CHECK(r.out.find("baris 3: DITOLAK Wa Ode Nur: Kode desa 73.71.01.1001 di luar wilayah laptop "
                   "ini (74.02)") != std::string::npos);
  CHECK(r.out.find("baris 4: DITOLAK Andi Saputra: Kode desa 74.03.01.2001 di luar wilayah") !=
        std::string::npos);

  // What was accepted syncs; nothing is refused by the server.
  r = f.lumbung("a", {"--json", "sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(f.json_of(r)["refused"] == 0);
  CHECK(f.server.records(f.server.reviewer()).size() == 2);
}

TEST_CASE("names with control characters are refused - and printed escaped if a record has one") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  // A name as a broken spreadsheet or a hostile file could carry it: a terminal escape that
  // would recolour the screen or retitle the window.
  const std::string evil = "Siti \x1b]0;owned\x07Rahmawati\x1b[31m";
  CliResult r = f.lumbung("a", official_flags("7402015203780001", evil, "1978-03-12", "P"));
  CHECK(r.exit == 3);  // text is data: refused like any invalid value, nothing stored
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find("control character") != std::string::npos);
  r = f.lumbung("a", official_flags("7402015203780001", evil, "1978-03-12", "P"), {}, "id");
  CHECK(r.err.find("karakter kendali") != std::string::npos);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["records"] == 0);

  // A record that holds one anyway (written before the rule, or by another tool): put in
  // the (unencrypted) store directly, as JSON escapes inside the stored document.
  r = f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((f.home("a") + "/lumbung.db").c_str(), &db) == SQLITE_OK);
  const char* sql =
      "UPDATE records SET doc = replace(doc, '\"Siti Rahmawati\"', "
      "'\"Siti \\u001b]0;owned\\u0007Rahmawati\\u001b[31m\"')";
  CHECK(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_close(db);
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"list"}, {"show", "7402015203780001"}, {"search", "siti"}}) {
    r = f.lumbung("a", cmd);
    CAPTURE(cmd[0]);
    CHECK(r.exit == 0);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\x07') == std::string::npos);
    CHECK(r.out.find("\\x1b") != std::string::npos);
  }
  // JSON keeps the value exact (escaped the JSON way).
  json shown = f.json_of(f.lumbung("a", {"--json", "show", "7402015203780001"}));
  CHECK(shown["fields"]["full_name"] == evil);
}

namespace {
// A value of the laptop store's meta table (the tests' stores are unencrypted, so a secret
// such as "secret:device_token" is there in clear).
std::string store_meta(const std::string& home, const std::string& key) {
  sqlite3* db = nullptr;
  std::string value;
  if (sqlite3_open_v2((home + "/lumbung.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key=?1", -1, &st, nullptr) ==
        SQLITE_OK) {
      sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) == SQLITE_ROW)
        value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return value;
}
}  // namespace

TEST_CASE("token rotate: a new device token - the old one stops - unsent changes go out with it") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  // Enrolled while offline: one change waits.
  CliResult r =
      f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"));
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  const std::string old_token = store_meta(f.home("a"), "secret:device_token");
  REQUIRE(old_token.rfind("lbd_", 0) == 0);

  r = f.lumbung("a", {"token", "rotate"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("replaced") != std::string::npos);
  const std::string new_token = store_meta(f.home("a"), "secret:device_token");
  CHECK(new_token.rfind("lbd_", 0) == 0);
  CHECK(new_token != old_token);
  CHECK(store_meta(f.home("a"), "secret:device_token_next").empty());
  CHECK(f.server.http().get("/v1/pull?cursor=", old_token).status == 401);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["pending_changes"] == 1);

  // The waiting change goes out with the new token.
  json s = f.json_of(f.lumbung("a", {"--json", "sync"}));
  CHECK(s["pushed"] == 1);
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["pending_changes"] == 0);

  // A rotation whose new token was kept but never confirmed (the link was cut right after
  // the answer) finishes at the next sync.
  auto half = f.server.http().post("/v1/devices/token/rotate", json::object(), new_token);
  REQUIRE(half.status == 200);
  const std::string waiting = half.json()["token"];
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((f.home("a") + "/lumbung.db").c_str(), &db) == SQLITE_OK);
  const std::string sql =
      "INSERT OR REPLACE INTO meta(key, value) VALUES('secret:device_token_next', '" + waiting +
      "')";
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  r = f.lumbung("a", {"sync"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(r.err.find("new device token is in use") != std::string::npos);
  CHECK(store_meta(f.home("a"), "secret:device_token") == waiting);
  CHECK(f.server.http().get("/v1/pull?cursor=", new_token).status == 401);
  CHECK(f.json_of(f.lumbung("a", {"--json", "token", "rotate"}))["rotated"] == true);
}

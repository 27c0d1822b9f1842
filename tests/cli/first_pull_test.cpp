// `lumbung sync --first-pull snapshot|replay` (issue 13) as an officer runs it: the real
// binary against a real server. A new laptop's first pull takes its regions' current records
// (one change per record) by default, every change of the log with `replay`; a wrong value is
// a usage error in the officer's language.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using nlohmann::json;

namespace {

constexpr int kPeople = 3;
constexpr int kEditsEach = 2;

std::string nik_of(int i) {
  char nik[17];
  std::snprintf(nik, sizeof nik, "740201120785%04d", i);
  return nik;
}

// Laptop "a" enrols kPeople of Desa Awuliti and edits each kEditsEach times, then syncs:
// kPeople * (1 + kEditsEach) changes in the server's log.
void history(CliFixture& f) {
  f.init_laptop("a", "74.02.01", "OFC-0001");
  std::string csv = "nik,full_name,birth_date,gender,village_code,programs,monthly_income\n";
  for (int i = 1; i <= kPeople; ++i) {
    csv += nik_of(i) + ",Warga " + std::to_string(i) + ",1985-07-12,L,7402012006,JKK;JKM,2000000\n";
  }
  CliResult r = f.lumbung("a", {"--json", "import-csv", f.write_file("warga.csv", csv)});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  for (int i = 1; i <= kPeople; ++i) {
    for (int e = 1; e <= kEditsEach; ++e) {
      r = f.lumbung("a", {"edit", nik_of(i), "--phone", "08124100" + std::to_string(2200 + e)});
      REQUIRE_MESSAGE(r.exit == 0, r.err);
    }
  }
  r = f.lumbung("a", {"--json", "sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(f.json_of(r)["pushed"] == kPeople * (1 + kEditsEach));
}

// A new laptop's first `sync` with `extra` options; returns its JSON report.
json first_sync(CliFixture& f, const std::string& laptop, std::vector<std::string> extra) {
  f.init_laptop(laptop, "74.02.01", "OFC-0002");
  std::vector<std::string> args{"--json", "sync"};
  args.insert(args.end(), extra.begin(), extra.end());
  CliResult r = f.lumbung(laptop, args);
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  const json rep = f.json_of(r);
  const json st = f.json_of(f.lumbung(laptop, {"--json", "status"}));
  CHECK(st["records"] == kPeople);
  // Each record arrived with its last edit.
  const json shown = f.json_of(f.lumbung(laptop, {"--json", "show", nik_of(kPeople)}));
  CHECK(shown["fields"]["phone"] == "08124100" + std::to_string(2200 + kEditsEach));
  return rep;
}

}  // namespace

TEST_CASE("sync --first-pull: the server chooses by default - the whole log by replay") {
  CliFixture f;
  history(f);

  // The default (auto: the server chooses the snapshot for a log of edits, three rows a
  // record), `--first-pull auto` and `--first-pull snapshot`: one change per record.
  CHECK(first_sync(f, "b", {})["pulled"] == kPeople);
  CHECK(first_sync(f, "c", {"--first-pull", "snapshot"})["pulled"] == kPeople);
  CHECK(first_sync(f, "g", {"--first-pull", "auto"})["pulled"] == kPeople);
  // `--first-pull replay` (also as --first-pull=replay): every change of the log.
  CHECK(first_sync(f, "d", {"--first-pull", "replay"})["pulled"] == kPeople * (1 + kEditsEach));
  CHECK(first_sync(f, "e", {"--first-pull=replay"})["pulled"] == kPeople * (1 + kEditsEach));

  // After the first pull the option changes nothing: a later edit arrives once either way.
  REQUIRE(f.lumbung("a", {"edit", nik_of(1), "--phone", "081241009999"}).exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  CHECK(f.json_of(f.lumbung("b", {"--json", "sync", "--first-pull", "replay"}))["pulled"] == 1);
  CHECK(f.json_of(f.lumbung("d", {"--json", "sync"}))["pulled"] == 1);
}

TEST_CASE("sync --first-pull with a wrong value is a usage error in the officer's language") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  CliResult r = f.lumbung("a", {"sync", "--first-pull", "everything"});
  CHECK(r.exit == 2);
  CHECK_MESSAGE(r.err.find("--first-pull must be auto, snapshot or replay, not \"everything\"") !=
                    std::string::npos,
                r.err);
  CHECK(r.err.find("See `lumbung help`.") != std::string::npos);
  r = f.lumbung("a", {"sync", "--first-pull", "semua"}, {}, "id");
  CHECK(r.exit == 2);
  CHECK_MESSAGE(r.err.find("--first-pull harus auto, snapshot atau replay, bukan \"semua\"") !=
                    std::string::npos,
                r.err);
  CHECK(f.lumbung("a", {"sync", "--first-pull"}).exit == 2);  // no value
  // Nothing was sent or received by the refused commands.
  CHECK(f.json_of(f.lumbung("a", {"--json", "status"}))["last_sync_ms"].is_null());

  // The help names the option in both languages.
  r = f.lumbung("a", {"help"});
  CHECK(r.exit == 0);
  CHECK(r.out.find("--first-pull auto|snapshot|replay") != std::string::npos);
  CHECK(r.out.find("the whole history of changes") != std::string::npos);
  r = f.lumbung("a", {"help"}, {}, "id");
  CHECK(r.out.find("seluruh riwayat perubahan") != std::string::npos);
}

// The office's review from lumbung-admin (issue 15 item 8): rows name the person (name,
// masked NIK, desa by its name) and the officers whose laptops wrote each value; a decision
// first shows what will change and asks (--yes for scripts; "n" or no answer changes
// nothing); a second resolve of a decided entry is refused with the one that stands and
// `conflicts correct` replaces it with a new decision (same preview; an officer's later
// write opens a new entry); decided rows show the decision, who and when, and "corrected".
// The real binaries against the real server.
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

const std::vector<std::pair<std::string, std::string>> kWita{{"TZ", "Asia/Makassar"}};

}  // namespace

TEST_CASE("review rows name the person and the officers - a decision shows its change and asks") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02.01", "OFC-0001");
  f.init_laptop("lambuya", "74.02.01", "OFC-0002");
  REQUIRE(
      f.lumbung("awuliti", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
          .exit == 0);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("lambuya", {"sync"}).exit == 0);
  // Two officers, two phone numbers; both enrol La Ode Amir.
  REQUIRE(f.lumbung("awuliti", {"edit", "7402015203780001", "--phone", "081241002299"}).exit == 0);
  REQUIRE(f.lumbung("lambuya", {"edit", "7402015203780001", "--phone", "085241002288"}).exit == 0);
  REQUIRE(f.lumbung("awuliti", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L"))
              .exit == 0);
  REQUIRE(f.lumbung("lambuya", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L"))
              .exit == 0);
  for (const char* l : {"awuliti", "lambuya", "awuliti"}) REQUIRE(f.lumbung(l, {"sync"}).exit == 0);

  json conflicts = f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"];
  std::string cid;
  for (const auto& c : conflicts) {
    if (c["field"] == "phone") cid = c["id"];
  }
  REQUIRE_MESSAGE(!cid.empty(), conflicts.dump());

  // The row: the person (NIK masked, desa named) and each value with its officer's laptop.
  CliResult r = f.admin({"conflicts", "list"});
  REQUIRE(r.exit == 0);
  CHECK(has(r.out, "Siti Rahmawati · 740201******0001 · Awuliti (74.02.01.2006)"));
  CHECK_FALSE(has(r.out, "7402015203780001"));
  CHECK(has(r.out, "· awuliti ("));
  CHECK(has(r.out, "· lambuya ("));
  CHECK(has(r.out, "decision"));
  CHECK(has(r.out, "open"));

  // Resolving shows the change (the value now -> the value after) and asks; "n" changes
  // nothing, and so does no answer at all.
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--value", "0812-4100-2277"}, "n\n");
  CHECK(r.exit == 130);
  CHECK(has(r.out, "What will change:"));
  CHECK(has(r.out, "Phone: "));
  CHECK(has(r.out, " -> 081241002277"));
  CHECK(has(r.out, "Go ahead? [y/N]"));
  CHECK(has(r.err, "Nothing was changed"));
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--value", "0812-4100-2277"});
  CHECK(r.exit == 130);
  CHECK(f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"].size() ==
        conflicts.size());
  // "y" decides.
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--value", "0812-4100-2277"}, "y\n");
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "resolved"));

  // A second resolve is refused with the one that stands and the way to correct it,
  // nothing changed (exit 3).
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--keep", "loser", "--yes"});
  CHECK(r.exit == 3);
  CHECK(has(r.err, "already decided: → 081241002277 · "));
  CHECK(has(r.err, "lumbung-admin conflicts correct " + cid.substr(0, 8)));

  // Correcting: the decision that stands, what will change, and the question; "n" changes
  // nothing. Meanwhile the officer of awuliti, having received the decision, types a newer
  // number: the correction does not overwrite it silently but opens a new entry.
  const json entry = f.json_of(f.admin({"--json", "conflicts", "list", "--status", "all"}));
  std::string loser;
  for (const auto& c : entry["conflicts"]) {
    if (c["id"] == cid) loser = c["loser"]["value"];
  }
  REQUIRE(!loser.empty());
  r = f.admin({"conflicts", "correct", cid.substr(0, 8), "--keep", "loser", "--note", "salah"},
              "n\n");
  CHECK(r.exit == 130);
  CHECK(has(r.out, "The decision that stands now (to be replaced): → 081241002277 · "));
  CHECK(has(r.out, " -> " + loser));
  CHECK(has(r.out, "Go ahead? [y/N]"));
  CHECK(has(r.err, "Nothing was changed"));
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("awuliti", {"edit", "7402015203780001", "--phone", "081299990000"}).exit == 0);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  const size_t open_before =
      f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"].size();
  r = f.admin({"conflicts", "correct", cid.substr(0, 8), "--keep", "loser", "--note", "salah"},
              "y\n");
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "corrected (decision 2): → "));
  CHECK(has(r.out, "was not overwritten silently but opened as a new conflict"));
  CHECK(f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"].size() == open_before + 1);
  // The entry keeps both decisions; the row says it was corrected.
  // (Held: the loop must not run over a member of a temporary.)
  const json listed = f.json_of(f.admin({"--json", "conflicts", "list", "--status", "all"}));
  for (const auto& c : listed["conflicts"]) {
    if (c["id"] != cid) continue;
    CHECK(c["resolution"]["decision"] == 2);
    CHECK(c["resolution"]["note"] == "salah");
    CHECK(c["resolution"]["history"].size() == 1);
    CHECK(c["resolution"]["history"][0]["value"] == "081241002277");
  }
  // Decided rows show the decision, who and when (local time with its zone).
  r = f.admin({"conflicts", "list", "--status", "resolved"}, {}, kWita);
  REQUIRE(r.exit == 0);
  CHECK(has(r.out, "→ " + loser + " (corrected) · "));
  CHECK_MESSAGE(has(r.out, " WITA"), r.out);
  r = f.admin({"--lang", "id", "conflicts", "list", "--status", "resolved"}, {}, kWita);
  CHECK(has(r.out, "keputusan"));

  // Duplicates: who each record is about and which officer enrolled it.
  r = f.admin({"duplicates", "list"});
  REQUIRE(r.exit == 0);
  CHECK(has(r.out, "A: La Ode Amir · 740201******0002 · Awuliti (74.02.01.2006)"));
  CHECK(has(r.out, "enrolled by awuliti ("));
  CHECK(has(r.out, "enrolled by lambuya ("));
  CHECK(has(r.out, "Male"));  // the gender by its name, not "L"
  json dups = f.json_of(f.admin({"--json", "duplicates", "list"}))["duplicates"];
  REQUIRE(dups.size() == 1);
  const std::string did = dups[0]["id"].get<std::string>().substr(0, 8);
  const std::string b = dups[0]["record_ids"][1];
  r = f.admin({"duplicates", "merge", did, "--survivor", "A"}, "tidak\n");
  CHECK(r.exit == 130);
  CHECK(has(r.out, "record " + b.substr(b.size() - 8) + ": live -> deleted, merged into"));
  r = f.admin({"duplicates", "merge", did, "--survivor", "A"}, "ya\n");
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.admin({"duplicates", "merge", did, "--survivor", "B", "--yes"});
  CHECK(r.exit == 3);
  CHECK(has(r.err, "already merged"));
  CHECK(has(r.err, "duplicates correct " + did));
  // The merge kept the wrong record: `duplicates correct` brings the other one back, after
  // showing the decision that stands and asking. Naming the survivor again changes nothing.
  r = f.admin({"duplicates", "correct", did, "--survivor", "A", "--yes"});
  CHECK(r.exit == 3);
  CHECK(has(r.err, "already survives"));
  r = f.admin({"duplicates", "correct", did, "--survivor", "B", "--note", "keliru"}, "y\n");
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "The decision that stands now (to be replaced): → record "));
  CHECK(has(r.out, "record " + b.substr(b.size() - 8) + ": deleted -> live again"));
  CHECK(has(r.out, "corrected (decision 2): " + b + " kept"));
  const json merged = f.json_of(f.admin({"--json", "duplicates", "list", "--status", "merged"}));
  REQUIRE(merged["duplicates"].size() == 1);
  CHECK(merged["duplicates"][0]["resolution"]["survivor"] == b);
  CHECK(merged["duplicates"][0]["resolution"]["history"].size() == 1);
  r = f.admin({"duplicates", "list", "--status", "merged"}, {}, kWita);
  CHECK(has(r.out, "kept (corrected) · "));
  CHECK(has(r.out, " WITA"));
}

TEST_CASE("a status conflict cannot be decided backwards - said before asking") {
  CliFixture f;
  f.init_laptop("awuliti", "74.02.01", "OFC-0001");
  f.init_laptop("lambuya", "74.02.01", "OFC-0002");
  REQUIRE(
      f.lumbung("awuliti", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
          .exit == 0);
  REQUIRE(f.lumbung("awuliti", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("lambuya", {"sync"}).exit == 0);
  // Offline, one officer verifies her, the other marks her enrolled: the higher state stands.
  REQUIRE(f.lumbung("awuliti", {"edit", "7402015203780001", "--set", "status=verified"}).exit == 0);
  REQUIRE(f.lumbung("lambuya", {"edit", "7402015203780001", "--set", "status=enrolled"}).exit == 0);
  for (const char* l : {"awuliti", "lambuya"}) REQUIRE(f.lumbung(l, {"sync"}).exit == 0);
  json conflicts = f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"];
  std::string cid;
  for (const auto& c : conflicts) {
    if (c["field"] == "status") cid = c["id"];
  }
  REQUIRE_MESSAGE(!cid.empty(), conflicts.dump());
  // The list shows both states by their names.
  CliResult r = f.admin({"--lang", "id", "conflicts", "list"});
  CHECK(has(r.out, "Terdaftar"));
  CHECK(has(r.out, "Terverifikasi"));
  // Nothing to correct before a decision: said, nothing changed.
  r = f.admin({"conflicts", "correct", cid.substr(0, 8), "--keep", "winner", "--yes"});
  CHECK(r.exit == 3);
  CHECK(has(r.err, "is not decided yet"));
  // Keeping the lower state would move the record back: refused before asking, in the
  // reviewer's language, nothing changed.
  r = f.admin({"--lang", "id", "conflicts", "resolve", cid.substr(0, 8), "--keep", "loser"}, "y\n");
  CHECK(r.exit == 3);
  CHECK(has(r.err, "tidak bisa mundur dari \"enrolled\" ke \"verified\""));
  CHECK_FALSE(has(r.out, "Lanjutkan?"));
  CHECK(f.json_of(f.admin({"--json", "conflicts", "list"}))["conflicts"].size() ==
        conflicts.size());
  // Keeping the state that stands closes it.
  r = f.admin({"conflicts", "resolve", cid.substr(0, 8), "--keep", "winner", "--yes"});
  CHECK_MESSAGE(r.exit == 0, r.err);
  CHECK(has(r.out, "Status: Enrolled -> Enrolled  (as it is now)"));
}

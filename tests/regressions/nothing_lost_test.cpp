// Issue 11, "nothing lost, nothing wedged": each case the outside reviewers reported, as
// they reported it, through the real lumbung-server and real laptops (Store + SyncClient
// over HTTP). Each failed on the code before the fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/laptop.h"

using namespace lumbung;
using test::Laptop;
using test::ServerFixture;
using json = nlohmann::json;

namespace {

Json konawe(int serial) { return test::konawe_enrolment(serial); }

// The open and resolved conflict entries on the server.
json conflicts(ServerFixture& f, const std::string& reviewer) {
  auto r = f.http().get("/v1/conflicts?status=all", reviewer);
  REQUIRE(r.status == 200);
  return r.json()["conflicts"];
}

// True if some entry of `kind` on `record` keeps `value` for `field` on either side.
bool kept(const json& entries, const std::string& kind, const std::string& record,
          const std::string& field, const json& value) {
  for (const auto& c : entries) {
    if (c["kind"] != kind || c["record_id"] != record || c["field"] != field) continue;
    if (c["winner"]["value"] == value || c["loser"]["value"] == value) return true;
  }
  return false;
}

json server_record(ServerFixture& f, const std::string& reviewer, const std::string& id) {
  for (auto& r : f.records(reviewer)) {
    if (r["id"] == id) return r;
  }
  return json();
}

}  // namespace

TEST_CASE("issue 11.1: a delete does not bury an edit its writer never saw") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(1));
  a.sync();
  b.sync();
  // Offline: A changes the income; B, later, its phone - then B deletes the record.
  a.store->update("enrolment", id, {{"monthly_income", 3100000}});
  b.store->update("enrolment", id, {{"phone", "081299990001"}});
  b.sync();
  b.store->remove("enrolment", id);
  a.sync();  // A's income edit reaches the server before B's delete
  b.sync();
  // B's own newer phone version must not hide that it never saw A's income.
  CHECK(kept(conflicts(f, reviewer), "update_delete", id, "monthly_income", 3100000));
}

TEST_CASE("issue 11.2: a reviewer's resolution does not silently overwrite a newer write") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(2));
  a.sync();
  b.sync();
  a.store->update("enrolment", id, {{"phone", "081200000001"}});
  b.store->update("enrolment", id, {{"phone", "081200000002"}});
  a.sync();
  b.sync();
  json open = conflicts(f, reviewer);
  REQUIRE(open.size() == 1);
  // The officer writes a third value after the entry was shown to the reviewer...
  a.sync();
  a.store->update("enrolment", id, {{"phone", "081200000003"}});
  a.sync();
  // ... and the reviewer keeps one of the two older values.
  auto r = f.http().post("/v1/conflicts/" + open[0]["id"].get<std::string>() + "/resolve",
                         json{{"keep", "loser"}}, reviewer);
  REQUIRE(r.status == 200);
  CHECK(kept(conflicts(f, reviewer), "concurrent_update", id, "phone", "081200000003"));
}

TEST_CASE("issue 11.3: a late rejection of an enrolled record is kept for review") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(3));
  a.sync();
  b.sync();
  a.store->update("enrolment", id, {{"status", "enrolled"}});
  a.sync();
  b.store->update("enrolment", id, {{"status", "rejected"}});  // B had not seen "enrolled"
  b.sync();
  a.sync();
  CHECK(server_record(f, reviewer, id)["fields"]["status"] == "enrolled");  // rank settles it
  CHECK(kept(conflicts(f, reviewer), "concurrent_update", id, "status", "rejected"));
  // The reviewer cannot "keep" the rejection (the merge would silently keep "enrolled"):
  // told so plainly, the entry stays open; keeping the current state closes it.
  json entry;
  for (const auto& c : conflicts(f, reviewer)) {
    if (c["field"] == "status") entry = c;
  }
  REQUIRE(entry.is_object());
  const std::string loser = entry["winner"]["value"] == "rejected" ? "winner" : "loser";
  auto refused = f.http().post("/v1/conflicts/" + entry["id"].get<std::string>() + "/resolve",
                               json{{"keep", loser}}, reviewer);
  CHECK(refused.status == 422);
  CHECK(refused.json()["code"] == "status_regression");
  auto closed = f.http().post("/v1/conflicts/" + entry["id"].get<std::string>() + "/resolve",
                              json{{"keep", loser == "winner" ? "loser" : "winner"}}, reviewer);
  CHECK(closed.status == 200);
  a.sync();
  CHECK(a.store->get("enrolment", id)->fields["status"] == "enrolled");
  CHECK(b.store->get("enrolment", id)->fields["status"] == "enrolled");
}

TEST_CASE("issue 11.4: one refused change never blocks a laptop's other changes") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop k(f, "laptop-k", {"74.02.01"}), office(f, "laptop-office", {"74"});
  // The laptop knows its regions: a 73.x village is refused at entry.
  Json stray = konawe(4);
  stray["village_code"] = "7371011001";
  CHECK_THROWS_AS(k.store->create("enrolment", stray), Error);
  // A laptop that did not know them (installed before this release) accepted it; the
  // records and edits behind it must still reach the server.
  k.store->set_regions({});
  const std::string bad = k.store->create("enrolment", stray);
  std::vector<std::string> good;
  for (int i = 0; i < 5; ++i) good.push_back(k.store->create("enrolment", konawe(10 + i)));
  k.store->update("enrolment", bad, {{"phone", "081200000004"}});  // editing it changes nothing
  good.push_back(k.store->create("enrolment", konawe(20)));
  SyncReport rep;
  CHECK_NOTHROW(rep = k.sync());
  CHECK(rep.refused == 2);
  CHECK(k.store->stats().pending_changes == 0);
  for (const auto& id : good) CHECK_FALSE(server_record(f, reviewer, id).is_null());
  CHECK(server_record(f, reviewer, bad).is_null());
  // The officer sees both refusals with their reason; the office sees them with their data.
  const auto mine = k.store->refused_changes();
  REQUIRE(mine.size() == 2);
  CHECK(mine[1].code == "out_of_scope");
  CHECK(mine[0].record_id == bad);
  auto q = f.http().get("/v1/refused?device=laptop-k", reviewer);
  REQUIRE(q.json()["refused"].size() == 2);
  const json first = q.json()["refused"][0];
  CHECK(first["op"]["set"]["village_code"] == "7371011001");
  CHECK(first["code"] == "out_of_scope");

  // Another device moves a record out of this laptop's regions while it edits it offline:
  // the edit is refused and kept, the laptop is not wedged.
  office.sync();
  k.store->update("enrolment", good[0], {{"phone", "081200000005"}});
  office.store->update("enrolment", good[0], {{"village_code", "7402022001"}});
  office.sync();
  const std::string after = k.store->create("enrolment", konawe(21));
  CHECK_NOTHROW(rep = k.sync());
  CHECK(rep.refused == 1);
  CHECK_FALSE(server_record(f, reviewer, after).is_null());

  // The office fixes the stray enrolment's village and applies it: it becomes a record.
  auto fixed = f.http().post("/v1/refused/" + first["id"].get<std::string>() + "/apply",
                             json{{"set", {{"village_code", "7402012006"}}}}, reviewer);
  REQUIRE(fixed.status == 200);
  CHECK(fixed.json()["status"] == "applied");
  CHECK(server_record(f, reviewer, bad)["fields"]["village_code"] == "7402012006");
  k.sync();
  CHECK(k.store->get("enrolment", bad)->fields["village_code"] == "7402012006");
}

TEST_CASE("issue 11.5: a record moved to another region arrives there whole and leaves the old") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop konawe_laptop(f, "laptop-konawe", {"74.02"});
  Laptop both(f, "laptop-both", {"73", "74"});
  const std::string id = konawe_laptop.store->create("enrolment", konawe(5));
  konawe_laptop.sync();
  both.sync();
  both.store->update("enrolment", id, {{"village_code", "7371011001"}});
  both.sync();

  Laptop makassar(f, "laptop-makassar", {"73"});  // a fresh 73 laptop
  makassar.sync();
  auto got = makassar.store->get("enrolment", id);
  REQUIRE(got);
  CHECK(got->fields == server_record(f, reviewer, id)["fields"]);  // the whole record
  CHECK(got->fields.contains("nik"));
  CHECK(got->fields.contains("full_name"));

  konawe_laptop.sync();
  CHECK_FALSE(konawe_laptop.store->get("enrolment", id));  // moved out: not shown
  CHECK_THROWS_AS(konawe_laptop.store->update("enrolment", id, {{"phone", "081200000006"}}), Error);
  // Not wedged: its next changes go through.
  const std::string next = konawe_laptop.store->create("enrolment", konawe(6));
  CHECK_NOTHROW(konawe_laptop.sync());
  CHECK_FALSE(server_record(f, reviewer, next).is_null());
  both.sync();
  CHECK(both.store->get("enrolment", id));  // a device covering both keeps it
}

TEST_CASE("issue 11.6: after a restore from an older copy every replica converges") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  for (int i = 0; i < 3; ++i) a.store->create("enrolment", konawe(30 + i));
  a.sync();
  b.sync();
  // The operator's backup: a copy of the database with the server stopped.
  namespace fs = std::filesystem;
  const fs::path db = fs::path(f.data_dir()) / "lumbung-server.db";
  const fs::path backup = fs::path(f.data_dir()) / ".." / "backup.db";
  const uint16_t port = f.server().port();
  f.stop();
  const bool wal_left = fs::exists(db.string() + "-wal") && fs::file_size(db.string() + "-wal") > 0;
  REQUIRE_FALSE(wal_left);  // a clean stop checkpoints: the .db file alone is the backup
  fs::copy_file(db, backup);
  f.start(port);
  // Work after the backup, acknowledged to both laptops.
  for (int i = 0; i < 2; ++i) a.store->create("enrolment", konawe(40 + i));
  b.store->create("enrolment", konawe(50));
  a.sync();
  b.sync();
  a.sync();
  REQUIRE(a.contents().size() == 6);
  REQUIRE(b.contents().size() == 6);
  // Disaster: the server comes back from the older copy.
  f.stop();
  for (const char* ext : {"-wal", "-shm"}) fs::remove(db.string() + ext);
  fs::copy_file(backup, db, fs::copy_options::overwrite_existing);
  f.start(port);
  REQUIRE(f.records(reviewer).size() == 3);
  // Neither laptop has anything pending; each learns from its next sync what the server lost.
  CHECK(a.store->stats().pending_changes == 0);
  a.sync();
  b.sync();
  a.sync();
  CHECK(f.records(reviewer).size() == 6);
  CHECK(a.contents() == b.contents());
  Laptop c(f, "laptop-c", {"74.02"});
  c.sync();
  CHECK(c.contents() == a.contents());
}

TEST_CASE("issue 11.7: the server refuses creates the laptops would refuse") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  test::Device d = f.device("dev-raw", {"74.02"});
  test::Device other = f.device("dev-other", {"74.02"});
  Json contradicting = konawe(7);
  contradicting["birth_date"] = "1970-01-01";  // the NIK says otherwise
  auto r = f.push(d, json::array({test::make_op(1, "0193a6c2-7d1e-7000-8000-00000000a001",
                                                test::hlc_now(), {{"village_code", "7402012006"}}),
                                  test::make_op(2, "0193a6c2-7d1e-7000-8000-00000000a002",
                                                test::hlc_now(1), contradicting)}));
  REQUIRE(r.status == 200);
  CHECK(r.json()["applied"] == 0);
  CHECK(r.json()["refused"].size() == 2);
  CHECK(f.records(reviewer).empty());
  CHECK(f.pull_all(other).empty());  // nothing spread to other laptops
}

TEST_CASE("issue 11.8: values the server normalised reach their writer") {
  ServerFixture f;
  test::Device d = f.device("dev-raw", {"74.02"});
  Laptop b(f, "laptop-b", {"74.02"});
  Json raw = konawe(8);
  raw["phone"] = "+62 812-3456-7890";
  raw["gender"] = "l";
  auto r = f.push(d, json::array({test::make_op(1, "0193a6c2-7d1e-7000-8000-00000000b001",
                                                test::hlc_now(), raw)}));
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["stored"].size() == 1);
  const json stored = r.json()["stored"][0];
  CHECK(stored["seq"] == 1);
  CHECK(stored["set"]["phone"] == "081234567890");
  CHECK(stored["set"]["gender"] == "L");
  CHECK_FALSE(stored["set"].contains("nik"));  // only what changed
  b.sync();
  CHECK(b.store->get("enrolment", "0193a6c2-7d1e-7000-8000-00000000b001")->fields["phone"] ==
        "081234567890");
}

// Found by the simulation with region moves: a push whose answer was lost is sent again;
// the server skipped the already-acknowledged ops without saying one had been refused, so
// the laptop never learnt it (and never showed it to the officer).
TEST_CASE("a refusal reaches the laptop even when the first answer was lost") {
  ServerFixture f;
  test::Device d = f.device("dev-raw", {"74.02"});
  Json elsewhere = konawe(9);
  elsewhere["village_code"] = "7301012001";  // outside 74.02
  const json ops = json::array(
      {test::make_op(1, "0193a6c2-7d1e-7000-8000-00000000c001", test::hlc_now(), elsewhere),
       test::make_op(2, "0193a6c2-7d1e-7000-8000-00000000c002", test::hlc_now(1), konawe(10))});
  auto first = f.push(d, ops);
  REQUIRE(first.status == 200);
  REQUIRE(first.json()["refused"].size() == 1);
  auto again = f.push(d, ops);  // the same batch: its answer was lost on the way
  REQUIRE(again.status == 200);
  CHECK(again.json()["acked_seq"] == 2);
  REQUIRE(again.json()["refused"].size() == 1);
  CHECK(again.json()["refused"][0]["seq"] == 1);
  CHECK(again.json()["refused"][0]["code"] == "out_of_scope");
}

// Found by the simulation (seed 425): a laptop whose clock runs years ahead creates a record;
// the server re-stamps the create, but the answer is lost. Offline, the laptop deletes the
// record; its delete's base names the far-future version of its create, which compared
// newer than another officer's edit - read as "seen", and the edit was buried.
TEST_CASE("a delete based on a re-stamped version does not bury an unseen edit") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  test::Device ahead = f.device("dev-ahead", {"74.02"});
  test::Device other = f.device("dev-other", {"74.02"});
  const std::string id = "0193a6c2-7d1e-7000-8000-00000000d001";
  const uint64_t far = hlc::make(test::wall_ms() + 3LL * 365 * 24 * 3600 * 1000, 0);
  const json create = test::make_op(1, id, far, konawe(11));
  auto first = f.push(ahead, json::array({create}));
  REQUIRE(first.status == 200);
  REQUIRE(first.json()["restamped"].size() == 1);  // ... and this answer is lost
  const json restamped = json::array({first.json()["restamped"][0]["hlc"], "dev-ahead"});
  // Another officer pulls the record and edits its income.
  auto edit = f.push(
      other, json::array({test::make_op(1, id, test::hlc_now(9), {{"monthly_income", 4200000}},
                                        {{"monthly_income", restamped}})}));
  REQUIRE(edit.status == 200);
  REQUIRE(edit.json()["applied"] == 1);
  // The laptop sends its create again with its delete, whose base is the far-future version.
  json seen = json::object();
  const json fields = konawe(11);
  for (const auto& [field, _] : fields.items()) seen[field] = json::array({far, "dev-ahead"});
  const json del{{"seq", 2},       {"col", "enrolment"}, {"id", id},
                 {"hlc", far + 1}, {"del", true},        {"base", seen}};
  auto again = f.push(ahead, json::array({create, del}));
  REQUIRE(again.status == 200);
  CHECK(kept(conflicts(f, reviewer), "update_delete", id, "monthly_income", 4200000));
}

// Found by the simulation with region moves (seeds 1082, 1250): a record leaves a laptop's
// regions and comes back before the laptop's offline edit of it arrives. The laptop sends
// the edit (accepted: the record is back), then pulls "moved away" (it removes its copy)
// and the whole record as it was when it came back - older than its own edit, which the
// server never sends back to its writer. The laptop's own edit must not vanish from it.
TEST_CASE("a laptop keeps its own edit of a record that left its regions and came back") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop konawe_laptop(f, "laptop-konawe", {"74.02"});
  Laptop both(f, "laptop-both", {"73", "74"});
  const std::string id = konawe_laptop.store->create("enrolment", konawe(12));
  konawe_laptop.sync();
  both.sync();
  both.store->update("enrolment", id, {{"village_code", "7371011001"}});
  both.sync();
  both.store->update("enrolment", id, {{"village_code", "7402012006"}});
  both.sync();
  // Offline all along, the Konawe officer updates the phone, then syncs.
  konawe_laptop.store->update("enrolment", id, {{"phone", "081200000012"}});
  konawe_laptop.sync();
  const Json on_server = server_record(f, reviewer, id);
  REQUIRE(on_server["fields"]["phone"] == "081200000012");
  auto mine = konawe_laptop.store->get("enrolment", id);
  REQUIRE(mine);
  CHECK(mine->fields["phone"] == "081200000012");
  CHECK(mine->fields == on_server["fields"]);
}

// Found by the restore soak (tests/sim --restores seed 54625): a record that comes back
// whole is joined with this laptop's own later writes, and that join took the newer
// version even for a forward_only field the server had kept by rank - the laptop showed
// its own lower status for ever while every other replica showed the ranked one.
TEST_CASE(
    "a laptop's own lower-ranked status does not come back over the ranked one when its record "
    "returns") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop konawe_laptop(f, "laptop-konawe", {"74.02"});
  Laptop both(f, "laptop-both", {"73", "74"});
  const std::string id = konawe_laptop.store->create("enrolment", konawe(14));  // submitted
  konawe_laptop.sync();
  both.sync();
  both.store->update("enrolment", id, {{"status", "enrolled"}});
  both.sync();
  // Offline, the Konawe officer verifies it: a newer version, a lower rank than enrolled.
  konawe_laptop.store->update("enrolment", id, {{"status", "verified"}});
  both.store->update("enrolment", id, {{"village_code", "7371011001"}});
  both.sync();
  both.store->update("enrolment", id, {{"village_code", "7402012006"}});
  both.sync();
  konawe_laptop.sync();  // pushes "verified", then pulls the record back whole
  const Json on_server = server_record(f, reviewer, id);
  REQUIRE(on_server["fields"]["status"] == "enrolled");
  CHECK(kept(conflicts(f, reviewer), "concurrent_update", id, "status", "verified"));
  auto mine = konawe_laptop.store->get("enrolment", id);
  REQUIRE(mine);
  CHECK(mine->fields["status"] == "enrolled");
  CHECK(mine->fields == on_server["fields"]);
}

// Found by the restore soak (tests/sim --restores seed 4094): a laptop whose clock runs
// behind pulls a version written by a laptop whose clock runs ahead. observe() clamps what
// it absorbs to its own clock + kMaxClockSkewMs, so the slow laptop's next edit of that
// field was stamped *below* the version it replaced and lost on every replica, with no
// entry. Fix: the laptop learns the server's time before it observes a pulled page
// (sync_client.cpp), so no version the server holds is clamped.
TEST_CASE("an edit on a laptop whose clock runs behind wins over the version it replaced") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  const int64_t real = system_wall_clock().now_ms();
  test::FakeWallClock fast_wall(real), slow_wall(real);
  Laptop fast(f, "laptop-fast", {"74.02"}, &fast_wall),
      slow(f, "laptop-slow", {"74.02"}, &slow_wall);
  // After registration the fast laptop's clock runs 50 minutes ahead (inside the skew the
  // server accepts unchanged), the slow one's 20 minutes behind (a CMOS battery going flat).
  fast_wall.set(real + 50 * 60 * 1000);
  slow_wall.set(real - 20 * 60 * 1000);
  const std::string id = fast.store->create("enrolment", konawe(12));
  fast.sync();
  slow.sync();  // absorbs a version 70 minutes ahead of its own clock
  REQUIRE(slow.store->get("enrolment", id));
  const Version pulled = slow.store->get("enrolment", id)->versions.at("phone");
  slow.store->update("enrolment", id, {{"phone", "081277770012"}});
  CHECK(slow.store->get("enrolment", id)->versions.at("phone") > pulled);
  slow.sync();
  fast.sync();
  CHECK(server_record(f, reviewer, id)["fields"]["phone"] == "081277770012");
  CHECK(fast.store->get("enrolment", id)->fields["phone"] == "081277770012");
  CHECK(slow.store->get("enrolment", id)->fields["phone"] == "081277770012");
}

namespace {

// Resolves the open entry of `kind` on (record, field) by keeping its delete side.
void keep_the_delete(ServerFixture& f, const std::string& reviewer, const std::string& id,
                     const std::string& field) {
  for (const auto& c : conflicts(f, reviewer)) {
    if (c["kind"] != "update_delete" || c["record_id"] != id || c["field"] != field ||
        c["status"] != "open") {
      continue;
    }
    const std::string keep = c["winner"]["value"].is_null() ? "winner" : "loser";
    auto r = f.http().post("/v1/conflicts/" + c["id"].get<std::string>() + "/resolve",
                           json{{"keep", keep}}, reviewer);
    REQUIRE(r.status == 200);
    return;
  }
  FAIL("no open update_delete entry on " << field);
}

}  // namespace

// Found by the restore soak (tests/sim --restores seed 3676): a resolution's base took the
// field's current version as seen whenever it was older than the entry. A laptop offline
// since the start delivers an edit with an old clock after the entry was made; the reviewer
// then keeps the entry's delete and buried that edit, which it was never shown, with no
// entry. Fix: the base is the version the entry showed (review_service.cpp shown_version).
TEST_CASE("a delete resolution does not bury an edit that arrived after its entry") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"}), c(f, "laptop-c", {"74.02"}),
      d(f, "laptop-d", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(13));
  a.sync();
  b.sync();
  c.sync();
  d.sync();
  c.store->update("enrolment", id, {{"monthly_income", 6000000}});  // C stays offline
  a.store->update("enrolment", id, {{"phone", "081200000131"}});
  a.sync();
  b.store->remove("enrolment", id);  // B had not seen A's phone: an entry on phone
  b.sync();
  d.store->update("enrolment", id, {{"position", "kaur 3"}});  // newer than the delete: live
  d.sync();
  // Keeping the delete of the phone entry buries every field it was not shown, the create's
  // income among them: an entry on monthly_income. D's next edit (D has not pulled that
  // delete) brings the record back.
  keep_the_delete(f, reviewer, id, "phone");
  d.store->update("enrolment", id, {{"position", "kaur 4"}});
  d.sync();
  c.sync();  // C's edit, older than every entry, lands on the live record
  REQUIRE(server_record(f, reviewer, id)["fields"]["monthly_income"] == 6000000);
  keep_the_delete(f, reviewer, id, "monthly_income");  // shows 14000000 - not 6000000
  CHECK(kept(conflicts(f, reviewer), "update_delete", id, "monthly_income", 6000000));
}

// Found by the restore soak (tests/sim --restores seed 18575): a reviewer's resolution the
// server refused (422, "enrolled" cannot go back to "rejected") had taken a stamp from the
// server clock before the refusal, and a copy of that request a proxy delivered again took
// another. The transaction rolled back, the clock stayed ahead: every server op stamped
// later (a record's move) came one higher than without the copy, and two concurrent writes
// of the same record were ordered the other way. Fix: a write transaction gives its clock
// changes back when it rolls back (HybridClock::Tally, WriteTxn::clock_now and friends).
TEST_CASE("a refused resolution changes nothing - the server clock included") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  // Both laptops run 20 minutes ahead (inside the skew the server accepts unchanged), so
  // the server's clock stays on their versions' millisecond and counts: each stamp it
  // takes shows.
  test::FakeWallClock ahead(system_wall_clock().now_ms() + 20 * 60 * 1000);
  Laptop a(f, "laptop-a", {"74.02"}, &ahead), b(f, "laptop-b", {"74.02"}, &ahead);
  const std::string r1 = a.store->create("enrolment", konawe(31));
  const std::string r2 = a.store->create("enrolment", konawe(32));
  a.sync();
  b.sync();
  a.store->update("enrolment", r1, {{"status", "enrolled"}});
  a.store->update("enrolment", r2, {{"phone", "081200000031"}});
  a.sync();
  b.store->update("enrolment", r1, {{"status", "rejected"}});  // B had not seen either
  b.store->update("enrolment", r2, {{"phone", "081200000032"}});
  b.sync();
  json status_entry, phone_entry;
  for (const auto& c : conflicts(f, reviewer)) {
    if (c["record_id"] == r1 && c["field"] == "status") status_entry = c;
    if (c["record_id"] == r2 && c["field"] == "phone") phone_entry = c;
  }
  REQUIRE(status_entry.is_object());
  REQUIRE(phone_entry.is_object());

  // The highest version the server holds: what its clock stands on.
  uint64_t highest = 0;
  for (const auto& rec : f.records(reviewer)) {
    for (const auto& [field, v] : rec["versions"].items()) {
      if (v.is_array()) highest = std::max(highest, v[0].get<uint64_t>());
    }
  }
  REQUIRE(hlc::physical_ms(highest) > system_wall_clock().now_ms());  // ahead: counting

  // The rejection cannot be kept, three times over (a reviewer's retries, a proxy's copies).
  const std::string keep_rejected =
      status_entry["winner"]["value"] == "rejected" ? "winner" : "loser";
  for (int i = 0; i < 3; ++i) {
    auto refused =
        f.http().post("/v1/conflicts/" + status_entry["id"].get<std::string>() + "/resolve",
                      json{{"keep", keep_rejected}}, reviewer);
    REQUIRE(refused.status == 422);
  }
  // The next server op is stamped right above what the server held, as if those requests
  // had never come.
  auto kept_phone =
      f.http().post("/v1/conflicts/" + phone_entry["id"].get<std::string>() + "/resolve",
                    json{{"keep", "loser"}}, reviewer);
  REQUIRE(kept_phone.status == 200);
  uint64_t stamped = 0;
  for (const auto& rec : f.records(reviewer)) {
    if (rec["id"] == r2) stamped = rec["versions"]["phone"][0].get<uint64_t>();
  }
  CHECK(stamped == highest + 1);
}

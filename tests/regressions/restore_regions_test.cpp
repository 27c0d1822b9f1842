// Issue 11, item 6 continued, with region moves: a server restored from an older copy of its
// database while records move between regions (found by `lumbung-sim --restores`). Through
// the real lumbung-server, stopped and restarted on a copy of its database, and real
// laptops; each case failed on the code before its fix.
#include <doctest/doctest.h>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "regressions/restore_support.h"
#include "server/server_fixture.h"
#include "support/laptop.h"

using namespace lumbung;
using namespace lumbung::test::restore;
using test::ServerFixture;

// Seed 1747: after a restore a laptop learns its edit must be sent again just as the replay
// tells it the record has left its regions. The record was kept hidden for that unsent
// edit; the edit was then refused (out of the laptop's regions) and the hidden row, with
// the person's data, stayed on the laptop for good. Fix: acknowledge() drops the row of a
// record that moved away once nothing of it is unsent (store_sync.cpp).
TEST_CASE("after a restore a record that left a laptop's regions does not stay on it") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02.01"});
  Backup backup(f);
  const std::string id = a.store->create("enrolment", konawe(8));  // in 74.02.01
  a.sync();
  b.sync();
  b.store->update("enrolment", id, {{"phone", "081277770008"}});
  b.sync();
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});
  a.sync();
  backup.restore();
  a.sync();  // the record and its move come back first
  // B pulls one op a page, as on a slow link: it learns from the first page that its edit
  // must go again, and only then reads that the record left its regions.
  SyncOptions small;
  small.sleep = [](int) {};
  small.pull_page = 1;
  for (int round = 0; round < 3; ++round) b.client->sync(small);
  // B's edit is set aside for the office with its data, not lost ...
  REQUIRE(b.store->refused_changes().size() == 1);
  json entries = refused(f, reviewer);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["code"] == "out_of_scope");
  // ... and the person, now outside B's regions, is no longer on B, hidden or not.
  Query q;
  q.collection = "enrolment";
  q.include_deleted = true;
  for (const auto& r : b.store->query(q).records) CHECK(r.id != id);
  CHECK(b.store->stats().pending_changes == 0);
}

// Seed 5632: as above, but the move that brings the record into the editing laptop's
// regions is the creator's own, sent after its create. The waiting edit was tried only
// when the record arrived (outside its writer's regions) and then never again. Fix: a
// move also applies the ops waiting for the record (op_writer.cpp).
TEST_CASE("after a restore a waiting edit is applied once its record moves into its regions") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  Backup backup(f);
  Json person = konawe(10);
  person["village_code"] = "74.02.02.2001";  // outside C's regions
  const std::string id = a.store->create("enrolment", person);
  a.store->update("enrolment", id, {{"village_code", "74.02.01.2006"}});
  a.sync();
  c.sync();
  REQUIRE(c.store->get("enrolment", id).has_value());
  c.store->update("enrolment", id, {{"phone", "081277770010"}});
  c.sync();
  backup.restore();
  CHECK(c.sync().refused == 0);  // waits for the record
  a.sync();                      // the create (outside C's regions), then the move
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["village_code"] == "7402012006");
  CHECK(on_server.at(id)["phone"] == "081277770010");
  for (const auto& e : refused(f, reviewer)) CHECK(e["status"] == "applied");
  c.sync();
  a.sync();
  CHECK(a.contents() == on_server);
  CHECK(c.contents() == on_server);
}

// Seed 9177: after a restore a laptop held a record only in part (its own edit, kept by the
// replay) while the restored server had the record outside the laptop's regions: the move
// that had brought it in was never sent again. The edit was refused (out of scope) and the
// partial record stayed on the laptop for good, since no move away ever reached it. Fix: an
// out-of-scope refusal of an edit that did not move the record marks the record moved away
// (Store::record_refused); the edit stays in the refused list.
TEST_CASE("after a restore a laptop drops a record the restored server holds outside its regions") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  Backup backup(f);
  Json person = konawe(11);
  person["village_code"] = "74.02.02.2001";  // outside C's regions
  const std::string id = a.store->create("enrolment", person);
  a.sync();
  b.sync();
  b.store->update("enrolment", id, {{"village_code", "74.02.01.2006"}});  // B brings it in
  b.sync();
  c.sync();
  REQUIRE(c.store->get("enrolment", id).has_value());
  c.store->update("enrolment", id, {{"phone", "081277770011"}});
  c.sync();
  backup.restore();
  a.sync();  // the record comes back where A created it; B's move is not sent again
  for (int round = 0; round < 2; ++round) c.sync();
  REQUIRE(c.store->refused_changes().size() == 1);
  CHECK(c.store->refused_changes()[0].code == "out_of_scope");
  Query q;
  q.collection = "enrolment";
  q.include_deleted = true;
  for (const auto& r : c.store->query(q).records) CHECK(r.id != id);
  CHECK(c.store->stats().pending_changes == 0);
}

// Seed 10213: a record left a laptop's regions after the backup (the laptop applied its
// move away) and came back; the restore took both moves back, so on the restored server the
// record never left. The laptop kept its moved-away mark through the replay and skipped the
// record for good. Fix: a replay forgets the moved-away marks with the other writers' values;
// the replay sends again the moves away the server still has (Store forget_others).
TEST_CASE("after a restore a laptop gets back a record whose move away the restore took back") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  const std::string id = a.store->create("enrolment", konawe(12));  // in 74.02.01
  a.sync();
  c.sync();
  Backup backup(f);
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});
  a.sync();
  c.sync();  // the record leaves C's regions
  REQUIRE_FALSE(c.store->get("enrolment", id).has_value());
  backup.restore();
  // A does not come back yet: on the restored server the record is in 74.02.01.
  for (int round = 0; round < 2; ++round) c.sync();
  REQUIRE(c.store->get("enrolment", id).has_value());
  const auto on_server = server_contents(f, reviewer);
  CHECK(c.contents() == on_server);
}

// Seed 100565: as above, but the laptop that loses the record from its regions is the one
// that created it, and the record had left its table (dropped once its changes were sent).
// The replay forgot the moved-away mark, but nothing brought the laptop's own writes back:
// the server never sends a device its own ops, so the laptop held only what others wrote
// later (or nothing). Fix: the replay rebuilds such records from the laptop's own log
// (Store forget_others).
TEST_CASE(
    "after a restore a laptop gets back its own record whose move away the restore took back") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  const std::string id = c.store->create("enrolment", konawe(13));  // in 74.02.01
  c.sync();
  a.sync();
  Backup backup(f);
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});
  a.sync();
  c.sync();  // the record leaves C's regions, and C's table once nothing of it is unsent
  REQUIRE_FALSE(c.store->get("enrolment", id).has_value());
  backup.restore();
  // On the restored server the record never left 74.02.01; A does not come back yet.
  for (int round = 0; round < 2; ++round) c.sync();
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  REQUIRE(c.store->get("enrolment", id).has_value());
  CHECK(c.contents() == on_server);
}

// Seed 27481: a laptop's edit went in before the restore. A stale copy of that push reached
// the restored server after another laptop had moved the record out of the first one's
// regions, and was refused there (out_of_scope); nobody heard that answer. The laptop, told
// in the lost history that its edit went in, never sent it again, so it never learned of
// the refusal: the officer was not told, and the laptop listed nothing. Fix: the server
// tells every refusal in its writer's pull too (OpWriter::notify_refused).
TEST_CASE("after a restore a stale copy of a push refused there is told to its laptop") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  const std::string id = a.store->create("enrolment", konawe(41));  // in 74.02.01
  a.sync();
  c.sync();
  Backup backup(f);
  c.store->update("enrolment", id, {{"phone", "081277770041"}});
  c.link.on("/v1/push", test::Fault::kKeepCopy);
  CHECK(c.sync().refused == 0);  // accepted, and a copy of the push kept on the way
  c.link.on("/v1/push", test::Fault::kNone);
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});  // out of C's
  backup.restore();
  a.sync();               // the move goes in first this time
  c.link.deliver_kept();  // the stale copy: refused, and its answer dropped
  const json entries = refused(f, reviewer);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["device_id"] == "laptop-c");
  CHECK(entries[0]["code"] == "out_of_scope");
  CHECK(entries[0]["op"]["set"]["phone"] == "081277770041");  // kept whole for the office
  // C learns of the refusal in its pull, once, and no longer shows the record.
  CHECK(c.sync().refused == 1);
  const auto listed = c.store->refused_changes();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].code == "out_of_scope");
  CHECK(listed[0].record_id == id);
  CHECK(c.contents().count(id) == 0);
  CHECK(c.sync().refused == 0);
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["phone"] == konawe(41)["phone"]);
  a.sync();
  CHECK(a.contents() == on_server);
}

// A refusal the push answer told is told in the pull as well; heard twice, it is listed
// once and counted once.
TEST_CASE("a refusal told in the push answer and again in the pull is counted once") {
  ServerFixture f;
  Laptop a(f, "laptop-a", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  const std::string id = a.store->create("enrolment", konawe(42));  // in 74.02.01
  a.sync();
  c.sync();
  c.store->update("enrolment", id, {{"phone", "081277770042"}});
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});  // out of C's
  a.sync();
  CHECK(c.sync().refused == 1);  // the push answer and the pull's notice: one refusal
  CHECK(c.store->refused_changes().size() == 1);
  CHECK(c.sync().refused == 0);
}

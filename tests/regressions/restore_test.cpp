// Issue 11, item 6 continued: a server restored from an older copy of its database, with
// the two ways replicas stayed apart after it (found by `lumbung-sim --restores`). Both go
// through the real lumbung-server, stopped and restarted on a copy of its database, and real
// laptops; each failed on the code before the fix.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "regressions/restore_support.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/laptop.h"

using namespace lumbung;
using test::ServerFixture;
using json = nlohmann::json;
namespace fs = std::filesystem;

using namespace lumbung::test::restore;

TEST_CASE("after a restore an edit that arrives before its record waits for it") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02.01"});
  Backup backup(f);
  // After the backup: A enrols a person, B (one kecamatan only) corrects the phone.
  const std::string id = a.store->create("enrolment", konawe(1));
  a.sync();
  b.sync();
  b.store->update("enrolment", id, {{"phone", "081299990001"}});
  b.sync();
  backup.restore();
  // The server has neither. B comes back first: its edit is acknowledged (B must not be
  // stuck) and waits for the record; it is not refused.
  const SyncReport rb = b.sync();
  CHECK(rb.refused == 0);
  CHECK(b.store->stats().pending_changes == 0);
  json entries = refused(f, reviewer);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["code"] == "waiting_for_record");
  CHECK(entries[0]["status"] == "open");
  // A sends its enrolment again: B's edit lands on it.
  a.sync();
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["phone"] == "081299990001");
  CHECK(on_server.at(id)["full_name"] == konawe(1)["full_name"]);
  entries = refused(f, reviewer);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["status"] == "applied");
  b.sync();
  a.sync();
  CHECK(a.contents() == on_server);
  CHECK(b.contents() == on_server);
}

TEST_CASE("after a restore no laptop keeps a central-office write the restore took back") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(2));
  a.sync();
  b.sync();
  Backup backup(f);
  // After the backup: two officers disagree on the phone and the office settles it with a
  // value of its own; both laptops take the resolution.
  a.store->update("enrolment", id, {{"phone", "081200000001"}});
  b.store->update("enrolment", id, {{"phone", "081200000002"}});
  a.sync();
  b.sync();
  auto open = f.http().get("/v1/conflicts", reviewer).json()["conflicts"];
  REQUIRE(open.size() == 1);
  auto r = f.http().post("/v1/conflicts/" + open[0]["id"].get<std::string>() + "/resolve",
                         json{{"value", "081200000009"}}, reviewer);
  REQUIRE(r.status == 200);
  a.sync();
  b.sync();
  REQUIRE(a.contents().at(id)["phone"] == "081200000009");
  backup.restore();
  // The resolution is gone with the restore; the officers' edits come back from their logs
  // (and the conflict with them). Every replica must hold what the server holds.
  for (int round = 0; round < 2; ++round) {
    a.sync();
    b.sync();
  }
  const auto on_server = server_contents(f, reviewer);
  CHECK(on_server.at(id)["phone"] != "081200000009");
  CHECK(a.contents() == on_server);
  CHECK(b.contents() == on_server);
  Laptop c(f, "laptop-c", {"74.02"});
  c.sync();
  CHECK(c.contents() == on_server);
}

// Seed 419 of `lumbung-sim --restores`: another laptop's edit, applied before the restore,
// is refused when sent again (a move out of its writer's regions now arrives first). A
// replica that pulled it before the restore must not keep it.
TEST_CASE("after a restore no laptop keeps a write the restored server refuses") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02.01"}), c(f, "laptop-c", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(3));
  a.sync();
  b.sync();
  c.sync();
  Backup backup(f);
  // After the backup: B corrects the phone and C takes it; A moves the person to another
  // kecamatan (outside B's regions) but sends it only after the restore.
  b.store->update("enrolment", id, {{"phone", "081277770003"}});
  b.sync();
  c.sync();
  REQUIRE(c.contents().at(id)["phone"] == "081277770003");
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});
  backup.restore();
  a.sync();  // the move comes first this time
  const SyncReport rb = b.sync();
  CHECK(rb.refused == 1);  // B's edit, set aside for review, not lost
  json entries = refused(f, reviewer);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["code"] == "out_of_scope");
  c.sync();
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["phone"] == konawe(3)["phone"]);
  CHECK(c.contents() == on_server);
  a.sync();
  CHECK(a.contents() == on_server);
}

// Seed 1406: a refusal given after the backup goes with the restore; the laptop sends the
// change again, and the new answer is what the officer sees.
TEST_CASE("after a restore a refused change is judged again") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02.01"});
  const std::string id = a.store->create("enrolment", konawe(4));
  a.sync();
  b.sync();
  Backup backup(f);
  a.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});
  a.sync();
  b.store->update("enrolment", id, {{"phone", "081277770004"}});
  CHECK(b.sync().refused == 1);
  REQUIRE(b.store->refused_changes().size() == 1);
  backup.restore();
  // The move and the refusal are both gone: B comes back first and its edit now applies.
  b.sync();
  CHECK(b.store->refused_changes().empty());
  CHECK(refused(f, reviewer).empty());
  a.sync();  // the move again
  b.sync();
  const auto on_server = server_contents(f, reviewer);
  CHECK(on_server.at(id)["phone"] == "081277770004");
  CHECK(on_server.at(id)["village_code"] == "7402022001");
  CHECK(a.contents() == on_server);
}

// Seed 3453: after a restore that lost a record's creation, a laptop holds the record only
// in part (its own edits) until the creator sends it again; an edit there must read as an
// edit (it waits for the record on the server), not as an incomplete create (refused).
TEST_CASE("after a restore an edit of a record held in part waits for the record") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  Backup backup(f);
  const std::string id = a.store->create("enrolment", konawe(5));
  a.sync();
  b.sync();
  b.store->update("enrolment", id, {{"phone", "081277770005"}});
  b.sync();
  backup.restore();
  b.sync();  // the replay: B keeps only its own phone of the record
  REQUIRE(b.store->get("enrolment", id).has_value());
  b.store->update("enrolment", id, {{"position", "kaur 5"}});  // a field B never held
  const SyncReport rb = b.sync();
  CHECK(rb.refused == 0);
  a.sync();
  b.sync();
  a.sync();
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["phone"] == "081277770005");
  CHECK(on_server.at(id)["position"] == "kaur 5");
  CHECK(on_server.at(id)["full_name"] == konawe(5)["full_name"]);
  CHECK(a.contents() == on_server);
  CHECK(b.contents() == on_server);
}

// Seed 4484: after a restore, an edit waits for its record, and so does a move that brings
// the record into the editing laptop's regions. When the record arrived, the waiting ops
// were applied once in arrival order: the edit came first, was out of the laptop's regions
// until the move, and stayed waiting for ever although the laptop had it acknowledged.
// Fix: apply_waiting goes round until a pass applies nothing (op_writer.cpp).
TEST_CASE("after a restore a waiting edit is applied once a waiting move brings its record in") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), m(f, "laptop-m", {"74.02"}), c(f, "laptop-c", {"74.02.02"});
  Backup backup(f);
  const std::string id = a.store->create("enrolment", konawe(6));  // in 74.02.01
  a.sync();
  m.sync();
  m.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});
  m.sync();
  c.sync();  // the record reaches C with the move
  REQUIRE(c.store->get("enrolment", id).has_value());
  c.store->update("enrolment", id, {{"phone", "081277770006"}});
  c.sync();
  backup.restore();
  // C comes back first, then M, then the creator: both edits wait for the record.
  CHECK(c.sync().refused == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // C's op is found first
  CHECK(m.sync().refused == 0);
  a.sync();
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["village_code"] == "7402022001");
  CHECK(on_server.at(id)["phone"] == "081277770006");
  for (const auto& e : refused(f, reviewer)) CHECK(e["status"] == "applied");
  c.sync();
  m.sync();
  a.sync();
  CHECK(a.contents() == on_server);
  CHECK(m.contents() == on_server);
  CHECK(c.contents() == on_server);
}

// Seed 4485: the server's clock restarted from the restored copy's. A laptop 50 minutes
// fast had moved it ahead in the lost history, and the office's resolution there took the
// next value; after the restore the same ops arrived again and the same value went to a
// different write. Replicas holding the lost one took the new one for it. Fix: a server
// that finds its database restored starts its clock above wall + kMaxClockSkewMs.
TEST_CASE("a server restored from a copy never gives out a version twice") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  const int64_t real = system_wall_clock().now_ms();
  test::FakeWallClock fast_wall(real);
  Laptop fast(f, "laptop-fast", {"74.02"}, &fast_wall), a(f, "laptop-a", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(7));
  a.sync();
  fast.sync();
  Backup backup(f);
  fast_wall.set(real + 50 * 60 * 1000);
  fast.store->update("enrolment", id, {{"phone", "081200000071"}});
  a.store->update("enrolment", id, {{"phone", "081200000072"}});
  fast.sync();
  a.sync();
  resolve_with(f, reviewer, "081200000073");
  a.sync();
  const Version lost = a.store->get("enrolment", id)->versions.at("phone");
  REQUIRE(lost.device == "server");
  backup.restore();
  // The process is killed before anything is written and started again: the restored
  // history keeps its clock (seed 7546: it went back to the copy's, so a crash changed
  // which write won).
  const uint16_t port = f.server().port();
  ::kill(f.server().pid(), SIGKILL);
  f.stop();  // reaps it
  f.start(port);
  // The same two edits come back in the same order, and the office settles them again.
  fast.sync();
  a.sync();
  resolve_with(f, reviewer, "081200000074");
  a.sync();
  fast.sync();
  const Version again = a.store->get("enrolment", id)->versions.at("phone");
  REQUIRE(again.device == "server");
  CHECK(again.hlc > lost.hlc);
  const auto on_server = server_contents(f, reviewer);
  CHECK(on_server.at(id)["phone"] == "081200000074");
  CHECK(a.contents() == on_server);
  CHECK(fast.contents() == on_server);
}

// Seed 4485 (its masked-fault run): a laptop whose clock ran three years ahead had its
// enrolment re-stamped by the server and took the new stamp. A proxy delivered a stale
// copy of that push after the server was restored from an older copy: the restored
// server re-stamped it again, differently, and counted it as held, so the laptop never
// sent it again and kept a stamp the server did not have. Fix: after a replay the laptop
// sends its re-stamped ops again and takes the stamps the server answers with
// (SyncClient resend_restamped, Store meta restamped_from).
TEST_CASE("after a restore a laptop takes the stamps the restored server gave its ops") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  const int64_t real = system_wall_clock().now_ms();
  test::FakeWallClock far_wall(real);
  Laptop far(f, "laptop-far", {"74.02"}, &far_wall), a(f, "laptop-a", {"74.02"});
  Backup backup(f);
  far_wall.set(real + 3LL * 365 * 24 * 3600 * 1000);  // a flat CMOS battery, a wrong year
  const std::string id = far.store->create("enrolment", konawe(9));
  far.link.on("/v1/push", test::Fault::kKeepCopy);
  REQUIRE(far.sync().restamped == 1);
  const Version first = far.store->get("enrolment", id)->versions.at("nik");
  backup.restore();
  far.link.deliver_kept();  // the stale copy reaches the restored server first
  for (int round = 0; round < 2; ++round) {
    far.sync();
    a.sync();
  }
  json on_server;
  for (auto& r : f.records(reviewer)) {
    if (r["id"] == id) on_server = r;
  }
  REQUIRE(on_server.is_object());
  const Version held = far.store->get("enrolment", id)->versions.at("nik");
  INFO("server record: " << on_server.dump());
  CHECK(on_server["versions"]["nik"][0].get<uint64_t>() == held.hlc);
  CHECK(held != first);  // the restored server's stamp, not the lost history's
  CHECK(a.store->get("enrolment", id)->versions.at("nik") == held);
}

// Seed 3315 (its full-fault run, with the snapshot bootstrap off): as above, but the laptop
// had edited the record after taking its first stamp. The stale copy of the create was
// re-stamped by the restored server above that edit, so the edit, sent again, lost to the
// laptop's own create on the server (a device's own write is never an unseen one: no
// entry), while the laptop kept the edit. Fix: the server re-stamps an op below the
// version of its device's previous op above it (SyncService::push, own_floor).
TEST_CASE("after a restore a laptop's edit is not overtaken by its own create stamped again") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  const int64_t real = system_wall_clock().now_ms();
  test::FakeWallClock far_wall(real);
  Laptop far(f, "laptop-far", {"74.02"}, &far_wall), a(f, "laptop-a", {"74.02"});
  Backup backup(f);
  far_wall.set(real + 3LL * 365 * 24 * 3600 * 1000);  // a flat CMOS battery, a wrong year
  const std::string id = far.store->create("enrolment", konawe(15));
  far.link.on("/v1/push", test::Fault::kKeepCopy);
  REQUIRE(far.sync().restamped == 1);
  // The laptop now runs on the server's time: its edit is stamped just after the create.
  far.store->update("enrolment", id, {{"phone", "081277770015"}});
  REQUIRE(far.sync().restamped == 0);
  backup.restore();
  std::this_thread::sleep_for(
      std::chrono::milliseconds(20));  // the restored server's clock moves on
  far.link.deliver_kept();  // the stale create reaches the restored server: stamped again
  for (int round = 0; round < 2; ++round) {
    far.sync();
    a.sync();
  }
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["phone"] == "081277770015");
  CHECK(far.contents() == on_server);
  CHECK(a.contents() == on_server);
}

// Seed 13178: after a restore an officer's edit waits for its record, and so does another
// laptop's move of the record out of the officer's regions, found first. When the record
// arrived the move went in and the edit was refused, although the officer's laptop had
// been told it was accepted; the laptop never learnt it. Fix: the refusal is final once
// the whole push is in (OpWriter::settle_waiting); the entry takes its reason and the
// laptop is told in its next pull, by a "refused" notice only it receives.
TEST_CASE("after a restore a waiting edit refused when its record arrives is told to its laptop") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), m(f, "laptop-m", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  Backup backup(f);
  const std::string id = a.store->create("enrolment", konawe(13));  // in 74.02.01
  a.sync();
  m.sync();
  c.sync();
  REQUIRE(c.store->get("enrolment", id).has_value());
  c.store->update("enrolment", id, {{"phone", "081277770013"}});
  m.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});  // out of C's
  c.sync();
  m.sync();
  backup.restore();
  // M comes back first, then C: the move and the edit both wait for the record.
  CHECK(m.sync().refused == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // M's op is found first
  CHECK(c.sync().refused == 0);
  a.sync();  // the record: the move goes in, the edit is refused
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  CHECK(on_server.at(id)["village_code"] == "7402022001");
  CHECK(on_server.at(id)["phone"] != "081277770013");
  const json entries = refused(f, reviewer);
  REQUIRE(entries.size() == 2);  // the move, applied; the edit, refused and open
  size_t open = 0;
  for (const auto& e : entries) {
    if (e["device_id"] != "laptop-c") {
      CHECK(e["status"] == "applied");
      continue;
    }
    ++open;
    CHECK(e["status"] == "open");
    CHECK(e["code"] == "out_of_scope");                // no longer "waiting_for_record"
    CHECK(e["op"]["set"]["phone"] == "081277770013");  // kept whole for the office
  }
  CHECK(open == 1);
  // C learns of the refusal in its pull, once, and no longer shows the record.
  CHECK(c.sync().refused == 1);
  const auto listed = c.store->refused_changes();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].code == "out_of_scope");
  CHECK(listed[0].record_id == id);
  CHECK(c.contents().count(id) == 0);
  CHECK(c.sync().refused == 0);
  m.sync();
  a.sync();
  CHECK(a.contents() == on_server);
  CHECK(m.contents() == on_server);
}

// A new laptop's snapshot (issue 13) begun before a restore: the records it took may hold
// writes the restored history lacks, and a snapshot cursor cannot say which. The server
// starts the snapshot again with "reset", so the laptop drops what others wrote and takes
// the records anew (before, it went on from the cursor and kept the lost writes).
TEST_CASE("a snapshot begun before a restore starts again as a replay") {
  ServerFixture f;
  Laptop a(f, "laptop-a", {"74.02"});
  const test::Device n = f.device("laptop-n", {"7402"});
  Backup backup(f);
  for (int i = 0; i < 4; ++i) a.store->create("enrolment", konawe(20 + i));
  a.sync();
  auto first = f.http().get("/v1/pull?snapshot=1&limit=2", n.token);
  REQUIRE(first.status == 200);
  CHECK(first.json()["ops"].size() == 2);
  CHECK_FALSE(first.json().contains("reset"));
  const std::string cursor = first.json()["next"];
  backup.restore();  // the copy has none of A's records
  auto again = f.http().get("/v1/pull?snapshot=1&limit=2&cursor=" + cursor, n.token);
  REQUIRE(again.status == 200);
  CHECK(again.json().value("reset", false));
  CHECK(again.json()["ops"].empty());
}

// Seed 51849: an officer's edit was refused (its record had moved out of the laptop's
// regions). After a restore the laptop's replay brought the record away and back whole,
// without the edit (a refused write is not joined back); the laptop then sent the edit
// again, as it must, and the restored server applied it; but the laptop's replica never
// took its own write back (a server never sends a device its own ops), so it held the
// older value for good. Fix: taking back the refusals of the
// changes it re-sends joins those writes into their records (Store::rewind_acknowledged).
TEST_CASE("after a restore a laptop's refused edit sent again is held by its own replica") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), m(f, "laptop-m", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  Backup backup(f);
  const std::string id = a.store->create("enrolment", konawe(40));  // in 74.02.01
  a.sync();
  m.sync();
  c.sync();
  m.store->update("enrolment", id, {{"village_code", "74.02.02.2001"}});  // out of C's
  c.store->update("enrolment", id, {{"phone", "081277770040"}});
  m.sync();
  CHECK(c.sync().refused == 1);  // refused: the record left C's regions
  m.store->update("enrolment", id, {{"village_code", "74.02.01.2006"}});  // back
  m.sync();
  c.sync();  // the record comes back whole, without C's refused phone
  REQUIRE(c.contents().count(id) == 1);
  CHECK(c.contents().at(id)["phone"] != "081277770040");
  backup.restore();
  a.sync();  // the record again
  m.sync();  // the two moves again
  // C's replay brings the record away and back whole, without its refused edit; then C
  // learns the server lost its change and sends it again, and the server applies it.
  c.sync();
  c.sync();
  a.sync();
  m.sync();
  const auto on_server = server_contents(f, reviewer);
  REQUIRE(on_server.count(id) == 1);
  INFO("server: " << on_server.at(id).dump());
  CHECK(on_server.at(id)["phone"] == "081277770040");  // the edit, sent again, applied
  CHECK(a.contents() == on_server);
  CHECK(m.contents() == on_server);
  std::map<std::string, Json> in_c;
  for (const auto& [rid, r] : on_server) {
    if (r.value("village_code", "").rfind("740201", 0) == 0) in_c[rid] = r;
  }
  CHECK(c.contents() == in_c);
}

// Schema versions on the server's side (issue 18), through the real lumbung-server: a
// version published over the API is active at once, also under running pushes; a schema
// file that is no valid successor stops the server; an op of a version newer than the
// server's is kept for review; the server lists laptops on older versions; a pull after a
// move reads every older op in the new names (timed). Shared versions: schema_versions_support.h.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/schema_versions_support.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/laptop.h"
#include "support/temp_dir.h"
#include "support/test_backend.h"

using namespace lumbung;
using test::Laptop;
using test::ServerFixture;
using namespace lumbung::test::versions;

TEST_CASE("an op naming a schema version newer than the server's is kept for review") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  test::Device d = f.device("laptop-new", {"74.02"});
  Json op = test::make_op(1, "0f1e2d3c-4b5a-4678-9abc-def012345678", test::hlc_now(),
                          test::konawe_record_1());
  op["sv"] = 3;
  auto res = f.push(d, Json::array({op}));
  REQUIRE(res.status == 200);
  auto ack = res.json();
  CHECK(ack["acked_seq"] == 1);  // taken off the laptop: kept on the server
  REQUIRE(ack["refused"].size() == 1);
  CHECK(ack["refused"][0]["rule"] == "unknown_schema_version");
  CHECK(f.http().get("/v1/refused", reviewer).json()["refused"].size() == 1);
}

TEST_CASE("a schema file that is no valid successor stops the server: nothing changes") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  Json bad = v2_document();
  bad["changelog"][0]["steps"].erase(1);  // position is gone but no step says so
  const std::string v2bad = write_file(files, "v2bad.json", bad);
  ServerFixture f({"--schema", v1});
  f.stop();
  f.set_extra_args({"--schema", v2bad});
  CHECK_THROWS(f.start());
  f.set_extra_args({"--schema", v1});
  f.start();
  CHECK(f.http().get("/v1/schema", f.admin()).json()["version"] == 1);

  // Published over the API: refused with every problem named (version 1 stays), then
  // stored and active at once; a restart given the older file keeps version 2.
  auto r = f.http().post("/v1/admin/schema", bad, f.admin());
  CHECK(r.status == 422);
  CHECK(r.body.find("position is gone") != std::string::npos);
  CHECK(f.http().get("/v1/schema", f.admin()).json()["version"] == 1);
  r = f.http().post("/v1/admin/schema", v2_document(), f.admin());
  REQUIRE(r.status == 201);
  CHECK(r.json()["version"] == 2);
  CHECK(r.json()["active"] == true);
  r = f.http().post("/v1/admin/schema", v2_document(), f.admin());  // once only
  CHECK(r.status == 422);
  CHECK(r.body.find("version 2 cannot follow version 2") != std::string::npos);
  auto versions = f.http().get("/v1/admin/schema", f.admin()).json();
  CHECK(versions["active_version"] == 2);
  CHECK(versions["newest_version"] == 2);
  CHECK(f.http().get("/v1/schema", f.admin()).json()["version"] == 2);
  f.stop();
  f.start();
  CHECK(f.http().get("/v1/schema", f.admin()).json()["version"] == 2);

  // A file of a served version with other content, or two versions ahead: the server
  // does not start.
  Json edited = v2_document();
  edited["description"] = "edited in place";
  f.stop();
  f.set_extra_args({"--schema", write_file(files, "v2edited.json", edited)});
  CHECK_THROWS(f.start());
  Json v4 = v2_document();
  v4["version"] = 4;
  f.set_extra_args({"--schema", write_file(files, "v4.json", v4)});
  CHECK_THROWS(f.start());
}

TEST_CASE("a version published through the API is active at once: no restart") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"});
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(21));
  a.sync();
  a.store->update("enrolment", id, {{"phone", "081234500021"}, {"position", "kaur umum"}});

  auto r = f.http().post("/v1/admin/schema", v2_document(), f.admin());
  REQUIRE(r.status == 201);
  CHECK(r.json()["active"] == true);
  CHECK(r.json()["active_version"] == 2);
  CHECK(r.json()["records_moved"] == 1);
  // The same running server answers in version 2 at once: the document, health, records.
  CHECK(f.http().get("/v1/schema", reviewer).json()["version"] == 2);
  CHECK(f.http().get("/v1/health").json()["schema_version"] == 2);
  auto recs = server_records(f, reviewer);
  CHECK(recs[id]["phone_number"] == test::konawe_enrolment(21)["phone"]);
  CHECK_FALSE(recs[id].contains("phone"));
  CHECK_FALSE(recs[id].contains("position"));

  // The laptop still on version 1 pushes: upgraded by the version it was just given.
  SyncReport rep = a.sync();
  CHECK(rep.refused == 0);
  CHECK(rep.server_schema_version == 2);
  CHECK(server_records(f, reviewer)[id]["phone_number"] == "081234500021");
  // A device writing version 2 names is taken at once; a pull says version 2.
  test::Device d = f.device("laptop-v2", {"74.02"});
  Json fresh = test::konawe_enrolment(22);
  fresh["phone_number"] = fresh["phone"];
  fresh.erase("phone");
  fresh.erase("position");
  fresh["npwp"] = "0123456789";
  fresh["occupation"] = "penenun";
  Json op = test::make_op(1, "0f1e2d3c-4b5a-4678-9abc-def012345622", test::hlc_now(5), fresh);
  op["sv"] = 2;
  auto push = f.push(d, Json::array({op}));
  REQUIRE(push.status == 200);
  CHECK(push.json()["refused"].empty());
  CHECK(server_records(f, reviewer)["0f1e2d3c-4b5a-4678-9abc-def012345622"]["npwp"] ==
        "0123456789");
  CHECK(f.http().get("/v1/pull?cursor=", d.token).json()["schema_version"] == 2);
  // The record's history (review) reads under the new version too.
  CHECK(f.http().get("/v1/records/" + id + "/history?collection=enrolment", reviewer).status ==
        200);
  if (!test::test_postgres()) {
    // The renamed personal field stays sealed: no phone number in clear in the files.
    std::string bytes;
    for (const char* ext : {"", "-wal"}) {
      std::ifstream in(f.data_dir() + "/lumbung-server.db" + ext, std::ios::binary);
      bytes += std::string(std::istreambuf_iterator<char>(in), {});
    }
    REQUIRE(bytes.size() > 4096);
    CHECK(bytes.find("081234500021") == std::string::npos);
    CHECK(bytes.find(test::konawe_enrolment(22)["phone"].get<std::string>()) == std::string::npos);
  }
}

TEST_CASE("pushes running while a version is published all land in the new names") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  test::Device d = f.device("laptop-busy", {"74.02"});
  // A second client of its own: the pushes run on a thread while the main one publishes.
  test::HttpTestClient http(f.server().base_url());
  constexpr int kPushes = 30, kPerPush = 5;
  std::atomic<int> done{0}, failed{0};
  std::thread pusher([&] {
    uint64_t seq = 1;
    for (int p = 0; p < kPushes; ++p) {
      Json ops = Json::array();
      for (int i = 0; i < kPerPush; ++i, ++seq) {
        char id[40];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llu",
                      static_cast<unsigned long long>(seq));
        // Version 1 names, no "sv": the server upgrades whichever version is active.
        ops.push_back(test::make_op(seq, id, test::hlc_now(seq),
                                    test::konawe_enrolment(100 + static_cast<int>(seq))));
      }
      auto res = http.post("/v1/push", Json{{"device", d.id}, {"ops", ops}}, d.token, true);
      if (res.status != 200 || !res.json()["refused"].empty() ||
          res.json()["acked_seq"] != seq - 1) {
        ++failed;
      }
      ++done;
    }
  });
  // Publish once a few pushes are in, while the rest keep coming (bounded wait).
  for (int i = 0; i < 500 && done < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto r = f.http().post("/v1/admin/schema", v2_document(), f.admin());
  pusher.join();
  REQUIRE(r.status == 201);
  CHECK(failed == 0);
  CHECK(done == kPushes);
  // Every record is in version 2 names, whether pushed before, during or after the switch.
  const auto recs = server_records(f, reviewer);
  CHECK(recs.size() == static_cast<size_t>(kPushes * kPerPush));
  int old_names = 0;
  for (const auto& [rid, fields] : recs) {
    if (fields.contains("phone") || fields.contains("position") ||
        !fields.contains("phone_number")) {
      ++old_names;
    }
  }
  CHECK(old_names == 0);
  // And a device set up on version 2 that pulls the whole log holds exactly these.
  Laptop c(f, "laptop-c", {"74.02"});
  c.reopen(Schema::parse(v2_document()));
  c.sync();
  CHECK(c.contents() == recs);
}

TEST_CASE("the server lists the laptops still on older schema versions") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(41));
  a.sync();
  b.store->create("enrolment", test::konawe_enrolment(42));
  b.sync();
  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);
  auto older = f.http().get("/v1/admin/schema", f.admin()).json()["devices_on_older_versions"];
  CHECK(older == Json::array({{{"device_id", "laptop-a"}, {"schema_version", 1}},
                              {{"device_id", "laptop-b"}, {"schema_version", 1}}}));

  // A moves to version 2 and pushes under it: only B is left behind.
  a.reopen(Schema::parse(a.client->fetch_schema()));
  a.store->update("enrolment", id, {{"npwp", "0123456789"}});
  a.sync();
  older = f.http().get("/v1/admin/schema", f.admin()).json()["devices_on_older_versions"];
  CHECK(older == Json::array({{{"device_id", "laptop-b"}, {"schema_version", 1}}}));
  auto devices = f.http().get("/v1/admin/devices", f.admin()).json();
  CHECK(devices["schema_version"] == 2);
  std::map<std::string, Json> by_id;
  for (const auto& d : devices["devices"]) by_id[d["device_id"].get<std::string>()] = d;
  CHECK(by_id["laptop-a"]["schema_version"] == 2);
  CHECK(by_id["laptop-b"]["schema_version"] == 1);
  // The office web page's progress answer names them too, kept across a restart.
  f.stop();
  f.start();
  auto progress = f.http().get("/v1/web/progress?scope=74", reviewer);
  REQUIRE(progress.status == 200);
  CHECK(progress.json()["schema_version"] == 2);
  CHECK(progress.json()["older_schema_devices"] == Json{{"laptop-b", 1}});
}

TEST_CASE("pull after a schema move reads every older op in the new names: timed") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  const std::string v2 = write_file(files, "v2.json", v2_document());
  ServerFixture f({"--schema", v1});
  test::Device d = f.device("laptop-bulk", {"74.02"});
  constexpr int kOps = 2000;
  Json ops = Json::array();
  for (int i = 1; i <= kOps; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    ops.push_back(test::make_op(d.next_seq++, id, test::hlc_now(i), test::konawe_enrolment(i)));
  }
  REQUIRE(f.push(d, ops).status == 200);
  auto timed_pull = [&](const std::string& reader) {
    test::Device r = f.device(reader, {"74.02"});
    const auto t0 = std::chrono::steady_clock::now();
    Json all = f.pull_all(r);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::make_pair(all, s);
  };
  auto [before, s1] = timed_pull("reader-1");
  CHECK(before.size() == kOps);
  f.stop();
  f.set_extra_args({"--schema", v2});
  f.start();
  auto [after, s2] = timed_pull("reader-2");
  REQUIRE(after.size() == kOps);
  int upgraded = 0;
  for (const auto& op : after) {
    if (op["sv"] == 2 && op["set"].contains("phone_number") && !op["set"].contains("phone") &&
        op["ret"].contains("position")) {
      ++upgraded;
    }
  }
  CHECK(upgraded == kOps);
  std::printf(
      "schema move: pull of %d ops %.3f s as written (version 1), %.3f s read in "
      "version 2 names\n",
      kOps, s1, s2);
}

// A laptop that moved to the newer version but has nothing to push is known by its pull
// (the pull's sv), and one whose first push after the move holds only changes written
// under the old version by its report's schema_version: neither is listed as left behind.
TEST_CASE("a laptop that moved to a newer schema version is known by its pull and its report") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  a.store->create("enrolment", test::konawe_enrolment(51));
  a.sync();
  b.store->create("enrolment", test::konawe_enrolment(52));
  b.sync();
  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);
  // A: nothing unsent; it moves and only pulls.
  a.reopen(Schema::parse(a.client->fetch_schema()));
  // B: an edit written under version 1, unsent when it moves; its push carries sv-less ops.
  b.store->create("enrolment", test::konawe_enrolment(53));
  b.reopen(Schema::parse(b.client->fetch_schema()));
  auto older = f.http().get("/v1/admin/schema", f.admin()).json()["devices_on_older_versions"];
  CHECK(older.size() == 2);
  a.sync();
  b.sync();
  older = f.http().get("/v1/admin/schema", f.admin()).json()["devices_on_older_versions"];
  CHECK(older == Json::array());
}

// Several server processes on one database (issue 13 with issue 18): a version published
// through one is what every other writes in from that moment, and what they serve within a
// second. Before, the others went on writing the old field names into records the
// publication had just moved (a "phone" beside "phone_number") and refused every op of the
// new version as from the future, until they were restarted.
// PostgreSQL only: a SQLite server takes no second process on its database.
TEST_CASE("a version published through one server is the one every server writes in at once" *
          doctest::test_suite(test::kPostgresOnly)) {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});  // server A
  test::ServerProcess b(LUMBUNG_SERVER_BIN, "", f.dir() + "/admin-token",
                        {"--schema", v1, "--db", f.db_url(), "--key-file", f.dir() + "/server.key"},
                        f.dir() + "/server-b.log");
  test::HttpTestClient hb(b.base_url());
  const std::string reviewer = f.reviewer();
  test::Device d = f.device("laptop-1", {"74.02"});
  const std::string id = "0f1e2d3c-4b5a-4678-9abc-def012345631";
  const Json rec = test::konawe_enrolment(31);
  const uint64_t h0 = test::hlc_now();
  auto push_b = [&](Json op) {
    return hb.post("/v1/push", Json{{"device", d.id}, {"ops", Json::array({std::move(op)})}},
                   d.token);
  };
  REQUIRE(push_b(test::make_op(d.next_seq++, id, h0, rec)).status == 200);
  REQUIRE(hb.get("/v1/health").json()["schema_version"] == 1);

  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);
  // Through B at once, written under version 1: upgraded into version 2's names.
  const Json seen = Json::array({h0, d.id});
  auto edit = push_b(test::make_op(d.next_seq++, id, h0 + 10, Json{{"phone", "081234500031"}},
                                   Json{{"phone", seen}}));
  REQUIRE_MESSAGE(edit.status == 200, edit.body);
  CHECK(edit.json()["refused"].empty());
  auto recs = server_records(f, reviewer);
  CHECK(recs[id]["phone_number"] == "081234500031");
  CHECK_FALSE(recs[id].contains("phone"));
  // Written under version 2, through B: taken, not refused as from a newer version.
  Json fresh = test::konawe_enrolment(32);
  fresh["phone_number"] = fresh["phone"];
  fresh.erase("phone");
  fresh.erase("position");
  fresh["npwp"] = "0123456789";
  fresh["occupation"] = "penenun";
  Json op = test::make_op(d.next_seq++, "0f1e2d3c-4b5a-4678-9abc-def012345632", h0 + 20, fresh);
  op["sv"] = 2;
  auto created = push_b(op);
  REQUIRE_MESSAGE(created.status == 200, created.body);
  CHECK(created.json()["refused"].empty());
  CHECK(server_records(f, reviewer)["0f1e2d3c-4b5a-4678-9abc-def012345632"]["npwp"] ==
        "0123456789");

  // Reads alone: B serves version 3 within about a second of its publication through A.
  REQUIRE(f.http().post("/v1/admin/schema", v3_document(), f.admin()).status == 201);
  const auto t0 = std::chrono::steady_clock::now();
  int served = 0;
  for (int i = 0; i < 100 && served != 3; ++i) {
    served = hb.get("/v1/health").json()["schema_version"].get<int>();
    if (served != 3) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(served == 3);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(s < 3.0);
  CHECK(hb.get("/v1/pull?cursor=", d.token).json()["schema_version"] == 3);
  CHECK(server_records(f, reviewer)[id]["mobile_phone"] == "081234500031");
}

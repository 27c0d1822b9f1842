// Schema versions through the real lumbung-server (issue 18): a laptop still on version 1
// syncs after the server moved to version 2 (a renamed field, a retired field, an added
// field, an enum value, a tightened rule). Nothing is lost, old ops are upgraded, an op
// that breaks the newer rule is refused with rule "newer_schema_rule" and kept for review.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/laptop.h"
#include "support/temp_dir.h"

using namespace lumbung;
using test::Laptop;
using test::ServerFixture;

namespace {

Json v1_document() { return test::enrolment_document(); }
using test::field_of;

// Version 2: phone -> phone_number, position retired, npwp added, occupation "penenun",
// birth_place at most 20 characters (was 60).
Json v2_document() {
  Json d = v1_document();
  d["version"] = 2;
  field_of(d, "phone")["name"] = "phone_number";
  auto& fields = d["collections"][0]["fields"];
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if ((*it)["name"] == "position") {
      fields.erase(it);
      break;
    }
  }
  fields.push_back(Json{{"name", "npwp"}, {"type", "string"}, {"max_length", 20}});
  field_of(d, "occupation")["values"].push_back("penenun");
  field_of(d, "birth_place")["max_length"] = 20;
  d["changelog"] = Json::array({Json{
      {"version", 2},
      {"steps", Json::array({
                    {{"op", "rename_field"},
                     {"collection", "enrolment"},
                     {"from", "phone"},
                     {"to", "phone_number"}},
                    {{"op", "retire_field"}, {"collection", "enrolment"}, {"field", "position"}},
                    {{"op", "add_field"}, {"collection", "enrolment"}, {"field", "npwp"}},
                    {{"op", "add_enum_value"},
                     {"collection", "enrolment"},
                     {"field", "occupation"},
                     {"value", "penenun"}},
                    {{"op", "tighten_rule"}, {"collection", "enrolment"}, {"field", "birth_place"}},
                })}}});
  return d;
}

// Version 3 on top of 2: phone_number -> mobile_phone (so version 1's phone moves twice),
// email retired, payment_source "CSR", address at most 30 characters (was 200),
// mother_name added.
Json v3_document() {
  Json d = v2_document();
  d["version"] = 3;
  field_of(d, "phone_number")["name"] = "mobile_phone";
  auto& fields = d["collections"][0]["fields"];
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if ((*it)["name"] == "email") {
      fields.erase(it);
      break;
    }
  }
  fields.push_back(Json{{"name", "mother_name"}, {"type", "string"}, {"max_length", 100}});
  field_of(d, "payment_source")["values"].push_back("CSR");
  field_of(d, "address")["max_length"] = 30;
  const std::string c = "enrolment";
  d["changelog"].push_back(
      Json{{"version", 3},
           {"steps", Json::array({
                         {{"op", "rename_field"},
                          {"collection", c},
                          {"from", "phone_number"},
                          {"to", "mobile_phone"}},
                         {{"op", "retire_field"}, {"collection", c}, {"field", "email"}},
                         {{"op", "add_field"}, {"collection", c}, {"field", "mother_name"}},
                         {{"op", "add_enum_value"},
                          {"collection", c},
                          {"field", "payment_source"},
                          {"value", "CSR"}},
                         {{"op", "tighten_rule"}, {"collection", c}, {"field", "address"}},
                     })}});
  return d;
}

std::string write_file(const test::TempDir& dir, const std::string& name, const Json& j) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << j.dump(2);
  return path;
}

std::map<std::string, Json> server_records(ServerFixture& f, const std::string& reviewer) {
  std::map<std::string, Json> out;
  for (auto& r : f.records(reviewer)) {
    if (!r["deleted"].get<bool>()) out[r["id"].get<std::string>()] = r["fields"];
  }
  return out;
}

}  // namespace

TEST_CASE("a laptop on version 1 syncs after the server moved to version 2: nothing lost") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  const std::string v2 = write_file(files, "v2.json", v2_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"});
  Json person = test::konawe_enrolment(1);
  person["birth_place"] = "Unaaha";
  const std::string id = a.store->create("enrolment", person);
  a.sync();
  REQUIRE(a.store->pending_count() == 0);

  // Offline for months on version 1: edits of the renamed and the retired field, a new
  // record, and a birth place valid under version 1 only.
  a.store->update("enrolment", id, {{"phone", "081234500001"}, {"position", "kaur umum"}});
  Json second = test::konawe_enrolment(2);
  second["position"] = "kasi pemerintahan";
  const std::string id2 = a.store->create("enrolment", second);
  a.store->update("enrolment", id, {{"birth_place", "Desa Lambuya Kecamatan Konawe"}});
  a.store->update("enrolment", id2, {{"occupation", "petani"}});
  REQUIRE(a.store->pending_count() == 4);

  // The office deploys version 2 (the server publishes it at start, migrating its records),
  // on the address the laptop knows.
  const uint16_t port = f.server().port();
  f.stop();
  f.set_extra_args({"--schema", v2});
  f.start(port);
  CHECK(f.http().get("/v1/schema", reviewer).json()["version"] == 2);

  SyncReport r = a.sync();
  CHECK(a.store->pending_count() == 0);
  CHECK(r.refused == 1);
  const auto refused = a.store->refused_changes();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].field == "birth_place");
  CHECK(refused[0].code == "validation_failed");
  CHECK(refused[0].message.find("newer_schema_rule") == 0);
  CHECK(refused[0].message.find("tighten_rule enrolment.birth_place in version 2") !=
        std::string::npos);

  // Upgraded on the server: the renamed field under its new name, the retired one gone
  // from the live record, the new record whole.
  auto recs = server_records(f, reviewer);
  REQUIRE(recs.count(id) == 1);
  REQUIRE(recs.count(id2) == 1);
  CHECK(recs[id]["phone_number"] == "081234500001");
  CHECK_FALSE(recs[id].contains("phone"));
  CHECK_FALSE(recs[id].contains("position"));
  CHECK(recs[id]["birth_place"] == "Unaaha");  // the refused value did not land
  CHECK(recs[id2]["phone_number"] == test::konawe_enrolment(2)["phone"]);
  CHECK(recs[id2]["occupation"] == "petani");
  CHECK_FALSE(recs[id2].contains("position"));

  // The refused change is kept for review, saying why.
  auto queue = f.http().get("/v1/refused", reviewer).json();
  REQUIRE(queue["refused"].size() == 1);
  CHECK(queue["refused"][0]["message"].get<std::string>().find("newer_schema_rule") == 0);

  // The retired values stay in the record's history: the log keeps them as "ret".
  test::Device d = f.device("office-reader", {"74.02"});
  int with_ret = 0;
  for (const auto& op : f.pull_all(d)) {
    if (op.contains("ret")) {
      ++with_ret;
      CHECK(op["sv"] == 2);
      CHECK(op["ret"].contains("position"));
      CHECK_FALSE(op["set"].contains("position"));
    }
  }
  CHECK(with_ret == 3);  // the create and the edit of `id`, the create of `id2`
  auto page = f.http().get("/v1/pull?cursor=", d.token).json();
  CHECK(page["schema_version"] == 2);

  // The laptop keeps syncing on version 1 (it learns of version 2 from the pull).
  CHECK(r.server_schema_version == 2);
  a.store->update("enrolment", id2, {{"phone", "081234500002"}});
  r = a.sync();
  CHECK(r.refused == 0);
  CHECK(server_records(f, reviewer)[id2]["phone_number"] == "081234500002");

  // Nothing pending: it fetches version 2 and moves to it; its records take the new names.
  const Json doc = a.client->fetch_schema();
  REQUIRE(doc["version"] == 2);
  a.reopen(Schema::parse(doc));
  auto local = a.store->get("enrolment", id2);
  REQUIRE(local);
  CHECK(local->fields["phone_number"] == "081234500002");
  CHECK_FALSE(local->fields.contains("phone"));
  CHECK_FALSE(local->fields.contains("position"));

  // Writing under version 2: the renamed field, the added one, the new enum value. The
  // birth place the server refused is still the laptop's: the tighter rule asks it fixed.
  CHECK_THROWS_AS(a.store->update("enrolment", id, {{"npwp", "0123456789"}}), Error);
  a.store->update("enrolment", id,
                  {{"phone_number", "081234500003"},
                   {"npwp", "0123456789"},
                   {"occupation", "penenun"},
                   {"birth_place", "Lambuya"}});
  r = a.sync();
  CHECK(r.refused == 0);
  recs = server_records(f, reviewer);
  CHECK(recs[id]["phone_number"] == "081234500003");
  CHECK(recs[id]["npwp"] == "0123456789");
  CHECK(recs[id]["occupation"] == "penenun");
  CHECK(recs[id]["birth_place"] == "Lambuya");

  // A laptop set up on version 2 pulls the whole log, old ops read in version 2 names.
  Laptop c(f, "laptop-c", {"74.02"});
  c.reopen(Schema::parse(doc));
  c.sync();
  CHECK(c.contents() == server_records(f, reviewer));
}

TEST_CASE("a laptop that pulled version 2 values while on version 1 moves to version 2 whole") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  const std::string v2 = write_file(files, "v2.json", v2_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(3));
  a.sync();
  b.sync();
  const uint16_t port = f.server().port();
  f.stop();
  f.set_extra_args({"--schema", v2});
  f.start(port);
  const Json doc = a.client->fetch_schema();
  a.reopen(Schema::parse(doc));
  a.store->update("enrolment", id, {{"phone_number", "081234500009"}});
  a.sync();
  // B, still on version 1, receives the value under the name it does not know yet...
  SyncReport rb = b.sync();
  CHECK(rb.server_schema_version == 2);
  CHECK(b.store->get("enrolment", id)->fields["phone_number"] == "081234500009");
  // B can still edit the record on version 1: the field it does not know is not its edit's.
  b.store->update("enrolment", id, {{"monthly_income", 2500000}});
  b.sync();
  a.sync();
  CHECK(a.store->get("enrolment", id)->fields["monthly_income"] == 2500000);
  // ...and on moving, the newer value wins over its own older "phone".
  b.reopen(Schema::parse(doc));
  auto rec = b.store->get("enrolment", id);
  CHECK(rec->fields["phone_number"] == "081234500009");
  CHECK_FALSE(rec->fields.contains("phone"));
  CHECK_FALSE(rec->fields.contains("position"));
  CHECK(b.contents() == server_records(f, reviewer));
  CHECK(a.contents() == server_records(f, reviewer));
}

TEST_CASE("a laptop on version 1 with unsent changes moves to version 3 then syncs: nothing lost") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"});
  Json first = test::konawe_enrolment(31);
  first["address"] = "Jl. Poros";
  const std::string id = a.store->create("enrolment", first);
  a.sync();

  // Months offline under version 1: an edit of a field renamed twice and of two fields
  // retired (one in each version), a new record, an address valid under version 1 only.
  a.store->update("enrolment", id,
                  {{"phone", "081234500031"}, {"position", "kaur umum"}, {"email", "w@desa.id"}});
  Json second = test::konawe_enrolment(32);
  second["position"] = "kasi pemerintahan";
  second["email"] = "j@desa.id";
  const std::string id2 = a.store->create("enrolment", second);
  a.store->update("enrolment", id,
                  {{"address", "Jalan Poros Unaaha Lambuya Kilometer 12, Desa Lambuya"}});
  REQUIRE(a.store->pending_count() == 3);

  // Meanwhile the office publishes versions 2 and 3 (live).
  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);
  REQUIRE(f.http().post("/v1/admin/schema", v3_document(), f.admin()).status == 201);

  // The laptop takes version 3 with its changes unsent: records renamed in one transaction,
  // the changes kept as written.
  const Json doc = a.client->fetch_schema();
  REQUIRE(doc["version"] == 3);
  a.reopen(Schema::parse(doc));
  CHECK(a.store->schema().version() == 3);
  CHECK(a.store->pending_count() == 3);
  auto local = a.store->get("enrolment", id)->fields;
  CHECK(local["mobile_phone"] == "081234500031");
  for (const char* gone : {"phone", "phone_number", "position", "email"}) {
    CHECK_FALSE(local.contains(gone));
  }
  CHECK(a.store->get("enrolment", id2)->fields["mobile_phone"] == second["phone"]);

  // It syncs: everything acknowledged, each change under its version-3 name, the address
  // refused by version 3's rule and kept for review.
  SyncReport r = a.sync();
  CHECK(a.store->pending_count() == 0);
  CHECK(r.refused == 1);
  const auto refused = a.store->refused_changes();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].field == "address");
  CHECK(refused[0].message.find("newer_schema_rule") == 0);
  CHECK(refused[0].message.find("tighten_rule enrolment.address in version 3") !=
        std::string::npos);
  auto recs = server_records(f, reviewer);
  REQUIRE(recs.count(id2) == 1);
  CHECK(recs[id]["mobile_phone"] == "081234500031");
  CHECK(recs[id]["address"] == "Jl. Poros");
  CHECK(recs[id2]["mobile_phone"] == second["phone"]);
  for (const auto& rid : {id, id2}) {
    for (const char* gone : {"phone", "phone_number", "position", "email"}) {
      CHECK_FALSE(recs[rid].contains(gone));
    }
  }
  CHECK(f.http().get("/v1/refused", reviewer).json()["refused"].size() == 1);
  // The retired values are in the record's history (the log's "ret"), none lost.
  test::Device reader = f.device("office-reader", {"74.02"});
  std::set<std::string> kept;
  for (const auto& op : f.pull_all(reader)) {
    if (!op.contains("ret")) continue;
    CHECK(op["sv"] == 3);
    for (const auto& [k, v] : op["ret"].items()) kept.insert(k + "=" + v.get<std::string>());
  }
  for (const char* v :
       {"position=kaur umum", "email=w@desa.id", "position=kasi pemerintahan", "email=j@desa.id"}) {
    CHECK_MESSAGE(kept.count(v) == 1, v);
  }

  // On version 3 afterwards: it writes the new field, the new value, a shorter address.
  a.store->update("enrolment", id,
                  {{"mother_name", "Siti"}, {"payment_source", "CSR"}, {"address", "Jl. Poros 2"}});
  r = a.sync();
  CHECK(r.refused == 0);
  recs = server_records(f, reviewer);
  CHECK(recs[id]["mother_name"] == "Siti");
  CHECK(recs[id]["payment_source"] == "CSR");
  CHECK(a.contents() == recs);
}

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
#ifndef LUMBUNG_TEST_POSTGRES
  // The renamed personal field stays sealed: no phone number in clear in the files.
  std::string bytes;
  for (const char* ext : {"", "-wal"}) {
    std::ifstream in(f.data_dir() + "/lumbung-server.db" + ext, std::ios::binary);
    bytes += std::string(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 4096);
  CHECK(bytes.find("081234500021") == std::string::npos);
  CHECK(bytes.find(test::konawe_enrolment(22)["phone"].get<std::string>()) == std::string::npos);
#endif
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

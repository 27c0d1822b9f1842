// Schema versions through the real lumbung-server (issue 18): a laptop still on version 1
// syncs after the server moved to version 2 (a renamed field, a retired field, an added
// field, an enum value, a tightened rule). Nothing is lost, old ops are upgraded, an op
// that breaks the newer rule is refused with rule "newer_schema_rule" and kept for review.
// Publication, unknown versions and the server's view of its laptops: schema_publish_test.cpp.
#include <doctest/doctest.h>

#include <set>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/schema_versions_support.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/laptop.h"
#include "support/temp_dir.h"

using namespace lumbung;
using test::Laptop;
using test::ServerFixture;
using namespace lumbung::test::versions;

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
  // The record on the laptop holds the server's birth place again, under the server's
  // version; what the officer typed is in the refused list (and the log).
  CHECK(refused[0].set["birth_place"] == "Desa Lambuya Kecamatan Konawe");
  const auto mine = a.store->get("enrolment", id);
  REQUIRE(mine);
  CHECK(mine->fields["birth_place"] == "Unaaha");
  CHECK(mine->versions.at("birth_place") == mine->versions.at("nik"));  // the create's

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

  // Writing under version 2: the renamed field, the added one, the new enum value, and the
  // birth place typed again as the tighter rule wants it.
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

// A value refused by a newer rule does not stay in the laptop's record (where it would
// take part in the laptop's merges as a write the server has): the push answer gives the
// server's values back ("held"). Here another officer deletes the record meanwhile: with
// the refused edit kept, the laptop read that delete as one that had not seen its edit and
// kept the record alive, while the server had deleted it (tests/sim --publications seed 114).
TEST_CASE("a value refused by a newer rule leaves the laptop's record and a delete reaches it") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  const std::string v2 = write_file(files, "v2.json", v2_document());
  ServerFixture f({"--schema", v1});
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"});
  Json person = test::konawe_enrolment(4);
  person["birth_place"] = "Unaaha";
  const std::string id = a.store->create("enrolment", person);
  const std::string kept = a.store->create("enrolment", test::konawe_enrolment(5));
  a.sync();
  const uint16_t port = f.server().port();
  f.stop();
  f.set_extra_args({"--schema", v2});
  f.start(port);
  // Another officer, on version 2, deletes the record...
  Laptop b(f, "laptop-b", {"74.02"});
  b.reopen(Schema::parse(b.client->fetch_schema()));
  b.sync();
  REQUIRE(b.store->get("enrolment", id));
  b.store->remove("enrolment", id);
  b.sync();
  REQUIRE(server_records(f, reviewer).count(id) == 0);
  // ...while A, offline on version 1, then writes a birth place version 2 refuses (after
  // the delete: kept, that write would outrank it) and an edit it accepts.
  a.store->update("enrolment", id, {{"birth_place", "Desa Lambuya Kecamatan Konawe"}});
  a.store->update("enrolment", kept, {{"birth_place", "Lambuya"}});

  SyncReport r = a.sync();
  CHECK(r.refused == 1);
  const auto refused = a.store->refused_changes();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].record_id == id);
  CHECK(refused[0].set["birth_place"] == "Desa Lambuya Kecamatan Konawe");
  // The delete reached the laptop; the accepted edit landed; once on version 2 (the server's
  // names), the laptop equals the server.
  CHECK_FALSE(a.store->get("enrolment", id));
  CHECK(a.store->get("enrolment", kept)->fields["birth_place"] == "Lambuya");
  CHECK(a.store->pending_count() == 0);
  a.reopen(Schema::parse(a.client->fetch_schema()));
  CHECK(a.contents() == server_records(f, reviewer));
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

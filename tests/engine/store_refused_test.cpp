// What a refusal does to the laptop's record (engine/src/store/store_refused.cpp): the
// server's answer says what it holds of the refused change's fields ("held",
// docs/PROTOCOL.md "Refused ops"); fields still at the change's version take those values
// under the server's version, so the refused value lives in the log and the refused list
// only. Through the real server: tests/server/schema_versions_test.cpp and sync_test.cpp.
#include <doctest/doctest.h>

#include "lumbung/changeset.h"
#include "lumbung/store.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;

namespace {

std::unique_ptr<Store> open_store(const test::TempDir& dir) {
  OpenOptions o;
  o.path = dir.path() + "/a.db";
  o.schema = test::enrolment_schema();
  o.device_id = "dev-a";
  return Store::open(o);
}

RefusedChange refusal(uint64_t seq, const std::string& id, Json held) {
  RefusedChange r;
  r.seq = seq;
  r.collection = "enrolment";
  r.record_id = id;
  r.code = "validation_failed";
  r.field = "phone";
  r.message = "op seq " + std::to_string(seq) + ": refused";
  r.held = std::move(held);
  return r;
}

Json held_of(const Record& r, const std::vector<std::string>& fields) {
  Json set = Json::object();
  for (const auto& f : fields) {
    set[f] = r.fields.contains(f) ? Json::array({r.fields[f], encode_version(r.versions.at(f))})
                                  : Json();
  }
  return Json{{"set", set}, {"tombstone", nullptr}};
}

// What a record that came back whole looks like in a pull: one "rec" op.
Op rec_op(const std::string& id, const Record& r, uint64_t hlc) {
  Json versions = Json::object();
  for (const auto& [field, v] : r.versions) versions[field] = encode_version(v);
  return decode_op(
      Json{{"seq", 9},
           {"col", "enrolment"},
           {"id", id},
           {"hlc", hlc},
           {"dev", "server"},
           {"rec", {{"fields", r.fields}, {"versions", versions}, {"tombstone", nullptr}}}},
      "");
}

}  // namespace

TEST_CASE("a refused edit's fields take the server's values and versions back") {
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(1));  // seq 1
  const Record before = *s->get("enrolment", id);
  s->update("enrolment", id, {{"phone", "081200000001"}, {"email", "a@b.id"}});  // seq 2
  s->acknowledge(2);
  // The server holds the create's phone and no e-mail.
  Json held = held_of(before, {"phone", "email"});
  s->record_refused({refusal(2, id, held)});
  const Record after = *s->get("enrolment", id);
  CHECK(after.fields["phone"] == before.fields["phone"]);
  CHECK(after.versions.at("phone") == before.versions.at("phone"));
  CHECK_FALSE(after.fields.contains("email"));
  CHECK(after.versions.count("email") == 0);
  // The refused list keeps what was typed.
  const auto list = s->refused_changes();
  REQUIRE(list.size() == 1);
  CHECK(list[0].set["phone"] == "081200000001");
  CHECK(list[0].set["email"] == "a@b.id");
  CHECK(s->pending_count() == 0);  // nothing re-sent
}

TEST_CASE("a field written again after the refused change keeps the later value") {
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(2));
  const Record before = *s->get("enrolment", id);
  s->update("enrolment", id, {{"phone", "081200000002"}, {"monthly_income", 3000000}});  // 2
  s->update("enrolment", id, {{"phone", "081200000003"}});                               // 3
  s->acknowledge(2);
  s->record_refused({refusal(2, id, held_of(before, {"phone", "monthly_income"}))});
  const Record after = *s->get("enrolment", id);
  CHECK(after.fields["phone"] == "081200000003");  // seq 3, still to be pushed
  CHECK(after.fields["monthly_income"] == before.fields["monthly_income"]);
  CHECK(s->pending_count() == 1);
}

TEST_CASE("a refused delete takes the server's tombstone back") {
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(3));
  s->remove("enrolment", id);  // seq 2
  s->acknowledge(2);
  REQUIRE_FALSE(s->get("enrolment", id));
  s->record_refused({refusal(2, id, Json{{"set", Json::object()}, {"tombstone", nullptr}})});
  const auto back = s->get("enrolment", id);
  REQUIRE(back);
  CHECK_FALSE(back->deleted);
  const auto list = s->refused_changes();
  REQUIRE(list.size() == 1);
  CHECK(list[0].set.is_null());  // a delete writes no values
}

TEST_CASE("an out_of_scope refusal heard again leaves the record that came back since") {
  // tests/sim --restores seed 25122: a laptop's edit was refused as out of its regions (the
  // restored server had the record elsewhere), so the record moved away; the record then
  // moved into the laptop's regions and arrived whole; the push went again (its answer
  // lost) and was refused again - and that repeat moved the record away for good.
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(4));  // seq 1
  s->update("enrolment", id, {{"phone", "081200000004"}});                   // seq 2
  s->acknowledge(2);
  const Record before = *s->get("enrolment", id);
  RefusedChange r = refusal(2, id, Json());
  r.code = "out_of_scope";
  s->record_refused({r});
  REQUIRE_FALSE(s->get("enrolment", id));  // moved away

  s->apply_remote({rec_op(id, before, before.versions.at("phone").hlc + 5)});
  REQUIRE(s->get("enrolment", id));

  s->record_refused({r});  // the same refusal, heard again
  const auto kept = s->get("enrolment", id);
  REQUIRE(kept);
  CHECK(kept->fields == before.fields);
  CHECK(s->refused_changes().size() == 1);
}

TEST_CASE("a refusal the server repeats after a rewind leaves the record as it came back") {
  // The seed itself (tests/sim --restores 25122): the laptop's delete was refused as out of
  // its regions; the record came back whole; then the laptop sent its log again from the
  // start (Store::rewind_acknowledged: its ops had been re-stamped) and the server refused
  // the delete again. The rewind used to drop the refusal and join the delete into the
  // record: the record ended deleted on the laptop and live on the server.
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(5));  // seq 1
  const Record live = *s->get("enrolment", id);
  s->remove("enrolment", id);  // seq 2
  s->acknowledge(2);
  RefusedChange r = refusal(2, id, Json());
  r.code = "out_of_scope";
  s->record_refused({r});
  s->apply_remote({rec_op(id, live, live.versions.at("phone").hlc + 5)});
  REQUIRE(s->get("enrolment", id));

  s->rewind_acknowledged(0);
  CHECK(s->refused_changes().size() == 1);  // kept until judged again
  // The answer to the log sent again, as take_push_answer applies it.
  s->record_refused({r});
  s->settle_refusals(1, 2, {2});
  s->acknowledge(2);
  const auto kept = s->get("enrolment", id);
  REQUIRE(kept);
  CHECK_FALSE(kept->deleted);
  CHECK(kept->fields == live.fields);
  CHECK(s->refused_changes().size() == 1);
}

TEST_CASE("a refusal the server no longer repeats after a rewind is dropped - the write joins") {
  // The server lost the history that refused the change and took it this time (tests/sim
  // --restores seeds 1406, 51849): the refusal goes and the officer's value is the record's.
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(6));  // seq 1
  const Record before = *s->get("enrolment", id);
  s->update("enrolment", id, {{"phone", "081200000006"}});  // seq 2
  s->acknowledge(2);
  s->record_refused({refusal(2, id, held_of(before, {"phone"}))});
  REQUIRE(s->get("enrolment", id)->fields["phone"] == before.fields["phone"]);

  s->rewind_acknowledged(0);
  s->settle_refusals(1, 2, {});  // acknowledged, refused nothing
  s->acknowledge(2);
  CHECK(s->refused_changes().empty());
  CHECK(s->get("enrolment", id)->fields["phone"] == "081200000006");
  CHECK(s->pending_count() == 0);
}

TEST_CASE("a held that is not what the protocol says changes nothing") {
  test::TempDir dir;
  auto s = open_store(dir);
  const std::string id = s->create("enrolment", test::konawe_enrolment(4));
  s->update("enrolment", id, {{"phone", "081200000004"}});  // seq 2
  s->acknowledge(2);
  const Record before = *s->get("enrolment", id);
  const Json bad[] = {
      Json::array({1, 2}),
      Json{{"set", {{"phone", "no version"}}}, {"tombstone", nullptr}},
      Json{{"set", {{"phone", Json::array({"0812", Json::array({"x", "y"})})}}},
           {"tombstone", nullptr}},
      Json{{"set", {{"phone", nullptr}}}},  // no tombstone member
      Json{{"set", Json::array()}, {"tombstone", nullptr}},
  };
  uint64_t seq = 2;
  for (const Json& h : bad) {
    CAPTURE(h.dump());
    s->record_refused({refusal(seq, id, h)});
    const Record now = *s->get("enrolment", id);
    CHECK(now.fields == before.fields);
    CHECK(now.versions == before.versions);
  }
  // Without held (a server that does not send it), the value stays as before too.
  s->record_refused({refusal(seq, id, Json())});
  CHECK(s->get("enrolment", id)->fields["phone"] == "081200000004");
}

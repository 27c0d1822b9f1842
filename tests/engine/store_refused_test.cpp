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

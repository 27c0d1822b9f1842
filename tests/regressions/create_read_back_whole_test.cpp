// Regression (found by the soak, tests/sim seeds 1946 and 2101): a create is logged without
// its values and read back from the record when pushed (engine/src/store/store.cpp). A field
// edited before the push was left out of the create and sent only in the edit's own entry,
// so a replica that applied the create alone (the edit fell on the next pull page, or the
// device crashed between pages) held a record without its required name; the officer's next
// edit of it was refused ("Nama lengkap is required"). Fix: the read-back create carries
// every field's current value; the later entry still brings the newer version. Since
// issue 11's restore work a create is logged with its own values (whole by construction);
// this test keeps both properties: the create alone is a whole record, and later entries
// bring the later values with their own versions.
#include <doctest/doctest.h>

#include "lumbung/store.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;

namespace {

std::unique_ptr<Store> open_store(const test::TempDir& dir, const std::string& id) {
  OpenOptions o;
  o.path = dir.file(id + ".db");
  o.schema = test::enrolment_schema();
  o.device_id = id;
  return Store::open(o);
}

}  // namespace

TEST_CASE("a create applied without the edits logged after it is a whole record") {
  test::TempDir dir;
  auto a = open_store(dir, "dev-a");
  auto b = open_store(dir, "dev-b");
  const std::string id = a->create("enrolment", test::sample_enrolment(1));
  a->update("enrolment", id, {{"full_name", "Siti Rahma"}});
  a->update("enrolment", id, {{"status", "submitted"}, {"position", nullptr}});

  const auto wire = a->pending_wire(10);
  REQUIRE(wire.size() == 3);
  std::vector<Op> ops;
  for (const auto& w : wire) ops.push_back(decode_op(Json::parse(w.json), a->device_id()));

  // Only the first page arrived: the create.
  REQUIRE(b->apply_remote({ops[0]}).applied == 1);
  const auto partial = b->get("enrolment", id);
  REQUIRE(partial);
  CHECK(b->validate("enrolment", partial->fields).empty());
  // The create as it was written (not the later name: that is another version's value).
  CHECK(partial->fields.at("full_name") == test::sample_enrolment(1).at("full_name"));
  b->update("enrolment", id, {{"monthly_income", 2500000}});  // was refused before the fix

  // The rest arrives: the same values and versions as the writer, for the fields a wrote.
  b->apply_remote({ops[1], ops[2]});
  const auto full = b->get("enrolment", id);
  const auto mine = a->get("enrolment", id);
  REQUIRE(full);
  REQUIRE(mine);
  for (const char* f : {"full_name", "status", "nik", "village_code"}) {
    CAPTURE(f);
    CHECK(full->fields.at(f) == mine->fields.at(f));
    CHECK(full->versions.at(f) == mine->versions.at(f));
  }
  CHECK_FALSE(full->fields.contains("position"));
  CHECK(full->versions.at("position") == mine->versions.at("position"));
}

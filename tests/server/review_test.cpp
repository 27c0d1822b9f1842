// The review API against the real lumbung-server: concurrent edits of one field open a
// conflict that a reviewer resolves (the resolution reaches every device); one NIK
// enrolled twice opens a duplicate entry that a reviewer merges.
#include <doctest/doctest.h>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {
json find_record(const json& records, const std::string& id) {
  for (const auto& r : records) {
    if (r["id"] == id) return r;
  }
  return json();
}
}  // namespace

TEST_CASE(
    "concurrent edits: different fields both survive - same field -> one conflict - resolved "
    "everywhere") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();
  const uint64_t h0 = hlc_now();
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", h0, konawe_record_1())})).status == 200);
  std::string ca, cb;
  f.pull_all(a, &ca);
  REQUIRE(f.pull_all(b, &cb).size() == 1);
  const json seen = json::array({h0, "dev-a"});

  // Offline: A edits phone and position, B edits phone and monthly_income.
  auto pa =
      f.push(a, json::array({make_op(2, "rec-1", h0 + 10,
                                     json{{"phone", "081111111111"}, {"position", "kaur umum"}},
                                     json{{"phone", seen}, {"position", seen}})}));
  REQUIRE(pa.status == 200);
  CHECK(pa.json()["conflicts"] == 0);
  auto pb =
      f.push(b, json::array({make_op(1, "rec-1", h0 + 20,
                                     json{{"phone", "082222222222"}, {"monthly_income", 7000000}},
                                     json{{"phone", seen}, {"monthly_income", seen}})}));
  REQUIRE(pb.status == 200);
  CHECK(pb.json()["conflicts"] == 1);

  json rec = find_record(f.records(reviewer), "rec-1");
  CHECK(rec["fields"]["position"] == "kaur umum");    // A's other field kept
  CHECK(rec["fields"]["monthly_income"] == 7000000);  // B's other field kept
  CHECK(rec["fields"]["phone"] == "082222222222");    // later write wins

  auto list = f.http().get("/v1/conflicts?status=open", reviewer);
  REQUIRE(list.status == 200);
  json conflicts = list.json()["conflicts"];
  REQUIRE(conflicts.size() == 1);
  json c = conflicts[0];
  CHECK(c["kind"] == "concurrent_update");
  CHECK(c["field"] == "phone");
  CHECK(c["winner"]["value"] == "082222222222");
  CHECK(c["loser"]["value"] == "081111111111");
  CHECK(c["loser"]["version"][1] == "dev-a");

  // A device may not resolve; a reviewer may.
  const std::string id = c["id"];
  CHECK(
      f.http().post("/v1/conflicts/" + id + "/resolve", json{{"keep", "loser"}}, a.token).status ==
      403);
  CHECK(f.http()
            .post("/v1/conflicts/" + id + "/resolve", json{{"keep", "neither"}}, reviewer)
            .status == 400);
  auto res = f.http().post("/v1/conflicts/" + id + "/resolve", json{{"keep", "loser"}}, reviewer);
  REQUIRE_MESSAGE(res.status == 200, res.body);
  CHECK(res.json()["status"] == "resolved");
  CHECK(res.json()["resolution"]["value"] == "081111111111");
  CHECK(res.json()["resolution"]["op"]["dev"] == "server");
  auto again =
      f.http().post("/v1/conflicts/" + id + "/resolve", json{{"keep", "winner"}}, reviewer);
  CHECK(again.status == 409);
  CHECK(f.http().post("/v1/conflicts/nope/resolve", json{{"keep", "winner"}}, reviewer).status ==
        404);

  // The resolution reaches both devices.
  for (auto dc : {std::make_pair(&a, &ca), std::make_pair(&b, &cb)}) {
    json ops = f.pull_all(*dc.first, dc.second);
    bool found = false;
    for (const auto& op : ops) {
      if (op["dev"] == "server" && op["id"] == "rec-1" && op["set"]["phone"] == "081111111111") {
        found = true;
        CHECK(op["base"]["phone"] == json::array({h0 + 20, "dev-b"}));
      }
    }
    CHECK_MESSAGE(found, "device " << dc.first->id);
  }
  CHECK(find_record(f.records(reviewer), "rec-1")["fields"]["phone"] == "081111111111");
  CHECK(f.http().get("/v1/conflicts?status=open", reviewer).json()["conflicts"].empty());
  json resolved = f.http().get("/v1/conflicts?status=resolved", reviewer).json()["conflicts"];
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0]["resolution"]["by"]["role"] == "reviewer");
  CHECK(f.http().get("/v1/conflicts?status=bogus", reviewer).status == 400);
}

TEST_CASE(
    "one NIK from two devices -> a duplicate entry - merging deletes the other with merged_into") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();
  json full = konawe_record_1();
  json partial = konawe_record_1();
  partial.erase("position");
  partial.erase("phone");
  REQUIRE(f.push(a, json::array({make_op(1, "rec-a", hlc_now(), full)})).status == 200);
  auto pb = f.push(b, json::array({make_op(1, "rec-b", hlc_now(1), partial)}));
  REQUIRE(pb.status == 200);
  CHECK(pb.json()["duplicates"] == 1);
  std::string ca, cb;
  f.pull_all(a, &ca);
  f.pull_all(b, &cb);

  auto list = f.http().get("/v1/duplicates", reviewer);
  REQUIRE(list.status == 200);
  json dups = list.json()["duplicates"];
  REQUIRE(dups.size() == 1);
  CHECK(dups[0]["record_ids"] == json::array({"rec-a", "rec-b"}));
  CHECK(dups[0]["records"].size() == 2);
  const std::string id = dups[0]["id"];

  CHECK(f.http()
            .post("/v1/duplicates/" + id + "/merge", json{{"survivor", "rec-zzz"}}, reviewer)
            .status == 400);
  auto m = f.http().post("/v1/duplicates/" + id + "/merge", json{{"survivor", "rec-b"}}, reviewer);
  REQUIRE_MESSAGE(m.status == 200, m.body);
  CHECK(m.json()["status"] == "merged");
  const bool has_merged_into = m.json()["resolution"]["merged_into_field"];

  json records = f.records(reviewer);
  json ra = find_record(records, "rec-a");
  json rb = find_record(records, "rec-b");
  CHECK(ra["deleted"] == true);
  CHECK(ra["fields"]["nik"] == full["nik"]);  // history kept: values survive the delete
  CHECK(rb["deleted"] == false);
  CHECK(rb["fields"]["position"] == full["position"]);
  CHECK(rb["fields"]["phone"] == full["phone"]);
  CHECK(has_merged_into);  // schema/enrolment.schema.json declares merged_into
  CHECK(ra["fields"]["merged_into"] == "rec-b");
  CHECK(m.json()["resolution"]["merged"] == "rec-a");

  // Both devices receive the merge: fill of rec-b, (merged_into,) delete of rec-a.
  for (auto dc : {std::make_pair(&a, &ca), std::make_pair(&b, &cb)}) {
    json ops = f.pull_all(*dc.first, dc.second);
    bool deleted = false, filled = false;
    for (const auto& op : ops) {
      if (op["dev"] != "server") continue;
      if (op["id"] == "rec-a" && op.contains("del")) deleted = true;
      if (op["id"] == "rec-b" && op.contains("set") && op["set"].contains("position"))
        filled = true;
    }
    CHECK(deleted);
    CHECK(filled);
  }
  CHECK(f.http().get("/v1/duplicates", reviewer).json()["duplicates"].empty());
  CHECK(f.http().get("/v1/duplicates?status=merged", reviewer).json()["duplicates"].size() == 1);
  CHECK(f.http()
            .post("/v1/duplicates/" + id + "/merge", json{{"survivor", "rec-b"}}, reviewer)
            .status == 409);

  auto progress = f.http().get("/v1/progress?scope=74.02", reviewer);
  REQUIRE(progress.status == 200);
  CHECK(progress.json()["total"] == 1);
  CHECK(progress.json()["by_status"]["submitted"] == 1);
  CHECK(progress.json()["regions"]["kabupaten"]["7402"]["total"] == 1);
  CHECK(progress.json()["by_program"]["programs"]["JKK"] == 1);
}

// An edit/delete entry resolved by keeping the delete: the delete re-buries what the entry
// showed and what the kept delete had buried already (fields older than it), so it opens no
// entry for those; a field written after the delete that the entry did not show is still
// kept in an entry of its own (rule delete_over_unseen_edit). Before, every other field of
// the record opened an entry nobody asked for (11 of them for konawe_record_1).
TEST_CASE("keeping the delete of an edit-or-delete entry opens entries only for unseen writes") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();
  // Each device's versions rise with its seq, as a device's clock gives them (a server
  // re-stamps an op below its device's previous one: docs/PROTOCOL.md).
  uint64_t h = hlc_now();
  json created, deleted;
  for (const char* id : {"rec-1", "rec-2"}) {
    h += 100;
    created = json::array({h, "dev-a"});
    deleted = json::array({h + 10, "dev-a"});
    REQUIRE(f.push(a, json::array({make_op(a.next_seq++, id, h, konawe_record_1())})).status ==
            200);
    REQUIRE(f.push(a, json::array({make_delete(a.next_seq++, id, h + 10, created)})).status == 200);
    // b had not seen the delete: its edit of the phone opens an edit/delete entry.
    auto pb =
        f.push(b, json::array({make_op(b.next_seq++, id, h + 20, json{{"phone", "082222222222"}},
                                       json{{"phone", created}})}));
    REQUIRE(pb.status == 200);
    REQUIRE(pb.json()["conflicts"] == 1);
  }
  // rec-2 only: b then sees the delete and edits the income anyway (an informed revive: no
  // entry) - a write the phone's entry never showed.
  auto informed = f.push(
      b, json::array({make_op(b.next_seq++, "rec-2", h + 30, json{{"monthly_income", 5100000}},
                              json{{"monthly_income", created}, {"*", deleted}})}));
  REQUIRE(informed.status == 200);
  REQUIRE(informed.json()["conflicts"] == 0);

  auto open_of = [&f, &reviewer](const std::string& rid) {
    std::vector<json> out;
    const json list = f.http().get("/v1/conflicts?status=open", reviewer).json();
    for (const auto& c : list["conflicts"]) {
      if (c["record_id"] == rid) out.push_back(c);
    }
    return out;
  };
  for (const char* id : {"rec-1", "rec-2"}) {
    const auto open = open_of(id);
    REQUIRE(open.size() == 1);
    const json& c = open[0];
    REQUIRE(c["kind"] == "update_delete");
    REQUIRE(c["field"] == "phone");
    const std::string del_side = c["winner"]["value"].is_null() ? "winner" : "loser";
    auto res = f.http().post("/v1/conflicts/" + c["id"].get<std::string>() + "/resolve",
                             json{{"keep", del_side}}, reviewer);
    REQUIRE_MESSAGE(res.status == 200, res.body);
    CHECK(res.json()["resolution"]["value"] == "deleted");
    CHECK(find_record(f.records(reviewer), id)["deleted"] == true);
  }
  // rec-1: everything the delete buries was shown or buried already: no entry.
  CHECK(open_of("rec-1").empty());
  // rec-2: the income written after the delete was not shown: one entry, for it alone.
  const auto left = open_of("rec-2");
  REQUIRE(left.size() == 1);
  CHECK(left[0]["field"] == "monthly_income");
  CHECK(left[0]["kind"] == "update_delete");
}

// An edit that cleared a field, against a delete it had not seen: both sides of the entry are
// null, and only the entry's "delete" mark tells which side is the delete. Telling them apart
// by their versions took the newer null for the delete, so keeping a newer clearing edit
// deleted the record and buried a resolution's writes with no entry (tests/sim --restores
// seed 61134).
TEST_CASE("an edit-or-delete entry whose edit cleared the field marks its delete side") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();
  uint64_t h = hlc_now();
  for (const char* id : {"rec-1", "rec-2"}) {
    h += 100;
    const json created = json::array({h, "dev-a"});
    REQUIRE(f.push(a, json::array({make_op(a.next_seq++, id, h, konawe_record_1())})).status ==
            200);
    REQUIRE(f.push(a, json::array({make_delete(a.next_seq++, id, h + 10, created)})).status == 200);
    // b had not seen the delete; its later edit clears the position and revives the record.
    auto pb = f.push(b, json::array({make_op(b.next_seq++, id, h + 20, json{{"position", nullptr}},
                                             json{{"position", created}})}));
    REQUIRE(pb.status == 200);
    REQUIRE(pb.json()["conflicts"] == 1);
  }
  const json list = f.http().get("/v1/conflicts?status=open", reviewer).json();
  REQUIRE(list["conflicts"].size() == 2);
  for (const auto& c : list["conflicts"]) {
    REQUIRE(c["kind"] == "update_delete");
    CHECK(c["winner"]["value"].is_null());
    CHECK(c["loser"]["value"].is_null());
    // The edit is newer and stands: the winner; the delete is the loser and says so.
    CHECK(c["loser"]["delete"] == true);
    CHECK_FALSE(c["winner"].contains("delete"));
    const std::string id = c["record_id"];
    // rec-1: keep the edit (the record stays, position cleared); rec-2: keep the delete.
    const bool keep_edit = id == "rec-1";
    auto res = f.http().post("/v1/conflicts/" + c["id"].get<std::string>() + "/resolve",
                             json{{"keep", keep_edit ? "winner" : "loser"}}, reviewer);
    REQUIRE_MESSAGE(res.status == 200, res.body);
    CHECK(res.json()["resolution"]["value"] == (keep_edit ? "kept" : "deleted"));
    const json rec = find_record(f.records(reviewer), id);
    CHECK(rec["deleted"] == !keep_edit);
    if (keep_edit) CHECK(rec["fields"]["full_name"] == "Wulan Pratama");
  }
}

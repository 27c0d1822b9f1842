// The simulation's oracle (tests/sim/oracle.h) on hand-made traffic: what it counts as seen,
// when a pulled page counts, and which losses it reports.
#include "sim/oracle.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "support/enrolment.h"

namespace lumbung::sim {
namespace {

const char* const kRec = "00000000-0000-7000-8000-000000000001";

const CollectionSchema& enrolment() { return *test::enrolment_schema()->collection("enrolment"); }

// One device's side of the link, as FaultyLink reports it.
struct Dev {
  Oracle& o;
  std::string id;
  uint64_t seq = 0;

  // The harness asks for a write; the device pushes it at `hlc` and the push is answered.
  uint64_t write(Json set, uint64_t hlc, bool del = false) {
    ++seq;
    o.local_write(id, seq, kRec, del, set);
    Json op{{"seq", seq}, {"col", "enrolment"}, {"id", kRec}, {"hlc", hlc}};
    if (del) {
      op["del"] = true;
    } else {
      op["set"] = set;
    }
    o.push_sent(id, Json{{"device", id}, {"ops", Json::array({op})}});
    o.push_answered(id, Json{{"acked_seq", seq}, {"restamped", Json::array()}});
    return seq;
  }
  // A sync whose pull delivers one page from cursor `from` to `to`; the store's cursor ends
  // at `stored`.
  void pull(const Json& ops, const std::string& from, const std::string& to,
            const std::string& stored, bool completed = true) {
    o.sync_began(id, from);
    o.pull_answered(id, from, Json{{"ops", ops}, {"next", to}, {"more", false}});
    o.sync_ended(id, stored, completed);
  }
};

Json pulled(const std::string& dev, uint64_t seq, uint64_t hlc, Json set) {
  return Json{{"seq", seq}, {"col", "enrolment"}, {"id", kRec},
              {"hlc", hlc}, {"dev", dev},         {"set", std::move(set)}};
}

StateView one(Json fields, std::map<std::string, Version> versions, Version tombstone = {}) {
  RecordView r;
  r.fields = std::move(fields);
  r.versions = std::move(versions);
  r.tombstone = tombstone;
  Version newest;
  for (const auto& [f, v] : r.versions) newest = std::max(newest, v);
  r.deleted = !tombstone.empty() && !(newest > tombstone);
  return StateView{{kRec, r}};
}

Json entry(const std::string& kind, const std::string& field, const Json& winner, const Version& wv,
           const Json& loser, const Version& lv) {
  return Json{{"kind", kind},
              {"record_id", kRec},
              {"field", field},
              {"winner", {{"value", winner}, {"version", encode_version(wv)}}},
              {"loser", {{"value", loser}, {"version", encode_version(lv)}}},
              {"status", "open"}};
}

std::vector<std::string> check(Oracle& o, const StateView& server, const Json& conflicts,
                               const Json& refused = Json()) {
  return o.check(server, {}, {}, conflicts, refused);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST_CASE("oracle: overwriting a write the writer had pulled is ordinary") {
  Oracle o(enrolment());
  Dev a{o, "dev-a"}, b{o, "dev-b"};
  a.write({{"phone", "0811"}}, 100);
  b.pull(Json::array({pulled("dev-a", 1, 100, {{"phone", "0811"}})}), "", "c1", "c1");
  b.write({{"phone", "0822"}}, 200);
  const auto found = check(o, one({{"phone", "0822"}}, {{"phone", {200, "dev-b"}}}), Json::array());
  CHECK_MESSAGE(found.empty(), joined(found));
}

TEST_CASE("oracle: a pulled op without seq is known by its version") {
  Oracle o(enrolment());
  Dev a{o, "dev-a"}, b{o, "dev-b"};
  a.write({{"phone", "0811"}}, 100);
  Json op = pulled("dev-a", 1, 100, {{"phone", "0811"}});
  op.erase("seq");
  b.pull(Json::array({op}), "", "c1", "c1");
  b.write({{"phone", "0822"}}, 200);
  const auto found = check(o, one({{"phone", "0822"}}, {{"phone", {200, "dev-b"}}}), Json::array());
  CHECK_MESSAGE(found.empty(), joined(found));
}

TEST_CASE("oracle: overwriting an unseen write needs a conflict entry that keeps it") {
  Oracle o(enrolment());
  Dev a{o, "dev-a"}, b{o, "dev-b"};
  a.write({{"phone", "0811"}}, 100);
  b.write({{"phone", "0822"}}, 200);
  const StateView server = one({{"phone", "0822"}}, {{"phone", {200, "dev-b"}}});
  const auto found = check(o, server, Json::array());
  REQUIRE(found.size() == 1);
  CHECK(found[0].find("lost [overwrite]") != std::string::npos);
  Oracle o2(enrolment());
  Dev a2{o2, "dev-a"}, b2{o2, "dev-b"};
  a2.write({{"phone", "0811"}}, 100);
  b2.write({{"phone", "0822"}}, 200);
  const Json kept = Json::array(
      {entry("concurrent_update", "phone", "0822", {200, "dev-b"}, "0811", {100, "dev-a"})});
  CHECK(check(o2, server, kept).empty());
}

TEST_CASE("oracle: a page counts only once the stored cursor moved past it") {
  for (const bool applied : {false, true}) {
    Oracle o(enrolment());
    Dev a{o, "dev-a"}, b{o, "dev-b"};
    a.write({{"phone", "0811"}}, 100);
    // Received whole, but the device crashed (or the sync gave up) before committing it.
    b.pull(Json::array({pulled("dev-a", 1, 100, {{"phone", "0811"}})}), "", "c1",
           applied ? "c1" : "", /*completed=*/false);
    b.write({{"phone", "0822"}}, 200);
    const auto found =
        check(o, one({{"phone", "0822"}}, {{"phone", {200, "dev-b"}}}), Json::array());
    CHECK_MESSAGE(found.empty() == applied, joined(found));
  }
}

TEST_CASE("oracle: a completed sync that left a received page unapplied is reported") {
  Oracle o(enrolment());
  Dev a{o, "dev-a"}, b{o, "dev-b"};
  a.write({{"phone", "0811"}}, 100);
  b.pull(Json::array({pulled("dev-a", 1, 100, {{"phone", "0811"}})}), "", "c1", "");
  const auto found = check(o, one({{"phone", "0811"}}, {{"phone", {100, "dev-a"}}}), Json::array());
  REQUIRE(found.size() == 1);
  CHECK(found[0].find("never passed") != std::string::npos);
}

TEST_CASE("oracle: a re-stamped op is known by the version the server gave it") {
  Oracle o(enrolment());
  o.local_write("dev-a", 1, kRec, false, {{"phone", "0811"}});
  o.push_sent("dev-a", Json{{"device", "dev-a"},
                            {"ops", Json::array({{{"seq", 1},
                                                  {"col", "enrolment"},
                                                  {"id", kRec},
                                                  {"hlc", 999999},
                                                  {"set", {{"phone", "0811"}}}}})}});
  o.push_answered("dev-a",
                  Json{{"acked_seq", 1}, {"restamped", Json::array({{{"seq", 1}, {"hlc", 100}}})}});
  const auto found = check(o, one({{"phone", "0811"}}, {{"phone", {100, "dev-a"}}}), Json::array());
  CHECK_MESSAGE(found.empty(), joined(found));
  CHECK(!check(o, one({{"phone", "0811"}}, {{"phone", {999999, "dev-a"}}}), Json::array()).empty());
}

TEST_CASE("oracle: a delete of a record with an edit the deleter had not seen needs an entry") {
  auto run = [](const Json& conflicts) {
    Oracle o(enrolment());
    Dev a{o, "dev-a"}, b{o, "dev-b"};
    a.write({{"phone", "0811"}}, 100);
    b.pull(Json::array({pulled("dev-a", 1, 100, {{"phone", "0811"}})}), "", "c1", "c1");
    a.write({{"monthly_income", 2000000}}, 150);  // b never pulls it
    b.write({{"phone", "0822"}}, 160);            // b's own newer write hides nothing
    b.write(Json::object(), 170, /*del=*/true);
    return check(
        o,
        one({{"phone", "0822"}, {"monthly_income", 2000000}},
            {{"phone", {160, "dev-b"}}, {"monthly_income", {150, "dev-a"}}}, {170, "dev-b"}),
        conflicts);
  };
  const auto lost = run(Json::array());
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].find("lost [delete]") != std::string::npos);
  CHECK(lost[0].find("monthly_income") != std::string::npos);
  CHECK(run(Json::array({entry("update_delete", "monthly_income", Json(), {170, "dev-b"}, 2000000,
                               {150, "dev-a"})}))
            .empty());
}

TEST_CASE("oracle: a reviewer has seen only what the entry showed") {
  auto run = [](const Json& conflicts) {
    Oracle o(enrolment());
    Dev a{o, "dev-a"}, b{o, "dev-b"}, c{o, "dev-c"};
    a.write({{"phone", "0811"}}, 100);
    b.write({{"phone", "0822"}}, 110);
    c.pull(Json::array({pulled("dev-a", 1, 100, {{"phone", "0811"}}),
                        pulled("dev-b", 1, 110, {{"phone", "0822"}})}),
           "", "c1", "c1");
    c.write({{"phone", "0833"}}, 120);  // after the entry the reviewer is shown
    o.server_wrote(Json::array({{{"seq", 1},
                                 {"col", "enrolment"},
                                 {"id", kRec},
                                 {"hlc", 130},
                                 {"dev", "server"},
                                 {"set", {{"phone", "0811"}}}}}),
                   {{110, "dev-b"}, {100, "dev-a"}}, "resolution");
    Json all = Json::array(
        {entry("concurrent_update", "phone", "0822", {110, "dev-b"}, "0811", {100, "dev-a"})});
    for (const auto& e : conflicts) all.push_back(e);
    return check(o, one({{"phone", "0811"}}, {{"phone", {130, "server"}}}), all);
  };
  const auto lost = run(Json::array());
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].find("lost [resolution]") != std::string::npos);
  CHECK(lost[0].find("0833") != std::string::npos);
  CHECK(run(Json::array({entry("concurrent_update", "phone", "0811", {130, "server"}, "0833",
                               {120, "dev-c"})}))
            .empty());
}

TEST_CASE("oracle: a concurrent lower rank of a forward_only field must be kept too") {
  Oracle o(enrolment());
  Dev a{o, "dev-a"}, b{o, "dev-b"};
  a.write({{"status", "verified"}}, 100);
  b.write({{"status", "enrolled"}}, 90);
  const StateView server = one({{"status", "enrolled"}}, {{"status", {90, "dev-b"}}});
  const auto lost = check(o, server, Json::array());
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].find("lost [forward_only]") != std::string::npos);
  CHECK(check(o, server,
              Json::array({entry("concurrent_update", "status", "enrolled", {90, "dev-b"},
                                 "verified", {100, "dev-a"})}))
            .empty());
}

TEST_CASE("oracle: a refused op is kept when the refused queue lists it") {
  Oracle o(enrolment());
  o.local_write("dev-a", 1, kRec, false, {{"phone", "0811"}});
  o.push_sent("dev-a", Json{{"device", "dev-a"},
                            {"ops", Json::array({{{"seq", 1},
                                                  {"col", "enrolment"},
                                                  {"id", kRec},
                                                  {"hlc", 100},
                                                  {"set", {{"phone", "0811"}}}}})}});
  o.push_answered(
      "dev-a",
      Json{{"acked_seq", 1}, {"refused", Json::array({{{"seq", 1}, {"code", "out_of_scope"}}})}});
  const auto lost = check(o, StateView{}, Json::array(), Json::array());
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].find("lost [refused]") != std::string::npos);
  CHECK(check(o, StateView{}, Json::array(),
              Json::array({{{"device_id", "dev-a"}, {"seq", 1}, {"status", "open"}}}))
            .empty());
}

TEST_CASE("oracle: a refusal a restore took back counts when the new history refused again") {
  // Seed 56617: the device heard the refusal; the server was restored from a backup older
  // than it; a delayed copy of the push was refused again there and its answer was heard by
  // nobody, so the device never sent the op again.
  Oracle o(enrolment());
  o.server_backed_up();
  o.local_write("dev-a", 1, kRec, true, Json::object());
  o.push_sent(
      "dev-a",
      Json{{"device", "dev-a"},
           {"ops",
            Json::array(
                {{{"seq", 1}, {"col", "enrolment"}, {"id", kRec}, {"hlc", 100}, {"del", true}}})}});
  o.push_answered(
      "dev-a",
      Json{{"acked_seq", 1}, {"refused", Json::array({{{"seq", 1}, {"code", "out_of_scope"}}})}});
  o.server_restored();
  const StateView live = one(Json::object(), {});  // no tombstone
  // Not in the new history's refused queue: the delete must be in the record, and is not.
  const auto lost = check(o, live, Json::array(), Json::array());
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].find("tombstone older") != std::string::npos);
  // Refused again in the new history: kept there.
  CHECK(check(o, live, Json::array(),
              Json::array({{{"device_id", "dev-a"}, {"seq", 1}, {"status", "open"}}}))
            .empty());
}

TEST_CASE("oracle: a version a write carried before a second re-stamp still names that write") {
  // dev-a's write is re-stamped (100 -> 200), dev-b is shown it at 200 (an op known by its
  // version), then a server restored from a backup re-stamps it again (200 -> 300) from a
  // stale copy of the push. dev-b's overwrite had seen it (tests/sim --restores seed 3315).
  Oracle o(enrolment());
  Dev a{o, "dev-a"}, b{o, "dev-b"};
  a.write(Json{{"phone", "0811"}}, 100);
  auto restamp = [&](uint64_t hlc) {
    o.push_answered("dev-a", Json{{"acked_seq", 1},
                                  {"restamped", Json::array({Json{{"seq", 1}, {"hlc", hlc}}})}});
  };
  restamp(200);
  b.pull(Json::array({Json{{"col", "enrolment"}, {"id", kRec}, {"hlc", 200}, {"dev", "dev-a"}}}),
         "", "c1", "c1");
  restamp(300);
  b.write(Json{{"phone", "0822"}}, 400);
  const auto found = check(o, one({{"phone", "0822"}}, {{"phone", {400, "dev-b"}}}), Json::array());
  CHECK_MESSAGE(found.empty(), joined(found));
}

}  // namespace lumbung::sim

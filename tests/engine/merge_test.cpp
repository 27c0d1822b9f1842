// Merge laws on random inputs (fixed seeds) and the conflict rules, case by case.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "lumbung/merge.h"
#include "support/test_schema.h"

using namespace lumbung;

namespace {

const CollectionSchema& coll() { return *test::small_schema()->collection("t"); }

Op set_op(uint64_t hlc, const std::string& dev, Json set,
          std::map<std::string, Version> base = {}) {
  Op op;
  op.collection = "t";
  op.id = "r1";
  op.version = {hlc, dev};
  op.set = std::move(set);
  op.base = std::move(base);
  return op;
}

Op del_op(uint64_t hlc, const std::string& dev, Version seen) {
  Op op;
  op.collection = "t";
  op.id = "r1";
  op.version = {hlc, dev};
  op.is_delete = true;
  op.base["*"] = std::move(seen);
  return op;
}

bool same_state(const RecordState& x, const RecordState& y) {
  if (x.tombstone != y.tombstone || x.fields.size() != y.fields.size()) return false;
  for (const auto& [name, fv] : x.fields) {
    auto it = y.fields.find(name);
    if (it == y.fields.end() || it->second.value != fv.value || it->second.version != fv.version) {
      return false;
    }
  }
  return true;
}

// Random ops from `devices` devices on one record: sets of random fields (values drawn
// from a tiny alphabet so equal values happen), status moves, and deletes.
std::vector<Op> random_ops(std::mt19937_64& rng, int devices, int count) {
  static const char* fields[] = {"a", "b", "r", "st"};
  static const char* statuses[] = {"draft", "submitted", "verified", "rejected", "enrolled"};
  std::vector<Op> ops;
  std::vector<uint64_t> clocks(devices, 1000);
  for (int i = 0; i < count; ++i) {
    const int d = static_cast<int>(rng() % devices);
    clocks[d] += 1 + rng() % 3;
    // Devices sometimes share a clock value, so ties are broken by device id.
    const std::string dev = "d" + std::to_string(d);
    if (rng() % 8 == 0) {
      ops.push_back(del_op(clocks[d], dev, Version{clocks[d] - 1, dev}));
      continue;
    }
    Json set = Json::object();
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      const std::string f = fields[rng() % 4];
      if (f == "st") {
        set[f] = statuses[rng() % 5];
      } else if (rng() % 10 == 0) {
        set[f] = nullptr;
      } else {
        set[f] = std::string(1, static_cast<char>('x' + rng() % 3));
      }
    }
    std::map<std::string, Version> base;
    for (const auto& [f, _] : set.items()) {
      if (rng() % 2) base[f] = Version{clocks[d] - 1, "d" + std::to_string(rng() % devices)};
    }
    ops.push_back(set_op(clocks[d], dev, set, base));
  }
  return ops;
}

RecordState apply_all(const std::vector<Op>& ops) {
  RecordState st;
  for (const auto& op : ops) apply_op(coll(), st, op);
  return st;
}

}  // namespace

TEST_CASE("merge converges for any order and any duplication (200 seeds)") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto ops =
        random_ops(rng, 1 + static_cast<int>(seed % 5), 5 + static_cast<int>(seed % 40));
    const RecordState reference = apply_all(ops);
    for (int trial = 0; trial < 10; ++trial) {
      std::vector<Op> shuffled = ops;
      // Duplicate some ops (retries, overlapping pulls), then shuffle (reordering).
      for (size_t i = 0, n = ops.size(); i < n; ++i) {
        if (rng() % 3 == 0) shuffled.push_back(ops[i]);
      }
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      REQUIRE(same_state(apply_all(shuffled), reference));
    }
  }
}

TEST_CASE("merge is associative: grouping change sets differently gives one state") {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed * 7919);
    const auto ops = random_ops(rng, 3, 30);
    // Replica X receives the ops as three change sets in order 1,2,3; replica Y gets 3,1,2
    // where each set is internally reversed; replica Z gets everything twice.
    const size_t third = ops.size() / 3;
    std::vector<std::vector<Op>> sets = {{ops.begin(), ops.begin() + third},
                                         {ops.begin() + third, ops.begin() + 2 * third},
                                         {ops.begin() + 2 * third, ops.end()}};
    RecordState x, y, z;
    for (const auto& s : sets) {
      for (const auto& op : s) apply_op(coll(), x, op);
    }
    for (int i : {2, 0, 1}) {
      for (auto it = sets[i].rbegin(); it != sets[i].rend(); ++it) apply_op(coll(), y, *it);
    }
    for (int round = 0; round < 2; ++round) {
      for (const auto& op : ops) apply_op(coll(), z, op);
    }
    REQUIRE(same_state(x, y));
    REQUIRE(same_state(x, z));
  }
}

TEST_CASE("applying the same op twice changes nothing the second time") {
  RecordState st;
  const Op op = set_op(10, "d1", {{"a", "x"}});
  CHECK(apply_op(coll(), st, op).changed);
  const auto again = apply_op(coll(), st, op);
  CHECK_FALSE(again.changed);
  CHECK(again.conflicts.empty());
}

TEST_CASE("different fields edited on two devices both survive") {
  RecordState base;
  apply_op(coll(), base, set_op(10, "d1", {{"a", "x"}, {"b", "x"}}));
  const Version v10{10, "d1"};
  RecordState one = base, two = base;
  const Op a = set_op(20, "d1", {{"a", "from-d1"}}, {{"a", v10}});
  const Op b = set_op(21, "d2", {{"b", "from-d2"}}, {{"b", v10}});
  for (auto* st : {&one, &two}) {
    const auto r1 = apply_op(coll(), *st, st == &one ? a : b);
    const auto r2 = apply_op(coll(), *st, st == &one ? b : a);
    CHECK(r1.conflicts.empty());
    CHECK(r2.conflicts.empty());
  }
  CHECK(one.values() == Json({{"a", "from-d1"}, {"b", "from-d2"}}));
  CHECK(same_state(one, two));
}

TEST_CASE("same field edited on two devices: one winner everywhere - the loser kept") {
  RecordState base;
  apply_op(coll(), base, set_op(10, "d1", {{"a", "orig"}}));
  const Version v10{10, "d1"};
  const Op x = set_op(20, "d1", {{"a", "X"}}, {{"a", v10}});
  const Op y = set_op(25, "d2", {{"a", "Y"}}, {{"a", v10}});
  RecordState s1 = base, s2 = base;
  apply_op(coll(), s1, x);
  const auto r1 = apply_op(coll(), s1, y);
  apply_op(coll(), s2, y);
  const auto r2 = apply_op(coll(), s2, x);
  CHECK(s1.values()["a"] == "Y");
  CHECK(same_state(s1, s2));
  REQUIRE(r1.conflicts.size() == 1);
  REQUIRE(r2.conflicts.size() == 1);
  CHECK(r1.conflicts[0].id == r2.conflicts[0].id);  // both replicas name it the same
  CHECK(r1.conflicts[0].kind == ConflictKind::kConcurrentUpdate);
  CHECK(r1.conflicts[0].winner.value == "Y");
  CHECK(r1.conflicts[0].loser.value == "X");
  CHECK(r2.conflicts[0].loser.value == "X");
}

TEST_CASE("an overwrite that had seen the previous value is not a conflict") {
  RecordState st;
  apply_op(coll(), st, set_op(10, "d1", {{"a", "one"}}));
  const auto r = apply_op(coll(), st, set_op(20, "d2", {{"a", "two"}}, {{"a", Version{10, "d1"}}}));
  CHECK(r.conflicts.empty());
  CHECK(st.values()["a"] == "two");
}

TEST_CASE("concurrent equal values are not a conflict") {
  RecordState st;
  apply_op(coll(), st, set_op(10, "d1", {{"a", "one"}}));
  apply_op(coll(), st, set_op(20, "d1", {{"a", "same"}}, {{"a", Version{10, "d1"}}}));
  const auto r =
      apply_op(coll(), st, set_op(21, "d2", {{"a", "same"}}, {{"a", Version{10, "d1"}}}));
  CHECK(r.conflicts.empty());
}

TEST_CASE("forward-only status: the higher state wins whatever the clocks say") {
  RecordState s1, s2;
  const Op verified = set_op(10, "d1", {{"st", "verified"}});
  const Op submitted_later = set_op(99, "d2", {{"st", "submitted"}});
  apply_op(coll(), s1, verified);
  const auto r = apply_op(coll(), s1, submitted_later);
  apply_op(coll(), s2, submitted_later);
  apply_op(coll(), s2, verified);
  CHECK(s1.values()["st"] == "verified");
  CHECK(same_state(s1, s2));
  // Settled by the declared rule; d2 had not seen "verified", so its state is kept for review.
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].rule == ConflictRule::kUnseenRank);
  CHECK(r.conflicts[0].winner.value == "verified");
  CHECK(r.conflicts[0].loser.value == "submitted");
  // rejected outranks verified; enrolled outranks rejected.
  apply_op(coll(), s1, set_op(5, "d3", {{"st", "rejected"}}));
  CHECK(s1.values()["st"] == "rejected");
  apply_op(coll(), s1, set_op(4, "d3", {{"st", "enrolled"}}));
  CHECK(s1.values()["st"] == "enrolled");
}

TEST_CASE("needs-review field: every change of value opens a review item") {
  RecordState st;
  CHECK(apply_op(coll(), st, set_op(10, "d1", {{"r", "first"}})).conflicts.empty());
  const auto r =
      apply_op(coll(), st, set_op(20, "d1", {{"r", "second"}}, {{"r", Version{10, "d1"}}}));
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].kind == ConflictKind::kNeedsReview);
  CHECK(r.conflicts[0].winner.value == "second");  // last writer wins provisionally
  CHECK(r.conflicts[0].loser.value == "first");
  CHECK(st.values()["r"] == "second");
}

TEST_CASE("delete makes a tombstone: values are kept: a later edit revives") {
  RecordState st;
  apply_op(coll(), st, set_op(10, "d1", {{"a", "x"}}));
  apply_op(coll(), st, del_op(20, "d1", Version{10, "d1"}));
  CHECK_FALSE(st.live());
  CHECK(st.fields.at("a").value == "x");  // nothing erased
  apply_op(coll(), st, set_op(30, "d1", {{"b", "y"}}));
  CHECK(st.live());
}

TEST_CASE("an edit concurrent with a delete is an update_delete conflict - in either order") {
  RecordState base;
  apply_op(coll(), base, set_op(10, "d1", {{"a", "x"}}));
  const Op del = del_op(20, "d1", Version{10, "d1"});
  const Op edit = set_op(25, "d2", {{"a", "edited"}}, {{"a", Version{10, "d1"}}});
  RecordState s1 = base, s2 = base;
  apply_op(coll(), s1, del);
  const auto r1 = apply_op(coll(), s1, edit);
  apply_op(coll(), s2, edit);
  const auto r2 = apply_op(coll(), s2, del);
  CHECK(same_state(s1, s2));
  CHECK(s1.live());  // the edit is newer than the delete: the record lives on
  REQUIRE(r1.conflicts.size() == 1);
  REQUIRE(r2.conflicts.size() == 1);
  CHECK(r1.conflicts[0].kind == ConflictKind::kUpdateDelete);
  CHECK(r1.conflicts[0].id == r2.conflicts[0].id);
}

TEST_CASE("restamp_if_future replaces only versions beyond the skew bound") {
  const int64_t now = 1767225600000;
  const uint64_t fresh = hlc::make(now, 1);
  CHECK(restamp_if_future(hlc::make(now + 1000, 0), now, fresh) == hlc::make(now + 1000, 0));
  const int64_t year_2031 = now + 5LL * 365 * 24 * 3600 * 1000;
  CHECK(restamp_if_future(hlc::make(year_2031, 0), now, fresh) == fresh);
}

TEST_CASE("conflict ids do not depend on which side won") {
  const Version a{5, "d1"}, b{9, "d2"};
  CHECK(conflict_id(ConflictKind::kConcurrentUpdate, "t", "r", "a", a, b) ==
        conflict_id(ConflictKind::kConcurrentUpdate, "t", "r", "a", b, a));
  CHECK(conflict_id(ConflictKind::kConcurrentUpdate, "t", "r", "a", a, b) !=
        conflict_id(ConflictKind::kConcurrentUpdate, "t", "r", "b", a, b));
}

#include <doctest/doctest.h>

#include "lumbung/clock.h"
#include "lumbung/tuning.h"
#include "support/fake_clock.h"

using lumbung::HybridClock;
using lumbung::kMaxClockSkewMs;
using lumbung::test::FakeWallClock;
using lumbung::test::kToday;
namespace hlc = lumbung::hlc;

TEST_CASE("hlc follows the wall clock when it moves forward") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall);
  const uint64_t a = clock.now();
  CHECK(hlc::physical_ms(a) == kToday);
  CHECK(hlc::counter(a) == 0);
  const uint64_t b = clock.now();
  CHECK(b > a);
  CHECK(hlc::physical_ms(b) == kToday);  // same ms: the counter moves
  wall.advance(5);
  const uint64_t c = clock.now();
  CHECK(hlc::physical_ms(c) == kToday + 5);
  CHECK(hlc::counter(c) == 0);
}

TEST_CASE("hlc stays monotonic when the wall clock jumps back") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall);
  uint64_t prev = clock.now();
  wall.set(kToday - 3LL * 24 * 3600 * 1000);  // three days back (CMOS battery, manual set)
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = clock.now();
    REQUIRE(v > prev);
    prev = v;
  }
  CHECK(hlc::physical_ms(prev) == kToday);
}

TEST_CASE("hlc borrows the next millisecond when the counter is exhausted") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall, hlc::make(kToday, hlc::kCounterMask - 1));
  const uint64_t a = clock.now();
  CHECK(hlc::counter(a) == hlc::kCounterMask);
  const uint64_t b = clock.now();
  CHECK(b > a);
  CHECK(hlc::physical_ms(b) == kToday + 1);
}

TEST_CASE("hlc resumes above a persisted value after restart") {
  FakeWallClock wall(kToday - 1000);
  HybridClock clock(wall, hlc::make(kToday, 7));
  CHECK(clock.now() > hlc::make(kToday, 7));
}

TEST_CASE("observe absorbs remote clocks within the skew bound") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall);
  const uint64_t remote = hlc::make(kToday + 10 * 60 * 1000, 3);  // 10 minutes ahead
  CHECK_FALSE(clock.observe(remote));
  CHECK(clock.now() > remote);
}

TEST_CASE("observe clamps a far-future remote clock (a laptop set to 2031)") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall);
  const int64_t year_2031 = kToday + 5LL * 365 * 24 * 3600 * 1000;
  CHECK(clock.observe(hlc::make(year_2031, 0)));
  const uint64_t v = clock.now();
  CHECK(hlc::physical_ms(v) <= kToday + kMaxClockSkewMs);
  CHECK(hlc::physical_ms(v) >= kToday);
}

TEST_CASE("a far-ahead local clock is pulled back once the offset is corrected") {
  const int64_t year_2031 = kToday + 5LL * 365 * 24 * 3600 * 1000;
  FakeWallClock wall(year_2031);  // the laptop itself believes it is 2031
  HybridClock clock(wall);
  const uint64_t offline_write = clock.now();
  CHECK(hlc::physical_ms(offline_write) == year_2031);
  // At sync the server says it is really kToday.
  clock.set_offset_ms(kToday - year_2031);
  CHECK(clock.pull_back_if_ahead_of(kToday));
  CHECK_FALSE(clock.pull_back_if_ahead_of(kToday));
  const uint64_t next = clock.now();
  CHECK(hlc::physical_ms(next) == kToday);
  CHECK(clock.offset_ms() == kToday - year_2031);
}

// Regression (soak seed 52609): the store restores the offset learnt at the last sync when
// it reopens. A laptop whose wall clock went back two hours since then made that restore
// look like a far-ahead clock, and the clock was pulled back: the officer's next edit got
// an older version than the record's create, on the same laptop.
TEST_CASE("restoring a stale offset after the wall clock went back keeps the clock monotonic") {
  FakeWallClock wall(kToday);
  HybridClock before(wall);
  const uint64_t create = before.now();
  wall.set(kToday - 2 * 3600 * 1000);  // the laptop's clock lost two hours
  HybridClock reopened(wall, before.last());
  reopened.set_offset_ms(0);  // the offset the store kept
  CHECK(reopened.now() > create);
}

TEST_CASE("a small offset correction keeps the clock monotonic") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall);
  const uint64_t a = clock.now();
  clock.set_offset_ms(-5 * 60 * 1000);  // five minutes fast: within the bound
  CHECK(clock.now() > a);
}

TEST_CASE("now_after orders a local write after a version observe had to clamp") {
  // A laptop whose wall clock is 2 h behind (dead CMOS battery) pulls a record written at
  // the real time: observe() clamps what it absorbs to wall + kMaxClockSkewMs, so now()
  // alone would stamp the laptop's edit below the version the edit replaces.
  FakeWallClock wall(kToday - 2 * 3600 * 1000);
  HybridClock clock(wall);
  const uint64_t pulled = hlc::make(kToday, 3);
  CHECK(clock.observe(pulled));
  CHECK(clock.now() < pulled);  // why the write path needs now_after
  const uint64_t edit = clock.now_after(pulled);
  CHECK(edit > pulled);
  CHECK(clock.now() > edit);  // the clock stays monotonic from there
  // A floor below what the clock already issued changes nothing but the next tick.
  const uint64_t before = clock.now();
  CHECK(clock.now_after(hlc::make(kToday - 5 * 3600 * 1000, 0)) > before);
}

TEST_CASE("a unit of work gives back its clock changes when nothing else changed the clock") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall, hlc::make(kToday + 60'000, 4));  // ahead of the wall: counting
  const uint64_t start = clock.last();
  HybridClock::Tally tally;
  const uint64_t stamped = clock.now(&tally);
  CHECK(stamped == start + 1);
  clock.observe(hlc::make(kToday + 60'000, 9), &tally);
  clock.resume_above(hlc::make(kToday + 60'000, 12), &tally);
  CHECK(clock.now_after(0, &tally) == hlc::make(kToday + 60'000, 13));
  CHECK(tally.own == 4);
  clock.observe(hlc::make(kToday, 0), &tally);  // below last(): no change, not counted
  CHECK(tally.own == 4);

  CHECK(clock.give_back(tally));
  CHECK(clock.last() == start);
  CHECK(clock.now() == stamped);  // the value that never left the failed work, again

  HybridClock::Tally unused;
  CHECK_FALSE(clock.give_back(unused));  // nothing counted: nothing to give back
}

TEST_CASE("a unit of work gives nothing back once another change came after its own") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall, hlc::make(kToday + 60'000, 0));
  HybridClock::Tally first, second;
  clock.now(&first);
  SUBCASE("an uncounted change") { clock.now(); }
  SUBCASE("another unit's change") { clock.now(&second); }
  SUBCASE("an observe raising the clock") { clock.observe(hlc::make(kToday + 60'000, 50)); }
  SUBCASE("a pull back") {
    // Only the device does this; counted as a change all the same.
    HybridClock far(wall, hlc::make(kToday + 2 * kMaxClockSkewMs, 0));
    HybridClock::Tally t;
    far.now(&t);
    CHECK(far.pull_back_if_ahead_of(kToday));
    CHECK_FALSE(far.give_back(t));
    clock.now();
  }
  const uint64_t after = clock.last();
  CHECK_FALSE(clock.give_back(first));
  CHECK(clock.last() == after);
  CHECK(clock.now() > after);
}

TEST_CASE("a give back counts as a change: a unit counted since gives nothing back") {
  FakeWallClock wall(kToday);
  HybridClock clock(wall, hlc::make(kToday + 60'000, 0));
  HybridClock::Tally a, b;
  clock.now(&a);
  clock.now(&b);                    // b starts after a's change
  CHECK_FALSE(clock.give_back(a));  // b changed the clock after a
  CHECK(clock.give_back(b));        // b's own change only: taken back
  const uint64_t after_b = clock.last();
  CHECK(hlc::counter(after_b) == 1);  // a's stamp stays issued
}

// Time and versions: the hybrid logical clock (HLC) and the field version it stamps.
//
// An HLC value is a uint64: the high 48 bits are physical milliseconds since the Unix
// epoch, the low 16 bits a logical counter. It orders events like a wall clock when
// clocks are right and stays monotonic and causal when they are not.
//
// Bound against clocks far in the future (a laptop set to 2031): a replica never moves
// its own clock more than kMaxClockSkewMs ahead of its wall clock because of a remote
// timestamp (observe() clamps), and a receiver that is the authority (the server) re-stamps
// any incoming version more than kMaxClockSkewMs ahead of its own wall clock with its own
// clock (see merge.h restamp_if_future). So a write from a far-future laptop competes as if
// it was made when the server received it; it cannot win every conflict until 2031.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace lumbung {

// Where physical time comes from; tests inject a fake.
class WallClock {
 public:
  virtual ~WallClock() = default;
  // Milliseconds since the Unix epoch. May jump backwards or forwards.
  virtual int64_t now_ms() = 0;
};

// The system clock (std::chrono::system_clock).
WallClock& system_wall_clock();

namespace hlc {
constexpr int kCounterBits = 16;
constexpr uint64_t kCounterMask = (uint64_t{1} << kCounterBits) - 1;
inline uint64_t make(int64_t physical_ms, uint64_t counter) {
  return (static_cast<uint64_t>(physical_ms) << kCounterBits) | (counter & kCounterMask);
}
inline int64_t physical_ms(uint64_t h) { return static_cast<int64_t>(h >> kCounterBits); }
inline uint64_t counter(uint64_t h) { return h & kCounterMask; }
}  // namespace hlc

// The version of a field write: HLC value, then the writing device's id as a tie-break.
// Totally ordered; the empty version (hlc 0) is older than every real one.
struct Version {
  uint64_t hlc = 0;
  std::string device;

  bool empty() const { return hlc == 0; }
  friend bool operator==(const Version& a, const Version& b) {
    return a.hlc == b.hlc && a.device == b.device;
  }
  friend bool operator!=(const Version& a, const Version& b) { return !(a == b); }
  friend bool operator<(const Version& a, const Version& b) {
    return a.hlc != b.hlc ? a.hlc < b.hlc : a.device < b.device;
  }
  friend bool operator>(const Version& a, const Version& b) { return b < a; }
  friend bool operator<=(const Version& a, const Version& b) { return !(b < a); }
  friend bool operator>=(const Version& a, const Version& b) { return !(a < b); }
};

// A hybrid logical clock. Thread-safe: every call takes an internal mutex.
class HybridClock {
 public:
  // The changes one unit of work (a server write transaction) made to the clock, counted
  // by the calls below that take it, so that the work can give them back if it fails:
  // a refused request then changes nothing, the clock included, and the values the clock
  // issues next depend on the work that was kept (tests/sim --restores seed 18575: a
  // reviewer's refused resolution, delivered twice, stamped later server ops one higher).
  struct Tally {
    bool started = false;
    uint64_t before = 0;          // last() before the first change counted
    uint64_t changes_before = 0;  // the clock's count of changes then
    uint64_t own = 0;             // changes counted here
  };

  // `last` is the highest value this replica has issued or observed (persisted by the
  // store so the clock stays monotonic across restarts).
  explicit HybridClock(WallClock& wall, uint64_t last = 0);

  // A new value for a local event: greater than every value issued or observed before,
  // even if the wall clock went backwards.
  uint64_t now();
  uint64_t now(Tally* tally);

  // A new value greater than now() would give and than `floor`: the server re-stamping a
  // far-future op takes one after the versions the op replaces (its bases, capped at what
  // the server accepts), or the re-stamped op would lose to what it overwrote.
  uint64_t now_after(uint64_t floor, Tally* tally = nullptr);

  // Resumes above `issued`, a value this device issued elsewhere (another process writing
  // the same store): unlike observe(), never clamped, as the constructor's `last`.
  void resume_above(uint64_t issued, Tally* tally = nullptr);

  // Absorbs a remote value so that later now() values are greater than it. A remote
  // value whose physical part is more than kMaxClockSkewMs ahead of our wall clock is
  // clamped to wall + kMaxClockSkewMs first; returns true if it was clamped.
  bool observe(uint64_t remote, Tally* tally = nullptr);

  // Takes back the changes `tally` counted - last() returns to what it was before the
  // first of them - if nothing else changed the clock since (otherwise another unit of
  // work may hold a value issued after them, and nothing is taken back). Only for values
  // that never left the failed work: they may be issued again. Returns true if it did.
  bool give_back(const Tally& tally);

  // Corrects the physical source by `offset_ms` (what must be added to the wall clock to
  // get the authority's time), learnt at sync and restored when the store reopens. Values
  // stay monotonic: a wall clock that went back is absorbed by the counter.
  void set_offset_ms(int64_t offset_ms);

  // Given the authority's (server's) current time: if this clock has run more than
  // kMaxClockSkewMs ahead of it (it issued far-future values), pulls it back to the
  // corrected physical time so that new values are near real time again. The one place
  // monotonicity is given up, on purpose: call it only with the server's time, after the
  // server re-stamped the far-future values pushed (never from a persisted offset, which
  // may be stale: a laptop whose wall clock went back would rewind its own versions).
  // Returns true if it pulled back.
  bool pull_back_if_ahead_of(int64_t authority_now_ms);
  int64_t offset_ms() const;

  // Highest value issued or observed; what the store persists.
  uint64_t last() const;

  // Corrected physical time in ms (wall + offset).
  int64_t physical_now_ms() const;

 private:
  uint64_t next_locked();  // now(); the caller holds mu_
  // Counts a change of last_ from `before`, in `tally` if given; the caller holds mu_.
  void changed_locked(uint64_t before, Tally* tally);

  WallClock& wall_;
  mutable std::mutex mu_;
  uint64_t last_;
  int64_t offset_ms_ = 0;
  uint64_t changes_ = 0;  // how many times last_ changed (Tally, give_back)
};

}  // namespace lumbung

#include <chrono>

#include "lumbung/clock.h"
#include "lumbung/tuning.h"

namespace lumbung {
namespace {

class SystemWallClock final : public WallClock {
 public:
  int64_t now_ms() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace

WallClock& system_wall_clock() {
  static SystemWallClock clock;
  return clock;
}

HybridClock::HybridClock(WallClock& wall, uint64_t last) : wall_(wall), last_(last) {}

int64_t HybridClock::physical_now_ms() const { return wall_.now_ms() + offset_ms_; }

uint64_t HybridClock::now() { return now(nullptr); }

uint64_t HybridClock::now(Tally* tally) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t before = last_;
  const uint64_t h = next_locked();
  changed_locked(before, tally);
  return h;
}

uint64_t HybridClock::now_after(uint64_t floor, Tally* tally) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t before = last_;
  if (floor > last_) last_ = floor;
  const uint64_t h = next_locked();
  changed_locked(before, tally);
  return h;
}

void HybridClock::resume_above(uint64_t issued, Tally* tally) {
  std::lock_guard<std::mutex> lock(mu_);
  if (issued <= last_) return;
  const uint64_t before = last_;
  last_ = issued;
  changed_locked(before, tally);
}

void HybridClock::changed_locked(uint64_t before, Tally* tally) {
  if (tally) {
    if (!tally->started) {
      tally->started = true;
      tally->before = before;
      tally->changes_before = changes_;
    }
    ++tally->own;
  }
  ++changes_;
}

bool HybridClock::give_back(const Tally& tally) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!tally.started || changes_ != tally.changes_before + tally.own) return false;
  last_ = tally.before;
  ++changes_;  // a tally taken since sees a change that is not its own: it gives nothing back
  return true;
}

uint64_t HybridClock::next_locked() {
  const int64_t phys = physical_now_ms();
  const int64_t last_phys = hlc::physical_ms(last_);
  if (phys > last_phys) {
    last_ = hlc::make(phys, 0);
  } else if (hlc::counter(last_) < hlc::kCounterMask) {
    // Wall clock stalled or went back: keep the old physical part, count up.
    last_ += 1;
  } else {
    // 65,536 events in one ms (or a long stretch behind): borrow the next millisecond.
    last_ = hlc::make(last_phys + 1, 0);
  }
  return last_;
}

bool HybridClock::observe(uint64_t remote, Tally* tally) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t limit = physical_now_ms() + kMaxClockSkewMs;
  bool clamped = false;
  if (hlc::physical_ms(remote) > limit) {
    remote = hlc::make(limit, 0);
    clamped = true;
  }
  if (remote > last_) {
    const uint64_t before = last_;
    last_ = remote;
    changed_locked(before, tally);
  }
  return clamped;
}

void HybridClock::set_offset_ms(int64_t offset_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  offset_ms_ = offset_ms;
}

bool HybridClock::pull_back_if_ahead_of(int64_t authority_now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (hlc::physical_ms(last_) <= authority_now_ms + kMaxClockSkewMs) return false;
  last_ = hlc::make(authority_now_ms, 0);
  ++changes_;
  return true;
}

int64_t HybridClock::offset_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offset_ms_;
}

uint64_t HybridClock::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace lumbung

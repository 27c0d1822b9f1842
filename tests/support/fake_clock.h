// A wall clock tests set by hand, to drive the hybrid clock backwards and into the future.
#pragma once

#include <atomic>

#include "lumbung/clock.h"

namespace lumbung::test {

class FakeWallClock final : public WallClock {
 public:
  explicit FakeWallClock(int64_t ms) : ms_(ms) {}
  int64_t now_ms() override { return ms_.load(); }
  void set(int64_t ms) { ms_.store(ms); }
  void advance(int64_t ms) { ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> ms_;
};

// 2026-01-01T00:00:00Z, a fixed "today" for tests.
constexpr int64_t kToday = 1767225600000;

}  // namespace lumbung::test

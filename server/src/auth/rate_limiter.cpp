#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace lumbung::server {

RateLimiter::RateLimiter(double rate_per_sec, double burst, size_t max_keys)
    : rate_(rate_per_sec), burst_(std::max(1.0, burst)), max_keys_(std::max<size_t>(1, max_keys)) {}

void RateLimiter::forget_idle(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double refilled = it->second.tokens + (now_ms - it->second.last_ms) / 1000.0 * rate_;
    it = refilled >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

int64_t RateLimiter::acquire(const std::string& key, int64_t now_ms) {
  if (rate_ <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) forget_idle(now_ms);
    it = buckets_.emplace(key, Bucket{burst_, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.last_ms) {  // a clock stepping back refills nothing, takes nothing
    b.tokens = std::min(burst_, b.tokens + (now_ms - b.last_ms) / 1000.0 * rate_);
    b.last_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate_)));
}

}  // namespace lumbung::server

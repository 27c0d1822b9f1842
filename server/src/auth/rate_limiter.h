// Token-bucket rate limiting (per client address and per credential; docs/SECURITY.md).
//
// Each key (an address, a device id, a staff token id) owns a bucket of `burst` tokens that
// refills at `rate_per_sec`; a request takes one token or is refused with the whole seconds
// until one is back (the Retry-After of the 429). At most `max_keys` buckets are kept:
// beyond that, buckets that have refilled completely (idle keys) are forgotten, and if none
// has, all are (so an attacker spraying addresses costs memory, not correctness).
// Thread-safe (one mutex; the work under it is a hash lookup).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace lumbung::server {

class RateLimiter {
 public:
  // rate_per_sec <= 0 disables the limiter (acquire always allows).
  RateLimiter(double rate_per_sec, double burst, size_t max_keys);

  // 0 if the request may go ahead (a token was taken); otherwise the seconds (>= 1) until
  // a token will be available.
  int64_t acquire(const std::string& key, int64_t now_ms);

  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  void forget_idle(int64_t now_ms);

  double rate_;
  double burst_;
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace lumbung::server

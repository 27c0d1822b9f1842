// How many bytes the next push batch or pull page may carry: sized to the link, in bytes.
//
// A link that drops every few tens of KB never passes a transfer larger than that, and a
// transfer is all-or-nothing (a push batch is acknowledged whole, a pull page is applied
// whole). So transfers start small and grow while they arrive whole (x2 while one takes
// under half of kTransferTargetMs, +1/8 while under all of it; x4 was tried: on a link cut
// every 30 KB a push then carried 2.4x a clean one's bytes, not 1.35x). After a cut
// the size drops to a third of the bytes the link carried whole since the previous cut
// (or to half, if that is less), and never grows past that third again until the link
// carries more between cuts: the expected loss per cut is then about a sixth of what the
// link carries between cuts, one small transfer at most. On a clean link transfers
// reach the cap (or the size that takes kTransferTargetMs) within a few requests.
//
// Sizes are wire bytes (gzip'ed body). Push batches and pull pages are chosen by their JSON
// text, so each direction keeps the gzip ratio it measured (wire / text) to convert.
//
// Used by SyncClient::Run from the syncing thread and its helper task: thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>

namespace lumbung::sync_detail {

// First transfer: 8 KiB takes ~0.7 s on a 100 kbit/s 2G link, so even the first batch
// shows progress quickly and a cut costs little.
constexpr size_t kTransferInitialBytes = 8 * 1024;
// Smallest transfer: about five enrolment ops gzip'ed; below it headers (~400 B a request
// both ways) cost more than a cut does.
constexpr size_t kTransferMinBytes = 2 * 1024;
// Default cap: 1 MiB gzip'ed is far more than the 2,000 ops a batch or page holds anyway
// (kPushBatchOps, kPullPageOps: ~160 KB), so on a clean link the op limits rule.
constexpr size_t kTransferMaxBytes = 1024 * 1024;
// A transfer should take about this long at most: on 2G (~12 KB/s) transfers settle near
// 60-100 KB, so each request's round trip (~0.4 s there) costs under a tenth of the time,
// while a cut on a link that had not been cut before costs at most this much re-sending.
constexpr int64_t kTransferTargetMs = 8000;
// Gzip ratio (wire / JSON text) assumed before one was measured: a batch of ~60 enrolment
// ops gzips to ~0.15 of its JSON (measured on the workload).
constexpr double kAssumedGzipRatio = 0.15;
// Below this many bytes a second the link, not the CPU, is the bottleneck: bodies are then
// gzip'ed at level 9 (2-3% smaller than level 6 for batches of 60-120 ops, about twice the
// CPU: ~36 us a record against ~17, measured with zlib on 2,000 workload records; 2G
// takes ~7 ms a record to carry).
constexpr double kSlowLinkBytesPerSec = 1024 * 1024;

class TransferSizer {
 public:
  // `cap_bytes` 0 = kTransferMaxBytes; `first_bytes` 0 = kTransferInitialBytes.
  explicit TransferSizer(size_t cap_bytes = 0, size_t first_bytes = 0)
      : cap_(cap_bytes == 0 ? kTransferMaxBytes : std::max(cap_bytes, kTransferMinBytes)),
        target_(std::clamp(first_bytes == 0 ? kTransferInitialBytes : first_bytes,
                           kTransferMinBytes, cap_)) {}

  // Wire bytes the next transfer should stay under.
  size_t target() const {
    std::lock_guard<std::mutex> lock(mu_);
    return target_;
  }
  // True until a transfer showed the link moves more than kSlowLinkBytesPerSec.
  bool slow_link() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_per_sec_ < kSlowLinkBytesPerSec;
  }
  // A link failure was seen (on_cut) since this sizer began.
  bool cut_seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cut_seen_;
  }
  // JSON text bytes for that many wire bytes in one direction (0 push, 1 pull).
  size_t text_budget(int direction) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(static_cast<double>(target_) / ratio_[direction]);
  }
  // A transfer of `wire_bytes` (whose JSON text was `text_bytes`) arrived whole in `ms`;
  // the request and its answer carried `carried` bytes in all.
  void on_whole(int direction, size_t wire_bytes, size_t text_bytes, int64_t ms, size_t carried) {
    std::lock_guard<std::mutex> lock(mu_);
    carried_since_cut_ += carried;
    if (ms > 0 && carried > 16 * 1024) bytes_per_sec_ = 1000.0 * static_cast<double>(carried) / ms;
    if (text_bytes > 1024 && wire_bytes > 0) {
      ratio_[direction] = std::clamp(static_cast<double>(wire_bytes) / text_bytes, 0.02, 1.0);
    }
    // Only a transfer that filled most of the budget says the link can take more.
    if (wire_bytes < target_ / 2 || ms >= kTransferTargetMs) return;
    const size_t grown = ms < kTransferTargetMs / 2 ? target_ * 2 : target_ + target_ / 8;
    target_ = std::max(target_, std::min({grown, cap_, cut_cap()}));
  }
  // A transfer was cut (or the link failed while it was on its way) after `partial` bytes
  // of it were seen going through. The HTTP stack reports progress in chunks (or only at
  // the end), so half the transfer is assumed when it reported less.
  void on_cut(size_t partial) {
    std::lock_guard<std::mutex> lock(mu_);
    run_ = carried_since_cut_ + std::max(partial, target_ / 2);
    carried_since_cut_ = 0;
    cut_seen_ = true;
    target_ = std::max(kTransferMinBytes, std::min(target_ / 2, cut_cap()));
  }

 private:
  mutable std::mutex mu_;
  const size_t cap_;
  size_t target_;
  double ratio_[2] = {kAssumedGzipRatio, kAssumedGzipRatio};
  double bytes_per_sec_ = 0;  // of the last whole transfer large enough to tell
  bool cut_seen_ = false;
  size_t run_ = 0;                // bytes carried whole between the last two cuts
  size_t carried_since_cut_ = 0;  // ... and since the last one

  // After a cut: a third of what the link carries between cuts. Smaller transfers lose
  // less per cut but pay more in headers (~550 B a request both ways) and in gzip (a page
  // of 60 workload ops gzips ~14% worse than 2,000, one of 120 ~8% worse): on a link cut
  // every 30 KB a third came out cheapest in bytes of a quarter and a third.
  size_t cut_cap() const {
    if (!cut_seen_) return cap_;
    return std::max(kTransferMinBytes, std::max(run_, carried_since_cut_) / 3);
  }
};

}  // namespace lumbung::sync_detail

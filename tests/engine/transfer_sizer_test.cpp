// The sizing rules of push batches and pull pages (engine/src/sync/transfer_sizer.h), one
// case each: start, growth on a clean link, the cap, the shrink after a cut and the ceiling
// it leaves, the floor, and the gzip ratio learnt per direction.
#include <doctest/doctest.h>

#include "sync/transfer_sizer.h"

using namespace lumbung::sync_detail;

TEST_CASE("transfer sizer: starts at 8 KiB and doubles while transfers are whole and fast") {
  TransferSizer s;
  CHECK(s.target() == kTransferInitialBytes);
  s.on_whole(0, 8 * 1024, 55 * 1024, 1000, 9 * 1024);
  CHECK(s.target() == 16 * 1024);
  s.on_whole(0, 16 * 1024, 110 * 1024, 2000, 17 * 1024);
  CHECK(s.target() == 32 * 1024);
  // Slower than half the target time: an eighth more.
  s.on_whole(0, 32 * 1024, 220 * 1024, 5000, 33 * 1024);
  CHECK(s.target() == 36 * 1024);
  // Slower than the target time: no growth.
  s.on_whole(0, 36 * 1024, 250 * 1024, 9000, 37 * 1024);
  CHECK(s.target() == 36 * 1024);
}

TEST_CASE("transfer sizer: a short transfer says nothing about the link") {
  TransferSizer s;
  s.on_whole(0, 2 * 1024, 14 * 1024, 100, 3 * 1024);  // the last ops: under half the target
  CHECK(s.target() == kTransferInitialBytes);
}

TEST_CASE("transfer sizer: the cap and the first size are the caller's") {
  TransferSizer capped(20 * 1024);
  for (int i = 0; i < 10; ++i) capped.on_whole(1, capped.target(), capped.target() * 6, 100, 0);
  CHECK(capped.target() == 20 * 1024);
  TransferSizer tiny(1);  // below the floor: the floor
  CHECK(tiny.target() == kTransferMinBytes);
  TransferSizer lan(0, 512 * 1024);
  CHECK(lan.target() == 512 * 1024);
}

TEST_CASE("transfer sizer: after a cut a third of what the link carried between cuts") {
  TransferSizer s;
  s.on_whole(1, 8 * 1024, 55 * 1024, 500, 9 * 1024);     // 16 KiB next
  s.on_whole(1, 16 * 1024, 110 * 1024, 800, 17 * 1024);  // 32 KiB next, then cut
  s.on_cut(0);  // carried 26 KiB whole + half of the 32 KiB under way = 42 KiB
  CHECK(s.target() == 14 * 1024);
  // It grows back only up to that third while the link carries the same between cuts.
  for (int i = 0; i < 3; ++i) s.on_whole(1, s.target(), s.target() * 7, 300, s.target());
  CHECK(s.target() <= 14 * 1024 + 1);
  // Cut again at once: half, then never below the floor.
  for (int i = 0; i < 10; ++i) s.on_cut(0);
  CHECK(s.target() == kTransferMinBytes);
}

TEST_CASE("transfer sizer: the gzip ratio is learnt per direction") {
  TransferSizer s;
  CHECK(s.text_budget(0) == static_cast<size_t>(kTransferInitialBytes / kAssumedGzipRatio));
  s.on_whole(0, 4 * 1024, 40 * 1024, 9000, 0);  // push bodies gzip to a tenth
  CHECK(s.text_budget(0) == static_cast<size_t>(kTransferInitialBytes / 0.1));
  CHECK(s.text_budget(1) == static_cast<size_t>(kTransferInitialBytes / kAssumedGzipRatio));
  CHECK(s.slow_link());
  s.on_whole(1, 8 * 1024, 50 * 1024, 10, 64 * 1024);  // 64 KiB in 10 ms: a fast link
  CHECK_FALSE(s.slow_link());
}

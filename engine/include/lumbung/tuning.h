// Every tunable number of Lumbung in one place, each with the reason for its value.
// (Engine, server and tools read these; change a number here and its reason together.)
#pragma once

#include <cstddef>
#include <cstdint>

namespace lumbung {

// --- clocks -------------------------------------------------------------------------------
// How far ahead of the receiver's wall clock a timestamp may be before it is distrusted.
// Laptops in the field are often wrong by hours; one hour keeps honest-but-sloppy clocks
// (time zone set wrong, no NTP for weeks) ordering normally while a laptop set years ahead
// is re-stamped at the server instead of winning every conflict until its date comes.
constexpr int64_t kMaxClockSkewMs = 60LL * 60 * 1000;

// --- local store ----------------------------------------------------------------------------
// SQLite page cache per connection (negative = KiB). 16 MiB keeps a 100k-record store's
// indexes hot while staying inside a phone's budget (device peak RSS target is 64 MB).
constexpr int kSqliteCacheKiB = 16 * 1024;
// Most records a single query page returns; protects the C API and CLI from a caller
// asking for "everything" on a phone.
constexpr size_t kMaxQueryPageSize = 10000;
constexpr size_t kDefaultQueryPageSize = 100;

// scrypt cost N for the key that wraps a store's data key (r = 8, p = 1): 2^15 takes
// ~0.1 s and 32 MiB on a laptop core — paid once per open, slow enough to make guessing a
// lost laptop's passphrase expensive, small enough for a phone's memory.
constexpr uint64_t kScryptCost = uint64_t{1} << 15;

// --- sync / wire -----------------------------------------------------------------------------
// Ops per push batch. 2,000 records of ~350 B gzip to ~150 KB: about 10 s on a 128 kbit/s
// 2G link, short enough that a drop loses little work, long enough to keep requests per
// 1,000 records well under one.
constexpr size_t kPushBatchOps = 2000;
// Ops per pull page the server sends (same reasoning as kPushBatchOps).
constexpr size_t kPullPageOps = 2000;
// Largest body the server accepts, compressed and inflated. A full push batch inflates
// to ~1 MB; 8 MiB leaves room for wide records while bounding memory per request.
constexpr size_t kMaxBodyBytes = 8u * 1024 * 1024;
// Most ops in one push batch the server accepts (a client may send fewer).
constexpr size_t kMaxBatchOps = 10000;
// Deepest JSON nesting accepted from outside: records are flat objects with small arrays,
// so anything deeper than this is an attack or a bug.
constexpr int kMaxJsonDepth = 16;
// Longest string value accepted in any field.
constexpr size_t kMaxStringBytes = 4096;

}  // namespace lumbung

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
// SQLite page size for new database files (device and server; existing files keep theirs).
// Pulled and pushed records land on random index keys (UUIDv4 ids, NIKs, region codes), so a
// 2,000-record commit dirties most index pages; 16 KiB pages mean 4x fewer WAL frames and
// b-tree levels for the same bytes. Measured with lumbung-bench (100k records): pull
// 46k -> 57k records/s, local_write 76-85k -> 102-107k records/s, push unchanged.
constexpr int kSqlitePageBytes = 16384;
// WAL pages after which a commit copies the WAL back into the database file (SQLite's
// default is 1,000). A pulled page of 2,000 records dirties most index pages, so with a
// small limit nearly every page commit checkpointed (16% of pull time, an fsync each).
// 2,048 pages of 16 KiB: the WAL grows to ~32 MiB at most and checkpoints every few pages.
constexpr int kWalAutocheckpointPages = 2048;
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

// --- server security (docs/SECURITY.md) ---------------------------------------------------
// Default lifetime of a reviewer token. Reviewer tokens sit in lumbung-admin's environment
// on district-office PCs that several people share; 30 days bounds how long a copied token
// stays useful while asking the admin for a new one only once a month.
constexpr int64_t kReviewerTokenTtlHours = 24 * 30;
// Default lifetime of an admin token (the first one printed at start included). An admin
// token can mint every other credential, so it lives a week; `lumbung-server
// --new-admin-token` prints a fresh one for whoever holds the server's data directory.
constexpr int64_t kAdminTokenTtlHours = 24 * 7;
// Longest lifetime an admin may ask for when creating a reviewer or admin token (a year:
// a token nobody renews for longer than that is a token nobody watches).
constexpr int64_t kMaxStaffTokenTtlHours = 24 * 365;
// Token bucket per credential (device id, staff token id). An honest sync cannot go
// much faster than ~10 requests/s (a 2,000-op push takes the server >= 0.1 s, a pull page
// ~50 ms), so 50/s sustained with a burst of 200 (a 100k-record first sync is ~100
// requests) never slows a laptop, but a stolen token cannot hammer the server.
constexpr double kDeviceRatePerSec = 50.0;
constexpr double kDeviceRateBurst = 200.0;
// Token bucket per client address, checked before authentication (so guessing tokens or
// enrolment codes is slow too). Looser than per device: a district office puts 10-30
// laptops behind one NAT address.
constexpr double kAddressRatePerSec = 200.0;
constexpr double kAddressRateBurst = 600.0;
// Most client addresses / devices the limiter remembers; beyond it the fullest (idle)
// buckets are forgotten, so memory stays bounded under address spraying.
constexpr size_t kRateLimiterMaxKeys = 100000;
// A connection that receives less than kSlowClientMinBytes and is sent nothing for
// kSlowClientTimeoutMs is closed (also idle keep-alive connections). 30 s: a 2G link moves
// ~300 KB in that time, so only a stalled or deliberately trickling client hits it; the
// price is that a request the server takes longer than 30 s to answer is cut too (pushes
// of 2,000 ops take well under 1 s).
constexpr int kSlowClientTimeoutMs = 30000;
constexpr uint64_t kSlowClientMinBytes = 512;
// Most audit entries one GET /v1/admin/audit page returns.
constexpr size_t kAuditPageMax = 1000;

}  // namespace lumbung

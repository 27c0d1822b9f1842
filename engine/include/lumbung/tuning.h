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
// Largest status report (the `report` object of a push, serialised) the server keeps. The
// laptop's report is a handful of counters (~120 bytes); it is stored per device and sent
// in every devices listing, so a hostile device must not park megabytes there (413).
constexpr size_t kMaxStatusReportBytes = 4 * 1024;

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
// Slow clients (server/src/http/http_listener.cpp). A connection has kSlowClientTimeoutMs to
// send a whole request head (counted from the accept, or from the end of the previous answer,
// so an idle keep-alive connection is closed after it too), and a body or an answer must move
// at kSlowClientMinBytes per second on average after that same grace: a body of N bytes must
// be in within 30 s + N / 1 KiB/s. 30 s: a 2G link moves ~300 KB in that time. 1 KiB/s
// (8 kbit/s) is a fifth of a poor GPRS link; a laptop slower than that could not sync a
// day's work anyway. Before, any client sending 512 bytes per 30 s was never cut (issue 12).
// Time the server spends answering is not counted.
constexpr int kSlowClientTimeoutMs = 30000;
constexpr uint64_t kSlowClientMinBytes = 1024;  // bytes per second

// --- server: memory bounded before trust (docs/SECURITY.md "Limits") ---------------------
// Largest request head (request line and headers). A device's head is ~300 bytes (a 48-byte
// bearer token, a handful of headers); 16 KiB is what common servers allow (nginx: 4 x 8 KiB).
// Beyond it: 431 and the connection closed; cpprestsdk's listener kept any head whole.
constexpr size_t kMaxHeadBytes = 16 * 1024;
// Most header lines in one request head: our clients send fewer than 10, browsers ~20.
constexpr size_t kMaxHeaderCount = 64;
// Body limit of calls anyone may make without a token (POST /v1/devices/register: a code, a
// device id and a label, < 1 KiB) and of calls that take no JSON body. Whoever reaches the
// port can make the server hold this much per connection, no more.
constexpr size_t kMaxPublicBodyBytes = 16 * 1024;
// Body limit of staff calls (resolve, merge, refused apply/dismiss, admin codes and tokens):
// at most one record's values (a few KiB; 64 fields of kMaxStringBytes is 256 KiB).
constexpr size_t kMaxStaffBodyBytes = 1024 * 1024;
// Request bodies held at once, summed over all connections (received and not yet answered).
// 48 MiB is six bodies of kMaxBodyBytes or ~300 gzip'ed 2,000-op pushes of ~150 KB. A body
// that does not fit is refused (429, Retry-After: 1) before it is read.
constexpr size_t kMaxBufferedBodyBytes = 48u * 1024 * 1024;
// Heap a parsed JSON body is estimated to take (common/json_input.h), for one body and for
// all bodies being parsed or handled at once. nlohmann's DOM costs ~6x the text for real ops
// (a 2,000-op push with field bases: 1.9 MB of JSON, 11 MB parsed) but ~27x for "[{},{},...]";
// four such 8 MiB bodies took the server to 1.1 GiB. 64 MiB admits the largest honest body
// (8 MiB of ops, ~54 MB parsed); one that would take more is 413, and while others hold the
// budget a body is 429 (Retry-After: 1) before the parser allocates anything.
constexpr size_t kMaxJsonParseBytes = 64u * 1024 * 1024;
// Connections open at once. Each costs at most a head buffer and a TLS session (~60 KB);
// 512 is many times the laptops of a district syncing at the same minute. More are closed
// at accept.
constexpr size_t kMaxConnections = 512;
// After refusing a request without reading its body, the server shuts its side, then reads
// and throws away (16 KiB at a time, never kept) what the client is still sending, for at
// most kLingerMs or kLingerBytes, before closing: a client that reads the answer only after
// writing its whole body (cpprestsdk's client does) then gets its 413 or 401 instead of a
// connection reset. 16 MiB is twice the largest body; 5 s is ample on loopback or a LAN; on
// a slow link such a client gets the reset, but our sync client never sends that much.
constexpr int kLingerMs = 5000;
constexpr size_t kLingerBytes = 16u * 1024 * 1024;
// Most audit entries one GET /v1/admin/audit page returns.
constexpr size_t kAuditPageMax = 1000;

}  // namespace lumbung

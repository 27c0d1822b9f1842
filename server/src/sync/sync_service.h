// Push and pull: the heart of the server. Called by the router on the listener's threads;
// thread-safe (writes serialise on the store's write transaction, pulls read snapshots).
//
// Push applies a device's change set atomically: every op validated against the schema,
// checked against the device's scope, re-stamped if its clock is far in the future, merged
// with lumbung::apply_op (the same merge as the devices), appended to the global oplog;
// conflicts and duplicate natural keys are queued for review. Ops the device already
// pushed (seq <= acked_seq) are skipped, so a retry after a lost response applies nothing
// twice. Pull pages through the oplog after an opaque cursor, filtered to the device's
// scope, without the device's own ops.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/principal.h"
#include "lumbung/changeset.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "metrics/metrics.h"
#include "store/server_store.h"

namespace lumbung::server {

// Most oplog rows one pull examines. A device whose scope is a small share of the log
// gets an empty-but-advancing page (more=true) instead of a request that scans the whole
// log: 20,000 rows read in ~10 ms, so a pull answers quickly on any database size.
constexpr size_t kPullScanRows = 20000;

// Most duplicate entries one op opens. A NIK entered N times would otherwise open N^2/2
// pairs; linking each new record to the (up to) 8 lowest-id records with its key keeps the
// work per op bounded and still puts every copy in the review queue.
constexpr size_t kMaxDuplicatePairsPerOp = 8;

// The server's own device id: resolutions and merges are ops written by "server".
constexpr const char* kServerDevice = "server";

struct PushResult {
  uint64_t acked_seq = 0;
  size_t applied = 0;         // new ops accepted in this request
  size_t duplicates = 0;      // ops skipped because already acknowledged earlier
  size_t conflicts = 0;       // new conflict entries opened
  size_t duplicate_keys = 0;  // new duplicate entries opened
  std::vector<std::pair<uint64_t, uint64_t>> restamped;  // (seq, new hlc)
};

// What applying one op did (see SyncService::apply_locked).
struct OpOutcome {
  bool changed = false;
  size_t conflicts = 0;
  size_t duplicate_keys = 0;
};

// Pull cursor: base64url("v1:<pos>"), pos = the last oplog row examined. Throws
// Error(kInvalidArgument) for anything else; "" means the start (pos 0).
std::string encode_cursor(uint64_t pos);
uint64_t decode_cursor(const std::string& cursor);

// Region-code prefix in stored form: dots removed, digits only, 2/4/6/10 digits.
// Throws Error(kInvalidArgument).
std::string canonical_region_prefix(const std::string& text);

class SyncService {
 public:
  SyncService(const Schema& schema, ServerStore& store, HybridClock& clock, WallClock& wall,
              Metrics& metrics);

  // Throws Error (kProtocol, kValidationFailed, kUnknownField, kUnknownCollection,
  // kOutOfScope, kSeqGap, kBatchTooLarge, kForbidden) and changes nothing when it does.
  PushResult push(const Principal& device, Json body);

  // The pull response body (JSON text). `limit` 0 = kPullPageOps.
  std::string pull(const Principal& device, const std::string& cursor, size_t limit);

  // Applies one op inside an open write transaction: merge, save, log, conflicts,
  // duplicates. `scope` = the writer's prefixes to enforce, nullptr for the server's own ops.
  // The op's hlc must be final (re-stamped) and its set normalised.
  OpOutcome apply_locked(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                         const std::vector<std::string>* scope, int64_t now_ms);
  std::optional<OpOutcome> apply_fresh(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                                       const std::vector<std::string>* scope, int64_t now_ms);
  size_t pair_duplicates(WriteTxn& txn, const Op& op, const std::string& key, int64_t now_ms);

  // A new op written by the server itself (resolutions, merges): next server seq, a fresh
  // hlc. Caller fills collection/id/set/base/is_delete, then calls apply_locked.
  Op new_server_op(WriteTxn& txn);

  // Remembers that a device was seen (pulls do not write); flushed by flush_activity().
  void note_seen(const std::string& device_id, int64_t now_ms);
  std::map<std::string, int64_t> seen_snapshot() const;
  void flush_activity();

  int64_t now_ms() { return wall_.now_ms(); }
  HybridClock& clock() { return clock_; }
  const Schema& schema() const { return schema_; }

 private:
  const Schema& schema_;
  ServerStore& store_;
  HybridClock& clock_;
  WallClock& wall_;
  Metrics& metrics_;
  mutable std::mutex seen_mu_;
  std::map<std::string, int64_t> seen_;
};

}  // namespace lumbung::server

// Push and pull: the heart of the server. Called by the router on the listener's threads;
// thread-safe (writes serialise on the store's write transaction, pulls read snapshots).
//
// Push applies a device's change set atomically: every op validated against the schema,
// re-stamped if its clock is far in the future, and handed to OpWriter (scope, merge,
// oplog, review entries); an op that can never be applied as it stands is refused and
// kept, and the push goes on. Ops the device already
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
#include "lumbung/schema_versions.h"
#include "metrics/metrics.h"
#include "store/server_store.h"
#include "sync/op_writer.h"

namespace lumbung::server {

// Most oplog rows one pull examines. A device whose scope is a small share of the log
// gets an empty-but-advancing page (more=true) instead of a request that scans the whole
// log: 20,000 rows read in ~10 ms, so a pull answers quickly on any database size.
constexpr size_t kPullScanRows = 20000;
// Bounds of a pull's `max_bytes` (the ops' JSON text in one page, before gzip). A device on
// a link that drops every few tens of KB asks for small pages so each one arrives whole;
// 1 KiB still holds an enrolment op (~400 B) and a page never stops at zero ops anyway.
// 8 MiB is kMaxBodyBytes: a page no larger than the largest body the server takes.
constexpr size_t kPullMinPageBytes = 1024;
constexpr size_t kPullMaxPageBytes = 8u * 1024 * 1024;

struct RefusedOp {
  uint64_t seq = 0;
  Refusal why;
  // What the server holds of the fields the op wrote, by the names the op used:
  // {"set": {field: [value, version] | null}, "tombstone": version | null}; null when the
  // server does not hold the record or it lies outside the device's regions. The device
  // takes these over its own refused values (docs/PROTOCOL.md "Refused ops").
  Json held;
  size_t index = 0;  // the op's place in the pushed change set
};

struct PushResult {
  uint64_t acked_seq = 0;
  size_t applied = 0;                  // new ops accepted in this request
  size_t duplicates = 0;               // ops skipped because already acknowledged earlier
  size_t conflicts = 0;                // new conflict entries opened
  size_t duplicate_keys = 0;           // new duplicate entries opened (all regions)
  size_t duplicate_keys_in_scope = 0;  // of those, the ones the device may know of
  std::vector<std::pair<uint64_t, uint64_t>> restamped;  // (seq, new hlc)
  std::vector<RefusedOp> refused;                        // acknowledged, kept, not applied
  std::vector<std::pair<uint64_t, Json>> stored;         // (seq, {field: value as normalised})
};

// Pull cursor: base64url("v2:<epoch>:<pos>"), pos = the last oplog row examined, epoch =
// the server history it belongs to. decode_cursor throws Error(kInvalidArgument) for
// anything else; "" means the start; a version-1 cursor ("v1:<pos>") has no epoch.
struct Cursor {
  std::string epoch;
  uint64_t pos = 0;
};
std::string encode_cursor(const std::string& epoch, uint64_t pos);
Cursor decode_cursor(const std::string& cursor);
// True if `cursor` is a snapshot bootstrap's (sync/snapshot.cpp), not a log position.
bool is_snapshot_cursor(const std::string& cursor);

// Region-code prefix in stored form: dots removed, digits only, 2/4/6/10 digits.
// Throws Error(kInvalidArgument).
std::string canonical_region_prefix(const std::string& text);

// Where a server process's clock starts: at the last value its database recorded, and,
// when the database was restored from a copy (ServerStore::restored_at_start), also above
// wall + kMaxClockSkewMs. The lost history may have given out values above the copy's
// (its clock runs up to kMaxClockSkewMs ahead after it observes a fast laptop); starting
// above that bound means no version is given out twice, to two different writes (tests/sim
// --restores seed 4485). The cost: for up to an hour after a restore, versions the server
// stamps itself run ahead of its wall clock (docs/RELIABILITY.md).
uint64_t server_clock_start(ServerStore& store, WallClock& wall);

class SyncService {
 public:
  SyncService(const Schema& schema, ServerStore& store, HybridClock& clock, WallClock& wall,
              Metrics& metrics);

  // Applies a change set. Ops the server will never apply as they stand are refused and
  // kept (PushResult::refused), never a reason to reject the batch. Throws Error
  // (kProtocol, kSeqGap, kBatchTooLarge, kForbidden, kUnauthorized) and changes nothing
  // when the change set itself is unusable.
  PushResult push(const Principal& device, Json body);

  // The pull response body (JSON text). `limit` 0 = kPullPageOps. `max_bytes` 0 = no byte
  // budget; otherwise clamped to [kPullMinPageBytes, kPullMaxPageBytes]: the page ends
  // before the op whose JSON would take the ops' text past it (never before the first op),
  // with more=true and a cursor right after the last op sent.
  // `snapshot` with an empty cursor: a new device's bootstrap (sync/snapshot.cpp) - pages
  // of its regions' current records as "rec" ops, then the log from where they stand.
  // `refusals`: the device takes "refused" notices (an op of its own refused after it was
  // acknowledged, OpWriter::settle_waiting); a client that does not ask never gets one.
  // `compact`: the snapshot's "rec" ops give one shared version as "*" (snapshot=2).
  std::string pull(const Principal& device, const std::string& cursor, size_t limit,
                   size_t max_bytes = 0, bool snapshot = false, bool refusals = false,
                   bool compact = false);

  // snapshot=auto (sync/snapshot.cpp): whether a new device's first pull should be a
  // snapshot of its regions' records rather than a replay of the log. A replay reads the
  // log (on SQLite all of it, 20,000 rows a request), a snapshot the device's records: the
  // snapshot pays when the log holds more than kSnapshotLogPerRecord positions per live
  // record of the device's regions (a desa laptop on a province server; records edited
  // several times each). Where the log is little more than the records' creations (a
  // laptop for most of what the server holds) the replay is the smaller and faster first
  // pull (BENCHMARKS.md). Reads the progress counts and the log's horizon: no scan.
  bool snapshot_pays(const Principal& device);
  static constexpr uint64_t kSnapshotLogPerRecord = 2;

  // The one write path for ops (pushes, reviews, re-applied refusals).
  OpWriter& writer() { return writer_; }
  // This server history's id (a new one at every start: ServerStore::epochs).
  const std::string& epoch() const;

  // Remembers that a device was seen (pulls do not write); flushed by flush_activity().
  void note_seen(const std::string& device_id, int64_t now_ms);
  std::map<std::string, int64_t> seen_snapshot() const;
  void flush_activity();

  int64_t now_ms() { return wall_.now_ms(); }
  HybridClock& clock() { return clock_; }
  // The active version: the history's current when one is set, else the constructor's.
  const Schema& schema() const { return history_ ? history_->current() : schema_; }
  // The versions served (op_upgrade.h); pushed ops of older versions are upgraded. Unset:
  // every op is taken as written under schema_. A live publication (LiveSchema) sets a new
  // one while no request runs.
  void set_schema_history(const SchemaHistory* h) {
    history_ = h;
    writer_.set_schema(schema());
  }
  const SchemaHistory* schema_history() const { return history_; }
  ServerStore& store() { return store_; }

 private:
  std::optional<uint64_t> history_end(const std::string& epoch_id);
  // One page of a snapshot bootstrap (sync/snapshot.cpp); `cursor` "" starts one.
  std::string pull_snapshot(const Principal& device, const std::string& cursor, size_t limit,
                            size_t max_bytes, bool compact);
  const std::string& epoch_of(uint64_t pos) const;

  const Schema& schema_;
  const SchemaHistory* history_ = nullptr;
  ServerStore& store_;
  HybridClock& clock_;
  WallClock& wall_;
  Metrics& metrics_;
  OpWriter writer_;
  std::vector<Epoch> epochs_;  // fixed for the life of the process
  mutable std::mutex seen_mu_;
  std::map<std::string, int64_t> seen_;
};

}  // namespace lumbung::server

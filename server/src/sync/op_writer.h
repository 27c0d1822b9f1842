// The server's one write path for ops. Pushed ops (SyncService), reviewers' resolutions and
// merges (ReviewService) and re-applied refused ops all go through OpWriter::apply inside
// a write transaction: scope check, merge with lumbung::apply_op, record save, oplog
// append, conflict and duplicate entries, region-move notices. Not thread-safe by itself:
// the caller holds the store's write transaction, which serialises writers.
//
// A device's op that can never be applied as it stands is *refused*, not thrown: nothing is
// merged, the op is kept with its reason in the refused queue (RefusedRow) and the push
// goes on with the next op (docs/PROTOCOL.md "Refused ops").
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/clock.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

// The server's own device id: resolutions and merges are ops written by "server".
constexpr const char* kServerDevice = "server";

// Most duplicate entries one op opens. A NIK entered N times would otherwise open N^2/2
// pairs; linking each new record to the (up to) 8 lowest-id records with its key keeps the
// work per op bounded and still puts every copy in the review queue.
constexpr size_t kMaxDuplicatePairsPerOp = 8;

// Most review entries (conflicts and duplicate pairs) one device's ops may open in an
// hour. One push of 2,200 crafted ops opened 1,100 duplicate entries in 0.1 s and buried
// the queue (issue 12); a real officer re-enrolling a village someone else already did
// opens a few hundred at most. Past the bound an op is refused and kept, never lost: the
// office applies it when it has looked.
constexpr size_t kMaxReviewEntriesPerDeviceHour = 500;

// Why an op is refused: a stable code, the field at fault and a message for people.
struct Refusal {
  Refusal() = default;
  Refusal(ErrorCode c, std::string f, std::string m, std::string r = {})
      : code(c), field(std::move(f)), message(std::move(m)), rule(std::move(r)) {}
  ErrorCode code = ErrorCode::kValidationFailed;
  std::string field;
  std::string message;
  // A stable name of the rule when `code` alone does not say it: "newer_schema_rule" for an
  // op valid under the schema version it was written under but refused by a newer one
  // (sync/op_upgrade.h). "" otherwise.
  std::string rule;
};

// Another server process on the same database has made a newer schema version active than
// the one this process serves (WriteTxn::pin_schema_version): nothing may be written under
// the old field names. Router::handle catches it, brings this process up to that version
// (LiveSchema::catch_up) and runs the request once more; a client sees it only if that
// fails too, as kStorage (503, retry later).
struct SchemaMoved : Error {
  SchemaMoved(int served, int stored)
      : Error(ErrorCode::kStorage, "schema version " + std::to_string(stored) +
                                       " is active in the database; this server serves " +
                                       std::to_string(served)) {}
};

// What the writer may assume about an op before applying it.
struct OpContext {
  // The writing device's region prefixes, enforced where the record is and where the op
  // puts it; nullptr for the server's own ops (reviewers act everywhere).
  const std::vector<std::string>* scope = nullptr;
  // Set when the op, read as a whole record, breaks a rule (a required field missing, a
  // NIK that contradicts the birth date): refused if the server does not know the record.
  std::optional<Refusal> whole_record_issue;
};

// What applying one op did.
struct OpOutcome {
  bool changed = false;
  size_t conflicts = 0;
  size_t duplicate_keys = 0;           // duplicate entries opened (all regions)
  size_t duplicate_keys_in_scope = 0;  // of those, pairs whose other record the writer may see
  std::optional<Refusal> refused;      // set: nothing was applied; the refusal was recorded
  bool waiting = false;                // set: kept until its record arrives (acknowledged)
};

class OpWriter {
 public:
  OpWriter(const Schema& schema, HybridClock& clock) : schema_(&schema), clock_(clock) {}

  // Applies `op` (hlc final, set normalised). Returns a refusal (recorded in the refused
  // queue, nothing else written) instead of applying when the op is out of the writer's
  // scope, or creates a record the server does not know with an invalid whole record, or
  // edits a record whose creation by the same device was refused.
  // An edit or delete of a record the server does not have, by a writer that had seen it
  // (it names versions in its base), arrived before the record: after a restore from an
  // older copy the record's creator may send it again later. It is acknowledged and kept
  // in the refused queue with code kWaitingForRecord (`waiting`), and applied, with the
  // writer's regions checked then, as soon as an op brings the record.
  OpOutcome apply(WriteTxn& txn, const CollectionSchema& cs, const Op& op, const OpContext& ctx,
                  int64_t now_ms);

  // Records `op` as refused for `why` (idempotent per device and seq); `code` overrides
  // the code name of `why.code` (kWaitingForRecord).
  void refuse(WriteTxn& txn, const Op& op, const Refusal& why, int64_t now_ms,
              const char* code = nullptr);

  // Every caller of apply() calls this before it commits. An op that waited for its record
  // (kWaitingForRecord) and was tried when the record arrived but could not be applied
  // (e.g. the record lies outside its writer's regions) is tried once more, now that the
  // whole request is in (a move later in the same push may bring the record into the
  // writer's regions: tests/sim --restores seed 5632), and otherwise refused for good: its
  // entry takes the reason, and its writer, which was told it was accepted, is told of the
  // refusal in its next pull (a "refused" notice only it receives: docs/PROTOCOL.md).
  void settle_waiting(WriteTxn& txn, int64_t now_ms);

  // Tells `device` in its pull that its op `seq` on `collection`/`id` was refused: a notice
  // only that device receives (scope "@device"), `body` = {"device", "seq", "code", "field",
  // "message"[, "rule"][, "held"]}. Every refusal gets one, not only those given after the
  // op was acknowledged: a stale copy of a push, delivered into a restored server's new
  // history, may be refused there while its device, told in the lost history that the op
  // was accepted, never sends it again (tests/sim --restores seed 27481).
  void notify_refused(WriteTxn& txn, const std::string& device, const std::string& collection,
                      const std::string& id, const Json& body);

  // A new op written by the server itself (resolutions, merges, move notices): next server
  // seq, a fresh hlc. The caller fills collection/id/set/base/is_delete.
  Op new_server_op(WriteTxn& txn);

  // Called by apply() and refuse() before they write: pins the records' schema version for
  // the rest of the transaction (once) and throws SchemaMoved if it is not the one this
  // writer holds.
  void check_schema(WriteTxn& txn) const;

  HybridClock& clock() { return clock_; }
  const Schema& schema() const { return *schema_; }
  // A schema version published live (sync/op_upgrade.h LiveSchema), set while no write runs.
  void set_schema(const Schema& s) { schema_ = &s; }

 private:
  OpOutcome wait_for_record(WriteTxn& txn, const Op& op, const OpContext& ctx, int64_t now_ms);
  // The record `id` has just been written for the first time, or has moved: apply the ops
  // waiting for it that its writers may now make (not re-entered: the outer call goes on).
  void apply_waiting(WriteTxn& txn, const CollectionSchema& cs, const std::string& id,
                     int64_t now_ms);
  // Tries waiting op `w` again; on success its entry reads "applied".
  OpOutcome try_waiting(WriteTxn& txn, const CollectionSchema& cs, const RefusedRow& w,
                        int64_t now_ms);
  std::optional<OpOutcome> apply_fresh(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                                       const OpContext& ctx, int64_t now_ms);
  void pair_duplicates(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                       const std::vector<std::string>& others, const OpContext& ctx, int64_t now_ms,
                       OpOutcome& out);
  // Other live records with `key` (at most kMaxDuplicatePairsPerOp, never `op.id`).
  std::vector<std::string> same_key(WriteTxn& txn, const Op& op, const std::string& key);
  // A refusal if a device's op would open `entries` more review entries than its hourly
  // budget allows; otherwise counts them against it.
  std::optional<Refusal> spend_review_budget(const Op& op, const OpContext& ctx, size_t entries,
                                             int64_t now_ms);
  void log_move(WriteTxn& txn, const Op& cause, const RecordState& st, const std::string& from,
                const std::string& to);

  const Schema* schema_;
  HybridClock& clock_;
  // Review entries opened per device in the current hour (device -> (hour, count)), per
  // process. Several write transactions may run at once (PostgreSQL): hence the lock.
  std::mutex budget_mu_;
  std::map<std::string, std::pair<int64_t, size_t>> review_budget_;
};

// The region a record is in (its scope field's value), "" if none.
std::string scope_of(const CollectionSchema& cs, const RecordState& st);

// True if `scope` starts with one of `prefixes`.
bool in_scope(const std::string& scope, const std::vector<std::string>& prefixes);

}  // namespace lumbung::server

// The server's storage, behind an interface so that the HTTP and service layers do not
// know which database holds the data. SqliteServerStore (embedded, one file in --data) is
// the default; PgServerStore (--db, many stateless servers on one PostgreSQL database)
// implements the same interface.
//
// Model (docs/PROTOCOL.md "Endpoints" describes what clients see of it):
//   records     merge state of every record, encoded like the device store
//               (engine/src/store/record_codec.h): doc, versions, tombstone, scope, nkey
//   oplog       every accepted op in one global order `pos` (gap-free on SQLite; with gaps on
//               PostgreSQL, pg_server_store.h); pull cursors follow it
//   devices     registered devices: scope prefixes, token hash, acked_seq, activity
//   tokens      admin and reviewer tokens (hashes), with expiry and revocation
//   audit       append-only, keyed hash chain of who did what (server/src/audit/), and
//               audit_checkpoints: signed (count, head) marks of it
//   codes       one-time enrolment codes (hashes)
//   conflicts   conflict entries found by the merge, open or resolved
//   duplicates  pairs of live records with one natural key, open or merged
//   refused     ops acknowledged but never applied (out of scope, invalid), with their data,
//               reason and device, open until the office applies or dismisses them
//   epochs      the histories this database has had: one per server start, each with the
//               first oplog position it may use (positions are never reused: SyncService)
//   meta        server clock, the server's own op seq
//
// Concurrency contract: begin_write() gives a transaction that behaves as if it were the
// only writer (SQLite: one at a time; PostgreSQL: row and advisory locks on what it reads
// to change, so a read-modify-write never loses an update; it may throw kStorage on a
// deadlock). read_log never returns a row at a position below which a row of a still-open
// transaction could yet appear, so a cursor never passes an op that commits later. Read
// calls may run on any thread concurrently with writers and each sees committed data.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/principal.h"
#include "lumbung/merge.h"

namespace lumbung::server {

struct DeviceRow {
  std::string device_id;
  std::string label;
  std::vector<std::string> scope;
  uint64_t acked_seq = 0;
  int64_t registered_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t last_sync_ms = 0;  // last successful push
  int64_t revoked_ms = 0;    // 0 = active
  Json status;               // last status report from the device (null if none)
};

struct CodeRow {
  std::vector<std::string> scope;
  std::string label;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  int64_t used_ms = 0;  // 0 = unused
  std::string used_by;
  int64_t revoked_ms = 0;  // 0 = not revoked
  // Made for this device id (lumbung-admin codes create --device): only it may register
  // with the code, and it may do so again (re-enrolment). "" = a code for a new device.
  std::string device_id;
};

// One oplog row as pull needs it; op_text is the op's JSON (with "dev") as sent to devices.
struct LogEntry {
  uint64_t pos = 0;
  std::string dev;
  std::string scope;
  std::string op_text;
  std::string not_scope;  // devices covering this skip the row ("" = nobody skips)
};

// One server history: a start of the server on this database. `start_pos` is the lowest
// position its ops may take; it is at least the wall clock in microseconds at the start,
// so that a database restored from an older copy never hands out a position it handed out
// before the restore (the lost history's positions were all taken earlier).
struct Epoch {
  std::string id;  // 16 hex digits, random
  uint64_t start_pos = 0;
  int64_t started_ms = 0;
};

struct LogPage {
  std::vector<LogEntry> entries;
  uint64_t last_scanned = 0;  // highest pos examined (the next cursor)
  bool more = false;          // rows exist after last_scanned
};

struct ConflictRow {
  Conflict conflict;
  bool resolved = false;
  int64_t found_ms = 0;
  Json resolution;  // null while open
};

// An op the server acknowledged but will never apply as it stands (docs/PROTOCOL.md
// "Refused ops"). id = "<device>:<seq>".
// The refused-queue code of an op that arrived before its record (sync/op_writer.cpp).
inline constexpr const char* kWaitingForRecord = "waiting_for_record";
// Oplog rows whose scope is this prefix + a device id are for that device alone (a late
// refusal notice, OpWriter::settle_waiting); region codes never start with it.
inline constexpr const char* kDeviceScopePrefix = "@";

struct RefusedRow {
  std::string id;
  std::string device;
  uint64_t seq = 0;
  std::string collection;
  std::string record_id;
  std::string code;     // stable error code name (out_of_scope, validation_failed, ...)
  std::string field;    // the field at fault, "" if none
  std::string message;  // human message (Indonesian/English as the server wrote it)
  std::string op_text;  // the op as pushed (with "dev"), normalised where it was valid
  std::string scope;    // where the op would put the record (region code), "" if unknown
  int64_t found_ms = 0;
  std::string status = "open";  // open, applied, dismissed
  Json resolution;              // null while open
};

struct DuplicateRow {
  std::string id;
  std::string collection;
  std::string record_a, record_b;  // record_a < record_b
  bool resolved = false;
  int64_t found_ms = 0;
  Json resolution;  // null while open
};

// A reviewer or admin token as the admin sees it (never the secret, never the hash: `id`
// is the first 16 hex digits of the hash, enough to name it and useless to log in with).
struct TokenRow {
  std::string id;
  Role role = Role::kReviewer;
  std::string label;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;          // 0 = never
  int64_t revoked_ms = 0;          // 0 = active
  std::vector<std::string> scope;  // reviewer's region prefixes; empty = every region
};

// One audit log entry (docs/SECURITY.md "Audit log"). `hash` is the entry's link: hex
// HMAC-SHA256 under the audit key (or, for entries before the key file, plain SHA-256) of
// prev_hash followed by the canonical JSON of the other members (audit/audit_log.h).
struct AuditRow {
  uint64_t seq = 0;  // 1, 2, 3 ... without gaps
  int64_t at_ms = 0;
  std::string role;    // "device", "reviewer", "admin", "server", "anonymous"
  std::string actor;   // device id, staff token id, or "" for the server itself
  std::string action;  // "push", "resolve", "merge", "register", ...
  std::string target;  // what it acted on: a conflict id, a device id, a token id, ""
  std::string detail;  // canonical JSON object of counts; never record values
  std::string prev_hash;
  std::string hash;
};

// A signed audit checkpoint (audit/audit_log.h): the chain had `count` entries, the last
// one's link `head`, at `at_ms`; `sig` is the hex Ed25519 signature of the server key `key_id`.
struct AuditCheckpoint {
  uint64_t count = 0;
  std::string head;
  int64_t at_ms = 0;
  std::string key_id;
  std::string sig;
};

// One page of a review queue: which rows, in (found_ms, id) order.
struct ReviewQuery {
  std::string status = "open";        // open | resolved (merged) | all; refused: open |
                                      // applied | dismissed | all
  std::vector<std::string> prefixes;  // the reader's regions; empty = every region
  std::string device;                 // refused only: one device, "" = all
  std::string after;                  // the previous page's `next`, "" = from the start
  size_t limit = 1000;
};

template <class Row>
struct ReviewPage {
  std::vector<Row> rows;
  std::string next;    // pass as `after` for the next page; "" = this was the last
  uint64_t total = 0;  // rows matching the query (status and regions), all pages
};

// A record's oplog rows (ServerStore::record_log), oldest first.
struct RecordLogPage {
  std::vector<LogEntry> entries;  // op_text opened (sealed stores), in pos order
  bool cut = false;               // older rows of the record exist and are not here
};

// A target the office set for a region (docs/DASHBOARD.md "Targets"): `n` records of
// collection `col` expected in `scope` (a region code without dots).
struct TargetRow {
  std::string col;
  std::string scope;
  int64_t n = 0;
  int64_t set_ms = 0;
  std::string set_by;  // staff token id (or label) of who set it
};

// One progress count (store/record_counts.h): n live records of scope `scope` count under
// (dim, key). The views are valid during the call only.
using CountFn = std::function<void(std::string_view scope, std::string_view dim,
                                   std::string_view key, int64_t n)>;

struct RecordRow {
  std::string collection;
  std::string id;
  RecordState state;
};

// A record as the store keeps it, not decoded (ServerStore::snapshot_records). The views are
// valid during the call only. `doc` is every field's value (record_codec.h: cleared ones as
// null; sealed personal fields opened and joined back in), `ver` the versions ("" = the
// version most fields share), del_hlc 0 = no tombstone.
struct StoredRecord {
  std::string_view scope;
  std::string_view id;
  std::string_view doc;
  std::string_view ver;
  int64_t del_hlc = 0;
  std::string_view del_dev;
};

// One write transaction. Everything done through it becomes visible atomically at
// commit(); destroying it without commit() rolls everything back. Not thread-safe: use it
// from the thread that began it. Throws Error(kStorage) on database failures.
class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  // The write path's own state for this transaction (OpWriter): whether it is applying
  // waiting ops, and the records whose waiting ops it tried and could not apply, judged for
  // good before commit (OpWriter::settle_waiting). Held here so that concurrent
  // transactions (several pushes on PostgreSQL) never share it.
  struct WaitingScratch {
    bool applying = false;
    std::set<std::pair<std::string, std::string>> retried;  // (collection, record id)
  };
  WaitingScratch waiting_scratch;

  // --- the server clock
  // Every change a transaction makes to the server clock goes through these (stamps of
  // server ops and re-stamps, versions observed), counted in the transaction's tally, so
  // that one that rolls back gives them back (HybridClock::give_back): a refused request
  // changes nothing, the clock included, and the versions stamped next depend on committed
  // history only. One clock per transaction (a second one's changes are not counted).
  uint64_t clock_now(HybridClock& clock) { return clock.now(tally_for(clock)); }
  uint64_t clock_now_after(HybridClock& clock, uint64_t floor) {
    return clock.now_after(floor, tally_for(clock));
  }
  void clock_observe(HybridClock& clock, uint64_t remote) {
    clock.observe(remote, tally_for(clock));
  }
  void clock_resume_above(HybridClock& clock, uint64_t issued) {
    clock.resume_above(issued, tally_for(clock));
  }

  // --- records and the log
  // Called by a push after device() and before its first write: locks the records its ops
  // name (`records`: (collection, id); those that exist) in (collection, id) order, then the
  // natural keys (`keys`: (collection, key value) the ops set; plus those the records hold)
  // in one fixed order, so two pushes touching the same records in opposite orders through
  // two servers wait for each other instead of deadlocking. From then on the transaction
  // takes no row lock another push could hold and want ours: load_record of a record not in
  // `records` and device() of another device read without locking (OpWriter only reads
  // them: a duplicate's region, a waiting op's writer's regions). No-op where writers are
  // serialised anyway (SQLite).
  virtual void lock_records(const std::vector<std::pair<std::string, std::string>>& records,
                            const std::vector<std::pair<std::string, std::string>>& keys) = 0;
  virtual std::optional<RecordState> load_record(const std::string& col, const std::string& id) = 0;
  virtual void save_record(const std::string& col, const std::string& id, const RecordState& st,
                           const std::string& scope, const std::optional<std::string>& nkey) = 0;
  // A record seen for the first time, already encoded (record_codec.h): doc and versions
  // text. Writes nothing and returns false if `id` exists in `col`.
  virtual bool insert_new_record(const std::string& col, const std::string& id,
                                 const std::string& doc, const std::string& versions,
                                 const std::string& scope,
                                 const std::optional<std::string>& nkey) = 0;
  // Ids of live records of `col` whose natural key is `key`, lowest ids first, at most `limit`.
  virtual std::vector<std::string> live_ids_with_key(const std::string& col, const std::string& key,
                                                     size_t limit) = 0;
  // Appends an accepted op; returns its pos (max pos + 1 within the current epoch, and at
  // least the epoch's start_pos). `not_scope`: devices whose regions cover it skip the row
  // (a "moved out of your regions" notice is not for devices that also see the new place).
  virtual uint64_t append_op(const Op& op, const std::string& scope, const std::string& op_text,
                             const std::string& not_scope = std::string()) = 0;
  // The hlc the log holds for a device's op (`seq`), nullopt if it is not logged. A push
  // retried after its answer was lost must repeat the answer's re-stamps (SyncService::push).
  virtual std::optional<uint64_t> logged_hlc(const std::string& dev, uint64_t seq) = 0;

  // --- review queues; inserts return false if the id already exists (kept as it was)
  virtual bool insert_conflict(const Conflict& c, int64_t now_ms) = 0;
  virtual std::optional<ConflictRow> conflict(const std::string& id) = 0;
  virtual void resolve_conflict(const std::string& id, const Json& resolution) = 0;
  virtual bool insert_duplicate(const DuplicateRow& d) = 0;
  virtual std::optional<DuplicateRow> duplicate(const std::string& id) = 0;
  virtual void resolve_duplicate(const std::string& id, const Json& resolution) = 0;

  // --- refused ops: insert returns false if the id exists (a retried push)
  virtual bool insert_refused(const RefusedRow& r) = 0;
  virtual std::optional<RefusedRow> refused(const std::string& id) = 0;
  virtual void resolve_refused(const std::string& id, const std::string& status,
                               const Json& resolution) = 0;
  // True if `device` has an open refused op on record `rid` (a later edit of a record whose
  // creation was refused is refused with it, not applied as a fragment). Rows with code
  // kWaitingForRecord (ops waiting for their record, below) do not count.
  virtual bool has_open_refused(const std::string& device, const std::string& col,
                                const std::string& rid) = 0;
  // Open rows with code kWaitingForRecord on record `rid`, oldest first: edits and deletes
  // that arrived before the record itself (after a restore from an older copy), applied by
  // OpWriter when the record arrives.
  virtual std::vector<RefusedRow> waiting_for_record(const std::string& col,
                                                     const std::string& rid) = 0;
  // A waiting op refused for good once its record arrived: the row (still open) takes the
  // reason instead of kWaitingForRecord.
  virtual void set_refused_reason(const std::string& id, const std::string& code,
                                  const std::string& field, const std::string& message) = 0;

  // --- devices, codes, tokens
  virtual std::optional<DeviceRow> device(const std::string& id) = 0;
  virtual void insert_device(const DeviceRow& d, const std::string& token_hash) = 0;
  virtual void update_device_sync(const std::string& id, uint64_t acked_seq, int64_t now_ms,
                                  const Json* status) = 0;
  virtual bool revoke_device(const std::string& id, int64_t now_ms) = 0;  // false if unknown
  // Re-enrolment (enrolment.h): `token_hash` becomes the device's only token (any pending
  // rotated one is dropped), it is no longer revoked, and it takes `label` and `scope`.
  // acked_seq and everything else stay. False if unknown.
  virtual bool reenrol_device(const std::string& id, const std::string& label,
                              const std::vector<std::string>& scope,
                              const std::string& token_hash) = 0;
  // last_seen_ms = max(last_seen_ms, now_ms).
  virtual void touch_device(const std::string& id, int64_t now_ms) = 0;
  virtual std::optional<CodeRow> code(const std::string& code_hash) = 0;
  virtual void insert_code(const std::string& code_hash, const CodeRow& c) = 0;
  virtual void mark_code_used(const std::string& code_hash, const std::string& device_id,
                              int64_t now_ms) = 0;
  // Revokes the code whose hash starts with `id` (16 hex digits); returns the row as it is
  // now, or nullopt if no code has that id. A used code stays used (its device stays).
  virtual std::optional<CodeRow> revoke_code(const std::string& id, int64_t now_ms) = 0;
  // Device token rotation: `next_hash` becomes the device's pending token (replacing any
  // earlier pending one); the current token keeps working until promote_device_token.
  virtual void set_next_device_token(const std::string& device_id,
                                     const std::string& next_hash) = 0;
  // The pending token `next_hash` becomes the device's only token (the old one stops).
  // False if it is no longer that device's pending token.
  virtual bool promote_device_token(const std::string& device_id, const std::string& next_hash) = 0;
  // expires_ms 0 = never expires; scope: a reviewer's region prefixes (empty = all).
  virtual void insert_token(const std::string& token_hash, Role role, const std::string& label,
                            int64_t now_ms, int64_t expires_ms,
                            const std::vector<std::string>& scope = {}) = 0;
  virtual uint64_t count_tokens() = 0;
  // Revokes the reviewer/admin token whose hash starts with `id` (16 hex digits). Returns
  // the row as it is now, or nullopt if no token has that id.
  virtual std::optional<TokenRow> revoke_token(const std::string& id, int64_t now_ms) = 0;

  // --- audit log: the newest entry (seq 0 and "" if none) and append
  virtual std::pair<uint64_t, std::string> audit_head() = 0;
  virtual void append_audit(const AuditRow& row) = 0;
  // Stores a checkpoint (one per count: a later one at the same count replaces it).
  virtual void put_audit_checkpoint(const AuditCheckpoint& cp) = 0;

  // --- the schema version the stored records are written in
  // Holds "schema.active" (the version whose field names the records carry) in place until
  // the transaction ends and returns it (0 if none is stored). `publishing`: held alone, by
  // the transaction that moves the records to a new version; otherwise shared, so the writes
  // of several server processes on one database run together, and a publication on any of
  // them waits for them and they for it (PostgreSQL: an advisory lock). SQLite: writers are
  // serialised already and one process serves the file; it only reads the value.
  virtual int pin_schema_version(bool publishing) = 0;
  // The version this transaction's writes were checked against (OpWriter), 0 until then;
  // -1 in a publication, whose moves are written in the new version's names.
  int pinned_schema = 0;

  // --- small persistent values (server clock, server op seq)
  virtual std::string meta(const std::string& key) = 0;
  virtual void set_meta(const std::string& key, const std::string& value) = 0;

  virtual void commit() = 0;

 protected:
  // For the implementations: clock_committed() once commit() succeeded; give_back_clock()
  // first thing in the destructor, while the writer's lock is still held, so that an
  // uncommitted transaction's clock changes are taken back before another writer starts.
  void clock_committed() { clock_ = nullptr; }
  void give_back_clock() noexcept {
    if (clock_) clock_->give_back(tally_);
    clock_ = nullptr;
  }

 private:
  HybridClock::Tally* tally_for(HybridClock& clock) {
    if (clock_ && clock_ != &clock) return nullptr;
    clock_ = &clock;
    return &tally_;
  }

  HybridClock* clock_ = nullptr;  // the clock tally_ counts changes of; nullptr once committed
  HybridClock::Tally tally_;
};

class ServerStore {
 public:
  virtual ~ServerStore() = default;

  // Starts the one write transaction; blocks while another is open.
  virtual std::unique_ptr<WriteTxn> begin_write() = 0;

  // The principal a token hash belongs to (revoked devices included, flagged), or nullopt.
  virtual std::optional<Principal> find_principal(const std::string& token_hash) = 0;

  // Oplog rows after `after_pos` in pos order whose scope starts with one of `prefixes`
  // (an empty scope matches everyone) and whose dev != exclude_dev; at most `limit` rows
  // returned and at most `scan_limit` rows examined. `last_scanned`: every row up to it was
  // considered (returned or not for this device), so it is the next cursor. PostgreSQL reads
  // only rows of `prefixes` (an index on scope), so its cost follows the device's regions.
  virtual LogPage read_log(uint64_t after_pos, const std::vector<std::string>& prefixes,
                           const std::string& exclude_dev, size_t limit, size_t scan_limit) = 0;

  // This database's histories, oldest first; the last is the current one (made by open).
  virtual std::vector<Epoch> epochs() = 0;
  // True if this start found the database older than the history last served from it
  // (restored from a copy): what the lost history gave out, versions included, is unknown
  // here. SQLite: the data directory's `history` file names the last epoch started there
  // and the database lacks it (a copy of the whole directory is not detected). PostgreSQL:
  // this start opened a new epoch on a new cluster or timeline.
  virtual bool restored_at_start() = 0;
  // The highest oplog position below `before_pos` (0 if none): where a history ended.
  virtual uint64_t last_pos_before(uint64_t before_pos) = 0;
  // The highest oplog position at or below which every row that will ever exist is
  // committed now (0 if none): records read after this call reflect every op up to it.
  // A snapshot bootstrap (SyncService) follows the log from here.
  virtual uint64_t log_horizon() = 0;
  // About how many rows the oplog holds, without reading them all: exact on SQLite
  // (positions are gap-free within a history); on PostgreSQL the planner's estimate once the
  // table is large (positions there come from transaction ids), a count below that.
  virtual uint64_t log_length() = 0;
  // A device's acknowledged seq (0 if unknown).
  virtual uint64_t device_acked_seq(const std::string& device_id) = 0;

  // Review queues, oldest first, one page at a time with a stable cursor and the total.
  // A conflict is in the reader's regions when its record is; a duplicate pair when either
  // record is (the reader sees the other one only if it is in its regions too); a refused
  // op when the region it would put its record in is. Throws kInvalidArgument for a bad
  // status or cursor.
  virtual ReviewPage<RefusedRow> list_refused(const ReviewQuery& q) = 0;
  virtual ReviewPage<ConflictRow> list_conflicts(const ReviewQuery& q) = 0;
  virtual ReviewPage<DuplicateRow> list_duplicates(const ReviewQuery& q) = 0;
  virtual std::vector<DeviceRow> list_devices() = 0;
  // Records of `col` (deleted ones included) with id > after_id, by id; scope_prefix "" = all.
  virtual std::vector<RecordRow> list_records(const std::string& col,
                                              const std::string& scope_prefix,
                                              const std::string& after_id, size_t limit) = 0;
  // A snapshot's records (sync/snapshot.cpp): those of `col` under scope_prefix ("" = all,
  // deleted ones included) after (after_scope, after_id) - ("", "") = from the start - in
  // (scope, id) order, at most `limit`; calls fn for each until it returns false. Read
  // through the region index (records by (col, scope, id)), so the cost follows the
  // records read, not the collection.
  virtual void snapshot_records(const std::string& col, const std::string& scope_prefix,
                                const std::string& after_scope, const std::string& after_id,
                                size_t limit,
                                const std::function<bool(const StoredRecord&)>& fn) = 0;
  // The records `device` wrote (it has an op in the log) whose region is now under none of
  // `prefixes` (records of collections without a region are never listed), in (col, id)
  // order after (after_col, after_id), at most `limit`; fn(col, id) for each until it
  // returns false. A snapshot tells its device these left (sync/snapshot.cpp): the log's
  // move notices below the snapshot's horizon are never sent to it. Read through the log's
  // (dev, seq) index: the cost follows the device's own ops.
  virtual void written_outside(
      const std::string& device, const std::vector<std::string>& prefixes,
      const std::string& after_col, const std::string& after_id, size_t limit,
      const std::function<bool(const std::string&, const std::string&)>& fn) = 0;
  virtual std::optional<RecordState> get_record(const std::string& col, const std::string& id) = 0;
  // Calls fn(scope, doc_json_text) for every live record of `col` under scope_prefix. A
  // store that seals personal data (SqliteServerStore::seal_personal_data) gives only the
  // fields the schema does not mark personal: enough for counts, never opened for them.
  virtual void for_each_live(
      const std::string& col, const std::string& scope_prefix,
      const std::function<void(const std::string&, std::string_view)>& fn) = 0;
  // Calls fn for every progress count of `col` under scope_prefix ("" = all) with n > 0.
  // Kept in each record write's transaction, so the cost follows the number of desa and
  // values under the prefix, not the number of records (docs/DASHBOARD.md "Progress").
  virtual void for_each_count(const std::string& col, const std::string& scope_prefix,
                              const CountFn& fn) = 0;
  virtual std::string read_meta(const std::string& key) = 0;
  // Reviewer and admin tokens, oldest first.
  virtual std::vector<TokenRow> list_tokens() = 0;
  // Audit entries with seq > after_seq in seq order, at most `limit`; calls fn for each
  // (one read snapshot). fn returns false to stop.
  virtual void read_audit(uint64_t after_seq, size_t limit,
                          const std::function<bool(const AuditRow&)>& fn) = 0;
  // Every stored audit checkpoint, lowest count first.
  virtual std::vector<AuditCheckpoint> audit_checkpoints() = 0;

  // The newest `limit` oplog rows of record (col, id) in pos order (an index on (col, id)
  // on both backends: the cost follows the record's ops, not the log), every kind included
  // (region-move and refusal notices too: the caller tells them apart). `cut` when older
  // rows exist. before_pos > 0: only rows with pos < before_pos (the page before it).
  virtual RecordLogPage record_log(const std::string& col, const std::string& id, size_t limit,
                                   uint64_t before_pos = 0) = 0;

  // Targets per region (the office's expected counts), those of `col` whose scope starts
  // with scope_prefix ("" = all), by scope. Not part of any record write.
  virtual std::vector<TargetRow> list_targets(const std::string& col,
                                              const std::string& scope_prefix) = 0;
  // Sets (n >= 0) or clears (nullopt) the target of one region, in its own transaction.
  virtual void set_target(const std::string& col, const std::string& scope,
                          std::optional<int64_t> n, int64_t now_ms, const std::string& by) = 0;
};

}  // namespace lumbung::server

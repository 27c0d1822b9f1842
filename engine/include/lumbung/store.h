// The device-side store: enrolment records in a local SQLite database, every write logged.
//
//   auto store = lumbung::Store::open({.path = "desa.db", .schema = schema, .device_id = "dev-1"});
//   std::string id = store->create("enrolment", record_json);
//   store->update("enrolment", id, {{"phone", "0812..."}});
//   auto rec = store->get("enrolment", id);
//
// Guarantees
// - A write and its change-log entry commit in one SQLite transaction (WAL mode): after a
//   crash either both are there or neither.
// - Every write is validated against the schema first; an invalid write throws
//   Error(kValidationFailed / kUnknownField / ...) and changes nothing.
// - Record ids are UUIDv7 made here (time-ordered; no server needed) unless given.
// - Field versions come from a hybrid logical clock persisted in the store.
//
// Thread-safety: a Store may be used from several threads at once; calls are serialised
// on an internal mutex (one SQLite connection). A Batch holds that mutex from
// begin_batch() until commit() or destruction, so do not call other Store methods from
// the thread that holds an uncommitted Batch (it would deadlock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/clock.h"
#include "lumbung/error.h"
#include "lumbung/merge.h"
#include "lumbung/schema.h"

namespace lumbung {

struct OpenOptions {
  std::string path;                      // SQLite file; created if missing
  std::shared_ptr<const Schema> schema;  // required
  std::string device_id;                 // required when the file is new; must match after
  WallClock* clock = nullptr;            // nullptr = system clock (tests inject)
  // The officer's passphrase. When a store is created with one, every field the schema
  // marks personal (and the change log, conflicts and secrets in meta) is encrypted at
  // rest with AES-256-GCM under a random data key wrapped by a key derived from the
  // passphrase (scrypt); lookups by natural key go through a keyed blind index (HMAC).
  // What stays in clear (ids, versions, region codes, non-personal fields, the log's
  // seqs) is integrity-protected: every row carries a MAC under a key derived from the
  // data key, checked at every read; a row changed without the passphrase makes the read
  // (get, query, find_by_key, update, pending_wire, ...) throw Error(kCorrupt) naming the
  // record or entry, and is never pushed. A store made before row MACs is upgraded when
  // opened with its passphrase. A store created without one stays unencrypted and
  // unprotected (tests, benchmarks, laptops set up with `lumbung init --unencrypted`).
  // Opening an encrypted store with a wrong or missing passphrase throws
  // Error(kWrongPassphrase) and changes nothing.
  std::string passphrase;
};

// A record as stored: live values, per-field versions, deletion state.
struct Record {
  std::string collection;
  std::string id;
  Json fields = Json::object();  // live values (cleared fields omitted)
  std::map<std::string, Version> versions;
  bool deleted = false;
  Version tombstone;
};

struct Query {
  std::string collection;
  std::string scope_prefix;  // region-code prefix (dots allowed); "" = all
  std::string after_id;      // keyset paging: ids greater than this; "" = from the start
  size_t limit = 0;          // 0 = kDefaultQueryPageSize; capped at kMaxQueryPageSize
  bool include_deleted = false;
};

struct Page {
  std::vector<Record> records;
  std::string next_after;  // pass as after_id for the next page; "" when there is no more
};

// One entry of the local change log (the outbox).
struct PendingChange {
  Op op;
  bool acknowledged = false;
  int64_t written_ms = 0;  // wall time of the local write
};

struct WireChange {
  uint64_t seq = 0;
  int64_t written_ms = 0;
  std::string json;
};

struct StoreStats {
  uint64_t records = 0;          // live records
  uint64_t deleted = 0;          // tombstoned records
  uint64_t pending_changes = 0;  // log entries not yet acknowledged by the server
  uint64_t open_conflicts = 0;
  uint64_t refused_changes = 0;  // changes the server acknowledged but refused (see below)
  std::optional<int64_t> oldest_pending_ms;  // wall time of the oldest unacknowledged write
  std::optional<int64_t> last_sync_ms;       // set by the sync client
};

// A change of this device that the server acknowledged but will not apply as it stands
// (outside the laptop's regions, not a valid record, ...). It is kept on the server in the
// refused queue for the central office to fix and apply, or dismiss; the device's later
// changes are not held up by it (docs/PROTOCOL.md "Refused ops").
struct RefusedChange {
  uint64_t seq = 0;  // the change's seq in this device's log
  std::string collection;
  std::string record_id;
  std::string code;     // stable error code name, e.g. "out_of_scope", "validation_failed"
  std::string field;    // the field at fault, "" if none
  std::string message;  // the server's message
  int64_t at_ms = 0;    // when the device learnt of it
  // What the server holds of the fields the change wrote, when its answer said so
  // (docs/PROTOCOL.md "Refused ops": {"set": {field: [value, version] | null}, "tombstone":
  // version | null}); null if not told. record_refused() puts these back in the record
  // where it still holds the change's own values, so the refused values are in the change
  // log and this list only, never in the record.
  Json held;
  // The values the change wrote, as its log entry keeps them (refused_changes() fills it;
  // null for a delete): what the officer typed, to show and type again.
  Json set;
};

// The result of applying a remote change set.
struct RemoteApplyResult {
  size_t applied = 0;     // ops that changed local state
  size_t duplicates = 0;  // ops already reflected (idempotent re-apply)
  std::vector<Conflict> conflicts;
  size_t refused = 0;  // refusals of this device's changes the page told of (kept, listed)
};

class Store;

// A group of writes committed atomically (one transaction, one fsync). Obtained from
// Store::begin_batch(); rolls back if destroyed without commit().
class Batch {
 public:
  Batch(Batch&&) noexcept;
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  Batch& operator=(Batch&&) = delete;

  // As the Store methods of the same name, inside this batch.
  std::string create(const std::string& collection, Json fields, std::string id = {});
  void update(const std::string& collection, const std::string& id, Json patch);
  void remove(const std::string& collection, const std::string& id);
  void commit();

 private:
  friend class Store;
  struct Impl;
  explicit Batch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Opens (or creates) the store. Throws Error(kSchemaMismatch) if the file belongs to
  // another device, Error(kStorage) if SQLite cannot open it, Error(kCorrupt) if a setting
  // or the newest log entry of an encrypted store fails its integrity check.
  // Opened under a newer schema version whose document has a changelog (schema_versions.h),
  // the records take its field names (renamed; retired ones dropped) in the opening
  // transaction. Unsent changes keep the version they were written under and go out with
  // it ("sv"; the server upgrades them); changes written after go out with the new one.
  static std::unique_ptr<Store> open(const OpenOptions& options);
  ~Store();

  const Schema& schema() const;
  const std::string& device_id() const;

  // Creates a record from a whole JSON object of fields; returns its id (a new UUIDv7
  // unless `id` is given). Throws kValidationFailed (first issue; see validate()),
  // kUnknownCollection, kAlreadyExists.
  std::string create(const std::string& collection, Json fields, std::string id = {});
  // Field-level partial update: only the fields in `patch` are written (null clears a
  // field). Fields whose value does not change are not logged. Throws kNotFound if the
  // record does not exist or is deleted, kValidationFailed if the merged record would be
  // invalid, kStatusRegression if a forward-only field would move back.
  void update(const std::string& collection, const std::string& id, Json patch);
  // Deletes (tombstones) a record. Throws kNotFound if absent or already deleted.
  void remove(const std::string& collection, const std::string& id);
  Batch begin_batch();

  // Checks a whole record without writing; returns every issue (empty = valid).
  std::vector<ValidationIssue> validate(const std::string& collection, Json fields) const;

  std::optional<Record> get(const std::string& collection, const std::string& id,
                            bool include_deleted = false) const;
  // Live records whose natural key (e.g. NIK) equals `key` (normalised first). More than
  // one means a duplicate enrolment.
  std::vector<Record> find_by_key(const std::string& collection, const std::string& key) const;
  Page query(const Query& q) const;
  uint64_t count(const std::string& collection, const std::string& scope_prefix = {}) const;

  // Unacknowledged change-log entries in seq order, at most `limit`, with seq > after_seq.
  std::vector<PendingChange> pending_changes(size_t limit, uint64_t after_seq = 0) const;
  // The same entries as pending_changes(), as wire JSON (the op format of changeset.h,
  // without the device): what the sync client sends. Cheaper than decoding every entry and
  // encoding it again.
  std::vector<WireChange> pending_wire(size_t limit, uint64_t after_seq = 0) const;
  // Marks every entry with seq <= up_to_seq acknowledged (the server has them); returns how
  // many were newly acknowledged.
  uint64_t acknowledge(uint64_t up_to_seq);
  // Unacknowledged entries; cheap (kept in memory), unlike stats().
  uint64_t pending_count() const;

  // The server re-stamped some of this device's ops (its clock was far ahead; see
  // clock.h): for each (seq, new hlc), fields and tombstones still at the op's old version
  // take the new one, and the log entry is rewritten, so this replica matches the server.
  void apply_restamps(const std::vector<std::pair<uint64_t, uint64_t>>& seq_to_hlc);
  // The server holds fewer of our ops than we thought (e.g. it was restored from a backup):
  // entries after `seq` become pending again and are pushed again. Nothing is lost because
  // the log keeps acknowledged entries. Their refusals stay until judged again (below).
  void rewind_acknowledged(uint64_t seq);
  // A push answer acknowledged changes first..last and refused `repeated` among them: a
  // refusal this device holds of another of them is gone (the server lost it with a
  // history, then took the change): it is dropped and its write joins its record again.
  void settle_refusals(uint64_t first, uint64_t last, const std::vector<uint64_t>& repeated);
  // The server no longer has part of the history this replica pulled (it was restored from
  // an older copy and answered a pull with "reset"). Whatever that history brought may be
  // gone for good (a resolution, a merge, another device's write the restored server now
  // refuses), so every value and tombstone written by anyone but this device is dropped,
  // and this device's own writes are joined back from its log; a record left with nothing
  // is removed. The replay of the server's log then brings back what the server still has.
  // Returns the number of records changed. Idempotent. apply_replay() does this and applies
  // the replay's first page in one transaction: prefer it.
  size_t forget_server_history();
  // Keeps the server's refusals of pushed changes (each `seq` a logged change) and acts on
  // them (an out_of_scope one moves its record away). A seq already kept is the same
  // refusal heard again (a push re-sent after its answer was lost): ignored, effect included.
  void record_refused(const std::vector<RefusedChange>& refused);
  // Refused changes, newest first.
  std::vector<RefusedChange> refused_changes() const;
  // The server stored some values of change `seq` in normal form (e.g. a phone number
  // "+62 812..." as "0812..."): fields still at that change's version take the stored
  // value, under the same version, so this replica holds what every other one holds.
  void apply_stored(const std::vector<std::pair<uint64_t, Json>>& seq_to_values);

  // The regions this device is registered for (region-code prefixes, digits only, as the
  // server sends them). When set, create and update refuse a record whose scope field
  // (village code) is outside them with Error(kOutOfScope), before writing anything.
  // Empty = unknown (no check here; the server still refuses).
  // Other regions than known ones (a re-enrolment, or the office changed them): the pull
  // cursor is cleared, so the next pull takes the new regions from the start (records of
  // them written before the old cursor would never come), and records now outside them
  // leave this device as if they had moved away (kept hidden while changes of this device
  // to them are unsent). Returns true in that case.
  bool set_regions(const std::vector<std::string>& prefixes);
  std::vector<std::string> regions() const;

  // Conflicts this replica knows of (found when applying remote changes), newest first.
  std::vector<Conflict> conflicts(bool include_resolved = false) const;

  // Applies ops from elsewhere (a pull page) with the shared merge function, in one
  // transaction together with `meta` key/values (e.g. the pull cursor) so that a page
  // and its cursor commit together. Idempotent: re-applying changes nothing. A "gone" op
  // (the record moved out of this device's regions) hides the record: it is no longer
  // listed, read or editable (kOutOfScope); a "rec" op (it moved in) brings it whole.
  RemoteApplyResult apply_remote(const std::vector<Op>& ops,
                                 const std::vector<std::pair<std::string, std::string>>& meta = {});
  // The first page of a replay answered with "reset": forget_server_history() and
  // apply_remote() in one transaction, so that no crash leaves the replica forgotten but
  // not yet replayed.
  RemoteApplyResult apply_replay(const std::vector<Op>& ops,
                                 const std::vector<std::pair<std::string, std::string>>& meta);

  // Small persistent key/value settings (cursor, server url, last sync). "" if unset.
  std::string get_meta(const std::string& key) const;
  void set_meta(const std::string& key, const std::string& value);

  // Counts records (a table scan: call it for status, not per batch).
  StoreStats stats() const;

  // True if personal data in this store is encrypted at rest.
  bool encrypted() const;
  // Re-wraps the data key under a new passphrase (the data is not re-encrypted). Throws
  // Error(kWrongPassphrase) if `old_passphrase` is wrong, kInvalidArgument if the store is
  // not encrypted or the new passphrase is empty.
  void change_passphrase(const std::string& old_passphrase, const std::string& new_passphrase);

  // A key for data kept beside this store and sealed like its personal data (attachment
  // bytes: attachments.h): HMAC-SHA256(data key, label), 32 bytes; "" when the store is
  // not encrypted.
  std::string derive_key(const std::string& label) const;

  // Secrets kept encrypted when the store is (e.g. the device token); "" if unset.
  std::string get_secret(const std::string& key) const;
  void set_secret(const std::string& key, const std::string& value);
  HybridClock& clock();

 private:
  friend class Batch;
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  // apply_remote's work; the caller holds the mutex and a transaction.
  RemoteApplyResult apply_page(const std::vector<Op>& ops,
                               const std::vector<std::pair<std::string, std::string>>& meta);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbung

// The PostgreSQL ServerStore (lumbung-server --db postgresql://...): any number of
// lumbung-server processes serve one database, none keeping state another needs.
//
// Differences from SqliteServerStore that callers can see (docs/ARCHITECTURE.md
// "PostgreSQL backend"):
//   - begin_write() does not serialise writers: transactions of different devices run at
//     once, made safe by row and advisory locks (pg_write_txn.cpp). A push takes its locks
//     in one global order (WriteTxn::lock_records) and never deadlocks with another push;
//     other writers may, and PostgreSQL then aborts one: the call throws Error(kStorage),
//     which clients retry.
//   - oplog positions are not gap-free: pos = epoch offset + (writing transaction's xid8 <<
//     20) + row number in that transaction. read_log never returns a row at or above the
//     oldest transaction still running, so a pull cursor never passes a row that commits
//     later. Positions still only grow and are never reused (SyncService's contract).
//   - epochs: one per database and PostgreSQL cluster/timeline, not one per process start
//     (servers start and stop independently; a cursor from one must hold on another). A
//     database restored into another cluster or onto a new timeline (a PITR) gets a new one.
//
// Thread-safe: a pool of connections serves the listener threads.
#pragma once

#include <memory>
#include <string>

#include "keys/server_keys.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

class PgServerStore : public ServerStore {
 public:
  // Connects to `url` (libpq URI, e.g. postgresql://user@host/db or
  // postgresql:///db?host=/run/postgresql), creates the tables if missing and joins or
  // starts this database's epoch. Throws Error(kStorage) if the database cannot be reached.
  static std::unique_ptr<PgServerStore> open(const std::string& url);
  ~PgServerStore() override;

  // Keeps personal data sealed from now on (as SqliteServerStore::seal_personal_data). A
  // PostgreSQL database is sealed from its first use: this marks it sealed and names the
  // key file (meta key_id) in one transaction; it never holds clear values to upgrade.
  // Returns 0. Throws Error(kCorrupt) if the database holds clear data (not made by us).
  // Called again (a schema version published live) it only adds that schema's personal
  // fields to those sealed (store/sealer.h add_personal).
  uint64_t seal_personal_data(const ServerKeys& keys, const Schema& schema);

  std::unique_ptr<WriteTxn> begin_write() override;
  std::optional<Principal> find_principal(const std::string& token_hash) override;
  LogPage read_log(uint64_t after_pos, const std::vector<std::string>& prefixes,
                   const std::string& exclude_dev, size_t limit, size_t scan_limit) override;
  std::vector<Epoch> epochs() override;
  bool restored_at_start() override;
  uint64_t last_pos_before(uint64_t before_pos) override;
  uint64_t log_horizon() override;
  uint64_t log_length() override;
  uint64_t device_acked_seq(const std::string& device_id) override;
  ReviewPage<RefusedRow> list_refused(const ReviewQuery& q) override;
  ReviewPage<ConflictRow> list_conflicts(const ReviewQuery& q) override;
  ReviewPage<DuplicateRow> list_duplicates(const ReviewQuery& q) override;
  std::vector<DeviceRow> list_devices() override;
  std::vector<RecordRow> list_records(const std::string& col, const std::string& scope_prefix,
                                      const std::string& after_id, size_t limit) override;
  void snapshot_records(const std::string& col, const std::string& scope_prefix,
                        const std::string& after_scope, const std::string& after_id, size_t limit,
                        const std::function<bool(const StoredRecord&)>& fn) override;
  void written_outside(
      const std::string& device, const std::vector<std::string>& prefixes,
      const std::string& after_col, const std::string& after_id, size_t limit,
      const std::function<bool(const std::string&, const std::string&)>& fn) override;
  std::optional<RecordState> get_record(const std::string& col, const std::string& id) override;
  void for_each_live(const std::string& col, const std::string& scope_prefix,
                     const std::function<void(const std::string&, std::string_view)>& fn) override;
  void for_each_count(const std::string& col, const std::string& scope_prefix,
                      const CountFn& fn) override;
  std::string read_meta(const std::string& key) override;
  std::vector<TokenRow> list_tokens() override;
  void read_audit(uint64_t after_seq, size_t limit,
                  const std::function<bool(const AuditRow&)>& fn) override;
  std::vector<AuditCheckpoint> audit_checkpoints() override;
  RecordLogPage record_log(const std::string& col, const std::string& id, size_t limit,
                           uint64_t before_pos) override;
  std::vector<TargetRow> list_targets(const std::string& col,
                                      const std::string& scope_prefix) override;
  void set_target(const std::string& col, const std::string& scope, std::optional<int64_t> n,
                  int64_t now_ms, const std::string& by) override;

 private:
  // One try of read_log in one snapshot; *held: committed rows exist that the snapshot's
  // oldest running transaction holds back.
  LogPage read_log_once(uint64_t after_pos, const std::vector<std::string>& prefixes,
                        const std::string& exclude_dev, size_t limit, size_t scan_limit,
                        bool* held);
  struct Impl;
  explicit PgServerStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbung::server

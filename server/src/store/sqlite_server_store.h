// The embedded ServerStore: one SQLite file (WAL) in the --data directory.
//
// One writer connection guarded by a mutex (held by the open WriteTxn) and a small pool
// of reader connections, so pulls and review reads never wait for a push batch to commit
// (WAL readers see the last committed snapshot).
#pragma once

#include <memory>
#include <string>

#include "keys/server_keys.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

class SqliteServerStore : public ServerStore {
 public:
  // Opens or creates `<dir>/lumbung-server.db`. Throws Error(kStorage).
  // A database `lumbung-admin migrate` moved to PostgreSQL (meta 'moved_to') is refused with
  // Error(kSchemaMismatch) before anything is written, unless `serve_moved`: then the mark
  // is removed (the move is undone: laptops that synced with PostgreSQL since meet a
  // restore, docs/PROTOCOL.md "Epochs").
  static std::unique_ptr<SqliteServerStore> open(const std::string& dir, bool serve_moved = false);

  // From now on keeps personal data sealed (store/sealer.h: the fields `schema` marks
  // personal, under the key file's data key; natural keys as a blind index under its index
  // key). A database that still holds them in clear is sealed first, in one transaction,
  // then VACUUMed and its WAL truncated, so that the clear values leave the files. Call
  // once, at start, before any other use. Returns the number of rows that upgrade sealed.
  // Called again (a schema version published live) it only adds that schema's personal
  // fields to those sealed (store/sealer.h add_personal) and returns 0.
  uint64_t seal_personal_data(const ServerKeys& keys, const Schema& schema);
  ~SqliteServerStore() override;

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
  struct Impl;
  explicit SqliteServerStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbung::server

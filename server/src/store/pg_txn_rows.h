// Private to server/src/store: the PostgreSQL write transaction's single-row writes - review
// entries (conflicts, duplicates, refused ops), devices, enrolment codes, tokens, the audit
// chain and meta values (pg_txn_rows.cpp). The push path - records, natural keys, the oplog
// and commit - is PgWriteTxn's, which derives from this (pg_write_txn.cpp, where the locking
// rules are described).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/pg_rows.h"

namespace lumbung::server::pg {

class PgTxnRows : public WriteTxn {
 public:
  bool insert_conflict(const Conflict& c, int64_t now_ms) override;
  std::optional<ConflictRow> conflict(const std::string& id) override;
  void resolve_conflict(const std::string& id, const Json& resolution) override;
  bool insert_duplicate(const DuplicateRow& d) override;
  std::optional<DuplicateRow> duplicate(const std::string& id) override;
  void resolve_duplicate(const std::string& id, const Json& resolution) override;
  bool insert_refused(const RefusedRow& f) override;
  std::optional<RefusedRow> refused(const std::string& id) override;
  void resolve_refused(const std::string& id, const std::string& status,
                       const Json& resolution) override;
  void set_refused_reason(const std::string& id, const std::string& code, const std::string& field,
                          const std::string& message) override;
  bool has_open_refused(const std::string& device, const std::string& col,
                        const std::string& rid) override;
  std::vector<RefusedRow> waiting_for_record(const std::string& col,
                                             const std::string& rid) override;
  std::optional<DeviceRow> device(const std::string& id) override;
  void insert_device(const DeviceRow& d, const std::string& token_hash) override;
  void update_device_sync(const std::string& id, uint64_t acked_seq, int64_t now_ms,
                          const Json* status) override;
  bool revoke_device(const std::string& id, int64_t now_ms) override;
  bool reenrol_device(const std::string& id, const std::string& label,
                      const std::vector<std::string>& scope,
                      const std::string& token_hash) override;
  void touch_device(const std::string& id, int64_t now_ms) override;
  std::optional<CodeRow> code(const std::string& code_hash) override;
  void insert_code(const std::string& code_hash, const CodeRow& c) override;
  void mark_code_used(const std::string& code_hash, const std::string& device_id,
                      int64_t now_ms) override;
  std::optional<CodeRow> revoke_code(const std::string& id, int64_t now_ms) override;
  void set_next_device_token(const std::string& device_id, const std::string& next_hash) override;
  bool promote_device_token(const std::string& device_id, const std::string& next_hash) override;
  void insert_token(const std::string& token_hash, Role role, const std::string& label,
                    int64_t now_ms, int64_t expires_ms,
                    const std::vector<std::string>& scope) override;
  uint64_t count_tokens() override;
  std::optional<TokenRow> revoke_token(const std::string& id, int64_t now_ms) override;
  std::pair<uint64_t, std::string> audit_head() override;
  void append_audit(const AuditRow& a) override;
  void put_audit_checkpoint(const AuditCheckpoint& cp) override;
  int pin_schema_version(bool publishing) override;
  std::string meta(const std::string& key) override;
  void set_meta(const std::string& key, const std::string& value) override;

 protected:
  PgTxnRows(Conn& c, const Sealer* sealer, std::string instance)
      : c_(c), s_(sealer), instance_(std::move(instance)) {}

  Conn& c_;
  const Sealer* s_;
  std::string instance_;    // this server process's row in `clocks`
  bool lock_mode_ = false;  // lock_records was called: the push's locks are all taken
};

}  // namespace lumbung::server::pg

// The SQLite server store's write transaction (server_store.h WriteTxn): every write the
// server makes goes through one of these, one at a time.
#include <algorithm>

#include "store/record_counts.h"
#include "store/sqlite_rows.h"

namespace lumbung::server::sqlite_detail {
namespace {

class SqliteWriteTxn : public WriteTxn {
 public:
  SqliteWriteTxn(std::mutex& mu, sql::Database& db, uint64_t epoch_start, const Sealer* sealer)
      : lock_(mu), db_(db), tx_(db), epoch_start_(epoch_start), s_(sealer) {}

  // One writer at a time holds the whole database: nothing more to lock.
  void lock_records(const std::vector<std::pair<std::string, std::string>>&,
                    const std::vector<std::pair<std::string, std::string>>&) override {}

  std::optional<RecordState> load_record(const std::string& col, const std::string& id) override {
    auto& st = db_.prepare(
        "SELECT doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=?1 AND id=?2");
    ResetOnExit r{st};
    st.bind_static(1, col).bind_static(2, id);
    if (!st.step()) return std::nullopt;
    return decode_record(s_, col, id, st, 0, 4);
  }

  // Binds doc (?3), sealed (?sealed_at) and nkey (?nkey_at) as this store keeps them;
  // returns the stored (clear) doc, what the progress counts read.
  std::string bind_personal(sql::Statement& st, const std::string& col, const std::string& id,
                            const std::string& doc, const std::optional<std::string>& nkey,
                            int sealed_at, int nkey_at) {
    std::string clear;
    if (s_) {
      Sealer::Doc d = s_->split_doc(col, id, doc);
      st.bind(3, d.clear);
      if (d.sealed) {
        st.bind(sealed_at, *d.sealed);
      } else {
        st.bind_null(sealed_at);
      }
      clear = std::move(d.clear);
    } else {
      st.bind(3, doc);
      st.bind_null(sealed_at);
      clear = doc;
    }
    if (nkey) {
      st.bind(nkey_at, s_ ? s_->blind(col, *nkey) : *nkey);
    } else {
      st.bind_null(nkey_at);
    }
    return clear;
  }

  void save_record(const std::string& col, const std::string& id, const RecordState& s,
                   const std::string& scope, const std::optional<std::string>& nkey) override {
    {  // The record as it was leaves the progress counts; as it is now, enters them.
      auto& old = db_.prepare("SELECT doc, scope FROM records WHERE col=?1 AND id=?2 AND live=1");
      ResetOnExit r{old};
      old.bind_static(1, col).bind_static(2, id);
      if (old.step()) counts_.add(col, old.column_text(1), old.column_view(0), -1);
    }
    auto& ins = db_.prepare(
        "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(col,id) DO UPDATE SET "
        "doc=?3, ver=?4, del_hlc=?5, del_dev=?6, live=?7, scope=?8, nkey=?9, sealed=?10");
    ins.bind_static(1, col).bind_static(2, id);
    const std::string clear = bind_personal(ins, col, id, codec::encode_doc(s), nkey, 10, 9);
    ins.bind(4, codec::encode_versions(s));
    ins.bind(5, static_cast<int64_t>(s.tombstone.hlc)).bind(6, s.tombstone.device);
    ins.bind(7, int64_t{s.live() ? 1 : 0}).bind_static(8, scope);
    ins.run();
    if (s.live()) counts_.add(col, scope, clear, +1);
  }

  bool insert_new_record(const std::string& col, const std::string& id, const std::string& doc,
                         const std::string& versions, const std::string& scope,
                         const std::optional<std::string>& nkey) override {
    auto& ins = db_.prepare(
        "INSERT INTO records(col,id,doc,ver,live,scope,nkey,sealed) "
        "VALUES(?1,?2,?3,?4,1,?5,?6,?7) ON CONFLICT(col,id) DO NOTHING");
    ins.bind_static(1, col).bind_static(2, id).bind_static(4, versions);
    ins.bind_static(5, scope);
    const std::string clear = bind_personal(ins, col, id, doc, nkey, 7, 6);
    ins.run();
    if (db_.changes() != 1) return false;
    counts_.add(col, scope, clear, +1);
    return true;
  }

  std::vector<std::string> live_ids_with_key(const std::string& col, const std::string& key,
                                             size_t limit) override {
    // INDEXED BY: without statistics SQLite prefers the primary key (col=?) and scans the
    // whole collection per op (measured: minutes for 100k records); the partial index is
    // one lookup.
    auto& st = db_.prepare(
        "SELECT id FROM records INDEXED BY records_nkey "
        "WHERE col=?1 AND nkey=?2 AND nkey IS NOT NULL AND live=1 ORDER BY id LIMIT ?3");
    ResetOnExit r{st};
    st.bind_static(1, col).bind(2, s_ ? s_->blind(col, key) : key);
    st.bind(3, static_cast<int64_t>(limit));
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.column_text(0));
    return out;
  }

  uint64_t append_op(const Op& op, const std::string& scope, const std::string& op_text,
                     const std::string& not_scope) override {
    if (next_pos_ == 0) {
      // The first append of this transaction: max(pos) is one b-tree descent.
      auto& st = db_.prepare("SELECT coalesce(max(pos), 0) FROM oplog");
      ResetOnExit r{st};
      st.step();
      next_pos_ = std::max(static_cast<uint64_t>(st.column_int(0)) + 1, epoch_start_);
    }
    db_.prepare(
           "INSERT INTO oplog(pos,dev,seq,col,id,scope,hlc,op,not_scope) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")
        .bind(1, static_cast<int64_t>(next_pos_))
        .bind_static(2, op.version.device)
        .bind(3, static_cast<int64_t>(op.seq))
        .bind_static(4, op.collection)
        .bind_static(5, op.id)
        .bind_static(6, scope)
        .bind(7, static_cast<int64_t>(op.version.hlc))
        .bind(8, seal_or_clear(s_, "oplog.op", std::to_string(next_pos_), op_text))
        .bind_static(9, not_scope)
        .run();
    return next_pos_++;
  }

  bool insert_refused(const RefusedRow& r) override {
    db_.prepare(
           "INSERT OR IGNORE INTO refused(id,dev,seq,col,rid,code,field,message,op,scope,"
           "found_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)")
        .bind_static(1, r.id)
        .bind_static(2, r.device)
        .bind(3, static_cast<int64_t>(r.seq))
        .bind_static(4, r.collection)
        .bind_static(5, r.record_id)
        .bind_static(6, r.code)
        .bind_static(7, r.field)
        .bind(8, seal_or_clear(s_, "refused.message", r.id, r.message))
        .bind(9, seal_or_clear(s_, "refused.op", r.id, r.op_text))
        .bind_static(10, r.scope)
        .bind(11, r.found_ms)
        .run();
    return db_.changes() > 0;
  }

  std::optional<RefusedRow> refused(const std::string& id) override {
    auto& st = db_.prepare(std::string("SELECT ") + kRefusedCols + " FROM refused WHERE id=?1");
    ResetOnExit r{st};
    st.bind_static(1, id);
    if (!st.step()) return std::nullopt;
    return read_refused(st, s_);
  }

  void resolve_refused(const std::string& id, const std::string& status,
                       const Json& resolution) override {
    db_.prepare("UPDATE refused SET status=?2, resolution=?3 WHERE id=?1")
        .bind_static(1, id)
        .bind_static(2, status)
        .bind(3, seal_or_clear(s_, "refused.resolution", id, resolution.dump()))
        .run();
  }

  void set_refused_reason(const std::string& id, const std::string& code, const std::string& field,
                          const std::string& message) override {
    db_.prepare("UPDATE refused SET code=?2, field=?3, message=?4 WHERE id=?1")
        .bind_static(1, id)
        .bind_static(2, code)
        .bind_static(3, field)
        .bind(4, seal_or_clear(s_, "refused.message", id, message))
        .run();
  }

  bool has_open_refused(const std::string& device, const std::string& col,
                        const std::string& rid) override {
    auto& st = db_.prepare(
        "SELECT 1 FROM refused WHERE dev=?1 AND col=?2 AND rid=?3 AND status='open' AND "
        "code<>?4 LIMIT 1");
    ResetOnExit r{st};
    st.bind_static(1, device).bind_static(2, col).bind_static(3, rid).bind(4, kWaitingForRecord);
    return st.step();
  }

  std::vector<RefusedRow> waiting_for_record(const std::string& col,
                                             const std::string& rid) override {
    auto& st = db_.prepare(std::string("SELECT ") + kRefusedCols +
                           // The literal code lets SQLite use the partial index refused_waiting.
                           " FROM refused WHERE col=?1 AND rid=?2 AND status='open' AND "
                           "code='waiting_for_record' ORDER BY found_ms, seq");
    ResetOnExit r{st};
    st.bind_static(1, col).bind_static(2, rid);
    std::vector<RefusedRow> out;
    while (st.step()) out.push_back(read_refused(st, s_));
    return out;
  }

  std::optional<uint64_t> logged_hlc(const std::string& dev, uint64_t seq) override {
    auto& st = db_.prepare("SELECT hlc FROM oplog WHERE dev=?1 AND seq=?2");  // oplog_dev_seq
    ResetOnExit r{st};
    st.bind_static(1, dev).bind(2, static_cast<int64_t>(seq));
    if (!st.step()) return std::nullopt;
    return static_cast<uint64_t>(st.column_int(0));
  }

  bool insert_conflict(const Conflict& c, int64_t now_ms) override {
    db_.prepare(
           "INSERT OR IGNORE INTO conflicts(id,kind,col,rid,field,body,found_ms) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7)")
        .bind(1, c.id)
        .bind(2, conflict_kind_name(c.kind))
        .bind(3, c.collection)
        .bind(4, c.record_id)
        .bind(5, c.field)
        .bind(6, seal_or_clear(s_, "conflicts.body", c.id, codec::encode_conflict(c).dump()))
        .bind(7, now_ms)
        .run();
    return db_.changes() > 0;
  }

  std::optional<ConflictRow> conflict(const std::string& id) override {
    auto& st =
        db_.prepare("SELECT body, resolved, found_ms, resolution FROM conflicts WHERE id=?1");
    ResetOnExit r{st};
    st.bind_static(1, id);
    if (!st.step()) return std::nullopt;
    return read_conflict(st, s_, id);
  }

  void resolve_conflict(const std::string& id, const Json& resolution) override {
    db_.prepare("UPDATE conflicts SET resolved=1, resolution=?2 WHERE id=?1")
        .bind_static(1, id)
        .bind(2, seal_or_clear(s_, "conflicts.resolution", id, resolution.dump()))
        .run();
  }

  bool insert_duplicate(const DuplicateRow& d) override {
    db_.prepare(
           "INSERT OR IGNORE INTO duplicates(id,col,rid_a,rid_b,found_ms) VALUES(?1,?2,?3,?4,?5)")
        .bind(1, d.id)
        .bind(2, d.collection)
        .bind(3, d.record_a)
        .bind(4, d.record_b)
        .bind(5, d.found_ms)
        .run();
    return db_.changes() > 0;
  }

  std::optional<DuplicateRow> duplicate(const std::string& id) override {
    auto& st = db_.prepare(
        "SELECT id, col, rid_a, rid_b, resolved, found_ms, resolution FROM duplicates WHERE id=?1");
    ResetOnExit r{st};
    st.bind_static(1, id);
    if (!st.step()) return std::nullopt;
    return read_duplicate(st, s_);
  }

  void resolve_duplicate(const std::string& id, const Json& resolution) override {
    db_.prepare("UPDATE duplicates SET resolved=1, resolution=?2 WHERE id=?1")
        .bind_static(1, id)
        .bind(2, seal_or_clear(s_, "duplicates.resolution", id, resolution.dump()))
        .run();
  }

  std::optional<DeviceRow> device(const std::string& id) override {
    auto& st =
        db_.prepare(std::string("SELECT ") + kDeviceCols + " FROM devices WHERE device_id=?1");
    ResetOnExit r{st};
    st.bind_static(1, id);
    if (!st.step()) return std::nullopt;
    return read_device(st);
  }

  void insert_device(const DeviceRow& d, const std::string& token_hash) override {
    db_.prepare(
           "INSERT INTO devices(device_id,label,scope,token_hash,registered_ms,last_seen_ms) "
           "VALUES(?1,?2,?3,?4,?5,?5)")
        .bind(1, d.device_id)
        .bind(2, d.label)
        .bind(3, scope_to_text(d.scope))
        .bind(4, token_hash)
        .bind(5, d.registered_ms)
        .run();
  }

  void update_device_sync(const std::string& id, uint64_t acked_seq, int64_t now_ms,
                          const Json* status) override {
    auto& st = db_.prepare(
        "UPDATE devices SET acked_seq=?2, last_sync_ms=?3, last_seen_ms=max(last_seen_ms,?3), "
        "status=coalesce(?4, status) WHERE device_id=?1");
    st.bind_static(1, id).bind(2, static_cast<int64_t>(acked_seq)).bind(3, now_ms);
    if (status) {
      st.bind(4, status->dump());
    } else {
      st.bind_null(4);
    }
    st.run();
  }

  bool revoke_device(const std::string& id, int64_t now_ms) override {
    db_.prepare("UPDATE devices SET revoked_ms=?2 WHERE device_id=?1 AND revoked_ms=0")
        .bind_static(1, id)
        .bind(2, now_ms)
        .run();
    if (db_.changes() > 0) return true;
    return device(id).has_value();
  }

  bool reenrol_device(const std::string& id, const std::string& label,
                      const std::vector<std::string>& scope,
                      const std::string& token_hash) override {
    db_.prepare(
           "UPDATE devices SET token_hash=?2, next_token_hash=NULL, revoked_ms=0, label=?3, "
           "scope=?4 WHERE device_id=?1")
        .bind_static(1, id)
        .bind(2, token_hash)
        .bind(3, label)
        .bind(4, scope_to_text(scope))
        .run();
    return db_.changes() > 0;
  }

  void touch_device(const std::string& id, int64_t now_ms) override {
    db_.prepare("UPDATE devices SET last_seen_ms=max(last_seen_ms,?2) WHERE device_id=?1")
        .bind_static(1, id)
        .bind(2, now_ms)
        .run();
  }

  std::optional<CodeRow> code(const std::string& code_hash) override {
    auto& st = db_.prepare(
        "SELECT scope,label,created_ms,expires_ms,used_ms,used_by,revoked_ms,device_id "
        "FROM codes WHERE hash=?1");
    ResetOnExit r{st};
    st.bind_static(1, code_hash);
    if (!st.step()) return std::nullopt;
    CodeRow c;
    c.scope = scope_from_text(st.column_view(0));
    c.label = st.column_text(1);
    c.created_ms = st.column_int(2);
    c.expires_ms = st.column_int(3);
    c.used_ms = st.column_int(4);
    c.used_by = st.column_text(5);
    c.revoked_ms = st.column_int(6);
    c.device_id = st.column_text(7);
    return c;
  }

  std::optional<CodeRow> revoke_code(const std::string& id, int64_t now_ms) override {
    if (id.size() != kTokenIdHexDigits) return std::nullopt;
    const std::string end = prefix_end(id);
    db_.prepare("UPDATE codes SET revoked_ms=?3 WHERE hash>=?1 AND hash<?2 AND revoked_ms=0")
        .bind_static(1, id)
        .bind_static(2, end)
        .bind(3, now_ms)
        .run();
    auto& st = db_.prepare("SELECT hash FROM codes WHERE hash>=?1 AND hash<?2 LIMIT 1");
    std::string hash;
    {
      ResetOnExit r{st};
      st.bind_static(1, id).bind_static(2, end);
      if (!st.step()) return std::nullopt;
      hash = st.column_text(0);
    }
    return code(hash);
  }

  void set_next_device_token(const std::string& device_id, const std::string& next_hash) override {
    db_.prepare("UPDATE devices SET next_token_hash=?2 WHERE device_id=?1")
        .bind_static(1, device_id)
        .bind(2, next_hash)
        .run();
  }

  bool promote_device_token(const std::string& device_id, const std::string& next_hash) override {
    db_.prepare(
           "UPDATE devices SET token_hash=next_token_hash, next_token_hash=NULL "
           "WHERE device_id=?1 AND next_token_hash=?2")
        .bind_static(1, device_id)
        .bind_static(2, next_hash)
        .run();
    return db_.changes() > 0;
  }

  void insert_code(const std::string& code_hash, const CodeRow& c) override {
    db_.prepare(
           "INSERT INTO codes(hash,scope,label,created_ms,expires_ms,device_id) "
           "VALUES(?1,?2,?3,?4,?5,?6)")
        .bind(1, code_hash)
        .bind(2, scope_to_text(c.scope))
        .bind(3, c.label)
        .bind(4, c.created_ms)
        .bind(5, c.expires_ms)
        .bind(6, c.device_id)
        .run();
  }

  void mark_code_used(const std::string& code_hash, const std::string& device_id,
                      int64_t now_ms) override {
    db_.prepare("UPDATE codes SET used_ms=?2, used_by=?3 WHERE hash=?1")
        .bind_static(1, code_hash)
        .bind(2, now_ms)
        .bind(3, device_id)
        .run();
  }

  void insert_token(const std::string& token_hash, Role role, const std::string& label,
                    int64_t now_ms, int64_t expires_ms,
                    const std::vector<std::string>& scope) override {
    db_.prepare(
           "INSERT INTO tokens(hash,role,label,created_ms,expires_ms,scope) "
           "VALUES(?1,?2,?3,?4,?5,?6)")
        .bind(1, token_hash)
        .bind(2, std::string(role_name(role)))
        .bind(3, label)
        .bind(4, now_ms)
        .bind(5, expires_ms)
        .bind(6, scope_to_text(scope))
        .run();
  }

  std::optional<TokenRow> revoke_token(const std::string& id, int64_t now_ms) override {
    if (id.size() != kTokenIdHexDigits) return std::nullopt;
    const std::string end = prefix_end(id);
    db_.prepare("UPDATE tokens SET revoked_ms=?3 WHERE hash>=?1 AND hash<?2 AND revoked_ms=0")
        .bind_static(1, id)
        .bind_static(2, end)
        .bind(3, now_ms)
        .run();
    auto& st = db_.prepare(std::string("SELECT ") + kTokenCols +
                           " FROM tokens WHERE hash>=?1 AND hash<?2 LIMIT 1");
    ResetOnExit r{st};
    st.bind_static(1, id).bind_static(2, end);
    if (!st.step()) return std::nullopt;
    return read_token(st);
  }

  std::pair<uint64_t, std::string> audit_head() override {
    auto& st = db_.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    ResetOnExit r{st};
    if (!st.step()) return {0, std::string()};
    return {static_cast<uint64_t>(st.column_int(0)), st.column_text(1)};
  }

  void append_audit(const AuditRow& a) override {
    db_.prepare(
           "INSERT INTO audit(seq,at_ms,role,actor,action,target,detail,prev_hash,hash) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")
        .bind(1, static_cast<int64_t>(a.seq))
        .bind(2, a.at_ms)
        .bind_static(3, a.role)
        .bind_static(4, a.actor)
        .bind_static(5, a.action)
        .bind_static(6, a.target)
        .bind_static(7, a.detail)
        .bind_static(8, a.prev_hash)
        .bind_static(9, a.hash)
        .run();
  }

  void put_audit_checkpoint(const AuditCheckpoint& cp) override {
    db_.prepare(
           "INSERT OR REPLACE INTO audit_checkpoints(count,head,at_ms,key_id,sig) "
           "VALUES(?1,?2,?3,?4,?5)")
        .bind(1, static_cast<int64_t>(cp.count))
        .bind_static(2, cp.head)
        .bind(3, cp.at_ms)
        .bind_static(4, cp.key_id)
        .bind_static(5, cp.sig)
        .run();
  }

  uint64_t count_tokens() override {
    auto& st = db_.prepare("SELECT count(*) FROM tokens");
    ResetOnExit r{st};
    st.step();
    return static_cast<uint64_t>(st.column_int(0));
  }

  int pin_schema_version(bool) override {
    const std::string v = meta("schema.active");
    return v.empty() ? 0 : std::stoi(v);
  }

  std::string meta(const std::string& key) override {
    auto& st = db_.prepare("SELECT value FROM meta WHERE key=?1");
    ResetOnExit r{st};
    st.bind_static(1, key);
    return st.step() ? st.column_text(0) : std::string();
  }

  void set_meta(const std::string& key, const std::string& value) override {
    db_.prepare("INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=?2")
        .bind_static(1, key)
        .bind_static(2, value)
        .run();
  }

  ~SqliteWriteTxn() override { give_back_clock(); }

  void commit() override {
    write_counts(db_, counts_);
    tx_.commit();
    clock_committed();
  }

 private:
  // Order matters: the transaction rolls back (if not committed) before the lock is released.
  std::unique_lock<std::mutex> lock_;
  sql::Database& db_;
  sql::Transaction tx_;
  uint64_t epoch_start_;
  uint64_t next_pos_ = 0;  // 0 until the first append_op of this transaction
  const Sealer* s_;        // nullptr: personal data in clear
  CountDeltas counts_;     // progress count changes, written at commit
};

}  // namespace

std::unique_ptr<WriteTxn> make_write_txn(std::mutex& mu, sql::Database& db, uint64_t epoch_start,
                                         const Sealer* sealer) {
  return std::make_unique<SqliteWriteTxn>(mu, db, epoch_start, sealer);
}

}  // namespace lumbung::server::sqlite_detail

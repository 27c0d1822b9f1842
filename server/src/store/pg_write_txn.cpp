// The PostgreSQL server store's write transaction (server_store.h WriteTxn).
//
// SQLite has one writer; here any number of server processes write at once, each in READ
// COMMITTED. The single writer's guarantees are rebuilt from locks held to commit:
//   - every single-row read a write transaction makes is SELECT ... FOR UPDATE (device,
//     record, code, conflict, duplicate, refused op), so read-modify-write on one row never
//     loses an update. A push starts with its device row: two servers given the same push
//     (a retry after a lost answer) run it one after the other, and the second sees the
//     first's acked_seq (READ COMMITTED re-reads the locked row's newest version) and
//     applies nothing twice;
//   - natural keys: an advisory lock on the blinded key before looking for live records
//     with it, so of two records with one NIK arriving on two servers, the second writer
//     waits, then sees the first: exactly one duplicate entry;
//   - meta values and the audit chain's head: advisory locks, so read-then-write of a
//     counter (server_seq) or the chain stays linear across processes.
//   - a push takes all its record and natural-key locks up front in one global order
//     (lock_records), then takes no other row lock a concurrent push could hold: two pushes
//     touching the same records in opposite orders wait, they do not deadlock. Other writers
//     (reviews, merges) lock rows as they read them; a deadlock there is found by PostgreSQL,
//     one transaction fails with kStorage (HTTP 503) and is sent again.
// Round trips are the cost of a push here (each ~0.1-0.2 ms): lock_records also reads the
// live records of the push's natural keys once, and new records and oplog rows are kept
// and written at commit in one multi-row INSERT each, so a push of new records costs a
// handful of statements, not several per op (docs/BENCHMARKS.md).
#include <array>
#include <map>
#include <set>

#include "store/pg_rows.h"

namespace lumbung::server::pg {
namespace {

// Most live ids of one natural key that lock_records keeps in memory for a push; a key with
// more is looked up in the database each time (it is locked all the same).
constexpr size_t kMaxCachedIdsPerKey = 64;

class PgWriteTxn : public WriteTxn {
 public:
  PgWriteTxn(std::unique_ptr<Pool::Lease> lease, uint64_t offset, const Sealer* sealer,
             std::string instance)
      : lease_(std::move(lease)),
        c_(**lease_),
        offset_(offset),
        s_(sealer),
        instance_(std::move(instance)) {
    c_.run("BEGIN");
  }

  ~PgWriteTxn() override {
    if (open_) {
      try {
        c_.run("ROLLBACK");
      } catch (...) {
        // The connection is gone; the server rolled back already.
      }
    }
  }

  void lock_records(const std::vector<std::pair<std::string, std::string>>& records,
                    const std::vector<std::pair<std::string, std::string>>& keys) override {
    // Every lock of a push is taken in one global order: its device row (device()), the
    // records by (col, id), the natural keys by their lock number; later statements only
    // re-take these (no wait) or take locks no push holds while waiting (meta, clocks).
    locked_.insert(records.begin(), records.end());
    lock_mode_ = true;
    std::set<std::pair<std::string, std::string>> key_pairs;  // (col, blinded key)
    if (!locked_.empty()) {
      std::vector<std::string> cols, ids;
      for (const auto& [col, id] : locked_) {
        cols.push_back(col);
        ids.push_back(id);
      }
      // ORDER BY before FOR UPDATE: rows are sorted first, then locked one by one in that
      // order (PostgreSQL 15 manual, SELECT, "The Locking Clause").
      auto r = c_.exec(
          "SELECT r.col, r.nkey, r.id FROM records r "
          "JOIN unnest($1::text[], $2::text[]) AS k(col, id) ON r.col=k.col AND r.id=k.id "
          "ORDER BY r.col, r.id FOR UPDATE OF r",
          {text_array(cols), text_array(ids)});
      for (int i = 0; i < r.rows(); ++i) {
        existing_.emplace(r.text(i, 0), r.text(i, 2));
        if (!r.null(i, 1)) key_pairs.emplace(r.text(i, 0), r.text(i, 1));
      }
    }
    for (const auto& [col, key] : keys) key_pairs.emplace(col, s_ ? s_->blind(col, key) : key);
    if (key_pairs.empty()) return;
    std::vector<std::string> names, key_cols, blinded;
    for (const auto& [col, b] : key_pairs) {
      names.push_back(nkey_lock(col, b));
      key_cols.push_back(col);
      blinded.push_back(b);
    }
    key_locks_.insert(names.begin(), names.end());
    // The lock calls run after the sort (PostgreSQL 9.6+ evaluates volatile output
    // expressions after ORDER BY), so every push takes them in ascending lock number.
    c_.exec(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "
        "FROM unnest($1::text[]) AS k) AS s ORDER BY h",
        {text_array(names)});
    // With the keys locked, the live records holding them, read once for the whole push
    // (live_ids_with_key then answers from memory, kept current by this transaction's
    // writes): a round trip per op saved.
    auto r = c_.exec(
        "SELECT k.col, k.nkey, x.id FROM unnest($1::text[], $2::text[]) AS k(col, nkey) "
        "LEFT JOIN LATERAL (SELECT id FROM records r WHERE r.col=k.col AND r.nkey=k.nkey "
        "AND r.live ORDER BY id LIMIT $3) AS x ON true",
        {text_array(key_cols), text_array(blinded), kMaxCachedIdsPerKey + 1});
    std::map<std::pair<std::string, std::string>, std::set<std::string>> found;
    for (int i = 0; i < r.rows(); ++i) {
      auto& ids = found[{r.text(i, 0), r.text(i, 1)}];
      if (!r.null(i, 2)) ids.insert(r.text(i, 2));
    }
    for (auto& [key, ids] : found) {
      if (ids.size() <= kMaxCachedIdsPerKey) live_by_key_[key] = std::move(ids);
    }
  }

  // This transaction wrote record (col, id) with blinded natural key `nkey`: keeps the
  // cached live ids per key (lock_records) true.
  void note_record(const std::string& col, const std::string& id,
                   const std::optional<std::string>& nkey, bool live) {
    for (auto& [key, ids] : live_by_key_) {
      if (key.first == col) ids.erase(id);
    }
    if (!nkey || !live) return;
    if (auto it = live_by_key_.find({col, *nkey}); it != live_by_key_.end()) it->second.insert(id);
  }

  // Writes the new records insert_new_record kept (one statement). A record with one of
  // their ids committed by another writer meanwhile (ids are random: only in theory) fails
  // the push with kStorage, and the laptop sends it again.
  void flush_records() {
    if (new_records_[0].empty()) return;
    const size_t n = new_records_[0].size();
    std::vector<Param> params;
    for (auto& column : new_records_) {
      params.emplace_back(text_array(column));
      column.clear();
    }
    buffered_.clear();
    const uint64_t written =
        c_.exec(
              "INSERT INTO records(col,id,doc,ver,live,scope,nkey,sealed) "
              "SELECT col, id, doc, ver, true, scope, nkey, sealed FROM unnest($1::text[], "
              "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS "
              "t(col, id, doc, ver, scope, nkey, sealed) ON CONFLICT(col,id) DO NOTHING",
              params)
            .affected();
    if (written != n) {
      throw Error(ErrorCode::kStorage, "a record of this push was created elsewhere meanwhile");
    }
  }

  std::optional<RecordState> load_record(const std::string& col, const std::string& id) override {
    // After lock_records, a record outside the push's own is only read (see server_store.h).
    const bool lock = !lock_mode_ || locked_.count({col, id}) > 0;
    if (buffered_.count({col, id})) flush_records();
    auto r = c_.exec(std::string("SELECT doc, ver, del_hlc, del_dev, sealed, live, scope "
                                 "FROM records WHERE col=$1 AND id=$2") +
                         (lock ? " FOR UPDATE" : ""),
                     std::vector<Param>{col, id});
    if (r.rows() == 0) return std::nullopt;
    if (lock) counts_.seen(col, id, r.view(0, 5) == "t", r.text(0, 6), r.text(0, 0));
    return read_record(r, 0, 0, s_, col, id);
  }

  // (clear doc, sealed part, blinded key) as this store keeps them.
  struct Stored {
    std::string doc;
    std::optional<std::string> sealed, nkey;
  };
  Stored stored(const std::string& col, const std::string& id, const std::string& doc,
                const std::optional<std::string>& nkey) const {
    Stored out;
    if (s_) {
      Sealer::Doc d = s_->split_doc(col, id, doc);
      out.doc = std::move(d.clear);
      out.sealed = std::move(d.sealed);
    } else {
      out.doc = doc;
    }
    if (nkey) out.nkey = s_ ? s_->blind(col, *nkey) : *nkey;
    return out;
  }

  void save_record(const std::string& col, const std::string& id, const RecordState& st,
                   const std::string& scope, const std::optional<std::string>& nkey) override {
    flush_records();
    Stored v = stored(col, id, codec::encode_doc(st), nkey);
    note_record(col, id, v.nkey, st.live());
    counts_.written(c_, col, id, !lock_mode_ || locked_.count({col, id}) > 0, st.live(), scope,
                    v.doc);
    c_.exec(
        "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT(col,id) DO UPDATE SET "
        "doc=$3, ver=$4, del_hlc=$5, del_dev=$6, live=$7, scope=$8, nkey=$9, sealed=$10",
        {col, id, v.doc, codec::encode_versions(st), static_cast<int64_t>(st.tombstone.hlc),
         st.tombstone.device, st.live() ? "true" : "false", scope, v.nkey, v.sealed});
  }

  bool insert_new_record(const std::string& col, const std::string& id, const std::string& doc,
                         const std::string& versions, const std::string& scope,
                         const std::optional<std::string>& nkey) override {
    Stored v = stored(col, id, doc, nkey);
    if (lock_mode_ && locked_.count({col, id}) && !existing_.count({col, id}) &&
        !buffered_.count({col, id})) {
      // Not there when lock_records looked: kept and written with the others at commit.
      auto& r = new_records_;
      r[0].emplace_back(col);
      r[1].emplace_back(id);
      r[2].emplace_back(v.doc);
      r[3].emplace_back(versions);
      r[4].emplace_back(scope);
      r[5].push_back(v.nkey);
      r[6].push_back(v.sealed);
      buffered_.emplace(col, id);
      note_record(col, id, v.nkey, true);
      counts_.created(col, id, scope, v.doc);
      return true;
    }
    flush_records();
    // A concurrent insert of the same id waits on the unique index, then does nothing here:
    // the caller merges into the record instead.
    const bool inserted = c_.exec(
                                "INSERT INTO records(col,id,doc,ver,live,scope,nkey,sealed) "
                                "VALUES($1,$2,$3,$4,true,$5,$6,$7) ON CONFLICT(col,id) DO NOTHING",
                                {col, id, v.doc, versions, scope, v.nkey, v.sealed})
                              .affected() == 1;
    if (inserted) {
      note_record(col, id, v.nkey, true);
      counts_.created(col, id, scope, v.doc);
    }
    return inserted;
  }

  std::vector<std::string> live_ids_with_key(const std::string& col, const std::string& key,
                                             size_t limit) override {
    const std::string blinded = s_ ? s_->blind(col, key) : key;
    // Held to commit once taken: lock_records took the push's keys already (a round trip
    // per op saved).
    if (auto it = live_by_key_.find({col, blinded}); it != live_by_key_.end()) {
      std::vector<std::string> out;
      for (const auto& id : it->second) {
        if (out.size() == limit) break;
        out.push_back(id);
      }
      return out;
    }
    if (std::string lock = nkey_lock(col, blinded); key_locks_.insert(lock).second) {
      c_.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {lock});
    }
    flush_records();
    auto r = c_.exec(
        "SELECT id FROM records WHERE col=$1 AND nkey=$2 AND live ORDER BY id "
        "LIMIT $3",
        {col, blinded, static_cast<uint64_t>(limit)});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  }

  uint64_t append_op(const Op& op, const std::string& scope, const std::string& op_text,
                     const std::string& not_scope) override {
    if (xid_ == 0) {
      // Assigns the transaction its id if it has none yet. Every row this transaction
      // appends gets a position derived from it (pg_rows.h pos_of).
      auto r = c_.exec("SELECT pg_current_xact_id()::text");
      xid_ = r.u64(0, 0);
      if (xid_ == 0 || xid_ >= kMaxXid) throw Error(ErrorCode::kStorage, "xid out of range");
    }
    if (rows_ >= kMaxRowsPerTxn) {
      throw Error(ErrorCode::kStorage, "too many oplog rows in one transaction");
    }
    const uint64_t pos = pos_of(offset_, xid_, rows_++);
    const std::string p = std::to_string(pos);
    // Kept until commit (or a read of the log) and written then in one statement: a push
    // of n ops saves n - 1 round trips. Nothing in a write transaction reads its own rows.
    auto& o = ops_;
    o[0].push_back(p);
    o[1].push_back(op.version.device);
    o[2].push_back(std::to_string(op.seq));
    o[3].push_back(op.collection);
    o[4].push_back(op.id);
    o[5].push_back(scope);
    o[6].push_back(std::to_string(op.version.hlc));
    o[7].push_back(seal_or_clear(s_, "oplog.op", p, op_text));
    o[8].push_back(not_scope);
    return pos;
  }

  // Writes the oplog rows append_op kept.
  void flush_ops() {
    if (ops_[0].empty()) return;
    std::vector<Param> params{std::to_string(xid_)};
    for (auto& column : ops_) {
      params.emplace_back(text_array(column));
      column.clear();
    }
    c_.exec(
        "INSERT INTO oplog(pos,xid,dev,seq,col,id,scope,hlc,op,not_scope) "
        "SELECT pos, $1::xid8, dev, seq, col, id, scope, hlc, op, not_scope FROM "
        "unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], "
        "$8::bigint[], $9::text[], $10::text[]) AS t(pos, dev, seq, col, id, scope, hlc, op, "
        "not_scope)",
        params);
  }

  std::optional<uint64_t> logged_hlc(const std::string& dev, uint64_t seq) override {
    flush_ops();
    auto r = c_.exec("SELECT hlc FROM oplog WHERE dev=$1 AND seq=$2", {dev, seq});
    if (r.rows() == 0) return std::nullopt;
    return r.u64(0, 0);
  }

  bool insert_conflict(const Conflict& c, int64_t now_ms) override {
    return c_.exec(
                 "INSERT INTO conflicts(id,kind,col,rid,field,body,found_ms) "
                 "VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(id) DO NOTHING",
                 {c.id, conflict_kind_name(c.kind), c.collection, c.record_id, c.field,
                  seal_or_clear(s_, "conflicts.body", c.id, codec::encode_conflict(c).dump()),
                  now_ms})
               .affected() > 0;
  }

  std::optional<ConflictRow> conflict(const std::string& id) override {
    auto r = c_.exec(
        "SELECT body, resolved, found_ms, resolution FROM conflicts WHERE id=$1 "
        "FOR UPDATE",
        {id});
    if (r.rows() == 0) return std::nullopt;
    return read_conflict(r, 0, s_, id);
  }

  void resolve_conflict(const std::string& id, const Json& resolution) override {
    c_.exec("UPDATE conflicts SET resolved=1, resolution=$2 WHERE id=$1",
            {id, seal_or_clear(s_, "conflicts.resolution", id, resolution.dump())});
  }

  bool insert_duplicate(const DuplicateRow& d) override {
    return c_.exec(
                 "INSERT INTO duplicates(id,col,rid_a,rid_b,found_ms) VALUES($1,$2,$3,$4,$5) "
                 "ON CONFLICT(id) DO NOTHING",
                 {d.id, d.collection, d.record_a, d.record_b, d.found_ms})
               .affected() > 0;
  }

  std::optional<DuplicateRow> duplicate(const std::string& id) override {
    auto r = c_.exec(
        "SELECT id, col, rid_a, rid_b, resolved, found_ms, resolution "
        "FROM duplicates WHERE id=$1 FOR UPDATE",
        {id});
    if (r.rows() == 0) return std::nullopt;
    return read_duplicate(r, 0, s_);
  }

  void resolve_duplicate(const std::string& id, const Json& resolution) override {
    c_.exec("UPDATE duplicates SET resolved=1, resolution=$2 WHERE id=$1",
            {id, seal_or_clear(s_, "duplicates.resolution", id, resolution.dump())});
  }

  bool insert_refused(const RefusedRow& f) override {
    return c_.exec(
                 "INSERT INTO refused(id,dev,seq,col,rid,code,field,message,op,scope,found_ms) "
                 "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT(id) DO NOTHING",
                 {f.id, f.device, f.seq, f.collection, f.record_id, f.code, f.field,
                  seal_or_clear(s_, "refused.message", f.id, f.message),
                  seal_or_clear(s_, "refused.op", f.id, f.op_text), f.scope, f.found_ms})
               .affected() > 0;
  }

  std::optional<RefusedRow> refused(const std::string& id) override {
    auto r = c_.exec(std::string("SELECT ") + kRefusedCols + " FROM refused WHERE id=$1 FOR UPDATE",
                     std::vector<Param>{id});
    if (r.rows() == 0) return std::nullopt;
    return read_refused(r, 0, s_);
  }

  void resolve_refused(const std::string& id, const std::string& status,
                       const Json& resolution) override {
    c_.exec("UPDATE refused SET status=$2, resolution=$3 WHERE id=$1",
            {id, status, seal_or_clear(s_, "refused.resolution", id, resolution.dump())});
  }

  void set_refused_reason(const std::string& id, const std::string& code, const std::string& field,
                          const std::string& message) override {
    c_.exec("UPDATE refused SET code=$2, field=$3, message=$4 WHERE id=$1",
            {id, code, field, seal_or_clear(s_, "refused.message", id, message)});
  }

  bool has_open_refused(const std::string& device, const std::string& col,
                        const std::string& rid) override {
    return c_.exec(
                 "SELECT 1 FROM refused WHERE dev=$1 AND col=$2 AND rid=$3 AND status='open' "
                 "AND code<>'waiting_for_record' LIMIT 1",
                 {device, col, rid})
               .rows() > 0;
  }

  std::vector<RefusedRow> waiting_for_record(const std::string& col,
                                             const std::string& rid) override {
    auto r = c_.exec(std::string("SELECT ") + kRefusedCols +
                         " FROM refused WHERE col=$1 AND rid=$2 AND status='open' AND "
                         "code='waiting_for_record' ORDER BY found_ms, seq FOR UPDATE",
                     std::vector<Param>{col, rid});
    std::vector<RefusedRow> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_refused(r, i, s_));
    return out;
  }

  std::optional<DeviceRow> device(const std::string& id) override {
    // The push's first statement: the lock that serialises one device's pushes (see top).
    // After lock_records another device's row is only read: a push applying ops that
    // waited for their record reads their writers' regions, and two such pushes locking
    // each other's device rows would deadlock (pg_concurrency_test).
    auto r = c_.exec(std::string("SELECT ") + kDeviceCols + " FROM devices WHERE device_id=$1" +
                         (lock_mode_ ? "" : " FOR UPDATE"),
                     std::vector<Param>{id});
    if (r.rows() == 0) return std::nullopt;
    return read_device(r, 0);
  }

  void insert_device(const DeviceRow& d, const std::string& token_hash) override {
    c_.exec(
        "INSERT INTO devices(device_id,label,scope,token_hash,registered_ms,last_seen_ms) "
        "VALUES($1,$2,$3,$4,$5,$5)",
        {d.device_id, d.label, scope_to_text(d.scope), token_hash, d.registered_ms});
  }

  void update_device_sync(const std::string& id, uint64_t acked_seq, int64_t now_ms,
                          const Json* status) override {
    c_.exec(
        "UPDATE devices SET acked_seq=$2, last_sync_ms=$3, "
        "last_seen_ms=greatest(last_seen_ms,$3), status=coalesce($4, status) "
        "WHERE device_id=$1",
        {id, acked_seq, now_ms, status ? Param(status->dump()) : Param(std::nullopt)});
  }

  bool revoke_device(const std::string& id, int64_t now_ms) override {
    if (c_.exec("UPDATE devices SET revoked_ms=$2 WHERE device_id=$1 AND revoked_ms=0",
                {id, now_ms})
            .affected() > 0) {
      return true;
    }
    return device(id).has_value();
  }

  bool reenrol_device(const std::string& id, const std::string& label,
                      const std::vector<std::string>& scope,
                      const std::string& token_hash) override {
    return c_.exec(
                 "UPDATE devices SET token_hash=$2, next_token_hash=NULL, revoked_ms=0, "
                 "label=$3, scope=$4 WHERE device_id=$1",
                 {id, token_hash, label, scope_to_text(scope)})
               .affected() > 0;
  }

  void touch_device(const std::string& id, int64_t now_ms) override {
    c_.exec("UPDATE devices SET last_seen_ms=greatest(last_seen_ms,$2) WHERE device_id=$1",
            {id, now_ms});
  }

  std::optional<CodeRow> code(const std::string& code_hash) override {
    // Locked: of two servers given one enrolment code at once, the second sees it used.
    auto r = c_.exec(
        "SELECT scope,label,created_ms,expires_ms,used_ms,used_by,revoked_ms,device_id "
        "FROM codes WHERE hash=$1 FOR UPDATE",
        {code_hash});
    if (r.rows() == 0) return std::nullopt;
    CodeRow c;
    c.scope = scope_from_text(r.view(0, 0));
    c.label = r.text(0, 1);
    c.created_ms = r.i64(0, 2);
    c.expires_ms = r.i64(0, 3);
    c.used_ms = r.i64(0, 4);
    c.used_by = r.text(0, 5);
    c.revoked_ms = r.i64(0, 6);
    c.device_id = r.text(0, 7);
    return c;
  }

  void insert_code(const std::string& code_hash, const CodeRow& c) override {
    c_.exec(
        "INSERT INTO codes(hash,scope,label,created_ms,expires_ms,device_id) "
        "VALUES($1,$2,$3,$4,$5,$6)",
        {code_hash, scope_to_text(c.scope), c.label, c.created_ms, c.expires_ms, c.device_id});
  }

  void mark_code_used(const std::string& code_hash, const std::string& device_id,
                      int64_t now_ms) override {
    c_.exec("UPDATE codes SET used_ms=$2, used_by=$3 WHERE hash=$1",
            {code_hash, now_ms, device_id});
  }

  std::optional<CodeRow> revoke_code(const std::string& id, int64_t now_ms) override {
    if (id.size() != kTokenIdHexDigits) return std::nullopt;
    auto r = c_.exec("SELECT hash FROM codes WHERE starts_with(hash, $1) LIMIT 1", {id});
    if (r.rows() == 0) return std::nullopt;
    const std::string hash = r.text(0, 0);
    c_.exec("UPDATE codes SET revoked_ms=$2 WHERE hash=$1 AND revoked_ms=0", {hash, now_ms});
    return code(hash);
  }

  void set_next_device_token(const std::string& device_id, const std::string& next_hash) override {
    c_.exec("UPDATE devices SET next_token_hash=$2 WHERE device_id=$1", {device_id, next_hash});
  }

  bool promote_device_token(const std::string& device_id, const std::string& next_hash) override {
    return c_.exec(
                 "UPDATE devices SET token_hash=next_token_hash, next_token_hash=NULL "
                 "WHERE device_id=$1 AND next_token_hash=$2",
                 {device_id, next_hash})
               .affected() > 0;
  }

  void insert_token(const std::string& token_hash, Role role, const std::string& label,
                    int64_t now_ms, int64_t expires_ms,
                    const std::vector<std::string>& scope) override {
    c_.exec(
        "INSERT INTO tokens(hash,role,label,created_ms,expires_ms,scope) "
        "VALUES($1,$2,$3,$4,$5,$6)",
        {token_hash, role_name(role), label, now_ms, expires_ms, scope_to_text(scope)});
  }

  uint64_t count_tokens() override {
    // Two servers starting on an empty database at once: the first admin token is made once.
    c_.exec("SELECT pg_advisory_xact_lock($1)", {kTokensLock});
    return c_.exec("SELECT count(*) FROM tokens").u64(0, 0);
  }

  std::optional<TokenRow> revoke_token(const std::string& id, int64_t now_ms) override {
    if (id.size() != kTokenIdHexDigits) return std::nullopt;
    c_.exec("UPDATE tokens SET revoked_ms=$2 WHERE starts_with(hash, $1) AND revoked_ms=0",
            {id, now_ms});
    auto r = c_.exec(
        std::string("SELECT ") + kTokenCols + " FROM tokens WHERE starts_with(hash, $1) LIMIT 1",
        std::vector<Param>{id});
    if (r.rows() == 0) return std::nullopt;
    return read_token(r, 0);
  }

  std::pair<uint64_t, std::string> audit_head() override {
    // Held to commit: the next entry's seq and link follow this head on every server.
    c_.exec("SELECT pg_advisory_xact_lock($1)", {kAuditLock});
    auto r = c_.exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (r.rows() == 0) return {0, std::string()};
    return {r.u64(0, 0), r.text(0, 1)};
  }

  void append_audit(const AuditRow& a) override {
    c_.exec(
        "INSERT INTO audit(seq,at_ms,role,actor,action,target,detail,prev_hash,hash) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        {a.seq, a.at_ms, a.role, a.actor, a.action, a.target, a.detail, a.prev_hash, a.hash});
  }

  void put_audit_checkpoint(const AuditCheckpoint& cp) override {
    c_.exec(
        "INSERT INTO audit_checkpoints(count,head,at_ms,key_id,sig) VALUES($1,$2,$3,$4,$5) "
        "ON CONFLICT(count) DO UPDATE SET head=$2, at_ms=$3, key_id=$4, sig=$5",
        {cp.count, cp.head, cp.at_ms, cp.key_id, cp.sig});
  }

  std::string meta(const std::string& key) override {
    if (key == "clock") {
      auto r = c_.exec("SELECT coalesce(max(value), 0)::text FROM clocks");
      return r.view(0, 0) == "0" ? std::string() : r.text(0, 0);
    }
    // A read-then-write of a meta value (server_seq) holds its key to commit, row or not.
    c_.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"meta:" + key});
    auto r = c_.exec("SELECT value FROM meta WHERE key=$1", {key});
    return r.rows() ? r.text(0, 0) : std::string();
  }

  void set_meta(const std::string& key, const std::string& value) override {
    if (key == "clock") {
      // Every push writes the clock: one row per server process, so pushes on different
      // servers never queue here; meta("clock") reads the highest.
      uint64_t v = 0;
      for (char ch : value) {
        if (ch < '0' || ch > '9' || v > (uint64_t{1} << 62)) {
          throw Error(ErrorCode::kInternal, "clock value is not a number");
        }
        v = v * 10 + static_cast<uint64_t>(ch - '0');
      }
      c_.exec(
          "INSERT INTO clocks(instance,value) VALUES($1,$2) "
          "ON CONFLICT(instance) DO UPDATE SET value=greatest(clocks.value, $2)",
          {instance_, v});
      return;
    }
    c_.exec("INSERT INTO meta(key,value) VALUES($1,$2) ON CONFLICT(key) DO UPDATE SET value=$2",
            {key, value});
  }

  void commit() override {
    flush_records();
    flush_ops();
    counts_.flush(c_);  // last: the count rows' locks are held the shortest time
    c_.run("COMMIT");
    open_ = false;
  }

 private:
  std::unique_ptr<Pool::Lease> lease_;
  Conn& c_;
  uint64_t offset_;
  const Sealer* s_;
  std::string instance_;
  // The advisory lock name of a (blinded) natural key, as live_ids_with_key takes it.
  static std::string nkey_lock(std::string_view col, std::string_view blinded) {
    return "nkey:" + std::string(col) + ":" + std::string(blinded);
  }

  bool open_ = true;
  bool lock_mode_ = false;  // lock_records was called: the push's locks are all taken
  std::set<std::pair<std::string, std::string>> locked_;    // (col, id) lock_records locked
  std::set<std::string> key_locks_;                         // natural-key locks held
  std::set<std::pair<std::string, std::string>> existing_;  // of locked_, those that exist
  // Live ids per (col, blinded natural key) for the keys lock_records locked.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> live_by_key_;
  // New records not written yet (insert_new_record), by column (col, id, doc, ver, scope,
  // nkey, sealed), and their (col, id).
  std::array<std::vector<std::optional<std::string>>, 7> new_records_;
  std::set<std::pair<std::string, std::string>> buffered_;
  // Oplog rows not written yet, by column (pos, dev, seq, col, id, scope, hlc, op, not_scope).
  std::array<std::vector<std::string>, 9> ops_;
  TxnCounts counts_;   // progress count changes, written at commit
  uint64_t xid_ = 0;   // this transaction's id, once it appended a row
  uint64_t rows_ = 0;  // oplog rows appended so far
};

}  // namespace

std::unique_ptr<WriteTxn> make_write_txn(std::unique_ptr<Pool::Lease> lease, uint64_t offset,
                                         const Sealer* sealer, const std::string& instance) {
  return std::make_unique<PgWriteTxn>(std::move(lease), offset, sealer, instance);
}

}  // namespace lumbung::server::pg

// The PostgreSQL server store's write transaction (server_store.h WriteTxn): this file has
// the push path - record locks, records, natural keys, the oplog and commit; the single-row
// writes (review entries, devices, codes, tokens, audit, meta) are PgTxnRows's
// (pg_txn_rows.cpp), which it derives from.
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

#include "store/pg_txn_rows.h"

namespace lumbung::server::pg {
namespace {

// Most live ids of one natural key that lock_records keeps in memory for a push; a key with
// more is looked up in the database each time (it is locked all the same).
constexpr size_t kMaxCachedIdsPerKey = 64;

class PgWriteTxn : public PgTxnRows {
 public:
  PgWriteTxn(std::unique_ptr<Pool::Lease> lease, uint64_t offset, const Sealer* sealer,
             std::string instance)
      : PgTxnRows(**lease, sealer, std::move(instance)), lease_(std::move(lease)), offset_(offset) {
    c_.run("BEGIN");
  }

  ~PgWriteTxn() override {
    give_back_clock();
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

  void commit() override {
    flush_records();
    flush_ops();
    counts_.flush(c_);  // last: the count rows' locks are held the shortest time
    c_.run("COMMIT");
    open_ = false;
    clock_committed();
  }

 private:
  std::unique_ptr<Pool::Lease> lease_;
  uint64_t offset_;
  // The advisory lock name of a (blinded) natural key, as live_ids_with_key takes it.
  static std::string nkey_lock(std::string_view col, std::string_view blinded) {
    return "nkey:" + std::string(col) + ":" + std::string(blinded);
  }

  bool open_ = true;
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

// Private to the engine: the device store's state and its row-level helpers, shared by
// store.cpp (opening, local writes, reads) and store_sync.cpp (the outbox and applying
// what the server sends). The file layout is described at the top of store.cpp.
#pragma once

#include <openssl/crypto.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/sqlite.h"
#include "common/uuid.h"
#include "crypto/crypto.h"
#include "lumbung/schema_versions.h"
#include "lumbung/store.h"
#include "lumbung/tuning.h"
#include "store/record_codec.h"

namespace lumbung {
namespace store_detail {

using codec::decode_conflict;
using codec::decode_state;
using codec::encode_conflict;
using codec::encode_versions;
using codec::json_quote;

inline constexpr const char* kDdl = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(
  rid INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
  ver TEXT NOT NULL, del_hlc INTEGER NOT NULL DEFAULT 0, del_dev TEXT NOT NULL DEFAULT '',
  live INTEGER NOT NULL, scope INTEGER, nkey ANY, sealed BLOB, mac BLOB);
-- Ids are UUIDs, unique across collections; keys without `col` compare faster.
CREATE UNIQUE INDEX IF NOT EXISTS records_id ON records(id);
CREATE INDEX IF NOT EXISTS records_scope ON records(scope);
CREATE INDEX IF NOT EXISTS records_nkey ON records(nkey) WHERE nkey IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, op TEXT, sealed BLOB, mac BLOB);
CREATE TABLE IF NOT EXISTS conflicts(
  cid TEXT PRIMARY KEY, kind TEXT NOT NULL, col TEXT NOT NULL, rid TEXT NOT NULL,
  field TEXT NOT NULL, body TEXT NOT NULL, hi_hlc INTEGER NOT NULL, hi_dev TEXT NOT NULL,
  found_ms INTEGER NOT NULL, resolved INTEGER NOT NULL DEFAULT 0, sealed BLOB, mac BLOB);
CREATE INDEX IF NOT EXISTS conflicts_record ON conflicts(col, rid, resolved);
CREATE TABLE IF NOT EXISTS refused(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, rid TEXT NOT NULL, code TEXT NOT NULL,
  field TEXT NOT NULL, message TEXT NOT NULL, at_ms INTEGER NOT NULL, sealed BLOB, mac BLOB);
CREATE TABLE IF NOT EXISTS away(id TEXT PRIMARY KEY, mac BLOB) WITHOUT ROWID;
)sql";

// The tables that carry a `mac` column (added by ALTER TABLE to files made before it).
inline constexpr const char* kMacTables[] = {"meta",      "records", "changes",
                                             "conflicts", "refused", "away"};

// Column lists in the order their MACs cover them (row MACs, encrypted stores only: see
// store.cpp). Every read of a row selects one of these so the check sees what was written.
#define LB_RECORD_COLS "col, id, doc, ver, del_hlc, del_dev, live, scope, nkey, sealed, mac"
#define LB_CHANGE_COLS "seq, col, id, hlc, wall_ms, op, sealed, mac"
#define LB_CONFLICT_COLS \
  "cid, kind, col, rid, field, body, hi_hlc, hi_dev, found_ms, resolved, sealed, mac"
#define LB_REFUSED_COLS "seq, col, rid, code, field, message, at_ms, sealed, mac"
// Positions inside LB_RECORD_COLS / LB_CHANGE_COLS.
namespace rc {
inline constexpr int kCol = 0, kId = 1, kDoc = 2, kVer = 3, kDelHlc = 4, kDelDev = 5, kLive = 6,
                     kScope = 7, kNkey = 8, kSealed = 9, kMac = 10, kCount = 10;
}
namespace cc {
inline constexpr int kSeq = 0, kCol = 1, kId = 2, kHlc = 3, kWall = 4, kOp = 5, kSealed = 6,
                     kMac = 7, kCount = 7;
}
// MAC domains: the table and its layout version.
inline constexpr const char* kMacRecord = "lumbung rec v1";
inline constexpr const char* kMacChange = "lumbung chg v1";
inline constexpr const char* kMacConflict = "lumbung cfl v1";
inline constexpr const char* kMacRefused = "lumbung ref v1";
inline constexpr const char* kMacAway = "lumbung away v1";
inline constexpr const char* kMacMeta = "lumbung meta v1";
// meta keys not covered by a MAC: the wrapped data key (authenticated by AES-GCM under
// the passphrase; the MAC key comes from it).
inline bool meta_unmacked(std::string_view key) { return key == "crypto"; }

[[noreturn]] inline void throw_issues(const std::vector<ValidationIssue>& issues) {
  const ValidationIssue& first = issues.front();
  std::string msg = first.message;
  if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more problems)";
  throw Error(
      first.reason == "unknown_field" ? ErrorCode::kUnknownField : ErrorCode::kValidationFailed,
      msg, first.field);
}

}  // namespace store_detail

using namespace store_detail;  // NOLINT: private header, included only by the store's .cpp files

struct Store::Impl {
  std::shared_ptr<const Schema> schema;
  std::string device;
  WallClock* wall;
  std::unique_ptr<sql::Database> db;
  std::unique_ptr<HybridClock> clock;
  mutable std::mutex mu;
  uint64_t next_seq = 1;  // in memory; reloaded on rollback
  uint64_t acked_seq = 0;
  std::unique_ptr<crypto::Keyring> keys;  // set when the store is encrypted
  std::vector<std::string> regions;       // meta "regions"; empty = unknown
  std::unordered_set<std::string> away;   // ids that moved out of the regions (table away)

  // Refuses a record whose scope field lies outside the device's regions (if known).
  void check_regions(const CollectionSchema& cs, const Json& fields) const {
    if (regions.empty() || cs.scope_field().empty()) return;
    const std::string* scope = string_field(fields, cs.scope_field());
    if (!scope) return;
    for (const auto& p : regions) {
      if (scope->compare(0, p.size(), p) == 0) return;
    }
    std::string list;
    for (const auto& p : regions) list += (list.empty() ? "" : ", ") + p;
    const FieldDef* def = cs.field(cs.scope_field());
    throw Error(ErrorCode::kOutOfScope,
                (def && !def->label.empty() ? def->label : cs.scope_field()) + " " + *scope +
                    " is outside this device's regions (" + list + ")",
                cs.scope_field());
  }

  // A record that moved out of this device's regions ("gone" from the server).
  bool is_away(const std::string& id) const { return !away.empty() && away.count(id) > 0; }
  // The record left this device's regions: it is hidden from now on; its row is removed
  // unless changes of this device to it are still unsent (a create is read back from its
  // row when pushed). Caller holds mu and a transaction.
  void move_away(const std::string& col, const std::string& id) {
    if (!away.insert(id).second) return;
    auto& ins = db->prepare("INSERT OR IGNORE INTO away(id, mac) VALUES(?1, ?2)");
    ins.bind(1, id);
    bind_mac(ins, 2, keys ? keys->row_mac().begin(kMacAway).add(id).finish() : std::string());
    ins.run();
    auto& pending = db->prepare("SELECT 1 FROM changes WHERE seq>?1 AND id=?2 LIMIT 1");
    pending.bind(1, static_cast<int64_t>(acked_seq)).bind_static(2, id);
    const bool unsent = pending.step();
    pending.reset();
    if (unsent) {
      // Kept for the push, hidden: written again, so its live flag (and MAC) say so.
      if (auto st = load(col, id)) save(collection(col), id, *st);
    } else {
      db->prepare("DELETE FROM records WHERE id=?1 AND col=?2").bind(1, id).bind(2, col).run();
    }
  }

  void away_if_outside(uint64_t refused_seq);  // store_refused.cpp
  // Keeps one refusal of this device's change and acts on it (an out_of_scope one moves its
  // record away); one already kept is ignored, effect included. Caller holds mu and a
  // transaction. store_refused.cpp.
  // False if this device held the same refusal already (it changes nothing then).
  bool insert_refused(const RefusedChange& r);

  void throw_if_away(const std::string& id) const {
    if (is_away(id)) {
      throw Error(ErrorCode::kOutOfScope,
                  "record " + id +
                      " moved out of this device's regions; it can no longer be "
                      "changed here");
    }
  }

  bool personal(const CollectionSchema& cs, const std::string& field) const {
    const FieldDef* def = cs.field(field);
    return def && def->personal;
  }
  std::string seal(std::string_view plain, const std::string& aad) const {
    return keys->seal(plain, aad);
  }
  std::string unseal(std::string_view sealed, const std::string& aad) const {
    auto plain = keys->open(sealed, aad);
    if (!plain)
      throw Error(ErrorCode::kCorrupt, "an encrypted entry does not decrypt (" + aad + ")");
    return std::move(*plain);
  }
  std::string_view blob(const sql::Statement& st, int col) const { return st.column_view(col); }

  // --- row MACs (encrypted stores; store.cpp "Integrity") -----------------------------------

  // True if the MAC at column first + n matches columns first .. first + n - 1 as read back.
  bool row_intact(const sql::Statement& st, const char* domain, int first, int n) const {
    if (st.column_is_null(first + n)) return false;
    const std::string mac = row_mac_of(st, domain, first, n);
    const std::string_view stored = st.column_view(first + n);
    return stored.size() == mac.size() && CRYPTO_memcmp(mac.data(), stored.data(), mac.size()) == 0;
  }
  // The MAC of a row as read back (columns first .. first + n - 1), e.g. to add one to a row
  // written before row MACs; `changed` >= 0 replaces that column by `value`.
  std::string row_mac_of(const sql::Statement& st, const char* domain, int first, int n,
                         int changed = -1, int64_t value = 0) const;
  [[noreturn]] static void throw_tampered(const std::string& what) {
    throw Error(ErrorCode::kCorrupt,
                what +
                    " fails its integrity check: it was changed outside Lumbung (or the file "
                    "is damaged), so it is neither used nor sent");
  }
  void check_record_row(const sql::Statement& st, int first) const {
    if (keys && !row_intact(st, kMacRecord, first, rc::kCount)) {
      throw_tampered("record " + st.column_text(first + rc::kId));
    }
  }
  void check_change_row(const sql::Statement& st, int first) const {
    if (keys && !row_intact(st, kMacChange, first, cc::kCount)) {
      throw_tampered("change log entry " + std::to_string(st.column_int(first + cc::kSeq)));
    }
  }
  // Binds a MAC, or NULL when there is none (unencrypted store: "").
  static void bind_mac(sql::Statement& st, int col, const std::string& mac) {
    if (mac.empty()) {
      st.bind_null(col);
    } else {
      st.bind_blob(col, mac.data(), mac.size());
    }
  }

  // Decodes a record row laid out as LB_RECORD_COLS from column `first`, after checking its
  // MAC (unless the caller just did).
  RecordState decode_row(const sql::Statement& st, int first, bool check = true) const;

  const CollectionSchema& collection(const std::string& name) const {
    const CollectionSchema* c = schema->collection(name);
    if (!c) throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + name + "\"");
    return *c;
  }

  // A setting; "" if unset. On an encrypted store its MAC is checked (Error(kCorrupt)).
  std::string meta(const std::string& key) const;
  // Sets a setting (with its MAC on an encrypted store).
  void put_meta(const std::string& key, const std::string& value);

  void load_regions_and_away();

  // Reads next_seq and acked_seq from the database; returns the newest entry's hlc (0: none).
  uint64_t reload_counters();
  // Inside a write transaction: takes up what another process writing this store did since
  // (`lumbung sync` in one terminal, `lumbung enrol` in another), so that no seq or version
  // is given out twice.
  void catch_up_with_other_writers() {
    const uint64_t newest = reload_counters();
    clock->resume_above(newest);
    const std::string h = meta("hlc");
    if (!h.empty()) clock->resume_above(std::stoull(h));
  }

  // Loads a record's merge state; nullopt if the id was never seen.
  std::optional<RecordState> load(const std::string& col, const std::string& id) const {
    auto& st = db->prepare("SELECT " LB_RECORD_COLS " FROM records WHERE col=?1 AND id=?2");
    st.bind_static(1, col).bind_static(2, id);
    std::optional<RecordState> out;
    try {
      if (st.step()) out = decode_row(st, 0);
    } catch (...) {
      st.reset();
      throw;
    }
    st.reset();
    return out;
  }

  static const std::string* string_field(const Json& fields, const std::string& name) {
    if (name.empty()) return nullptr;
    auto it = fields.find(name);
    return it != fields.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  }
  static const std::string* string_field(const RecordState& st, const std::string& name) {
    if (name.empty()) return nullptr;
    auto it = st.fields.find(name);
    return it != st.fields.end() && it->second.value.is_string()
               ? &it->second.value.get_ref<const std::string&>()
               : nullptr;
  }

  // The scope and natural-key index columns of a record.
  struct IndexKeys {
    std::optional<int64_t> scope;
    bool has_nkey = false;
    bool nkey_is_int = false;
    int64_t nkey_int = 0;
    std::string_view nkey_text;  // when !nkey_is_int (unencrypted stores only)
  };
  IndexKeys index_keys(const std::string* scope, const std::string* key) const {
    IndexKeys k;
    if (scope) k.scope = codec::scope_key(*scope);
    if (key) {
      k.has_nkey = true;
      if (keys) {
        k.nkey_is_int = true;
        k.nkey_int = keys->blind_index(*key);
      } else {
        const codec::NaturalKey nk = codec::natural_key(*key);
        k.nkey_is_int = nk.is_int;
        k.nkey_int = nk.i;
        k.nkey_text = nk.text;
      }
    }
    return k;
  }
  // Binds the scope and natural-key index columns at `scope_col` and scope_col + 1.
  static void bind_index_keys(sql::Statement& ins, int scope_col, const IndexKeys& k) {
    if (k.scope) {
      ins.bind(scope_col, *k.scope);
    } else {
      ins.bind_null(scope_col);
    }
    if (!k.has_nkey) {
      ins.bind_null(scope_col + 1);
    } else if (k.nkey_is_int) {
      ins.bind(scope_col + 1, k.nkey_int);
    } else {
      ins.bind_static(scope_col + 1, k.nkey_text);
    }
  }
  // The MAC of a record row (LB_RECORD_COLS order) as it is about to be written.
  std::string record_mac(std::string_view col, std::string_view id, std::string_view doc,
                         std::string_view ver, int64_t del_hlc, std::string_view del_dev,
                         int64_t live, const IndexKeys& k, std::string_view sealed) const {
    crypto::RowMac& m = keys->row_mac().begin(kMacRecord);
    m.add(col).add(id).add(doc).add(ver).add(del_hlc).add(del_dev).add(live);
    if (k.scope) {
      m.add(*k.scope);
    } else {
      m.add_null();
    }
    if (!k.has_nkey) {
      m.add_null();
    } else if (k.nkey_is_int) {
      m.add(k.nkey_int);
    } else {
      m.add(k.nkey_text);
    }
    return m.add(sealed).finish();
  }
  void save(const CollectionSchema& cs, const std::string& id, const RecordState& st);

  // A log entry's op text as stored: clear (unencrypted stores) or sealed, or neither (a
  // create, whose values live in the record).
  struct OpColumns {
    const std::string* clear = nullptr;
    std::string sealed;
    bool has_sealed = false;
  };
  OpColumns op_columns(uint64_t seq, const std::string* op_text) const {
    OpColumns c;
    if (op_text && keys) {
      c.sealed = seal(*op_text, "chg:" + std::to_string(seq));
      c.has_sealed = true;
    } else if (op_text) {
      c.clear = op_text;
    }
    return c;
  }
  // Binds op and sealed at `col` and col + 1.
  static void bind_op_columns(sql::Statement& st, int col, const OpColumns& c) {
    if (c.clear) {
      st.bind_static(col, *c.clear);
    } else {
      st.bind_null(col);
    }
    if (c.has_sealed) {
      st.bind_blob(col + 1, c.sealed.data(), c.sealed.size());
    } else {
      st.bind_null(col + 1);
    }
  }
  // The MAC of a change row (LB_CHANGE_COLS order); "" on an unencrypted store.
  std::string change_mac(uint64_t seq, std::string_view col, std::string_view id, uint64_t hlc,
                         int64_t wall_ms, const OpColumns& c) const {
    if (!keys) return {};
    crypto::RowMac& m = keys->row_mac().begin(kMacChange);
    m.add(static_cast<int64_t>(seq)).add(col).add(id).add(static_cast<int64_t>(hlc)).add(wall_ms);
    if (c.clear) {
      m.add(*c.clear);
    } else {
      m.add_null();
    }
    if (c.has_sealed) {
      m.add(c.sealed);
    } else {
      m.add_null();
    }
    return m.finish();
  }

  // `op_text` nullptr: a create read back from its record (stores before creates were logged
  // with their values; see the file comment of store.cpp).
  void log_change(const Op& op, const std::string* op_text);

  // A create read back from its record (nullopt: the row is gone): every field still at the
  // create's version, and fields written after the create with their current value (their
  // own later entries bring the newer versions): a create read back without them would leave
  // a record missing required fields on every replica that applies it before those entries
  // (a page boundary, a crash between pages; soak seeds 1946 and 2101).
  Op create_op(uint64_t seq, std::string col, std::string id, uint64_t hlc,
               const std::optional<RecordState>& st) const {
    Op op;
    op.seq = seq;
    op.collection = std::move(col);
    op.id = std::move(id);
    op.version = {hlc, device};
    if (st) {
      for (const auto& [name, fv] : st->fields) {
        if (fv.version == op.version || !fv.value.is_null()) op.set[name] = fv.value;
      }
    }
    return op;
  }

  // Records that came back whole ("rec": moved into this device's regions again) hold the
  // server's snapshot taken at the move, which may predate this device's own later writes
  // to them; the server never sends a device its own ops, so they are joined back from the
  // log (kept after acknowledgement; refused ones excepted): each field and the tombstone
  // take the newer of the two versions, as the merge of a whole record does (tests/sim
  // seed 1250).
  // What a replay after a server restore starts from (see Store::apply_replay).
  size_t forget_others();
  // rebuild_absent: a record missing from the table is rebuilt from the writes alone.
  void rejoin_own_writes(const std::map<std::string, std::string>& records,
                         bool rebuild_absent = false);
  // Refused change `seq`: its fields still at its version take what the server holds
  // (RefusedChange::held), and a refused delete the server's tombstone. store_refused.cpp.
  void take_held(uint64_t seq, const Json& held);
  std::optional<Op> logged_change(uint64_t seq) const;  // store_refused.cpp
  // Today's name of a field a change logged under any older schema version (names are
  // never reused: check_successor); "" if retired since.
  std::function<std::string(const std::string&, const std::string&)> current_names() const;

  // Log entries after `after_seq` on `records`, written before the server re-stamped this
  // device's versions (`aliases`: old hlc -> new), name the old versions in their base;
  // rewritten to the new ones, or the server would read a base from the far future as a
  // sight of every write (tests/sim seed 425). Creates carry no base. Inside a transaction.
  void rebase_pending(const std::map<uint64_t, uint64_t>& aliases,
                      const std::set<std::string>& records, uint64_t after_seq);

  // Rebuilds a log entry from its row (LB_CHANGE_COLS), after checking its MAC.
  Op change_from_row(const sql::Statement& row) const;

  // An unsent create's record row is kept until it is sent (even if the record moves away),
  // so on an encrypted store a missing one was deleted outside Lumbung.
  void throw_create_without_record(uint64_t seq, const std::string& id) const {
    if (!keys) return;
    throw Error(ErrorCode::kCorrupt, "record " + id + " of change log entry " +
                                         std::to_string(seq) +
                                         " is missing: it was deleted outside Lumbung, so "
                                         "nothing is sent");
  }

  // On an encrypted store the unsent log is gap-free: a missing entry (deleted outside
  // Lumbung) stops the push rather than losing the change silently.
  void check_next_seq(uint64_t& expect, uint64_t seq) const {
    if (keys && seq != expect) {
      throw Error(ErrorCode::kCorrupt,
                  "change log entry " + std::to_string(expect) +
                      " is missing: the log was changed outside Lumbung, so nothing is sent");
    }
    expect = seq + 1;
  }

  // The MAC of a conflict row (LB_CONFLICT_COLS order); "" on an unencrypted store.
  std::string conflict_mac(const Conflict& c, std::string_view body, int64_t hi_hlc,
                           const std::string& hi_dev, int64_t found_ms,
                           std::string_view sealed) const {
    if (!keys) return {};
    crypto::RowMac& m = keys->row_mac().begin(kMacConflict);
    m.add(c.id).add(conflict_kind_name(c.kind)).add(c.collection).add(c.record_id).add(c.field);
    m.add(body).add(hi_hlc).add(hi_dev).add(found_ms).add(int64_t{0});
    return m.add(sealed).finish();
  }

  void record_conflicts(const std::vector<Conflict>& conflicts);

  // A write that had seen both sides of a conflict settles it on this replica.
  void settle_conflicts(const Op& op);

  // The hot path of imports and first pulls: a record this replica has never seen gets
  // all its fields at one version. That is exactly what apply_op gives for a set applied to
  // an empty state, written directly (no merge state built, the JSON made once). Returns
  // false, writing nothing, if the id exists already. `fields_text`, if given, is
  // fields.dump() made already (a local create logs that text too): not made again.
  bool insert_fresh(const CollectionSchema& cs, const std::string& id, const Json& fields,
                    const Version& v, const std::string* fields_text = nullptr);

  // --- rewriting a whole encrypted store (store.cpp; at open, in its transaction) ----------
  void reseal_records(bool checked);
  // Calls fn(collection schema, id, state) for every record row, in pages of rows by rowid,
  // each page read whole before fn runs (fn may write the row: save()). `checked`: the rows
  // carry MACs already and each is checked first. Shared by reseal_records and the schema
  // move (store_migrate.cpp).
  void for_each_record_row(
      bool checked,
      const std::function<void(const CollectionSchema&, const std::string&, RecordState&)>& fn);
  // Opened under another schema version than last time (store_migrate.cpp): for a newer
  // version whose changelog leads from the old one, renames the records' fields and drops
  // retired ones; unsent changes keep the version they were written under (unsent creates
  // are logged as they stand first). Returns true if rows were rewritten. In the caller's
  // transaction.
  bool move_schema_version(int old_version);
  // The schema version each change was written under (meta "sv_upto", store_migrate.cpp):
  // the first noted version whose last seq is >= seq, else the store's.
  struct WrittenVersions {
    std::vector<std::pair<int, uint64_t>> upto;  // (version, last seq), by version
    int current = 1;
    int of(uint64_t seq) const;
  };
  WrittenVersions written_versions() const;
  void mac_table(const std::string& table, const std::string& cols, int n, const char* domain,
                 const std::string& key_col);
  void add_row_macs();

  // --- the three local writes; caller holds mu and an open transaction ---------------------

  std::string create(const std::string& col, Json fields, std::string id);

  void update(const std::string& col, const std::string& id, Json patch);

  void remove(const std::string& col, const std::string& id);

  // At each commit: the clock, and on an encrypted store the newest log seq ("log_end",
  // under its MAC), so that log entries deleted from the end are noticed at open.
  void persist_clock() {
    put_meta("hlc", std::to_string(clock->last()));
    if (keys) put_meta("log_end", std::to_string(next_seq - 1));
  }
  // Encrypted stores: the log must reach the seq the last commit recorded.
  void check_log_end() const {
    if (!keys || next_seq == 1) return;
    const std::string end = meta("log_end");
    const uint64_t want = end.empty() ? 0 : std::stoull(end);
    if (end.empty() || want > next_seq - 1) {
      throw Error(ErrorCode::kCorrupt, "change log entries after " + std::to_string(next_seq - 1) +
                                           (end.empty() ? "" : " up to " + end) +
                                           " are missing: the log was changed outside Lumbung");
    }
  }

  Record to_record(const std::string& col, const std::string& id, const RecordState& st) const {
    Record r;
    r.collection = col;
    r.id = id;
    r.fields = st.values();
    for (const auto& [name, fv] : st.fields) r.versions.emplace(name, fv.version);
    r.deleted = !st.live();
    r.tombstone = st.tombstone;
    return r;
  }
};

}  // namespace lumbung

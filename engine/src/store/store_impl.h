// Private to the engine: the device store's state and its row-level helpers, shared by
// store.cpp (opening, local writes, reads) and store_sync.cpp (the outbox and applying
// what the server sends). The file layout is described at the top of store.cpp.
#pragma once

#include <openssl/crypto.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/sqlite.h"
#include "common/uuid.h"
#include "crypto/crypto.h"
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
                         int changed = -1, int64_t value = 0) const {
    crypto::RowMac& m = keys->row_mac().begin(domain);
    for (int i = first; i < first + n; ++i) {
      if (i == changed) {
        m.add(value);
      } else if (st.column_is_null(i)) {
        m.add_null();
      } else {
        m.add(st.column_view(i));
      }
    }
    return m.finish();
  }
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
  RecordState decode_row(const sql::Statement& st, int first, bool check = true) const {
    if (check) check_record_row(st, first);
    const int doc_col = first + rc::kDoc, ver_col = first + rc::kVer;
    const int64_t del_hlc = st.column_int(first + rc::kDelHlc);
    const std::string_view del_dev = st.column_view(first + rc::kDelDev);
    if (st.column_is_null(first + rc::kSealed)) {
      if (keys) throw_tampered("record " + st.column_text(first + rc::kId));
      return decode_state(st.column_view(doc_col), st.column_view(ver_col), del_hlc, del_dev);
    }
    const std::string id = st.column_text(first + rc::kId);
    if (!keys)
      throw Error(ErrorCode::kCorrupt, "record " + id + " is encrypted but the store is not");
    Json doc = Json::parse(st.column_view(doc_col), nullptr, false);
    Json priv = Json::parse(unseal(blob(st, first + rc::kSealed), "rec:" + id), nullptr, false);
    if (!doc.is_object() || !priv.is_object()) {
      throw Error(ErrorCode::kCorrupt, "stored record " + id + " is not JSON");
    }
    for (auto& [k, v] : priv.items()) doc[k] = std::move(v);
    return codec::decode_state(doc, st.column_view(ver_col), del_hlc, del_dev);
  }

  const CollectionSchema& collection(const std::string& name) const {
    const CollectionSchema* c = schema->collection(name);
    if (!c) throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + name + "\"");
    return *c;
  }

  // A setting; "" if unset. On an encrypted store its MAC is checked (Error(kCorrupt)).
  std::string meta(const std::string& key) const {
    auto& st = db->prepare("SELECT key, value, mac FROM meta WHERE key=?1");
    st.bind(1, key);
    std::string out;
    if (st.step()) {
      if (keys && !meta_unmacked(key) && !row_intact(st, kMacMeta, 0, 2)) {
        st.reset();
        throw_tampered("setting \"" + key + "\"");
      }
      out = st.column_text(1);
    }
    st.reset();
    return out;
  }
  void put_meta(const std::string& key, const std::string& value) {
    auto& st = db->prepare(
        "INSERT INTO meta(key,value,mac) VALUES(?1,?2,?3) ON CONFLICT(key) DO UPDATE SET "
        "value=?2, mac=?3");
    st.bind(1, key).bind(2, value);
    bind_mac(st, 3,
             keys && !meta_unmacked(key)
                 ? keys->row_mac().begin(kMacMeta).add(key).add(value).finish()
                 : std::string());
    st.run();
  }

  void load_regions_and_away() {
    regions.clear();
    const Json r = Json::parse(meta("regions"), nullptr, false);
    if (r.is_array()) {
      for (const auto& p : r) {
        if (p.is_string()) regions.push_back(p.get<std::string>());
      }
    }
    away.clear();
    auto& st = db->prepare("SELECT id, mac FROM away");
    while (st.step()) {
      if (keys && !row_intact(st, kMacAway, 0, 1)) {
        const std::string id = st.column_text(0);
        st.reset();
        throw_tampered("the moved-away mark of record " + id);
      }
      away.insert(st.column_text(0));
    }
    st.reset();
  }

  void reload_counters() {
    // The newest entry's seq (checked: a forged high seq would skip numbers).
    auto& st = db->prepare("SELECT " LB_CHANGE_COLS " FROM changes ORDER BY seq DESC LIMIT 1");
    next_seq = 1;
    if (st.step()) {
      try {
        check_change_row(st, 0);
      } catch (...) {
        st.reset();
        throw;
      }
      next_seq = static_cast<uint64_t>(st.column_int(cc::kSeq)) + 1;
    }
    st.reset();
    const std::string acked = meta("acked_seq");
    acked_seq = acked.empty() ? 0 : std::stoull(acked);
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
  void save(const CollectionSchema& cs, const std::string& id, const RecordState& st) {
    auto& ins = db->prepare(
        "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed,mac) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) ON CONFLICT(id) DO UPDATE SET "
        "doc=?3, ver=?4, del_hlc=?5, del_dev=?6, live=?7, scope=?8, nkey=?9, sealed=?10, "
        "mac=?11 WHERE col=?1");
    const std::string ver = encode_versions(st);
    const auto del_hlc = static_cast<int64_t>(st.tombstone.hlc);
    const int64_t live = st.live() && !is_away(id) ? 1 : 0;
    const IndexKeys k =
        index_keys(string_field(st, cs.scope_field()), string_field(st, cs.natural_key()));
    ins.bind_static(1, cs.name()).bind_static(2, id).bind_static(4, ver);
    ins.bind(5, del_hlc).bind_static(6, st.tombstone.device).bind(7, live);
    bind_index_keys(ins, 8, k);
    std::string doc, sealed;
    if (keys) {
      Json clear = Json::object(), priv = Json::object();
      for (const auto& [name, fv] : st.fields) (personal(cs, name) ? priv : clear)[name] = fv.value;
      doc = clear.dump();
      sealed = seal(priv.dump(), "rec:" + id);
      ins.bind_blob(10, sealed.data(), sealed.size());
      bind_mac(ins, 11,
               record_mac(cs.name(), id, doc, ver, del_hlc, st.tombstone.device, live, k, sealed));
    } else {
      doc = codec::encode_doc(st);
      ins.bind_null(10).bind_null(11);
    }
    ins.bind_static(3, doc);
    ins.run();
    if (db->changes() == 0) {
      throw Error(ErrorCode::kProtocol, "record id " + id + " belongs to another collection");
    }
  }

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

  // `op_text` nullptr: a create, whose values live in the record (see the file comment).
  void log_change(const Op& op, const std::string* op_text) {
    auto& ins = db->prepare(
        "INSERT INTO changes(seq,col,id,hlc,wall_ms,op,sealed,mac) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    const int64_t wall_ms = wall->now_ms();
    ins.bind(1, static_cast<int64_t>(op.seq))
        .bind_static(2, op.collection)
        .bind_static(3, op.id)
        .bind(4, static_cast<int64_t>(op.version.hlc))
        .bind(5, wall_ms);
    const OpColumns oc = op_columns(op.seq, op_text);
    bind_op_columns(ins, 6, oc);
    bind_mac(ins, 8, change_mac(op.seq, op.collection, op.id, op.version.hlc, wall_ms, oc));
    ins.run();
  }

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
  void rejoin_own_writes(const std::map<std::string, std::string>& records) {
    if (records.empty()) return;
    std::vector<Op> own;
    auto& log = db->prepare("SELECT " LB_CHANGE_COLS
                            " FROM changes WHERE (op IS NOT NULL OR sealed IS NOT NULL) AND seq NOT "
                            "IN (SELECT seq FROM refused) ORDER BY seq");
    try {
      while (log.step()) {
        if (records.count(log.column_text(cc::kId))) own.push_back(change_from_row(log));
      }
    } catch (...) {
      log.reset();
      throw;
    }
    log.reset();
    for (const Op& op : own) {
      auto st = load(op.collection, op.id);
      if (!st) continue;
      bool changed = false;
      if (op.is_delete) {
        if (st->tombstone < op.version) {
          st->tombstone = op.version;
          changed = true;
        }
      } else {
        for (const auto& [field, value] : op.set.items()) {
          FieldValue& fv = st->fields[field];
          if (fv.version < op.version) {
            fv = FieldValue{value, op.version};
            changed = true;
          }
        }
      }
      if (changed) save(collection(op.collection), op.id, *st);
    }
  }

  // Log entries after `after_seq` on `records`, written before the server re-stamped this
  // device's versions (`aliases`: old hlc -> new), name the old versions in their base;
  // rewritten to the new ones, or the server would read a base from the far future as a
  // sight of every write (tests/sim seed 425). Creates carry no base. Inside a transaction.
  void rebase_pending(const std::map<uint64_t, uint64_t>& aliases,
                      const std::set<std::string>& records, uint64_t after_seq) {
    if (aliases.empty()) return;
    struct Rewrite {
      uint64_t seq;
      Op op;
      int64_t wall_ms;
    };
    std::vector<Rewrite> rewrites;
    auto& sel = db->prepare("SELECT " LB_CHANGE_COLS
                            " FROM changes WHERE seq>?1 AND (op IS NOT NULL OR sealed IS NOT "
                            "NULL) ORDER BY seq");
    sel.bind(1, static_cast<int64_t>(after_seq));
    try {
      while (sel.step()) {
        if (!records.count(sel.column_text(cc::kId))) continue;
        Op op = change_from_row(sel);
        bool changed = false;
        for (auto& [field, v] : op.base) {
          if (v.device != device) continue;
          if (auto it = aliases.find(v.hlc); it != aliases.end()) {
            v.hlc = it->second;
            changed = true;
          }
        }
        if (changed) {
          rewrites.push_back({static_cast<uint64_t>(sel.column_int(cc::kSeq)), std::move(op),
                              sel.column_int(cc::kWall)});
        }
      }
    } catch (...) {
      sel.reset();
      throw;
    }
    sel.reset();
    for (const Rewrite& r : rewrites) {
      const std::string text = encode_op(r.op, false).dump();
      const auto oc = op_columns(r.seq, &text);
      auto& upd = db->prepare("UPDATE changes SET op=?2, sealed=?3, mac=?4 WHERE seq=?1");
      upd.bind(1, static_cast<int64_t>(r.seq));
      bind_op_columns(upd, 2, oc);
      bind_mac(upd, 4,
               change_mac(r.seq, r.op.collection, r.op.id, r.op.version.hlc, r.wall_ms, oc));
      upd.run();
    }
  }

  // Rebuilds a log entry from its row (LB_CHANGE_COLS), after checking its MAC.
  Op change_from_row(const sql::Statement& row) const {
    check_change_row(row, 0);
    const auto seq = static_cast<uint64_t>(row.column_int(cc::kSeq));
    if (!row.column_is_null(cc::kOp) || !row.column_is_null(cc::kSealed)) {
      const std::string text = row.column_is_null(cc::kOp)
                                   ? unseal(blob(row, cc::kSealed), "chg:" + std::to_string(seq))
                                   : row.column_text(cc::kOp);
      try {
        return decode_op(Json::parse(text), device);
      } catch (const Json::exception& e) {
        throw Error(ErrorCode::kCorrupt, std::string("change log entry is not JSON: ") + e.what());
      }
    }
    std::string col = row.column_text(cc::kCol), id = row.column_text(cc::kId);
    auto st = load(col, id);
    if (!st) throw_create_without_record(seq, id);
    return create_op(seq, std::move(col), std::move(id),
                     static_cast<uint64_t>(row.column_int(cc::kHlc)), st);
  }

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

  void record_conflicts(const std::vector<Conflict>& conflicts) {
    for (const auto& c : conflicts) {
      const Version& hi = c.winner.version > c.loser.version ? c.winner.version : c.loser.version;
      const std::string body = encode_conflict(c).dump();
      auto& ins = db->prepare(
          "INSERT OR IGNORE INTO conflicts(cid,kind,col,rid,field,body,hi_hlc,hi_dev,found_ms,"
          "sealed,mac) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
      const int64_t found_ms = wall->now_ms();
      ins.bind(1, c.id)
          .bind(2, conflict_kind_name(c.kind))
          .bind(3, c.collection)
          .bind(4, c.record_id)
          .bind(5, c.field)
          .bind(7, static_cast<int64_t>(hi.hlc))
          .bind(8, hi.device)
          .bind(9, found_ms);
      if (keys) {
        const std::string sealed = seal(body, "cfl:" + c.id);
        ins.bind(6, std::string_view("")).bind_blob(10, sealed.data(), sealed.size());
        bind_mac(ins, 11,
                 conflict_mac(c, "", static_cast<int64_t>(hi.hlc), hi.device, found_ms, sealed));
      } else {
        ins.bind(6, body).bind_null(10).bind_null(11);
      }
      ins.run();
    }
  }

  // A write that had seen both sides of a conflict settles it on this replica.
  void settle_conflicts(const Op& op) {
    static constexpr const char* kWhich =
        " WHERE col=?1 AND rid=?2 AND resolved=0 AND (field=?3 OR field='') AND "
        "(hi_hlc < ?4 OR (hi_hlc = ?4 AND hi_dev <= ?5))";
    auto settle = [&](const std::string& field, const Version& base) {
      auto bind = [&](sql::Statement& st) {
        st.bind(1, op.collection)
            .bind(2, op.id)
            .bind(3, field)
            .bind(4, static_cast<int64_t>(base.hlc))
            .bind(5, base.device);
      };
      if (!keys) {
        auto& upd = db->prepare(std::string("UPDATE conflicts SET resolved=1") + kWhich);
        bind(upd);
        upd.run();
        return;
      }
      // Encrypted: each settled row gets its MAC again (resolved is covered).
      auto& sel = db->prepare(std::string("SELECT " LB_CONFLICT_COLS " FROM conflicts") + kWhich);
      bind(sel);
      std::vector<std::pair<std::string, std::string>> settled;  // cid, new MAC
      while (sel.step()) {
        if (!row_intact(sel, kMacConflict, 0, 11)) {
          const std::string cid = sel.column_text(0);
          sel.reset();
          throw_tampered("conflict " + cid);
        }
        settled.emplace_back(sel.column_text(0), row_mac_of(sel, kMacConflict, 0, 11, 9, 1));
      }
      sel.reset();
      for (const auto& [cid, mac] : settled) {
        auto& upd = db->prepare("UPDATE conflicts SET resolved=1, mac=?2 WHERE cid=?1");
        upd.bind(1, cid);
        bind_mac(upd, 2, mac);
        upd.run();
      }
    };
    for (const auto& [field, base] : op.base) settle(field == "*" ? "" : field, base);
  }

  // The hot path of imports and first pulls: a record this replica has never seen gets
  // all its fields at one version. That is exactly what apply_op gives for a set applied to
  // an empty state, written directly (no merge state built, the JSON made once). Returns
  // false, writing nothing, if the id exists already.
  bool insert_fresh(const CollectionSchema& cs, const std::string& id, const Json& fields,
                    const Version& v) {
    std::string doc, sealed;
    if (keys) {
      Json clear = Json::object(), priv = Json::object();
      for (const auto& [name, value] : fields.items()) {
        (personal(cs, name) ? priv : clear)[name] = value;
      }
      doc = clear.dump();
      sealed = seal(priv.dump(), "rec:" + id);
    } else {
      doc = fields.dump();
    }
    const std::string ver = codec::encode_one_version(v);
    const IndexKeys k =
        index_keys(string_field(fields, cs.scope_field()), string_field(fields, cs.natural_key()));
    auto& ins = db->prepare(
        "INSERT INTO records(col,id,doc,ver,live,scope,nkey,sealed,mac) "
        "VALUES(?1,?2,?3,?4,1,?5,?6,?7,?8)");
    ins.bind_static(1, cs.name()).bind_static(2, id).bind_static(3, doc).bind_static(4, ver);
    bind_index_keys(ins, 5, k);
    if (keys) {
      ins.bind_blob(7, sealed.data(), sealed.size());
      // del_hlc and del_dev take their defaults, 0 and ''.
      bind_mac(ins, 8, record_mac(cs.name(), id, doc, ver, 0, "", 1, k, sealed));
    } else {
      ins.bind_null(7).bind_null(8);
    }
    return ins.try_run();
  }

  // --- rewriting a whole encrypted store (store.cpp; at open, in its transaction) ----------
  void reseal_records(bool checked);
  void mac_table(const std::string& table, const std::string& cols, int n, const char* domain,
                 const std::string& key_col);
  void add_row_macs();

  // --- the three local writes; caller holds mu and an open transaction ---------------------

  std::string create(const std::string& col, Json fields, std::string id) {
    const CollectionSchema& cs = collection(col);
    if (!fields.is_object())
      throw Error(ErrorCode::kInvalidArgument, "a record must be a JSON object");
    if (auto issues = cs.normalize_and_validate(fields, false); !issues.empty()) {
      throw_issues(issues);
    }
    check_regions(cs, fields);
    if (id.empty()) {
      id = make_uuid_v7(clock->physical_now_ms());
    } else if (!is_uuid(id)) {
      throw Error(ErrorCode::kInvalidArgument, "record id must be a UUID, got \"" + id + "\"");
    }
    Op op;
    op.seq = next_seq;
    op.collection = col;
    op.id = id;
    op.version = {clock->now(), device};
    if (!insert_fresh(cs, id, fields, op.version)) {
      throw Error(ErrorCode::kAlreadyExists, "record " + id + " already exists");
    }
    log_change(op, nullptr);
    ++next_seq;
    return id;
  }

  void update(const std::string& col, const std::string& id, Json patch) {
    const CollectionSchema& cs = collection(col);
    if (!patch.is_object())
      throw Error(ErrorCode::kInvalidArgument, "a patch must be a JSON object");
    throw_if_away(id);
    auto st = load(col, id);
    if (!st || !st->live()) throw Error(ErrorCode::kNotFound, "no record " + id + " in " + col);
    if (auto issues = cs.normalize_and_validate(patch, true); !issues.empty()) throw_issues(issues);
    Json merged = st->values();
    Json changed = Json::object();
    for (auto& [name, value] : patch.items()) {
      auto cur = st->fields.find(name);
      const Json& old = cur == st->fields.end() ? Json() : cur->second.value;
      if (old == value) continue;
      const FieldDef* def = cs.field(name);
      if (def && def->policy == MergePolicy::kForwardOnly && !old.is_null() &&
          def->rank(value) < def->rank(old)) {
        throw Error(
            ErrorCode::kStatusRegression,
            name + " can only move forward: " + old.dump() + " cannot become " + value.dump(),
            name);
      }
      if (value.is_null()) {
        merged.erase(name);
      } else {
        merged[name] = value;
      }
      changed[name] = value;
    }
    if (changed.empty()) return;  // nothing differs: no write, no change entry
    if (auto issues = cs.normalize_and_validate(merged, false); !issues.empty())
      throw_issues(issues);
    check_regions(cs, merged);
    Op op;
    op.seq = next_seq;
    op.collection = col;
    op.id = id;
    op.version = {clock->now(), device};
    for (const auto& [name, _] : changed.items()) {
      auto cur = st->fields.find(name);
      if (cur != st->fields.end()) op.base.emplace(name, cur->second.version);
    }
    op.set = std::move(changed);
    auto result = apply_op(cs, *st, op);
    save(cs, id, *st);
    const std::string text = encode_op_text(op, false, op.set.dump());
    log_change(op, &text);
    record_conflicts(result.conflicts);
    settle_conflicts(op);
    ++next_seq;
  }

  void remove(const std::string& col, const std::string& id) {
    const CollectionSchema& cs = collection(col);
    throw_if_away(id);
    auto st = load(col, id);
    if (!st || !st->live()) throw Error(ErrorCode::kNotFound, "no record " + id + " in " + col);
    Op op;
    op.seq = next_seq;
    op.collection = col;
    op.id = id;
    op.version = {clock->now(), device};
    op.is_delete = true;
    // What the deleter had seen, field by field: an edit it had not seen (another device's
    // newer version of any field, or a field it never had) is then found wherever the delete
    // lands, and kept in an update_delete entry.
    for (const auto& [name, fv] : st->fields) op.base.emplace(name, fv.version);
    apply_op(cs, *st, op);
    save(cs, id, *st);
    const std::string text = encode_op_text(op, false, {});
    log_change(op, &text);
    settle_conflicts(op);
    ++next_seq;
  }

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

// Private to the engine: the device store's state and its row-level helpers, shared by
// store.cpp (opening, local writes, reads) and store_sync.cpp (the outbox and applying
// what the server sends). The file layout is described at the top of store.cpp.
#pragma once

#include <openssl/crypto.h>

#include <algorithm>
#include <mutex>
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
  live INTEGER NOT NULL, scope INTEGER, nkey ANY, sealed BLOB);
-- Ids are UUIDs, unique across collections; keys without `col` compare faster.
CREATE UNIQUE INDEX IF NOT EXISTS records_id ON records(id);
CREATE INDEX IF NOT EXISTS records_scope ON records(scope);
CREATE INDEX IF NOT EXISTS records_nkey ON records(nkey) WHERE nkey IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, op TEXT, sealed BLOB);
CREATE TABLE IF NOT EXISTS conflicts(
  cid TEXT PRIMARY KEY, kind TEXT NOT NULL, col TEXT NOT NULL, rid TEXT NOT NULL,
  field TEXT NOT NULL, body TEXT NOT NULL, hi_hlc INTEGER NOT NULL, hi_dev TEXT NOT NULL,
  found_ms INTEGER NOT NULL, resolved INTEGER NOT NULL DEFAULT 0, sealed BLOB);
CREATE INDEX IF NOT EXISTS conflicts_record ON conflicts(col, rid, resolved);
CREATE TABLE IF NOT EXISTS refused(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, rid TEXT NOT NULL, code TEXT NOT NULL,
  field TEXT NOT NULL, message TEXT NOT NULL, at_ms INTEGER NOT NULL, sealed BLOB);
CREATE TABLE IF NOT EXISTS away(id TEXT PRIMARY KEY) WITHOUT ROWID;
)sql";

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
    db->prepare("INSERT OR IGNORE INTO away(id) VALUES(?1)").bind(1, id).run();
    auto& pending = db->prepare("SELECT 1 FROM changes WHERE seq>?1 AND id=?2 LIMIT 1");
    pending.bind(1, static_cast<int64_t>(acked_seq)).bind_static(2, id);
    const bool unsent = pending.step();
    pending.reset();
    if (unsent) {
      db->prepare("UPDATE records SET live=0 WHERE id=?1 AND col=?2").bind(1, id).bind(2, col).run();
    } else {
      db->prepare("DELETE FROM records WHERE id=?1 AND col=?2").bind(1, id).bind(2, col).run();
    }
  }

  void throw_if_away(const std::string& id) const {
    if (is_away(id)) {
      throw Error(ErrorCode::kOutOfScope,
                  "record " + id + " moved out of this device's regions; it can no longer be "
                  "changed here");
    }
  }

  bool personal(const CollectionSchema& cs, const std::string& field) const {
    const FieldDef* def = cs.field(field);
    return def && def->personal;
  }
  std::string seal(std::string_view plain, const std::string& aad) const {
    return crypto::seal(keys->data_key(), plain, aad);
  }
  std::string unseal(std::string_view sealed, const std::string& aad) const {
    auto plain = crypto::open(keys->data_key(), sealed, aad);
    if (!plain)
      throw Error(ErrorCode::kCorrupt, "an encrypted entry does not decrypt (" + aad + ")");
    return std::move(*plain);
  }
  std::string_view blob(const sql::Statement& st, int col) const { return st.column_view(col); }

  // Decodes a record row whose columns from `first` are doc, ver, del_hlc, del_dev, sealed.
  RecordState decode_row(const sql::Statement& st, int first, const std::string& id) const {
    if (st.column_is_null(first + 4)) {
      return decode_state(st.column_view(first), st.column_view(first + 1),
                          st.column_int(first + 2), st.column_view(first + 3));
    }
    if (!keys)
      throw Error(ErrorCode::kCorrupt, "record " + id + " is encrypted but the store is not");
    Json doc = Json::parse(st.column_view(first), nullptr, false);
    Json priv = Json::parse(unseal(blob(st, first + 4), "rec:" + id), nullptr, false);
    if (!doc.is_object() || !priv.is_object()) {
      throw Error(ErrorCode::kCorrupt, "stored record " + id + " is not JSON");
    }
    for (auto& [k, v] : priv.items()) doc[k] = std::move(v);
    return codec::decode_state(doc, st.column_view(first + 1), st.column_int(first + 2),
                               st.column_view(first + 3));
  }

  const CollectionSchema& collection(const std::string& name) const {
    const CollectionSchema* c = schema->collection(name);
    if (!c) throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + name + "\"");
    return *c;
  }

  std::string meta(const std::string& key) const {
    auto& st = db->prepare("SELECT value FROM meta WHERE key=?1");
    st.bind(1, key);
    std::string out = st.step() ? st.column_text(0) : std::string();
    st.reset();
    return out;
  }
  void put_meta(const std::string& key, const std::string& value) {
    db->prepare("INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=?2")
        .bind(1, key)
        .bind(2, value)
        .run();
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
    auto& st = db->prepare("SELECT id FROM away");
    while (st.step()) away.insert(st.column_text(0));
    st.reset();
  }

  void reload_counters() {
    auto& st = db->prepare("SELECT coalesce(max(seq),0) FROM changes");
    st.step();
    next_seq = static_cast<uint64_t>(st.column_int(0)) + 1;
    st.reset();
    const std::string acked = meta("acked_seq");
    acked_seq = acked.empty() ? 0 : std::stoull(acked);
  }

  // Loads a record's merge state; nullopt if the id was never seen.
  std::optional<RecordState> load(const std::string& col, const std::string& id) const {
    auto& st = db->prepare(
        "SELECT doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=?1 AND id=?2");
    st.bind_static(1, col).bind_static(2, id);
    std::optional<RecordState> out;
    try {
      if (st.step()) out = decode_row(st, 0, id);
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
  // Binds the scope and natural-key index columns at `scope_col` and scope_col + 1.
  void bind_index_keys(sql::Statement& ins, int scope_col, const std::string* scope,
                       const std::string* key) const {
    std::optional<int64_t> sk = scope ? codec::scope_key(*scope) : std::nullopt;
    if (sk) {
      ins.bind(scope_col, *sk);
    } else {
      ins.bind_null(scope_col);
    }
    if (!key) {
      ins.bind_null(scope_col + 1);
      return;
    }
    if (keys) {
      ins.bind(scope_col + 1, keys->blind_index(*key));
      return;
    }
    const codec::NaturalKey nk = codec::natural_key(*key);
    if (nk.is_int) {
      ins.bind(scope_col + 1, nk.i);
    } else {
      ins.bind_static(scope_col + 1, nk.text);
    }
  }

  void save(const CollectionSchema& cs, const std::string& id, const RecordState& st) {
    auto& ins = db->prepare(
        "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(id) DO UPDATE SET "
        "doc=?3, ver=?4, del_hlc=?5, del_dev=?6, live=?7, scope=?8, nkey=?9, sealed=?10 "
        "WHERE col=?1");
    ins.bind(1, cs.name()).bind(2, id).bind(4, encode_versions(st));
    if (keys) {
      Json clear = Json::object(), priv = Json::object();
      for (const auto& [name, fv] : st.fields) (personal(cs, name) ? priv : clear)[name] = fv.value;
      ins.bind(3, clear.dump());
      const std::string sealed = seal(priv.dump(), "rec:" + id);
      ins.bind_blob(10, sealed.data(), sealed.size());
    } else {
      ins.bind(3, codec::encode_doc(st)).bind_null(10);
    }
    ins.bind(5, static_cast<int64_t>(st.tombstone.hlc)).bind(6, st.tombstone.device);
    ins.bind(7, int64_t{st.live() && !is_away(id) ? 1 : 0});
    bind_index_keys(ins, 8, string_field(st, cs.scope_field()), string_field(st, cs.natural_key()));
    ins.run();
    if (db->changes() == 0) {
      throw Error(ErrorCode::kProtocol, "record id " + id + " belongs to another collection");
    }
  }

  // `op_text` nullptr: a create, whose values live in the record (see the file comment).
  void log_change(const Op& op, const std::string* op_text) {
    auto& ins = db->prepare(
        "INSERT INTO changes(seq,col,id,hlc,wall_ms,op,sealed) VALUES(?1,?2,?3,?4,?5,?6,?7)");
    ins.bind(1, static_cast<int64_t>(op.seq))
        .bind_static(2, op.collection)
        .bind_static(3, op.id)
        .bind(4, static_cast<int64_t>(op.version.hlc))
        .bind(5, wall->now_ms());
    bind_op_text(ins, 6, op.seq, op_text);
    ins.run();
  }

  // Binds a log entry's op text at `col` (clear) and col + 1 (sealed), one of them NULL.
  void bind_op_text(sql::Statement& st, int col, uint64_t seq, const std::string* op_text) const {
    if (op_text && keys) {
      const std::string sealed = seal(*op_text, "chg:" + std::to_string(seq));
      st.bind_null(col).bind_blob(col + 1, sealed.data(), sealed.size());
    } else if (op_text) {
      st.bind_static(col, *op_text).bind_null(col + 1);
    } else {
      st.bind_null(col).bind_null(col + 1);
    }
  }

  // Rebuilds a log entry from its row (seq, col, id, hlc, op, sealed).
  Op change_from_row(sql::Statement& row) const {
    if (!row.column_is_null(4) || !row.column_is_null(5)) {
      const std::string text =
          row.column_is_null(4) ? unseal(blob(row, 5), "chg:" + std::to_string(row.column_int(0)))
                                : row.column_text(4);
      try {
        return decode_op(Json::parse(text), device);
      } catch (const Json::exception& e) {
        throw Error(ErrorCode::kCorrupt, std::string("change log entry is not JSON: ") + e.what());
      }
    }
    Op op;
    op.seq = static_cast<uint64_t>(row.column_int(0));
    op.collection = row.column_text(1);
    op.id = row.column_text(2);
    op.version = {static_cast<uint64_t>(row.column_int(3)), device};
    // Fields written after the create carry their current value here too (their own later
    // entries bring the newer versions): a create read back without them would leave a record
    // missing required fields on every replica that applies it before those entries (a page
    // boundary, a crash between pages; soak seeds 1946 and 2101).
    if (auto st = load(op.collection, op.id)) {
      for (const auto& [name, fv] : st->fields) {
        if (fv.version == op.version || !fv.value.is_null()) op.set[name] = fv.value;
      }
    }
    return op;
  }

  void record_conflicts(const std::vector<Conflict>& conflicts) {
    for (const auto& c : conflicts) {
      const Version& hi = c.winner.version > c.loser.version ? c.winner.version : c.loser.version;
      const std::string body = encode_conflict(c).dump();
      auto& ins = db->prepare(
          "INSERT OR IGNORE INTO conflicts(cid,kind,col,rid,field,body,hi_hlc,hi_dev,found_ms,"
          "sealed) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
      ins.bind(1, c.id)
          .bind(2, conflict_kind_name(c.kind))
          .bind(3, c.collection)
          .bind(4, c.record_id)
          .bind(5, c.field)
          .bind(7, static_cast<int64_t>(hi.hlc))
          .bind(8, hi.device)
          .bind(9, wall->now_ms());
      if (keys) {
        const std::string sealed = seal(body, "cfl:" + c.id);
        ins.bind(6, std::string_view("")).bind_blob(10, sealed.data(), sealed.size());
      } else {
        ins.bind(6, body).bind_null(10);
      }
      ins.run();
    }
  }

  // A write that had seen both sides of a conflict settles it on this replica.
  void settle_conflicts(const Op& op) {
    auto settle = [&](const std::string& field, const Version& base) {
      db->prepare(
            "UPDATE conflicts SET resolved=1 WHERE col=?1 AND rid=?2 AND resolved=0 AND "
            "(field=?3 OR field='') AND (hi_hlc < ?4 OR (hi_hlc = ?4 AND hi_dev <= ?5))")
          .bind(1, op.collection)
          .bind(2, op.id)
          .bind(3, field)
          .bind(4, static_cast<int64_t>(base.hlc))
          .bind(5, base.device)
          .run();
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
    auto& ins = db->prepare(
        "INSERT INTO records(col,id,doc,ver,live,scope,nkey,sealed) "
        "VALUES(?1,?2,?3,?4,1,?5,?6,?7)");
    ins.bind_static(1, cs.name()).bind_static(2, id).bind_static(3, doc).bind_static(4, ver);
    bind_index_keys(ins, 5, string_field(fields, cs.scope_field()),
                    string_field(fields, cs.natural_key()));
    if (keys) {
      ins.bind_blob(7, sealed.data(), sealed.size());
    } else {
      ins.bind_null(7);
    }
    return ins.try_run();
  }

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

  void persist_clock() { put_meta("hlc", std::to_string(clock->last())); }

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

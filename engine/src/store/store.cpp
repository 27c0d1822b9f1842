// The device store. Layout of the SQLite file (schema version 1):
//
//   meta(key PRIMARY KEY, value)        device_id, schema name, hlc (last clock value),
//                                        acked_seq, clock_offset_ms, sync cursor, ...
//   records(rowid, col, id, doc, ver, del_hlc, del_dev, live, scope, nkey)  UNIQUE(col, id)
//       a rowid table, not WITHOUT ROWID keyed by id: ids are random-ish, and ~450-byte rows
//       inserted at random leaves made every commit rewrite most of the table into the WAL
//       (measured 25k records/s); appending rows and indexing the short id is 2-4x faster
//       doc  JSON object of every field ever written, cleared ones as null
//       ver  JSON object of field versions: "" holds the version shared by most fields,
//            other keys only the fields whose version differs ({"":[hlc,"dev"],"phone":[..]})
//            so a freshly created record stores one version, not one per field
//       scope  the scope field's region code as an integer key (record_codec.h), for
//              prefix queries; NULL when the record has none
//       nkey   the natural key's value (NIK) for duplicate lookups, integer when digits
//   changes(seq INTEGER PRIMARY KEY, col, id, hlc, wall_ms, op)
//       the local change log / outbox; `op` is the op's wire JSON (changeset.cpp) without
//       the device. For a create, `op` is NULL: its values are the record's fields still at
//       the create's version (read back when pushed), so an import does not write every
//       record twice. A field overwritten before the push travels with its current value in
//       the create and with its newer version in its own later entry, so every prefix of the
//       log holds whole records. Entries
//       with seq <= meta.acked_seq are acknowledged by the server; they are kept as the device's
//       history.
//   conflicts(cid PRIMARY KEY, kind, col, rid, field, body, hi_hlc, hi_dev, found_ms, resolved)
//
// Encrypted stores (OpenOptions::passphrase; crypto/crypto.h): fields the schema marks
// personal leave `doc` and live in `records.sealed` (AES-256-GCM of their JSON, the record
// id as associated data); update/delete log entries live in `changes.sealed` (seq as
// associated data) with `op` NULL; conflict bodies in `conflicts.sealed`; `nkey` is the
// HMAC blind index of the natural key; secrets in meta are sealed. `meta.crypto` holds the
// scrypt parameters, salt and the wrapped data key. What stays in clear: ids, versions,
// region codes and the other non-personal fields, so sync and scope queries need no key.
//
// Invariant: a record row and its change-log entry are written in one transaction, and
// `meta.hlc` is advanced in that transaction too, so after a crash the clock never issues
// a version below one already logged.

#include "lumbung/store.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "common/sqlite.h"
#include "common/uuid.h"
#include "crypto/crypto.h"
#include "lumbung/tuning.h"
#include "store/record_codec.h"

namespace lumbung {
namespace {

using codec::decode_conflict;
using codec::decode_state;
using codec::encode_conflict;
using codec::encode_versions;
using codec::json_quote;

constexpr const char* kDdl = R"sql(
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
)sql";

[[noreturn]] void throw_issues(const std::vector<ValidationIssue>& issues) {
  const ValidationIssue& first = issues.front();
  std::string msg = first.message;
  if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more problems)";
  throw Error(
      first.reason == "unknown_field" ? ErrorCode::kUnknownField : ErrorCode::kValidationFailed,
      msg, first.field);
}

}  // namespace

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
    ins.bind(7, int64_t{st.live() ? 1 : 0});
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

// --- Batch ---------------------------------------------------------------------------------

struct Batch::Impl {
  Store::Impl* s;
  std::unique_lock<std::mutex> lock;
  std::optional<sql::Transaction> txn;
  uint64_t seq_at_begin;
  bool committed = false;
  bool poisoned = false;  // a write failed after touching SQL: the batch cannot commit

  template <typename F>
  auto guarded(F&& f) {
    if (committed) throw Error(ErrorCode::kInvalidArgument, "batch already committed");
    if (poisoned) throw Error(ErrorCode::kInvalidArgument, "batch failed earlier; discard it");
    try {
      return f();
    } catch (const Error& e) {
      // Validation and lookups fail before any SQL write; anything else may be a half write.
      if (e.code() == ErrorCode::kStorage || e.code() == ErrorCode::kInternal ||
          e.code() == ErrorCode::kCorrupt) {
        poisoned = true;
      }
      throw;
    } catch (...) {
      poisoned = true;
      throw;
    }
  }
};

Batch::Batch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Batch::Batch(Batch&&) noexcept = default;
Batch::~Batch() {
  if (impl_ && !impl_->committed) {
    impl_->txn.reset();  // rolls back
    impl_->s->next_seq = impl_->seq_at_begin;
  }
}

std::string Batch::create(const std::string& collection, Json fields, std::string id) {
  return impl_->guarded(
      [&] { return impl_->s->create(collection, std::move(fields), std::move(id)); });
}
void Batch::update(const std::string& collection, const std::string& id, Json patch) {
  impl_->guarded([&] { impl_->s->update(collection, id, std::move(patch)); });
}
void Batch::remove(const std::string& collection, const std::string& id) {
  impl_->guarded([&] { impl_->s->remove(collection, id); });
}
void Batch::commit() {
  impl_->guarded([&] {
    impl_->s->persist_clock();
    impl_->txn->commit();
    impl_->committed = true;
    impl_->txn.reset();
    impl_->lock.unlock();  // a committed batch no longer blocks the store
  });
}

// --- Store ---------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// meta.crypto: {"kdf":"scrypt","n":..,"r":..,"p":..,"salt":b64,"wrapped":b64}
constexpr const char* kDataKeyAad = "lumbung data key v1";

Json wrap_data_key(const std::string& data_key, const std::string& passphrase) {
  crypto::KdfParams kdf;
  kdf.salt = crypto::random_bytes(16);
  kdf.n = kScryptCost;
  std::string kek = crypto::derive_key(passphrase, kdf);
  const std::string wrapped = crypto::seal(kek, data_key, kDataKeyAad);
  OPENSSL_cleanse(kek.data(), kek.size());
  return Json{{"kdf", "scrypt"},
              {"n", kdf.n},
              {"r", kdf.r},
              {"p", kdf.p},
              {"salt", crypto::base64(kdf.salt)},
              {"wrapped", crypto::base64(wrapped)}};
}

std::unique_ptr<crypto::Keyring> unwrap_data_key(const std::string& meta_json,
                                                 const std::string& passphrase) {
  if (passphrase.empty()) {
    throw Error(ErrorCode::kWrongPassphrase, "this store is encrypted: a passphrase is required");
  }
  const Json m = Json::parse(meta_json, nullptr, false);
  crypto::KdfParams kdf;
  std::optional<std::string> salt, wrapped;
  if (m.is_object() && m.value("kdf", "") == "scrypt") {
    salt = crypto::unbase64(m.value("salt", ""));
    wrapped = crypto::unbase64(m.value("wrapped", ""));
    kdf.n = m.value("n", uint64_t{0});
    kdf.r = m.value("r", 0u);
    kdf.p = m.value("p", 0u);
  }
  if (!salt || !wrapped || kdf.n < 2 || kdf.n > (uint64_t{1} << 22) || kdf.r == 0 || kdf.p == 0) {
    throw Error(ErrorCode::kCorrupt, "the store's key parameters are damaged");
  }
  kdf.salt = *salt;
  std::string kek = crypto::derive_key(passphrase, kdf);
  auto data_key = crypto::open(kek, *wrapped, kDataKeyAad);
  OPENSSL_cleanse(kek.data(), kek.size());
  if (!data_key) throw Error(ErrorCode::kWrongPassphrase, "wrong passphrase");
  return std::make_unique<crypto::Keyring>(std::move(*data_key));
}

}  // namespace

std::unique_ptr<Store> Store::open(const OpenOptions& options) {
  if (!options.schema) throw Error(ErrorCode::kInvalidArgument, "OpenOptions.schema is required");
  if (options.path.empty())
    throw Error(ErrorCode::kInvalidArgument, "OpenOptions.path is required");
  auto impl = std::make_unique<Impl>();
  impl->schema = options.schema;
  impl->wall = options.clock ? options.clock : &system_wall_clock();
  impl->db = std::make_unique<sql::Database>(options.path);
  impl->db->exec("PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages));
  impl->db->exec(kDdl);
  {
    sql::Transaction txn(*impl->db);
    const std::string stored_device = impl->meta("device_id");
    if (stored_device.empty()) {
      if (options.device_id.empty() || options.device_id.size() > 64) {
        throw Error(ErrorCode::kInvalidArgument,
                    "a new store needs a device id of 1..64 characters");
      }
      impl->put_meta("device_id", options.device_id);
      impl->put_meta("schema", options.schema->name());
      impl->device = options.device_id;
      if (!options.passphrase.empty()) {
        std::string data_key = crypto::random_bytes(crypto::kKeyBytes);
        impl->put_meta("crypto", wrap_data_key(data_key, options.passphrase).dump());
        impl->keys = std::make_unique<crypto::Keyring>(std::move(data_key));
      }
    } else {
      if (!options.device_id.empty() && options.device_id != stored_device) {
        throw Error(ErrorCode::kSchemaMismatch,
                    "this store belongs to device " + stored_device + ", not " + options.device_id);
      }
      if (impl->meta("schema") != options.schema->name()) {
        throw Error(ErrorCode::kSchemaMismatch, "this store holds schema \"" +
                                                    impl->meta("schema") + "\", not \"" +
                                                    options.schema->name() + "\"");
      }
      impl->device = stored_device;
      const std::string wrapped = impl->meta("crypto");
      if (!wrapped.empty()) {
        impl->keys = unwrap_data_key(wrapped, options.passphrase);
      } else if (!options.passphrase.empty()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "this store was created without encryption; it cannot take a passphrase");
      }
    }
    const std::string version = std::to_string(options.schema->version());
    if (impl->meta("schema_version") != version) impl->put_meta("schema_version", version);
    txn.commit();
  }
  impl->reload_counters();
  // The clock resumes above everything it issued before, even if it crashed after logging.
  const std::string h = impl->meta("hlc");
  uint64_t last = h.empty() ? 0 : std::stoull(h);
  {
    auto& st = impl->db->prepare("SELECT coalesce(max(hlc),0) FROM changes");
    st.step();
    last = std::max<uint64_t>(last, static_cast<uint64_t>(st.column_int(0)));
    st.reset();
  }
  impl->clock = std::make_unique<HybridClock>(*impl->wall, last);
  const std::string off = impl->meta("clock_offset_ms");
  if (!off.empty()) impl->clock->set_offset_ms(std::stoll(off));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const Schema& Store::schema() const { return *impl_->schema; }
const std::string& Store::device_id() const { return impl_->device; }
HybridClock& Store::clock() { return *impl_->clock; }

Batch Store::begin_batch() {
  auto b = std::make_unique<Batch::Impl>();
  b->s = impl_.get();
  b->lock = std::unique_lock<std::mutex>(impl_->mu);
  b->txn.emplace(*impl_->db);
  b->seq_at_begin = impl_->next_seq;
  return Batch(std::move(b));
}

std::string Store::create(const std::string& collection, Json fields, std::string id) {
  Batch b = begin_batch();
  std::string out = b.create(collection, std::move(fields), std::move(id));
  b.commit();
  return out;
}

void Store::update(const std::string& collection, const std::string& id, Json patch) {
  Batch b = begin_batch();
  b.update(collection, id, std::move(patch));
  b.commit();
}

void Store::remove(const std::string& collection, const std::string& id) {
  Batch b = begin_batch();
  b.remove(collection, id);
  b.commit();
}

std::vector<ValidationIssue> Store::validate(const std::string& collection, Json fields) const {
  return impl_->collection(collection).normalize_and_validate(fields, false);
}

std::optional<Record> Store::get(const std::string& collection, const std::string& id,
                                 bool include_deleted) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = impl_->load(collection, id);
  if (!st || (!include_deleted && !st->live())) return std::nullopt;
  return impl_->to_record(collection, id, *st);
}

namespace {

// "74.02" -> the scope-key range of Konawe; "" -> nullopt (everything).
std::optional<std::pair<int64_t, int64_t>> parse_scope_prefix(const std::string& prefix) {
  if (prefix.empty()) return std::nullopt;
  std::string digits;
  for (char c : prefix) {
    if (c != '.') digits.push_back(c);
  }
  auto range = codec::scope_range(digits);
  if (!range) {
    throw Error(ErrorCode::kInvalidArgument,
                "scope prefix must be a region code of 1..10 digits, got \"" + prefix + "\"");
  }
  return range;
}

}  // namespace

std::vector<Record> Store::find_by_key(const std::string& collection,
                                       const std::string& key) const {
  const CollectionSchema& cs = impl_->collection(collection);
  std::vector<Record> out;
  if (cs.natural_key().empty()) return out;
  const FieldDef* def = cs.field(cs.natural_key());
  Json norm = def ? cs.normalize_value(*def, Json(key)) : Json(key);
  if (!norm.is_string()) return out;
  const std::string& key_text = norm.get_ref<const std::string&>();
  const codec::NaturalKey nk = codec::natural_key(key_text);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT id, doc, ver, del_hlc, del_dev, sealed FROM records WHERE nkey=?2 AND col=?1 "
      "AND live=1 ORDER BY id");
  st.bind(1, collection);
  if (impl_->keys) {
    st.bind(2, impl_->keys->blind_index(key_text));
  } else if (nk.is_int) {
    st.bind(2, nk.i);
  } else {
    st.bind(2, nk.text);
  }
  try {
    while (st.step()) {
      std::string id = st.column_text(0);
      Record r = impl_->to_record(collection, id, impl_->decode_row(st, 1, id));
      // A blind index can collide; the decrypted value decides.
      if (r.fields.value(cs.natural_key(), Json()) == norm) out.push_back(std::move(r));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

Page Store::query(const Query& q) const {
  const CollectionSchema& cs = impl_->collection(q.collection);
  const size_t limit = q.limit == 0 ? kDefaultQueryPageSize : std::min(q.limit, kMaxQueryPageSize);
  const auto range = parse_scope_prefix(q.scope_prefix);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT id, doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=?1 AND id>?2 "
      "AND (?3 IS NULL OR (scope>=?3 AND scope<?4)) AND (?5 OR live=1) ORDER BY id LIMIT ?6");
  st.bind(1, cs.name()).bind(2, q.after_id);
  if (range) {
    st.bind(3, range->first).bind(4, range->second);
  } else {
    st.bind_null(3).bind_null(4);
  }
  st.bind(5, int64_t{q.include_deleted ? 1 : 0}).bind(6, static_cast<int64_t>(limit + 1));
  Page page;
  try {
    while (st.step()) {
      if (page.records.size() == limit) {
        page.next_after = page.records.back().id;
        break;
      }
      std::string id = st.column_text(0);
      page.records.push_back(impl_->to_record(q.collection, id, impl_->decode_row(st, 1, id)));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return page;
}

uint64_t Store::count(const std::string& collection, const std::string& scope_prefix) const {
  const auto range = parse_scope_prefix(scope_prefix);
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Two statements so that the prefix count can use the scope index.
  auto& st = range ? impl_->db->prepare(
                         "SELECT count(*) FROM records WHERE scope>=?2 AND scope<?3 AND col=?1 "
                         "AND live=1")
                   : impl_->db->prepare("SELECT count(*) FROM records WHERE col=?1 AND live=1");
  st.bind(1, collection);
  if (range) st.bind(2, range->first).bind(3, range->second);
  st.step();
  auto n = static_cast<uint64_t>(st.column_int(0));
  st.reset();
  return n;
}

std::vector<PendingChange> Store::pending_changes(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT seq, col, id, hlc, op, sealed, wall_ms FROM changes WHERE seq>?1 ORDER BY seq "
      "LIMIT ?2");
  st.bind(1, static_cast<int64_t>(std::max(after_seq, impl_->acked_seq)));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<PendingChange> out;
  try {
    while (st.step()) out.push_back({impl_->change_from_row(st), false, st.column_int(6)});
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

std::vector<WireChange> Store::pending_wire(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT c.seq, c.col, c.id, c.hlc, c.op, c.sealed, c.wall_ms, r.doc, r.ver, r.sealed "
      "FROM changes c LEFT JOIN records r ON c.op IS NULL AND c.sealed IS NULL AND r.id = c.id "
      "WHERE c.seq>?1 ORDER BY c.seq LIMIT ?2");
  st.bind(1, static_cast<int64_t>(std::max(after_seq, impl_->acked_seq)));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<WireChange> out;
  try {
    while (st.step()) {
      WireChange w;
      w.seq = static_cast<uint64_t>(st.column_int(0));
      w.written_ms = st.column_int(6);
      const bool create = st.column_is_null(4) && st.column_is_null(5);
      const std::string one_version =
          codec::encode_one_version({static_cast<uint64_t>(st.column_int(3)), impl_->device});
      if (!create && !st.column_is_null(4)) {
        w.json = st.column_text(4);  // updates and deletes are logged in wire form
      } else if (create && st.column_is_null(9) && !st.column_is_null(7) &&
                 st.column_view(8) == one_version) {
        // A create none of whose fields changed since: its values are the record's doc.
        w.json = "{\"seq\":" + std::to_string(w.seq) + ",\"col\":" + json_quote(st.column_text(1)) +
                 ",\"id\":" + json_quote(st.column_text(2)) +
                 ",\"hlc\":" + std::to_string(st.column_int(3)) + ",\"set\":";
        w.json.append(st.column_view(7));
        w.json += "}";
      } else {
        w.json = encode_op(impl_->change_from_row(st), false).dump();
      }
      out.push_back(std::move(w));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

uint64_t Store::pending_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->next_seq - 1 - impl_->acked_seq;
}

uint64_t Store::acknowledge(uint64_t up_to_seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (up_to_seq <= impl_->acked_seq) return 0;
  if (up_to_seq >= impl_->next_seq) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot acknowledge seq " + std::to_string(up_to_seq) + ": not written yet");
  }
  impl_->put_meta("acked_seq", std::to_string(up_to_seq));
  const uint64_t newly = up_to_seq - impl_->acked_seq;
  impl_->acked_seq = up_to_seq;
  return newly;
}

void Store::apply_restamps(const std::vector<std::pair<uint64_t, uint64_t>>& seq_to_hlc) {
  if (seq_to_hlc.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  for (const auto& [seq, fresh] : seq_to_hlc) {
    auto& st = impl_->db->prepare("SELECT seq, col, id, hlc, op, sealed FROM changes WHERE seq=?1");
    st.bind(1, static_cast<int64_t>(seq));
    if (!st.step()) {
      st.reset();
      throw Error(ErrorCode::kProtocol, "server re-stamped seq " + std::to_string(seq) +
                                            " which this device never wrote");
    }
    const bool is_create = st.column_is_null(4) && st.column_is_null(5);
    Op op = impl_->change_from_row(st);
    st.reset();
    const Version old = op.version;
    const Version now{fresh, impl_->device};
    const CollectionSchema& cs = impl_->collection(op.collection);
    if (auto state = impl_->load(op.collection, op.id)) {
      for (auto& [_, fv] : state->fields) {
        if (fv.version == old) fv.version = now;
      }
      if (state->tombstone == old) state->tombstone = now;
      impl_->save(cs, op.id, *state);
    }
    op.version = now;
    auto& upd = impl_->db->prepare("UPDATE changes SET hlc=?2, op=?3, sealed=?4 WHERE seq=?1");
    upd.bind(1, static_cast<int64_t>(seq)).bind(2, static_cast<int64_t>(fresh));
    const std::string text = is_create ? std::string() : encode_op(op, false).dump();
    impl_->bind_op_text(upd, 3, seq, is_create ? nullptr : &text);
    upd.run();
    impl_->clock->observe(fresh);
  }
  impl_->persist_clock();
  txn.commit();
}

void Store::rewind_acknowledged(uint64_t seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (seq >= impl_->acked_seq) return;
  impl_->put_meta("acked_seq", std::to_string(seq));
  impl_->acked_seq = seq;
}

std::vector<Conflict> Store::conflicts(bool include_resolved) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT body, sealed, cid FROM conflicts WHERE (?1 OR resolved=0) ORDER BY found_ms DESC, "
      "cid");
  st.bind(1, int64_t{include_resolved ? 1 : 0});
  std::vector<Conflict> out;
  try {
    while (st.step()) {
      const std::string body = st.column_is_null(1)
                                   ? st.column_text(0)
                                   : impl_->unseal(st.column_view(1), "cfl:" + st.column_text(2));
      out.push_back(decode_conflict(Json::parse(body)));
    }
  } catch (const Json::exception& e) {
    st.reset();
    throw Error(ErrorCode::kCorrupt, std::string("stored conflict is not JSON: ") + e.what());
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

RemoteApplyResult Store::apply_remote(
    const std::vector<Op>& ops, const std::vector<std::pair<std::string, std::string>>& meta) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  RemoteApplyResult out;
  // Settling needs a statement per op; a page with no open conflicts anywhere skips it.
  bool any_open = false;
  {
    auto& st = impl_->db->prepare("SELECT EXISTS(SELECT 1 FROM conflicts WHERE resolved=0)");
    st.step();
    any_open = st.column_int(0) != 0;
    st.reset();
  }
  for (const Op& op : ops) {
    const CollectionSchema* cs = impl_->schema->collection(op.collection);
    if (!cs) {
      throw Error(ErrorCode::kProtocol,
                  "remote op for unknown collection \"" + op.collection + "\"");
    }
    impl_->clock->observe(op.version.hlc);
    // Most pulled ops create records this replica has never seen: insert, no lookup first.
    if (!op.is_delete && op.base.empty() && !op.set.empty() &&
        impl_->insert_fresh(*cs, op.id, op.set, op.version)) {
      ++out.applied;
      continue;
    }
    RecordState st = impl_->load(op.collection, op.id).value_or(RecordState{});
    ApplyResult r = apply_op(*cs, st, op);
    if (r.changed) {
      impl_->save(*cs, op.id, st);
      ++out.applied;
    } else {
      ++out.duplicates;
    }
    impl_->record_conflicts(r.conflicts);
    any_open = any_open || !r.conflicts.empty();
    if (any_open) impl_->settle_conflicts(op);
    out.conflicts.insert(out.conflicts.end(), r.conflicts.begin(), r.conflicts.end());
  }
  for (const auto& [k, v] : meta) impl_->put_meta(k, v);
  impl_->persist_clock();
  txn.commit();
  return out;
}

std::string Store::get_meta(const std::string& key) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->meta(key);
}

void Store::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->put_meta(key, value);
}

bool Store::encrypted() const { return impl_->keys != nullptr; }

void Store::change_passphrase(const std::string& old_passphrase,
                              const std::string& new_passphrase) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->keys) throw Error(ErrorCode::kInvalidArgument, "this store is not encrypted");
  if (new_passphrase.empty())
    throw Error(ErrorCode::kInvalidArgument, "the new passphrase is empty");
  sql::Transaction txn(*impl_->db);
  auto keys = unwrap_data_key(impl_->meta("crypto"), old_passphrase);  // proves the old one
  impl_->put_meta("crypto", wrap_data_key(keys->data_key(), new_passphrase).dump());
  txn.commit();
}

std::string Store::get_secret(const std::string& key) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string v = impl_->meta("secret:" + key);
  if (v.empty() || !impl_->keys) return v;
  auto sealed = crypto::unbase64(v);
  if (!sealed) throw Error(ErrorCode::kCorrupt, "stored secret is damaged");
  return impl_->unseal(*sealed, "secret:" + key);
}

void Store::set_secret(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->put_meta("secret:" + key,
                  impl_->keys ? crypto::base64(impl_->seal(value, "secret:" + key)) : value);
}

StoreStats Store::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreStats s;
  auto& st = impl_->db->prepare(
      "SELECT coalesce(sum(live),0), count(*)-coalesce(sum(live),0) FROM records");
  st.step();
  s.records = static_cast<uint64_t>(st.column_int(0));
  s.deleted = static_cast<uint64_t>(st.column_int(1));
  st.reset();
  s.pending_changes = impl_->next_seq - 1 - impl_->acked_seq;
  auto& oldest =
      impl_->db->prepare("SELECT wall_ms FROM changes WHERE seq>?1 ORDER BY seq LIMIT 1");
  oldest.bind(1, static_cast<int64_t>(impl_->acked_seq));
  if (oldest.step()) s.oldest_pending_ms = oldest.column_int(0);
  oldest.reset();
  auto& c = impl_->db->prepare("SELECT count(*) FROM conflicts WHERE resolved=0");
  c.step();
  s.open_conflicts = static_cast<uint64_t>(c.column_int(0));
  c.reset();
  const std::string last = impl_->meta("last_sync_ms");
  if (!last.empty()) s.last_sync_ms = std::stoll(last);
  return s;
}

}  // namespace lumbung

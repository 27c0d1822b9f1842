// The device store. Layout of the SQLite file (schema version 1):
//
//   meta(key PRIMARY KEY, value)        device_id, schema name, hlc (last clock value),
//                                        acked_seq, clock_offset_ms, sync cursor, ...
//   records(col, id, doc, ver, del_hlc, del_dev, live, scope, nkey)  PRIMARY KEY(col, id)
//       doc  JSON object of every field ever written, cleared ones as null
//       ver  JSON object of field versions: "" holds the version shared by most fields,
//            other keys only the fields whose version differs ({"":[hlc,"dev"],"phone":[..]})
//            so a freshly created record stores one version, not one per field
//       scope  the scope field's canonical value (region code) for prefix queries
//       nkey   the natural key's value (NIK) for duplicate lookups
//   changes(seq INTEGER PRIMARY KEY, col, id, hlc, wall_ms, op)
//       the local change log / outbox; `op` is the op's wire JSON (changeset.cpp) without
//       the device. Entries with seq <= meta.acked_seq are acknowledged by the server; they
//       are kept as the device's history.
//   conflicts(cid PRIMARY KEY, kind, col, rid, field, body, hi_hlc, hi_dev, found_ms, resolved)
//
// Invariant: a record row and its change-log entry are written in one transaction, and
// `meta.hlc` is advanced in that transaction too, so after a crash the clock never issues
// a version below one already logged.

#include "lumbung/store.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "common/sqlite.h"
#include "common/uuid.h"
#include "store/record_codec.h"
#include "lumbung/tuning.h"

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
  col TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, ver TEXT NOT NULL,
  del_hlc INTEGER NOT NULL DEFAULT 0, del_dev TEXT NOT NULL DEFAULT '',
  live INTEGER NOT NULL, scope TEXT NOT NULL DEFAULT '', nkey TEXT,
  PRIMARY KEY(col, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_scope ON records(col, scope);
CREATE INDEX IF NOT EXISTS records_nkey ON records(col, nkey) WHERE nkey IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes(
  seq INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, hlc INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL, op TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conflicts(
  cid TEXT PRIMARY KEY, kind TEXT NOT NULL, col TEXT NOT NULL, rid TEXT NOT NULL,
  field TEXT NOT NULL, body TEXT NOT NULL, hi_hlc INTEGER NOT NULL, hi_dev TEXT NOT NULL,
  found_ms INTEGER NOT NULL, resolved INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS conflicts_record ON conflicts(col, rid, resolved);
)sql";

[[noreturn]] void throw_issues(const std::vector<ValidationIssue>& issues) {
  const ValidationIssue& first = issues.front();
  std::string msg = first.message;
  if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more problems)";
  throw Error(first.reason == "unknown_field" ? ErrorCode::kUnknownField
                                              : ErrorCode::kValidationFailed,
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
    auto& st = db->prepare("SELECT doc, ver, del_hlc, del_dev FROM records WHERE col=?1 AND id=?2");
    st.bind_static(1, col).bind_static(2, id);
    std::optional<RecordState> out;
    if (st.step()) {
      out = decode_state(st.column_view(0), st.column_view(1), st.column_int(2), st.column_view(3));
    }
    st.reset();
    return out;
  }

  std::string scope_of(const CollectionSchema& cs, const RecordState& st) const {
    if (cs.scope_field().empty()) return {};
    auto it = st.fields.find(cs.scope_field());
    return it != st.fields.end() && it->second.value.is_string()
               ? it->second.value.get<std::string>()
               : std::string();
  }
  std::optional<std::string> key_of(const CollectionSchema& cs, const RecordState& st) const {
    if (cs.natural_key().empty()) return std::nullopt;
    auto it = st.fields.find(cs.natural_key());
    if (it == st.fields.end() || !it->second.value.is_string()) return std::nullopt;
    return it->second.value.get<std::string>();
  }

  void save(const CollectionSchema& cs, const std::string& id, const RecordState& st) {
    auto key = key_of(cs, st);
    auto& ins = db->prepare(
        "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(col,id) DO UPDATE SET "
        "doc=?3, ver=?4, del_hlc=?5, del_dev=?6, live=?7, scope=?8, nkey=?9");
    ins.bind(1, cs.name()).bind(2, id).bind(3, codec::encode_doc(st)).bind(4, encode_versions(st));
    ins.bind(5, static_cast<int64_t>(st.tombstone.hlc)).bind(6, st.tombstone.device);
    ins.bind(7, int64_t{st.live() ? 1 : 0}).bind(8, scope_of(cs, st));
    if (key) {
      ins.bind(9, *key);
    } else {
      ins.bind_null(9);
    }
    ins.run();
  }

  void log_change(const Op& op, const std::string& op_text) {
    db->prepare("INSERT INTO changes(seq,col,id,hlc,wall_ms,op) VALUES(?1,?2,?3,?4,?5,?6)")
        .bind(1, static_cast<int64_t>(op.seq))
        .bind(2, op.collection)
        .bind(3, op.id)
        .bind(4, static_cast<int64_t>(op.version.hlc))
        .bind(5, wall->now_ms())
        .bind(6, op_text)
        .run();
  }

  void record_conflicts(const std::vector<Conflict>& conflicts) {
    for (const auto& c : conflicts) {
      const Version& hi = c.winner.version > c.loser.version ? c.winner.version : c.loser.version;
      db->prepare(
            "INSERT OR IGNORE INTO conflicts(cid,kind,col,rid,field,body,hi_hlc,hi_dev,found_ms) "
            "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")
          .bind(1, c.id)
          .bind(2, conflict_kind_name(c.kind))
          .bind(3, c.collection)
          .bind(4, c.record_id)
          .bind(5, c.field)
          .bind(6, encode_conflict(c).dump())
          .bind(7, static_cast<int64_t>(hi.hlc))
          .bind(8, hi.device)
          .bind(9, wall->now_ms())
          .run();
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

  std::string op_text(const Op& op, const std::string& set_text) const {
    std::string t = "{\"seq\":" + std::to_string(op.seq) + ",\"col\":" + json_quote(op.collection) +
                    ",\"id\":" + json_quote(op.id) + ",\"hlc\":" + std::to_string(op.version.hlc);
    if (op.is_delete) {
      t += ",\"del\":true";
    } else {
      t += ",\"set\":" + set_text;
    }
    if (!op.base.empty()) {
      t += ",\"base\":{";
      bool first = true;
      for (const auto& [f, v] : op.base) {
        if (!first) t += ",";
        first = false;
        t += json_quote(f) + ":[" + std::to_string(v.hlc) + "," + json_quote(v.device) + "]";
      }
      t += "}";
    }
    return t + "}";
  }

  // --- the three local writes; caller holds mu and an open transaction ---------------------

  std::string create(const std::string& col, Json fields, std::string id) {
    const CollectionSchema& cs = collection(col);
    if (!fields.is_object()) throw Error(ErrorCode::kInvalidArgument, "a record must be a JSON object");
    if (auto issues = cs.normalize_and_validate(fields, false); !issues.empty()) {
      throw_issues(issues);
    }
    if (id.empty()) {
      id = make_uuid_v7(clock->physical_now_ms());
    } else if (!is_uuid(id)) {
      throw Error(ErrorCode::kInvalidArgument, "record id must be a UUID, got \"" + id + "\"");
    }
    if (load(col, id)) throw Error(ErrorCode::kAlreadyExists, "record " + id + " already exists");
    Op op;
    op.seq = next_seq;
    op.collection = col;
    op.id = id;
    op.version = {clock->now(), device};
    op.set = std::move(fields);
    RecordState st;
    apply_op(cs, st, op);
    save(cs, id, st);
    log_change(op, op_text(op, op.set.dump()));
    ++next_seq;
    return id;
  }

  void update(const std::string& col, const std::string& id, Json patch) {
    const CollectionSchema& cs = collection(col);
    if (!patch.is_object()) throw Error(ErrorCode::kInvalidArgument, "a patch must be a JSON object");
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
        throw Error(ErrorCode::kStatusRegression,
                    name + " can only move forward: " + old.dump() + " cannot become " +
                        value.dump(),
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
    if (auto issues = cs.normalize_and_validate(merged, false); !issues.empty()) throw_issues(issues);
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
    log_change(op, op_text(op, op.set.dump()));
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
    op.base.emplace("*", st->newest_version());
    apply_op(cs, *st, op);
    save(cs, id, *st);
    log_change(op, op_text(op, {}));
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
  return impl_->guarded([&] { return impl_->s->create(collection, std::move(fields), std::move(id)); });
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
  });
}

// --- Store ---------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::open(const OpenOptions& options) {
  if (!options.schema) throw Error(ErrorCode::kInvalidArgument, "OpenOptions.schema is required");
  if (options.path.empty()) throw Error(ErrorCode::kInvalidArgument, "OpenOptions.path is required");
  auto impl = std::make_unique<Impl>();
  impl->schema = options.schema;
  impl->wall = options.clock ? options.clock : &system_wall_clock();
  impl->db = std::make_unique<sql::Database>(options.path);
  impl->db->exec(kDdl);
  {
    sql::Transaction txn(*impl->db);
    const std::string stored_device = impl->meta("device_id");
    if (stored_device.empty()) {
      if (options.device_id.empty() || options.device_id.size() > 64) {
        throw Error(ErrorCode::kInvalidArgument, "a new store needs a device id of 1..64 characters");
      }
      impl->put_meta("device_id", options.device_id);
      impl->put_meta("schema", options.schema->name());
      impl->device = options.device_id;
    } else {
      if (!options.device_id.empty() && options.device_id != stored_device) {
        throw Error(ErrorCode::kSchemaMismatch, "this store belongs to device " + stored_device +
                                                    ", not " + options.device_id);
      }
      if (impl->meta("schema") != options.schema->name()) {
        throw Error(ErrorCode::kSchemaMismatch, "this store holds schema \"" + impl->meta("schema") +
                                                    "\", not \"" + options.schema->name() + "\"");
      }
      impl->device = stored_device;
    }
    impl->put_meta("schema_version", std::to_string(options.schema->version()));
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

std::vector<Record> Store::find_by_key(const std::string& collection, const std::string& key) const {
  const CollectionSchema& cs = impl_->collection(collection);
  std::vector<Record> out;
  if (cs.natural_key().empty()) return out;
  const FieldDef* def = cs.field(cs.natural_key());
  Json norm = def ? cs.normalize_value(*def, Json(key)) : Json(key);
  if (!norm.is_string()) return out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT id, doc, ver, del_hlc, del_dev FROM records WHERE col=?1 AND nkey=?2 AND live=1 "
      "ORDER BY id");
  st.bind(1, collection).bind(2, norm.get<std::string>());
  while (st.step()) {
    std::string id = st.column_text(0);
    auto state = decode_state(st.column_view(1), st.column_view(2), st.column_int(3), st.column_view(4));
    out.push_back(impl_->to_record(collection, id, state));
  }
  st.reset();
  return out;
}

Page Store::query(const Query& q) const {
  const CollectionSchema& cs = impl_->collection(q.collection);
  size_t limit = q.limit == 0 ? kDefaultQueryPageSize : std::min(q.limit, kMaxQueryPageSize);
  std::string prefix;
  if (!q.scope_prefix.empty()) {
    for (char c : q.scope_prefix) {
      if (c >= '0' && c <= '9') {
        prefix.push_back(c);
      } else if (c != '.') {
        throw Error(ErrorCode::kInvalidArgument, "scope prefix must be a region code, got \"" +
                                                     q.scope_prefix + "\"");
      }
    }
  }
  // A prefix range [prefix, prefix + ':') avoids LIKE and uses the (col, scope) index.
  std::string upper = prefix + ":";
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT id, doc, ver, del_hlc, del_dev FROM records WHERE col=?1 AND id>?2 "
      "AND (?3='' OR (scope>=?3 AND scope<?4)) AND (?5 OR live=1) ORDER BY id LIMIT ?6");
  st.bind(1, cs.name()).bind(2, q.after_id).bind(3, prefix).bind(4, upper);
  st.bind(5, int64_t{q.include_deleted ? 1 : 0}).bind(6, static_cast<int64_t>(limit + 1));
  Page page;
  while (st.step()) {
    if (page.records.size() == limit) {
      page.next_after = page.records.back().id;
      break;
    }
    std::string id = st.column_text(0);
    auto state = decode_state(st.column_view(1), st.column_view(2), st.column_int(3), st.column_view(4));
    page.records.push_back(impl_->to_record(q.collection, id, state));
  }
  st.reset();
  return page;
}

uint64_t Store::count(const std::string& collection, const std::string& scope_prefix) const {
  std::string prefix;
  for (char c : scope_prefix) {
    if (c != '.') prefix.push_back(c);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT count(*) FROM records WHERE col=?1 AND live=1 AND (?2='' OR (scope>=?2 AND scope<?3))");
  st.bind(1, collection).bind(2, prefix).bind(3, prefix + ":");
  st.step();
  auto n = static_cast<uint64_t>(st.column_int(0));
  st.reset();
  return n;
}

std::vector<PendingChange> Store::pending_changes(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare("SELECT op FROM changes WHERE seq>?1 ORDER BY seq LIMIT ?2");
  st.bind(1, static_cast<int64_t>(std::max(after_seq, impl_->acked_seq)));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<PendingChange> out;
  while (st.step()) {
    try {
      out.push_back({decode_op(Json::parse(st.column_view(0)), impl_->device), false});
    } catch (const Json::exception& e) {
      st.reset();
      throw Error(ErrorCode::kCorrupt, std::string("change log entry is not JSON: ") + e.what());
    }
  }
  st.reset();
  return out;
}

void Store::acknowledge(uint64_t up_to_seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (up_to_seq <= impl_->acked_seq) return;
  if (up_to_seq >= impl_->next_seq) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot acknowledge seq " + std::to_string(up_to_seq) + ": not written yet");
  }
  impl_->put_meta("acked_seq", std::to_string(up_to_seq));
  impl_->acked_seq = up_to_seq;
}

std::vector<Conflict> Store::conflicts(bool include_resolved) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT body FROM conflicts WHERE (?1 OR resolved=0) ORDER BY found_ms DESC, cid");
  st.bind(1, int64_t{include_resolved ? 1 : 0});
  std::vector<Conflict> out;
  while (st.step()) out.push_back(decode_conflict(Json::parse(st.column_view(0))));
  st.reset();
  return out;
}

RemoteApplyResult Store::apply_remote(const std::vector<Op>& ops,
                                      const std::vector<std::pair<std::string, std::string>>& meta) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  RemoteApplyResult out;
  for (const Op& op : ops) {
    const CollectionSchema* cs = impl_->schema->collection(op.collection);
    if (!cs) {
      throw Error(ErrorCode::kProtocol, "remote op for unknown collection \"" + op.collection + "\"");
    }
    impl_->clock->observe(op.version.hlc);
    RecordState st = impl_->load(op.collection, op.id).value_or(RecordState{});
    ApplyResult r = apply_op(*cs, st, op);
    if (r.changed) {
      impl_->save(*cs, op.id, st);
      ++out.applied;
    } else {
      ++out.duplicates;
    }
    impl_->record_conflicts(r.conflicts);
    impl_->settle_conflicts(op);
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
  auto& oldest = impl_->db->prepare("SELECT wall_ms FROM changes WHERE seq>?1 ORDER BY seq LIMIT 1");
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

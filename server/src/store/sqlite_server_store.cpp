#include "store/sqlite_server_store.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/encoding.h"
#include "common/sqlite.h"
#include "lumbung/error.h"
#include "store/record_codec.h"

namespace lumbung::server {
namespace {

// Hashes (tokens, codes) are stored as lowercase hex of SHA-256; never the secret itself.
constexpr const char* kDdl = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- records is a rowid table: new records append at the end of the table b-tree and only the
-- small (col, id) index takes random-key inserts. As WITHOUT ROWID (the device's layout)
-- every UUIDv4 insert dirtied a random 4 KB leaf of ~400-byte rows: 2x the WAL per push
-- and half the push throughput at 100k records (13k vs 28k records/s).
CREATE TABLE IF NOT EXISTS records(
  col TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, ver TEXT NOT NULL,
  del_hlc INTEGER NOT NULL DEFAULT 0, del_dev TEXT NOT NULL DEFAULT '',
  live INTEGER NOT NULL, scope TEXT NOT NULL DEFAULT '', nkey TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS records_id ON records(col, id);
-- No index on scope: every index on records is one more random b-tree insert per pushed op
-- (UUIDv4 ids, NIKs and scopes are all random), and only the rare progress report filters
-- by scope. Pull filters the oplog, not records.
DROP INDEX IF EXISTS records_scope;
CREATE INDEX IF NOT EXISTS records_nkey ON records(col, nkey) WHERE nkey IS NOT NULL;
CREATE TABLE IF NOT EXISTS oplog(
  pos INTEGER PRIMARY KEY, dev TEXT NOT NULL, seq INTEGER NOT NULL, col TEXT NOT NULL,
  id TEXT NOT NULL, scope TEXT NOT NULL, hlc INTEGER NOT NULL, op TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS oplog_dev_seq ON oplog(dev, seq);
CREATE TABLE IF NOT EXISTS devices(
  device_id TEXT PRIMARY KEY, label TEXT NOT NULL, scope TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, acked_seq INTEGER NOT NULL DEFAULT 0,
  registered_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL DEFAULT 0,
  last_sync_ms INTEGER NOT NULL DEFAULT 0, revoked_ms INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'null') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens(
  hash TEXT PRIMARY KEY, role TEXT NOT NULL, label TEXT NOT NULL,
  created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS codes(
  hash TEXT PRIMARY KEY, scope TEXT NOT NULL, label TEXT NOT NULL, created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL DEFAULT 0,
  used_by TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts(
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, col TEXT NOT NULL, rid TEXT NOT NULL,
  field TEXT NOT NULL, body TEXT NOT NULL, resolved INTEGER NOT NULL DEFAULT 0,
  found_ms INTEGER NOT NULL, resolution TEXT NOT NULL DEFAULT 'null') WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conflicts_open ON conflicts(resolved, found_ms);
CREATE TABLE IF NOT EXISTS duplicates(
  id TEXT PRIMARY KEY, col TEXT NOT NULL, rid_a TEXT NOT NULL, rid_b TEXT NOT NULL,
  resolved INTEGER NOT NULL DEFAULT 0, found_ms INTEGER NOT NULL,
  resolution TEXT NOT NULL DEFAULT 'null') WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS duplicates_open ON duplicates(resolved, found_ms);
CREATE TABLE IF NOT EXISTS refused(
  id TEXT PRIMARY KEY, dev TEXT NOT NULL, seq INTEGER NOT NULL, col TEXT NOT NULL,
  rid TEXT NOT NULL, code TEXT NOT NULL, field TEXT NOT NULL, message TEXT NOT NULL,
  op TEXT NOT NULL, scope TEXT NOT NULL, found_ms INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'open', resolution TEXT NOT NULL DEFAULT 'null') WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refused_order ON refused(found_ms, id);
CREATE INDEX IF NOT EXISTS refused_record ON refused(dev, col, rid, status);
CREATE TABLE IF NOT EXISTS epochs(
  id TEXT PRIMARY KEY, start_pos INTEGER NOT NULL, started_ms INTEGER NOT NULL) WITHOUT ROWID;
-- Append-only: the server only ever INSERTs here; each row's hash covers the previous
-- row's hash (audit/audit_log.cpp), and meta 'audit_head' repeats the newest seq:hash.
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, role TEXT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
)sql";

// Columns added after the first release, each with the ALTER that adds it to an older file.
struct AddedColumn {
  const char* table;
  const char* column;
  const char* alter;
};
constexpr AddedColumn kAddedColumns[] = {
    {"tokens", "expires_ms", "ALTER TABLE tokens ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0"},
    {"oplog", "not_scope", "ALTER TABLE oplog ADD COLUMN not_scope TEXT NOT NULL DEFAULT ''"},
};

constexpr const char* kTokenCols = "hash,role,label,created_ms,expires_ms,revoked_ms";
constexpr size_t kTokenIdHexDigits = 16;

// Readers: enough for the listener's 4 threads to pull concurrently with one writer.
constexpr size_t kReaderConnections = 3;
// The writer's page cache. A push inserts records under random UUID keys all over the
// records b-tree; with the engine's 16 MiB default most pages came from the OS by pread
// (40% of push time in the kernel at 100k records). 64 MiB keeps the hot b-tree pages of
// ~250k records in process and stays well inside the 256 MB server RSS budget.
constexpr int kWriterCacheKiB = 64 * 1024;
// Checkpoints run on a background thread (PASSIVE, every kCheckpointInterval) so that a
// push never pays for copying the WAL back into the database. The writer's own automatic
// checkpoint stays as a safety net at 64 MB of WAL (16,384 pages): a 2,000-op batch of
// random-key inserts dirties ~8-14 MB of pages, and the default 4 MB checkpointed inside
// nearly every push.
constexpr int kWalAutocheckpointPages = 16384;
constexpr auto kCheckpointInterval = std::chrono::milliseconds(500);

std::vector<std::string> scope_from_text(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

std::string scope_to_text(const std::vector<std::string>& scope) { return Json(scope).dump(); }

Json json_or_null(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

// Upper bound of the key range that starts with `prefix` (digit strings: '9'+1 = ':').
std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
  return end;
}

// Resets a cached statement on every exit path of a row loop.
struct ResetOnExit {
  sql::Statement& st;
  ~ResetOnExit() { st.reset(); }
};

DeviceRow read_device(sql::Statement& st) {
  // Column order: device_id,label,scope,acked_seq,registered_ms,last_seen_ms,last_sync_ms,
  // revoked_ms,status
  DeviceRow d;
  d.device_id = st.column_text(0);
  d.label = st.column_text(1);
  d.scope = scope_from_text(st.column_view(2));
  d.acked_seq = static_cast<uint64_t>(st.column_int(3));
  d.registered_ms = st.column_int(4);
  d.last_seen_ms = st.column_int(5);
  d.last_sync_ms = st.column_int(6);
  d.revoked_ms = st.column_int(7);
  d.status = json_or_null(st.column_view(8));
  return d;
}
constexpr const char* kDeviceCols =
    "device_id,label,scope,acked_seq,registered_ms,last_seen_ms,last_sync_ms,revoked_ms,status";

ConflictRow read_conflict(sql::Statement& st) {
  // Column order: body, resolved, found_ms, resolution
  ConflictRow r;
  r.conflict = codec::decode_conflict(Json::parse(st.column_view(0)));
  r.resolved = st.column_int(1) != 0;
  r.found_ms = st.column_int(2);
  r.resolution = json_or_null(st.column_view(3));
  return r;
}

DuplicateRow read_duplicate(sql::Statement& st) {
  // Column order: id, col, rid_a, rid_b, resolved, found_ms, resolution
  DuplicateRow d;
  d.id = st.column_text(0);
  d.collection = st.column_text(1);
  d.record_a = st.column_text(2);
  d.record_b = st.column_text(3);
  d.resolved = st.column_int(4) != 0;
  d.found_ms = st.column_int(5);
  d.resolution = json_or_null(st.column_view(6));
  return d;
}

constexpr const char* kRefusedCols =
    "id,dev,seq,col,rid,code,field,message,op,scope,found_ms,status,resolution";

RefusedRow read_refused(sql::Statement& st) {
  // Column order: kRefusedCols
  RefusedRow r;
  r.id = st.column_text(0);
  r.device = st.column_text(1);
  r.seq = static_cast<uint64_t>(st.column_int(2));
  r.collection = st.column_text(3);
  r.record_id = st.column_text(4);
  r.code = st.column_text(5);
  r.field = st.column_text(6);
  r.message = st.column_text(7);
  r.op_text = st.column_text(8);
  r.scope = st.column_text(9);
  r.found_ms = st.column_int(10);
  r.status = st.column_text(11);
  r.resolution = json_or_null(st.column_view(12));
  return r;
}

TokenRow read_token(sql::Statement& st) {
  // Column order: kTokenCols
  TokenRow t;
  t.id = st.column_text(0).substr(0, kTokenIdHexDigits);
  t.role = role_from(st.column_view(1)).value_or(Role::kReviewer);
  t.label = st.column_text(2);
  t.created_ms = st.column_int(3);
  t.expires_ms = st.column_int(4);
  t.revoked_ms = st.column_int(5);
  return t;
}

int status_filter(const std::string& status) {
  if (status == "open") return 0;
  if (status == "resolved" || status == "merged") return 1;
  if (status == "all") return -1;
  throw Error(ErrorCode::kInvalidArgument, "status must be open, resolved or all");
}

class SqliteWriteTxn : public WriteTxn {
 public:
  SqliteWriteTxn(std::mutex& mu, sql::Database& db, uint64_t epoch_start)
      : lock_(mu), db_(db), tx_(db), epoch_start_(epoch_start) {}

  std::optional<RecordState> load_record(const std::string& col, const std::string& id) override {
    auto& st = db_.prepare("SELECT doc, ver, del_hlc, del_dev FROM records WHERE col=?1 AND id=?2");
    ResetOnExit r{st};
    st.bind_static(1, col).bind_static(2, id);
    if (!st.step()) return std::nullopt;
    return codec::decode_state(st.column_view(0), st.column_view(1), st.column_int(2),
                               st.column_view(3));
  }

  void save_record(const std::string& col, const std::string& id, const RecordState& s,
                   const std::string& scope, const std::optional<std::string>& nkey) override {
    auto& ins = db_.prepare(
        "INSERT INTO records(col,id,doc,ver,del_hlc,del_dev,live,scope,nkey) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(col,id) DO UPDATE SET "
        "doc=?3, ver=?4, del_hlc=?5, del_dev=?6, live=?7, scope=?8, nkey=?9");
    ins.bind_static(1, col).bind_static(2, id);
    ins.bind(3, codec::encode_doc(s)).bind(4, codec::encode_versions(s));
    ins.bind(5, static_cast<int64_t>(s.tombstone.hlc)).bind(6, s.tombstone.device);
    ins.bind(7, int64_t{s.live() ? 1 : 0}).bind_static(8, scope);
    if (nkey) {
      ins.bind(9, *nkey);
    } else {
      ins.bind_null(9);
    }
    ins.run();
  }

  bool insert_new_record(const std::string& col, const std::string& id, const std::string& doc,
                         const std::string& versions, const std::string& scope,
                         const std::optional<std::string>& nkey) override {
    auto& ins = db_.prepare(
        "INSERT INTO records(col,id,doc,ver,live,scope,nkey) VALUES(?1,?2,?3,?4,1,?5,?6) "
        "ON CONFLICT(col,id) DO NOTHING");
    ins.bind_static(1, col).bind_static(2, id).bind_static(3, doc).bind_static(4, versions);
    ins.bind_static(5, scope);
    if (nkey) {
      ins.bind(6, *nkey);
    } else {
      ins.bind_null(6);
    }
    ins.run();
    return db_.changes() == 1;
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
    st.bind_static(1, col).bind_static(2, key).bind(3, static_cast<int64_t>(limit));
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
        .bind_static(8, op_text)
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
        .bind_static(8, r.message)
        .bind_static(9, r.op_text)
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
    return read_refused(st);
  }

  void resolve_refused(const std::string& id, const std::string& status,
                       const Json& resolution) override {
    db_.prepare("UPDATE refused SET status=?2, resolution=?3 WHERE id=?1")
        .bind_static(1, id)
        .bind_static(2, status)
        .bind(3, resolution.dump())
        .run();
  }

  bool has_open_refused(const std::string& device, const std::string& col,
                        const std::string& rid) override {
    auto& st = db_.prepare(
        "SELECT 1 FROM refused WHERE dev=?1 AND col=?2 AND rid=?3 AND status='open' LIMIT 1");
    ResetOnExit r{st};
    st.bind_static(1, device).bind_static(2, col).bind_static(3, rid);
    return st.step();
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
        .bind(6, codec::encode_conflict(c).dump())
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
    return read_conflict(st);
  }

  void resolve_conflict(const std::string& id, const Json& resolution) override {
    db_.prepare("UPDATE conflicts SET resolved=1, resolution=?2 WHERE id=?1")
        .bind_static(1, id)
        .bind(2, resolution.dump())
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
    return read_duplicate(st);
  }

  void resolve_duplicate(const std::string& id, const Json& resolution) override {
    db_.prepare("UPDATE duplicates SET resolved=1, resolution=?2 WHERE id=?1")
        .bind_static(1, id)
        .bind(2, resolution.dump())
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

  void touch_device(const std::string& id, int64_t now_ms) override {
    db_.prepare("UPDATE devices SET last_seen_ms=max(last_seen_ms,?2) WHERE device_id=?1")
        .bind_static(1, id)
        .bind(2, now_ms)
        .run();
  }

  std::optional<CodeRow> code(const std::string& code_hash) override {
    auto& st = db_.prepare(
        "SELECT scope,label,created_ms,expires_ms,used_ms,used_by FROM codes WHERE hash=?1");
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
    return c;
  }

  void insert_code(const std::string& code_hash, const CodeRow& c) override {
    db_.prepare("INSERT INTO codes(hash,scope,label,created_ms,expires_ms) VALUES(?1,?2,?3,?4,?5)")
        .bind(1, code_hash)
        .bind(2, scope_to_text(c.scope))
        .bind(3, c.label)
        .bind(4, c.created_ms)
        .bind(5, c.expires_ms)
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
                    int64_t now_ms, int64_t expires_ms) override {
    db_.prepare("INSERT INTO tokens(hash,role,label,created_ms,expires_ms) VALUES(?1,?2,?3,?4,?5)")
        .bind(1, token_hash)
        .bind(2, std::string(role_name(role)))
        .bind(3, label)
        .bind(4, now_ms)
        .bind(5, expires_ms)
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

  uint64_t count_tokens() override {
    auto& st = db_.prepare("SELECT count(*) FROM tokens");
    ResetOnExit r{st};
    st.step();
    return static_cast<uint64_t>(st.column_int(0));
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

  void commit() override { tx_.commit(); }

 private:
  // Order matters: the transaction rolls back (if not committed) before the lock is released.
  std::unique_lock<std::mutex> lock_;
  sql::Database& db_;
  sql::Transaction tx_;
  uint64_t epoch_start_;
  uint64_t next_pos_ = 0;  // 0 until the first append_op of this transaction
};

}  // namespace

// Records this start of the server as a new history (Epoch) and returns every epoch,
// oldest first. The new epoch's positions start above both the log and the wall clock in
// microseconds: a database restored from an older copy then never reuses a position that
// the lost history gave out (those were all taken at earlier times).
std::vector<Epoch> start_epoch(sql::Database& db) {
  sql::Transaction txn(db);
  uint64_t max_pos = 0;
  {
    auto& st = db.prepare("SELECT coalesce(max(pos), 0) FROM oplog");
    ResetOnExit r{st};
    st.step();
    max_pos = static_cast<uint64_t>(st.column_int(0));
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  Epoch e;
  e.id = hex_encode(random_bytes(8));
  e.start_pos = std::max<uint64_t>(max_pos + 1, static_cast<uint64_t>(std::max<int64_t>(now_us, 1)));
  e.started_ms = now_ms;
  db.prepare("INSERT INTO epochs(id,start_pos,started_ms) VALUES(?1,?2,?3)")
      .bind_static(1, e.id)
      .bind(2, static_cast<int64_t>(e.start_pos))
      .bind(3, e.started_ms)
      .run();
  txn.commit();
  std::vector<Epoch> out;
  auto& st = db.prepare("SELECT id, start_pos, started_ms FROM epochs ORDER BY start_pos");
  ResetOnExit r{st};
  while (st.step()) {
    out.push_back(Epoch{st.column_text(0), static_cast<uint64_t>(st.column_int(1)),
                        st.column_int(2)});
  }
  return out;
}

struct SqliteServerStore::Impl {
  struct Reader {
    std::mutex mu;
    std::unique_ptr<sql::Database> db;
  };
  std::string path;
  std::mutex write_mu;
  std::unique_ptr<sql::Database> writer;
  std::vector<std::unique_ptr<Reader>> readers;
  std::atomic<size_t> next_reader{0};
  std::vector<Epoch> epochs;  // read at open, then only this start's epoch is added

  // Background checkpointer: its own connection, woken every kCheckpointInterval.
  std::unique_ptr<sql::Database> checkpointer;
  std::thread checkpoint_thread;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;

  void checkpoint_loop() {
    std::unique_lock<std::mutex> lock(stop_mu);
    while (!stop_cv.wait_for(lock, kCheckpointInterval, [this] { return stopping; })) {
      int log_frames = 0, done_frames = 0;
      const int rc = sqlite3_wal_checkpoint_v2(
          checkpointer->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        std::fprintf(stderr, "lumbung-server: background checkpoint failed (%d)\n", rc);
      }
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(stop_mu);
      stopping = true;
    }
    stop_cv.notify_all();
    if (checkpoint_thread.joinable()) checkpoint_thread.join();
  }

  // A reader connection held for the lifetime of the lease.
  class Lease {
   public:
    explicit Lease(Impl& impl) {
      const size_t n = impl.readers.size();
      const size_t start = impl.next_reader.fetch_add(1) % n;
      for (size_t i = 0; i < n && !r_; ++i) {
        Reader& cand = *impl.readers[(start + i) % n];
        if (cand.mu.try_lock()) r_ = &cand;
      }
      if (!r_) {  // all busy: wait for one
        r_ = impl.readers[start].get();
        r_->mu.lock();
      }
    }
    ~Lease() { r_->mu.unlock(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    sql::Database& db() { return *r_->db; }

   private:
    Reader* r_ = nullptr;
  };
};

SqliteServerStore::SqliteServerStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteServerStore::~SqliteServerStore() = default;

std::unique_ptr<SqliteServerStore> SqliteServerStore::open(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->path = dir + "/lumbung-server.db";
  impl->writer = std::make_unique<sql::Database>(impl->path, true);
  impl->writer->exec(kDdl);
  for (const AddedColumn& c : kAddedColumns) {
    auto& st = impl->writer->prepare("SELECT count(*) FROM pragma_table_info(?1) WHERE name=?2");
    st.bind_static(1, c.table).bind_static(2, c.column);
    st.step();
    const bool present = st.column_int(0) > 0;
    st.reset();
    if (!present) impl->writer->exec(c.alter);
  }
  // An acknowledged push must survive a power cut, not only a crash: the commit that the
  // answer reports is fsync'ed (WAL + synchronous=FULL). Measured in BENCHMARKS.md.
  impl->writer->exec("PRAGMA synchronous=FULL");
  impl->epochs = start_epoch(*impl->writer);
  impl->writer->exec("PRAGMA cache_size=-" + std::to_string(kWriterCacheKiB));
  impl->writer->exec("PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages));
  for (size_t i = 0; i < kReaderConnections; ++i) {
    auto r = std::make_unique<Impl::Reader>();
    r->db = std::make_unique<sql::Database>(impl->path, false);
    r->db->exec("PRAGMA query_only=1");
    impl->readers.push_back(std::move(r));
  }
  impl->checkpointer = std::make_unique<sql::Database>(impl->path, false);
  Impl* raw = impl.get();
  impl->checkpoint_thread = std::thread([raw] { raw->checkpoint_loop(); });
  return std::unique_ptr<SqliteServerStore>(new SqliteServerStore(std::move(impl)));
}

std::unique_ptr<WriteTxn> SqliteServerStore::begin_write() {
  return std::make_unique<SqliteWriteTxn>(impl_->write_mu, *impl_->writer,
                                          impl_->epochs.back().start_pos);
}

std::optional<Principal> SqliteServerStore::find_principal(const std::string& token_hash) {
  Impl::Lease lease(*impl_);
  auto& db = lease.db();
  {
    auto& st =
        db.prepare("SELECT hash, role, label, revoked_ms, expires_ms FROM tokens WHERE hash=?1");
    ResetOnExit r{st};
    st.bind_static(1, token_hash);
    if (st.step()) {
      auto role = role_from(st.column_view(1));
      if (!role) throw Error(ErrorCode::kCorrupt, "stored token has an unknown role");
      Principal p;
      p.role = *role;
      p.label = st.column_text(2);
      p.revoked = st.column_int(3) != 0;
      p.expires_ms = st.column_int(4);
      p.stored_hash = st.column_text(0);
      p.token_id = p.stored_hash.substr(0, kTokenIdHexDigits);
      return p;
    }
  }
  auto& st = db.prepare(
      "SELECT device_id, label, scope, revoked_ms, token_hash FROM devices WHERE token_hash=?1");
  ResetOnExit r{st};
  st.bind_static(1, token_hash);
  if (!st.step()) return std::nullopt;
  Principal p;
  p.role = Role::kDevice;
  p.device_id = st.column_text(0);
  p.label = st.column_text(1);
  p.scope = scope_from_text(st.column_view(2));
  p.revoked = st.column_int(3) != 0;
  p.stored_hash = st.column_text(4);
  return p;
}

LogPage SqliteServerStore::read_log(uint64_t after_pos, const std::vector<std::string>& prefixes,
                                    const std::string& exclude_dev, size_t limit,
                                    size_t scan_limit) {
  Impl::Lease lease(*impl_);
  auto& db = lease.db();
  LogPage page;
  page.last_scanned = after_pos;
  auto in_scope = [&prefixes](std::string_view scope) {
    if (scope.empty()) return true;
    for (const auto& p : prefixes) {
      if (scope.compare(0, p.size(), p) == 0) return true;
    }
    return false;
  };
  // One statement = one read snapshot, so the page and `more` agree with each other.
  db.exec("BEGIN");
  struct EndRead {
    sql::Database& db;
    ~EndRead() {
      try {
        db.exec("COMMIT");
      } catch (...) {
      }
    }
  } end_read{db};
  bool stopped_early = false;
  {
    auto& st =
        db.prepare("SELECT pos, dev, scope, op, not_scope FROM oplog WHERE pos>?1 ORDER BY pos "
                   "LIMIT ?2");
    ResetOnExit r{st};
    st.bind(1, static_cast<int64_t>(after_pos)).bind(2, static_cast<int64_t>(scan_limit));
    size_t scanned = 0;
    while (st.step()) {
      ++scanned;
      page.last_scanned = static_cast<uint64_t>(st.column_int(0));
      const std::string_view dev = st.column_view(1);
      const std::string_view scope = st.column_view(2);
      const std::string_view not_scope = st.column_view(4);
      if (dev != exclude_dev && in_scope(scope) && (not_scope.empty() || !in_scope(not_scope))) {
        LogEntry e;
        e.pos = page.last_scanned;
        e.dev = std::string(dev);
        e.scope = std::string(scope);
        e.op_text = st.column_text(3);
        page.entries.push_back(std::move(e));
        if (page.entries.size() >= limit) {
          stopped_early = true;
          break;
        }
      }
    }
    if (scanned >= scan_limit) stopped_early = true;
  }
  if (stopped_early) {
    auto& st = db.prepare("SELECT 1 FROM oplog WHERE pos>?1 LIMIT 1");
    ResetOnExit r{st};
    st.bind(1, static_cast<int64_t>(page.last_scanned));
    page.more = st.step();
  }
  return page;
}

std::vector<Epoch> SqliteServerStore::epochs() { return impl_->epochs; }

uint64_t SqliteServerStore::last_pos_before(uint64_t before_pos) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare("SELECT coalesce(max(pos), 0) FROM oplog WHERE pos < ?1");
  ResetOnExit r{st};
  st.bind(1, static_cast<int64_t>(std::min<uint64_t>(before_pos, INT64_MAX)));
  st.step();
  return static_cast<uint64_t>(st.column_int(0));
}

uint64_t SqliteServerStore::device_acked_seq(const std::string& device_id) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare("SELECT acked_seq FROM devices WHERE device_id=?1");
  ResetOnExit r{st};
  st.bind_static(1, device_id);
  return st.step() ? static_cast<uint64_t>(st.column_int(0)) : 0;
}

std::vector<RefusedRow> SqliteServerStore::list_refused(const std::string& status,
                                                        const std::string& device,
                                                        const std::string& after_id,
                                                        size_t limit) {
  if (status != "open" && status != "applied" && status != "dismissed" && status != "all") {
    throw Error(ErrorCode::kInvalidArgument, "status must be open, applied, dismissed or all");
  }
  Impl::Lease lease(*impl_);
  auto& db = lease.db();
  int64_t after_ms = -1;
  if (!after_id.empty()) {
    auto& st = db.prepare("SELECT found_ms FROM refused WHERE id=?1");
    ResetOnExit r{st};
    st.bind_static(1, after_id);
    if (!st.step()) throw Error(ErrorCode::kInvalidArgument, "unknown \"after\" id");
    after_ms = st.column_int(0);
  }
  auto& st = db.prepare(std::string("SELECT ") + kRefusedCols +
                        " FROM refused WHERE (?1='all' OR status=?1) AND (?2='' OR dev=?2) "
                        "AND (found_ms > ?3 OR (found_ms = ?3 AND id > ?4)) "
                        "ORDER BY found_ms, id LIMIT ?5");
  ResetOnExit r{st};
  st.bind_static(1, status).bind_static(2, device).bind(3, after_ms).bind_static(4, after_id);
  st.bind(5, static_cast<int64_t>(limit));
  std::vector<RefusedRow> out;
  while (st.step()) out.push_back(read_refused(st));
  return out;
}

std::vector<ConflictRow> SqliteServerStore::list_conflicts(const std::string& status,
                                                           size_t limit) {
  const int f = status_filter(status);
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT body, resolved, found_ms, resolution FROM conflicts WHERE (?1<0 OR resolved=?1) "
      "ORDER BY found_ms, id LIMIT ?2");
  ResetOnExit r{st};
  st.bind(1, int64_t{f}).bind(2, static_cast<int64_t>(limit));
  std::vector<ConflictRow> out;
  while (st.step()) out.push_back(read_conflict(st));
  return out;
}

std::vector<DuplicateRow> SqliteServerStore::list_duplicates(const std::string& status,
                                                             size_t limit) {
  const int f = status_filter(status);
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT id, col, rid_a, rid_b, resolved, found_ms, resolution FROM duplicates "
      "WHERE (?1<0 OR resolved=?1) ORDER BY found_ms, id LIMIT ?2");
  ResetOnExit r{st};
  st.bind(1, int64_t{f}).bind(2, static_cast<int64_t>(limit));
  std::vector<DuplicateRow> out;
  while (st.step()) out.push_back(read_duplicate(st));
  return out;
}

std::vector<DeviceRow> SqliteServerStore::list_devices() {
  Impl::Lease lease(*impl_);
  auto& st =
      lease.db().prepare(std::string("SELECT ") + kDeviceCols + " FROM devices ORDER BY device_id");
  ResetOnExit r{st};
  std::vector<DeviceRow> out;
  while (st.step()) out.push_back(read_device(st));
  return out;
}

std::vector<RecordRow> SqliteServerStore::list_records(const std::string& col,
                                                       const std::string& scope_prefix,
                                                       const std::string& after_id, size_t limit) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT id, doc, ver, del_hlc, del_dev FROM records WHERE col=?1 AND id>?2 "
      "AND (?3='' OR (scope>=?3 AND scope<?4)) ORDER BY id LIMIT ?5");
  ResetOnExit r{st};
  const std::string end = prefix_end(scope_prefix);
  st.bind_static(1, col).bind_static(2, after_id).bind_static(3, scope_prefix).bind_static(4, end);
  st.bind(5, static_cast<int64_t>(limit));
  std::vector<RecordRow> out;
  while (st.step()) {
    RecordRow row;
    row.collection = col;
    row.id = st.column_text(0);
    row.state = codec::decode_state(st.column_view(1), st.column_view(2), st.column_int(3),
                                    st.column_view(4));
    out.push_back(std::move(row));
  }
  return out;
}

std::optional<RecordState> SqliteServerStore::get_record(const std::string& col,
                                                         const std::string& id) {
  Impl::Lease lease(*impl_);
  auto& st =
      lease.db().prepare("SELECT doc, ver, del_hlc, del_dev FROM records WHERE col=?1 AND id=?2");
  ResetOnExit r{st};
  st.bind_static(1, col).bind_static(2, id);
  if (!st.step()) return std::nullopt;
  return codec::decode_state(st.column_view(0), st.column_view(1), st.column_int(2),
                             st.column_view(3));
}

void SqliteServerStore::for_each_live(
    const std::string& col, const std::string& scope_prefix,
    const std::function<void(const std::string&, std::string_view)>& fn) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT scope, doc FROM records WHERE col=?1 AND live=1 "
      "AND (?2='' OR (scope>=?2 AND scope<?3))");
  ResetOnExit r{st};
  const std::string end = prefix_end(scope_prefix);
  st.bind_static(1, col).bind_static(2, scope_prefix).bind_static(3, end);
  while (st.step()) fn(st.column_text(0), st.column_view(1));
}

std::string SqliteServerStore::read_meta(const std::string& key) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare("SELECT value FROM meta WHERE key=?1");
  ResetOnExit r{st};
  st.bind_static(1, key);
  return st.step() ? st.column_text(0) : std::string();
}

std::vector<TokenRow> SqliteServerStore::list_tokens() {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(std::string("SELECT ") + kTokenCols +
                                " FROM tokens ORDER BY created_ms, hash");
  ResetOnExit r{st};
  std::vector<TokenRow> out;
  while (st.step()) out.push_back(read_token(st));
  return out;
}

void SqliteServerStore::read_audit(uint64_t after_seq, size_t limit,
                                   const std::function<bool(const AuditRow&)>& fn) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT seq,at_ms,role,actor,action,target,detail,prev_hash,hash FROM audit "
      "WHERE seq>?1 ORDER BY seq LIMIT ?2");
  ResetOnExit r{st};
  st.bind(1, static_cast<int64_t>(after_seq)).bind(2, static_cast<int64_t>(limit));
  while (st.step()) {
    AuditRow a;
    a.seq = static_cast<uint64_t>(st.column_int(0));
    a.at_ms = st.column_int(1);
    a.role = st.column_text(2);
    a.actor = st.column_text(3);
    a.action = st.column_text(4);
    a.target = st.column_text(5);
    a.detail = st.column_text(6);
    a.prev_hash = st.column_text(7);
    a.hash = st.column_text(8);
    if (!fn(a)) break;
  }
}

}  // namespace lumbung::server

// Private to server/src/store: the SQLite server store's table layout and row helpers,
// shared by its files: sqlite_server_store.cpp (opening, epochs, tokens, audit),
// sqlite_pull_reads.cpp and sqlite_review_pages.cpp (reads) and sqlite_write_txn.cpp (the
// write transaction).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "lumbung/error.h"
#include "store/record_codec.h"
#include "store/record_counts.h"
#include "store/sealer.h"
#include "store/server_store.h"

namespace lumbung::server::sqlite_detail {

// Hashes (tokens, codes) are stored as lowercase hex of SHA-256; never the secret itself.
inline constexpr const char* kDdl = R"sql(
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
DROP INDEX IF EXISTS records_scope;
-- The region index: a new laptop's snapshot (sync/snapshot.cpp) reads its regions' records
-- by (scope, id) instead of the whole collection by id. It costs one more b-tree insert per
-- new record and per region move (its cost on push not measured yet); an older database
-- gets it at its next start (CREATE ... IF NOT EXISTS: one sort of the records).
CREATE INDEX IF NOT EXISTS records_region ON records(col, scope, id);
CREATE INDEX IF NOT EXISTS records_nkey ON records(col, nkey) WHERE nkey IS NOT NULL;
CREATE TABLE IF NOT EXISTS oplog(
  pos INTEGER PRIMARY KEY, dev TEXT NOT NULL, seq INTEGER NOT NULL, col TEXT NOT NULL,
  id TEXT NOT NULL, scope TEXT NOT NULL, hlc INTEGER NOT NULL, op TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS oplog_dev_seq ON oplog(dev, seq);
-- A record's history (ServerStore::record_log): its rows in pos order (the rowid) without
-- a scan of the log. Built at the first start of an older database.
CREATE INDEX IF NOT EXISTS oplog_record ON oplog(col, id);
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
CREATE INDEX IF NOT EXISTS refused_waiting ON refused(col, rid)
  WHERE status='open' AND code='waiting_for_record';
-- Progress counts (store/record_counts.h): live records per record scope and (dimension,
-- value), changed in the same transaction as the records they count.
CREATE TABLE IF NOT EXISTS counts(
  col TEXT NOT NULL, scope TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  n INTEGER NOT NULL, PRIMARY KEY(col, scope, dim, key)) WITHOUT ROWID;
-- Targets per region set by the office (docs/DASHBOARD.md "Targets").
CREATE TABLE IF NOT EXISTS targets(
  col TEXT NOT NULL, scope TEXT NOT NULL, n INTEGER NOT NULL, set_ms INTEGER NOT NULL,
  set_by TEXT NOT NULL, PRIMARY KEY(col, scope)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs(
  id TEXT PRIMARY KEY, start_pos INTEGER NOT NULL, started_ms INTEGER NOT NULL) WITHOUT ROWID;
-- Append-only: the server only ever INSERTs here; each row's hash (its link) covers the
-- previous row's link (audit/audit_log.h), and meta 'audit_head' repeats the newest
-- seq:link with the audit key's tag.
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, role TEXT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
-- Signed marks of the audit chain (audit/audit_log.h): sig = Ed25519 of the server key.
CREATE TABLE IF NOT EXISTS audit_checkpoints(
  count INTEGER PRIMARY KEY, head TEXT NOT NULL, at_ms INTEGER NOT NULL, key_id TEXT NOT NULL,
  sig TEXT NOT NULL);
)sql";

// Columns added after the first release, each with the ALTER that adds it to an older file.
struct AddedColumn {
  const char* table;
  const char* column;
  const char* alter;
};
inline constexpr AddedColumn kAddedColumns[] = {
    {"tokens", "expires_ms", "ALTER TABLE tokens ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0"},
    {"oplog", "not_scope", "ALTER TABLE oplog ADD COLUMN not_scope TEXT NOT NULL DEFAULT ''"},
    {"tokens", "scope", "ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT '[]'"},
    {"codes", "revoked_ms", "ALTER TABLE codes ADD COLUMN revoked_ms INTEGER NOT NULL DEFAULT 0"},
    {"devices", "next_token_hash", "ALTER TABLE devices ADD COLUMN next_token_hash TEXT"},
    {"codes", "device_id", "ALTER TABLE codes ADD COLUMN device_id TEXT NOT NULL DEFAULT ''"},
    // The record's personal fields, sealed (store/sealer.h); NULL in a store without keys.
    {"records", "sealed", "ALTER TABLE records ADD COLUMN sealed TEXT"},
};
// Indexes on added columns, made once the columns exist.
inline constexpr const char* kAddedIndexes =
    "CREATE UNIQUE INDEX IF NOT EXISTS devices_next_token ON devices(next_token_hash) "
    "WHERE next_token_hash IS NOT NULL";

inline constexpr const char* kTokenCols = "hash,role,label,created_ms,expires_ms,revoked_ms,scope";
inline constexpr size_t kTokenIdHexDigits = 16;

inline std::vector<std::string> scope_from_text(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

inline std::string scope_to_text(const std::vector<std::string>& scope) {
  return Json(scope).dump();
}

inline Json json_or_null(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

// Upper bound of the key range that starts with `prefix` (digit strings: '9'+1 = ':').
inline std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
  return end;
}

// Resets a cached statement on every exit path of a row loop.
struct ResetOnExit {
  sql::Statement& st;
  ~ResetOnExit() { st.reset(); }
};

inline DeviceRow read_device(sql::Statement& st) {
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
inline constexpr const char* kDeviceCols =
    "device_id,label,scope,acked_seq,registered_ms,last_seen_ms,last_sync_ms,revoked_ms,status";

// `s`: the store's Sealer, nullptr when it keeps everything in clear.
inline ConflictRow read_conflict(sql::Statement& st, const Sealer* s, std::string_view id) {
  // Column order: body, resolved, found_ms, resolution
  ConflictRow r;
  r.conflict = codec::decode_conflict(
      Json::parse(open_or_clear(s, "conflicts.body", id, st.column_view(0))));
  r.resolved = st.column_int(1) != 0;
  r.found_ms = st.column_int(2);
  r.resolution = json_or_null(open_or_clear(s, "conflicts.resolution", id, st.column_view(3)));
  return r;
}

inline DuplicateRow read_duplicate(sql::Statement& st, const Sealer* s) {
  // Column order: id, col, rid_a, rid_b, resolved, found_ms, resolution
  DuplicateRow d;
  d.id = st.column_text(0);
  d.collection = st.column_text(1);
  d.record_a = st.column_text(2);
  d.record_b = st.column_text(3);
  d.resolved = st.column_int(4) != 0;
  d.found_ms = st.column_int(5);
  d.resolution = json_or_null(open_or_clear(s, "duplicates.resolution", d.id, st.column_view(6)));
  return d;
}

inline constexpr const char* kRefusedCols =
    "id,dev,seq,col,rid,code,field,message,op,scope,found_ms,status,resolution";

inline RefusedRow read_refused(sql::Statement& st, const Sealer* s) {
  // Column order: kRefusedCols
  RefusedRow r;
  r.id = st.column_text(0);
  r.device = st.column_text(1);
  r.seq = static_cast<uint64_t>(st.column_int(2));
  r.collection = st.column_text(3);
  r.record_id = st.column_text(4);
  r.code = st.column_text(5);
  r.field = st.column_text(6);
  r.message = open_or_clear(s, "refused.message", r.id, st.column_view(7));
  r.op_text = open_or_clear(s, "refused.op", r.id, st.column_view(8));
  r.scope = st.column_text(9);
  r.found_ms = st.column_int(10);
  r.status = st.column_text(11);
  r.resolution = json_or_null(open_or_clear(s, "refused.resolution", r.id, st.column_view(12)));
  return r;
}

inline TokenRow read_token(sql::Statement& st) {
  // Column order: kTokenCols
  TokenRow t;
  t.id = st.column_text(0).substr(0, kTokenIdHexDigits);
  t.role = role_from(st.column_view(1)).value_or(Role::kReviewer);
  t.label = st.column_text(2);
  t.created_ms = st.column_int(3);
  t.expires_ms = st.column_int(4);
  t.revoked_ms = st.column_int(5);
  t.scope = scope_from_text(st.column_view(6));
  return t;
}

inline int status_filter(const std::string& status) {
  if (status == "open") return 0;
  if (status == "resolved" || status == "merged") return 1;
  if (status == "all") return -1;
  throw Error(ErrorCode::kInvalidArgument, "status must be open, resolved or all");
}

// The one write transaction of SqliteServerStore (sqlite_write_txn.cpp): holds `mu` for
// its life; positions of new oplog rows start at `epoch_start` at the least.
// `sealer`: personal data sealed at this boundary (store/sealer.h), nullptr = in clear.
std::unique_ptr<WriteTxn> make_write_txn(std::mutex& mu, sql::Database& db, uint64_t epoch_start,
                                         const Sealer* sealer);

// Progress counts (sqlite_counts.cpp): writes a transaction's count changes; counts every
// live record once if the database was made before the counts (meta counts_version),
// returning how many; reads the counts of `col` under a scope prefix.
void write_counts(sql::Database& db, CountDeltas& deltas);
uint64_t build_counts_if_missing(sql::Database& db);
void read_counts(sql::Database& db, const std::string& col, const std::string& scope_prefix,
                 const CountFn& fn);

// A record's newest `limit` oplog rows (below before_pos if > 0), and the office's targets
// (sqlite_history.cpp).
RecordLogPage read_record_log(sql::Database& db, const Sealer* s, const std::string& col,
                              const std::string& id, size_t limit, uint64_t before_pos);
std::vector<TargetRow> read_targets(sql::Database& db, const std::string& col,
                                    const std::string& scope_prefix);
void write_target(sql::Database& db, const std::string& col, const std::string& scope,
                  std::optional<int64_t> n, int64_t now_ms, const std::string& by);

// Seals, in one transaction, whatever `db` still holds in clear (a database from before
// sealing): records' personal fields and natural keys, oplog ops, conflict bodies,
// resolutions and refused ops (sqlite_seal.cpp). Marks the database sealed (meta
// 'sealed') and, in the same transaction, names the key file it needs (meta 'key_id', if
// not named yet); does nothing if it is sealed already. Returns the number of rows sealed.
uint64_t seal_database(sql::Database& db, const Sealer& s, const std::string& key_id);

// A record row as the merge reads it, its sealed fields joined back in: columns doc, ver,
// del_hlc, del_dev from `first`, and `sealed_col`.
inline RecordState decode_record(const Sealer* s, const std::string& col, const std::string& id,
                                 sql::Statement& st, int first, int sealed_col) {
  if (!s) {
    return codec::decode_state(st.column_view(first), st.column_view(first + 1),
                               st.column_int(first + 2), st.column_view(first + 3));
  }
  std::optional<std::string_view> sealed;
  if (!st.column_is_null(sealed_col)) sealed = st.column_view(sealed_col);
  return codec::decode_state(s->join_doc(col, id, st.column_view(first), sealed),
                             st.column_view(first + 1), st.column_int(first + 2),
                             st.column_view(first + 3));
}

}  // namespace lumbung::server::sqlite_detail

// Private to server/src/store: the PostgreSQL server store's tables and row helpers, shared
// by pg_server_store.cpp (opening, reads) and the write transaction (pg_write_txn.cpp,
// pg_txn_rows.cpp).
//
// The tables mirror the SQLite store's (sqlite_rows.h), values stored in the same forms
// (sealed text, blind NIK index: store/sealer.h), with these differences:
//   - text keys are COLLATE "C": byte order, as in SQLite, whatever the database's locale,
//     so pages and cursors order the same on both backends;
//   - oplog.xid: the writing transaction's id (pg_current_xact_id()); oplog.pos is derived
//     from it (pos_of below), which makes the pull order safe under concurrent writers;
//   - clocks: one row per server process for the hybrid clock (meta 'clock' on SQLite), so
//     that pushes on different servers do not queue on one meta row.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lumbung/error.h"
#include "store/pg_conn.h"
#include "store/record_codec.h"
#include "store/record_counts.h"
#include "store/sealer.h"
#include "store/server_store.h"

namespace lumbung::server::pg {

using sqlite_detail::open_or_clear;
using sqlite_detail::seal_or_clear;
using sqlite_detail::Sealer;

// Position of the n-th oplog row (n from 0) written by transaction `xid` in an epoch whose
// positions are offset by `offset` (docs/ARCHITECTURE.md "Pull order on PostgreSQL").
// Positions then sort by writing transaction first; a transaction appends < 2^20 rows.
inline constexpr int kPosShift = 20;
inline constexpr uint64_t kMaxRowsPerTxn = uint64_t{1} << kPosShift;
// xid8 values stay far below this for centuries (2^42 transactions); checked, not assumed.
inline constexpr uint64_t kMaxXid = uint64_t{1} << 42;
inline uint64_t pos_of(uint64_t offset, uint64_t xid, uint64_t n) {
  return offset + (xid << kPosShift) + n;
}

// Advisory lock keys (pg_advisory_xact_lock, one 64-bit space per database). Natural keys
// and meta keys hash into the same space with hashtextextended; a collision only makes two
// unrelated writers wait for each other.
inline constexpr int64_t kSchemaLock = 0x4c756d6275673031;  // "Lumbug01": schema and epochs
// Held shared by every write that applies ops, alone by a schema publication
// (WriteTxn::pin_schema_version).
inline constexpr int64_t kSchemaVersionLock = 0x4c756d6275673035;  // "Lumbug05"
inline constexpr int64_t kAuditLock = 0x4c756d6275673032;          // the audit chain's head
inline constexpr int64_t kTokensLock = 0x4c756d6275673033;         // first admin token at start

inline constexpr const char* kDdl = R"sql(
CREATE TABLE IF NOT EXISTS meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS clocks(instance text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  col text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, doc text NOT NULL,
  ver text NOT NULL, del_hlc bigint NOT NULL DEFAULT 0, del_dev text NOT NULL DEFAULT '',
  live boolean NOT NULL, scope text COLLATE "C" NOT NULL DEFAULT '', nkey text COLLATE "C",
  sealed text, PRIMARY KEY(col, id));
CREATE INDEX IF NOT EXISTS records_nkey ON records(col, nkey) WHERE nkey IS NOT NULL;
-- The region index: a snapshot (sync/snapshot.cpp) reads its regions' records by (scope,
-- id); an older database gets it at its first start.
CREATE INDEX IF NOT EXISTS records_region ON records(col, scope, id);
CREATE TABLE IF NOT EXISTS oplog(
  pos bigint PRIMARY KEY, xid xid8 NOT NULL, dev text COLLATE "C" NOT NULL, seq bigint NOT NULL,
  col text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
  scope text COLLATE "C" NOT NULL, hlc bigint NOT NULL, op text NOT NULL,
  not_scope text COLLATE "C" NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS oplog_dev_seq ON oplog(dev, seq);
-- Pulls read one scope range per region of the device (PgServerStore::read_log).
CREATE INDEX IF NOT EXISTS oplog_scope ON oplog(scope, pos);
-- A record's history (ServerStore::record_log): its rows in pos order without a scan.
-- Built at the first start of an older database (inside the schema transaction).
CREATE INDEX IF NOT EXISTS oplog_record ON oplog(col, id, pos);
CREATE TABLE IF NOT EXISTS devices(
  device_id text COLLATE "C" PRIMARY KEY, label text NOT NULL, scope text NOT NULL,
  token_hash text COLLATE "C" NOT NULL UNIQUE, acked_seq bigint NOT NULL DEFAULT 0,
  registered_ms bigint NOT NULL, last_seen_ms bigint NOT NULL DEFAULT 0,
  last_sync_ms bigint NOT NULL DEFAULT 0, revoked_ms bigint NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'null', next_token_hash text COLLATE "C");
CREATE UNIQUE INDEX IF NOT EXISTS devices_next_token ON devices(next_token_hash)
  WHERE next_token_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS tokens(
  hash text COLLATE "C" PRIMARY KEY, role text NOT NULL, label text NOT NULL,
  created_ms bigint NOT NULL, expires_ms bigint NOT NULL DEFAULT 0,
  revoked_ms bigint NOT NULL DEFAULT 0, scope text NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS codes(
  hash text COLLATE "C" PRIMARY KEY, scope text NOT NULL, label text NOT NULL,
  created_ms bigint NOT NULL, expires_ms bigint NOT NULL, used_ms bigint NOT NULL DEFAULT 0,
  used_by text NOT NULL DEFAULT '', revoked_ms bigint NOT NULL DEFAULT 0);
-- A code made for one device id (re-enrolment); added after the first release.
ALTER TABLE codes ADD COLUMN IF NOT EXISTS device_id text NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS conflicts(
  id text COLLATE "C" PRIMARY KEY, kind text NOT NULL, col text COLLATE "C" NOT NULL,
  rid text COLLATE "C" NOT NULL, field text NOT NULL, body text NOT NULL,
  resolved integer NOT NULL DEFAULT 0, found_ms bigint NOT NULL,
  resolution text NOT NULL DEFAULT 'null');
CREATE INDEX IF NOT EXISTS conflicts_open ON conflicts(resolved, found_ms);
CREATE TABLE IF NOT EXISTS duplicates(
  id text COLLATE "C" PRIMARY KEY, col text COLLATE "C" NOT NULL, rid_a text COLLATE "C" NOT NULL,
  rid_b text COLLATE "C" NOT NULL, resolved integer NOT NULL DEFAULT 0, found_ms bigint NOT NULL,
  resolution text NOT NULL DEFAULT 'null');
CREATE INDEX IF NOT EXISTS duplicates_open ON duplicates(resolved, found_ms);
CREATE TABLE IF NOT EXISTS refused(
  id text COLLATE "C" PRIMARY KEY, dev text COLLATE "C" NOT NULL, seq bigint NOT NULL,
  col text COLLATE "C" NOT NULL, rid text COLLATE "C" NOT NULL, code text NOT NULL,
  field text NOT NULL, message text NOT NULL, op text NOT NULL, scope text COLLATE "C" NOT NULL,
  found_ms bigint NOT NULL, status text NOT NULL DEFAULT 'open',
  resolution text NOT NULL DEFAULT 'null');
CREATE INDEX IF NOT EXISTS refused_order ON refused(found_ms, id);
CREATE INDEX IF NOT EXISTS refused_record ON refused(dev, col, rid, status);
CREATE INDEX IF NOT EXISTS refused_waiting ON refused(col, rid)
  WHERE status='open' AND code='waiting_for_record';
-- pos_offset: added to every position of the epoch (pos_of); cluster: the PostgreSQL
-- cluster and timeline it was made on (a restore from a backup shows as another one).
CREATE TABLE IF NOT EXISTS epochs(
  id text COLLATE "C" PRIMARY KEY, start_pos bigint NOT NULL, started_ms bigint NOT NULL,
  pos_offset bigint NOT NULL, cluster text NOT NULL);
-- Progress counts (store/record_counts.h): live records per record scope and (dimension,
-- value), changed at the commit of the transaction that writes the records they count.
CREATE TABLE IF NOT EXISTS counts(
  col text COLLATE "C" NOT NULL, scope text COLLATE "C" NOT NULL, dim text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL, n bigint NOT NULL, PRIMARY KEY(col, scope, dim, key));
-- Targets per region set by the office (docs/DASHBOARD.md "Targets").
CREATE TABLE IF NOT EXISTS targets(
  col text COLLATE "C" NOT NULL, scope text COLLATE "C" NOT NULL, n bigint NOT NULL,
  set_ms bigint NOT NULL, set_by text NOT NULL, PRIMARY KEY(col, scope));
CREATE TABLE IF NOT EXISTS audit(
  seq bigint PRIMARY KEY, at_ms bigint NOT NULL, role text NOT NULL, actor text NOT NULL,
  action text NOT NULL, target text NOT NULL, detail text NOT NULL, prev_hash text NOT NULL,
  hash text NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints(
  count bigint PRIMARY KEY, head text NOT NULL, at_ms bigint NOT NULL, key_id text NOT NULL,
  sig text NOT NULL);
)sql";

// Which copy of the data this database is (pg_server_store.cpp): "<system id>:<timeline>:
// <database oid>:<oplog oid>", recorded with each epoch; another value at a start means a
// restore. Also used by lumbung-admin migrate (migrate_sqlite_to_pg.cpp) for the epoch it
// records, so that the first server start joins it.
std::string cluster_identity(Conn& c);

inline constexpr size_t kTokenIdHexDigits = 16;
inline constexpr const char* kTokenCols = "hash,role,label,created_ms,expires_ms,revoked_ms,scope";
inline constexpr const char* kDeviceCols =
    "device_id,label,scope,acked_seq,registered_ms,last_seen_ms,last_sync_ms,revoked_ms,status";
inline constexpr const char* kRefusedCols =
    "id,dev,seq,col,rid,code,field,message,op,scope,found_ms,status,resolution";
inline constexpr const char* kRecordCols = "doc, ver, del_hlc, del_dev, sealed";

// A text[] literal of `items` for a $n parameter ({"a","b\"c"}): every element quoted,
// '"' and backslash escaped, so any text (commas, braces, NULL) stays one element.
std::string text_array(const std::vector<std::string>& items);
// The same with NULL for each nullopt element.
std::string text_array(const std::vector<std::optional<std::string>>& items);

std::vector<std::string> scope_from_text(std::string_view text);
std::string scope_to_text(const std::vector<std::string>& scope);
Json json_or_null(std::string_view text);

DeviceRow read_device(const Result& r, int row);
ConflictRow read_conflict(const Result& r, int row, const Sealer* s, std::string_view id);
DuplicateRow read_duplicate(const Result& r, int row, const Sealer* s);
RefusedRow read_refused(const Result& r, int row, const Sealer* s);
TokenRow read_token(const Result& r, int row);
// kRecordCols from column `first`, sealed fields joined back in.
RecordState read_record(const Result& r, int row, int first, const Sealer* s,
                        const std::string& col, const std::string& id);

// The review queues, a page at a time (pg_review_pages.cpp).
ReviewPage<RefusedRow> list_refused(Pool& pool, const Sealer* sealer, const ReviewQuery& q);
ReviewPage<ConflictRow> list_conflicts(Pool& pool, const Sealer* sealer, const ReviewQuery& q);
ReviewPage<DuplicateRow> list_duplicates(Pool& pool, const Sealer* sealer, const ReviewQuery& q);

// Progress counts (pg_counts.cpp): writes a transaction's count changes (one statement,
// rows in the sorted order CountDeltas gives: concurrent writers lock them in one order);
// counts every live record once inside open's schema transaction if the database was made
// before the counts (meta counts_version), returning how many; reads them.
void write_counts(Conn& c, CountDeltas& deltas);
uint64_t build_counts_if_missing(Conn& c);

// One write transaction's progress counts (pg_counts.cpp): how each record it touched
// counted before (read under the row lock the write takes anyway) and the changes, written
// by flush() at commit.
class TxnCounts {
 public:
  // load_record read (col, id) under its row lock: live in `scope` with stored doc `doc`,
  // or not live.
  void seen(const std::string& col, const std::string& id, bool live, std::string scope,
            std::string doc);
  // (col, id) is written: live in `scope` with stored doc `doc` if `live`, otherwise gone
  // from the counts. Its state before: as seen, or read now (FOR UPDATE when `lock`).
  void written(Conn& c, const std::string& col, const std::string& id, bool lock, bool live,
               const std::string& scope, const std::string& doc);
  // A new record (col, id) (it did not exist): live in `scope` with stored doc `doc`.
  void created(const std::string& col, const std::string& id, const std::string& scope,
               const std::string& doc);
  void flush(Conn& c) { write_counts(c, deltas_); }

 private:
  struct Counted {
    std::string scope, doc;
  };
  CountDeltas deltas_;
  std::map<std::pair<std::string, std::string>, std::optional<Counted>> counted_;
};
void read_counts(Pool& pool, const std::string& col, const std::string& scope_prefix,
                 const CountFn& fn);

// The write transaction (pg_write_txn.cpp): holds `lease`'s connection for its life.
// `offset`: the current epoch's pos_offset; `instance`: this process's clocks row.
std::unique_ptr<WriteTxn> make_write_txn(std::unique_ptr<Pool::Lease> lease, uint64_t offset,
                                         const Sealer* sealer, const std::string& instance);

}  // namespace lumbung::server::pg

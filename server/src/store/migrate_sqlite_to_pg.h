// Moves an office's server database from SQLite (lumbung-server --data DIR) to PostgreSQL
// (--db URL) with everything laptops depend on, so that they keep syncing without a reset
// (`lumbung-admin migrate`, docs/ARCHITECTURE.md "Moving an office from SQLite to
// PostgreSQL").
//
// What carries over: every table of the SQLite schema (store/sqlite_rows.h) into its
// PostgreSQL twin (store/pg_rows.h), values as stored, so sealed personal data opens under
// the same key file (the associated data names table, column and row id or oplog pos, all
// kept): meta (but 'clock', which becomes a row of `clocks`), records, oplog with its `pos`
// values (`xid` = the migration's transaction), devices with acked seqs and token hashes,
// tokens, codes, conflicts, duplicates, refused, counts, targets, epochs (pos_offset 0,
// cluster "sqlite"), audit and audit_checkpoints. Then one new epoch, as a PostgreSQL
// server's first start would make, above every migrated position and epoch start and
// recorded with this cluster's identity: a server started on the database joins it (no
// restore seen), and a laptop's cursor of a SQLite epoch continues where it was, since the
// epochs it names are known and end where they ended.
//
// Safety: the SQLite file is held under an exclusive lock for the whole run (a running
// server holds a shared lock on it, so it is refused; a server starting meanwhile fails to
// open it). Everything is written in ONE PostgreSQL transaction, which also holds the
// schema lock (pg_rows.h kSchemaLock) that a starting server takes: all or nothing. Before
// COMMIT each table's row count, the oplog's min/max pos and per-device row count and max
// seq, and every device's acked seq are compared with the SQLite file; any difference
// rolls everything back. Rows are streamed (COPY FROM STDIN in ~256 KiB pieces): memory
// does not grow with the data. The SQLite file is only read, until the PostgreSQL commit:
// then it gets meta 'moved_to', and lumbung-server refuses to start on it again (unless
// told --serve-moved-data), so laptops never sync with two diverging servers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lumbung::server {

class AuditLog;
class ServerStore;

struct MigrationResult {
  enum class Outcome {
    kDone,
    kSourceInUse,     // the SQLite database is open in another process (its server runs)
    kSourceMismatch,  // its tables or columns are not the ones this version knows
    kTargetNotEmpty,  // the PostgreSQL database already holds Lumbung rows
  };
  Outcome outcome = Outcome::kDone;
  std::string detail;  // what was found, for a refusal: a table, a column, a row count

  struct Table {
    std::string name;
    uint64_t rows = 0;  // copied and verified
  };
  std::vector<Table> tables;  // in copy order
  uint64_t max_pos = 0;       // the oplog's highest position (0 if empty)
  uint64_t devices_checked = 0;
  std::string key_id;     // meta 'key_id': the key file the PostgreSQL servers need
  std::string new_epoch;  // the epoch recorded for PostgreSQL
  uint64_t new_epoch_start = 0;
  // The SQLite file carries meta 'moved_to' (a server started on it refuses:
  // sqlite_server_store.h).
  bool source_marked = false;
  // Attachment files copied into the database's attachment tables (complete and partial
  // uploads), and their plaintext bytes.
  uint64_t attachments = 0;
  uint64_t attachment_bytes = 0;
  double seconds = 0;
};

// Copies `data_dir`/lumbung-server.db into the PostgreSQL database at `url` (libpq URI).
// Refusals change nothing and come back as an Outcome; `progress` (may be empty) is told
// each table once it is copied. Throws Error(kInvalidArgument) if there is no
// lumbung-server.db in `data_dir`, Error(kStorage) if PostgreSQL or SQLite fails, and
// Error(kCorrupt) if the verification finds a difference; in every case PostgreSQL is
// left as it was (the transaction rolls back).
// The attachment files of `attachments_dir` ("" = `data_dir`/attachments, skipped if it is
// not there) go into the tables every PostgreSQL server shares (store/pg_attachment_bytes.h),
// in the same transaction, as stored: a sealed chunk is sealed with the same key and
// associated data there, so nothing is opened on the way; each file's chunk bytes are
// checked against its entry before COMMIT.
MigrationResult migrate_sqlite_to_pg(
    const std::string& data_dir, const std::string& url,
    const std::function<void(const MigrationResult::Table&)>& progress = {},
    const std::string& attachments_dir = {});

// At a server's start, after audit.adopt_keys(): the move, noted in the database by
// migrate_sqlite_to_pg (meta 'migrated_from_sqlite': counts, positions, the new epoch),
// becomes one "migrated_from_sqlite" entry of the audit chain, written once however many
// servers start together. No-op for a database that was not migrated.
void audit_migration_once(ServerStore& store, AuditLog& audit);

}  // namespace lumbung::server

// The yardstick the engine's rates are judged against (issues 2 and 14): the same JSON text
// inserted into a plain SQLite table - no parsing, validation, versions or change log - with
// one prepared statement.
//
// Two set-ups, both reported by local_write ("the ratio both ways"):
//  * kLikeEngine, the target's yardstick: the store's own connection settings
//    (engine/src/common/sqlite.cpp and store.cpp: 16 KiB pages, WAL, synchronous=NORMAL,
//    its cache size and WAL auto-checkpoint) and a commit every `commit_every` rows as the
//    engine's run commits its batches;
//  * kSqliteDefaults, the yardstick used before 2026-12-06: WAL and synchronous=NORMAL but
//    SQLite's default page size and checkpoint, every row in one transaction - faster for
//    SQLite than what the engine is allowed, so the ratio to it reads worse.
#pragma once

#include <cstddef>
#include <string>

namespace lumbung::bench {

class Workload;

enum class BaselineSetup { kLikeEngine, kSqliteDefaults };

struct BaselineResult {
  size_t rows = 0;     // rows in the table afterwards (checked == workload size)
  double seconds = 0;  // the first BEGIN .. the last COMMIT; opening the file is not timed
  unsigned long long db_bytes = 0;
  double json_seconds = 0;  // run_engine_rows_floor: of `seconds`, the parse and the dump
};

// Creates `path` afresh (removing an old file and its -wal/-shm) and fills it. With
// kLikeEngine, `commit_every` rows a transaction (0: one for all); kSqliteDefaults ignores it.
// Throws std::runtime_error on any SQLite error.
BaselineResult run_sqlite_baseline(const Workload& workload, const std::string& path,
                                   BaselineSetup setup = BaselineSetup::kLikeEngine,
                                   size_t commit_every = 0);

// The bytes of the SQLite file at `path` with its -wal and -shm.
unsigned long long sqlite_files_bytes(const std::string& path);

// The floor under the engine's local write, to tell what the engine adds from what its data
// model costs (issue 14's local_write target): each line parsed with nlohmann::json (as the
// engine's caller must), its "id" taken out, the rest dumped once, and written as the store
// writes a create - a `records` row under the store's three indexes and a `changes` row
// holding the op text with the values again - with the store's settings and a commit every
// `commit_every` rows (0: one for all). No validation, normalisation, clock, or checks.
// `rows` is the record count, 0 if the log's differs.
BaselineResult run_engine_rows_floor(const Workload& workload, const std::string& path,
                                     const std::string& collection, size_t commit_every);

}  // namespace lumbung::bench

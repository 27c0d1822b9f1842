// The yardstick the engine's local write rate is judged against (issue 2): the same JSON
// text inserted into a plain SQLite table — no parsing, validation, versions or change log —
// in one transaction with one prepared statement, under the pragmas the store uses.
#pragma once

#include <string>

namespace lumbung::bench {

class Workload;

struct BaselineResult {
  size_t rows = 0;     // rows in the table afterwards (checked == workload size)
  double seconds = 0;  // BEGIN .. COMMIT, inserts included; opening the file is not timed
  unsigned long long db_bytes = 0;
};

// Creates `path` afresh (removing an old file and its -wal/-shm) and fills it.
// Throws std::runtime_error on any SQLite error.
BaselineResult run_sqlite_baseline(const Workload& workload, const std::string& path);

}  // namespace lumbung::bench

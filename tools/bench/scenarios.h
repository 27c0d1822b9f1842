// The scenarios lumbung-bench knows, one file each (scenario_<name>.cpp). main.cpp holds
// the table that maps a --scenario name to its function; add a line there for a new one.
#pragma once

#include "bench.h"

namespace lumbung::bench {

// One device writes every workload record through the public Store API (validated, each
// write logged as a change), committing every Options::commit_every records; compared in
// the same run with plain SQLite inserts of the same JSON text (sqlite_baseline.h).
Result run_local_write(const Options& options, const Workload& workload);

}  // namespace lumbung::bench

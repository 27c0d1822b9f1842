// CPU figures for the result line: user+system CPU time of server processes, read from
// /proc/<pid>/stat before and after a timed part, so a scenario can report the server's CPU
// per op (what sizing needs; wall time on a shared 2-core machine is not).
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

namespace lumbung::bench {

// utime+stime of a live process, all its threads, in seconds; nullopt if it cannot be read.
std::optional<double> process_cpu_seconds(pid_t pid);

// CPU of a PostgreSQL cluster: the postmaster's own utime+stime plus cutime+cstime (the
// backends and workers it has already reaped), plus utime+stime+cutime+cstime of each of its
// live children (backends, checkpointer, WAL writer, autovacuum). Read the postmaster first,
// then its children, so a child that exits in between is lost (a few ticks), never counted
// twice. nullopt if the postmaster cannot be read.
std::optional<double> cluster_cpu_seconds(pid_t postmaster);

// The 1-minute load average (/proc/loadavg); -1 if unavailable.
double load_average_1m();

}  // namespace lumbung::bench

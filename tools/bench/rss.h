// Memory figures for the result line: peak resident set size of this process (and, for
// the sync scenarios, of a server process by pid).
#pragma once

#include <sys/types.h>
#include <optional>

namespace lumbung::bench {

// Peak RSS of this process so far, in MiB (getrusage ru_maxrss).
double peak_rss_mb();
// Current RSS of this process, in MiB (/proc/self/statm); 0 if unavailable.
double current_rss_mb();
// Peak RSS of another live process (VmHWM in /proc/<pid>/status), in MiB; nullopt if it
// cannot be read (process gone, not Linux).
std::optional<double> process_peak_rss_mb(pid_t pid);

}  // namespace lumbung::bench

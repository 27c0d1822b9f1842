#include "rss.h"

#include <fstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace lumbung::bench {

double peak_rss_mb() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double current_rss_mb() {
  std::ifstream in("/proc/self/statm");
  long total = 0, resident = 0;
  if (!(in >> total >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

std::optional<double> process_peak_rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:   12345 kB"
    }
  }
  return std::nullopt;
}

}  // namespace lumbung::bench

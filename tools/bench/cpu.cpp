#include "cpu.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lumbung::bench {
namespace {

struct Stat {
  pid_t ppid = 0;
  unsigned long long utime = 0, stime = 0;  // clock ticks
  long long cutime = 0, cstime = 0;
};

// /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and ')', so fields are
// counted after the LAST ')'. utime, stime, cutime, cstime are fields 14-17 (proc(5)).
std::optional<Stat> read_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  std::string state;
  Stat s;
  rest >> state >> s.ppid;
  std::string skip;
  for (int field = 5; field <= 13; ++field) rest >> skip;
  rest >> s.utime >> s.stime >> s.cutime >> s.cstime;
  if (!rest) return std::nullopt;
  return s;
}

double ticks_to_seconds(long long ticks) {
  static const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
}

}  // namespace

std::optional<double> process_cpu_seconds(pid_t pid) {
  const auto s = read_stat(pid);
  if (!s) return std::nullopt;
  return ticks_to_seconds(static_cast<long long>(s->utime + s->stime));
}

std::optional<double> cluster_cpu_seconds(pid_t postmaster) {
  const auto pm = read_stat(postmaster);
  if (!pm) return std::nullopt;
  long long ticks = static_cast<long long>(pm->utime + pm->stime) + pm->cutime + pm->cstime;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto s = read_stat(static_cast<pid_t>(std::stol(name)));
    if (!s || s->ppid != postmaster) continue;
    ticks += static_cast<long long>(s->utime + s->stime) + s->cutime + s->cstime;
  }
  return ticks_to_seconds(ticks);
}

double load_average_1m() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  if (!(in >> one)) return -1;
  return one;
}

}  // namespace lumbung::bench

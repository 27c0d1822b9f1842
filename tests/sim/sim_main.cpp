// lumbung-sim: runs the deterministic fault simulation (tests/sim/sim.h).
//
//   lumbung-sim --seed N [--verbose]        one seed (all three fault modes), as CI runs it
//   lumbung-sim --seeds FIRST COUNT         seeds FIRST .. FIRST+COUNT-1 (what ctest runs)
//   lumbung-sim --soak COUNT [--start N]    as --seeds, with progress and seeds/s
//   --restores (with any of them)           also back the server up and restore it
//                                           (not in CI: see docs/RELIABILITY.md)
//   --publications (with any; not --restores, on --postgres only with --servers 1)
//                                           the office publishes schema versions 2 and 3
//                                           meanwhile; laptops learn them at sync
//   --postgres [--servers N] (with any)     the server on PostgreSQL: N server cores
//                                           (default 3) on one database per run, in a
//                                           throwaway cluster or $LUMBUNG_SIM_PG
//   --no-push-stream (with any)             every laptop pushes in batches (dev-1 and dev-2
//                                           stream their pushes otherwise)
//
// Exit status 0 when every invariant held, 1 otherwise; every failure names its seed and
// the command that re-runs it alone.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/sim.h"

namespace {

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: lumbung-sim --seed N [--verbose]\n"
               "       lumbung-sim --seeds FIRST COUNT\n"
               "       lumbung-sim --soak COUNT [--start FIRST]\n"
               "       (any of them with --restores: also restore the server from a backup)\n"
               "       (any of them with --publications: schema versions 2 and 3 published)\n"
               "       (any of them with --postgres [--servers N]: N servers on PostgreSQL)\n"
               "       (any of them with --no-push-stream: every laptop pushes in batches)\n");
  std::exit(2);
}

uint64_t number(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (!s[0] || *end) usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t first = 1, count = 0;
  bool verbose = false, soak = false, restores = false, postgres = false, publications = false;
  bool push_stream = true;
  int servers = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) {
      first = number(argv[++i]);
      count = 1;
    } else if (a == "--seeds" && i + 2 < argc) {
      first = number(argv[++i]);
      count = number(argv[++i]);
    } else if (a == "--soak" && i + 1 < argc) {
      count = number(argv[++i]);
      soak = true;
    } else if (a == "--start" && i + 1 < argc) {
      first = number(argv[++i]);
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--restores") {
      restores = true;
    } else if (a == "--publications") {
      publications = true;
    } else if (a == "--no-push-stream") {
      push_stream = false;
    } else if (a == "--postgres") {
      postgres = true;
    } else if (a == "--servers" && i + 1 < argc) {
      servers = static_cast<int>(number(argv[++i]));
      if (servers < 1 || servers > 16) usage();
    } else {
      usage();
    }
  }
  if (count == 0) usage();
  if (servers > 0 && !postgres) usage();  // one SQLite file has one server process
  // Not simulated yet (sim.h): restores, several server cores (each would catch up with a
  // publication within a second of real time: not reproducible).
  if (publications && (restores || (postgres && servers != 1))) usage();
  lumbung::sim::SimOptions base;
  base.verbose = verbose;
  base.restores = restores;
  base.publications = publications;
  base.push_stream = push_stream;
  base.postgres = postgres;
  base.servers = postgres ? (servers > 0 ? servers : 3) : 1;

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  lumbung::sim::SimStats totals;
  uint64_t failed = 0, done = 0;
  double last_report = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const auto failures = lumbung::sim::check_seed(seed, totals, base);
    ++done;
    if (!failures.empty()) {
      ++failed;
      for (const auto& f : failures) std::fprintf(stderr, "FAIL %s\n", f.c_str());
      const std::string servers_arg =
          postgres ? " --postgres --servers " + std::to_string(base.servers) : "";
      std::fprintf(stderr, "re-run alone: %s --seed %llu --verbose%s%s%s%s\n", argv[0],
                   static_cast<unsigned long long>(seed), restores ? " --restores" : "",
                   publications ? " --publications" : "", servers_arg.c_str(),
                   push_stream ? "" : " --no-push-stream");
    }
    if (soak && elapsed() - last_report >= 30) {
      last_report = elapsed();
      std::printf("soak: %llu seeds, %llu failed, %.1f seeds/s\n",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(failed),
                  done / last_report);
      std::fflush(stdout);
    }
  }
  const double secs = elapsed();
  if (publications) {
    std::printf(
        "schema versions 2 and 3 published in every run; %llu device moves, %llu ops "
        "refused by a newer rule\n",
        static_cast<unsigned long long>(totals.schema_moves),
        static_cast<unsigned long long>(totals.newer_rule_refusals));
  }
  if (postgres) {
    std::printf(
        "PostgreSQL, %d server instances on one database per run; %llu push "
        "transactions held open\n",
        base.servers, static_cast<unsigned long long>(totals.held_pushes));
  }
  std::printf(
      "seeds %llu..%llu: %llu run, %llu failed in %.1f s (%.2f seeds/s)\n"
      "  %llu simulation runs, %llu writes, %llu reviews, %llu syncs (%llu gave up), %llu "
      "requests (%llu streamed pulls, %llu streamed pushes, %llu of them cut),\n"
      "  %llu faults, %llu server restarts, %llu restores from a backup, %llu device crashes; %llu "
      "conflict and %llu duplicate "
      "entries\n",
      static_cast<unsigned long long>(first), static_cast<unsigned long long>(first + count - 1),
      static_cast<unsigned long long>(done), static_cast<unsigned long long>(failed), secs,
      done / secs, static_cast<unsigned long long>(totals.runs),
      static_cast<unsigned long long>(totals.writes),
      static_cast<unsigned long long>(totals.reviews),
      static_cast<unsigned long long>(totals.syncs),
      static_cast<unsigned long long>(totals.syncs_failed),
      static_cast<unsigned long long>(totals.requests),
      static_cast<unsigned long long>(totals.streamed_pulls),
      static_cast<unsigned long long>(totals.streamed_pushes),
      static_cast<unsigned long long>(totals.cut_pushes),
      static_cast<unsigned long long>(totals.faults),
      static_cast<unsigned long long>(totals.server_restarts),
      static_cast<unsigned long long>(totals.server_restores),
      static_cast<unsigned long long>(totals.device_crashes),
      static_cast<unsigned long long>(totals.conflicts),
      static_cast<unsigned long long>(totals.duplicates));
  return failed == 0 ? 0 : 1;
}

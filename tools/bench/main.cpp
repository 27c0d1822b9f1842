// lumbung-bench: runs one benchmark scenario of ../shared/workload/README.md and prints its
// result as exactly one JSON line on stdout (human progress goes to stderr).
//
//   lumbung-bench --scenario local_write --data ../shared/workload/enrolments-100k.ndjson.gz
//
// Exit status: 0 verified, 1 the end state did not verify or the run failed, 2 bad usage.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench.h"
#include "lumbung/error.h"
#include "proc.h"
#include "rss.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {

// --servers: enough for the 1, 2, 4 of issue 13 and a few more; each is a process and a
// handful of PostgreSQL connections.
constexpr size_t kMaxServers = 16;

struct Scenario {
  const char* name;
  Result (*run)(const Options&, const Workload&);
};

// Every scenario this build knows (the table of ../shared/workload/README.md).
const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kAll = {
      {"local_write", run_local_write},
      {"push", run_push},
      {"pull", run_pull},
      {"concurrent_edit", run_concurrent_edit},
      {"resume", run_resume},
      {"many_devices", run_many_devices},
      {"slow_link", run_slow_link},
      {"attachments", run_attachments},
      {"migrate", run_migrate},
#ifdef LUMBUNG_BENCH_PROGRESS
      {"progress", run_progress},
      {"desa_pull", run_desa_pull},
      {"kabupaten_bootstrap", run_kabupaten_bootstrap},
#endif
  };
  return kAll;
}

std::string known_scenarios() {
  std::string out;
  for (const auto& s : scenarios()) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: lumbung-bench --scenario NAME [--data FILE.ndjson.gz] [--records N]\n"
      "                     [--schema PATH] [--workdir DIR] [--commit-every N]\n"
      "                     [--server-bin PATH] [--devices K] [--passphrase P]\n"
      "                     [--backend sqlite|postgres] [--server-records N]\n"
      "                     [--first-pull snapshot|replay] [--servers K]\n"
      "                     [--desa-records M] [--push-stream on|off]\n"
      "  --scenario      one of: %s\n"
      "  --data          workload (default %s/../shared/workload/enrolments-100k.ndjson.gz)\n"
      "  --records       use the first N records (default: all; attachments: N photos,\n"
      "                  default 5)\n"
      "  --schema        schema document (default %s/schema/enrolment.schema.json)\n"
      "  --workdir       directory for the databases (default: a fresh temporary\n"
      "                  directory, removed afterwards)\n"
      "  --commit-every  local writes per batch commit (default 10000; 0 = one batch)\n"
      "  --server-bin    lumbung-server binary for the sync scenarios (default %s)\n"
      "  --devices       many_devices: concurrent devices (default 50)\n"
      "  --servers       push, pull, many_devices with --backend postgres: K server\n"
      "                  processes on one database (default 1; at most %zu); many_devices\n"
      "                  gives device i to server i %% K, push and pull send one device's\n"
      "                  requests to the K servers in turn\n"
      "  --passphrase    local_write: encrypt personal data at rest (default: none)\n"
      "  --first-pull    pull, slow_link: a fresh device's first pull: snapshot of its\n"
      "                  regions' records (default, as the engine does) or replay of the log\n"
      "  --push-stream   slow_link: push as one streamed request (on, default) or in\n"
      "                  batches (off), to compare the two in one session\n"
      "  --server-records  progress, desa_pull: records in the server's database (default\n"
      "                  1000000; the workload's lines again with new ids);\n"
      "                  kabupaten_bootstrap: default 200000 (copy 1 re-keyed into the\n"
      "                  busiest kabupaten)\n"
      "  desa_pull and kabupaten_bootstrap: a new laptop's first pull of the busiest desa\n"
      "                  (snapshot and replay, the big server against one of the workload\n"
      "                  alone) or snapshot of the busiest kabupaten (both backends in one\n"
      "                  run unless --backend names one)\n"
      "  --desa-records  desa_pull: workload records re-keyed into a second desa, pulled\n"
      "                  beside the busiest (default 200; 0 = none)\n"
      "  --backend       the sync scenarios' server store: sqlite (default, a --data\n"
      "                  directory) or postgres (a fresh database of a PostgreSQL cluster\n"
      "                  the bench starts itself: initdb, Unix socket, fsync off)\n"
      "Prints one JSON result line on stdout; progress on stderr.\n"
      "Exit: 0 verified, 1 not verified or failed, 2 bad usage.\n",
      known_scenarios().c_str(), LUMBUNG_SOURCE_DIR, LUMBUNG_SOURCE_DIR, LUMBUNG_SERVER_BIN,
      kMaxServers);
}

[[noreturn]] void bad_usage(const std::string& msg) {
  std::fprintf(stderr, "lumbung-bench: %s\n", msg.c_str());
  usage(stderr);
  std::exit(2);
}

size_t parse_count(const std::string& flag, const std::string& v) {
  size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty() || v[0] == '-')
    bad_usage(flag + " needs a count, got \"" + v + "\"");
  return static_cast<size_t>(n);
}

// Figures are printed with the precision they deserve: rates as whole numbers, times and
// sizes in MiB to the millisecond / tenth.
double rounded(double x, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(x * f) / f;
}

nlohmann::ordered_json result_line(const std::string& scenario, const Result& r) {
  nlohmann::ordered_json j;
  j["scenario"] = scenario;
  j["records"] = r.records;
  j["seconds"] = rounded(r.seconds, 3);
  j["records_per_s"] = static_cast<int64_t>(std::llround(r.records / r.seconds));
  for (const auto& [k, v] : r.extra.items()) {
    if (v.is_number_float()) {
      const double x = v.get<double>();
      if (std::abs(x) >= 1000) {
        j[k] = static_cast<int64_t>(std::llround(x));
      } else {
        j[k] = rounded(x, 3);
      }
    } else {
      j[k] = v;
    }
  }
  j["bytes_up"] = r.bytes_up;
  j["bytes_down"] = r.bytes_down;
  j["requests"] = r.requests;
  if (r.device_peak_rss_mb) {
    // The device part ran in a worker process of its own: its peak is the device's figure;
    // this process (workload text, verification) is reported beside it.
    j["peak_rss_mb"] = rounded(*r.device_peak_rss_mb, 1);
    j["bench_peak_rss_mb"] = rounded(peak_rss_mb(), 1);
  } else {
    j["peak_rss_mb"] = rounded(peak_rss_mb(), 1);
  }
  j["server_peak_rss_mb"] = r.server_peak_rss_mb
                                ? nlohmann::ordered_json(rounded(*r.server_peak_rss_mb, 1))
                                : nlohmann::ordered_json(nullptr);
  j["db_bytes"] = r.db_bytes;
  j["verified"] = r.verified;
  j["digest"] = r.digest;
  return j;
}

int run(int argc, char** argv) {
  Options opt;
  opt.data = std::string(LUMBUNG_SOURCE_DIR) + "/../shared/workload/enrolments-100k.ndjson.gz";
  opt.schema_path = std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json";
  opt.server_bin = LUMBUNG_SERVER_BIN;
  // Internal: the device worker of the sync scenarios (sync_support.h), started by the bench.
  if (argc == 3 && std::string(argv[1]) == "--worker") return worker_main(argv[2]);
  std::string backend;  // as given with --backend ("" = not given: sqlite)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) bad_usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--scenario") {
      opt.scenario = v;
    } else if (a == "--data") {
      opt.data = v;
    } else if (a == "--records") {
      opt.records = parse_count(a, v);
      if (opt.records == 0) bad_usage("--records must be at least 1");
    } else if (a == "--schema") {
      opt.schema_path = v;
    } else if (a == "--passphrase") {
      opt.passphrase = v;
    } else if (a == "--workdir") {
      opt.workdir = v;
    } else if (a == "--commit-every") {
      opt.commit_every = parse_count(a, v);
    } else if (a == "--server-bin") {
      opt.server_bin = v;
    } else if (a == "--backend") {
      if (v != "sqlite" && v != "postgres") bad_usage("--backend is sqlite or postgres");
      set_server_backend(v == "postgres" ? ServerBackend::kPostgres : ServerBackend::kSqlite);
      backend = v;
      opt.backend = v;
    } else if (a == "--server-records") {
      opt.server_records = parse_count(a, v);
      if (opt.server_records == 0) bad_usage("--server-records must be at least 1");
    } else if (a == "--desa-records") {
      opt.desa_records = parse_count(a, v);
    } else if (a == "--first-pull") {
      if (v != "snapshot" && v != "replay") bad_usage("--first-pull is snapshot or replay");
      opt.first_pull_snapshot = v == "snapshot";
    } else if (a == "--push-stream") {
      if (v != "on" && v != "off") bad_usage("--push-stream is on or off");
      opt.push_stream = v == "on";
    } else if (a == "--servers") {
      opt.servers = parse_count(a, v);
      if (opt.servers == 0 || opt.servers > kMaxServers)
        bad_usage("--servers must be 1 to " + std::to_string(kMaxServers));
    } else if (a == "--devices") {
      opt.devices = parse_count(a, v);
      if (opt.devices == 0) bad_usage("--devices must be at least 1");
    } else {
      bad_usage("unknown option " + a);
    }
  }
  if (opt.scenario.empty()) bad_usage("--scenario is required (one of: " + known_scenarios() + ")");
  if (opt.servers > 1) {
    // SQLite is one file written by one process: several servers cannot share it.
    if (backend != "postgres")
      bad_usage("--servers " + std::to_string(opt.servers) +
                " needs --backend postgres (a SQLite server is one process on one file)");
    if (opt.scenario != "push" && opt.scenario != "pull" && opt.scenario != "many_devices")
      bad_usage("--servers above 1 applies to push, pull and many_devices, not " + opt.scenario);
  }
  const Scenario* chosen = nullptr;
  for (const auto& s : scenarios()) {
    if (opt.scenario == s.name) chosen = &s;
  }
  if (!chosen) {
    std::fprintf(stderr, "lumbung-bench: unknown scenario \"%s\"; known scenarios: %s\n",
                 opt.scenario.c_str(), known_scenarios().c_str());
    return 2;
  }

  std::fprintf(stderr, "lumbung-bench: loading %s...\n", opt.data.c_str());
  const double t_load = now_seconds();
  const Workload workload = Workload::load(opt.data, opt.records);
  std::fprintf(stderr, "lumbung-bench: %zu records, %.1f MB, loaded in %.2f s (RSS %.1f MB)\n",
               workload.size(), workload.bytes() / 1e6, now_seconds() - t_load, current_rss_mb());
  if (workload.size() == 0) {
    std::fprintf(stderr, "lumbung-bench: the workload is empty\n");
    return 1;
  }

  namespace fs = std::filesystem;
  bool remove_workdir = false;
  if (opt.workdir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "lumbung-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("lumbung-bench: mkdtemp");
      return 1;
    }
    opt.workdir = tmpl;
    remove_workdir = true;
  } else {
    fs::create_directories(opt.workdir);
  }

  Result r;
  try {
    r = chosen->run(opt, workload);
  } catch (...) {
    if (remove_workdir) fs::remove_all(opt.workdir);
    throw;
  }
  if (remove_workdir) fs::remove_all(opt.workdir);
  if (!backend.empty()) r.extra["backend"] = backend;
  std::cout << result_line(opt.scenario, r).dump() << std::endl;
  if (!r.verified) std::fprintf(stderr, "lumbung-bench: verification FAILED\n");
  return r.verified ? 0 : 1;
}

}  // namespace
}  // namespace lumbung::bench

int main(int argc, char** argv) {
  try {
    return lumbung::bench::run(argc, argv);
  } catch (const lumbung::Error& e) {
    std::fprintf(stderr, "lumbung-bench: %s: %s%s%s\n", lumbung::error_code_name(e.code()),
                 e.what(), e.field().empty() ? "" : " (field ",
                 e.field().empty() ? "" : (e.field() + ")").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lumbung-bench: %s\n", e.what());
  }
  return 1;
}

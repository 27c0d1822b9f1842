// Shared vocabulary of lumbung-bench: the command-line options every scenario receives and
// the result each one returns, which main.cpp prints as one JSON line.
//
// A scenario is a function `Result run_<name>(const Options&, const Workload&)` in its own
// file (scenario_<name>.cpp), registered in the table in main.cpp. It does its own timing
// (only the work it measures: the workload is already in memory), verifies the end state,
// and reports human progress on stderr only — stdout carries the one result line.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace lumbung::bench {

class Workload;

// Seconds from `t` to now, and a figure rounded to 3 decimals for the result line.
inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
inline double round3(double v) {
  return static_cast<double>(static_cast<int64_t>(v * 1000 + 0.5)) / 1000;
}

struct Options {
  std::string scenario;
  std::string data;             // gzip NDJSON workload
  std::string schema_path;      // schema document the stores open with
  std::string workdir;          // where scenario files go (fresh per run)
  size_t records = 0;           // first N records of the workload; 0 = all
  size_t commit_every = 10000;  // local writes per Batch commit; 0 = one batch for all
  std::string server_bin;       // lumbung-server binary (sync scenarios)
  size_t devices = 50;          // many_devices: concurrent devices
  size_t servers = 1;           // push, pull, many_devices: server processes on one database
  std::string passphrase;       // local_write: encrypt personal data at rest with this passphrase
  // progress, desa_pull, kabupaten_bootstrap: records in the server's database; 0 = the
  // scenario's default (1,000,000; kabupaten_bootstrap 200,000)
  size_t server_records = 0;
  size_t desa_records = 200;  // desa_pull: workload records re-keyed into a 2nd desa
  std::string backend;        // --backend as given ("" = not given: SQLite)
  // pull, slow_link: a fresh device's first pull: snapshot (default, as the engine's
  // SyncOptions::bootstrap_snapshot) or replay
  bool first_pull_snapshot = true;
  // slow_link: the streamed push asked for (SyncOptions::push_stream); off = batches
  bool push_stream = true;
};

struct Result {
  size_t records = 0;
  double seconds = 0;  // the timed part only
  // Scenario-specific figures (e.g. the SQLite baseline), printed after records_per_s.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  uint64_t bytes_up = 0;  // bytes on the wire, headers included (sync scenarios)
  uint64_t bytes_down = 0;
  uint64_t requests = 0;
  std::optional<double> server_peak_rss_mb;  // null when no server was involved
  // Peak RSS of the device process when the device part ran in a worker process of its
  // own (sync scenarios); when unset, peak_rss_mb is this bench process's own peak.
  std::optional<double> device_peak_rss_mb;
  uint64_t db_bytes = 0;  // size of the device database file(s) at the end
  bool verified = false;  // the end state was checked and found right
  std::string digest;     // content digest of the replica(s) checked (digest.h)
};

// Seconds on a monotonic clock, for timing.
double now_seconds();

}  // namespace lumbung::bench

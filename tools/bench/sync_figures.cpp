// The figures every sync scenario adds to its result line (sync_support.h): bytes on the wire
// as the relays counted them, and the servers' CPU over the timed part.

#include <algorithm>

#include "cpu.h"
#include "sqlite_baseline.h"
#include "sync_support.h"

namespace lumbung::bench {

namespace {
void fill_wire(Result& r, const Json& worker, uint64_t up, uint64_t down, uint64_t conns,
               size_t records) {
  r.bytes_up = up;
  r.bytes_down = down;
  r.requests = worker.value("requests", uint64_t{0});
  r.device_peak_rss_mb = worker.value("peak_rss_mb", 0.0);
  r.extra["bytes_per_record"] =
      records ? static_cast<double>(r.bytes_up + r.bytes_down) / records : 0.0;
  r.extra["up_bytes_per_record"] = records ? static_cast<double>(r.bytes_up) / records : 0.0;
  r.extra["down_bytes_per_record"] = records ? static_cast<double>(r.bytes_down) / records : 0.0;
  r.extra["records_per_request"] = r.requests ? static_cast<double>(records) / r.requests : 0.0;
  r.extra["est_bytes_up"] = worker.value("est_bytes_up", uint64_t{0});
  r.extra["est_bytes_down"] = worker.value("est_bytes_down", uint64_t{0});
  r.extra["retries"] = worker.value("retries", uint64_t{0});
  r.extra["errors"] = worker.value("errors", 0);
  r.extra["tcp_connections"] = conns;
}
}  // namespace

void fill_wire_figures(Result& r, const Json& worker, const Relay& relay, size_t records) {
  fill_wire(r, worker, relay.bytes_up(), relay.bytes_down(), relay.connections(), records);
}

void fill_wire_figures(Result& r, const Json& worker, const SyncEnv& env, size_t records) {
  fill_wire(r, worker, env.bytes_up(), env.bytes_down(), env.connections(), records);
}

void fill_cpu_figures(Result& r, const SyncEnv& env, const CpuSample& before,
                      const CpuSample& after, size_t count, const std::string& unit) {
  r.extra["servers"] = env.servers();
  r.extra["load_average_1m"] = load_average_1m();
  const double n = static_cast<double>(std::max<size_t>(1, count));
  const double server_cpu = after.servers - before.servers;
  r.extra["server_cpu_s"] = server_cpu;
  r.extra["server_cpu_us_per_" + unit] = server_cpu * 1e6 / n;
  if (before.pg && after.pg) {
    const double pg_cpu = *after.pg - *before.pg;
    r.extra["pg_cpu_s"] = pg_cpu;
    r.extra["pg_cpu_us_per_" + unit] = pg_cpu * 1e6 / n;
  } else {
    r.extra["pg_cpu_s"] = nullptr;
    r.extra["pg_cpu_us_per_" + unit] = nullptr;
    if (server_backend() == ServerBackend::kPostgres)
      r.extra["pg_cpu_note"] = "the postmaster's /proc stat could not be read";
  }
}

void add_server_db_figures(Result& r, const SyncEnv& env, std::optional<uint64_t> before,
                           size_t records) {
  const std::optional<uint64_t> after = env.db_bytes();
  r.extra["server_db_bytes"] = after ? Json(*after) : Json(nullptr);
  const std::vector<TableBytes> tables = env.db_tables();
  if (!tables.empty()) {
    Json t = Json::object();
    for (const auto& tb : tables) t[tb.name] = {tb.table, tb.indexes, tb.live_rows, tb.dead_rows};
    r.extra["server_db_tables"] = t;
  }
  if (before && after && records) {
    r.extra["server_db_bytes_per_record"] =
        (static_cast<double>(*after) - static_cast<double>(*before)) / records;
  }
}

void add_baseline_figures(Result& r, const Options& options, const Workload& workload) {
  const BaselineResult base = run_sqlite_baseline(workload, options.workdir + "/baseline.db",
                                                  BaselineSetup::kLikeEngine, options.commit_every);
  const double base_rate = base.seconds > 0 ? base.rows / base.seconds : 0.0;
  r.extra["baseline_records_per_s"] = base_rate;
  r.extra["ratio_vs_baseline"] =
      r.seconds > 0 && r.records > 0 ? base_rate / (r.records / r.seconds) : 0.0;
}

}  // namespace lumbung::bench

// Scenario many_devices: K devices (Options::devices, default 50) each load N/K consecutive
// workload records (untimed) and register with a code for the provinces their records are
// in (the workload spans many provinces; codes take 2-, 4-, 6- or 10-digit prefixes, not
// ""). Timed: all K push at once, one thread each in one device worker process, each with
// its own Store, HTTP transport and SyncClient, through the relay; from the start signal to
// the last push done.
//
// With --servers K (PostgreSQL), device d pushes to server d % K; the verification reads
// through server 0, which sees what every server wrote.
//
// Verified: 0 errors; every device has nothing pending and the server's acked_seq for it is
// its record count; the server holds N live records with the workload's digest.
// peak_rss_mb here is of the ONE worker process holding all K devices.

#include <cstdio>

#include "checker.h"
#include "digest.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {

Result run_many_devices(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  const size_t k = std::max<size_t>(1, std::min(options.devices, n));
  std::shared_ptr<const Schema> schema(Schema::load_file(options.schema_path));
  const std::string collection = workload_collection(*schema);
  const CollectionSchema& cs = *schema->collection(collection);
  Checker check("many_devices");

  SyncEnv env(options, "many");
  WorkerSpec spec;
  spec.url = env.relay().url();
  spec.schema_path = options.schema_path;
  spec.concurrent = true;
  std::vector<size_t> counts;
  std::fprintf(stderr, "many_devices: %zu devices load %zu records each (untimed)...\n", k, n / k);
  for (size_t d = 0; d < k; ++d) {
    const size_t begin = d * n / k, end = (d + 1) * n / k;
    char id[32];
    std::snprintf(id, sizeof id, "bench-%03zu", d);
    const std::string db = options.workdir + "/many-" + id + ".db";
    auto store = open_device(db, schema, id);
    load_records(*store, workload, begin, end, collection);
    // K servers: device d talks to server d % K only (round-robin over the servers).
    spec.devices.push_back({db,
                            id,
                            register_device(env, *store, province_prefixes(workload, begin, end)),
                            {env.relay_url(d)}});
    counts.push_back(end - begin);
  }
  env.reset_relays();
  const std::optional<uint64_t> db_before = env.db_bytes();
  std::fprintf(stderr, "many_devices: %zu concurrent pushes to %zu server(s) (timed)...\n", k,
               env.servers());
  const CpuSample cpu0 = env.cpu_now();
  const Json w = run_worker(options, spec, "many");
  const CpuSample cpu1 = env.cpu_now();
  std::fprintf(stderr, "many_devices: %.3f s, errors %d\n", w.value("seconds", 0.0),
               w.value("errors", 0));

  Result r;
  r.records = n;
  r.seconds = w.value("seconds", 0.0);
  fill_wire_figures(r, w, env, n);
  fill_cpu_figures(r, env, cpu0, cpu1, w.value("pushed", uint64_t{0}), "op");
  const std::optional<double> server_rss_synced = env.server_rss_now();
  r.extra["devices"] = k;
  double slowest = 0;
  for (const auto& s : w.at("steps")) slowest = std::max(slowest, s.value("seconds", 0.0));
  r.extra["slowest_device_s"] = slowest;

  std::fprintf(stderr, "many_devices: verifying...\n");
  check(w.value("errors", 0) == 0, "worker errors: " + w["error_messages"].dump());
  check(w.value("pushed", uint64_t{0}) == n,
        "pushed " + std::to_string(w.value("pushed", uint64_t{0})));
  for (size_t d = 0; d < k; ++d) {
    const auto& dev = spec.devices[d];
    auto store = open_device(dev.db, schema, dev.device_id);
    check(store->stats().pending_changes == 0, dev.device_id + " has pending changes");
    const int64_t acked = env.acked_seq(dev.device_id);
    check(acked == static_cast<int64_t>(counts[d]),
          dev.device_id + " acked_seq " + std::to_string(acked));
  }
  const std::string expected = workload_digest(workload, cs);
  uint64_t live = 0;
  const std::string sd = env.server_digest(collection, &live);
  check(live == n, "server holds " + std::to_string(live) + " live records");
  check(sd == expected, "server digest " + sd + " != workload digest " + expected);
  r.extra["server_peak_rss_end_mb"] = env.stop_server().value_or(-1);  // after verification
  add_server_db_figures(r, env, db_before, n);
  r.server_peak_rss_mb = server_rss_synced;
  r.verified = check.ok();
  r.digest = sd;
  return r;
}

}  // namespace lumbung::bench

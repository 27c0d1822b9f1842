// Scenario push: one device (bench-a) loads the N workload records through Batch::create
// (untimed, as in local_write), registers with a code for the provinces it holds, and pushes
// its whole change log to a fresh lumbung-server. Timed: SyncClient::push in the device
// worker process, through the byte-counting relay.
//
// With --servers K (PostgreSQL) the device's requests go to K servers on one database in
// turn; the verification reads through server 0, which sees what every server wrote.
//
// Verified: no errors; the device has nothing pending and its digest is the workload's; the
// server holds N live records (GET /v1/records) with the same digest and acked_seq == N.

#include <cstdio>

#include "checker.h"
#include "digest.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {

Result run_push(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  std::shared_ptr<const Schema> schema(Schema::load_file(options.schema_path));
  const std::string collection = workload_collection(*schema);
  const CollectionSchema& cs = *schema->collection(collection);
  Checker check("push");

  SyncEnv env(options, "push");
  const std::string db = options.workdir + "/push-a.db";
  std::string token;
  {
    auto store = open_device(db, schema, "bench-a");
    std::fprintf(stderr, "push: loading %zu records into the device (untimed)...\n", n);
    load_records(*store, workload, 0, n, collection);
    token = register_device(env, *store, province_prefixes(workload, 0, n));
  }
  WorkerSpec spec;
  spec.url = env.relay().url();
  spec.schema_path = options.schema_path;
  // K servers: the device's requests go to them in turn (sync_support.h WorkerDevice::urls).
  spec.devices = {
      {db, "bench-a", token, env.servers() > 1 ? env.relay_urls() : std::vector<std::string>{}}};
  spec.steps = {{0, "push"}};
  env.reset_relays();
  const std::optional<uint64_t> db_before = env.db_bytes();
  std::fprintf(stderr, "push: pushing (timed, worker process)...\n");
  const CpuSample cpu0 = env.cpu_now();
  const Json w = run_worker(options, spec, "push");
  const CpuSample cpu1 = env.cpu_now();
  std::fprintf(stderr, "push: %.3f s, %s\n", w.value("seconds", 0.0),
               w.dump().substr(0, 400).c_str());

  Result r;
  r.records = n;
  r.seconds = w.value("seconds", 0.0);
  fill_wire_figures(r, w, env, n);
  fill_cpu_figures(r, env, cpu0, cpu1, w.value("pushed", uint64_t{0}), "op");
  const std::optional<double> server_rss_synced = env.server_rss_now();

  std::fprintf(stderr, "push: verifying...\n");
  check(w.value("errors", 0) == 0, "worker errors: " + w["error_messages"].dump());
  check(w.value("pushed", uint64_t{0}) == n,
        "pushed " + std::to_string(w.value("pushed", uint64_t{0})));
  const std::string expected = workload_digest(workload, cs);
  {
    auto store = open_device(db, schema, "bench-a");
    check(store->stats().pending_changes == 0, "device still has pending changes");
    uint64_t cnt = 0;
    const std::string d = store_digest(*store, collection, &cnt);
    check(cnt == n && d == expected, "device digest/count mismatch");
  }
  uint64_t live = 0;
  const std::string sd = env.server_digest(collection, &live);
  check(live == n,
        "server holds " + std::to_string(live) + " live records, expected " + std::to_string(n));
  check(sd == expected, "server digest " + sd + " != workload digest " + expected);
  const int64_t acked = env.acked_seq("bench-a");
  check(acked == static_cast<int64_t>(n), "server acked_seq " + std::to_string(acked));
  r.extra["acked_seq"] = acked;
  r.extra["server_peak_rss_end_mb"] = env.stop_server().value_or(-1);  // after verification
  add_baseline_figures(r, options, workload);
  add_server_db_figures(r, env, db_before, n);
  r.server_peak_rss_mb = server_rss_synced;
  r.verified = check.ok();
  r.digest = sd;
  return r;
}

}  // namespace lumbung::bench

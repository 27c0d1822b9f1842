// Scenario pull: as push (untimed: device bench-a loads N records and pushes them straight
// to the server), then a second, fresh device (bench-b, same provinces) pulls everything.
// Timed: SyncClient::pull in the device worker process, through the byte-counting relay.
//
// With --servers K (PostgreSQL) the setup push goes to server 0 and the timed pull's
// requests to the K servers in turn, its cursor carried from one to the next.
//
// Verified: no errors; bench-b holds N live records with the workload's digest, nothing
// pending; the server holds the same N records and digest.

#include <cstdio>

#include "checker.h"
#include "digest.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {

Result run_pull(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  std::shared_ptr<const Schema> schema(Schema::load_file(options.schema_path));
  const std::string collection = workload_collection(*schema);
  const CollectionSchema& cs = *schema->collection(collection);
  Checker check("pull");

  SyncEnv env(options, "pull");
  const auto scope = province_prefixes(workload, 0, n);
  {
    auto a = open_device(options.workdir + "/pull-a.db", schema, "bench-a");
    std::fprintf(stderr, "pull: loading %zu records into bench-a and pushing them (untimed)...\n",
                 n);
    load_records(*a, workload, 0, n, collection);
    const std::string token_a = register_device(env, *a, scope);
    const SyncReport pr = sync_direct(env, *a, token_a, "push");
    check(pr.pushed == n, "setup push pushed " + std::to_string(pr.pushed));
  }
  const std::string db = options.workdir + "/pull-b.db";
  std::string token;
  {
    auto b = open_device(db, schema, "bench-b");
    token = register_device(env, *b, scope);
  }
  WorkerSpec spec;
  spec.url = env.relay().url();
  spec.schema_path = options.schema_path;
  // K servers: the device's requests (and so its cursor) go to them in turn.
  spec.devices = {
      {db, "bench-b", token, env.servers() > 1 ? env.relay_urls() : std::vector<std::string>{}}};
  spec.steps = {{0, "pull"}};
  spec.first_pull_snapshot = options.first_pull_snapshot;
  env.reset_relays();
  std::fprintf(stderr, "pull: pulling into a fresh device (timed, worker process)...\n");
  const CpuSample cpu0 = env.cpu_now();
  const Json w = run_worker(options, spec, "pull");
  const CpuSample cpu1 = env.cpu_now();
  std::fprintf(stderr, "pull: %.3f s, %s\n", w.value("seconds", 0.0),
               w.dump().substr(0, 400).c_str());

  Result r;
  r.records = n;
  r.seconds = w.value("seconds", 0.0);
  r.extra["first_pull"] = options.first_pull_snapshot ? "snapshot" : "replay";
  fill_wire_figures(r, w, env, n);
  fill_cpu_figures(r, env, cpu0, cpu1, w.value("pulled", uint64_t{0}), "record");
  const std::optional<double> server_rss_synced = env.server_rss_now();

  std::fprintf(stderr, "pull: verifying...\n");
  check(w.value("errors", 0) == 0, "worker errors: " + w["error_messages"].dump());
  check(w.value("pulled", uint64_t{0}) == n,
        "pulled " + std::to_string(w.value("pulled", uint64_t{0})));
  const std::string expected = workload_digest(workload, cs);
  {
    auto store = open_device(db, schema, "bench-b");
    check(store->stats().pending_changes == 0, "bench-b has pending changes");
    uint64_t cnt = 0;
    const std::string d = store_digest(*store, collection, &cnt);
    check(cnt == n, "bench-b holds " + std::to_string(cnt) + " records");
    check(d == expected, "bench-b digest " + d + " != " + expected);
    r.digest = d;
  }
  uint64_t live = 0;
  const std::string sd = env.server_digest(collection, &live);
  check(live == n && sd == expected, "server digest/count mismatch (" + std::to_string(live) + ")");
  r.extra["server_peak_rss_end_mb"] = env.stop_server().value_or(-1);  // after verification
  add_baseline_figures(r, options, workload);
  add_server_db_figures(r, env, std::nullopt, n);
  r.server_peak_rss_mb = server_rss_synced;
  r.verified = check.ok();
  return r;
}

}  // namespace lumbung::bench

// Scenario resume: device bench-a loads N records (untimed) and pushes them to a fresh
// server through a link that dies at about half: after K = (N / push batch) / 2 requests,
// the next push reaches the server but its answer is lost (the server applied that batch),
// and the requests after it fail before reaching the server, so the push gives up
// (Error kTransport after 2 attempts). The link comes back and a new push resumes.
// Timed: both pushes (retry backoff sleeps are capped at 200 ms by the worker).
//
// Verified: the first push was interrupted with changes still pending; afterwards nothing is
// pending; the server's acked_seq for the device is N, it holds N live records with the
// workload's digest, and it applied exactly N ops in all (lumbung_ops_applied_total == N:
// the batch whose answer was lost was not applied twice).

#include <algorithm>
#include <cstdio>

#include "checker.h"
#include "digest.h"
#include "lumbung/tuning.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {

Result run_resume(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  std::shared_ptr<const Schema> schema(Schema::load_file(options.schema_path));
  const std::string collection = workload_collection(*schema);
  const CollectionSchema& cs = *schema->collection(collection);
  Checker check("resume");

  SyncEnv env(options, "resume");
  const std::string db = options.workdir + "/resume-a.db";
  std::string token;
  {
    auto store = open_device(db, schema, "bench-a");
    std::fprintf(stderr, "resume: loading %zu records into the device (untimed)...\n", n);
    load_records(*store, workload, 0, n, collection);
    token = register_device(env, *store, province_prefixes(workload, 0, n));
  }
  const size_t batches = (n + kPushBatchOps - 1) / kPushBatchOps;
  WorkerSpec spec;
  spec.url = env.relay().url();
  spec.schema_path = options.schema_path;
  spec.devices = {{db, "bench-a", token}};
  spec.steps = {{0, "push_cut_resume"}};
  // At least one request through before the cut: with 2,000 records or fewer (one batch
  // of kPushBatchOps) half of it was 0, nothing was sent whole, and the check below failed.
  spec.cut_after = std::max<size_t>(1, batches / 2);
  spec.cut_down_for = 3;
  env.relay().reset();
  std::fprintf(stderr,
               "resume: pushing, link cut after %zu of %zu batches (timed, worker process)...\n",
               spec.cut_after, batches);
  const Json w = run_worker(options, spec, "resume");
  std::fprintf(stderr, "resume: %.3f s, %s\n", w.value("seconds", 0.0),
               w.dump().substr(0, 600).c_str());

  Result r;
  r.records = n;
  r.seconds = w.value("seconds", 0.0);
  fill_wire_figures(r, w, env.relay(), n);
  const std::optional<double> server_rss_synced = env.server_rss_now();

  std::fprintf(stderr, "resume: verifying...\n");
  check(w.value("errors", 0) == 0, "worker errors: " + w["error_messages"].dump());
  const Json step = w.at("steps").at(0);
  check(step.value("interrupted", false), "the first push was not interrupted");
  const uint64_t pending_after_cut = step.value("pending_after_cut", uint64_t{0});
  check(pending_after_cut > 0 && pending_after_cut < n,
        "pending after the cut: " + std::to_string(pending_after_cut));
  r.extra["pending_after_cut"] = pending_after_cut;
  r.extra["cut_after_requests"] = spec.cut_after;
  const std::string expected = workload_digest(workload, cs);
  {
    auto store = open_device(db, schema, "bench-a");
    check(store->stats().pending_changes == 0, "device still has pending changes");
    uint64_t cnt = 0;
    const std::string d = store_digest(*store, collection, &cnt);
    check(cnt == n && d == expected, "device digest/count mismatch");
  }
  uint64_t live = 0, total = 0;
  const std::string sd = env.server_digest(collection, &live, &total);
  check(live == n && total == n,
        "server holds " + std::to_string(live) + " live / " + std::to_string(total));
  check(sd == expected, "server digest " + sd + " != workload digest " + expected);
  const int64_t acked = env.acked_seq("bench-a");
  check(acked == static_cast<int64_t>(n), "server acked_seq " + std::to_string(acked));
  const double applied = env.metric("lumbung_ops_applied_total");
  check(applied == static_cast<double>(n),
        "server applied " + std::to_string(applied) + " ops in all");
  r.extra["acked_seq"] = acked;
  r.extra["server_ops_applied"] = applied;
  r.extra["server_peak_rss_end_mb"] = env.stop_server().value_or(-1);  // after verification
  r.server_peak_rss_mb = server_rss_synced;
  r.verified = check.ok();
  r.digest = sd;
  return r;
}

}  // namespace lumbung::bench

// Issue 13, "pull cost follows the region, not the database": a new laptop's first sync of
// one region from a big server, whose database is written through the server store
// (server_seed.h: records sealed, counts kept, each creation logged as a push by device
// bench-seed would log it) instead of 1 M records pushed through HTTP (untimed either way).
//
// desa_pull (--backend sqlite|postgres): two servers in the same run, the big one of
//   --server-records records (default 1,000,000: the workload ten times, new ids) and a
//   baseline of the workload alone; the busiest desa of the workload (2 records: the
//   workload spreads thinly) and a second desa into which --desa-records (default 200)
//   workload lines are re-keyed hold the same records on both (no copy lands in them). Per
//   round (2 rounds), on each server, for each desa, a fresh laptop registered for it makes
//   its first pull by snapshot, then another by replay.
// kabupaten_bootstrap (both backends in the same run unless --backend names one): a server
//   of --server-records records (default 200,000) in which copy 1 of the workload is
//   re-keyed into the busiest kabupaten, so it holds 100k + its own records; a fresh laptop
//   registered for that kabupaten bootstraps by snapshot, 2 rounds, the backends alternated.
//
// Timed: the laptop's SyncClient::pull in the worker process, through the byte-counting
// relay. Verified against an oracle computed from the generated records, not the server:
// the laptop holds exactly the region's records (count and content digest), nothing pending.

#include <cstdio>

#include "checker.h"
#include "digest.h"
#include "proc.h"
#include "scenarios.h"
#include "server_seed.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

struct Region {
  std::shared_ptr<const Schema> schema;
  std::string col;
  SeedPlan plan;
  std::string prefix;
  RegionExpect expect;
};

// A server seeded with `plan`; ready within 15 minutes (a 1 M SQLite start reads it all).
std::unique_ptr<SyncEnv> seeded_env(const Options& options, const std::string& name,
                                    const Workload& workload, const Region& region,
                                    const SeedPlan& plan, double* seed_s) {
  const CollectionSchema& cs = *region.schema->collection(region.col);
  std::fprintf(stderr, "%s: writing %zu server records (untimed)...\n", name.c_str(), plan.total);
  return std::make_unique<SyncEnv>(
      options, name,
      [&](const std::string& dir, const std::string& url) {
        *seed_s = seed_server(workload, cs, plan, *open_seed_store(dir, url, region.schema.get()),
                              region.col);
      },
      900);
}

// One fresh laptop registered for the region makes its first pull; the figures and checks.
Json first_pull(const Options& options, SyncEnv& env, const Region& region, bool snapshot,
                const std::string& tag, Checker& check) {
  const std::string db = env.dir() + "/" + tag + ".db";
  std::string token;
  {
    auto laptop = open_device(db, region.schema, tag);
    token = register_device(env, *laptop, {region.prefix});
  }
  WorkerSpec spec;
  spec.url = env.relay().url();
  spec.schema_path = options.schema_path;
  spec.devices = {{db, tag, token}};
  spec.steps = {{0, "pull"}};
  spec.first_pull_snapshot = snapshot;
  env.reset_relays();
  const CpuSample cpu0 = env.cpu_now();
  const Json w = run_worker(options, spec, tag);
  const CpuSample cpu1 = env.cpu_now();
  Result fig;
  fill_wire_figures(fig, w, env, region.expect.count);
  fill_cpu_figures(fig, env, cpu0, cpu1, region.expect.count, "record");
  Json out = {{"first_pull", snapshot ? "snapshot" : "replay"},
              {"seconds", w.value("seconds", 0.0)},
              {"pulled_ops", w.value("pulled", uint64_t{0})},
              {"bytes_up", fig.bytes_up},
              {"bytes_down", fig.bytes_down},
              {"requests", fig.requests},
              {"device_peak_rss_mb", fig.device_peak_rss_mb.value_or(-1)},
              {"server_peak_rss_mb", env.server_rss_now().value_or(-1)}};
  for (const char* k : {"bytes_per_record", "server_cpu_s", "server_cpu_us_per_record", "pg_cpu_s",
                        "pg_cpu_us_per_record", "load_average_1m"}) {
    out[k] = fig.extra.value(k, Json(nullptr));
  }
  check(w.value("errors", 0) == 0, tag + ": worker errors: " + w["error_messages"].dump());
  auto laptop = open_device(db, region.schema, tag);
  uint64_t held = 0;
  const std::string d = store_digest(*laptop, region.col, &held);
  check(laptop->stats().pending_changes == 0, tag + ": pending changes");
  check(held == region.expect.count, tag + ": holds " + std::to_string(held) + " records, " +
                                         std::to_string(region.expect.count) + " expected");
  check(d == region.expect.digest, tag + ": digest " + d + " != " + region.expect.digest);
  out["records_held"] = held;
  std::fprintf(stderr, "  %s: %s\n", tag.c_str(), out.dump().c_str());
  return out;
}

Region make_region(const Options& options, const Workload& workload, size_t len) {
  Region r;
  r.schema = std::shared_ptr<const Schema>(Schema::load_file(options.schema_path));
  r.col = workload_collection(*r.schema);
  const auto busiest = busiest_region(workload_villages(workload), len);
  r.prefix = busiest.first;
  std::fprintf(stderr, "busiest region of %zu digits: %s, %zu workload records\n", len,
               busiest.first.c_str(), busiest.second);
  return r;
}

}  // namespace

Result run_desa_pull(const Options& options, const Workload& workload) {
  Checker check("desa_pull");
  Region busiest = make_region(options, workload, 10);
  const CollectionSchema& cs = *busiest.schema->collection(busiest.col);
  // A second desa, grown to a desa's size by re-keying the first --desa-records workload
  // lines into it (the busiest holds only a few: the workload spreads thinly).
  Region grown = busiest;
  const std::vector<std::string> villages = workload_villages(workload);
  grown.prefix = options.desa_records ? unused_desa(villages, busiest.prefix) : std::string();
  SeedPlan big{options.server_records ? options.server_records : 1000000,
               busiest.prefix,
               "",
               true,
               grown.prefix,
               options.desa_records};
  SeedPlan base = big;
  base.total = workload.size();
  std::vector<Region*> regions = {&busiest};
  if (!grown.prefix.empty()) regions.push_back(&grown);
  for (Region* region : regions) {
    region->expect = expected_region(workload, cs, base, region->prefix);
    // The oracle on the big plan too: the desa must hold the same records on both.
    const RegionExpect big_expect = expected_region(workload, cs, big, region->prefix);
    check(big_expect.digest == region->expect.digest && big_expect.count == region->expect.count,
          "desa " + region->prefix + " differs between the servers");
    std::fprintf(stderr, "desa %s: %llu records expected\n", region->prefix.c_str(),
                 static_cast<unsigned long long>(region->expect.count));
  }
  double big_seed_s = 0, base_seed_s = 0;
  auto big_env = seeded_env(options, "desa-big", workload, busiest, big, &big_seed_s);
  auto base_env = seeded_env(options, "desa-base", workload, busiest, base, &base_seed_s);
  Json pulls = Json::array();
  int laptop = 0;
  for (int round = 0; round < 2; ++round) {
    for (auto* env : {big_env.get(), base_env.get()}) {
      for (Region* region : regions) {
        for (bool snapshot : {true, false}) {
          Json p = first_pull(options, *env, *region, snapshot,
                              "laptop-" + std::to_string(++laptop), check);
          p["desa"] = region->prefix;
          p["server_records"] = env == big_env.get() ? big.total : base.total;
          p["round"] = round + 1;
          pulls.push_back(std::move(p));
        }
      }
    }
  }
  Result r;
  r.records = busiest.expect.count;
  r.seconds = pulls[0].value("seconds", 0.0);  // round 1, big server, busiest desa, snapshot
  r.bytes_up = pulls[0].value("bytes_up", uint64_t{0});
  r.bytes_down = pulls[0].value("bytes_down", uint64_t{0});
  r.requests = pulls[0].value("requests", uint64_t{0});
  r.extra["desa"] = busiest.prefix;
  r.extra["desa_records"] = busiest.expect.count;
  r.extra["grown_desa"] = grown.prefix;
  r.extra["grown_desa_records"] = grown.prefix.empty() ? 0 : grown.expect.count;
  r.extra["server_records"] = big.total;
  r.extra["baseline_server_records"] = base.total;
  r.extra["seed_s"] = big_seed_s;
  r.extra["baseline_seed_s"] = base_seed_s;
  r.extra["pulls"] = pulls;
  r.server_peak_rss_mb = big_env->stop_server();
  r.extra["baseline_server_peak_rss_mb"] = base_env->stop_server().value_or(-1);
  r.extra["server_db_bytes"] = big_env->db_bytes().value_or(0);
  r.extra["baseline_server_db_bytes"] = base_env->db_bytes().value_or(0);
  r.digest = busiest.expect.digest;
  r.verified = check.ok();
  return r;
}

Result run_kabupaten_bootstrap(const Options& options, const Workload& workload) {
  Checker check("kabupaten_bootstrap");
  Region region = make_region(options, workload, 4);
  const CollectionSchema& cs = *region.schema->collection(region.col);
  SeedPlan plan{options.server_records ? options.server_records : 200000, "", region.prefix, true};
  region.expect = expected_region(workload, cs, plan, region.prefix);
  std::fprintf(stderr, "kabupaten %s holds %llu of the %zu server records\n", region.prefix.c_str(),
               static_cast<unsigned long long>(region.expect.count), plan.total);
  std::vector<std::pair<ServerBackend, std::string>> backends;
  if (options.backend != "postgres") backends.emplace_back(ServerBackend::kSqlite, "sqlite");
  if (options.backend != "sqlite") backends.emplace_back(ServerBackend::kPostgres, "postgres");
  // The backend is a process-wide setting (proc.h) that a SyncEnv reads when it starts its
  // server and measures CPU: set it before each env is made or used.
  std::vector<std::unique_ptr<SyncEnv>> envs;
  Json seeds = Json::object();
  for (const auto& [b, name] : backends) {
    set_server_backend(b);
    double s = 0;
    envs.push_back(seeded_env(options, "kab-" + name, workload, region, plan, &s));
    seeds[name] = s;
  }
  Json pulls = Json::array();
  int laptop = 0;
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < envs.size(); ++i) {
      set_server_backend(backends[i].first);
      Json p =
          first_pull(options, *envs[i], region, true, "laptop-" + std::to_string(++laptop), check);
      p["backend"] = backends[i].second;
      p["round"] = round + 1;
      pulls.push_back(std::move(p));
    }
  }
  Result r;
  r.records = region.expect.count;
  r.seconds = pulls[0].value("seconds", 0.0);
  r.bytes_up = pulls[0].value("bytes_up", uint64_t{0});
  r.bytes_down = pulls[0].value("bytes_down", uint64_t{0});
  r.requests = pulls[0].value("requests", uint64_t{0});
  r.extra["kabupaten"] = region.prefix;
  r.extra["kabupaten_records"] = region.expect.count;
  r.extra["server_records"] = plan.total;
  r.extra["seed_s"] = seeds;
  r.extra["pulls"] = pulls;
  for (size_t i = 0; i < envs.size(); ++i) {
    set_server_backend(backends[i].first);
    r.extra["server_peak_rss_mb_" + backends[i].second] = envs[i]->stop_server().value_or(-1);
  }
  r.digest = region.expect.digest;
  r.verified = check.ok();
  return r;
}

}  // namespace lumbung::bench

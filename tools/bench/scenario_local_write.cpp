// Scenario local_write: what a field officer's bulk import costs on the device.
//
// Timed: for every record, nlohmann::json parse of its line, the "id" member taken out and
// passed as the record id, Batch::create (validation + normalisation, clock, record row,
// change-log row), and a Batch commit every Options::commit_every records. Not timed: loading
// the workload, opening the store, the SQLite baseline, and the checks afterwards.
//
// Verified: count == N, pending changes == N (the last one has seq N), a few records read
// back equal to their input after the schema's normalisation, and the store's content
// digest equals the digest of the normalised workload.

#include <cstdio>
#include <filesystem>
#include <optional>

#include "digest.h"
#include "lumbung/store.h"
#include "rss.h"
#include "scenarios.h"
#include "sqlite_baseline.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

constexpr const char* kDeviceId = "bench-a";

// Indices of the records read back one by one: both ends, the middle, and a spread
// chosen by a fixed LCG so every run checks the same ones.
std::vector<size_t> spot_check_indices(size_t n) {
  std::vector<size_t> out{0, n / 2, n - 1};
  uint64_t x = 20250106;
  for (int i = 0; i < 17; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    out.push_back(static_cast<size_t>((x >> 33) % n));
  }
  return out;
}

}  // namespace

Result run_local_write(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  auto schema = Schema::load_file(options.schema_path);
  const std::string collection = workload_collection(*schema);
  const CollectionSchema& cs = *schema->collection(collection);

  const std::string path = options.workdir + "/device-a.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  OpenOptions open_options;
  open_options.path = path;
  open_options.schema = schema;
  open_options.device_id = kDeviceId;
  open_options.passphrase = options.passphrase;  // empty: unencrypted (the target)
  auto store = Store::open(open_options);

  std::fprintf(stderr, "local_write: writing %zu records, a commit every %zu...\n", n,
               options.commit_every == 0 ? n : options.commit_every);
  double parse_s = 0, create_s = 0, commit_s = 0;
  const double t0 = now_seconds();
  {
    std::optional<Batch> batch;
    size_t in_batch = 0;
    double t = t0;
    for (size_t i = 0; i < n; ++i) {
      if (!batch) batch.emplace(store->begin_batch());
      Json fields = Json::parse(workload.line(i));
      auto id_it = fields.find("id");
      std::string id =
          id_it != fields.end() && id_it->is_string() ? id_it->get<std::string>() : std::string();
      if (id_it != fields.end()) fields.erase(id_it);
      const double t_parsed = now_seconds();
      parse_s += t_parsed - t;
      batch->create(collection, std::move(fields), std::move(id));
      t = now_seconds();
      create_s += t - t_parsed;
      if (options.commit_every != 0 && ++in_batch == options.commit_every) {
        batch->commit();
        batch.reset();
        in_batch = 0;
        const double t_committed = now_seconds();
        commit_s += t_committed - t;
        t = t_committed;
      }
    }
    if (batch) {
      batch->commit();
      commit_s += now_seconds() - t;
    }
  }
  const double seconds = now_seconds() - t0;
  std::fprintf(stderr,
               "local_write: %.3f s (%.0f records/s): parse %.3f s, create %.3f s, commit %.3f s\n",
               seconds, n / seconds, parse_s, create_s, commit_s);

  std::fprintf(stderr, "local_write: plain SQLite baselines...\n");
  const BaselineResult base = run_sqlite_baseline(workload, options.workdir + "/baseline.db",
                                                  BaselineSetup::kLikeEngine, options.commit_every);
  const BaselineResult plain = run_sqlite_baseline(workload, options.workdir + "/baseline.db",
                                                   BaselineSetup::kSqliteDefaults);
  const BaselineResult floor = run_engine_rows_floor(workload, options.workdir + "/floor.db",
                                                     collection, options.commit_every);
  std::fprintf(
      stderr,
      "local_write: baseline %.3f s (%.0f records/s) with the store's settings, %.3f s "
      "(%.0f records/s) with SQLite's defaults in one transaction; the engine's rows "
      "without the engine %.3f s (%.0f records/s, %.2fx the baseline; parse and dump %.3f s)\n",
      base.seconds, n / base.seconds, plain.seconds, n / plain.seconds, floor.seconds,
      n / floor.seconds, floor.seconds / base.seconds, floor.json_seconds);

  std::fprintf(stderr, "local_write: verifying...\n");
  bool ok = true;
  auto check = [&](bool cond, const std::string& what) {
    if (!cond) {
      std::fprintf(stderr, "local_write: VERIFY FAILED: %s\n", what.c_str());
      ok = false;
    }
  };
  const uint64_t count = store->count(collection);
  check(count == n, "count " + std::to_string(count) + " != " + std::to_string(n));
  const StoreStats stats = store->stats();
  check(stats.pending_changes == n,
        "pending_changes " + std::to_string(stats.pending_changes) + " != " + std::to_string(n));
  const auto last = store->pending_changes(2, n - 1);
  check(last.size() == 1 && last.front().op.seq == n, "the change log does not end at seq N");
  check(base.rows == n && plain.rows == n && floor.rows == n,
        "baseline rows " + std::to_string(base.rows) + ", " + std::to_string(plain.rows) + ", " +
            std::to_string(floor.rows) + " != " + std::to_string(n));
  for (size_t i : spot_check_indices(n)) {
    const std::string_view line = workload.line(i);
    const std::string id(extract_id(line));
    const auto rec = store->get(collection, id);
    check(rec.has_value() && rec->fields == expected_fields(line, cs),
          "record " + id + " (line " + std::to_string(i + 1) + ") does not read back as written");
  }
  uint64_t hashed = 0;
  const std::string digest = store_digest(*store, collection, &hashed);
  check(hashed == n, "digest walked " + std::to_string(hashed) + " records");
  const std::string expected = workload_digest(workload, cs);
  check(digest == expected, "digest " + digest + " != workload digest " + expected);
  store.reset();  // closing checkpoints the WAL: db_bytes is the file as it stays on disk

  Result r;
  r.records = n;
  r.seconds = seconds;
  const double rate = n / seconds;
  const double base_rate = n / base.seconds;
  // How many times slower than plain SQLite (sqlite_baseline.h): like for like (the target,
  // <= 3), and against SQLite's defaults in one transaction (the yardstick before 2026-12-06).
  r.extra["baseline_records_per_s"] = base_rate;
  r.extra["ratio_vs_baseline"] = base_rate / rate;
  r.extra["defaults_baseline_records_per_s"] = n / plain.seconds;
  r.extra["ratio_vs_defaults_baseline"] = (n / plain.seconds) / rate;
  // The floor (sqlite_baseline.h run_engine_rows_floor): parse, dump and the store's two rows
  // with their indexes, nothing else; its ratio to the baseline bounds what any engine with
  // this data model and a JSON-in API can reach.
  r.extra["floor_records_per_s"] = n / floor.seconds;
  r.extra["floor_ratio_vs_baseline"] = floor.seconds / base.seconds;
  r.extra["floor_json_s"] = floor.json_seconds;
  r.extra["commit_every"] = options.commit_every == 0 ? n : options.commit_every;
  r.extra["parse_s"] = parse_s;
  r.extra["create_s"] = create_s;
  r.extra["commit_s"] = commit_s;
  r.extra["baseline_seconds"] = base.seconds;
  r.extra["baseline_db_bytes"] = base.db_bytes;
  r.db_bytes = sqlite_files_bytes(path);
  r.verified = ok;
  r.digest = digest;
  return r;
}

}  // namespace lumbung::bench

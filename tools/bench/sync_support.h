// What the sync scenarios (push, pull, concurrent_edit, resume, many_devices) share:
//
// - SyncEnv: a real lumbung-server process (fresh data directory, port 0) with a byte-counting
//   TCP relay in front of it (relay.h), plus the admin/reviewer calls the scenarios need
//   (enrolment codes, /v1/records for the server's content digest, /v1/admin/devices,
//   /metrics). Admin calls and device registration go to the server directly, so the relay
//   counts only the devices' sync traffic.
// - device helpers: open a store, load workload lines into it (untimed), register it.
// - the device worker: the timed sync runs in a child process (this binary re-executed with
//   `--worker SPEC.json`) that opens only the device stores it syncs, so its peak RSS is a
//   device's footprint and not the bench's ~40 MB copy of the workload.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "proc.h"
#include "relay.h"

namespace lumbung::bench {

class Workload;

struct HttpResult {
  int status = 0;
  Json body;
};

// CPU of the servers (and of the PostgreSQL cluster) at one moment, seconds (cpu.h).
struct CpuSample {
  double servers = 0;        // user+system of every lumbung-server process of the env
  std::optional<double> pg;  // the whole PostgreSQL cluster; nullopt on SQLite/unreadable
};

class SyncEnv {
 public:
  // Starts the server (binary Options::server_bin) in <workdir>/<name>/ and the relay,
  // which emulates `link` (relay.h; default: a plain byte-counting relay). With
  // Options::servers = K > 1 (PostgreSQL only, checked by main): K servers on ONE fresh
  // database, started one after another and sharing <dir>/server.key and the admin token,
  // each in <dir>/server-<i>/ with a plain relay of its own in front of it.
  SyncEnv(const Options& options, const std::string& name, LinkProfile link = {});
  // A server on a database written before it starts: `prepare(dir, db_url)` fills <dir>
  // (SQLite: <dir>/data) or the fresh database `db_url` (PostgreSQL), then the server is
  // started and given `ready_s` to listen (a big database takes a while). One server.
  using Prepare = std::function<void(const std::string& dir, const std::string& db_url)>;
  SyncEnv(const Options& options, const std::string& name, const Prepare& prepare, double ready_s);
  ~SyncEnv();

  // Server 0 and its relay: admin and verification calls go to server 0 (the database is
  // one, so it sees what every server wrote).
  ServerProc& server() { return *servers_.front(); }
  Relay& relay() { return *relays_.front(); }
  const std::string& dir() const { return dir_; }
  size_t servers() const { return servers_.size(); }
  // The relay in front of server i % K.
  std::string relay_url(size_t i) const { return relays_[i % relays_.size()]->url(); }
  std::vector<std::string> relay_urls() const;
  // Every relay's counters: reset, and summed.
  void reset_relays();
  uint64_t bytes_up() const;
  uint64_t bytes_down() const;
  uint64_t connections() const;
  // CPU now (call before and after the timed part; the difference is what the servers spent).
  CpuSample cpu_now() const;
  // Bytes of the server's database: PostgreSQL pg_database_size (tables and indexes, no WAL);
  // SQLite the files of the data directory (database, WAL, shm). nullopt if unreadable.
  std::optional<uint64_t> db_bytes() const;
  // PostgreSQL: the tables of at least 64 KiB (proc.h postgres_table_bytes); SQLite: empty.
  std::vector<TableBytes> db_tables() const;

  HttpResult call(const std::string& method, const std::string& target, const Json& body,
                  const std::string& token);
  // One-time enrolment code for `scope` (region prefixes).
  std::string code(const std::vector<std::string>& scope);
  const std::string& reviewer();
  // Digest (digest.h format) of the server's live records of `collection`, paged through
  // GET /v1/records; `live` and `total` (deleted included) counted when not null.
  std::string server_digest(const std::string& collection, uint64_t* live = nullptr,
                            uint64_t* total = nullptr);
  // acked_seq of a device as the server reports it (GET /v1/admin/devices); -1 if unknown.
  int64_t acked_seq(const std::string& device_id);
  // Open conflict entries (GET /v1/conflicts?status=open).
  Json conflicts();
  // Sum of a Prometheus counter over its label sets (GET /metrics); -1 if absent.
  double metric(const std::string& name);
  // Server VmHWM now, MiB (the highest of the K servers): taken right after the timed part,
  // before the verification's GET /v1/records pages (which cost the server memory of their own).
  std::optional<double> server_rss_now() const;
  // Peak RSS of the server (VmHWM; the highest of the K), then stop them all. Idempotent.
  std::optional<double> stop_server();

 private:
  std::string dir_;
  std::string db_url_;  // PostgreSQL: the (fresh) database the K servers share
  std::vector<std::unique_ptr<ServerProc>> servers_;
  std::vector<std::unique_ptr<Relay>> relays_;
  std::unique_ptr<Transport> http_;
  std::string reviewer_;
  std::optional<double> server_rss_;
  bool stopped_ = false;
};

// The collection the workload records belong to ("enrolment", or the schema's only one).
std::string workload_collection(const Schema& schema);

std::unique_ptr<Store> open_device(const std::string& path, std::shared_ptr<const Schema> schema,
                                   const std::string& device_id);
// Creates workload lines [begin, end) in `store` through Batch::create, a commit every
// 10,000 (the local_write path; untimed by the callers).
void load_records(Store& store, const Workload& workload, size_t begin, size_t end,
                  const std::string& collection);
// The 2-digit province prefixes of village_code over workload lines [begin, end), sorted.
std::vector<std::string> province_prefixes(const Workload& workload, size_t begin, size_t end);
// Registers the store's device with a code for `scope`; returns its token.
std::string register_device(SyncEnv& env, Store& store, const std::vector<std::string>& scope);
// Pushes or pulls through the server directly (setup steps, not measured).
SyncReport sync_direct(SyncEnv& env, Store& store, const std::string& token,
                       const std::string& what);

// --- the device worker ---------------------------------------------------------------------
struct WorkerDevice {
  std::string db;
  std::string device_id;
  std::string token;
  // Where this device connects, when not WorkerSpec::url: one URL, or several that its
  // requests take in turn (a load balancer without stickiness, over K servers).
  std::vector<std::string> urls = {};
};
struct WorkerStep {
  size_t device = 0;
  std::string action;  // "push", "pull", "sync", or "push_cut_resume"
};
struct WorkerSpec {
  std::string url;  // where devices connect (the relay)
  std::string schema_path;
  std::vector<WorkerDevice> devices;
  std::vector<WorkerStep> steps;  // sequential mode: in order
  bool concurrent = false;        // every device pushes at once, one thread each (steps unused)
  size_t cut_after = 0;           // push_cut_resume: requests that pass before the link dies
  size_t cut_down_for = 3;        // ... and how many requests fail after it
  // SyncOptions::bootstrap_snapshot. False (replay) unless the scenario sets it: pull does
  // (--first-pull, default snapshot as the engine), desa_pull runs both; many_devices, push,
  // concurrent_edit and resume keep replaying so that their figures compare with earlier ones.
  bool first_pull_snapshot = false;
};
// Runs the spec in a child process; returns its JSON report: seconds (timed part), steps[],
// errors, error_messages, peak_rss_mb, requests, retries, pushed, pulled, conflicts,
// est_bytes_up/est_bytes_down (the SyncClient's own estimate).
Json run_worker(const Options& options, const WorkerSpec& spec, const std::string& tag);
// Entry point of `lumbung-bench --worker SPEC.json` (main.cpp).
int worker_main(const std::string& spec_path);

// The line fields every sync scenario prints (relay bytes, requests, bytes_per_record...).
void fill_wire_figures(Result& r, const Json& worker, const Relay& relay, size_t records);
// The same, summed over every relay of `env` (K servers).
void fill_wire_figures(Result& r, const Json& worker, const SyncEnv& env, size_t records);
// servers, load average, and the servers' (and PostgreSQL's) CPU between `before` and
// `after`: server_cpu_s and server_cpu_us_per_<unit> = CPU / `count` (pg_cpu_* alike, or
// null with pg_cpu_note saying why). `unit`: "op" (pushed ops) or "record" (pulled records).
void fill_cpu_figures(Result& r, const SyncEnv& env, const CpuSample& before,
                      const CpuSample& after, size_t count, const std::string& unit);
// server_db_bytes (SyncEnv::db_bytes, call after stop_server so SQLite has checkpointed) and,
// given the size before the timed part, server_db_bytes_per_record = growth / `records`;
// on PostgreSQL server_db_tables: {table: [heap+TOAST bytes, index bytes, live rows, dead rows]}.
void add_server_db_figures(Result& r, const SyncEnv& env, std::optional<uint64_t> before,
                           size_t records);
// The plain SQLite rate of the same workload in the same run (sqlite_baseline.h, like for
// like with the store), so a sync rate compares across machines: baseline_records_per_s and
// ratio_vs_baseline = that rate / the scenario's (r.records / r.seconds). Call after the
// timed part.
void add_baseline_figures(Result& r, const Options& options, const Workload& workload);

}  // namespace lumbung::bench

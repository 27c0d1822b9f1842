// The scenarios lumbung-bench knows, one file each (scenario_<name>.cpp). main.cpp holds
// the table that maps a --scenario name to its function; add a line there for a new one.
#pragma once

#include "bench.h"

namespace lumbung::bench {

// One device writes every workload record through the public Store API (validated, each
// write logged as a change), committing every Options::commit_every records; compared in
// the same run with plain SQLite inserts of the same JSON text (sqlite_baseline.h).
Result run_local_write(const Options& options, const Workload& workload);

// The sync scenarios: each starts a real lumbung-server (sync_support.h), runs the device
// side in a worker process through a byte-counting relay, and verifies every replica.
// push: one device loads N records (untimed) and pushes them all to a fresh server.
Result run_push(const Options& options, const Workload& workload);
// pull: after a push (untimed), a second, fresh device pulls everything.
Result run_pull(const Options& options, const Workload& workload);
// concurrent_edit: A and B hold the data, edit the same 1% offline (A phone, B
// monthly_income), then A push, B push, A pull, B pull; plus the same round at 10% and on a
// 10x smaller database, to show the cost follows the changes, not the database.
Result run_concurrent_edit(const Options& options, const Workload& workload);
// resume: push N records, the link dies at about half (an answer lost, then refused
// requests), the push gives up, a new push resumes: nothing lost, nothing applied twice.
Result run_resume(const Options& options, const Workload& workload);
// many_devices: K devices (Options::devices) push N/K records each, all at once.
Result run_many_devices(const Options& options, const Workload& workload);
// slow_link: push and pull over emulated 2G and 3G links, clean and cut every 30 KB, against
// one gzip -9 POST/GET of the bare records on the same link (scenario_slow_link.cpp).
Result run_slow_link(const Options& options, const Workload& workload);
// attachments: N photos of 300 KB (--records N, default 5) uploaded, then downloaded by a
// second device, over 2G, 2G cut every 30 KB and 3G (scenario_attachments.cpp).
Result run_attachments(const Options& options, const Workload& workload);
// progress: a server database of Options::server_records records (the workload cycled),
// written through the server store's write transactions (untimed); the dashboard's and the
// review API's progress answers timed over HTTP against the old per-request scan, timed in
// process on the same database (scenario_progress.cpp).
Result run_progress(const Options& options, const Workload& workload);
// desa_pull: a new laptop's first pull (snapshot, replay) of the busiest desa from a server
// of Options::server_records records written through its store, against a server of the
// workload alone in the same run; kabupaten_bootstrap: a new laptop's snapshot bootstrap of
// the busiest kabupaten (made to hold 100k + records), SQLite and PostgreSQL in the same run
// (scenario_region_pull.cpp).
Result run_desa_pull(const Options& options, const Workload& workload);
Result run_kabupaten_bootstrap(const Options& options, const Workload& workload);
// migrate: a device store of N records (the last 1% unsent) opened under schema version 2
// (a rename, a retirement, an added field and enum value, a tightened rule): the move timed,
// against a plain SQLite read-parse-rename-rewrite of the same records (scenario_migrate.cpp).
Result run_migrate(const Options& options, const Workload& workload);

}  // namespace lumbung::bench

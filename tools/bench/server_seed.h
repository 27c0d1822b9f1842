// A server database written straight through the server store's own write transactions,
// for the scenarios that need a big server (progress: 1 M records; desa_pull and
// kabupaten_bootstrap: 1 M records, or one kabupaten of 100k) without pushing every record
// through HTTP. Records are sealed as the server keeps them, progress counts are kept as for
// pushes, and (when asked) each record's creation is appended to the oplog as a push from
// one device, "bench-seed", would append it, so a replay pull has a log to read.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bench.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::bench {

class Workload;

// The server store in `dir`: SQLite in <dir>/data, or on PostgreSQL the database `url` (key
// file <dir>/server.key), as ServerProc gives them to the server. `seal_with`: seal personal
// data under that schema (as the server does at start); null reads without sealing.
std::unique_ptr<server::ServerStore> open_seed_store(const std::string& dir, const std::string& url,
                                                     const Schema* seal_with);

// What the seeded records are: line i % n of the workload, copy c = i / n, id
// "<line id>-<c>". Copy 0 keeps the line's village_code. Copies >= 1 get NIK serials of their
// own; with `kabupaten` set, copy 1 is re-keyed into that kabupaten (its first four digits;
// NIK region digits follow); and no copy >= 1 lands in `desa` (its last digit moved), so
// that desa holds the same records on a server of n records and on one of 10 n.
// With `grown_desa` set, the first `grown` lines of copy 0 (but those of `desa`) are re-keyed
// into it (a code no workload record has), so it holds the same records on either server;
// no copy >= 1 lands in it either.
struct SeedPlan {
  size_t total = 0;
  std::string desa;
  std::string kabupaten;
  bool with_ops = false;  // append each creation to the oplog
  std::string grown_desa = {};
  size_t grown = 0;
};

struct SeededRecord {
  std::string id;
  std::string village;
  Json fields;  // normalised by the schema, without "id"
};

// The village_code of every workload line, parsed once.
std::vector<std::string> workload_villages(const Workload& workload);
// The village of record i of the plan (cheap: no record built).
std::string seeded_village(const SeedPlan& plan, const std::vector<std::string>& villages,
                           size_t i);
// Record i of the plan, as the server will hold it.
SeededRecord seeded_record(const Workload& workload, const CollectionSchema& cs,
                           const SeedPlan& plan, size_t i);

// Writes the plan's records (20,000 a transaction) into `store`. Returns seconds taken.
double seed_server(const Workload& workload, const CollectionSchema& cs, const SeedPlan& plan,
                   server::ServerStore& store, const std::string& col);

// The oracle: how many records of the plan have a village under `prefix`, and their
// content digest (digest.h), computed from the generated data, not from any server.
struct RegionExpect {
  uint64_t count = 0;
  std::string digest;
};
RegionExpect expected_region(const Workload& workload, const CollectionSchema& cs,
                             const SeedPlan& plan, const std::string& prefix);

// A desa code under the same kecamatan as `near` that no workload record has.
std::string unused_desa(const std::vector<std::string>& villages, const std::string& near);

// The region code of `len` digits holding the most workload records (ties: lowest code),
// and its count.
std::pair<std::string, size_t> busiest_region(const std::vector<std::string>& villages, size_t len);

}  // namespace lumbung::bench

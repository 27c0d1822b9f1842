// Seeding a server database through its store (server_seed.h).

#include "server_seed.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

#include "digest.h"
#include "keys/server_keys.h"
#include "lumbung/changeset.h"
#include "store/pg_server_store.h"
#include "store/record_codec.h"
#include "store/sqlite_server_store.h"
#include "workload.h"

namespace lumbung::bench {

using server::ServerStore;

std::unique_ptr<ServerStore> open_seed_store(const std::string& dir, const std::string& url,
                                             const Schema* seal_with) {
  std::unique_ptr<ServerStore> out;
  if (url.empty()) {
    auto s = server::SqliteServerStore::open(dir + "/data");
    if (seal_with) {
      const std::string key_file = server::ServerKeys::default_path(dir + "/data");
      s->seal_personal_data(*server::ServerKeys::open_or_create(key_file, {}), *seal_with);
    }
    out = std::move(s);
  } else {
    auto s = server::PgServerStore::open(url);
    if (seal_with) {
      s->seal_personal_data(*server::ServerKeys::open_or_create(dir + "/server.key", {}),
                            *seal_with);
    }
    out = std::move(s);
  }
  return out;
}

std::vector<std::string> workload_villages(const Workload& workload) {
  std::vector<std::string> out;
  out.reserve(workload.size());
  for (size_t i = 0; i < workload.size(); ++i) {
    out.push_back(Json::parse(workload.line(i)).value("village_code", std::string()));
  }
  return out;
}

namespace {
// Copy c's village for line `line`, whose own village is `v` (SeedPlan).
std::string village_of(const SeedPlan& plan, size_t copy, size_t line, const std::string& v) {
  if (copy == 0) return line < plan.grown && v != plan.desa ? plan.grown_desa : v;
  if (v.size() != 10) return v;
  std::string out = v;
  if (copy == 1 && plan.kabupaten.size() == 4) out = plan.kabupaten + v.substr(4);
  // Off the measured desa (at most 10 tries: one of the 10 last digits is neither).
  for (int k = 0; k < 10 && (out == plan.desa || out == plan.grown_desa); ++k) {
    out.back() = static_cast<char>('0' + (out.back() - '0' + 1) % 10);
  }
  return out;
}
}  // namespace

std::string seeded_village(const SeedPlan& plan, const std::vector<std::string>& villages,
                           size_t i) {
  const size_t n = villages.size();
  return village_of(plan, i / n, i % n, villages[i % n]);
}

std::string unused_desa(const std::vector<std::string>& villages, const std::string& near) {
  const std::set<std::string> used(villages.begin(), villages.end());
  for (int k = 0; k < 10000; ++k) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04d", (k + 1001) % 10000);
    const std::string code = near.substr(0, 6) + buf;
    if (!used.count(code)) return code;
  }
  throw std::runtime_error("no unused desa code near " + near);
}

SeededRecord seeded_record(const Workload& workload, const CollectionSchema& cs,
                           const SeedPlan& plan, size_t i) {
  const size_t n = workload.size(), copy = i / n;
  Json doc = Json::parse(workload.line(i % n));
  SeededRecord r;
  r.id = doc.value("id", std::string()) + "-" + std::to_string(copy);
  const std::string own = doc.value("village_code", std::string());
  const std::string v = village_of(plan, copy, i % n, own);
  if (v != own || copy > 0) {
    std::string nik = doc.value("nik", std::string());
    if (nik.size() == 16 && v.size() == 10) {
      // Region digits follow the village; the serial moves so copies are not one person.
      const int serial = (std::stoi(nik.substr(12)) + 1000 * static_cast<int>(copy)) % 10000;
      char buf[8];
      std::snprintf(buf, sizeof buf, "%04d", serial == 0 ? 1 : serial);
      doc["nik"] = v.substr(0, 6) + nik.substr(6, 6) + buf;
    }
    doc["village_code"] = v;
  }
  r.fields = expected_fields(doc.dump(), cs);  // normalised as a push would have stored it
  r.village = r.fields.value("village_code", std::string());
  return r;
}

double seed_server(const Workload& workload, const CollectionSchema& cs, const SeedPlan& plan,
                   ServerStore& store, const std::string& col) {
  constexpr size_t kPerTxn = 20000;
  constexpr uint64_t kHlc0 = uint64_t{1764892800000} << 16;  // 2025-12-05, hlc of record 0
  const double t0 = now_seconds();
  for (size_t done = 0; done < plan.total;) {
    std::vector<std::pair<uint64_t, SeededRecord>> batch;
    for (size_t k = 0; k < kPerTxn && done < plan.total; ++k, ++done) {
      batch.emplace_back(done, seeded_record(workload, cs, plan, done));
    }
    auto txn = store.begin_write();
    std::vector<std::pair<std::string, std::string>> ids;
    for (const auto& b : batch) ids.emplace_back(col, b.second.id);
    txn->lock_records(ids, {});
    for (const auto& [i, rec] : batch) {
      const Version v{kHlc0 + i, "bench-seed"};
      const std::string nik = rec.fields.value("nik", std::string());
      txn->insert_new_record(col, rec.id, rec.fields.dump(), codec::encode_one_version(v),
                             rec.village, nik);
      if (plan.with_ops) {
        // As the push of device bench-seed, op seq i + 1, would have logged it.
        Op op;
        op.seq = i + 1;
        op.collection = col;
        op.id = rec.id;
        op.version = v;
        op.set = rec.fields;
        txn->append_op(op, rec.village, encode_op_text(op, /*with_device=*/true, op.set.dump()));
      }
    }
    txn->commit();
    if (done % 200000 == 0 || done == plan.total) {
      std::fprintf(stderr, "  seed: %zu records written (%.0f s)\n", done, now_seconds() - t0);
    }
  }
  return now_seconds() - t0;
}

RegionExpect expected_region(const Workload& workload, const CollectionSchema& cs,
                             const SeedPlan& plan, const std::string& prefix) {
  const std::vector<std::string> villages = workload_villages(workload);
  std::map<std::string, std::string> rows;  // id -> fields, in id order for the digest
  for (size_t i = 0; i < plan.total; ++i) {
    if (seeded_village(plan, villages, i).compare(0, prefix.size(), prefix) != 0) continue;
    SeededRecord r = seeded_record(workload, cs, plan, i);
    rows.emplace(std::move(r.id), r.fields.dump());
  }
  RegionExpect e;
  ContentDigest d;
  for (const auto& [id, fields] : rows) d.add_record(id, fields);
  e.count = rows.size();
  e.digest = d.hex();
  return e;
}

std::pair<std::string, size_t> busiest_region(const std::vector<std::string>& villages,
                                              size_t len) {
  std::map<std::string, size_t> n;
  for (const auto& v : villages)
    if (v.size() >= len) ++n[v.substr(0, len)];
  std::pair<std::string, size_t> best{"", 0};
  for (const auto& [code, c] : n)
    if (c > best.second) best = {code, c};  // map order: the lowest code wins a tie
  return best;
}

}  // namespace lumbung::bench

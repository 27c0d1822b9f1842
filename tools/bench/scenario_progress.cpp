// Scenario progress (issue 16, "the progress page of a server with 1 M records answers in
// < 1 s"): a server database of Options::server_records records (default 1,000,000: the
// workload's lines again and again, each copy with new ids) is written through the server
// store's own write transactions (untimed; the progress counts are kept as they are for
// pushes), then the real lumbung-server is started on it and the progress answers are timed
// over HTTP: the dashboard's /v1/web/progress at the country, a province and a kabupaten,
// and the review API's /v1/progress. Baseline in the same run: the old per-request scan
// (every live record's document read and parsed, as the code before the counts did), timed
// in this process on the same database, beside the counts read the same way.
//
// Verified: every answer is 200; the server's total equals the records written (less none:
// nothing is deleted) and the scan's total; the counts' per-status figures equal the scan's.
// Not exercised: the oplog (the seeding writes records only: progress never reads the log).
// A database this scenario left in the same --workdir is used again (seeding 1 M records
// takes minutes); the server's start is given up to 15 minutes (it reads the database).
// --backend postgres: a new database of the bench's PostgreSQL cluster, seeded the same way.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "checker.h"
#include "keys/server_keys.h"
#include "lumbung/schema.h"
#include "lumbung/sync.h"
#include "proc.h"
#include "scenarios.h"
#include "server_seed.h"
#include "store/pg_server_store.h"
#include "store/record_codec.h"
#include "store/sqlite_server_store.h"
#include "support/pg_cluster.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

using server::ServerStore;

// The tallies a progress answer is made of (what the old scan built per request).
struct Tally {
  uint64_t total = 0;
  std::map<std::string, uint64_t> by_status, by_program, by_officer, by_day;
  std::map<std::string, uint64_t> children;  // by region prefix of `child_len` digits
};

std::string str_or_none(const Json& doc, const char* name, size_t len = std::string::npos) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return "(none)";
  }
  return it->get_ref<const std::string&>().substr(0, len);
}

// The code before the counts: every live record of the prefix read and parsed per request.
Tally old_scan(ServerStore& store, const std::string& col, const std::string& prefix,
               size_t child_len) {
  Tally t;
  store.for_each_live(col, prefix, [&](const std::string& sc, std::string_view text) {
    const Json doc = Json::parse(text, nullptr, false);
    if (!doc.is_object()) return;
    const std::string st = str_or_none(doc, "status");
    ++t.total;
    ++t.by_status[st];
    if (sc.size() >= child_len) ++t.children[sc.substr(0, child_len)];
    if (auto it = doc.find("programs"); it != doc.end() && it->is_array()) {
      for (const auto& m : *it)
        if (m.is_string()) ++t.by_program[m.get<std::string>()];
    }
    ++t.by_officer[str_or_none(doc, "officer_id")];
    ++t.by_day[str_or_none(doc, "created_at", 10)];
  });
  return t;
}

// The same tallies from the counts (what the server now does per request).
Tally from_counts(ServerStore& store, const std::string& col, const std::string& prefix,
                  size_t child_len) {
  Tally t;
  store.for_each_count(
      col, prefix, [&](std::string_view sc, std::string_view dim, std::string_view key, int64_t n) {
        const auto c = static_cast<uint64_t>(n);
        if (dim == "status") {
          t.total += c;
          t.by_status[std::string(key)] += c;
          if (sc.size() >= child_len) t.children[std::string(sc.substr(0, child_len))] += c;
        } else if (dim == "set:programs") {
          t.by_program[std::string(key)] += c;
        } else if (dim == "officer") {
          t.by_officer[std::string(key)] += c;
        } else if (dim == "day") {
          t.by_day[std::string(key)] += c;
        }
      });
  return t;
}

// Writes `total` records (the workload cycled, new ids) through the store's write
// transactions, sealed as the server keeps them. On PostgreSQL each transaction first takes
// its records' locks (WriteTxn::lock_records, as a push does), so its new records are
// written in one statement at commit.
void seed(const Workload& workload, ServerStore& store, const std::string& col, size_t total) {
  const std::string versions = codec::encode_one_version(Version{1, "bench-seed"});
  constexpr size_t kPerTxn = 20000;
  const double t0 = now_seconds();
  for (size_t done = 0; done < total;) {
    std::vector<std::pair<std::string, std::pair<std::string, Json>>> batch;
    for (size_t k = 0; k < kPerTxn && done < total; ++k, ++done) {
      Json doc = Json::parse(workload.line(done % workload.size()));
      std::string id = doc["id"].get<std::string>() + "-" + std::to_string(done / workload.size());
      doc.erase("id");
      std::string village = doc.value("village_code", std::string());
      batch.push_back({std::move(id), {std::move(village), std::move(doc)}});
    }
    auto txn = store.begin_write();
    std::vector<std::pair<std::string, std::string>> ids;
    for (const auto& b : batch) ids.emplace_back(col, b.first);
    txn->lock_records(ids, {});
    for (const auto& [id, v] : batch) {
      txn->insert_new_record(col, id, v.second.dump(), versions, v.first,
                             v.second.value("nik", std::string()));
    }
    txn->commit();
    if (done % 200000 == 0 || done == total) {
      std::fprintf(stderr, "progress: %zu records written (%.0f s)\n", done, now_seconds() - t0);
    }
  }
}

// Median and slowest of `runs` timings of `fn`, seconds.
template <class F>
std::pair<double, double> timed(int runs, F&& fn) {
  std::vector<double> s;
  for (int i = 0; i < runs; ++i) {
    const double t = now_seconds();
    fn();
    s.push_back(now_seconds() - t);
  }
  std::sort(s.begin(), s.end());
  return {s[s.size() / 2], s.back()};
}

}  // namespace

Result run_progress(const Options& options, const Workload& workload) {
  const std::shared_ptr<const Schema> schema = Schema::load_file(options.schema_path);
  const std::string col = workload_collection(*schema);
  const size_t total = options.server_records ? options.server_records : 1000000;
  Checker check("progress");
  const std::string dir = options.workdir + "/progress";
  // A province and a kabupaten to ask for: the first record's.
  const std::string village =
      Json::parse(workload.line(0)).value("village_code", std::string("0000"));
  const std::string province = village.substr(0, 2), kabupaten = village.substr(0, 4);
  // A database this scenario wrote before in the same --workdir is used again (seeding 1 M
  // records takes minutes); its size is checked below like a new one's. PostgreSQL: always a
  // new database of the bench's cluster.
  const bool pg = server_backend() == ServerBackend::kPostgres;
  const std::string url = pg ? test::PgCluster::shared().create_database() : std::string();
  double seed_s = -1;
  if (pg || !std::filesystem::exists(dir + "/data/lumbung-server.db")) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/data");
    std::fprintf(stderr, "progress: writing %zu server records (untimed)...\n", total);
    const double t_seed = now_seconds();
    seed(workload, *open_seed_store(dir, url, schema.get()), col, total);
    seed_s = now_seconds() - t_seed;
  } else {
    std::fprintf(stderr, "progress: using the database already in %s\n", dir.c_str());
  }

  Result r;
  r.records = total;
  // In this process, on the same database: the old scan against the counts.
  {
    auto store = open_seed_store(dir, url, nullptr);
    std::fprintf(stderr, "progress: the old scan and the counts, in process...\n");
    Tally scan, counted;
    const auto scan_s = timed(1, [&] { scan = old_scan(*store, col, "", 2); });
    const auto count_s = timed(5, [&] { counted = from_counts(*store, col, "", 2); });
    const auto scan_kab_s = timed(1, [&] { scan = old_scan(*store, col, kabupaten, 6); });
    Tally counted_kab;
    const auto count_kab_s =
        timed(5, [&] { counted_kab = from_counts(*store, col, kabupaten, 6); });
    check(counted_kab.total == scan.total && counted_kab.by_status == scan.by_status &&
              counted_kab.children == scan.children && counted_kab.by_program == scan.by_program,
          "kabupaten " + kabupaten + ": counts differ from the scan");
    scan = old_scan(*store, col, "", 2);
    check(scan.total == total, "scan total " + std::to_string(scan.total));
    check(counted.total == total, "counts total " + std::to_string(counted.total));
    check(counted.by_status == scan.by_status && counted.children == scan.children &&
              counted.by_program == scan.by_program && counted.by_officer == scan.by_officer &&
              counted.by_day == scan.by_day,
          "country: counts differ from the scan");
    r.extra["old_scan_country_s"] = scan_s.first;
    r.extra["counts_country_s"] = count_s.first;
    r.extra["old_scan_kabupaten_s"] = scan_kab_s.first;
    r.extra["counts_kabupaten_s"] = count_kab_s.first;
    r.extra["kabupaten"] = kabupaten;
    r.extra["kabupaten_records"] = counted_kab.total;
  }
  // The real server on that database: the answers over HTTP, each asked 5 times.
  std::fprintf(stderr, "progress: starting lumbung-server on it...\n");
  const double t_start = now_seconds();
  // Its start reads the database (schema versions, attachment references): minutes at 1 M.
  ServerProc server(options.server_bin, dir, 900, url);
  r.extra["server_start_s"] = now_seconds() - t_start;
  auto http = make_http_transport(server.url());
  auto call = [&](const std::string& method, const std::string& target, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    req.headers = headers;
    req.headers.emplace_back("Accept", "application/json");
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    return http->send(req);
  };
  const auto tok =
      call("POST", "/v1/admin/tokens", Json{{"role", "reviewer"}, {"label", "b"}}.dump(),
           {{"Authorization", "Bearer " + server.admin_token()}});
  check(tok.status == 201, "reviewer token: " + std::to_string(tok.status));
  const std::string reviewer = Json::parse(tok.body, nullptr, false).value("token", "");
  const auto login = call("POST", "/v1/web/login", Json{{"token", reviewer}}.dump(), {});
  check(login.status == 200, "web login: " + std::to_string(login.status));
  std::string cookie;
  if (auto it = login.headers.find("set-cookie"); it != login.headers.end()) {
    cookie = it->second.substr(0, it->second.find(';'));
  }
  double slowest = 0;
  auto ask = [&](const char* name, const std::string& target, bool web) {
    uint64_t got = 0;
    const auto s = timed(5, [&] {
      std::vector<std::pair<std::string, std::string>> h;
      if (web) {
        h.emplace_back("Cookie", cookie);
      } else {
        h.emplace_back("Authorization", "Bearer " + reviewer);
      }
      const auto resp = call("GET", target, "", h);
      check(resp.status == 200, target + ": " + std::to_string(resp.status));
      got = Json::parse(resp.body, nullptr, false).value("total", uint64_t{0});
    });
    r.extra[std::string(name) + "_s"] = s.first;
    r.extra[std::string(name) + "_max_s"] = s.second;
    slowest = std::max(slowest, s.second);
    return got;
  };
  const uint64_t country = ask("web_country", "/v1/web/progress", true);
  check(country == total, "web progress total " + std::to_string(country));
  ask("web_province", "/v1/web/progress?scope=" + province, true);
  ask("web_kabupaten", "/v1/web/progress?scope=" + kabupaten, true);
  const uint64_t api = ask("api_country", "/v1/progress", false);
  check(api == total, "api progress total " + std::to_string(api));
  ask("api_kabupaten", "/v1/progress?scope=" + kabupaten, false);
  r.seconds = slowest;  // the slowest progress answer over HTTP
  r.extra["seed_s"] = seed_s;
  r.server_peak_rss_mb = server.peak_rss_mb();
  server.stop();
  std::error_code ec;
  r.db_bytes = pg ? 0 : std::filesystem::file_size(dir + "/data/lumbung-server.db", ec);
  r.verified = check.ok();
  return r;
}

}  // namespace lumbung::bench

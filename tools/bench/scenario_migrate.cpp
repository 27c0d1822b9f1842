// Scenario migrate: a laptop moving to a newer schema version (issue 18).
//
// Not timed: the device store is filled with the workload through Batch (as local_write),
// every change but the last 1% acknowledged (a laptop that synced, then worked offline),
// and closed. Timed: Store::open under version 2 of the schema (phone -> phone_number,
// position retired, npwp added, an occupation value added, birth_place tightened), which
// renames every record in one transaction, logs the unsent creates in the old names and
// compacts the file (store_migrate.cpp). The same run's baseline: the same records as JSON
// text in a plain SQLite table (sqlite_baseline.h), each read, parsed, its phone renamed and
// position dropped, and written back, in one transaction.
//
// Verified: every record under the new names (none keeps phone or position), the count,
// the unsent changes still unsent, and the baseline rewrote every row.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <sqlite3.h>

#include "lumbung/store.h"
#include "scenarios.h"
#include "sqlite_baseline.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

Json version_2(const Json& v1) {
  Json d = v1;
  d["version"] = v1.value("version", 1) + 1;
  auto& fields = d["collections"][0]["fields"];
  for (auto it = fields.begin(); it != fields.end();) {
    if ((*it)["name"] == "phone") (*it)["name"] = "phone_number";
    if ((*it)["name"] == "occupation") (*it)["values"].push_back("penenun");
    if ((*it)["name"] == "birth_place") (*it)["max_length"] = 20;
    it = (*it)["name"] == "position" ? fields.erase(it) : it + 1;
  }
  fields.push_back(Json{{"name", "npwp"}, {"type", "string"}, {"max_length", 20}});
  const std::string c = d["collections"][0]["name"];
  d["changelog"] = Json::array({Json{
      {"version", d["version"]},
      {"steps",
       Json::array({
           {{"op", "rename_field"}, {"collection", c}, {"from", "phone"}, {"to", "phone_number"}},
           {{"op", "retire_field"}, {"collection", c}, {"field", "position"}},
           {{"op", "add_field"}, {"collection", c}, {"field", "npwp"}},
           {{"op", "add_enum_value"},
            {"collection", c},
            {"field", "occupation"},
            {"value", "penenun"}},
           {{"op", "tighten_rule"}, {"collection", c}, {"field", "birth_place"}},
       })}}});
  return d;
}

void exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "?";
    sqlite3_free(msg);
    throw std::runtime_error(std::string("sqlite: ") + m);
  }
}

// The plain rewrite: every row read, parsed, renamed, written back, one transaction.
size_t plain_rewrite(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
  size_t n = 0;
  try {
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; BEGIN");
    sqlite3_stmt* sel = nullptr;
    sqlite3_stmt* upd = nullptr;
    sqlite3_prepare_v2(db, "SELECT id, doc FROM docs", -1, &sel, nullptr);
    sqlite3_prepare_v2(db, "UPDATE docs SET doc=?2 WHERE id=?1", -1, &upd, nullptr);
    std::vector<std::pair<std::string, std::string>> rows;
    while (sqlite3_step(sel) == SQLITE_ROW) {
      rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(sel, 0)),
                        reinterpret_cast<const char*>(sqlite3_column_text(sel, 1)));
    }
    sqlite3_finalize(sel);
    for (auto& [id, text] : rows) {
      Json j = Json::parse(text);
      if (auto p = j.find("phone"); p != j.end()) {
        j["phone_number"] = std::move(*p);
        j.erase("phone");
      }
      j.erase("position");
      const std::string out = j.dump();
      sqlite3_bind_text(upd, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(upd, 2, out.data(), static_cast<int>(out.size()), SQLITE_STATIC);
      if (sqlite3_step(upd) != SQLITE_DONE) throw std::runtime_error("baseline update failed");
      sqlite3_reset(upd);
      ++n;
    }
    sqlite3_finalize(upd);
    exec(db, "COMMIT");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
  return n;
}

}  // namespace

Result run_migrate(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  std::ifstream in(options.schema_path);
  const Json v1 = Json::parse(in);
  auto schema1 = Schema::parse(v1);
  auto schema2 = Schema::parse(version_2(v1));
  const std::string collection = schema1->collections().front().name();

  const std::string path = options.workdir + "/device-migrate.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  OpenOptions open_options;
  open_options.path = path;
  open_options.schema = schema1;
  open_options.device_id = "bench-migrate";
  open_options.passphrase = options.passphrase;
  const size_t unsent = n / 100;
  {
    std::fprintf(stderr, "migrate: writing %zu records under version 1 (not timed)...\n", n);
    auto store = Store::open(open_options);
    std::optional<Batch> batch;
    for (size_t i = 0; i < n; ++i) {
      if (!batch) batch.emplace(store->begin_batch());
      Json fields = Json::parse(workload.line(i));
      std::string id = fields.value("id", std::string());
      fields.erase("id");
      batch->create(collection, std::move(fields), std::move(id));
      if ((i + 1) % 10000 == 0) {
        batch->commit();
        batch.reset();
      }
    }
    if (batch) batch->commit();
    store->acknowledge(n - unsent);  // synced, then the last 1% written offline
  }

  std::fprintf(stderr, "migrate: opening under version 2 (%zu unsent)...\n", unsent);
  open_options.schema = schema2;
  const double t0 = now_seconds();
  auto store = Store::open(open_options);
  const double seconds = now_seconds() - t0;
  std::fprintf(stderr, "migrate: %.3f s (%.0f records/s)\n", seconds, n / seconds);

  std::fprintf(stderr, "migrate: plain SQLite rewrite baseline...\n");
  const BaselineResult filled = run_sqlite_baseline(workload, options.workdir + "/baseline.db");
  const double b0 = now_seconds();
  const size_t rewritten = plain_rewrite(options.workdir + "/baseline.db");
  const double base_s = now_seconds() - b0;
  std::fprintf(stderr, "migrate: baseline %.3f s (%.0f records/s)\n", base_s, n / base_s);

  bool ok = true;
  auto check = [&](bool cond, const std::string& what) {
    if (!cond) {
      std::fprintf(stderr, "migrate: VERIFY FAILED: %s\n", what.c_str());
      ok = false;
    }
  };
  check(store->schema().version() == schema2->version(), "store not on version 2");
  check(store->count(collection) == n, "count differs");
  check(store->stats().pending_changes == unsent, "unsent changes differ");
  check(filled.rows == n && rewritten == n, "baseline rows differ");
  size_t seen = 0, old_names = 0, with_phone = 0;
  Query q;
  q.collection = collection;
  q.limit = 1000;
  for (size_t page = 0; page < n / 1000 + 2; ++page) {
    Page p = store->query(q);
    for (const auto& r : p.records) {
      ++seen;
      if (r.fields.contains("phone") || r.fields.contains("position")) ++old_names;
      if (r.fields.contains("phone_number")) ++with_phone;
    }
    if (p.next_after.empty()) break;
    q.after_id = p.next_after;
  }
  check(seen == n, "walked " + std::to_string(seen) + " records");
  check(old_names == 0, std::to_string(old_names) + " records keep version 1 names");
  check(with_phone > 0, "no record has phone_number");
  store.reset();

  Result r;
  r.records = n;
  r.seconds = seconds;
  r.extra["unsent_changes"] = unsent;
  r.extra["records_with_phone_number"] = with_phone;
  r.extra["baseline_seconds"] = base_s;
  r.extra["baseline_records_per_s"] = n / base_s;
  r.extra["ratio_vs_baseline"] = seconds / base_s;
  std::error_code ec;
  r.db_bytes = std::filesystem::file_size(path, ec);
  r.verified = ok;
  return r;
}

}  // namespace lumbung::bench

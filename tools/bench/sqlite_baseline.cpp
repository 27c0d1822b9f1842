#include "sqlite_baseline.h"

#include <cstdint>
#include <filesystem>
#include <stdexcept>

#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "bench.h"
#include "lumbung/tuning.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

struct Db {
  sqlite3* h = nullptr;
  ~Db() { sqlite3_close(h); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      throw std::runtime_error("baseline: `" + sql + "` failed: " + msg);
    }
  }
};

struct Stmt {
  sqlite3_stmt* h = nullptr;
  ~Stmt() { sqlite3_finalize(h); }
};

// kLikeEngine: the connection set-up of engine/src/common/sqlite.cpp (page size first: it
// only takes effect before WAL mode writes the header) and the store's checkpoint, so the
// comparison is of the work done per record, not of storage settings.
void open_db(Db& db, const std::string& path, bool like_engine) {
  if (sqlite3_open_v2(path.c_str(), &db.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    throw std::runtime_error("baseline: cannot open " + path);
  }
  if (like_engine) db.exec("PRAGMA page_size=" + std::to_string(kSqlitePageBytes));
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
  db.exec("PRAGMA cache_size=-" + std::to_string(kSqliteCacheKiB));
  if (like_engine) db.exec("PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages));
}

void prepare_stmt(Db& db, Stmt& st, const char* sql) {
  if (sqlite3_prepare_v2(db.h, sql, -1, &st.h, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("baseline: prepare failed: ") + sqlite3_errmsg(db.h));
  }
}

void step_done(Db& db, Stmt& st) {
  if (sqlite3_step(st.h) != SQLITE_DONE) {
    throw std::runtime_error(std::string("baseline: insert failed: ") + sqlite3_errmsg(db.h));
  }
  sqlite3_reset(st.h);
}

size_t count_rows(Db& db, const char* table) {
  Stmt count;
  prepare_stmt(db, count, (std::string("SELECT count(*) FROM ") + table).c_str());
  return sqlite3_step(count.h) == SQLITE_ROW ? static_cast<size_t>(sqlite3_column_int64(count.h, 0))
                                             : 0;
}

// The digits of a JSON string member as an integer (scope and natural-key columns), or -1.
int64_t digits_of(const nlohmann::json& fields, const char* name) {
  const auto it = fields.find(name);
  if (it == fields.end() || !it->is_string()) return -1;
  int64_t v = 0;
  for (char c : it->get_ref<const std::string&>()) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

unsigned long long sqlite_files_bytes(const std::string& path) {
  unsigned long long total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += n;
  }
  return total;
}

BaselineResult run_sqlite_baseline(const Workload& workload, const std::string& path,
                                   BaselineSetup setup, size_t commit_every) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  const bool like_engine = setup == BaselineSetup::kLikeEngine;
  if (!like_engine || commit_every == 0) commit_every = workload.size();
  BaselineResult out;
  {
    Db db;
    open_db(db, path, like_engine);
    db.exec("CREATE TABLE docs(id TEXT PRIMARY KEY, doc TEXT NOT NULL)");
    Stmt ins;
    prepare_stmt(db, ins, "INSERT INTO docs(id, doc) VALUES(?1, ?2)");

    const double t0 = now_seconds();
    for (size_t i = 0; i < workload.size(); ++i) {
      if (i % commit_every == 0) db.exec("BEGIN");
      const std::string_view line = workload.line(i);
      const std::string_view id = extract_id(line);
      sqlite3_bind_text(ins.h, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(ins.h, 2, line.data(), static_cast<int>(line.size()), SQLITE_STATIC);
      step_done(db, ins);
      if ((i + 1) % commit_every == 0 || i + 1 == workload.size()) db.exec("COMMIT");
    }
    out.seconds = now_seconds() - t0;
    out.rows = count_rows(db, "docs");
  }
  out.db_bytes = sqlite_files_bytes(path);
  return out;
}

BaselineResult run_engine_rows_floor(const Workload& workload, const std::string& path,
                                     const std::string& collection, size_t commit_every) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  if (commit_every == 0) commit_every = workload.size();
  BaselineResult out;
  {
    Db db;
    open_db(db, path, true);
    // The store's tables and indexes as engine/src/store/store_impl.h (kDdl) makes them.
    db.exec(
        "CREATE TABLE records(rid INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, "
        "doc TEXT NOT NULL, ver TEXT NOT NULL, del_hlc INTEGER NOT NULL DEFAULT 0, "
        "del_dev TEXT NOT NULL DEFAULT '', live INTEGER NOT NULL, scope INTEGER, nkey ANY, "
        "sealed BLOB, mac BLOB);"
        "CREATE UNIQUE INDEX records_id ON records(id);"
        "CREATE INDEX records_scope ON records(scope);"
        "CREATE INDEX records_nkey ON records(nkey) WHERE nkey IS NOT NULL;"
        "CREATE TABLE changes(seq INTEGER PRIMARY KEY, col TEXT NOT NULL, id TEXT NOT NULL, "
        "hlc INTEGER NOT NULL, wall_ms INTEGER NOT NULL, op TEXT, sealed BLOB, mac BLOB);");
    Stmt rec, log;
    prepare_stmt(db, rec,
                 "INSERT INTO records(col,id,doc,ver,live,scope,nkey) VALUES(?1,?2,?3,?4,1,?5,?6)");
    prepare_stmt(db, log,
                 "INSERT INTO changes(seq,col,id,hlc,wall_ms,op) VALUES(?1,?2,?3,?4,?5,?6)");
    // A fixed clock: stamps of the engine's size, no clock read per record.
    const int64_t wall_ms = 1765000000000;
    const uint64_t hlc0 = static_cast<uint64_t>(wall_ms) << 16;

    const double t0 = now_seconds();
    for (size_t i = 0; i < workload.size(); ++i) {
      if (i % commit_every == 0) db.exec("BEGIN");
      const double t_json = now_seconds();
      nlohmann::json fields = nlohmann::json::parse(workload.line(i));
      std::string id;
      if (auto it = fields.find("id"); it != fields.end()) {
        if (it->is_string()) id = it->get<std::string>();
        fields.erase(it);
      }
      const std::string doc = fields.dump();
      out.json_seconds += now_seconds() - t_json;
      const uint64_t hlc = hlc0 + i;
      const std::string ver = "{\"\":[" + std::to_string(hlc) + ",\"bench-a\"]}";
      const int64_t scope = digits_of(fields, "village_code");
      const int64_t nkey = digits_of(fields, "nik");
      sqlite3_bind_text(rec.h, 1, collection.data(), static_cast<int>(collection.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(rec.h, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(rec.h, 3, doc.data(), static_cast<int>(doc.size()), SQLITE_STATIC);
      sqlite3_bind_text(rec.h, 4, ver.data(), static_cast<int>(ver.size()), SQLITE_STATIC);
      if (scope < 0)
        sqlite3_bind_null(rec.h, 5);
      else
        sqlite3_bind_int64(rec.h, 5, scope);
      if (nkey < 0)
        sqlite3_bind_null(rec.h, 6);
      else
        sqlite3_bind_int64(rec.h, 6, nkey);
      step_done(db, rec);
      // The change-log entry of a create (changeset.cpp encode_op_text): its values again.
      const std::string op = "{\"seq\":" + std::to_string(i + 1) + ",\"col\":\"" + collection +
                             "\",\"id\":\"" + id + "\",\"hlc\":" + std::to_string(hlc) +
                             ",\"set\":" + doc + "}";
      sqlite3_bind_int64(log.h, 1, static_cast<int64_t>(i + 1));
      sqlite3_bind_text(log.h, 2, collection.data(), static_cast<int>(collection.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(log.h, 3, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(log.h, 4, static_cast<int64_t>(hlc));
      sqlite3_bind_int64(log.h, 5, wall_ms);
      sqlite3_bind_text(log.h, 6, op.data(), static_cast<int>(op.size()), SQLITE_STATIC);
      step_done(db, log);
      if ((i + 1) % commit_every == 0 || i + 1 == workload.size()) db.exec("COMMIT");
    }
    out.seconds = now_seconds() - t0;
    out.rows = count_rows(db, "records");
    if (count_rows(db, "changes") != out.rows) out.rows = 0;
  }
  out.db_bytes = sqlite_files_bytes(path);
  return out;
}

}  // namespace lumbung::bench

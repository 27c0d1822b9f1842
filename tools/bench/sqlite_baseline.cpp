#include "sqlite_baseline.h"

#include <filesystem>
#include <stdexcept>

#include <sqlite3.h>

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

}  // namespace

BaselineResult run_sqlite_baseline(const Workload& workload, const std::string& path,
                                   BaselineSetup setup, size_t commit_every) {
  namespace fs = std::filesystem;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  const bool like_engine = setup == BaselineSetup::kLikeEngine;
  if (!like_engine || commit_every == 0) commit_every = workload.size();
  BaselineResult out;
  {
    Db db;
    if (sqlite3_open_v2(path.c_str(), &db.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      throw std::runtime_error("baseline: cannot open " + path);
    }
    // kLikeEngine: the connection set-up of engine/src/common/sqlite.cpp (page size first:
    // it only takes effect before WAL mode writes the header) and the store's checkpoint,
    // so the comparison is of the work done per record, not of storage settings.
    if (like_engine) db.exec("PRAGMA page_size=" + std::to_string(kSqlitePageBytes));
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA foreign_keys=ON");
    db.exec("PRAGMA cache_size=-" + std::to_string(kSqliteCacheKiB));
    if (like_engine)
      db.exec("PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages));
    db.exec("CREATE TABLE docs(id TEXT PRIMARY KEY, doc TEXT NOT NULL)");
    Stmt ins;
    const char* sql = "INSERT INTO docs(id, doc) VALUES(?1, ?2)";
    if (sqlite3_prepare_v2(db.h, sql, -1, &ins.h, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("baseline: prepare failed: ") + sqlite3_errmsg(db.h));
    }

    const double t0 = now_seconds();
    for (size_t i = 0; i < workload.size(); ++i) {
      if (i % commit_every == 0) db.exec("BEGIN");
      const std::string_view line = workload.line(i);
      const std::string_view id = extract_id(line);
      sqlite3_bind_text(ins.h, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(ins.h, 2, line.data(), static_cast<int>(line.size()), SQLITE_STATIC);
      if (sqlite3_step(ins.h) != SQLITE_DONE) {
        throw std::runtime_error(std::string("baseline: insert failed: ") + sqlite3_errmsg(db.h));
      }
      sqlite3_reset(ins.h);
      if ((i + 1) % commit_every == 0 || i + 1 == workload.size()) db.exec("COMMIT");
    }
    out.seconds = now_seconds() - t0;

    Stmt count;
    sqlite3_prepare_v2(db.h, "SELECT count(*) FROM docs", -1, &count.h, nullptr);
    if (sqlite3_step(count.h) == SQLITE_ROW)
      out.rows = static_cast<size_t>(sqlite3_column_int64(count.h, 0));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto n = fs::file_size(path + suffix, ec);
    if (!ec) out.db_bytes += n;
  }
  return out;
}

}  // namespace lumbung::bench

// Thin RAII over the SQLite C API: a connection, reusable prepared statements, and a
// transaction that commits explicitly and rolls back in its destructor.
// Every SQLite failure becomes Error(kStorage) carrying SQLite's message.
// Not thread-safe: one Database per thread, or a mutex around it (Store does the latter).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lumbung::sql {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds are 1-based like SQLite's. Text is copied (SQLITE_TRANSIENT) unless bind_static.
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, std::string_view v);
  Statement& bind_static(int i, std::string_view v);  // caller keeps v alive until step
  Statement& bind_null(int i);
  Statement& bind_blob(int i, const void* data, size_t n);

  // Steps once: true if a row is available, false when done. Throws on error.
  bool step();
  // Steps to completion (for statements that return no rows).
  void run();
  // As run(), but a UNIQUE or PRIMARY KEY violation returns false instead of throwing.
  bool try_run();
  void reset();  // resets and clears bindings, ready for reuse

  int64_t column_int(int i) const;
  std::string column_text(int i) const;
  std::string_view column_view(int i) const;  // valid until the next step/reset
  bool column_is_null(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens or creates `path`. WAL mode, synchronous=NORMAL (durable across process crash;
  // a power cut may lose the last transactions but never corrupts), foreign keys on.
  explicit Database(const std::string& path, bool create = true);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  // A cached prepared statement for `sql`, reset and ready; valid while the Database lives.
  Statement& prepare(std::string_view sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE on construction; commit() makes it durable; the destructor rolls back
// anything not committed (an exception mid-write leaves no half write).
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace lumbung::sql

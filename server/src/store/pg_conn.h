// Private to server/src/store: a small RAII layer over libpq for PgServerStore.
//
// Every statement goes through exec() with its values as separate text parameters
// ($1, $2 ...): SQL text is never built from values. Results are owned by Result (PQclear in
// its destructor); connections by Conn (PQfinish). Errors become Error(kStorage) with the
// server's SQLSTATE in the message, so a deadlock (40P01) or a lost connection is a 503 that
// a laptop retries, never a crash.
//
// Pool: a fixed-size set of connections shared by the listener threads; a write
// transaction holds one for its whole life, a read for one call. Thread-safe.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lumbung::server::pg {

// One statement parameter as text (PostgreSQL casts it to the column's type); nullopt = NULL.
struct Param {
  std::optional<std::string> v;
  Param(const std::string& s) : v(s) {}        // NOLINT: implicit on purpose, keeps calls short
  Param(std::string&& s) : v(std::move(s)) {}  // NOLINT
  Param(const char* s) : v(std::string(s)) {}  // NOLINT
  Param(int64_t i) : v(std::to_string(i)) {}   // NOLINT
  Param(uint64_t i) : v(std::to_string(i)) {}  // NOLINT
  Param(int i) : v(std::to_string(i)) {}       // NOLINT
  Param(std::nullopt_t) {}                     // NOLINT
  Param(const std::optional<std::string>& s) : v(s) {}  // NOLINT
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;

  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string_view view(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col))};
  }
  std::string text(int row, int col) const { return std::string(view(row, col)); }
  // Integer columns (bigint, int, boolean as 0/1 via ::int). Throws kCorrupt if not a number.
  int64_t i64(int row, int col) const;
  uint64_t u64(int row, int col) const { return static_cast<uint64_t>(i64(row, col)); }
  // Rows an INSERT/UPDATE/DELETE touched.
  uint64_t affected() const;

 private:
  friend class Conn;
  PGresult* r_;
};

class Conn {
 public:
  // Connects to `url` (a libpq connection URI or key=value string). Throws kStorage.
  explicit Conn(const std::string& url);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Result exec(const char* sql, std::initializer_list<Param> params = {});
  Result exec(const std::string& sql, const std::vector<Param>& params);
  // Statements without parameters or results (BEGIN, DDL).
  void run(const char* sql) { exec(sql); }
  // Several statements without parameters in one call (the schema).
  void script(const char* sql);
  bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
  // The libpq connection, for COPY FROM STDIN (store/migrate_sqlite_to_pg.cpp).
  PGconn* handle() { return c_; }

 private:
  Result exec_n(const char* sql, const Param* params, size_t n);
  PGconn* c_ = nullptr;
};

class Pool {
 public:
  Pool(std::string url, size_t size);

  // A connection for the lease's life; blocks while all are leased. A broken connection is
  // replaced when it comes back.
  class Lease {
   public:
    explicit Lease(Pool& p);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Conn& operator*() { return *c_; }
    Conn* operator->() { return c_.get(); }

   private:
    Pool& p_;
    std::unique_ptr<Conn> c_;
  };

 private:
  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t out_ = 0;  // leased now
  size_t size_;
};

}  // namespace lumbung::server::pg

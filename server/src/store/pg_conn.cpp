#include "store/pg_conn.h"

#include <charconv>

#include "lumbung/error.h"

namespace lumbung::server::pg {

int64_t Result::i64(int row, int col) const {
  const std::string_view v = view(row, col);
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) {
    if (v == "t") return 1;  // a boolean column
    if (v == "f") return 0;
    throw Error(ErrorCode::kCorrupt, "postgresql: a stored number is not a number");
  }
  return out;
}

uint64_t Result::affected() const {
  const char* n = PQcmdTuples(r_);
  uint64_t out = 0;
  for (; n && *n >= '0' && *n <= '9'; ++n) out = out * 10 + static_cast<uint64_t>(*n - '0');
  return out;
}

Conn::Conn(const std::string& url) {
  c_ = PQconnectdb(url.c_str());
  if (!c_ || PQstatus(c_) != CONNECTION_OK) {
    // The message names host and user, never a password (libpq leaves it out).
    const std::string msg = c_ ? PQerrorMessage(c_) : "out of memory";
    PQfinish(c_);
    c_ = nullptr;
    throw Error(ErrorCode::kStorage, "postgresql: cannot connect: " + msg);
  }
  // Notices (e.g. "relation already exists, skipping") are for humans at a console.
  PQsetNoticeProcessor(
      c_, [](void*, const char*) {}, nullptr);
}

Conn::~Conn() { PQfinish(c_); }

Result Conn::exec(const char* sql, std::initializer_list<Param> params) {
  return exec_n(sql, params.begin(), params.size());
}

Result Conn::exec(const std::string& sql, const std::vector<Param>& params) {
  return exec_n(sql.c_str(), params.data(), params.size());
}

Result Conn::exec_n(const char* sql, const Param* params, size_t n) {
  std::vector<const char*> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = params[i].v ? params[i].v->c_str() : nullptr;
  Result r(PQexecParams(c_, sql, static_cast<int>(n), nullptr, values.data(), nullptr, nullptr, 0));
  PGresult* raw = r.r_;
  const ExecStatusType st = PQresultStatus(raw);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = raw ? PQresultErrorMessage(raw) : PQerrorMessage(c_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  throw Error(ErrorCode::kStorage,
              "postgresql [" + std::string(state ? state : "no sqlstate") + "]: " + msg);
}

void Conn::script(const char* sql) {
  Result r(PQexec(c_, sql));
  const ExecStatusType st = PQresultStatus(r.r_);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
  const char* state = r.r_ ? PQresultErrorField(r.r_, PG_DIAG_SQLSTATE) : nullptr;
  throw Error(ErrorCode::kStorage,
              "postgresql [" + std::string(state ? state : "no sqlstate") +
                  "]: " + (r.r_ ? PQresultErrorMessage(r.r_) : PQerrorMessage(c_)));
}

Pool::Pool(std::string url, size_t size) : url_(std::move(url)), size_(size) {}

Pool::Lease::Lease(Pool& p) : p_(p) {
  std::unique_lock<std::mutex> lock(p.mu_);
  p.cv_.wait(lock, [&p] { return !p.idle_.empty() || p.out_ < p.size_; });
  ++p.out_;
  if (!p.idle_.empty()) {
    c_ = std::move(p.idle_.back());
    p.idle_.pop_back();
    return;
  }
  lock.unlock();
  try {
    c_ = std::make_unique<Conn>(p.url_);
  } catch (...) {
    std::lock_guard<std::mutex> relock(p.mu_);
    --p.out_;
    p.cv_.notify_one();
    throw;
  }
}

Pool::Lease::~Lease() {
  std::lock_guard<std::mutex> lock(p_.mu_);
  --p_.out_;
  // A broken connection (the database restarted) is dropped; the next lease connects anew.
  if (c_ && c_->ok()) p_.idle_.push_back(std::move(c_));
  p_.cv_.notify_one();
}

}  // namespace lumbung::server::pg

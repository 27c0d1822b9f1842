// A push transaction held open before its COMMIT (see pg_hold.h).
#include "sim/pg_hold.h"

#include <chrono>
#include <stdexcept>

#include "lumbung/error.h"
#include "store/pg_conn.h"

namespace lumbung::sim {

namespace {
constexpr auto kMaxWait = std::chrono::seconds(60);
}  // namespace

PgHold::PgHold(std::string url) : url_(std::move(url)) {}

PgHold::~PgHold() {
  try {
    release();
  } catch (...) {
    // Destroyed on the way out of a failed run: the thread was joined by the future.
  }
}

int PgHold::lock_waiters() {
  if (!watch_) watch_ = std::make_unique<server::pg::Conn>(url_);
  return static_cast<int>(watch_
                              ->exec("SELECT count(*) FROM pg_stat_activity WHERE "
                                     "datname = current_database() AND wait_event_type = 'Lock'")
                              .i64(0, 0));
}

bool PgHold::ready_or_waiting(std::future<server::Response>& f, int waiters) {
  const auto deadline = std::chrono::steady_clock::now() + kMaxWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f.wait_for(std::chrono::milliseconds(1)) == std::future_status::ready) return true;
    if (lock_waiters() > waiters) {
      // It may have finished meanwhile; then it did not wait after all.
      return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    }
  }
  throw std::runtime_error("sim: a request neither finished nor waited on a lock in 60 s");
}

void PgHold::end_side() {
  if (!side_) return;
  try {
    side_->run("ROLLBACK");
  } catch (const Error&) {
    // The connection broke: the server rolled it back already.
  }
  side_.reset();
}

std::optional<server::Response> PgHold::hold(const std::string& dev, uint64_t seq,
                                             int release_after,
                                             const std::function<server::Response()>& request) {
  release();
  side_ = std::make_unique<server::pg::Conn>(url_);
  side_->run("BEGIN");
  try {
    side_->exec(
        "INSERT INTO oplog(pos,xid,dev,seq,col,id,scope,hlc,op) "
        "VALUES(-1, pg_current_xact_id(), $1, $2, '', '', '', 0, '')",
        {dev, seq});
  } catch (const Error&) {
    end_side();  // the op is logged already: nothing of this push would wait
    return request();
  }
  auto f = std::async(std::launch::async, request);
  if (ready_or_waiting(f, 0)) {
    end_side();
    return f.get();
  }
  held_ = std::move(f);
  release_after_ = release_after;
  ++holds_;
  return std::nullopt;
}

server::Response PgHold::run(const std::function<server::Response()>& request) {
  if (!held_.valid()) return request();
  if (--release_after_ <= 0) {
    release();
    return request();
  }
  auto f = std::async(std::launch::async, request);
  if (!ready_or_waiting(f, 1)) {
    ++waited_;
    release();  // it waits for the held transaction: that one commits first
    if (f.wait_for(kMaxWait) != std::future_status::ready) {
      throw std::runtime_error("sim: a request still waited 60 s after the held push committed");
    }
  }
  return f.get();
}

void PgHold::release() {
  end_side();
  watch_.reset();  // no connection of ours left: a backup copies the database next
  if (!held_.valid()) return;
  if (held_.wait_for(kMaxWait) != std::future_status::ready) {
    throw std::runtime_error("sim: the held push did not commit within 60 s of its release");
  }
  try {
    held_.get();  // its client gave up on it long ago
  } catch (...) {
    held_ = {};
    throw;
  }
}

}  // namespace lumbung::sim

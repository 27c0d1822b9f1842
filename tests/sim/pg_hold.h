// Interleaved transactions on PostgreSQL (issue 13: "the simulation drives >= 3 server
// instances on one database with interleaved transactions"). The simulation is one thread;
// this gate lets one push transaction stay open before its COMMIT while the other server
// instances serve pushes and pulls - the late-commit case of the pull cursor, where rows
// with higher positions commit before the held one's.
//
// How a push is held without a hook in the server: a connection of our own inserts, in a
// transaction left open, an oplog row with the (device, seq) of the push's last op. The
// push, run on a thread of its own, writes its oplog rows at commit and waits there on the
// unique index (dev, seq) for our transaction: it has its xid (so its positions are below
// those of every later writer), its records written and its locks taken, and has not
// committed. Rolling ours back lets it commit. Our row has pos -1 and is never committed.
//
// While a push is held every other request also runs on a thread. Each either finishes or
// waits on a lock (seen in pg_stat_activity): if it waits - on the device row of a retried
// push, on a record the held push locked - the held push is released first, then the
// request finishes. So at most one transaction is ever held and the order in which they
// commit follows from the seed. Every wait is bounded (60 s, then std::runtime_error).
#pragma once

#include <future>
#include <memory>
#include <string>

#include "sim/in_process_server.h"

namespace lumbung::server::pg {
class Conn;
}

namespace lumbung::sim {

class PgHold final : public test::RequestGate {
 public:
  // `url`: the database of the server instances.
  explicit PgHold(std::string url);
  ~PgHold() override;

  server::Response run(const std::function<server::Response()>& request) override;
  std::optional<server::Response> hold(const std::string& dev, uint64_t seq, int release_after,
                                       const std::function<server::Response()>& request) override;
  void release() override;
  bool holding() const override { return held_.valid(); }

  // Transactions held so far, and requests that waited for one.
  int holds() const { return holds_; }
  int waited() const { return waited_; }

 private:
  // Backends of this database waiting on a lock.
  int lock_waiters();
  // Waits until `f` is ready (true) or more than `waiters` backends wait on a lock (false).
  bool ready_or_waiting(std::future<server::Response>& f, int waiters);
  void end_side();

  std::string url_;
  std::unique_ptr<server::pg::Conn> side_;   // holds the (dev, seq) row; null when no hold
  std::unique_ptr<server::pg::Conn> watch_;  // reads pg_stat_activity
  std::future<server::Response> held_;       // the held push, on its thread
  int release_after_ = 0;
  int holds_ = 0;
  int waited_ = 0;
};

}  // namespace lumbung::sim

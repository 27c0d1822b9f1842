// The simulation's misbehaving link: the network, server process and device process of one
// device (see FaultyLink), and what it shows the oracle.
#pragma once

#include <deque>
#include <optional>
#include <random>
#include <string>

#include "lumbung/sync.h"
#include "sim/in_process_server.h"
#include "sim/oracle.h"
#include "sim/sim.h"

namespace lumbung::sim {

// Thrown by the link to simulate the device process dying at a request boundary: the
// harness throws the Store and SyncClient away and reopens the store from its file.
struct DeviceCrash {};

// The misbehaving network, server process and device process of one device, driven by the
// fault stream. Faults (probabilities per request in kMasked/kFull):
//   drop request            the request never arrives; the client sees a link error
//   drop response           the server acts (commits), the answer is lost
//   duplicate               the request arrives twice (a proxy retried)
//   hold copy               a copy is kept and delivered later, after newer requests
//   hold instead            the request is delayed: the client gives up on it, it arrives later
//   cut response            the answer stops halfway through its body
//   restart server          the server process is killed and restarted from its files
//                           (before delivering, or after committing and before answering)
//   device crash            the device process dies before the request or after its answer
//                           arrived (before the client could use it)
//   held transaction        PostgreSQL with several server instances only: a push's
//                           transaction stays open before COMMIT while other requests run
//                           (pg_hold.h); the client gets no answer
//
// Every push the client sends and every push and pull answer it receives whole is shown to
// the oracle (oracle.h). Used on the simulation's thread or the sync client's helper thread,
// one at a time (the client talks to its Transport from one thread at a time).
class FaultyLink final : public lumbung::Transport {
 public:
  FaultyLink(test::InProcessServer& server, std::mt19937_64& rng, FaultMode mode, SimStats& stats,
             std::deque<HttpRequest>& held, std::string device, Oracle& oracle);

  HttpResponse send(const HttpRequest& request) override;
  // Delivers some of the held requests (each with probability 1/4, in random order).
  void deliver_some_held();

 private:
  static std::optional<Json> decode(const std::string& body, const std::string& encoding);
  static std::string cursor_of(const std::string& target);
  HttpResponse deliver(const HttpRequest& request);
  HttpResponse hold_push(const HttpRequest& request);
  void deliver_one_held();
  void restart_server();

  test::InProcessServer& server_;
  test::InProcessTransport inner_;
  std::mt19937_64& rng_;
  FaultMode mode_;
  SimStats& stats_;
  std::deque<HttpRequest>& held_;
  std::string device_;
  Oracle& oracle_;
};

}  // namespace lumbung::sim

// The simulation's misbehaving link: the network, server process and device process of one
// device (see FaultyLink), and what it shows the oracle.
#pragma once

#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

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
// and on a streamed push (POST /v1/push?stream=1, drawn from the stream of faults only for
// those, so runs without one draw as before; per streamed push in kStream*):
//   cut in a frame          the body stops inside a frame: the server applied the whole
//                           frames before it, the client sees a link failure
//   cut between frames      the same, exactly at a frame's end
//   answer lost             the server applied every frame, its answer is lost
//   cut and restart         cut, then the server process restarts (its ledger of answers
//                           is gone: the client must send the ops again)
// (on PostgreSQL with several instances the push state may be asked of another instance
// than the one that applied the frames: each request picks one). Any other streamed push
// meets the faults above; a push state request too (its answer lost, cut, ...).
//
// Every push the client sends and every push and pull answer it receives whole is shown to
// the oracle (oracle.h): of a streamed push, each frame as a push sent (of a cut body, the
// frames that reached the server whole), its answer and the push state's answers as push
// answers (the state's up to its answered_seq, as the client takes it). Used on the
// simulation's thread or the sync client's helper thread, one at a time (the client talks
// to its Transport from one thread at a time).
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
  HttpResponse deliver_push_stream(const HttpRequest& request);
  // Shows the oracle the frames of a push stream's first `bytes` bytes that are whole.
  void frames_sent(const std::string& body, size_t bytes);
  // Where each frame of a push stream ends (bytes of the body after which it is whole).
  static std::vector<size_t> frame_ends(const std::string& body);
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

// The streamed push (docs/PROTOCOL.md "Streamed push"): `POST /v1/push?stream=1` with a
// body of Content-Type kPushStreamMediaType (lumbung/push_stream.h) is read as it arrives
// (Router::open_sink); each whole frame is one push change set, applied at once in its own
// transaction (Router::push_one: the checks, refusals, re-stamps and held values of any
// push), while the kernel goes on receiving the next. At the body's end one push answer
// covers every frame. A cut connection keeps the frames applied; a bad frame or a refused
// change set ends the body with a problem that says how far it got ("acked_seq").
//
// After a cut the client got no answer, but frames were applied: PushLedger keeps, per
// device, the answers (re-stamps, refusals with their held values, stored values) of the
// ops its streamed pushes applied, and `GET /v1/push/state?after=SEQ` returns acked_seq and
// those answers for (SEQ, acked_seq] - a few hundred bytes where re-sending the ops would
// cost tens of KB. The ledger is in memory: after a restart, on another server process, or
// beyond its bounds it answers "complete": false, and the client sends the ops after SEQ
// again (a push of ops the server holds answers their re-stamps and refusals from the
// store: SyncService::push).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "api/router.h"
#include "lumbung/push_stream.h"
#include "sync/sync_service.h"

namespace lumbung::server {

// The body is a push stream (its Content-Type). Content-Encoding other than identity on
// one is refused (Error kProtocol): the stream is compressed already.
bool is_push_stream_body(const Request& req);

// The `name` query parameter as a seq (0 .. 2^63); Error(kInvalidArgument) when absent or
// not digits.
uint64_t seq_param(const Request& req, const char* name);

// The push answer's JSON (docs/PROTOCOL.md "POST /v1/push"), written by hand: small, its
// member order fixed.
std::string push_answer_json(const PushResult& res, const std::string& epoch, int64_t now_ms);

// The answers of the ops streamed pushes applied, per device, bounded.
class PushLedger {
 public:
  // At most this many devices are remembered (the least recently used is forgotten), each
  // with at most kMaxAnswers answers, all together at most kMaxTotalAnswers (beyond: that
  // device's ledger is dropped, its state answers "complete": false). An answer is a few
  // hundred bytes at most: ~50 MB at the very worst, nothing in the usual case (the
  // workload's pushes have no answers but acked_seq).
  static constexpr size_t kMaxDevices = 4096;
  static constexpr size_t kMaxAnswers = 20000;
  static constexpr size_t kMaxTotalAnswers = 200000;

  // Runs `apply` (one frame: a push of the ops first_seq..last_seq) under the device's
  // lock, so that state() never sees the store ahead of the ledger, and keeps its answers.
  // `request_start`: the first frame of a request, which a client starts after the answers
  // it holds: the ones before it are forgotten.
  PushResult record(const std::string& device, uint64_t first_seq, uint64_t last_seq,
                    bool request_start, const std::function<PushResult()>& apply);
  // The state answer (JSON text) for (after, acked_seq].
  std::string state(const Principal& device, uint64_t after, SyncService& sync);
  // The device pulls: its push is over (a sync pulls after its push got its answers).
  void forget(const std::string& device);
  // A streamed push of the device begins / ends (its sink made / destroyed). state() waits
  // (up to kStateWaitMs) for the device's streams to end: a cut one applies the whole
  // frames it holds before it notices the cut, and those are not sent again.
  void stream_began(const std::string& device);
  void stream_ended(const std::string& device);
  static constexpr int kStateWaitMs = 2000;
  size_t total_answers() const { return total_.load(); }

 private:
  struct Entry {
    std::mutex mu;
    bool valid = false;
    uint64_t lo = 0, hi = 0;  // answers known for seqs in (lo, hi]
    PushResult answers;       // of those ops only
    size_t counted = 0;       // its share of total_
    int streams = 0;          // sinks of the device alive
    std::condition_variable ended;
    std::list<std::string>::iterator lru;
  };
  std::shared_ptr<Entry> entry(const std::string& device);
  // Under e.mu: drops its answers (valid = false) and their share of total_.
  void drop(Entry& e);
  // Under e.mu: total_ follows e's answers.
  void recount(Entry& e);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::list<std::string> lru_;  // most recently used first
  std::atomic<size_t> total_{0};
};

// Router::open_sink's sink for a streamed push.
class PushStreamSink final : public BodySink {
 public:
  PushStreamSink(Router& router, const Request& head, const Router::Admission& admitted) noexcept;
  bool feed(std::string_view bytes) noexcept override;
  Response answer() noexcept override;
  ~PushStreamSink() override;

 private:
  void apply(Json doc);
  void fail() noexcept;  // maps the exception in flight, with how far the push got

  Router& router_;
  Request head_;  // method, path, query, headers (no body)
  const Router::Admission admitted_;
  std::unique_ptr<PushStreamReader> reader_;
  PushResult total_;
  bool any_ = false;                 // a frame was applied
  uint64_t frames_ = 0;              // frames applied
  std::optional<Response> failure_;  // set: the body is refused; no more frames
  std::string device_;               // registered with the ledger (stream_began)
};

}  // namespace lumbung::server

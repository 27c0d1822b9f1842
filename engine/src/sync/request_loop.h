// One request to the server, tried until it is answered: the retry loop of a sync.
//
// SyncClient::Run owns one RequestLoop per sync and calls call() from the syncing thread
// or its helper task, one at a time. The loop backs off exponentially after link failures,
// 5xx and 429; maps problem+json refusals to lumbung::Error; counts requests, wire bytes
// and retries (the HTTP stack's own re-sends included: HttpRequest::on_bytes); and keeps
// what the link is doing now (SyncProgress::Stage) for the progress events.
//
// While a request or a retry wait lasts on the syncing thread, the request runs on a
// second thread and the syncing thread calls `tick` every ~100 ms, so progress is shown at
// least every kProgressEveryMs and cancelling answers at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "lumbung/sync.h"
#include "sync/helper_thread.h"

namespace lumbung::sync_detail {

// What one answered call carried, for the transfer sizer and the clock correction.
struct CallInfo {
  int64_t rtt_ms = 0;       // the last attempt's round trip
  size_t wire_up = 0;       // the last attempt's request, headers included
  size_t wire_down = 0;     // its answer, headers included
  size_t answer_text = 0;   // the answer body once inflated
  int64_t transfer_ms = 0;  // the last attempt, from sending to the whole answer
  bool resent = false;      // the HTTP stack sent the last attempt again on its own
  bool v2_answer = false;   // the answer came in change-set format v2
  std::map<std::string, std::string> headers;  // the answer's, names in lower case
  bool streamed = false;  // the answer was a streamed pull, read by call_stream's on_body
};

// Learns the server's time from an answer's "server_time_ms" so later local versions are
// near real time (clock.h). Half the round trip approximates when the server read its clock.
void correct_clock(Store& store, const Json& answer, int64_t rtt_ms);

// The schema key of a registration answer, kept in `store` (schema_fetch.cpp).
void keep_schema_key(Store& store, const Json& registration_answer);

class RequestLoop {
 public:
  // `token` is read at every attempt (it may change between calls). `tick` is called on
  // the syncing thread while it waits (may be empty); `force` when a retry wait begins,
  // so its countdown is shown from its start.
  RequestLoop(Transport& transport, const std::string& token, const SyncOptions& options,
              std::function<void(bool force)> tick);

  // Sends with retries; returns the decoded JSON of a 2xx answer. A refusal that a retry
  // cannot fix throws Error with the server's code (and `problem` keeps its body);
  // Error(kTransport) after max_attempts consecutive failures; Error(kCancelled).
  // `gzip_body` is the request body already gzip'ed ("" for none). `after_cut`, if set,
  // may rebuild the request (smaller) after a link failure, before the next attempt; it is
  // told how many body bytes of the failed attempt had gone out and come back.
  using AfterCut = std::function<void(HttpRequest&, uint64_t partial_bytes)>;
  Json call(const std::string& method, const std::string& target, std::string gzip_body,
            Json* problem = nullptr, CallInfo* info = nullptr, const AfterCut& after_cut = {});

  // A streamed pull (pull_stream_fetch.h): GET `target` asking for the stream; an answer
  // that streams is handed to `on_body` as it arrives (HttpRequest::on_body; info->streamed,
  // null returned), any other is decoded and returned as call() does (an older server).
  // `handed` counts what on_body handed on (whole frames): an attempt that moved it was
  // no failure in vain, so the count of consecutive failures (max_attempts) starts over.
  Json call_stream(const std::string& target, std::function<bool(std::string_view)> on_body,
                   const std::atomic<uint64_t>& handed, CallInfo* info, const AfterCut& after_cut);

  // A streamed push (push_stream_send.h): POST `body`, a push stream, to `target`; the
  // answer is decoded as call() does. `progressed` as call_stream's `handed`: moved by
  // `after_cut` when the server took ops in despite the cut.
  Json call_push_stream(const std::string& target, std::string body, Json* problem, CallInfo* info,
                        const AfterCut& after_cut, const std::atomic<uint64_t>* progressed);

  // As call(), for a body sent as it is with `headers` (an attachment chunk) and an answer
  // returned as it is (inflated if gzip'ed): an attachment's bytes, or JSON.
  using Headers = std::vector<std::pair<std::string, std::string>>;
  std::string call_raw(const std::string& method, const std::string& target, std::string body,
                       const Headers& headers, Json* problem = nullptr, CallInfo* info = nullptr,
                       const AfterCut& after_cut = {});

  // Copies the counters and the link's state into `p`.
  void fill(SyncProgress& p) const;
  uint64_t requests() const { return requests_; }
  uint64_t bytes_up() const { return bytes_up_; }
  uint64_t bytes_down() const { return bytes_down_; }
  unsigned retries() const { return retries_; }

  int64_t monotonic_ms() const;
  void check_cancel() const;
  // Waits for `f` on the syncing thread, ticking; elsewhere just waits.
  template <class R>
  void wait_ticking(Pending<R>& f) {
    if (!f.valid()) return;
    if (on_syncing_thread()) {
      while (!f.wait_for_ms(100)) tick();
    }
    f.wait();
  }

 private:
  // `no_resend`: the HTTP stack may not send the request again by itself (a streamed push:
  // its body would repeat frames the server applied; RequestLoop asks what it holds).
  HttpResponse send_once(HttpRequest& req, bool no_resend = false);
  // The retry loop of call() and call_raw(): a 2xx body, inflated, parsed into *json when
  // given (an answer that does not parse is a link failure), else returned.
  std::string exchange(HttpRequest& req, Json* json, Json* problem, CallInfo* info,
                       const AfterCut& after_cut, const std::atomic<uint64_t>* handed = nullptr,
                       bool no_resend = false);
  void backoff(int ms);
  bool on_syncing_thread() const { return std::this_thread::get_id() == syncing_thread_; }
  void tick(bool force = false) {
    if (tick_) tick_(force);
  }
  void set_error(std::string e) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = std::move(e);
  }

  Transport& transport_;
  const std::string& token_;
  const SyncOptions& o_;
  std::function<void(bool force)> tick_;
  const std::thread::id syncing_thread_;

  std::atomic<uint64_t> requests_{0}, bytes_up_{0}, bytes_down_{0};
  std::atomic<unsigned> retries_{0};
  // The link now (read by fill() on the syncing thread while another thread sends).
  std::atomic<SyncProgress::Stage> stage_{SyncProgress::Stage::kIdle};
  std::atomic<uint64_t> sent_{0}, size_{0}, received_{0};
  std::atomic<unsigned> attempt_{0};
  std::atomic<bool> resent_{false};  // the current attempt was sent again by the HTTP stack
  std::atomic<int64_t> retry_at_ms_{0};
  // Inside an after_cut (on the calling thread): the consecutive failures of the request
  // it serves, which a request it makes goes on counting (exchange()).
  bool in_after_cut_ = false;
  unsigned carried_failures_ = 0;
  mutable std::mutex mu_;
  std::string last_error_;
  // Runs the syncing thread's requests while that thread ticks. Last: joined first.
  HelperThread io_;
};

}  // namespace lumbung::sync_detail

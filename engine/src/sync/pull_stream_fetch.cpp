#include "sync/pull_stream_fetch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "lumbung/error.h"
#include "lumbung/pull_stream.h"

namespace lumbung::sync_detail {
namespace {

// Frames on their way from the reading thread to the applying one. Bounded: the reader
// waits while kMaxWaiting frames wait, so a fast link never piles a whole pull up in memory.
class FrameQueue {
 public:
  static constexpr size_t kMaxWaiting = 2;

  // Reader: false once the applier stopped (the frame is dropped).
  bool push(Json page) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stopped_ || frames_.size() < kMaxWaiting; });
    if (stopped_) return false;
    frames_.push_back(std::move(page));
    cv_.notify_all();
    return true;
  }
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Applier: a frame within `ms`, or false (then done() tells whether more can come).
  bool pop(Json& out, int ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms),
                 [this] { return closed_ || !frames_.empty(); });
    if (frames_.empty()) return false;
    out = std::move(frames_.front());
    frames_.pop_front();
    cv_.notify_all();
    return true;
  }
  bool done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ && frames_.empty();
  }
  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    frames_.clear();
    cv_.notify_all();
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Json> frames_;
  bool closed_ = false, stopped_ = false;
};

}  // namespace

StreamResult run_pull_stream(RequestLoop& link, HelperThread& helper,
                             const std::function<std::string(const std::string&)>& target,
                             const std::string& cursor,
                             const std::function<void(uint64_t partial)>& on_cut,
                             const std::function<bool(Json& page, int64_t rtt_ms)>& apply,
                             const std::function<void()>& idle) {
  FrameQueue q;
  // Touched by the reading thread only (on_body and after_cut run where the request runs).
  std::string resume = cursor;
  auto reader = std::make_unique<PullStreamReader>();
  std::atomic<uint64_t> frames{0};
  // The link's own pace: the span from the first piece to the last minus the time spent
  // here (decoding, and waiting while two frames wait to be applied), reset per attempt.
  int64_t first_piece = -1, last_piece = 0, busy = 0;
  auto on_body = [&](std::string_view piece) -> bool {
    const int64_t entered = link.monotonic_ms();
    if (first_piece < 0) first_piece = entered;
    struct Leave {
      RequestLoop& link;
      int64_t entered;
      int64_t& last;
      int64_t& busy;
      ~Leave() {
        last = link.monotonic_ms();
        busy += last - entered;
      }
    } leave{link, entered, last_piece, busy};
    if (piece.empty()) {  // the body ended: without its last frame it was cut short
      if (!reader->complete()) {
        throw Error(ErrorCode::kTransport,
                    "pull stream cut short after frame " + std::to_string(reader->frames()));
      }
      return true;
    }
    bool wanted = true;
    // A bad frame is most likely damage on the way: a link failure, tried again from the
    // last whole frame (as a v2 page that does not decode), never applied.
    try {
      reader->feed(piece, [&](Json page, bool) {
        if (!wanted) return;
        const auto next = page.find("next");
        std::string at = next != page.end() && next->is_string() ? next->get<std::string>() : "";
        if (!q.push(std::move(page))) {
          wanted = false;
          return;
        }
        ++frames;
        resume = std::move(at);  // the next attempt starts after this frame
      });
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kTransport) throw;
      throw Error(ErrorCode::kTransport, e.what());
    }
    return wanted;
  };
  std::atomic<bool> retried{false};  // then the time since `asked` is no round trip
  // The next frame is the first of an attempt, so the server wrote its time just before.
  std::atomic<bool> first_of_attempt{true};
  auto after_cut = [&](HttpRequest& req, uint64_t partial) {
    retried = true;
    first_of_attempt = true;
    first_piece = -1;
    busy = 0;
    on_cut(partial);
    reader = std::make_unique<PullStreamReader>();
    req.target = target(resume);
  };
  auto pending = helper.submit([&] {
    StreamResult r;
    try {
      r.page = link.call_stream(target(cursor), on_body, frames, &r.info, after_cut);
    } catch (...) {
      q.close();
      throw;
    }
    r.streamed = r.info.streamed;
    q.close();
    return r;
  });
  bool wanted = true;
  const int64_t asked = link.monotonic_ms();  // SyncOptions::monotonic_ms: a simulation's
  std::string at = cursor;
  try {
    for (;;) {
      idle();  // cancelled: no further frame is applied
      Json page;
      if (q.pop(page, 100)) {
        if (!wanted) continue;
        const Json& next = page.at("next");
        if (page.value("more", false) && next == at && page.at("ops").empty()) {
          throw Error(ErrorCode::kProtocol, "pull cursor did not move");
        }
        at = next.is_string() ? next.get<std::string>() : at;
        // The clock from the first frame of each attempt only: a later frame waited behind
        // the ones before it (or, from an older server, was made before the first went
        // out), so the time since the request is no round trip for it and its time cannot
        // be corrected for the link. After a cut too: a laptop whose clock runs far behind
        // would otherwise clamp the versions it observes and stamp its next edit below the
        // one it replaces (lumbung-sim seed 17 with the stream on: a lost overwrite).
        if (!first_of_attempt.exchange(false)) page.erase("server_time_ms");
        if (!apply(page, retried ? 0 : link.monotonic_ms() - asked)) {
          wanted = false;
          q.stop();
        }
        continue;
      }
      if (q.done()) break;
    }
  } catch (...) {
    q.stop();  // the reader drops what comes and stops reading; the request ends
    pending.wait();
    throw;
  }
  StreamResult r = pending.get();  // a failure after the last whole frame, applied above
  r.frames = frames.load();
  if (first_piece >= 0) r.body_ms = std::max<int64_t>(1, last_piece - first_piece - busy);
  return r;
}

}  // namespace lumbung::sync_detail

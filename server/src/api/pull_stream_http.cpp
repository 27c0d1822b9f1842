#include "api/pull_stream_http.h"

#include <chrono>
#include <memory>
#include <utility>

#include "api/changeset_v2_http.h"
#include "api/route_util.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"

namespace lumbung::server {

bool wants_pull_stream(const Request& req) {
  const std::string v = query_param(req, "stream");
  if (!v.empty() && v != "0" && v != "1") {
    throw Error(ErrorCode::kInvalidArgument, "stream must be 0 or 1");
  }
  return v == "1" && accepts_changeset_v2(req);
}

namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// One streamed answer being made: its pages read one at a time, each framed as it comes.
class PullStreamMaker {
 public:
  PullStreamMaker(std::string cursor, int level, PullPageReader page, PullPageGuard guard)
      : level_(level), at_(std::move(cursor)), page_(std::move(page)), guard_(std::move(guard)) {}

  // Reads and frames the next page (through the guard when `guarded`). The bounds are
  // checked before the page is added, so that the page can say it is last.
  void add_page(bool guarded) {
    const auto t0 = Clock::now();
    Json doc;
    size_t text_bytes = 0;
    auto read = [&] {
      const std::string text = page_(at_);
      text_bytes = text.size();
      doc = Json::parse(text);
    };
    if (guarded && guard_) {
      guard_(read);
    } else {
      read();
    }
    ++pages_;
    const bool more = doc.value("more", false);
    // An answer of one page is sized to it (most pulls of a laptop that syncs often).
    if (!writer_) writer_ = std::make_unique<PullStreamWriter>(level_, more ? 0 : text_bytes);
    std::string next = doc.value("next", std::string());
    making_ms_ += ms_between(t0, Clock::now());
    done_ = !more || writer_->size() >= kPullStreamMaxBytes || making_ms_ >= kPullStreamMaxMs ||
            pages_ >= kPullStreamMaxPages || next == at_;  // a cursor that did not move
    writer_->add(std::move(doc), done_);
    at_ = std::move(next);
  }
  bool done() const { return done_; }
  int64_t age_ms() const { return ms_between(start_, Clock::now()); }
  std::string take() { return done_ ? writer_->finish() : writer_->take(); }

 private:
  const Clock::time_point start_ = Clock::now();
  const int level_;
  std::unique_ptr<PullStreamWriter> writer_;  // made with the first page, sized by it
  std::string at_;
  PullPageReader page_;
  PullPageGuard guard_;
  size_t pages_ = 0;
  int64_t making_ms_ = 0;  // time spent reading and framing pages, not waiting for the client
  bool done_ = false;
};

}  // namespace

Response pull_stream_response(const std::string& cursor, int level, PullPageReader page,
                              PullPageGuard guard) {
  auto maker = std::make_shared<PullStreamMaker>(cursor, level, std::move(page), std::move(guard));
  maker->add_page(/*guarded=*/false);  // inside the request: its error is the answer
  Response r;
  r.content_type = kPullStreamMediaType;
  r.body = maker->take();
  if (maker->done()) return r;
  r.more = [maker](std::string& out) {
    // For a second the answer goes out as it is made, a page a piece. After that the rest
    // is made at once: the compressor (~17 MB at level 19) is then freed rather than held
    // while a slow link drains the body, which the bounds keep to a few MB.
    const bool rest_now = maker->age_ms() >= kPullStreamMaxMs;
    do {
      maker->add_page(/*guarded=*/true);
    } while (rest_now && !maker->done());
    out = maker->take();
    return !maker->done();
  };
  return r;
}

}  // namespace lumbung::server

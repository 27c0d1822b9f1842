#include "sync/request_loop.h"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "common/gzip.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"
#include "lumbung/push_stream.h"

namespace lumbung::sync_detail {
namespace {

using Stage = SyncProgress::Stage;

size_t request_wire_bytes(const HttpRequest& r) {
  // Request line, our headers, the Host/Content-Length/Connection headers the HTTP stack
  // adds (about 60 bytes), blank line, body.
  size_t n = r.method.size() + r.target.size() + 12 + 60 + 2 + r.body.size();
  for (const auto& [k, v] : r.headers) n += k.size() + v.size() + 4;
  return n;
}

bool retryable(int status) { return status >= 500 || status == 429 || status == 408; }

// kTextBytesHeader of a v2 answer; 0 if absent or not a plain number (then the caller
// measures the page itself). Bounded like the page: a larger claim is not believed.
size_t text_bytes_header(const std::map<std::string, std::string>& headers) {
  const auto it = headers.find("lumbung-text-bytes");
  if (it == headers.end() || it->second.empty() || it->second.size() > 12) return 0;
  size_t n = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return n <= 4 * kMaxBodyBytes ? n : 0;
}

}  // namespace

void correct_clock(Store& store, const Json& answer, int64_t rtt_ms) {
  auto it = answer.find("server_time_ms");
  if (it == answer.end() || !it->is_number_integer()) return;
  HybridClock& clock = store.clock();
  const int64_t server_now = it->get<int64_t>() + rtt_ms / 2;
  const int64_t drift = server_now - clock.physical_now_ms();
  if (drift <= -1000 || drift >= 1000) {  // within a second: leave it
    const int64_t offset = clock.offset_ms() + drift;
    clock.set_offset_ms(offset);
    store.set_meta("clock_offset_ms", std::to_string(offset));
  }
  // Checked even when the offset was right already: a store reopened with a far-ahead
  // clock value keeps it until told the time again.
  clock.pull_back_if_ahead_of(server_now);
}

RequestLoop::RequestLoop(Transport& transport, const std::string& token, const SyncOptions& options,
                         std::function<void(bool force)> tick)
    : transport_(transport),
      token_(token),
      o_(options),
      tick_(std::move(tick)),
      syncing_thread_(std::this_thread::get_id()) {}

int64_t RequestLoop::monotonic_ms() const {
  if (o_.monotonic_ms) return o_.monotonic_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RequestLoop::check_cancel() const {
  if (o_.cancel && o_.cancel->load()) throw Error(ErrorCode::kCancelled, "sync cancelled");
}

void RequestLoop::fill(SyncProgress& p) const {
  p.bytes_up = bytes_up_;
  p.bytes_down = bytes_down_;
  p.retries = retries_;
  p.stage = stage_;
  p.request_sent = sent_;
  p.request_size = size_;
  p.request_received = received_;
  p.attempt = attempt_;
  p.max_attempts = o_.max_attempts;
  p.retry_in_ms =
      p.stage == Stage::kRetryWait ? std::max<int64_t>(0, retry_at_ms_ - monotonic_ms()) : 0;
  std::lock_guard<std::mutex> lock(mu_);
  p.last_error = last_error_;
}

// One attempt. On the syncing thread the transport runs on io_ while this thread ticks.
HttpResponse RequestLoop::send_once(HttpRequest& req, bool no_resend) {
  sent_ = 0;
  received_ = 0;
  resent_ = false;
  size_ = req.body.size();
  stage_ = Stage::kConnecting;
  // The HTTP stack may send a request again by itself (cpprestsdk does after a failure on a
  // reused connection): its upload or download count then starts over. That second attempt
  // is let through (stopping it would waste what it already sent) and counted as a retry,
  // and the sizer takes it as a cut (CallInfo::resent).
  req.on_bytes = [this](bool upload, uint64_t bytes) {
    if (upload) {
      // Each attempt reports its body from the start (a GET: 0 once), ending in kWaiting.
      if (bytes < sent_ || stage_ == Stage::kWaiting || stage_ == Stage::kReceiving) {
        resent_ = true;
      }
      sent_ = bytes;
      stage_ = bytes >= size_ ? Stage::kWaiting : Stage::kSending;
    } else {
      if (bytes < received_) resent_ = true;
      received_ = bytes;
      stage_ = Stage::kReceiving;
    }
  };
  req.stop = [this, no_resend] {
    return (o_.cancel && o_.cancel->load()) || (no_resend && resent_);
  };
  if (!on_syncing_thread()) return transport_.send(req);
  auto pending = io_.submit([this, &req] { return transport_.send(req); });
  wait_ticking(pending);
  return pending.get();
}

void RequestLoop::backoff(int ms) {
  stage_ = Stage::kRetryWait;
  retry_at_ms_ = monotonic_ms() + ms;
  if (on_syncing_thread()) tick(true);
  // In slices, so that cancelling answers within one and the countdown is shown.
  for (int left = ms; left > 0; left -= 100) {
    check_cancel();
    const int slice = std::min(left, 100);
    if (o_.sleep) {
      o_.sleep(slice);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(slice));
    }
    if (on_syncing_thread()) tick();
  }
}

Json RequestLoop::call_stream(const std::string& target,
                              std::function<bool(std::string_view)> on_body,
                              const std::atomic<uint64_t>& handed, CallInfo* info,
                              const AfterCut& after_cut) {
  HttpRequest req;
  req.method = "GET";
  req.target = target;
  req.headers = {{"Accept-Encoding", "gzip"},
                 {"User-Agent", "lumbung"},
                 {"Accept", std::string(kPullStreamMediaType) + ", " + kChangesetV2MediaType +
                                ", application/json"}};
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  req.stream_type = kPullStreamMediaType;
  req.on_body = std::move(on_body);
  Json out;
  exchange(req, &out, nullptr, info, after_cut, &handed);
  return out;
}

Json RequestLoop::call(const std::string& method, const std::string& target, std::string gzip_body,
                       Json* problem, CallInfo* info, const AfterCut& after_cut) {
  HttpRequest req;
  req.method = method;
  req.target = target;
  // Pull pages in change-set format v2 unless told v1 only (a v1 server answers JSON).
  const bool v2_answer = o_.changeset_format != 1 && target.rfind("/v1/pull", 0) == 0;
  // Every byte of a request's head is paid on every request of a 2G sync: a short
  // User-Agent (cpprestsdk's own is longer), and no Accept where the answer is JSON anyway.
  req.headers = {{"Accept-Encoding", "gzip"}, {"User-Agent", "lumbung"}};
  if (v2_answer) {
    req.headers.emplace_back("Accept", std::string(kChangesetV2MediaType) + ", application/json");
  } else if (method != "POST") {
    req.headers.emplace_back("Accept", "application/json");
  }
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  if (is_changeset_v2(gzip_body)) {  // a v2 push body: compressed already, says so itself
    req.body = std::move(gzip_body);
    req.headers.emplace_back("Content-Type", kChangesetV2MediaType);
  } else if (!gzip_body.empty()) {
    req.body = std::move(gzip_body);
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Content-Encoding", "gzip");
  }
  Json out;
  exchange(req, &out, problem, info, after_cut);
  return out;
}

Json RequestLoop::call_push_stream(const std::string& target, std::string body, Json* problem,
                                   CallInfo* info, const AfterCut& after_cut,
                                   const std::atomic<uint64_t>* progressed) {
  HttpRequest req;
  req.method = "POST";
  req.target = target;
  req.headers = {{"Accept-Encoding", "gzip"},
                 {"User-Agent", "lumbung"},
                 {"Content-Type", kPushStreamMediaType}};
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  req.body = std::move(body);
  Json out;
  exchange(req, &out, problem, info, after_cut, progressed, /*no_resend=*/true);
  return out;
}

std::string RequestLoop::call_raw(const std::string& method, const std::string& target,
                                  std::string body, const Headers& headers, Json* problem,
                                  CallInfo* info, const AfterCut& after_cut) {
  HttpRequest req;
  req.method = method;
  req.target = target;
  req.headers = headers;
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  req.body = std::move(body);
  return exchange(req, nullptr, problem, info, after_cut);
}

std::string RequestLoop::exchange(HttpRequest& req, Json* json, Json* problem, CallInfo* info,
                                  const AfterCut& after_cut, const std::atomic<uint64_t>* handed,
                                  bool no_resend) {
  // A request that an after_cut makes (the push state after a cut stream) goes on with
  // the count of the request it serves: on a dead link a sync gives up after max_attempts
  // consecutive failures in all, not max_attempts of each (a streamed push once waited
  // out max_attempts squared).
  unsigned failures = in_after_cut_ ? carried_failures_ : 0;
  int backoff_ms = o_.initial_backoff_ms;
  for (;;) {
    check_cancel();
    const uint64_t handed_before = handed ? handed->load() : 0;
    attempt_ = failures + 1;
    int retry_after_ms = 0;
    bool link_failed = false;
    uint64_t partial = 0;
    try {
      ++requests_;
      const size_t wire_up = request_wire_bytes(req);
      bytes_up_ += wire_up;
      const int64_t sent = monotonic_ms();
      HttpResponse resp = send_once(req, no_resend);
      stage_ = Stage::kIdle;
      const int64_t took = monotonic_ms() - sent;
      const size_t wire_down = resp.wire_bytes ? resp.wire_bytes : resp.body.size();
      bytes_down_ += wire_down;
      if (!resp.streamed && req.on_body && resp.status >= 200 && resp.status < 300) {
        // A transport that reads bodies whole (a test's): the stream, handed over at once.
        auto type = resp.headers.find("content-type");
        if (type != resp.headers.end() && type->second.rfind(req.stream_type, 0) == 0) {
          req.on_body(resp.body);
          req.on_body({});
          resp.streamed = true;
        }
      }
      if (resp.streamed) {  // read by on_body as it came: whole and checked
        if (resent_) {
          ++retries_;
          ++requests_;
          bytes_up_ += wire_up;
        }
        if (info) {
          *info =
              CallInfo{took, wire_up, wire_down, 0, took, resent_, true, std::move(resp.headers)};
          info->streamed = true;
        }
        set_error("");
        if (json) *json = Json();
        return std::string();
      }
      std::string body = resp.body;
      if (auto it = resp.headers.find("content-encoding");
          it != resp.headers.end() && it->second == "gzip") {
        try {
          body = gzip::decompress(body, 4 * kMaxBodyBytes);
        } catch (const Error& e) {  // a body cut short on the way is a link failure
          throw Error(ErrorCode::kTransport, std::string("bad gzip from server: ") + e.what());
        }
      }
      size_t answer_text = body.size();
      bool v2_answer = false;
      if (resp.status >= 200 && resp.status < 300) {
        auto type = resp.headers.find("content-type");
        if (json && type != resp.headers.end() &&
            type->second.rfind(kChangesetV2MediaType, 0) == 0) {
          try {
            *json = decode_changeset_v2(body, 4 * kMaxBodyBytes);
          } catch (const Error& e) {  // as for a JSON answer: most likely cut short
            throw Error(ErrorCode::kTransport, std::string("bad v2 answer: ") + e.what());
          }
          // The sizer counts v1 text (max_bytes): the server says it; an older one does not.
          answer_text = text_bytes_header(resp.headers);
          if (answer_text == 0) answer_text = json->dump().size();
          v2_answer = true;
        } else if (json) {
          try {
            *json = Json::parse(body);
          } catch (const Json::exception&) {
            throw Error(ErrorCode::kTransport, "server answer is not JSON (cut short?)");
          }
        }
        if (resent_) {  // the HTTP stack's own second attempt, on the wire too
          ++retries_;
          ++requests_;
          bytes_up_ += wire_up;
        }
        if (info) {
          *info = CallInfo{took, wire_up, wire_down, answer_text,
                           took, resent_, v2_answer, std::move(resp.headers)};
        }
        set_error("");
        return json ? std::string() : body;
      }
      Json p = Json::parse(body, nullptr, false);
      // Every refusal of a Lumbung server is a problem object; anything else is a body cut
      // short on the way (or a proxy's page): a link failure, tried again, not a verdict
      // (tests/sim --restores seed 222: a seq_gap answer cut short).
      if (!p.is_object() || !p.contains("code")) {
        throw Error(ErrorCode::kTransport,
                    "HTTP " + std::to_string(resp.status) + " without a problem body");
      }
      const std::string detail = p.contains("detail") && p["detail"].is_string()
                                     ? p["detail"].get<std::string>()
                                     : "HTTP " + std::to_string(resp.status);
      if (!retryable(resp.status)) {
        if (problem) *problem = p;
        const std::string code = p["code"].is_string() ? p["code"].get<std::string>() : "";
        throw Error(code.empty() ? ErrorCode::kProtocol : error_code_from_name(code), detail);
      }
      set_error(detail);
      if (auto it = resp.headers.find("retry-after"); it != resp.headers.end()) {
        retry_after_ms = std::atoi(it->second.c_str()) * 1000;
      }
    } catch (const Error& e) {
      stage_ = Stage::kIdle;
      // A re-send by the HTTP stack that send_once stopped: the link failed (and a retry
      // follows), the officer did not cancel.
      const bool stopped = no_resend && resent_ && e.code() == ErrorCode::kCancelled &&
                           !(o_.cancel && o_.cancel->load());
      if (e.code() != ErrorCode::kTransport && !stopped) throw;
      // An untrusted certificate or a pin mismatch will not heal by waiting.
      if (std::string_view(e.what()).rfind("TLS:", 0) == 0) throw;
      if (resent_) {  // the HTTP stack's own second attempt failed too
        ++requests_;
        ++retries_;
      }
      set_error(e.what());
      link_failed = true;
      partial = sent_ + received_;
    }
    // Frames of a streamed pull arrived whole before the cut: the link works, so the next
    // attempt goes at once from the last of them (the wait is for a link that carried
    // nothing: it cost 500 ms a cut on 3G, BENCHMARKS.md), on a fresh count of failures.
    bool progressed = false;
    if (handed && handed->load() != handed_before) {
      progressed = link_failed && !no_resend;
      failures = 0;
      backoff_ms = o_.initial_backoff_ms;
    }
    if (++failures >= o_.max_attempts) {
      std::lock_guard<std::mutex> lock(mu_);
      throw Error(ErrorCode::kTransport,
                  "gave up after " + std::to_string(failures) + " attempts: " + last_error_);
    }
    ++retries_;
    auto run_after_cut = [&] {
      const bool outer = in_after_cut_;
      const unsigned carried = carried_failures_;
      carried_failures_ = failures;
      in_after_cut_ = true;
      try {
        after_cut(req, partial);
      } catch (...) {
        in_after_cut_ = outer;
        carried_failures_ = carried;
        throw;
      }
      in_after_cut_ = outer;
      carried_failures_ = carried;
    };
    // A cut streamed push asks first how far it got (its state): when the server took ops
    // in, it goes on at once, as a pull above. A dead link's retries still wait (the state
    // ask's own, on the same count of failures).
    const bool ask_first = link_failed && after_cut && handed && no_resend;
    if (ask_first) {
      run_after_cut();
      if (handed->load() != handed_before) {  // the cut push's ops were taken in
        progressed = true;
        failures = 0;
        backoff_ms = o_.initial_backoff_ms;
      }
    }
    if (!progressed || retry_after_ms > 0) {
      backoff(std::max(backoff_ms, retry_after_ms));
      stage_ = Stage::kIdle;
      backoff_ms = std::min(backoff_ms * 2, o_.max_backoff_ms);
    }
    if (link_failed && after_cut && !ask_first) run_after_cut();
  }
}

}  // namespace lumbung::sync_detail

namespace lumbung {

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace lumbung

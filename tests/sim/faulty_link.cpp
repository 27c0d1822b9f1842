// The simulation's misbehaving link (see faulty_link.h).
#include "sim/faulty_link.h"

#include "lumbung/changeset.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "common/gzip.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"
#include "lumbung/push_stream.h"

namespace lumbung::sim {

FaultyLink::FaultyLink(test::InProcessServer& server, std::mt19937_64& rng, FaultMode mode,
                       SimStats& stats, std::deque<HttpRequest>& held, std::string device,
                       Oracle& oracle)
    : server_(server),
      inner_(server),
      rng_(rng),
      mode_(mode),
      stats_(stats),
      held_(held),
      device_(std::move(device)),
      oracle_(oracle) {}

namespace {

// Per 1,000 streamed pushes (FaultyLink::deliver_push_stream); the rest meet the faults of
// any request.
constexpr int kStreamCutInFrame = 60;
constexpr int kStreamCutBetween = 120;
constexpr int kStreamAnswerLost = 170;
constexpr int kStreamCutRestart = 250;

bool is_push_stream(const HttpRequest& request) {
  if (request.method != "POST" || request.target.rfind("/v1/push?", 0) != 0) return false;
  for (const auto& [k, v] : request.headers) {
    if (test::lower(k) == "content-type" && v.rfind(kPushStreamMediaType, 0) == 0) return true;
  }
  return false;
}

// The `after` of a push state request's target.
uint64_t after_of(const std::string& target) {
  const auto a = target.find("after=");
  return a == std::string::npos ? 0 : std::strtoull(target.c_str() + a + 6, nullptr, 10);
}

}  // namespace

HttpResponse FaultyLink::send(const HttpRequest& request) {
  ++stats_.requests;
  const bool stream = is_push_stream(request);
  const bool push = request.method == "POST" && (request.target == "/v1/push" || stream);
  const bool state = request.method == "GET" && request.target.rfind("/v1/push/state", 0) == 0;
  const bool pull = request.method == "GET" && request.target.rfind("/v1/pull", 0) == 0;
  if (push && !stream) {
    std::string encoding;
    for (const auto& [k, v] : request.headers) {
      if (test::lower(k) == "content-encoding") encoding = v;
    }
    if (auto j = decode(request.body, encoding)) oracle_.push_sent(device_, *j);
  }
  HttpResponse r = stream ? deliver_push_stream(request) : deliver(request);
  auto type = r.headers.find("content-type");
  if (pull && r.status >= 200 && r.status < 300 && type != r.headers.end() &&
      type->second.rfind(kPullStreamMediaType, 0) == 0) {
    ++stats_.streamed_pulls;
    // A streamed pull: every frame is a page, from the cursor the frame before it ended
    // at; the client applies each frame that arrived whole, also those before a cut.
    std::string at = cursor_of(request.target);
    PullStreamReader reader;
    try {
      reader.feed(r.body, [&](Json page, bool) {
        std::string next = page.value("next", std::string());
        oracle_.pull_answered(device_, at, page);
        at = std::move(next);
      });
    } catch (const Error&) {
      // The frames before the damage were delivered whole; the rest was not.
    }
    return r;
  }
  if ((push || pull || state) && r.status >= 200 && r.status < 300) {
    auto enc = r.headers.find("content-encoding");
    if (auto j = decode(r.body, enc == r.headers.end() ? std::string() : enc->second)) {
      if (push) {
        oracle_.push_answered(device_, *j);
      } else if (state) {
        // The client takes the state's answers for (after, answered_seq] and acknowledges
        // those ops only (push_stream_send.cpp); the ops after them it sends again.
        const uint64_t after = after_of(request.target);
        const uint64_t server = j->value("acked_seq", uint64_t{0});
        const uint64_t answered = std::min(
            server, j->value("answered_seq", j->value("complete", false) ? server : after));
        if (server >= after && answered > after) {
          (*j)["acked_seq"] = answered;
          oracle_.push_answered(device_, *j);
        }
      } else {
        oracle_.pull_answered(device_, cursor_of(request.target), *j);
      }
    }
  }
  return r;
}

void FaultyLink::deliver_some_held() {
  while (!held_.empty() && rng_() % 4 == 0) deliver_one_held();
}

std::optional<Json> FaultyLink::decode(const std::string& body, const std::string& encoding) {
  if (is_changeset_v2(body)) {  // change-set format v2 (Content-Type, no Content-Encoding)
    try {
      return decode_changeset_v2(body, 64u << 20);
    } catch (const Error&) {
      return std::nullopt;  // cut short on the way: the client cannot use it either
    }
  }
  std::string text = body;
  if (encoding == "gzip") {
    try {
      text = gzip::decompress(body, 64u << 20);
    } catch (const Error&) {
      return std::nullopt;  // cut short on the way: the client cannot use it either
    }
  }
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string FaultyLink::cursor_of(const std::string& target) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  const std::string query = "&" + target.substr(q + 1);
  const auto c = query.find("&cursor=");
  if (c == std::string::npos) return {};
  const auto end = query.find('&', c + 1);
  return test::percent_decode(
      query.substr(c + 8, end == std::string::npos ? std::string::npos : end - c - 8));
}

HttpResponse FaultyLink::deliver(const HttpRequest& request) {
  if (mode_ == FaultMode::kNone) return inner_.send(request);
  deliver_some_held();
  const int roll = static_cast<int>(rng_() % 1000);
  if (roll >= 300) {
    // On PostgreSQL with several server instances, 1.5% of pushes (taken from the clean
    // ones, so SQLite runs draw exactly as before) have their transaction held open.
    if (roll < 315 && server_.can_hold() && request.method == "POST" &&
        request.target == "/v1/push") {
      return hold_push(request);
    }
    return inner_.send(request);  // 70% clean
  }
  ++stats_.faults;
  if (roll < 40) throw Error(ErrorCode::kTransport, "sim: request lost");
  if (roll < 80) {
    inner_.send(request);
    throw Error(ErrorCode::kTransport, "sim: response lost");
  }
  if (roll < 120) {
    inner_.send(request);
    return inner_.send(request);
  }
  if (roll < 150) {
    held_.push_back(request);
    return inner_.send(request);
  }
  if (roll < 180) {
    held_.push_back(request);
    throw Error(ErrorCode::kTransport, "sim: request delayed");
  }
  if (roll < 220) {
    HttpResponse r = inner_.send(request);
    r.body.resize(r.body.size() / 2);
    return r;
  }
  if (roll < 240) {
    restart_server();
    return inner_.send(request);
  }
  if (roll < 255) {
    inner_.send(request);
    restart_server();
    throw Error(ErrorCode::kTransport, "sim: server killed before answering");
  }
  if (roll < 270) {
    ++stats_.device_crashes;
    throw DeviceCrash{};
  }
  if (roll < 285) {
    inner_.send(request);
    ++stats_.device_crashes;
    throw DeviceCrash{};
  }
  // 285..299: a clean request that also delivers every held one after it.
  HttpResponse r = inner_.send(request);
  while (!held_.empty()) deliver_one_held();
  return r;
}

HttpResponse FaultyLink::deliver_push_stream(const HttpRequest& request) {
  ++stats_.streamed_pushes;
  if (mode_ == FaultMode::kNone) {
    frames_sent(request.body, request.body.size());
    return inner_.send(request);
  }
  const int roll = static_cast<int>(rng_() % 1000);
  if (roll >= kStreamCutRestart) {
    // As a batch is shown whatever happens to it next.
    frames_sent(request.body, request.body.size());
    return deliver(request);
  }
  ++stats_.faults;
  deliver_some_held();
  if (roll >= kStreamCutBetween && roll < kStreamAnswerLost) {
    frames_sent(request.body, request.body.size());
    inner_.send(request);
    throw Error(ErrorCode::kTransport, "sim: push stream applied, answer lost");
  }
  // A cut: inside a frame, or exactly where one ends (the server holds it whole).
  size_t cut = request.body.empty() ? 0 : static_cast<size_t>(rng_() % request.body.size());
  if (roll >= kStreamCutInFrame && (roll < kStreamCutBetween || rng_() % 2 == 0)) {
    const std::vector<size_t> ends = frame_ends(request.body);
    if (!ends.empty()) cut = ends[static_cast<size_t>(rng_() % ends.size())];
  }
  ++stats_.cut_pushes;
  frames_sent(request.body, cut);
  server_.handle_cut(test::to_server_request(request), cut);
  if (roll >= kStreamAnswerLost) restart_server();  // the ledger of answers is gone
  throw Error(ErrorCode::kTransport,
              "sim: push stream cut after " + std::to_string(cut) + " bytes");
}

void FaultyLink::frames_sent(const std::string& body, size_t bytes) {
  PushStreamReader reader;
  try {
    reader.feed(std::string_view(body).substr(0, bytes),
                [&](Json frame, bool) { oracle_.push_sent(device_, frame); });
  } catch (const Error&) {
    // The frames before the damage reached the server whole; the rest did not.
  }
}

std::vector<size_t> FaultyLink::frame_ends(const std::string& body) {
  std::vector<size_t> ends;
  PushStreamReader reader;
  try {
    // Byte by byte: a frame is whole at the byte that completes its flushed zstd block.
    for (size_t i = 0; i < body.size(); ++i) {
      const uint64_t before = reader.frames();
      reader.feed(std::string_view(body).substr(i, 1), [](Json, bool) {});
      if (reader.frames() > before) ends.push_back(i + 1);
    }
  } catch (const Error&) {
  }
  return ends;
}

HttpResponse FaultyLink::hold_push(const HttpRequest& request) {
  std::string encoding;
  for (const auto& [k, v] : request.headers) {
    if (test::lower(k) == "content-encoding") encoding = v;
  }
  uint64_t last_seq = 0;
  if (auto j = decode(request.body, encoding); j && j->contains("ops") && (*j)["ops"].is_array()) {
    for (const Json& op : (*j)["ops"]) {
      if (op.contains("seq") && op["seq"].is_number_unsigned())
        last_seq = std::max(last_seq, op["seq"].get<uint64_t>());
    }
  }
  const int release_after = 1 + static_cast<int>(rng_() % 12);
  if (last_seq == 0) return inner_.send(request);
  auto r = server_.handle_held(test::to_server_request(request), device_, last_seq, release_after);
  if (r) return test::to_http_response(*r);
  ++stats_.faults;
  ++stats_.held_pushes;
  // The client stops waiting; the server instance commits later (PgHold).
  throw Error(ErrorCode::kTransport, "sim: no answer yet (the push's transaction is held open)");
}

void FaultyLink::deliver_one_held() {
  const size_t i = static_cast<size_t>(rng_() % held_.size());
  HttpRequest r = std::move(held_[i]);
  held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
  inner_.send(r);  // whoever sent it stopped listening long ago
}

void FaultyLink::restart_server() {
  server_.restart();
  ++stats_.server_restarts;
}

}  // namespace lumbung::sim

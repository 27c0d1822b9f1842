#include "sync/push_stream_send.h"

#include <algorithm>
#include <atomic>

#include "lumbung/error.h"
#include "lumbung/push_stream.h"

namespace lumbung::sync_detail {
namespace {

// Thrown out of the request's retry loop when, after a cut, the server holds every op of
// the body: there is nothing left to send again.
struct AllApplied {};

// Store meta: "1" once the server said it reads push streams (its Lumbung-Push-Stream
// header), "0" once it refused a stream as an older server does; empty: it never said.
constexpr const char* kServerPushStream = "server_push_stream";

// The state closes its connection: the stream sent next then goes on a new one, which the
// HTTP stack never sends again by itself after a cut (it does so on a reused connection,
// and that copy would repeat frames the server holds: RequestLoop stops it, but only
// after up to 50 ms of it went out).
Json state_of(RequestLoop& link, uint64_t after) {
  const std::string text = link.call_raw(
      "GET", "/v1/push/state?after=" + std::to_string(after), "",
      {{"Accept-Encoding", "gzip"}, {"User-Agent", "lumbung"}, {"Connection", "close"}});
  try {
    return Json::parse(text);
  } catch (const Json::exception&) {
    throw Error(ErrorCode::kTransport, "push state answer is not JSON (cut short?)");
  }
}

}  // namespace

PushStreamBody build_push_stream(const Store& store, uint64_t after, uint64_t acked,
                                 const Json& report_base, size_t frame_text, size_t frame_ops,
                                 size_t max_ops, size_t max_body, int level) {
  PushStreamBody out;
  const std::vector<WireChange> changes = store.pending_wire(max_ops, after);
  if (changes.empty()) return out;
  size_t text_total = 1024;  // the frames' heads and the report
  for (const WireChange& c : changes) text_total += c.json.size() + 1;
  PushStreamWriter w(level, text_total);
  const std::string head = "{\"device\":" + Json(store.device_id()).dump() + ",\"ops\":[";
  size_t i = 0;
  while (i < changes.size() && w.size() < max_body) {
    std::string text = head;
    const size_t start = i;
    for (; i < changes.size(); ++i) {
      if (i > start &&
          (text.size() + changes[i].json.size() > frame_text || i - start >= frame_ops)) {
        break;
      }
      if (i > start) text += ',';
      text += changes[i].json;
    }
    text += ']';
    if (out.frames == 0) {
      // The status report rides in the first frame (a push batch's, docs/PROTOCOL.md).
      Json report = report_base;
      const uint64_t pending = store.pending_count();
      report["pending"] = pending;
      report["last_seq"] = acked + pending;
      report["oldest_pending_ms"] = changes.front().written_ms;
      report["schema_version"] = store.schema().version();
      text += ",\"report\":" + report.dump();
    }
    text += '}';
    out.text_bytes += text.size();
    out.last = changes[i - 1].seq;
    w.add(Json::parse(text), i == changes.size() || w.size() >= max_body);
    ++out.frames;
  }
  out.first = changes.front().seq;
  out.body = w.finish();
  return out;
}

bool says_push_stream(const CallInfo& info) {
  const auto h = info.headers.find("lumbung-push-stream");
  return h != info.headers.end() && h->second == "1";
}

void note_push_stream_server(Store& store) {
  if (store.get_meta(kServerPushStream) != "1") store.set_meta(kServerPushStream, "1");
}

bool server_reads_push_stream(const Store& store) {
  return store.get_meta(kServerPushStream) == "1";
}

bool run_push_stream(RequestLoop& link, Store& store, uint64_t acked,
                     const std::function<PushStreamBody(uint64_t after)>& build,
                     const std::function<uint64_t(const Json&, uint64_t, uint64_t, const CallInfo*,
                                                  const PushStreamBody&)>& take,
                     const std::function<void(uint64_t partial)>& on_cut) {
  if (!server_reads_push_stream(store)) return false;  // it never said so, or refused one
  uint64_t known = acked;  // the server's answers are taken in up to here
  PushStreamBody b = build(known);
  std::atomic<uint64_t> progressed{0};  // ops the server took in despite cuts
  // What a state answer says: the answers it gives, for (known, answered_seq], taken in
  // (the ops after those, if the server holds more, are sent again: it answers them from
  // its store), and false if the server holds less than this client was told (then
  // batches realign: seq_gap).
  auto learn = [&](const Json& st) {
    const uint64_t server = st.at("acked_seq").get<uint64_t>();
    if (server < known) return false;
    const uint64_t answered =
        std::min(server, st.value("answered_seq", st.value("complete", false) ? server : known));
    if (answered > known) {
      known = take(st, known + 1, answered, nullptr, b);
      progressed += 1;
    }
    return true;
  };
  while (!b.body.empty()) {
    Json problem;
    CallInfo info;
    // After a cut: how far the server got, then the rest only. A state the ledger could
    // not answer whole ("complete": false) sends the ops after `known` again: the server
    // answers those it holds from its store.
    auto after_cut = [&](HttpRequest& req, uint64_t partial) {
      on_cut(partial);
      if (!learn(state_of(link, known))) throw Error(ErrorCode::kSeqGap, "server behind");
      b = build(known);
      if (b.body.empty()) throw AllApplied{};
      req.body = b.body;
    };
    try {
      const Json ack = link.call_push_stream("/v1/push?stream=1", b.body, &problem, &info,
                                             after_cut, &progressed);
      known = take(ack, b.first, b.last, &info, b);
      if (known < b.last) return false;  // an answer short of the body: batches realign
    } catch (const AllApplied&) {
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kSeqGap && problem.is_null()) return false;  // server behind
      if (e.code() == ErrorCode::kCancelled || e.code() == ErrorCode::kTransport) throw;
      if (!problem.is_object() || !problem.value("push_stream", false)) {
        // An older server reads the body as JSON and refuses it as JSON (malformed, or
        // nested too deep by the brackets among the compressed bytes): batches from now on.
        // (Any other refusal without "push_stream" came before the body: this time only.)
        if (e.code() == ErrorCode::kMalformedJson || e.code() == ErrorCode::kJsonTooDeep) {
          store.set_meta(kServerPushStream, "0");
        }
        return false;
      }
      // This server refused the body after some frames: take in what they did; batches
      // then realign or report the refusal as for any push.
      learn(state_of(link, known));
      return false;
    }
    b = build(known);
  }
  return true;
}

}  // namespace lumbung::sync_detail

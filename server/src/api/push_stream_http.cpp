#include "api/push_stream_http.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include "api/problem.h"
#include "api/route_util.h"
#include "common/json_input.h"
#include "lumbung/error.h"

namespace lumbung::server {
namespace {

template <class T>
void keep_within(std::vector<T>& v, uint64_t after, uint64_t upto, uint64_t (*seq)(const T&)) {
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const T& x) { return seq(x) <= after || seq(x) > upto; }),
          v.end());
}
uint64_t pair_seq(const std::pair<uint64_t, uint64_t>& p) { return p.first; }
uint64_t stored_seq(const std::pair<uint64_t, Json>& p) { return p.first; }
uint64_t refused_seq(const RefusedOp& r) { return r.seq; }

size_t answer_count(const PushResult& r) {
  return r.restamped.size() + r.refused.size() + r.stored.size();
}

void append(PushResult& to, PushResult from) {
  to.acked_seq = from.acked_seq;
  to.applied += from.applied;
  to.duplicates += from.duplicates;
  to.conflicts += from.conflicts;
  to.duplicate_keys += from.duplicate_keys;
  to.duplicate_keys_in_scope += from.duplicate_keys_in_scope;
  for (auto& x : from.restamped) to.restamped.push_back(x);
  for (auto& x : from.refused) to.refused.push_back(std::move(x));
  for (auto& x : from.stored) to.stored.push_back(std::move(x));
}

}  // namespace

bool is_push_stream_body(const Request& req) {
  const auto type = req.header("content-type");
  if (!type || type->find(kPushStreamMediaType) == std::string::npos) return false;
  const auto enc = req.header("content-encoding");
  if (enc && !enc->empty() && *enc != "identity") {
    throw Error(ErrorCode::kProtocol, "a push stream is compressed already: no Content-Encoding");
  }
  return true;
}

uint64_t seq_param(const Request& req, const char* name) {
  const std::string v = query_param(req, name);
  if (v.empty() || v.size() > 18) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(name) + "=SEQ (1 to 18 digits) is required");
  }
  return decimal_param_value(v, name);
}

std::string push_answer_json(const PushResult& res, const std::string& epoch, int64_t now_ms) {
  std::string out = "{\"acked_seq\":" + std::to_string(res.acked_seq) +
                    ",\"applied\":" + std::to_string(res.applied) +
                    ",\"skipped\":" + std::to_string(res.duplicates) +
                    ",\"conflicts\":" + std::to_string(res.conflicts) +
                    // Only pairs inside the device's regions: no NIK oracle (SECURITY.md).
                    ",\"duplicates\":" + std::to_string(res.duplicate_keys_in_scope) +
                    ",\"restamped\":[";
  for (size_t i = 0; i < res.restamped.size(); ++i) {
    if (i) out += ',';
    out += "{\"seq\":" + std::to_string(res.restamped[i].first) +
           ",\"hlc\":" + std::to_string(res.restamped[i].second) + "}";
  }
  out += "],\"refused\":[";
  for (size_t i = 0; i < res.refused.size(); ++i) {
    if (i) out += ',';
    const RefusedOp& r = res.refused[i];
    Json j{{"seq", r.seq},
           {"code", error_code_name(r.why.code)},
           {"field", r.why.field},
           {"message", r.why.message}};
    if (!r.why.rule.empty()) j["rule"] = r.why.rule;  // e.g. newer_schema_rule (op_upgrade.h)
    if (!r.held.is_null()) j["held"] = r.held;
    out += j.dump();
  }
  out += "],\"stored\":[";
  for (size_t i = 0; i < res.stored.size(); ++i) {
    if (i) out += ',';
    out += "{\"seq\":" + std::to_string(res.stored[i].first) +
           ",\"set\":" + res.stored[i].second.dump() + "}";
  }
  out += "],\"epoch\":\"" + epoch + "\"";
  out += ",\"server_time_ms\":" + std::to_string(now_ms) + "}";
  return out;
}

// --- PushLedger ----------------------------------------------------------------------------

void PushLedger::recount(Entry& e) {
  const size_t n = answer_count(e.answers);
  if (n >= e.counted) {
    total_ += n - e.counted;
  } else {
    total_ -= e.counted - n;
  }
  e.counted = n;
}

void PushLedger::drop(Entry& e) {
  e.valid = false;
  e.answers = PushResult{};
  recount(e);
}

std::shared_ptr<PushLedger::Entry> PushLedger::entry(const std::string& device) {
  std::shared_ptr<Entry> e, evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(device);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second->lru);
      return it->second;
    }
    if (entries_.size() >= kMaxDevices) {
      auto victim = entries_.find(lru_.back());
      evicted = victim->second;  // an Entry in use lives on through its shared_ptr
      entries_.erase(victim);
      lru_.pop_back();
    }
    e = std::make_shared<Entry>();
    lru_.push_front(device);
    e->lru = lru_.begin();
    entries_.emplace(device, e);
  }
  if (evicted) {  // its share of the total goes with it (never under mu_: lock order)
    std::lock_guard<std::mutex> lock(evicted->mu);
    drop(*evicted);
  }
  return e;
}

void PushLedger::forget(const std::string& device) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(device);
    if (it == entries_.end()) return;
    e = it->second;
  }
  std::lock_guard<std::mutex> lock(e->mu);
  drop(*e);
}

PushResult PushLedger::record(const std::string& device, uint64_t first_seq, uint64_t last_seq,
                              bool request_start, const std::function<PushResult()>& apply) {
  std::shared_ptr<Entry> e = entry(device);
  std::lock_guard<std::mutex> lock(e->mu);
  PushResult res = apply();        // committed, or threw and changed nothing
  if (first_seq == 0) return res;  // no ops
  // Answers follow on from the ledger's (a frame re-sent whole by the HTTP stack or after
  // "complete": false carries ops it holds already: their answers, derived again from the
  // store, fill in only what it lacks), or start it again after a gap (ops pushed in
  // batches, which the ledger does not see).
  if (!e->valid || first_seq > e->hi + 1) {
    drop(*e);
    e->valid = true;
    e->lo = first_seq - 1;
    e->hi = first_seq - 1;
  } else if (request_start && first_seq - 1 > e->lo) {
    // The client holds the answers before its request's first op: no need to keep them.
    e->lo = first_seq - 1;
    keep_within(e->answers.restamped, e->lo, UINT64_MAX, &pair_seq);
    keep_within(e->answers.refused, e->lo, UINT64_MAX, &refused_seq);
    keep_within(e->answers.stored, e->lo, UINT64_MAX, &stored_seq);
  }
  const uint64_t lo = e->lo, hi = e->hi;
  auto fresh = [&](uint64_t seq) { return seq <= lo || seq > hi; };
  for (const auto& x : res.restamped) {
    if (fresh(x.first)) e->answers.restamped.push_back(x);
  }
  for (const auto& x : res.refused) {
    if (fresh(x.seq)) e->answers.refused.push_back(x);
  }
  for (const auto& x : res.stored) {
    if (fresh(x.first)) e->answers.stored.push_back(x);
  }
  // The frame's answers cover its ops up to what the server holds: a frame of ops it held
  // already (skipped) says nothing of the ops after it, however far acked_seq is.
  const uint64_t covered = std::min(last_seq, res.acked_seq);
  if (covered >= lo) e->lo = std::min(lo, first_seq - 1);  // no gap below the ledger's
  e->hi = std::max(e->hi, covered);
  recount(*e);
  // Too many to keep: the client sends those ops again (the server answers from its store).
  if (e->counted > kMaxAnswers || total_.load() > kMaxTotalAnswers) drop(*e);
  return res;
}

void PushLedger::stream_began(const std::string& device) {
  std::shared_ptr<Entry> e = entry(device);
  std::lock_guard<std::mutex> lock(e->mu);
  ++e->streams;
}

void PushLedger::stream_ended(const std::string& device) {
  std::shared_ptr<Entry> e = entry(device);
  std::lock_guard<std::mutex> lock(e->mu);
  if (e->streams > 0) --e->streams;
  e->ended.notify_all();
}

std::string PushLedger::state(const Principal& device, uint64_t after, SyncService& sync) {
  std::shared_ptr<Entry> e = entry(device.device_id);
  std::unique_lock<std::mutex> lock(e->mu);  // no frame of this device commits meanwhile
  // A stream cut on its way may still hold whole frames (read before the cut was seen):
  // they are applied first, rather than sent again (bounded: a dead peer's stream ends
  // only with its deadline).
  e->ended.wait_for(lock, std::chrono::milliseconds(kStateWaitMs), [&] { return e->streams == 0; });
  PushResult res;
  res.acked_seq = sync.store().device_acked_seq(device.device_id);
  // The answers given cover (after, answered]: all of (after, acked_seq] when nothing was
  // applied since `after` (or the server holds less: the client's push realigns) or the
  // ledger holds every answer up to acked_seq, else the ledger's prefix of it (maybe none).
  uint64_t answered = after;
  if (res.acked_seq <= after) {
    answered = res.acked_seq;
  } else if (e->valid && e->lo <= after && e->hi > after) {
    answered = std::min(e->hi, res.acked_seq);
  }
  const bool complete = answered >= res.acked_seq;
  if (answered > after) {
    res.restamped = e->answers.restamped;
    res.refused = e->answers.refused;
    res.stored = e->answers.stored;
    keep_within(res.restamped, after, answered, &pair_seq);
    keep_within(res.refused, after, answered, &refused_seq);
    keep_within(res.stored, after, answered, &stored_seq);
  }
  std::string out = push_answer_json(res, sync.epoch(), sync.now_ms());
  out.pop_back();  // '}'
  out += ",\"answered_seq\":" + std::to_string(answered) +
         ",\"complete\":" + (complete ? "true" : "false") + "}";
  return out;
}

// --- PushStreamSink ------------------------------------------------------------------------

PushStreamSink::PushStreamSink(Router& router, const Request& head,
                               const Router::Admission& admitted) noexcept
    : router_(router), admitted_(admitted) {
  head_.method = head.method;
  head_.path = head.path;
  head_.query = head.query;
  head_.headers = head.headers;
  head_.remote_address = head.remote_address;
  try {
    reader_ = std::make_unique<PushStreamReader>();
    if (admitted_.who) {
      router_.ledger_->stream_began(admitted_.who->device_id);
      device_ = admitted_.who->device_id;
    }
  } catch (...) {
    fail();
  }
}

PushStreamSink::~PushStreamSink() {
  try {
    if (!device_.empty()) router_.ledger_->stream_ended(device_);
  } catch (...) {
  }
}

bool PushStreamSink::feed(std::string_view bytes) noexcept {
  if (failure_) return false;
  try {
    reader_->feed(bytes, [this](Json doc, bool) { apply(std::move(doc)); });
    return true;
  } catch (...) {
    fail();
    return false;
  }
}

void PushStreamSink::apply(Json doc) {
  const Principal& who = *admitted_.who;
  // The limits of a pushed body (depth, cost, the shared parse budget), as a v2 push.
  JsonLease lease;
  Json body = parse_json_input(doc.dump(), &lease);
  doc = Json();
  auto seq_of = [](const Json& op) {
    const auto s = op.is_object() ? op.find("seq") : op.end();
    return op.is_object() && s != op.end() && s->is_number_unsigned() ? s->get<uint64_t>() : 0;
  };
  uint64_t first = 0, last = 0;
  if (auto ops = body.find("ops"); ops != body.end() && ops->is_array() && !ops->empty()) {
    first = seq_of(ops->front());
    last = seq_of(ops->back());
  }
  PushResult res = router_.ledger_->record(who.device_id, first, last, frames_ == 0, [&] {
    PushResult r;
    router_.run_live(false, [&] { r = router_.push_one(who, std::move(body)); });
    return r;
  });
  append(total_, std::move(res));
  any_ = true;
  ++frames_;
}

void PushStreamSink::fail() noexcept {
  Response r = response_for_current_exception();
  try {
    // How far it got: the frames before this one stay applied.
    uint64_t acked = total_.acked_seq;
    if (!any_ && admitted_.who) {
      acked = router_.sync_.store().device_acked_seq(admitted_.who->device_id);
    }
    Json p = Json::parse(r.body);
    p["acked_seq"] = acked;
    p["frames_applied"] = frames_;
    p["push_stream"] = true;  // this server reads streams: the refusal is about this body
    r.body = p.dump();
  } catch (...) {
  }
  failure_ = std::move(r);
}

Response PushStreamSink::answer() noexcept {
  if (!failure_ && !reader_->complete()) {
    try {
      throw Error(ErrorCode::kProtocol,
                  "invalid push stream: the body ended before its last frame");
    } catch (...) {
      fail();
    }
  }
  Response r;
  if (failure_) {
    r = std::move(*failure_);
  } else {
    r.body = push_answer_json(total_, router_.sync_.epoch(), router_.sync_.now_ms());
  }
  return router_.finish(head_, std::move(r), admitted_);
}

}  // namespace lumbung::server

// "Records changed" for lb_sync_on_changed (lumbung.h): which records a run's pull changed.
//
// The sync client reports only how many pulled ops changed something (SyncReport::applied),
// not which records. Rather than reach into engine/src/sync, the C API watches its own
// transport: each pull page's answer names the records its ops touch; before that page
// can be applied (the answer has not yet reached the sync client) the watch keeps a
// digest of each record's stored state, and at the end of the run compares it with the
// state then. Only while an app has set a callback: otherwise pages are not looked at.
#include <functional>
#include <string>

#include "capi/capi_internal.h"
#include "common/gzip.h"
#include "lumbung/changeset.h"
#include "lumbung/tuning.h"

namespace lumbung::capi {
namespace {

// Most records one run tracks (~150 bytes each: the key and a hash); past it the result
// says "truncated".
constexpr size_t kMaxWatched = 100000;

bool is_pull(const HttpRequest& req) { return req.target.rfind("/v1/pull", 0) == 0; }

}  // namespace

// What a record looks like now, as far as a pull can change it: a hash of its field
// versions and deletion (8 bytes kept per record, not the versions themselves: a first
// pull may name 100000 records on a phone). `live` is false when there is no such live
// record here (deleted, or hidden: moved out of the device's regions).
ChangeWatch::State ChangeWatch::state_of(const std::string& collection,
                                         const std::string& id) const {
  std::string d = "-";
  try {
    auto rec = store_->get(collection, id, true);
    if (rec && rec->deleted) {
      d = "deleted " + version_to_string(rec->tombstone);
    } else if (rec) {
      d = "live";
      for (const auto& [field, v] : rec->versions) d += " " + field + "=" + version_to_string(v);
    }
  } catch (const Error&) {
    // Hidden (moved out of the device's regions) or unreadable: not live here.
  }
  return State{std::hash<std::string>{}(d), d.rfind("live", 0) == 0};
}

void ChangeWatch::begin(bool active) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = active;
  truncated_ = false;
  before_.clear();
}

void ChangeWatch::observe(const HttpRequest& req, const HttpResponse& resp) noexcept {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!active_ || !is_pull(req) || resp.status != 200) return;
  }
  try {
    auto enc = resp.headers.find("content-encoding");
    const bool gz = enc != resp.headers.end() && enc->second.find("gzip") != std::string::npos;
    // A page in change-set format v2 (the client's default where the server offers it) is
    // read with its own decoder; a v1 page is JSON, gzip'ed or not.
    // A streamed pull read whole by the transport: its frames, each a page.
    auto type = resp.headers.find("content-type");
    if (type != resp.headers.end() && type->second.rfind(kPullStreamMediaType, 0) == 0) {
      PullStreamReader reader;
      reader.feed(resp.body, [this](Json page, bool) { observe_page(page); });
      return;
    }
    const Json page =
        is_changeset_v2(resp.body)
            ? decode_changeset_v2(resp.body, 4 * kMaxBodyBytes)
            : Json::parse(gz ? gzip::decompress(resp.body, 4 * kMaxBodyBytes) : resp.body);
    observe_page(page);
  } catch (...) {
    // A page this watch cannot read is still the sync client's to judge; the app is told
    // to reload instead of being given a list that may miss records.
    std::lock_guard<std::mutex> lock(mu_);
    truncated_ = true;
  }
}

bool ChangeWatch::active() {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void ChangeWatch::observe_stream(PullStreamReader& reader, std::string_view piece) noexcept {
  try {
    reader.feed(piece, [this](Json page, bool) { observe_page(page); });
  } catch (...) {
    // A bad frame is refused by the sync client too (and asked for again): the list may
    // miss what the retry brings, so the app is told to reload.
    std::lock_guard<std::mutex> lock(mu_);
    truncated_ = true;
  }
}

void ChangeWatch::observe_page(const Json& page) {
  {
    auto ops = page.find("ops");
    if (ops == page.end() || !ops->is_array()) return;
    for (const auto& o : *ops) {
      const Op op = decode_op(o, "");
      const auto key = std::make_pair(op.collection, op.id);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (before_.count(key)) continue;
        if (before_.size() >= kMaxWatched) {
          truncated_ = true;
          return;
        }
      }
      // Read outside the lock: the store may be busy applying the previous page.
      const State st = state_of(op.collection, op.id);
      std::lock_guard<std::mutex> lock(mu_);
      before_.emplace(key, st.hash);
    }
  }
}

Json ChangeWatch::collect() {
  std::map<std::pair<std::string, std::string>, size_t> before;
  bool truncated = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    before.swap(before_);
    truncated = truncated_;
    active_ = false;
  }
  Json records = Json::array();
  for (const auto& [key, was] : before) {
    const State now = state_of(key.first, key.second);
    if (now.hash == was) continue;
    records.push_back({{"collection", key.first}, {"id", key.second}, {"deleted", !now.live}});
  }
  const size_t n = records.size();
  return Json{{"count", n}, {"truncated", truncated}, {"records", std::move(records)}};
}

HttpResponse WatchingTransport::send(const HttpRequest& request) {
  if (!request.on_body || !watch_.active()) {
    HttpResponse resp = inner_->send(request);
    watch_.observe(request, resp);
    return resp;
  }
  // A streamed pull: its frames are applied as they arrive, so each is observed here
  // first, before the sync client's own reader is given the same bytes.
  HttpRequest r = request;
  auto reader = std::make_shared<PullStreamReader>();
  r.on_body = [this, reader, inner = request.on_body](std::string_view piece) {
    if (!piece.empty()) watch_.observe_stream(*reader, piece);
    return inner(piece);
  };
  HttpResponse resp = inner_->send(r);
  if (!resp.streamed) watch_.observe(request, resp);
  return resp;
}

}  // namespace lumbung::capi

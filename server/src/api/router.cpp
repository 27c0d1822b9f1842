// The Router (api/router.h): its route table, and the one path every request takes:
// admission (route, authentication, role, rate limits, body limit), body parsing, the
// handler call and the answer's gzip, Vary and metrics. The handlers are in
// device_routes.cpp, review_routes.cpp, admin_routes.cpp, schema_routes.cpp and
// attach/attachment_routes.cpp.
#include "api/router.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "api/changeset_v2_http.h"
#include "api/problem.h"
#include "api/push_stream_http.h"
#include "api/route_util.h"
#include "attach/attachment_service.h"
#include "common/gzip.h"
#include "common/json_input.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"
#include "lumbung/tuning.h"
#include "sync/op_upgrade.h"
#include "web/web_app.h"

namespace lumbung::server {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool accepts_gzip(const Request& req) {
  auto h = req.header("accept-encoding");
  return h && h->find("gzip") != std::string::npos;
}

}  // namespace

Router::Router(const Schema& schema, std::string schema_document, SyncService& sync,
               ReviewService& review, Enrolment& enrolment, Authenticator& auth, Metrics& metrics)
    : schema_(schema),
      schema_document_(std::move(schema_document)),
      sync_(sync),
      review_(review),
      enrolment_(enrolment),
      auth_(auth),
      metrics_(metrics),
      ledger_(std::make_shared<PushLedger>()) {
  routes_ = {
      {"GET", "/v1/health", Access::kPublic, false, &Router::health},
      {"GET", "/metrics", Access::kPublic, false, &Router::metrics},
      {"GET", "/v1/schema", Access::kAnyToken, false, &Router::schema},
      {"POST", "/v1/push", Access::kDevice, true, &Router::push},
      // After a cut streamed push: how far it got, and the answers since (push_stream_http.h).
      {"GET", "/v1/push/state", Access::kDevice, false, &Router::push_state},
      {"GET", "/v1/pull", Access::kDevice, false, &Router::pull},
      {"POST", "/v1/devices/register", Access::kPublic, true, &Router::register_device},
      {"POST", "/v1/devices/token/rotate", Access::kDevice, false, &Router::rotate_token},
      {"POST", "/v1/drafts", Access::kDevice, true, &Router::drafts},
      {"GET", "/v1/conflicts", Access::kReviewer, false, &Router::conflicts},
      {"POST", "/v1/conflicts/{id}/resolve", Access::kReviewer, true, &Router::resolve},
      {"POST", "/v1/conflicts/{id}/correct", Access::kReviewer, true, &Router::correct},
      {"GET", "/v1/duplicates", Access::kReviewer, false, &Router::duplicates},
      {"POST", "/v1/duplicates/{id}/merge", Access::kReviewer, true, &Router::merge},
      {"POST", "/v1/duplicates/{id}/correct", Access::kReviewer, true, &Router::merge_correct},
      {"GET", "/v1/refused", Access::kReviewer, false, &Router::refused},
      {"POST", "/v1/refused/{id}/apply", Access::kReviewer, true, &Router::refused_apply},
      {"POST", "/v1/refused/{id}/dismiss", Access::kReviewer, true, &Router::refused_dismiss},
      {"POST", "/v1/refused/{id}/correct", Access::kReviewer, true, &Router::refused_correct},
      {"GET", "/v1/records", Access::kReviewer, false, &Router::records},
      {"GET", "/v1/progress", Access::kReviewer, false, &Router::progress},
      // A record's changes, old -> new (review/record_history.h); targets per region.
      {"GET", "/v1/records/{id}/history", Access::kReviewer, false, &Router::record_history},
      {"GET", "/v1/targets", Access::kReviewer, false, &Router::targets_list},
      {"POST", "/v1/targets", Access::kReviewer, true, &Router::targets_set},
      {"POST", "/v1/admin/codes", Access::kAdmin, true, &Router::create_code},
      {"POST", "/v1/admin/codes/{id}/revoke", Access::kAdmin, false, &Router::revoke_code},
      {"POST", "/v1/admin/tokens", Access::kAdmin, true, &Router::create_token},
      {"GET", "/v1/admin/devices", Access::kAdmin, false, &Router::devices},
      {"POST", "/v1/admin/devices/{id}/revoke", Access::kAdmin, false, &Router::revoke},
      {"GET", "/v1/admin/tokens", Access::kAdmin, false, &Router::tokens},
      {"POST", "/v1/admin/tokens/{id}/revoke", Access::kAdmin, false, &Router::revoke_token},
      {"GET", "/v1/admin/audit", Access::kAdmin, false, &Router::audit},
      {"GET", "/v1/admin/audit/verify", Access::kAdmin, false, &Router::audit_verify},
      {"POST", "/v1/admin/audit/verify", Access::kAdmin, true, &Router::audit_verify},
      {"POST", "/v1/admin/audit/checkpoint", Access::kAdmin, false, &Router::audit_checkpoint},
      {"POST", "/v1/admin/schema", Access::kAdmin, true, &Router::publish_schema},
      {"GET", "/v1/admin/schema", Access::kAdmin, false, &Router::schema_versions},
      // The office web page (web/web_app.h, docs/DASHBOARD.md).
      {"POST", "/v1/web/login", Access::kPublic, true, &Router::web},
      {"POST", "/v1/web/logout", Access::kReviewer, false, &Router::web},
      {"GET", "/v1/web/session", Access::kReviewer, false, &Router::web},
      {"GET", "/v1/web/progress", Access::kReviewer, false, &Router::web},
      {"GET", "/v1/web/enrolments", Access::kReviewer, false, &Router::web},
      {"GET", "/v1/web/enrolments.csv", Access::kReviewer, false, &Router::web},
      {"GET", "/v1/web/records/{id}", Access::kReviewer, false, &Router::web},
      {"POST", "/v1/web/records/{id}/status", Access::kReviewer, true, &Router::web},
      // Attachments (attach/attachment_service.h, docs/PROTOCOL.md "Attachments").
      {"GET", "/v1/attachments/{id}", Access::kAnyToken, false, &Router::attachment},
      {"POST", "/v1/attachments/{id}", Access::kDevice, false, &Router::attachment},
      {"GET", "/v1/attachments/{id}/content", Access::kAnyToken, false, &Router::attachment},
      {"POST", "/v1/admin/attachments/gc", Access::kAdmin, false, &Router::attachment},
  };
}

size_t Router::body_limit(const Route& r) {
  if (r.handler == &Router::attachment && r.access == Access::kDevice) {
    return kMaxAttachmentChunkBytes;  // a raw chunk, not JSON
  }
  if (!r.json_body) return kMaxPublicBodyBytes;  // read and ignored
  if (r.access == Access::kPublic) return kMaxPublicBodyBytes;
  if (r.handler == &Router::drafts) return kMaxStaffBodyBytes;  // 100 forms, a few KB each
  if (r.access == Access::kDevice) return kMaxBodyBytes;        // push
  return kMaxStaffBodyBytes;
}

Router::Admission Router::admit(const Request& req) noexcept {
  Admission a;
  a.start = std::chrono::steady_clock::now();
  try {
    admit_or_throw(req, a);
  } catch (...) {
    a.refusal = finish(req, response_for_current_exception(), a);
  }
  return a;
}

Response Router::handle(const Request& req, const Admission& a) noexcept {
  if (a.refusal) return *a.refusal;
  if (a.streamed) {  // the whole body at once, for callers that hold it
    std::unique_ptr<BodySink> sink = open_sink(req, a);
    sink->feed(req.body);
    return sink->answer();
  }
  Response resp;
  // A live publication switches the schema between requests, never under one; the
  // publication itself runs outside (sync/op_upgrade.h LiveSchema).
  const bool publishing = !a.web_static && routes_.at(a.route).handler == &Router::publish_schema;
  try {
    run_live(publishing, [&] { resp = run(req, a); });
  } catch (...) {
    resp = response_for_current_exception();
  }
  return finish(req, std::move(resp), a);
}

void Router::run_live(bool publishing, const std::function<void()>& f) {
  for (int attempt = 0;; ++attempt) {
    try {
      if (live_ && !publishing) live_->catch_up_if_due();
      LiveSchema::Share share = live_ && !publishing ? live_->enter() : LiveSchema::Share();
      f();
      return;
    } catch (const SchemaMoved&) {
      // Another server process on the database published a version: nothing was written
      // (the transaction rolled back when it unwound, the Share with it). Switch and run
      // the request again, once.
      bool switched = false;
      if (attempt == 0 && live_) {
        try {
          live_->catch_up(/*wait=*/true);
          switched = true;
        } catch (...) {
        }
      }
      if (!switched) throw;
    }
  }
}

std::unique_ptr<BodySink> Router::open_sink(const Request& head, const Admission& a) noexcept {
  return std::make_unique<PushStreamSink>(*this, head, a);  // api/push_stream_http.h
}

Response Router::handle(const Request& req) noexcept {
  Admission a = admit(req);
  if (a.refusal) return std::move(*a.refusal);
  Response r = handle(req, a);
  try {
    drain_body(r);
  } catch (...) {  // as a listener would close the connection: the body ends where it broke
  }
  return r;
}

Response Router::finish(const Request& req, Response resp, const Admission& a) noexcept {
  try {
    if (web_) WebApp::decorate(req, resp);
    // A v2 body is compressed already (api/changeset_v2_http.h).
    if (accepts_gzip(req) && resp.body.size() >= kGzipMinBytes &&
        resp.content_type != kChangesetV2MediaType && resp.content_type != kPullStreamMediaType) {
      resp.body = gzip::compress(resp.body, kResponseGzipLevel);
      resp.headers["Content-Encoding"] = "gzip";
    }
    resp.headers.emplace("Vary", "Accept-Encoding");  // unless the route said more (pull)
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - a.start).count();
    metrics_.observe_request(a.route_name, resp.status, req.body.size(), resp.body.size(), secs);
    if (resp.more) {  // the rest of the body is counted as it is made
      resp.more = [more = std::move(resp.more), metrics = &metrics_,
                   route = a.route_name](std::string& out) {
        const bool going = more(out);
        metrics->add_bytes_out(route, out.size());
        return going;
      };
    }
  } catch (...) {
    resp = problem_response(ErrorCode::kInternal, "internal error");
  }
  return resp;
}

void Router::rate_limit(RateLimiter* limiter, const std::string& key) {
  if (!limiter) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  const int64_t wait_s = limiter->acquire(key, now);
  if (wait_s > 0) {
    throw ProblemError(ErrorCode::kRateLimited,
                       "too many requests; retry after " + std::to_string(wait_s) + " s",
                       Json{{"retry_after_s", wait_s}});
  }
}

void Router::audit_record(const Principal* who, const std::string& action,
                          const std::string& target, const Json& detail,
                          const std::string& anonymous_actor) {
  if (!security_.audit) return;
  try {
    security_.audit->record(who, action, target, detail, anonymous_actor);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lumbung-server: audit entry for %s not written: %s\n", action.c_str(),
                 e.what());
  }
}

void Router::admit_or_throw(const Request& req, Admission& a) {
  // Per address first, before any work: token and code guessing is throttled too.
  rate_limit(security_.per_address, req.remote_address);
  if (web_ && WebApp::is_static_path(req.path)) {
    a.web_static = true;
    a.route_name = "static";
    a.max_body_bytes = kMaxPublicBodyBytes;
    check_body_limit(req, a);
    return;
  }
  const auto segs = split_path(req.path);
  const Route* found = nullptr;
  std::string allow;
  Params params;
  for (const Route& r : routes_) {
    const auto pat = split_path(r.pattern);
    if (pat.size() != segs.size()) continue;
    Params p;
    bool match = true;
    for (size_t i = 0; i < pat.size() && match; ++i) {
      if (pat[i] == "{id}") {
        p.push_back(std::string(segs[i]));
      } else {
        match = pat[i] == segs[i];
      }
    }
    if (!match) continue;
    if (r.method != req.method) {
      if (!allow.empty()) allow += ", ";
      allow += r.method;
      a.route_name = r.pattern;
      continue;
    }
    found = &r;
    params = std::move(p);
    break;
  }
  if (!found) {
    if (!allow.empty()) {
      throw ProblemError(ErrorCode::kMethodNotAllowed, req.method + " is not allowed here",
                         Json{{"allow", allow}});
    }
    throw Error(ErrorCode::kNotFound, "no such endpoint");
  }
  a.route_name = found->pattern;

  // Authenticate before looking at the body: an anonymous caller learns nothing else.
  std::optional<Principal> who;
  if (found->access != Access::kPublic) {
    if (web_ && WebApp::uses_session(req)) {
      // The office page's cookie; a state change must carry the session's CSRF token.
      who = web_->session_principal(req, req.method != "GET" && req.method != "HEAD");
    } else {
      who = auth_.authenticate(req.header("authorization"));
    }
    const Role role = who->role;
    switch (found->access) {
      case Access::kDevice:
        if (role != Role::kDevice)
          throw Error(ErrorCode::kForbidden, "this call needs a device token");
        break;
      case Access::kReviewer:
        if (role == Role::kDevice)
          throw Error(ErrorCode::kForbidden, "this call needs a reviewer or admin token");
        break;
      case Access::kAdmin:
        if (role != Role::kAdmin)
          throw Error(ErrorCode::kForbidden, "this call needs an admin token");
        break;
      default:
        break;
    }
    rate_limit(security_.per_principal,
               role == Role::kDevice ? "d:" + who->device_id : "t:" + who->token_id);
  }

  a.route = static_cast<size_t>(found - routes_.data());
  a.params = std::move(params);
  a.who = std::move(who);

  // The body limit before the body: the transport reads no byte of a refused one.
  a.max_body_bytes = body_limit(*found);
  check_body_limit(req, a);
  a.streamed = push_stream_ && found->handler == &Router::push && is_push_stream_body(req);
}

void Router::check_body_limit(const Request& req, const Admission& a) {
  const std::string too_large =
      "request body exceeds " + std::to_string(a.max_body_bytes) + " bytes";
  if (auto len = req.header("content-length")) {
    // Digits only (the transport refuses anything else); more than 12 is beyond any limit.
    bool over = len->size() > 12;
    size_t n = 0;
    for (char c : *len) {
      if (c < '0' || c > '9') throw Error(ErrorCode::kProtocol, "Content-Length must be digits");
      if (!over) n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (over || n > a.max_body_bytes) throw Error(ErrorCode::kBodyTooLarge, too_large);
  }
  if (req.body_too_large || req.body.size() > a.max_body_bytes) {
    throw Error(ErrorCode::kBodyTooLarge, too_large);
  }
}

Response Router::run(const Request& req, const Admission& a) {
  if (a.web_static) return web_->serve_static(req);
  const Route& route = routes_.at(a.route);
  Json body;
  JsonLease parsed;  // the parsed body's share of the parse budget, until the handler returns
  if (route.json_body) {
    if (req.body.size() > a.max_body_bytes) {
      throw Error(ErrorCode::kBodyTooLarge,
                  "request body exceeds " + std::to_string(a.max_body_bytes) + " bytes");
    }
    auto enc = req.header("content-encoding");
    if (route.handler == &Router::push && is_changeset_v2_body(req)) {
      body = decode_push_v2(req, a.max_body_bytes, &parsed);  // api/changeset_v2_http.h
    } else if (enc && *enc == "gzip") {
      body = parse_json_input(gzip::decompress(req.body, a.max_body_bytes), &parsed);
    } else if (enc && !enc->empty() && *enc != "identity") {
      throw Error(ErrorCode::kProtocol, "Content-Encoding must be gzip or identity");
    } else {
      body = parse_json_input(req.body, &parsed);
    }
  }
  return (this->*route.handler)(req, a.params, body, a.who ? &*a.who : nullptr);
}

Response Router::web(const Request& req, const Params& p, Json& body, const Principal* who) {
  if (!web_) throw Error(ErrorCode::kNotFound, "this server has no web page");
  return web_->api(req, p, body, who);
}

}  // namespace lumbung::server

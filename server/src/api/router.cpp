#include "api/router.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "api/changeset_v2_http.h"
#include "api/problem.h"
#include "attach/attachment_service.h"
#include "common/gzip.h"
#include "common/json_input.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"
#include "review/record_history.h"
#include "sync/op_upgrade.h"
#include "web/targets.h"
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

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= q.size() && !q.empty()) {
    size_t amp = q.find('&', i);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view kv = q.substr(i, amp - i);
    if (!kv.empty()) {
      const size_t eq = kv.find('=');
      if (eq == std::string_view::npos) {
        out[percent_decode(kv)] = "";
      } else {
        out[percent_decode(kv.substr(0, eq))] = percent_decode(kv.substr(eq + 1));
      }
    }
    if (amp >= q.size()) break;
    i = amp + 1;
  }
  return out;
}

std::string query_param(const Request& req, const char* name, const std::string& def = {}) {
  auto q = parse_query(req.query);
  auto it = q.find(name);
  return it == q.end() ? def : it->second;
}

size_t size_param(const Request& req, const char* name) {
  const std::string v = query_param(req, name);
  if (v.empty()) return 0;
  if (v.size() > 9) throw Error(ErrorCode::kInvalidArgument, std::string(name) + " is too large");
  size_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a positive integer");
    }
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return n;
}

Response json_response(const Json& j, int status = 200) {
  Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
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
      metrics_(metrics) {
  routes_ = {
      {"GET", "/v1/health", Access::kPublic, false, &Router::health},
      {"GET", "/metrics", Access::kPublic, false, &Router::metrics},
      {"GET", "/v1/schema", Access::kAnyToken, false, &Router::schema},
      {"POST", "/v1/push", Access::kDevice, true, &Router::push},
      {"GET", "/v1/pull", Access::kDevice, false, &Router::pull},
      {"POST", "/v1/devices/register", Access::kPublic, true, &Router::register_device},
      {"POST", "/v1/devices/token/rotate", Access::kDevice, false, &Router::rotate_token},
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
  if (r.access == Access::kDevice) return kMaxBodyBytes;  // push
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
  Response resp;
  try {
    // A live publication switches the schema between requests, never under one; the
    // publication itself runs outside (sync/op_upgrade.h LiveSchema).
    const bool publishing = !a.web_static && routes_.at(a.route).handler == &Router::publish_schema;
    LiveSchema::Share share = live_ && !publishing ? live_->enter() : LiveSchema::Share();
    resp = run(req, a);
  } catch (...) {
    resp = response_for_current_exception();
  }
  return finish(req, std::move(resp), a);
}

Response Router::handle(const Request& req) noexcept {
  Admission a = admit(req);
  if (a.refusal) return std::move(*a.refusal);
  return handle(req, a);
}

Response Router::finish(const Request& req, Response resp, const Admission& a) noexcept {
  try {
    if (web_) WebApp::decorate(req, resp);
    // A v2 body is compressed already (api/changeset_v2_http.h).
    if (accepts_gzip(req) && resp.body.size() >= kGzipMinBytes &&
        resp.content_type != kChangesetV2MediaType) {
      resp.body = gzip::compress(resp.body, kResponseGzipLevel);
      resp.headers["Content-Encoding"] = "gzip";
    }
    resp.headers.emplace("Vary", "Accept-Encoding");  // unless the route said more (pull)
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - a.start).count();
    metrics_.observe_request(a.route_name, resp.status, req.body.size(), resp.body.size(), secs);
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

Response Router::health(const Request&, const Params&, Json&, const Principal*) {
  return json_response(Json{{"status", "ok"},
                            {"server_time_ms", sync_.now_ms()},
                            {"schema", sync_.schema().name()},
                            {"schema_version", sync_.schema().version()},
                            {"protocol", 1}});
}

Response Router::metrics(const Request&, const Params&, Json&, const Principal*) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics_.render();
  return r;
}

Response Router::schema(const Request&, const Params&, Json&, const Principal*) {
  Response r;
  // The active version's document (it changes when a version is published live).
  const SchemaHistory* h = sync_.schema_history();
  r.body = h ? h->current_document().dump(2) : schema_document_;
  return r;
}

Response Router::push(const Request&, const Params&, Json& body, const Principal* who) {
  // The newest schema version the device writes under, for the laptops on older versions.
  int sv = 1;
  if (auto ops = body.find("ops"); ops != body.end() && ops->is_array()) {
    for (const auto& op : *ops) {
      if (auto v = op.find("sv"); op.is_object() && v != op.end() && v->is_number_integer()) {
        sv = std::max(sv, v->get<int>());
      }
    }
  }
  PushResult res = sync_.push(*who, std::move(body));  // the handler owns the parsed body
  if (live_) live_->note_device_version(who->device_id, std::min(sv, sync_.schema().version()));
  audit_record(who, "push", "",
               Json{{"acked_seq", res.acked_seq},
                    {"applied", res.applied},
                    {"skipped", res.duplicates},
                    {"conflicts", res.conflicts},
                    {"duplicates", res.duplicate_keys},
                    {"restamped", res.restamped.size()},
                    {"refused", res.refused.size()}});
  // Written by hand: the response stays small and member order fixed.
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
    out += j.dump();
  }
  out += "],\"stored\":[";
  for (size_t i = 0; i < res.stored.size(); ++i) {
    if (i) out += ',';
    out += "{\"seq\":" + std::to_string(res.stored[i].first) +
           ",\"set\":" + res.stored[i].second.dump() + "}";
  }
  out += "],\"epoch\":\"" + sync_.epoch() + "\"";
  out += ",\"server_time_ms\":" + std::to_string(sync_.now_ms()) + "}";
  Response r;
  r.body = std::move(out);
  return r;
}

Response Router::pull(const Request& req, const Params&, Json&, const Principal* who) {
  Response r;
  const std::string snapshot = query_param(req, "snapshot");  // "1", or "2": compact "rec"
  r.body = sync_.pull(*who, query_param(req, "cursor"), size_param(req, "limit"),
                      size_param(req, "max_bytes"), snapshot == "1" || snapshot == "2",
                      query_param(req, "refusals") == "1", snapshot == "2");
  if (accepts_changeset_v2(req)) encode_pull_v2(r);
  r.headers["Vary"] = "Accept, Accept-Encoding";  // the format follows Accept (a cache must know)
  return r;
}

Response Router::register_device(const Request&, const Params&, Json& body, const Principal*) {
  // A re-enrolment writes its audit entry in its own transaction (enrolment.h).
  Json out = enrolment_.register_device(body, security_.audit);
  if (!out.value("reenrolled", false)) {
    Principal device;
    device.role = Role::kDevice;
    device.device_id = out["device_id"].get<std::string>();
    audit_record(&device, "register", device.device_id, Json{{"scope", out["scope"]}});
  }
  return json_response(out, 201);
}

Response Router::conflicts(const Request& req, const Params&, Json&, const Principal* who) {
  return json_response(review_.list_conflicts(*who, query_param(req, "status", "open"),
                                              query_param(req, "after"), size_param(req, "limit")));
}

Response Router::resolve(const Request&, const Params& p, Json& body, const Principal* who) {
  Json out = review_.resolve_conflict(p.at(0), body, *who);
  std::string how = "value";
  if (auto it = body.find("keep"); it != body.end() && it->is_string())
    how = it->get<std::string>();
  audit_record(who, "resolve", p.at(0), Json{{"keep", how}});
  return json_response(out);
}

// A correction's audit entry: which decision it replaced, the new one's number, the note.
static Json correction_detail(const Json& out) {
  const Json& res = out.value("resolution", Json::object());
  return Json{{"replaces", res.value("corrects", 0)},
              {"decision", res.value("decision", 0)},
              {"note", res.value("note", "")}};
}

Response Router::correct(const Request&, const Params& p, Json& body, const Principal* who) {
  Json out = review_.correct_conflict(p.at(0), body, *who);
  audit_record(who, "correct", p.at(0), correction_detail(out));
  return json_response(out);
}

Response Router::duplicates(const Request& req, const Params&, Json&, const Principal* who) {
  std::string status = query_param(req, "status", "open");
  if (status == "merged") status = "resolved";
  return json_response(
      review_.list_duplicates(*who, status, query_param(req, "after"), size_param(req, "limit")));
}

Response Router::merge(const Request&, const Params& p, Json& body, const Principal* who) {
  Json out = review_.merge_duplicate(p.at(0), body, *who);
  Json detail = Json::object();
  if (auto it = body.find("survivor"); it != body.end() && it->is_string())
    detail["survivor"] = *it;
  audit_record(who, "merge", p.at(0), detail);
  return json_response(out);
}

Response Router::merge_correct(const Request&, const Params& p, Json& body, const Principal* who) {
  Json out = review_.correct_duplicate(p.at(0), body, *who);
  audit_record(who, "merge_correct", p.at(0), correction_detail(out));
  return json_response(out);
}

Response Router::refused(const Request& req, const Params&, Json&, const Principal* who) {
  return json_response(review_.refused().list(*who, query_param(req, "status", "open"),
                                              query_param(req, "device"), query_param(req, "after"),
                                              size_param(req, "limit")));
}

Response Router::refused_apply(const Request&, const Params& p, Json& body, const Principal* who) {
  Json out = review_.refused().apply(p.at(0), body, *who);
  audit_record(who, "refused_apply", p.at(0), Json::object());
  return json_response(out);
}

Response Router::refused_dismiss(const Request&, const Params& p, Json& body,
                                 const Principal* who) {
  Json out = review_.refused().dismiss(p.at(0), body, *who);
  audit_record(who, "refused_dismiss", p.at(0), Json::object());
  return json_response(out);
}

Response Router::refused_correct(const Request&, const Params& p, Json& body,
                                 const Principal* who) {
  Json out = review_.refused().correct(p.at(0), body, *who);
  audit_record(who, "refused_correct", p.at(0), correction_detail(out));
  return json_response(out);
}

Response Router::records(const Request& req, const Params&, Json&, const Principal* who) {
  std::string col = query_param(req, "collection");
  if (col.empty() && !sync_.schema().collections().empty())
    col = sync_.schema().collections().front().name();
  return json_response(review_.records(*who, col, query_param(req, "scope"),
                                       query_param(req, "after"), size_param(req, "limit")));
}

Response Router::progress(const Request& req, const Params&, Json&, const Principal* who) {
  std::string col = query_param(req, "collection");
  if (col.empty() && !sync_.schema().collections().empty())
    col = sync_.schema().collections().front().name();
  Json out = review_.progress(*who, col, query_param(req, "scope"));
  add_targets_to_progress(out, TargetSums(sync_.store().list_targets(col, out.value("scope", ""))));
  return json_response(out);
}

Response Router::record_history(const Request& req, const Params& p, Json&, const Principal* who) {
  std::string col = query_param(req, "collection");
  if (col.empty() && !sync_.schema().collections().empty())
    col = sync_.schema().collections().front().name();
  return json_response(
      lumbung::server::record_history(sync_.schema(), sync_.store(), *who, col, p.at(0)));
}

Response Router::targets_list(const Request& req, const Params&, Json&, const Principal* who) {
  std::string col = query_param(req, "collection");
  if (col.empty() && !sync_.schema().collections().empty())
    col = sync_.schema().collections().front().name();
  return json_response(list_targets_json(sync_.store(), *who, col, query_param(req, "scope")));
}

Response Router::targets_set(const Request& req, const Params&, Json& body, const Principal* who) {
  std::string col = query_param(req, "collection");
  if (col.empty() && !sync_.schema().collections().empty())
    col = sync_.schema().collections().front().name();
  if (!sync_.schema().collection(col)) {
    throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + col + "\"");
  }
  Json out = set_target_json(sync_.store(), *who, col, body, sync_.now_ms());
  audit_record(who, "set_target", out["scope"].get<std::string>(), Json{{"n", out["n"]}});
  return json_response(out);
}

Response Router::create_code(const Request&, const Params&, Json& body, const Principal* who) {
  Json out = enrolment_.create_code(body);
  Json detail{{"scope", out["scope"]}, {"expires_ms", out["expires_ms"]}};
  // Names the device a re-enrolment code is for, and the code (its "reenrol" entry names it).
  if (out.contains("device_id")) {
    detail["device_id"] = out["device_id"];
    detail["code"] = out["id"];
  }
  audit_record(who, "create_code", "", detail);
  return json_response(out, 201);
}

Response Router::revoke_code(const Request&, const Params& p, Json&, const Principal* who) {
  Json out = enrolment_.revoke_code(p.at(0));
  audit_record(who, "revoke_code", p.at(0), Json{{"used", out["used"]}});
  return json_response(out);
}

Response Router::rotate_token(const Request&, const Params&, Json&, const Principal* who) {
  Json out = enrolment_.rotate_device_token(*who);
  audit_record(who, "rotate_token", who->device_id, Json::object());
  return json_response(out);
}

Response Router::create_token(const Request&, const Params&, Json& body, const Principal* who) {
  Json out = enrolment_.create_token(body);
  audit_record(who, "create_token", out["id"].get<std::string>(),
               Json{{"role", out["role"]}, {"expires_ms", out["expires_ms"]}});
  return json_response(out, 201);
}

Response Router::devices(const Request&, const Params&, Json&, const Principal*) {
  Json out = enrolment_.list_devices();
  // Each device's schema version as its pushes said (sync/op_upgrade.h; null = none yet).
  const auto versions = device_versions(sync_.store());
  for (Json& d : out["devices"]) {
    auto it = versions.find(d.value("device_id", ""));
    d["schema_version"] = it == versions.end() ? Json(nullptr) : Json(it->second);
  }
  out["schema_version"] = sync_.schema().version();
  return json_response(out);
}

Response Router::revoke(const Request&, const Params& p, Json&, const Principal* who) {
  Json out = enrolment_.revoke_device(p.at(0));
  audit_record(who, "revoke_device", p.at(0), Json::object());
  return json_response(out);
}

Response Router::tokens(const Request&, const Params&, Json&, const Principal*) {
  return json_response(enrolment_.list_tokens());
}

Response Router::revoke_token(const Request&, const Params& p, Json&, const Principal* who) {
  Json out = enrolment_.revoke_token(p.at(0));
  audit_record(who, "revoke_token", out["id"].get<std::string>(), Json{{"role", out["role"]}});
  return json_response(out);
}

Response Router::audit(const Request& req, const Params&, Json&, const Principal*) {
  if (!security_.audit) throw Error(ErrorCode::kNotFound, "this server keeps no audit log");
  const std::string after = query_param(req, "after");
  uint64_t after_seq = 0;
  if (!after.empty()) after_seq = size_param(req, "after");
  return json_response(security_.audit->page(after_seq, size_param(req, "limit")));
}

// GET: the chain, its head and the server's own checkpoints. POST {"checkpoint": {...}}:
// also against a checkpoint the operator kept (audit_log.h).
Response Router::audit_verify(const Request& req, const Params&, Json& body, const Principal*) {
  if (!security_.audit) throw Error(ErrorCode::kNotFound, "this server keeps no audit log");
  if (req.method != "POST") return json_response(security_.audit->verify());
  auto it = body.is_object() ? body.find("checkpoint") : body.end();
  if (!body.is_object() || it == body.end() || !it->is_object()) {
    throw Error(ErrorCode::kInvalidArgument, "body must be {\"checkpoint\": {...}}");
  }
  return json_response(security_.audit->verify(&*it));
}

// The entry for this request first, so that the checkpoint covers it too.
Response Router::audit_checkpoint(const Request&, const Params&, Json&, const Principal* who) {
  if (!security_.audit) throw Error(ErrorCode::kNotFound, "this server keeps no audit log");
  security_.audit->record(who, "audit_checkpoint", "", Json::object());
  return json_response(security_.audit->checkpoint(), 201);
}

Response Router::web(const Request& req, const Params& p, Json& body, const Principal* who) {
  if (!web_) throw Error(ErrorCode::kNotFound, "this server has no web page");
  return web_->api(req, p, body, who);
}

}  // namespace lumbung::server

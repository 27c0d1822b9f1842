#include "web/web_app.h"

#include <map>
#include <mutex>

#include "api/problem.h"
#include "common/encoding.h"
#include "review/reader_scope.h"
#include "web/web_assets.h"
#include "web/web_util.h"

namespace lumbung::server {
namespace {

// No inline script or style, nothing from another origin, no framing (clickjacking), no
// plugins; the page talks only to this server.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'";

const char* content_type_of(const std::string& path) {
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".csv")) return "text/csv; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".txt") || ends(".md")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// path -> (bytes, ETag), built once from the embedded files.
struct AssetIndex {
  struct Entry {
    std::string_view bytes;
    std::string etag;
  };
  std::map<std::string, Entry> by_path;
  AssetIndex() {
    size_t n = 0;
    const WebAsset* a = web_assets(n);
    for (size_t i = 0; i < n; ++i) {
      std::string_view bytes(reinterpret_cast<const char*>(a[i].data), a[i].size);
      by_path["/" + std::string(a[i].path)] =
          Entry{bytes, "\"" + hex_encode(sha256(bytes)).substr(0, 20) + "\""};
    }
  }
};

const AssetIndex& assets() {
  static const AssetIndex index;
  return index;
}

[[noreturn]] void refuse(ErrorCode code, const std::string& message, const char* reason) {
  throw ProblemError(code, message, Json{{"reason", reason}});
}

}  // namespace

WebApp::WebApp(ServerStore& store, SyncService& sync, Authenticator& auth, WallClock& wall)
    : store_(store), sync_(sync), auth_(auth), wall_(wall) {
  (void)assets();  // hash the files at start, not on the first request
}

bool WebApp::is_static_path(const std::string& path) {
  return !(path.compare(0, 4, "/v1/") == 0 || path == "/v1" || path == "/metrics");
}

Response WebApp::serve_static(const Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") {
    throw ProblemError(ErrorCode::kMethodNotAllowed, req.method + " is not allowed here",
                       Json{{"allow", "GET, HEAD"}});
  }
  // The app is one page: "/" is index.html. Paths are looked up verbatim in the embedded
  // set, so "..", "//" or encoded tricks simply find nothing.
  const std::string path = req.path == "/" ? "/index.html" : req.path;
  const auto& idx = assets().by_path;
  auto it = idx.find(path);
  if (it == idx.end()) throw Error(ErrorCode::kNotFound, "no such page or file");
  Response r;
  r.content_type = content_type_of(path);
  r.headers["ETag"] = it->second.etag;
  // Revalidate every time: an upgraded server must never run with yesterday's script.
  r.headers["Cache-Control"] = "no-cache";
  r.headers["Content-Security-Policy"] = kCsp;
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Cross-Origin-Opener-Policy"] = "same-origin";
  auto inm = req.header("if-none-match");
  if (inm && *inm == it->second.etag) {
    r.status = 304;
    return r;
  }
  r.body = std::string(it->second.bytes);
  return r;
}

void WebApp::decorate(const Request& req, Response& resp) {
  resp.headers["X-Content-Type-Options"] = "nosniff";
  if (!is_static_path(req.path) || resp.headers.count("Content-Security-Policy") == 0) {
    // API answers and refusals hold personal data or errors: never cached, never framed.
    resp.headers["Cache-Control"] = "no-store";
    if (!resp.headers.count("Content-Security-Policy"))
      resp.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'";
  }
}

bool WebApp::uses_session(const Request& req) {
  if (req.header("authorization")) return false;
  auto c = req.header("cookie");
  return c && !cookie_value(*c, kSessionCookie).empty();
}

Principal WebApp::session_principal(const Request& req, bool state_changing) {
  const auto c = req.header("cookie");
  const std::string cookie = c ? cookie_value(*c, kSessionCookie) : std::string();
  const int64_t now = wall_.now_ms();
  auto s = sessions_.find(cookie, now);
  if (!s) refuse(ErrorCode::kUnauthorized, "session ended; log in again", "session_unknown");
  // The token that opened the session, as it is now: revocation ends the session at once.
  auto p = store_.find_principal(s->token_hash);
  if (!p || !hashes_equal(p->stored_hash, s->token_hash) || p->revoked) {
    sessions_.close(cookie);
    refuse(ErrorCode::kUnauthorized, "the token of this session was revoked", "token_revoked");
  }
  if (p->expires_ms != 0 && p->expires_ms <= now) {
    sessions_.close(cookie);
    refuse(ErrorCode::kUnauthorized, "the token of this session expired", "token_expired");
  }
  if (state_changing) {
    // A page of another site can make the browser send the cookie (if SameSite fails, e.g.
    // an old browser) but cannot read the CSRF token nor set a custom header cross-origin.
    auto h = req.header("x-csrf-token");
    if (!h || h->empty()) {
      refuse(ErrorCode::kForbidden, "X-CSRF-Token header missing", "csrf_missing");
    }
    if (!hashes_equal(*h, s->csrf)) {
      refuse(ErrorCode::kForbidden, "X-CSRF-Token does not match this session", "csrf_mismatch");
    }
  }
  return *p;
}

std::string WebApp::collection() const {
  if (sync_.schema().collections().empty()) {
    throw Error(ErrorCode::kUnknownCollection, "no collection");
  }
  return sync_.schema().collections().front().name();
}

Response WebApp::api(const Request& req, const std::vector<std::string>& params, Json& body,
                     const Principal* who) {
  const std::string& p = req.path;
  if (p == "/v1/web/login") return login(req, body);
  if (!who) throw Error(ErrorCode::kUnauthorized, "log in first");
  if (p == "/v1/web/logout") return logout(req, *who);
  if (p == "/v1/web/session") return session_info(req, *who);
  if (p == "/v1/web/progress") return progress(req, *who);
  if (p == "/v1/web/enrolments") return enrolments(req, *who, false);
  if (p == "/v1/web/enrolments.csv") return enrolments(req, *who, true);
  if (p.compare(0, 16, "/v1/web/records/") == 0 && !params.empty()) {
    if (req.method == "POST") return move_status(params.at(0), body, *who);
    return record(params.at(0), *who);
  }
  throw Error(ErrorCode::kNotFound, "no such endpoint");
}

Response WebApp::login(const Request& req, const Json& body) {
  // A form of another site cannot send application/json without a CORS preflight, which
  // this server never grants: no login CSRF (being logged in as the attacker).
  auto ct = req.header("content-type");
  if (!ct || ct->compare(0, 16, "application/json") != 0) {
    refuse(ErrorCode::kForbidden, "login must be sent as application/json", "csrf_missing");
  }
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string() ||
      body.size() != 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "body must be {\"token\": \"<reviewer or admin token>\"}");
  }
  const std::string token = body["token"].get<std::string>();
  Principal p = auth_.authenticate("Bearer " + token);
  if (p.role == Role::kDevice) {
    refuse(ErrorCode::kForbidden,
           "a laptop's token cannot open the office page; use a reviewer or admin token",
           "device_token");
  }
  const auto opened = sessions_.open(p.stored_hash, p.expires_ms, wall_.now_ms());
  if (audit_) {
    try {
      audit_->record(&p, "web_login", p.token_id, Json::object());
    } catch (...) {
    }
  }
  Json out{{"role", role_name(p.role)},
           {"label", p.label},
           {"regions", reader_regions(p)},
           {"csrf", opened.csrf},
           {"expires_ms", opened.expires_ms}};
  Response r = web::json_answer(out);
  const int64_t max_age = (opened.expires_ms - wall_.now_ms()) / 1000;
  r.headers["Set-Cookie"] =
      std::string(kSessionCookie) + "=" + opened.cookie +
      "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age > 0 ? max_age : 0) +
      (secure_ ? "; Secure" : "");
  return r;
}

Response WebApp::logout(const Request& req, const Principal& who) {
  const auto c = req.header("cookie");
  const bool ended = c && sessions_.close(cookie_value(*c, kSessionCookie));
  if (audit_ && ended) {
    try {
      audit_->record(&who, "web_logout", who.token_id, Json::object());
    } catch (...) {
    }
  }
  Response r = web::json_answer(Json{{"logged_out", ended}});
  r.headers["Set-Cookie"] = std::string(kSessionCookie) +
                            "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
                            (secure_ ? "; Secure" : "");
  return r;
}

// Who is logged in and the CSRF token (a reload of the page has lost it from memory; the
// cookie proves the session, and a same-origin script is the only reader of this answer:
// no CORS header is ever sent).
Response WebApp::session_info(const Request& req, const Principal& who) {
  std::string csrf;
  if (auto c = req.header("cookie")) {
    if (auto s = sessions_.find(cookie_value(*c, kSessionCookie), wall_.now_ms())) csrf = s->csrf;
  }
  Json fields = Json::array();
  for (const auto& cs : sync_.schema().collections()) {
    if (cs.name() != collection()) continue;
    for (const FieldDef& f : cs.fields()) {
      Json fj{{"name", f.name}, {"label", f.label}, {"personal", f.personal}};
      if (!f.values.empty()) fj["values"] = f.values;
      fields.push_back(std::move(fj));
    }
  }
  return web::json_answer(Json{{"role", role_name(who.role)},
                               {"label", who.label},
                               {"regions", reader_regions(who)},
                               {"csrf", csrf},
                               {"collection", collection()},
                               {"fields", std::move(fields)},
                               {"sessions", sessions_.size()}});
}

}  // namespace lumbung::server

// The central office's web page (issue 16, docs/DASHBOARD.md), served by lumbung-server itself on
// its own port:
//   - every path outside /v1/ and /metrics is a static file of server/web/, embedded in the
//     binary at build time (web_assets.h), with a strict Content-Security-Policy (no inline
//     script), nosniff and revalidating caches (ETag);
//   - /v1/web/login turns a reviewer or admin token into a session cookie (sessions.h), and
//     the Router then accepts that cookie in place of the bearer token on every staff
//     endpoint, with the X-CSRF-Token header required on every state change;
//   - /v1/web/... answers what the page needs beyond the existing /v1/ API: progress by the
//     next region level with programme, segment, officer and day counts; an enrolment
//     search with filters and paging and its CSV export; one record with its labels, the
//     last writer of each field, its conflicts, duplicates and refused ops; status moves.
// Reviewers see only their regions (review/reader_scope.h) everywhere. Every answer is
// bounded (page sizes, scan limits).
//
// Thread-safe: called by the Router on the listener's threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "audit/audit_log.h"
#include "auth/principal.h"
#include "auth/tokens.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "store/server_store.h"
#include "sync/sync_service.h"
#include "web/sessions.h"

namespace lumbung::server {

// Most records one enrolment search or export examines (a kabupaten of a province-sized
// server); past it the page says where it stopped (search) or asks for a narrower filter
// (export), never a silent cut.
constexpr size_t kWebMaxScan = 200000;
constexpr size_t kWebMaxPage = 500;
// ~300 bytes a row: an export answer stays under ~15 MB before gzip.
constexpr size_t kWebMaxExportRows = 50000;

class WebApp {
 public:
  // Pages read the schema from sync.schema(): the active version, which the office may
  // publish while the server runs.
  WebApp(ServerStore& store, SyncService& sync, Authenticator& auth, WallClock& wall);

  // Secure cookies (set when the listener serves TLS).
  void set_secure_cookies(bool on) { secure_ = on; }
  void set_audit(AuditLog* audit) { audit_ = audit; }

  // True for the paths the static files answer: anything outside /v1/ and /metrics.
  static bool is_static_path(const std::string& path);
  // GET/HEAD of a static file (404 problem for an unknown one, 405 for other methods).
  Response serve_static(const Request& req) const;

  // True if the request carries a session cookie and no Authorization header.
  static bool uses_session(const Request& req);
  // The principal of the request's session. Throws Error(kUnauthorized) (extra "reason":
  // "session_unknown" / "token_revoked" / "token_expired") or, for a state change without
  // the session's X-CSRF-Token, Error(kForbidden) with "reason": "csrf_missing" /
  // "csrf_mismatch".
  Principal session_principal(const Request& req, bool state_changing);

  // The /v1/web/... endpoints (the Router checked role and body size).
  Response api(const Request& req, const std::vector<std::string>& params, Json& body,
               const Principal* who);

  // Security headers for every answer: nosniff everywhere, no-store on API answers.
  static void decorate(const Request& req, Response& resp);

 private:
  Response login(const Request& req, const Json& body);
  Response logout(const Request& req, const Principal& who);
  Response session_info(const Request& req, const Principal& who);
  Response progress(const Request& req, const Principal& who);
  Response enrolments(const Request& req, const Principal& who, bool csv);
  Response record(const std::string& id, const Principal& who);
  Response move_status(const std::string& id, const Json& body, const Principal& who);
  std::string collection() const;

  ServerStore& store_;
  SyncService& sync_;
  Authenticator& auth_;
  WallClock& wall_;
  AuditLog* audit_ = nullptr;
  SessionStore sessions_;
  bool secure_ = false;
};

}  // namespace lumbung::server

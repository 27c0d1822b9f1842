// Routing for every endpoint of docs/PROTOCOL.md, independent of the HTTP library.
//
// handle() never throws: each request goes through one path — match route (404/405),
// authenticate and check the role (401/403), check the route's body limit (413), inflate a
// gzip body with the same cap (413), parse JSON with the depth and cost limits (400/413),
// call the service, and map any exception to application/problem+json in api/problem.cpp.
// Everything up to the body limit is admit(), which needs only the request's head: the
// transport calls it before reading any body byte and sends its refusal at once. With
// set_security(): a per-address token bucket before anything else and a per-credential one after
// authentication (429 with Retry-After), and an audit entry for every state-changing call that
// succeeded. Responses are gzip'ed when the client accepts gzip and the body is at least
// kGzipMinBytes. Every request is counted in Metrics.
//
// Thread-safe: called concurrently by the listener's threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "audit/audit_log.h"
#include "auth/enrolment.h"
#include "auth/rate_limiter.h"
#include "auth/tokens.h"
#include "metrics/metrics.h"
#include "review/review_service.h"
#include "sync/sync_service.h"

namespace lumbung::server {

class WebApp;
class AttachmentService;
class LiveSchema;
class ServerKeys;

// Below this a gzip'ed body is not smaller enough to pay for the gzip header and CPU.
constexpr size_t kGzipMinBytes = 256;
// zlib level of gzip'ed answers. A 2,000-op pull page is ~1.6 MB of JSON: level 6 cost
// the server ~80% of its pull time (its own pace set the device's); 5 is ~20% cheaper for
// 82.9 instead of 82.2 bytes a record on the wire (lumbung-bench --scenario pull).
constexpr int kResponseGzipLevel = 5;

class PushLedger;      // api/push_stream_http.h
class PushStreamSink;  // api/push_stream_http.h

// A request body taken as it arrives (the streamed push, api/push_stream_http.h): the
// transport hands it every body byte (chunked coding removed) instead of collecting the
// body, and sends its answer at the body's end. Used from one thread at a time.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next bytes of the body. False: read no more, send answer() and close.
  virtual bool feed(std::string_view bytes) noexcept = 0;
  // The answer, once: at the body's end, or after feed() returned false.
  virtual Response answer() noexcept = 0;
};

class Router {
 public:
  Router(const Schema& schema, std::string schema_document, SyncService& sync,
         ReviewService& review, Enrolment& enrolment, Authenticator& auth, Metrics& metrics);

  // What is decided from a request's head alone, before any body byte is read: the
  // per-address rate limit, the route (404/405), the token and its role (401/403), the
  // per-credential rate limit and the route's body limit against Content-Length (413).
  struct Admission {
    std::optional<Response> refusal;  // set: send it, read no body, close the connection
    size_t max_body_bytes = 0;        // else: the route's body limit, as sent and inflated
    // The body goes to open_sink()'s sink as it arrives (a streamed push), not to handle().
    bool streamed = false;

   private:
    friend class Router;
    friend class PushStreamSink;
    size_t route = 0;
    std::vector<std::string> params;
    std::optional<Principal> who;
    std::string route_name = "unmatched";
    std::chrono::steady_clock::time_point start;
    bool web_static = false;  // a file of the office web page (web/web_app.h)
  };
  // `head` needs method, path, query, headers and remote_address; its body is not looked at
  // (beyond its size, for in-process callers that pass one). Never throws.
  Admission admit(const Request& head) noexcept;
  // The rest of a request that admit() let through (req.body holds at most
  // max_body_bytes): inflate, parse, call the service. Never throws.
  Response handle(const Request& req, const Admission& admitted) noexcept;
  // admit() then handle(): for callers that hold the whole request (tests, simulation).
  // A streamed request is fed to a sink here too, all at once, and a streamed answer
  // (Response::more) comes back whole.
  Response handle(const Request& req) noexcept;
  // The sink of an admitted request with Admission::streamed. Never throws (a sink that
  // could not be made answers a 500 at once).
  std::unique_ptr<BodySink> open_sink(const Request& head, const Admission& admitted) noexcept;

  // Optional parts, each may be null (in-process harnesses run without them). Call before
  // the first handle(); the objects must outlive the Router.
  struct Security {
    RateLimiter* per_address = nullptr;    // keyed by Request::remote_address
    RateLimiter* per_principal = nullptr;  // keyed by device id / staff token id
    AuditLog* audit = nullptr;
  };
  void set_security(const Security& s) { security_ = s; }
  // Optional: the office web page (static files outside /v1/, /v1/web/ endpoints, session
  // cookies with CSRF accepted in place of a staff bearer token). Null = API only (404).
  void set_web(WebApp* web) { web_ = web; }
  // Optional: the attachment endpoints (attach/attachment_service.h). Null = they answer 404.
  void set_attachments(AttachmentService* a) { attachments_ = a; }
  // Optional: versions published through POST /v1/admin/schema take effect at once
  // (sync/op_upgrade.h). Null = they wait for the next start.
  void set_live_schema(LiveSchema* l) { live_ = l; }
  // Optional: GET /v1/schema answers signed with the keys' schema key, and the registration
  // answer names that key (docs/PROTOCOL.md "Schema versions"). Null = unsigned.
  void set_schema_keys(const ServerKeys* k) { schema_keys_ = k; }
  // On by default: streamed pushes are read and the answers a device sees before its first
  // push say so (`Lumbung-Push-Stream: 1`). Off (`lumbung-server --no-push-stream`, e.g.
  // behind a proxy that buffers request bodies): no header, and a stream is read as JSON
  // and refused as a server older than the stream refuses it (400 malformed_json).
  void set_push_stream(bool on) { push_stream_ = on; }

 private:
  enum class Access { kPublic, kAnyToken, kDevice, kReviewer, kAdmin };
  using Params = std::vector<std::string>;  // the {id} segments, in order
  using Handler = Response (Router::*)(const Request&, const Params&, Json& body, const Principal*);
  struct Route {
    std::string method;
    std::string pattern;  // "/v1/conflicts/{id}/resolve"
    Access access;
    bool json_body;  // parse the body as JSON before calling
    Handler handler;
  };

  friend class PushStreamSink;
  void admit_or_throw(const Request& req, Admission& a);
  // Runs `f` under the live schema (no publication moves it meanwhile); once again if
  // another server process published a version under it (SchemaMoved).
  void run_live(bool publishing, const std::function<void()>& f);
  // One push change set: SyncService::push plus what the push route adds (the device's
  // schema version, the audit entry).
  PushResult push_one(const Principal& who, Json body);
  Response run(const Request& req, const Admission& a);
  // gzip, Vary and metrics of every answer, refusals included.
  Response finish(const Request& req, Response resp, const Admission& a) noexcept;
  static size_t body_limit(const Route& r);
  // 413 if Content-Length or the body read so far exceeds a.max_body_bytes.
  static void check_body_limit(const Request& req, const Admission& a);

  Response health(const Request&, const Params&, Json&, const Principal*);
  Response metrics(const Request&, const Params&, Json&, const Principal*);
  Response schema(const Request&, const Params&, Json&, const Principal*);
  Response push(const Request&, const Params&, Json&, const Principal*);
  Response push_state(const Request&, const Params&, Json&, const Principal*);  // streamed push
  void say_push_stream(Response& r) const;  // the Lumbung-Push-Stream header, if on
  Response pull(const Request&, const Params&, Json&, const Principal*);
  Response register_device(const Request&, const Params&, Json&, const Principal*);
  Response drafts(const Request&, const Params&, Json&, const Principal*);
  Response conflicts(const Request&, const Params&, Json&, const Principal*);
  Response resolve(const Request&, const Params&, Json&, const Principal*);
  Response correct(const Request&, const Params&, Json&, const Principal*);
  Response merge_correct(const Request&, const Params&, Json&, const Principal*);
  Response duplicates(const Request&, const Params&, Json&, const Principal*);
  Response merge(const Request&, const Params&, Json&, const Principal*);
  Response refused(const Request&, const Params&, Json&, const Principal*);
  Response refused_apply(const Request&, const Params&, Json&, const Principal*);
  Response refused_dismiss(const Request&, const Params&, Json&, const Principal*);
  Response refused_correct(const Request&, const Params&, Json&, const Principal*);
  Response records(const Request&, const Params&, Json&, const Principal*);
  Response progress(const Request&, const Params&, Json&, const Principal*);
  Response record_history(const Request&, const Params&, Json&, const Principal*);
  Response targets_list(const Request&, const Params&, Json&, const Principal*);
  Response targets_set(const Request&, const Params&, Json&, const Principal*);
  Response create_code(const Request&, const Params&, Json&, const Principal*);
  Response revoke_code(const Request&, const Params&, Json&, const Principal*);
  Response rotate_token(const Request&, const Params&, Json&, const Principal*);
  Response create_token(const Request&, const Params&, Json&, const Principal*);
  Response devices(const Request&, const Params&, Json&, const Principal*);
  Response revoke(const Request&, const Params&, Json&, const Principal*);
  Response tokens(const Request&, const Params&, Json&, const Principal*);
  Response revoke_token(const Request&, const Params&, Json&, const Principal*);
  Response audit(const Request&, const Params&, Json&, const Principal*);
  Response audit_verify(const Request&, const Params&, Json&, const Principal*);
  Response audit_checkpoint(const Request&, const Params&, Json&, const Principal*);
  Response publish_schema(const Request&, const Params&, Json&,
                          const Principal*);  // schema_routes.cpp
  Response schema_versions(const Request&, const Params&, Json&, const Principal*);
  Response web(const Request&, const Params&, Json&, const Principal*);
  Response attachment(const Request&, const Params&, Json&, const Principal*);  // attach/

  void rate_limit(RateLimiter* limiter, const std::string& key);
  // Writes an audit entry if the audit log is on; a failure is logged, never thrown (the
  // action it describes has already committed).
  void audit_record(const Principal* who, const std::string& action, const std::string& target,
                    const Json& detail, const std::string& anonymous_actor = {});

  const Schema& schema_;
  std::string schema_document_;
  SyncService& sync_;
  ReviewService& review_;
  Enrolment& enrolment_;
  Authenticator& auth_;
  Metrics& metrics_;
  std::vector<Route> routes_;
  Security security_;
  WebApp* web_ = nullptr;
  AttachmentService* attachments_ = nullptr;
  LiveSchema* live_ = nullptr;
  const ServerKeys* schema_keys_ = nullptr;
  bool push_stream_ = true;
  std::shared_ptr<PushLedger> ledger_;  // the streamed pushes' answers (push_stream_http.h)
};

}  // namespace lumbung::server

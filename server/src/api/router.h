// Routing for every endpoint of docs/PROTOCOL.md, independent of the HTTP library.
//
// handle() never throws: each request goes through one path — match route (404/405),
// authenticate and check the role (401/403), inflate a gzip body with the kMaxBodyBytes cap
// (413), parse JSON with the depth limit (400), call the service, and map any exception
// to application/problem+json in api/problem.cpp. Responses are gzip'ed when the client
// accepts gzip and the body is at least kGzipMinBytes. Every request is counted in Metrics.
//
// Thread-safe: called concurrently by the listener's threads.
#pragma once

#include <string>
#include <vector>

#include "api/http_types.h"
#include "auth/enrolment.h"
#include "auth/tokens.h"
#include "metrics/metrics.h"
#include "review/review_service.h"
#include "sync/sync_service.h"

namespace lumbung::server {

// Below this a gzip'ed body is not smaller enough to pay for the gzip header and CPU.
constexpr size_t kGzipMinBytes = 256;

class Router {
 public:
  Router(const Schema& schema, std::string schema_document, SyncService& sync,
         ReviewService& review, Enrolment& enrolment, Authenticator& auth, Metrics& metrics);

  Response handle(const Request& req) noexcept;

 private:
  enum class Access { kPublic, kAnyToken, kDevice, kReviewer, kAdmin };
  using Params = std::vector<std::string>;  // the {id} segments, in order
  using Handler = Response (Router::*)(const Request&, const Params&, const Json& body,
                                       const Principal*);
  struct Route {
    std::string method;
    std::string pattern;  // "/v1/conflicts/{id}/resolve"
    Access access;
    bool json_body;       // parse the body as JSON before calling
    Handler handler;
  };

  Response dispatch(const Request& req, std::string& route_name);

  Response health(const Request&, const Params&, const Json&, const Principal*);
  Response metrics(const Request&, const Params&, const Json&, const Principal*);
  Response schema(const Request&, const Params&, const Json&, const Principal*);
  Response push(const Request&, const Params&, const Json&, const Principal*);
  Response pull(const Request&, const Params&, const Json&, const Principal*);
  Response register_device(const Request&, const Params&, const Json&, const Principal*);
  Response conflicts(const Request&, const Params&, const Json&, const Principal*);
  Response resolve(const Request&, const Params&, const Json&, const Principal*);
  Response duplicates(const Request&, const Params&, const Json&, const Principal*);
  Response merge(const Request&, const Params&, const Json&, const Principal*);
  Response records(const Request&, const Params&, const Json&, const Principal*);
  Response progress(const Request&, const Params&, const Json&, const Principal*);
  Response create_code(const Request&, const Params&, const Json&, const Principal*);
  Response create_token(const Request&, const Params&, const Json&, const Principal*);
  Response devices(const Request&, const Params&, const Json&, const Principal*);
  Response revoke(const Request&, const Params&, const Json&, const Principal*);

  const Schema& schema_;
  std::string schema_document_;
  SyncService& sync_;
  ReviewService& review_;
  Enrolment& enrolment_;
  Authenticator& auth_;
  Metrics& metrics_;
  std::vector<Route> routes_;
};

}  // namespace lumbung::server

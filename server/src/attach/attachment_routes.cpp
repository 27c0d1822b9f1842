// The router's attachment handler: kept here so that api/router.cpp only lists the routes.
#include "api/router.h"
#include "attach/attachment_service.h"
#include "lumbung/error.h"

namespace lumbung::server {

Response Router::attachment(const Request& req, const Params& params, Json&, const Principal* who) {
  if (!attachments_) {
    throw Error(ErrorCode::kNotFound, "this server keeps no attachments");
  }
  std::string route = "upload";
  if (req.path == "/v1/admin/attachments/gc") {
    route = "gc";
  } else if (req.path.size() > 8 && req.path.compare(req.path.size() - 8, 8, "/content") == 0) {
    route = "content";
  } else if (req.method == "GET") {
    route = "status";
  }
  Response r = attachments_->handle(req, route, params.empty() ? "" : params.front(), *who);
  if (route == "gc") audit_record(who, "attachments_gc", "", Json::parse(r.body));
  return r;
}

}  // namespace lumbung::server

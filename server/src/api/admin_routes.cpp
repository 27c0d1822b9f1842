// The Router's handlers for administrators: enrolment codes, staff tokens, devices and the
// audit log with its checkpoints. Schema publication is in schema_routes.cpp.
#include "api/route_util.h"
#include "api/router.h"
#include "lumbung/error.h"
#include "sync/op_upgrade.h"

namespace lumbung::server {

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
}  // namespace lumbung::server

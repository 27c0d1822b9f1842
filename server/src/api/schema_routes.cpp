// Schema versions over HTTP (issue 18): publish a new version, list the versions served.
// The format and the successor rules are in lumbung/schema_versions.h; storage and
// activation in sync/op_upgrade.h.
#include "api/problem.h"
#include "api/router.h"
#include "lumbung/error.h"
#include "sync/op_upgrade.h"

namespace lumbung::server {
namespace {

Response json_answer(const Json& j, int status) {
  Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace

// POST /v1/admin/schema, body = the new schema document. 201 with the stored version (active
// at once when the server runs a LiveSchema, else at its next start); 422 schema_invalid
// naming every problem (nothing stored); 409 if that version exists. Runs outside the
// requests' Share (Router::handle): it is what waits for them.
Response Router::publish_schema(const Request&, const Params&, Json& body, const Principal* who) {
  Json out;
  try {
    if (live_) {
      out = live_->publish(body);
    } else {
      const SchemaHistory* h = sync_.schema_history();
      if (!h) throw Error(ErrorCode::kNotFound, "this server does not keep schema versions");
      out = server::publish_schema(sync_.store(), body, h->current_version());
    }
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kSchemaInvalid) throw;
    // The document is the caller's mistake, not the server's: a 422 with the problems.
    throw ProblemError(ErrorCode::kValidationFailed, e.what(), Json{{"reason", "schema_invalid"}},
                       "schema");
  }
  audit_record(who, "schema_publish", std::to_string(out.value("version", 0)), Json::object());
  return json_answer(out, 201);
}

// GET /v1/admin/schema: {"active_version", "newest_version", "versions": [{"version",
// "steps"}]} - what has been served and published.
Response Router::schema_versions(const Request&, const Params&, Json&, const Principal*) {
  const SchemaHistory* h = sync_.schema_history();
  if (!h) throw Error(ErrorCode::kNotFound, "this server does not keep schema versions");
  Json versions = Json::array();
  const Json newest = newest_schema_document(sync_.store());
  for (int v = 1; v <= newest.value("version", 0); ++v) {
    Json steps = Json::array();
    for (const auto& e : newest.value("changelog", Json::array())) {
      if (e.value("version", 0) == v) steps = e.value("steps", Json::array());
    }
    versions.push_back(Json{{"version", v}, {"steps", steps}});
  }
  return json_answer(Json{{"active_version", h->current_version()},
                          {"newest_version", newest.value("version", 0)},
                          {"versions", versions},
                          {"devices_on_older_versions",
                           devices_on_older_versions(sync_.store(), h->current_version())}},
                     200);
}

}  // namespace lumbung::server

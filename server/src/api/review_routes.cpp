// The Router's handlers for reviewers: the conflict, duplicate and refused queues and their
// corrections, records, progress, a record's history and the targets per region.
#include "api/route_util.h"
#include "api/router.h"
#include "lumbung/error.h"
#include "review/record_history.h"
#include "web/targets.h"

namespace lumbung::server {

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
  const uint64_t before = parse_history_before(query_param(req, "before"));
  return json_response(
      lumbung::server::record_history(sync_.schema(), sync_.store(), *who, col, p.at(0), before));
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
  audit_record(who, "set_target", out["scope"].get<std::string>(), target_audit_detail(out));
  return json_response(out);
}
}  // namespace lumbung::server

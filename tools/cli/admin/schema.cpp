// `lumbung-admin schema publish FILE` and `schema list` (issue 18): the office publishes the
// next schema version (POST /v1/admin/schema checks it is a valid successor and names every
// problem; nothing is stored then) and sees the versions served. A published version is
// active at once, no restart (docs/PROTOCOL.md "Schema versions").
#include <fstream>

#include "admin.h"
#include "common/exit_codes.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli::admin {
namespace {

// One changelog step as a line: "rename_field enrolment.phone -> phone_number".
std::string step_text(const Json& s) {
  std::string t = s.value("op", "?") + " " + s.value("collection", "?") + ".";
  if (s.contains("from")) return t + s.value("from", "?") + " -> " + s.value("to", "?");
  t += s.value("field", "?");
  if (auto v = s.find("value"); v != s.end()) t += " " + v->dump();
  if (auto d = s.find("default"); d != s.end()) t += " (default " + d->dump() + ")";
  return t;
}

}  // namespace

int schema(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "publish") {
    const std::string path = args.next();
    args.finish();
    if (path.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.schema_need_file"));
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw Error(ErrorCode::kInvalidArgument, tr("admin.schema_cannot_read", {{"path", path}}));
    Json doc = Json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      throw Error(ErrorCode::kMalformedJson, tr("admin.schema_not_json", {{"path", path}}));
    }
    const Json r = a.api->call("POST", "/v1/admin/schema", doc);
    if (a.json) {
      print_json(*a.out, r);
    } else {
      *a.out << tr("admin.schema_published",
                   {{"version", value_text(r.value("version", Json(0)))},
                    {"active", value_text(r.value("active_version", Json(0)))},
                    {"moved", value_text(r.value("records_moved", Json(0)))}})
             << "\n";
    }
    return kExitOk;
  }
  if (verb == "list" || verb.empty()) {
    args.finish();
    const Json r = a.api->get("/v1/admin/schema");
    if (a.json) {
      print_json(*a.out, r);
      return kExitOk;
    }
    *a.out << tr("admin.schema_versions",
                 {{"active", value_text(r.value("active_version", Json(0)))},
                  {"newest", value_text(r.value("newest_version", Json(0)))}})
           << "\n";
    for (const auto& v : r.value("versions", Json::array())) {
      *a.out << "  v" << value_text(v.value("version", Json(0))) << "\n";
      for (const auto& s : v.value("steps", Json::array()))
        *a.out << "    " << step_text(s) << "\n";
    }
    return kExitOk;
  }
  throw Error(ErrorCode::kInvalidArgument,
              tr("usage.unknown_command", {{"cmd", "schema " + verb}}));
}

}  // namespace lumbung::cli::admin

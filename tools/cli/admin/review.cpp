// lumbung-admin conflicts and duplicates: the review queues.
#include <algorithm>
#include <map>

#include "admin.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli::admin {
namespace {

// Two records side by side, field by field; "≠" marks fields that differ.
void print_side_by_side(Admin& a, const Json& d) {
  const std::string collection = d.value("collection", "");
  const CollectionSchema* cs = a.server_schema().collection(collection);
  const Json& recs = d["records"];
  if (!recs.is_array() || recs.size() != 2) return;
  const Json& ra = recs[0];
  const Json& rb = recs[1];
  const Json fa = ra.value("fields", Json::object());
  const Json fb = rb.value("fields", Json::object());
  std::vector<std::string> names;
  if (cs) {
    for (const FieldDef& f : cs->fields()) names.push_back(f.name);
  }
  for (auto it = fa.begin(); it != fa.end(); ++it) {
    if (std::find(names.begin(), names.end(), it.key()) == names.end()) names.push_back(it.key());
  }
  std::vector<std::vector<std::string>> rows;
  for (const std::string& n : names) {
    const Json va = fa.value(n, Json()), vb = fb.value(n, Json());
    if (va.is_null() && vb.is_null()) continue;
    const FieldDef* f = cs ? cs->field(n) : nullptr;
    rows.push_back({va == vb ? "" : "≠", f ? field_label(*f) : n, value_text(va), value_text(vb)});
  }
  *a.out << "\n"
         << tr("admin.dup_header",
               {{"id", d.value("id", "").substr(0, 8)}, {"status", d.value("status", "")}})
         << "\n";
  print_table(*a.out,
              {"", tr("conflicts.field"), "A  " + ra.value("id", ""), "B  " + rb.value("id", "")},
              rows, 44);
}

// Who a record is about, as the office knows people: "name · NIK · desa" (GET
// /v1/web/records/{id}, the reviewer's own regions only). Asked once per record per run;
// the record's short id when the server cannot say (another region, an older server).
std::string person_of(Admin& a, const std::string& record_id) {
  static std::map<std::string, std::string> known;
  if (auto it = known.find(record_id); it != known.end()) return it->second;
  std::string who = short_id(record_id);
  try {
    const Json r = a.api->get("/v1/web/records/" + url_encode(record_id));
    const Json fields = r.value("fields", Json::object());
    std::string text;
    for (const char* name : {"full_name", "nik", "village_code"}) {
      const auto it = fields.find(name);
      if (it == fields.end() || it->is_null()) continue;
      text += (text.empty() ? "" : " · ") + printable(value_text(*it));
    }
    if (!text.empty()) who = text + " (" + short_id(record_id) + ")";
  } catch (const Error&) {
    // The id alone, as before.
  }
  known[record_id] = who;
  return who;
}

}  // namespace

int conflicts(Admin& a, Args& args) {
  std::string verb = args.next();
  if (verb.empty()) verb = "list";
  if (verb == "list") {
    const std::string status = args.value("status").value_or("open");
    const PageOptions po = page_options(args);
    args.finish();
    const ListPages p = read_pages(a, "/v1/conflicts?status=" + url_encode(status), "conflicts",
                                   po.limit, po.after, po.all_pages);
    if (a.json) {
      Json r{{"conflicts", p.entries}, {"next", p.next}};
      if (p.total) r["total"] = *p.total;
      print_json(*a.out, r);
      return kExitOk;
    }
    if (p.entries.empty()) {
      *a.out << tr("conflicts.none_server") << "\n";
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : p.entries) {
      rows.push_back(
          {c.value("id", "").substr(0, 8), tr("kind." + c.value("kind", std::string())),
           person_of(a, c.value("record_id", "")),
           field_name_text(a, c.value("collection", ""), c.value("field", "")),
           value_text(c["winner"]["value"]) + "  (" + value_text(c["winner"]["version"][1]) + ")",
           value_text(c["loser"]["value"]) + "  (" + value_text(c["loser"]["version"][1]) + ")",
           c.value("status", "")});
    }
    print_table(*a.out,
                {"id", tr("conflicts.kind"), tr("conflicts.record"), tr("conflicts.field"),
                 tr("conflicts.kept"), tr("conflicts.other"), tr("admin.col.status")},
                rows, 64);
    print_more(a, p, po.all_pages);
    *a.out << tr("admin.conflicts_hint") << "\n";
    return kExitOk;
  }
  if (verb != "resolve")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "conflicts " + verb}}));
  const std::string ref = args.next();
  const auto keep = args.value("keep");
  const auto value = args.value("value");
  args.finish();
  if (ref.empty() || (!keep && !value) || (keep && value)) {
    throw Error(ErrorCode::kInvalidArgument, tr("admin.resolve_usage"));
  }
  const Json c =
      find_entry(a, "/v1/conflicts?status=all", "conflicts", ref, tr("admin.what_conflict"));
  Json body;
  if (keep) {
    if (*keep != "winner" && *keep != "loser")
      throw Error(ErrorCode::kInvalidArgument, tr("admin.resolve_usage"));
    body = Json{{"keep", *keep}};
  } else {
    // The typed value is read as the field's type (numbers, lists) and checked here first,
    // so the reviewer sees the schema's explanation in their language.
    const CollectionSchema* cs = a.server_schema().collection(c.value("collection", ""));
    const FieldDef* f = cs ? cs->field(c.value("field", "")) : nullptr;
    Json v = f ? parse_field_text(*f, *value) : Json(*value);
    if (f && cs) {
      Json patch{{f->name, v}};
      auto issues = cs->normalize_and_validate(patch, true);
      if (!issues.empty()) {
        for (const auto& i : issues) *a.err << "  ✗ " << issue_text(i, *cs, &patch) << "\n";
        return kExitRefused;
      }
      v = patch[f->name];
    }
    body = Json{{"value", v}};
  }
  Json r = a.api->post("/v1/conflicts/" + url_encode(c.value("id", "")) + "/resolve", body);
  if (a.json) {
    print_json(*a.out, r);
  } else {
    const Json& res = r.value("resolution", Json::object());
    *a.out << tr("admin.resolved",
                 {{"id", c.value("id", "").substr(0, 8)},
                  {"field", field_name_text(a, c.value("collection", ""), c.value("field", ""))},
                  {"value", printable(value_text(res.value("value", Json())))}})
           << "\n";
  }
  return kExitOk;
}

int duplicates(Admin& a, Args& args) {
  std::string verb = args.next();
  if (verb.empty()) verb = "list";
  if (verb == "list") {
    const std::string status = args.value("status").value_or("open");
    const PageOptions po = page_options(args);
    args.finish();
    const ListPages p = read_pages(a, "/v1/duplicates?status=" + url_encode(status), "duplicates",
                                   po.limit, po.after, po.all_pages);
    if (a.json) {
      Json r{{"duplicates", p.entries}, {"next", p.next}};
      if (p.total) r["total"] = *p.total;
      print_json(*a.out, r);
      return kExitOk;
    }
    if (p.entries.empty()) {
      *a.out << tr("admin.no_duplicates") << "\n";
      return kExitOk;
    }
    for (const auto& d : p.entries) print_side_by_side(a, d);
    *a.out << "\n";
    print_more(a, p, po.all_pages);
    *a.out << tr("admin.duplicates_hint") << "\n";
    return kExitOk;
  }
  if (verb != "merge")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "duplicates " + verb}}));
  const std::string ref = args.next();
  const auto survivor = args.value("survivor");
  args.finish();
  if (ref.empty() || !survivor) throw Error(ErrorCode::kInvalidArgument, tr("admin.merge_usage"));
  const Json d =
      find_entry(a, "/v1/duplicates?status=all", "duplicates", ref, tr("admin.what_duplicate"));
  // The survivor may be given as a whole id or its end (as `lumbung list` shows it), or A/B.
  std::string chosen;
  const Json& ids = d["record_ids"];
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string id = ids[i].get<std::string>();
    const bool letter =
        (survivor->size() == 1 &&
         std::toupper(static_cast<unsigned char>((*survivor)[0])) == static_cast<int>('A' + i));
    const bool match =
        id == *survivor || letter ||
        (survivor->size() >= 6 &&
         (id.compare(0, survivor->size(), *survivor) == 0 ||
          (id.size() >= survivor->size() &&
           id.compare(id.size() - survivor->size(), survivor->size(), *survivor) == 0)));
    if (match) chosen = id;
  }
  if (chosen.empty())
    throw Error(ErrorCode::kInvalidArgument, tr("admin.bad_survivor", {{"ref", *survivor}}));
  Json r = a.api->post("/v1/duplicates/" + url_encode(d.value("id", "")) + "/merge",
                       Json{{"survivor", chosen}});
  if (a.json) {
    print_json(*a.out, r);
  } else {
    *a.out << tr("admin.merged", {{"id", d.value("id", "").substr(0, 8)}, {"survivor", chosen}})
           << "\n";
  }
  return kExitOk;
}

}  // namespace lumbung::cli::admin

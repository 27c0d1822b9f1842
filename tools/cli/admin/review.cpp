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

// The officer whose laptop wrote a record's natural key (its enrolment, as a rule): the
// device of that field's version in the record's "versions".
std::string enrolled_by(Admin& a, const CollectionSchema* cs, const Json& rec) {
  const Json versions = rec.value("versions", Json::object());
  const std::string key = cs ? cs->natural_key() : std::string();
  const auto it = versions.find(key);
  if (it == versions.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_string())
    return "";
  return officer_of(a, (*it)[1].get<std::string>());
}

// Two records side by side, field by field; "≠" marks fields that differ. Above them, who
// each record is about and which officer enrolled it; a merged entry says the decision.
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
    auto shown = [&](const Json& v) { return f ? value_display(*f, v, true) : value_text(v); };
    rows.push_back({va == vb ? "" : "≠", f ? field_label(*f) : n, shown(va), shown(vb)});
  }
  const std::string status = d.value("status", "");
  *a.out << "\n"
         << tr("admin.dup_header", {{"id", d.value("id", "").substr(0, 8)},
                                    {"status", status == "open" ? tr("review.open") : status}})
         << "\n";
  const char* letters[] = {"A", "B"};
  for (size_t i = 0; i < 2; ++i) {
    const std::string id = recs[i].value("id", "");
    const std::string who = enrolled_by(a, cs, recs[i]);
    *a.out << "  " << letters[i] << ": "
           << printable(person_of(a, id, collection) + "  [" + short_id(id) + "]")
           << (who.empty() ? "" : "  " + printable(tr("review.enrolled_by", {{"who", who}})))
           << "\n";
  }
  if (const std::string decided = decision_text(a, d); !decided.empty()) {
    *a.out << "  " << printable(decided) << "\n";
  }
  print_table(*a.out,
              {"", tr("conflicts.field"), "A  " + ra.value("id", ""), "B  " + rb.value("id", "")},
              rows, 44);
}

// A field's value as the screens show it ("" = empty).
std::string shown_value(const FieldDef* f, const Json& v) {
  if (v.is_null()) return tr("review.empty");
  return printable(f ? value_display(*f, v, true) : value_text(v));
}

// What merging entry `d` into `survivor` will change, as the server does it
// (review_service.cpp merge_duplicate): the survivor's empty fields filled from the other
// record (personal data not across regions), the other record deleted. False when a record
// of the pair cannot be shown (outside the reviewer's regions: the server refuses the merge).
bool preview_merge(Admin& a, const Json& d, const std::string& survivor) {
  const std::string collection = d.value("collection", "");
  const CollectionSchema* cs = a.server_schema().collection(collection);
  const Json recs = d.value("records", Json::array());
  Json s, o;
  for (const auto& r : recs) (r.value("id", "") == survivor ? s : o) = r;
  *a.out << tr("review.preview_header", {{"id", d.value("id", "").substr(0, 8)},
                                         {"person", printable(person_of(a, survivor, collection))}})
         << "\n";
  if (!s.contains("fields") || !o.contains("fields")) {
    *a.err << tr("review.merge_unseen") << "\n";
    return false;
  }
  const bool cross = d.value("cross_region", false);
  const Json sf = s["fields"], of = o["fields"];
  int filled = 0;
  for (auto it = of.begin(); it != of.end(); ++it) {
    if (it->is_null() || it.key() == "merged_into") continue;
    const FieldDef* f = cs ? cs->field(it.key()) : nullptr;
    if (cross && f && f->personal) continue;
    const Json cur = sf.value(it.key(), Json());
    if (!cur.is_null()) continue;
    *a.out << "  "
           << tr("review.preview_field", {{"field", f ? field_label(*f) : it.key()},
                                          {"from", shown_value(f, cur)},
                                          {"to", shown_value(f, *it)}})
           << "\n";
    ++filled;
  }
  if (filled == 0) *a.out << "  " << tr("review.nothing_filled") << "\n";
  *a.out << "  "
         << tr("review.preview_merged_away", {{"other", printable(short_id(o.value("id", "")))},
                                              {"survivor", printable(short_id(survivor))}})
         << "\n";
  return true;
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
      const std::string collection = c.value("collection", "");
      const CollectionSchema* cs = a.server_schema().collection(collection);
      const FieldDef* f = cs ? cs->field(c.value("field", "")) : nullptr;
      // Each side: the value and the officer whose laptop wrote it.
      auto side = [&](const Json& s) {
        const Json v = s.value("version", Json());
        const std::string dev = v.is_array() && v.size() == 2 ? value_text(v[1]) : "";
        return shown_value(f, s.value("value", Json())) + " · " + officer_of(a, dev);
      };
      const std::string decided = decision_text(a, c);
      rows.push_back({c.value("id", "").substr(0, 8), tr("kind." + c.value("kind", std::string())),
                      person_of(a, c.value("record_id", ""), collection),
                      field_name_text(a, collection, c.value("field", "")),
                      side(c.value("winner", Json::object())),
                      side(c.value("loser", Json::object())),
                      decided.empty() ? tr("review.open") : decided});
    }
    print_table(*a.out,
                {"id", tr("conflicts.kind"), tr("conflicts.record"), tr("conflicts.field"),
                 tr("conflicts.kept"), tr("conflicts.other"), tr("review.col.decision")},
                rows, 80);  // a corrected decision with its time: ~75 characters
    print_more(a, p, po.all_pages);
    *a.out << tr("admin.conflicts_hint") << "\n";
    return kExitOk;
  }
  if (verb != "resolve" && verb != "correct")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "conflicts " + verb}}));
  // `correct`: a new decision for a decided entry (POST .../correct), same preview.
  const bool correcting = verb == "correct";
  const std::string ref = args.next();
  const auto keep = args.value("keep");
  const auto value = args.value("value");
  const auto note = correcting ? args.value("note") : std::nullopt;
  const bool yes = args.flag("yes");
  args.finish();
  if (ref.empty() || (!keep && !value) || (keep && value)) {
    throw Error(ErrorCode::kInvalidArgument,
                tr(correcting ? "admin.correct_usage" : "admin.resolve_usage"));
  }
  const Json c =
      find_entry(a, "/v1/conflicts?status=all", "conflicts", ref, tr("admin.what_conflict"));
  const std::string collection = c.value("collection", "");
  const std::string short_cid = c.value("id", "").substr(0, 8);
  // Resolve takes an open entry, correct a decided one: said before anything is asked,
  // with the decision that stands and what can be done.
  const bool decided = c.value("status", "") == "resolved";
  if (decided && !correcting) {
    *a.err << tr("review.already_resolved",
                 {{"id", short_cid}, {"decision", printable(decision_text(a, c))}})
           << "\n";
    return kExitRefused;
  }
  if (!decided && correcting) {
    *a.err << tr("review.not_decided", {{"id", short_cid}}) << "\n";
    return kExitRefused;
  }
  if (keep && *keep != "winner" && *keep != "loser")
    throw Error(ErrorCode::kInvalidArgument, tr("admin.resolve_usage"));
  const CollectionSchema* cs = a.server_schema().collection(collection);
  const FieldDef* f = cs ? cs->field(c.value("field", "")) : nullptr;
  const bool edit_delete = c.value("kind", "") == "update_delete";
  Json body;
  Json after;  // the field's value after the decision (one-field entries)
  if (keep) {
    body = Json{{"keep", *keep}};
    after = c.value(*keep, Json::object()).value("value", Json());
  } else {
    if (edit_delete) throw Error(ErrorCode::kInvalidArgument, tr("review.keep_only"));
    // The typed value is read as the field's type (numbers, lists) and checked here first,
    // so the reviewer sees the schema's explanation in their language.
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
    after = v;
  }
  if (correcting) {
    // The decision replaced is the entry's latest; the server refuses the correction if
    // another one came first (stale_decision).
    const Json res = c.value("resolution", Json::object());
    body["replaces"] = res.value("decision", 1);
    if (note) body["note"] = *note;
    *a.out << tr("review.correcting", {{"decision", printable(decision_text(a, c))}}) << "\n";
  }
  // What will change: the record as it is now against the decision.
  const Json& rec = record_of(a, c.value("record_id", ""));
  const Json now_fields = rec.is_object() ? rec.value("fields", Json::object()) : Json::object();
  const Json current = f ? now_fields.value(f->name, Json()) : Json();
  *a.out << tr("review.preview_header",
               {{"id", short_cid},
                {"person", printable(person_of(a, c.value("record_id", ""), collection))}})
         << "\n";
  if (edit_delete) {
    // The delete side is the one without a value.
    const bool to_delete = after.is_null();
    const bool deleted_now = rec.is_object() && rec.value("deleted", false);
    *a.out << "  "
           << tr("review.preview_record",
                 {{"from", tr(deleted_now ? "review.state_deleted" : "review.state_live")},
                  {"to", tr(to_delete ? "review.state_deleted" : "review.state_live")}})
           << "\n";
  } else {
    // A forward-only field cannot be moved back (the server refuses it too): said now, in
    // the reviewer's language, before asking.
    if (f && f->policy == MergePolicy::kForwardOnly && !current.is_null() &&
        f->rank(after) < f->rank(current)) {
      *a.err << status_regression_text(*f, current, after) << "\n";
      return kExitRefused;
    }
    *a.out << "  "
           << tr("review.preview_field",
                 {{"field", field_name_text(a, collection, c.value("field", ""))},
                  {"from", shown_value(f, current)},
                  {"to", shown_value(f, after)}})
           << (current == after ? "  " + tr("review.unchanged") : "") << "\n";
  }
  if (!confirm(a, yes)) {
    *a.err << tr("review.not_done") << "\n";
    return kExitCancelled;
  }
  Json r;
  try {
    r = a.api->post(
        "/v1/conflicts/" + url_encode(c.value("id", "")) + (correcting ? "/correct" : "/resolve"),
        body);
  } catch (const Error& e) {
    if (!correcting || e.code() != ErrorCode::kAlreadyExists) throw;
    *a.err << tr("review.stale_decision", {{"id", short_cid}}) << "\n";
    return kExitRefused;
  }
  if (a.json) {
    print_json(*a.out, r);
  } else if (correcting) {
    const Json& res = r.value("resolution", Json::object());
    *a.out << tr("admin.corrected", {{"id", short_cid},
                                     {"decision", printable(decision_text(a, r))},
                                     {"n", std::to_string(res.value("decision", 0))}})
           << "\n";
    // The correction's base is what the first decision wrote: an officer's later write
    // was not overwritten silently but opened a new entry.
    if (res.value("conflicts", 0) > 0) *a.out << tr("review.correction_opened") << "\n";
  } else {
    const Json& res = r.value("resolution", Json::object());
    *a.out << tr("admin.resolved",
                 {{"id", c.value("id", "").substr(0, 8)},
                  {"field", field_name_text(a, c.value("collection", ""), c.value("field", ""))},
                  {"value", edit_delete ? printable(value_text(res.value("value", Json())))
                                        : shown_value(f, res.value("value", Json()))}})
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
  if (verb != "merge" && verb != "correct")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "duplicates " + verb}}));
  // `correct`: the merge kept the wrong record; the other one survives (POST .../correct).
  const bool correcting = verb == "correct";
  const std::string ref = args.next();
  const auto survivor = args.value("survivor");
  const auto note = correcting ? args.value("note") : std::nullopt;
  const bool yes = args.flag("yes");
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
  const std::string short_did = d.value("id", "").substr(0, 8);
  const bool merged = d.value("status", "") != "open";
  if (merged && !correcting) {
    *a.err << tr("review.already_merged",
                 {{"id", short_did}, {"decision", printable(decision_text(a, d))}})
           << "\n";
    return kExitRefused;
  }
  Json body{{"survivor", chosen}};
  if (correcting) {
    const Json res = d.value("resolution", Json::object());
    if (!merged || res.value("survivor", "") == chosen) {
      *a.err << tr(merged ? "review.same_survivor" : "review.not_merged", {{"id", short_did}})
             << "\n";
      return kExitRefused;
    }
    body["replaces"] = res.value("decision", 1);
    if (note) body["note"] = *note;
    *a.out << tr("review.correcting", {{"decision", printable(decision_text(a, d))}}) << "\n";
  }
  bool shown = preview_merge(a, d, chosen);
  if (shown && correcting) {
    *a.out << "  " << tr("review.preview_revived", {{"id", printable(short_id(chosen))}}) << "\n";
  }
  if (!shown || !confirm(a, yes)) {
    *a.err << tr("review.not_done") << "\n";
    return kExitCancelled;
  }
  Json r;
  try {
    r = a.api->post(
        "/v1/duplicates/" + url_encode(d.value("id", "")) + (correcting ? "/correct" : "/merge"),
        body);
  } catch (const Error& e) {
    if (!correcting || e.code() != ErrorCode::kAlreadyExists) throw;
    *a.err << tr("review.stale_decision", {{"id", short_did}}) << "\n";
    return kExitRefused;
  }
  if (a.json) {
    print_json(*a.out, r);
  } else if (correcting) {
    const Json& res = r.value("resolution", Json::object());
    *a.out << tr("admin.merge_corrected", {{"id", short_did},
                                           {"survivor", chosen},
                                           {"n", std::to_string(res.value("decision", 0))}})
           << "\n";
    if (res.value("conflicts", 0) > 0) *a.out << tr("review.correction_opened") << "\n";
  } else {
    *a.out << tr("admin.merged", {{"id", d.value("id", "").substr(0, 8)}, {"survivor", chosen}})
           << "\n";
  }
  return kExitOk;
}

}  // namespace lumbung::cli::admin

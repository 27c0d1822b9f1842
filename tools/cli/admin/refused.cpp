// lumbung-admin refused: the server's refused queue - changes it acknowledged from a laptop
// but did not apply (outside the device's regions, not a valid record, ...), kept whole with
// the device, the reason and the op as pushed. The office lists them, applies one (with
// corrections typed here, checked by the schema first) or dismisses it. The API pages with
// "next" (GET /v1/refused; docs/PROTOCOL.md "Refused ops").
#include <algorithm>

#include "admin.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli::admin {
namespace {

// Entries per page of --all-pages (a plain `refused list` shows the server's page, 100).
constexpr size_t kAllPagesPage = 1000;
// Counting open entries per device for `devices list`: one page of the server's maximum;
// beyond that, one `total` per device.
constexpr size_t kCountPage = 10000;
// Looking up one entry (to check corrections against its collection and op) reads at most
// this many pages of its device's entries.
constexpr int kMaxFindPages = 20;

std::string list_target(const std::string& status, const std::string& device,
                        const std::string& after, size_t limit) {
  std::string t = "/v1/refused?status=" + url_encode(status);
  if (limit > 0) t += "&limit=" + std::to_string(limit);
  if (!device.empty()) t += "&device=" + url_encode(device);
  if (!after.empty()) t += "&after=" + url_encode(after);
  return t;
}

// "di luar wilayah" for out_of_scope, ...; an unknown code as it is.
std::string reason_short(const std::string& code) {
  const std::string key = "reason." + code;
  const std::string t = tr(key);
  return t == key ? code : t;
}

// What the change was: "Nomor HP=0812...", "rekaman baru: Siti Rahmawati", "hapus rekaman".
std::string change_text(const CollectionSchema* cs, const Json& e) {
  const Json op = e.value("op", Json());
  if (!op.is_object()) return "";
  if (op.value("del", false)) return tr("admin.change_delete");
  const Json set = op.value("set", Json::object());
  if (!set.is_object()) return "";
  if (!op.contains("base")) {
    const std::string title = cs ? record_title(*cs, set) : std::string();
    return tr("admin.change_create") + (title.empty() ? "" : ": " + title);
  }
  std::string out;
  for (auto it = set.begin(); it != set.end(); ++it) {
    const FieldDef* f = cs ? cs->field(it.key()) : nullptr;
    out += (out.empty() ? "" : ", ") + (f ? field_label(*f) : it.key()) + "=" +
           (f ? value_display(*f, *it, true) : value_text(*it));
  }
  return out;
}

// The entry `id` ("<device>:<seq>"), read from its device's entries (bounded); null if not
// found there.
Json find_refused(Admin& a, const std::string& id) {
  const size_t colon = id.rfind(':');
  if (colon == std::string::npos || colon == 0) return Json();
  const std::string device = id.substr(0, colon);
  std::string after;
  for (int page = 0; page < kMaxFindPages; ++page) {
    const Json r = a.api->get(list_target("all", device, after, kAllPagesPage));
    for (const auto& e : r["refused"]) {
      if (e.value("id", "") == id) return e;
    }
    after = r.value("next", "");
    if (after.empty()) break;
  }
  return Json();
}

int list(Admin& a, Args& args) {
  const std::string status = args.value("status").value_or("open");
  const std::string device = args.value("device").value_or("");
  PageOptions po = page_options(args);
  args.finish();
  if (status != "open" && status != "applied" && status != "dismissed" && status != "all") {
    throw Error(ErrorCode::kInvalidArgument, tr("admin.refused_bad_status"));
  }
  if (po.limit == 0 && po.all_pages) po.limit = kAllPagesPage;
  const ListPages p = read_pages(a, list_target(status, device, "", 0), "refused", po.limit,
                                 po.after, po.all_pages);
  const Json& entries = p.entries;
  const std::string& next = p.next;
  if (a.json) {
    Json r{{"refused", entries}, {"next", next}};
    if (p.total) r["total"] = *p.total;
    print_json(*a.out, r);
    return kExitOk;
  }
  if (entries.empty()) {
    *a.out << tr("admin.no_refused") << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries) {
    const std::string collection = e.value("collection", "");
    const CollectionSchema* cs = a.server_schema().collection(collection);
    const Json op = e.value("op", Json());
    std::string record = short_id(e.value("record_id", ""));
    if (cs && op.is_object() && op.value("set", Json()).is_object()) {
      const std::string title = record_title(*cs, op["set"]);
      if (!title.empty()) record += " " + title;
    }
    std::string reason = reason_short(e.value("code", ""));
    const std::string field = e.value("field", "");
    if (!field.empty()) reason += " · " + field_name_text(a, collection, field);
    const std::string scope = e.value("scope", "");
    rows.push_back({e.value("id", ""), local_time(opt_ms(e, "found_ms")), record, reason,
                    scope.empty() ? "-" : dotted_region(scope), change_text(cs, e),
                    e.value("status", "")});
  }
  print_table(*a.out,
              {"id", tr("admin.col.when"), tr("conflicts.record"), tr("admin.col.reason"),
               tr("admin.col.target"), tr("admin.col.change"), tr("admin.col.status")},
              rows, 40);
  // A draft kept for review carries the officer's note and what the KTP contradicts: too
  // long for the table, and what the reviewer decides on.
  for (const auto& e : entries) {
    if (e.value("code", "") != "held_for_review") continue;
    *a.out << tr("admin.held_message", {{"id", printable(e.value("id", ""))},
                                        {"message", printable(e.value("message", ""))}})
           << "\n";
  }
  print_more(a, p, po.all_pages);
  if (status == "open" || status == "all") *a.out << tr("admin.refused_hint") << "\n";
  return kExitOk;
}

// Turns a refusal of the apply/dismiss call into words and an exit code; rethrows others.
int explain_failure(Admin& a, const Error& e, const std::string& id) {
  switch (e.code()) {
    case ErrorCode::kNotFound:
      throw Error(ErrorCode::kNotFound, tr("admin.refused_not_found", {{"id", printable(id)}}));
    case ErrorCode::kAlreadyExists:
      *a.err << tr("admin.refused_not_open",
                   {{"id", printable(id)}, {"detail", printable(e.what())}})
             << "\n";
      return kExitError;
    case ErrorCode::kValidationFailed:
    case ErrorCode::kUnknownField:
      *a.err << tr("admin.refused_still_invalid") << "\n  ✗ " << printable(e.what()) << "\n";
      return kExitRefused;
    default:
      throw e;
  }
}

// `apply`, or with `correcting` `correct`: a new decision for a decided entry (POST
// .../correct): a dismissed change applied after all, an applied one given new values.
int apply(Admin& a, Args& args, bool correcting) {
  const std::string id = args.next();
  const std::vector<std::string> sets = args.values("set");
  const auto note = correcting ? args.value("note") : std::nullopt;
  args.finish();
  if (id.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.refused_usage"));
  const Json entry = find_refused(a, id);
  Json extra = Json::object();  // a correction's "replaces" and "note"
  if (correcting && entry.is_object()) {
    const std::string status = entry.value("status", "");
    if (status == "open" || (status == "applied" && sets.empty())) {
      *a.err << tr(status == "open" ? "admin.refused_not_decided" : "admin.refused_correct_set",
                   {{"id", printable(id)}})
             << "\n";
      return kExitRefused;
    }
    const Json res = entry.value("resolution", Json::object());
    extra["replaces"] = res.is_object() ? res.value("decision", 1) : 1;
    if (note) extra["note"] = *note;
  }
  const Schema& schema = a.server_schema();
  const CollectionSchema* cs = entry.is_object() ? schema.collection(entry.value("collection", ""))
                                                 : &schema.collections().front();
  Json corrections = Json::object();
  for (const std::string& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument, tr("edit.bad_set", {{"arg", s}}));
    }
    const std::string name = trim(s.substr(0, eq));
    const FieldDef* f = cs ? field_by_flag(*cs, name) : nullptr;
    if (!f) throw Error(ErrorCode::kInvalidArgument, tr("edit.unknown_field", {{"field", name}}));
    corrections[f->name] = parse_field_text(*f, s.substr(eq + 1));
  }
  // Checked here first, so the reviewer reads the schema's explanation in their language:
  // the corrections themselves, and for a new record (an op without base) the whole record
  // they make with the officer's values.
  if (cs && !corrections.empty()) {
    Json checked = corrections;
    auto issues = cs->normalize_and_validate(checked, /*partial=*/true);
    const Json op = entry.is_object() ? entry.value("op", Json()) : Json();
    Json whole;
    if (issues.empty() && op.is_object() && !op.contains("base") && !op.value("del", false) &&
        op.value("set", Json()).is_object()) {
      whole = op["set"];
      for (auto it = checked.begin(); it != checked.end(); ++it) whole[it.key()] = *it;
      issues = cs->normalize_and_validate(whole, /*partial=*/false);
    }
    if (!issues.empty()) {
      *a.err << tr("admin.refused_still_invalid") << "\n";
      const Json& shown = whole.is_null() ? checked : whole;
      for (const auto& i : issues) *a.err << "  ✗ " << issue_text(i, *cs, &shown) << "\n";
      return kExitRefused;
    }
    corrections = checked;
  }
  Json r;
  try {
    Json body = extra;
    if (!corrections.empty()) body["set"] = corrections;
    r = a.api->post("/v1/refused/" + url_encode(id) + (correcting ? "/correct" : "/apply"), body);
  } catch (const Error& e) {
    if (correcting && e.code() == ErrorCode::kAlreadyExists) {
      *a.err << tr("admin.refused_stale", {{"id", printable(id)}}) << "\n";
      return kExitRefused;
    }
    return explain_failure(a, e, id);
  }
  if (a.json) {
    print_json(*a.out, r);
    return kExitOk;
  }
  std::string fields;
  for (auto it = corrections.begin(); it != corrections.end(); ++it) {
    const FieldDef* f = cs ? cs->field(it.key()) : nullptr;
    fields += (fields.empty() ? "" : ", ") + (f ? field_label(*f) : it.key()) + " = " +
              printable(f ? value_display(*f, *it, true) : value_text(*it));
  }
  const Json res = r.value("resolution", Json::object());
  *a.out << tr(correcting ? "admin.refused_corrected" : "admin.refused_applied",
               {{"id", printable(id)},
                {"n", std::to_string(res.is_object() ? res.value("decision", 0) : 0)},
                {"fields", fields.empty() ? "" : tr("admin.refused_with", {{"fields", fields}})}})
         << "\n";
  const Json conflicts = res.is_object() ? res.value("conflicts", Json(0)) : Json(0);
  if (conflicts.is_number_integer() && conflicts.get<int64_t>() > 0) {
    *a.out << tr("admin.refused_conflicts", {{"n", value_text(conflicts)}}) << "\n";
  }
  return kExitOk;
}

int dismiss(Admin& a, Args& args) {
  const std::string id = args.next();
  const auto note = args.value("note");
  args.finish();
  if (id.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.refused_usage"));
  Json r;
  try {
    r = a.api->post("/v1/refused/" + url_encode(id) + "/dismiss",
                    note ? Json{{"note", *note}} : Json::object());
  } catch (const Error& e) {
    return explain_failure(a, e, id);
  }
  if (a.json) {
    print_json(*a.out, r);
  } else {
    *a.out << tr("admin.refused_dismissed", {{"id", printable(id)}}) << "\n";
  }
  return kExitOk;
}

}  // namespace

RefusedCounts open_refused_counts(Admin& a, const std::vector<std::string>& devices) {
  RefusedCounts c;
  const Json r = a.api->get(list_target("open", "", "", kCountPage));
  for (const auto& e : r["refused"]) ++c.by_device[e.value("device_id", "")];
  if (r.value("next", "").empty()) return c;
  // More open entries than one page: ask each device's total instead (one small request
  // per device, exact).
  for (const std::string& d : devices) {
    const Json one = a.api->get(list_target("open", d, "", 1));
    auto it = one.find("total");
    if (it != one.end() && it->is_number_unsigned()) {
      c.by_device[d] = it->get<uint64_t>();
    } else {
      c.complete = false;  // an older server: the first page's counts are lower bounds
    }
  }
  return c;
}

int refused(Admin& a, Args& args) {
  std::string verb = args.next();
  if (verb.empty() || verb == "list") return list(a, args);
  if (verb == "apply") return apply(a, args, false);
  if (verb == "correct") return apply(a, args, true);
  if (verb == "dismiss") return dismiss(a, args);
  throw Error(ErrorCode::kInvalidArgument, tr("admin.refused_usage"));
}

}  // namespace lumbung::cli::admin

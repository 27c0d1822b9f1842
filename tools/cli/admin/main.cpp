// lumbung-admin: the central office's tool. Everything goes through lumbung-server's HTTP
// API with an admin (or reviewer) token — it never opens the server's database, so it
// works from any desk that can reach the server. `lumbung-admin help` is the reference.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "common/api.h"
#include "common/args.h"
#include "common/csv.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

using namespace lumbung;
using namespace lumbung::cli;

namespace {

// Records per /v1/records page when exporting (the server's maximum): a 100k-record export
// is ten requests.
constexpr int kExportPage = 10000;
// Pages an export reads at most (a guard: 10,000 x 10,000 records).
constexpr int kMaxExportPages = 10000;

struct Admin {
  std::unique_ptr<ApiClient> api;
  bool json = false;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  std::shared_ptr<const Schema> schema;  // fetched on first need

  const Schema& server_schema() {
    if (!schema) schema = Schema::parse(api->get("/v1/schema"));
    return *schema;
  }
};

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kInvalidArgument, tr("admin.token_file", {{"path", path}}));
  std::string t;
  std::getline(in, t);
  return trim(t);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join(const Json& arr, const char* sep = ",") {
  std::string out;
  for (const auto& v : arr) out += (out.empty() ? "" : sep) + value_text(v);
  return out;
}

std::optional<int64_t> opt_ms(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

// Finds the one entry whose id is `ref` or starts with it (lists show 8 characters).
Json find_entry(const Json& list, const std::string& ref, const std::string& what) {
  Json found;
  int n = 0;
  for (const auto& e : list) {
    const std::string id = e.value("id", std::string());
    if (id == ref) return e;
    if (ref.size() >= 4 && id.compare(0, ref.size(), ref) == 0) {
      found = e;
      ++n;
    }
  }
  if (n == 1) return found;
  if (n > 1)
    throw Error(ErrorCode::kInvalidArgument, tr("admin.ambiguous", {{"ref", ref}, {"what", what}}));
  throw Error(ErrorCode::kNotFound, tr("admin.not_found", {{"ref", ref}, {"what", what}}));
}

std::string field_name_text(Admin& a, const std::string& collection, const std::string& field) {
  const CollectionSchema* cs = a.server_schema().collection(collection);
  const FieldDef* f = cs ? cs->field(field) : nullptr;
  return f ? field_label(*f) : field;
}

// --- codes, tokens, devices -------------------------------------------------------------

int codes(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb != "create")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "codes " + verb}}));
  const auto scope = args.value("scope");
  const auto label = args.value("label");
  const auto hours = args.value("expires-hours");
  args.finish();
  if (!scope) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_scope"));
  Json body{{"scope", split_commas(*scope)}};
  if (label) body["label"] = *label;
  if (hours) body["expires_in_hours"] = std::stoi(*hours);
  Json r = a.api->post("/v1/admin/codes", body);
  if (a.json) {
    print_json(*a.out, r);
  } else {
    *a.out << tr("admin.code_made", {{"code", r.value("code", "")},
                                     {"scope", join(r["scope"], ", ")},
                                     {"expires", local_time(opt_ms(r, "expires_ms"))}})
           << "\n";
  }
  return kExitOk;
}

int tokens(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb != "create")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "tokens " + verb}}));
  const std::string role = args.value("role").value_or("reviewer");
  const auto label = args.value("label");
  args.finish();
  Json body{{"role", role}};
  if (label) body["label"] = *label;
  Json r = a.api->post("/v1/admin/tokens", body);
  if (a.json) {
    print_json(*a.out, r);
  } else {
    *a.out << tr("admin.token_made", {{"role", role}, {"token", r.value("token", "")}}) << "\n";
  }
  return kExitOk;
}

// The audit log's hash chain, checked by the server (GET /v1/admin/audit/verify).
int audit(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "verify") {
    args.finish();
    const Json r = a.api->get("/v1/admin/audit/verify");
    const bool ok = r.value("ok", false);
    if (a.json) {
      print_json(*a.out, r);
    } else if (ok) {
      const Json head = r.value("head", Json::object());
      *a.out << tr("admin.audit_ok", {{"n", value_text(r.value("entries", Json(0)))},
                                      {"seq", value_text(head.value("seq", Json(0)))},
                                      {"hash", head.value("hash", std::string())}})
             << "\n";
    } else {
      const Json bad = r.value("first_bad", Json::object());
      *a.out << tr("admin.audit_bad", {{"seq", value_text(bad.value("seq", Json(0)))},
                                       {"reason", bad.value("reason", std::string())}})
             << "\n";
    }
    return ok ? kExitOk : kExitError;
  }
  if (verb == "list") {
    const auto after = args.value("after");
    const auto limit = args.value("limit");
    args.finish();
    std::string target = "/v1/admin/audit?limit=" + url_encode(limit.value_or("100"));
    if (after) target += "&after=" + url_encode(*after);
    print_json(*a.out, a.api->get(target));
    return kExitOk;
  }
  throw Error(ErrorCode::kInvalidArgument, tr("usage.unknown_command", {{"cmd", "audit " + verb}}));
}

int devices(Admin& a, Args& args) {
  const std::string verb = args.next();
  if (verb == "revoke") {
    const std::string id = args.next();
    args.finish();
    if (id.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_device"));
    Json r = a.api->call("POST", "/v1/admin/devices/" + url_encode(id) + "/revoke");
    if (a.json) {
      print_json(*a.out, r);
    } else {
      *a.out << tr("admin.revoked", {{"device", id}}) << "\n";
    }
    return kExitOk;
  }
  if (verb != "list" && !verb.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "devices " + verb}}));
  }
  args.finish();
  Json r = a.api->get("/v1/admin/devices");
  if (a.json) {
    print_json(*a.out, r);
    return kExitOk;
  }
  const int64_t now = now_ms();
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : r["devices"]) {
    const Json st = d.value("status", Json());
    std::string pending = "-", records = "-";
    if (st.is_object()) {
      if (st.contains("pending")) pending = value_text(st["pending"]);
      if (st.contains("records")) records = value_text(st["records"]);
    }
    rows.push_back({d.value("device_id", ""), d.value("label", ""), join(d["scope"]),
                    time_ago(opt_ms(d, "last_seen_ms"), now),
                    time_ago(opt_ms(d, "last_sync_ms"), now),
                    value_text(d.value("acked_seq", Json(0))), records, pending,
                    d.value("revoked", false) ? tr("admin.revoked_word") : ""});
  }
  print_table(*a.out,
              {tr("admin.col.device"), tr("admin.col.label"), tr("admin.col.scope"),
               tr("admin.col.seen"), tr("admin.col.synced"), tr("admin.col.acked"),
               tr("admin.col.records"), tr("admin.col.pending"), ""},
              rows, 30);
  return kExitOk;
}

// --- review: conflicts and duplicates ---------------------------------------------------

int conflicts(Admin& a, Args& args) {
  std::string verb = args.next();
  if (verb.empty()) verb = "list";
  if (verb == "list") {
    const std::string status = args.value("status").value_or("open");
    args.finish();
    Json r = a.api->get("/v1/conflicts?status=" + url_encode(status));
    if (a.json) {
      print_json(*a.out, r);
      return kExitOk;
    }
    if (r["conflicts"].empty()) {
      *a.out << tr("conflicts.none_server") << "\n";
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : r["conflicts"]) {
      rows.push_back(
          {c.value("id", "").substr(0, 8), tr("kind." + c.value("kind", std::string())),
           short_id(c.value("record_id", "")),
           field_name_text(a, c.value("collection", ""), c.value("field", "")),
           value_text(c["winner"]["value"]) + "  (" + value_text(c["winner"]["version"][1]) + ")",
           value_text(c["loser"]["value"]) + "  (" + value_text(c["loser"]["version"][1]) + ")",
           c.value("status", "")});
    }
    print_table(*a.out,
                {"id", tr("conflicts.kind"), tr("conflicts.record"), tr("conflicts.field"),
                 tr("conflicts.kept"), tr("conflicts.other"), tr("admin.col.status")},
                rows, 36);
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
  const Json c = find_entry(a.api->get("/v1/conflicts?status=all")["conflicts"], ref,
                            tr("admin.what_conflict"));
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
                  {"value", value_text(res.value("value", Json()))}})
           << "\n";
  }
  return kExitOk;
}

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

int duplicates(Admin& a, Args& args) {
  std::string verb = args.next();
  if (verb.empty()) verb = "list";
  if (verb == "list") {
    const std::string status = args.value("status").value_or("open");
    args.finish();
    Json r = a.api->get("/v1/duplicates?status=" + url_encode(status));
    if (a.json) {
      print_json(*a.out, r);
      return kExitOk;
    }
    if (r["duplicates"].empty()) {
      *a.out << tr("admin.no_duplicates") << "\n";
      return kExitOk;
    }
    for (const auto& d : r["duplicates"]) print_side_by_side(a, d);
    *a.out << "\n" << tr("admin.duplicates_hint") << "\n";
    return kExitOk;
  }
  if (verb != "merge")
    throw Error(ErrorCode::kInvalidArgument,
                tr("usage.unknown_command", {{"cmd", "duplicates " + verb}}));
  const std::string ref = args.next();
  const auto survivor = args.value("survivor");
  args.finish();
  if (ref.empty() || !survivor) throw Error(ErrorCode::kInvalidArgument, tr("admin.merge_usage"));
  const Json d = find_entry(a.api->get("/v1/duplicates?status=all")["duplicates"], ref,
                            tr("admin.what_duplicate"));
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

// --- progress and exports ---------------------------------------------------------------

std::string progress_target(const std::string& collection,
                            const std::optional<std::string>& scope) {
  std::string t = "/v1/progress?collection=" + url_encode(collection);
  if (scope) t += "&scope=" + url_encode(*scope);
  return t;
}

void write_progress_csv(std::ostream& out, const Json& p) {
  std::set<std::string> statuses;
  for (auto it = p["by_status"].begin(); it != p["by_status"].end(); ++it)
    statuses.insert(it.key());
  std::vector<std::string> header{"level", "code", "total"};
  for (const auto& s : statuses) header.push_back("status_" + s);
  write_csv_row(out, header);
  auto row = [&](const std::string& level, const std::string& code, const Json& t) {
    std::vector<std::string> cells{level, code, value_text(t.value("total", Json(0)))};
    for (const auto& s : statuses) cells.push_back(value_text(t["by_status"].value(s, Json(0))));
    write_csv_row(out, cells);
  };
  row("all", p.value("scope", ""), p);
  for (const char* level : {"provinsi", "kabupaten", "kecamatan", "desa"}) {
    if (!p["regions"].contains(level)) continue;
    for (auto it = p["regions"][level].begin(); it != p["regions"][level].end(); ++it)
      row(level, it.key(), *it);
  }
  // Programme counts: one row per member, level "program".
  for (auto f = p["by_program"].begin(); f != p["by_program"].end(); ++f) {
    for (auto m = f->begin(); m != f->end(); ++m) {
      write_csv_row(out, {"program:" + f.key(), m.key(), value_text(*m)});
    }
  }
}

int progress(Admin& a, Args& args) {
  const auto scope = args.value("scope");
  const std::string collection = args.value("collection").value_or("enrolment");
  const auto csv = args.value("csv");
  args.finish();
  const Json p = a.api->get(progress_target(collection, scope));
  if (csv) {
    std::ofstream f;
    std::ostream* out = a.out;
    if (*csv != "-") {
      f.open(*csv, std::ios::binary | std::ios::trunc);
      if (!f) throw Error(ErrorCode::kStorage, tr("export.cannot_write", {{"path", *csv}}));
      out = &f;
    }
    write_progress_csv(*out, p);
    return kExitOk;
  }
  if (a.json) {
    print_json(*a.out, p);
    return kExitOk;
  }
  auto& o = *a.out;
  o << tr("admin.progress_total", {{"n", group_number(p.value("total", int64_t{0}))},
                                   {"scope", p.value("scope", "").empty() ? tr("admin.all_regions")
                                                                          : p.value("scope", "")}})
    << "\n";
  std::string by_status;
  for (auto it = p["by_status"].begin(); it != p["by_status"].end(); ++it) {
    by_status += (by_status.empty() ? "" : ", ") + it.key() + " " + value_text(*it);
  }
  if (!by_status.empty()) o << "  " << tr("admin.col.status") << ": " << by_status << "\n";
  for (auto f = p["by_program"].begin(); f != p["by_program"].end(); ++f) {
    std::string line;
    for (auto m = f->begin(); m != f->end(); ++m)
      line += (line.empty() ? "" : ", ") + m.key() + " " + value_text(*m);
    o << "  " << field_name_text(a, collection, f.key()) << ": " << line << "\n";
  }
  for (const char* level : {"kabupaten", "kecamatan", "desa"}) {
    if (!p["regions"].contains(level)) continue;
    std::vector<std::vector<std::string>> rows;
    for (auto it = p["regions"][level].begin(); it != p["regions"][level].end(); ++it) {
      std::string st;
      for (auto s = (*it)["by_status"].begin(); s != (*it)["by_status"].end(); ++s) {
        st += (st.empty() ? "" : ", ") + s.key() + " " + value_text(*s);
      }
      rows.push_back({it.key(), value_text((*it)["total"]), st});
    }
    o << "\n";
    print_table(o, {level, tr("admin.col.total"), tr("admin.col.status")}, rows, 60);
  }
  return kExitOk;
}

int export_cmd(Admin& a, Args& args) {
  const std::string what = args.next();
  const auto scope = args.value("scope");
  const std::string collection = args.value("collection").value_or("enrolment");
  const auto path = args.value("out");
  const bool deleted = args.flag("deleted");
  args.finish();
  std::ofstream f;
  std::ostream* out = a.out;
  if (path && *path != "-") {
    f.open(*path, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(ErrorCode::kStorage, tr("export.cannot_write", {{"path", *path}}));
    out = &f;
  }
  if (what == "progress") {
    write_progress_csv(*out, a.api->get(progress_target(collection, scope)));
    return kExitOk;
  }
  if (what != "records") throw Error(ErrorCode::kInvalidArgument, tr("admin.export_usage"));
  const CollectionSchema* cs = a.server_schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, collection);
  std::vector<std::string> header{"id"};
  for (const FieldDef& fd : cs->fields()) header.push_back(fd.name);
  if (deleted) header.push_back("deleted");
  write_csv_row(*out, header);
  std::string after;
  size_t n = 0;
  for (int page = 0; page < kMaxExportPages; ++page) {
    std::string t = "/v1/records?collection=" + url_encode(collection) +
                    "&limit=" + std::to_string(kExportPage);
    if (scope) t += "&scope=" + url_encode(*scope);
    if (!after.empty()) t += "&after=" + url_encode(after);
    const Json r = a.api->get(t);
    for (const auto& rec : r["records"]) {
      const bool is_deleted = rec.value("deleted", false);
      if (is_deleted && !deleted) continue;
      std::vector<std::string> row{rec.value("id", "")};
      const Json fields = rec.value("fields", Json::object());
      for (const FieldDef& fd : cs->fields())
        row.push_back(value_text(fields.value(fd.name, Json())));
      if (deleted) row.push_back(is_deleted ? "1" : "0");
      write_csv_row(*out, row);
      ++n;
    }
    after = r.value("next", "");
    if (after.empty() || r["records"].empty()) break;
  }
  out->flush();
  if (out != a.out)
    *a.err << tr("export.done", {{"n", std::to_string(n)}, {"path", *path}}) << "\n";
  return kExitOk;
}

int run(int argc, char** argv) {
  Args args(argc, argv);
  choose_language(args.value("lang").value_or(""));
  Admin a;
  a.json = args.flag("json");
  std::string server = args.value("server").value_or("");
  if (server.empty()) {
    if (const char* env = std::getenv("LUMBUNG_SERVER"); env && *env) server = env;
  }
  std::string token = args.value("token").value_or("");
  if (const auto file = args.value("token-file")) token = read_token_file(*file);
  if (token.empty()) {
    if (const char* env = std::getenv("LUMBUNG_ADMIN_TOKEN"); env && *env) token = env;
  }
  const bool want_help = args.flag("help") || args.flag("h");
  const std::string cmd = args.next();
  if (cmd.empty() || cmd == "help" || want_help) {
    (cmd.empty() && !want_help ? std::cerr : std::cout) << tr("help.admin");
    return cmd.empty() && !want_help ? kExitUsage : kExitOk;
  }
  if (server.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_server"));
  if (token.empty()) throw Error(ErrorCode::kInvalidArgument, tr("admin.need_token"));
  a.api = std::make_unique<ApiClient>(server, token);
  if (cmd == "codes") return codes(a, args);
  if (cmd == "tokens") return tokens(a, args);
  if (cmd == "devices") return devices(a, args);
  if (cmd == "conflicts") return conflicts(a, args);
  if (cmd == "duplicates") return duplicates(a, args);
  if (cmd == "progress") return progress(a, args);
  if (cmd == "export") return export_cmd(a, args);
  if (cmd == "audit") return audit(a, args);
  throw Error(ErrorCode::kInvalidArgument, tr("usage.unknown_command", {{"cmd", cmd}}));
}

}  // namespace

namespace {
int main_impl(int argc, char** argv);
}

// The exit code is decided before static teardown, and the process leaves with _Exit:
// cpprestsdk's static thread pool may still be finishing a connect attempt to a server that
// is gone, and tearing it down under it can abort (seen under ASan as exit 134 after a sync
// that correctly gave up with exit 5). Every store was closed when its command returned.
int main(int argc, char** argv) {
  const int code = main_impl(argc, argv);
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(code);
}

namespace {
int main_impl(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::cerr << "lumbung-admin: ";
    switch (e.code()) {
      case ErrorCode::kTransport:
        std::cerr << tr("admin.unreachable", {{"detail", e.what()}});
        break;
      case ErrorCode::kUnauthorized:
        std::cerr << tr("admin.unauthorized", {{"detail", e.what()}});
        break;
      case ErrorCode::kForbidden:
        std::cerr << tr("admin.forbidden", {{"detail", e.what()}});
        break;
      default:
        std::cerr << e.what();
    }
    std::cerr << "\n";
    if (e.code() == ErrorCode::kInvalidArgument) std::cerr << tr("admin.see_help") << "\n";
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "lumbung-admin: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace

// lumbung-admin progress and export: counts and CSV files for the office.
#include <fstream>
#include <set>

#include "admin.h"
#include "common/csv.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "lumbung/error.h"

namespace lumbung::cli::admin {
namespace {

// Records per /v1/records page when exporting (the server's maximum): a 100k-record export
// is ten requests.
constexpr int kExportPage = 10000;
// Pages an export reads at most (a guard: 10,000 x 10,000 records).
constexpr int kMaxExportPages = 10000;

std::string progress_target(const std::string& collection,
                            const std::optional<std::string>& scope) {
  std::string t = "/v1/progress?collection=" + url_encode(collection);
  if (scope) t += "&scope=" + url_encode(*scope);
  return t;
}

void write_progress_csv(std::ostream& out, const Json& p, char sep) {
  std::set<std::string> statuses;
  for (auto it = p["by_status"].begin(); it != p["by_status"].end(); ++it)
    statuses.insert(it.key());
  std::vector<std::string> header{"level", "code", "total"};
  for (const auto& s : statuses) header.push_back("status_" + s);
  write_csv_row(out, header, sep);
  auto row = [&](const std::string& level, const std::string& code, const Json& t) {
    std::vector<std::string> cells{level, code, value_text(t.value("total", Json(0)))};
    for (const auto& s : statuses) cells.push_back(value_text(t["by_status"].value(s, Json(0))));
    write_csv_row(out, cells, sep);
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
      write_csv_row(out, {"program:" + f.key(), m.key(), value_text(*m)}, sep);
    }
  }
}

// --excel: what Excel in the Indonesian locale opens directly by a double click - ';' as
// the separator (',' is its decimal mark) and a UTF-8 byte-order mark (else it reads the
// file as the Windows code page and garbles names); a cell Excel would run as a formula
// (= + - @ first) is kept as text with a leading apostrophe.
std::string excel_cell(const std::string& c) {
  if (!c.empty() && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@')) return "'" + c;
  return c;
}

}  // namespace

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
    write_progress_csv(*out, p, ',');
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
  // States and programmes by their names, regions by theirs (issue 15 item 5).
  const CollectionSchema* cs = a.server_schema().collection(collection);
  auto named = [&](const std::string& field, const std::string& value) {
    const FieldDef* f = cs ? cs->field(field) : nullptr;
    return f ? value_display(*f, Json(value), true) : value;
  };
  std::string by_status;
  for (auto it = p["by_status"].begin(); it != p["by_status"].end(); ++it) {
    by_status +=
        (by_status.empty() ? "" : ", ") + named("status", it.key()) + " " + value_text(*it);
  }
  if (!by_status.empty()) {
    o << "  " << tr("admin.col.status") << ": " << printable(by_status) << "\n";
  }
  for (auto f = p["by_program"].begin(); f != p["by_program"].end(); ++f) {
    std::string line;
    for (auto m = f->begin(); m != f->end(); ++m)
      line += (line.empty() ? "" : ", ") + m.key() + " " + value_text(*m);
    o << "  " << printable(field_name_text(a, collection, f.key())) << ": " << printable(line)
      << "\n";
  }
  for (const char* level : {"kabupaten", "kecamatan", "desa"}) {
    if (!p["regions"].contains(level)) continue;
    std::vector<std::vector<std::string>> rows;
    for (auto it = p["regions"][level].begin(); it != p["regions"][level].end(); ++it) {
      std::string st;
      for (auto s = (*it)["by_status"].begin(); s != (*it)["by_status"].end(); ++s) {
        st += (st.empty() ? "" : ", ") + named("status", s.key()) + " " + value_text(*s);
      }
      rows.push_back({desa_text(a, it.key()), value_text((*it)["total"]), st});
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
  const bool excel = args.flag("excel");
  args.finish();
  const char sep = excel ? ';' : ',';
  std::ofstream f;
  std::ostream* out = a.out;
  if (path && *path != "-") {
    f.open(*path, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(ErrorCode::kStorage, tr("export.cannot_write", {{"path", *path}}));
    out = &f;
  }
  if (excel) *out << "\xEF\xBB\xBF";
  if (what == "progress") {
    write_progress_csv(*out, a.api->get(progress_target(collection, scope)), sep);
    return kExitOk;
  }
  if (what != "records") throw Error(ErrorCode::kInvalidArgument, tr("admin.export_usage"));
  const CollectionSchema* cs = a.server_schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, collection);
  std::vector<std::string> header{"id"};
  for (const FieldDef& fd : cs->fields()) header.push_back(fd.name);
  if (deleted) header.push_back("deleted");
  write_csv_row(*out, header, sep);
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
      for (const FieldDef& fd : cs->fields()) {
        const std::string cell = value_text(fields.value(fd.name, Json()));
        row.push_back(excel ? excel_cell(cell) : cell);
      }
      if (deleted) row.push_back(is_deleted ? "1" : "0");
      write_csv_row(*out, row, sep);
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

int audit_list(Admin& a, const Json& page) {
  if (a.json) {
    print_json(*a.out, page);
    return kExitOk;
  }
  const Json entries = page.value("entries", Json::array());
  if (entries.empty()) {
    *a.out << tr("admin.audit_empty") << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Json& e : entries) {
    // The detail's members as key=value, in the server's order (small: counts and ids).
    std::string detail;
    const Json d = e.value("detail", Json::object());
    if (d.is_object()) {
      for (const auto& [k, v] : d.items()) {
        detail += (detail.empty() ? "" : ", ") + k + "=" + value_text(v);
      }
    }
    const std::string role = e.value("role", std::string());
    const std::string actor = e.value("actor", std::string());
    rows.push_back({value_text(e.value("seq", Json(0))), local_time(opt_ms(e, "at_ms")),
                    role + (actor.empty() ? "" : " " + actor), e.value("action", std::string()),
                    e.value("target", std::string()), detail});
  }
  print_table(*a.out,
              {"#", tr("admin.col.when"), tr("admin.col.who"), tr("admin.col.action"),
               tr("admin.col.audit_target"), tr("admin.col.detail")},
              rows, 60);
  if (page.value("more", false)) {
    *a.out << tr("admin.audit_more", {{"next", value_text(page.value("next", Json(0)))}}) << "\n";
  }
  return kExitOk;
}

}  // namespace lumbung::cli::admin

// import-csv and export-csv: a village's list to and from a spreadsheet.
//
// Import rules (also in `lumbung help`):
// - The header row names fields (schema names, e.g. nik, full_name, birth_date); an `id`
//   column is optional. Unknown columns refuse the file before anything is written.
// - A row matches an existing record by `id` if it has one, else by the natural key (NIK).
//   No match: a new record. A match: only the cells that differ are written (an empty cell
//   leaves the field as it is), so re-running the same file changes nothing and creates
//   no duplicates.
// - Every row is reported: imported, updated, unchanged, or refused with the reason.
// - Rows are committed in batches (one transaction each): a crash loses at most the batch
//   in progress, and re-running the file completes it.
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "commands.h"
#include "common/csv.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "laptop.h"
#include "lumbung/error.h"
#include "record_view.h"
#include "regions.h"

namespace lumbung::cli {
namespace {

// The first forward-only field (status) that `patch` would move back from its value in
// `existing`: its name and the message (both values and the order); nullopt if none.
std::optional<std::pair<std::string, std::string>> moved_back(const CollectionSchema& cs,
                                                              const Json& existing,
                                                              const Json& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const FieldDef* f = cs.field(it.key());
    if (!f || f->policy != MergePolicy::kForwardOnly || it->is_null()) continue;
    const auto cur = existing.find(it.key());
    if (cur == existing.end() || cur->is_null()) continue;
    if (f->rank(*it) < f->rank(*cur)) {
      return std::make_pair(f->name, status_regression_text(*f, *cur, *it));
    }
  }
  return std::nullopt;
}

// Rows per transaction: one fsync per 500 rows keeps a 10,000-row list to seconds on a
// laptop disk, and a crash loses little.
constexpr size_t kImportBatchRows = 500;

enum class Outcome { kImported, kUpdated, kUnchanged, kRefused };

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kImported:
      return "imported";
    case Outcome::kUpdated:
      return "updated";
    case Outcome::kUnchanged:
      return "unchanged";
    case Outcome::kRefused:
      return "refused";
  }
  return "";
}

struct RowResult {
  size_t line = 0;
  Outcome outcome = Outcome::kRefused;
  std::string id;
  std::string title;
  std::string field;    // refused: the field at fault
  std::string reason;   // refused: stable reason code
  std::string message;  // refused: why, in the current language
};

// What a row will do, decided before the batch opens (lookups cannot run inside a batch).
struct Planned {
  RowResult result;
  Json create;  // non-null: create with this whole record
  Json patch;   // non-null: update result.id with this patch
};

// A cell holding a control character: refused, like the schema refuses them in text, but
// said in a spreadsheet user's words (a line break is an Alt+Enter in the cell).
std::optional<ValidationIssue> control_character(const FieldDef& f, const std::string& cell) {
  for (size_t i = 0; i < cell.size(); ++i) {
    const auto c = static_cast<unsigned char>(cell[i]);
    const bool line_break = c == '\n' || c == '\r';
    // C0 controls and DEL; C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8.
    const bool c1 = c == 0xC2 && i + 1 < cell.size() &&
                    static_cast<unsigned char>(cell[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(cell[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X",
                    c1 ? static_cast<unsigned char>(cell[i + 1]) : static_cast<unsigned>(c));
      return ValidationIssue{
          f.name, "control_character",
          tr(line_break ? "import.line_break" : "import.control_char",
             {{"field", field_label(f)}, {"code", code}, {"pos", std::to_string(i + 1)}})};
    }
  }
  return std::nullopt;
}

std::string read_all(std::istream& in) {
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int cmd_import_csv(Context& ctx, Args& args) {
  const bool dry_run = args.flag("dry-run");
  const std::string path = args.next();
  args.finish();
  if (path.empty()) throw Error(ErrorCode::kInvalidArgument, tr("import.need_file"));
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  Store& store = lap.store();

  std::string text;
  if (path == "-") {
    text = read_all(*ctx.in);
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(ErrorCode::kNotFound, tr("import.cannot_open", {{"path", path}}));
    text = read_all(f);
  }
  // Excel on Windows writes Windows-1252: read it as such (and say so), the same with and
  // without --dry-run; what is neither that nor UTF-8 refuses the file.
  std::string encoding;
  text = csv_text_as_utf8(text, &encoding);
  if (!encoding.empty()) *ctx.err << tr("import.converted", {{"enc", encoding}}) << "\n";
  std::istringstream in(text);
  CsvReader csv(in);
  // Columns -> fields; refuse the whole file for an unknown column (a typo would otherwise
  // silently drop a field from every row).
  std::vector<const FieldDef*> columns;
  int id_col = -1;
  for (size_t i = 0; i < csv.header().size(); ++i) {
    const std::string& h = csv.header()[i];
    if (h == "id") {
      id_col = static_cast<int>(i);
      columns.push_back(nullptr);
      continue;
    }
    const FieldDef* f = field_by_flag(cs, h);
    if (!f) {
      std::string names;
      for (const FieldDef& d : cs.fields()) names += " " + d.name;
      throw Error(ErrorCode::kInvalidArgument,
                  tr("import.unknown_column", {{"col", h}, {"fields", names}}));
    }
    columns.push_back(f);
  }
  if (columns.empty()) throw Error(ErrorCode::kInvalidArgument, tr("import.empty"));

  // State written earlier in this run, by id and by natural key, so a repeated row sees
  // the record an earlier row made even before its batch commits.
  std::map<std::string, Json> written;             // id -> fields
  std::map<std::string, std::string> written_key;  // natural key -> id
  const std::string& key_field = cs.natural_key();

  std::vector<RowResult> results;
  std::vector<Planned> plan;
  auto commit = [&] {
    if (plan.empty()) return;
    if (!dry_run) {
      Batch batch = store.begin_batch();
      for (const Planned& p : plan) {
        if (!p.create.is_null()) {
          batch.create(cs.name(), p.create, p.result.id);
        } else if (!p.patch.is_null()) {
          batch.update(cs.name(), p.result.id, p.patch);
        }
      }
      batch.commit();
    }
    for (const Planned& p : plan) results.push_back(p.result);
    plan.clear();
  };

  auto refuse = [&](RowResult& r, const ValidationIssue& issue, const Json* rec) {
    r.outcome = Outcome::kRefused;
    r.field = issue.field;
    r.reason = issue.reason;
    r.message = issue_text(issue, cs, rec);
  };

  // A village outside the laptop's regions: the row is refused like an invalid one, before
  // the batch (where the store would refuse it and take the batch's other rows with it).
  auto refuse_outside = [&](RowResult& r, const Json& rec) {
    const auto outside = region_refusal(store, cs, rec);
    if (!outside) return false;
    r.outcome = Outcome::kRefused;
    r.field = cs.scope_field();
    r.reason = "out_of_scope";
    r.message = *outside;
    return true;
  };

  // The live record (other than `id`) that already holds the row's natural key, if any:
  // written earlier in this run or in the store.
  auto key_holder = [&](const Json& fields, const std::string& id) -> std::optional<std::string> {
    if (key_field.empty() || !fields.contains(key_field) || !fields[key_field].is_string()) {
      return std::nullopt;
    }
    const std::string key = fields[key_field].get<std::string>();
    if (auto it = written_key.find(key); it != written_key.end()) {
      if (it->second != id) return it->second;
      return std::nullopt;
    }
    for (const Record& rec : store.find_by_key(cs.name(), key)) {
      if (rec.id != id) return rec.id;
    }
    return std::nullopt;
  };

  std::vector<std::string> cells;
  size_t line = 0;
  // Bounded by the input: every iteration consumes a row.
  while (csv.next(cells, &line)) {
    Planned p;
    RowResult& r = p.result;
    r.line = line;
    Json row = Json::object();
    std::string id;
    std::optional<ValidationIssue> control;
    for (size_t i = 0; i < columns.size() && i < cells.size(); ++i) {
      if (static_cast<int>(i) == id_col) {
        id = trim(cells[i]);
        continue;
      }
      if (!control) control = control_character(*columns[i], cells[i]);
      Json v = parse_field_text(*columns[i], cells[i]);
      if (!v.is_null()) row[columns[i]->name] = v;
    }
    if (control) {
      r.title = record_title(cs, row);
      refuse(r, *control, nullptr);
      r.message = control->message;
      plan.push_back(std::move(p));
      continue;
    }
    if (cells.size() > columns.size()) {
      refuse(r, ValidationIssue{"", "extra_cells", "row has more cells than the header"}, nullptr);
      r.message = tr("import.extra_cells",
                     {{"n", std::to_string(cells.size())}, {"m", std::to_string(columns.size())}});
      plan.push_back(std::move(p));
      continue;
    }
    Json partial = row;
    std::vector<ValidationIssue> issues = cs.normalize_and_validate(partial, true);
    if (!issues.empty()) {
      refuse(r, issues.front(), &partial);
      r.title = record_title(cs, row);
      plan.push_back(std::move(p));
      continue;
    }
    // Find what this row is about: by id, else by natural key.
    std::optional<Json> existing;
    std::string existing_id;
    if (!id.empty()) {
      if (auto it = written.find(id); it != written.end()) {
        existing = it->second;
      } else if (auto rec = store.get(cs.name(), id, /*include_deleted=*/true)) {
        if (rec->deleted) {
          refuse(r, ValidationIssue{"id", "deleted", ""}, nullptr);
          r.message = tr("import.deleted", {{"id", short_id(id)}});
          plan.push_back(std::move(p));
          continue;
        }
        existing = rec->fields;
      } else if (moved_away(store, cs, id)) {
        // Hidden here and refused by the store: report it instead of creating it again.
        refuse(r, ValidationIssue{"id", "moved_away", ""}, nullptr);
        r.message = tr("import.moved_away", {{"id", short_id(id)}});
        plan.push_back(std::move(p));
        continue;
      }
      existing_id = id;
      // The row's NIK on another record: an id column must not make a second one.
      if (const auto other = key_holder(partial, id)) {
        refuse(r, ValidationIssue{key_field, "duplicate_key", ""}, nullptr);
        r.message = tr("import.key_elsewhere", {{"key", partial[key_field].get<std::string>()},
                                                {"other", short_id(*other)},
                                                {"id", short_id(id)}});
        r.title = record_title(cs, row);
        plan.push_back(std::move(p));
        continue;
      }
    } else if (!key_field.empty() && partial.contains(key_field) &&
               partial[key_field].is_string()) {
      const std::string key = partial[key_field].get<std::string>();
      if (auto it = written_key.find(key); it != written_key.end()) {
        existing_id = it->second;
        existing = written[existing_id];
      } else {
        const std::vector<Record> found = store.find_by_key(cs.name(), key);
        if (found.size() > 1) {
          refuse(r, ValidationIssue{key_field, "ambiguous_key", ""}, nullptr);
          r.message = tr("import.ambiguous", {{"key", key}, {"n", std::to_string(found.size())}});
          plan.push_back(std::move(p));
          continue;
        }
        if (found.size() == 1) {
          existing_id = found.front().id;
          existing = found.front().fields;
        }
      }
    }
    if (!existing) {
      Json rec = partial;
      fill_auto_fields(cs, rec, lap.officer());
      issues = cs.normalize_and_validate(rec, false);
      r.title = record_title(cs, rec);
      if (!issues.empty()) {
        refuse(r, issues.front(), &rec);
        plan.push_back(std::move(p));
        continue;
      }
      if (refuse_outside(r, rec)) {
        plan.push_back(std::move(p));
        continue;
      }
      r.outcome = Outcome::kImported;
      // The id is made here (not at commit) so that a later row of this run repeating
      // this person finds the record.
      r.id = id.empty() ? new_record_id() : id;
      p.create = rec;
      written[r.id] = rec;
      if (!key_field.empty() && rec.contains(key_field) && rec[key_field].is_string()) {
        written_key[rec[key_field].get<std::string>()] = r.id;
      }
    } else {
      Json patch = Json::object();
      for (auto it = partial.begin(); it != partial.end(); ++it) {
        auto cur = existing->find(it.key());
        if (cur == existing->end() || *cur != *it) patch[it.key()] = *it;
      }
      r.id = existing_id;
      Json merged = *existing;
      for (auto it = patch.begin(); it != patch.end(); ++it) merged[it.key()] = *it;
      r.title = record_title(cs, merged);
      if (patch.empty()) {
        r.outcome = Outcome::kUnchanged;
        plan.push_back(std::move(p));
        continue;
      }
      issues = cs.normalize_and_validate(merged, false);
      if (!issues.empty()) {
        refuse(r, issues.front(), &merged);
        plan.push_back(std::move(p));
        continue;
      }
      if (refuse_outside(r, merged)) {
        plan.push_back(std::move(p));
        continue;
      }
      // A status moved back is refused for its row, in the officer's words, here: in the
      // batch the store would refuse it and take every other row of the batch with it.
      if (const auto back = moved_back(cs, *existing, patch)) {
        refuse(r, ValidationIssue{back->first, "status_regression", ""}, nullptr);
        r.message = back->second;
        plan.push_back(std::move(p));
        continue;
      }
      r.outcome = Outcome::kUpdated;
      p.patch = patch;
      written[existing_id] = merged;
      if (!key_field.empty() && merged.contains(key_field) && merged[key_field].is_string()) {
        written_key[merged[key_field].get<std::string>()] = existing_id;
      }
    }
    plan.push_back(std::move(p));
    if (plan.size() >= kImportBatchRows) commit();
  }
  commit();

  size_t counts[4] = {0, 0, 0, 0};
  for (const RowResult& r : results) ++counts[static_cast<int>(r.outcome)];
  if (ctx.json) {
    Json rows = Json::array();
    for (const RowResult& r : results) {
      Json j{{"line", r.line}, {"result", outcome_name(r.outcome)}};
      if (!r.id.empty()) j["id"] = r.id;
      if (r.outcome == Outcome::kRefused) {
        j["field"] = r.field;
        j["reason"] = r.reason;
        j["message"] = r.message;
      }
      rows.push_back(j);
    }
    print_json(*ctx.out, Json{{"encoding", encoding.empty() ? "UTF-8" : encoding},
                              {"imported", counts[0]},
                              {"updated", counts[1]},
                              {"unchanged", counts[2]},
                              {"refused", counts[3]},
                              {"dry_run", dry_run},
                              {"rows", rows}});
  } else {
    for (const RowResult& r : results) {
      const std::string who = r.title.empty() ? "" : " " + printable(r.title);
      const std::string line_no = std::to_string(r.line);
      switch (r.outcome) {
        case Outcome::kImported:
          *ctx.out << tr("import.row_imported",
                         {{"line", line_no}, {"who", who}, {"id", short_id(r.id)}});
          break;
        case Outcome::kUpdated:
          *ctx.out << tr("import.row_updated",
                         {{"line", line_no}, {"who", who}, {"id", short_id(r.id)}});
          break;
        case Outcome::kUnchanged:
          *ctx.out << tr("import.row_unchanged",
                         {{"line", line_no}, {"who", who}, {"id", short_id(r.id)}});
          break;
        case Outcome::kRefused:
          *ctx.out << tr("import.row_refused",
                         {{"line", line_no}, {"who", who}, {"why", printable(r.message)}});
          break;
      }
      *ctx.out << "\n";
    }
    *ctx.out << tr(dry_run ? "import.summary_dry" : "import.summary",
                   {{"imported", std::to_string(counts[0])},
                    {"updated", std::to_string(counts[1])},
                    {"unchanged", std::to_string(counts[2])},
                    {"refused", std::to_string(counts[3])}})
             << "\n";
  }
  return counts[3] > 0 ? kExitRefused : kExitOk;
}

int cmd_export_csv(Context& ctx, Args& args) {
  const auto village = args.value("village");
  const std::string path = args.next();
  args.finish();
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  std::ofstream file;
  std::ostream* out = ctx.out;
  if (!path.empty() && path != "-") {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) throw Error(ErrorCode::kStorage, tr("export.cannot_write", {{"path", path}}));
    out = &file;
  }
  std::vector<std::string> header{"id"};
  for (const FieldDef& f : cs.fields()) header.push_back(f.name);
  write_csv_row(*out, header);
  std::string prefix;
  if (village) {
    for (char c : *village) {
      if (std::isdigit(static_cast<unsigned char>(c))) prefix.push_back(c);
    }
  }
  size_t n = 0;
  for_each_record(
      lap.store(), cs, false,
      [&](const Record& r) {
        std::vector<std::string> row{r.id};
        for (const FieldDef& f : cs.fields()) {
          auto it = r.fields.find(f.name);
          row.push_back(it == r.fields.end() ? std::string() : value_text(*it));
        }
        write_csv_row(*out, row);
        ++n;
      },
      prefix);
  out->flush();
  if (!*out) throw Error(ErrorCode::kStorage, tr("export.cannot_write", {{"path", path}}));
  if (out != ctx.out)
    *ctx.err << tr("export.done", {{"n", std::to_string(n)}, {"path", path}}) << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli

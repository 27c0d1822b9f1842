// list, search, show, edit, delete: the records on this laptop.
#include <algorithm>
#include <iostream>
#include <sstream>

#include "commands.h"
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

// Default rows in a table; --limit 0 shows everything. JSON output is never cut.
constexpr size_t kDefaultTableRows = 100;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void show_list(Context& ctx, const CollectionSchema& cs, const std::vector<Record>& records,
               size_t limit) {
  if (ctx.json) {
    Json arr = Json::array();
    for (const Record& r : records) arr.push_back(record_json(r));
    print_json(*ctx.out, Json{{"count", records.size()}, {"records", arr}});
    return;
  }
  if (records.empty()) {
    *ctx.out << tr("list.none") << "\n";
    return;
  }
  const size_t shown = limit == 0 ? records.size() : std::min(limit, records.size());
  print_record_table(
      *ctx.out, cs,
      std::vector<Record>(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(shown)));
  if (shown < records.size()) {
    *ctx.out << tr("list.more",
                   {{"shown", std::to_string(shown)}, {"n", std::to_string(records.size())}})
             << "\n";
  } else {
    *ctx.out << tr("list.count", {{"n", std::to_string(records.size())}}) << "\n";
  }
}

size_t limit_of(Args& args) {
  const auto l = args.value("limit");
  if (!l) return kDefaultTableRows;
  try {
    return static_cast<size_t>(std::stoul(*l));
  } catch (const std::exception&) {
    throw Error(ErrorCode::kInvalidArgument, tr("usage.bad_number", {{"opt", "--limit"}}));
  }
}

// The scope prefix a user typed ("74.02.01") in the store's form ("740201").
std::string scope_prefix(const CollectionSchema& cs, const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c != '.' && c != ' ') {
      throw Error(ErrorCode::kInvalidArgument, tr("search.bad_village", {{"v", text}}));
    }
  }
  (void)cs;
  return digits;
}

// Reads the --set field=value pairs and per-field flags of edit into a patch.
Json read_patch(const CollectionSchema& cs, Args& args) {
  Json patch = Json::object();
  auto put = [&](const std::string& name, const std::string& text) {
    const FieldDef* f = field_by_flag(cs, name);
    if (!f) throw Error(ErrorCode::kInvalidArgument, tr("edit.unknown_field", {{"field", name}}));
    patch[f->name] = parse_field_text(*f, text);  // empty = clear the field
  };
  for (const std::string& s : args.values("set")) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument, tr("edit.bad_set", {{"arg", s}}));
    }
    put(trim(s.substr(0, eq)), s.substr(eq + 1));
  }
  for (const auto& [flag, text] : args.take_all_options()) put(flag, text);
  return patch;
}

// resolve_record, and when a whole id names nothing, whether that record moved out of this
// laptop's regions (hidden, not editable) - which is worth saying in words.
Record resolve_or_moved(Laptop& lap, const std::string& ref) {
  try {
    return resolve_record(lap.store(), lap.collection(), ref);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kNotFound && ref.size() >= 32 &&
        moved_away(lap.store(), lap.collection(), ref)) {
      throw Error(ErrorCode::kNotFound, tr("record.moved_away", {{"ref", printable(ref)}}));
    }
    throw;
  }
}

}  // namespace

int cmd_list(Context& ctx, Args& args) {
  const auto village = args.value("village");
  const bool deleted = args.flag("deleted");
  const size_t limit = limit_of(args);
  args.finish();
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  std::vector<Record> records;
  for_each_record(
      lap.store(), cs, deleted, [&](const Record& r) { records.push_back(r); },
      village ? scope_prefix(cs, *village) : std::string());
  show_list(ctx, cs, records, limit);
  return kExitOk;
}

// What people type into a search box: the words of a name in any order and case ("rahmawati
// siti"), a whole NIK, a part of one ("0001", "52037800"), a village code with dots. Pure
// digits shorter than a NIK find both NIKs containing them and village codes starting with
// them; digits with dots are a village code.
int cmd_search(Context& ctx, Args& args) {
  auto name = args.value("name");
  auto nik = args.value("nik");
  auto village = args.value("village");
  const size_t limit = limit_of(args);
  std::string text;
  for (std::string t = args.next(); !t.empty(); t = args.next())
    text += (text.empty() ? "" : " ") + t;
  args.finish();
  bool nik_or_village = false;  // pure digits: part of a NIK, or a village code prefix
  if (!text.empty() && !name && !nik && !village) {
    std::string digits;
    bool numeric = true, dots = false;
    for (char c : text) {
      if (std::isdigit(static_cast<unsigned char>(c))) {
        digits.push_back(c);
      } else if (c == '.') {
        dots = true;
      } else if (c != ' ') {
        numeric = false;
      }
    }
    if (numeric && digits.size() == 16) {
      nik = digits;
    } else if (numeric && !digits.empty()) {
      village = digits;
      nik_or_village = !dots;
      if (nik_or_village) nik = digits;
    } else {
      name = text;
    }
  }
  if (!name && !nik && !village) throw Error(ErrorCode::kInvalidArgument, tr("search.what"));
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  std::vector<Record> records;
  const std::string& key = cs.natural_key();
  if (nik && !key.empty() && nik->size() == 16 && !nik_or_village) {
    records = lap.store().find_by_key(cs.name(), *nik);
  } else {
    // Every word of the name, anywhere in it, in any order and case.
    std::vector<std::string> words;
    if (name) {
      std::istringstream in(lower(*name));
      for (std::string w; in >> w;) words.push_back(w);
    }
    const std::string nik_part = nik ? *nik : std::string();
    const std::string village_prefix =
        village && !nik_or_village ? scope_prefix(cs, *village) : std::string();
    const std::string village_digits = nik_or_village ? *village : std::string();
    for_each_record(
        lap.store(), cs, false,
        [&](const Record& r) {
          const std::string title = lower(record_title(cs, r.fields));
          for (const auto& w : words) {
            if (title.find(w) == std::string::npos) return;
          }
          if (!nik_part.empty()) {
            auto k = r.fields.find(key);
            const bool in_nik = k != r.fields.end() && k->is_string() &&
                                k->get<std::string>().find(nik_part) != std::string::npos;
            bool in_village = false;
            if (!village_digits.empty()) {
              auto v = r.fields.find(cs.scope_field());
              in_village =
                  v != r.fields.end() && v->is_string() &&
                  v->get<std::string>().compare(0, village_digits.size(), village_digits) == 0;
            }
            if (!in_nik && !in_village) return;
          }
          records.push_back(r);
        },
        village_prefix);
  }
  if (records.empty() && !ctx.json) {
    // "No records yet" only on an empty laptop; otherwise the search found nothing.
    const uint64_t held = lap.store().stats().records;
    if (held == 0) {
      *ctx.out << tr("list.none") << "\n";
    } else {
      *ctx.out << tr("search.not_found",
                     {{"what",
                       printable(text.empty() ? name.value_or(nik.value_or(village.value_or("")))
                                              : text)},
                      {"n", group_number(static_cast<int64_t>(held))}})
               << "\n";
    }
    return kExitOk;
  }
  show_list(ctx, cs, records, limit);
  return kExitOk;
}

int cmd_show(Context& ctx, Args& args) {
  const std::string ref = args.next();
  args.finish();
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  const Record r = resolve_or_moved(lap, ref);
  if (ctx.json) {
    print_json(*ctx.out, record_json(r, true));
    return kExitOk;
  }
  print_record(*ctx.out, cs, r);
  print_attachments(ctx, lap, r);
  for (const Conflict& c : lap.store().conflicts(false)) {
    if (c.record_id == r.id) {
      *ctx.out << "  ! "
               << tr("show.conflict",
                     {{"field", c.field}, {"other", printable(value_text(c.loser.value))}})
               << "\n";
    }
  }
  return kExitOk;
}

int cmd_edit(Context& ctx, Args& args) {
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  Json patch = read_patch(cs, args);
  const std::string ref = args.next();
  args.finish();
  if (patch.empty()) throw Error(ErrorCode::kInvalidArgument, tr("edit.nothing"));
  const Record r = resolve_or_moved(lap, ref);
  std::vector<ValidationIssue> issues = cs.normalize_and_validate(patch, true);
  if (issues.empty()) {
    // The record as it would be, checked whole (NIK against birth date and gender).
    Json merged = r.fields;
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (it->is_null()) {
        merged.erase(it.key());
      } else {
        merged[it.key()] = *it;
      }
    }
    issues = cs.normalize_and_validate(merged, false);
    if (!issues.empty()) {
      *ctx.err << tr("edit.refused") << "\n";
      print_issues(*ctx.err, cs, issues, &merged);
      return kExitRefused;
    }
    if (const auto outside = region_refusal(lap.store(), cs, merged)) {
      *ctx.err << tr("edit.refused") << "\n  ✗ " << *outside << "\n";
      return kExitRefused;
    }
  } else {
    *ctx.err << tr("edit.refused") << "\n";
    print_issues(*ctx.err, cs, issues, &patch);
    return kExitRefused;
  }
  try {
    lap.store().update(cs.name(), r.id, patch);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kStatusRegression) {
      const FieldDef* f = cs.field(e.field());
      const auto old_v = r.fields.find(e.field());
      const auto new_v = patch.find(e.field());
      if (!f || old_v == r.fields.end() || new_v == patch.end()) throw;
      *ctx.err << tr("edit.refused") << "\n  ✗ " << status_regression_text(*f, *old_v, *new_v)
               << "\n";
      return kExitRefused;
    }
    if (e.code() != ErrorCode::kOutOfScope) throw;
    // Moved out of the regions since it was read, or the engine's region check (the same
    // rule as region_refusal): said in words either way.
    if (moved_away(lap.store(), cs, r.id)) {
      throw Error(ErrorCode::kNotFound, tr("record.moved_away", {{"ref", printable(ref)}}));
    }
    const auto v = r.fields.find(cs.scope_field());
    const auto p = patch.find(cs.scope_field());
    const Json& village = p != patch.end() ? *p : v != r.fields.end() ? *v : Json();
    *ctx.err << tr("edit.refused") << "\n  ✗ "
             << region_refusal_text(lap.store(), cs,
                                    village.is_string() ? village.get<std::string>() : "")
             << "\n";
    return kExitRefused;
  }
  std::string fields;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const FieldDef* f = cs.field(it.key());
    fields += (fields.empty() ? "" : ", ") + (f ? field_label(*f) : it.key());
  }
  *ctx.out << tr("edit.saved",
                 {{"name", printable(record_title(cs, r.fields))}, {"fields", fields}})
           << "\n";
  return kExitOk;
}

int cmd_delete(Context& ctx, Args& args) {
  const bool force = args.flag("force");
  const std::string ref = args.next();
  args.finish();
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  const Record r = resolve_or_moved(lap, ref);
  const std::string name = printable(record_title(cs, r.fields));
  if (!force) {
    print_record(*ctx.out, cs, r);
    if (!confirm(ctx, tr("delete.question", {{"name", name}}), false)) {
      *ctx.out << tr("delete.kept") << "\n";
      return kExitCancelled;
    }
  }
  lap.store().remove(cs.name(), r.id);
  *ctx.out << tr("delete.done", {{"name", name}, {"id", short_id(r.id)}}) << "\n";
  return kExitOk;
}

}  // namespace lumbung::cli

// enrol: a new participant, from flags (for scripts) or by guided prompts, one field at a
// time, checked as it goes so the officer fixes a mistake while the person is still there.
#include <algorithm>
#include <cstdio>
#include <iostream>

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

// How many times a guided prompt asks again before giving up on the entry: enough for a
// typo and its correction, few enough that a script feeding wrong answers ends.
constexpr int kMaxAttempts = 3;
// Most entries a guided object list (heirs) takes.
constexpr int kMaxListItems = 10;

std::string hint(const FieldDef& f) {
  switch (f.type) {
    case FieldType::kDate:
      return " (" + tr("hint.date") + ")";
    case FieldType::kEnum:
      if (f.values.size() <= 3) {
        std::string s;
        for (const auto& v : f.values) s += (s.empty() ? "" : "/") + v;
        return " [" + s + "]";
      }
      return " (" + tr("hint.choose_number") + ")";
    case FieldType::kEnumSet:
      return " (" + tr("hint.choose_many") + ")";
    case FieldType::kInteger:
      if (f.min && f.max) return " (" + group_number(*f.min) + "–" + group_number(*f.max) + ")";
      return "";
    case FieldType::kRegionCode:
      return " (" + tr("hint.region") + ")";
    case FieldType::kPhone:
      return " (" + tr("hint.phone") + ")";
    case FieldType::kNik:
      return " (" + tr("hint.nik") + ")";
    default:
      return "";
  }
}

void print_choices(Context& ctx, const FieldDef& f) {
  if (f.type == FieldType::kEnumSet || (f.type == FieldType::kEnum && f.values.size() > 3)) {
    std::string line;
    for (size_t i = 0; i < f.values.size(); ++i) {
      line += "  " + std::to_string(i + 1) + ") " + f.values[i];
    }
    *ctx.out << line << "\n";
  }
}

// Answers may name choices by their number in the list shown.
std::string choices_by_number(const FieldDef& f, const std::string& text) {
  if (f.type != FieldType::kEnum && f.type != FieldType::kEnumSet) return text;
  std::string out, item;
  bool changed = false;
  auto flush = [&] {
    std::string t = trim(item);
    item.clear();
    if (t.empty()) return;
    bool digits = t.size() <= 2 && std::all_of(t.begin(), t.end(), ::isdigit);
    if (digits) {
      const size_t n = std::stoul(t);
      if (n >= 1 && n <= f.values.size()) {
        t = f.values[n - 1];
        changed = true;
      }
    }
    out += (out.empty() ? "" : ",") + t;
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else {
      item.push_back(c);
    }
  }
  flush();
  return changed ? out : text;
}

// Issues about `field` that only show once the record is seen whole (the NIK against the
// birth date or gender), ignoring fields not asked yet.
std::vector<ValidationIssue> cross_issues(const CollectionSchema& cs, const Json& so_far,
                                          const std::string& field) {
  Json trial = so_far;
  std::vector<ValidationIssue> out;
  for (auto& i : cs.normalize_and_validate(trial, false)) {
    if (i.reason != "required" && i.field == field) out.push_back(i);
  }
  return out;
}

void warn_duplicates(Context& ctx, Laptop& lap, const Json& record) {
  const CollectionSchema& cs = lap.collection();
  if (cs.natural_key().empty() || !record.contains(cs.natural_key())) return;
  const Json& key = record[cs.natural_key()];
  if (!key.is_string()) return;
  for (const Record& r : lap.store().find_by_key(cs.name(), key.get<std::string>())) {
    *ctx.err << tr("enrol.duplicate", {{"key", printable(key.get<std::string>())},
                                       {"name", printable(record_title(cs, r.fields))},
                                       {"id", short_id(r.id)}})
             << "\n";
  }
}

// Asks one field until it is valid; returns the normalised value (null = skipped).
Json ask_field(Context& ctx, Laptop& lap, const FieldDef& f, const Json& so_far,
               const std::string& indent = "") {
  const CollectionSchema& cs = lap.collection();
  print_choices(ctx, f);
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    *ctx.out << indent << field_label(f) << (f.required ? " *" : "") << hint(f) << ": "
             << std::flush;
    std::string line;
    if (!read_answer(ctx, line)) throw Error(ErrorCode::kCancelled, tr("enrol.eof"));
    line = trim(line);
    if (line.empty()) {
      if (!f.required) return nullptr;
      *ctx.out << indent << "  ✗ " << tr("issue.required", {{"label", field_label(f)}}) << "\n";
      continue;
    }
    Json patch{{f.name, parse_field_text(f, choices_by_number(f, line))}};
    std::vector<ValidationIssue> issues = cs.normalize_and_validate(patch, true);
    if (issues.empty()) {
      Json trial = so_far;
      trial[f.name] = patch[f.name];
      issues = cross_issues(cs, trial, f.name);
      // A village outside the laptop's regions is caught here, while the person is there.
      const auto outside =
          f.name == cs.scope_field() ? region_refusal(lap.store(), cs, trial) : std::nullopt;
      if (issues.empty() && outside) {
        *ctx.out << indent << "  ✗ " << *outside << "\n";
      } else if (issues.empty()) {
        const std::string shown = value_text(patch[f.name]);
        if (shown != line) *ctx.out << indent << "  = " << shown << "\n";
        return patch[f.name];
      }
      if (!issues.empty()) print_issues(*ctx.out, cs, issues, &trial);
    } else {
      print_issues(*ctx.out, cs, issues, &patch);
    }
    if (attempt < kMaxAttempts) *ctx.out << indent << "  " << tr("enrol.try_again") << "\n";
  }
  throw Error(
      ErrorCode::kValidationFailed,
      tr("enrol.gave_up", {{"label", field_label(f)}, {"n", std::to_string(kMaxAttempts)}}));
}

// An entry's NIK against its birth date (heirs): the NIK's DDMMYY, the day plus 40 for a
// woman (an heir's gender is not asked, so either reading is accepted). Empty when they
// agree or one is missing; else the NIK's date as DD-MM-YY.
std::string heir_nik_date_mismatch(const Json& item) {
  const auto nik = item.find("nik");
  const auto birth = item.find("birth_date");
  if (nik == item.end() || birth == item.end() || !nik->is_string() || !birth->is_string()) {
    return {};
  }
  const std::string n = nik->get<std::string>(), b = birth->get<std::string>();
  if (n.size() != 16 || b.size() != 10) return {};
  const std::string dd = n.substr(6, 2), mm = n.substr(8, 2), yy = n.substr(10, 2);
  if (!std::all_of(dd.begin(), dd.end(), ::isdigit)) return {};
  int day = std::stoi(dd);
  if (day > 40) day -= 40;
  char want[16];
  std::snprintf(want, sizeof want, "%02d", day);
  if (b.substr(8, 2) == want && b.substr(5, 2) == mm && b.substr(2, 2) == yy) return {};
  return std::string(want) + "-" + mm + "-" + yy;
}

// An object list (e.g. heirs): entries one by one, each answer checked at once (the
// choices of a list shown first, an heir's NIK against the birth date given); an empty
// first answer ends the list.
Json ask_list(Context& ctx, Laptop& lap, const FieldDef& f) {
  const CollectionSchema& cs = lap.collection();
  Json list = Json::array();
  *ctx.out << field_label(f) << ": " << tr("enrol.list_intro") << "\n";
  for (int n = 1; n <= kMaxListItems; ++n) {
    Json item = Json::object();
    bool ended = false;
    for (size_t k = 0; k < f.item_fields.size() && !ended; ++k) {
      const FieldDef& sub = f.item_fields[k];
      const std::string path = f.name + "[0]." + sub.name;
      if (k > 0) print_choices(ctx, sub);
      for (int attempt = 1;; ++attempt) {
        *ctx.out << "  #" << n << " " << field_label(sub) << (sub.required ? " *" : "") << hint(sub)
                 << ": " << std::flush;
        std::string line;
        if (!read_answer(ctx, line)) throw Error(ErrorCode::kCancelled, tr("enrol.eof"));
        line = trim(line);
        if (k == 0 && line.empty()) {
          ended = true;
          break;
        }
        Json trial = item;
        if (!line.empty()) {
          Json v = parse_field_text(sub, choices_by_number(sub, line));
          if (!v.is_null()) trial[sub.name] = v;
        }
        Json patch{{f.name, Json::array({trial})}};
        std::vector<ValidationIssue> issues;
        for (auto& i : cs.normalize_and_validate(patch, true)) {
          const bool later_required = i.reason == "required" && i.field != path;
          if (i.field == path || (!later_required && i.field.rfind(path, 0) == 0)) {
            issues.push_back(i);
          }
        }
        if (line.empty() && sub.required) {
          issues.push_back(ValidationIssue{path, "required", ""});
        }
        if (issues.empty() && patch[f.name][0].is_object()) {
          const std::string nik_date = heir_nik_date_mismatch(patch[f.name][0]);
          if (nik_date.empty()) {
            item = patch[f.name][0];
            break;
          }
          *ctx.out << "  ✗ "
                   << tr("enrol.heir_nik_date", {{"nik_date", nik_date},
                                                 {"date", officer_date(patch[f.name][0].value(
                                                              "birth_date", std::string()))}})
                   << "\n";
        } else {
          print_issues(*ctx.out, cs, issues, &patch);
        }
        if (attempt == kMaxAttempts) {
          throw Error(ErrorCode::kValidationFailed,
                      tr("enrol.gave_up",
                         {{"label", field_label(sub)}, {"n", std::to_string(kMaxAttempts)}}));
        }
        *ctx.out << "  " << tr("enrol.try_again") << "\n";
      }
    }
    if (ended) break;
    list.push_back(item);
  }
  return list.empty() ? Json() : list;
}

}  // namespace

bool read_answer(Context& ctx, std::string& line) {
  if (!std::getline(*ctx.in, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  // Answers piped in (a script, the demo) are echoed so the transcript reads like a session.
  if (ctx.in == &std::cin && !is_terminal(0)) *ctx.out << line << "\n";
  return true;
}

bool confirm(Context& ctx, const std::string& question, bool default_yes) {
  *ctx.out << question << (default_yes ? " [Y/n] " : " [y/N] ") << std::flush;
  std::string line;
  if (!read_answer(ctx, line)) {
    *ctx.out << "\n";
    return false;
  }
  line = trim(line);
  if (line.empty()) return default_yes;
  const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(line[0])));
  return c == 'y' || c == 'j';  // "ya" / "yes" / "ja"
}

int cmd_enrol(Context& ctx, Args& args) {
  bool guided = args.flag("guided");
  const bool yes = args.flag("yes");
  Laptop lap(ctx.home);
  const CollectionSchema& cs = lap.collection();
  const auto options = args.take_all_options();
  args.finish();
  if (options.empty()) guided = true;

  Json record = Json::object();
  for (const auto& [flag, text] : options) {
    const FieldDef* f = field_by_flag(cs, flag);
    if (!f) {
      std::string names;
      for (const FieldDef& d : cs.fields()) names += " --" + flag_name(d.name);
      throw Error(ErrorCode::kInvalidArgument,
                  tr("enrol.unknown_flag", {{"flag", "--" + flag}, {"fields", names}}));
    }
    Json v = parse_field_text(*f, text);
    if (!v.is_null()) record[f->name] = v;
  }

  if (guided) {
    *ctx.out << tr("enrol.intro") << "\n";
    for (const FieldDef& f : cs.fields()) {
      if (record.contains(f.name) || is_auto_field(cs, f)) continue;
      Json v =
          f.type == FieldType::kObjectList ? ask_list(ctx, lap, f) : ask_field(ctx, lap, f, record);
      if (v.is_null()) continue;
      record[f.name] = v;
      if (f.name == cs.natural_key()) {
        std::ostringstream warn;
        Context quiet = ctx;
        quiet.err = &warn;
        warn_duplicates(quiet, lap, record);
        if (!warn.str().empty()) {
          *ctx.out << warn.str();
          if (!confirm(ctx, tr("enrol.continue_anyway"), false)) {
            throw Error(ErrorCode::kCancelled, tr("enrol.cancelled"));
          }
        }
      }
    }
  }

  fill_auto_fields(cs, record, lap.officer());
  Json checked = record;
  const std::vector<ValidationIssue> issues = cs.normalize_and_validate(checked, false);
  if (!issues.empty()) {
    *ctx.err << tr("enrol.refused") << "\n";
    print_issues(*ctx.err, cs, issues, &checked);
    return kExitRefused;
  }
  if (const auto outside = region_refusal(lap.store(), cs, checked)) {
    *ctx.err << tr("enrol.refused") << "\n  ✗ " << *outside << "\n";
    return kExitRefused;
  }
  if (!guided) warn_duplicates(ctx, lap, checked);
  if (guided && !yes) {
    Record preview;
    preview.fields = checked;
    *ctx.out << "\n";
    print_record(*ctx.out, cs, preview);
    if (!confirm(ctx, tr("enrol.save_question"), true)) {
      throw Error(ErrorCode::kCancelled, tr("enrol.cancelled"));
    }
  }
  std::string id;
  try {
    id = lap.store().create(cs.name(), checked);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kOutOfScope) throw;
    // The engine's own region check (the same rule as region_refusal), said in words.
    const auto v = checked.find(cs.scope_field());
    *ctx.err << tr("enrol.refused") << "\n  ✗ "
             << region_refusal_text(
                    lap.store(), cs,
                    v != checked.end() && v->is_string() ? v->get<std::string>() : std::string())
             << "\n";
    return kExitRefused;
  }
  if (ctx.json) {
    print_json(*ctx.out, Json{{"id", id}, {"fields", checked}});
  } else {
    *ctx.out << tr("enrol.saved", {{"name", printable(record_title(cs, checked))},
                                   {"id", short_id(id)},
                                   {"full_id", id}})
             << "\n";
  }
  return kExitOk;
}

}  // namespace lumbung::cli

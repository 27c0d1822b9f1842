#include "enrol_form.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "laptop.h"
#include "lumbung/error.h"
#include "record_view.h"
#include "regions.h"

namespace lumbung::cli {
namespace {

// How many times a prompt asks again before the field is left for later: enough for a typo
// and its correction, few enough that a script feeding wrong answers moves on.
constexpr int kMaxAttempts = 3;
// Most entries a guided object list (heirs) takes.
constexpr int kMaxListItems = 10;

volatile sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

// The form stops (Ctrl-C, end of input, "draf"): unwinds to run_form.
struct FormStop {
  FormEnd end;
};

struct Answer {
  enum Kind { kValue, kEmpty, kLater, kBack, kReview } kind = kValue;
  Json value;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_word(const std::string& line, const char* id, const char* en) {
  const std::string l = lower(line);
  return l == id || l == en;
}

// One answer line; the form stops at Ctrl-C or the end of input.
std::string read_or_stop(Context& ctx) {
  std::string line;
  if (!read_answer(ctx, line)) {
    *ctx.out << "\n";
    throw FormStop{g_interrupted ? FormEnd::kInterrupted : FormEnd::kEof};
  }
  return trim(line);
}

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
  Json trial = without_nulls(so_far);
  std::vector<ValidationIssue> out;
  for (auto& i : cs.normalize_and_validate(trial, false)) {
    if (i.reason != "required" && i.field == field) out.push_back(i);
  }
  return out;
}

bool only_nik_mismatch(const std::vector<ValidationIssue>& issues) {
  if (issues.empty()) return false;
  for (const auto& i : issues) {
    if (i.reason.rfind("nik_", 0) != 0 || i.reason.find("_mismatch") == std::string::npos) {
      return false;
    }
  }
  return true;
}

// Asks one field until it is valid (or three times). `current` is the value the form holds
// already (a field gone back to, or a resumed draft's): Enter keeps it, checked again.
Answer ask_field(Context& ctx, Laptop& lap, const FieldDef& f, const Json& so_far,
                 const Json* current) {
  const CollectionSchema& cs = lap.collection();
  print_choices(ctx, f);
  Json mismatched;  // a value refused only because the NIK disagrees with it
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    *ctx.out << field_label(f) << (f.required ? " *" : "") << hint(f);
    if (current) {
      // Dates as the officer types them (DD-MM-YYYY), like every other message.
      const bool date = f.type == FieldType::kDate && current->is_string();
      *ctx.out << " ["
               << printable(date ? officer_date(current->get<std::string>()) : value_text(*current))
               << "]";
    }
    *ctx.out << ": " << std::flush;
    const std::string line = read_or_stop(ctx);
    if (line == "-") return {Answer::kLater, {}};
    if (line == "<") return {Answer::kBack, {}};
    if (is_word(line, "draf", "draft")) throw FormStop{FormEnd::kDraft};
    if (is_word(line, "tinjau", "review")) {
      if (!mismatched.is_null()) return {Answer::kReview, mismatched};
      *ctx.out << "  ✗ " << tr("form.review_only_mismatch") << "\n";
      continue;
    }
    Json patch;
    if (line.empty() && current) {
      patch = Json{{f.name, *current}};
    } else if (line.empty()) {
      if (!f.required) return {Answer::kEmpty, {}};
      *ctx.out << "  ✗ " << tr("issue.required", {{"label", field_label(f)}}) << " "
               << tr("form.skip_hint") << "\n";
      continue;
    } else {
      patch = Json{{f.name, parse_field_text(f, choices_by_number(f, line))}};
    }
    std::vector<ValidationIssue> issues = cs.normalize_and_validate(patch, true);
    if (issues.empty()) {
      Json trial = so_far;
      trial[f.name] = patch[f.name];
      issues = cross_issues(cs, trial, f.name);
      // A village outside the laptop's regions is caught here, while the person is there.
      const auto outside =
          f.name == cs.scope_field() ? region_refusal(lap.store(), cs, trial) : std::nullopt;
      if (issues.empty() && outside) {
        *ctx.out << "  ✗ " << *outside << "\n";
      } else if (issues.empty()) {
        const std::string shown = value_text(patch[f.name]);
        if (shown != line && !line.empty()) *ctx.out << "  = " << shown << "\n";
        return {Answer::kValue, patch[f.name]};
      }
      if (!issues.empty()) {
        print_issues(*ctx.out, cs, issues, &trial);
        // The KTP itself may be wrong: the officer may keep what it says, for review.
        if (only_nik_mismatch(issues)) {
          mismatched = patch[f.name];
          *ctx.out << "  " << tr("form.review_hint") << "\n";
        }
      }
    } else {
      print_issues(*ctx.out, cs, issues, &patch);
    }
    if (attempt < kMaxAttempts) *ctx.out << "  " << tr("enrol.try_again") << "\n";
  }
  *ctx.out << "  " << tr("form.left_for_later", {{"label", field_label(f)}}) << "\n";
  return {Answer::kLater, {}};
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
// first answer ends the list. An entry answered wrongly three times is dropped (the ones
// before it are kept) and the list goes on. Null when no entry was given.
Json ask_list(Context& ctx, Laptop& lap, const FieldDef& f, const Json* current) {
  const CollectionSchema& cs = lap.collection();
  // The entries a draft holds stay; new ones are added after them.
  Json list = current && current->is_array() ? *current : Json::array();
  *ctx.out << field_label(f) << ": " << tr("enrol.list_intro");
  if (!list.empty()) {
    *ctx.out << " " << tr("form.list_kept", {{"n", std::to_string(list.size())}});
  }
  *ctx.out << "\n";
  for (int n = static_cast<int>(list.size()) + 1; n <= kMaxListItems; ++n) {
    Json item = Json::object();
    bool ended = false, dropped = false;
    for (size_t k = 0; k < f.item_fields.size() && !ended && !dropped; ++k) {
      const FieldDef& sub = f.item_fields[k];
      const std::string path = f.name + "[0]." + sub.name;
      if (k > 0) print_choices(ctx, sub);
      for (int attempt = 1;; ++attempt) {
        *ctx.out << "  #" << n << " " << field_label(sub) << (sub.required ? " *" : "") << hint(sub)
                 << ": " << std::flush;
        const std::string line = read_or_stop(ctx);
        if (is_word(line, "draf", "draft")) throw FormStop{FormEnd::kDraft};
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
          *ctx.out << "  "
                   << tr("form.entry_dropped", {{"label", field_label(f)},
                                                {"n", std::to_string(n)},
                                                {"field", field_label(sub)}})
                   << "\n";
          dropped = true;
          break;
        }
        *ctx.out << "  " << tr("enrol.try_again") << "\n";
      }
    }
    if (ended) break;
    if (dropped) {
      --n;  // the same number again, for the next entry
      continue;
    }
    list.push_back(item);
  }
  return list.empty() ? Json() : list;
}

// The NIK just given is on the laptop already: the officer says whether to go on.
bool continue_after_duplicate(Context& ctx, Laptop& lap, const Json& record) {
  std::ostringstream warn;
  Context quiet = ctx;
  quiet.err = &warn;
  warn_duplicates(quiet, lap, record);
  if (warn.str().empty()) return true;
  *ctx.out << warn.str() << tr("enrol.continue_anyway") << " [y/N] " << std::flush;
  const std::string line = lower(read_or_stop(ctx));
  return !line.empty() && (line[0] == 'y' || line[0] == 'j');
}

}  // namespace

// No SA_RESTART: the blocked read returns EINTR, which ends std::cin's getline (stdio's
// getc reports it as an error) and so the form, with what was typed kept.
CtrlCGuard::CtrlCGuard() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  installed_ = ::sigaction(SIGINT, &sa, &old_) == 0;
}

CtrlCGuard::~CtrlCGuard() {
  if (installed_) ::sigaction(SIGINT, &old_, nullptr);
}

bool form_interrupted() { return g_interrupted != 0; }

Json without_nulls(const Json& record) {
  Json out = Json::object();
  for (const auto& [k, v] : record.items()) {
    if (!v.is_null()) out[k] = v;
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

FormEnd run_form(Context& ctx, Laptop& lap, FormState& state) {
  const CollectionSchema& cs = lap.collection();
  CtrlCGuard guard;
  std::vector<const FieldDef*> fields;
  for (const FieldDef& f : cs.fields()) {
    if (!is_auto_field(cs, f)) fields.push_back(&f);
  }
  Json& record = state.record;
  auto rechecked = [&](const std::string& name) {
    return std::find(state.recheck.begin(), state.recheck.end(), name) != state.recheck.end();
  };
  auto done_with = [&](const std::string& name) {
    state.recheck.erase(std::remove(state.recheck.begin(), state.recheck.end(), name),
                        state.recheck.end());
  };
  // Asks field i; returns the answer's kind after putting its value in the record.
  auto ask = [&](size_t i) -> Answer::Kind {
    const FieldDef& f = *fields[i];
    // A field answered empty holds null: asked, so a resumed draft does not ask it again.
    const auto it = record.find(f.name);
    const Json* current = it != record.end() && !it->is_null() ? &*it : nullptr;
    if (f.type == FieldType::kObjectList) {
      record[f.name] = ask_list(ctx, lap, f, current);
      done_with(f.name);
      return Answer::kValue;
    }
    Answer a = ask_field(ctx, lap, f, record, current);
    if (a.kind == Answer::kValue || a.kind == Answer::kReview) {
      record[f.name] = a.value;
      done_with(f.name);
    } else if (a.kind == Answer::kEmpty) {
      record[f.name] = nullptr;
      done_with(f.name);
    }
    if (a.kind == Answer::kReview) {
      state.review = true;
      *ctx.out << tr("form.note_question") << ": " << std::flush;
      const std::string note = read_or_stop(ctx);
      if (!note.empty()) state.note += (state.note.empty() ? "" : "; ") + note;
    }
    return a.kind;
  };

  try {
    std::vector<size_t> history, later;
    bool forced = false;  // ask field i even though it holds a value (gone back to)
    for (size_t i = 0; i < fields.size();) {
      const FieldDef& f = *fields[i];
      if (!forced && record.contains(f.name) && !rechecked(f.name)) {
        ++i;
        continue;
      }
      forced = false;
      const Answer::Kind k = ask(i);
      if (k == Answer::kBack) {
        if (history.empty()) {
          *ctx.out << "  " << tr("form.no_back") << "\n";
        } else {
          i = history.back();
          history.pop_back();
        }
        forced = true;
        continue;
      }
      if (k == Answer::kLater) {
        later.push_back(i);
      } else {
        history.push_back(i);
      }
      if (k == Answer::kValue && f.name == cs.natural_key() &&
          !continue_after_duplicate(ctx, lap, record)) {
        return FormEnd::kDeclined;
      }
      ++i;
    }
    // Once more, the fields left for later (required ones first in the officer's mind).
    if (!later.empty()) *ctx.out << tr("form.back_to_later") << "\n";
    for (size_t i : later) {
      const Answer::Kind k = ask(i);
      if (k == Answer::kValue && fields[i]->name == cs.natural_key() &&
          !continue_after_duplicate(ctx, lap, record)) {
        return FormEnd::kDeclined;
      }
    }
  } catch (const FormStop& stop) {
    return stop.end;
  }
  return FormEnd::kComplete;
}

}  // namespace lumbung::cli

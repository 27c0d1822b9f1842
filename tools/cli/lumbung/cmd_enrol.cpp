// enrol: a new participant, from flags (for scripts) or by guided prompts, one field at a
// time, checked as it goes so the officer fixes a mistake while the person is still there
// (enrol_form.cpp); a form that cannot be saved as a record yet is kept as a draft
// (drafts.h).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "common/exit_codes.h"
#include "common/fields.h"
#include "common/i18n.h"
#include "common/output.h"
#include "drafts.h"
#include "enrol_form.h"
#include "laptop.h"
#include "lumbung/error.h"
#include "record_view.h"
#include "regions.h"

namespace lumbung::cli {

bool read_answer(Context& ctx, std::string& line) {
  if (form_interrupted() || !std::getline(*ctx.in, line)) return false;
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

namespace {

// Creates the record (with `id` when given, else a new one) and says so; a village outside
// the laptop's regions is refused in words (exit 3). A record `id` that exists already was
// written by an earlier run of the same draft: nothing is written again (exit 0).
int save_record(Context& ctx, Laptop& lap, const Json& checked, std::string id = {}) {
  const CollectionSchema& cs = lap.collection();
  try {
    id = lap.store().create(cs.name(), checked, id);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kAlreadyExists && !id.empty()) {
      *ctx.out << tr("form.already_saved", {{"id", short_id(id)}, {"full_id", id}}) << "\n";
      return kExitOk;
    }
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

}  // namespace

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
    *ctx.out << tr("enrol.intro") << "\n" << tr("form.keys") << "\n";
    CtrlCGuard guard;  // until the record or the draft is kept
    FormState state;
    state.record = record;
    const FormEnd end = run_form(ctx, lap, state);
    return finish_form(ctx, lap, state, end, nullptr, yes);
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
  warn_duplicates(ctx, lap, checked);
  return save_record(ctx, lap, checked);
}

int finish_form(Context& ctx, Laptop& lap, FormState& state, FormEnd end, Draft* draft, bool yes) {
  const CollectionSchema& cs = lap.collection();
  // Keeps the form as a draft (the one resumed, or a new one); returns its id.
  auto keep = [&]() {
    Draft d = draft ? *draft : Draft{};
    d.fields = state.record;
    d.note = state.note;
    d.review = state.review;
    Drafts(lap.store(), lap.home()).save(d);
    if (draft) *draft = d;
    return d.id;
  };
  auto params = [&](const std::string& id) {
    const std::string title = record_title(cs, state.record);
    return std::vector<std::pair<std::string, std::string>>{
        {"id", id}, {"name", printable(title.empty() ? std::string("-") : title)}};
  };
  auto say = [&](std::ostream& out, const std::string& key, const std::string& id) {
    const auto p = params(id);
    out << tr(key, {p[0], p[1]}) << "\n";
  };
  switch (end) {
    case FormEnd::kDeclined:
      *ctx.err << tr("enrol.cancelled") << "\n";
      if (draft) say(*ctx.err, "form.draft_unchanged", draft->id);
      return kExitCancelled;
    case FormEnd::kInterrupted:
    case FormEnd::kEof:
    case FormEnd::kDraft: {
      bool any = false;
      for (const auto& [k, v] : state.record.items()) any = any || !v.is_null();
      if (!any && !draft) {
        const char* key = end == FormEnd::kInterrupted ? "form.stopped_empty"
                          : end == FormEnd::kEof       ? "enrol.eof"
                                                       : "enrol.cancelled";
        *ctx.err << tr(key) << "\n";
        return kExitCancelled;
      }
      const std::string id = keep();
      if (end == FormEnd::kDraft) {
        say(*ctx.out, "form.draft_kept", id);
        return kExitOk;
      }
      say(*ctx.err, end == FormEnd::kInterrupted ? "form.interrupted_draft" : "form.eof_draft", id);
      return kExitCancelled;
    }
    case FormEnd::kComplete:
      break;
  }
  Json checked = without_nulls(state.record);
  fill_auto_fields(cs, checked, lap.officer());
  const std::vector<ValidationIssue> issues = cs.normalize_and_validate(checked, false);
  const auto outside = issues.empty() ? region_refusal(lap.store(), cs, checked) : std::nullopt;
  if (!issues.empty() || outside || state.review) {
    const std::string id = keep();
    say(*ctx.out, state.review ? "form.kept_for_review" : "form.kept_incomplete", id);
    print_issues(*ctx.out, cs, issues, &checked);
    if (outside) *ctx.out << "  ✗ " << *outside << "\n";
    if (!state.note.empty()) *ctx.out << "  " << tr("form.note_is", {{"note", state.note}}) << "\n";
    say(*ctx.out, "form.resume_hint", id);
    return kExitRefused;
  }
  if (!yes) {
    Record preview;
    preview.fields = checked;
    *ctx.out << "\n";
    print_record(*ctx.out, cs, preview);
    *ctx.out << tr("enrol.save_question") << " [Y/n] " << std::flush;
    std::string line;
    if (!read_answer(ctx, line)) {
      *ctx.out << "\n";
      say(*ctx.err, form_interrupted() ? "form.interrupted_draft" : "form.eof_draft", keep());
      return kExitCancelled;
    }
    line = trim(line);
    const char c = line.empty() ? 'y' : static_cast<char>(std::tolower(line[0]));
    if (c != 'y' && c != 'j') {
      if (!confirm(ctx, tr("form.keep_question"), true)) {
        *ctx.err << tr("enrol.cancelled") << "\n";
        if (draft) say(*ctx.err, "form.draft_unchanged", draft->id);
        return kExitCancelled;
      }
      say(*ctx.out, "form.draft_kept", keep());
      return kExitOk;
    }
  }
  // A resumed draft's record id is fixed and kept with the draft before the write.
  std::string id;
  if (draft) {
    if (draft->record_id.empty()) {
      draft->record_id = new_record_id();
      keep();
    }
    id = draft->record_id;
  }
  const int code = save_record(ctx, lap, checked, id);
  if (code == kExitOk && draft) {
    Drafts(lap.store(), lap.home()).remove(draft->id);
    say(*ctx.out, "form.draft_done", draft->id);
  }
  return code;
}

}  // namespace lumbung::cli

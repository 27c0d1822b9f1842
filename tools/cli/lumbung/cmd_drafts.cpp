// drafts: the guided forms kept before they are records (drafts.h). `lumbung drafts` lists
// them; `drafts show ID`, `drafts resume ID` (the form again, asking only what is missing
// or wrong, then saved as a record) and `drafts delete ID` work on one.
#include <algorithm>
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

namespace lumbung::cli {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// Where a draft for review stands with the central office ("" for other drafts).
std::string office_state(const Draft& d) {
  if (!d.review) return "";
  if (d.office_status == "open") return tr("drafts.state_at_office");
  if (d.office_status == "dismissed") {
    return tr("drafts.state_dismissed", {{"note", printable(d.office_note)}});
  }
  if (d.office_status == "refused") {
    return tr("drafts.state_not_taken", {{"note", printable(d.office_note)}});
  }
  return tr("drafts.state_to_send");
}

Json draft_json(const CollectionSchema& cs, const Draft& d) {
  Json office = Json();
  if (d.review || !d.office_status.empty()) {
    office = Json{{"status", d.office_status.empty() ? "to_send" : d.office_status},
                  {"id", d.office_id},
                  {"note", d.office_note}};
  }
  return Json{{"id", d.id},
              {"fields", d.fields},
              {"note", d.note},
              {"review", d.review},
              {"record_id", d.record_id},
              {"office", office},
              {"missing", missing_labels(cs, d.fields)},
              {"created", local_time(d.created_ms)},
              {"updated", local_time(d.updated_ms)}};
}

Draft find_or_throw(Laptop& lap, const std::string& ref) {
  if (ref.empty()) throw Error(ErrorCode::kInvalidArgument, tr("drafts.need_id"));
  auto d = Drafts(lap.store(), lap.home()).find(ref);
  if (!d) throw Error(ErrorCode::kNotFound, tr("drafts.not_found", {{"ref", printable(ref)}}));
  return *d;
}

void print_draft(Context& ctx, const CollectionSchema& cs, const Draft& d) {
  *ctx.out << tr("drafts.header", {{"id", d.id}, {"when", local_time(d.updated_ms)}}) << "\n";
  Record r;
  r.fields = d.fields;
  print_record(*ctx.out, cs, r);
  const auto missing = missing_labels(cs, d.fields);
  if (!missing.empty()) *ctx.out << tr("drafts.missing", {{"fields", join(missing)}}) << "\n";
  if (d.review) *ctx.out << tr("drafts.for_review") << "\n  " << office_state(d) << "\n";
  if (!d.note.empty()) *ctx.out << tr("form.note_is", {{"note", printable(d.note)}}) << "\n";
}

int list(Context& ctx, Laptop& lap) {
  const CollectionSchema& cs = lap.collection();
  const std::vector<Draft> all = Drafts(lap.store(), lap.home()).all();
  if (ctx.json) {
    Json arr = Json::array();
    for (const Draft& d : all) arr.push_back(draft_json(cs, d));
    print_json(*ctx.out, Json{{"count", all.size()}, {"drafts", arr}});
    return kExitOk;
  }
  if (all.empty()) {
    *ctx.out << tr("drafts.none") << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Draft& d : all) {
    const auto missing = missing_labels(cs, d.fields);
    std::string state = office_state(d);
    if (!missing.empty()) {
      state +=
          (state.empty() ? "" : "; ") + tr("drafts.state_missing", {{"fields", join(missing)}});
    }
    if (state.empty()) state = tr("drafts.state_ready");
    const std::string title = record_title(cs, d.fields);
    rows.push_back({d.id, printable(title.empty() ? "-" : title), state,
                    printable(d.note.empty() ? "-" : d.note), local_time(d.updated_ms)});
  }
  print_table(*ctx.out,
              {tr("drafts.col_id"), tr("drafts.col_person"), tr("drafts.col_state"),
               tr("drafts.col_note"), tr("drafts.col_updated")},
              rows);
  *ctx.out << tr("drafts.count", {{"n", std::to_string(all.size())}}) << "\n";
  return kExitOk;
}

int resume(Context& ctx, Laptop& lap, Draft d, bool yes) {
  const CollectionSchema& cs = lap.collection();
  // Its record written, the draft left behind (a crash in between): the draft only goes.
  if (!d.record_id.empty() && lap.store().get(cs.name(), d.record_id, true)) {
    Drafts(lap.store(), lap.home()).remove(d.id);
    *ctx.out << tr("form.already_saved", {{"id", short_id(d.record_id)}, {"full_id", d.record_id}})
             << "\n"
             << tr("form.draft_done", {{"id", d.id}}) << "\n";
    return kExitOk;
  }
  print_draft(ctx, cs, d);
  FormState state;
  state.record = d.fields;
  state.note = d.note;
  // Every value the checks refuse now is asked again, its old value shown (Enter keeps it:
  // a KTP still disagreeing with itself can be kept for review once more).
  Json trial = without_nulls(d.fields);
  for (const auto& i : cs.normalize_and_validate(trial, false)) {
    const std::string top = i.field.substr(0, i.field.find_first_of(".["));
    const bool held = d.fields.contains(top) && !d.fields[top].is_null();
    const bool listed =
        std::find(state.recheck.begin(), state.recheck.end(), top) != state.recheck.end();
    if (i.reason != "required" && held && !listed) state.recheck.push_back(top);
  }
  *ctx.out << "\n" << tr("form.keys") << "\n";
  CtrlCGuard guard;  // until the record or the draft is kept
  const FormEnd end = run_form(ctx, lap, state);
  return finish_form(ctx, lap, state, end, &d, yes);
}

}  // namespace

int cmd_drafts(Context& ctx, Args& args) {
  const bool yes = args.flag("yes");
  std::string sub = args.next();
  const std::string ref = args.next();
  args.finish();
  if (sub.empty()) sub = "list";
  Laptop lap(ctx.home);
  if (sub == "list") return list(ctx, lap);
  if (sub == "show") {
    const Draft d = find_or_throw(lap, ref);
    if (ctx.json) {
      print_json(*ctx.out, draft_json(lap.collection(), d));
    } else {
      print_draft(ctx, lap.collection(), d);
    }
    return kExitOk;
  }
  if (sub == "resume" || sub == "lanjut") return resume(ctx, lap, find_or_throw(lap, ref), yes);
  if (sub == "delete" || sub == "hapus") {
    const Draft d = find_or_throw(lap, ref);
    const std::string title = record_title(lap.collection(), d.fields);
    if (!yes &&
        !confirm(ctx, tr("drafts.delete_question", {{"id", d.id}, {"name", printable(title)}}),
                 false)) {
      *ctx.out << tr("drafts.kept", {{"id", d.id}}) << "\n";
      return kExitCancelled;
    }
    Drafts(lap.store(), lap.home()).remove(d.id);
    *ctx.out << tr("drafts.deleted", {{"id", d.id}, {"name", printable(title)}}) << "\n";
    return kExitOk;
  }
  throw Error(ErrorCode::kInvalidArgument, tr("drafts.unknown_sub", {{"sub", printable(sub)}}));
}

}  // namespace lumbung::cli

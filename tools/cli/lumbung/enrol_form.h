// The guided enrolment form (issue 15 item 2): one field at a time, each answer checked at
// once, and the form kept whatever happens. Besides a value, an answer may be
//   -       leave this field for now (asked again at the end)
//   <       go back to the previous field
//   draf    stop here and keep the form as a draft (also: draft)
//   tinjau  after a NIK that disagrees with the birth date or gender: keep the value as the
//           KTP has it and keep the form for review with a note (also: review)
// A field answered wrongly three times is left for later, not the end of the form. Ctrl-C
// or the end of input ends the form; the caller keeps what was typed as a draft.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "commands.h"
#include "lumbung/store.h"

namespace lumbung::cli {

class Laptop;

struct FormState {
  // The answers so far (normalised); filled by the caller too. A field asked and left empty
  // holds null (not asked again when a draft is resumed; see without_nulls).
  Json record = Json::object();
  bool review = false;               // kept for review (see above)
  std::string note;                  // the officer's note for the reviewer
  std::vector<std::string> recheck;  // fields to ask again even though they hold a value
};

enum class FormEnd {
  kComplete,     // every field was asked (required ones may still be empty: see FormState)
  kDraft,        // the officer typed "draf"
  kInterrupted,  // Ctrl-C
  kEof,          // the input ended
  kDeclined,     // a NIK already on the laptop, and the officer chose not to go on
};

// Catches Ctrl-C while it lives: a blocked read returns, read_answer() then reports the
// input ended and form_interrupted() is true, so the form is kept instead of lost. The
// handler the process had comes back afterwards. Held around run_form and finish_form
// (the "save?" question is asked by finish_form).
class CtrlCGuard {
 public:
  CtrlCGuard();
  ~CtrlCGuard();
  CtrlCGuard(const CtrlCGuard&) = delete;
  CtrlCGuard& operator=(const CtrlCGuard&) = delete;

 private:
  struct sigaction old_ {};
  bool installed_ = false;
};

// Asks every field of the laptop's collection that `state.record` does not hold yet (and
// those in state.recheck, showing their value: Enter keeps it), then once more the ones
// left for later. Catches Ctrl-C itself too (a CtrlCGuard of its own).
FormEnd run_form(Context& ctx, Laptop& lap, FormState& state);

// True once Ctrl-C was pressed during a form (read_answer then returns false).
bool form_interrupted();

// `record` without its null members: the fields a record or a check gets from a form.
Json without_nulls(const Json& record);

// Warns on ctx.err when the record's NIK is already on the laptop (naming the record).
void warn_duplicates(Context& ctx, Laptop& lap, const Json& record);

struct Draft;
// Ends a form: saves the record (after showing it and asking, unless `yes`), or keeps the
// form as a draft when it stopped, lacks a required field, fails a check, or is kept for
// review; `draft` is the draft being resumed (updated, or removed once the record is
// saved), null for a new form. A resumed draft's record is written with the id the draft
// keeps (fixed and kept before the write), so it is written once even if a crash comes
// between the write and the draft's removal. Returns the exit code: 0 saved (or kept as a
// draft on request), 3 kept as a draft because incomplete or for review, 130 stopped
// (Ctrl-C, end of input, a duplicate declined).
int finish_form(Context& ctx, Laptop& lap, FormState& state, FormEnd end, Draft* draft, bool yes);

}  // namespace lumbung::cli

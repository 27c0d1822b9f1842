// Drafts: guided enrolment forms kept before they are records (issue 15 item 2). A form the
// officer stops (Ctrl-C, end of input, "draf"), one with required fields still empty, and
// one kept for review (a KTP whose NIK and birth date disagree, with the officer's note)
// is kept here until `lumbung drafts resume` completes it or `drafts delete` drops it.
//
// A draft is not an op: nothing of it is in the change log, nothing is sent. It is kept as
// one Store secret ("enrol_drafts", JSON), so it is encrypted with the laptop's passphrase
// like every other piece of personal data, and written in one SQLite transaction (a crash
// leaves the old list or the new one, never half).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lumbung/store.h"

namespace lumbung::cli {

struct Draft {
  std::string id;                // "D1", "D2", ... never reused on this laptop
  Json fields = Json::object();  // what was typed so far, normalised
  std::string note;              // the officer's note for the reviewer ("" if none)
  // The id its record gets, fixed (and kept here) before the record is written: a draft
  // whose record was written but which a crash left behind is seen as done, never written
  // twice. "" until the first attempt to save it.
  std::string record_id;
  bool review = false;  // kept for review (a cross-field check the KTP itself fails)
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // A draft for review goes to the central office at each sync (draft_review.h) until the
  // office decides. What the office holds of it:
  std::string office_id;      // its entry, "<device>:D<n>.<rev>"; "" = never sent
  std::string office_status;  // "" (not sent), open, dismissed, refused (not taken)
  std::string office_note;    // the reviewer's note on a dismissal, or why it was not taken
  std::string sent_hash;      // of the fields and note as sent: changed = send again
  int sends = 0;              // revisions sent (the entry id's <rev>)
};

// An office entry to take back at the next sync: its draft was completed or deleted while
// the office still held it open.
struct Withdrawal {
  std::string draft;
  int rev = 0;
};

class Drafts {
 public:
  // Most drafts a laptop keeps: a week of interrupted forms many times over, and a bound on
  // the secret's size (each draft is at most a form's worth of fields).
  static constexpr size_t kMaxDrafts = 500;

  // `lock_dir`: the laptop's directory. save() and remove() read, change and write the list
  // under an exclusive lock of lock_dir/drafts.lock, so a second lumbung on the laptop (another
  // terminal) keeping a draft at the same moment loses nothing. Empty: no lock (reading only).
  explicit Drafts(Store& store, std::string lock_dir = {})
      : store_(store), lock_dir_(std::move(lock_dir)) {}

  // Every draft, oldest first.
  std::vector<Draft> all() const;
  // The draft `ref` names: its id ("D3" or "3", any case). nullopt if none.
  std::optional<Draft> find(const std::string& ref) const;
  // Stores `d` (a new id when d.id is empty; updated_ms set now). Returns the id. Throws
  // Error(kInvalidArgument) when kMaxDrafts are already kept (nothing changed).
  std::string save(Draft& d);
  // Removes draft `id`; false if there was none. A draft the office holds open is noted
  // for withdrawal (withdrawals()) unless `decided` (the office applied it).
  bool remove(const std::string& id, bool decided = false);
  // Changes draft `id` in place under the lock (a form saving it at the same moment loses
  // nothing); false if there is no such draft.
  bool update(const std::string& id, const std::function<void(Draft&)>& change);
  // Entries to take back at the next sync, and forgetting one once the office answered.
  std::vector<Withdrawal> withdrawals() const;
  void withdrawn(const Withdrawal& w);

  // Notes the schema version the drafts are typed under (the list's "sv"; a list without
  // one is in the store's version). `lumbung sync` calls it before the laptop moves to a
  // newer version; from then on every read gives the drafts in the store's version's names,
  // upgraded through the changelog's steps (a retired field's value kept in the draft's
  // "retired"), and the next write keeps them so.
  void note_version();

 private:
  Json load() const;
  void store(const Json& doc);
  Store& store_;
  std::string lock_dir_;
};

// The required fields `fields` still lacks, by label, in schema order.
std::vector<std::string> missing_labels(const CollectionSchema& cs, const Json& fields);

}  // namespace lumbung::cli

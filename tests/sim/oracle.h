// The simulation's oracle: its own record of every write and of what each writer had seen,
// kept apart from the system under test, and the "nothing lost" check made from it.
//
// What it records (never reading a `base`, a conflict decision or a merge result):
// - every write the harness asked a device for: (device, seq), record, the fields and values
//   set or the delete; and every write the server made for the central office (conflict
//   resolutions, duplicate merges), from the review answer's ops;
// - each write's version: the hlc of the op in the push request the link carried, replaced
//   by the push answer's `restamped` entry when one arrives (the server's version is final);
//   and its values as the server stored them when a push answer says (`stored`: normalised);
// - each device's causal past: the writes it made, and the ops of every pull page it
//   *applied* (for a whole record moved into its regions: every version in it). A page
//   counts as applied when the device's stored pull cursor moved past it: the store commits
//   a page and its cursor in one transaction (Store::apply_remote), so a page the client
//   received and could not use (a body cut short, a crash after the answer arrived, a sync
//   that gave up with a page fetched ahead) leaves the cursor behind it. The cursor is read
//   from the store before and after every sync attempt (after the reopen, if it crashed),
//   and the delivered pages are chained from one to the other;
// - for a server write, what the reviewer was shown: the versions in the conflict entry
//   (or both records of a duplicate entry), not everything the server held;
// - acknowledgement: a device write is acknowledged once a push answer delivered to its
//   device carries an `acked_seq` at or above its seq; a server write when it is answered.
// Causal pasts are closed transitively (a writer that saw w2 saw what w2's writer had seen).
//
// What it checks at the end (check()), on the server and on every replica, for every
// acknowledged write w ("w is accounted for"):
// - w of field f: f's value is w's value at w's version or a newer one (two officers who
//   typed the same value are one write), and the record is live or its tombstone came from
//   a writer that had w in its causal past; or f's current version came from a write whose
//   writer had w (or the same value at a newer version) in its causal past; or a conflict
//   entry (GET /v1/conflicts?status=all, any status) keeps w's value at w's version or a
//   newer one; or a later write of f (or delete of the record) whose writer had seen w is
//   itself accounted for (w -> x was an ordinary overwrite; whether x survived is x's
//   question). forward_only fields get no exemption: a concurrent lower rank must be kept
//   in an entry too. A last-writer-wins field never goes back to an older version.
// - a delete w: the record is deleted with a tombstone at w's version or newer; or it is
//   live again through a write whose writer had seen w (or a newer delete of it); or an
//   update_delete entry keeps a delete of the record at w's version or newer; or a later
//   delete whose writer had seen w is accounted for.
// - a refused write (the push answer's `refused`): it is in GET /v1/refused?status=all.
// - after a restore from a backup: the server's own writes made after the backup are gone
//   (the operator chose that history); every device write is checked as above, so whatever
//   a device had been told was acknowledged must be back on the server and every replica.
// - a replica is not checked on records outside its regions at the end (region moves).
// Every version found on a replica must be one the oracle recorded, on that record; no two
// writes may share a version; every write must be acknowledged by the end. "Had seen" is
// always the oracle's causal past, never an op's `base`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lumbung/clock.h"
#include "lumbung/schema.h"

namespace lumbung::sim {

// A record as a replica or the server holds it at the end.
struct RecordView {
  Json fields = Json::object();  // live values (null-valued fields omitted)
  std::map<std::string, Version> versions;
  bool deleted = false;
  Version tombstone;
};
using StateView = std::map<std::string, RecordView>;  // record id -> record

// A growable bit set over write indices (a causal past).
class WriteSet {
 public:
  void insert(size_t i);
  bool contains(size_t i) const;
  void add_all(const WriteSet& other);
  template <typename F>
  void for_each(F f) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits; bits &= bits - 1)
        f(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
    }
  }

 private:
  std::vector<uint64_t> words_;
};

class Oracle {
 public:
  // `schema` must outlive the oracle.
  explicit Oracle(const CollectionSchema& schema);

  // --- schema versions (issue 18, lumbung-sim --publications): the changelog of the newest
  // version the run will publish, read by the oracle itself (never asking the system under
  // test). Every field name a write carries, whatever version it was written under, is
  // kept under its name in that version; a retired field's value is kept apart (a record's
  // history, never checked as live: invariant 2 finds it in the oplog). Names are never
  // reused across versions (check_successor refuses it), so a name alone tells its field.
  void set_changelog(const Json& changelog);
  // `field` as the newest version names it, or the name it was retired under.
  std::string canonical(const std::string& field) const;
  bool retired(const std::string& field) const;

  // --- what the harness asked for: a device wrote (its change-log seq `seq`) to `record`.
  // `set` is what the harness asked to write (the whole record for a create).
  void local_write(const std::string& device, uint64_t seq, const std::string& record,
                   bool is_delete, const Json& set);

  // --- what the link carried. Each is called with the decoded body; bodies that do not
  // decode (cut short) are not reported.
  void push_sent(const std::string& device, const Json& change_set);  // request, as sent
  void push_answered(const std::string& device, const Json& answer);  // 2xx, delivered
  void pull_answered(const std::string& device, const std::string& cursor,
                     const Json& page);  // 2xx, delivered to the client
  // A sync attempt begins / ended (`completed` or not, after any crash and reopen), with
  // the device's stored pull cursor at that moment.
  void sync_began(const std::string& device, const std::string& stored_cursor);
  void sync_ended(const std::string& device, const std::string& stored_cursor, bool completed);

  // --- the central office: the server wrote `ops` (encoded ops with dev "server" and seq)
  // answering a reviewer who had been shown `shown` (versions of the entry).
  void server_wrote(const Json& ops, const std::vector<Version>& shown, const std::string& why);

  // --- the operator: a backup of the server's database was taken / the server was restored
  // from it. The server's own writes (review decisions) made in between are gone with the
  // history they were in; what devices wrote is theirs to send again, and is checked as ever.
  void server_backed_up();
  void server_restored();

  // --- the end. `conflicts` is GET /v1/conflicts?status=all's array; `refused` the array of
  // GET /v1/refused?status=all, or null when the server has no refused queue. `outside[d]`
  // names the records replica d must not hold (outside its regions at the end): its writes
  // to them are checked on the server and on the replicas that hold them.
  std::vector<std::string> check(const StateView& server, const std::vector<std::string>& names,
                                 const std::vector<StateView>& replicas, const Json& conflicts,
                                 const Json& refused,
                                 const std::vector<std::set<std::string>>& outside = {});

  size_t writes() const { return writes_.size(); }
  // The version of write (device, seq) as the link last carried it, if the oracle has it.
  std::optional<Version> version_of(const std::string& device, uint64_t seq) const;

 private:
  using Key = std::pair<std::string, uint64_t>;  // (device, seq); device "server" for its ops
  struct Write {
    Key key;
    std::string record;
    bool is_delete = false;
    std::string why;  // server writes: "resolution", "merge"
    Json set = Json::object();
    Json retired = Json::object();  // values of fields retired since (set_changelog)
    uint64_t hlc = 0;               // 0 until the link carried it
    // Versions it carried before a re-stamp moved it: what a device was shown at the time
    // may name one (a create re-stamped once, then again by a server restored from a backup
    // that a stale copy of the first push reached; tests/sim --restores seed 3315).
    std::vector<uint64_t> former_hlcs;
    // Moves the write to `h`, keeping the version it leaves.
    void restamp(uint64_t h) {
      if (hlc != 0 && hlc != h) former_hlcs.push_back(hlc);
      hlc = h;
    }
    WriteSet direct;             // the writer's causal past when it wrote (device writes)
    std::vector<Version> shown;  // versions seen without their ops: what a reviewer was
                                 // shown, or whole records a device pulled ("rec" notices)
    bool acked = false;
    bool lost_in_restore = false;  // a server write the restore took back (see server_restored)
    std::optional<Json> refused;   // the push answer's refused entry
    // The refusal a restore took back (server_restored): the op goes again into the new
    // history, where a stale copy nobody hears the answer to may be refused once more.
    std::optional<Json> refused_before_restore;
    // A lost server write gave up its key, not its version.
    Version version() const { return Version{hlc, lost_in_restore ? "server" : key.first}; }
  };
  struct Page {
    std::string next;
    std::vector<Key> ops;
    std::vector<Version> versions;  // seen by version only (whole-record notices)
  };
  struct Device {
    WriteSet past;
    std::vector<Version> seen;  // versions seen in whole-record notices (resolved at the end)
    uint64_t acked = 0;
    std::string cursor_at_start;
    std::map<std::string, Page> pages;  // this attempt's delivered pages, by request cursor
  };

  void note(const std::string& what) { notes_.push_back(what); }
  std::optional<size_t> find(const Key& k) const;
  std::string describe(size_t i) const;

  // The check, once the versions are final.
  struct Context;
  bool informed(const Context& cx, std::optional<size_t> writer, size_t w,
                const std::string& field) const;
  bool informed_of_delete(const Context& cx, std::optional<size_t> writer, size_t w) const;
  bool entry_keeps(const Context& cx, size_t w, const std::string& field) const;
  bool entry_keeps_delete(const Context& cx, size_t w) const;
  bool refused_kept(size_t w, const Json& refused) const;
  bool read_back(const Context& cx, size_t w, const std::string& field, const Json& now) const;
  bool field_accounted(const Context& cx, size_t w, const std::string& field, const RecordView& r,
                       std::set<size_t>& visiting) const;
  bool delete_accounted(const Context& cx, size_t w, const RecordView& r,
                        std::set<size_t>& visiting) const;
  void check_state(const Context& cx, const std::string& where, const StateView& state,
                   const std::set<std::string>& outside, std::vector<std::string>& out) const;
  void check_field(const Context& cx, size_t w, const std::string& field, const RecordView& r,
                   const std::string& where, std::vector<std::string>& out) const;
  void check_delete(const Context& cx, size_t w, const RecordView& r, const std::string& where,
                    std::vector<std::string>& out) const;

  // Splits `set` into its live fields (newest names) and its retired ones.
  void canonical_set(const Json& set, Json& live, Json& retired_out) const;

  const CollectionSchema& schema_;
  std::map<std::string, std::string> renames_;  // from -> to, over every version
  std::set<std::string> retired_;               // names fields were retired under
  std::vector<Write> writes_;
  std::map<Key, size_t> index_;
  std::map<std::string, Device> devices_;
  std::vector<std::string> notes_;            // inconsistencies seen while recording
  std::vector<size_t> refused_since_backup_;  // writes refused since the last backup
  size_t backup_mark_ = 0;                    // writes_.size() when the backup was taken
  int restores_ = 0;
};

}  // namespace lumbung::sim

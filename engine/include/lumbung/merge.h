// The one merge function, used bit-for-bit by devices and the server.
//
// State of a record: for every field a (value, version) register, plus a tombstone
// version. Merging an op into a state is, per field, "keep the winner" under the field's
// MergePolicy, and for the tombstone "keep the higher version". Both are joins of a total
// order, so applying any set of ops in any order, any number of times, gives the same
// state (commutative, associative, idempotent); tests/engine/merge_test.cpp checks this
// on random inputs.
//
// Deletes: a delete writes the tombstone. A record is live while some field version is
// newer than its tombstone, so an edit made after (or concurrently with, and winning
// against) a delete revives the record with all its values; values are never erased by a
// delete, so nothing is lost.
//
// Conflicts: applying an op also reports the conflicts it reveals, in a closed set
// (ConflictKind). Detection compares the op's `base` with the current version and assumes
// causal delivery (each device's ops in seq order, pulls in server log order), which push
// and pull guarantee. The *state* never depends on detection.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"

namespace lumbung {

struct FieldValue {
  Json value;
  Version version;
};

struct RecordState {
  std::map<std::string, FieldValue> fields;  // includes cleared fields (value null)
  Version tombstone;                         // empty if never deleted

  // Newest version of any field (empty if none).
  Version newest_field_version() const;
  // Newest of field versions and tombstone: what a writer "has seen" of the record.
  Version newest_version() const;
  bool live() const { return newest_field_version() > tombstone; }
  // Live field values as a JSON object (null-valued fields omitted).
  Json values() const;
};

enum class ConflictKind {
  // Two devices wrote different values to one field without seeing each other's write.
  // The policy picked a winner (on every replica the same); the loser is kept here.
  // Resolution: a reviewer keeps one value or types a new one; that is a new write.
  kConcurrentUpdate,
  // A field was edited concurrently with a delete of its record. The record stays live if
  // the edit is newer than the delete. Resolution: delete again or keep.
  kUpdateDelete,
  // A field whose policy is kNeedsReview was changed from one value to another.
  // Resolution: confirm the new value, or restore the old one.
  kNeedsReview,
  // Two live records carry the same natural key (the same NIK enrolled twice).
  // Resolution: merge the two records into one (server review API).
  kDuplicateKey,
};

const char* conflict_kind_name(ConflictKind k) noexcept;

// The device id of ops the server writes on people's behalf (reviewers' resolutions and
// merges, re-applied refusals, region-move notices). Several people write as this one
// device, so - unlike any other device - its own earlier writes are NOT assumed seen by
// its later ones: only the op's base says what its writer had seen.
inline constexpr const char* kServerDeviceId = "server";

// Which rule of the conflict table found an entry (conflict_rules() lists them all, with
// when each applies and how it is resolved).
enum class ConflictRule {
  kUnseenOverwrite,       // update over an unseen value (lww, needs_review)
  kUnseenRank,            // update over an unseen value of a forward_only field
  kReviewedChange,        // informed change of a needs_review field
  kDeleteOverUnseenEdit,  // delete of a record with a field the deleter had not seen
  kEditOfUnseenDelete,    // edit of a record deleted by a delete the editor had not seen
  kDuplicateNaturalKey,   // two live records with one natural key (found by the server)
};

struct ConflictRuleRow {
  ConflictRule rule;
  ConflictKind kind;       // what the entry is called on the wire and in review
  const char* op;          // the op kind the rule fires on
  const char* when;        // the condition, in words
  const char* resolution;  // what the merge keeps, and where the other side goes
};

// Every conflict rule, as one table: the whole of conflict detection at a glance.
const std::array<ConflictRuleRow, 6>& conflict_rules();

// True if `op`'s writer had not seen `current`: its base for `field` is older (for the
// tombstone, field "*": only an explicit base "*" counts) and `current` is not the writer's
// own earlier write (kServerDeviceId excepted).
bool unseen_by(const Op& op, const std::string& field, const Version& current);

// The version of `field` that `op`'s writer had seen: base[field], or for a version-1
// delete its single "*" version; empty if it had seen none.
Version seen_version(const Op& op, const std::string& field);

// One side of a conflict: a value, the version it was written at.
struct ConflictSide {
  Json value;
  Version version;
  // kUpdateDelete only: this side is the delete (value null). An edit that cleared the field
  // is null too, so the value cannot tell the sides apart; entries stored before this mark
  // existed carry it on neither side.
  bool is_delete = false;
};

struct Conflict {
  std::string id;  // deterministic: the same conflict found on two replicas has one id
  ConflictKind kind = ConflictKind::kConcurrentUpdate;
  std::string collection;
  std::string record_id;
  ConflictRule rule = ConflictRule::kUnseenOverwrite;  // not stored: known where found
  std::string field;                                   // the field at stake; "" for kDuplicateKey
  ConflictSide winner;                                 // the value the merge kept
  ConflictSide loser;                                  // the value kept only here
  std::string other_record;                            // kDuplicateKey: the other record's id
};

struct ApplyResult {
  bool changed = false;  // the state changed (false for a duplicate apply)
  std::vector<std::string> changed_fields;
  std::vector<Conflict> conflicts;
};

// Applies `op` to `state` under `schema` (which must be the op's collection). Fields the
// schema does not know are kept as last-writer-wins registers so that a newer schema's
// data survives an older replica. Never throws for a well-formed op.
ApplyResult apply_op(const CollectionSchema& schema, RecordState& state, const Op& op);

// True if `a` beats `b` for `field` (policy, then version).
bool field_wins(const FieldDef* field, const FieldValue& a, const FieldValue& b);

// The authority's clamp against far-future clocks: if `v` is more than kMaxClockSkewMs
// ahead of `authority_now_ms`, returns `fresh` (a new value of the authority's clock);
// otherwise v.hlc. See clock.h.
uint64_t restamp_if_future(uint64_t hlc, int64_t authority_now_ms, uint64_t fresh);

// Deterministic conflict id: hex digest of kind, collection, record, field and both
// versions (ordered), so replicas agree on it.
std::string conflict_id(ConflictKind kind, const std::string& collection,
                        const std::string& record_id, const std::string& field, const Version& a,
                        const Version& b);

}  // namespace lumbung

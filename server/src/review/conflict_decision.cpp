#include "review/conflict_decision.h"

#include <algorithm>

#include "api/problem.h"
#include "lumbung/error.h"

namespace lumbung::server {
namespace {

// The version of the entry's field the reviewer was shown, as a first resolution's base: the
// field's current version when the entry showed it; otherwise the entry's own value of the
// field (the edit side of an edit/delete entry, the newer side of the others). A write that
// reached the record after the entry was made then reads as unseen whatever its clock says:
// a laptop offline for weeks delivers an old version late, and taking "older than the
// entry" for "seen" let a delete resolution bury it with no entry (tests/sim --restores
// seed 3676).
Version shown_version(const Conflict& c, const Version& current) {
  if (current == c.winner.version || current == c.loser.version) return current;
  if (c.kind == ConflictKind::kUpdateDelete) {
    if (c.winner.is_delete || c.loser.is_delete) {
      return c.winner.is_delete ? c.loser.version : c.winner.version;
    }
    if (!c.winner.value.is_null() && c.loser.value.is_null()) return c.winner.version;
    if (!c.loser.value.is_null() && c.winner.value.is_null()) return c.loser.version;
    return std::min(c.winner.version, c.loser.version);
  }
  return std::max(c.winner.version, c.loser.version);
}

// Which side of an edit/delete entry is the delete: the entry marks it. An entry stored
// before the mark existed: a non-null side is the edit; of two nulls (an edit that cleared
// the field), a version above the record's newest delete cannot be a delete and one equal to
// it is that delete; below it nothing tells, and the newer null is taken for the delete (as
// before the mark).
bool is_delete_side(const ConflictSide& side, const ConflictSide& other, const RecordState& st) {
  if (side.is_delete || other.is_delete) return side.is_delete;
  if (!side.value.is_null()) return false;
  if (!other.value.is_null()) return true;
  if (side.version == st.tombstone || other.version > st.tombstone) return true;
  if (other.version == st.tombstone || side.version > st.tombstone) return false;
  return side.version >= other.version;
}

// One field: the chosen value, valid, and not moving a forward-only field back (the merge
// would keep the higher state and the reviewer's choice would silently not take).
Json decide_field(Op& op, const Conflict& c, const CollectionSchema& cs, const RecordState& st,
                  const ConflictChoice& choice, const Sight& sight) {
  Json chosen = choice.keep.empty() ? choice.value
                                    : (choice.keep == "winner" ? c.winner.value : c.loser.value);
  Json set{{c.field, chosen}};
  auto issues = cs.normalize_and_validate(set, /*partial=*/true);
  if (!issues.empty()) throw_issue(issues.front());
  chosen = set[c.field];
  const auto cur = st.fields.find(c.field);
  if (const FieldDef* def = cs.field(c.field); def && def->policy == MergePolicy::kForwardOnly) {
    if (cur != st.fields.end() && !cur->second.value.is_null() &&
        def->rank(chosen) < def->rank(cur->second.value)) {
      throw ProblemError(
          ErrorCode::kStatusRegression,
          c.field + " can only move forward: " + cur->second.value.dump() + " cannot become " +
              chosen.dump() +
              (sight.is_entry() ? "; keep the current state to close this entry" : ""),
          Json{{"field", c.field}}, c.field);
    }
  }
  op.set = std::move(set);
  // Written over what the reviewer saw of the field: a write since opens an entry
  // (merge.h, rule unseen_overwrite).
  if (!sight.is_entry()) {
    op.base[c.field] = sight.decision;
  } else if (cur != st.fields.end()) {
    op.base[c.field] = shown_version(c, cur->second.version);
  }
  return chosen;
}

}  // namespace

ConflictChoice read_choice(const Json& body, std::initializer_list<const char*> also_allowed) {
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "body must be an object");
  const auto keep_it = body.find("keep");
  const auto value_it = body.find("value");
  if ((keep_it == body.end()) == (value_it == body.end())) {
    throw Error(ErrorCode::kInvalidArgument, "give exactly one of \"keep\" or \"value\"");
  }
  for (const auto& [k, _] : body.items()) {
    if (k != "keep" && k != "value" &&
        std::none_of(also_allowed.begin(), also_allowed.end(),
                     [&key = k](const char* a) { return key == a; })) {
      throw Error(ErrorCode::kInvalidArgument, "unknown member \"" + k + "\"");
    }
  }
  ConflictChoice choice;
  if (keep_it != body.end()) {
    if (!keep_it->is_string() || (*keep_it != "winner" && *keep_it != "loser")) {
      throw Error(ErrorCode::kInvalidArgument, "\"keep\" must be \"winner\" or \"loser\"");
    }
    choice.keep = keep_it->get<std::string>();
  } else {
    choice.value = *value_it;
  }
  return choice;
}

Json build_decision(Op& op, const Conflict& c, const CollectionSchema& cs, const RecordState& st,
                    const ConflictChoice& choice, const Sight& sight) {
  if (c.kind != ConflictKind::kUpdateDelete) return decide_field(op, c, cs, st, choice, sight);
  // Edit against delete: keep the delete (delete again) or keep the record (rewrite its
  // live values so they are newer than the tombstone).
  if (choice.keep.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "an update/delete conflict takes \"keep\", not \"value\"");
  }
  const ConflictSide& side = choice.keep == "winner" ? c.winner : c.loser;
  const ConflictSide& other = choice.keep == "winner" ? c.loser : c.winner;
  // The entry's newer side: what a first resolution saw of the record as a whole.
  const Version entry_seen = std::max(c.winner.version, c.loser.version);
  const bool side_is_delete = is_delete_side(side, other, st);
  if (side_is_delete) {
    op.is_delete = true;
    op.set = Json::object();
    for (const auto& [name, fv] : st.fields) {
      if (!sight.is_entry()) {
        // A correction: every field as far as the earlier decision left it; a later edit
        // is unseen and opens an entry (delete_over_unseen_edit) instead of being buried.
        op.base[name] = sight.decision;
      } else if (name == c.field) {
        op.base[name] = shown_version(c, fv.version);
      } else if (fv.version <= side.version) {
        // Older than the delete the entry showed: that delete had buried it already, and
        // keeping the delete buries nothing new. Without this every such field opened an
        // entry of its own that nobody asked for (review_test "keeping the delete ...").
        op.base[name] = fv.version;
      }
      // Any other write (newer than that delete, not the entry's field) was not shown to the
      // reviewer: the delete buries it in an entry of its own (rule delete_over_unseen_edit;
      // found by the simulation's oracle, seeds 240, 280).
    }
    return "deleted";
  }
  op.set = st.values();
  if (op.set.empty()) throw Error(ErrorCode::kInvalidArgument, "the record has no values to keep");
  for (const auto& [name, _] : op.set.items()) {
    const Version& cur = st.fields.at(name).version;
    // A correction writes the same values again (nothing overwritten); a first resolution
    // saw no later than the entry.
    op.base[name] = sight.is_entry() ? std::min(cur, entry_seen) : cur;
  }
  // The delete the reviewer saw (in the entry, or the one the earlier decision wrote):
  // reviving over it is informed; a newer delete since would still open an entry.
  op.base["*"] = sight.is_entry() ? entry_seen : sight.decision;
  return "kept";
}

[[noreturn]] void throw_issue(const ValidationIssue& first, const std::string& prefix) {
  throw ProblemError(
      first.reason == "unknown_field" ? ErrorCode::kUnknownField : ErrorCode::kValidationFailed,
      prefix + issue_detail(first), Json{{"field", first.field}, {"reason", first.reason}},
      first.field);
}

}  // namespace lumbung::server

#include "lumbung/merge.h"

#include <openssl/evp.h>

#include <array>

#include "lumbung/tuning.h"

namespace lumbung {

const char* conflict_kind_name(ConflictKind k) noexcept {
  switch (k) {
    case ConflictKind::kConcurrentUpdate:
      return "concurrent_update";
    case ConflictKind::kUpdateDelete:
      return "update_delete";
    case ConflictKind::kNeedsReview:
      return "needs_review";
    case ConflictKind::kDuplicateKey:
      return "duplicate_key";
  }
  return "concurrent_update";
}

Version RecordState::newest_field_version() const {
  Version newest;
  for (const auto& [_, fv] : fields) {
    if (fv.version > newest) newest = fv.version;
  }
  return newest;
}

Version RecordState::newest_version() const {
  Version v = newest_field_version();
  return tombstone > v ? tombstone : v;
}

Json RecordState::values() const {
  Json out = Json::object();
  for (const auto& [name, fv] : fields) {
    if (!fv.value.is_null()) out[name] = fv.value;
  }
  return out;
}

bool field_wins(const FieldDef* field, const FieldValue& a, const FieldValue& b) {
  if (field && field->policy == MergePolicy::kForwardOnly) {
    const int ra = field->rank(a.value), rb = field->rank(b.value);
    if (ra != rb) return ra > rb;
  }
  return a.version > b.version;
}

uint64_t restamp_if_future(uint64_t hlc, int64_t authority_now_ms, uint64_t fresh) {
  return hlc::physical_ms(hlc) > authority_now_ms + kMaxClockSkewMs ? fresh : hlc;
}

std::string conflict_id(ConflictKind kind, const std::string& collection,
                        const std::string& record_id, const std::string& field, const Version& a,
                        const Version& b) {
  const Version& lo = a < b ? a : b;
  const Version& hi = a < b ? b : a;
  const std::string text = std::string(conflict_kind_name(kind)) + '\n' + collection + '\n' +
                           record_id + '\n' + field + '\n' + version_to_string(lo) + '\n' +
                           version_to_string(hi);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16; ++i) {  // 128 bits is plenty to name a conflict
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xF]);
  }
  return out;
}

const std::array<ConflictRuleRow, 6>& conflict_rules() {
  // The one table of conflict rules. apply_op below implements each row; every row has
  // its own test in tests/engine/conflict_rules_test.cpp. "Unseen" always means
  // (unseen_by): the op's base for that field (seen_version) is older than the field's
  // current version, and the current version is another device's (a device's own writes
  // reach every replica in its seq order, so it has always seen them) - except for the
  // server's device, which several reviewers write as.
  static const std::array<ConflictRuleRow, 6> rules{{
      {ConflictRule::kUnseenOverwrite, ConflictKind::kConcurrentUpdate, "update",
       "an lww or needs_review field is overwritten with a different value by a writer that "
       "had not seen its current value",
       "the higher version stands; the other value is kept in the entry"},
      {ConflictRule::kUnseenRank, ConflictKind::kConcurrentUpdate, "update",
       "a forward_only field gets a different value from a writer that had not seen its "
       "current value",
       "the higher rank stands (the version breaks ties); the losing state is kept in the "
       "entry"},
      {ConflictRule::kReviewedChange, ConflictKind::kNeedsReview, "update",
       "a needs_review field that had a value is changed by a writer that had seen it",
       "the new value stands provisionally; the old one is kept in the entry"},
      {ConflictRule::kDeleteOverUnseenEdit, ConflictKind::kUpdateDelete, "delete",
       "a live record is deleted by a writer that had not seen a field's current version "
       "(one entry per such field)",
       "the newer of edit and delete stands; the edit's value is kept in the entry"},
      {ConflictRule::kEditOfUnseenDelete, ConflictKind::kUpdateDelete, "update",
       "a field of a record another device deleted is edited by a writer that had not seen "
       "the delete (one entry per field the edit wrote)",
       "the newer of edit and delete stands; the edit's value is kept in the entry"},
      {ConflictRule::kDuplicateNaturalKey, ConflictKind::kDuplicateKey, "(server)",
       "two live records carry one natural key (NIK)",
       "a reviewer merges them; the merged-away record points to the survivor"},
  }};
  return rules;
}

const ConflictRuleRow& conflict_rule(ConflictRule r) {
  for (const auto& row : conflict_rules()) {
    if (row.rule == r) return row;
  }
  return conflict_rules().front();
}

Version seen_version(const Op& op, const std::string& field) {
  if (auto it = op.base.find(field); it != op.base.end()) return it->second;
  // Deletes of version-1 clients carry one version for the whole record; it is read as the
  // deleter's view of every field (which can hide an unseen field: PROTOCOL.md).
  if (op.is_delete) {
    if (auto it = op.base.find("*"); it != op.base.end()) return it->second;
  }
  return Version{};
}

bool unseen_by(const Op& op, const std::string& field, const Version& current) {
  if (current.device == op.version.device && op.version.device != kServerDeviceId) return false;
  if (field == "*") {  // the record as a whole (its tombstone): only an explicit "*" says so
    auto it = op.base.find("*");
    return it == op.base.end() || it->second < current;
  }
  const Version seen = seen_version(op, field);
  // A base newer than the current version names a version this replica never had, so it is
  // no sight of the current one: someone else's from a history a restore took back
  // (tests/sim --restores seed 11316: a lost resolution's stamp sorted just above a
  // re-stamped edit's and hid it), or the writer's own earlier write that the server refused
  // (a device's ops arrive in seq order, so its own earlier write is here unless refused).
  // That refused write had overwritten the current value unseen on the writer's replica; had
  // it counted as a sight, a later edit or delete based on it buried the current value with
  // no entry (tests/sim --publications seed 141: a delete after an edit refused by a newer
  // rule).
  if (current < seen) return true;
  return seen < current;
}

namespace {

Conflict make_conflict(ConflictRule rule, const Op& op, const std::string& field,
                       ConflictSide winner, ConflictSide loser) {
  Conflict c;
  c.kind = conflict_rule(rule).kind;
  c.rule = rule;
  c.collection = op.collection;
  c.record_id = op.id;
  c.field = field;
  c.id = conflict_id(c.kind, op.collection, op.id, field, winner.version, loser.version);
  c.winner = std::move(winner);
  c.loser = std::move(loser);
  return c;
}

// An entry between an edit of `field` and a delete; the side that prevails (the record is
// live after the merge iff an edit is newer than the tombstone) is the winner.
Conflict edit_delete_conflict(ConflictRule rule, const Op& op, const std::string& field,
                              ConflictSide edit, ConflictSide del, bool record_live) {
  del.is_delete = true;
  return record_live ? make_conflict(rule, op, field, std::move(edit), std::move(del))
                     : make_conflict(rule, op, field, std::move(del), std::move(edit));
}

void apply_delete(RecordState& state, const Op& op, ApplyResult& out) {
  if (op.version == state.tombstone) return;  // already applied
  const bool was_live = state.live();
  if (op.version > state.tombstone) {
    state.tombstone = op.version;
    out.changed = true;
  }
  if (!was_live) return;  // nothing live to bury: a concurrent delete already did
  for (const auto& [name, fv] : state.fields) {
    if (!unseen_by(op, name, fv.version)) continue;
    out.conflicts.push_back(edit_delete_conflict(ConflictRule::kDeleteOverUnseenEdit, op, name,
                                                 {fv.value, fv.version}, {Json(), op.version},
                                                 state.live()));
  }
}

}  // namespace

namespace {

// A whole record sent by the server (a region move): every register and the tombstone
// join the local ones. Nobody wrote anything, so nothing conflicts.
void apply_record(const CollectionSchema& schema, RecordState& state, const Op& op,
                  ApplyResult& out) {
  const Json& fields = op.record["fields"];
  for (const auto& [name, vj] : op.record["versions"].items()) {
    FieldValue incoming{fields.contains(name) ? fields[name] : Json(), decode_version(vj)};
    auto it = state.fields.find(name);
    if (it == state.fields.end()) {
      state.fields.emplace(name, std::move(incoming));
    } else if (it->second.version != incoming.version &&
               field_wins(schema.field(name), incoming, it->second)) {
      it->second = std::move(incoming);
    } else {
      continue;
    }
    out.changed = true;
    out.changed_fields.push_back(name);
  }
  if (auto t = op.record.find("tombstone"); t != op.record.end() && !t->is_null()) {
    const Version tomb = decode_version(*t);
    if (tomb > state.tombstone) {
      state.tombstone = tomb;
      out.changed = true;
    }
  }
}

}  // namespace

ApplyResult apply_op(const CollectionSchema& schema, RecordState& state, const Op& op) {
  ApplyResult out;
  if (op.gone) return out;  // where the record may be seen is the store's business
  if (!op.record.is_null()) {
    apply_record(schema, state, op, out);
    return out;
  }
  if (op.is_delete) {
    apply_delete(state, op, out);
    return out;
  }
  // An edit of a record that someone else deleted without this edit having seen it.
  // (An update says it had seen the delete with base "*" at least the tombstone: a
  // reviewer keeping a deleted record.) Whether another field keeps the record live does
  // not matter: arriving before the delete, this edit would have had its entry from
  // apply_delete all the same, and a forward_only field it wins by rank can leave the
  // record deleted after all (tests/sim --restores seed 5829).
  const bool tombstoned_by_other = !state.tombstone.empty() && state.tombstone != op.version &&
                                   unseen_by(op, "*", state.tombstone);
  for (const auto& [name, value] : op.set.items()) {
    const FieldDef* def = schema.field(name);
    FieldValue incoming{value, op.version};
    auto it = state.fields.find(name);
    if (it == state.fields.end()) {
      state.fields.emplace(name, std::move(incoming));
      out.changed = true;
      out.changed_fields.push_back(name);
      continue;
    }
    FieldValue& cur = it->second;
    if (cur.version == op.version) continue;  // the same write, applied again
    const bool differs = cur.value != value;
    const MergePolicy policy = def ? def->policy : MergePolicy::kLastWriterWins;
    // Under forward_only the current value may carry an OLDER version than writes the writer
    // did see (rank beats version), so "base >= current" does not mean it was seen: a writer
    // that had seen the current state holds exactly its version (its own join has it).
    // Found by the simulation's oracle (seed 411).
    const bool unseen =
        policy == MergePolicy::kForwardOnly
            ? unseen_by(op, name, cur.version) || (seen_version(op, name) != cur.version &&
                                                   (cur.version.device != op.version.device ||
                                                    op.version.device == kServerDeviceId))
            : unseen_by(op, name, cur.version);
    const bool concurrent = differs && unseen;
    const bool incoming_wins = field_wins(def, incoming, cur);
    if (concurrent) {
      const ConflictRule rule = policy == MergePolicy::kForwardOnly
                                    ? ConflictRule::kUnseenRank
                                    : ConflictRule::kUnseenOverwrite;
      ConflictSide in{value, op.version}, here{cur.value, cur.version};
      out.conflicts.push_back(
          make_conflict(rule, op, name, incoming_wins ? in : here, incoming_wins ? here : in));
    } else if (policy == MergePolicy::kNeedsReview && differs && incoming_wins &&
               !cur.value.is_null()) {
      out.conflicts.push_back(make_conflict(ConflictRule::kReviewedChange, op, name,
                                            {value, op.version}, {cur.value, cur.version}));
    }
    if (incoming_wins) {
      cur = std::move(incoming);
      out.changed = true;
      out.changed_fields.push_back(name);
    }
  }
  if (tombstoned_by_other) {
    const bool live = state.live();
    for (const std::string& name : out.changed_fields) {
      out.conflicts.push_back(edit_delete_conflict(ConflictRule::kEditOfUnseenDelete, op, name,
                                                   {op.set.at(name), op.version},
                                                   {Json(), state.tombstone}, live));
    }
  }
  return out;
}

}  // namespace lumbung

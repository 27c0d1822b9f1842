#include "lumbung/merge.h"

#include <openssl/evp.h>

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

namespace {

Conflict make_conflict(ConflictKind kind, const Op& op, const std::string& field,
                       ConflictSide winner, ConflictSide loser) {
  Conflict c;
  c.kind = kind;
  c.collection = op.collection;
  c.record_id = op.id;
  c.field = field;
  c.id = conflict_id(kind, op.collection, op.id, field, winner.version, loser.version);
  c.winner = std::move(winner);
  c.loser = std::move(loser);
  return c;
}

void apply_delete(RecordState& state, const Op& op, ApplyResult& out) {
  if (op.version == state.tombstone) return;  // already applied
  const bool was_live = state.live();
  if (op.version > state.tombstone) {
    state.tombstone = op.version;
    out.changed = true;
  }
  // An edit the deleter had not seen, by someone else: the delete and the edit conflict.
  auto seen = op.base.find("*");
  const Version base = seen == op.base.end() ? Version{} : seen->second;
  const Version newest = state.newest_field_version();
  if (was_live && newest > base && newest.device != op.version.device) {
    const std::string* field = nullptr;
    for (const auto& [name, fv] : state.fields) {
      if (fv.version == newest) field = &name;
    }
    ConflictSide edit{field ? state.fields[*field].value : Json(), newest};
    ConflictSide del{Json(), op.version};
    const bool edit_wins = state.live();
    out.conflicts.push_back(make_conflict(ConflictKind::kUpdateDelete, op, "",
                                          edit_wins ? edit : del, edit_wins ? del : edit));
  }
}

}  // namespace

ApplyResult apply_op(const CollectionSchema& schema, RecordState& state, const Op& op) {
  ApplyResult out;
  if (op.is_delete) {
    apply_delete(state, op, out);
    return out;
  }
  // An edit of a record that someone else deleted without this edit having seen it.
  const bool tombstoned_by_other = !state.tombstone.empty() && !state.live() &&
                                   state.tombstone.device != op.version.device &&
                                   state.tombstone != op.version;
  bool edited = false;
  for (const auto& [name, value] : op.set.items()) {
    const FieldDef* def = schema.field(name);
    FieldValue incoming{value, op.version};
    auto it = state.fields.find(name);
    if (it == state.fields.end()) {
      state.fields.emplace(name, std::move(incoming));
      out.changed = edited = true;
      out.changed_fields.push_back(name);
      continue;
    }
    FieldValue& cur = it->second;
    if (cur.version == op.version) continue;  // the same write, applied again
    auto b = op.base.find(name);
    const Version base = b == op.base.end() ? Version{} : b->second;
    const bool differs = cur.value != value;
    const bool concurrent =
        differs && base < cur.version && cur.version.device != op.version.device;
    const bool incoming_wins = field_wins(def, incoming, cur);
    const MergePolicy policy = def ? def->policy : MergePolicy::kLastWriterWins;
    if (concurrent && policy != MergePolicy::kForwardOnly) {
      ConflictSide in{value, op.version}, here{cur.value, cur.version};
      out.conflicts.push_back(make_conflict(ConflictKind::kConcurrentUpdate, op, name,
                                            incoming_wins ? in : here, incoming_wins ? here : in));
    } else if (policy == MergePolicy::kNeedsReview && differs && incoming_wins &&
               !cur.value.is_null()) {
      out.conflicts.push_back(make_conflict(ConflictKind::kNeedsReview, op, name,
                                            {value, op.version}, {cur.value, cur.version}));
    }
    if (incoming_wins) {
      cur = std::move(incoming);
      out.changed = edited = true;
      out.changed_fields.push_back(name);
    }
  }
  if (tombstoned_by_other && edited) {
    const bool edit_wins = state.live();
    ConflictSide edit{op.set.begin().value(), op.version};
    ConflictSide del{Json(), state.tombstone};
    out.conflicts.push_back(make_conflict(ConflictKind::kUpdateDelete, op, "",
                                          edit_wins ? edit : del, edit_wins ? del : edit));
  }
  return out;
}

}  // namespace lumbung

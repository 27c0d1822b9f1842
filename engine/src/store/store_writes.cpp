// The device store's three local writes (Store::Impl members declared in store_impl.h):
// create, update and remove, each validated, merged and logged. The caller holds the mutex
// and an open transaction (store.cpp).

#include "store/store_impl.h"

#include <algorithm>

namespace lumbung {
namespace {

// The newest version of any field or tombstone of a record.
Version newest_held(const RecordState& st) {
  Version newest = st.tombstone;
  for (const auto& [_, fv] : st.fields) newest = std::max(newest, fv.version);
  return newest;
}

}  // namespace

std::string Store::Impl::create(const std::string& col, Json fields, std::string id) {
  const CollectionSchema& cs = collection(col);
  if (!fields.is_object())
    throw Error(ErrorCode::kInvalidArgument, "a record must be a JSON object");
  if (auto issues = cs.normalize_and_validate(fields, false); !issues.empty()) {
    throw_issues(issues);
  }
  check_regions(cs, fields);
  if (id.empty()) {
    id = make_uuid_v7(clock->physical_now_ms());
  } else if (!is_uuid(id)) {
    throw Error(ErrorCode::kInvalidArgument, "record id must be a UUID, got \"" + id + "\"");
  }
  Op op;
  op.seq = next_seq;
  op.collection = col;
  op.id = id;
  op.version = {clock->now(), device};
  // The create's own values are logged: read back from the record later, a create would
  // carry values other writers gave it since, under its own version - which a server
  // restored from an older copy takes as this device's (tests/sim --restores, seed 13).
  // Made once: an unencrypted record row holds the same text.
  const std::string values = fields.dump();
  if (!insert_fresh(cs, id, fields, op.version, &values)) {
    throw Error(ErrorCode::kAlreadyExists, "record " + id + " already exists");
  }
  const std::string text = encode_op_text(op, false, values);
  log_change(op, &text);
  ++next_seq;
  return id;
}

void Store::Impl::update(const std::string& col, const std::string& id, Json patch) {
  const CollectionSchema& cs = collection(col);
  if (!patch.is_object()) throw Error(ErrorCode::kInvalidArgument, "a patch must be a JSON object");
  throw_if_away(id);
  auto st = load(col, id);
  if (!st || !st->live()) throw Error(ErrorCode::kNotFound, "no record " + id + " in " + col);
  if (auto issues = cs.normalize_and_validate(patch, true); !issues.empty()) throw_issues(issues);
  Json merged = st->values();
  Json changed = Json::object();
  for (auto& [name, value] : patch.items()) {
    auto cur = st->fields.find(name);
    const Json& old = cur == st->fields.end() ? Json() : cur->second.value;
    if (old == value) continue;
    const FieldDef* def = cs.field(name);
    if (def && def->policy == MergePolicy::kForwardOnly && !old.is_null() &&
        def->rank(value) < def->rank(old)) {
      throw Error(ErrorCode::kStatusRegression,
                  name + " can only move forward: " + old.dump() + " cannot become " + value.dump(),
                  name);
    }
    if (value.is_null()) {
      merged.erase(name);
    } else {
      merged[name] = value;
    }
    changed[name] = value;
  }
  if (changed.empty()) return;  // nothing differs: no write, no change entry
  auto issues = cs.normalize_and_validate(merged, false);
  // A required field this replica has not received yet (the record arrives in parts while
  // a replay after a server restore is under way) is not this edit's fault: the server
  // holds the record whole and judges the op against it. Nor is a field this laptop's
  // schema does not know but the record holds (written under a newer schema version the
  // laptop has not moved to): the op carries only the changed fields.
  issues.erase(std::remove_if(issues.begin(), issues.end(),
                              [&](const ValidationIssue& i) {
                                if (patch.contains(i.field)) return false;
                                return (i.reason == "required" && !st->fields.count(i.field)) ||
                                       (i.reason == "unknown_field" && st->fields.count(i.field));
                              }),
               issues.end());
  // Nor is a value the edit does not touch that broke a rule before it (written under an
  // older schema version whose rule a newer one tightened, held by the server too): the
  // server judges an op by the fields it sets, and the laptop would lock every officer out of
  // the record. Unless it is this laptop's own write the server refused: that one its officer
  // must fix first (it is not on the server; the refused list says why).
  if (!issues.empty()) {
    Json before = st->values();
    const auto had = cs.normalize_and_validate(before, false);
    auto own_refused = [&](const std::string& field) {
      const auto f = st->fields.find(field);
      if (f == st->fields.end() || f->second.version.device != device) return false;
      auto& q = db->prepare(
          "SELECT 1 FROM changes WHERE id=?1 AND hlc=?2 AND seq IN (SELECT seq FROM refused)");
      q.bind(1, id);
      q.bind(2, static_cast<int64_t>(f->second.version.hlc));
      const bool hit = q.step();
      q.reset();
      return hit;
    };
    issues.erase(std::remove_if(issues.begin(), issues.end(),
                                [&](const ValidationIssue& i) {
                                  if (patch.contains(i.field)) return false;
                                  const bool before_edit =
                                      std::any_of(had.begin(), had.end(), [&](const auto& h) {
                                        return h.field == i.field && h.reason == i.reason;
                                      });
                                  return before_edit && !own_refused(i.field);
                                }),
                 issues.end());
  }
  if (!issues.empty()) throw_issues(issues);
  check_regions(cs, merged);
  Op op;
  op.seq = next_seq;
  op.collection = col;
  op.id = id;
  op.version = {clock->now(), device};
  for (const auto& [name, _] : changed.items()) {
    auto cur = st->fields.find(name);
    if (cur != st->fields.end()) op.base.emplace(name, cur->second.version);
  }
  if (op.base.empty()) {
    // None of the fields it sets had a value here. Say which version of the record the
    // writer held ("*": any delete up to it was seen), so that the op reads as an edit, not
    // as a create of a partial record: a record this replica holds only in part (a replay
    // after a server restore) or whose creation the server has yet to receive then waits
    // for it there instead of being refused as incomplete (tests/sim --restores seed 3453).
    if (const Version newest = newest_held(*st); !newest.empty()) op.base.emplace("*", newest);
  }
  op.set = std::move(changed);
  auto result = apply_op(cs, *st, op);
  save(cs, id, *st);
  const std::string text = encode_op_text(op, false, op.set.dump());
  log_change(op, &text);
  record_conflicts(result.conflicts);
  settle_conflicts(op);
  ++next_seq;
}

void Store::Impl::remove(const std::string& col, const std::string& id) {
  const CollectionSchema& cs = collection(col);
  throw_if_away(id);
  auto st = load(col, id);
  if (!st || !st->live()) throw Error(ErrorCode::kNotFound, "no record " + id + " in " + col);
  Op op;
  op.seq = next_seq;
  op.collection = col;
  op.id = id;
  op.version = {clock->now(), device};
  op.is_delete = true;
  // What the deleter had seen, field by field: an edit it had not seen (another device's
  // newer version of any field, or a field it never had) is then found wherever the delete
  // lands, and kept in an update_delete entry.
  for (const auto& [name, fv] : st->fields) op.base.emplace(name, fv.version);
  apply_op(cs, *st, op);
  save(cs, id, *st);
  const std::string text = encode_op_text(op, false, {});
  log_change(op, &text);
  settle_conflicts(op);
  ++next_seq;
}

}  // namespace lumbung

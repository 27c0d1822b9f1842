// Corrections of review decisions (issue 15 item 8): a reviewer who decided an entry wrongly
// issues a new decision. History is never edited: the correction is a new server op whose
// base is what the earlier decision wrote (the state the reviewer saw after it), applied
// through the same merge - so an officer's write that came after the first decision is not
// overwritten silently but opens a conflict entry (merge.h, rules unseen_overwrite,
// delete_over_unseen_edit, edit_of_unseen_delete). The entry keeps every decision: the
// latest is its "resolution", the earlier ones its "history".
#include <algorithm>

#include "api/problem.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "review/conflict_decision.h"
#include "review/reader_scope.h"
#include "review/refused_queue.h"
#include "review/review_service.h"
#include "store/record_codec.h"

namespace lumbung::server {
namespace {

constexpr size_t kMaxNoteBytes = 1000;

// A correction's common members: "replaces" (the number of the decision it replaces, the
// entry's latest) and an optional "note". The rest are the kind's own (`allowed`).
struct Correction {
  int64_t replaces = 0;
  std::string note;
};

Correction read_correction(const Json& body, std::initializer_list<const char*> allowed) {
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "body must be an object");
  Correction c;
  for (const auto& [k, v] : body.items()) {
    if (k == "replaces") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1) {
        throw ProblemError(ErrorCode::kInvalidArgument,
                           "\"replaces\" must be the number of the decision being corrected",
                           Json{{"reason", "bad_replaces"}}, "replaces");
      }
      c.replaces = v.get<int64_t>();
    } else if (k == "note") {
      if (!v.is_string() || v.get_ref<const std::string&>().size() > kMaxNoteBytes) {
        throw ProblemError(ErrorCode::kInvalidArgument,
                           "\"note\" must be a string of at most 1000 bytes",
                           Json{{"reason", "bad_note"}}, "note");
      }
      c.note = v.get<std::string>();
    } else if (std::none_of(allowed.begin(), allowed.end(),
                            [&key = k](const char* a) { return key == a; })) {
      throw Error(ErrorCode::kInvalidArgument, "unknown member \"" + k + "\"");
    }
  }
  if (c.replaces == 0) {
    throw ProblemError(ErrorCode::kInvalidArgument,
                       "a correction names the decision it replaces: \"replaces\": <number>",
                       Json{{"reason", "bad_replaces"}}, "replaces");
  }
  return c;
}

// The number of an entry's latest decision: 1 for a first decision (written before
// corrections existed, or by resolve/merge/apply/dismiss).
int64_t decision_number(const Json& resolution) {
  const auto it = resolution.find("decision");
  return it != resolution.end() && it->is_number_integer() ? it->get<int64_t>() : 1;
}

// Refuses a correction of an entry that has no decision, or whose latest decision is not
// the one the reviewer saw (someone corrected it meanwhile): nothing is written.
void check_replaces(bool decided, const Json& resolution, const Correction& c) {
  if (!decided) {
    throw ProblemError(ErrorCode::kInvalidArgument,
                       "this entry has no decision yet: resolve it, do not correct it",
                       Json{{"reason", "not_decided"}});
  }
  const int64_t latest = decision_number(resolution);
  if (c.replaces != latest) {
    throw ProblemError(ErrorCode::kAlreadyExists,
                       "decision " + std::to_string(c.replaces) +
                           " is not this entry's latest; its latest is " + std::to_string(latest),
                       Json{{"reason", "stale_decision"}, {"latest", latest}});
  }
}

// The new decision's bookkeeping: its number, what it corrects, the earlier decisions.
void chain(Json& next, const Json& prev, const Correction& c) {
  Json history = prev.value("history", Json::array());
  Json earlier = prev;
  earlier.erase("history");
  earlier["decision"] = decision_number(prev);
  history.push_back(std::move(earlier));
  next["decision"] = c.replaces + 1;
  next["corrects"] = c.replaces;
  next["corrected"] = true;
  next["note"] = c.note;
  next["history"] = std::move(history);
}

// The version of the op an earlier decision wrote (the last one, for several); empty if it
// wrote none (a dismissal).
Version decision_version(const Json& resolution) {
  Version v;
  auto take = [&](const Json& j) {
    if (!j.is_object()) return;
    const Op op = decode_op(j, kServerDeviceId);
    if (v.empty() || v < op.version) v = op.version;
  };
  if (auto it = resolution.find("op"); it != resolution.end()) take(*it);
  if (auto it = resolution.find("ops"); it != resolution.end() && it->is_array()) {
    for (const auto& o : *it) take(o);
  }
  return v;
}

}  // namespace

Json ReviewService::correct_conflict(const std::string& id, const Json& body,
                                     const Principal& who) {
  const Correction corr = read_correction(body, {"keep", "value"});
  const ConflictChoice choice = read_choice(body, {"replaces", "note"});
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  auto row = txn->conflict(id);
  if (!row) throw Error(ErrorCode::kNotFound, "no conflict with this id");
  const Conflict& c = row->conflict;
  const CollectionSchema* csp = sync_.schema().collection(c.collection);
  if (!csp) throw Error(ErrorCode::kCorrupt, "a review entry names an unknown collection");
  const CollectionSchema& cs = *csp;
  const RecordState st = txn->load_record(c.collection, c.record_id).value_or(RecordState{});
  if (!reader_sees(who, scope_of(cs, st)))
    throw Error(ErrorCode::kNotFound, "no conflict with this id");
  check_replaces(row->resolved, row->resolution, corr);
  // What the reviewer saw: the record as the latest decision left it.
  const Version seen = decision_version(row->resolution);
  if (seen.empty()) throw Error(ErrorCode::kCorrupt, "a resolved conflict has no decision op");

  Op op = sync_.writer().new_server_op(*txn);
  op.collection = c.collection;
  op.id = c.record_id;
  const Json chosen = build_decision(op, c, cs, st, choice, Sight::of_decision(seen));
  txn->clock_observe(sync_.clock(), op.version.hlc);
  const OpOutcome o = sync_.writer().apply(*txn, cs, op, OpContext{}, now);
  Json resolution{{"by", who_json(who)},
                  {"at_ms", now},
                  {"value", chosen},
                  {"op", encode_op(op, true)},
                  {"conflicts", o.conflicts}};
  if (!choice.keep.empty()) resolution["keep"] = choice.keep;
  chain(resolution, row->resolution, corr);
  txn->resolve_conflict(id, resolution);
  sync_.writer().settle_waiting(*txn, now);  // as every writer does before commit
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  metrics_.add_ops_applied(1);

  Json j = codec::encode_conflict(c);
  j["status"] = "resolved";
  j["found_ms"] = row->found_ms;
  j["resolution"] = std::move(resolution);
  return j;
}

Json ReviewService::correct_duplicate(const std::string& id, const Json& body,
                                      const Principal& who) {
  const Correction corr = read_correction(body, {"survivor"});
  const auto sv = body.find("survivor");
  if (sv == body.end() || !sv->is_string()) {
    throw Error(ErrorCode::kInvalidArgument,
                "a merge is corrected by naming the other record as \"survivor\"");
  }
  const std::string survivor = sv->get<std::string>();
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  auto d = txn->duplicate(id);
  if (!d) throw Error(ErrorCode::kNotFound, "no duplicate entry with this id");
  if (survivor != d->record_a && survivor != d->record_b) {
    throw Error(ErrorCode::kInvalidArgument, "survivor must be one of the entry's two record ids");
  }
  const std::string other = survivor == d->record_a ? d->record_b : d->record_a;
  const CollectionSchema* csp = sync_.schema().collection(d->collection);
  if (!csp) throw Error(ErrorCode::kCorrupt, "a review entry names an unknown collection");
  const CollectionSchema& cs = *csp;
  const auto s = txn->load_record(d->collection, survivor);
  const auto o = txn->load_record(d->collection, other);
  if (!s || !o) throw Error(ErrorCode::kNotFound, "a record of this entry no longer exists");
  if (!reader_sees(who, scope_of(cs, *s)) || !reader_sees(who, scope_of(cs, *o))) {
    throw Error(ErrorCode::kNotFound, "no duplicate entry with this id");
  }
  check_replaces(d->resolved, d->resolution, corr);
  if (d->resolution.value("survivor", "") == survivor) {
    throw ProblemError(ErrorCode::kInvalidArgument,
                       "this record already survives: a correction names the other one",
                       Json{{"reason", "same_decision"}});
  }
  const Version seen = decision_version(d->resolution);
  if (seen.empty()) throw Error(ErrorCode::kCorrupt, "a merged duplicate has no decision op");
  const bool cross_region = scope_of(cs, *s) != scope_of(cs, *o);
  const bool has_merged_into = cs.field("merged_into") != nullptr;
  size_t opened = 0;
  Json ops = Json::array();
  auto run = [&](Op op) {
    txn->clock_observe(sync_.clock(), op.version.hlc);
    opened += sync_.writer().apply(*txn, cs, op, OpContext{}, now).conflicts;
    ops.push_back(encode_op(op, true));
  };
  // 1. The record the earlier merge deleted comes back: its values written again (nothing
  //    overwritten) over the delete that merge wrote, merged_into cleared.
  {
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = survivor;
    op.set = s->values();
    op.set.erase("merged_into");
    for (const auto& [name, _] : op.set.items()) op.base[name] = s->fields.at(name).version;
    if (auto it = s->fields.find("merged_into"); has_merged_into && it != s->fields.end()) {
      op.set["merged_into"] = nullptr;
      op.base["merged_into"] = it->second.version;
    }
    op.base["*"] = seen;
    run(std::move(op));
  }
  // 2. Its empty fields filled from the other record, as a merge does (no personal data
  //    across regions).
  {
    const auto now_s = txn->load_record(d->collection, survivor);
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = survivor;
    for (const auto& [name, fv] : o->fields) {
      if (fv.value.is_null() || name == "merged_into") continue;
      if (const FieldDef* def = cs.field(name); cross_region && def && def->personal) continue;
      auto it = now_s->fields.find(name);
      if (it != now_s->fields.end() && !it->second.value.is_null()) continue;
      op.set[name] = fv.value;
      if (it != now_s->fields.end()) op.base[name] = it->second.version;
    }
    if (!op.set.empty()) {
      run(std::move(op));
    } else {
      txn->set_meta("server_seq", std::to_string(op.seq - 1));  // unused: no seq gap
    }
  }
  // 3. The other record points at the survivor and is deleted. Seen: the record as the
  //    earlier decision left it, so an officer's edit of it since opens an entry
  //    (delete_over_unseen_edit) instead of being buried.
  if (has_merged_into) {
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = other;
    op.set = Json{{"merged_into", survivor}};
    if (auto it = o->fields.find("merged_into"); it != o->fields.end()) {
      op.base["merged_into"] = it->second.version;
    }
    run(std::move(op));
  }
  {
    const auto now_o = txn->load_record(d->collection, other);
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = other;
    op.is_delete = true;
    op.set = Json::object();
    for (const auto& [name, fv] : now_o->fields) {
      op.base[name] = name == "merged_into" ? fv.version : seen;
    }
    run(std::move(op));
  }
  Json resolution{{"by", who_json(who)},
                  {"at_ms", now},
                  {"survivor", survivor},
                  {"merged", other},
                  {"merged_into_field", has_merged_into},
                  {"cross_region", cross_region},
                  {"ops", ops},
                  {"conflicts", opened}};
  chain(resolution, d->resolution, corr);
  txn->resolve_duplicate(id, resolution);
  sync_.writer().settle_waiting(*txn, now);  // as every writer does before commit
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  metrics_.add_ops_applied(ops.size());
  return Json{{"id", id}, {"status", "merged"}, {"resolution", std::move(resolution)}};
}

Json RefusedQueue::correct(const std::string& id, const Json& body, const Principal& who) {
  const Correction corr = read_correction(body, {"set"});
  const auto set_it = body.find("set");
  if (set_it != body.end() && !set_it->is_object())
    throw Error(ErrorCode::kInvalidArgument, "\"set\" must be an object");
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  auto found = txn->refused(id);
  if (!found || !reader_sees(who, found->scope))
    throw Error(ErrorCode::kNotFound, "no refused op with this id");
  RefusedRow row = std::move(*found);
  check_replaces(row.status != "open", row.resolution, corr);
  if (row.status == "dismissed") check_held_draft_applicable(*txn, row);
  const Op original = decode_op(Json::parse(row.op_text), "");
  const CollectionSchema* cs = sync_.schema().collection(original.collection);
  if (!cs) {
    throw ProblemError(ErrorCode::kUnknownCollection,
                       "the op names a collection this server does not have", Json());
  }
  const auto existing = txn->load_record(original.collection, original.id);
  Op op = sync_.writer().new_server_op(*txn);
  op.collection = original.collection;
  op.id = original.id;
  if (row.status == "dismissed") {
    // Dismissed by mistake: applied now as `apply` would have, with the officer's values
    // (and the reviewer's corrections) and the officer's base.
    op.is_delete = original.is_delete;
    op.base = original.base;
    if (!op.is_delete) {
      op.set = original.set;
      if (set_it != body.end()) {
        for (const auto& [f, v] : set_it->items()) op.set[f] = v;
      }
    }
  } else {
    // Applied with the wrong values: new values over what that decision wrote.
    if (set_it == body.end() || set_it->empty() || original.is_delete) {
      throw ProblemError(ErrorCode::kInvalidArgument,
                         "an applied change is corrected with new values: \"set\": {field: value}"
                         " (undoing an applied change is not built)",
                         Json{{"reason", "set_required"}});
    }
    const Version seen = decision_version(row.resolution);
    if (seen.empty()) throw Error(ErrorCode::kCorrupt, "an applied refusal has no decision op");
    op.set = *set_it;
    for (const auto& [f, _] : op.set.items()) op.base[f] = seen;
  }
  if (!op.is_delete) {
    const bool known = existing.has_value();
    auto issues = cs->normalize_and_validate(op.set, /*partial=*/known);
    if (!issues.empty()) {
      throw_issue(issues.front(), known ? ""
                                        : "the record is not on the server, so the op must be a "
                                          "whole record: ");
    }
  }
  // The reviewer must hold where the record is and where the op puts it.
  {
    RecordState after = existing.value_or(RecordState{});
    const std::string before_scope = scope_of(*cs, after);
    if (!op.is_delete) {
      for (const auto& [f, v] : op.set.items()) after.fields[f] = FieldValue{v, op.version};
    }
    if (!reader_sees(who, before_scope) || !reader_sees(who, scope_of(*cs, after))) {
      throw Error(ErrorCode::kNotFound, "no refused op with this id");
    }
  }
  txn->clock_observe(sync_.clock(), op.version.hlc);
  const OpOutcome o = sync_.writer().apply(*txn, *cs, op, OpContext{}, now);
  Json resolution{{"by", who_json(who)},      {"at_ms", now},
                  {"action", "applied"},      {"op", encode_op(op, true)},
                  {"conflicts", o.conflicts}, {"duplicates", o.duplicate_keys}};
  chain(resolution, row.resolution, corr);
  txn->resolve_refused(id, "applied", resolution);
  sync_.writer().settle_waiting(*txn, now);  // as every writer does before commit
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  row.status = "applied";
  row.resolution = std::move(resolution);
  return refused_json(row);
}

}  // namespace lumbung::server

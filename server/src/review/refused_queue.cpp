#include "review/refused_queue.h"

#include "api/problem.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/merge.h"
#include "lumbung/tuning.h"
#include "review/reader_scope.h"

#include <algorithm>

namespace lumbung::server {
namespace {

RefusedRow open_row_or_throw(WriteTxn& txn, const std::string& id, const Principal& who) {
  auto row = txn.refused(id);
  if (!row || !reader_sees(who, row->scope)) {
    throw Error(ErrorCode::kNotFound, "no refused op with this id");
  }
  if (row->status != "open") {
    throw Error(ErrorCode::kAlreadyExists, "this refused op is already " + row->status);
  }
  return std::move(*row);
}

}  // namespace

Json refused_json(const RefusedRow& r) {
  Json op = Json::parse(r.op_text, nullptr, false);
  return Json{{"id", r.id},
              {"device_id", r.device},
              {"seq", r.seq},
              {"collection", r.collection},
              {"record_id", r.record_id},
              {"code", r.code},
              {"field", r.field},
              {"message", r.message},
              {"scope", r.scope},
              {"op", op.is_discarded() ? Json() : std::move(op)},
              {"found_ms", r.found_ms},
              {"status", r.status},
              {"resolution", r.resolution}};
}

Json RefusedQueue::list(const Principal& who, const std::string& status, const std::string& device,
                        const std::string& after, size_t limit) {
  ReviewQuery q;
  q.status = status.empty() ? "open" : status;
  q.device = device;
  q.prefixes = reader_regions(who);
  q.after = after;
  q.limit = limit == 0 ? kDefaultQueryPageSize : std::min(limit, kMaxQueryPageSize);
  const auto page = store_.list_refused(q);
  Json arr = Json::array();
  for (const RefusedRow& r : page.rows) arr.push_back(refused_json(r));
  return Json{{"refused", std::move(arr)}, {"next", page.next}, {"total", page.total}};
}

Json RefusedQueue::apply(const std::string& id, const Json& body, const Principal& who) {
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "body must be an object");
  for (const auto& [k, v] : body.items()) {
    if (k != "set") throw Error(ErrorCode::kInvalidArgument, "unknown member \"" + k + "\"");
    if (!v.is_object()) throw Error(ErrorCode::kInvalidArgument, "\"set\" must be an object");
  }
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  RefusedRow row = open_row_or_throw(*txn, id, who);
  check_held_draft_applicable(*txn, row);
  const Op original = decode_op(Json::parse(row.op_text), "");
  const CollectionSchema* cs = sync_.schema().collection(original.collection);
  if (!cs) {
    throw ProblemError(ErrorCode::kUnknownCollection,
                       "the op names a collection this server does not have; dismiss it", Json());
  }
  // The officer's op, written again by the server: the officer's values (with the
  // reviewer's corrections) and the officer's base, so that a write the officer had not
  // seen is still kept in a conflict entry.
  Op op = sync_.writer().new_server_op(*txn);
  op.collection = original.collection;
  op.id = original.id;
  op.is_delete = original.is_delete;
  op.base = original.base;
  if (!op.is_delete) {
    op.set = original.set;
    if (auto it = body.find("set"); it != body.end()) {
      for (const auto& [f, v] : it->items()) op.set[f] = v;
    }
    const auto existing = txn->load_record(op.collection, op.id);
    const bool known = existing.has_value();
    auto issues = cs->normalize_and_validate(op.set, /*partial=*/known);
    if (!issues.empty()) {
      const ValidationIssue& first = issues.front();
      throw ProblemError(
          first.reason == "unknown_field" ? ErrorCode::kUnknownField : ErrorCode::kValidationFailed,
          (known ? ""
                 : "the record is not on the server, so the op must be a "
                   "whole record: ") +
              issue_detail(first),
          Json{{"field", first.field}, {"reason", first.reason}}, first.field);
    }
  }
  // The reviewer must hold where the record is and where the op puts it.
  {
    RecordState after = txn->load_record(op.collection, op.id).value_or(RecordState{});
    const std::string before_scope = scope_of(*cs, after);
    if (!op.is_delete) {
      for (const auto& [f, v] : op.set.items()) after.fields[f] = FieldValue{v, op.version};
    }
    if (!reader_sees(who, before_scope) || !reader_sees(who, scope_of(*cs, after))) {
      throw Error(ErrorCode::kNotFound, "no refused op with this id");
    }
  }
  txn->clock_observe(sync_.clock(), op.version.hlc);
  OpOutcome o = sync_.writer().apply(*txn, *cs, op, OpContext{}, now);
  Json resolution{{"by", who_json(who)},      {"at_ms", now},
                  {"action", "applied"},      {"op", encode_op(op, true)},
                  {"conflicts", o.conflicts}, {"duplicates", o.duplicate_keys}};
  txn->resolve_refused(id, "applied", resolution);
  sync_.writer().settle_waiting(*txn, now);
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  row.status = "applied";
  row.resolution = std::move(resolution);
  return refused_json(row);
}

Json RefusedQueue::dismiss(const std::string& id, const Json& body, const Principal& who) {
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "body must be an object");
  std::string note;
  for (const auto& [k, v] : body.items()) {
    if (k != "note" || !v.is_string() || v.get_ref<const std::string&>().size() > 1000) {
      throw Error(ErrorCode::kInvalidArgument, "body is {} or {\"note\": \"<why, 1000 chars>\"}");
    }
    note = v.get<std::string>();
  }
  auto txn = store_.begin_write();
  RefusedRow row = open_row_or_throw(*txn, id, who);
  Json resolution{
      {"by", who_json(who)}, {"at_ms", sync_.now_ms()}, {"action", "dismissed"}, {"note", note}};
  txn->resolve_refused(id, "dismissed", resolution);
  txn->commit();
  row.status = "dismissed";
  row.resolution = std::move(resolution);
  return refused_json(row);
}

}  // namespace lumbung::server

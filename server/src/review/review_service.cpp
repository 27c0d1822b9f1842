#include "review/review_service.h"

#include <algorithm>
#include <set>

#include "api/problem.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"
#include "review/conflict_decision.h"
#include "review/reader_scope.h"
#include "store/record_codec.h"

namespace lumbung::server {
namespace {

constexpr size_t kListLimit = 1000;

const CollectionSchema& collection_or_throw(const Schema& schema, const std::string& name) {
  const CollectionSchema* cs = schema.collection(name);
  if (!cs) throw Error(ErrorCode::kCorrupt, "a review entry names an unknown collection");
  return *cs;
}

}  // namespace

Json record_json(const std::string& id, const RecordState& st) {
  Json versions = Json::object();
  for (const auto& [name, fv] : st.fields) versions[name] = encode_version(fv.version);
  Json j{{"id", id},
         {"fields", st.values()},
         {"versions", std::move(versions)},
         {"deleted", !st.live()}};
  j["tombstone"] = st.tombstone.empty() ? Json() : encode_version(st.tombstone);
  return j;
}

namespace {

ReviewQuery query_for(const Principal& who, const std::string& status, const std::string& after,
                      size_t limit) {
  ReviewQuery q;
  q.status = status;
  q.prefixes = reader_regions(who);
  q.after = after;
  q.limit = limit == 0 ? kListLimit : std::min(limit, kMaxQueryPageSize);
  return q;
}

// An entry about a record outside the reader's regions does not exist for that reader.
[[noreturn]] void not_found(const char* what) {
  throw Error(ErrorCode::kNotFound, std::string("no ") + what + " with this id");
}

}  // namespace

Json ReviewService::list_conflicts(const Principal& who, const std::string& status,
                                   const std::string& after, size_t limit) {
  const auto page = store_.list_conflicts(query_for(who, status, after, limit));
  Json arr = Json::array();
  for (const ConflictRow& row : page.rows) {
    Json j = codec::encode_conflict(row.conflict);
    j["status"] = row.resolved ? "resolved" : "open";
    j["found_ms"] = row.found_ms;
    j["resolution"] = row.resolution;
    arr.push_back(std::move(j));
  }
  return Json{{"conflicts", std::move(arr)}, {"next", page.next}, {"total", page.total}};
}

Json ReviewService::resolve_conflict(const std::string& id, const Json& body,
                                     const Principal& who) {
  const ConflictChoice choice = read_choice(body, {});
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  auto row = txn->conflict(id);
  if (!row) not_found("conflict");
  const Conflict& c = row->conflict;
  const CollectionSchema& cs = collection_or_throw(sync_.schema(), c.collection);
  const RecordState st = txn->load_record(c.collection, c.record_id).value_or(RecordState{});
  if (!reader_sees(who, scope_of(cs, st))) not_found("conflict");
  if (row->resolved) throw Error(ErrorCode::kAlreadyExists, "this conflict is already resolved");

  Op op = sync_.writer().new_server_op(*txn);
  op.collection = c.collection;
  op.id = c.record_id;
  // The reviewer saw the entry, not whatever the record holds now: a write that arrived
  // after the entry was shown is not overwritten silently but opens an entry of its own.
  const Json chosen = build_decision(op, c, cs, st, choice, Sight::entry());
  txn->clock_observe(sync_.clock(), op.version.hlc);
  sync_.writer().apply(*txn, cs, op, OpContext{}, now);
  Json resolution{
      {"by", who_json(who)}, {"at_ms", now}, {"value", chosen}, {"op", encode_op(op, true)}};
  if (!choice.keep.empty()) resolution["keep"] = choice.keep;
  txn->resolve_conflict(id, resolution);
  sync_.writer().settle_waiting(*txn, now);
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  metrics_.add_ops_applied(1);

  Json j = codec::encode_conflict(c);
  j["status"] = "resolved";
  j["found_ms"] = row->found_ms;
  j["resolution"] = std::move(resolution);
  return j;
}

Json ReviewService::list_duplicates(const Principal& who, const std::string& status,
                                    const std::string& after, size_t limit) {
  const auto page = store_.list_duplicates(query_for(who, status, after, limit));
  Json arr = Json::array();
  for (const DuplicateRow& d : page.rows) {
    const CollectionSchema* cs = sync_.schema().collection(d.collection);
    Json records = Json::array();
    std::vector<std::string> scopes;
    for (const std::string* rid : {&d.record_a, &d.record_b}) {
      auto st = store_.get_record(d.collection, *rid);
      scopes.push_back(st && cs ? scope_of(*cs, *st) : std::string());
      if (!st) {
        records.push_back(Json{{"id", *rid}, {"missing", true}});
      } else if (!reader_sees(who, scopes.back())) {
        // The other side of a cross-region pair: its existence, not its data.
        records.push_back(Json{{"id", *rid}, {"outside_your_regions", true}});
      } else {
        records.push_back(record_json(*rid, *st));
      }
    }
    arr.push_back(Json{{"id", d.id},
                       {"kind", "duplicate_key"},
                       {"collection", d.collection},
                       {"record_ids", Json::array({d.record_a, d.record_b})},
                       {"records", std::move(records)},
                       {"cross_region", scopes[0] != scopes[1]},
                       {"status", d.resolved ? "merged" : "open"},
                       {"found_ms", d.found_ms},
                       {"resolution", d.resolution}});
  }
  return Json{{"duplicates", std::move(arr)}, {"next", page.next}, {"total", page.total}};
}

Json ReviewService::merge_duplicate(const std::string& id, const Json& body, const Principal& who) {
  const auto take_it = body.is_object() ? body.find("take") : body.end();
  const bool has_take = body.is_object() && take_it != body.end();
  if (!body.is_object() || !body.contains("survivor") || !body["survivor"].is_string() ||
      body.size() != (has_take ? 2u : 1u)) {
    throw Error(ErrorCode::kInvalidArgument,
                "body must be {\"survivor\": \"<record id>\"} (optionally \"take\": [fields])");
  }
  const std::string survivor = body["survivor"].get<std::string>();
  // Fields whose value comes from the merged-away record even where the survivor has one.
  std::set<std::string> take;
  if (has_take) {
    if (!take_it->is_array() || take_it->size() > 64) {
      throw Error(ErrorCode::kInvalidArgument, "\"take\" must be an array of field names");
    }
    for (const auto& f : *take_it) {
      if (!f.is_string() || f == "merged_into") {
        throw Error(ErrorCode::kInvalidArgument, "\"take\" must be an array of field names");
      }
      take.insert(f.get<std::string>());
    }
  }
  const int64_t now = sync_.now_ms();
  auto txn = store_.begin_write();
  auto d = txn->duplicate(id);
  if (!d) not_found("duplicate entry");
  if (survivor != d->record_a && survivor != d->record_b) {
    throw Error(ErrorCode::kInvalidArgument, "survivor must be one of the entry's two record ids");
  }
  const std::string merged = survivor == d->record_a ? d->record_b : d->record_a;
  const CollectionSchema& cs = collection_or_throw(sync_.schema(), d->collection);
  auto s = txn->load_record(d->collection, survivor);
  auto o = txn->load_record(d->collection, merged);
  if (!s || !o) throw Error(ErrorCode::kNotFound, "a record of this entry no longer exists");
  // A pair is acted on only by a reviewer holding both records' regions.
  if (!reader_sees(who, scope_of(cs, *s)) || !reader_sees(who, scope_of(cs, *o))) {
    not_found("duplicate entry");
  }
  if (d->resolved) throw Error(ErrorCode::kAlreadyExists, "this duplicate entry is already merged");
  // Across regions, personal data of the merged-away record is never copied into the
  // survivor: devices of the survivor's region would read it (issue 12, item 2).
  const bool cross_region = scope_of(cs, *s) != scope_of(cs, *o);
  for (const std::string& name : take) {
    const FieldDef* def = cs.field(name);
    if (!def) {
      throw ProblemError(ErrorCode::kInvalidArgument,
                         "\"take\" names " + name + ", a field the schema does not have",
                         Json::object(), name);
    }
    if (cross_region && def->personal) {
      throw ProblemError(ErrorCode::kInvalidArgument,
                         name + " is personal data: it is not copied across regions",
                         Json::object(), name);
    }
  }

  Json ops = Json::array();
  auto run = [&](Op op) {
    txn->clock_observe(sync_.clock(), op.version.hlc);
    sync_.writer().apply(*txn, cs, op, OpContext{}, now);
    ops.push_back(encode_op(op, true));
  };
  // 1. Fill the survivor's empty fields, and those the reviewer chose ("take"), from the
  //    merged-away record.
  {
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = survivor;
    for (const auto& [name, fv] : o->fields) {
      if (fv.value.is_null() || name == "merged_into") continue;
      if (const FieldDef* def = cs.field(name); cross_region && def && def->personal) continue;
      auto it = s->fields.find(name);
      if (it != s->fields.end() && !it->second.value.is_null() && !take.count(name)) continue;
      if (it != s->fields.end() && it->second.value == fv.value) continue;
      op.set[name] = fv.value;
      if (it != s->fields.end()) op.base[name] = it->second.version;
    }
    if (!op.set.empty()) {
      run(std::move(op));
    } else {
      // Unused seq: give it back so the server's seq stays gap-free.
      txn->set_meta("server_seq", std::to_string(op.seq - 1));
    }
  }
  // 2. Point the merged-away record at the survivor, when the schema has the field.
  if (cs.field("merged_into")) {
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = merged;
    op.set = Json{{"merged_into", survivor}};
    if (auto it = o->fields.find("merged_into"); it != o->fields.end()) {
      op.base["merged_into"] = it->second.version;
    }
    run(std::move(op));
  }
  // 3. Delete it; its values and history stay in the store and the oplog.
  {
    auto now_o = txn->load_record(d->collection, merged);
    Op op = sync_.writer().new_server_op(*txn);
    op.collection = d->collection;
    op.id = merged;
    op.is_delete = true;
    op.set = Json::object();
    // The reviewer chose to merge this record away as it stands now: every field seen.
    if (now_o) {
      for (const auto& [name, fv] : now_o->fields) op.base[name] = fv.version;
    }
    run(std::move(op));
  }
  Json resolution{{"by", who_json(who)},
                  {"at_ms", now},
                  {"survivor", survivor},
                  {"merged", merged},
                  {"merged_into_field", cs.field("merged_into") != nullptr},
                  {"cross_region", cross_region},
                  {"ops", ops}};
  txn->resolve_duplicate(id, resolution);
  sync_.writer().settle_waiting(*txn, now);
  txn->set_meta("clock", std::to_string(sync_.clock().last()));
  txn->commit();
  metrics_.add_ops_applied(ops.size());
  return Json{{"id", id}, {"status", "merged"}, {"resolution", std::move(resolution)}};
}

}  // namespace lumbung::server

namespace lumbung::server {

Json ReviewService::records(const Principal& who, const std::string& collection,
                            const std::string& scope, const std::string& after, size_t limit) {
  const CollectionSchema* cs = sync_.schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + collection + "\"");
  const std::string prefix = reader_prefix(who, scope);
  if (limit == 0) limit = kDefaultQueryPageSize;
  if (limit > kMaxQueryPageSize) limit = kMaxQueryPageSize;
  auto rows = store_.list_records(collection, prefix, after, limit);
  Json arr = Json::array();
  for (const RecordRow& r : rows) arr.push_back(record_json(r.id, r.state));
  const std::string next = rows.size() == limit ? rows.back().id : std::string();
  return Json{{"collection", collection}, {"records", std::move(arr)}, {"next", next}};
}

Json ReviewService::progress(const Principal& who, const std::string& collection,
                             const std::string& scope) {
  const CollectionSchema* cs = sync_.schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + collection + "\"");
  const std::string prefix = reader_prefix(who, scope);
  // Which fields to count by: "status" if the schema has it, and every enum_set (programs).
  std::vector<std::string> sets;
  for (const FieldDef& f : cs->fields()) {
    if (f.type == FieldType::kEnumSet) sets.push_back(f.name);
  }
  struct Tally {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_status;
  };
  static constexpr std::pair<const char*, size_t> kLevels[] = {
      {"provinsi", 2}, {"kabupaten", 4}, {"kecamatan", 6}, {"desa", 10}};
  // Per desa only when asked for one kabupaten or narrower: otherwise the answer would list
  // every village of the country.
  const bool with_desa = prefix.size() >= 4;
  Tally all;
  std::map<std::string, std::map<std::string, uint64_t>> by_set;  // field -> member -> n
  std::map<std::string, std::map<std::string, Tally>> levels;
  // The counts kept as records change (store/record_counts.h), not a scan of the records.
  store_.for_each_count(
      collection, prefix,
      [&](std::string_view sc, std::string_view dim, std::string_view key, int64_t n) {
        const auto c = static_cast<uint64_t>(n);
        if (dim == "status") {
          const std::string st(key);
          all.total += c;
          all.by_status[st] += c;
          for (const auto& [name, len] : kLevels) {
            if (sc.size() < len || (len == 10 && !with_desa)) continue;
            Tally& t = levels[name][std::string(sc.substr(0, len))];
            t.total += c;
            t.by_status[st] += c;
          }
        } else if (dim.substr(0, 4) == "set:") {
          const std::string f(dim.substr(4));
          if (std::find(sets.begin(), sets.end(), f) != sets.end())
            by_set[f][std::string(key)] += c;
        }
      });
  auto tally_json = [](const Tally& t) {
    return Json{{"total", t.total}, {"by_status", t.by_status}};
  };
  Json lv = Json::object();
  for (const auto& [name, m] : levels) {
    Json regions = Json::object();
    for (const auto& [code, t] : m) regions[code] = tally_json(t);
    lv[name] = std::move(regions);
  }
  return Json{{"collection", collection},        {"scope", prefix},      {"total", all.total},
              {"by_status", all.by_status},      {"by_program", by_set}, {"regions", std::move(lv)},
              {"server_time_ms", sync_.now_ms()}};
}

}  // namespace lumbung::server

#include "review/record_history.h"

#include <cstdint>
#include <map>
#include <set>

#include "api/problem.h"

#include "lumbung/changeset.h"
#include "lumbung/clock.h"
#include "lumbung/merge.h"
#include "review/reader_scope.h"

namespace lumbung::server {
namespace {

bool never_written(const RecordState& st) { return st.fields.empty() && st.tombstone.empty(); }

Json value_of(const RecordState& st, const std::string& field) {
  auto it = st.fields.find(field);
  return it == st.fields.end() ? Json() : it->second.value;
}

// Who decided each server op of a review entry: walks a resolution (bounded depth) and maps
// the hlc of every op it holds written as `server` to the nearest "by" above it (a
// correction's history keeps each decision with its own "by").
void collect_deciders(const Json& j, const Json& by, std::map<uint64_t, Json>& out, int depth) {
  if (depth > 8) return;
  if (j.is_object()) {
    const Json& here = j.contains("by") && j["by"].is_object() ? j["by"] : by;
    auto hlc = j.find("hlc");
    auto dev = j.find("dev");
    if (hlc != j.end() && hlc->is_number_unsigned() && dev != j.end() && *dev == kServerDeviceId &&
        !here.is_null()) {
      out[hlc->get<uint64_t>()] = here;
    }
    for (const auto& v : j) collect_deciders(v, here, out, depth + 1);
  } else if (j.is_array()) {
    for (const auto& v : j) collect_deciders(v, by, out, depth + 1);
  }
}

// The reviewers behind the record's server ops, from its review entries' resolutions (the
// queues read by the record's own region, a desa's few entries; at most 5 pages of each).
std::map<uint64_t, Json> deciders(ServerStore& store, const std::string& id,
                                  const std::string& scope) {
  std::map<uint64_t, Json> out;
  ReviewQuery q;
  q.status = "all";
  q.prefixes = {scope};
  for (int page = 0; page < 5; ++page) {
    auto p = store.list_conflicts(q);
    for (const auto& r : p.rows) {
      if (r.conflict.record_id == id) collect_deciders(r.resolution, Json(), out, 0);
    }
    if (p.next.empty()) break;
    q.after = p.next;
  }
  q.after.clear();
  for (int page = 0; page < 5; ++page) {
    auto p = store.list_duplicates(q);
    for (const auto& d : p.rows) {
      if (d.record_a == id || d.record_b == id) collect_deciders(d.resolution, Json(), out, 0);
    }
    if (p.next.empty()) break;
    q.after = p.next;
  }
  q.after.clear();
  for (int page = 0; page < 5; ++page) {
    auto p = store.list_refused(q);
    for (const auto& r : p.rows) {
      if (r.record_id == id) collect_deciders(r.resolution, Json(), out, 0);
    }
    if (p.next.empty()) break;
    q.after = p.next;
  }
  return out;
}

// The authors of the page's server ops that no review entry names (status moves from the
// page): one meta read each, at most one per row shown.
void add_op_authors(ServerStore& store, const std::string& id, const std::vector<LogEntry>& rows,
                    std::map<uint64_t, Json>& out) {
  for (const LogEntry& e : rows) {
    if (e.dev != kServerDeviceId) continue;
    Json j = Json::parse(e.op_text, nullptr, false);
    if (!j.is_object() || !j.contains("hlc") || !j["hlc"].is_number_unsigned()) continue;
    const uint64_t hlc = j["hlc"].get<uint64_t>();
    if (out.count(hlc)) continue;
    const std::string text = store.read_meta(op_author_key(hlc, id));
    if (text.empty()) continue;
    Json by = Json::parse(text, nullptr, false);
    if (by.is_object()) out[hlc] = std::move(by);
  }
}

}  // namespace

uint64_t parse_history_before(const std::string& text) {
  if (text.empty()) return 0;
  uint64_t v = 0;
  bool ok = text.size() <= 19;
  for (char c : text) {
    if (!ok || c < '0' || c > '9') {
      ok = false;
      break;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || v == 0 || v > static_cast<uint64_t>(INT64_MAX)) {
    throw ProblemError(ErrorCode::kInvalidArgument,
                       "before must be a log position (a whole number from 1), as the answer's "
                       "\"older\" gives it",
                       Json{{"reason", "bad_before"}}, "before");
  }
  return v;
}

std::string op_author_key(uint64_t hlc, const std::string& id) {
  return "op_by." + std::to_string(hlc) + "." + id;
}

void record_op_author(WriteTxn& txn, uint64_t hlc, const std::string& id, const Principal& who) {
  txn.set_meta(op_author_key(hlc, id),
               Json{{"role", role_name(who.role)}, {"label", who.label}}.dump());
}

Json record_history(const Schema& schema, ServerStore& store, const Principal& who,
                    const std::string& collection, const std::string& id, uint64_t before) {
  const CollectionSchema* cs = schema.collection(collection);
  if (!cs) {
    throw Error(ErrorCode::kUnknownCollection, "unknown collection \"" + collection + "\"");
  }
  if (id.empty() || id.size() > 200) throw Error(ErrorCode::kNotFound, "no record with this id");
  const auto current = store.get_record(collection, id);
  const std::string scope = current ? scope_of(*cs, *current) : std::string();
  if (!current || !reader_sees(who, scope)) {
    throw Error(ErrorCode::kNotFound, "no record with this id");
  }
  const RecordLogPage page = store.record_log(collection, id, kHistoryMaxOps, before);
  // The lead-in: older rows replayed first so that the page's old values are known.
  RecordLogPage lead;
  if (page.cut && !page.entries.empty()) {
    lead = store.record_log(collection, id, kHistoryLeadOps, page.entries.front().pos);
  }
  // The replay starts at the record's first row (every old value known).
  const bool from_start = !page.cut || !lead.cut;
  std::map<std::string, std::string> labels;  // device id -> its label (the officer)
  for (const DeviceRow& d : store.list_devices()) labels[d.device_id] = d.label;

  std::map<uint64_t, Json> decided_by = deciders(store, id, scope);
  add_op_authors(store, id, page.entries, decided_by);

  RecordState st;
  std::set<std::string> known;  // fields whose value before the next op is known (cut)
  Json changes = Json::array();
  const size_t lead_n = lead.entries.size();
  for (size_t i = 0; i < lead_n + page.entries.size(); ++i) {
    const bool shown = i >= lead_n;
    const LogEntry& e = shown ? page.entries[i - lead_n] : lead.entries[i];
    // For one laptop only (a late refusal): not a change of the record.
    if (e.scope.compare(0, 1, kDeviceScopePrefix) == 0) continue;
    Json j = Json::parse(e.op_text, nullptr, false);
    if (!j.is_object()) continue;
    // Region-move notices repeat the record or say it left; the moving op is shown itself.
    if (j.contains("rec") || j.contains("gone") || j.contains("refused")) continue;
    Op op;
    try {
      op = decode_op(std::move(j), e.dev);
    } catch (const Error&) {
      continue;  // not an op this server can read (never written by it)
    }
    const RecordState prior = st;
    // Not from the start: the record's first op lies before the replay, none here creates it.
    const bool created = from_start && never_written(prior);
    const ApplyResult r = apply_op(*cs, st, op);
    if (!shown) {
      if (op.set.is_object()) {
        for (auto it = op.set.begin(); it != op.set.end(); ++it) known.insert(it.key());
      }
      continue;
    }
    Json fields = Json::array();
    for (const std::string& f : r.changed_fields) {
      Json c{{"field", f}, {"old", value_of(prior, f)}, {"new", value_of(st, f)}};
      c["old_known"] = from_start || known.count(f) > 0 || created;
      fields.push_back(std::move(c));
    }
    Json unchanged = Json::array();
    const std::set<std::string> changed(r.changed_fields.begin(), r.changed_fields.end());
    if (op.set.is_object()) {
      for (auto it = op.set.begin(); it != op.set.end(); ++it) {
        if (changed.count(it.key())) continue;
        // Set but not changed: the same value again, or lost to a newer write.
        unchanged.push_back(
            Json{{"field", it.key()}, {"value", it.value()}, {"kept", value_of(st, it.key())}});
      }
      for (auto it = op.set.begin(); it != op.set.end(); ++it) known.insert(it.key());
    }
    const auto dev = labels.find(op.version.device);
    const auto by =
        op.version.device == kServerDeviceId ? decided_by.find(op.version.hlc) : decided_by.end();
    changes.push_back(Json{
        {"by", by == decided_by.end() ? Json() : by->second},
        {"pos", e.pos},
        {"device", op.version.device},
        {"label", dev == labels.end() ? std::string() : dev->second},
        {"seq", op.seq},
        {"hlc", op.version.hlc},
        {"at_ms", hlc::physical_ms(op.version.hlc)},
        {"kind", op.is_delete ? "delete" : (created ? "create" : "update")},
        {"changed", r.changed},
        {"live_before", !created && prior.live()},
        {"live_after", st.live()},
        {"fields", std::move(fields)},
        {"unchanged", std::move(unchanged)},
    });
  }
  const bool older = page.cut && !page.entries.empty();
  return Json{{"id", id},
              {"collection", collection},
              {"scope", scope},
              {"cut", page.cut},
              {"before", before > 0 ? Json(before) : Json()},
              {"older", older ? Json(page.entries.front().pos) : Json()},
              {"lead_ops", lead_n},
              {"from_start", from_start},
              {"max_ops", kHistoryMaxOps},
              {"changes", std::move(changes)}};
}

}  // namespace lumbung::server

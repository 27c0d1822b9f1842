#include "review/record_history.h"

#include <map>
#include <set>

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

}  // namespace

Json record_history(const Schema& schema, ServerStore& store, const Principal& who,
                    const std::string& collection, const std::string& id) {
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
  const RecordLogPage page = store.record_log(collection, id, kHistoryMaxOps);
  std::map<std::string, std::string> labels;  // device id -> its label (the officer)
  for (const DeviceRow& d : store.list_devices()) labels[d.device_id] = d.label;

  RecordState st;
  std::set<std::string> known;  // fields whose value before the next op is known (cut)
  Json changes = Json::array();
  for (const LogEntry& e : page.entries) {
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
    const RecordState before = st;
    // Cut: the record's first op lies before the window, none here is its creation.
    const bool created = !page.cut && never_written(before);
    const ApplyResult r = apply_op(*cs, st, op);
    Json fields = Json::array();
    for (const std::string& f : r.changed_fields) {
      Json c{{"field", f}, {"old", value_of(before, f)}, {"new", value_of(st, f)}};
      c["old_known"] = !page.cut || known.count(f) > 0 || created;
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
    changes.push_back(Json{
        {"pos", e.pos},
        {"device", op.version.device},
        {"label", dev == labels.end() ? std::string() : dev->second},
        {"seq", op.seq},
        {"hlc", op.version.hlc},
        {"at_ms", hlc::physical_ms(op.version.hlc)},
        {"kind", op.is_delete ? "delete" : (created ? "create" : "update")},
        {"changed", r.changed},
        {"live_before", !created && before.live()},
        {"live_after", st.live()},
        {"fields", std::move(fields)},
        {"unchanged", std::move(unchanged)},
    });
  }
  return Json{{"id", id},        {"collection", collection},  {"scope", scope},
              {"cut", page.cut}, {"max_ops", kHistoryMaxOps}, {"changes", std::move(changes)}};
}

}  // namespace lumbung::server

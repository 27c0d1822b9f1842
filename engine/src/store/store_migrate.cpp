// A device store opened under a newer schema version (issue 18, docs/ARCHITECTURE.md
// "Schema versions"): its records take the new field names in the opening transaction.
// Only a store without unsent changes moves, so every change it sends is of the version
// it was opened under (its "sv", store_sync.cpp) and none is ever rewritten.
#include "lumbung/error.h"
#include "store/store_impl.h"

namespace lumbung {

bool Store::Impl::move_schema_version(int old_version) {
  const int new_version = schema->version();
  // A version without a changelog (a document edited in place, tests) only renumbers.
  if (new_version < old_version || schema->changelog().is_null()) return false;
  reload_counters();
  // Unsent changes keep the version they were written under only while the store does:
  // they go first (the laptop opens with its old schema, syncs, then moves on).
  if (next_seq - 1 > acked_seq) {
    throw Error(ErrorCode::kSchemaMismatch,
                "this store holds " + std::to_string(next_seq - 1 - acked_seq) +
                    " unsent changes written under schema version " + std::to_string(old_version) +
                    ": sync them under that version before "
                    "opening it under version " +
                    std::to_string(new_version));
  }
  const auto steps =
      parse_changelog(Json{{"version", new_version}, {"changelog", schema->changelog()}});
  bool rewritten = false;
  for_each_record_row(
      true, [&](const CollectionSchema& cs, const std::string& id, RecordState& state) {
        RecordState next;
        next.tombstone = state.tombstone;
        bool moved = false;
        for (auto& [name, fv] : state.fields) {
          const std::string now = name_after_steps(steps, cs.name(), name, old_version);
          if (now != name) moved = true;
          if (now.empty()) continue;  // retired: its value stays in the log (history)
          // The new name may already hold a value pulled from the server: the newer wins.
          auto it = next.fields.find(now);
          if (it == next.fields.end() || it->second.version < fv.version) {
            next.fields[now] = std::move(fv);
          }
        }
        if (!moved) return;
        save(cs, id, next);
        rewritten = true;
      });
  return rewritten;
}

}  // namespace lumbung

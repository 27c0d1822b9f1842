// A device store opened under a newer schema version (issue 18, docs/ARCHITECTURE.md
// "Schema versions"): its records take the new field names in the opening transaction.
//
// Unsent changes move with it and keep what they were written under: the server upgrades
// an op of any older version through the same steps, keeps a retired field's value in the
// record's history and sends what a newer rule refuses to review (newer_schema_rule), none
// of which a rewrite on the laptop could do. So the move notes the version of the changes
// logged so far (meta "sv_upto": {"<version>": last seq written under it}), which
// pending_wire puts in their "sv"; and an unsent create, which is read back from its record
// at send time (store_sync.cpp), is first written into the log as it stands, in the old
// version's names, before the record is renamed.
#include <map>

#include "lumbung/error.h"
#include "store/store_impl.h"

namespace lumbung {

Store::Impl::WrittenVersions Store::Impl::written_versions() const {
  WrittenVersions w;
  w.current = schema->version();
  const std::string text = meta("sv_upto");
  if (text.empty()) return w;
  const Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) throw Error(ErrorCode::kCorrupt, "meta sv_upto is not a JSON object");
  std::map<int, uint64_t> by_version;
  for (const auto& [v, upto] : j.items()) {
    if (!upto.is_number_unsigned()) throw Error(ErrorCode::kCorrupt, "meta sv_upto is damaged");
    by_version[std::stoi(v)] = upto.get<uint64_t>();
  }
  w.upto.assign(by_version.begin(), by_version.end());
  return w;
}

int Store::Impl::WrittenVersions::of(uint64_t seq) const {
  for (const auto& [version, last] : upto) {
    if (seq <= last) return version;
  }
  return current;
}

bool Store::Impl::move_schema_version(int old_version) {
  const int new_version = schema->version();
  // A version without a changelog (a document edited in place, tests) only renumbers.
  if (new_version < old_version || schema->changelog().is_null()) return false;
  reload_counters();
  bool rewritten = false;
  if (next_seq - 1 > acked_seq) {
    // Unsent creates, as they stand, into the log before their records are renamed.
    struct Frozen {
      uint64_t seq;
      int64_t wall_ms;
      Op op;
    };
    std::vector<Frozen> creates;
    auto& sel = db->prepare("SELECT " LB_CHANGE_COLS
                            " FROM changes WHERE seq>?1 AND op IS NULL AND sealed IS NULL "
                            "ORDER BY seq");
    sel.bind(1, static_cast<int64_t>(acked_seq));
    try {
      while (sel.step()) {
        creates.push_back({static_cast<uint64_t>(sel.column_int(cc::kSeq)),
                           sel.column_int(cc::kWall), change_from_row(sel)});
      }
    } catch (...) {
      sel.reset();
      throw;
    }
    sel.reset();
    for (const Frozen& f : creates) {
      const std::string text = encode_op(f.op, false).dump();
      const auto oc = op_columns(f.seq, &text);
      auto& upd = db->prepare("UPDATE changes SET op=?2, sealed=?3, mac=?4 WHERE seq=?1");
      upd.bind(1, static_cast<int64_t>(f.seq));
      bind_op_columns(upd, 2, oc);
      bind_mac(upd, 4,
               change_mac(f.seq, f.op.collection, f.op.id, f.op.version.hlc, f.wall_ms, oc));
      upd.run();
    }
    // Every change logged so far was written under old_version (or under an older one an
    // earlier move noted).
    Json upto = Json::object();
    if (const std::string was = meta("sv_upto"); !was.empty()) upto = Json::parse(was);
    const std::string key = std::to_string(old_version);
    if (!upto.contains(key)) upto[key] = next_seq - 1;
    put_meta("sv_upto", upto.dump());
    rewritten = true;
  }
  const auto steps =
      parse_changelog(Json{{"version", new_version}, {"changelog", schema->changelog()}});
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

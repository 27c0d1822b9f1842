// The device store's change log and conflict bookkeeping (Store::Impl members declared in
// store_impl.h): logging a write, rewriting bases after a re-stamp, joining own writes back
// into a record that arrives whole, recording and settling conflict entries.

#include "lumbung/schema_versions.h"
#include "store/store_impl.h"

namespace lumbung {

// `op_text` nullptr: a create read back from its record (older stores; store.cpp).
void Store::Impl::log_change(const Op& op, const std::string* op_text) {
  auto& ins = db->prepare(
      "INSERT INTO changes(seq,col,id,hlc,wall_ms,op,sealed,mac) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
  const int64_t wall_ms = wall->now_ms();
  ins.bind(1, static_cast<int64_t>(op.seq))
      .bind_static(2, op.collection)
      .bind_static(3, op.id)
      .bind(4, static_cast<int64_t>(op.version.hlc))
      .bind(5, wall_ms);
  const OpColumns oc = op_columns(op.seq, op_text);
  bind_op_columns(ins, 6, oc);
  bind_mac(ins, 8, change_mac(op.seq, op.collection, op.id, op.version.hlc, wall_ms, oc));
  ins.run();
}

// Log entries after `after_seq` on `records`, written before the server re-stamped this
// device's versions (`aliases`: old hlc -> new), name the old versions in their base;
// rewritten to the new ones, or the server would read a base from the far future as a
// sight of every write (tests/sim seed 425). Creates carry no base. Inside a transaction.
void Store::Impl::rebase_pending(const std::map<uint64_t, uint64_t>& aliases,
                                 const std::set<std::string>& records, uint64_t after_seq) {
  if (aliases.empty()) return;
  struct Rewrite {
    uint64_t seq;
    Op op;
    int64_t wall_ms;
  };
  std::vector<Rewrite> rewrites;
  auto& sel = db->prepare("SELECT " LB_CHANGE_COLS
                          " FROM changes WHERE seq>?1 AND (op IS NOT NULL OR sealed IS NOT "
                          "NULL) ORDER BY seq");
  sel.bind(1, static_cast<int64_t>(after_seq));
  try {
    while (sel.step()) {
      if (!records.count(sel.column_text(cc::kId))) continue;
      Op op = change_from_row(sel);
      bool changed = false;
      for (auto& [field, v] : op.base) {
        if (v.device != device) continue;
        if (auto it = aliases.find(v.hlc); it != aliases.end()) {
          v.hlc = it->second;
          changed = true;
        }
      }
      if (changed) {
        rewrites.push_back({static_cast<uint64_t>(sel.column_int(cc::kSeq)), std::move(op),
                            sel.column_int(cc::kWall)});
      }
    }
  } catch (...) {
    sel.reset();
    throw;
  }
  sel.reset();
  for (const Rewrite& r : rewrites) {
    const std::string text = encode_op(r.op, false).dump();
    const auto oc = op_columns(r.seq, &text);
    auto& upd = db->prepare("UPDATE changes SET op=?2, sealed=?3, mac=?4 WHERE seq=?1");
    upd.bind(1, static_cast<int64_t>(r.seq));
    bind_op_columns(upd, 2, oc);
    bind_mac(upd, 4, change_mac(r.seq, r.op.collection, r.op.id, r.op.version.hlc, r.wall_ms, oc));
    upd.run();
  }
}

// Records that came back whole ("rec": moved into this device's regions again) hold the
// server's snapshot taken at the move, which may predate this device's own later writes
// to them; the server never sends a device its own ops, so they are joined back from the
// log (kept after acknowledgement; refused ones excepted): each field takes the winner by
// the merge's rule (field_wins: rank, then version) and the tombstone the newer version,
// as the merge of a whole record does (tests/sim seed 1250).
void Store::Impl::rejoin_own_writes(const std::map<std::string, std::string>& records,
                                    bool rebuild_absent) {
  if (records.empty()) return;
  std::vector<Op> own;
  auto& log = db->prepare("SELECT " LB_CHANGE_COLS
                          " FROM changes WHERE (op IS NOT NULL OR sealed IS NOT NULL) AND seq NOT "
                          "IN (SELECT seq FROM refused) ORDER BY seq");
  try {
    while (log.step()) {
      if (records.count(log.column_text(cc::kId))) own.push_back(change_from_row(log));
    }
  } catch (...) {
    log.reset();
    throw;
  }
  log.reset();
  // The log keeps each change in the names of the version it was written under; a store
  // moved to a newer version since takes them in today's names (a retired field's value
  // stays in the log only), as the move did to the records (store_migrate.cpp).
  const auto name_now = current_names();
  for (const Op& op : own) {
    auto st = load(op.collection, op.id);
    if (!st && !rebuild_absent) continue;
    if (!st) st = RecordState{};
    bool changed = false;
    if (op.is_delete) {
      if (st->tombstone < op.version) {
        st->tombstone = op.version;
        changed = true;
      }
    } else {
      const CollectionSchema& cs = collection(op.collection);
      for (const auto& [written, value] : op.set.items()) {
        const std::string field = name_now(op.collection, written);
        if (field.empty()) continue;  // retired since it was written
        FieldValue& fv = st->fields[field];
        FieldValue incoming{value, op.version};
        // The merge's rule, rank included: a forward_only field the server kept by rank
        // over this newer own write stays (tests/sim --restores seed 54625).
        if (fv.version != op.version && field_wins(cs.field(field), incoming, fv)) {
          fv = std::move(incoming);
          changed = true;
        }
      }
    }
    if (changed) save(collection(op.collection), op.id, *st);
  }
}

std::function<std::string(const std::string&, const std::string&)> Store::Impl::current_names()
    const {
  // Read from version 1: names are never reused, so a name of any version maps to the same
  // current one.
  std::map<int, std::vector<SchemaStep>> steps;
  if (schema->version() > 1 && !schema->changelog().is_null()) {
    steps =
        parse_changelog(Json{{"version", schema->version()}, {"changelog", schema->changelog()}});
  }
  return [steps = std::move(steps)](const std::string& collection, const std::string& name) {
    return steps.empty() ? name : name_after_steps(steps, collection, name, 1);
  };
}

void Store::Impl::record_conflicts(const std::vector<Conflict>& conflicts) {
  for (const auto& c : conflicts) {
    const Version& hi = c.winner.version > c.loser.version ? c.winner.version : c.loser.version;
    const std::string body = encode_conflict(c).dump();
    auto& ins = db->prepare(
        "INSERT OR IGNORE INTO conflicts(cid,kind,col,rid,field,body,hi_hlc,hi_dev,found_ms,"
        "sealed,mac) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    const int64_t found_ms = wall->now_ms();
    ins.bind(1, c.id)
        .bind(2, conflict_kind_name(c.kind))
        .bind(3, c.collection)
        .bind(4, c.record_id)
        .bind(5, c.field)
        .bind(7, static_cast<int64_t>(hi.hlc))
        .bind(8, hi.device)
        .bind(9, found_ms);
    if (keys) {
      const std::string sealed = seal(body, "cfl:" + c.id);
      ins.bind(6, std::string_view("")).bind_blob(10, sealed.data(), sealed.size());
      bind_mac(ins, 11,
               conflict_mac(c, "", static_cast<int64_t>(hi.hlc), hi.device, found_ms, sealed));
    } else {
      ins.bind(6, body).bind_null(10).bind_null(11);
    }
    ins.run();
  }
}

// A write that had seen both sides of a conflict settles it on this replica.
void Store::Impl::settle_conflicts(const Op& op) {
  static constexpr const char* kWhich =
      " WHERE col=?1 AND rid=?2 AND resolved=0 AND (field=?3 OR field='') AND "
      "(hi_hlc < ?4 OR (hi_hlc = ?4 AND hi_dev <= ?5))";
  auto settle = [&](const std::string& field, const Version& base) {
    auto bind = [&](sql::Statement& st) {
      st.bind(1, op.collection)
          .bind(2, op.id)
          .bind(3, field)
          .bind(4, static_cast<int64_t>(base.hlc))
          .bind(5, base.device);
    };
    if (!keys) {
      auto& upd = db->prepare(std::string("UPDATE conflicts SET resolved=1") + kWhich);
      bind(upd);
      upd.run();
      return;
    }
    // Encrypted: each settled row gets its MAC again (resolved is covered).
    auto& sel = db->prepare(std::string("SELECT " LB_CONFLICT_COLS " FROM conflicts") + kWhich);
    bind(sel);
    std::vector<std::pair<std::string, std::string>> settled;  // cid, new MAC
    while (sel.step()) {
      if (!row_intact(sel, kMacConflict, 0, 11)) {
        const std::string cid = sel.column_text(0);
        sel.reset();
        throw_tampered("conflict " + cid);
      }
      settled.emplace_back(sel.column_text(0), row_mac_of(sel, kMacConflict, 0, 11, 9, 1));
    }
    sel.reset();
    for (const auto& [cid, mac] : settled) {
      auto& upd = db->prepare("UPDATE conflicts SET resolved=1, mac=?2 WHERE cid=?1");
      upd.bind(1, cid);
      bind_mac(upd, 2, mac);
      upd.run();
    }
  };
  for (const auto& [field, base] : op.base) settle(field == "*" ? "" : field, base);
}

}  // namespace lumbung

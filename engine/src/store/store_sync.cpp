// The device store's sync side: the outbox (pending changes read for push, acknowledged,
// re-stamped, rewound) and applying what the server sends (pulled pages). Local writes and
// reads are in store.cpp; the shared state is Store::Impl (store_impl.h).

#include "lumbung/store.h"

#include "store/store_impl.h"

namespace lumbung {

std::vector<PendingChange> Store::pending_changes(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT seq, col, id, hlc, op, sealed, wall_ms FROM changes WHERE seq>?1 ORDER BY seq "
      "LIMIT ?2");
  st.bind(1, static_cast<int64_t>(std::max(after_seq, impl_->acked_seq)));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<PendingChange> out;
  try {
    while (st.step()) out.push_back({impl_->change_from_row(st), false, st.column_int(6)});
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

std::vector<WireChange> Store::pending_wire(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT c.seq, c.col, c.id, c.hlc, c.op, c.sealed, c.wall_ms, r.doc, r.ver, r.sealed "
      "FROM changes c LEFT JOIN records r ON c.op IS NULL AND c.sealed IS NULL AND r.id = c.id "
      "WHERE c.seq>?1 ORDER BY c.seq LIMIT ?2");
  st.bind(1, static_cast<int64_t>(std::max(after_seq, impl_->acked_seq)));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<WireChange> out;
  try {
    while (st.step()) {
      WireChange w;
      w.seq = static_cast<uint64_t>(st.column_int(0));
      w.written_ms = st.column_int(6);
      const bool create = st.column_is_null(4) && st.column_is_null(5);
      const std::string one_version =
          codec::encode_one_version({static_cast<uint64_t>(st.column_int(3)), impl_->device});
      if (!create && !st.column_is_null(4)) {
        w.json = st.column_text(4);  // updates and deletes are logged in wire form
      } else if (create && st.column_is_null(9) && !st.column_is_null(7) &&
                 st.column_view(8) == one_version) {
        // A create none of whose fields changed since: its values are the record's doc.
        w.json = "{\"seq\":" + std::to_string(w.seq) + ",\"col\":" + json_quote(st.column_text(1)) +
                 ",\"id\":" + json_quote(st.column_text(2)) +
                 ",\"hlc\":" + std::to_string(st.column_int(3)) + ",\"set\":";
        w.json.append(st.column_view(7));
        w.json += "}";
      } else {
        w.json = encode_op(impl_->change_from_row(st), false).dump();
      }
      out.push_back(std::move(w));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

uint64_t Store::pending_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->next_seq - 1 - impl_->acked_seq;
}

uint64_t Store::acknowledge(uint64_t up_to_seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (up_to_seq <= impl_->acked_seq) return 0;
  if (up_to_seq >= impl_->next_seq) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot acknowledge seq " + std::to_string(up_to_seq) + ": not written yet");
  }
  impl_->put_meta("acked_seq", std::to_string(up_to_seq));
  const uint64_t newly = up_to_seq - impl_->acked_seq;
  impl_->acked_seq = up_to_seq;
  return newly;
}

void Store::apply_restamps(const std::vector<std::pair<uint64_t, uint64_t>>& seq_to_hlc) {
  if (seq_to_hlc.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  for (const auto& [seq, fresh] : seq_to_hlc) {
    auto& st = impl_->db->prepare("SELECT seq, col, id, hlc, op, sealed FROM changes WHERE seq=?1");
    st.bind(1, static_cast<int64_t>(seq));
    if (!st.step()) {
      st.reset();
      throw Error(ErrorCode::kProtocol, "server re-stamped seq " + std::to_string(seq) +
                                            " which this device never wrote");
    }
    const bool is_create = st.column_is_null(4) && st.column_is_null(5);
    Op op = impl_->change_from_row(st);
    st.reset();
    const Version old = op.version;
    const Version now{fresh, impl_->device};
    const CollectionSchema& cs = impl_->collection(op.collection);
    if (auto state = impl_->load(op.collection, op.id)) {
      for (auto& [_, fv] : state->fields) {
        if (fv.version == old) fv.version = now;
      }
      if (state->tombstone == old) state->tombstone = now;
      impl_->save(cs, op.id, *state);
    }
    op.version = now;
    auto& upd = impl_->db->prepare("UPDATE changes SET hlc=?2, op=?3, sealed=?4 WHERE seq=?1");
    upd.bind(1, static_cast<int64_t>(seq)).bind(2, static_cast<int64_t>(fresh));
    const std::string text = is_create ? std::string() : encode_op(op, false).dump();
    impl_->bind_op_text(upd, 3, seq, is_create ? nullptr : &text);
    upd.run();
    impl_->clock->observe(fresh);
  }
  impl_->persist_clock();
  txn.commit();
}

void Store::rewind_acknowledged(uint64_t seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (seq >= impl_->acked_seq) return;
  impl_->put_meta("acked_seq", std::to_string(seq));
  impl_->acked_seq = seq;
}

std::vector<Conflict> Store::conflicts(bool include_resolved) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT body, sealed, cid FROM conflicts WHERE (?1 OR resolved=0) ORDER BY found_ms DESC, "
      "cid");
  st.bind(1, int64_t{include_resolved ? 1 : 0});
  std::vector<Conflict> out;
  try {
    while (st.step()) {
      const std::string body = st.column_is_null(1)
                                   ? st.column_text(0)
                                   : impl_->unseal(st.column_view(1), "cfl:" + st.column_text(2));
      out.push_back(decode_conflict(Json::parse(body)));
    }
  } catch (const Json::exception& e) {
    st.reset();
    throw Error(ErrorCode::kCorrupt, std::string("stored conflict is not JSON: ") + e.what());
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

RemoteApplyResult Store::apply_remote(
    const std::vector<Op>& ops, const std::vector<std::pair<std::string, std::string>>& meta) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  RemoteApplyResult out;
  // Settling needs a statement per op; a page with no open conflicts anywhere skips it.
  bool any_open = false;
  {
    auto& st = impl_->db->prepare("SELECT EXISTS(SELECT 1 FROM conflicts WHERE resolved=0)");
    st.step();
    any_open = st.column_int(0) != 0;
    st.reset();
  }
  for (const Op& op : ops) {
    const CollectionSchema* cs = impl_->schema->collection(op.collection);
    if (!cs) {
      throw Error(ErrorCode::kProtocol,
                  "remote op for unknown collection \"" + op.collection + "\"");
    }
    impl_->clock->observe(op.version.hlc);
    if (op.gone) {
      impl_->move_away(op.collection, op.id);
      ++out.applied;
      continue;
    }
    if (!op.record.is_null() && impl_->away.erase(op.id) > 0) {
      impl_->db->prepare("DELETE FROM away WHERE id=?1").bind(1, op.id).run();
    }
    // Most pulled ops create records this replica has never seen: insert, no lookup first.
    if (!op.is_delete && op.base.empty() && !op.set.empty() &&
        impl_->insert_fresh(*cs, op.id, op.set, op.version)) {
      ++out.applied;
      continue;
    }
    RecordState st = impl_->load(op.collection, op.id).value_or(RecordState{});
    ApplyResult r = apply_op(*cs, st, op);
    if (r.changed) {
      impl_->save(*cs, op.id, st);
      ++out.applied;
    } else {
      ++out.duplicates;
    }
    impl_->record_conflicts(r.conflicts);
    any_open = any_open || !r.conflicts.empty();
    if (any_open) impl_->settle_conflicts(op);
    out.conflicts.insert(out.conflicts.end(), r.conflicts.begin(), r.conflicts.end());
  }
  for (const auto& [k, v] : meta) impl_->put_meta(k, v);
  impl_->persist_clock();
  txn.commit();
  return out;
}

void Store::record_refused(const std::vector<RefusedChange>& refused) {
  if (refused.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  for (const RefusedChange& r : refused) {
    auto& ins = impl_->db->prepare(
        "INSERT OR IGNORE INTO refused(seq,col,rid,code,field,message,at_ms,sealed) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    ins.bind(1, static_cast<int64_t>(r.seq))
        .bind(2, r.collection)
        .bind(3, r.record_id)
        .bind(4, r.code)
        .bind(5, r.field)
        .bind(7, r.at_ms);
    if (impl_->keys) {  // the server's message may quote the refused value
      const std::string sealed = impl_->seal(r.message, "ref:" + std::to_string(r.seq));
      ins.bind(6, std::string_view("")).bind_blob(8, sealed.data(), sealed.size());
    } else {
      ins.bind(6, r.message).bind_null(8);
    }
    ins.run();
  }
  txn.commit();
}

std::vector<RefusedChange> Store::refused_changes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare(
      "SELECT seq, col, rid, code, field, message, at_ms, sealed FROM refused ORDER BY seq DESC");
  std::vector<RefusedChange> out;
  try {
    while (st.step()) {
      RefusedChange r;
      r.seq = static_cast<uint64_t>(st.column_int(0));
      r.collection = st.column_text(1);
      r.record_id = st.column_text(2);
      r.code = st.column_text(3);
      r.field = st.column_text(4);
      r.message = st.column_is_null(7)
                      ? st.column_text(5)
                      : impl_->unseal(st.column_view(7), "ref:" + std::to_string(r.seq));
      r.at_ms = st.column_int(6);
      out.push_back(std::move(r));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

void Store::apply_stored(const std::vector<std::pair<uint64_t, Json>>& seq_to_values) {
  if (seq_to_values.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  for (const auto& [seq, values] : seq_to_values) {
    if (!values.is_object()) throw Error(ErrorCode::kProtocol, "\"stored\" values must be an object");
    auto& st = impl_->db->prepare("SELECT col, id, hlc FROM changes WHERE seq=?1");
    st.bind(1, static_cast<int64_t>(seq));
    if (!st.step()) {
      st.reset();
      throw Error(ErrorCode::kProtocol, "server stored values for seq " + std::to_string(seq) +
                                            " which this device never wrote");
    }
    const std::string col = st.column_text(0), id = st.column_text(1);
    const Version v{static_cast<uint64_t>(st.column_int(2)), impl_->device};
    st.reset();
    auto state = impl_->load(col, id);
    if (!state) continue;
    bool changed = false;
    for (const auto& [field, value] : values.items()) {
      auto it = state->fields.find(field);
      // Only a field still at this change's version holds the value the server normalised.
      if (it != state->fields.end() && it->second.version == v && it->second.value != value) {
        it->second.value = value;
        changed = true;
      }
    }
    if (changed) impl_->save(impl_->collection(col), id, *state);
  }
  txn.commit();
}

void Store::set_regions(const std::vector<std::string>& prefixes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->put_meta("regions", Json(prefixes).dump());
  impl_->regions = prefixes;
}

std::vector<std::string> Store::regions() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->regions;
}

}  // namespace lumbung

// The device store's sync side: the outbox (pending changes read for push, acknowledged,
// re-stamped, rewound) and applying what the server sends (pulled pages). Local writes and
// reads are in store.cpp; the shared state is Store::Impl (store_impl.h).

#include <algorithm>

#include "lumbung/store.h"

#include "store/record_codec.h"
#include "store/store_impl.h"

namespace lumbung {

std::vector<PendingChange> Store::pending_changes(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // The record rows are joined for their MACs, as in pending_wire.
  auto& st = impl_->db->prepare(
      "SELECT c.seq, c.col, c.id, c.hlc, c.wall_ms, c.op, c.sealed, c.mac, "
      "r.col, r.id, r.doc, r.ver, r.del_hlc, r.del_dev, r.live, r.scope, r.nkey, r.sealed, r.mac "
      "FROM changes c LEFT JOIN records r ON r.id = c.id "
      "WHERE c.seq>?1 ORDER BY c.seq LIMIT ?2");
  constexpr int kRec = cc::kCount + 1;  // the record's first column
  const uint64_t from = std::max(after_seq, impl_->acked_seq);
  st.bind(1, static_cast<int64_t>(from));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<PendingChange> out;
  uint64_t expect = from + 1;
  try {
    while (st.step()) {
      impl_->check_next_seq(expect, static_cast<uint64_t>(st.column_int(cc::kSeq)));
      if (!st.column_is_null(kRec + rc::kId)) impl_->check_record_row(st, kRec);
      out.push_back({impl_->change_from_row(st), false, st.column_int(cc::kWall)});
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

std::vector<WireChange> Store::pending_wire(size_t limit, uint64_t after_seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Each entry's record row is joined: a create of an older store is read back from it, and
  // on an encrypted store the row's MAC is checked with the entry's before anything is
  // sent, so a record edited in the file without the passphrase stops the push.
  auto& st = impl_->db->prepare(
      "SELECT c.seq, c.col, c.id, c.hlc, c.wall_ms, c.op, c.sealed, c.mac, "
      "r.col, r.id, r.doc, r.ver, r.del_hlc, r.del_dev, r.live, r.scope, r.nkey, r.sealed, r.mac "
      "FROM changes c LEFT JOIN records r ON r.id = c.id "
      "WHERE c.seq>?1 ORDER BY c.seq LIMIT ?2");
  constexpr int kRec = cc::kCount + 1;  // the record's first column
  const uint64_t from = std::max(after_seq, impl_->acked_seq);
  st.bind(1, static_cast<int64_t>(from));
  st.bind(2, static_cast<int64_t>(limit));
  std::vector<WireChange> out;
  uint64_t expect = from + 1;
  // Each change says the schema version it was written under (changes from before a move
  // keep theirs: store_migrate.cpp); 1 is the wire's default.
  const auto versions = impl_->written_versions();
  auto tagged = [&](WireChange& w) -> WireChange&& {
    const int sv = versions.of(w.seq);
    if (sv != 1 && w.json.size() > 1) {
      w.json.insert(1, "\"sv\":" + std::to_string(sv) + ",");  // after '{'
    }
    return std::move(w);
  };
  try {
    while (st.step()) {
      WireChange w;
      w.seq = static_cast<uint64_t>(st.column_int(cc::kSeq));
      w.written_ms = st.column_int(cc::kWall);
      impl_->check_next_seq(expect, w.seq);
      const bool create = st.column_is_null(cc::kOp) && st.column_is_null(cc::kSealed);
      const bool has_record = !st.column_is_null(kRec + rc::kId);
      if (!create) {
        if (has_record) impl_->check_record_row(st, kRec);
        if (!st.column_is_null(cc::kOp)) {
          impl_->check_change_row(st, 0);
          w.json = st.column_text(cc::kOp);  // updates and deletes are logged in wire form
        } else {
          w.json = encode_op(impl_->change_from_row(st), false).dump();
        }
        out.push_back(tagged(w));
        continue;
      }
      impl_->check_change_row(st, 0);
      if (has_record) {
        impl_->check_record_row(st, kRec);
      } else {
        impl_->throw_create_without_record(w.seq, st.column_text(cc::kId));
      }
      const auto hlc = static_cast<uint64_t>(st.column_int(cc::kHlc));
      if (has_record && st.column_is_null(kRec + rc::kSealed) &&
          st.column_view(kRec + rc::kVer) == codec::encode_one_version({hlc, impl_->device})) {
        // A create none of whose fields changed since: its values are the record's doc.
        w.json = "{\"seq\":" + std::to_string(w.seq) +
                 ",\"col\":" + json_quote(st.column_text(cc::kCol)) +
                 ",\"id\":" + json_quote(st.column_text(cc::kId)) +
                 ",\"hlc\":" + std::to_string(hlc) + ",\"set\":";
        w.json.append(st.column_view(kRec + rc::kDoc));
        w.json += "}";
      } else {
        std::optional<RecordState> state;
        if (has_record) state = impl_->decode_row(st, kRec, /*check=*/false);
        w.json = encode_op(impl_->create_op(w.seq, st.column_text(cc::kCol),
                                            st.column_text(cc::kId), hlc, state),
                           false)
                     .dump();
      }
      out.push_back(tagged(w));
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
  // Another process writing this store may have logged (and this one pushed) entries
  // after this Store last looked.
  if (up_to_seq >= impl_->next_seq) impl_->reload_counters();
  if (up_to_seq <= impl_->acked_seq) return 0;
  if (up_to_seq >= impl_->next_seq) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot acknowledge seq " + std::to_string(up_to_seq) + ": not written yet");
  }
  sql::Transaction txn(*impl_->db);
  impl_->put_meta("acked_seq", std::to_string(up_to_seq));
  if (!impl_->away.empty()) {
    // A record that left this device's regions was kept (hidden) only for its unsent
    // changes: once they are sent, the person's data goes (tests/sim --restores seed 1747).
    impl_->db
        ->prepare(
            "DELETE FROM records WHERE id IN (SELECT id FROM away) AND NOT EXISTS (SELECT 1 "
            "FROM changes WHERE changes.id=records.id AND changes.seq>?1)")
        .bind(1, static_cast<int64_t>(up_to_seq))
        .run();
  }
  txn.commit();
  const uint64_t newly = up_to_seq - impl_->acked_seq;
  impl_->acked_seq = up_to_seq;
  return newly;
}

void Store::apply_restamps(const std::vector<std::pair<uint64_t, uint64_t>>& seq_to_hlc) {
  if (seq_to_hlc.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  std::map<uint64_t, uint64_t> aliases;  // old hlc -> the server's
  std::set<std::string> records;
  uint64_t first_seq = UINT64_MAX;
  for (const auto& [seq, fresh] : seq_to_hlc) {
    auto& st = impl_->db->prepare("SELECT " LB_CHANGE_COLS " FROM changes WHERE seq=?1");
    st.bind(1, static_cast<int64_t>(seq));
    if (!st.step()) {
      st.reset();
      throw Error(ErrorCode::kProtocol, "server re-stamped seq " + std::to_string(seq) +
                                            " which this device never wrote");
    }
    const bool is_create = st.column_is_null(cc::kOp) && st.column_is_null(cc::kSealed);
    const int64_t wall_ms = st.column_int(cc::kWall);
    Op op;
    try {
      op = impl_->change_from_row(st);
    } catch (...) {
      st.reset();
      throw;
    }
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
    aliases[old.hlc] = fresh;
    records.insert(op.id);
    first_seq = std::min(first_seq, seq);
    auto& upd =
        impl_->db->prepare("UPDATE changes SET hlc=?2, op=?3, sealed=?4, mac=?5 WHERE seq=?1");
    upd.bind(1, static_cast<int64_t>(seq)).bind(2, static_cast<int64_t>(fresh));
    const std::string text = is_create ? std::string() : encode_op(op, false).dump();
    const auto oc = impl_->op_columns(seq, is_create ? nullptr : &text);
    impl_->bind_op_columns(upd, 3, oc);
    impl_->bind_mac(upd, 5, impl_->change_mac(seq, op.collection, op.id, fresh, wall_ms, oc));
    upd.run();
    impl_->clock->observe(fresh);
  }
  impl_->rebase_pending(aliases, records, first_seq);
  // A server restored from an older copy may hold these ops under other stamps (a stale
  // copy of the push re-stamped again there); after a replay they are sent again from here
  // so that its answer tells (SyncClient, tests/regressions/restore_test.cpp).
  const std::string from = impl_->meta("restamped_from");
  if (from.empty() || std::stoull(from) > first_seq) {
    impl_->put_meta("restamped_from", std::to_string(first_seq));
  }
  impl_->persist_clock();
  txn.commit();
}

// Drops from every record what other writers wrote (values, tombstones) and joins this
// device's own writes back from its log; a record left with nothing is removed. What stays
// is what this device alone knows; a replay of the server's log brings back the rest.
// Caller holds mu and a transaction.
size_t Store::Impl::forget_others() {
  Impl& impl = *this;
  // Moves away were told by the lost history too: the replay sends again the ones the
  // server still has (tests/sim --restores seed 10213: a record that had left and come back
  // before the restore never left in the restored history, and stayed hidden).
  if (!away.empty()) {
    away.clear();
    db->exec("DELETE FROM away");
  }
  std::map<std::string, std::string> all;  // id -> collection
  auto& sel = impl.db->prepare("SELECT col, id FROM records");
  while (sel.step()) all.emplace(sel.column_text(1), sel.column_text(0));
  sel.reset();
  size_t changed = 0;
  for (const auto& [id, col] : all) {
    auto st = impl.load(col, id);
    if (!st) continue;
    const size_t before = st->fields.size();
    for (auto it = st->fields.begin(); it != st->fields.end();) {
      it = it->second.version.device != impl.device ? st->fields.erase(it) : std::next(it);
    }
    bool dropped = st->fields.size() != before;
    if (!st->tombstone.empty() && st->tombstone.device != impl.device) {
      st->tombstone = Version{};
      dropped = true;
    }
    if (!dropped) continue;
    ++changed;
    impl.save(impl.collection(col), id, *st);
  }
  impl.rejoin_own_writes(all);
  // Records this device wrote that its table no longer holds: they moved away and left once
  // their changes were sent. The restored history may never have moved them, and then
  // nothing but this device's log holds its writes to them (the server never sends a device
  // its own ops): they are rebuilt from the log like the others (tests/sim --restores seed
  // 100565). A replay that still moves one away sends the move again.
  std::map<std::string, std::string> left;
  auto& gone = impl.db->prepare(
      "SELECT DISTINCT col, id FROM changes WHERE (op IS NOT NULL OR sealed IS NOT NULL) AND "
      "NOT EXISTS (SELECT 1 FROM records r WHERE r.col=changes.col AND r.id=changes.id)");
  while (gone.step()) left.emplace(gone.column_text(1), gone.column_text(0));
  gone.reset();
  impl.rejoin_own_writes(left, /*rebuild_absent=*/true);
  all.insert(left.begin(), left.end());
  for (const auto& [id, col] : all) {
    auto st = impl.load(col, id);
    if (st && st->fields.empty() && st->tombstone.empty()) {
      impl.db->prepare("DELETE FROM records WHERE id=?1 AND col=?2").bind(1, id).bind(2, col).run();
    }
  }
  return changed;
}

size_t Store::forget_server_history() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  const size_t n = impl_->forget_others();
  txn.commit();
  return n;
}

void Store::rewind_acknowledged(uint64_t seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (seq >= impl_->acked_seq) return;
  sql::Transaction txn(*impl_->db);
  impl_->put_meta("acked_seq", std::to_string(seq));
  // The refusals of these changes stay until the server judges them again: the answer
  // that acknowledges them repeats a refusal the server still holds, and settle_refusals()
  // drops one it does not (tests/sim --restores seeds 1406, 25122).
  txn.commit();
  impl_->acked_seq = seq;
}

std::vector<Conflict> Store::conflicts(bool include_resolved) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare("SELECT " LB_CONFLICT_COLS
                                " FROM conflicts WHERE (?1 OR resolved=0) ORDER BY found_ms DESC, "
                                "cid");
  st.bind(1, int64_t{include_resolved ? 1 : 0});
  std::vector<Conflict> out;
  try {
    while (st.step()) {
      const std::string cid = st.column_text(0);
      if (impl_->keys && !impl_->row_intact(st, kMacConflict, 0, 11)) {
        Impl::throw_tampered("conflict " + cid);
      }
      const std::string body = st.column_is_null(10)
                                   ? st.column_text(5)
                                   : impl_->unseal(st.column_view(10), "cfl:" + cid);
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
  RemoteApplyResult out = apply_page(ops, meta);
  txn.commit();
  return out;
}

RemoteApplyResult Store::apply_replay(
    const std::vector<Op>& ops, const std::vector<std::pair<std::string, std::string>>& meta) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  impl_->forget_others();
  RemoteApplyResult out = apply_page(ops, meta);
  txn.commit();
  return out;
}

RemoteApplyResult Store::apply_page(const std::vector<Op>& ops,
                                    const std::vector<std::pair<std::string, std::string>>& meta) {
  RemoteApplyResult out;
  // Settling needs a statement per op; a page with no open conflicts anywhere skips it.
  bool any_open = false;
  {
    auto& st = impl_->db->prepare("SELECT EXISTS(SELECT 1 FROM conflicts WHERE resolved=0)");
    st.step();
    any_open = st.column_int(0) != 0;
    st.reset();
  }
  std::map<std::string, std::string> arrived_whole;  // record id -> collection ("rec" ops)
  for (const Op& op : ops) {
    const CollectionSchema* cs = impl_->schema->collection(op.collection);
    if (!cs) {
      throw Error(ErrorCode::kProtocol,
                  "remote op for unknown collection \"" + op.collection + "\"");
    }
    // A refusal notice's hlc is a stamp of the server's log, no version any record holds:
    // observed, it would drag this clock to the server's by whether the device happened to
    // pull a notice (every refusal has one), and the next edit's stamp with it.
    if (op.refusal.is_null()) impl_->clock->observe(op.version.hlc);
    if (op.gone) {
      impl_->move_away(op.collection, op.id);
      ++out.applied;
      continue;
    }
    if (!op.refusal.is_null()) {
      // A change of ours the server refused: listed like a refusal in a push answer, whose
      // "held" values it may carry too. The server tells every refusal here as well, so
      // one the push answer told already changes nothing (another device's notice is never
      // sent here; ignored if it were).
      if (op.refusal.value("device", "") == impl_->device) {
        RefusedChange rc;
        rc.seq = op.refusal.at("seq").get<uint64_t>();
        rc.collection = op.collection;
        rc.record_id = op.id;
        rc.code = op.refusal.value("code", "");
        rc.field = op.refusal.value("field", "");
        rc.message = op.refusal.value("message", "");
        rc.at_ms = impl_->clock->physical_now_ms();
        if (impl_->insert_refused(rc)) {
          if (auto held = op.refusal.find("held"); held != op.refusal.end())
            impl_->take_held(rc.seq, *held);
          ++out.refused;
        }
      }
      continue;
    }
    if (!op.record.is_null()) {
      arrived_whole.emplace(op.id, op.collection);
      if (impl_->away.erase(op.id) > 0)
        impl_->db->prepare("DELETE FROM away WHERE id=?1").bind(1, op.id).run();
    }
    // A record that left this device's regions gets no ops but a "rec" that brings it back
    // (a server replaying its log after a restore sends its older ops again; applied, they
    // would show the record here once more - tests/sim --restores seed 124).
    if (impl_->is_away(op.id)) {
      ++out.duplicates;
      continue;
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
  impl_->rejoin_own_writes(arrived_whole);
  for (const auto& [k, v] : meta) impl_->put_meta(k, v);
  impl_->persist_clock();
  return out;
}

void Store::apply_stored(const std::vector<std::pair<uint64_t, Json>>& seq_to_values) {
  if (seq_to_values.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  for (const auto& [seq, values] : seq_to_values) {
    if (!values.is_object())
      throw Error(ErrorCode::kProtocol, "\"stored\" values must be an object");
    auto& st = impl_->db->prepare("SELECT " LB_CHANGE_COLS " FROM changes WHERE seq=?1");
    st.bind(1, static_cast<int64_t>(seq));
    if (!st.step()) {
      st.reset();
      throw Error(ErrorCode::kProtocol, "server stored values for seq " + std::to_string(seq) +
                                            " which this device never wrote");
    }
    try {
      impl_->check_change_row(st, 0);
    } catch (...) {
      st.reset();
      throw;
    }
    const std::string col = st.column_text(cc::kCol), id = st.column_text(cc::kId);
    const Version v{static_cast<uint64_t>(st.column_int(cc::kHlc)), impl_->device};
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

bool Store::set_regions(const std::vector<std::string>& prefixes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  const std::vector<std::string> before = impl_->regions;
  impl_->put_meta("regions", Json(prefixes).dump());
  impl_->regions = prefixes;
  if (before.empty() || before == prefixes) {
    txn.commit();
    return false;
  }
  impl_->put_meta("pull_cursor", "");
  std::vector<std::pair<int64_t, int64_t>> ranges;
  bool everywhere = prefixes.empty();
  for (const std::string& p : prefixes) {
    std::string digits;
    for (char c : p) {
      if (c != '.') digits.push_back(c);
    }
    if (digits.empty()) everywhere = true;
    if (auto r = codec::scope_range(digits)) ranges.push_back(*r);
  }
  if (!everywhere) {
    std::vector<std::pair<std::string, std::string>> outside;  // (collection, id)
    auto& st = impl_->db->prepare("SELECT col, id, scope FROM records WHERE scope IS NOT NULL");
    while (st.step()) {
      const int64_t key = st.column_int(2);
      const bool in = std::any_of(ranges.begin(), ranges.end(), [key](const auto& r) {
        return key >= r.first && key < r.second;
      });
      if (!in) outside.emplace_back(st.column_text(0), st.column_text(1));
    }
    st.reset();
    for (const auto& [col, id] : outside) impl_->move_away(col, id);
  }
  txn.commit();
  return true;
}

std::vector<std::string> Store::regions() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->regions;
}

}  // namespace lumbung

// The device store's refused changes: the server's refusals of this device's changes, kept
// for the officer (Store::refused_changes), and what a refusal does to the record (a value
// the server refused leaves it; a change refused as out of this device's regions moves the
// record away). The change itself stays in the log.

#include "lumbung/store.h"

#include <algorithm>
#include <map>

#include "store/store_impl.h"

namespace lumbung {

void Store::record_refused(const std::vector<RefusedChange>& refused) {
  if (refused.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sql::Transaction txn(*impl_->db);
  for (const RefusedChange& r : refused) {
    impl_->insert_refused(r);
    impl_->take_held(r.seq, r.held);
  }
  txn.commit();
}

bool Store::Impl::insert_refused(const RefusedChange& r) {
  // A refusal this device holds, heard again (a push re-sent after its answer was lost, or
  // after a rewind, is refused again), says nothing new: acting on it again would move
  // away a record that came back into this device's regions since (tests/sim --restores
  // seed 25122). Another reason for the same change replaces it.
  {
    auto& old = db->prepare("SELECT code FROM refused WHERE seq=?1");
    old.bind(1, static_cast<int64_t>(r.seq));
    const bool same = old.step() && old.column_text(0) == r.code;
    old.reset();
    if (same) return false;
    db->prepare("DELETE FROM refused WHERE seq=?1").bind(1, static_cast<int64_t>(r.seq)).run();
  }
  auto& ins = db->prepare(
      "INSERT INTO refused(seq,col,rid,code,field,message,at_ms,sealed,mac) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
  ins.bind(1, static_cast<int64_t>(r.seq))
      .bind(2, r.collection)
      .bind(3, r.record_id)
      .bind(4, r.code)
      .bind(5, r.field)
      .bind(7, r.at_ms);
  if (keys) {  // the server's message may quote the refused value
    const std::string sealed = seal(r.message, "ref:" + std::to_string(r.seq));
    ins.bind(6, std::string_view("")).bind_blob(8, sealed.data(), sealed.size());
    crypto::RowMac& m = keys->row_mac().begin(kMacRefused);
    m.add(static_cast<int64_t>(r.seq)).add(r.collection).add(r.record_id).add(r.code);
    bind_mac(ins, 9, m.add(r.field).add("").add(r.at_ms).add(sealed).finish());
  } else {
    ins.bind(6, r.message).bind_null(8).bind_null(9);
  }
  ins.run();
  if (r.code == error_code_name(ErrorCode::kOutOfScope)) away_if_outside(r.seq);
  return true;
}

// The server refused change `seq` because its record lies outside this device's regions:
// if the change neither created the record nor moved it, the record is there now (its move
// away may never reach this device: after a restore the record can have arrived outside
// them, tests/sim --restores seed 9177), so it is treated as moved away; the change itself
// stays in the refused list. Caller holds mu and a transaction.
void Store::Impl::away_if_outside(uint64_t seq) {
  auto& st = db->prepare("SELECT " LB_CHANGE_COLS " FROM changes WHERE seq=?1");
  st.bind(1, static_cast<int64_t>(seq));
  if (!st.step()) {
    st.reset();
    return;
  }
  const bool is_create = st.column_is_null(cc::kOp) && st.column_is_null(cc::kSealed);
  Op op;
  try {
    op = change_from_row(st);
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  const CollectionSchema* cs = schema->collection(op.collection);
  if (is_create || !cs || op.base.empty()) return;
  if (!cs->scope_field().empty() && op.set.contains(cs->scope_field())) return;
  move_away(op.collection, op.id);
}

void Store::settle_refusals(uint64_t first, uint64_t last, const std::vector<uint64_t>& repeated) {
  if (first > last) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::map<std::string, std::string> records;  // record id -> collection
  std::vector<int64_t> dropped;
  {
    auto& st = impl_->db->prepare("SELECT seq, col, rid FROM refused WHERE seq BETWEEN ?1 AND ?2");
    st.bind(1, static_cast<int64_t>(first)).bind(2, static_cast<int64_t>(last));
    while (st.step()) {
      const auto seq = static_cast<uint64_t>(st.column_int(0));
      if (std::find(repeated.begin(), repeated.end(), seq) != repeated.end()) continue;
      dropped.push_back(static_cast<int64_t>(seq));
      records.emplace(st.column_text(2), st.column_text(1));
    }
    st.reset();
  }
  if (dropped.empty()) return;
  sql::Transaction txn(*impl_->db);
  for (int64_t seq : dropped)
    impl_->db->prepare("DELETE FROM refused WHERE seq=?1").bind(1, seq).run();
  // A refused write was left out of its record when the record came back whole or was
  // replayed (rejoin_own_writes): the server took it this time and never sends a device its
  // own ops, so it joins its record here (tests/sim --restores seed 51849).
  impl_->rejoin_own_writes(records);
  txn.commit();
}

std::vector<RefusedChange> Store::refused_changes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare("SELECT " LB_REFUSED_COLS " FROM refused ORDER BY seq DESC");
  std::vector<RefusedChange> out;
  try {
    while (st.step()) {
      RefusedChange r;
      r.seq = static_cast<uint64_t>(st.column_int(0));
      if (impl_->keys && !impl_->row_intact(st, kMacRefused, 0, 8)) {
        Impl::throw_tampered("refused change " + std::to_string(r.seq));
      }
      r.collection = st.column_text(1);
      r.record_id = st.column_text(2);
      r.code = st.column_text(3);
      r.field = st.column_text(4);
      r.message = st.column_is_null(7)
                      ? st.column_text(5)
                      : impl_->unseal(st.column_view(7), "ref:" + std::to_string(r.seq));
      r.at_ms = st.column_int(6);
      if (auto op = impl_->logged_change(r.seq); op && !op->is_delete) r.set = op->set;
      out.push_back(std::move(r));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

// Change `seq` of the log, if it is there. Caller holds mu.
std::optional<Op> Store::Impl::logged_change(uint64_t seq) const {
  auto& st = db->prepare("SELECT " LB_CHANGE_COLS " FROM changes WHERE seq=?1");
  st.bind(1, static_cast<int64_t>(seq));
  std::optional<Op> op;
  try {
    if (st.step()) op = change_from_row(st);
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return op;
}

// The server refused change `seq` and said what it holds of the fields that change wrote:
// where the record still holds the change's own value (no later write of this device or
// another replaced it), it takes the server's, under the server's version - the value every
// other replica holds. Kept, a refused value would go on taking part in this laptop's merges
// as if the server had it: hiding another officer's later value, keeping a record the
// server deleted (tests/sim --publications seeds 45, 114). The change stays in the log and
// the refused list, for the officer to see and type again. A `held` that is not what the
// protocol says is ignored: the value stays, as from a server that does not send it.
void Store::Impl::take_held(uint64_t seq, const Json& held) {
  if (!held.is_object()) return;
  const auto set = held.find("set");
  const auto tomb = held.find("tombstone");
  if (set == held.end() || !set->is_object() || tomb == held.end()) return;
  std::map<std::string, std::optional<FieldValue>> values;  // by the name the change wrote
  Version tombstone;
  try {
    for (const auto& [name, v] : set->items()) {
      if (v.is_null()) {
        values[name] = std::nullopt;
      } else if (v.is_array() && v.size() == 2) {
        values[name] = FieldValue{v[0], decode_version(v[1])};
      } else {
        return;
      }
    }
    if (!tomb->is_null()) tombstone = decode_version(*tomb);
  } catch (const Error&) {
    return;
  }
  const std::optional<Op> logged = logged_change(seq);
  if (!logged) return;
  const Op& op = *logged;
  const CollectionSchema* cs = schema->collection(op.collection);
  auto rec = load(op.collection, op.id);
  if (!cs || !rec) return;
  bool changed = false;
  if (op.is_delete) {
    if (rec->tombstone == op.version) {
      rec->tombstone = tombstone;
      changed = true;
    }
  } else {
    const auto name_now = current_names();
    for (const auto& [written, value] : values) {
      if (!op.set.contains(written)) continue;  // only what the change wrote
      const std::string field = name_now(op.collection, written);
      auto it = rec->fields.find(field);
      if (field.empty() || it == rec->fields.end() || it->second.version != op.version) continue;
      if (value) {
        it->second = *value;
      } else {
        rec->fields.erase(it);
      }
      changed = true;
    }
  }
  if (changed) save(*cs, op.id, *rec);
}

}  // namespace lumbung

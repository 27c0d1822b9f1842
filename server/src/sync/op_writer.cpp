#include "sync/op_writer.h"

#include <algorithm>

#include "common/encoding.h"
#include "lumbung/merge.h"
#include "store/record_codec.h"

namespace lumbung::server {
namespace {

std::optional<std::string> key_of(const CollectionSchema& cs, const RecordState& st) {
  if (cs.natural_key().empty()) return std::nullopt;
  auto it = st.fields.find(cs.natural_key());
  if (it == st.fields.end() || !it->second.value.is_string()) return std::nullopt;
  return it->second.value.get<std::string>();
}

// Deterministic id of a duplicate pair: the same two records always name one entry, so a
// pair found again (by a later op on either record) is not queued twice.
std::string duplicate_id(const std::string& col, const std::string& a, const std::string& b) {
  return hex_encode(sha256("duplicate_key\n" + col + "\n" + a + "\n" + b)).substr(0, 32);
}

std::string quote(const std::string& s) { return Json(s).dump(); }

// The head of a server notice op (a "rec" or "gone" op: changeset.cpp), up to its last member.
std::string notice_head(const Op& op) {
  return "{\"seq\":" + std::to_string(op.seq) + ",\"col\":" + quote(op.collection) +
         ",\"id\":" + quote(op.id) + ",\"hlc\":" + std::to_string(op.version.hlc) +
         ",\"dev\":" + quote(op.version.device);
}

std::string target_scope(const CollectionSchema& cs, const Op& op, const std::string& current) {
  if (op.is_delete || cs.scope_field().empty()) return current;
  auto it = op.set.find(cs.scope_field());
  return it != op.set.end() && it->is_string() ? it->get<std::string>() : current;
}

}  // namespace

bool in_scope(const std::string& scope, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (scope.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

std::string scope_of(const CollectionSchema& cs, const RecordState& st) {
  if (cs.scope_field().empty()) return {};
  auto it = st.fields.find(cs.scope_field());
  return it != st.fields.end() && it->second.value.is_string() ? it->second.value.get<std::string>()
                                                               : std::string();
}

void OpWriter::check_schema(WriteTxn& txn) const {
  if (txn.pinned_schema != 0) return;
  const int stored = txn.pin_schema_version(/*publishing=*/false);
  txn.pinned_schema = stored == 0 ? schema_->version() : stored;
  if (stored != 0 && stored != schema_->version()) throw SchemaMoved(schema_->version(), stored);
}

void OpWriter::refuse(WriteTxn& txn, const Op& op, const Refusal& why, int64_t now_ms,
                      const char* code) {
  check_schema(txn);
  RefusedRow r;
  r.id = op.version.device + ":" + std::to_string(op.seq);
  r.device = op.version.device;
  r.seq = op.seq;
  r.collection = op.collection;
  r.record_id = op.id;
  r.code = code ? code : error_code_name(why.code);
  r.field = why.field;
  r.message = why.message;
  r.op_text = encode_op_text(op, /*with_device=*/true, op.is_delete ? "{}" : op.set.dump());
  const CollectionSchema* cs = schema_->collection(op.collection);
  r.scope = cs ? target_scope(*cs, op, "") : "";
  r.found_ms = now_ms;
  txn.insert_refused(r);
}

OpOutcome OpWriter::apply(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                          const OpContext& ctx, int64_t now_ms) {
  check_schema(txn);
  if (!op.is_delete && op.base.empty() && !op.set.empty() && !ctx.whole_record_issue) {
    if (auto fresh = apply_fresh(txn, cs, op, ctx, now_ms)) return *fresh;
  }
  OpOutcome out;
  auto refused = [&](Refusal why) {
    refuse(txn, op, why, now_ms);
    out.refused = std::move(why);
    return out;
  };
  std::optional<RecordState> loaded = txn.load_record(op.collection, op.id);
  if (!loaded && ctx.scope && (op.is_delete || !op.base.empty())) {
    // A record the server does not know, changed by a writer that had seen it. If this
    // device's own creation of it was refused, the change waits with that in the queue;
    // otherwise the record is still to come (see apply() in op_writer.h).
    if (txn.has_open_refused(op.version.device, op.collection, op.id)) {
      return refused({ErrorCode::kValidationFailed, "",
                      "op seq " + std::to_string(op.seq) +
                          ": the record's creation was refused earlier; this change waits "
                          "with it in the refused queue"});
    }
    return wait_for_record(txn, op, ctx, now_ms);
  }
  const std::string before = loaded ? scope_of(cs, *loaded) : std::string();
  const std::string after = target_scope(cs, op, before);
  // Not a whole record, and the server has none to complete: nothing to place anywhere.
  if (!loaded && ctx.scope && ctx.whole_record_issue) return refused(*ctx.whole_record_issue);
  if (ctx.scope && !cs.scope_field().empty()) {
    // The writer must be allowed both where the record is and where the op puts it.
    if ((loaded && !before.empty() && !in_scope(before, *ctx.scope)) ||
        !in_scope(after, *ctx.scope)) {
      return refused(
          {ErrorCode::kOutOfScope, cs.scope_field(),
           "op seq " + std::to_string(op.seq) + ": the record is outside this device's regions"});
    }
  }
  RecordState st = loaded ? std::move(*loaded) : RecordState{};
  ApplyResult r = apply_op(cs, st, op);  // on a copy: nothing is written until save_record
  const std::string scope_now = scope_of(cs, st);
  const auto key = key_of(cs, st);
  std::vector<std::string> others;
  if (r.changed && key && st.live()) others = same_key(txn, op, *key);
  size_t entries = 0;  // what this op would open, counted against the device's budget
  for (const std::string& other : others) {
    const std::string& lo = std::min(other, op.id);
    const std::string& hi = std::max(other, op.id);
    if (!txn.duplicate(duplicate_id(op.collection, lo, hi))) ++entries;
  }
  for (const Conflict& c : r.conflicts) {
    if (!(op.version.device == kServerDevice && c.kind == ConflictKind::kNeedsReview)) ++entries;
  }
  if (auto over = spend_review_budget(op, ctx, entries, now_ms)) return refused(*over);
  if (r.changed) txn.save_record(op.collection, op.id, st, scope_now, key);
  txn.append_op(op, scope_now, encode_op_text(op, /*with_device=*/true, op.set.dump()));
  if (loaded && !before.empty() && !scope_now.empty() && before != scope_now) {
    log_move(txn, op, st, before, scope_now);
  }
  for (const Conflict& c : r.conflicts) {
    // A reviewer's own resolution replacing a needs_review value is the review itself.
    if (op.version.device == kServerDevice && c.kind == ConflictKind::kNeedsReview) continue;
    if (txn.insert_conflict(c, now_ms)) ++out.conflicts;
  }
  pair_duplicates(txn, cs, op, others, ctx, now_ms, out);
  out.changed = r.changed;
  // A waiting edit refused while its record lay outside its writer's regions may go in
  // now that the record has arrived or moved (tests/sim --restores seeds 4484, 5632).
  if (r.changed && (!loaded || before != scope_now)) apply_waiting(txn, cs, op.id, now_ms);
  return out;
}

OpOutcome OpWriter::wait_for_record(WriteTxn& txn, const Op& op, const OpContext& ctx,
                                    int64_t now_ms) {
  OpOutcome out;
  // Each waiting op is an entry of the office's queue: a device's budget bounds them.
  if (auto over = spend_review_budget(op, ctx, 1, now_ms)) {
    refuse(txn, op, *over, now_ms);
    out.refused = std::move(over);
    return out;
  }
  refuse(txn, op,
         {ErrorCode::kNotFound, "",
          "op seq " + std::to_string(op.seq) +
              ": the record is not on the server (yet): the change is applied when the record "
              "arrives, e.g. when its creator sends it again after a restore"},
         now_ms, kWaitingForRecord);
  out.waiting = true;
  return out;
}

void OpWriter::apply_waiting(WriteTxn& txn, const CollectionSchema& cs, const std::string& id,
                             int64_t now_ms) {
  // One waiting op may need another first: an edit by a device whose regions the record
  // enters only with a waiting move (tests/sim --restores seed 4484). Go round until a pass
  // applies nothing; every other pass applies one op at least, so this ends. An op applied
  // here that moves the record does not start another round inside this one.
  WriteTxn::WaitingScratch& scratch = txn.waiting_scratch;
  if (scratch.applying) return;
  scratch.applying = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{scratch.applying};
  bool left = false;  // an op tried in the last pass that could not be applied
  for (bool progress = true; progress;) {
    progress = false;
    left = false;
    for (const RefusedRow& w : txn.waiting_for_record(cs.name(), id)) {
      // Refused now: the entry stays waiting until settle_waiting() judges it.
      if (try_waiting(txn, cs, w, now_ms).refused) {
        left = true;
      } else {
        progress = true;
      }
    }
  }
  if (left) scratch.retried.emplace(cs.name(), id);
}

OpOutcome OpWriter::try_waiting(WriteTxn& txn, const CollectionSchema& cs, const RefusedRow& w,
                                int64_t now_ms) {
  const Op op = decode_op(Json::parse(w.op_text), "");
  const auto writer = txn.device(op.version.device);
  const std::vector<std::string> scope = writer ? writer->scope : std::vector<std::string>{};
  OpContext ctx;
  ctx.scope = &scope;
  txn.clock_observe(clock_, op.version.hlc);
  OpOutcome o = apply(txn, cs, op, ctx, now_ms);
  if (!o.refused) {
    txn.resolve_refused(w.id, "applied",
                        Json{{"by", {{"role", "server"}}},
                             {"at_ms", now_ms},
                             {"action", "applied"},
                             {"note", "its record arrived"},
                             {"conflicts", o.conflicts},
                             {"duplicates", o.duplicate_keys}});
  }
  return o;
}

void OpWriter::settle_waiting(WriteTxn& txn, int64_t now_ms) {
  // Applying an op here may move a record and leave other records to judge: go on until
  // none is left (each record is judged once per round; a round that applies nothing ends).
  for (int round = 0; round < 16 && !txn.waiting_scratch.retried.empty(); ++round) {
    auto retried = std::move(txn.waiting_scratch.retried);
    txn.waiting_scratch.retried.clear();
    for (const auto& [col, id] : retried) {
      const CollectionSchema* cs = schema_->collection(col);
      if (!cs || !txn.load_record(col, id)) continue;  // not arrived: it goes on waiting
      // Retried first as a whole (in passes), so that one waiting op may enable another.
      apply_waiting(txn, *cs, id, now_ms);
      txn.waiting_scratch.retried.erase({col, id});
      for (const RefusedRow& w : txn.waiting_for_record(col, id)) {
        OpOutcome o = try_waiting(txn, *cs, w, now_ms);
        if (!o.refused) continue;  // applied after all
        Refusal why = std::move(*o.refused);
        why.message += " (after waiting for its record)";
        txn.set_refused_reason(w.id, error_code_name(why.code), why.field, why.message);
        notify_refused(txn, w.device, w.collection, w.record_id,
                       Json{{"device", w.device},
                            {"seq", w.seq},
                            {"code", error_code_name(why.code)},
                            {"field", why.field},
                            {"message", why.message}});
      }
    }
  }
}

void OpWriter::notify_refused(WriteTxn& txn, const std::string& device,
                              const std::string& collection, const std::string& id,
                              const Json& body) {
  // The writer's only notice: scope "@device" reaches that device alone (read_log).
  Op notice = new_server_op(txn);
  notice.collection = collection;
  notice.id = id;
  txn.append_op(notice, kDeviceScopePrefix + device,
                notice_head(notice) + ",\"refused\":" + body.dump() + "}", "");
}

// A record changed region: devices of the new region get the whole record ("rec"), devices
// of the old one a notice that it left ("gone"); a device covering both needs neither.
void OpWriter::log_move(WriteTxn& txn, const Op& cause, const RecordState& st,
                        const std::string& from, const std::string& to) {
  Json fields = Json::object(), versions = Json::object();
  for (const auto& [name, fv] : st.fields) {
    fields[name] = fv.value;
    versions[name] = encode_version(fv.version);
  }
  Json rec{{"fields", std::move(fields)},
           {"versions", std::move(versions)},
           {"tombstone", st.tombstone.empty() ? Json() : encode_version(st.tombstone)}};
  Op whole = new_server_op(txn);
  whole.collection = cause.collection;
  whole.id = cause.id;
  txn.append_op(whole, to, notice_head(whole) + ",\"rec\":" + rec.dump() + "}", from);
  Op gone = new_server_op(txn);
  gone.collection = cause.collection;
  gone.id = cause.id;
  txn.append_op(gone, from, notice_head(gone) + ",\"gone\":true}", to);
}

// The hot path of a first push: a create of a record the server has never seen gets all
// its fields at the op's version, which is what apply_op gives for a set applied to an
// empty state, so it is written directly (no load, no merge state; the set serialized once,
// for the record and the log). nullopt, having written nothing, if the record exists or
// the op is out of scope: the caller takes the general path.
std::optional<OpOutcome> OpWriter::apply_fresh(WriteTxn& txn, const CollectionSchema& cs,
                                               const Op& op, const OpContext& ctx, int64_t now_ms) {
  std::string scope_now;
  if (!cs.scope_field().empty()) {
    auto it = op.set.find(cs.scope_field());
    if (it != op.set.end() && it->is_string()) scope_now = it->get<std::string>();
    if (ctx.scope && !in_scope(scope_now, *ctx.scope)) return std::nullopt;
  }
  std::optional<std::string> key;
  if (!cs.natural_key().empty()) {
    auto it = op.set.find(cs.natural_key());
    if (it != op.set.end() && it->is_string()) key = it->get<std::string>();
  }
  // Looked up before the insert, so the list never holds the new record itself.
  std::vector<std::string> others;
  if (key) others = same_key(txn, op, *key);
  if (!others.empty() && ctx.scope) {
    // Over its review budget: the general path refuses it (and checks the id is new).
    std::lock_guard<std::mutex> lock(budget_mu_);
    const auto it = review_budget_.find(op.version.device);
    const int64_t hour = now_ms / 3600000;
    const size_t spent =
        it != review_budget_.end() && it->second.first == hour ? it->second.second : 0;
    if (spent + others.size() > kMaxReviewEntriesPerDeviceHour) return std::nullopt;
  }
  const std::string set_text = op.set.dump();
  if (!txn.insert_new_record(op.collection, op.id, set_text, codec::encode_one_version(op.version),
                             scope_now, key)) {
    return std::nullopt;
  }
  txn.append_op(op, scope_now, encode_op_text(op, /*with_device=*/true, set_text));
  OpOutcome out;
  out.changed = true;
  spend_review_budget(op, ctx, others.size(), now_ms);
  pair_duplicates(txn, cs, op, others, ctx, now_ms, out);
  apply_waiting(txn, cs, op.id, now_ms);
  return out;
}

// Opens a duplicate entry for each other live record with the same natural key (bounded).
// The writer is told only of pairs whose other record lies in its own regions: counting the
// others would tell a device whether a NIK is enrolled anywhere (issue 12, item 3).
void OpWriter::pair_duplicates(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                               const std::vector<std::string>& others, const OpContext& ctx,
                               int64_t now_ms, OpOutcome& out) {
  for (const std::string& other : others) {
    DuplicateRow d;
    d.collection = op.collection;
    d.record_a = std::min(other, op.id);
    d.record_b = std::max(other, op.id);
    d.id = duplicate_id(d.collection, d.record_a, d.record_b);
    d.found_ms = now_ms;
    if (!txn.insert_duplicate(d)) continue;
    ++out.duplicate_keys;
    if (!ctx.scope || cs.scope_field().empty()) {
      ++out.duplicate_keys_in_scope;
    } else if (auto st = txn.load_record(op.collection, other);
               st && in_scope(scope_of(cs, *st), *ctx.scope)) {
      ++out.duplicate_keys_in_scope;
    }
  }
}

std::vector<std::string> OpWriter::same_key(WriteTxn& txn, const Op& op, const std::string& key) {
  std::vector<std::string> out;
  for (std::string& other :
       txn.live_ids_with_key(op.collection, key, kMaxDuplicatePairsPerOp + 1)) {
    if (other == op.id) continue;
    if (out.size() == kMaxDuplicatePairsPerOp) break;
    out.push_back(std::move(other));
  }
  return out;
}

std::optional<Refusal> OpWriter::spend_review_budget(const Op& op, const OpContext& ctx,
                                                     size_t entries, int64_t now_ms) {
  if (!ctx.scope || entries == 0) return std::nullopt;  // the server's own ops: no budget
  std::lock_guard<std::mutex> lock(budget_mu_);
  auto& [hour, spent] = review_budget_[op.version.device];
  const int64_t now_hour = now_ms / 3600000;
  if (hour != now_hour) {
    hour = now_hour;
    spent = 0;
  }
  if (spent + entries > kMaxReviewEntriesPerDeviceHour) {
    return Refusal{ErrorCode::kRateLimited, "",
                   "op seq " + std::to_string(op.seq) + ": this device has opened " +
                       std::to_string(spent) + " review entries this hour (at most " +
                       std::to_string(kMaxReviewEntriesPerDeviceHour) +
                       "); the change is kept for the central office"};
  }
  spent += entries;
  return std::nullopt;
}

Op OpWriter::new_server_op(WriteTxn& txn) {
  const std::string last = txn.meta("server_seq");
  const uint64_t seq = (last.empty() ? 0 : std::stoull(last)) + 1;
  txn.set_meta("server_seq", std::to_string(seq));
  Op op;
  op.seq = seq;
  // Above every version any server process on the database has seen ("clock" reads the
  // highest of them on PostgreSQL), under the server_seq lock held to commit: otherwise two
  // processes stamp the same (hlc, "server"), and a resolution made on a process that never
  // saw the versions it decides is stamped below them and never takes effect (tests/sim
  // --postgres --servers 3, seeds 8, 14, 24, 26; found by the simulation on PostgreSQL).
  if (const std::string c = txn.meta("clock"); !c.empty()) {
    txn.clock_resume_above(clock_, std::stoull(c));
  }
  op.version = Version{txn.clock_now(clock_), kServerDevice};
  txn.set_meta("clock", std::to_string(clock_.last()));
  return op;
}

}  // namespace lumbung::server

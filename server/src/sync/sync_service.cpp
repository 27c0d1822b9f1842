#include "sync/sync_service.h"

#include <algorithm>

#include "api/problem.h"
#include "common/encoding.h"
#include "lumbung/error.h"
#include "lumbung/merge.h"
#include "lumbung/tuning.h"
#include "store/record_codec.h"

namespace lumbung::server {
namespace {

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

Json seq_extra(uint64_t seq) { return Json{{"seq", seq}}; }

}  // namespace

std::string encode_cursor(uint64_t pos) { return base64url_encode("v1:" + std::to_string(pos)); }

uint64_t decode_cursor(const std::string& cursor) {
  if (cursor.empty()) return 0;
  auto raw = cursor.size() <= 40 ? base64url_decode(cursor) : std::nullopt;
  if (!raw || raw->size() < 4 || raw->compare(0, 3, "v1:") != 0 || raw->size() > 23) {
    throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
  }
  uint64_t pos = 0;
  for (size_t i = 3; i < raw->size(); ++i) {
    const char c = (*raw)[i];
    if (c < '0' || c > '9') throw Error(ErrorCode::kInvalidArgument, "malformed cursor");
    pos = pos * 10 + static_cast<uint64_t>(c - '0');
  }
  return pos;
}

std::string canonical_region_prefix(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '.') continue;
    if (c < '0' || c > '9') {
      throw Error(ErrorCode::kInvalidArgument, "a region code has only digits and dots");
    }
    out.push_back(c);
  }
  if (out.size() != 2 && out.size() != 4 && out.size() != 6 && out.size() != 10) {
    throw Error(ErrorCode::kInvalidArgument,
                "a region code has 2, 4, 6 or 10 digits (provinsi, kabupaten, kecamatan, desa)");
  }
  return out;
}

SyncService::SyncService(const Schema& schema, ServerStore& store, HybridClock& clock,
                         WallClock& wall, Metrics& metrics)
    : schema_(schema), store_(store), clock_(clock), wall_(wall), metrics_(metrics) {}

PushResult SyncService::push(const Principal& device, Json body) {
  // The optional status report is ours, not the change-set format's: take it out first.
  Json report;
  if (body.is_object()) {
    if (auto it = body.find("report"); it != body.end()) {
      if (!it->is_object()) throw Error(ErrorCode::kProtocol, "\"report\" must be an object");
      report = std::move(*it);
      body.erase(it);
    }
    if (auto it = body.find("ops");
        it != body.end() && it->is_array() && it->size() > kMaxBatchOps) {
      throw ProblemError(ErrorCode::kBatchTooLarge,
                         "a push carries at most " + std::to_string(kMaxBatchOps) + " ops",
                         Json{{"max_ops", kMaxBatchOps}});
    }
  }
  ChangeSet cs = decode_changeset(std::move(body));
  body = Json();  // free what is left of the DOM early: a full batch is ~1 MB of nodes
  if (cs.device != device.device_id) {
    throw Error(ErrorCode::kForbidden, "the change set's device is not the token's device");
  }

  // Schema checks need no lock: do them before taking the write transaction.
  std::vector<const CollectionSchema*> cols(cs.ops.size());
  for (size_t i = 0; i < cs.ops.size(); ++i) {
    Op& op = cs.ops[i];
    if (op.version.device != cs.device) {
      throw ProblemError(
          ErrorCode::kProtocol,
          "op seq " + std::to_string(op.seq) + ": \"dev\" must be absent or the pushing device",
          seq_extra(op.seq));
    }
    cols[i] = schema_.collection(op.collection);
    if (!cols[i]) {
      throw ProblemError(
          ErrorCode::kUnknownCollection,
          "op seq " + std::to_string(op.seq) + ": unknown collection \"" + op.collection + "\"",
          seq_extra(op.seq));
    }
    if (!op.is_delete) {
      auto issues = cols[i]->normalize_and_validate(op.set, /*partial=*/true);
      if (!issues.empty()) {
        const ValidationIssue& first = issues.front();
        const ErrorCode code = first.reason == "unknown_field" ? ErrorCode::kUnknownField
                                                               : ErrorCode::kValidationFailed;
        Json extra{{"seq", op.seq}, {"field", first.field}, {"reason", first.reason}};
        std::string msg = "op seq " + std::to_string(op.seq) + ": " + first.message;
        if (issues.size() > 1)
          msg += " (and " + std::to_string(issues.size() - 1) + " more problems)";
        throw ProblemError(code, msg, std::move(extra), first.field);
      }
    }
  }

  const int64_t now = wall_.now_ms();
  PushResult res;
  auto txn = store_.begin_write();
  auto row = txn->device(device.device_id);
  if (!row || row->revoked_ms != 0) throw Error(ErrorCode::kUnauthorized, "device revoked");
  uint64_t acked = row->acked_seq;
  for (size_t i = 0; i < cs.ops.size(); ++i) {
    Op& op = cs.ops[i];
    if (op.seq <= row->acked_seq) {
      ++res.duplicates;
      // A retry after a lost answer: that answer may have re-stamped this op, and a device
      // that never learnt the new hlc would keep its far-future version for ever (found by
      // tests/sim; regression: tests/regressions/restamp_lost_answer_test.cpp).
      const auto logged = txn->logged_hlc(device.device_id, op.seq);
      if (logged && *logged != op.version.hlc) res.restamped.emplace_back(op.seq, *logged);
      continue;
    }
    if (op.seq != acked + 1) {
      throw ProblemError(ErrorCode::kSeqGap,
                         "op seq " + std::to_string(op.seq) + " arrived but the server expects " +
                             std::to_string(acked + 1) + "; resend from there",
                         Json{{"seq", op.seq}, {"expected_seq", acked + 1}});
    }
    // Only a far-future op costs a tick of the server clock.
    const uint64_t h = hlc::physical_ms(op.version.hlc) > now + kMaxClockSkewMs
                           ? restamp_if_future(op.version.hlc, now, clock_.now())
                           : op.version.hlc;
    if (h != op.version.hlc) {
      op.version.hlc = h;
      res.restamped.emplace_back(op.seq, h);
    }
    clock_.observe(op.version.hlc);
    const OpOutcome o = apply_locked(*txn, *cols[i], op, &device.scope, now);
    res.conflicts += o.conflicts;
    res.duplicate_keys += o.duplicate_keys;
    ++res.applied;
    acked = op.seq;
  }
  txn->update_device_sync(device.device_id, acked, now, report.is_object() ? &report : nullptr);
  txn->set_meta("clock", std::to_string(clock_.last()));
  txn->commit();
  res.acked_seq = acked;
  metrics_.add_ops_applied(res.applied);
  metrics_.add_conflicts_opened(res.conflicts);
  metrics_.add_duplicates_opened(res.duplicate_keys);
  metrics_.add_ops_restamped(res.restamped.size());
  {
    std::lock_guard<std::mutex> lock(seen_mu_);
    seen_.erase(device.device_id);  // persisted by update_device_sync
  }
  return res;
}

OpOutcome SyncService::apply_locked(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                                    const std::vector<std::string>* scope, int64_t now_ms) {
  if (!op.is_delete && op.base.empty() && !op.set.empty()) {
    if (auto fresh = apply_fresh(txn, cs, op, scope, now_ms)) return *fresh;
  }
  OpOutcome out;
  std::optional<RecordState> loaded = txn.load_record(op.collection, op.id);
  RecordState st = loaded ? std::move(*loaded) : RecordState{};
  if (scope && !cs.scope_field().empty()) {
    // The writer must be allowed both where the record is and where the op puts it.
    const std::string before = scope_of(cs, st);
    std::string after = before;
    if (!op.is_delete) {
      auto it = op.set.find(cs.scope_field());
      if (it != op.set.end() && it->is_string()) after = it->get<std::string>();
    }
    if ((loaded && !before.empty() && !in_scope(before, *scope)) || !in_scope(after, *scope)) {
      throw ProblemError(
          ErrorCode::kOutOfScope,
          "op seq " + std::to_string(op.seq) + ": the record is outside this device's regions",
          Json{{"seq", op.seq}});
    }
  }
  ApplyResult r = apply_op(cs, st, op);
  const std::string scope_now = scope_of(cs, st);
  const auto key = key_of(cs, st);
  if (r.changed) txn.save_record(op.collection, op.id, st, scope_now, key);
  txn.append_op(op, scope_now, encode_op_text(op, /*with_device=*/true, op.set.dump()));
  for (const Conflict& c : r.conflicts) {
    // A reviewer's own resolution replacing a needs_review value is the review itself.
    if (op.version.device == kServerDevice && c.kind == ConflictKind::kNeedsReview) continue;
    if (txn.insert_conflict(c, now_ms)) ++out.conflicts;
  }
  if (r.changed && key && st.live()) out.duplicate_keys = pair_duplicates(txn, op, *key, now_ms);
  out.changed = r.changed;
  return out;
}

// The hot path of a first push: a create of a record the server has never seen gets all
// its fields at the op's version, which is what apply_op gives for a set applied to an
// empty state, so it is written directly (no load, no merge state; the set serialized once,
// for the record and the log). nullopt, having written nothing, if the record exists: the
// caller takes the general path.
std::optional<OpOutcome> SyncService::apply_fresh(WriteTxn& txn, const CollectionSchema& cs,
                                                  const Op& op,
                                                  const std::vector<std::string>* scope,
                                                  int64_t now_ms) {
  std::string scope_now;
  if (!cs.scope_field().empty()) {
    auto it = op.set.find(cs.scope_field());
    if (it != op.set.end() && it->is_string()) scope_now = it->get<std::string>();
    // Where the record would be is checked here; where it already is, by the general path.
    if (scope && !in_scope(scope_now, *scope)) return std::nullopt;
  }
  std::optional<std::string> key;
  if (!cs.natural_key().empty()) {
    auto it = op.set.find(cs.natural_key());
    if (it != op.set.end() && it->is_string()) key = it->get<std::string>();
  }
  const std::string set_text = op.set.dump();
  if (!txn.insert_new_record(op.collection, op.id, set_text, codec::encode_one_version(op.version),
                             scope_now, key)) {
    return std::nullopt;
  }
  txn.append_op(op, scope_now, encode_op_text(op, /*with_device=*/true, set_text));
  OpOutcome out;
  out.changed = true;
  if (key) out.duplicate_keys = pair_duplicates(txn, op, *key, now_ms);
  return out;
}

// Opens a duplicate entry for each other live record with the same natural key (bounded).
size_t SyncService::pair_duplicates(WriteTxn& txn, const Op& op, const std::string& key,
                                    int64_t now_ms) {
  size_t opened = 0;
  size_t paired = 0;
  for (const std::string& other :
       txn.live_ids_with_key(op.collection, key, kMaxDuplicatePairsPerOp + 1)) {
    if (other == op.id) continue;
    if (paired++ == kMaxDuplicatePairsPerOp) break;
    DuplicateRow d;
    d.collection = op.collection;
    d.record_a = std::min(other, op.id);
    d.record_b = std::max(other, op.id);
    d.id = duplicate_id(d.collection, d.record_a, d.record_b);
    d.found_ms = now_ms;
    if (txn.insert_duplicate(d)) ++opened;
  }
  return opened;
}

Op SyncService::new_server_op(WriteTxn& txn) {
  const std::string last = txn.meta("server_seq");
  const uint64_t seq = (last.empty() ? 0 : std::stoull(last)) + 1;
  txn.set_meta("server_seq", std::to_string(seq));
  Op op;
  op.seq = seq;
  op.version = Version{clock_.now(), kServerDevice};
  return op;
}

std::string SyncService::pull(const Principal& device, const std::string& cursor, size_t limit) {
  const uint64_t after = decode_cursor(cursor);
  if (limit == 0 || limit > kPullPageOps) limit = kPullPageOps;
  LogPage page = store_.read_log(after, device.scope, device.device_id, limit, kPullScanRows);
  const int64_t now = wall_.now_ms();
  // Built as text: the oplog already holds each op's JSON, so a page is a concatenation.
  size_t total = 96;
  for (const auto& e : page.entries) total += e.op_text.size() + 1;
  std::string out;
  out.reserve(total);
  out += "{\"ops\":[";
  for (size_t i = 0; i < page.entries.size(); ++i) {
    if (i) out += ',';
    out += page.entries[i].op_text;
  }
  out += "],\"next\":\"";
  out += encode_cursor(page.last_scanned);
  out += "\",\"more\":";
  out += page.more ? "true" : "false";
  out += ",\"server_time_ms\":";
  out += std::to_string(now);
  out += '}';
  metrics_.add_ops_pulled(page.entries.size());
  note_seen(device.device_id, now);
  return out;
}

void SyncService::note_seen(const std::string& device_id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(seen_mu_);
  int64_t& t = seen_[device_id];
  t = std::max(t, now_ms);
}

std::map<std::string, int64_t> SyncService::seen_snapshot() const {
  std::lock_guard<std::mutex> lock(seen_mu_);
  return seen_;
}

void SyncService::flush_activity() {
  std::map<std::string, int64_t> seen;
  {
    std::lock_guard<std::mutex> lock(seen_mu_);
    seen.swap(seen_);
  }
  if (seen.empty()) return;
  auto txn = store_.begin_write();
  for (const auto& [id, t] : seen) txn->touch_device(id, t);
  txn->commit();
}

}  // namespace lumbung::server

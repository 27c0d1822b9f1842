#include "sync/sync_service.h"

#include <algorithm>
#include <cctype>
#include <climits>

#include "api/problem.h"
#include "common/encoding.h"
#include "lumbung/error.h"
#include "lumbung/merge.h"
#include "lumbung/tuning.h"
#include "store/record_codec.h"
#include "sync/op_upgrade.h"

namespace lumbung::server {
namespace {

Json seq_extra(uint64_t seq) { return Json{{"seq", seq}}; }

std::string op_message(uint64_t seq, const std::string& what) {
  return "op seq " + std::to_string(seq) + ": " + what;
}

Refusal refusal_from(uint64_t seq, const std::vector<ValidationIssue>& issues) {
  const ValidationIssue& first = issues.front();
  Refusal r;
  r.code =
      first.reason == "unknown_field" ? ErrorCode::kUnknownField : ErrorCode::kValidationFailed;
  r.field = first.field;
  r.message = op_message(seq, issue_detail(first));
  if (issues.size() > 1)
    r.message += " (and " + std::to_string(issues.size() - 1) + " more problems)";
  return r;
}

// RefusedOp::held: null if the server does not hold the record, or the record lies outside
// `scope` (a refusal never tells a device of a record it may not see).
Json held_values(WriteTxn& txn, const CollectionSchema& cs, const Op& op,
                 const std::vector<std::pair<std::string, std::string>>& names,
                 const std::vector<std::string>& scope) {
  const auto st = txn.load_record(op.collection, op.id);
  if (!st || (!cs.scope_field().empty() && !in_scope(scope_of(cs, *st), scope))) return Json();
  Json set = Json::object();
  for (const auto& [written, current] : names) {
    const auto it = current.empty() ? st->fields.end() : st->fields.find(current);
    set[written] = it == st->fields.end()
                       ? Json()
                       : Json::array({it->second.value, encode_version(it->second.version)});
  }
  return Json{{"set", std::move(set)},
              {"tombstone", st->tombstone.empty() ? Json() : encode_version(st->tombstone)}};
}

}  // namespace

// Cursor text: base64url("v2:<epoch>:<pos>"); version-1 cursors ("v1:<pos>") are still read.
std::string encode_cursor(const std::string& epoch, uint64_t pos) {
  return base64url_encode("v2:" + epoch + ":" + std::to_string(pos));
}

Cursor decode_cursor(const std::string& text) {
  Cursor c;
  if (text.empty()) return c;
  auto raw = text.size() <= 64 ? base64url_decode(text) : std::nullopt;
  auto malformed = [] { return Error(ErrorCode::kInvalidArgument, "malformed cursor"); };
  if (!raw || raw->size() < 4) throw malformed();
  size_t digits_at = 3;
  if (raw->compare(0, 3, "v2:") == 0) {
    const size_t colon = raw->find(':', 3);
    if (colon == std::string::npos || colon == 3 || colon - 3 > 32) throw malformed();
    c.epoch = raw->substr(3, colon - 3);
    for (char ch : c.epoch) {
      if (!std::isxdigit(static_cast<unsigned char>(ch))) throw malformed();
    }
    digits_at = colon + 1;
  } else if (raw->compare(0, 3, "v1:") != 0) {
    throw malformed();
  }
  if (raw->size() == digits_at || raw->size() - digits_at > 19) throw malformed();
  for (size_t i = digits_at; i < raw->size(); ++i) {
    const char ch = (*raw)[i];
    if (ch < '0' || ch > '9') throw malformed();
    c.pos = c.pos * 10 + static_cast<uint64_t>(ch - '0');
  }
  return c;
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

uint64_t server_clock_start(ServerStore& store, WallClock& wall) {
  const std::string last = store.read_meta("clock");
  const uint64_t recorded = last.empty() ? 0 : std::stoull(last);
  if (!store.restored_at_start()) return recorded;
  const uint64_t start = std::max(recorded, hlc::make(wall.now_ms() + kMaxClockSkewMs, 0));
  // Recorded at once: a restart before the first write would otherwise start from the
  // copy's value again, and the versions this history stamps would depend on when the
  // process happened to restart (tests/sim --restores seed 7546).
  auto txn = store.begin_write();
  txn->set_meta("clock", std::to_string(start));
  txn->commit();
  return start;
}

SyncService::SyncService(const Schema& schema, ServerStore& store, HybridClock& clock,
                         WallClock& wall, Metrics& metrics)
    : schema_(schema),
      store_(store),
      clock_(clock),
      wall_(wall),
      metrics_(metrics),
      writer_(schema, clock),
      epochs_(store.epochs()) {}

const std::string& SyncService::epoch() const { return epochs_.back().id; }

PushResult SyncService::push(const Principal& device, Json body) {
  // The optional status report is ours, not the change-set format's: take it out first.
  Json report;
  if (body.is_object()) {
    if (auto it = body.find("report"); it != body.end()) {
      if (!it->is_object()) throw Error(ErrorCode::kProtocol, "\"report\" must be an object");
      // Kept per device and sent in every devices listing: a few counters, not a store.
      if (it->dump(-1, ' ', false, Json::error_handler_t::replace).size() > kMaxStatusReportBytes) {
        throw ProblemError(
            ErrorCode::kBodyTooLarge,
            "\"report\" is larger than " + std::to_string(kMaxStatusReportBytes) + " bytes",
            Json{{"field", "report"}, {"max_bytes", kMaxStatusReportBytes}}, "report");
      }
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

  // Schema checks need no lock: do them before taking the write transaction. An op that
  // fails them is refused (kept, acknowledged), not a reason to reject the batch: one bad
  // entry must never stop a laptop's later changes (docs/PROTOCOL.md "Refused ops").
  struct Checked {
    const CollectionSchema* cs = nullptr;
    OpContext ctx;
    std::optional<Refusal> refusal;
    std::vector<std::string> normalized;  // fields whose stored form differs from the sent one
    int written_version = 0;              // an upgraded op's own schema version (op_upgrade.h)
    Json original_set;
  };
  std::vector<Checked> checked(cs.ops.size());
  for (size_t i = 0; i < cs.ops.size(); ++i) {
    Op& op = cs.ops[i];
    Checked& c = checked[i];
    if (op.version.device != cs.device) {
      throw ProblemError(ErrorCode::kProtocol,
                         op_message(op.seq, "\"dev\" must be absent or the pushing device"),
                         seq_extra(op.seq));
    }
    c.cs = schema().collection(op.collection);
    c.ctx.scope = &device.scope;
    if (history_ && op.schema_version != history_->current_version()) {
      c.written_version = op.schema_version;
      c.original_set = op.set;
      if ((c.refusal = upgrade_pushed_op(*history_, op))) continue;
    }
    if (!c.cs) {
      c.refusal = Refusal{ErrorCode::kUnknownCollection, "",
                          op_message(op.seq, "unknown collection \"" + op.collection + "\"")};
      continue;
    }
    if (op.is_delete) continue;
    // An op without base may create the record: validated as a whole record (one pass
    // that also normalises); if that fails, the partial rules decide whether it is the
    // values themselves (refused) or only the whole (refused if the record is unknown).
    auto issues =
        c.cs->normalize_and_validate(op.set, /*partial=*/op.base.size() > 0, &c.normalized);
    if (!issues.empty() && op.base.empty()) {
      c.ctx.whole_record_issue = refusal_from(op.seq, issues);
      c.normalized.clear();
      issues = c.cs->normalize_and_validate(op.set, /*partial=*/true, &c.normalized);
    }
    if (!issues.empty()) c.refusal = refusal_from(op.seq, issues);
    if (c.written_version > 0) {  // an older op breaking a newer rule says so (op_upgrade.h)
      if (c.refusal) {
        explain_newer_rule(*history_, op.collection, c.original_set, true, c.written_version,
                           *c.refusal);
      } else if (c.ctx.whole_record_issue) {
        explain_newer_rule(*history_, op.collection, c.original_set, false, c.written_version,
                           *c.ctx.whole_record_issue);
      }
    }
  }

  const int64_t now = wall_.now_ms();
  PushResult res;
  auto txn = store_.begin_write();
  auto row = txn->device(device.device_id);
  if (!row || row->revoked_ms != 0) throw Error(ErrorCode::kUnauthorized, "device revoked");
  uint64_t acked = row->acked_seq;
  {
    // The records the new ops may write and the natural keys they set, locked before the
    // first write in one order, so that pushes through several servers on one PostgreSQL
    // never deadlock (WriteTxn::lock_records).
    std::vector<std::pair<std::string, std::string>> ids, keys;
    for (size_t i = 0; i < cs.ops.size(); ++i) {
      const Op& op = cs.ops[i];
      if (op.seq <= acked || !checked[i].cs || checked[i].refusal) continue;
      ids.emplace_back(op.collection, op.id);
      const std::string& nk = checked[i].cs->natural_key();
      if (auto it = op.set.find(nk); !nk.empty() && it != op.set.end() && it->is_string()) {
        keys.emplace_back(op.collection, it->get<std::string>());
      }
    }
    // The schema version first: a publication holds its lock while it moves (and so
    // row-locks) records; pinned after our row locks, the two could wait for each other.
    if (!ids.empty()) writer_.check_schema(*txn);
    txn->lock_records(ids, keys);
  }
  // Versions of this device re-stamped in this request (the far-future hlc it wrote -> the
  // one the server gave): a later op of the batch names the old one in its base, and a base
  // from the future would read as a sight of every write (seed 425).
  std::map<uint64_t, uint64_t> restamped_in_batch;
  // The highest version this device's ops hold here. A device writes its ops in seq order
  // with rising versions, so a later op below an earlier one's version means the earlier op
  // was re-stamped above it - e.g. a stale copy of a push, from before the device took its
  // first re-stamp, re-stamped again by a server restored from an older copy while the
  // device went on under the first (tests/sim --restores seed 3315). Its own writes are
  // always seen by a device, so the later op would lose to the earlier one on every
  // replica, with no entry: it is re-stamped above it instead, and the device told.
  uint64_t own_floor = acked > 0 ? txn->logged_hlc(device.device_id, acked).value_or(0) : 0;
  auto unalias_base = [&](Op& op) {
    if (restamped_in_batch.empty()) return;
    for (auto& [field, v] : op.base) {
      if (v.device != device.device_id) continue;
      if (auto it = restamped_in_batch.find(v.hlc); it != restamped_in_batch.end())
        v.hlc = it->second;
    }
  };
  for (size_t i = 0; i < cs.ops.size(); ++i) {
    Op& op = cs.ops[i];
    if (op.seq <= row->acked_seq) {
      ++res.duplicates;
      // A retry after a lost answer: that answer may have re-stamped this op, and a device
      // that never learnt the new hlc would keep its far-future version for ever (found by
      // tests/sim; regression: tests/regressions/restamp_lost_answer_test.cpp).
      const auto logged = txn->logged_hlc(device.device_id, op.seq);
      if (logged && *logged != op.version.hlc) {
        res.restamped.emplace_back(op.seq, *logged);
        restamped_in_batch[op.version.hlc] = *logged;
      }
      if (logged) own_floor = std::max(own_floor, *logged);
      // Likewise a refusal: a laptop whose answer was lost must still learn it (found by
      // tests/sim with region moves).
      if (!logged) {
        const auto r = txn->refused(device.device_id + ":" + std::to_string(op.seq));
        // (An op waiting for its record was acknowledged as accepted: not a refusal.)
        if (r && r->code != kWaitingForRecord) {
          res.refused.push_back(RefusedOp{
              op.seq, Refusal{error_code_from_name(r->code), r->field, r->message}, Json(), i});
        }
        // A refused or waiting op is not in the log, but its entry keeps it as stamped
        // here: its re-stamp is repeated too (a laptop resending after a streamed push's
        // state could not answer it, tests/engine/push_stream_test.cpp).
        const Json kept = r ? Json::parse(r->op_text, nullptr, false) : Json();
        const auto h = kept.is_object() ? kept.find("hlc") : kept.end();
        if (r && kept.is_object() && h != kept.end() && h->is_number_unsigned() &&
            h->get<uint64_t>() != op.version.hlc) {
          res.restamped.emplace_back(op.seq, h->get<uint64_t>());
          restamped_in_batch[op.version.hlc] = h->get<uint64_t>();
        }
      }
      continue;
    }
    if (op.seq != acked + 1) {
      throw ProblemError(ErrorCode::kSeqGap,
                         "op seq " + std::to_string(op.seq) + " arrived but the server expects " +
                             std::to_string(acked + 1) + "; resend from there",
                         Json{{"seq", op.seq}, {"expected_seq", acked + 1}});
    }
    // Only a far-future op costs a tick of the server clock. Its new stamp still orders
    // after every version it replaces (a base up to kMaxClockSkewMs ahead of the server).
    // (Capped at what the server itself accepts: a hostile base cannot move its clock.)
    uint64_t floor = 0;
    for (const auto& [_, v] : op.base) floor = std::max(floor, v.hlc);
    floor = std::min(floor, hlc::make(now + kMaxClockSkewMs, 0));
    uint64_t h = hlc::physical_ms(op.version.hlc) > now + kMaxClockSkewMs
                     ? restamp_if_future(op.version.hlc, now, txn->clock_now_after(clock_, floor))
                     : op.version.hlc;
    if (h <= own_floor) h = txn->clock_now_after(clock_, std::max(floor, own_floor));
    if (h != op.version.hlc) {
      restamped_in_batch[op.version.hlc] = h;
      op.version.hlc = h;
      res.restamped.emplace_back(op.seq, h);
    }
    unalias_base(op);
    txn->clock_observe(clock_, op.version.hlc);
    acked = op.seq;
    own_floor = std::max(own_floor, op.version.hlc);
    Checked& c = checked[i];
    if (c.refusal) {
      writer_.refuse(*txn, op, *c.refusal, now);
      res.refused.push_back(RefusedOp{op.seq, std::move(*c.refusal), Json(), i});
      continue;
    }
    OpOutcome o = writer_.apply(*txn, *c.cs, op, c.ctx, now);
    if (o.refused) {
      res.refused.push_back(RefusedOp{op.seq, std::move(*o.refused), Json(), i});
      continue;
    }
    res.conflicts += o.conflicts;
    res.duplicate_keys += o.duplicate_keys;
    res.duplicate_keys_in_scope += o.duplicate_keys_in_scope;
    ++res.applied;
    if (!c.normalized.empty()) {
      Json stored = Json::object();
      for (const std::string& f : c.normalized) stored[f] = op.set[f];
      res.stored.emplace_back(op.seq, std::move(stored));
    }
  }
  writer_.settle_waiting(*txn, now);
  for (RefusedOp& r : res.refused) {
    const Checked& c = checked[r.index];
    const Op& op = cs.ops[r.index];
    if (!c.cs || r.why.code == ErrorCode::kOutOfScope) continue;  // out of scope: moved away
    // The names the device wrote: those of the version it wrote under (op_upgrade.h).
    std::vector<std::pair<std::string, std::string>> names;  // written -> current ("" retired)
    if (!op.is_delete) {
      const bool upgraded = c.written_version > 0;
      if (upgraded && c.written_version > history_->current_version()) continue;
      for (const auto& [f, _] : (upgraded ? c.original_set : op.set).items()) {
        names.emplace_back(
            f, upgraded ? history_->current_name(op.collection, f, c.written_version) : f);
      }
    }
    r.held = held_values(*txn, *c.cs, op, names, device.scope);
  }
  // Each refusal is told in the device's pull too (OpWriter::notify_refused), but not for a
  // collection the device does not have: it could not take the notice.
  for (const RefusedOp& r : res.refused) {
    if (!checked[r.index].cs) continue;
    const Op& op = cs.ops[r.index];
    Json body{{"device", device.device_id},
              {"seq", r.seq},
              {"code", error_code_name(r.why.code)},
              {"field", r.why.field},
              {"message", r.why.message}};
    if (!r.why.rule.empty()) body["rule"] = r.why.rule;
    if (!r.held.is_null()) body["held"] = r.held;
    writer_.notify_refused(*txn, device.device_id, op.collection, op.id, body);
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

// Where the history a cursor names ends in this database's history, or nullopt if this
// database never had that history (restored from a copy older than the cursor's epoch).
std::optional<uint64_t> SyncService::history_end(const std::string& epoch_id) {
  for (size_t i = 0; i < epochs_.size(); ++i) {
    if (epochs_[i].id != epoch_id) continue;
    if (i + 1 == epochs_.size()) return UINT64_MAX;  // the current history: still growing
    return store_.last_pos_before(epochs_[i + 1].start_pos);
  }
  return std::nullopt;
}

const std::string& SyncService::epoch_of(uint64_t pos) const {
  const Epoch* e = &epochs_.front();
  for (const Epoch& x : epochs_) {
    if (x.start_pos <= pos) e = &x;
  }
  return e->id;
}

std::string SyncService::pull(const Principal& device, const std::string& cursor_text, size_t limit,
                              size_t max_bytes, bool snapshot, bool refusals, bool compact) {
  if ((snapshot && cursor_text.empty()) || is_snapshot_cursor(cursor_text)) {
    return pull_snapshot(device, cursor_text, limit, max_bytes, compact);
  }
  const Cursor cursor = decode_cursor(cursor_text);
  uint64_t after = cursor.pos;
  bool reset = false;
  if (!cursor.epoch.empty()) {
    // A cursor past the end of its history here: the server lost what the device pulled
    // (restored from an older copy). Start again from the beginning; apply is idempotent.
    const auto end = history_end(cursor.epoch);
    if (!end || after > *end) {
      after = 0;
      reset = true;
    }
  }
  if (limit == 0 || limit > kPullPageOps) limit = kPullPageOps;
  LogPage page = store_.read_log(after, device.scope, device.device_id, limit, kPullScanRows);
  if (!refusals) {
    page.entries.erase(std::remove_if(page.entries.begin(), page.entries.end(),
                                      [](const LogEntry& e) {
                                        return e.scope.compare(0, 1, kDeviceScopePrefix) == 0;
                                      }),
                       page.entries.end());
  }
  if (max_bytes > 0) {
    max_bytes = std::clamp(max_bytes, kPullMinPageBytes, kPullMaxPageBytes);
    size_t bytes = 0, keep = 0;
    while (keep < page.entries.size()) {
      bytes += page.entries[keep].op_text.size() + 1;
      if (keep > 0 && bytes > max_bytes) break;
      ++keep;
    }
    if (keep < page.entries.size()) {
      // Every row up to the last op sent was examined, so the cursor may stop there.
      page.last_scanned = page.entries[keep - 1].pos;
      page.entries.resize(keep);
      page.more = true;
    }
  }
  const int64_t now = wall_.now_ms();
  // Built as text: the oplog already holds each op's JSON, so a page is a concatenation.
  size_t total = 160;
  for (const auto& e : page.entries) total += e.op_text.size() + 1;
  std::string out;
  out.reserve(total);
  out += "{\"ops\":[";
  for (size_t i = 0; i < page.entries.size(); ++i) {
    if (i) out += ',';
    if (history_ && history_->current_version() > 1) {
      out += upgrade_log_text(*history_, page.entries[i].op_text);  // op_upgrade.h
    } else {
      out += page.entries[i].op_text;
    }
  }
  out += "],\"next\":\"";
  out += encode_cursor(epoch_of(page.last_scanned), page.last_scanned);
  out += "\",\"more\":";
  out += page.more ? "true" : "false";
  if (reset) out += ",\"reset\":true";
  out += ",\"epoch\":\"" + epoch() + "\"";
  // The device's acknowledged seq here: a device with nothing to push learns from it that
  // the server lost some of its changes, and sends them again from its log.
  out += ",\"acked_seq\":" + std::to_string(store_.device_acked_seq(device.device_id));
  // The device's regions, so it can refuse an out-of-region village code at entry.
  out += ",\"regions\":" + Json(device.scope).dump();
  // The schema version the server runs: a device on an older one fetches GET /v1/schema.
  out += ",\"schema_version\":" + std::to_string(schema().version());
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

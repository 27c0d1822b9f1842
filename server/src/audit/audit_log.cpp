#include "audit/audit_log.h"

#include <algorithm>
#include <map>

#include "common/encoding.h"
#include "crypto/crypto.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"

namespace lumbung::server {
namespace {

// A signed checkpoint every this many entries, in the transaction of the entry that reaches
// it, besides those at shutdown and on request: a cut of the tail older than the newest
// stored checkpoint is then caught even if the server was killed rather than stopped. At
// the audit rate of a district office (a few hundred entries a day) that is a few a week;
// one signature costs ~50 us.
constexpr uint64_t kAuditCheckpointEvery = 1000;

constexpr const char* kCheckpointFormat = "lumbung-audit-checkpoint-v1";

std::string checkpoint_message(const std::string& key_id, uint64_t count, const std::string& head,
                               int64_t at_ms) {
  return "lumbung audit checkpoint v1\n" + key_id + "\n" + std::to_string(count) + "\n" + head +
         "\n" + std::to_string(at_ms);
}

Json problem(uint64_t seq, std::string reason) {
  return Json{{"seq", seq}, {"reason", std::move(reason)}};
}

// "seq:link[:tag]" -> parts; seq 0 if unreadable.
struct Head {
  uint64_t seq = 0;
  std::string link, tag;
};
Head parse_head(const std::string& text) {
  Head h;
  const auto c1 = text.find(':');
  if (c1 == std::string::npos) return h;
  try {
    h.seq = std::stoull(text.substr(0, c1));
  } catch (...) {
    return Head{};
  }
  const auto c2 = text.find(':', c1 + 1);
  h.link = text.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
  if (c2 != std::string::npos) h.tag = text.substr(c2 + 1);
  return h;
}

}  // namespace

const std::string& AuditLog::genesis_hash() {
  static const std::string zeros(64, '0');
  return zeros;
}

std::string AuditLog::canonical(const AuditRow& row) {
  // The detail is re-parsed so that only its content, not its spelling, is covered; a
  // detail that is not JSON any more keeps its raw text (and then fails the hash).
  Json detail = Json::parse(row.detail, nullptr, false);
  Json j{{"seq", row.seq},     {"at_ms", row.at_ms},   {"role", row.role},
         {"actor", row.actor}, {"action", row.action}, {"target", row.target}};
  if (detail.is_discarded()) {
    j["detail_raw"] = row.detail;
  } else {
    j["detail"] = std::move(detail);
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string AuditLog::chain_hash(const std::string& prev_hash, const std::string& canonical) {
  return hex_encode(sha256(prev_hash + canonical));
}

std::string AuditLog::link(uint64_t seq, const std::string& prev,
                           const std::string& canonical) const {
  if (!keys_ || seq < keys_->audit_keyed_from()) return chain_hash(prev, canonical);
  return hex_encode(crypto::hmac_sha256(keys_->audit_mac_key(), prev + canonical));
}

std::string AuditLog::head_tag(uint64_t seq, const std::string& link) const {
  return hex_encode(crypto::hmac_sha256(
      keys_->audit_mac_key(), "lumbung audit head v1\n" + std::to_string(seq) + "\n" + link));
}

std::string AuditLog::head_value(uint64_t seq, const std::string& link) const {
  std::string v = std::to_string(seq) + ":" + link;
  if (keys_ && seq >= keys_->audit_keyed_from()) v += ":" + head_tag(seq, link);
  return v;
}

AuditCheckpoint AuditLog::sign_checkpoint(uint64_t count, const std::string& head) const {
  AuditCheckpoint cp;
  cp.count = count;
  cp.head = head;
  cp.at_ms = wall_.now_ms();
  cp.key_id = keys_->key_id();
  cp.sig = hex_encode(keys_->sign(checkpoint_message(cp.key_id, count, head, cp.at_ms)));
  return cp;
}

void AuditLog::append(WriteTxn& txn, AuditRow row) {
  const auto [seq, hash] = txn.audit_head();
  row.seq = seq + 1;
  row.prev_hash = hash.empty() ? genesis_hash() : hash;
  row.hash = link(row.seq, row.prev_hash, canonical(row));
  txn.append_audit(row);
  txn.set_meta("audit_head", head_value(row.seq, row.hash));
  if (keys_ && row.seq % kAuditCheckpointEvery == 0) {
    txn.put_audit_checkpoint(sign_checkpoint(row.seq, row.hash));
  }
}

void AuditLog::adopt_keys() {
  if (!keys_) return;
  auto txn = store_.begin_write();
  if (txn->meta("key_id").empty()) txn->set_meta("key_id", keys_->key_id());
  const uint64_t count = txn->audit_head().first;
  if (count > 0 && count + 1 == keys_->audit_keyed_from()) {
    AuditRow row;
    row.role = "server";
    row.action = "audit_keyed";
    row.detail = Json{{"unkeyed_entries", count}, {"key_id", keys_->key_id()}}.dump();
    row.at_ms = wall_.now_ms();
    append(*txn, std::move(row));
  }
  txn->commit();
}

void AuditLog::record(const Principal* who, const std::string& action, const std::string& target,
                      const Json& detail, const std::string& anonymous_actor) {
  auto txn = store_.begin_write();
  record_in(*txn, who, action, target, detail, anonymous_actor);
  txn->commit();
}

void AuditLog::record_in(WriteTxn& txn, const Principal* who, const std::string& action,
                         const std::string& target, const Json& detail,
                         const std::string& anonymous_actor) {
  AuditRow row;
  if (who) {
    row.role = role_name(who->role);
    row.actor = who->role == Role::kDevice ? who->device_id : who->token_id;
  } else if (!anonymous_actor.empty()) {
    row.role = "anonymous";
    row.actor = anonymous_actor;
  } else {
    row.role = "server";
  }
  row.action = action;
  row.target = target;
  row.detail = (detail.is_object() ? detail : Json::object()).dump();
  row.at_ms = wall_.now_ms();
  append(txn, std::move(row));
}

Json AuditLog::checkpoint() {
  if (!keys_) throw Error(ErrorCode::kNotFound, "this server's audit log has no key");
  auto txn = store_.begin_write();
  const auto [count, head] = txn->audit_head();
  const AuditCheckpoint cp = sign_checkpoint(count, head);
  txn->put_audit_checkpoint(cp);
  txn->commit();
  return Json{{"format", kCheckpointFormat},
              {"count", cp.count},
              {"head", cp.head},
              {"at_ms", cp.at_ms},
              {"key_id", cp.key_id},
              {"public_key", hex_encode(keys_->public_key())},
              {"sig", cp.sig}};
}

Json AuditLog::page(uint64_t after_seq, size_t limit) {
  if (limit == 0 || limit > kAuditPageMax) limit = kAuditPageMax;
  Json entries = Json::array();
  uint64_t last = after_seq;
  // One more than asked for tells whether there is more.
  size_t n = 0;
  bool more = false;
  store_.read_audit(after_seq, limit + 1, [&](const AuditRow& a) {
    if (n == limit) {
      more = true;
      return false;
    }
    ++n;
    last = a.seq;
    Json detail = Json::parse(a.detail, nullptr, false);
    entries.push_back(Json{{"seq", a.seq},
                           {"at_ms", a.at_ms},
                           {"role", a.role},
                           {"actor", a.actor},
                           {"action", a.action},
                           {"target", a.target},
                           {"detail", detail.is_discarded() ? Json(a.detail) : detail},
                           {"hash", a.hash}});
    return true;
  });
  return Json{{"entries", std::move(entries)}, {"next", last}, {"more", more}};
}

Json AuditLog::verify(const Json* held) {
  // The held checkpoint first: a malformed one is the caller's error, not a broken log.
  struct Held {
    uint64_t count = 0;
    std::string head, key_id, public_key, sig;
    int64_t at_ms = 0;
  } h;
  if (held) {
    try {
      if (held->at("format") != kCheckpointFormat) throw std::runtime_error("format");
      h.count = held->at("count").get<uint64_t>();
      h.head = held->at("head").get<std::string>();
      h.at_ms = held->at("at_ms").get<int64_t>();
      h.key_id = held->at("key_id").get<std::string>();
      h.public_key = hex_decode(held->at("public_key").get<std::string>()).value();
      h.sig = hex_decode(held->at("sig").get<std::string>()).value();
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidArgument,
                  "checkpoint is not a lumbung-audit-checkpoint-v1 document");
    }
  }
  const std::vector<AuditCheckpoint> stored = store_.audit_checkpoints();
  std::map<uint64_t, std::string> links_at;  // entry count -> link, for the checkpoints
  for (const auto& cp : stored) links_at[cp.count];
  if (held) links_at[h.count];

  Json problems = Json::array();
  uint64_t expected = 1;
  std::string prev = genesis_hash();
  uint64_t checked = 0;
  bool chain_ok = true;
  constexpr size_t kChunk = 1000;
  for (bool go = true; go && chain_ok;) {
    size_t got = 0;
    store_.read_audit(expected - 1, kChunk, [&](const AuditRow& a) {
      ++got;
      if (a.seq != expected) {
        problems.push_back(
            problem(expected, "entry " + std::to_string(expected) + " is missing (deleted)"));
      } else if (a.prev_hash != prev) {
        problems.push_back(problem(a.seq, "prev_hash does not match the previous entry"));
      } else if (link(a.seq, prev, canonical(a)) != a.hash) {
        const bool keyed = keys_ && a.seq >= keys_->audit_keyed_from();
        problems.push_back(
            problem(a.seq, keyed ? "the entry does not match its link under the audit key (edited, "
                                   "forged, or the chain recomputed without the key)"
                                 : "hash does not match the entry (edited)"));
      } else {
        prev = a.hash;
        ++checked;
        ++expected;
        if (auto it = links_at.find(a.seq); it != links_at.end()) it->second = prev;
        return true;
      }
      chain_ok = false;
      return false;
    });
    go = got == kChunk;
  }
  const uint64_t last = expected - 1;
  if (chain_ok) {
    // The chain holds; the head kept in meta says whether entries were cut off the end.
    const std::string head_text = store_.read_meta("audit_head");
    const Head head = parse_head(head_text);
    const bool keyed = keys_ && std::max(last, head.seq) >= keys_->audit_keyed_from();
    if (keys_ && last < keys_->audit_keyed_from()) {
      // adopt_keys() writes an entry at keyed_from before the server does anything else.
      problems.push_back(
          problem(last + 1, "the chain ends at #" + std::to_string(last) +
                                ", before the keyed entries that the key file starts at #" +
                                std::to_string(keys_->audit_keyed_from()) +
                                ": entries were cut from the end"));
    } else if (keyed && head.tag != head_tag(head.seq, head.link)) {
      problems.push_back(problem(
          last, "the recorded head (#" + std::to_string(head.seq) +
                    ") does not carry the audit key's tag: the newest entries were cut and the "
                    "head rewritten, or it was edited"));
    } else if (head.seq > last) {
      problems.push_back(problem(last + 1, "entries " + std::to_string(last + 1) + ".." +
                                               std::to_string(head.seq) +
                                               " are missing (log truncated)"));
    } else if (head_text != (last == 0 ? std::string() : head_value(last, prev))) {
      problems.push_back(problem(last, "the recorded head does not match the last entry"));
    }
  }
  // The server's own checkpoints: each signed by this server's key and still in the chain.
  for (const auto& cp : stored) {
    const auto sig = hex_decode(cp.sig);
    const bool signed_ok =
        keys_ && cp.key_id == keys_->key_id() && sig &&
        ServerKeys::verify(keys_->public_key(),
                           checkpoint_message(cp.key_id, cp.count, cp.head, cp.at_ms), *sig);
    if (!signed_ok) {
      problems.push_back(problem(cp.count, "the server's checkpoint at #" +
                                               std::to_string(cp.count) +
                                               " is not signed by this server's key (forged)"));
    } else if (cp.count > last) {
      if (chain_ok) {
        problems.push_back(problem(last + 1, "the chain ends at #" + std::to_string(last) +
                                                 " but the server's checkpoint covers #" +
                                                 std::to_string(cp.count) +
                                                 ": entries were cut from the end"));
      }
    } else if (cp.count > 0 && links_at[cp.count] != cp.head) {
      problems.push_back(problem(cp.count, "entry #" + std::to_string(cp.count) +
                                               " is not the one the server's checkpoint signed "
                                               "(the chain was rewritten)"));
    }
  }
  Json out{{"entries", checked},
           {"head", Json{{"seq", last}, {"hash", last == 0 ? std::string() : prev}}},
           {"keyed_from", keys_ ? Json(keys_->audit_keyed_from()) : Json()},
           {"key_id", keys_ ? Json(keys_->key_id()) : Json()},
           {"public_key", keys_ ? Json(hex_encode(keys_->public_key())) : Json()}};
  Json latest;
  if (!stored.empty()) {
    latest = Json{{"count", stored.back().count},
                  {"head", stored.back().head},
                  {"at_ms", stored.back().at_ms}};
  }
  out["checkpoints"] = Json{{"stored", stored.size()}, {"latest", latest}};
  if (held) {
    const size_t before = problems.size();
    if (!ServerKeys::verify(h.public_key, checkpoint_message(h.key_id, h.count, h.head, h.at_ms),
                            h.sig)) {
      problems.push_back(problem(h.count,
                                 "the checkpoint you hold is not validly signed (the "
                                 "file was changed)"));
    } else if (!keys_ || keys_->public_key() != h.public_key) {
      problems.push_back(problem(h.count,
                                 "this server's signing key is not the one that signed "
                                 "your checkpoint: the key file was replaced"));
    } else if (h.count > last) {
      problems.push_back(chain_ok
                             ? problem(last + 1, "the chain ends at #" + std::to_string(last) +
                                                     " but your checkpoint covers #" +
                                                     std::to_string(h.count) +
                                                     ": entries were cut from the end")
                             : problem(h.count,
                                       "your checkpoint could not be checked: the chain breaks "
                                       "before it"));
    } else if (h.count > 0 && links_at[h.count] != h.head) {
      problems.push_back(problem(h.count, "entry #" + std::to_string(h.count) +
                                              " differs from your checkpoint: the chain was "
                                              "rewritten up to it"));
    }
    out["held_checkpoint"] = Json{{"count", h.count}, {"ok", problems.size() == before}};
  }
  out["ok"] = problems.empty();
  if (!problems.empty()) {
    out["first_bad"] = problems.front();
    out["problems"] = std::move(problems);
  }
  return out;
}

}  // namespace lumbung::server

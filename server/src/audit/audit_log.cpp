#include "audit/audit_log.h"

#include <algorithm>

#include "common/encoding.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"

namespace lumbung::server {

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

void AuditLog::record(const Principal* who, const std::string& action, const std::string& target,
                      const Json& detail, const std::string& anonymous_actor) {
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
  auto txn = store_.begin_write();
  const auto [seq, hash] = txn->audit_head();
  row.seq = seq + 1;
  row.prev_hash = hash.empty() ? genesis_hash() : hash;
  row.hash = chain_hash(row.prev_hash, canonical(row));
  txn->append_audit(row);
  txn->set_meta("audit_head", std::to_string(row.seq) + ":" + row.hash);
  txn->commit();
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

Json AuditLog::verify() {
  uint64_t expected = 1;
  std::string prev = genesis_hash();
  uint64_t checked = 0;
  Json bad;
  constexpr size_t kChunk = 1000;
  for (bool go = true; go && bad.is_null();) {
    size_t got = 0;
    store_.read_audit(expected - 1, kChunk, [&](const AuditRow& a) {
      ++got;
      if (a.seq != expected) {
        bad = Json{{"seq", expected},
                   {"reason", "entry " + std::to_string(expected) + " is missing (deleted)"}};
        return false;
      }
      if (a.prev_hash != prev) {
        bad = Json{{"seq", a.seq}, {"reason", "prev_hash does not match the previous entry"}};
        return false;
      }
      if (chain_hash(prev, canonical(a)) != a.hash) {
        bad = Json{{"seq", a.seq}, {"reason", "hash does not match the entry (edited)"}};
        return false;
      }
      prev = a.hash;
      ++checked;
      ++expected;
      return true;
    });
    go = got == kChunk;
  }
  const uint64_t last = expected - 1;
  if (bad.is_null()) {
    // The chain holds; the head kept in meta says whether entries were cut off the end.
    const std::string head = store_.read_meta("audit_head");
    const std::string want = last == 0 ? std::string() : std::to_string(last) + ":" + prev;
    if (head != want) {
      const auto colon = head.find(':');
      uint64_t head_seq = 0;
      try {
        head_seq = colon == std::string::npos ? 0 : std::stoull(head.substr(0, colon));
      } catch (...) {
      }
      bad =
          head_seq > last
              ? Json{{"seq", last + 1},
                     {"reason", "entries " + std::to_string(last + 1) + ".." +
                                    std::to_string(head_seq) + " are missing (log truncated)"}}
              : Json{{"seq", last}, {"reason", "the recorded head does not match the last entry"}};
    }
  }
  Json out{{"ok", bad.is_null()},
           {"entries", checked},
           {"head", Json{{"seq", last}, {"hash", last == 0 ? std::string() : prev}}}};
  if (!bad.is_null()) out["first_bad"] = std::move(bad);
  return out;
}

}  // namespace lumbung::server

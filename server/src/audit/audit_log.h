// The tamper-evident audit log: who did what on the server, append-only, hash-chained.
//
// Each entry is {seq, at_ms, role, actor, action, target, detail} (server_store.h AuditRow)
// and carries hash = hex SHA-256(prev_hash || canonical(entry)), where canonical() is the
// compact JSON of those seven members with keys sorted (nlohmann's object order) and
// prev_hash is the previous entry's hash (64 '0's for seq 1). The newest seq:hash is also
// kept in meta 'audit_head', so deleting the newest entries is noticed too. verify()
// recomputes the chain and names the first entry that does not hold.
//
// Never personal data: actors are device ids and staff token ids (not labels), targets are
// conflict/duplicate/device/token ids, details are counts, scopes, roles and expiry times.
//
// The Router calls record() after a request succeeded, in its own write transaction (so
// an action and its entry are not atomic: a crash in between loses the entry; it can never
// add one for an action that did not happen). Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "auth/principal.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

class AuditLog {
 public:
  AuditLog(ServerStore& store, WallClock& wall) : store_(store), wall_(wall) {}

  // Appends an entry for `who` (nullptr = the server itself, or an anonymous caller when
  // `anonymous_actor` names one, e.g. a registering device). Throws Error(kStorage).
  void record(const Principal* who, const std::string& action, const std::string& target,
              const Json& detail, const std::string& anonymous_actor = {});

  // {"entries":[{seq,at_ms,role,actor,action,target,detail,hash}], "next": seq, "more": bool}
  Json page(uint64_t after_seq, size_t limit);

  // {"ok": bool, "entries": n_checked, "head": {"seq","hash"}} and, when not ok,
  // "first_bad": {"seq": s, "reason": "..."}.
  Json verify();

  static std::string canonical(const AuditRow& row);
  static std::string chain_hash(const std::string& prev_hash, const std::string& canonical);
  static const std::string& genesis_hash();

 private:
  ServerStore& store_;
  WallClock& wall_;
};

}  // namespace lumbung::server

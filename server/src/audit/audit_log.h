// The tamper-evident audit log: who did what on the server, append-only, in a keyed hash
// chain with signed checkpoints (docs/SECURITY.md "The audit log" says what this does and
// does not detect).
//
// CHAIN FORMAT. Each entry is {seq, at_ms, role, actor, action, target, detail}
// (server_store.h AuditRow); canonical() is the compact JSON of those seven members with
// keys sorted (nlohmann's object order). Its link (column `hash`) is
//   hex HMAC-SHA256(audit key, prev_link || canonical(entry))   for seq >= keyed_from
//   hex SHA-256(prev_link || canonical(entry))                   for seq <  keyed_from
// where prev_link is the previous entry's link (64 '0's for seq 1), the audit key comes
// from the key file (keys/server_keys.h) and keyed_from is the key file's
// audit_keyed_from: 1 for a data directory made with a key file; for an older one, the
// first entry written after its first start with a key file (that entry is an
// "audit_keyed" entry naming how many unkeyed entries precede it).
//
// HEAD. meta 'audit_head' = "<seq>:<link>:<tag>" of the newest entry, tag = hex
// HMAC-SHA256(audit key, "lumbung audit head v1\n<seq>\n<link>"): entries cut from the end
// with the head rewritten to an earlier entry lack a valid tag (unless an earlier authentic
// head was copied, see checkpoints). Unkeyed chains kept "<seq>:<link>".
//
// CHECKPOINTS. {count, head, at_ms, key_id} signed with the server's Ed25519 key over
//   "lumbung audit checkpoint v1\n<key_id>\n<count>\n<head>\n<at_ms>"
// stored in audit_checkpoints every kAuditCheckpointEvery entries, at shutdown and on
// POST /v1/admin/audit/checkpoint, which also hands it (with the public key) to the
// operator to keep elsewhere. verify() checks every stored checkpoint, and one the operator
// holds, against the chain: the chain must still contain `count` entries and entry `count`
// must have link `head`.
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
#include "keys/server_keys.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

class AuditLog {
 public:
  // `keys` nullptr: an unkeyed chain (plain SHA-256, no checkpoints), as before key files.
  AuditLog(ServerStore& store, WallClock& wall, const ServerKeys* keys = nullptr)
      : store_(store), wall_(wall), keys_(keys) {}

  // Called once at start, before any record(): binds the database to the key file (meta
  // key_id) and, when the key file was just made for an existing unkeyed chain, writes the
  // "audit_keyed" entry that starts the keyed part. One transaction. Throws Error(kStorage).
  void adopt_keys();

  // Appends an entry for `who` (nullptr = the server itself, or an anonymous caller when
  // `anonymous_actor` names one, e.g. a registering device). Throws Error(kStorage).
  void record(const Principal* who, const std::string& action, const std::string& target,
              const Json& detail, const std::string& anonymous_actor = {});
  // The same inside the caller's write transaction, for an action whose entry must commit
  // with it or not at all (a device re-enrolment, enrolment.h).
  void record_in(WriteTxn& txn, const Principal* who, const std::string& action,
                 const std::string& target, const Json& detail,
                 const std::string& anonymous_actor = {});

  // Signs and stores a checkpoint of the chain as it is now and returns it in the form an
  // operator keeps: {"format":"lumbung-audit-checkpoint-v1","count","head","at_ms","key_id",
  // "public_key","sig"} (hex). Throws Error(kNotFound) on an unkeyed log.
  Json checkpoint();

  // {"entries":[{seq,at_ms,role,actor,action,target,detail,hash}], "next": seq, "more": bool}
  Json page(uint64_t after_seq, size_t limit);

  // {"ok": bool, "entries": n_checked, "head": {"seq","hash"}, "keyed_from", "key_id",
  //  "public_key", "checkpoints": {"stored": n, "latest": {...} | null}} and, when not ok,
  // "first_bad": {"seq", "reason"} and "problems": [every {"seq", "reason"} found]. With
  // `held` (a checkpoint as checkpoint() returns it, kept by the operator) also
  // "held_checkpoint": {"count", "ok"}. Throws Error(kInvalidArgument) for a malformed `held`.
  Json verify(const Json* held = nullptr);

  static std::string canonical(const AuditRow& row);
  // Plain SHA-256 link (entries before the key file).
  static std::string chain_hash(const std::string& prev_hash, const std::string& canonical);
  static const std::string& genesis_hash();

 private:
  std::string link(uint64_t seq, const std::string& prev, const std::string& canonical) const;
  std::string head_value(uint64_t seq, const std::string& link) const;
  std::string head_tag(uint64_t seq, const std::string& link) const;
  AuditCheckpoint sign_checkpoint(uint64_t count, const std::string& head) const;
  void append(WriteTxn& txn, AuditRow row);

  ServerStore& store_;
  WallClock& wall_;
  const ServerKeys* keys_;
};

}  // namespace lumbung::server

// Devices, enrolment codes and staff tokens: the admin side of authentication.
//
// The admin makes a one-time enrolment code carrying a scope (region-code prefixes); a
// field laptop registers with it under the device id it made offline and receives its
// token, once. Codes and tokens are stored only as SHA-256 hashes. Thread-safe.
#pragma once

#include <string>

#include "auth/principal.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "lumbung/tuning.h"
#include "store/server_store.h"
#include "sync/sync_service.h"

namespace lumbung::server {

class AuditLog;

class Enrolment {
 public:
  Enrolment(ServerStore& store, SyncService& sync, WallClock& wall)
      : store_(store), sync_(sync), wall_(wall) {}

  // On an empty store: creates the first admin token and returns it (the only time it is
  // ever visible); otherwise "". It expires after kAdminTokenTtlHours like any admin token.
  std::string bootstrap_admin();
  // Always creates a new admin token (lumbung-server --new-admin-token: recovery by whoever
  // holds the data directory when every admin token expired or was revoked).
  std::string new_admin_token(const std::string& label);
  // Lifetimes given to reviewer/admin tokens created without "expires_in_hours"
  // (defaults kReviewerTokenTtlHours / kAdminTokenTtlHours; 0 = never expire).
  void set_token_ttl_hours(int64_t reviewer, int64_t admin) {
    reviewer_ttl_h_ = reviewer;
    admin_ttl_h_ = admin;
  }

  // body {"scope":["74.02", ...], "label":"...", "expires_in_hours":72[, "device_id":"..."]}
  //   -> {"code","id","scope","label","expires_ms"[,"device_id"][,"tls_pin_sha256"]}. With
  //   `device_id` (a registered device, else kNotFound "no such device") the code is made
  //   for that device only: it re-enrols it (register_device). `id` (16 hex digits
  //   of the code's hash) names the code for revoke_code without being able to register;
  //   `tls_pin_sha256` (when the server serves TLS) is its key's pin, so that the office can
  //   hand a laptop the code and the pin together (lumbung-admin's setup code).
  Json create_code(const Json& body);
  // The pin of the server's TLS key (lowercase hex), given by main when it serves TLS.
  void set_tls_pin(std::string pin) { tls_pin_ = std::move(pin); }
  // Revokes an enrolment code by id: it can no longer register a device. kNotFound if
  // unknown. -> {"id","revoked","revoked_ms","used","used_by"}
  Json revoke_code(const std::string& id);
  // body {"code","device_id","label"} -> {"device_id","token","scope","label","acked_seq",
  // "reenrolled"}. Throws kUnauthorized (unknown code), kForbidden with reason code_revoked /
  // code_used / code_expired / code_for_other_device, kAlreadyExists (device id taken and
  // the code not made for it), kInvalidArgument; a refusal changes nothing.
  //
  // Re-enrolment: a code made for a registered device id (create_code "device_id") registers
  // it again - a revoked laptop, or one whose token was lost - keeping what the server holds
  // of it (acked_seq: its unsent ops follow on). In one write transaction: a new token
  // replaces the old one and any pending rotated one (both stop at once), the device is no
  // longer revoked, takes the code's scope and the label, the code is used, and `audit` (if
  // given) gets a "reenrol" entry naming the code's id. Only a code made for that device id
  // can do it: a general code cannot take over a registered laptop's identity.
  Json register_device(const Json& body, AuditLog* audit = nullptr);
  // A new token for an authenticated device -> {"device_id","token"}. The device's current
  // token keeps working until the new one is first used (Authenticator promotes it then);
  // a second rotation before that replaces the pending token.
  Json rotate_device_token(const Principal& device);
  // body {"role":"reviewer"|"admin","label":"...","expires_in_hours":N}
  //   -> {"token","id","role","label","expires_ms"}
  Json create_token(const Json& body);
  Json list_devices();
  Json revoke_device(const std::string& device_id);
  // {"tokens":[{"id","role","label","created_ms","expires_ms","revoked","revoked_ms"}]}
  Json list_tokens();
  // Revokes the reviewer/admin token with that id (16 hex digits). kNotFound if unknown.
  Json revoke_token(const std::string& id);

 private:
  ServerStore& store_;
  SyncService& sync_;
  WallClock& wall_;
  int64_t reviewer_ttl_h_ = kReviewerTokenTtlHours;
  int64_t admin_ttl_h_ = kAdminTokenTtlHours;
  std::string tls_pin_;
};

}  // namespace lumbung::server

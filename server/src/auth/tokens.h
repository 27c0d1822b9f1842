// Secrets (bearer tokens, enrolment codes) and the check that turns an Authorization
// header into a Principal.
//
// Tokens are 256 bits from OpenSSL's RAND_bytes, base64url, with a readable prefix
// ("lbd_" device, "lbr_" reviewer, "lba_" admin). They are shown once and stored only as the
// hex SHA-256 of the whole token. Enrolment codes are 100 bits in Crockford base32, grouped
// for typing ("7KQ2M-...-..."), also stored hashed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/principal.h"
#include "lumbung/clock.h"
#include "store/server_store.h"

namespace lumbung::server {

std::string new_token(Role role);
std::string new_enrolment_code();
// Canonical form of a typed code: upper case, Crockford look-alikes (O->0, I/L->1)
// mapped, '-' and spaces dropped.
std::string canonical_code(std::string_view typed);
// Hex SHA-256 of a secret: the only form the store keeps.
std::string secret_hash(std::string_view secret);
// Constant-time comparison of two hashes (CRYPTO_memcmp); false if the lengths differ.
bool hashes_equal(std::string_view a, std::string_view b);

// The public name of a reviewer/admin token: the first 16 hex digits of its hash (what
// audit entries and GET /v1/admin/tokens show; it cannot be used to log in).
std::string token_id(std::string_view token_hash);

// Checks bearer tokens against the store. Thread-safe (the store's reads are).
class Authenticator {
 public:
  // Expiry of reviewer/admin tokens is checked against `wall` (lumbung-server passes the
  // system clock, the same one Enrolment stamps expiries with).
  Authenticator(ServerStore& store, WallClock& wall) : store_(store), wall_(&wall) {}
  // For in-process harnesses whose Enrolment runs on a fake clock: expiry is NOT checked
  // (revocation still is). lumbung-server never uses this.
  explicit Authenticator(ServerStore& store) : store_(store), wall_(nullptr) {}

  // `authorization` is the Authorization header (nullopt if absent). Throws
  // Error(kUnauthorized) for a missing, malformed or unknown token, with the detail
  // "device revoked" / "token revoked" for a revoked one and "token expired" for an
  // expired reviewer/admin token. A device's pending rotated token is accepted and, on
  // this first use, replaces the device's old token (a write).
  Principal authenticate(const std::optional<std::string>& authorization) const;

 private:
  ServerStore& store_;
  WallClock* wall_;
};

}  // namespace lumbung::server

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

// Checks bearer tokens against the store. Thread-safe (the store's reads are).
class Authenticator {
 public:
  explicit Authenticator(ServerStore& store) : store_(store) {}

  // `authorization` is the Authorization header (nullopt if absent). Throws
  // Error(kUnauthorized) for a missing, malformed or unknown token and, with the message
  // "device revoked", for a revoked device.
  Principal authenticate(const std::optional<std::string>& authorization) const;

 private:
  ServerStore& store_;
};

}  // namespace lumbung::server

#include "auth/tokens.h"

#include <openssl/crypto.h>

#include "common/encoding.h"
#include "lumbung/error.h"

namespace lumbung::server {
namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}  // namespace

std::string new_token(Role role) {
  const char* prefix = role == Role::kDevice ? "lbd_" : role == Role::kReviewer ? "lbr_" : "lba_";
  return prefix + base64url_encode(random_bytes(32));
}

std::string new_enrolment_code() {
  const std::string bytes = random_bytes(20);  // 5 bits used of each: 100 bits
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && i % 5 == 0) out.push_back('-');
    out.push_back(kCrockford[static_cast<unsigned char>(bytes[i]) & 31]);
  }
  return out;
}

std::string canonical_code(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    out.push_back(c);
  }
  return out;
}

std::string secret_hash(std::string_view secret) { return hex_encode(sha256(secret)); }

std::string token_id(std::string_view token_hash) { return std::string(token_hash.substr(0, 16)); }

bool hashes_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Principal Authenticator::authenticate(const std::optional<std::string>& authorization) const {
  if (!authorization) throw Error(ErrorCode::kUnauthorized, "missing bearer token");
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view h = *authorization;
  if (h.size() <= kBearer.size() || h.substr(0, kBearer.size()) != kBearer) {
    throw Error(ErrorCode::kUnauthorized, "Authorization must be \"Bearer <token>\"");
  }
  const std::string_view token = h.substr(kBearer.size());
  if (token.size() > 256) throw Error(ErrorCode::kUnauthorized, "unknown token");
  const std::string hash = secret_hash(token);
  auto p = store_.find_principal(hash);
  // The store looked the hash up by index; compare once more in constant time so that a
  // future store doing a prefix/range lookup cannot turn into a timing oracle.
  if (!p || !hashes_equal(hash, p->stored_hash)) {
    throw Error(ErrorCode::kUnauthorized, "unknown token");
  }
  if (p->revoked) {
    throw Error(ErrorCode::kUnauthorized,
                p->role == Role::kDevice ? "device revoked" : "token revoked");
  }
  if (wall_ && p->expires_ms != 0 && p->expires_ms <= wall_->now_ms()) {
    throw Error(ErrorCode::kUnauthorized, "token expired");
  }
  if (p->pending_token) {
    // The first call with a rotated token: it becomes the device's only token, and the
    // old one stops working. Until now both worked, so a lost rotate answer strands no one.
    auto txn = store_.begin_write();
    if (txn->promote_device_token(p->device_id, hash)) txn->commit();
    p->pending_token = false;
  }
  return *p;
}

}  // namespace lumbung::server

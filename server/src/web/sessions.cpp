#include "web/sessions.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "auth/tokens.h"
#include "common/encoding.h"

namespace lumbung::server {
namespace {

std::string random_secret() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64url_encode(std::string(reinterpret_cast<const char*>(buf), sizeof buf));
}

bool ended(const Session& s, int64_t now_ms) {
  return now_ms >= s.expires_ms || now_ms - s.last_used_ms >= kSessionIdleMs;
}

}  // namespace

SessionStore::Opened SessionStore::open(const std::string& token_hash, int64_t token_expires_ms,
                                        int64_t now_ms) {
  Opened o;
  o.cookie = random_secret();
  o.csrf = random_secret();
  o.expires_ms = now_ms + kSessionMaxMs;
  if (token_expires_ms != 0 && token_expires_ms < o.expires_ms) o.expires_ms = token_expires_ms;
  Session s{token_hash, o.csrf, now_ms, now_ms, o.expires_ms, 0};
  std::lock_guard<std::mutex> lock(mu_);
  evict_locked(now_ms);
  s.used_order = ++uses_;
  by_hash_[secret_hash(o.cookie)] = std::move(s);
  return o;
}

// Drops ended sessions; if still full, the one idle the longest. Linear in kMaxSessions
// (1,000), only on login.
void SessionStore::evict_locked(int64_t now_ms) {
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = ended(it->second, now_ms) ? by_hash_.erase(it) : std::next(it);
  }
  while (by_hash_.size() >= kMaxSessions) {
    auto oldest = by_hash_.begin();
    for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it) {
      if (it->second.used_order < oldest->second.used_order) oldest = it;
    }
    by_hash_.erase(oldest);
  }
}

std::optional<Session> SessionStore::find(const std::string& cookie, int64_t now_ms) {
  // A cookie we issued is 43 characters; anything far longer is not worth hashing.
  if (cookie.empty() || cookie.size() > 128) return std::nullopt;
  const std::string h = secret_hash(cookie);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(h);
  if (it == by_hash_.end()) return std::nullopt;
  if (ended(it->second, now_ms)) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  it->second.last_used_ms = now_ms;
  it->second.used_order = ++uses_;
  return it->second;
}

bool SessionStore::close(const std::string& cookie) {
  if (cookie.empty() || cookie.size() > 128) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.erase(secret_hash(cookie)) > 0;
}

size_t SessionStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

std::string cookie_value(const std::string& header, const std::string& name) {
  // "a=1; lumbung_session=xyz; b=2": split on ';', trim spaces, match the name exactly.
  size_t i = 0;
  for (int guard = 0; i < header.size() && guard < 256; ++guard) {
    size_t end = header.find(';', i);
    if (end == std::string::npos) end = header.size();
    size_t b = i;
    while (b < end && header[b] == ' ') ++b;
    const size_t eq = header.find('=', b);
    if (eq != std::string::npos && eq < end && header.compare(b, eq - b, name) == 0 &&
        eq - b == name.size()) {
      size_t e = end;
      while (e > eq + 1 && header[e - 1] == ' ') --e;
      return header.substr(eq + 1, e - eq - 1);
    }
    i = end + 1;
  }
  return {};
}

}  // namespace lumbung::server

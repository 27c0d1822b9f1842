// Browser sessions of the office web page (docs/DASHBOARD.md "Sessions").
//
// A reviewer or admin logs in once with their token; the browser then holds only a session
// cookie (256 random bits) and sends a CSRF token (another 256 bits, returned by login and
// by GET /v1/web/session) in the X-CSRF-Token header with every state change. The server
// keeps sessions in memory, keyed by the SHA-256 of the cookie value (a memory dump or a log
// line never shows a usable cookie), together with the hash of the token that opened it:
// every request looks that token up again, so revoking or expiring the token ends its
// sessions at once. Sessions end at logout, after kSessionIdleMs without a request, at
// kSessionMaxMs after login, or when the token expires, whichever is first. At most
// kMaxSessions exist; a new login past that evicts the session idle the longest (a flood of
// logins needs valid tokens and is rate limited per address before that).
//
// A restart of the server ends every session (they are not stored): users log in again.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace lumbung::server {

constexpr int64_t kSessionIdleMs = 30LL * 60 * 1000;      // 30 min without a request
constexpr int64_t kSessionMaxMs = 12LL * 60 * 60 * 1000;  // a working day, then log in again
constexpr size_t kMaxSessions = 1000;
constexpr const char* kSessionCookie = "lumbung_session";

struct Session {
  std::string token_hash;  // hex SHA-256 of the reviewer/admin token that logged in
  std::string csrf;        // the CSRF token, clear: it is not a credential on its own
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
  int64_t expires_ms = 0;  // absolute end (login + kSessionMaxMs, or the token's expiry)
  // Order of the last use among all sessions: two uses within one millisecond tie on
  // last_used_ms, and the eviction must still drop the one idle the longest.
  uint64_t used_order = 0;
};

class SessionStore {
 public:
  struct Opened {
    std::string cookie;  // the value for Set-Cookie (shown once, kept only hashed)
    std::string csrf;
    int64_t expires_ms = 0;
  };
  // token_expires_ms 0 = the token never expires.
  Opened open(const std::string& token_hash, int64_t token_expires_ms, int64_t now_ms);
  // The live session for a cookie value (touching it), nullopt if unknown or ended.
  std::optional<Session> find(const std::string& cookie, int64_t now_ms);
  // Ends the session; false if there was none.
  bool close(const std::string& cookie);
  size_t size() const;

 private:
  void evict_locked(int64_t now_ms);
  mutable std::mutex mu_;
  std::map<std::string, Session> by_hash_;  // SHA-256(cookie) -> session
  uint64_t uses_ = 0;                       // Session::used_order of the latest use
};

// The value of cookie `name` in a Cookie header ("" if absent).
std::string cookie_value(const std::string& cookie_header, const std::string& name);

}  // namespace lumbung::server

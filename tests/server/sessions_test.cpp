// The office page's session store (server/src/web/sessions.h) on its own: which session a
// login past kMaxSessions evicts.
#include <doctest/doctest.h>

#include "web/sessions.h"

using lumbung::server::kMaxSessions;
using lumbung::server::SessionStore;

// Logins and requests often come within one millisecond of each other (the web test's 1,001
// logins did, and evicted a session at random among those tied on last_used_ms).
TEST_CASE("web sessions: among sessions used in one millisecond the one used longest ago goes") {
  SessionStore store;
  const int64_t now = 1'000'000;
  const auto first = store.open("token-hash", 0, now);
  const auto second = store.open("token-hash", 0, now);
  REQUIRE(store.find(first.cookie, now));  // first is now the more recently used
  for (size_t i = 2; i < kMaxSessions; ++i) store.open("token-hash", 0, now);
  REQUIRE(store.size() == kMaxSessions);
  store.open("token-hash", 0, now);  // one past the bound: second goes, no other
  CHECK(store.size() == kMaxSessions);
  CHECK_FALSE(store.find(second.cookie, now));
  CHECK(store.find(first.cookie, now));
}

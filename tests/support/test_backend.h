// Which server store a test binary's run is on: LUMBUNG_TEST_BACKEND=postgres is the second
// CTest registration of a server test ("postgres:<case>", tests/CMakeLists.txt), where the
// fixture starts a throwaway cluster (support/pg_cluster.h); unset (or "sqlite") is SQLite.
// One binary serves both, so its files are compiled once per build, not twice.
//
// A case that holds on one backend only carries `* doctest::test_suite(kPostgresOnly)` or
// `kSqliteOnly`: support/doctest_main.cpp leaves the other backend's out of the run and of
// the list CTest registers, so each backend keeps the cases it had.
#pragma once

#include <cstdlib>
#include <cstring>

namespace lumbung::test {

constexpr const char* kPostgresOnly = "postgres only";
constexpr const char* kSqliteOnly = "sqlite only";

inline bool test_postgres() {
#ifdef LUMBUNG_TEST_POSTGRES_ONLY  // a binary of PostgreSQL cases only (pg_store_test, ...)
  return true;
#else
  const char* b = std::getenv("LUMBUNG_TEST_BACKEND");
  return b != nullptr && std::strcmp(b, "postgres") == 0;
#endif
}

}  // namespace lumbung::test

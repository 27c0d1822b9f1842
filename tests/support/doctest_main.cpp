// doctest's main for every test binary. LUMBUNG_TEST_BACKEND (support/test_backend.h) picks
// the server store; the other backend's suite of cases is excluded from the run and from
// --list-test-cases (what doctest_discover_tests registers). Any other value is refused
// rather than read as SQLite: a misspelt backend would otherwise pass on the wrong store.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "support/test_backend.h"

int main(int argc, char** argv) {
  const char* env = std::getenv("LUMBUNG_TEST_BACKEND");
  const std::string backend = env ? env : "";
  if (!backend.empty() && backend != "sqlite" && backend != "postgres") {
    std::fprintf(stderr, "LUMBUNG_TEST_BACKEND=%s: expected sqlite or postgres\n", env);
    return 2;
  }
  doctest::Context context(argc, argv);
  const bool pg = backend == "postgres";
  context.setOption("test-suite-exclude",
                    pg ? lumbung::test::kSqliteOnly : lumbung::test::kPostgresOnly);
  return context.run();
}

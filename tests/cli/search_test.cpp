// `lumbung search` finds what people type (issue 15 item 6): part of a NIK, the words of a
// name in another order or case; "not found" on a laptop with records, "no records yet"
// only on an empty one. The real binary against a real server.
#include <doctest/doctest.h>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"

using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;
using nlohmann::json;

namespace {

size_t found(CliFixture& f, std::vector<std::string> query) {
  query.insert(query.begin(), {"--json", "search"});
  CliResult r = f.lumbung("a", query);
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  return f.json_of(r)["count"].get<size_t>();
}

}  // namespace

TEST_CASE("search finds part of a NIK and name words in any order and case") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  CliResult r = f.lumbung("a", {"search", "siti"}, "", "id");
  CHECK(r.out.find("Belum ada rekaman") != std::string::npos);  // an empty laptop

  REQUIRE(f.lumbung("a", official_flags("7402015203780001", "Siti Rahmawati", "1978-03-12", "P"))
              .exit == 0);
  REQUIRE(
      f.lumbung("a", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L")).exit ==
      0);

  CHECK(found(f, {"rahmawati", "siti"}) == 1);  // another order
  CHECK(found(f, {"SITI RAHMAWATI"}) == 1);     // another case
  CHECK(found(f, {"amir", "ode"}) == 1);
  CHECK(found(f, {"siti", "amir"}) == 0);  // every word must be in the one name
  CHECK(found(f, {"0001"}) == 1);          // the end of a NIK
  CHECK(found(f, {"52037800"}) == 1);      // its middle
  CHECK(found(f, {"--nik", "2107850"}) == 1);
  CHECK(found(f, {"740201"}) == 2);            // a NIK part that is also a village prefix
  CHECK(found(f, {"74.02.01.2006"}) == 2);     // with dots: a village code
  CHECK(found(f, {"7402015203780001"}) == 1);  // a whole NIK

  r = f.lumbung("a", {"search", "budi"}, "", "id");
  CHECK(r.exit == 0);
  CHECK(r.out.find("Tidak ditemukan") != std::string::npos);
  CHECK(r.out.find("\"budi\"") != std::string::npos);
  CHECK(r.out.find("Belum ada rekaman") == std::string::npos);
}

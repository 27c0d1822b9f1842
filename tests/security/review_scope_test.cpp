// Issue 12, a hostile device and a curious reviewer: what a device learns from its answers
// is limited to its own regions. Against the real lumbung-server on 127.0.0.1.
#include <doctest/doctest.h>

#include "server/server_fixture.h"

using namespace lumbung::test;

TEST_CASE("no NIK oracle: a device is told only of duplicates inside its own regions") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Device buton = f.device("dev-buton", {"74.14"});
  Device konawe = f.device("dev-konawe", {"74.02"});
  // A person enrolled in Buton Tengah.
  REQUIRE(f.push(buton, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-00000000c001",
                                             hlc_now(), buton_tengah_record())}))
              .status == 200);
  // A Konawe device probes that NIK with a record of its own region.
  json probe = konawe_record_1();
  probe["nik"] = buton_tengah_record()["nik"];
  probe["birth_date"] = buton_tengah_record()["birth_date"];
  probe["gender"] = buton_tengah_record()["gender"];
  auto r = f.push(konawe, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-00000000c002",
                                               hlc_now(1), probe)}));
  REQUIRE(r.status == 200);
  CHECK(r.json()["applied"] == 1);
  CHECK(r.json()["duplicates"] == 0);  // nothing about another region
  // The office still sees the pair.
  auto dups = f.http().get("/v1/duplicates", reviewer).json()["duplicates"];
  CHECK(dups.size() == 1);
  // Inside its own region the device is told, as before.
  json again = konawe_record_1();
  auto r2 = f.push(konawe, json::array({make_op(2, "0193a6c2-7d1e-7000-8000-00000000c003",
                                                hlc_now(2), again),
                                        make_op(3, "0193a6c2-7d1e-7000-8000-00000000c004",
                                                hlc_now(3), again)}));
  REQUIRE(r2.status == 200);
  CHECK(r2.json()["duplicates"] == 1);
}

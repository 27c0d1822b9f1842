// Issue 12, a hostile device and a curious reviewer: what a device learns from its answers
// is limited to its own regions. Against the real lumbung-server on 127.0.0.1.
#include <doctest/doctest.h>

#include <set>

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

namespace {

std::string scoped_reviewer(ServerFixture& f, std::vector<std::string> scope) {
  auto r = f.http().post("/v1/admin/tokens",
                         json{{"role", "reviewer"}, {"label", "kab"}, {"scope", scope}}, f.admin());
  if (r.status != 201) throw std::runtime_error("token failed: " + r.body);
  return r.json()["token"];
}

// Two devices editing one field of a record concurrently: one conflict entry.
void make_conflict(ServerFixture& f, Device& a, Device& b, const std::string& id, json rec,
                   uint64_t base_seq) {
  const uint64_t h = hlc_now();
  REQUIRE(f.push(a, json::array({make_op(base_seq, id, h, rec)})).status == 200);
  json seen = json::array({h, a.id});
  REQUIRE(f.push(a, json::array({make_op(base_seq + 1, id, h + 10, {{"phone", "081200000011"}},
                                         {{"phone", seen}})}))
              .status == 200);
  REQUIRE(f.push(b, json::array({make_op(b.next_seq++, id, h + 20, {{"phone", "081200000022"}},
                                         {{"phone", seen}})}))
              .status == 200);
}

}  // namespace

TEST_CASE("review scoped like devices: a kabupaten reviewer lists and acts only in its regions") {
  ServerFixture f;
  Device k1 = f.device("dev-k1", {"74.02"}), k2 = f.device("dev-k2", {"74.02"});
  Device b1 = f.device("dev-b1", {"74.14"}), b2 = f.device("dev-b2", {"74.14"});
  make_conflict(f, k1, k2, "0193a6c2-7d1e-7000-8000-00000000d001", konawe_record_1(), 1);
  make_conflict(f, b1, b2, "0193a6c2-7d1e-7000-8000-00000000d002", buton_tengah_record(), 1);
  const std::string national = f.reviewer();
  const std::string konawe = scoped_reviewer(f, {"74.02"});

  auto all = f.http().get("/v1/conflicts", national).json();
  CHECK(all["conflicts"].size() == 2);
  CHECK(all["total"] == 2);
  auto mine = f.http().get("/v1/conflicts", konawe).json();
  REQUIRE(mine["conflicts"].size() == 1);
  CHECK(mine["total"] == 1);
  CHECK(mine["conflicts"][0]["record_id"] == "0193a6c2-7d1e-7000-8000-00000000d001");
  // Buton's entry does not exist for the Konawe reviewer.
  std::string buton_entry;
  for (const auto& c : all["conflicts"]) {
    if (c["record_id"] == "0193a6c2-7d1e-7000-8000-00000000d002") buton_entry = c["id"];
  }
  REQUIRE_FALSE(buton_entry.empty());
  auto act = f.http().post("/v1/conflicts/" + buton_entry + "/resolve", json{{"keep", "winner"}},
                           konawe);
  CHECK(act.status == 404);
  // Records and progress: inside its regions only.
  CHECK(f.http().get("/v1/records?scope=74.14", konawe).status == 403);
  auto recs = f.http().get("/v1/records", konawe).json()["records"];
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["fields"]["village_code"].get<std::string>().rfind("7402", 0) == 0);
  CHECK(f.http().get("/v1/progress", konawe).json()["total"] == 1);
}

TEST_CASE("a cross-region duplicate never copies another region's personal data into a trap") {
  ServerFixture f;
  Device buton = f.device("dev-buton", {"74.14"});
  Device attacker = f.device("dev-konawe", {"74.02"});
  REQUIRE(f.push(buton, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-00000000e009",
                                             hlc_now(), buton_tengah_record())}))
              .status == 200);
  // The trap: a low id, the victim's NIK (and birth date/gender so it validates), nothing else
  // the attacker knows.
  json trap = konawe_record_1();
  trap["nik"] = buton_tengah_record()["nik"];
  trap["birth_date"] = buton_tengah_record()["birth_date"];
  trap["gender"] = buton_tengah_record()["gender"];
  trap["full_name"] = "X";
  trap.erase("phone");
  REQUIRE(f.push(attacker, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-00000000e001",
                                                hlc_now(1), trap)}))
              .status == 200);
  const std::string konawe_reviewer = scoped_reviewer(f, {"74.02"});
  auto list = f.http().get("/v1/duplicates", konawe_reviewer).json()["duplicates"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["cross_region"] == true);
  CHECK(list[0]["records"][1]["outside_your_regions"] == true);
  CHECK_FALSE(list[0]["records"][1].contains("fields"));
  const std::string dup = list[0]["id"];
  // A reviewer holding only one of the regions cannot act on the pair.
  CHECK(f.http()
            .post("/v1/duplicates/" + dup + "/merge",
                  json{{"survivor", "0193a6c2-7d1e-7000-8000-00000000e001"}}, konawe_reviewer)
            .status == 404);
  // The national office merges with the trap as survivor (the habit the README showed):
  // nothing personal of the Buton person reaches the trap.
  auto merged = f.http().post("/v1/duplicates/" + dup + "/merge",
                              json{{"survivor", "0193a6c2-7d1e-7000-8000-00000000e001"}},
                              f.reviewer());
  REQUIRE(merged.status == 200);
  CHECK(merged.json()["resolution"]["cross_region"] == true);
  json pulled = f.pull_all(attacker);
  const std::string all = pulled.dump();
  for (const char* v : {"089584002465", "12600000", "Joko Gunawan"}) {
    INFO(v);
    CHECK(all.find(v) == std::string::npos);
  }
}

TEST_CASE("review queues page with a stable cursor and report totals") {
  ServerFixture f;
  Device d = f.device("dev-a", {"74.02"});
  // 25 records with one NIK: 24 duplicate pairs with the first (at most 8 per op) -> many.
  json ops = json::array();
  for (int i = 1; i <= 25; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "0193a6c2-7d1e-7000-8000-0000000f%04d", i);
    ops.push_back(make_op(i, id, hlc_now(i), konawe_record_1()));
  }
  REQUIRE(f.push(d, ops).status == 200);
  const std::string reviewer = f.reviewer();
  const uint64_t total = f.http().get("/v1/duplicates?limit=1", reviewer).json()["total"];
  CHECK(total >= 24);
  std::set<std::string> seen;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    auto j = f.http().get("/v1/duplicates?limit=7&after=" + after, reviewer).json();
    CHECK(j["total"] == total);
    for (const auto& e : j["duplicates"]) CHECK(seen.insert(e["id"].get<std::string>()).second);
    after = j["next"];
    if (after.empty()) break;
  }
  CHECK(seen.size() == total);
  CHECK(f.http().get("/v1/duplicates?after=garbage", reviewer).status == 400);
}

TEST_CASE("one device cannot bury the review queue: past its hourly budget ops are set aside") {
  ServerFixture f;
  Device d = f.device("dev-flood", {"74.02"});
  Device other = f.device("dev-other", {"74.02"});
  json ops = json::array();
  for (int i = 1; i <= 200; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "0193a6c2-7d1e-7000-8000-0000001f%04d", i);
    ops.push_back(make_op(i, id, hlc_now(i), konawe_record_1()));  // one NIK, 200 times
  }
  auto r = f.push(d, ops);
  REQUIRE(r.status == 200);
  CHECK(r.json()["acked_seq"] == 200);  // all acknowledged: nothing lost, nothing blocked
  const size_t refused = r.json()["refused"].size();
  CHECK(refused > 0);
  CHECK(r.json()["refused"][0]["code"] == "rate_limited");
  const std::string reviewer = f.reviewer();
  const uint64_t opened = f.http().get("/v1/duplicates?limit=1", reviewer).json()["total"];
  CHECK(opened <= 500);
  CHECK(f.http().get("/v1/refused?limit=1", reviewer).json()["total"] == refused);
  // Another device still gets its duplicates found.
  auto o = f.push(other, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-0000002f0001",
                                              hlc_now(300), konawe_record_1())}));
  REQUIRE(o.status == 200);
  CHECK(o.json()["refused"].empty());
  CHECK(o.json()["duplicates"].get<int>() > 0);
}

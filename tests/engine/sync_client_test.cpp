// End-to-end: device stores syncing through the real SyncClient and HTTP transport with a
// real lumbung-server process on 127.0.0.1 (no mocks), with faults injected on the link.
#include <doctest/doctest.h>

#include <set>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/fault_transport.h"
#include "support/laptop.h"

using namespace lumbung;
using test::Fault;
using test::Laptop;
using test::ServerFixture;

namespace {

std::map<std::string, Json> server_contents(ServerFixture& f, const std::string& reviewer) {
  std::map<std::string, Json> out;
  for (auto& r : f.records(reviewer)) {
    if (!r["deleted"].get<bool>()) out[r["id"].get<std::string>()] = r["fields"];
  }
  return out;
}

Json konawe(int serial) { return test::konawe_enrolment(serial); }

}  // namespace

TEST_CASE("offline edits of different fields of one record both survive everywhere") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(1));
  a.sync();
  b.sync();
  REQUIRE(b.store->get("enrolment", id));

  // Offline: A fixes the phone, B the income.
  a.store->update("enrolment", id, {{"phone", "081234567890"}});
  b.store->update("enrolment", id, {{"monthly_income", 2500000}});
  a.sync();
  b.sync();
  a.sync();

  const auto rec = server_contents(f, reviewer).at(id);
  CHECK(rec["phone"] == "081234567890");
  CHECK(rec["monthly_income"] == 2500000);
  CHECK(a.contents() == server_contents(f, reviewer));
  CHECK(b.contents() == server_contents(f, reviewer));
  CHECK(f.http().get("/v1/conflicts", reviewer).json()["conflicts"].empty());
}

TEST_CASE(
    "same field on two laptops: one winner everywhere - the loser kept - resolution reaches both") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id = a.store->create("enrolment", konawe(2));
  a.sync();
  b.sync();
  a.store->update("enrolment", id, {{"phone", "081111111111"}});
  b.store->update("enrolment", id, {{"phone", "082222222222"}});
  a.sync();
  b.sync();
  a.sync();

  const auto server = server_contents(f, reviewer);
  CHECK(a.contents() == server);
  CHECK(b.contents() == server);
  const std::string winner = server.at(id)["phone"];
  auto conflicts = f.http().get("/v1/conflicts", reviewer).json()["conflicts"];
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0]["field"] == "phone");
  const std::set<std::string> sides = {conflicts[0]["winner"]["value"],
                                       conflicts[0]["loser"]["value"]};
  CHECK(sides == std::set<std::string>{"081111111111", "082222222222"});
  CHECK(conflicts[0]["winner"]["value"] == winner);

  // The reviewer keeps the losing value; it becomes a new write that syncs everywhere.
  const std::string loser = conflicts[0]["loser"]["value"];
  auto r = f.http().post("/v1/conflicts/" + conflicts[0]["id"].get<std::string>() + "/resolve",
                         Json{{"keep", "loser"}}, reviewer);
  REQUIRE(r.status == 200);
  a.sync();
  b.sync();
  CHECK(a.store->get("enrolment", id)->fields["phone"] == loser);
  CHECK(b.store->get("enrolment", id)->fields["phone"] == loser);
  CHECK(f.http().get("/v1/conflicts?status=open", reviewer).json()["conflicts"].empty());
  // The laptop that saw the conflict locally sees it settled by the resolution.
  CHECK(b.store->stats().open_conflicts == 0);
  CHECK(a.store->stats().open_conflicts == 0);
}

TEST_CASE("a push whose answer is lost is applied once: a cut pull resumes: nothing doubles") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  for (int i = 1; i <= 30; ++i) a.store->create("enrolment", konawe(i));

  a.link.on("/v1/push", Fault::kDropResponse);  // server applied it, the answer never came
  SyncReport ra = a.sync();
  CHECK(ra.retries >= 1);
  CHECK(a.store->stats().pending_changes == 0);
  CHECK(server_contents(f, reviewer).size() == 30);

  b.link.on("/v1/pull", Fault::kCutResponse);  // the link dies halfway through the page
  SyncReport rb = b.sync();
  CHECK(rb.retries >= 1);
  CHECK(b.contents() == server_contents(f, reviewer));

  // A request delivered twice (a proxy retried) and a lost request: still no doubles.
  a.store->update("enrolment", a.contents().begin()->first, {{"phone", "081299998888"}});
  a.link.queue(Fault::kDuplicateRequest);
  a.link.queue(Fault::kDropRequest);
  a.sync();
  b.sync();
  CHECK(a.contents() == server_contents(f, reviewer));
  CHECK(b.contents() == server_contents(f, reviewer));
  // Every op reached the server once: 30 creates + 1 update, in the device's seq order.
  auto devices = f.http().get("/v1/admin/devices", f.admin()).json()["devices"];
  for (auto& d : devices) {
    if (d["device_id"] == "laptop-a") CHECK(d["acked_seq"] == 31);
  }
}

TEST_CASE("a link that keeps failing gives up with transport_error and loses nothing") {
  // In batches and as a stream, whose push state asked after a cut goes on counting the
  // stream's attempts (it once had max_attempts of its own: 5 x 5 on a dead link).
  for (const bool stream : {false, true}) {
    CAPTURE(stream);
    ServerFixture f;
    Laptop a(f, "laptop-a", {"74.02"});
    a.store->create("enrolment", konawe(3));
    SyncOptions o;
    o.sleep = [](int) {};
    o.max_attempts = 5;
    o.push_stream = stream;
    const int before = a.link.requests_seen();
    a.link.queue(Fault::kDropRequest, 5);  // as many as the attempts allowed
    try {
      a.client->sync(o);
      FAIL("expected the sync to give up");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kTransport);
    }
    CHECK(a.link.requests_seen() - before == 5);
    CHECK(a.store->stats().pending_changes == 1);
    a.client->sync(o);  // the link is back
    CHECK(a.store->stats().pending_changes == 0);
  }
}

TEST_CASE("scope: a laptop for Konawe cannot push Buton Tengah records and pulls only Konawe") {
  ServerFixture f;
  Laptop konawe_laptop(f, "laptop-konawe", {"74.02"});
  Laptop buton_laptop(f, "laptop-buteng", {"74.14"});
  Json buteng = test::sample_enrolment(4);
  buteng["village_code"] = "7414012001";
  buton_laptop.store->create("enrolment", buteng);
  buton_laptop.sync();
  konawe_laptop.store->create("enrolment", konawe(5));
  konawe_laptop.sync();
  CHECK(konawe_laptop.store->count("enrolment") == 1);  // nothing from 74.14 came down
  CHECK(buton_laptop.store->count("enrolment") == 1);

  // The laptop learnt its regions when it registered: a Buton Tengah village is refused at
  // entry, before anything is written.
  CHECK(konawe_laptop.store->regions() == std::vector<std::string>{"7402"});
  CHECK_THROWS_WITH_AS(konawe_laptop.store->create("enrolment", buteng),
                       doctest::Contains("outside this device's regions"), Error);
  CHECK(konawe_laptop.store->stats().pending_changes == 0);

  // A laptop that did not know them yet: the server refuses the change and keeps it, the
  // laptop records the refusal, and the change behind it still goes through.
  konawe_laptop.store->set_regions({});
  const std::string stray = konawe_laptop.store->create("enrolment", buteng);
  const std::string later = konawe_laptop.store->create("enrolment", konawe(6));
  const SyncReport rep = konawe_laptop.sync();
  CHECK(rep.refused == 1);
  CHECK(konawe_laptop.store->stats().pending_changes == 0);
  CHECK(konawe_laptop.store->stats().refused_changes == 1);
  const auto refused = konawe_laptop.store->refused_changes();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].code == "out_of_scope");
  CHECK(refused[0].record_id == stray);
  CHECK(konawe_laptop.store->regions() == std::vector<std::string>{"7402"});  // learnt again
  auto on_server = f.http().get("/v1/records?collection=enrolment", f.reviewer()).json();
  bool later_arrived = false;
  for (const auto& r : on_server["records"]) later_arrived = later_arrived || r["id"] == later;
  CHECK(later_arrived);

  konawe_laptop.client->set_token("not-a-token");
  try {
    konawe_laptop.sync();
    FAIL("expected unauthorized");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kUnauthorized);
  }
}

TEST_CASE("the same NIK enrolled on two laptops is a duplicate: merging converges everywhere") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), b(f, "laptop-b", {"74.02"});
  const std::string id_a = a.store->create("enrolment", konawe(6));
  Json same_person = konawe(6);
  same_person["phone"] = "081377776666";
  const std::string id_b = b.store->create("enrolment", same_person);
  a.sync();
  b.sync();
  a.sync();
  CHECK(a.store->find_by_key("enrolment", konawe(6)["nik"]).size() == 2);

  auto dups = f.http().get("/v1/duplicates", reviewer).json()["duplicates"];
  REQUIRE(dups.size() == 1);
  auto r = f.http().post("/v1/duplicates/" + dups[0]["id"].get<std::string>() + "/merge",
                         Json{{"survivor", id_a}}, reviewer);
  REQUIRE(r.status == 200);
  a.sync();
  b.sync();
  for (Laptop* l : {&a, &b}) {
    auto found = l->store->find_by_key("enrolment", konawe(6)["nik"]);
    REQUIRE(found.size() == 1);
    CHECK(found[0].id == id_a);
    auto merged_away = l->store->get("enrolment", id_b, true);
    REQUIRE(merged_away);
    CHECK(merged_away->deleted);
    if (f.http().get("/v1/schema", reviewer).json().dump().find("merged_into") !=
        std::string::npos) {
      CHECK(merged_away->fields["merged_into"] == id_a);
    }
  }
  CHECK(a.contents() == b.contents());
  CHECK(a.contents() == server_contents(f, reviewer));
}

TEST_CASE("a laptop whose clock says 2031 is re-stamped and does not win later edits") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  test::FakeWallClock future(test::wall_ms() + 5LL * 365 * 24 * 3600 * 1000);
  Laptop late(f, "laptop-2031", {"74.02"}, &future);
  Laptop honest(f, "laptop-ok", {"74.02"});
  const std::string id = late.store->create("enrolment", konawe(7));
  SyncReport r = late.sync();
  CHECK(r.restamped == 1);
  // The laptop's copy now carries the server's version, so replicas agree on versions too.
  auto server_rec = f.records(reviewer)[0];
  CHECK(late.store->get("enrolment", id)->versions.at("nik") ==
        decode_version(server_rec["versions"]["nik"]));
  CHECK(hlc::physical_ms(late.store->clock().now()) < test::wall_ms() + kMaxClockSkewMs);

  honest.sync();
  honest.store->update("enrolment", id, {{"phone", "081355554444"}});
  honest.sync();
  late.sync();
  CHECK(late.store->get("enrolment", id)->fields["phone"] == "081355554444");
  CHECK(server_contents(f, reviewer).at(id)["phone"] == "081355554444");
}

// Issue 13: a new laptop takes its regions' current records (one "rec" each, in pages the
// link can carry) instead of replaying their history, then follows the log.
TEST_CASE("a new laptop bootstraps from a snapshot then follows the log") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"});
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) ids.push_back(a.store->create("enrolment", konawe(30 + i)));
  for (int round = 0; round < 4; ++round) {  // four edits a record (draft to enrolled takes three)
    for (int i = 0; i < 60; ++i) {
      a.store->update("enrolment", ids[i],
                      {{"phone", "0812777" + std::to_string(1000 + 10 * i + round)}});
    }
  }
  a.store->remove("enrolment", ids[59]);
  a.sync();  // 60 creates, 240 edits and a delete: 301 ops of history

  auto first_sync = [](Laptop& l, bool snapshot) {
    SyncOptions o;
    o.sleep = [](int) {};
    o.first_batch_bytes = 1024;  // small pages: the snapshot must page by bytes too
    o.bootstrap_snapshot = snapshot;
    o.pull_stream = false;  // one request a page (streamed, they are frames of one answer)
    return l.client->sync(o);
  };
  Laptop b(f, "laptop-b", {"74.02"}), c(f, "laptop-c", {"74.02"});
  const SyncReport rb = first_sync(b, true);
  const SyncReport rc = first_sync(c, false);
  CHECK(rb.pulled == 60);   // one record each, the deleted one with its tombstone
  CHECK(rc.pulled == 301);  // the whole history
  CHECK(rb.requests >= 3);
  CHECK(rb.bytes_down < rc.bytes_down);
  MESSAGE("bytes down: snapshot " << rb.bytes_down << " in " << rb.requests << " requests, replay "
                                  << rc.bytes_down << " in " << rc.requests);
  const auto on_server = server_contents(f, reviewer);
  CHECK(b.contents() == on_server);
  CHECK(c.contents() == on_server);

  a.store->update("enrolment", ids[3], {{"monthly_income", 3100000}});
  a.sync();
  CHECK(b.sync().pulled == 1);  // from the log, once
  CHECK(b.contents() == server_contents(f, reviewer));
}

// A laptop given other regions (re-enrolled with a code for them, here as another client
// of the device would do it, so this laptop learns them from a pull answer) kept its pull
// cursor: records of the new regions written before it never came, and the old region's
// records stayed on it, stale. Now the pull starts again and those records leave.
TEST_CASE("a laptop given other regions pulls them from the start and lets the old ones go") {
  ServerFixture f;
  const std::string reviewer = f.reviewer();
  Laptop a(f, "laptop-a", {"74.02"}), c(f, "laptop-c", {"74.02.01"});
  const std::string here = a.store->create("enrolment", konawe(70));  // 74.02.01
  Json there_rec = konawe(71);
  there_rec["village_code"] = "74.02.02.2001";
  const std::string there = a.store->create("enrolment", there_rec);
  a.sync();
  c.sync();
  REQUIRE(c.contents().count(here) == 1);
  REQUIRE(c.contents().count(there) == 0);

  auto code = f.http().post(
      "/v1/admin/codes", Json{{"scope", {"74.02.02"}}, {"label", "c"}, {"device_id", "laptop-c"}},
      f.admin());
  REQUIRE(code.status == 201);
  auto reg = f.http().post(
      "/v1/devices/register",
      Json{{"code", code.json()["code"]}, {"device_id", "laptop-c"}, {"label", "laptop c"}});
  REQUIRE(reg.status == 201);
  c.client->set_token(reg.json()["token"]);
  c.sync();
  const auto held = c.contents();
  CHECK(held.count(there) == 1);  // written before the old cursor: came with the new start
  CHECK(held.count(here) == 0);   // outside its regions now
  CHECK(c.store->regions().size() == 1);
  a.store->update("enrolment", there, {{"phone", "081277770071"}});
  a.sync();
  c.sync();
  CHECK(c.contents().at(there)["phone"] == "081277770071");
}

TEST_CASE(
    "url_encode keeps RFC 3986's unreserved characters and percent-encodes every other byte") {
  CHECK(url_encode("") == "");
  CHECK(url_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(url_encode("74.02 01/x?a=b&c#d") == "74.02%2001%2Fx%3Fa%3Db%26c%23d");
  CHECK(url_encode("c\xC3\xA9+%") == "c%C3%A9%2B%25");  // UTF-8 bytes one by one
  CHECK(url_encode(std::string_view("\x00\x7F\xFF", 3)) == "%00%7F%FF");
}

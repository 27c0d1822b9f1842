// Regression (found by the simulation, tests/sim, seed 17 and others): a laptop whose clock
// is years ahead pushes; the server re-stamps its ops and says so in the answer, but the
// answer is lost. The retry was answered "skipped" with no re-stamps, so the laptop kept its
// far-future versions for ever: its versions differed from the server's, and its stale
// far-future values beat newer writes from other devices locally (values diverged too).
// Fix: server/src/sync/sync_service.cpp repeats the re-stamp of a skipped op whose logged
// hlc differs from the pushed one (WriteTxn::logged_hlc).
#include <doctest/doctest.h>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "sim/in_process_server.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/fault_transport.h"
#include "support/temp_dir.h"

using namespace lumbung;

namespace {

std::unique_ptr<Store> open_store(const test::TempDir& dir, const std::string& id,
                                  WallClock& clock) {
  OpenOptions o;
  o.path = dir.file(id + ".db");
  o.schema = test::enrolment_schema();
  o.device_id = id;
  o.clock = &clock;
  return Store::open(o);
}

Json server_record(test::InProcessServer& server, const std::string& token, const std::string& id) {
  HttpRequest r;
  r.method = "GET";
  r.target = "/v1/records?collection=enrolment&limit=100";
  r.headers = {{"Authorization", "Bearer " + token}};
  test::InProcessTransport t(server);
  const HttpResponse resp = t.send(r);
  INFO("records answer " << resp.status << " " << resp.body);
  REQUIRE(resp.status == 200);
  const Json page = Json::parse(resp.body);
  for (auto& rec : page["records"]) {
    if (rec["id"] == id) return rec;
  }
  return Json();
}

std::string post(test::InProcessServer& server, const std::string& target, const Json& body,
                 const std::string& token) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.headers = {{"Authorization", "Bearer " + token}};
  r.body = body.dump();
  test::InProcessTransport t(server);
  HttpResponse resp = t.send(r);
  REQUIRE(resp.status == 201);
  return resp.body;
}

// A server at kToday and a laptop whose clock says three years later, with a reviewer
// token and an enrolment code for Sulawesi Tengah (72).
struct FarAheadLaptop {
  test::TempDir dir;
  test::FakeWallClock server_wall{test::kToday};
  test::FakeWallClock laptop_wall{test::kToday + 3LL * 365 * 24 * 3600 * 1000};  // "2029"
  test::InProcessServer server{dir.file("server"), server_wall,
                               std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json"};
  const std::string reviewer =
      Json::parse(post(server, "/v1/admin/tokens", Json{{"role", "reviewer"}, {"label", "r"}},
                       server.admin_token()))["token"];
  const std::string code = Json::parse(
      post(server, "/v1/admin/codes", Json{{"scope", {"72"}}}, server.admin_token()))["code"];
  std::unique_ptr<Store> store = open_store(dir, "laptop-2029", laptop_wall);
};

}  // namespace

TEST_CASE("a re-stamp whose push answer was lost reaches the device on the retry") {
  FarAheadLaptop f;
  auto& server = f.server;
  auto& store = f.store;
  test::InProcessTransport inner(server);
  test::FaultTransport link(inner);
  SyncClient client(*store, link, "");
  client.set_token(client.register_device(f.code, "laptop"));
  const std::string id = store->create("enrolment", test::sample_enrolment(7));

  link.on("/v1/push", test::Fault::kDropResponse);  // applied and re-stamped; answer lost
  SyncOptions o;
  o.sleep = [](int) {};
  o.max_attempts = 3;
  client.sync(o);

  const Json on_server = server_record(server, f.reviewer, id);
  REQUIRE(on_server.is_object());
  const Version server_version = decode_version(on_server["versions"]["nik"]);
  CHECK(hlc::physical_ms(server_version.hlc) < test::kToday + 3600 * 1000);  // re-stamped
  const auto mine = store->get("enrolment", id);
  REQUIRE(mine);
  CHECK(mine->versions.at("nik") == server_version);
  for (auto& [field, v] : mine->versions) {
    CHECK(v == decode_version(on_server["versions"][field]));
  }
}

// Regression (found by the soak, seeds 52411, 53097, 56277 and others): the push answer
// carries re-stamps and the server's time. The client applied the re-stamps (the clock
// observed them) and then learnt the time, which pulled the far-ahead clock back to "now"
// and forgot them; in the same millisecond the laptop's next edit got the very version the
// server had minted for its create, so the edit and the create were indistinguishable.
// Fix: engine/src/sync/sync_client.cpp learns the time first, then applies the re-stamps.
TEST_CASE("an edit after a re-stamped create gets a newer version than the create") {
  FarAheadLaptop f;
  auto& server = f.server;
  auto& store = f.store;
  test::InProcessTransport link(server);
  SyncClient client(*store, link, "");
  client.set_token(client.register_device(f.code, "laptop"));
  store->create("enrolment", test::sample_enrolment(6));
  const std::string id = store->create("enrolment", test::sample_enrolment(7));
  SyncOptions o;
  o.sleep = [](int) {};
  client.sync(o);  // both creates are re-stamped to the server's "now": counters 0 and 1
  const Version created = store->get("enrolment", id)->versions.at("phone");
  CHECK(hlc::physical_ms(created.hlc) == test::kToday);

  // Neither clock moves: the edit happens in the same millisecond as the re-stamp.
  store->update("enrolment", id, {{"phone", "081299990000"}});
  const Version edited = store->get("enrolment", id)->versions.at("phone");
  CHECK(edited > created);
  client.sync(o);
  const Json on_server = server_record(server, f.reviewer, id);
  REQUIRE(on_server.is_object());
  CHECK(on_server["fields"]["phone"] == "081299990000");
  CHECK(decode_version(on_server["versions"]["phone"]) == edited);
}

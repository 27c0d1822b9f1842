// Credentials that can be withdrawn or renewed (issue 12, item 8): enrolment codes revoked
// before use, and device tokens rotated without stranding a laptop whose answer was lost.
// Against the real lumbung-server on 127.0.0.1.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "lumbung/clock.h"
#include "security/security_support.h"

using namespace lumbung;
using namespace lumbung::test;
using nlohmann::json;

namespace {

json register_with(SecServer& s, const std::string& code, const std::string& id) {
  auto r = s.http().post("/v1/devices/register", json{{"code", code}, {"device_id", id}});
  json j = json::parse(r.body, nullptr, false);
  j["_status"] = r.status;
  return j;
}

uint64_t hlc_now() {
  return hlc::make(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count(),
                   0);
}

int pull_status(SecServer& s, const std::string& token) {
  return s.http().get("/v1/pull?cursor=", token).status;
}

}  // namespace

TEST_CASE("a revoked enrolment code cannot register a device: 403 with reason code_revoked") {
  SecServer s;
  auto made =
      s.http().post("/v1/admin/codes", json{{"scope", {"74.02"}}, {"label", "Lambuya"}}, s.admin());
  REQUIRE(made.status == 201);
  const std::string code = made.json()["code"];
  const std::string id = made.json()["id"];
  CHECK(id.size() == 16);
  CHECK(code.find(id) == std::string::npos);  // the id does not give the code away

  auto revoked = s.http().post("/v1/admin/codes/" + id + "/revoke", json::object(), s.admin());
  INFO("revoke: " << revoked.body);
  REQUIRE(revoked.status == 200);
  CHECK(revoked.json()["revoked"] == true);
  CHECK(revoked.json()["used"] == false);

  json r = register_with(s, code, "laptop-a");
  CHECK(r["_status"] == 403);
  CHECK(r["code"] == "forbidden");
  CHECK(r["reason"] == "code_revoked");
  CHECK(s.http().get("/v1/admin/devices", s.admin()).json()["devices"].empty());

  // Revoking again is harmless; an unknown id is 404; the id is not a code.
  CHECK(s.http().post("/v1/admin/codes/" + id + "/revoke", json::object(), s.admin()).status ==
        200);
  CHECK(
      s.http().post("/v1/admin/codes/ffffffffffffffff/revoke", json::object(), s.admin()).status ==
      404);
  CHECK(register_with(s, id, "laptop-b")["_status"] == 401);

  // Used and expired codes say so the same way.
  const std::string used = s.code({"74.02"});
  REQUIRE(register_with(s, used, "laptop-c")["_status"] == 201);
  json again = register_with(s, used, "laptop-d");
  CHECK(again["_status"] == 403);
  CHECK(again["reason"] == "code_used");

  // Only an admin may revoke a code.
  const std::string reviewer = s.staff("reviewer")["token"];
  auto other = s.http().post("/v1/admin/codes", json{{"scope", {"74.02"}}}, s.admin()).json();
  CHECK(s.http()
            .post("/v1/admin/codes/" + other["id"].get<std::string>() + "/revoke", json::object(),
                  reviewer)
            .status == 403);
  CHECK(register_with(s, other["code"], "laptop-e")["_status"] == 201);
}

TEST_CASE("device token rotation: the old token works until the new one is first used") {
  SecServer s;
  const std::string old_token = s.device("laptop-a", {"74.02"});
  const std::string other = s.device("laptop-b", {"74.02"});
  REQUIRE(pull_status(s, old_token) == 200);

  // A rotation whose answer is lost: the laptop still holds only the old token, which
  // works; it asks again and gets another new token (the lost one is replaced).
  auto lost = s.http().post("/v1/devices/token/rotate", json::object(), old_token);
  INFO("rotate: " << lost.body);
  REQUIRE(lost.status == 200);
  const std::string lost_token = lost.json()["token"];
  CHECK(lost_token.rfind("lbd_", 0) == 0);
  CHECK(lost.json()["device_id"] == "laptop-a");
  CHECK(pull_status(s, old_token) == 200);

  auto fresh = s.http().post("/v1/devices/token/rotate", json::object(), old_token);
  REQUIRE(fresh.status == 200);
  const std::string new_token = fresh.json()["token"];
  CHECK(new_token != lost_token);
  CHECK(new_token != old_token);
  CHECK(pull_status(s, lost_token) == 401);  // replaced before it was ever used
  CHECK(pull_status(s, old_token) == 200);   // still the laptop's token

  // The first call with the new token makes it the only one.
  CHECK(pull_status(s, new_token) == 200);
  auto gone = s.http().get("/v1/pull?cursor=", old_token);
  CHECK(gone.status == 401);
  CHECK(gone.json()["code"] == "unauthorized");
  CHECK(pull_status(s, new_token) == 200);

  // The new token is the device's, with its regions: a push in scope works, out of scope
  // is refused as before; another device is untouched.
  json rec = sample_enrolment(4801);
  rec["village_code"] = "7402012006";
  auto push = s.http().post(
      "/v1/push",
      json{{"device", "laptop-a"},
           {"ops",
            {{{"seq", 1}, {"col", "enrolment"}, {"id", "r-1"}, {"hlc", hlc_now()}, {"set", rec}}}}},
      new_token);
  INFO("push: " << push.body);
  CHECK(push.status == 200);
  CHECK(push.json()["applied"] == 1);
  CHECK(pull_status(s, other) == 200);

  // A revoked device's tokens, pending one included, all stop.
  auto pending = s.http().post("/v1/devices/token/rotate", json::object(), new_token);
  REQUIRE(pending.status == 200);
  REQUIRE(s.http().post("/v1/admin/devices/laptop-a/revoke", json::object(), s.admin()).status ==
          200);
  CHECK(pull_status(s, new_token) == 401);
  auto revoked = s.http().get("/v1/pull?cursor=", pending.json()["token"].get<std::string>());
  CHECK(revoked.status == 401);
  CHECK(revoked.json()["detail"] == "device revoked");

  // Staff tokens cannot rotate as a device; the audit log names each rotation.
  CHECK(s.http().post("/v1/devices/token/rotate", json::object(), s.admin()).status == 403);
  int rotations = 0;
  const json audit = s.http().get("/v1/admin/audit", s.admin()).json();
  for (const auto& e : audit["entries"]) rotations += e["action"] == "rotate_token";
  CHECK(rotations == 3);
}

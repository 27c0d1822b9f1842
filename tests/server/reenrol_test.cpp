// Re-enrolment (issue 15 item 3) against the real lumbung-server: a code made for a
// registered device id (POST /v1/admin/codes "device_id") registers it again, keeping its
// acked_seq; its old token and any pending rotated token stop at once; a general code, a
// used code or a code for another device are refused and change nothing. Built for SQLite
// and PostgreSQL (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {

std::string reason_of(const HttpResult& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("reason", std::string()) : std::string();
}
std::string code_of(const HttpResult& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("code", std::string()) : std::string();
}

json device_row(ServerFixture& f, const std::string& id) {
  auto r = f.http().get("/v1/admin/devices", f.admin());
  REQUIRE(r.status == 200);
  const json list = r.json();  // kept: the loop must not run over a destroyed temporary
  for (const auto& d : list["devices"]) {
    if (d["device_id"] == id) return d;
  }
  FAIL("no device " << id << " in " << r.body);
  return json();
}

HttpResult make_code(ServerFixture& f, json body) {
  return f.http().post("/v1/admin/codes", body, f.admin());
}

HttpResult reg(ServerFixture& f, const std::string& code, const std::string& id) {
  return f.http().post("/v1/devices/register",
                       json{{"code", code}, {"device_id", id}, {"label", id}});
}

}  // namespace

TEST_CASE("a code made for a revoked device re-enrols it and keeps its acked_seq") {
  ServerFixture f;
  Device a = f.device("lap-a", {"74.02"});
  Device b = f.device("lap-b", {"74.02"});
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1()),
                                 make_op(2, "rec-2", hlc_now(1), konawe_record_2())}))
              .status == 200);
  // A rotation left half done: its pending token must die with the re-enrolment too.
  auto rot = f.http().post("/v1/devices/token/rotate", json::object(), a.token);
  REQUIRE(rot.status == 200);
  const std::string pending = rot.json()["token"];
  REQUIRE(f.http().post("/v1/admin/devices/lap-a/revoke", json::object(), f.admin()).status == 200);
  CHECK(f.push(a, json::array({make_op(3, "rec-3", hlc_now(2), buton_tengah_record())})).status ==
        401);

  // Bad input: a code for a device the server does not know is refused at once.
  auto none = make_code(f, json{{"device_id", "tidak-ada"}});
  CHECK(none.status == 404);
  CHECK(code_of(none) == "not_found");

  // A general code cannot take over a registered id: 409, and the code stays unused.
  const std::string general = f.code({"74.02"});
  auto taken = reg(f, general, "lap-a");
  CHECK(taken.status == 409);
  CHECK(code_of(taken) == "already_exists");
  CHECK(device_row(f, "lap-a")["revoked"] == true);
  CHECK(reg(f, general, "lap-c").status == 201);

  // A code made for lap-a, kept regions (no "scope" given): another device cannot use it.
  auto made = make_code(f, json{{"device_id", "lap-a"}, {"label", "ganti laptop"}});
  REQUIRE_MESSAGE(made.status == 201, made.body);
  CHECK(made.json()["device_id"] == "lap-a");
  CHECK(made.json()["scope"] == json::array({"7402"}));
  const std::string for_a = made.json()["code"];
  auto other = reg(f, for_a, "lap-b");
  CHECK(other.status == 403);
  CHECK(reason_of(other) == "code_for_other_device");
  // ... nor a new one; and lap-b is unchanged (its token works).
  CHECK(reason_of(reg(f, for_a, "lap-new")) == "code_for_other_device");
  CHECK(f.http().get("/v1/pull", b.token).status == 200);
  CHECK(device_row(f, "lap-a")["revoked"] == true);

  // lap-a with its own code: registered again, acked_seq kept.
  auto again = reg(f, for_a, "lap-a");
  REQUIRE_MESSAGE(again.status == 201, again.body);
  CHECK(again.json()["reenrolled"] == true);
  CHECK(again.json()["acked_seq"] == 2);
  CHECK(again.json()["scope"] == json::array({"7402"}));
  const std::string old_token = a.token;
  a.token = again.json()["token"];
  CHECK(a.token != old_token);
  // The old token and the pending rotated one stop at once.
  CHECK(f.http().get("/v1/pull", old_token).status == 401);
  CHECK(f.http().get("/v1/pull", pending).status == 401);
  // Its next op follows on from acked_seq.
  auto p = f.push(a, json::array({make_op(3, "rec-3", hlc_now(3), konawe_record_1())}));
  CHECK_MESSAGE(p.status == 200, p.body);
  CHECK(p.json()["acked_seq"] == 3);
  const json row = device_row(f, "lap-a");
  CHECK(row["revoked"] == false);
  CHECK(row["acked_seq"] == 3);
  CHECK(row["label"] == "lap-a");

  // The code is spent: used again it is refused and the token stays.
  auto used = reg(f, for_a, "lap-a");
  CHECK(used.status == 403);
  CHECK(reason_of(used) == "code_used");
  CHECK(f.http().get("/v1/pull", a.token).status == 200);

  // The audit log says so, naming the code; no "register" entry for lap-a's second time.
  auto audit = f.http().get("/v1/admin/audit?limit=1000", f.admin());
  REQUIRE(audit.status == 200);
  int reenrols = 0;
  int registers = 0;
  bool code_made_for_a = false;
  const json page = audit.json();
  for (const auto& e : page["entries"]) {
    const json detail =
        e["detail"].is_string() ? json::parse(e["detail"].get<std::string>()) : e["detail"];
    if (e["action"] == "reenrol") {
      ++reenrols;
      CHECK(e["target"] == "lap-a");
      CHECK(detail["code"] == made.json()["id"]);
      CHECK(detail["acked_seq"] == 2);
      CHECK(detail["was_revoked"] == true);
    }
    if (e["action"] == "register" && e["target"] == "lap-a") ++registers;
    if (e["action"] == "create_code" && detail.value("device_id", "") == "lap-a") {
      code_made_for_a = detail["code"] == made.json()["id"];
    }
  }
  CHECK(reenrols == 1);
  CHECK(registers == 1);
  CHECK(code_made_for_a);
}

TEST_CASE("a code for a device re-enrols a device that was never revoked - and sets its scope") {
  ServerFixture f;
  Device a = f.device("lap-a", {"74.02"});
  auto made = make_code(
      f, json{{"device_id", "lap-a"}, {"scope", {"74.14"}}, {"label", "Laptop pengganti"}});
  REQUIRE(made.status == 201);
  // No label in the request: the code's.
  auto again = f.http().post("/v1/devices/register",
                             json{{"code", made.json()["code"]}, {"device_id", "lap-a"}});
  REQUIRE_MESSAGE(again.status == 201, again.body);
  CHECK(again.json()["acked_seq"] == 0);
  CHECK(f.http().get("/v1/pull", a.token).status == 401);
  const json row = device_row(f, "lap-a");
  CHECK(row["scope"] == json::array({"7414"}));
  CHECK(row["label"] == "Laptop pengganti");
  // A new device's registration says acked_seq 0 and reenrolled false.
  auto fresh = reg(f, f.code({"74.02"}), "lap-z");
  REQUIRE(fresh.status == 201);
  CHECK(fresh.json()["acked_seq"] == 0);
  CHECK(fresh.json()["reenrolled"] == false);
}

// The audit log: who did what, hash-chained; GET /v1/admin/audit pages it, /verify finds
// the first entry that was edited or deleted in the stored file.
#include <doctest/doctest.h>

#include "security/security_support.h"

using namespace lumbung::test;
using nlohmann::json;

namespace {

json op(uint64_t seq, const std::string& id, json set) {
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  return json{{"seq", seq},
              {"col", "enrolment"},
              {"id", id},
              {"hlc", static_cast<uint64_t>(ms) << 16},
              {"set", std::move(set)}};
}

json record(const std::string& nik, const std::string& name, const std::string& phone) {
  json r = sample_enrolment(1);
  r["nik"] = nik;
  r["full_name"] = name;
  r["phone"] = phone;
  r["village_code"] = "7402292053";
  r["birth_date"] = "1980-11-19";
  return r;
}

// Actions of every audited kind; returns the NIK/name/phone written.
std::vector<std::string> do_things(SecServer& s) {
  const std::string dev = s.device("dev-a", {"7402"});
  json created = s.staff("reviewer");
  json ops =
      json::array({op(1, "rec-1", record("7402291911800001", "Sitti Aminah", "081234500001")),
                   op(2, "rec-2", record("7402291911800002", "La Ode Baco", "081234500002"))});
  auto r = s.http().post("/v1/push", json{{"device", "dev-a"}, {"ops", ops}}, dev, true);
  REQUIRE(r.status == 200);
  REQUIRE(s.http()
              .post("/v1/admin/tokens/" + created["id"].get<std::string>() + "/revoke",
                    json::object(), s.admin())
              .status == 200);
  REQUIRE(s.http().post("/v1/admin/devices/dev-a/revoke", json::object(), s.admin()).status == 200);
  return {"7402291911800001", "Sitti Aminah", "081234500001",
          "7402291911800002", "La Ode Baco",  "081234500002"};
}

json verify(SecServer& s) {
  auto r = s.http().get("/v1/admin/audit/verify", s.admin());
  REQUIRE(r.status == 200);
  return r.json();
}

}  // namespace

TEST_CASE("the audit log records who did what - with counts and no personal data") {
  SecServer s;
  const auto personal = do_things(s);
  auto r = s.http().get("/v1/admin/audit", s.admin());
  REQUIRE(r.status == 200);
  const json page = r.json();
  std::vector<std::string> actions;
  for (const auto& e : page["entries"]) actions.push_back(e["action"]);
  // The first admin token (at start), the code, the registration, the reviewer token, the
  // push, the two revocations.
  CHECK(actions == std::vector<std::string>{"create_token", "create_code", "register",
                                            "create_token", "push", "revoke_token",
                                            "revoke_device"});
  const json& first = page["entries"][0];
  CHECK(first["role"] == "server");
  CHECK(first["seq"] == 1);
  const json& push = page["entries"][4];
  CHECK(push["role"] == "device");
  CHECK(push["actor"] == "dev-a");
  CHECK(push["detail"]["applied"] == 2);
  CHECK(push["detail"]["acked_seq"] == 2);
  const json& revoke = page["entries"][5];
  CHECK(revoke["role"] == "admin");
  CHECK(revoke["actor"].get<std::string>().size() == 16);  // a token id, not a label
  CHECK(page["entries"][2]["actor"] == "dev-a");
  for (const auto& p : personal) CHECK(r.body.find(p) == std::string::npos);
  CHECK(r.body.find(s.admin()) == std::string::npos);

  json v = verify(s);
  CHECK(v["ok"] == true);
  CHECK(v["entries"] == 7);
  CHECK(v["head"]["seq"] == 7);
  CHECK(v["head"]["hash"] == page["entries"][6]["hash"]);

  SUBCASE("paging") {
    json p1 = s.http().get("/v1/admin/audit?limit=3", s.admin()).json();
    CHECK(p1["entries"].size() == 3);
    CHECK(p1["more"] == true);
    json p2 = s.http()
                  .get("/v1/admin/audit?limit=3&after=" + std::to_string(p1["next"].get<int>()),
                       s.admin())
                  .json();
    CHECK(p2["entries"][0]["seq"] == 4);
    json p3 = s.http().get("/v1/admin/audit?after=6", s.admin()).json();
    CHECK(p3["entries"].size() == 1);
    CHECK(p3["more"] == false);
  }
}

TEST_CASE("tampering with the stored audit log is detected by verify") {
  SecServer s;
  do_things(s);
  REQUIRE(verify(s)["ok"] == true);
  s.stop();

  SUBCASE("an edited entry") {
    sql_exec(s.db_path(),
             "UPDATE audit SET detail='{\"acked_seq\":2,\"applied\":1}' WHERE action='push'");
    s.start();
    json v = verify(s);
    CHECK(v["ok"] == false);
    CHECK(v["first_bad"]["seq"] == 5);
    CHECK(v["first_bad"]["reason"].get<std::string>().find("edited") != std::string::npos);
    CHECK(v["entries"] == 4);
  }
  SUBCASE("an edited actor") {
    sql_exec(s.db_path(), "UPDATE audit SET actor='someone-else' WHERE seq=3");
    s.start();
    json v = verify(s);
    CHECK(v["ok"] == false);
    CHECK(v["first_bad"]["seq"] == 3);
  }
  SUBCASE("a deleted entry in the middle") {
    sql_exec(s.db_path(), "DELETE FROM audit WHERE seq=4");
    s.start();
    json v = verify(s);
    CHECK(v["ok"] == false);
    CHECK(v["first_bad"]["seq"] == 4);
    CHECK(v["first_bad"]["reason"].get<std::string>().find("missing") != std::string::npos);
  }
  SUBCASE("the newest entries deleted") {
    sql_exec(s.db_path(), "DELETE FROM audit WHERE seq>=6");
    s.start();
    json v = verify(s);
    CHECK(v["ok"] == false);
    CHECK(v["first_bad"]["seq"] == 6);
    CHECK(v["first_bad"]["reason"].get<std::string>().find("truncated") != std::string::npos);
  }
  SUBCASE("untouched, after a restart the chain still holds and grows") {
    s.start();
    REQUIRE(s.http().get("/v1/admin/devices", s.admin()).status == 200);  // reads are not audited
    s.code({"7414"});
    json v = verify(s);
    CHECK(v["ok"] == true);
    CHECK(v["entries"] == 8);
  }
}

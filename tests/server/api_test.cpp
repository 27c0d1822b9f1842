// lumbung-server API basics against the real binary: health, enrolment, tokens and roles,
// limits and their error codes, gzip both ways, metrics.
#include <doctest/doctest.h>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {

void check_problem(const HttpResult& r, int status, const std::string& code) {
  INFO("body: " << r.body << " error: " << r.error);
  CHECK(r.status == status);
  CHECK(r.header("content-type") == "application/problem+json");
  json j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["code"] == code);
  CHECK(j["status"] == status);
  CHECK(j["type"] == "urn:lumbung:error:" + code);
  CHECK(j["detail"].is_string());
}

// A push answered 200 whose op `seq` was refused with `code` (acknowledged, not applied).
void check_refused(const HttpResult& r, uint64_t seq, const std::string& code,
                   const std::string& field = "") {
  INFO("body: " << r.body << " error: " << r.error);
  REQUIRE(r.status == 200);
  const json j = r.json();
  CHECK(j["acked_seq"].get<uint64_t>() >= seq);
  bool found = false;
  for (const auto& x : j["refused"]) {
    if (x["seq"] != seq) continue;
    found = true;
    CHECK(x["code"] == code);
    CHECK(x["message"].get<std::string>().find("op seq " + std::to_string(seq)) == 0);
    if (!field.empty()) CHECK(x["field"] == field);
  }
  CHECK(found);
}

}  // namespace

TEST_CASE("health answers without a token - unknown routes and wrong methods are refused") {
  ServerFixture f;
  auto r = f.http().get("/v1/health");
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "ok");
  CHECK(r.json()["server_time_ms"].get<int64_t>() > 0);
  check_problem(f.http().get("/v1/nothing-here"), 404, "not_found");
  auto m = f.http().post("/v1/health", json::object());
  check_problem(m, 405, "method_not_allowed");
  CHECK(m.header("allow") == "GET");
}

TEST_CASE("an enrolment code registers one device - once") {
  ServerFixture f;
  const std::string code = f.code({"74.02"});
  auto r = f.http().post("/v1/devices/register",
                         json{{"code", code}, {"device_id", "laptop-a"}, {"label", "A"}});
  REQUIRE(r.status == 201);
  CHECK(r.json()["device_id"] == "laptop-a");
  CHECK(r.json()["scope"] == json::array({"7402"}));
  CHECK(r.json()["token"].get<std::string>().size() > 40);

  SUBCASE("second use of the code is refused") {
    auto again =
        f.http().post("/v1/devices/register", json{{"code", code}, {"device_id", "laptop-b"}});
    check_problem(again, 403, "forbidden");
  }
  SUBCASE("unknown code") {
    auto bad = f.http().post("/v1/devices/register",
                             json{{"code", "AAAAA-BBBBB-CCCCC-DDDDD"}, {"device_id", "laptop-c"}});
    check_problem(bad, 401, "unauthorized");
  }
  SUBCASE("a device id already registered") {
    auto dup = f.http().post("/v1/devices/register",
                             json{{"code", f.code({"7402"})}, {"device_id", "laptop-a"}});
    check_problem(dup, 409, "already_exists");
  }
  SUBCASE("the token works for the device's calls") {
    auto s = f.http().get("/v1/schema", r.json()["token"]);
    REQUIRE(s.status == 200);
    CHECK(s.json()["collections"].is_array());
  }
}

TEST_CASE("tokens: missing - wrong - revoked - and roles") {
  ServerFixture f;
  Device d = f.device("dev-a", {"7402"});
  const std::string reviewer = f.reviewer();

  check_problem(f.http().get("/v1/pull"), 401, "unauthorized");
  check_problem(f.http().get("/v1/pull", "lbd_not-a-real-token"), 401, "unauthorized");
  CHECK(f.http().get("/v1/pull", d.token).status == 200);

  // A reviewer token cannot push or administer.
  check_problem(
      f.http().post("/v1/push", json{{"device", "dev-a"}, {"ops", json::array()}}, reviewer), 403,
      "forbidden");
  check_problem(f.http().post("/v1/admin/codes", json{{"scope", {"74"}}}, reviewer), 403,
                "forbidden");
  CHECK(f.http().get("/v1/conflicts", reviewer).status == 200);
  // A device token cannot use the review API or admin calls.
  check_problem(f.http().get("/v1/conflicts", d.token), 403, "forbidden");
  check_problem(f.http().get("/v1/records", d.token), 403, "forbidden");
  check_problem(f.http().get("/v1/admin/devices", d.token), 403, "forbidden");
  // The admin can do review reads too.
  CHECK(f.http().get("/v1/progress", f.admin()).status == 200);

  // Revoke: the token stops working at once.
  auto rv = f.http().post("/v1/admin/devices/dev-a/revoke", json::object(), f.admin());
  REQUIRE(rv.status == 200);
  auto after = f.http().get("/v1/pull", d.token);
  check_problem(after, 401, "unauthorized");
  CHECK(after.json()["detail"] == "device revoked");
  check_problem(f.http().post("/v1/admin/devices/nope/revoke", json::object(), f.admin()), 404,
                "not_found");

  auto list = f.http().get("/v1/admin/devices", f.admin());
  REQUIRE(list.status == 200);
  REQUIRE(list.json()["devices"].size() == 1);
  CHECK(list.json()["devices"][0]["revoked"] == true);
}

TEST_CASE("limits and malformed input: each has its code - and nothing changes") {
  ServerFixture f;
  Device d = f.device("dev-a", {"7402"});
  const std::string reviewer = f.reviewer();
  REQUIRE(f.push(d, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1())})).status ==
          200);
  const json before = f.records(reviewer);
  REQUIRE(before.size() == 1);

  auto raw_push = [&](const std::string& body, bool gzip = false) {
    RequestOptions o;
    o.token = d.token;
    o.gzip_body = gzip;
    return f.http().request("POST", "/v1/push", body, o);
  };

  SUBCASE("body larger than kMaxBodyBytes -> 413 body_too_large") {
    std::string big =
        R"({"device":"dev-a","ops":[],"pad":")" + std::string(9 * 1024 * 1024, 'x') + "\"}";
    check_problem(raw_push(big), 413, "body_too_large");
  }
  SUBCASE("gzip body inflating beyond the cap -> 413") {
    std::string big =
        R"({"device":"dev-a","ops":[],"pad":")" + std::string(9 * 1024 * 1024, 'x') + "\"}";
    check_problem(raw_push(big, true), 413, "body_too_large");
  }
  SUBCASE("too many ops -> 413 batch_too_large") {
    json ops = json::array();
    for (uint64_t s = 2; s < 2 + 10001; ++s) ops.push_back(json{{"seq", s}});
    check_problem(f.push(d, ops), 413, "batch_too_large");
  }
  SUBCASE("too deep -> 400 json_too_deep") {
    std::string deep =
        R"({"device":"dev-a","ops":[)" + std::string(40, '[') + std::string(40, ']') + "]}";
    check_problem(raw_push(deep), 400, "json_too_deep");
  }
  SUBCASE("malformed JSON -> 400 malformed_json") {
    check_problem(raw_push(R"({"device":"dev-a","ops":[)"), 400, "malformed_json");
  }
  SUBCASE("wrong types -> 400 protocol_error") {
    check_problem(
        raw_push(
            R"({"device":"dev-a","ops":[{"seq":"two","col":"enrolment","id":"x","hlc":1,"set":{"phone":"0812"}}]})"),
        400, "protocol_error");
  }
  SUBCASE("unknown op member -> 400 protocol_error") {
    json op = make_op(2, "rec-1", hlc_now(), json{{"phone", "081234567890"}});
    op["surprise"] = 1;
    check_problem(f.push(d, json::array({op})), 400, "protocol_error");
  }
  // A bad op is refused and kept, not a reason to reject the batch (issue 11: one refused
  // change must never block a laptop). Here both ops are refused: rec-9 is unknown to the
  // server and a phone number alone is not a whole record; 5 is no income.
  SUBCASE("invalid value -> refused validation_failed naming seq and field; batch goes on") {
    json ops = json::array({make_op(2, "rec-9", hlc_now(), json{{"phone", "081234567890"}}),
                            make_op(3, "rec-1", hlc_now(1), json{{"monthly_income", 5}})});
    auto r = f.push(d, ops);
    check_refused(r, 2, "validation_failed");
    check_refused(r, 3, "validation_failed", "monthly_income");
    CHECK(r.json()["applied"] == 0);
    auto q = f.http().get("/v1/refused?device=dev-a", reviewer);
    REQUIRE(q.status == 200);
    REQUIRE(q.json()["refused"].size() == 2);
    CHECK(q.json()["refused"][1]["op"]["set"]["monthly_income"] == 5);
  }
  SUBCASE("unknown field -> refused unknown_field") {
    check_refused(
        f.push(d, json::array({make_op(2, "rec-1", hlc_now(), json{{"shoe_size", 42}})})), 2,
        "unknown_field", "shoe_size");
  }
  SUBCASE("unknown collection -> refused unknown_collection") {
    json op = make_op(2, "rec-1", hlc_now(), json{{"phone", "081234567890"}});
    op["col"] = "nope";
    check_refused(f.push(d, json::array({op})), 2, "unknown_collection");
  }
  SUBCASE("another device's change set -> 403") {
    check_problem(f.http().post("/v1/push",
                                json{{"device", "someone-else"}, {"ops", json::array()}}, d.token),
                  403, "forbidden");
  }
  SUBCASE("malformed cursor -> 400 invalid_argument") {
    check_problem(f.http().get("/v1/pull?cursor=!!!!", d.token), 400, "invalid_argument");
    check_problem(f.http().get("/v1/pull?cursor=djI6MTA", d.token), 400, "invalid_argument");
  }
  CHECK(f.records(reviewer) == before);
  // And the device can still go on: after refusals at its next seq, otherwise at seq 2.
  const uint64_t next = f.http().get("/v1/pull", d.token).json()["acked_seq"].get<uint64_t>() + 1;
  auto ok = f.push(d, json::array({make_op(next, "rec-2", hlc_now(), konawe_record_1())}));
  CHECK(ok.status == 200);
  CHECK(ok.json()["applied"] == 1);
}

TEST_CASE("gzip both ways - and metrics count it") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  json ops = json::array();
  json rec = konawe_record_1();
  for (int i = 1; i <= 50; ++i)
    ops.push_back(make_op(i, "rec-" + std::to_string(i), hlc_now(i), rec));
  // Same NIK 50 times is fine for the wire (they become duplicates).
  auto p = f.push(a, ops, /*gzip=*/true);
  REQUIRE(p.status == 200);
  CHECK(p.json()["acked_seq"] == 50);

  RequestOptions o;
  o.token = b.token;
  auto pulled = f.http().request("GET", "/v1/pull", "", o);
  REQUIRE(pulled.status == 200);
  CHECK(pulled.header("content-encoding") == "gzip");
  CHECK(pulled.wire_body_bytes < pulled.body.size() / 3);
  CHECK(pulled.json()["ops"].size() == 50);

  o.accept_gzip = false;
  auto plain = f.http().request("GET", "/v1/pull", "", o);
  REQUIRE(plain.status == 200);
  CHECK(plain.header("content-encoding").empty());
  CHECK((plain.json()["ops"] == pulled.json()["ops"]));

  auto m = f.http().get("/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.body.find("lumbung_http_requests_total{route=\"/v1/push\",status=\"200\"} 1") !=
        std::string::npos);
  CHECK(m.body.find("lumbung_ops_applied_total 50") != std::string::npos);
  CHECK(m.body.find("lumbung_duplicates_opened_total") != std::string::npos);
  CHECK(m.body.find("lumbung_conflicts_opened_total") != std::string::npos);
  CHECK(m.body.find("lumbung_http_request_duration_seconds_bucket{route=\"/v1/pull\"") !=
        std::string::npos);
  CHECK(m.body.find("lumbung_http_response_bytes_total{route=\"/v1/pull\"}") != std::string::npos);
}

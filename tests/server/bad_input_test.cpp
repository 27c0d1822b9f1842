// Bad input, systematically: every endpoint of the real lumbung-server gets malformed JSON,
// wrong types, missing fields, huge strings, deep nesting, unknown fields, out-of-range
// numbers, replayed batches and batches from a revoked device. Each must be answered with
// the code docs/PROTOCOL.md documents, and the server's data must be unchanged afterwards:
// a SHA-256 digest of /v1/records, /v1/conflicts, /v1/duplicates, /v1/targets and every
// device's acked_seq and revocation is taken before and after each request.
#include <doctest/doctest.h>

#include <openssl/sha.h>

#include <string>
#include <vector>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {

enum class Who { kNone, kDevice, kOtherDevice, kRevoked, kReviewer, kAdmin };

struct Case {
  const char* name;
  const char* method;
  std::string target;
  std::string body;
  Who who;
  int status;
  const char* code;  // nullptr: a success that must change nothing (replays)
  bool gzip = false;
  std::map<std::string, std::string> headers = {};
};

std::string sha256_hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

// ServerFixture's helpers on a server started without rate limits: this test sends a few
// hundred requests in a second on purpose (the limits have their own tests).
class Fixture {
 public:
  Fixture()
      : server_(LUMBUNG_SERVER_BIN, dir_.path() + "/data", dir_.path() + "/admin-token",
                {"--rate-limit-device", "0/1", "--rate-limit-address", "0/1"}),
        http_(server_.base_url()),
        admin_(read_text_file(dir_.path() + "/admin-token")) {}
  HttpTestClient& http() { return http_; }
  const std::string& admin() const { return admin_; }
  Device device(const std::string& id, std::vector<std::string> scope) {
    auto c = http_.post("/v1/admin/codes", json{{"scope", scope}, {"label", "test"}}, admin_);
    REQUIRE(c.status == 201);
    auto r = http_.post("/v1/devices/register",
                        json{{"code", c.json()["code"]}, {"device_id", id}, {"label", id}});
    REQUIRE(r.status == 201);
    return Device{id, r.json()["token"], 1};
  }
  std::string reviewer() {
    auto r = http_.post("/v1/admin/tokens", json{{"role", "reviewer"}, {"label", "rev"}}, admin_);
    REQUIRE(r.status == 201);
    return r.json()["token"];
  }
  HttpResult push(Device& d, json ops) {
    return http_.post("/v1/push", json{{"device", d.id}, {"ops", std::move(ops)}}, d.token, true);
  }

 private:
  TempDir dir_;
  ServerProcess server_;
  HttpTestClient http_;
  std::string admin_;
};

std::string digest(Fixture& f) {
  std::string all;
  for (const char* path :
       {"/v1/records?collection=enrolment&limit=10000", "/v1/conflicts?status=all",
        "/v1/duplicates?status=all", "/v1/targets"}) {
    auto r = f.http().get(path, f.admin());
    REQUIRE(r.status == 200);
    all += r.body;
  }
  auto devices = f.http().get("/v1/admin/devices", f.admin()).json()["devices"];
  for (auto& d : devices) {
    all += d["device_id"].dump() + d["acked_seq"].dump() + d["revoked"].dump();
  }
  return sha256_hex(all);
}

std::string nested(int depth) {
  return std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']');
}

}  // namespace

TEST_CASE("every endpoint answers bad input with its documented code and changes nothing") {
  Fixture f;
  const std::string reviewer = f.reviewer();
  Device d = f.device("dev-bad", {"74.02"});
  Device other = f.device("dev-other", {"74.02"});
  Device revoked = f.device("dev-revoked", {"74.02"});

  // Some state worth protecting: a record, a concurrent update (a conflict), a duplicate NIK.
  const std::string rec = "0193a6c2-7d1e-7000-8000-0000000000b1";
  const std::string dup = "0193a6c2-7d1e-7000-8000-0000000000b2";
  const uint64_t h0 = hlc_now();
  REQUIRE(f.push(d, json::array({make_op(1, rec, h0, konawe_record_1())})).status == 200);
  const json seen = json::array({h0, d.id});
  REQUIRE(f.push(d, json::array(
                        {make_op(2, rec, h0 + 10, {{"phone", "081111111111"}}, {{"phone", seen}})}))
              .status == 200);
  REQUIRE(f.push(other, json::array({make_op(1, rec, h0 + 5, {{"phone", "082222222222"}},
                                             {{"phone", seen}}),
                                     make_op(2, dup, h0 + 6, konawe_record_1())}))
              .status == 200);
  REQUIRE(f.push(revoked, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-0000000000b3", h0 + 7,
                                               konawe_record_2())}))
              .status == 200);
  REQUIRE(f.http().post("/v1/admin/devices/dev-revoked/revoke", json::object(), f.admin()).status ==
          200);
  auto conflicts = f.http().get("/v1/conflicts", reviewer).json()["conflicts"];
  REQUIRE(conflicts.size() >= 1);
  const std::string conflict = conflicts[0]["id"];
  auto dups = f.http().get("/v1/duplicates", reviewer).json()["duplicates"];
  REQUIRE(dups.size() == 1);
  const std::string duplicate = dups[0]["id"];

  auto push_body = [&](const std::string& device, const json& ops) {
    return json{{"device", device}, {"ops", ops}}.dump();
  };
  const json rec1 = konawe_record_1();
  const std::string fresh = "0193a6c2-7d1e-7000-8000-0000000000c1";
  const uint64_t h = hlc_now(100);
  json huge_name = rec1;
  huge_name["full_name"] = std::string(100000, 'a');
  json big_income = rec1;
  big_income["monthly_income"] = 1e300;
  json negative_income = rec1;
  negative_income["monthly_income"] = -5;
  json unknown_field = rec1;
  unknown_field["shoe_size"] = 42;
  json wrong_type = rec1;
  wrong_type["programs"] = "JKK";
  json buteng = buton_tengah_record();
  json too_many = json::array();
  for (int i = 0; i < 10001; ++i)
    too_many.push_back(
        make_op(3 + static_cast<uint64_t>(i), fresh, h, {{"phone", "081234567890"}}));
  std::string deep_push = "{\"device\":\"dev-bad\",\"ops\":" + nested(40) + "}";
  std::string over_8mib = "{\"device\":\"dev-bad\",\"ops\":[],\"report\":{\"x\":\"" +
                          std::string(9u << 20, 'x') + "\"}}";

  const std::vector<Case> cases = {
      // --- POST /v1/push
      {"push: not JSON", "POST", "/v1/push", "{\"device\":", Who::kDevice, 400, "malformed_json"},
      {"push: empty body", "POST", "/v1/push", "", Who::kDevice, 400, "malformed_json"},
      {"push: deep nesting", "POST", "/v1/push", deep_push, Who::kDevice, 400, "json_too_deep"},
      {"push: ops not an array", "POST", "/v1/push", R"({"device":"dev-bad","ops":"x"})",
       Who::kDevice, 400, "protocol_error"},
      {"push: body an array", "POST", "/v1/push", "[1,2]", Who::kDevice, 400, "protocol_error"},
      {"push: missing ops", "POST", "/v1/push", R"({"device":"dev-bad"})", Who::kDevice, 400,
       "protocol_error"},
      {"push: missing device", "POST", "/v1/push", R"({"ops":[]})", Who::kDevice, 400,
       "protocol_error"},
      {"push: seq a string", "POST", "/v1/push",
       push_body(
           d.id,
           json::array({json{
               {"seq", "3"}, {"col", "enrolment"}, {"id", fresh}, {"hlc", h}, {"set", rec1}}})),
       Who::kDevice, 400, "protocol_error"},
      {"push: seq negative", "POST", "/v1/push",
       push_body(
           d.id,
           json::array({json{
               {"seq", -3}, {"col", "enrolment"}, {"id", fresh}, {"hlc", h}, {"set", rec1}}})),
       Who::kDevice, 400, "protocol_error"},
      {"push: seq fractional", "POST", "/v1/push",
       push_body(
           d.id,
           json::array({json{
               {"seq", 3.5}, {"col", "enrolment"}, {"id", fresh}, {"hlc", h}, {"set", rec1}}})),
       Who::kDevice, 400, "protocol_error"},
      {"push: hlc beyond 2^64", "POST", "/v1/push",
       "{\"device\":\"dev-bad\",\"ops\":[{\"seq\":3,\"col\":\"enrolment\",\"id\":\"" + fresh +
           "\",\"hlc\":184467440737095516150,\"set\":{\"phone\":\"081234567890\"}}]}",
       Who::kDevice, 400, "protocol_error"},
      {"push: set not an object", "POST", "/v1/push",
       push_body(d.id, json::array({json{{"seq", 3},
                                         {"col", "enrolment"},
                                         {"id", fresh},
                                         {"hlc", h},
                                         {"set", json::array()}}})),
       Who::kDevice, 400, "protocol_error"},
      {"push: unknown op member", "POST", "/v1/push",
       push_body(d.id, json::array({json{{"seq", 3},
                                         {"col", "enrolment"},
                                         {"id", fresh},
                                         {"hlc", h},
                                         {"set", rec1},
                                         {"bogus", 1}}})),
       Who::kDevice, 400, "protocol_error"},
      {"push: base of the wrong shape", "POST", "/v1/push",
       push_body(d.id, json::array({make_op(3, rec, h, {{"phone", "081234567890"}},
                                            {{"phone", "yesterday"}})})),
       Who::kDevice, 400, "protocol_error"},
      {"push: seq not increasing", "POST", "/v1/push",
       push_body(d.id, json::array({make_op(3, fresh, h, rec1),
                                    make_op(3, fresh, h + 1, {{"phone", "081234567890"}})})),
       Who::kDevice, 400, "protocol_error"},
      {"push: dev of another device", "POST", "/v1/push",
       push_body(d.id, json::array({json{{"seq", 3},
                                         {"col", "enrolment"},
                                         {"id", fresh},
                                         {"hlc", h},
                                         {"dev", "dev-other"},
                                         {"set", rec1}}})),
       Who::kDevice, 400, "protocol_error"},
      {"push: gzip header, plain body",
       "POST",
       "/v1/push",
       push_body(d.id, json::array()),
       Who::kDevice,
       400,
       "protocol_error",
       false,
       {{"Content-Encoding", "gzip"}}},
      {"push: unknown content encoding",
       "POST",
       "/v1/push",
       push_body(d.id, json::array()),
       Who::kDevice,
       400,
       "protocol_error",
       false,
       {{"Content-Encoding", "br"}}},
      {"push: another device's change set", "POST", "/v1/push",
       push_body(other.id, json::array({make_op(3, fresh, h, rec1)})), Who::kDevice, 403,
       "forbidden"},
      {"push: seq gap", "POST", "/v1/push",
       push_body(d.id, json::array({make_op(7, fresh, h, rec1)})), Who::kDevice, 409, "seq_gap"},
      {"push: too many ops", "POST", "/v1/push", push_body(d.id, too_many), Who::kDevice, 413,
       "batch_too_large", true},
      {"push: body over 8 MiB", "POST", "/v1/push", over_8mib, Who::kDevice, 413, "body_too_large",
       true},
      {"push: replayed batch", "POST", "/v1/push",
       push_body(d.id, json::array({make_op(1, rec, h0, konawe_record_1()),
                                    make_op(2, rec, h0 + 10, {{"phone", "081111111111"}},
                                            {{"phone", seen}})})),
       Who::kDevice, 200, nullptr},
      {"push: revoked device", "POST", "/v1/push",
       push_body(revoked.id, json::array({make_op(2, fresh, h, rec1)})), Who::kRevoked, 401,
       "unauthorized"},
      {"push: replay from a revoked device", "POST", "/v1/push",
       push_body(revoked.id, json::array({make_op(1, "0193a6c2-7d1e-7000-8000-0000000000b3", h0 + 7,
                                                  konawe_record_2())})),
       Who::kRevoked, 401, "unauthorized"},
      {"push: no token", "POST", "/v1/push",
       push_body(d.id, json::array({make_op(3, fresh, h, rec1)})), Who::kNone, 401, "unauthorized"},
      {"push: reviewer token", "POST", "/v1/push",
       push_body(d.id, json::array({make_op(3, fresh, h, rec1)})), Who::kReviewer, 403,
       "forbidden"},
      {"push: GET", "GET", "/v1/push", "", Who::kDevice, 405, "method_not_allowed"},

      // --- GET /v1/pull
      {"pull: cursor not base64url", "GET", "/v1/pull?cursor=!!!", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: cursor of another format", "GET", "/v1/pull?cursor=djI6MTI", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: cursor with a non-number", "GET", "/v1/pull?cursor=djE6eA", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: huge cursor", "GET", "/v1/pull?cursor=" + std::string(5000, 'A'), "", Who::kDevice,
       400, "invalid_argument"},
      {"pull: limit not a number", "GET", "/v1/pull?limit=many", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: limit negative", "GET", "/v1/pull?limit=-1", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: zstd_level too high", "GET", "/v1/pull?zstd_level=22", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: zstd_level not a number", "GET", "/v1/pull?zstd_level=max", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: sv not a number", "GET", "/v1/pull?sv=two", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: sv huge", "GET", "/v1/pull?sv=99999999999", "", Who::kDevice, 400,
       "invalid_argument"},
      {"pull: revoked device", "GET", "/v1/pull", "", Who::kRevoked, 401, "unauthorized"},
      {"pull: POST", "POST", "/v1/pull", "{}", Who::kDevice, 405, "method_not_allowed"},

      // --- POST /v1/devices/register
      {"register: not JSON", "POST", "/v1/devices/register", "{", Who::kNone, 400,
       "malformed_json"},
      {"register: missing fields", "POST", "/v1/devices/register", "{}", Who::kNone, 400,
       "invalid_argument"},
      {"register: code a number", "POST", "/v1/devices/register",
       R"({"code":12345,"device_id":"x1"})", Who::kNone, 400, "invalid_argument"},
      {"register: unknown code", "POST", "/v1/devices/register",
       R"({"code":"7KQ2M-0P1ZX-AAAAA-BBBBB","device_id":"x1","label":"x"})", Who::kNone, 401,
       "unauthorized"},
      {"register: deep nesting", "POST", "/v1/devices/register", "{\"code\":" + nested(30) + "}",
       Who::kNone, 400, "json_too_deep"},

      // --- review API
      {"resolve: unknown conflict", "POST", "/v1/conflicts/ffff/resolve", R"({"keep":"winner"})",
       Who::kReviewer, 404, "not_found"},
      {"resolve: keep neither", "POST", "/v1/conflicts/" + conflict + "/resolve",
       R"({"keep":"neither"})", Who::kReviewer, 400, "invalid_argument"},
      {"resolve: keep a number", "POST", "/v1/conflicts/" + conflict + "/resolve", R"({"keep":1})",
       Who::kReviewer, 400, "invalid_argument"},
      {"resolve: empty body object", "POST", "/v1/conflicts/" + conflict + "/resolve", "{}",
       Who::kReviewer, 400, "invalid_argument"},
      {"resolve: body an array", "POST", "/v1/conflicts/" + conflict + "/resolve", "[]",
       Who::kReviewer, 400, "invalid_argument"},
      {"resolve: invalid value", "POST", "/v1/conflicts/" + conflict + "/resolve",
       R"({"value":"not a phone"})", Who::kReviewer, 422, "validation_failed"},
      {"resolve: huge value", "POST", "/v1/conflicts/" + conflict + "/resolve",
       json{{"value", std::string(200000, '9')}}.dump(), Who::kReviewer, 422, "validation_failed"},
      {"resolve: not JSON", "POST", "/v1/conflicts/" + conflict + "/resolve", "keep=winner",
       Who::kReviewer, 400, "malformed_json"},
      {"resolve: device token", "POST", "/v1/conflicts/" + conflict + "/resolve",
       R"({"keep":"winner"})", Who::kDevice, 403, "forbidden"},
      {"merge: unknown entry", "POST", "/v1/duplicates/ffff/merge", json{{"survivor", rec}}.dump(),
       Who::kReviewer, 404, "not_found"},
      {"merge: survivor a number", "POST", "/v1/duplicates/" + duplicate + "/merge",
       R"({"survivor":7})", Who::kReviewer, 400, "invalid_argument"},
      {"merge: survivor not in the entry", "POST", "/v1/duplicates/" + duplicate + "/merge",
       json{{"survivor", fresh}}.dump(), Who::kReviewer, 400, "invalid_argument"},
      {"merge: unknown member", "POST", "/v1/duplicates/" + duplicate + "/merge",
       json{{"survivor", rec}, {"force", true}}.dump(), Who::kReviewer, 400, "invalid_argument"},
      {"merge: missing survivor", "POST", "/v1/duplicates/" + duplicate + "/merge", "{}",
       Who::kReviewer, 400, "invalid_argument"},
      {"conflicts: bad status", "GET", "/v1/conflicts?status=maybe", "", Who::kReviewer, 400,
       "invalid_argument"},
      {"duplicates: bad status", "GET", "/v1/duplicates?status=maybe", "", Who::kReviewer, 400,
       "invalid_argument"},
      {"records: limit not a number", "GET", "/v1/records?collection=enrolment&limit=x", "",
       Who::kReviewer, 400, "invalid_argument"},
      {"records: bad scope", "GET", "/v1/records?collection=enrolment&scope=abc", "",
       Who::kReviewer, 400, "invalid_argument"},
      {"records: unknown collection", "GET", "/v1/records?collection=nope", "", Who::kReviewer, 422,
       "unknown_collection"},
      {"progress: bad scope", "GET", "/v1/progress?collection=enrolment&scope=7", "",
       Who::kReviewer, 400, "invalid_argument"},
      {"history: unknown collection", "GET", "/v1/records/" + rec + "/history?collection=nope", "",
       Who::kReviewer, 422, "unknown_collection"},
      {"history: unknown record", "GET", "/v1/records/no-such-record/history", "", Who::kReviewer,
       404, "not_found"},
      {"history: device token", "GET", "/v1/records/" + rec + "/history", "", Who::kDevice, 403,
       "forbidden"},
      {"history: before not a number", "GET", "/v1/records/" + rec + "/history?before=abc", "",
       Who::kReviewer, 400, "invalid_argument"},
      {"history: before 0", "GET", "/v1/records/" + rec + "/history?before=0", "", Who::kReviewer,
       400, "invalid_argument"},
      {"history: before negative", "GET", "/v1/records/" + rec + "/history?before=-5", "",
       Who::kReviewer, 400, "invalid_argument"},
      {"history: before past 2^63", "GET",
       "/v1/records/" + rec + "/history?before=9223372036854775808", "", Who::kReviewer, 400,
       "invalid_argument"},
      {"history: before of 30 digits", "GET",
       "/v1/records/" + rec + "/history?before=123456789012345678901234567890", "", Who::kReviewer,
       400, "invalid_argument"},
      {"targets: not JSON", "POST", "/v1/targets", "{\"scope\":", Who::kReviewer, 400,
       "malformed_json"},
      {"targets: body an array", "POST", "/v1/targets", "[1]", Who::kReviewer, 400,
       "invalid_argument"},
      {"targets: region of 3 digits", "POST", "/v1/targets", R"({"scope":"740","n":5})",
       Who::kReviewer, 400, "invalid_argument"},
      {"targets: n fractional", "POST", "/v1/targets", R"({"scope":"7402","n":2.5})",
       Who::kReviewer, 400, "invalid_argument"},
      {"targets: n too large", "POST", "/v1/targets", R"({"scope":"7402","n":100000001})",
       Who::kReviewer, 400, "invalid_argument"},
      {"targets: device token", "POST", "/v1/targets", R"({"scope":"7402","n":5})", Who::kDevice,
       403, "forbidden"},
      {"targets: unknown collection", "POST", "/v1/targets?collection=nope",
       R"({"scope":"7402","n":5})", Who::kReviewer, 422, "unknown_collection"},

      // --- admin API
      {"codes: scope not a list", "POST", "/v1/admin/codes", R"({"scope":"74.02"})", Who::kAdmin,
       400, "invalid_argument"},
      {"codes: scope of 3 digits", "POST", "/v1/admin/codes", R"({"scope":["740"]})", Who::kAdmin,
       400, "invalid_argument"},
      {"codes: expiry out of range", "POST", "/v1/admin/codes",
       R"({"scope":["74"],"expires_in_hours":99999})", Who::kAdmin, 400, "invalid_argument"},
      {"codes: expiry negative", "POST", "/v1/admin/codes",
       R"({"scope":["74"],"expires_in_hours":-1})", Who::kAdmin, 400, "invalid_argument"},
      {"codes: reviewer token", "POST", "/v1/admin/codes", R"({"scope":["74"]})", Who::kReviewer,
       403, "forbidden"},
      {"tokens: unknown role", "POST", "/v1/admin/tokens", R"({"role":"god","label":"x"})",
       Who::kAdmin, 400, "invalid_argument"},
      {"tokens: role a number", "POST", "/v1/admin/tokens", R"({"role":2})", Who::kAdmin, 400,
       "invalid_argument"},
      {"revoke: unknown device", "POST", "/v1/admin/devices/nobody/revoke", "{}", Who::kAdmin, 404,
       "not_found"},
      {"devices: device token", "GET", "/v1/admin/devices", "", Who::kDevice, 403, "forbidden"},
      {"unknown endpoint", "GET", "/v1/nothing", "", Who::kAdmin, 404, "not_found"},
  };

  const std::string before = digest(f);
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    RequestOptions o;
    switch (c.who) {
      case Who::kNone:
        break;
      case Who::kDevice:
        o.token = d.token;
        break;
      case Who::kOtherDevice:
        o.token = other.token;
        break;
      case Who::kRevoked:
        o.token = revoked.token;
        break;
      case Who::kReviewer:
        o.token = reviewer;
        break;
      case Who::kAdmin:
        o.token = f.admin();
        break;
    }
    o.gzip_body = c.gzip;
    o.headers = c.headers;
    const HttpResult r = f.http().request(c.method, c.target, c.body, o);
    CHECK(r.status == c.status);
    if (c.code) {
      CHECK(r.header("content-type").find("application/problem+json") != std::string::npos);
      json j = json::parse(r.body, nullptr, false);
      CHECK(j.is_object());
      if (j.is_object()) CHECK(j.value("code", "") == c.code);
    } else if (r.status == 200) {
      json j = json::parse(r.body, nullptr, false);
      CHECK(j.value("applied", -1) == 0);  // a replay is acknowledged, applied zero times
    }
    CHECK(digest(f) == before);
  }

  // An op the server will never apply as it stands is not a bad *request*: it is refused
  // and kept (acknowledged, in the refused queue with its data and reason), no record
  // changes, and the ops behind it go through (issue 11: one bad op never blocks a laptop).
  struct RefusedCase {
    const char* name;
    json op;  // seq filled in below
    const char* code;
    bool gzip = false;
  };
  json unknown_col = make_op(0, fresh, h, rec1);
  unknown_col["col"] = "nope";
  const std::vector<RefusedCase> refused_cases = {
      {"huge string", make_op(0, fresh, h, huge_name), "validation_failed", true},
      {"number out of range", make_op(0, fresh, h, big_income), "validation_failed"},
      {"number below min", make_op(0, fresh, h, negative_income), "validation_failed"},
      {"wrong value type", make_op(0, fresh, h, wrong_type), "validation_failed"},
      {"unknown field", make_op(0, fresh, h, unknown_field), "unknown_field"},
      {"unknown collection", unknown_col, "unknown_collection"},
      {"out of scope", make_op(0, fresh, h, buteng), "out_of_scope"},
      {"a create that is not a whole record",
       make_op(0, fresh, h, {{"village_code", "7402292053"}}), "validation_failed"},
      {"a NIK that contradicts the birth date",
       make_op(0, fresh, h,
               [&] {
                 json r = rec1;
                 r["birth_date"] = "1970-01-01";
                 return r;
               }()),
       "validation_failed"},
  };
  auto records_digest = [&] {
    std::string all;
    for (const char* path : {"/v1/records?collection=enrolment&limit=10000",
                             "/v1/conflicts?status=all", "/v1/duplicates?status=all"}) {
      all += f.http().get(path, f.admin()).body;
    }
    return sha256_hex(all);
  };
  const std::string records_before = records_digest();
  uint64_t seq = 3;
  for (const RefusedCase& c : refused_cases) {
    const std::string name = c.name;
    CAPTURE(name);
    json op = c.op;
    op["seq"] = seq;
    RequestOptions o;
    o.token = d.token;
    o.gzip_body = c.gzip;
    const HttpResult r =
        f.http().request("POST", "/v1/push", push_body(d.id, json::array({op})), o);
    REQUIRE(r.status == 200);
    const json j = r.json();
    CHECK(j["acked_seq"] == seq);
    CHECK(j["applied"] == 0);
    REQUIRE(j["refused"].size() == 1);
    CHECK(j["refused"][0]["code"] == c.code);
    CHECK(j["refused"][0]["message"].get<std::string>().size() < 400);  // bounded
    CHECK(records_digest() == records_before);
    ++seq;
  }
  auto q = f.http().get("/v1/refused?device=dev-bad&limit=100", reviewer);
  REQUIRE(q.status == 200);
  CHECK(q.json()["refused"].size() == refused_cases.size());
  // A valid op right behind a refused one is applied.
  auto mixed = f.push(d, json::array({make_op(seq, fresh, hlc_now(100), {{"phone", "12"}}),
                                      make_op(seq + 1, fresh, hlc_now(101), konawe_record_2())}));
  REQUIRE(mixed.status == 200);
  CHECK(mixed.json()["refused"].size() == 1);
  CHECK(mixed.json()["applied"] == 1);
  CHECK(records_digest() != records_before);
}

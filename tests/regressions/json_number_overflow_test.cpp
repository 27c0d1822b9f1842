// Regression (found by tests/fuzz/fuzz_changeset and fuzz_schema in their first minute): a
// JSON number too large for a double (e.g. 1e400) made nlohmann throw out_of_range.406,
// which parse_json_input did not catch (it caught parse_error only), so a request body
// with one was answered 500 internal_error instead of 400 malformed_json.
// Fix: server/src/common/json_input.cpp maps every Json::exception to kMalformedJson.
#include <doctest/doctest.h>

#include "common/json_input.h"
#include "lumbung/error.h"
#include "sim/in_process_server.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

using namespace lumbung;

TEST_CASE("a JSON number beyond double range is malformed_json - not a 500") {
  for (const char* text :
       {"1e400", "{\"hlc\":115816898625e36000}", "[222222222222e444444]", "-1e999"}) {
    CAPTURE(text);
    try {
      server::parse_json_input(text);
      FAIL("expected malformed_json");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kMalformedJson);
    }
  }

  test::TempDir dir;
  test::FakeWallClock wall(test::kToday);
  test::InProcessServer srv(dir.file("server"), wall,
                            std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  server::Request r;
  r.method = "POST";
  r.path = "/v1/admin/codes";
  r.headers["authorization"] = "Bearer " + srv.admin_token();
  r.body = R"({"scope":["74"],"expires_in_hours":1e400})";
  const server::Response resp = srv.handle(r);
  CHECK(resp.status == 400);
  CHECK(Json::parse(resp.body)["code"] == "malformed_json");
}

// libFuzzer: request bodies of every endpoint, through Router::handle on an in-process
// server core (tests/sim/in_process_server.h) on a temp dir. The first byte picks the
// endpoint, the second the credential; the rest is the body. Every answer must be a
// well-formed response: any status, never a crash, and a 500 is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "sim/in_process_server.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace {

using namespace lumbung;

struct World {
  test::TempDir dir;
  test::FakeWallClock wall{test::kToday};
  std::unique_ptr<test::InProcessServer> server;
  std::string device_token, reviewer_token;

  World() {
    server = std::make_unique<test::InProcessServer>(
        dir.file("server"), wall,
        std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
    auto post = [&](const std::string& target, const std::string& body, const std::string& token) {
      server::Request r;
      r.method = "POST";
      r.path = target;
      r.headers["authorization"] = "Bearer " + token;
      r.body = body;
      return Json::parse(server->handle(r).body);
    };
    reviewer_token = post("/v1/admin/tokens", R"({"role":"reviewer","label":"f"})",
                          server->admin_token())["token"];
    const std::string code =
        post("/v1/admin/codes", R"({"scope":["72"]})", server->admin_token())["code"];
    device_token = post("/v1/devices/register",
                        R"({"code":")" + code + R"(","device_id":"fuzz-dev"})", "")["token"];
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();  // one server for the whole run; state accumulates
  if (size < 2) return 0;
  static const char* const kRoutes[][2] = {
      {"POST", "/v1/push"},
      {"GET", "/v1/pull"},
      {"POST", "/v1/devices/register"},
      {"POST", "/v1/conflicts/0/resolve"},
      {"POST", "/v1/duplicates/0/merge"},
      {"POST", "/v1/admin/codes"},
      {"POST", "/v1/admin/tokens"},
      {"POST", "/v1/admin/devices/fuzz-dev2/revoke"},
      {"GET", "/v1/records"},
      {"GET", "/v1/progress"},
  };
  constexpr size_t kN = sizeof kRoutes / sizeof kRoutes[0];
  server::Request r;
  r.method = kRoutes[data[0] % kN][0];
  r.path = kRoutes[data[0] % kN][1];
  const std::string rest(reinterpret_cast<const char*>(data + 2), size - 2);
  if (r.method == "GET") {
    r.query = rest;  // for GETs the fuzzed bytes are the query string
  } else {
    r.body = rest;
  }
  switch (data[1] % 4) {
    case 0:
      break;
    case 1:
      r.headers["authorization"] = "Bearer " + world->device_token;
      break;
    case 2:
      r.headers["authorization"] = "Bearer " + world->reviewer_token;
      break;
    default:
      r.headers["authorization"] = "Bearer " + world->server->admin_token();
      break;
  }
  if (data[1] & 4) r.headers["content-encoding"] = "gzip";
  const server::Response resp = world->server->handle(r);
  if (resp.status < 200 || resp.status > 599 || resp.status == 500) __builtin_trap();
  return 0;
}

// Credentials and roles, table-driven: EVERY endpoint is called with EVERY credential that
// must not pass (none, malformed, unknown, expired, revoked, and each wrong role) and must
// answer 401 unauthorized or 403 forbidden; the right roles must get past the check.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "security/security_support.h"

using namespace lumbung::test;
using nlohmann::json;

namespace {

enum class Cred {
  kNone,
  kMalformed,
  kUnknown,
  kDevice,
  kRevokedDevice,
  kReviewer,
  kExpiredReviewer,
  kRevokedReviewer,
  kAdmin,
  kExpiredAdmin,
  kRevokedAdmin
};

const char* name(Cred c) {
  switch (c) {
    case Cred::kNone:
      return "no token";
    case Cred::kMalformed:
      return "malformed header";
    case Cred::kUnknown:
      return "unknown token";
    case Cred::kDevice:
      return "device";
    case Cred::kRevokedDevice:
      return "revoked device";
    case Cred::kReviewer:
      return "reviewer";
    case Cred::kExpiredReviewer:
      return "expired reviewer";
    case Cred::kRevokedReviewer:
      return "revoked reviewer";
    case Cred::kAdmin:
      return "admin";
    case Cred::kExpiredAdmin:
      return "expired admin";
    case Cred::kRevokedAdmin:
      return "revoked admin";
  }
  return "?";
}

struct Endpoint {
  const char* method;
  const char* path;
  std::set<Cred> allowed;
};

const std::set<Cred> kDeviceOnly{Cred::kDevice};
const std::set<Cred> kStaff{Cred::kReviewer, Cred::kAdmin};
const std::set<Cred> kAdminOnly{Cred::kAdmin};
const std::set<Cred> kAnyToken{Cred::kDevice, Cred::kReviewer, Cred::kAdmin};

// Every authenticated endpoint of docs/PROTOCOL.md (the public ones are health, metrics
// and register, which take no token).
const std::vector<Endpoint> kEndpoints = {
    {"GET", "/v1/schema", kAnyToken},
    {"POST", "/v1/push", kDeviceOnly},
    {"GET", "/v1/pull", kDeviceOnly},
    {"GET", "/v1/conflicts", kStaff},
    {"POST", "/v1/conflicts/c0ffee/resolve", kStaff},
    {"GET", "/v1/duplicates", kStaff},
    {"POST", "/v1/duplicates/d0ffee/merge", kStaff},
    {"GET", "/v1/records", kStaff},
    {"GET", "/v1/progress", kStaff},
    {"POST", "/v1/admin/codes", kAdminOnly},
    {"POST", "/v1/admin/tokens", kAdminOnly},
    {"GET", "/v1/admin/tokens", kAdminOnly},
    {"POST", "/v1/admin/tokens/0000000000000000/revoke", kAdminOnly},
    {"GET", "/v1/admin/devices", kAdminOnly},
    {"POST", "/v1/admin/devices/no-such-device/revoke", kAdminOnly},
    {"POST", "/v1/admin/codes/0000000000000000/revoke", kAdminOnly},
    // The old device token keeps working after a rotation until the new one is used.
    {"POST", "/v1/devices/token/rotate", kDeviceOnly},
    {"POST", "/v1/drafts", kDeviceOnly},
    {"GET", "/v1/admin/audit", kAdminOnly},
    {"GET", "/v1/admin/audit/verify", kAdminOnly},
    {"POST", "/v1/admin/audit/verify", kAdminOnly},
    {"POST", "/v1/admin/audit/checkpoint", kAdminOnly},
};

std::string token_id_of(const json& created) { return created["id"]; }

}  // namespace

TEST_CASE("every endpoint refuses every credential that is not its role's") {
  SecServer s;
  std::map<Cred, std::string> header;  // full Authorization header value ("" = none)
  header[Cred::kNone] = "";
  header[Cred::kMalformed] = "Basic YWRtaW46YWRtaW4=";
  header[Cred::kUnknown] = "Bearer lba_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  header[Cred::kDevice] = "Bearer " + s.device("dev-ok", {"7402"});
  const std::string revoked_dev = s.device("dev-gone", {"7402"});
  header[Cred::kRevokedDevice] = "Bearer " + revoked_dev;
  header[Cred::kReviewer] = "Bearer " + s.staff("reviewer")["token"].get<std::string>();
  json exp_rev = s.staff("reviewer"), rev_rev = s.staff("reviewer");
  json admin2 = s.staff("admin"), exp_adm = s.staff("admin"), rev_adm = s.staff("admin");
  header[Cred::kExpiredReviewer] = "Bearer " + exp_rev["token"].get<std::string>();
  header[Cred::kRevokedReviewer] = "Bearer " + rev_rev["token"].get<std::string>();
  header[Cred::kAdmin] = "Bearer " + admin2["token"].get<std::string>();
  header[Cred::kExpiredAdmin] = "Bearer " + exp_adm["token"].get<std::string>();
  header[Cred::kRevokedAdmin] = "Bearer " + rev_adm["token"].get<std::string>();

  // Revoke through the API; expire by moving the stored expiry into the past (the server
  // is running: WAL lets this second connection write between its transactions).
  REQUIRE(s.http().post("/v1/admin/devices/dev-gone/revoke", json::object(), s.admin()).status ==
          200);
  REQUIRE(
      s.http()
          .post("/v1/admin/tokens/" + token_id_of(rev_rev) + "/revoke", json::object(), s.admin())
          .status == 200);
  REQUIRE(
      s.http()
          .post("/v1/admin/tokens/" + token_id_of(rev_adm) + "/revoke", json::object(), s.admin())
          .status == 200);
  sql_exec(s.db_path(), "UPDATE tokens SET expires_ms=1 WHERE substr(hash,1,16) IN ('" +
                            token_id_of(exp_rev) + "','" + token_id_of(exp_adm) + "')");

  const std::vector<Cred> all = {
      Cred::kNone,          Cred::kMalformed,    Cred::kUnknown,         Cred::kDevice,
      Cred::kRevokedDevice, Cred::kReviewer,     Cred::kExpiredReviewer, Cred::kRevokedReviewer,
      Cred::kAdmin,         Cred::kExpiredAdmin, Cred::kRevokedAdmin};
  int refused = 0, passed = 0;
  for (const Endpoint& e : kEndpoints) {
    for (Cred c : all) {
      RequestOptions o;
      if (!header[c].empty()) o.headers["Authorization"] = header[c];
      HttpResult r =
          s.http().request(e.method, e.path, std::string(e.method) == "POST" ? "{}" : "", o);
      INFO(e.method << " " << e.path << " with " << name(c) << ": " << r.status << " " << r.body);
      json body = json::parse(r.body, nullptr, false);
      if (e.allowed.count(c)) {
        CHECK(r.status != 401);
        CHECK(r.status != 403);
        ++passed;
        continue;
      }
      const bool wrong_role = c == Cred::kDevice || c == Cred::kReviewer || c == Cred::kAdmin;
      CHECK(r.status == (wrong_role ? 403 : 401));
      REQUIRE(body.is_object());
      CHECK(body["code"] == (wrong_role ? "forbidden" : "unauthorized"));
      if (c == Cred::kExpiredReviewer || c == Cred::kExpiredAdmin)
        CHECK(body["detail"] == "token expired");
      if (c == Cred::kRevokedReviewer || c == Cred::kRevokedAdmin)
        CHECK(body["detail"] == "token revoked");
      if (c == Cred::kRevokedDevice) CHECK(body["detail"] == "device revoked");
      ++refused;
    }
  }
  MESSAGE("refused " << refused << " calls, let " << passed << " through to the handler");
  size_t allowed = 0;
  for (const Endpoint& e : kEndpoints) allowed += e.allowed.size();
  CHECK(passed == static_cast<int>(allowed));
  CHECK(refused == static_cast<int>(kEndpoints.size() * all.size() - allowed));
}

TEST_CASE("staff tokens: 256 random bits shown once - stored only as hashes - listed by id") {
  SecServer s;
  json t = s.staff("reviewer");
  const std::string token = t["token"];
  CHECK(token.rfind("lbr_", 0) == 0);
  CHECK(token.size() == 4 + 43);  // base64url of 32 bytes, unpadded
  CHECK(t["id"].get<std::string>().size() == 16);
  const int64_t now_ms =
      t["expires_ms"].get<int64_t>() - lumbung::kReviewerTokenTtlHours * 3600 * 1000;
  CHECK(now_ms > 1700000000000);  // expires_ms = creation + the default reviewer lifetime

  auto list = s.http().get("/v1/admin/tokens", s.admin());
  REQUIRE(list.status == 200);
  CHECK(list.body.find(token) == std::string::npos);
  bool found = false;
  const json rows = list.json()["tokens"];
  for (const auto& row : rows) {
    CHECK_FALSE(row.contains("token"));
    CHECK_FALSE(row.contains("hash"));
    found = found || row["id"] == t["id"];
  }
  CHECK(found);

  SUBCASE("the database file holds no token in clear") {
    const std::string device_token = s.device("dev-a", {"7402"});
    s.stop();
    std::string bytes;
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in(s.db_path() + suffix, std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    CHECK(bytes.size() > 0);
    CHECK(bytes.find(token.substr(4)) == std::string::npos);
    CHECK(bytes.find(device_token.substr(4)) == std::string::npos);
    CHECK(bytes.find(s.admin().substr(4)) == std::string::npos);
  }
  SUBCASE("a chosen lifetime, and its bounds") {
    auto r = s.http().post("/v1/admin/tokens", json{{"role", "admin"}, {"expires_in_hours", 2}},
                           s.admin());
    REQUIRE(r.status == 201);
    CHECK(r.json()["token"].get<std::string>().rfind("lba_", 0) == 0);
    CHECK(s.http()
              .post("/v1/admin/tokens", json{{"role", "reviewer"}, {"expires_in_hours", 0}},
                    s.admin())
              .status == 400);
    CHECK(s.http().post("/v1/admin/tokens", json{{"role", "device"}}, s.admin()).status == 400);
  }
  SUBCASE("revocation is immediate, idempotent, and unknown ids are 404") {
    CHECK(s.http().get("/v1/conflicts", token).status == 200);
    CHECK(s.http()
              .post("/v1/admin/tokens/" + t["id"].get<std::string>() + "/revoke", json::object(),
                    s.admin())
              .status == 200);
    CHECK(s.http().get("/v1/conflicts", token).status == 401);
    CHECK(s.http()
              .post("/v1/admin/tokens/" + t["id"].get<std::string>() + "/revoke", json::object(),
                    s.admin())
              .status == 200);
    CHECK(s.http()
              .post("/v1/admin/tokens/ffffffffffffffff/revoke", json::object(), s.admin())
              .status == 404);
  }
}

TEST_CASE("--new-admin-token recovers access when every admin token is gone") {
  SecServer s;
  for (const auto& l : s.server().startup_lines()) {  // the first token: file only
    CHECK(l.find(s.admin()) == std::string::npos);
  }
  const json list = s.http().get("/v1/admin/tokens", s.admin()).json()["tokens"];
  REQUIRE(list.size() == 1);
  const std::string first_id = list[0]["id"];
  REQUIRE(
      s.http().post("/v1/admin/tokens/" + first_id + "/revoke", json::object(), s.admin()).status ==
      200);
  CHECK(s.http().get("/v1/admin/devices", s.admin()).status == 401);
  s.stop();
  const std::string file = s.data_dir() + "/../admin-token-2";
  ServerProcess p(LUMBUNG_SERVER_BIN, s.data_dir(), file, {"--new-admin-token"});
  const std::string fresh = read_text_file(file);
  REQUIRE(fresh.rfind("lba_", 0) == 0);
  HttpTestClient http(p.base_url());
  CHECK(http.get("/v1/admin/devices", fresh).status == 200);
  // Given --admin-token-file, the token goes only to that file, never to stdout (a log).
  bool announced = false;
  for (const auto& l : p.startup_lines()) {
    CHECK(l.find(fresh) == std::string::npos);
    CHECK(l.find("lba_") == std::string::npos);
    announced = announced || l == "admin token written to " + file;
  }
  CHECK(announced);
}

// Issue 16, the office web page, through the real lumbung-server on 127.0.0.1:0: static files
// and their headers, login -> session cookie, CSRF on every state change (new and existing
// endpoints), logout and revocation ending sessions, reviewer scope on the web endpoints,
// enrolment search and CSV export, status moves through the write path.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {

// A logged-in browser: its cookie and CSRF token.
struct Browser {
  std::string cookie;  // "lumbung_session=..."
  std::string csrf;
  std::string set_cookie;
};

RequestOptions with_cookie(const Browser& b, bool csrf) {
  RequestOptions o;
  o.headers["Cookie"] = b.cookie;
  if (csrf) o.headers["X-CSRF-Token"] = b.csrf;
  return o;
}

HttpResult login_raw(ServerFixture& f, const std::string& token) {
  return f.http().request("POST", "/v1/web/login", json{{"token", token}}.dump(), RequestOptions{});
}

Browser login(ServerFixture& f, const std::string& token) {
  auto r = login_raw(f, token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  Browser b;
  b.set_cookie = r.header("set-cookie");
  b.cookie = b.set_cookie.substr(0, b.set_cookie.find(';'));
  b.csrf = r.json()["csrf"];
  return b;
}

HttpResult get(ServerFixture& f, const Browser& b, const std::string& path) {
  return f.http().request("GET", path, "", with_cookie(b, false));
}
HttpResult post(ServerFixture& f, const Browser& b, const std::string& path, const json& body,
                bool csrf = true) {
  return f.http().request("POST", path, body.dump(), with_cookie(b, csrf));
}

void check_refusal(const HttpResult& r, int status, const std::string& code,
                   const std::string& reason = {}) {
  INFO("body: " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("content-type") == "application/problem+json");
  json j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["code"] == code);
  if (!reason.empty()) CHECK(j.value("reason", "") == reason);
}

std::string scoped_reviewer(ServerFixture& f, std::vector<std::string> scope) {
  auto r = f.http().post("/v1/admin/tokens",
                         json{{"role", "reviewer"}, {"label", "kab"}, {"scope", scope}}, f.admin());
  REQUIRE(r.status == 201);
  return r.json()["token"];
}

// Two Konawe records and one in Buton Tengah, pushed by a province-wide laptop.
void seed(ServerFixture& f) {
  Device d = f.device("dev-prov", {"74"});
  const uint64_t h = hlc_now();
  json b = buton_tengah_record();
  b["full_name"] = "=HYPERLINK(\"x\") <b>Joko</b>";
  REQUIRE(f.push(d, json::array({make_op(1, "rec-k1", h, konawe_record_1()),
                                 make_op(2, "rec-k2", h + 1, konawe_record_2()),
                                 make_op(3, "rec-b1", h + 2, b)}))
              .status == 200);
}

}  // namespace

TEST_CASE("web: the page and its files are served with content types and security headers") {
  ServerFixture f;
  auto r = f.http().get("/");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "text/html; charset=utf-8");
  const std::string csp = r.header("content-security-policy");
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(r.header("x-content-type-options") == "nosniff");
  CHECK(r.header("cache-control") == "no-cache");
  CHECK(r.body.find("<script src=\"/app.js\"") != std::string::npos);
  CHECK(r.body.find("<script>") == std::string::npos);  // no inline script
  const std::string etag = r.header("etag");
  REQUIRE(!etag.empty());

  RequestOptions o;
  o.headers["If-None-Match"] = etag;
  CHECK(f.http().request("GET", "/", "", o).status == 304);

  CHECK(f.http().get("/app.js").header("content-type") == "text/javascript; charset=utf-8");
  CHECK(f.http().get("/app.css").header("content-type") == "text/css; charset=utf-8");
  auto names = f.http().get("/wilayah.csv");
  CHECK(names.body.find("7402,Kabupaten Konawe,kabupaten") != std::string::npos);
  CHECK(names.body.find("7402012006,Awuliti,desa") != std::string::npos);
  CHECK(f.http().get("/wilayah-LICENSE.txt").body.find("Copyright (c) 2017-2025 Cahya DSN") !=
        std::string::npos);

  check_refusal(f.http().get("/no-such-file.js"), 404, "not_found");
  check_refusal(f.http().get("/../../etc/passwd"), 404, "not_found");
  check_refusal(f.http().post("/", json::object()), 405, "method_not_allowed");
  // The API keeps its own answers, now also with nosniff and no-store.
  auto health = f.http().get("/v1/health");
  CHECK(health.status == 200);
  CHECK(health.header("cache-control") == "no-store");
  check_refusal(f.http().get("/v1/nothing-here"), 404, "not_found");
}

TEST_CASE("web: login gives an HttpOnly SameSite cookie and a CSRF token") {
  ServerFixture f;
  check_refusal(login_raw(f, "lbr_not-a-real-token"), 401, "unauthorized");
  Device d = f.device("dev-1", {"74.02"});
  check_refusal(login_raw(f, d.token), 403, "forbidden", "device_token");
  // A cross-site form can send text/plain whose body happens to be JSON: still refused.
  RequestOptions form;
  form.content_type = "text/plain";
  check_refusal(f.http().request("POST", "/v1/web/login", json{{"token", f.admin()}}.dump(), form),
                403, "forbidden", "csrf_missing");
  form.content_type = "application/x-www-form-urlencoded";
  check_refusal(f.http().request("POST", "/v1/web/login", "token=x", form), 400, "malformed_json");
  check_refusal(f.http().request("POST", "/v1/web/login", "{not json", RequestOptions{}), 400,
                "malformed_json");
  check_refusal(f.http().request("POST", "/v1/web/login", json{{"token", 5}}.dump(), {}), 400,
                "invalid_argument");
  check_refusal(f.http().request("POST", "/v1/web/login",
                                 json{{"token", std::string(100000, 'a')}}.dump(), {}),
                413, "body_too_large");

  Browser b = login(f, f.reviewer());
  CHECK(b.set_cookie.find("lumbung_session=") == 0);
  CHECK(b.set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(b.set_cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(b.set_cookie.find("Path=/") != std::string::npos);
  CHECK(b.set_cookie.find("Max-Age=") != std::string::npos);
  CHECK(b.set_cookie.find("Secure") == std::string::npos);  // plain HTTP on loopback
  CHECK(b.csrf.size() >= 40);

  auto s = get(f, b, "/v1/web/session");
  REQUIRE(s.status == 200);
  CHECK(s.json()["role"] == "reviewer");
  CHECK(s.json()["csrf"] == b.csrf);
  CHECK(s.json()["fields"].size() > 5);
  // The cookie opens the existing staff API too.
  CHECK(get(f, b, "/v1/conflicts").status == 200);
  // An admin session opens admin endpoints; a reviewer's does not.
  CHECK(get(f, b, "/v1/admin/devices").status == 403);
  Browser a = login(f, f.admin());
  CHECK(get(f, a, "/v1/admin/devices").status == 200);
}

TEST_CASE("web: state changes without the session's CSRF token are refused") {
  ServerFixture f;
  seed(f);
  Browser b = login(f, f.reviewer());
  check_refusal(post(f, b, "/v1/web/records/rec-k1/status", json{{"status", "verified"}}, false),
                403, "forbidden", "csrf_missing");
  Browser wrong = b;
  // Another first character (the token is base64url: it may itself start with 'x').
  wrong.csrf = (b.csrf.at(0) == 'x' ? "y" : "x") + b.csrf.substr(1);
  check_refusal(post(f, wrong, "/v1/web/records/rec-k1/status", json{{"status", "verified"}}), 403,
                "forbidden", "csrf_mismatch");
  // The existing review endpoints get the same rule when called with the cookie.
  check_refusal(post(f, b, "/v1/conflicts/nope/resolve", json{{"keep", "winner"}}, false), 403,
                "forbidden", "csrf_missing");
  check_refusal(post(f, b, "/v1/refused/nope/dismiss", json::object(), false), 403, "forbidden",
                "csrf_missing");
  check_refusal(post(f, b, "/v1/web/logout", json::object(), false), 403, "forbidden",
                "csrf_missing");
  // Another session's token does not fit this one.
  Browser other = login(f, f.reviewer());
  wrong.csrf = other.csrf;
  check_refusal(post(f, wrong, "/v1/web/records/rec-k1/status", json{{"status", "verified"}}), 403,
                "forbidden", "csrf_mismatch");
  // Nothing changed.
  CHECK(get(f, b, "/v1/web/records/rec-k1").json()["fields"]["status"] == "submitted");
  // A garbage or absent cookie is no session.
  Browser junk;
  junk.cookie = "lumbung_session=" + std::string(3000, 'z');
  check_refusal(get(f, junk, "/v1/web/session"), 401, "unauthorized", "session_unknown");
  check_refusal(f.http().get("/v1/web/session"), 401, "unauthorized");
}

TEST_CASE("web: logout and token revocation end the session") {
  ServerFixture f;
  Browser b = login(f, f.reviewer());
  auto out = post(f, b, "/v1/web/logout", json::object());
  CHECK(out.status == 200);
  CHECK(out.header("set-cookie").find("Max-Age=0") != std::string::npos);
  check_refusal(get(f, b, "/v1/web/session"), 401, "unauthorized", "session_unknown");

  const std::string token = f.reviewer();
  Browser c = login(f, token);
  REQUIRE(get(f, c, "/v1/web/session").status == 200);
  const std::string id = f.http().get("/v1/admin/tokens", f.admin()).json()["tokens"].back()["id"];
  REQUIRE(f.http().post("/v1/admin/tokens/" + id + "/revoke", json::object(), f.admin()).status ==
          200);
  check_refusal(get(f, c, "/v1/web/session"), 401, "unauthorized", "token_revoked");
}

TEST_CASE("web: a kabupaten reviewer sees only its regions on every web endpoint") {
  ServerFixture f;
  seed(f);
  Browser buton = login(f, scoped_reviewer(f, {"74.14"}));
  auto p = get(f, buton, "/v1/web/progress");
  REQUIRE(p.status == 200);
  CHECK(p.json()["total"] == 1);
  CHECK(p.json()["scope"] == "7414");
  check_refusal(get(f, buton, "/v1/web/progress?scope=74.02"), 403, "forbidden");
  check_refusal(get(f, buton, "/v1/web/progress?scope=74"), 403, "forbidden");
  auto e = get(f, buton, "/v1/web/enrolments?q=7402");
  REQUIRE(e.status == 200);
  CHECK(e.json()["records"].empty());
  // A whole NIK goes through the natural-key index: the same scope applies.
  CHECK(get(f, buton, "/v1/web/enrolments?q=7402294809690329").json()["records"].empty());
  CHECK(get(f, buton, "/v1/web/enrolments?q=7414090107611329").json()["records"].size() == 1);
  check_refusal(get(f, buton, "/v1/web/records/rec-k1"), 404, "not_found");
  check_refusal(post(f, buton, "/v1/web/records/rec-k1/status", json{{"status", "verified"}}), 404,
                "not_found");
  check_refusal(get(f, buton, "/v1/web/enrolments.csv?scope=7402"), 403, "forbidden");
  auto csv = get(f, buton, "/v1/web/enrolments.csv");
  CHECK(csv.body.find("rec-k1") == std::string::npos);
  CHECK(csv.body.find("rec-b1") != std::string::npos);
}

TEST_CASE("web: progress counts by region level status programme segment officer and day") {
  ServerFixture f;
  seed(f);
  Browser b = login(f, f.reviewer());
  auto top = get(f, b, "/v1/web/progress").json();
  CHECK(top["total"] == 3);
  CHECK(top["level_len"] == 2);
  REQUIRE(top["children"].size() == 1);
  CHECK(top["children"][0]["code"] == "74");
  auto kab = get(f, b, "/v1/web/progress?scope=74").json()["children"];
  REQUIRE(kab.size() == 2);
  CHECK(kab[0]["code"] == "7402");
  CHECK(kab[0]["total"] == 2);
  CHECK(kab[0]["by_status"]["submitted"] == 2);
  auto kec = get(f, b, "/v1/web/progress?scope=74.02").json();
  CHECK(kec["level_len"] == 6);
  CHECK(kec["by_program"]["JKK"] == 2);
  CHECK(kec["by_officer"]["OFC-0143"] == 1);
  CHECK(kec["by_day"]["2025-01-06"] == 2);
  auto desa = get(f, b, "/v1/web/progress?scope=74.02.29").json();
  REQUIRE(desa["children"].size() == 1);
  CHECK(desa["children"][0]["code"] == "7402292053");
  check_refusal(get(f, b, "/v1/web/progress?scope=abc"), 400, "invalid_argument");
}

TEST_CASE("web: enrolment search by NIK and name with paging and the CSV export") {
  ServerFixture f;
  seed(f);
  Browser b = login(f, f.reviewer());
  auto byNik = get(f, b, "/v1/web/enrolments?q=7402100607814908").json();
  REQUIRE(byNik["records"].size() == 1);
  CHECK(byNik["records"][0]["id"] == "rec-k2");
  auto byName = get(f, b, "/v1/web/enrolments?q=wulan").json();
  REQUIRE(byName["records"].size() == 1);
  CHECK(byName["records"][0]["fields"]["full_name"] == "Wulan Pratama");
  CHECK(get(f, b, "/v1/web/enrolments?status=verified").json()["records"].empty());
  CHECK(get(f, b, "/v1/web/enrolments?officer=OFC-0096").json()["records"].size() == 1);
  CHECK(get(f, b, "/v1/web/enrolments?from=2025-01-07").json()["records"].empty());
  // Paging: one at a time, each page's next continues after it, the last has none.
  std::vector<std::string> seen;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    auto page = get(f, b, "/v1/web/enrolments?limit=1&after=" + after).json();
    for (auto& r : page["records"]) seen.push_back(r["id"]);
    after = page["next"];
    if (after.empty()) break;
  }
  CHECK(seen == std::vector<std::string>{"rec-b1", "rec-k1", "rec-k2"});
  check_refusal(get(f, b, "/v1/web/enrolments?limit=x"), 400, "invalid_argument");

  auto csv = get(f, b, "/v1/web/enrolments.csv?scope=74&cols=nik,full_name,status&program=JKK");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.header("content-disposition").find("attachment") == 0);
  CHECK(csv.body.compare(0, 3, "\xEF\xBB\xBF") == 0);
  CHECK(csv.body.find("id;nik;full_name;status\r\n") == 3);
  CHECK(csv.body.find("rec-k1;7402294809690329;Wulan Pratama;submitted\r\n") != std::string::npos);
  // A name that Excel would run as a formula starts with an apostrophe, quoted because of '"'.
  CHECK(csv.body.find("rec-b1;7414090107611329;\"'=HYPERLINK(\"\"x\"\") <b>Joko</b>\";") !=
        std::string::npos);
  size_t lines = 0;
  for (char c : csv.body) lines += c == '\n';
  CHECK(lines == 4);  // header + exactly the three filtered rows
  // No match: the header line alone, every schema field as a column.
  auto none = get(f, b, "/v1/web/enrolments.csv?status=enrolled");
  CHECK(none.body.find("\r\n") == none.body.size() - 2);
  CHECK(none.body.find(";full_name;") != std::string::npos);
}

TEST_CASE("web: a record with its details and a status move through the write path") {
  ServerFixture f;
  seed(f);
  Browser b = login(f, f.reviewer());
  auto r = get(f, b, "/v1/web/records/rec-k1");
  REQUIRE(r.status == 200);
  json rec = r.json();
  CHECK(rec["scope"] == "7402292053");
  CHECK(rec["last_write"]["nik"]["device"] == "dev-prov");
  CHECK(rec["conflicts"].empty());
  check_refusal(get(f, b, "/v1/web/records/nope"), 404, "not_found");

  check_refusal(post(f, b, "/v1/web/records/rec-k1/status", json{{"status", "submitted"}}), 400,
                "invalid_argument");
  check_refusal(post(f, b, "/v1/web/records/rec-k1/status", json{{"status", "verified"}, {"x", 1}}),
                400, "invalid_argument");
  auto moved = post(f, b, "/v1/web/records/rec-k1/status", json{{"status", "verified"}});
  INFO(moved.body << " error: " << moved.error);
  REQUIRE(moved.status == 200);
  CHECK(get(f, b, "/v1/web/records/rec-k1").json()["fields"]["status"] == "verified");
  CHECK(get(f, b, "/v1/web/records/rec-k1").json()["last_write"]["status"]["device"] == "server");
  check_refusal(post(f, b, "/v1/web/records/rec-k1/status", json{{"status", "verified"}}), 409,
                "already_exists");
  // A laptop of the region pulls the decision.
  Device k = f.device("dev-k", {"74.02"});
  bool pulled = false;
  for (auto& op : f.pull_all(k)) {
    if (op["id"] == "rec-k1" && op["dev"] == "server" &&
        op["set"].value("status", "") == "verified")
      pulled = true;
  }
  CHECK(pulled);
  // The audit log names the reviewer's move.
  auto audit = f.http().get("/v1/admin/audit?limit=1000", f.admin()).json();
  bool logged = false;
  for (auto& e : audit["entries"]) logged = logged || e["action"] == "web_status";
  CHECK(logged);
}

TEST_CASE("web: sessions are bounded - the one idle longest is evicted past 1000") {
  ServerFixture f;
  const std::string token = f.reviewer();
  Browser first = login(f, token);
  Browser recent = login(f, token);
  // 999 more logins (each a request; a 429 from the per-address limit waits, bounded).
  int opened = 0;
  for (int attempt = 0; attempt < 1500 && opened < 999; ++attempt) {
    auto r = login_raw(f, token);
    if (r.status == 429) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    REQUIRE(r.status == 200);
    ++opened;
  }
  REQUIRE(opened == 999);
  // The per-address limit may still be spent after the loop: a 429 waits here too (bounded).
  auto get_unlimited = [&](const Browser& b) {
    HttpResult r = get(f, b, "/v1/web/session");
    for (int i = 0; i < 50 && r.status == 429; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      r = get(f, b, "/v1/web/session");
    }
    return r;
  };
  // 1,001 sessions were opened: the oldest idle one is gone, the others still work.
  check_refusal(get_unlimited(first), 401, "unauthorized", "session_unknown");
  auto s = get_unlimited(recent);
  REQUIRE(s.status == 200);
  CHECK(s.json()["sessions"] == 1000);
}

TEST_CASE("web: a duplicate merged with fields taken from the other record") {
  ServerFixture f;
  Device d = f.device("dev-prov", {"74"});
  const uint64_t h = hlc_now();
  json other = konawe_record_1();
  other["phone"] = "081299990000";
  other["programs"] = json::array({"JKK", "JKM", "JHT"});
  REQUIRE(f.push(d, json::array({make_op(1, "rec-a", h, konawe_record_1()),
                                 make_op(2, "rec-b", h + 1, other)}))
              .status == 200);
  Browser b = login(f, f.reviewer());
  auto list = get(f, b, "/v1/duplicates").json()["duplicates"];
  REQUIRE(list.size() == 1);
  const std::string id = list[0]["id"];
  const std::string path = "/v1/duplicates/" + id + "/merge";
  check_refusal(post(f, b, path, json{{"survivor", "rec-a"}, {"take", "phone"}}), 400,
                "invalid_argument");
  check_refusal(post(f, b, path, json{{"survivor", "rec-a"}, {"take", {"no_such_field"}}}), 400,
                "invalid_argument");
  check_refusal(post(f, b, path, json{{"survivor", "rec-a"}, {"take", {"merged_into"}}}), 400,
                "invalid_argument");
  check_refusal(post(f, b, path, json{{"survivor", "rec-a"}, {"take", {"phone"}}, {"x", 1}}), 400,
                "invalid_argument");
  auto m = post(f, b, path, json{{"survivor", "rec-a"}, {"take", {"phone"}}});
  INFO(m.body);
  REQUIRE(m.status == 200);
  json kept = get(f, b, "/v1/web/records/rec-a").json()["fields"];
  CHECK(kept["phone"] == "081299990000");                               // taken
  CHECK(kept["programs"] == json::array({"JKK", "JKM"}));               // not taken: its own
  CHECK(get(f, b, "/v1/web/records/rec-b").json()["deleted"] == true);  // merged away
}

// Issue 16: an admin makes a reviewer credential from the page (its session, with the CSRF
// token): the token is in that answer only (the list names it by id and label), reads its
// regions, and a reviewer's session cannot make one.
TEST_CASE("web: an admin session makes a reviewer token for some regions shown once") {
  ServerFixture f;
  seed(f);
  Browser admin = login(f, f.admin());
  const json body{{"role", "reviewer"}, {"label", "Kab. Buton Tengah"}, {"scope", {"74.14"}}};
  check_refusal(post(f, admin, "/v1/admin/tokens", body, false), 403, "forbidden", "csrf_missing");
  auto made = post(f, admin, "/v1/admin/tokens", body);
  REQUIRE_MESSAGE(made.status == 201, made.body);
  const std::string token = made.json()["token"];
  CHECK(token.rfind("lbr_", 0) == 0);
  auto listed = get(f, admin, "/v1/admin/tokens");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(token) == std::string::npos);  // never shown again
  CHECK(listed.body.find("Kab. Buton Tengah") != std::string::npos);
  // It reads Buton Tengah and not Konawe.
  CHECK(f.http().get("/v1/web/records/rec-b1", token).status == 200);
  check_refusal(f.http().get("/v1/web/records/rec-k1", token), 404, "not_found");
  // A reviewer's session may not make credentials.
  Browser rev = login(f, token);
  check_refusal(post(f, rev, "/v1/admin/tokens", body), 403, "forbidden");
}

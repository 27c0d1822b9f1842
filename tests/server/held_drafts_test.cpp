// Drafts kept for review (issue 15 item 2) reach the central office: POST /v1/drafts keeps a
// laptop's draft - a KTP whose NIK contradicts its birth date - in the refused queue as
// held_for_review; a reviewer corrects and applies it (every laptop of the region pulls the
// record) or dismisses it (the laptop reads the note back); the laptop withdraws a draft it
// completed itself. Bad input is refused item by item or whole, and changes nothing.
// Against the real lumbung-server (SQLite, and PostgreSQL as "postgres: ..." in CTest).
#include <doctest/doctest.h>

#include <cstdio>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {

const char* kRecordId = "0193f0a1-2b3c-7d4e-8f60-123456789abc";

// Wulan Pratama's KTP as typed: the NIK says born 08-09-1969 (day 48 = a woman, 8th), the
// card's birth date says the 18th.
json mismatched_fields() {
  json f = konawe_record_1();
  f["birth_date"] = "1969-09-18";
  return f;
}

json draft_item(const std::string& draft, int rev, json fields, const std::string& note,
                const std::string& record_id = kRecordId) {
  return json{{"draft", draft},
              {"rev", rev},
              {"record_id", record_id},
              {"collection", "enrolment"},
              {"fields", std::move(fields)},
              {"note", note}};
}

HttpResult post_drafts(ServerFixture& f, const Device& d, json items) {
  return f.http().post("/v1/drafts", json{{"drafts", std::move(items)}}, d.token);
}

json open_refused(ServerFixture& f, const std::string& reviewer) {
  auto r = f.http().get("/v1/refused?status=open", reviewer);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json();
}

json find_record(const json& records, const std::string& id) {
  for (const auto& r : records) {
    if (r["id"] == id) return r;
  }
  return json();
}

}  // namespace

TEST_CASE(
    "a draft kept for review waits in the office queue - corrected and applied it reaches every "
    "laptop") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();

  auto r = post_drafts(
      f, a, json::array({draft_item("D1", 1, mismatched_fields(), "KTP says 18-09-1969")}));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  json ans = r.json()["drafts"];
  REQUIRE(ans.size() == 1);
  CHECK(ans[0]["status"] == "open");
  CHECK(ans[0]["id"] == "dev-a:D1.1");
  // Sent again (its answer lost): the same entry, not a second one.
  r = post_drafts(f, a,
                  json::array({draft_item("D1", 1, mismatched_fields(), "KTP says 18-09-1969")}));
  REQUIRE(r.status == 200);
  CHECK(r.json()["drafts"][0]["status"] == "open");

  json q = open_refused(f, reviewer);
  REQUIRE(q["total"] == 1);
  const json e = q["refused"][0];
  CHECK(e["id"] == "dev-a:D1.1");
  CHECK(e["code"] == "held_for_review");
  CHECK(e["device_id"] == "dev-a");
  CHECK(e["record_id"] == kRecordId);
  CHECK(e["seq"] == 0);
  CHECK(e["scope"] == "7402292053");
  CHECK(e["message"].get<std::string>().find("KTP says 18-09-1969") != std::string::npos);
  CHECK(e["op"]["set"]["full_name"] == "Wulan Pratama");
  // Nothing of it is a record yet, nor in any laptop's pull.
  CHECK(find_record(f.records(reviewer), kRecordId).is_null());
  CHECK(f.pull_all(b).empty());

  // Asked about, it is open; the reviewer cannot apply it as it stands (the KTP still
  // contradicts itself), only corrected.
  r = post_drafts(f, a, json::array({json{{"draft", "D1"}, {"rev", 1}}}));
  CHECK(r.json()["drafts"][0]["status"] == "open");
  const std::string path = "/v1/refused/dev-a:D1.1/apply";
  auto bad = f.http().post(path, json::object(), reviewer);
  CHECK(bad.status == 422);
  CHECK(open_refused(f, reviewer)["total"] == 1);
  auto ok = f.http().post(path, json{{"set", {{"birth_date", "1969-09-08"}}}}, reviewer);
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  CHECK(ok.json()["status"] == "applied");

  json rec = find_record(f.records(reviewer), kRecordId);
  REQUIRE(rec.is_object());
  CHECK(rec["fields"]["birth_date"] == "1969-09-08");
  CHECK(rec["fields"]["full_name"] == "Wulan Pratama");
  // Both laptops of the region pull it (the officer's own, where its draft becomes it).
  for (Device* d : {&a, &b}) {
    const json ops = f.pull_all(*d);
    bool found = false;
    for (const auto& op : ops) found = found || op["id"] == kRecordId;
    CHECK_MESSAGE(found, d->id << ": " << ops.dump());
  }
  // The laptop asks again: applied. Withdrawing now takes nothing back.
  r = post_drafts(f, a, json::array({json{{"draft", "D1"}, {"rev", 1}}}));
  CHECK(r.json()["drafts"][0]["status"] == "applied");
  r = post_drafts(f, a, json::array({json{{"draft", "D1"}, {"rev", 1}, {"withdraw", true}}}));
  CHECK(r.json()["drafts"][0]["status"] == "applied");
  // A draft naming a record that exists is not taken.
  r = post_drafts(f, a, json::array({draft_item("D9", 1, mismatched_fields(), "")}));
  CHECK(r.json()["drafts"][0]["error"]["code"] == "already_exists");
}

TEST_CASE("a dismissed draft tells its laptop the note - a withdrawn one cannot be applied") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();
  REQUIRE(post_drafts(f, a, json::array({draft_item("D1", 1, mismatched_fields(), "")})).status ==
          200);
  REQUIRE(
      f.http()
          .post("/v1/refused/dev-a:D1.1/dismiss", json{{"note", "bawa kartu keluarga"}}, reviewer)
          .status == 200);
  auto r = post_drafts(f, a, json::array({json{{"draft", "D1"}, {"rev", 1}}}));
  json ans = r.json()["drafts"][0];
  CHECK(ans["status"] == "dismissed");
  CHECK(ans["note"] == "bawa kartu keluarga");
  // Another device asking for the same draft name sees only its own (none).
  r = post_drafts(f, b, json::array({json{{"draft", "D1"}, {"rev", 1}}}));
  CHECK(r.json()["drafts"][0]["status"] == "unknown");

  // Revision 2 (the officer changed it), then withdrawn (completed on the laptop).
  const std::string rid2 = "0193f0a1-2b3c-7d4e-8f60-000000000002";
  r = post_drafts(f, a, json::array({draft_item("D1", 2, mismatched_fields(), "lagi", rid2)}));
  CHECK(r.json()["drafts"][0]["status"] == "open");
  r = post_drafts(f, a, json::array({json{{"draft", "D1"}, {"rev", 2}, {"withdraw", true}}}));
  CHECK(r.json()["drafts"][0]["status"] == "withdrawn");
  CHECK(open_refused(f, reviewer)["total"] == 0);
  auto apply = f.http().post("/v1/refused/dev-a:D1.2/apply",
                             json{{"set", {{"birth_date", "1969-09-08"}}}}, reviewer);
  CHECK(apply.status == 409);
  auto correct =
      f.http().post("/v1/refused/dev-a:D1.2/correct",
                    json{{"replaces", 1}, {"set", {{"birth_date", "1969-09-08"}}}}, reviewer);
  CHECK(correct.status == 409);
  CHECK(correct.json().value("reason", "") == "withdrawn");
  CHECK(find_record(f.records(reviewer), rid2).is_null());
  // Asked about afterwards: withdrawn.
  r = post_drafts(f, a, json::array({json{{"draft", "D1"}, {"rev", 2}}}));
  CHECK(r.json()["drafts"][0]["status"] == "withdrawn");
}

TEST_CASE("drafts are refused item by item or whole - bad input changes nothing") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  const std::string reviewer = f.reviewer();

  json missing = mismatched_fields();
  missing.erase("full_name");
  json unknown = mismatched_fields();
  unknown["shoe_size"] = 42;
  json typed = mismatched_fields();
  typed["monthly_income"] = "banyak";
  auto r = post_drafts(
      f, a,
      json::array(
          {draft_item("D1", 1, missing, ""),
           draft_item("D2", 1, buton_tengah_record(), "", "0193f0a1-2b3c-7d4e-8f60-000000000003"),
           draft_item("D3", 1, unknown, "", "0193f0a1-2b3c-7d4e-8f60-000000000004"),
           draft_item("D4", 1, typed, "", "0193f0a1-2b3c-7d4e-8f60-000000000005"),
           json{{"draft", "D5"},
                {"rev", 1},
                {"collection", "nope"},
                {"record_id", "0193f0a1-2b3c-7d4e-8f60-000000000006"},
                {"fields", mismatched_fields()},
                {"note", ""}}}));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const json ans = r.json()["drafts"];
  REQUIRE(ans.size() == 5);
  CHECK(ans[0]["error"]["code"] == "validation_failed");
  CHECK(ans[0]["error"]["field"] == "full_name");
  CHECK(ans[1]["error"]["code"] == "out_of_scope");
  CHECK(ans[2]["error"]["code"] == "unknown_field");
  CHECK(ans[3]["error"]["code"] == "validation_failed");
  CHECK(ans[4]["error"]["code"] == "unknown_collection");
  CHECK(open_refused(f, reviewer)["total"] == 0);

  // Whole-body refusals: a stable code, a message, nothing kept.
  const json bodies[] = {
      json{{"drafts", "x"}},
      json{{"drafts", json::array()}, {"extra", 1}},
      json{{"drafts", json::array({json{{"draft", "X1"}, {"rev", 1}}})}},
      json{{"drafts", json::array({json{{"draft", "D1"}, {"rev", 0}}})}},
      json{{"drafts", json::array({json{{"draft", "D1"}, {"rev", "1"}}})}},
      json{{"drafts", json::array({json{{"draft", "D1"}, {"rev", 1}, {"why", 1}}})}},
      // A good draft before a malformed item: the request is refused whole, nothing kept.
      json{{"drafts", json::array({draft_item("D1", 1, mismatched_fields(), ""),
                                   json{{"draft", "D2"}, {"rev", 1}, {"withdraw", "yes"}}})}},
      json{{"drafts", json::array({json{{"draft", "D1"}, {"rev", 1}, {"note", "x"}}})}},
      json{{"drafts",
            json::array({draft_item("D1", 1, mismatched_fields(), std::string(1001, 'x'))})}},
      json{{"drafts", json::array({draft_item("D1", 1, mismatched_fields(), "", "../../etc")})}},
  };
  for (const json& body : bodies) {
    auto x = f.http().post("/v1/drafts", body, a.token);
    INFO(body.dump().substr(0, 200) << " -> " << x.body);
    CHECK(x.status == 400);
    CHECK(x.json()["code"] == "invalid_argument");
  }
  json many = json::array();
  for (int i = 0; i < 101; ++i)
    many.push_back(json{{"draft", "D" + std::to_string(i + 1)}, {"rev", 1}});
  CHECK(post_drafts(f, a, many).status == 400);
  // Not JSON at all; a reviewer's token; no token.
  RequestOptions raw;
  raw.token = a.token;
  CHECK(f.http().request("POST", "/v1/drafts", "{not json", raw).status == 400);
  CHECK(f.http().post("/v1/drafts", json{{"drafts", json::array()}}, reviewer).status == 403);
  CHECK(f.http().post("/v1/drafts", json{{"drafts", json::array()}}, "").status == 401);
  CHECK(open_refused(f, reviewer)["total"] == 0);

  // One device holds at most 500 open entries: the 501st draft is not taken.
  char rid[40];
  for (int batch = 0; batch < 5; ++batch) {
    json items = json::array();
    for (int i = 0; i < 100; ++i) {
      const int n = batch * 100 + i + 1;
      std::snprintf(rid, sizeof rid, "0193f0a1-2b3c-7d4e-8f60-%012d", 1000 + n);
      items.push_back(draft_item("D" + std::to_string(n), 1, mismatched_fields(), "", rid));
    }
    auto x = post_drafts(f, a, items);
    REQUIRE_MESSAGE(x.status == 200, x.body);
    const json answer = x.json();  // named: a range-for over x.json()["drafts"] would dangle
    for (const auto& d : answer["drafts"]) REQUIRE_MESSAGE(d["status"] == "open", d.dump());
  }
  auto over = post_drafts(f, a,
                          json::array({draft_item("D501", 1, mismatched_fields(), "",
                                                  "0193f0a1-2b3c-7d4e-8f60-000000009999")}));
  CHECK(over.json()["drafts"][0]["error"]["code"] == "rate_limited");
  CHECK(open_refused(f, reviewer)["total"] == 500);
}

// Corrections of review decisions (issue 15 item 8) against the real lumbung-server: a
// reviewer who decided an entry wrongly issues a new decision (POST .../correct). It is a
// new server op whose base is what the earlier decision wrote, so it reaches every device
// and never overwrites an officer's later write silently; the entry keeps every decision;
// the audit log records it; bad input changes nothing. Built for SQLite and PostgreSQL.
#include <doctest/doctest.h>

#include <set>

#include "server/server_fixture.h"

using namespace lumbung::test;

namespace {

json find_record(const json& records, const std::string& id) {
  for (const auto& r : records) {
    if (r["id"] == id) return r;
  }
  return json();
}

json problem(const HttpResult& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j : json::object();
}

json conflict_entry(ServerFixture& f, const std::string& token, const std::string& id) {
  auto r = f.http().get("/v1/conflicts?status=all", token);
  REQUIRE(r.status == 200);
  const json list = r.json();
  for (const auto& c : list["conflicts"]) {
    if (c["id"] == id) return c;
  }
  return json();
}

// Two devices of Konawe; rec-1 made by a, then a concurrent edit of its phone by both:
// one open conflict (winner b's 0822..., loser a's 0811...). Returns its id.
struct Scene {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  std::string reviewer = f.reviewer();
  std::string ca, cb;  // pull cursors
  uint64_t h0 = hlc_now();

  std::string conflict() {
    REQUIRE(
        f.push(a, json::array({make_op(a.next_seq++, "rec-1", h0, konawe_record_1())})).status ==
        200);
    f.pull_all(a, &ca);
    f.pull_all(b, &cb);
    const json seen = json::array({h0, "dev-a"});
    REQUIRE(
        f.push(a, json::array({make_op(a.next_seq++, "rec-1", h0 + 10,
                                       json{{"phone", "081111111111"}}, json{{"phone", seen}})}))
            .status == 200);
    auto pb =
        f.push(b, json::array({make_op(b.next_seq++, "rec-1", h0 + 20,
                                       json{{"phone", "082222222222"}}, json{{"phone", seen}})}));
    REQUIRE(pb.status == 200);
    REQUIRE(pb.json()["conflicts"] == 1);
    auto list = f.http().get("/v1/conflicts?status=open", reviewer);
    REQUIRE(list.json()["conflicts"].size() == 1);
    return list.json()["conflicts"][0]["id"];
  }
  std::string phone() { return find_record(f.records(reviewer), "rec-1")["fields"]["phone"]; }
  HttpResult correct(const std::string& id, json body, const std::string& token = {}) {
    return f.http().post("/v1/conflicts/" + id + "/correct", body,
                         token.empty() ? reviewer : token);
  }
};

}  // namespace

TEST_CASE("a resolved conflict is corrected by a new decision that keeps the first in history") {
  Scene s;
  const std::string id = s.conflict();
  // Not decided yet: a correction is refused and changes nothing.
  auto early = s.correct(id, json{{"keep", "loser"}, {"replaces", 1}});
  CHECK(early.status == 400);
  CHECK(problem(early)["code"] == "invalid_argument");
  CHECK(problem(early)["reason"] == "not_decided");
  CHECK(conflict_entry(s.f, s.reviewer, id)["status"] == "open");

  // The first decision: keep a's number (the loser). Wrong, the reviewer finds out later.
  auto first =
      s.f.http().post("/v1/conflicts/" + id + "/resolve", json{{"keep", "loser"}}, s.reviewer);
  REQUIRE_MESSAGE(first.status == 200, first.body);
  const json first_op = first.json()["resolution"]["op"];
  CHECK(s.phone() == "081111111111");

  // Bad input, each refused with a stable code; nothing changes.
  struct Bad {
    const char* what;
    json body;
    int status;
    const char* code;
    const char* reason;
  };
  const Bad bad[] = {
      {"no replaces", json{{"keep", "winner"}}, 400, "invalid_argument", "bad_replaces"},
      {"replaces not a number", json{{"keep", "winner"}, {"replaces", "1"}}, 400,
       "invalid_argument", "bad_replaces"},
      {"a stale decision", json{{"keep", "winner"}, {"replaces", 2}}, 409, "already_exists",
       "stale_decision"},
      {"keep and value", json{{"keep", "winner"}, {"value", "x"}, {"replaces", 1}}, 400,
       "invalid_argument", ""},
      {"an unknown member", json{{"keep", "winner"}, {"replaces", 1}, {"why", "x"}}, 400,
       "invalid_argument", ""},
      {"a note too long",
       json{{"keep", "winner"}, {"replaces", 1}, {"note", std::string(1001, 'x')}}, 400,
       "invalid_argument", "bad_note"},
      {"an invalid value", json{{"value", "not a phone"}, {"replaces", 1}}, 422,
       "validation_failed", ""},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.what);
    auto r = s.correct(id, b.body);
    CHECK(r.status == b.status);
    CHECK(problem(r)["code"] == b.code);
    if (*b.reason) CHECK(problem(r)["reason"] == b.reason);
  }
  auto unknown = s.correct("tidak-ada", json{{"keep", "winner"}, {"replaces", 1}});
  CHECK(unknown.status == 404);
  CHECK(problem(unknown)["code"] == "not_found");
  // A device may not correct; a malformed body is malformed_json.
  CHECK(s.correct(id, json{{"keep", "winner"}, {"replaces", 1}}, s.a.token).status == 403);
  RequestOptions opt;
  opt.token = s.reviewer;
  auto mal = s.f.http().request("POST", "/v1/conflicts/" + id + "/correct", "{\"keep\":", opt);
  CHECK(mal.status == 400);
  CHECK(problem(mal)["code"] == "malformed_json");
  CHECK(s.phone() == "081111111111");
  CHECK(conflict_entry(s.f, s.reviewer, id)["resolution"].value("decision", 1) == 1);

  // The correction: keep b's number after all.
  auto fix = s.correct(id, json{{"keep", "winner"}, {"replaces", 1}, {"note", "salah pilih"}});
  REQUIRE_MESSAGE(fix.status == 200, fix.body);
  const json res = fix.json()["resolution"];
  CHECK(res["decision"] == 2);
  CHECK(res["corrects"] == 1);
  CHECK(res["corrected"] == true);
  CHECK(res["note"] == "salah pilih");
  CHECK(res["value"] == "082222222222");
  CHECK(res["by"]["role"] == "reviewer");
  CHECK(res["conflicts"] == 0);
  REQUIRE(res["history"].size() == 1);
  CHECK(res["history"][0]["decision"] == 1);
  CHECK(res["history"][0]["keep"] == "loser");
  CHECK(res["history"][0]["op"] == first_op);
  // A new op, never an edit of the first: its base is what the first decision wrote.
  CHECK(res["op"]["dev"] == "server");
  CHECK(res["op"]["seq"] != first_op["seq"]);
  CHECK(res["op"]["base"]["phone"] == json::array({first_op["hlc"], "server"}));
  CHECK(s.phone() == "082222222222");
  // The list shows the latest decision and that it was corrected.
  const json listed = conflict_entry(s.f, s.reviewer, id);
  CHECK(listed["status"] == "resolved");
  CHECK(listed["resolution"]["decision"] == 2);
  CHECK(listed["resolution"]["corrected"] == true);
  CHECK(listed["resolution"]["history"].size() == 1);

  // Both devices receive both decisions, the correction last.
  for (auto dc : {std::make_pair(&s.a, &s.ca), std::make_pair(&s.b, &s.cb)}) {
    std::vector<std::string> phones;
    for (const auto& op : s.f.pull_all(*dc.first, dc.second)) {
      if (op["dev"] == "server" && op["id"] == "rec-1") phones.push_back(op["set"]["phone"]);
    }
    const std::vector<std::string> want{"081111111111", "082222222222"};
    CHECK_MESSAGE(phones == want, "device " << dc.first->id);
  }

  // Replacing decision 1 again is stale now; a third decision replaces 2.
  auto stale = s.correct(id, json{{"value", "081333333333"}, {"replaces", 1}});
  CHECK(stale.status == 409);
  CHECK(problem(stale)["reason"] == "stale_decision");
  CHECK(problem(stale)["latest"] == 2);
  CHECK(s.phone() == "082222222222");
  auto third = s.correct(id, json{{"value", "081333333333"}, {"replaces", 2}});
  REQUIRE_MESSAGE(third.status == 200, third.body);
  CHECK(third.json()["resolution"]["history"].size() == 2);
  CHECK(third.json()["resolution"]["history"][1]["note"] == "salah pilih");
  CHECK(s.phone() == "081333333333");

  // The audit log has both corrections, after the resolve.
  auto audit = s.f.http().get("/v1/admin/audit?limit=1000", s.f.admin());
  REQUIRE(audit.status == 200);
  std::vector<json> corrections;
  const json page = audit.json();
  for (const auto& e : page["entries"]) {
    if (e["action"] != "correct") continue;
    CHECK(e["target"] == id);
    corrections.push_back(e["detail"].is_string() ? json::parse(e["detail"].get<std::string>())
                                                  : e["detail"]);
  }
  REQUIRE(corrections.size() == 2);
  CHECK(corrections[0]["replaces"] == 1);
  CHECK(corrections[0]["decision"] == 2);
  CHECK(corrections[0]["note"] == "salah pilih");
  CHECK(corrections[1]["replaces"] == 2);
}

TEST_CASE("a correction does not overwrite an officer's write made after the first decision") {
  Scene s;
  const std::string id = s.conflict();
  auto first =
      s.f.http().post("/v1/conflicts/" + id + "/resolve", json{{"keep", "loser"}}, s.reviewer);
  REQUIRE(first.status == 200);
  const json first_op = first.json()["resolution"]["op"];
  // Officer a pulls the decision and then writes the phone again, having seen it.
  s.f.pull_all(s.a, &s.ca);
  const uint64_t later = std::max<uint64_t>(hlc_now(), first_op["hlc"].get<uint64_t>() + 1);
  auto pa = s.f.push(
      s.a, json::array({make_op(s.a.next_seq++, "rec-1", later, json{{"phone", "085555555555"}},
                                json{{"phone", {first_op["hlc"], "server"}}})}));
  REQUIRE(pa.status == 200);
  CHECK(pa.json()["conflicts"] == 0);  // the officer had seen the decision
  CHECK(s.phone() == "085555555555");

  // The reviewer corrects the first decision: the officer's newer number is not lost
  // silently - the correction opens an entry holding both.
  auto fix = s.correct(id, json{{"keep", "winner"}, {"replaces", 1}});
  REQUIRE_MESSAGE(fix.status == 200, fix.body);
  CHECK(fix.json()["resolution"]["conflicts"] == 1);
  auto open = s.f.http().get("/v1/conflicts?status=open", s.reviewer);
  REQUIRE(open.status == 200);
  const json entries = open.json()["conflicts"];
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["field"] == "phone");
  std::set<std::string> sides{entries[0]["winner"]["value"], entries[0]["loser"]["value"]};
  CHECK(sides == std::set<std::string>{"082222222222", "085555555555"});
  CHECK(entries[0]["id"] != id);
}

TEST_CASE("an edit-or-delete decision is corrected both ways") {
  Scene s;
  REQUIRE(s.f.push(s.a, json::array({make_op(s.a.next_seq++, "rec-1", s.h0, konawe_record_1())}))
              .status == 200);
  const json seen = json::array({s.h0, "dev-a"});
  // a deletes, b (not having seen the delete) edits: an update/delete entry.
  REQUIRE(
      s.f.push(s.a, json::array({make_delete(s.a.next_seq++, "rec-1", s.h0 + 10, seen)})).status ==
      200);
  auto pb =
      s.f.push(s.b, json::array({make_op(s.b.next_seq++, "rec-1", s.h0 + 20,
                                         json{{"phone", "082222222222"}}, json{{"phone", seen}})}));
  REQUIRE(pb.status == 200);
  auto list = s.f.http().get("/v1/conflicts?status=open", s.reviewer);
  REQUIRE(list.json()["conflicts"].size() == 1);
  const json c = list.json()["conflicts"][0];
  REQUIRE(c["kind"] == "update_delete");
  const std::string id = c["id"];
  const std::string del_side = c["winner"]["value"].is_null() ? "winner" : "loser";
  const std::string edit_side = del_side == "winner" ? "loser" : "winner";

  auto first =
      s.f.http().post("/v1/conflicts/" + id + "/resolve", json{{"keep", del_side}}, s.reviewer);
  REQUIRE_MESSAGE(first.status == 200, first.body);
  CHECK(find_record(s.f.records(s.reviewer), "rec-1")["deleted"] == true);
  // Keeping the delete buried nothing unseen: the other fields are older than the delete
  // the entry showed (review_test "keeping the delete ..."), so no entry opened.
  const json open_after_first =
      s.f.http().get("/v1/conflicts?status=open", s.reviewer).json()["total"];
  CHECK(open_after_first == 0);
  // "value" is not for an edit/delete entry, in a correction too.
  CHECK(s.correct(id, json{{"value", "x"}, {"replaces", 1}}).status == 400);
  auto keep = s.correct(id, json{{"keep", edit_side}, {"replaces", 1}});
  REQUIRE_MESSAGE(keep.status == 200, keep.body);
  CHECK(keep.json()["resolution"]["value"] == "kept");
  CHECK(keep.json()["resolution"]["conflicts"] == 0);
  json rec = find_record(s.f.records(s.reviewer), "rec-1");
  CHECK(rec["deleted"] == false);
  CHECK(rec["fields"]["phone"] == "082222222222");
  auto again = s.correct(id, json{{"keep", del_side}, {"replaces", 2}});
  REQUIRE_MESSAGE(again.status == 200, again.body);
  CHECK(find_record(s.f.records(s.reviewer), "rec-1")["deleted"] == true);
  CHECK(again.json()["resolution"]["history"].size() == 2);
  // Each correction's base covers what the decision before it wrote: no entry opened.
  CHECK(again.json()["resolution"]["conflicts"] == 0);
  CHECK(s.f.http().get("/v1/conflicts?status=open", s.reviewer).json()["total"] ==
        open_after_first);
}

TEST_CASE("a refused change dismissed by mistake is applied by a correction - then corrected") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  const std::string reviewer = f.reviewer();
  // Buton Tengah is outside a's regions: refused (out_of_scope), kept in the queue.
  auto p = f.push(a, json::array({make_op(1, "rec-bt", hlc_now(), buton_tengah_record())}));
  REQUIRE(p.status == 200);
  auto q = f.http().get("/v1/refused?status=open", reviewer);
  REQUIRE(q.status == 200);
  REQUIRE(q.json()["refused"].size() == 1);
  const std::string id = q.json()["refused"][0]["id"];
  const std::string path = "/v1/refused/" + id + "/correct";
  auto early = f.http().post(path, json{{"replaces", 1}}, reviewer);
  CHECK(early.status == 400);
  CHECK(problem(early)["reason"] == "not_decided");
  REQUIRE(f.http()
              .post("/v1/refused/" + id + "/dismiss", json{{"note", "bukan wilayahnya"}}, reviewer)
              .status == 200);
  CHECK(find_record(f.records(reviewer), "rec-bt").is_null());

  // Bad input changes nothing.
  CHECK(f.http().post(path, json{{"replaces", 2}}, reviewer).status == 409);
  CHECK(f.http().post(path, json{{"replaces", 1}, {"set", {{"phone", "x"}}}}, reviewer).status ==
        422);
  CHECK(f.http().post(path, json{{"replaces", 1}, {"set", 5}}, reviewer).status == 400);
  CHECK(f.http().post(path, json{{"replaces", 1}}, a.token).status == 403);
  CHECK(f.http().post("/v1/refused/nope/correct", json{{"replaces", 1}}, reviewer).status == 404);
  CHECK(find_record(f.records(reviewer), "rec-bt").is_null());

  // The correction applies it (the officer's values, as apply would).
  auto fix = f.http().post(path, json{{"replaces", 1}, {"note", "ternyata benar"}}, reviewer);
  REQUIRE_MESSAGE(fix.status == 200, fix.body);
  CHECK(fix.json()["status"] == "applied");
  const json res = fix.json()["resolution"];
  CHECK(res["decision"] == 2);
  CHECK(res["history"][0]["action"] == "dismissed");
  CHECK(res["history"][0]["note"] == "bukan wilayahnya");
  json rec = find_record(f.records(reviewer), "rec-bt");
  REQUIRE(rec.is_object());
  CHECK(rec["fields"]["phone"] == buton_tengah_record()["phone"]);

  // An applied entry is corrected with new values; without them it is refused.
  auto none = f.http().post(path, json{{"replaces", 2}}, reviewer);
  CHECK(none.status == 400);
  CHECK(problem(none)["reason"] == "set_required");
  auto fix2 =
      f.http().post(path, json{{"replaces", 2}, {"set", {{"phone", "081277778888"}}}}, reviewer);
  REQUIRE_MESSAGE(fix2.status == 200, fix2.body);
  CHECK(fix2.json()["resolution"]["decision"] == 3);
  CHECK(fix2.json()["resolution"]["op"]["base"]["phone"] ==
        json::array({res["op"]["hlc"], "server"}));
  CHECK(find_record(f.records(reviewer), "rec-bt")["fields"]["phone"] == "081277778888");
  auto listed = f.http().get("/v1/refused?status=applied", reviewer);
  REQUIRE(listed.json()["refused"].size() == 1);
  CHECK(listed.json()["refused"][0]["resolution"]["corrected"] == true);
  CHECK(listed.json()["refused"][0]["resolution"]["history"].size() == 2);
}

TEST_CASE("a merge that kept the wrong record is corrected - an edit since is not buried") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const std::string reviewer = f.reviewer();
  json partial = konawe_record_1();
  partial.erase("position");
  REQUIRE(f.push(a, json::array({make_op(a.next_seq++, "rec-a", hlc_now(), konawe_record_1())}))
              .status == 200);
  REQUIRE(f.push(b, json::array({make_op(b.next_seq++, "rec-b", hlc_now(1), partial)})).status ==
          200);
  auto list = f.http().get("/v1/duplicates", reviewer);
  REQUIRE(list.json()["duplicates"].size() == 1);
  const std::string id = list.json()["duplicates"][0]["id"];
  const std::string path = "/v1/duplicates/" + id + "/correct";
  CHECK(problem(f.http().post(path, json{{"survivor", "rec-a"}, {"replaces", 1}},
                              reviewer))["reason"] == "not_decided");
  auto first =
      f.http().post("/v1/duplicates/" + id + "/merge", json{{"survivor", "rec-b"}}, reviewer);
  REQUIRE_MESSAGE(first.status == 200, first.body);

  // Officer b, having pulled the merge, corrects rec-b's phone afterwards.
  f.pull_all(b);
  json rb = find_record(f.records(reviewer), "rec-b");
  const json phone_seen = rb["versions"]["phone"];
  const uint64_t later = std::max<uint64_t>(hlc_now(), phone_seen[0].get<uint64_t>() + 1);
  REQUIRE(
      f.push(b, json::array({make_op(b.next_seq++, "rec-b", later, json{{"phone", "081299998888"}},
                                     json{{"phone", phone_seen}})}))
          .status == 200);

  // Bad input changes nothing.
  CHECK(problem(f.http().post(path, json{{"survivor", "rec-b"}, {"replaces", 1}},
                              reviewer))["reason"] == "same_decision");
  CHECK(problem(f.http().post(path, json{{"survivor", "rec-a"}, {"replaces", 2}},
                              reviewer))["reason"] == "stale_decision");
  CHECK(f.http().post(path, json{{"survivor", "rec-x"}, {"replaces", 1}}, reviewer).status == 400);
  CHECK(f.http().post(path, json{{"replaces", 1}}, reviewer).status == 400);
  CHECK(f.http().post(path, json{{"survivor", "rec-a"}, {"replaces", 1}}, a.token).status == 403);
  CHECK(f.http()
            .post("/v1/duplicates/nope/correct", json{{"survivor", "rec-a"}, {"replaces", 1}},
                  reviewer)
            .status == 404);
  CHECK(find_record(f.records(reviewer), "rec-a")["deleted"] == true);

  // The correction: rec-a survives after all.
  auto fix = f.http().post(path, json{{"survivor", "rec-a"}, {"replaces", 1}, {"note", "keliru"}},
                           reviewer);
  REQUIRE_MESSAGE(fix.status == 200, fix.body);
  const json res = fix.json()["resolution"];
  CHECK(res["decision"] == 2);
  CHECK(res["survivor"] == "rec-a");
  CHECK(res["merged"] == "rec-b");
  CHECK(res["history"][0]["survivor"] == "rec-b");
  json records = f.records(reviewer);
  json ra = find_record(records, "rec-a");
  rb = find_record(records, "rec-b");
  CHECK(ra["deleted"] == false);
  CHECK(ra["fields"].value("merged_into", "") == "");
  CHECK(ra["fields"]["position"] == konawe_record_1()["position"]);
  CHECK(rb["fields"]["merged_into"] == "rec-a");
  // The officer's phone, written after the first merge, was not buried silently: the
  // delete of rec-b opened an entry that holds it.
  CHECK(res["conflicts"].get<int>() >= 1);
  bool kept = false;
  const json open = f.http().get("/v1/conflicts?status=open", reviewer).json();
  for (const auto& c : open["conflicts"]) {
    if (c["record_id"] == "rec-b" && c["field"] == "phone" &&
        (c["winner"]["value"] == "081299998888" || c["loser"]["value"] == "081299998888"))
      kept = true;
  }
  CHECK_MESSAGE(kept, open.dump());
  auto listed = f.http().get("/v1/duplicates?status=merged", reviewer);
  REQUIRE(listed.json()["duplicates"].size() == 1);
  CHECK(listed.json()["duplicates"][0]["resolution"]["corrected"] == true);
}

// What a client sends that the server must not keep or echo (issue 12, items 5 and 8):
// control characters in labels and record text, an oversized status report, and submitted
// values in error details. Against the real lumbung-server on 127.0.0.1.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "lumbung/clock.h"
#include "security/security_support.h"

using namespace lumbung;
using namespace lumbung::test;
using nlohmann::json;

namespace {

// A 422 validation_failed naming `field` with `reason`, whose detail does not quote `value`.
void check_text_refused(const HttpResult& r, const std::string& field, const std::string& reason,
                        const std::string& value) {
  INFO("body: " << r.body);
  CHECK(r.status == 422);
  const json j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["code"] == "validation_failed");
  CHECK(j["field"] == field);
  CHECK(j["reason"] == reason);
  CHECK(r.body.find(value) == std::string::npos);
  CHECK(j["detail"].get<std::string>().find(value) == std::string::npos);
}

bool has_control(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return true;
  }
  return s.find("\xE2\x80\xAE") != std::string::npos || s.find("\xC2\x9B") != std::string::npos;
}

json op(uint64_t seq, const std::string& id, json set) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return json{{"seq", seq},
              {"col", "enrolment"},
              {"id", id},
              {"hlc", hlc::make(now, seq)},
              {"set", std::move(set)}};
}

}  // namespace

TEST_CASE("text is data: labels with control characters are refused for codes - tokens - devices") {
  SecServer s;
  const std::string osc = "Konawe\x1b]0;owned\x07";          // retitles a terminal
  const std::string clip = "rev\x1b]52;c;cm0gLXJmIH4=\x07";  // OSC 52: writes the clipboard
  const std::string rlo =
      "laptop-\xE2\x80\xAE"
      "exe.txt";  // displays reversed
  const std::string c1 =
      "x\xC2\x9B"
      "2J";  // C1 CSI: clears some terminals

  check_text_refused(
      s.http().post("/v1/admin/codes", json{{"scope", {"74.02"}}, {"label", osc}}, s.admin()),
      "label", "control_character", osc);
  check_text_refused(
      s.http().post("/v1/admin/tokens", json{{"role", "reviewer"}, {"label", clip}}, s.admin()),
      "label", "control_character", clip);
  check_text_refused(
      s.http().post("/v1/admin/tokens", json{{"role", "admin"}, {"label", "a\tb"}}, s.admin()),
      "label", "control_character", "a\tb");

  // Registration: the refusal leaves the code unused, so a clean label then works.
  const std::string code = s.code({"74.02"});
  for (const std::string& bad : {rlo, c1, std::string("A\nB"), std::string("A\0B", 3)}) {
    CAPTURE(bad);
    check_text_refused(
        s.http().post("/v1/devices/register",
                      json{{"code", code}, {"device_id", "laptop-a"}, {"label", bad}}),
        "label", "control_character", bad);
  }
  auto ok = s.http().post(
      "/v1/devices/register",
      json{{"code", code}, {"device_id", "laptop-a"}, {"label", "Laptop Siti - Lambuya"}});
  CHECK(ok.status == 201);
  // Letters beyond ASCII are text, not controls.
  CHECK(s.http()
            .post("/v1/admin/tokens",
                  json{{"role", "reviewer"}, {"label", "Pak Andi Sukarno \xC3\xA9"}}, s.admin())
            .status == 201);

  // Nothing with a control character reached a listing.
  const json devices = s.http().get("/v1/admin/devices", s.admin()).json()["devices"];
  const json tokens = s.http().get("/v1/admin/tokens", s.admin()).json()["tokens"];
  CHECK(devices.size() == 1);
  CHECK(tokens.size() == 2);  // the first admin's and the clean reviewer's
  for (const auto& d : devices) CHECK_FALSE(has_control(d["label"].get<std::string>()));
  for (const auto& t : tokens) CHECK_FALSE(has_control(t["label"].get<std::string>()));

  // A record's text fields: the server refuses (and keeps) the op like any invalid one.
  json rec = sample_enrolment(4711);
  rec["village_code"] = "7402012006";
  rec["full_name"] = "Eko\x1b[2J Setiawan";
  auto push = s.http().post("/v1/push", json{{"device", "laptop-a"}, {"ops", {op(1, "r-1", rec)}}},
                            ok.json()["token"].get<std::string>());
  INFO("push: " << push.body);
  REQUIRE(push.status == 200);
  REQUIRE(push.json()["refused"].size() == 1);
  const json refused = push.json()["refused"][0];
  CHECK(refused["code"] == "validation_failed");
  CHECK(refused["field"] == "full_name");
  CHECK(refused["message"].get<std::string>().find("(control_character)") != std::string::npos);
  CHECK(push.body.find("Eko") == std::string::npos);
}

TEST_CASE("a device's status report is capped: a 7 MiB report is refused with 413") {
  SecServer s;
  const std::string token = s.device("laptop-a", {"74.02"});
  json rec = sample_enrolment(4712);
  rec["village_code"] = "7402012006";
  json big = json::object();
  big["pending"] = 1;
  big["junk"] = std::string(7u * 1024 * 1024, 'x');
  auto r = s.http().post(
      "/v1/push", json{{"device", "laptop-a"}, {"ops", {op(1, "r-1", rec)}}, {"report", big}},
      token, /*gzip_body=*/true);
  INFO("body: " << r.body.substr(0, 400));
  CHECK(r.status == 413);
  const json j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["code"] == "body_too_large");
  CHECK(j["field"] == "report");
  CHECK(j["max_bytes"] == 4096);

  // Just over the cap is refused too, and nothing of that push was applied or kept.
  big["junk"] = std::string(4096, 'x');
  r = s.http().post("/v1/push",
                    json{{"device", "laptop-a"}, {"ops", {op(1, "r-1", rec)}}, {"report", big}},
                    token);
  CHECK(r.status == 413);
  json dev = s.http().get("/v1/admin/devices", s.admin()).json()["devices"][0];
  CHECK(dev["acked_seq"] == 0);
  CHECK(dev["status"].is_null());

  // A real laptop's report (a few counters) is kept and shown.
  const json small{{"pending", 1}, {"records", 5230}, {"oldest_pending_ms", 1732300000000}};
  r = s.http().post("/v1/push",
                    json{{"device", "laptop-a"}, {"ops", {op(1, "r-1", rec)}}, {"report", small}},
                    token);
  CHECK(r.status == 200);
  dev = s.http().get("/v1/admin/devices", s.admin()).json()["devices"][0];
  CHECK(dev["acked_seq"] == 1);
  CHECK(dev["status"]["records"] == 5230);
}

TEST_CASE("error details name the field and the rule - never the submitted value") {
  SecServer s;
  const std::string token = s.device("laptop-a", {"74.02"});
  json rec = sample_enrolment(4713);
  rec["village_code"] = "7402012006";
  json bad_nik = rec;
  bad_nik["nik"] = "9902011911800123";  // province 99 does not exist
  json bad_date = rec;
  bad_date["birth_date"] = "1980-11-31";
  json bad_phone = rec;
  bad_phone["phone"] = "0000-SITI-AMINAH";
  auto r = s.http().post(
      "/v1/push",
      json{{"device", "laptop-a"},
           {"ops", {op(1, "r-1", bad_nik), op(2, "r-2", bad_date), op(3, "r-3", bad_phone)}}},
      token);
  INFO("body: " << r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["refused"].size() == 3);
  for (const char* value : {"9902011911800123", "1980-11-31", "SITI", "0000"})
    CHECK(r.body.find(value) == std::string::npos);
  CHECK(r.json()["refused"][0]["field"] == "nik");
  CHECK(r.json()["refused"][0]["message"] == "op seq 1: \"nik\" is not a valid NIK (invalid_nik)");
  CHECK(r.json()["refused"][1]["field"] == "birth_date");
  CHECK(r.json()["refused"][2]["field"] == "phone");

  // The refused queue the office reads holds the same words, not the values.
  const std::string reviewer = s.staff("reviewer")["token"];
  auto list = s.http().get("/v1/refused", reviewer);
  REQUIRE(list.status == 200);
  const json entries = list.json()["refused"];
  REQUIRE(entries.size() == 3);
  // The ops themselves are shown to the office (it decides on them); the messages are not
  // where a value may hide.
  for (const auto& e : entries) {
    for (const char* value : {"9902011911800123", "1980-11-31", "SITI"})
      CHECK(e["message"].get<std::string>().find(value) == std::string::npos);
  }
}

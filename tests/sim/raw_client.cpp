#include "sim/raw_client.h"

#include <cstdio>
#include <stdexcept>
#include <utility>

#include "support/enrolment.h"

namespace lumbung::sim {

namespace {

const char* const kInScopeVillage = "7201011001";     // Banggai (72.01), the client's region
const char* const kOutOfScopeVillage = "7242111687";  // Sigi (72.42)

}  // namespace

RawClient::RawClient(test::InProcessServer& server, const std::string& admin_token,
                     const std::string& reviewer_token, const std::string& device_id,
                     const std::string& scope, uint64_t seed)
    : server_(server), reviewer_(reviewer_token), device_(device_id), rng_(seed) {
  HttpResponse r =
      post("/v1/admin/codes", Json{{"scope", {scope}}, {"label", device_id}}.dump(), admin_token);
  const Json code = Json::parse(r.body, nullptr, false);
  if (r.status != 201 && r.status != 200) throw std::runtime_error("raw client code: " + r.body);
  r = post(
      "/v1/devices/register",
      Json{{"code", code.value("code", "")}, {"device_id", device_id}, {"label", device_id}}.dump(),
      "");
  const Json reg = Json::parse(r.body, nullptr, false);
  if (r.status != 201) throw std::runtime_error("raw client register: " + r.body);
  token_ = reg.value("token", "");
}

HttpResponse RawClient::post(const std::string& target, const std::string& body,
                             const std::string& token) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body;
  return test::InProcessTransport(server_).send(r);
}

Json RawClient::records() {
  HttpRequest r;
  r.method = "GET";
  r.target = "/v1/records?collection=enrolment&limit=10000";
  r.headers.emplace_back("Authorization", "Bearer " + reviewer_);
  const HttpResponse resp = test::InProcessTransport(server_).send(r);
  const Json j = Json::parse(resp.body, nullptr, false);
  return j.is_object() ? j.value("records", Json::array()) : Json();
}

Json RawClient::op(const std::string& id, const Json& set, const Json& base) const {
  Json o{{"seq", acked_ + 1},
         {"col", "enrolment"},
         {"id", id},
         {"hlc", uint64_t{1} << 16},  // any: an op that is refused is never merged
         {"set", set}};
  if (!base.is_null()) o["base"] = base;
  return o;
}

std::string RawClient::send_one(const std::string& existing) {
  const int kind = static_cast<int>(rng_() % 10);
  char idbuf[48];
  std::snprintf(idbuf, sizeof idbuf, "00000000-0000-7000-9000-%012llu",
                static_cast<unsigned long long>(rng_() % 1000000000000ULL));
  const std::string fresh = idbuf;
  Json rec = test::sample_enrolment(++serial_);
  rec["village_code"] = kInScopeVillage;
  // What the server must answer: a refusal of the op (acknowledged, set aside) or an error.
  enum class Expect { kRefused, kError } expect = Expect::kRefused;
  Json body{{"device", device_}, {"ops", Json::array()}};
  std::string text;
  switch (kind) {
    case 0:
      last_ = "a create whose NIK has 5 digits";
      rec["nik"] = "74020";
      body["ops"].push_back(op(fresh, rec, Json()));
      break;
    case 1:
      last_ = "a create whose income is a word";
      rec["monthly_income"] = "banyak";
      body["ops"].push_back(op(fresh, rec, Json()));
      break;
    case 2:
      last_ = "a create with a field the schema does not have";
      rec["hobi"] = "memancing";
      body["ops"].push_back(op(fresh, rec, Json()));
      break;
    case 3:
      last_ = "a valid create outside its regions";
      rec["village_code"] = kOutOfScopeVillage;
      body["ops"].push_back(op(fresh, rec, Json()));
      break;
    case 4:
      if (existing.empty()) return "";
      last_ = "an edit of " + existing + " with a phone number that is a number";
      body["ops"].push_back(op(existing, Json{{"phone", 81234567}}, Json{{"*", {1, "dev-0"}}}));
      break;
    case 5:
      last_ = "malformed JSON";
      expect = Expect::kError;
      text = "{\"device\": \"" + device_ + "\", \"ops\": [{\"seq\": ";
      break;
    case 6:
      last_ = "another device's change set";
      expect = Expect::kError;
      body["device"] = "dev-0";
      rec["nik"] = "74020";
      body["ops"].push_back(op(fresh, rec, Json()));
      break;
    case 7: {
      last_ = "a seq gap";
      expect = Expect::kError;
      Json o = op(fresh, rec, Json());
      o["seq"] = acked_ + 5;
      body["ops"].push_back(o);
      break;
    }
    case 8:
      if (last_body_.empty()) return "";
      last_ = "its last change set again";
      text = last_body_;
      expect = Expect::kError;  // either: skipped as a retry, or the same error again
      break;
    default:
      last_ = "an op of another device inside its change set";
      expect = Expect::kError;
      rec["nik"] = "74020";
      body["ops"].push_back(op(fresh, rec, Json()));
      body["ops"][0]["dev"] = "dev-1";
      break;
  }
  const bool built = text.empty();
  auto numbered = [&] {  // the ops numbered from what the server holds of this device
    for (Json& o : body["ops"]) o["seq"] = kind == 7 ? acked_ + 5 : acked_ + 1;
    return body.dump();
  };
  if (built) text = numbered();
  const Json before = records();
  HttpResponse r = post("/v1/push", text, token_);
  if (built && kind != 7 && r.status == 409) {
    // A restore took this device's refusals back: number from where the server is.
    const Json gap = Json::parse(r.body, nullptr, false);
    if (gap.is_object() && gap.value("code", "") == "seq_gap" && gap.contains("expected_seq")) {
      acked_ = gap["expected_seq"].get<uint64_t>() - 1;
      text = numbered();
      r = post("/v1/push", text, token_);
    }
  }
  const Json after = records();
  std::string what = device_ + " sent " + last_ + ": ";
  if (after != before) return what + "the server's records changed";
  const Json answer = Json::parse(r.body, nullptr, false);
  if (r.status >= 500) return what + "answered " + std::to_string(r.status) + ": " + r.body;
  if (r.status != 200) {
    if (!answer.is_object() || !answer.contains("code")) {
      return what + "answered " + std::to_string(r.status) + " without a code: " + r.body;
    }
    if (expect == Expect::kRefused) {
      return what + "rejected the request (" + std::to_string(r.status) +
             ") instead of "
             "refusing the op: " +
             r.body;
    }
    if (kind == 7 && answer.value("code", "") != "seq_gap") return what + "not seq_gap: " + r.body;
    if (const auto it = answer.find("expected_seq"); it != answer.end() && it->is_number()) {
      acked_ = it->get<uint64_t>() - 1;  // a restore may have taken its ops back
    }
    last_body_ = text;
    return "";
  }
  // 200: every op of it acknowledged and set aside, none applied.
  if (!answer.is_object()) return what + "answered 200 without JSON: " + r.body;
  if (expect == Expect::kError && kind != 8) return what + "was accepted: " + r.body;
  if (answer.value("applied", -1) != 0) return what + "applied an op: " + r.body;
  const uint64_t acked = answer.value("acked_seq", uint64_t{0});
  if (expect == Expect::kRefused) {
    bool listed = false;
    for (const Json& x : answer.value("refused", Json::array())) {
      if (x.value("seq", uint64_t{0}) == acked_ + 1 && !x.value("code", "").empty()) listed = true;
    }
    if (!listed && answer.value("skipped", 0) == 0) {
      return what + "did not refuse seq " + std::to_string(acked_ + 1) + ": " + r.body;
    }
  }
  acked_ = acked;
  last_body_ = text;
  return "";
}

}  // namespace lumbung::sim

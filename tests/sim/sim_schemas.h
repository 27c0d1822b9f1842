// The schema versions the simulation publishes with --publications (issue 18): versions 2
// and 3 of the shipped enrolment schema, each step touching a field the officers write, so
// that ops written under an older version meet every kind of step on their way.
//
// Version 2: phone -> phone_number, position retired, npwp added, occupation "penenun",
// monthly_income at most 18,000,000 (was 20,700,000).
// Version 3: phone_number -> mobile_phone, email retired, mother_name added, payment_source
// "CSR", full_name at most 14 characters (was 100: "Eko Setiawan S." no longer fits).
#pragma once

#include <string>

#include "support/enrolment.h"

namespace lumbung::sim {

constexpr int kNewestVersion = 3;
constexpr int64_t kIncomeMaxV2 = 18000000;
constexpr size_t kNameMaxV3 = 14;

namespace schemas_detail {

inline void drop_field(Json& doc, const std::string& name) {
  auto& fields = doc["collections"][0]["fields"];
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if ((*it)["name"] == name) {
      fields.erase(it);
      return;
    }
  }
}

inline Json step(const char* op, const std::string& field) {
  return Json{{"op", op}, {"collection", "enrolment"}, {"field", field}};
}

inline Json rename(const std::string& from, const std::string& to) {
  return Json{{"op", "rename_field"}, {"collection", "enrolment"}, {"from", from}, {"to", to}};
}

inline Json enum_value(const std::string& field, const std::string& value) {
  Json s = step("add_enum_value", field);
  s["value"] = value;
  return s;
}

}  // namespace schemas_detail

inline Json sim_schema_v2() {
  using namespace schemas_detail;
  Json d = test::enrolment_document();
  d["version"] = 2;
  test::field_of(d, "phone")["name"] = "phone_number";
  drop_field(d, "position");
  d["collections"][0]["fields"].push_back(
      Json{{"name", "npwp"}, {"type", "string"}, {"max_length", 20}});
  test::field_of(d, "occupation")["values"].push_back("penenun");
  test::field_of(d, "monthly_income")["max"] = kIncomeMaxV2;
  d["changelog"] = Json::array({Json{
      {"version", 2},
      {"steps", Json::array({rename("phone", "phone_number"), step("retire_field", "position"),
                             step("add_field", "npwp"), enum_value("occupation", "penenun"),
                             step("tighten_rule", "monthly_income")})}}});
  return d;
}

inline Json sim_schema_v3() {
  using namespace schemas_detail;
  Json d = sim_schema_v2();
  d["version"] = 3;
  test::field_of(d, "phone_number")["name"] = "mobile_phone";
  drop_field(d, "email");
  d["collections"][0]["fields"].push_back(
      Json{{"name", "mother_name"}, {"type", "string"}, {"max_length", 100}});
  test::field_of(d, "payment_source")["values"].push_back("CSR");
  test::field_of(d, "full_name")["max_length"] = kNameMaxV3;
  d["changelog"].push_back(Json{
      {"version", 3},
      {"steps", Json::array({rename("phone_number", "mobile_phone"), step("retire_field", "email"),
                             step("add_field", "mother_name"), enum_value("payment_source", "CSR"),
                             step("tighten_rule", "full_name")})}});
  return d;
}

// The document of `version` (2 or 3).
inline Json sim_schema(int version) { return version == 2 ? sim_schema_v2() : sim_schema_v3(); }

}  // namespace lumbung::sim

// Shared by the server's schema version tests (schema_versions_test, schema_publish_test):
// the enrolment schema's versions 1, 2 and 3 with their changelogs, a schema file written
// for --schema, and the server's live records.
#pragma once

#include <fstream>
#include <map>
#include <string>

#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

namespace lumbung::test::versions {

inline Json v1_document() { return test::enrolment_document(); }
using test::field_of;

// Version 2: phone -> phone_number, position retired, npwp added, occupation "penenun",
// birth_place at most 20 characters (was 60).
inline Json v2_document() {
  Json d = v1_document();
  d["version"] = 2;
  field_of(d, "phone")["name"] = "phone_number";
  auto& fields = d["collections"][0]["fields"];
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if ((*it)["name"] == "position") {
      fields.erase(it);
      break;
    }
  }
  fields.push_back(Json{{"name", "npwp"}, {"type", "string"}, {"max_length", 20}});
  field_of(d, "occupation")["values"].push_back("penenun");
  field_of(d, "birth_place")["max_length"] = 20;
  d["changelog"] = Json::array({Json{
      {"version", 2},
      {"steps", Json::array({
                    {{"op", "rename_field"},
                     {"collection", "enrolment"},
                     {"from", "phone"},
                     {"to", "phone_number"}},
                    {{"op", "retire_field"}, {"collection", "enrolment"}, {"field", "position"}},
                    {{"op", "add_field"}, {"collection", "enrolment"}, {"field", "npwp"}},
                    {{"op", "add_enum_value"},
                     {"collection", "enrolment"},
                     {"field", "occupation"},
                     {"value", "penenun"}},
                    {{"op", "tighten_rule"}, {"collection", "enrolment"}, {"field", "birth_place"}},
                })}}});
  return d;
}

// Version 3 on top of 2: phone_number -> mobile_phone (so version 1's phone moves twice),
// email retired, payment_source "CSR", address at most 30 characters (was 200),
// mother_name added.
inline Json v3_document() {
  Json d = v2_document();
  d["version"] = 3;
  field_of(d, "phone_number")["name"] = "mobile_phone";
  auto& fields = d["collections"][0]["fields"];
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if ((*it)["name"] == "email") {
      fields.erase(it);
      break;
    }
  }
  fields.push_back(Json{{"name", "mother_name"}, {"type", "string"}, {"max_length", 100}});
  field_of(d, "payment_source")["values"].push_back("CSR");
  field_of(d, "address")["max_length"] = 30;
  const std::string c = "enrolment";
  d["changelog"].push_back(
      Json{{"version", 3},
           {"steps", Json::array({
                         {{"op", "rename_field"},
                          {"collection", c},
                          {"from", "phone_number"},
                          {"to", "mobile_phone"}},
                         {{"op", "retire_field"}, {"collection", c}, {"field", "email"}},
                         {{"op", "add_field"}, {"collection", c}, {"field", "mother_name"}},
                         {{"op", "add_enum_value"},
                          {"collection", c},
                          {"field", "payment_source"},
                          {"value", "CSR"}},
                         {{"op", "tighten_rule"}, {"collection", c}, {"field", "address"}},
                     })}});
  return d;
}

inline std::string write_file(const test::TempDir& dir, const std::string& name, const Json& j) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << j.dump(2);
  return path;
}

inline std::map<std::string, Json> server_records(ServerFixture& f, const std::string& reviewer) {
  std::map<std::string, Json> out;
  for (auto& r : f.records(reviewer)) {
    if (!r["deleted"].get<bool>()) out[r["id"].get<std::string>()] = r["fields"];
  }
  return out;
}

}  // namespace lumbung::test::versions

// Shared by the schema tests (schema_test, schema_records_test, schema_identity_test): the
// shipped enrolment schema, a valid record of it, and checking a record against it.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "lumbung/schema.h"

namespace lumbung::test::enrolment_schema {

inline const std::string kSchemaPath =
    std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json";

inline const CollectionSchema& enrolment() {
  static std::shared_ptr<const Schema> schema = Schema::load_file(kSchemaPath);
  const CollectionSchema* c = schema->collection("enrolment");
  REQUIRE(c != nullptr);
  return *c;
}

// A woman born 19-11-1980 in Konawe: NIK day 59 = 19 + 40.
inline Json valid_record() {
  return Json{{"nik", "7402015911800001"},
              {"full_name", "Siti Aminah"},
              {"birth_date", "1980-11-19"},
              {"gender", "P"},
              {"village_code", "7402012006"},
              {"position", "kaur keuangan"},
              {"phone", "081234567890"},
              {"programs", {"JKK", "JKM"}},
              {"monthly_income", 2500000},
              {"status", "draft"},
              {"created_at", "2025-01-06T00:00:03.306Z"},
              {"officer_id", "OFC-0022"}};
}

inline std::vector<ValidationIssue> check(Json& record, bool partial = false) {
  return enrolment().normalize_and_validate(record, partial);
}

inline const ValidationIssue* find_issue(const std::vector<ValidationIssue>& issues,
                                         const std::string& field, const std::string& reason) {
  for (const ValidationIssue& i : issues) {
    if (i.field == field && i.reason == reason) return &i;
  }
  return nullptr;
}

inline std::string describe(const std::vector<ValidationIssue>& issues) {
  std::string s;
  for (const ValidationIssue& i : issues) s += i.field + "/" + i.reason + ": " + i.message + "\n";
  return s;
}

// The single issue of a record with one field replaced.
inline ValidationIssue only_issue(const std::string& field, const Json& value) {
  Json r = valid_record();
  r[field] = value;
  std::vector<ValidationIssue> issues = check(r);
  INFO(describe(issues));
  REQUIRE(issues.size() == 1);
  return issues[0];
}

}  // namespace lumbung::test::enrolment_schema

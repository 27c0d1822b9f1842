// Tests for the identity fields of engine/src/schema/validators.cpp and id_formats.cpp: the
// NIK (its structure, and its birth date and gender against the record's), province and
// region codes, and phone numbers normalised to 08... digits.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/schema_support.h"
#include "lumbung/schema.h"
#include "schema/validators.h"

using lumbung::CollectionSchema;
using lumbung::FieldDef;
using lumbung::Json;
using lumbung::Schema;
using lumbung::ValidationIssue;
using namespace lumbung::test::enrolment_schema;

TEST_CASE("NIK birth date must match birth_date") {
  ValidationIssue i = only_issue("birth_date", "1980-11-09");
  CHECK(i.field == "birth_date");
  CHECK(i.reason == "nik_birth_date_mismatch");
  CHECK(i.message == "NIK says born 19-11-1980, Tanggal lahir says 1980-11-09");

  // Same day and month, other century: only the last two digits of the year are compared.
  CHECK(only_issue("birth_date", "1981-11-19").reason == "nik_birth_date_mismatch");
  Json r = valid_record();
  r["birth_date"] = "2080-11-19";
  CHECK(check(r).empty());
}

TEST_CASE("NIK day offset must match gender") {
  // A woman whose NIK lacks the +40.
  Json r = valid_record();
  r["nik"] = "7402011911800001";
  std::vector<ValidationIssue> issues = check(r);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].field == "gender");
  CHECK(issues[0].reason == "nik_gender_mismatch");
  CHECK(issues[0].message == "NIK day 19 means a man (women have day+40) but Jenis kelamin is P");

  // A man whose NIK has it.
  ValidationIssue i = only_issue("gender", "L");
  CHECK(i.reason == "nik_gender_mismatch");
  CHECK(i.message == "NIK day 59 means a woman (day+40) but Jenis kelamin is L");

  // Both wrong: both reported, in form order.
  r = valid_record();
  r["gender"] = "L";
  r["birth_date"] = "1980-11-20";
  issues = check(r);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].reason == "nik_birth_date_mismatch");
  CHECK(issues[1].reason == "nik_gender_mismatch");
}

TEST_CASE("NIK structure") {
  CHECK(only_issue("nik", "740201591180000").reason == "invalid_nik");    // 15 digits
  CHECK(only_issue("nik", "74020159118000011").reason == "invalid_nik");  // 17 digits
  CHECK(only_issue("nik", "74020159118O0001").reason == "invalid_nik");   // letter O
  ValidationIssue province = only_issue("nik", "9902015911800001");
  CHECK(province.reason == "invalid_nik");
  CHECK(province.message == "NIK 9902015911800001 starts with 99, which is not a province code");
  CHECK(only_issue("nik", "2002015911800001").reason == "invalid_nik");  // 20: no province
  ValidationIssue date = only_issue("nik", "7402017213800001");
  CHECK(date.reason == "invalid_nik");
  CHECK(date.message.find("721380") != std::string::npos);
  CHECK(only_issue("nik", "7402014011800001").reason == "invalid_nik");  // day 40 = 0 + 40
  CHECK(only_issue("nik", "7402010011800001").reason == "invalid_nik");  // day 00
  CHECK(only_issue("nik", "7402013202800001").reason == "invalid_nik");  // 32-02
  ValidationIssue serial = only_issue("nik", "7402015911800000");
  CHECK(serial.reason == "invalid_nik");
  CHECK(serial.message.find("0000") != std::string::npos);
  CHECK(only_issue("nik", 7402015911800001LL).reason == "wrong_type");

  // 29 February only in years divisible by four.
  Json r = valid_record();
  r["nik"] = "7402016902000001";
  r["birth_date"] = "2000-02-29";
  CHECK(check(r).empty());
  CHECK(only_issue("nik", "7402016902010001").reason == "invalid_nik");

  // The NIK region is where it was first issued: it need not match village_code.
  r = valid_record();
  r["village_code"] = "3273010001";
  CHECK(check(r).empty());

  lumbung::validators::NikInfo info;
  CHECK(lumbung::validators::check_nik_digits("7402015911800001", &info).empty());
  CHECK(info.day == 19);
  CHECK(info.month == 11);
  CHECK(info.yy == 80);
  CHECK(info.female);
}

TEST_CASE("province codes are the 38 in force") {
  int count = 0;
  for (int code = 0; code < 100; ++code) count += lumbung::validators::is_province_code(code);
  CHECK(count == 38);
  CHECK(lumbung::validators::is_province_code(74));
  CHECK(lumbung::validators::is_province_code(96));
  CHECK_FALSE(lumbung::validators::is_province_code(20));
  CHECK_FALSE(lumbung::validators::is_province_code(97));
}

TEST_CASE("region codes: dotted and undotted store the same value") {
  const CollectionSchema& c = enrolment();
  const FieldDef* village = c.field("village_code");
  REQUIRE(village);
  Json a = valid_record(), b = valid_record();
  a["village_code"] = "74.02.01.2006";
  b["village_code"] = "7402012006";
  CHECK(check(a).empty());
  CHECK(check(b).empty());
  CHECK(a["village_code"] == b["village_code"]);
  CHECK(c.normalize_value(*village, Json("74.02.01.2006")) == Json("7402012006"));
  CHECK(c.normalize_value(*village, Json("7402012006")) == Json("7402012006"));
  // A query prefix for a kabupaten still loses its dots.
  CHECK(c.normalize_value(*village, Json("74.02")) == Json("7402"));
  CHECK(c.normalize_value(*village, Json(nullptr)).is_null());

  ValidationIssue level = only_issue("village_code", "74.02.01");
  CHECK(level.reason == "invalid_region_code");
  CHECK(level.message.find("10-digit") != std::string::npos);
  CHECK(level.message.find("74.02.01") != std::string::npos);
  ValidationIssue province = only_issue("village_code", "99.02.01.2006");
  CHECK(province.reason == "invalid_region_code");
  CHECK(province.message == "Kode desa 9902012006 starts with 99, which is not a province code");
  CHECK(only_issue("village_code", "74.00.01.2006").reason == "invalid_region_code");
  CHECK(only_issue("village_code", "74.02.00.2006").reason == "invalid_region_code");
  CHECK(only_issue("village_code", "74.02.01.0000").reason == "invalid_region_code");
  CHECK(only_issue("village_code", "74-02-01-2006").reason == "invalid_region_code");
  CHECK(only_issue("village_code", "740201200611").reason == "invalid_region_code");
  CHECK(only_issue("village_code", 7402012006LL).reason == "wrong_type");
}

TEST_CASE("region code fields without a level accept every level") {
  Json doc = {{"schema", "t"},
              {"version", 1},
              {"collections",
               {{{"name", "office"}, {"fields", {{{"name", "area"}, {"type", "region_code"}}}}}}}};
  std::shared_ptr<const Schema> s = Schema::parse(doc);
  const CollectionSchema& c = *s->collection("office");
  for (const char* code : {"74", "74.02", "74.02.01", "74.02.01.2006"}) {
    CAPTURE(code);
    Json r = {{"area", code}};
    CHECK(c.normalize_and_validate(r, false).empty());
  }
  Json r = {{"area", "740"}};
  CHECK(c.normalize_and_validate(r, false).size() == 1);
}

TEST_CASE("phone numbers are normalised to 08... digits") {
  const struct {
    const char* typed;
    const char* stored;
  } good[] = {
      {"+62 812-3456-7890", "081234567890"}, {"6281234567890", "081234567890"},
      {"62812345678", "0812345678"},         {"0812 3456 7890", "081234567890"},
      {"0822621631", "0822621631"},          {"+62 (0)812 3456 789", "08123456789"},
      {"812-3456-7890", "081234567890"},     {"(021) 555-1234", "0215551234"},
      {"0401.312345", "0401312345"},         {"081234567890123", nullptr},
  };
  const CollectionSchema& c = enrolment();
  for (const auto& g : good) {
    CAPTURE(g.typed);
    Json r = valid_record();
    r["phone"] = g.typed;
    std::vector<ValidationIssue> issues = check(r);
    if (g.stored) {
      INFO(describe(issues));
      CHECK(issues.empty());
      CHECK(r["phone"] == g.stored);
      CHECK(c.normalize_value(*c.field("phone"), Json(g.typed)) == Json(g.stored));
    } else {
      CHECK(find_issue(issues, "phone", "invalid_phone"));
    }
  }
  for (const char* bad : {"12345", "0812", "+1 555 123 4567", "0012345678", "0812-3456-78x0",
                          "08123456789012", "++6281234567890", "021 555"}) {
    CAPTURE(bad);
    ValidationIssue i = only_issue("phone", bad);
    CHECK(i.reason == "invalid_phone");
    CHECK(i.message.find("Nomor HP") == 0);
  }
  CHECK(only_issue("phone", 81234567890LL).reason == "wrong_type");
}

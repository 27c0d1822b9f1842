// Tests for record validation and normalisation (engine/src/schema/validators.cpp and
// validate_object.cpp): a valid record, object lists, enums, unknown and required fields,
// partial patches, numbers, dates, timestamps and text.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/schema_support.h"
#include "lumbung/schema.h"

using lumbung::CollectionSchema;
using lumbung::Json;
using lumbung::Schema;
using lumbung::ValidationIssue;
using namespace lumbung::test::enrolment_schema;

TEST_CASE("a valid record passes and is normalised") {
  Json r = valid_record();
  CHECK(check(r).empty());
  CHECK(r == valid_record());  // canonical input is left as it is

  r["full_name"] = "  Siti Aminah \t";
  r["village_code"] = "74.02.01.2006";
  r["phone"] = "+62 812-3456-7890";
  r["programs"] = {"JHT", "JKM", "JKK"};
  r["gender"] = "p";
  r["status"] = "Draft";
  r["nik"] = "7402 0159 1180 0001";
  r["created_at"] = "2025-01-06T00:00:03+00:00";
  r["email"] = "   ";  // an empty optional input stores nothing
  std::vector<ValidationIssue> issues = check(r);
  INFO(describe(issues));
  CHECK(issues.empty());
  CHECK(r["full_name"] == "Siti Aminah");
  CHECK(r["village_code"] == "7402012006");
  CHECK(r["phone"] == "081234567890");
  CHECK(r["programs"] == Json{"JKK", "JKM", "JHT"});
  CHECK(r["gender"] == "P");
  CHECK(r["status"] == "draft");
  CHECK(r["nik"] == "7402015911800001");
  CHECK(r["created_at"] == "2025-01-06T00:00:03Z");
  CHECK(r["email"].is_null());
}

TEST_CASE("a record with every optional field - heirs included") {
  Json r = valid_record();
  r["birth_place"] = "Kendari";
  r["address"] = "Dusun II";
  r["rt_rw"] = "003/005";
  r["occupation"] = "perangkat_desa";
  r["segment"] = "BPU";
  r["email"] = "siti@example.id";
  r["kpj_number"] = "19012345678";
  r["payment_source"] = "APBDes";
  r["heirs"] = Json::array({{{"name", "La Ode Hasan"}, {"relationship", "suami_istri"}},
                            {{"name", "Wa Ode Rina"},
                             {"relationship", "anak"},
                             {"nik", "7402015503050002"},
                             {"birth_date", "2005-03-15"}}});
  std::vector<ValidationIssue> issues = check(r);
  INFO(describe(issues));
  CHECK(issues.empty());

  r["heirs"][1].erase("relationship");
  r["heirs"][1]["nik"] = "7402019903050002";
  r["heirs"][0]["age"] = 40;
  issues = check(r);
  INFO(describe(issues));
  REQUIRE(issues.size() == 3);
  CHECK(find_issue(issues, "heirs[0].age", "unknown_field"));
  CHECK(find_issue(issues, "heirs[1].nik", "invalid_nik"));
  const ValidationIssue* missing = find_issue(issues, "heirs[1].relationship", "required");
  REQUIRE(missing);
  CHECK(missing->message == "Ahli waris #2: Hubungan is required");

  r["heirs"] = Json::array({"La Ode Hasan"});
  CHECK(only_issue("heirs", r["heirs"]).reason == "wrong_type");
  CHECK(only_issue("heirs", Json{{"name", "x"}}).reason == "wrong_type");
}

TEST_CASE("enums and enum sets") {
  ValidationIssue g = only_issue("gender", "X");
  CHECK(g.reason == "not_in_enum");
  CHECK(g.message == "Jenis kelamin must be one of L, P; got \"X\"");
  ValidationIssue s = only_issue("status", "approved");
  CHECK(s.reason == "not_in_enum");
  CHECK(s.message.find("draft, submitted, verified, rejected, enrolled") != std::string::npos);

  ValidationIssue p = only_issue("programs", Json{"JKK", "JKX"});
  CHECK(p.reason == "not_in_enum");
  CHECK(p.message.find("\"JKX\"") != std::string::npos);
  CHECK(p.message.find("JKK, JKM, JHT, JP, JKP") != std::string::npos);
  CHECK(only_issue("programs", Json{"JKK", "JKK"}).reason == "duplicate_value");
  CHECK(only_issue("programs", Json{"JKK", "jkk"}).reason == "duplicate_value");
  CHECK(only_issue("programs", Json::array()).reason == "required");
  CHECK(only_issue("programs", "JKK").reason == "wrong_type");
  CHECK(only_issue("programs", Json{"JKK", 1}).reason == "wrong_type");
  CHECK(only_issue("occupation", "pilot").reason == "not_in_enum");
  CHECK(only_issue("gender", true).reason == "wrong_type");

  Json r = valid_record();
  r["programs"] = {"JKP", "JP", "JHT", "JKM", "JKK"};
  CHECK(check(r).empty());
  CHECK(r["programs"] == Json{"JKK", "JKM", "JHT", "JP", "JKP"});
}

TEST_CASE("unknown fields are named") {
  ValidationIssue u = only_issue("nama", "Siti");
  CHECK(u.field == "nama");
  CHECK(u.reason == "unknown_field");
  CHECK(u.message.find("nama") != std::string::npos);
  ValidationIssue id = only_issue("id", "3eb438a9-07d0-4040-ac80-2d7c5700893a");
  CHECK(id.reason == "unknown_field");
  Json patch = {{"nama", "Siti"}};
  CHECK(find_issue(check(patch, true), "nama", "unknown_field"));
}

TEST_CASE("required fields") {
  for (const char* name : {"nik", "full_name", "birth_date", "gender", "village_code", "programs",
                           "monthly_income", "status", "created_at", "officer_id"}) {
    CAPTURE(name);
    Json r = valid_record();
    r.erase(name);
    std::vector<ValidationIssue> issues = check(r);
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].field == name);
    CHECK(issues[0].reason == "required");
  }
  ValidationIssue blank = only_issue("full_name", "   ");
  CHECK(blank.reason == "required");
  CHECK(blank.message == "Nama lengkap is required");
  CHECK(only_issue("full_name", nullptr).reason == "required");
  // Optional fields may be absent or null in a whole record.
  Json r = valid_record();
  r.erase("phone");
  r.erase("position");
  r["email"] = nullptr;
  CHECK(check(r).empty());

  // Several problems come back together, in form order.
  r = Json::object({{"zz", 1}});
  std::vector<ValidationIssue> issues = check(r);
  REQUIRE(issues.size() == 11);
  CHECK(issues[0].field == "nik");
  CHECK(issues[10].field == "zz");
}

TEST_CASE("partial patches check only what they carry") {
  Json patch = {{"phone", "+62 812 3456 7890"}};
  CHECK(check(patch, true).empty());
  CHECK(patch["phone"] == "081234567890");

  patch = {{"email", nullptr}, {"heirs", nullptr}};
  CHECK(check(patch, true).empty());

  patch = {{"full_name", nullptr}};
  std::vector<ValidationIssue> issues = check(patch, true);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].reason == "required");
  CHECK(issues[0].message == "Nama lengkap is required and cannot be cleared");
  patch = {{"full_name", " "}};
  CHECK(find_issue(check(patch, true), "full_name", "required"));

  // No cross-checks in a patch: the store checks the merged record.
  patch = {{"nik", "7402011911800001"}, {"gender", "P"}};
  CHECK(check(patch, true).empty());
  patch = {{"monthly_income", 99}};
  CHECK(find_issue(check(patch, true), "monthly_income", "out_of_range"));
  patch = Json::object();
  CHECK(check(patch, true).empty());
}

TEST_CASE("numbers - dates - timestamps and text") {
  ValidationIssue s = only_issue("monthly_income", "2500000");
  CHECK(s.reason == "wrong_type");
  CHECK(s.message == "Penghasilan per bulan must be a whole number, got \"2500000\"");
  CHECK(only_issue("monthly_income", 2500000.5).reason == "wrong_type");
  CHECK(only_issue("monthly_income", true).reason == "wrong_type");
  ValidationIssue low = only_issue("monthly_income", 500000);
  CHECK(low.reason == "out_of_range");
  CHECK(low.message ==
        "Penghasilan per bulan must be between 1,000,000 and 20,700,000, got 500,000");
  CHECK(only_issue("monthly_income", 20700001).reason == "out_of_range");
  CHECK(only_issue("monthly_income", -5).reason == "out_of_range");
  CHECK(only_issue("monthly_income", 18446744073709551615ULL).reason == "out_of_range");
  Json r = valid_record();
  r["monthly_income"] = 2500000.0;  // 2.5e6 from a JavaScript client
  CHECK(check(r).empty());
  CHECK(r["monthly_income"].is_number_integer());
  r["monthly_income"] = 1000000;
  CHECK(check(r).empty());
  r["monthly_income"] = 20700000;
  CHECK(check(r).empty());

  for (const char* bad : {"1980-02-30", "1980-13-01", "1980-1-19", "19-11-1980", "1899-12-31",
                          "1980/11/19", "1980-11-19T00:00:00Z"}) {
    CAPTURE(bad);
    Json rec = valid_record();
    rec["birth_date"] = bad;
    CHECK(find_issue(check(rec), "birth_date", "invalid_date"));
  }
  ValidationIssue d = only_issue("birth_date", "1980-11-31");
  CHECK(d.message ==
        "Tanggal lahir must be a real date written YYYY-MM-DD (year 1900 or later), got "
        "\"1980-11-31\"");

  for (const char* good : {"2025-01-06T00:00:03Z", "2025-01-06T23:59:59.123456789Z"}) {
    CAPTURE(good);
    Json rec = valid_record();
    rec["created_at"] = good;
    CHECK(check(rec).empty());
  }
  for (const char* bad :
       {"2025-01-06", "2025-01-06T24:00:00Z", "2025-01-06 00:00:03Z", "2025-01-06T00:00:03",
        "2025-01-06T00:00:03+07:00", "2025-02-30T00:00:03Z", "2025-01-06T00:00:03.Z"}) {
    CAPTURE(bad);
    CHECK(only_issue("created_at", bad).reason == "invalid_timestamp");
  }

  CHECK(only_issue("full_name", 123).reason == "wrong_type");
  ValidationIssue longname = only_issue("full_name", std::string(101, 'a'));
  CHECK(longname.reason == "too_long");
  CHECK(longname.message == "Nama lengkap is too long: 101 characters, at most 100");
  r = valid_record();
  std::string accented;
  for (int i = 0; i < 100; ++i) accented += "\xC3\xA9";  // 100 x e-acute = 200 bytes
  r["full_name"] = accented;
  CHECK(check(r).empty());
  CHECK(only_issue("officer_id", std::string(5000, 'x')).reason == "too_long");

  Json not_object = Json::array();
  std::vector<ValidationIssue> issues = check(not_object);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].reason == "wrong_type");
}

TEST_CASE("number and boolean fields of another schema") {
  Json doc = {{"schema", "t"},
              {"version", 2},
              {"collections",
               {{{"name", "farm"},
                 {"fields",
                  {{{"name", "hectares"}, {"type", "number"}, {"min", 0}, {"max", 1000}},
                   {{"name", "irrigated"}, {"type", "boolean"}, {"required", true}}}}}}}};
  std::shared_ptr<const Schema> s = Schema::parse(doc);
  CHECK(s->version() == 2);
  const CollectionSchema& c = *s->collection("farm");
  Json r = {{"hectares", 1.5}, {"irrigated", false}};
  CHECK(c.normalize_and_validate(r, false).empty());
  r = {{"hectares", -0.5}, {"irrigated", "yes"}};
  std::vector<ValidationIssue> issues = c.normalize_and_validate(r, false);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].reason == "out_of_range");
  CHECK(issues[1].reason == "wrong_type");
  CHECK(issues[1].message == "irrigated must be true or false, got \"yes\"");
}

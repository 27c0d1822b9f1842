// Tests for engine/src/schema: the shipped enrolment schema, record validation and
// normalisation, and rejection of malformed schema documents.
#include "lumbung/schema.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lumbung/error.h"
#include "schema/validators.h"

using lumbung::CollectionSchema;
using lumbung::Error;
using lumbung::ErrorCode;
using lumbung::FieldDef;
using lumbung::FieldType;
using lumbung::Json;
using lumbung::MergePolicy;
using lumbung::Schema;
using lumbung::ValidationIssue;

namespace {

const std::string kSchemaPath = std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json";

Json schema_document() {
  std::ifstream in(kSchemaPath);
  REQUIRE(in.good());
  return Json::parse(in);
}

const CollectionSchema& enrolment() {
  static std::shared_ptr<const Schema> schema = Schema::load_file(kSchemaPath);
  const CollectionSchema* c = schema->collection("enrolment");
  REQUIRE(c != nullptr);
  return *c;
}

// A woman born 19-11-1980 in Konawe: NIK day 59 = 19 + 40.
Json valid_record() {
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

std::vector<ValidationIssue> check(Json& record, bool partial = false) {
  return enrolment().normalize_and_validate(record, partial);
}

const ValidationIssue* find_issue(const std::vector<ValidationIssue>& issues,
                                  const std::string& field, const std::string& reason) {
  for (const ValidationIssue& i : issues) {
    if (i.field == field && i.reason == reason) return &i;
  }
  return nullptr;
}

std::string describe(const std::vector<ValidationIssue>& issues) {
  std::string s;
  for (const ValidationIssue& i : issues) s += i.field + "/" + i.reason + ": " + i.message + "\n";
  return s;
}

// The single issue of a record with one field replaced.
ValidationIssue only_issue(const std::string& field, const Json& value) {
  Json r = valid_record();
  r[field] = value;
  std::vector<ValidationIssue> issues = check(r);
  INFO(describe(issues));
  REQUIRE(issues.size() == 1);
  return issues[0];
}

ErrorCode parse_error_code(const Json& document) {
  try {
    Schema::parse(document);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // parsed: the test expected it not to
}

Json& field_json(Json& document, const std::string& name) {
  for (Json& f : document["collections"][0]["fields"]) {
    if (f["name"] == name) return f;
  }
  FAIL("no field " << name);
  return document;
}

}  // namespace

TEST_CASE("the shipped enrolment schema loads with its declared policies") {
  std::shared_ptr<const Schema> schema = Schema::load_file(kSchemaPath);
  CHECK(schema->name() == "bpjs-enrolment");
  CHECK(schema->version() == 1);
  CHECK(schema->fingerprint().size() == 64);
  CHECK(schema->collection("nope") == nullptr);
  const CollectionSchema& c = enrolment();
  CHECK(c.scope_field() == "village_code");
  CHECK(c.natural_key() == "nik");
  CHECK(c.field("id") == nullptr);
  for (const char* name : {"nik", "full_name", "birth_date"}) {
    CAPTURE(name);
    REQUIRE(c.field(name));
    CHECK(c.field(name)->policy == MergePolicy::kNeedsReview);
    CHECK(c.field(name)->personal);
  }
  // Personal data under UU 27/2022 (docs/SECURITY.md "Which fields are personal"): income is
  // financial data, and the office held ("kepala desa") names one person in a village.
  for (const char* name : {"birth_place", "gender", "address", "rt_rw", "phone", "email",
                           "kpj_number", "heirs", "monthly_income", "position"}) {
    CAPTURE(name);
    REQUIRE(c.field(name));
    CHECK(c.field(name)->personal);
  }
  for (const char* name : {"village_code", "occupation", "segment", "programs", "payment_source",
                           "status", "created_at", "officer_id", "merged_into"}) {
    CAPTURE(name);
    REQUIRE(c.field(name));
    CHECK_FALSE(c.field(name)->personal);
  }
  CHECK(c.field("monthly_income")->policy == MergePolicy::kLastWriterWins);
  const FieldDef* status = c.field("status");
  REQUIRE(status);
  CHECK(status->policy == MergePolicy::kForwardOnly);
  CHECK(status->rank(Json("draft")) == 0);
  CHECK(status->rank(Json("submitted")) == 1);
  CHECK(status->rank(Json("verified")) == 2);
  CHECK(status->rank(Json("rejected")) == 3);
  CHECK(status->rank(Json("enrolled")) == 4);
  CHECK(status->rank(Json("lost")) == -1);
  CHECK(status->rank(Json(3)) == -1);
  CHECK(c.field("village_code")->max_length == size_t{10});
  CHECK(c.field("heirs")->item_fields.size() == 4);
  CHECK(std::string(lumbung::merge_policy_name(MergePolicy::kLastWriterWins)) == "lww");
  CHECK(std::string(lumbung::merge_policy_name(MergePolicy::kForwardOnly)) == "forward_only");
  CHECK(std::string(lumbung::merge_policy_name(MergePolicy::kNeedsReview)) == "needs_review");
}

TEST_CASE("fingerprint follows content - not formatting") {
  Json doc = schema_document();
  std::string a = Schema::parse(doc)->fingerprint();
  CHECK(Schema::parse(Json::parse(doc.dump(4)))->fingerprint() == a);
  CHECK(Schema::load_file(kSchemaPath)->fingerprint() == a);
  field_json(doc, "full_name")["label"] = "Nama";
  CHECK(Schema::parse(doc)->fingerprint() != a);
  for (char ch : a) CHECK(((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')));
}

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

TEST_CASE("malformed schema documents are rejected with kSchemaInvalid") {
  struct Case {
    const char* what;
    void (*mutate)(Json&);
  };
  const Case cases[] = {
      {"unknown top-level member", [](Json& d) { d["colections"] = Json::array(); }},
      {"missing schema name", [](Json& d) { d.erase("schema"); }},
      {"version zero", [](Json& d) { d["version"] = 0; }},
      {"version as text", [](Json& d) { d["version"] = "1"; }},
      {"no collections", [](Json& d) { d["collections"] = Json::array(); }},
      {"unknown collection member", [](Json& d) { d["collections"][0]["scope"] = "village_code"; }},
      {"duplicate collection", [](Json& d) { d["collections"].push_back(d["collections"][0]); }},
      {"bad collection name", [](Json& d) { d["collections"][0]["name"] = "Enrolment"; }},
      {"unknown field member", [](Json& d) { field_json(d, "phone")["maxlen"] = 12; }},
      {"unknown type", [](Json& d) { field_json(d, "phone")["type"] = "telephone"; }},
      {"missing type", [](Json& d) { field_json(d, "phone").erase("type"); }},
      {"enum without values", [](Json& d) { field_json(d, "gender").erase("values"); }},
      {"enum with empty values",
       [](Json& d) { field_json(d, "gender")["values"] = Json::array(); }},
      {"enum with duplicate values",
       [](Json& d) {
         field_json(d, "gender")["values"] = {"L", "P", "l"};
       }},
      {"values on a string", [](Json& d) { field_json(d, "full_name")["values"] = {"a"}; }},
      {"unknown policy", [](Json& d) { field_json(d, "phone")["policy"] = "newest"; }},
      {"forward_only on a string",
       [](Json& d) { field_json(d, "full_name")["policy"] = "forward_only"; }},
      {"field named id", [](Json& d) { field_json(d, "officer_id")["name"] = "id"; }},
      {"duplicate field", [](Json& d) { field_json(d, "email")["name"] = "phone"; }},
      {"bad field name", [](Json& d) { field_json(d, "email")["name"] = "e-mail"; }},
      {"required not boolean", [](Json& d) { field_json(d, "email")["required"] = "yes"; }},
      {"min above max", [](Json& d) { field_json(d, "monthly_income")["min"] = 30000000; }},
      {"fractional min", [](Json& d) { field_json(d, "monthly_income")["min"] = 0.5; }},
      {"min on a string", [](Json& d) { field_json(d, "full_name")["min"] = 1; }},
      {"max_length zero", [](Json& d) { field_json(d, "full_name")["max_length"] = 0; }},
      {"max_length on a region code",
       [](Json& d) { field_json(d, "village_code")["max_length"] = 10; }},
      {"unknown level", [](Json& d) { field_json(d, "village_code")["level"] = "dusun"; }},
      {"level on a string", [](Json& d) { field_json(d, "full_name")["level"] = "desa"; }},
      {"scope field missing", [](Json& d) { d["collections"][0]["scope_field"] = "village"; }},
      {"scope field not a region code",
       [](Json& d) { d["collections"][0]["scope_field"] = "officer_id"; }},
      {"natural key missing", [](Json& d) { d["collections"][0]["natural_key"] = "ktp"; }},
      {"natural key a list", [](Json& d) { d["collections"][0]["natural_key"] = "programs"; }},
      {"object_list without item_fields",
       [](Json& d) { field_json(d, "heirs").erase("item_fields"); }},
      {"item_fields on a string",
       [](Json& d) {
         field_json(d, "full_name")["item_fields"] = field_json(d, "heirs")["item_fields"];
       }},
      {"policy inside item_fields",
       [](Json& d) { field_json(d, "heirs")["item_fields"][0]["policy"] = "lww"; }},
      {"unknown member inside item_fields",
       [](Json& d) { field_json(d, "heirs")["item_fields"][0]["optional"] = true; }},
      {"gender without L/P next to a NIK",
       [](Json& d) {
         field_json(d, "gender")["values"] = {"M", "F"};
       }},
      {"field not an object", [](Json& d) { d["collections"][0]["fields"].push_back("nik"); }},
      {"document not an object", [](Json& d) { d = Json::array(); }},
  };
  REQUIRE(parse_error_code(schema_document()) == ErrorCode::kInternal);  // the base is valid
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Json doc = schema_document();
    c.mutate(doc);
    CHECK(parse_error_code(doc) == ErrorCode::kSchemaInvalid);
  }

  // The message names the place and the problem.
  Json doc = schema_document();
  field_json(doc, "phone")["maxlen"] = 12;
  try {
    Schema::parse(doc);
    FAIL("parsed");
  } catch (const Error& e) {
    std::string what = e.what();
    CHECK(what.find("phone") != std::string::npos);
    CHECK(what.find("maxlen") != std::string::npos);
  }

  CHECK_THROWS_AS(Schema::load_file("/nonexistent/schema.json"), Error);
  const std::string broken = "/tmp/lumbung_schema_test_broken.json";
  std::ofstream(broken) << "{\"schema\": ";
  try {
    Schema::load_file(broken);
    FAIL("parsed");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kSchemaInvalid);
  }
  std::remove(broken.c_str());
}

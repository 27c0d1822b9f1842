// Tests for engine/src/schema: the shipped enrolment schema and its fingerprint, and
// rejection of malformed schema documents. Record validation is in schema_records_test.cpp
// and schema_identity_test.cpp.
#include "lumbung/schema.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/schema_support.h"
#include "lumbung/error.h"

using lumbung::CollectionSchema;
using lumbung::Error;
using lumbung::ErrorCode;
using lumbung::FieldDef;
using lumbung::Json;
using lumbung::MergePolicy;
using lumbung::Schema;
using namespace lumbung::test::enrolment_schema;

namespace {

Json schema_document() {
  std::ifstream in(kSchemaPath);
  REQUIRE(in.good());
  return Json::parse(in);
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

// Tests for "text is data" (issue 12, item 5): engine/src/schema/text.cpp and its use in
// record validation. Every text field of a record is one line of UTF-8 text without
// controls; the issue names the field, the character and its position, never the value.
#include "lumbung/text.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "lumbung/schema.h"

using lumbung::CollectionSchema;
using lumbung::find_text_fault;
using lumbung::Json;
using lumbung::Schema;
using lumbung::TextFault;
using lumbung::ValidationIssue;

namespace {

const CollectionSchema& enrolment() {
  static std::shared_ptr<const Schema> schema =
      Schema::load_file(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  const CollectionSchema* c = schema->collection("enrolment");
  REQUIRE(c != nullptr);
  return *c;
}

Json valid_record() {
  return Json{{"nik", "7402015911800001"},
              {"full_name", "Siti Aminah"},
              {"birth_date", "1980-11-19"},
              {"gender", "P"},
              {"village_code", "7402012006"},
              {"programs", {"JKK", "JKM"}},
              {"monthly_income", 2500000},
              {"status", "draft"},
              {"created_at", "2025-01-06T00:00:03.306Z"},
              {"officer_id", "OFC-0022"}};
}

std::vector<ValidationIssue> with(const std::string& field, const std::string& value) {
  Json r = valid_record();
  r[field] = value;
  return enrolment().normalize_and_validate(r, false);
}

std::string describe(const std::vector<ValidationIssue>& issues) {
  std::string s;
  for (const ValidationIssue& i : issues) s += i.field + "/" + i.reason + ": " + i.message + "\n";
  return s;
}

}  // namespace

TEST_CASE("text is data: find_text_fault names the first refused character and its place") {
  CHECK_FALSE(find_text_fault(""));
  CHECK_FALSE(find_text_fault("Siti Aminah"));
  CHECK_FALSE(find_text_fault("Wa Ode Nurhayati \xC3\xA9\xE2\x82\xAC\xF0\x9F\x8C\xBE"));  // é € 🌾
  CHECK_FALSE(find_text_fault("\xE2\x80\x8F"));  // U+200F right-to-left mark: not an override

  struct Case {
    std::string text;
    size_t index;
    uint32_t cp;
  };
  const std::vector<Case> refused = {
      {std::string("a\0b", 3), 1, 0x00},
      {"Siti\x1b[2J", 4, 0x1B},   // ESC: clear screen
      {"\x07", 0, 0x07},          // BEL
      {"Siti\tAminah", 4, 0x09},  // TAB: text is one line
      {"Siti\nAminah", 4, 0x0A},  // LF
      {"Siti\rAminah", 4, 0x0D},  // CR
      {"x\x7F", 1, 0x7F},         // DEL
      {"\xC3\xA9\xC2\x9B"
       "31m",
       1, 0x9B},              // é then U+009B (C1 CSI)
      {"\xC2\x80", 0, 0x80},  // first C1
      {"\xC2\x9F", 0, 0x9F},  // last C1
      {"abc\xE2\x80\xAE"
       "cba",
       3, 0x202E},                                   // RIGHT-TO-LEFT OVERRIDE
      {"\xE2\x80\xAA", 0, 0x202A},                   // LEFT-TO-RIGHT EMBEDDING
      {"\xE2\x81\xA6x", 0, 0x2066},                  // LEFT-TO-RIGHT ISOLATE
      {"ab\xE2\x81\xA9", 2, 0x2069},                 // POP DIRECTIONAL ISOLATE
      {"\xC0\xAF", 0, TextFault::kNotUtf8},          // overlong '/'
      {"\xE0\x80\xAF", 0, TextFault::kNotUtf8},      // overlong, three bytes
      {"\xED\xA0\x80", 0, TextFault::kNotUtf8},      // UTF-16 surrogate
      {"\xF4\x90\x80\x80", 0, TextFault::kNotUtf8},  // above U+10FFFF
      {"ab\x80", 2, TextFault::kNotUtf8},            // stray continuation byte
      {"ab\xE2\x80", 2, TextFault::kNotUtf8},        // truncated at the end
      {"\xF5\x80\x80\x80", 0, TextFault::kNotUtf8},
      {"caf\xE9", 3, TextFault::kNotUtf8},  // Latin-1 é from an old spreadsheet
  };
  for (const Case& c : refused) {
    CAPTURE(c.text);
    auto fault = find_text_fault(c.text);
    REQUIRE(fault);
    CHECK(fault->index == c.index);
    CHECK(fault->code_point == c.cp);
    CHECK(std::string(fault->reason()) ==
          (c.cp == TextFault::kNotUtf8 ? "invalid_utf8" : "control_character"));
  }
  CHECK(lumbung::describe_text_fault(*find_text_fault("Siti\x1b")) ==
        "a control character (U+001B) at character 5");
  CHECK(lumbung::describe_text_fault(*find_text_fault("\xC3\xA9\xE2\x80\xAE")) ==
        "a bidirectional control character (U+202E) at character 2");
  CHECK(lumbung::describe_text_fault(*find_text_fault("ab\x80")) ==
        "bytes that are not UTF-8 at character 3");
}

TEST_CASE("text is data: every text field of a record refuses controls without quoting them") {
  Json clean = valid_record();
  REQUIRE(enrolment().normalize_and_validate(clean, false).empty());

  // Free text, and the typed text fields (a control character is reported as such, not
  // as a bad phone number or region code that would quote the value back).
  for (const char* field : {"full_name", "birth_place", "address", "rt_rw", "phone", "nik",
                            "village_code", "email", "officer_id", "birth_date", "gender"}) {
    for (const std::string& bad :
         {std::string("08\x1b]52;c;aGk=\x07"), std::string("08\n12"), std::string("08\xC2\x9B"),
          std::string("08\xE2\x80\xAE"
                      "21")}) {
      CAPTURE(field);
      CAPTURE(bad);
      auto issues = with(field, bad);
      INFO(describe(issues));
      bool found = false;
      for (const ValidationIssue& i : issues) {
        if (i.field != field) continue;
        found = true;
        CHECK(i.reason == "control_character");
        CHECK(i.message.find(bad) == std::string::npos);
        CHECK(i.message.find("at character 3") != std::string::npos);
      }
      CHECK(found);
    }
  }

  auto issues = with("full_name", "Siti\x1b[2JAminah");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].message == "Nama lengkap contains a control character (U+001B) at character 5");

  issues = with("address", "Dusun II caf\xE9");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].reason == "invalid_utf8");
  CHECK(issues[0].message == "Alamat contains bytes that are not UTF-8 at character 13");

  // Surrounding whitespace is still trimmed (a pasted trailing newline is not an error);
  // only what stays inside the value is judged.
  Json r = valid_record();
  r["full_name"] = "\tSiti Aminah\r\n";
  CHECK(enrolment().normalize_and_validate(r, false).empty());
  CHECK(r["full_name"] == "Siti Aminah");

  // Members of object lists, and patches, are checked the same way.
  r = valid_record();
  r["heirs"] = Json::array({{{"name",
                              "La Ode\x1b"
                              "c"},
                             {"relationship", "anak"}}});
  issues = enrolment().normalize_and_validate(r, false);
  INFO(describe(issues));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].field == "heirs[0].name");
  CHECK(issues[0].reason == "control_character");
  Json patch = {{"phone",
                 "0812\xE2\x81\xA6"
                 "3456"}};
  issues = enrolment().normalize_and_validate(patch, true);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].reason == "control_character");
}

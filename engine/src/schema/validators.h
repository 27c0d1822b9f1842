// Value checkers behind CollectionSchema::normalize_and_validate (private to the engine).
//
// Everything here is pure (no wall clock, no locale, no allocation on the success path of a
// value that is already in canonical form) because the write path validates every record:
// the target is well over 300,000 records/s on one core. Digits are parsed by hand; there
// is no std::regex.
//
// Conventions the validators rely on (documented in docs/ARCHITECTURE.md "Schema file"):
//  - A region_code field's FieldDef::max_length, when set, is the exact number of digits
//    required (2 provinsi, 4 kabupaten/kota, 6 kecamatan, 10 desa/kelurahan); the schema
//    file spells it "level". Without it any of the four levels is accepted.
//  - Whole-record cross-checks tie the top-level field named "nik" (type nik) to the
//    top-level "birth_date" (type date) and "gender" (enum with the KTP codes "L"/"P")
//    when those fields exist.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lumbung/schema.h"

namespace lumbung {
namespace validators {

// Two-digit Kemendagri province code in force (Kepmendagri 2025: 38 provinces).
bool is_province_code(int code) noexcept;

// A real Gregorian date (month 1-12, day within the month).
bool is_real_date(int year, int month, int day) noexcept;

// Strict "YYYY-MM-DD", year >= 1900, a real date. Writes the parts on success.
bool parse_date(std::string_view text, int* year, int* month, int* day) noexcept;

// The birth-date part of a structurally valid NIK.
struct NikInfo {
  int day = 0;    // 1-31, after removing the +40 for women
  int month = 0;  // 1-12
  int yy = 0;     // two-digit year
  bool female = false;
};

// Checks a NIK that is already 16 digits: province, DDMMYY date (+40 for women), serial
// >= 0001. Returns an empty string and fills *info when valid, else a short English
// description of the problem ("starts with 99, which is not a province code").
std::string check_nik_digits(std::string_view digits, NikInfo* info);

// Canonical phone number: strips spaces, '-', '.', '(' and ')', turns a leading +62 / 62
// (or a bare leading 8) into 0, then requires 0 + 8-12 digits (mobile 08…: 10-13 digits in
// all). Writes the canonical digits to out (capacity kPhoneBuf) and returns the length,
// or 0 if the text is not a phone number.
constexpr size_t kPhoneBuf = 32;
size_t canonical_phone(std::string_view text, char* out) noexcept;

// Validates and normalises one value of `field` in place. `value` must not be null (the
// caller decides what null means). `prefix` is prepended to the field name in issues
// ("heirs[0]." for object-list members). Returns true when no issue was added.
bool validate_value(const FieldDef& field, Json& value, std::string_view prefix,
                    std::vector<ValidationIssue>& issues);

// An attachment reference (attachment_value.cpp): an object of exactly "sha256" (64
// lower-case hex digits; upper case is lowered), "size" (1 .. max_size), "mime" (one of the
// field's types) and "name" (the file's name, optional text, at most 255 bytes).
bool validate_attachment(const FieldDef& field, Json& value, std::string_view prefix,
                         std::vector<ValidationIssue>& issues);

// The whole of CollectionSchema::normalize_and_validate for one object whose members are
// declared by `fields`: unknown members, per-field checks, required members (when
// !partial), and, at top level (prefix empty, !partial), the NIK cross-checks.
void validate_object(const std::vector<FieldDef>& fields, std::string_view collection, Json& object,
                     bool partial, std::string_view prefix, std::vector<ValidationIssue>& issues);

}  // namespace validators
}  // namespace lumbung

// Helpers shared by the validator files (validators.cpp, id_formats.cpp,
// validate_object.cpp): character tests, the pieces of a message a field officer reads (the
// field's label, the value quoted and cut, rupiah with thousands separators) and issue
// building. Private to engine/src/schema; the hot-path rule of validators.cpp holds here too.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "lumbung/schema.h"
#include "schema/validators.h"

namespace lumbung {
namespace validators {

inline constexpr size_t kNotFound = static_cast<size_t>(-1);

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline int two_digits(const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Trims ASCII whitespace in place; leaves an already-trimmed string untouched.
inline void trim(std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  if (b == 0 && e == s.size()) return;
  s.erase(e);
  s.erase(0, b);
}

// Characters (code points) in a UTF-8 string: bytes that are not continuation bytes.
inline size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline const std::string& label_of(const FieldDef& f) { return f.label.empty() ? f.name : f.label; }

// A bad value as it appears in a message: JSON-quoted, cut to a readable length on a
// UTF-8 boundary (messages are later embedded in JSON, so they must stay valid UTF-8).
inline std::string show(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr size_t kMax = 60;
  if (s.size() > kMax) {
    size_t cut = kMax - 3;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    s += "...";
  }
  return s;
}

// 20700000 -> "20,700,000": rupiah amounts are read with thousands separators.
inline std::string group_thousands(int64_t n) {
  uint64_t magnitude = n < 0 ? uint64_t{0} - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(magnitude);
  std::string out;
  if (n < 0) out += '-';
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

inline std::string join_values(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += values[i];
  }
  return out;
}

inline void add_issue(std::vector<ValidationIssue>& issues, std::string_view prefix,
                      const FieldDef& f, const char* reason, std::string message) {
  std::string path;
  path.reserve(prefix.size() + f.name.size());
  path.append(prefix).append(f.name);
  issues.push_back(ValidationIssue{std::move(path), reason, std::move(message)});
}

// What a value of this field should look like, for wrong_type messages.
inline std::string expected_form(const FieldDef& f) {
  switch (f.type) {
    case FieldType::kString:
      return "text";
    case FieldType::kInteger:
      return "a whole number";
    case FieldType::kNumber:
      return "a number";
    case FieldType::kBoolean:
      return "true or false";
    case FieldType::kDate:
      return "a date written YYYY-MM-DD";
    case FieldType::kTimestamp:
      return "a UTC time written YYYY-MM-DDTHH:MM:SSZ";
    case FieldType::kEnum:
      return "one of " + join_values(f.values);
    case FieldType::kEnumSet:
      return "a list of choices from " + join_values(f.values);
    case FieldType::kNik:
      return "a 16-digit NIK written as text";
    case FieldType::kRegionCode:
      return "a region code written as text, e.g. 74.02.01.2006";
    case FieldType::kPhone:
      return "a phone number written as text, e.g. 0812-3456-7890";
    case FieldType::kObjectList:
      return "a list of entries";
    case FieldType::kAttachment:
      return "an attachment {sha256, size, mime, name}";
  }
  return "a valid value";
}

inline bool wrong_type(std::vector<ValidationIssue>& issues, std::string_view prefix,
                       const FieldDef& f, const Json& v) {
  add_issue(issues, prefix, f, "wrong_type",
            label_of(f) + " must be " + expected_form(f) + ", got " + show(v));
  return false;
}

inline bool required_issue(std::vector<ValidationIssue>& issues, std::string_view prefix,
                           const FieldDef& f) {
  add_issue(issues, prefix, f, "required", label_of(f) + " is required");
  return false;
}

// Index of `name` in fields, kNotFound if absent. Collections are small (tens of fields),
// so a length-first linear scan beats hashing the key.
inline size_t find_field(const std::vector<FieldDef>& fields, std::string_view name) {
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& n = fields[i].name;
    if (n.size() == name.size() && std::memcmp(n.data(), name.data(), n.size()) == 0) return i;
  }
  return kNotFound;
}

// Index of s among values: exact match first, then ASCII case-insensitive ("p" -> "P").
inline size_t find_value(const std::vector<std::string>& values, const std::string& s,
                         bool* exact) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == s) {
      *exact = true;
      return i;
    }
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (equals_ignore_case(values[i], s)) {
      *exact = false;
      return i;
    }
  }
  return kNotFound;
}

inline std::string two_digit_text(int n) {
  char buf[3] = {static_cast<char>('0' + n / 10 % 10), static_cast<char>('0' + n % 10), 0};
  return buf;
}

}  // namespace validators
}  // namespace lumbung

// Value checkers for the schema layer. See validators.h for the conventions; every
// message here is read by a field officer, so it names the field by its label, shows the
// value that was typed and says what a good one looks like.
//
// Hot-path rule: a record that is already canonical (as every record read back from the
// store or received from a peer is) must pass without a heap allocation. Allocations happen
// only to rewrite a value that needs normalising or to report an issue.
//
// Per-value checks (validate_value and one function per kind of value); the identity
// formats are in id_formats.cpp, the whole-object checks in validate_object.cpp.
#include "schema/validators.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "lumbung/text.h"
#include "lumbung/tuning.h"
#include "schema/validator_support.h"

namespace lumbung {
namespace validators {
namespace {

// "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00)". Returns false if malformed; sets *offset_form
// when the value ends in +00:00 (normalised to Z by the caller).
bool check_timestamp(const std::string& s, bool* offset_form) {
  *offset_form = false;
  if (s.size() < 20) return false;
  int y, mo, d;
  if (!parse_date(std::string_view(s).substr(0, 10), &y, &mo, &d)) return false;
  const char* p = s.data();
  if (p[10] != 'T' || p[13] != ':' || p[16] != ':') return false;
  for (int i : {11, 12, 14, 15, 17, 18}) {
    if (!is_digit(p[i])) return false;
  }
  if (two_digits(p + 11) > 23 || two_digits(p + 14) > 59 || two_digits(p + 17) > 59) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start || i - start > 9) return false;
  }
  std::string_view zone = std::string_view(s).substr(i);
  if (zone == "Z") return true;
  if (zone == "+00:00") {
    *offset_form = true;
    return true;
  }
  return false;
}

// Region code without separators into out[10]; returns the digit count or 0 when the text
// has anything but digits, dots and spaces, or more than 10 digits.
size_t region_digits(const std::string& s, char* out) {
  size_t n = 0;
  for (char c : s) {
    if (is_digit(c)) {
      if (n == 10) return 0;
      out[n++] = c;
    } else if (c != '.' && c != ' ') {
      return 0;
    }
  }
  return n;
}

const char* region_level_name(size_t digits) {
  switch (digits) {
    case 2:
      return "a 2-digit province code such as 74";
    case 4:
      return "a 4-digit kabupaten/kota code such as 74.02";
    case 6:
      return "a 6-digit kecamatan code such as 74.02.01";
    case 10:
      return "a 10-digit desa/kelurahan code such as 74.02.01.2006";
  }
  return "a region code";
}

bool validate_text_value(const FieldDef& f, Json& v, std::string_view prefix,
                         std::vector<ValidationIssue>& issues);
bool validate_integer(const FieldDef& f, Json& v, std::string_view prefix,
                      std::vector<ValidationIssue>& issues);
bool validate_enum_set(const FieldDef& f, Json& v, std::string_view prefix,
                       std::vector<ValidationIssue>& issues);
bool validate_object_list(const FieldDef& f, Json& v, std::string_view prefix,
                          std::vector<ValidationIssue>& issues);

}  // namespace

bool validate_value(const FieldDef& f, Json& v, std::string_view prefix,
                    std::vector<ValidationIssue>& issues) {
  switch (f.type) {
    case FieldType::kString:
    case FieldType::kDate:
    case FieldType::kTimestamp:
    case FieldType::kEnum:
    case FieldType::kNik:
    case FieldType::kRegionCode:
    case FieldType::kPhone:
      return validate_text_value(f, v, prefix, issues);
    case FieldType::kInteger:
      return validate_integer(f, v, prefix, issues);
    case FieldType::kNumber: {
      if (!v.is_number()) return wrong_type(issues, prefix, f, v);
      double x = v.get<double>();
      if ((f.min && x < static_cast<double>(*f.min)) ||
          (f.max && x > static_cast<double>(*f.max))) {
        std::string range = f.min && f.max ? "between " + group_thousands(*f.min) + " and " +
                                                 group_thousands(*f.max)
                            : f.min ? "at least " + group_thousands(*f.min)
                                    : "at most " + group_thousands(*f.max);
        add_issue(issues, prefix, f, "out_of_range",
                  label_of(f) + " must be " + range + ", got " + show(v));
        return false;
      }
      return true;
    }
    case FieldType::kBoolean:
      return v.is_boolean() || wrong_type(issues, prefix, f, v);
    case FieldType::kEnumSet:
      return validate_enum_set(f, v, prefix, issues);
    case FieldType::kObjectList:
      return validate_object_list(f, v, prefix, issues);
    case FieldType::kAttachment:
      return validate_attachment(f, v, prefix, issues);
  }
  return wrong_type(issues, prefix, f, v);
}

namespace {

bool validate_text_value(const FieldDef& f, Json& v, std::string_view prefix,
                         std::vector<ValidationIssue>& issues) {
  if (!v.is_string()) return wrong_type(issues, prefix, f, v);
  std::string& s = v.get_ref<std::string&>();
  trim(s);
  if (s.empty()) {
    // An empty form input means "no value": required fields report it, optional ones
    // store null.
    if (f.required) return required_issue(issues, prefix, f);
    v = nullptr;
    return true;
  }
  const std::string& label = label_of(f);
  if (s.size() > kMaxStringBytes) {
    add_issue(issues, prefix, f, "too_long",
              label + " is too long: " + std::to_string(s.size()) + " bytes, at most " +
                  std::to_string(kMaxStringBytes));
    return false;
  }
  // Text is data (lumbung/text.h): checked for every textual type, not only free text, so
  // that no message below ever quotes a control character back.
  if (auto fault = find_text_fault(s)) {
    add_issue(issues, prefix, f, fault->reason(),
              label + " contains " + describe_text_fault(*fault));
    return false;
  }
  switch (f.type) {
    case FieldType::kString: {
      if (f.max_length) {
        size_t chars = s.size() <= *f.max_length ? s.size() : utf8_length(s);
        if (chars > *f.max_length) {
          add_issue(issues, prefix, f, "too_long",
                    label + " is too long: " + std::to_string(chars) + " characters, at most " +
                        std::to_string(*f.max_length));
          return false;
        }
      }
      return true;
    }
    case FieldType::kDate: {
      int y, m, d;
      if (parse_date(s, &y, &m, &d)) return true;
      add_issue(
          issues, prefix, f, "invalid_date",
          label + " must be a real date written YYYY-MM-DD (year 1900 or later), got " + show(v));
      return false;
    }
    case FieldType::kTimestamp: {
      bool offset_form;
      if (check_timestamp(s, &offset_form)) {
        if (offset_form) s.replace(s.size() - 6, 6, "Z");
        return true;
      }
      add_issue(issues, prefix, f, "invalid_timestamp",
                label + " must be a UTC time written like 2025-01-06T08:30:00Z, got " + show(v));
      return false;
    }
    case FieldType::kEnum: {
      bool exact = false;
      size_t i = find_value(f.values, s, &exact);
      if (i == kNotFound) {
        add_issue(issues, prefix, f, "not_in_enum",
                  label + " must be one of " + join_values(f.values) + "; got " + show(v));
        return false;
      }
      if (!exact) s = f.values[i];
      return true;
    }
    case FieldType::kNik: {
      if (s.find(' ') != std::string::npos) s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
      bool digits = s.size() == 16;
      for (size_t i = 0; digits && i < 16; ++i) digits = is_digit(s[i]);
      if (!digits) {
        add_issue(issues, prefix, f, "invalid_nik",
                  label + " must be exactly 16 digits, got " + show(v));
        return false;
      }
      NikInfo info;
      std::string problem = check_nik_digits(s, &info);
      if (problem.empty()) return true;
      add_issue(issues, prefix, f, "invalid_nik", label + " " + s + " " + problem);
      return false;
    }
    case FieldType::kRegionCode: {
      char digits[10];
      size_t n = region_digits(s, digits);
      size_t want = f.max_length.value_or(0);
      bool level_ok = want ? n == want : (n == 2 || n == 4 || n == 6 || n == 10);
      if (!level_ok) {
        std::string form = want ? region_level_name(want)
                                : "a Kemendagri region code (2, 4, 6 or 10 digits) such as "
                                  "74.02.01.2006";
        add_issue(issues, prefix, f, "invalid_region_code",
                  label + " must be " + form + ", got " + show(v));
        // Still store what can be normalised: normalize_value turns a query argument
        // "74.02" for a desa-level field into the prefix "7402".
        if (n > 0) s.assign(digits, n);
        return false;
      }
      if (n != s.size() || std::memcmp(s.data(), digits, n) != 0) s.assign(digits, n);
      const char* problem = nullptr;
      if (!is_province_code(two_digits(digits))) {
        problem = "is not a province code";
      } else if (n >= 4 && two_digits(digits + 2) == 0) {
        problem = "has kabupaten/kota part 00";
      } else if (n >= 6 && two_digits(digits + 4) == 0) {
        problem = "has kecamatan part 00";
      } else if (n == 10 && two_digits(digits + 6) == 0 && two_digits(digits + 8) == 0) {
        problem = "has desa/kelurahan part 0000";
      }
      if (!problem) return true;
      std::string what = problem[0] == 'i' ? "starts with " + s.substr(0, 2) + ", which " + problem
                                           : std::string(problem);
      add_issue(issues, prefix, f, "invalid_region_code", label + " " + s + " " + what);
      return false;
    }
    case FieldType::kPhone: {
      char out[kPhoneBuf];
      size_t n = canonical_phone(s, out);
      if (n == 0) {
        add_issue(issues, prefix, f, "invalid_phone",
                  label + " " + show(v) +
                      " is not an Indonesian phone number; write it like 0812-3456-7890 or "
                      "+62 812-3456-7890");
        return false;
      }
      if (n != s.size() || std::memcmp(s.data(), out, n) != 0) s.assign(out, n);
      return true;
    }
    default:
      return wrong_type(issues, prefix, f, v);
  }
}

bool validate_integer(const FieldDef& f, Json& v, std::string_view prefix,
                      std::vector<ValidationIssue>& issues) {
  int64_t n;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    n = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
            ? std::numeric_limits<int64_t>::max()
            : static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    n = v.get<int64_t>();
  } else if (v.is_number_float()) {
    // JSON has one number type: 1000000.0 or 1e6 from a JavaScript client is a whole
    // number and is stored as one; 1.5 is not.
    double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9.2e18) {
      return wrong_type(issues, prefix, f, v);
    }
    n = static_cast<int64_t>(d);
    v = n;
  } else {
    return wrong_type(issues, prefix, f, v);
  }
  if ((f.min && n < *f.min) || (f.max && n > *f.max)) {
    std::string range =
        f.min && f.max ? "between " + group_thousands(*f.min) + " and " + group_thousands(*f.max)
        : f.min        ? "at least " + group_thousands(*f.min)
                       : "at most " + group_thousands(*f.max);
    add_issue(issues, prefix, f, "out_of_range",
              label_of(f) + " must be " + range + ", got " + group_thousands(n));
    return false;
  }
  return true;
}

bool validate_enum_set(const FieldDef& f, Json& v, std::string_view prefix,
                       std::vector<ValidationIssue>& issues) {
  if (!v.is_array()) return wrong_type(issues, prefix, f, v);
  Json::array_t& items = v.get_ref<Json::array_t&>();
  if (items.empty()) {
    if (!f.required) return true;
    add_issue(issues, prefix, f, "required", label_of(f) + " needs at least one choice");
    return false;
  }
  // Schema::parse caps enum_set members at 64, so one word records which are present.
  uint64_t present = 0;
  size_t previous = 0;
  bool in_order = true, ok = true;
  for (Json& item : items) {
    if (!item.is_string()) {
      ok = wrong_type(issues, prefix, f, v);
      break;
    }
    std::string& s = item.get_ref<std::string&>();
    trim(s);
    bool exact = false;
    size_t i = find_value(f.values, s, &exact);
    if (i == kNotFound) {
      add_issue(issues, prefix, f, "not_in_enum",
                label_of(f) + ": " + show(item) + " is not a choice; choose from " +
                    join_values(f.values));
      ok = false;
      continue;
    }
    if (!exact) s = f.values[i];
    uint64_t bit = uint64_t{1} << i;
    if (present & bit) {
      add_issue(issues, prefix, f, "duplicate_value",
                label_of(f) + " lists " + f.values[i] + " more than once");
      ok = false;
      continue;
    }
    if (present != 0 && i < previous) in_order = false;
    present |= bit;
    previous = i;
  }
  if (ok && !in_order) {
    items.clear();
    for (size_t i = 0; i < f.values.size(); ++i) {
      if (present & (uint64_t{1} << i)) items.emplace_back(f.values[i]);
    }
  }
  return ok;
}

bool validate_object_list(const FieldDef& f, Json& v, std::string_view prefix,
                          std::vector<ValidationIssue>& issues) {
  if (!v.is_array()) return wrong_type(issues, prefix, f, v);
  Json::array_t& items = v.get_ref<Json::array_t&>();
  if (items.empty()) {
    if (!f.required) return true;
    add_issue(issues, prefix, f, "required", label_of(f) + " needs at least one entry");
    return false;
  }
  size_t before = issues.size();
  std::string item_prefix;
  for (size_t i = 0; i < items.size(); ++i) {
    item_prefix.assign(prefix).append(f.name).append("[").append(std::to_string(i)).append("]");
    std::string entry = label_of(f) + " #" + std::to_string(i + 1) + ": ";
    size_t first = issues.size();
    if (!items[i].is_object()) {
      issues.push_back(
          ValidationIssue{item_prefix, "wrong_type",
                          entry + "must be an entry with fields, got " + show(items[i])});
      continue;
    }
    item_prefix += '.';
    validate_object(f.item_fields, label_of(f), items[i], /*partial=*/false, item_prefix, issues);
    // Say which entry: several heirs have a "Nama ahli waris".
    for (size_t k = first; k < issues.size(); ++k) issues[k].message.insert(0, entry);
  }
  return issues.size() == before;
}

}  // namespace

}  // namespace validators
}  // namespace lumbung

// Value checkers for the schema layer. See validators.h for the conventions; every
// message here is read by a field officer, so it names the field by its label, shows the
// value that was typed and says what a good one looks like.
//
// Hot-path rule: a record that is already canonical (as every record read back from the
// store or received from a peer is) must pass without a heap allocation. Allocations happen
// only to rewrite a value that needs normalising or to report an issue.
#include "schema/validators.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "lumbung/text.h"
#include "lumbung/tuning.h"

namespace lumbung {
namespace validators {
namespace {

constexpr size_t kNotFound = static_cast<size_t>(-1);

bool is_digit(char c) { return c >= '0' && c <= '9'; }
int two_digits(const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Trims ASCII whitespace in place; leaves an already-trimmed string untouched.
void trim(std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  if (b == 0 && e == s.size()) return;
  s.erase(e);
  s.erase(0, b);
}

// Characters (code points) in a UTF-8 string: bytes that are not continuation bytes.
size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

const std::string& label_of(const FieldDef& f) { return f.label.empty() ? f.name : f.label; }

// A bad value as it appears in a message: JSON-quoted, cut to a readable length on a
// UTF-8 boundary (messages are later embedded in JSON, so they must stay valid UTF-8).
std::string show(const Json& v) {
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
std::string group_thousands(int64_t n) {
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

std::string join_values(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += values[i];
  }
  return out;
}

void add_issue(std::vector<ValidationIssue>& issues, std::string_view prefix, const FieldDef& f,
               const char* reason, std::string message) {
  std::string path;
  path.reserve(prefix.size() + f.name.size());
  path.append(prefix).append(f.name);
  issues.push_back(ValidationIssue{std::move(path), reason, std::move(message)});
}

// What a value of this field should look like, for wrong_type messages.
std::string expected_form(const FieldDef& f) {
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

bool wrong_type(std::vector<ValidationIssue>& issues, std::string_view prefix, const FieldDef& f,
                const Json& v) {
  add_issue(issues, prefix, f, "wrong_type",
            label_of(f) + " must be " + expected_form(f) + ", got " + show(v));
  return false;
}

bool required_issue(std::vector<ValidationIssue>& issues, std::string_view prefix,
                    const FieldDef& f) {
  add_issue(issues, prefix, f, "required", label_of(f) + " is required");
  return false;
}

// Index of `name` in fields, kNotFound if absent. Collections are small (tens of fields),
// so a length-first linear scan beats hashing the key.
size_t find_field(const std::vector<FieldDef>& fields, std::string_view name) {
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& n = fields[i].name;
    if (n.size() == name.size() && std::memcmp(n.data(), name.data(), n.size()) == 0) return i;
  }
  return kNotFound;
}

// Index of s among values: exact match first, then ASCII case-insensitive ("p" -> "P").
size_t find_value(const std::vector<std::string>& values, const std::string& s, bool* exact) {
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

// Year nearest to `near` whose last two digits are yy: how a two-digit NIK year is read
// when quoting it next to a full birth date.
int nearest_year(int yy, int near) {
  int best = (near / 100) * 100 + yy;
  for (int cand : {best - 100, best + 100}) {
    if (std::abs(cand - near) < std::abs(best - near)) best = cand;
  }
  return best;
}

std::string two_digit_text(int n) {
  char buf[3] = {static_cast<char>('0' + n / 10 % 10), static_cast<char>('0' + n % 10), 0};
  return buf;
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

bool is_province_code(int code) noexcept {
  // Kepmendagri 300.2.2-2138/2025 (cahyadsn/wilayah): Sumatra 11-19 and 21, Java and Bali
  // 31-36 and 51, Nusa Tenggara 52-53, Kalimantan 61-65, Sulawesi 71-76, Maluku 81-82,
  // Papua 91-96 (93-96 created in 2022).
  // clang-format off
  switch (code) {
    case 11: case 12: case 13: case 14: case 15: case 16: case 17: case 18: case 19:
    case 21:
    case 31: case 32: case 33: case 34: case 35: case 36:
    case 51: case 52: case 53:
    case 61: case 62: case 63: case 64: case 65:
    case 71: case 72: case 73: case 74: case 75: case 76:
    case 81: case 82:
    case 91: case 92: case 93: case 94: case 95: case 96:
      return true;
    default:
      return false;
  }
  // clang-format on
}

bool is_real_date(int year, int month, int day) noexcept {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  int max = kDays[month - 1];
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) max = 29;
  return day <= max;
}

bool parse_date(std::string_view t, int* year, int* month, int* day) noexcept {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_digit(t[i])) return false;
  }
  int y = two_digits(t.data()) * 100 + two_digits(t.data() + 2);
  int m = two_digits(t.data() + 5);
  int d = two_digits(t.data() + 8);
  if (y < 1900 || !is_real_date(y, m, d)) return false;
  *year = y;
  *month = m;
  *day = d;
  return true;
}

std::string check_nik_digits(std::string_view d, NikInfo* info) {
  int province = two_digits(d.data());
  if (!is_province_code(province)) {
    return "starts with " + two_digit_text(province) + ", which is not a province code";
  }
  int dd = two_digits(d.data() + 6);
  int mm = two_digits(d.data() + 8);
  int yy = two_digits(d.data() + 10);
  bool female = dd > 40;
  int day = female ? dd - 40 : dd;
  // Only the last two digits of the year are known; 2000 + yy has the same leap-year rule
  // as 1900 + yy for every year a living person can have been born in.
  if (!is_real_date(2000 + yy, mm, day)) {
    return "has birth date part " + std::string(d.substr(6, 6)) +
           ", which is not a real date (DDMMYY; women add 40 to the day)";
  }
  if (two_digits(d.data() + 12) == 0 && two_digits(d.data() + 14) == 0) {
    return "ends in serial 0000; serial numbers start at 0001";
  }
  info->day = day;
  info->month = mm;
  info->yy = yy;
  info->female = female;
  return {};
}

size_t canonical_phone(std::string_view text, char* out) noexcept {
  char digits[kPhoneBuf];
  size_t n = 0;
  bool plus = false;
  for (char c : text) {
    if (is_digit(c)) {
      if (n == kPhoneBuf - 2) return 0;
      digits[n++] = c;
    } else if (c == '+' && n == 0 && !plus) {
      plus = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return 0;
    }
  }
  size_t start;
  if (n >= 3 && digits[0] == '6' && digits[1] == '2') {
    start = digits[2] == '0' ? 3 : 2;  // "+62 (0)812..." is written too
  } else if (plus) {
    return 0;  // only Indonesian numbers
  } else if (n >= 1 && digits[0] == '0') {
    start = 1;
  } else if (n >= 1 && digits[0] == '8') {
    start = 0;  // "812 3456 7890", typed after a printed +62 prefix
  } else {
    return 0;
  }
  size_t len = 0;
  out[len++] = '0';
  for (size_t i = start; i < n; ++i) out[len++] = digits[i];
  if (len < 2 || out[1] == '0') return 0;
  // Mobile numbers are 08 + 8-11 digits; landlines 0 + area code + number, 9-12 in all.
  bool mobile = out[1] == '8';
  size_t min = mobile ? 10 : 9, max = mobile ? 13 : 12;
  if (len < min || len > max) return 0;
  return len;
}

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

// The NIK-against-record checks of a whole record (see validators.h for which fields).
void cross_check_nik(const FieldDef& nik_f, const std::string& nik, const FieldDef* birth_f,
                     const std::string* birth, const FieldDef* gender_f, const std::string* gender,
                     std::vector<ValidationIssue>& issues) {
  NikInfo info;
  if (!check_nik_digits(nik, &info).empty()) return;
  if (birth) {
    int y, m, d;
    if (parse_date(*birth, &y, &m, &d) &&
        (d != info.day || m != info.month || y % 100 != info.yy)) {
      add_issue(issues, {}, *birth_f, "nik_birth_date_mismatch",
                label_of(nik_f) + " says born " + two_digit_text(info.day) + "-" +
                    two_digit_text(info.month) + "-" + std::to_string(nearest_year(info.yy, y)) +
                    ", " + label_of(*birth_f) + " says " + *birth);
    }
  }
  if (gender && (*gender == "L" || *gender == "P")) {
    bool female = *gender == "P";
    if (female != info.female) {
      int dd = info.female ? info.day + 40 : info.day;
      add_issue(issues, {}, *gender_f, "nik_gender_mismatch",
                label_of(nik_f) + " day " + two_digit_text(dd) +
                    (info.female ? " means a woman (day+40)" : " means a man (women have day+40)") +
                    " but " + label_of(*gender_f) + " is " + *gender);
    }
  }
}

}  // namespace

void validate_object(const std::vector<FieldDef>& fields, std::string_view collection, Json& object,
                     bool partial, std::string_view prefix, std::vector<ValidationIssue>& issues) {
  const size_t before = issues.size();
  const bool top = prefix.empty();
  // Schema::parse caps a collection at 256 fields.
  uint64_t seen[4] = {0, 0, 0, 0};
  const FieldDef *nik_f = nullptr, *birth_f = nullptr, *gender_f = nullptr;
  const std::string *nik = nullptr, *birth = nullptr, *gender = nullptr;

  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    size_t idx = find_field(fields, key);
    if (idx == kNotFound) {
      std::string message =
          top && key == "id"
              ? std::string("\"id\" is the record id, set by the engine; it is not a field")
              : "\"" + key + "\" is not a field of " + std::string(collection);
      issues.push_back(
          ValidationIssue{std::string(prefix) + key, "unknown_field", std::move(message)});
      continue;
    }
    seen[idx >> 6] |= uint64_t{1} << (idx & 63);
    const FieldDef& f = fields[idx];
    Json& v = it.value();
    bool ok;
    if (v.is_null()) {
      ok = !f.required;
      if (!ok) {
        add_issue(issues, prefix, f, "required",
                  label_of(f) + (partial ? " is required and cannot be cleared" : " is required"));
      }
    } else {
      ok = validate_value(f, v, prefix, issues);
    }
    if (top && ok && v.is_string()) {
      if (f.type == FieldType::kNik && f.name == "nik") {
        nik_f = &f;
        nik = &v.get_ref<const std::string&>();
      } else if (f.type == FieldType::kDate && f.name == "birth_date") {
        birth_f = &f;
        birth = &v.get_ref<const std::string&>();
      } else if (f.type == FieldType::kEnum && f.name == "gender") {
        gender_f = &f;
        gender = &v.get_ref<const std::string&>();
      }
    }
  }

  if (!partial) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].required && !(seen[i >> 6] & (uint64_t{1} << (i & 63)))) {
        required_issue(issues, prefix, fields[i]);
      }
    }
    if (top && nik) cross_check_nik(*nik_f, *nik, birth_f, birth, gender_f, gender, issues);
  }

  // Report in form order (the object iterates alphabetically); unknown fields last.
  if (issues.size() - before > 1) {
    auto rank = [&](const ValidationIssue& issue) {
      std::string_view name = std::string_view(issue.field).substr(prefix.size());
      name = name.substr(0, name.find_first_of("[."));
      size_t i = find_field(fields, name);
      return i == kNotFound ? fields.size() : i;
    };
    std::stable_sort(
        issues.begin() + before, issues.end(),
        [&](const ValidationIssue& a, const ValidationIssue& b) { return rank(a) < rank(b); });
  }
}

}  // namespace validators
}  // namespace lumbung

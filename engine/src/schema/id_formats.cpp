// The Indonesian identity formats behind the validators (validators.h): province codes in
// force, real dates, the NIK's structure (province, DDMMYY with +40 for women, serial) and
// phone numbers in canonical form. Pure and allocation-free on success, like the rest.
#include "schema/validator_support.h"
#include "schema/validators.h"

namespace lumbung {
namespace validators {

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

}  // namespace validators
}  // namespace lumbung

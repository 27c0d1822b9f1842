// validate_object (validators.h): a whole object against its fields - unknown members,
// per-field checks, required members and, for a whole record, the NIK cross-checks against
// birth date and gender; issues reported in form order.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "schema/validator_support.h"
#include "schema/validators.h"

namespace lumbung {
namespace validators {
namespace {

// Year nearest to `near` whose last two digits are yy: how a two-digit NIK year is read
// when quoting it next to a full birth date.
int nearest_year(int yy, int near) {
  int best = (near / 100) * 100 + yy;
  for (int cand : {best - 100, best + 100}) {
    if (std::abs(cand - near) < std::abs(best - near)) best = cand;
  }
  return best;
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

// Validation issues told with the value that was typed and what would be right (issue 15
// item 5): "31-02-1980 is not a real date - February 1980 has 29 days", "the NIK holds the
// letter O at position 12" rather than "must be 16 digits". Both languages; dates shown as
// the officer writes them (DD-MM-YYYY). Part of the one catalogue of common/i18n.cpp.
#include <cstdio>
#include <optional>

#include "common/i18n.h"
#include "common/i18n_catalogue.h"

namespace lumbung::cli {
namespace i18n_detail {

void add_value_entries(Catalogue& c) {
  const Catalogue entries = {
      {"value.not_real_day",
       {"{label} {date} bukan tanggal yang ada: {month} {year} hanya sampai tanggal {max} "
        "(formatnya sudah benar)",
        "{label} {date} is not a real date: {month} {year} has {max} days (the format is "
        "fine)"}},
      {"value.not_real_month",
       {"{label} {date} bukan tanggal yang ada: tidak ada bulan {m} (bulan 01 sampai 12)",
        "{label} {date} is not a real date: there is no month {m} (months are 01 to 12)"}},
      {"value.unreadable_date",
       {"{label} \"{value}\" tidak terbaca sebagai tanggal: tulis HH-BB-TTTT, mis. 19-11-1980",
        "{label} \"{value}\" cannot be read as a date: write DD-MM-YYYY, e.g. 19-11-1980"}},
      {"value.nik_letter",
       {"{label} \"{value}\" berisi \"{ch}\" di posisi {pos}: NIK hanya angka 0-9{hint}",
        "{label} \"{value}\" holds \"{ch}\" at position {pos}: a NIK is digits 0-9 only{hint}"}},
      {"value.hint_o", {" (huruf O? ketik angka 0)", " (the letter O? type the digit 0)"}},
      {"value.hint_i", {" (huruf I/l? ketik angka 1)", " (the letter I/l? type the digit 1)"}},
      {"value.nik_count",
       {"{label} \"{value}\" berisi {n} angka; NIK tepat 16 angka",
        "{label} \"{value}\" has {n} digits; a NIK has exactly 16"}},
      {"value.not_in_enum",
       {"{label} \"{value}\" tidak dikenal; pilih salah satu: {values}",
        "{label} \"{value}\" is not known; choose one of: {values}"}},
      {"value.nik_birth_mismatch",
       {"{nik} menyatakan lahir {nik_date}, {birth} menyatakan {date}: periksa keduanya di KTP",
        "NIK says born {nik_date}, {birth} says {date}: check both on the KTP"}},
      {"value.status_regression",
       {"{label} tidak bisa mundur dari \"{old}\" ke \"{new}\"; urutannya: {order}",
        "{label} cannot move back from \"{old}\" to \"{new}\"; its order is: {order}"}},
      {"enrol.heir_nik_date",
       {"NIK ahli waris menyatakan lahir {nik_date}, tanggal lahirnya {date}: periksa keduanya "
        "di KTP atau KK",
        "the heir's NIK says born {nik_date}, the birth date given is {date}: check both on the "
        "KTP or family card"}},
      {"error.wrong_passphrase",
       {"frasa sandi salah: laptop ini tidak terbuka dengannya (huruf besar dan kecil dibedakan). "
        "Tidak ada yang diubah.",
        "wrong passphrase: this laptop does not open with it (upper and lower case differ). "
        "Nothing was changed."}},
      {"month.1", {"Januari", "January"}},
      {"month.2", {"Februari", "February"}},
      {"month.3", {"Maret", "March"}},
      {"month.4", {"April", "April"}},
      {"month.5", {"Mei", "May"}},
      {"month.6", {"Juni", "June"}},
      {"month.7", {"Juli", "July"}},
      {"month.8", {"Agustus", "August"}},
      {"month.9", {"September", "September"}},
      {"month.10", {"Oktober", "October"}},
      {"month.11", {"November", "November"}},
      {"month.12", {"Desember", "December"}},
  };
  c.insert(entries.begin(), entries.end());
}

}  // namespace i18n_detail

namespace {

bool digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

int days_in(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::string join_values(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string officer_date(const std::string& iso) {
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-') return iso;
  return iso.substr(8, 2) + "-" + iso.substr(5, 2) + "-" + iso.substr(0, 4);
}

std::optional<std::string> value_issue_text(const ValidationIssue& issue, const FieldDef& f,
                                            const std::string& label, const Json* record) {
  if (!record || !record->is_object()) return std::nullopt;
  // The value the issue is about: "field", or "list[i].field" inside an object list.
  const Json* holder = record;
  if (issue.field != f.name) {
    const size_t br = issue.field.find('['), close = issue.field.find("].");
    if (br == std::string::npos || close == std::string::npos ||
        issue.field.substr(close + 2) != f.name) {
      return std::nullopt;
    }
    const auto list = record->find(issue.field.substr(0, br));
    const std::string index = issue.field.substr(br + 1, close - br - 1);
    if (list == record->end() || !list->is_array() || !digits(index) ||
        std::stoul(index) >= list->size()) {
      return std::nullopt;
    }
    holder = &(*list)[std::stoul(index)];
    if (!holder->is_object()) return std::nullopt;
  }
  auto it = holder->find(f.name);
  if (it == holder->end() || !it->is_string()) return std::nullopt;
  const std::string value = it->get<std::string>();
  const std::string& r = issue.reason;
  if (r == "invalid_date") {
    const bool iso = value.size() == 10 && value[4] == '-' && value[7] == '-' &&
                     digits(value.substr(0, 4)) && digits(value.substr(5, 2)) &&
                     digits(value.substr(8, 2));
    if (!iso) return tr("value.unreadable_date", {{"label", label}, {"value", value}});
    const int y = std::stoi(value.substr(0, 4)), m = std::stoi(value.substr(5, 2)),
              d = std::stoi(value.substr(8, 2));
    if (m < 1 || m > 12) {
      return tr("value.not_real_month",
                {{"label", label}, {"date", officer_date(value)}, {"m", value.substr(5, 2)}});
    }
    if (d < 1 || d > days_in(y, m)) {
      return tr("value.not_real_day", {{"label", label},
                                       {"date", officer_date(value)},
                                       {"month", tr("month." + std::to_string(m))},
                                       {"year", std::to_string(y)},
                                       {"max", std::to_string(days_in(y, m))}});
    }
    return std::nullopt;
  }
  if (r == "invalid_nik") {
    for (size_t i = 0; i < value.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(value[i]);
      if (c >= '0' && c <= '9') continue;
      if (c >= 0x80 || c < 0x20) break;  // not a letter to point at: the engine's words
      std::string hint;
      if (c == 'O' || c == 'o') hint = tr("value.hint_o");
      if (c == 'I' || c == 'l') hint = tr("value.hint_i");
      return tr("value.nik_letter", {{"label", label},
                                     {"value", value},
                                     {"ch", std::string(1, static_cast<char>(c))},
                                     {"pos", std::to_string(i + 1)},
                                     {"hint", hint}});
    }
    if (digits(value) && value.size() != 16) {
      return tr("value.nik_count",
                {{"label", label}, {"value", value}, {"n", std::to_string(value.size())}});
    }
    return std::nullopt;
  }
  if (r == "not_in_enum") {
    return tr("value.not_in_enum",
              {{"label", label}, {"value", value}, {"values", join_values(f.values)}});
  }
  return std::nullopt;
}

std::string status_regression_text(const FieldDef& f, const Json& old_value,
                                   const Json& new_value) {
  auto text = [](const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::string order;
  for (const auto& v : f.values) order += (order.empty() ? "" : " → ") + v;
  return tr("value.status_regression", {{"label", field_label(f)},
                                        {"old", text(old_value)},
                                        {"new", text(new_value)},
                                        {"order", order}});
}

}  // namespace lumbung::cli

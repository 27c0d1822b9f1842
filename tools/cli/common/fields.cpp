#include "common/fields.h"

#include <algorithm>
#include <cctype>

#include "common/output.h"

namespace lumbung::cli {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "19-11-1980" / "19/11/1980" / "19.11.1980" -> "1980-11-19"; anything else unchanged.
std::string day_first_date(const std::string& s) {
  if (s.size() != 10) return s;
  const char a = s[2], b = s[5];
  if (a != b || (a != '-' && a != '/' && a != '.')) return s;
  const std::string d = s.substr(0, 2), m = s.substr(3, 2), y = s.substr(6, 4);
  if (!all_digits(d) || !all_digits(m) || !all_digits(y)) return s;
  return y + "-" + m + "-" + d;
}

}  // namespace

Json parse_field_text(const FieldDef& f, const std::string& raw) {
  const std::string text = trim(raw);
  if (text.empty()) return nullptr;
  switch (f.type) {
    case FieldType::kInteger: {
      std::string t = text;
      if (lower(t.substr(0, 2)) == "rp") t = trim(t.substr(2));
      bool negative = !t.empty() && t[0] == '-';
      std::string digits;
      for (size_t i = negative ? 1 : 0; i < t.size(); ++i) {
        const char c = t[i];
        if (std::isdigit(static_cast<unsigned char>(c))) {
          digits.push_back(c);
        } else if (c != '.' && c != ',' && c != '_' && c != ' ') {
          return text;
        }
      }
      if (digits.empty() || digits.size() > 18) return text;
      const int64_t n = std::stoll(digits);
      return negative ? -n : n;
    }
    case FieldType::kNumber: {
      std::string t = text;
      std::replace(t.begin(), t.end(), ',', '.');
      char* end = nullptr;
      const double d = std::strtod(t.c_str(), &end);
      if (end && *end == '\0') return d;
      return text;
    }
    case FieldType::kBoolean: {
      const std::string t = lower(text);
      if (t == "ya" || t == "y" || t == "yes" || t == "true" || t == "1") return true;
      if (t == "tidak" || t == "t" || t == "no" || t == "n" || t == "false" || t == "0")
        return false;
      return text;
    }
    case FieldType::kDate:
      return day_first_date(text);
    case FieldType::kEnumSet: {
      Json arr = Json::array();
      std::string item;
      auto flush = [&] {
        item = trim(item);
        if (!item.empty()) arr.push_back(item);
        item.clear();
      };
      for (char c : text) {
        if (c == ',' || c == ';' || c == '+') {
          flush();
        } else {
          item.push_back(c);
        }
      }
      flush();
      return arr;
    }
    case FieldType::kObjectList: {
      Json j = Json::parse(text, nullptr, false);
      if (j.is_discarded()) return text;
      return j;
    }
    default:
      return text;
  }
}

std::string flag_name(const std::string& field) {
  std::string s = field;
  std::replace(s.begin(), s.end(), '_', '-');
  return s;
}

const FieldDef* field_by_flag(const CollectionSchema& cs, const std::string& flag) {
  std::string name = flag;
  std::replace(name.begin(), name.end(), '-', '_');
  return cs.field(name);
}

bool is_auto_field(const CollectionSchema& cs, const FieldDef& f) {
  (void)cs;
  if (f.name == "created_at" && f.type == FieldType::kTimestamp) return true;
  if (f.name == "officer_id" && f.type == FieldType::kString) return true;
  if (f.name == "merged_into") return true;  // written only by the central office's merge
  if (f.type == FieldType::kAttachment) return true;  // `lumbung attach FILE`, never typed
  if (f.policy == MergePolicy::kForwardOnly && f.values.size() >= 2) return true;
  return false;
}

void fill_auto_fields(const CollectionSchema& cs, Json& record, const std::string& officer) {
  for (const FieldDef& f : cs.fields()) {
    if (record.contains(f.name) || !is_auto_field(cs, f)) continue;
    if (f.type == FieldType::kTimestamp) {
      record[f.name] = utc_timestamp_now();
    } else if (f.name == "officer_id") {
      record[f.name] = officer;
    } else if (f.policy == MergePolicy::kForwardOnly) {
      // The first state after "draft" if the workflow starts with a draft, else the first.
      record[f.name] = f.values[0] == "draft" ? f.values[1] : f.values[0];
    }
  }
}

std::vector<const FieldDef*> summary_fields(const CollectionSchema& cs) {
  std::vector<const FieldDef*> out;
  auto add = [&](const FieldDef* f) {
    if (f && std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  };
  if (!cs.natural_key().empty()) add(cs.field(cs.natural_key()));
  for (const FieldDef& f : cs.fields()) {
    if (f.required && f.type == FieldType::kString && f.name != cs.natural_key()) {
      add(&f);
      break;
    }
  }
  if (!cs.scope_field().empty()) add(cs.field(cs.scope_field()));
  for (const FieldDef& f : cs.fields()) {
    if (f.policy == MergePolicy::kForwardOnly) {
      add(&f);
      break;
    }
  }
  return out;
}

std::string record_title(const CollectionSchema& cs, const Json& fields) {
  for (const FieldDef& f : cs.fields()) {
    if (f.required && f.type == FieldType::kString && f.name != cs.natural_key()) {
      auto it = fields.find(f.name);
      if (it != fields.end() && it->is_string()) return it->get<std::string>();
    }
  }
  return "";
}

std::string short_id(const std::string& id) {
  return id.size() <= 8 ? id : id.substr(id.size() - 8);
}

std::string dotted_region(const std::string& code) {
  if (!all_digits(code)) return code;
  std::string out;
  for (size_t i = 0; i < code.size(); ++i) {
    if (i == 2 || i == 4 || i == 6) out.push_back('.');
    out.push_back(code[i]);
  }
  return out;
}

std::string regions_text(const std::vector<std::string>& prefixes) {
  std::string out;
  for (const auto& p : prefixes) out += (out.empty() ? "" : ", ") + dotted_region(p);
  return out;
}

}  // namespace lumbung::cli

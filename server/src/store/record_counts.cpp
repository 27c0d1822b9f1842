#include "store/record_counts.h"

#include <nlohmann/json.hpp>

namespace lumbung::server {
namespace {

std::string value_key(const nlohmann::json* v) {
  if (!v || !v->is_string()) return "(none)";
  const auto& s = v->get_ref<const std::string&>();
  if (s.empty()) return "(none)";
  if (s.size() > kMaxCountKeyBytes) return "(long)";
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> count_keys(std::string_view doc_text) {
  std::vector<std::pair<std::string, std::string>> out;
  const nlohmann::json doc = nlohmann::json::parse(doc_text, nullptr, false);
  if (!doc.is_object()) return out;
  auto get = [&](const char* name) -> const nlohmann::json* {
    auto it = doc.find(name);
    return it == doc.end() ? nullptr : &*it;
  };
  out.emplace_back("status", value_key(get("status")));
  out.emplace_back("segment", value_key(get("segment")));
  out.emplace_back("officer", value_key(get("officer_id")));
  const nlohmann::json* created = get("created_at");
  std::string day =
      created && created->is_string() ? created->get<std::string>().substr(0, 10) : std::string();
  out.emplace_back("day", day.empty() ? "(none)" : day);
  for (const auto& [name, v] : doc.items()) {
    if (!v.is_array() || v.empty() || name.size() > kMaxCountKeyBytes) continue;
    bool strings = true;
    for (const auto& m : v) strings = strings && m.is_string();
    if (!strings) continue;
    for (const auto& m : v) out.emplace_back("set:" + name, value_key(&m));
  }
  return out;
}

void CountDeltas::add(const std::string& col, const std::string& scope, std::string_view doc_text,
                      int sign) {
  for (auto& [dim, key] : count_keys(doc_text)) d_[{col, scope, dim, key}] += sign;
}

std::vector<CountDeltas::Entry> CountDeltas::take() {
  std::vector<Entry> out;
  for (auto& [k, n] : d_) {
    if (n != 0) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), n});
  }
  d_.clear();
  return out;
}

}  // namespace lumbung::server

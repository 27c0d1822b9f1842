// Lenient reads of JSON members for the simulation's oracle: what a server answer holds is
// checked, never trusted, so a missing or mistyped member reads as absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lumbung/schema.h"  // Json

namespace lumbung::sim {

// A member as an unsigned number, or nullopt.
inline std::optional<uint64_t> uint_member(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (!it->is_number_unsigned() && it->get<int64_t>() < 0) return std::nullopt;
  return it->get<uint64_t>();
}

inline std::string str_member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace lumbung::sim

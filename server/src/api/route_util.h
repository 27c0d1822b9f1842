// Helpers shared by the Router's handler files (api/router.cpp, device_routes.cpp,
// review_routes.cpp, admin_routes.cpp): the query string's parameters and a JSON answer.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"

namespace lumbung::server {

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

inline std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= q.size() && !q.empty()) {
    size_t amp = q.find('&', i);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view kv = q.substr(i, amp - i);
    if (!kv.empty()) {
      const size_t eq = kv.find('=');
      if (eq == std::string_view::npos) {
        out[percent_decode(kv)] = "";
      } else {
        out[percent_decode(kv.substr(0, eq))] = percent_decode(kv.substr(eq + 1));
      }
    }
    if (amp >= q.size()) break;
    i = amp + 1;
  }
  return out;
}

inline std::string query_param(const Request& req, const char* name, const std::string& def = {}) {
  auto q = parse_query(req.query);
  auto it = q.find(name);
  return it == q.end() ? def : it->second;
}

// The value of query parameter `name` as decimal digits (the caller bounds its length, so
// it cannot overflow); Error(kInvalidArgument) on any other character.
inline uint64_t decimal_param_value(const std::string& v, const char* name) {
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a positive integer");
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

inline size_t size_param(const Request& req, const char* name) {
  const std::string v = query_param(req, name);
  if (v.empty()) return 0;
  if (v.size() > 9) throw Error(ErrorCode::kInvalidArgument, std::string(name) + " is too large");
  return static_cast<size_t>(decimal_param_value(v, name));
}

inline Response json_response(const Json& j, int status = 200) {
  Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace lumbung::server

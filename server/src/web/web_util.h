// Small helpers of the web endpoints: the query string and JSON answers. Kept apart from
// api/router.cpp's private copies so that the shared router stays as it is.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"

namespace lumbung::server::web {

// Percent-decoded name -> value pairs; at most 64 pairs and 4 KiB per value are kept (a
// longer query is refused: no page sends one).
inline std::map<std::string, std::string> parse_query(std::string_view q) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto decode = [&](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  size_t i = 0;
  for (int n = 0; i < q.size(); ++n) {
    if (n >= 64) throw Error(ErrorCode::kInvalidArgument, "too many query parameters");
    size_t amp = q.find('&', i);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view kv = q.substr(i, amp - i);
    if (kv.size() > 4096) throw Error(ErrorCode::kInvalidArgument, "query parameter too long");
    if (!kv.empty()) {
      const size_t eq = kv.find('=');
      if (eq == std::string_view::npos) {
        out[decode(kv)] = "";
      } else {
        out[decode(kv.substr(0, eq))] = decode(kv.substr(eq + 1));
      }
    }
    i = amp + 1;
  }
  return out;
}

inline std::string param(const std::map<std::string, std::string>& q, const char* name) {
  auto it = q.find(name);
  return it == q.end() ? std::string() : it->second;
}

// A whole number in [0, max]; `def` when absent.
inline size_t size_param(const std::map<std::string, std::string>& q, const char* name, size_t def,
                         size_t max) {
  const std::string v = param(q, name);
  if (v.empty()) return def;
  if (v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a whole number");
  }
  return std::min<size_t>(std::stoul(v), max);
}

inline Response json_answer(const Json& j, int status = 200) {
  Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace lumbung::server::web

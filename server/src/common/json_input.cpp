#include "common/json_input.h"

#include "lumbung/error.h"
#include "lumbung/tuning.h"

namespace lumbung::server {

void check_json_depth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          throw Error(ErrorCode::kJsonTooDeep,
                      "JSON nests deeper than " + std::to_string(max_depth) + " levels");
        }
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
}

Json parse_json_input(std::string_view text) {
  check_json_depth(text, kMaxJsonDepth);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // Say where, never what: bodies hold personal data.
    throw Error(ErrorCode::kMalformedJson,
                "request body is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception&) {
    // A number the parser cannot hold (e.g. 1e400: out_of_range.406) is not a parse_error;
    // it escaped as a 500 (found by tests/fuzz/fuzz_changeset; regression:
    // tests/regressions/json_number_overflow_test.cpp).
    throw Error(ErrorCode::kMalformedJson, "request body has a number out of range");
  }
}

}  // namespace lumbung::server

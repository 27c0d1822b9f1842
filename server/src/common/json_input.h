// Parsing JSON that comes from outside, with the limits of tuning.h enforced before the
// parser builds anything: nesting deeper than kMaxJsonDepth is refused by a byte pre-scan
// (so a "[[[[..." bomb never reaches the recursive parser).
#pragma once

#include <string_view>

#include "lumbung/schema.h"

namespace lumbung::server {

// Throws Error(kJsonTooDeep) if arrays/objects nest deeper than `max_depth` (strings are
// skipped correctly, escapes included). Linear in the input, no allocation.
void check_json_depth(std::string_view text, int max_depth);

// check_json_depth, then parse. Throws Error(kMalformedJson) for anything that is not one
// JSON document; the message says where, never what (bodies hold personal data).
Json parse_json_input(std::string_view text);

}  // namespace lumbung::server

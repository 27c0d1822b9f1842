// Parsing JSON that comes from outside, with the limits of tuning.h enforced before the
// parser builds anything. One linear pre-scan (no allocation) refuses nesting deeper than
// kMaxJsonDepth (so a "[[[[..." bomb never reaches the parser) and estimates the heap the
// parsed document would take: an element costs what nlohmann's DOM allocates for it (a
// 16-byte slot, a std::map per object, a node per member, a std::string per string), so
// "[{},{},...]" (~27x its text) is priced like the memory it would really take, not like its
// bytes. Over kMaxJsonParseBytes the body is refused; with a JsonLease the estimate is also
// taken from a process-wide budget of kMaxJsonParseBytes shared by every body being parsed
// or handled, and the lease gives it back when it goes out of scope. The parser then builds
// the document itself (nlohmann's SAX interface), refusing an object that repeats a member
// name (nlohmann would silently keep the last one, so two readers of the same body could
// disagree about it).
#pragma once

#include <cstddef>
#include <string_view>

#include "lumbung/schema.h"

namespace lumbung::server {

// Throws Error(kJsonTooDeep) if arrays/objects nest deeper than `max_depth` (strings are
// skipped correctly, escapes included). Linear in the input, no allocation.
void check_json_depth(std::string_view text, int max_depth);

// Estimated heap bytes of parsing `text` into a Json (an upper bound for nlohmann 3.11 with
// glibc malloc on 64-bit: measured x1.0-1.5 of the real figure for ops and for hostile
// shapes). Also checks the depth as check_json_depth does. Linear, no allocation.
size_t estimate_json_heap(std::string_view text, int max_depth);

// A share of the process-wide parse budget (kMaxJsonParseBytes), held by the caller while
// the parsed document lives; released by the destructor.
class JsonLease {
 public:
  JsonLease() = default;
  ~JsonLease();
  JsonLease(const JsonLease&) = delete;
  JsonLease& operator=(const JsonLease&) = delete;
  size_t bytes() const { return bytes_; }
  // Bytes of the budget held by all leases now (for tests and metrics).
  static size_t in_use();

 private:
  friend Json parse_json_input(std::string_view text, JsonLease* lease);
  bool take(size_t bytes);
  size_t bytes_ = 0;
};

// Depth and cost pre-scan, then parse. Throws Error(kJsonTooDeep) (400) if too deep,
// Error(kBodyTooLarge) (413) if the estimate is above kMaxJsonParseBytes, a ProblemError
// kRateLimited (429, retry_after_s 1) if `lease` is given and the shared budget cannot hold
// the estimate now, Error(kMalformedJson) (400) for anything that is not one JSON document,
// a number out of range, or an object repeating a member name. Messages say where, never
// what (bodies hold personal data).
Json parse_json_input(std::string_view text, JsonLease* lease = nullptr);

}  // namespace lumbung::server

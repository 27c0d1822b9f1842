// Progress counts kept as records change (issue 16, docs/DASHBOARD.md "Progress"): for each
// record scope (a desa code), the number of live records per (dimension, value). Both
// stores update them in the same transaction as the record write, so the progress pages
// read a few rows per desa instead of every record of a province.
//
// Dimensions, read from the record's stored clear document (never a sealed personal field):
//   "status"      the status field's value
//   "segment"     the segment field's value
//   "officer"     officer_id
//   "day"         the date (YYYY-MM-DD) of created_at
//   "set:NAME"    each member of a top-level field NAME that is an array of strings (programs)
// A missing value counts as "(none)"; one longer than kMaxCountKeyBytes as "(long)".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace lumbung::server {

// meta key and value saying the counts hold every record (an older database is counted
// once, at open, by a scan).
inline constexpr const char* kCountsMetaKey = "counts_version";
inline constexpr const char* kCountsVersion = "1";
inline constexpr size_t kMaxCountKeyBytes = 64;

// The (dimension, value) pairs a live record with stored document `doc_text` counts under.
// A document that is not a JSON object counts under nothing.
std::vector<std::pair<std::string, std::string>> count_keys(std::string_view doc_text);

// The count changes of one write transaction, written at its commit in one sorted order
// (on PostgreSQL two transactions thus take the count rows' locks in the same order).
class CountDeltas {
 public:
  struct Entry {
    std::string col, scope, dim, key;
    int64_t delta = 0;
  };
  // A live record (col, scope, doc_text) appears (sign +1) or goes (sign -1).
  void add(const std::string& col, const std::string& scope, std::string_view doc_text, int sign);
  bool empty() const { return d_.empty(); }
  // The non-zero changes, sorted by (col, scope, dim, key); clears them.
  std::vector<Entry> take();

 private:
  std::map<std::tuple<std::string, std::string, std::string, std::string>, int64_t> d_;
};

}  // namespace lumbung::server

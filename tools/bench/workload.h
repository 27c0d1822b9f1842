// The benchmark workload (../shared/workload/README.md): gzip NDJSON, one record a line,
// loaded whole into memory before any scenario starts its clock, so that reading and
// inflating the file is never part of a measured figure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lumbung::bench {

class Workload {
 public:
  // Reads the first `limit` non-empty lines of `path` (0 = all). Throws std::runtime_error
  // if the file cannot be read or holds fewer than `limit` records.
  static Workload load(const std::string& path, size_t limit);

  size_t size() const { return spans_.size(); }
  // The i-th record's JSON text, without the newline. Valid while the Workload lives.
  std::string_view line(size_t i) const {
    return std::string_view(text_.data() + spans_[i].offset, spans_[i].length);
  }
  size_t bytes() const { return text_.size(); }

 private:
  struct Span {
    size_t offset;
    size_t length;
  };
  std::string text_;  // every line back to back, newlines kept between them
  std::vector<Span> spans_;
};

// The value of the top-level "id" member of a record line, found by scanning the text
// rather than parsing it (the plain-SQLite baseline's "cheap" extraction). Empty if the
// line has no string "id".
std::string_view extract_id(std::string_view line);

}  // namespace lumbung::bench

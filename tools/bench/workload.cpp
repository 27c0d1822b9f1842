#include "workload.h"

#include <stdexcept>

#include <zlib.h>

namespace lumbung::bench {
namespace {

constexpr unsigned kReadChunk = 4u << 20;  // gzread in 4 MiB pieces; the file is ~35 MB inflated

}  // namespace

Workload Workload::load(const std::string& path, size_t limit) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open workload " + path);
  gzbuffer(f, 1u << 20);
  Workload w;
  std::string chunk(kReadChunk, '\0');
  size_t line_start = 0;  // offset in text_ of the line being assembled
  bool done = false;
  while (!done) {
    const int n = gzread(f, chunk.data(), kReadChunk);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw std::runtime_error("cannot read workload " + path + ": " + msg);
    }
    if (n == 0) break;
    const size_t scan_from = w.text_.size();
    w.text_.append(chunk.data(), static_cast<size_t>(n));
    // Split on '\n' ourselves; a line may straddle two chunks, so only complete lines
    // (ending before the end of text_) are recorded here.
    for (size_t pos = w.text_.find('\n', scan_from); pos != std::string::npos;
         pos = w.text_.find('\n', pos + 1)) {
      if (pos > line_start) w.spans_.push_back({line_start, pos - line_start});
      line_start = pos + 1;
      if (limit != 0 && w.spans_.size() == limit) {
        done = true;
        break;
      }
    }
  }
  gzclose(f);
  if (!done && line_start < w.text_.size()) {  // last line without a newline
    w.spans_.push_back({line_start, w.text_.size() - line_start});
  }
  if (limit != 0 && w.spans_.size() < limit) {
    throw std::runtime_error("workload " + path + " has only " + std::to_string(w.spans_.size()) +
                             " records, " + std::to_string(limit) + " asked for");
  }
  if (done) w.text_.resize(line_start);  // drop what was read past the last record kept
  w.text_.shrink_to_fit();
  return w;
}

std::string_view extract_id(std::string_view line) {
  // Records are flat objects written by a generator, so the first "id" key at depth one is
  // the record id; a nested "id" would need a real parser, which is what the engine path is for.
  static constexpr std::string_view kKey = "\"id\":\"";
  const size_t at = line.find(kKey);
  if (at == std::string_view::npos) return {};
  const size_t begin = at + kKey.size();
  const size_t end = line.find('"', begin);
  if (end == std::string_view::npos) return {};
  return line.substr(begin, end - begin);
}

}  // namespace lumbung::bench

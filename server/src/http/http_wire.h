// HTTP/1.1 request framing for the listener (http_listener.cpp), free of any socket or
// library: finding the end of a request head under size and line caps, parsing it strictly
// (RFC 9112; anything ambiguous is refused rather than guessed, so no proxy in front can read
// a request differently), and decoding a chunked body while counting it against a limit.
// Every function is linear in its input and allocates only what it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lumbung::server::wire {

enum class HeadScan {
  kIncomplete,  // no blank line yet, caps not reached: read more
  kComplete,    // `head_bytes` is set
  kTooLarge,    // more than max_bytes without the end of the head: 431
  kTooMany,     // more than max_headers header lines: 431
};

// Scans `buf` (which holds the bytes received so far, starting at a request) for the blank
// line ending the head. `scanned` carries progress between calls on a growing buffer (start
// at 0); `lines` counts header lines seen. Leading empty lines are skipped (RFC 9112 2.2).
HeadScan scan_head(std::string_view buf, size_t& scanned, size_t& lines, size_t max_bytes,
                   size_t max_headers, size_t& head_bytes);

struct RequestHead {
  std::string method;
  std::string path;   // percent-decoded, without query
  std::string query;  // raw, without '?'
  bool http10 = false;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case, in order
  // Framing, validated: at most one of chunked / content_length.
  bool chunked = false;
  bool has_length = false;
  uint64_t content_length = 0;  // saturates at UINT64_MAX for absurd values
  bool close = false;           // "Connection: close" or HTTP/1.0
  bool expect_continue = false;
};

// Parses a complete head (as delimited by scan_head). Returns "" on success, else why it
// is refused (a 400; the text names no header value).
std::string parse_head(std::string_view head, RequestHead& out);

// Decodes a chunked body (RFC 9112 7.1) as it arrives, appending the data to `out`.
class ChunkedDecoder {
 public:
  enum class Status { kMore, kDone, kTooLarge, kBad };
  // Consumes a prefix of `in` (sets `used`); appends at most `limit - out.size()` data bytes.
  // kTooLarge as soon as a chunk size line announces more than the limit allows, before any
  // of that chunk is stored. After kDone, `in[used..]` is the next request's.
  Status feed(std::string_view in, size_t& used, std::string& out, size_t limit);

 private:
  enum class State { kSize, kExt, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf, kDone };
  State state_ = State::kSize;
  uint64_t chunk_left_ = 0;
  int digits_ = 0;
  size_t line_bytes_ = 0;     // of the current size or trailer line
  size_t trailer_bytes_ = 0;  // all trailer lines
  bool trailer_line_empty_ = true;
};

// Appends `data` as one chunk of a chunked body (RFC 9112 7.1); nothing when it is empty
// (a chunk of size 0 ends the body: append "0\r\n\r\n" for that).
void append_chunk(std::string& out, std::string_view data);

// The reason phrase of a status line ("Status" for one not listed).
const char* reason_phrase(int status);

}  // namespace lumbung::server::wire

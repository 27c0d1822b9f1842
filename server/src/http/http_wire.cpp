#include "http/http_wire.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

namespace lumbung::server::wire {
namespace {

// Longest chunk-size line (with extensions) and all trailer lines of one chunked body.
constexpr size_t kMaxChunkLine = 1024;
constexpr size_t kMaxTrailerBytes = 4096;

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated list `v` holds `token` (case-insensitive).
bool has_token(std::string_view v, std::string_view token) {
  while (!v.empty()) {
    const size_t comma = v.find(',');
    const std::string_view item = trim(v.substr(0, comma));
    if (lower(item) == token) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

bool percent_decode_path(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(static_cast<unsigned char>(in[i + 1]));
    const int lo = hex_value(static_cast<unsigned char>(in[i + 2]));
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

HeadScan scan_head(std::string_view buf, size_t& scanned, size_t& lines, size_t max_bytes,
                   size_t max_headers, size_t& head_bytes) {
  while (scanned < buf.size()) {
    const void* nl = std::memchr(buf.data() + scanned, '\n', buf.size() - scanned);
    if (!nl) break;
    const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - buf.data());
    if (end + 1 > max_bytes) return HeadScan::kTooLarge;
    const bool empty = end == scanned || (end == scanned + 1 && buf[scanned] == '\r');
    scanned = end + 1;
    if (empty) {
      if (lines == 0) continue;  // blank lines before the request line are ignored
      head_bytes = end + 1;
      return HeadScan::kComplete;
    }
    ++lines;
    if (lines > max_headers + 1) return HeadScan::kTooMany;  // + the request line
  }
  if (buf.size() >= max_bytes) return HeadScan::kTooLarge;
  return HeadScan::kIncomplete;
}

std::string parse_head(std::string_view head, RequestHead& out) {
  out = RequestHead{};
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return "a bare CR in the request head";
    if (line.empty()) {
      if (lines.empty()) continue;  // leading blank lines
      break;
    }
    lines.push_back(line);
  }
  if (lines.empty()) return "no request line";

  // Request line: method SP target SP version, single spaces.
  const std::string_view rl = lines[0];
  const size_t sp1 = rl.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      rl.find(' ', sp2 + 1) != std::string_view::npos) {
    return "malformed request line";
  }
  const std::string_view method = rl.substr(0, sp1);
  std::string_view target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = rl.substr(sp2 + 1);
  if (method.empty()) return "malformed request line";
  for (char c : method) {
    if (!is_tchar(static_cast<unsigned char>(c))) return "malformed method";
  }
  if (version == "HTTP/1.1") {
    out.http10 = false;
  } else if (version == "HTTP/1.0") {
    out.http10 = true;
  } else {
    return "only HTTP/1.1 and HTTP/1.0 are served";
  }
  if (target.empty()) return "empty request target";
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return "the request target has a character it may not";
  }
  // absolute-form (a client talking as to a proxy): keep its path.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() > scheme.size() && lower(target.substr(0, scheme.size())) == scheme) {
      const size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  if (target.front() != '/') return "the request target must be a path";
  if (const size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  const size_t q = target.find('?');
  if (!percent_decode_path(target.substr(0, q), out.path)) return "malformed percent-encoding";
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  out.method = std::string(method);

  // Header fields.
  int lengths = 0;
  int encodings = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding";
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return "a header line without a name";
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!is_tchar(static_cast<unsigned char>(c))) return "malformed header name";
    }
    const std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return "a control character in a header";
    }
    std::string lname = lower(name);
    if (lname == "content-length") {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos) {
        return "malformed Content-Length";
      }
      uint64_t n = 0;
      for (char c : value) {
        const uint64_t d = static_cast<uint64_t>(c - '0');
        n = n > (std::numeric_limits<uint64_t>::max() - d) / 10
                ? std::numeric_limits<uint64_t>::max()
                : n * 10 + d;
      }
      if (lengths++ > 0 && n != out.content_length) return "conflicting Content-Length";
      out.has_length = true;
      out.content_length = n;
      if (lengths > 1) continue;  // an identical repeat: keep one
    } else if (lname == "transfer-encoding") {
      if (encodings++ > 0 || lower(value) != "chunked") {
        return "Transfer-Encoding must be chunked alone";
      }
      out.chunked = true;
    } else if (lname == "connection") {
      if (has_token(value, "close")) out.close = true;
    } else if (lname == "expect") {
      if (lower(value) == "100-continue") out.expect_continue = true;
    }
    out.headers.emplace_back(std::move(lname), std::string(value));
  }
  if (out.chunked && out.has_length) return "both Transfer-Encoding and Content-Length";
  if (out.http10) {
    out.close = true;
    if (out.chunked) return "chunked bodies need HTTP/1.1";
  }
  return "";
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, size_t& used, std::string& out,
                                            size_t limit) {
  size_t i = 0;
  auto size_line_done = [&] {
    line_bytes_ = 0;
    digits_ = 0;
    state_ = chunk_left_ == 0 ? State::kTrailer : State::kData;
    trailer_line_empty_ = true;
  };
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    switch (state_) {
      case State::kSize: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (++line_bytes_ > kMaxChunkLine) return Status::kBad;
          chunk_left_ = chunk_left_ * 16 + static_cast<uint64_t>(v);
          ++digits_;
          // Stop at the announcement: the chunk is never read.
          if (chunk_left_ > limit - std::min(limit, out.size())) return Status::kTooLarge;
          ++i;
        } else if (digits_ == 0) {
          return Status::kBad;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExt;
          ++i;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else if (c == '\n') {
          ++i;
          size_line_done();
        } else {
          return Status::kBad;
        }
        break;
      }
      case State::kExt:
        if (++line_bytes_ > kMaxChunkLine) return Status::kBad;
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          size_line_done();
        }
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return Status::kBad;
        ++i;
        size_line_done();
        break;
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_left_, in.size() - i));
        out.append(in.data() + i, n);
        i += n;
        chunk_left_ -= n;
        if (chunk_left_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c == '\r') {
          state_ = State::kDataLf;
        } else if (c == '\n') {
          state_ = State::kSize;
        } else {
          return Status::kBad;
        }
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return Status::kBad;
        state_ = State::kSize;
        ++i;
        break;
      case State::kTrailer:
      case State::kTrailerLf:
        if (state_ == State::kTrailerLf && c != '\n') return Status::kBad;
        if (c == '\r' && state_ == State::kTrailer) {
          state_ = State::kTrailerLf;
          ++i;
          break;
        }
        if (c == '\n') {
          ++i;
          state_ = State::kTrailer;
          if (trailer_line_empty_) {
            state_ = State::kDone;
            used = i;
            return Status::kDone;
          }
          trailer_line_empty_ = true;
          break;
        }
        if (++trailer_bytes_ > kMaxTrailerBytes) return Status::kBad;
        trailer_line_empty_ = false;
        ++i;
        break;
      case State::kDone:
        used = i;
        return Status::kDone;
    }
  }
  used = i;
  return state_ == State::kDone ? Status::kDone : Status::kMore;
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char size[24];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<size_t>(n));
  out.append(data);
  out += "\r\n";
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

}  // namespace lumbung::server::wire

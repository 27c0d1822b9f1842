// The streamed pull (docs/PROTOCOL.md "Streamed pull"): `GET /v1/pull?stream=1` with an
// Accept naming the change-set v2 media type is answered with several pull pages in one
// body (lumbung/pull_stream.h), so a client on a slow link pays one round trip for a whole
// pull and keeps every page that arrived whole when the link is cut. Without stream=1, or
// without v2 in Accept, a pull is answered one page at a time as before.
//
// Our listener writes an answer with a Content-Length, so the body is built first and then
// sent: the pages are read and compressed up to the bounds below before the first byte
// goes out (~0.1 s for 2,000 workload ops at zstd 19).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "api/http_types.h"

namespace lumbung::server {

// A streamed answer ends after the page that takes it past this many compressed bytes,
// or that ends past kPullStreamMaxMs after it began (a client then asks again from the
// last page's cursor): the server's memory for one answer stays a few MB, and the time
// before its first byte (the answer is built first) about a second.
inline constexpr size_t kPullStreamMaxBytes = 4u * 1024 * 1024;
inline constexpr int64_t kPullStreamMaxMs = 1000;
// At most this many pages in one answer (each examines at most kPullScanRows log rows).
inline constexpr size_t kPullStreamMaxPages = 256;

// stream=1 and v2 accepted. stream with any other value than "0", "1" or absent is
// refused (Error kInvalidArgument) before any work.
bool wants_pull_stream(const Request& req);

// Builds the streamed answer: `page(cursor)` returns one page's v1 JSON text (the pull
// answer as SyncService::pull writes it), first from `cursor`, then from each page's
// "next", until a page says more: false or a bound is reached. Compressed at zstd `level`.
Response pull_stream_response(const std::string& cursor, int level,
                              const std::function<std::string(const std::string&)>& page);

}  // namespace lumbung::server

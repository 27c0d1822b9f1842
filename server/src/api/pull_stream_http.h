// The streamed pull (docs/PROTOCOL.md "Streamed pull"): `GET /v1/pull?stream=1` with an
// Accept naming the change-set v2 media type is answered with several pull pages in one
// body (lumbung/pull_stream.h), so a client on a slow link pays one round trip for a whole
// pull and keeps every page that arrived whole when the link is cut. Without stream=1, or
// without v2 in Accept, a pull is answered one page at a time as before.
//
// The answer goes out as it is made (Response::more, sent chunked): a page is read,
// framed and on the wire before the next is read, so the first bytes leave after one page
// rather than after the whole answer was built (~0.1 s for 2,000 workload ops at zstd 19).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "api/http_types.h"

namespace lumbung::server {

// A streamed answer ends after the page that takes it past this many compressed bytes,
// or with which the server's own time making it (reading and framing pages, not waiting
// for the client) passes kPullStreamMaxMs (a client then asks again from the last page's
// cursor). An answer older than kPullStreamMaxMs has its remaining pages made at once, so
// the server's memory for one answer stays a few MB and its compressor is not held while a
// slow link drains the body.
inline constexpr size_t kPullStreamMaxBytes = 4u * 1024 * 1024;
inline constexpr int64_t kPullStreamMaxMs = 1000;
// At most this many pages in one answer (each examines at most kPullScanRows log rows).
inline constexpr size_t kPullStreamMaxPages = 256;

// stream=1 and v2 accepted. stream with any other value than "0", "1" or absent is
// refused (Error kInvalidArgument) before any work.
bool wants_pull_stream(const Request& req);

// One page's v1 JSON text from a cursor (the pull answer as SyncService::pull writes it).
// It runs after the handler returned too (Response::more), so it owns what it uses.
using PullPageReader = std::function<std::string(const std::string& cursor)>;
// Runs a page read made after the handler returned (the router's schema share).
using PullPageGuard = std::function<void(const std::function<void()>& read)>;

// The streamed answer: `page(cursor)` first from `cursor`, then from each page's "next",
// until a page says more: false or a bound is reached; compressed at zstd `level`. The
// first page is read here (its error is the request's); the rest as the answer is sent,
// each through `guard`. A page that fails then ends the body where it stands (the client
// sees a cut and asks again from the last whole frame).
Response pull_stream_response(const std::string& cursor, int level, PullPageReader page,
                              PullPageGuard guard);

}  // namespace lumbung::server

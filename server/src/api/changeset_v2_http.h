// Change-set format v2 over HTTP (docs/PROTOCOL.md "Change-set format v2"): what the
// router does for the sync routes. v1 stays the default: a pull is answered in v2 only to
// a request whose Accept names the v2 media type, a push is read as v2 only when its
// Content-Type is the v2 media type.
#pragma once

#include <cstddef>

#include "api/http_types.h"
#include "common/json_input.h"
#include "lumbung/changeset.h"

namespace lumbung::server {

bool accepts_changeset_v2(const Request& req);
bool is_changeset_v2_body(const Request& req);

// The pushed document, decoded with `max_bytes` as the decompressed cap and then held to
// every limit of a v1 body (parse_json_input with `lease`). A refusal is a ProblemError
// with the code a bad v1 body gets (protocol, body_too_large, ...) plus
// "changeset_formats": [1, 2], which tells a client this server reads v2 (so it does not
// fall back to v1).
Json decode_push_v2(const Request& req, size_t max_bytes, JsonLease* lease);

// The pull's `zstd_level` parameter: kPullZstdLevel when absent, else 1..kPullZstdLevel
// (Error kInvalidArgument outside, before the pull does any work).
int pull_zstd_level(const Request& req);

// Re-encodes a 2xx pull answer (v1 JSON text in r.body) as v2 at zstd `level`; other
// answers stay JSON.
void encode_pull_v2(Response& r, int level);

// The level a v2 pull page is compressed at unless the client asks for less: the smallest
// pages for a slow link (docs/BENCHMARKS.md "Change-set format v2"). A client on a fast
// link asks for a cheaper one (zstd_level=3 from the reference client), where the server's
// CPU, not the link, sets the pace.
inline constexpr int kPullZstdLevel = 19;

}  // namespace lumbung::server

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

// Re-encodes a 2xx pull answer (v1 JSON text in r.body) as v2; other answers stay JSON.
void encode_pull_v2(Response& r);

}  // namespace lumbung::server

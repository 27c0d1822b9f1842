#include "api/changeset_v2_http.h"

#include "api/problem.h"
#include "api/route_util.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"

namespace lumbung::server {
namespace {

bool names_v2(const std::optional<std::string>& h) {
  return h && h->find(kChangesetV2MediaType) != std::string::npos;
}

}  // namespace

bool accepts_changeset_v2(const Request& req) { return names_v2(req.header("accept")); }
bool is_changeset_v2_body(const Request& req) { return names_v2(req.header("content-type")); }

Json decode_push_v2(const Request& req, size_t max_bytes, JsonLease* lease) {
  const Json formats{{"changeset_formats", {1, 2}}};
  try {
    // Through the v1 parser as well: the same depth, cost and shared-budget limits apply.
    return parse_json_input(decode_changeset_v2(req.body, max_bytes).dump(), lease);
  } catch (const ProblemError&) {
    throw;  // the shared parse budget's 429: tried again later, not a refusal of v2
  } catch (const Error& e) {
    throw ProblemError(e.code(), e.what(), formats, e.field());
  }
}

int pull_zstd_level(const Request& req) {
  if (query_param(req, "zstd_level").empty()) return kPullZstdLevel;
  const size_t n = size_param(req, "zstd_level");
  if (n < 1 || n > static_cast<size_t>(kPullZstdLevel)) {
    throw Error(ErrorCode::kInvalidArgument,
                "zstd_level must be 1 to " + std::to_string(kPullZstdLevel));
  }
  return static_cast<int>(n);
}

void encode_pull_v2(Response& r, int level) {
  if (r.status < 200 || r.status >= 300) return;
  // The page's size as v1 text, which max_bytes counts: a client sizing its next page by it
  // reads it here instead of dumping the decoded page again (docs/PROTOCOL.md).
  r.headers[kTextBytesHeader] = std::to_string(r.body.size());
  r.body = encode_changeset_v2(Json::parse(r.body), V2EncodeOptions{V2Compression::kZstd, level});
  r.content_type = kChangesetV2MediaType;
}

}  // namespace lumbung::server

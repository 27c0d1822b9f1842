#include "api/pull_stream_http.h"

#include <chrono>

#include "api/changeset_v2_http.h"
#include "api/route_util.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"

namespace lumbung::server {

bool wants_pull_stream(const Request& req) {
  const std::string v = query_param(req, "stream");
  if (!v.empty() && v != "0" && v != "1") {
    throw Error(ErrorCode::kInvalidArgument, "stream must be 0 or 1");
  }
  return v == "1" && accepts_changeset_v2(req);
}

Response pull_stream_response(const std::string& cursor, int level,
                              const std::function<std::string(const std::string&)>& page) {
  const auto start = std::chrono::steady_clock::now();
  PullStreamWriter writer(level);
  std::string at = cursor;
  for (size_t pages = 1;; ++pages) {
    Json doc = Json::parse(page(at));
    const bool more = doc.value("more", false);
    std::string next = doc.value("next", std::string());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    // The bound is checked before the page is added, so that the page can say it is last.
    const bool last = !more || writer.size() >= kPullStreamMaxBytes || ms >= kPullStreamMaxMs ||
                      pages >= kPullStreamMaxPages || next == at;  // a cursor that did not move
    writer.add(std::move(doc), last);
    if (last) break;
    at = std::move(next);
  }
  Response r;
  r.body = writer.finish();
  r.content_type = kPullStreamMediaType;
  return r;
}

}  // namespace lumbung::server

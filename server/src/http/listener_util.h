// Small parts of the HTTP listener that need no asio (listener_util.cpp).
#pragma once

#include <string>

#include "api/http_types.h"

namespace lumbung::server {

// A header name or value the listener may write: not empty, no CR or LF.
bool header_safe(const std::string& s);
// 431 with a problem+json body (no lumbung::ErrorCode: the request never reaches the Router).
Response headers_too_large(const std::string& detail);
// 429 Retry-After 1: the process-wide budget for request bodies is full.
Response server_busy();

}  // namespace lumbung::server

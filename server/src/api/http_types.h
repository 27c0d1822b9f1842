// Transport-free HTTP request and response, so routing and handlers never see cpprestsdk
// (http/http_listener.cpp converts) and could be driven in-process.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace lumbung::server {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, no query, e.g. "/v1/pull"
  std::string query;   // raw query string without '?', still percent-encoded
  std::map<std::string, std::string> headers;  // keys lower case
  std::string body;                            // as received (maybe gzip)
  std::string remote_address;                  // the peer's IP address as text ("" when unknown)
  // Set by the transport when Content-Length announced more than kMaxBodyBytes; the body
  // was not read and the router answers 413.
  bool body_too_large = false;

  std::optional<std::string> header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers (Content-Encoding, Allow)
};

}  // namespace lumbung::server

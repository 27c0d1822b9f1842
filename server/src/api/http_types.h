// Transport-free HTTP request and response, so routing and handlers never see cpprestsdk
// (http/http_listener.cpp converts) and could be driven in-process.
#pragma once

#include <functional>
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
  // An answer whose body goes out while it is being made (the streamed pull): when set,
  // the body continues after `body`. The listener sends it chunked (RFC 9112 7.1), calling
  // more(out) after each piece went out, until it returns false (`out` may hold a last
  // piece then). It runs after Router::handle() returned, on a listener thread, so it owns
  // what it uses. If it throws, the connection is closed without the last chunk: the
  // client sees a body cut short. Router::handle(const Request&) drains it into `body`.
  std::function<bool(std::string& out)> more;
};

// Calls r.more until it ends, appending every piece to r.body (callers that want the whole
// body at once: tests, the simulation, an HTTP/1.0 client).
inline void drain_body(Response& r) {
  if (!r.more) return;
  auto more = std::move(r.more);
  r.more = nullptr;
  for (bool going = true; going;) {
    std::string piece;
    going = more(piece);
    r.body += piece;
  }
}

}  // namespace lumbung::server

// A small blocking HTTP client for the server tests (cpprestsdk's http_client underneath;
// its headers stay inside http_test_client.cpp). Bodies are gzip'ed and responses inflated
// here with zlib, so tests see exactly what went over the wire.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace lumbung::test {

struct HttpResult {
  int status = 0;                              // 0 = transport failure (see error)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // inflated if the response was gzip
  size_t wire_body_bytes = 0;                  // body bytes as received
  std::string error;
  nlohmann::json json() const;  // parsed body (throws if not JSON)
  std::string header(const std::string& lower_name) const;
};

struct RequestOptions {
  std::string token;        // sent as "Authorization: Bearer <token>" when not empty
  bool gzip_body = false;   // gzip the request body, Content-Encoding: gzip
  bool accept_gzip = true;  // Accept-Encoding: gzip
  std::map<std::string, std::string> headers;  // extra headers
  std::string content_type = "application/json";
};

class HttpTestClient {
 public:
  explicit HttpTestClient(std::string base_url);
  HttpResult request(const std::string& method, const std::string& path_and_query,
                     const std::string& body, const RequestOptions& opt) const;
  HttpResult get(const std::string& path, const std::string& token = {}) const;
  HttpResult post(const std::string& path, const nlohmann::json& body,
                  const std::string& token = {}, bool gzip_body = false) const;

 private:
  std::string base_;
};

std::string gzip_bytes(const std::string& data);
std::string gunzip_bytes(const std::string& data);

}  // namespace lumbung::test

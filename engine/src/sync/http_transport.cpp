// Transport over HTTP(S) with cpprestsdk's http_client. This is the only engine file that
// includes cpprestsdk (its headers cost ~15 s and 0.7 GB of compiler memory each).

#include <cpprest/http_client.h>

#include <algorithm>
#include <cctype>

#include "lumbung/error.h"
#include "lumbung/sync.h"

namespace lumbung {
namespace {

namespace http = web::http;

class HttpTransport final : public Transport {
 public:
  HttpTransport(const std::string& base_url, const HttpTransportOptions& options)
      : client_(make_client(base_url, options)) {}

  HttpResponse send(const HttpRequest& request) override {
    http::http_request req(request.method == "POST" ? http::methods::POST : http::methods::GET);
    req.set_request_uri(utility::conversions::to_string_t(request.target));
    if (!request.body.empty() || request.method == "POST") {
      req.set_body(std::vector<unsigned char>(request.body.begin(), request.body.end()));
    }
    for (const auto& [k, v] : request.headers) req.headers()[k] = v;  // replaces set_body's type
    try {
      http::http_response resp = client_.request(req).get();
      const std::vector<unsigned char> body = resp.extract_vector().get();
      HttpResponse out;
      out.status = resp.status_code();
      out.body.assign(body.begin(), body.end());
      size_t header_bytes = 17;  // "HTTP/1.1 200 OK\r\n"
      for (const auto& [k, v] : resp.headers()) {
        std::string key = k;
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        header_bytes += k.size() + v.size() + 4;
        out.headers[key] = v;
      }
      out.wire_bytes = header_bytes + 2 + out.body.size();
      return out;
    } catch (const http::http_exception& e) {
      throw Error(ErrorCode::kTransport, e.what());
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kTransport, e.what());
    }
  }

 private:
  static http::client::http_client make_client(const std::string& base_url,
                                               const HttpTransportOptions& options) {
    http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::milliseconds(options.timeout_ms));
    if (!options.ca_file.empty()) {
      const std::string ca = options.ca_file;
      cfg.set_ssl_context_callback([ca](boost::asio::ssl::context& ctx) { ctx.load_verify_file(ca); });
    }
    try {
      return http::client::http_client(utility::conversions::to_string_t(base_url), cfg);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInvalidArgument, "bad server address \"" + base_url + "\": " + e.what());
    }
  }

  http::client::http_client client_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const std::string& base_url,
                                               const HttpTransportOptions& options) {
  return std::make_unique<HttpTransport>(base_url, options);
}

}  // namespace lumbung

#include "support/http_test_client.h"

#include <zlib.h>

#include <cctype>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <cpprest/http_client.h>
#include <pplx/threadpool.h>

namespace lumbung::test {
namespace http = web::http;

std::string gzip_bytes(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string gunzip_bytes(const std::string& data) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  for (int guard = 0; rc == Z_OK && guard < 100000; ++guard) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("response is not valid gzip");
  return out;
}

nlohmann::json HttpResult::json() const { return nlohmann::json::parse(body); }

std::string HttpResult::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpTestClient::HttpTestClient(std::string base_url) : base_(std::move(base_url)) {
  static std::once_flag once;
  std::call_once(once, [] { crossplat::threadpool::initialize_with_threads(2); });
}

HttpResult HttpTestClient::request(const std::string& method, const std::string& path_and_query,
                                   const std::string& body, const RequestOptions& opt) const {
  HttpResult out;
  try {
    http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::seconds(60));
    http::client::http_client client(base_, cfg);
    http::http_request req(method);
    req.set_request_uri(path_and_query);
    if (!body.empty() || method == "POST") {
      const std::string wire = opt.gzip_body ? gzip_bytes(body) : body;
      req.set_body(std::vector<unsigned char>(wire.begin(), wire.end()));
      req.headers().set_content_type(opt.content_type);
      if (opt.gzip_body) req.headers().add("Content-Encoding", "gzip");
    }
    if (!opt.token.empty()) req.headers().add("Authorization", "Bearer " + opt.token);
    if (opt.accept_gzip) req.headers().add("Accept-Encoding", "gzip");
    for (const auto& [k, v] : opt.headers) req.headers().add(k, v);
    http::http_response resp = client.request(req).get();
    out.status = resp.status_code();
    for (const auto& [k, v] : resp.headers()) {
      std::string lk = k;
      for (char& c : lk) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[lk] = v;
    }
    std::vector<unsigned char> raw = resp.extract_vector().get();
    out.wire_body_bytes = raw.size();
    std::string b(raw.begin(), raw.end());
    out.body = out.header("content-encoding") == "gzip" ? gunzip_bytes(b) : b;
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

HttpResult HttpTestClient::get(const std::string& path, const std::string& token) const {
  RequestOptions o;
  o.token = token;
  return request("GET", path, {}, o);
}

HttpResult HttpTestClient::post(const std::string& path, const nlohmann::json& body,
                                const std::string& token, bool gzip_body) const {
  RequestOptions o;
  o.token = token;
  o.gzip_body = gzip_body;
  return request("POST", path, body.dump(), o);
}

}  // namespace lumbung::test

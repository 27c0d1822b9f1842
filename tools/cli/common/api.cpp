#include "common/api.h"

#include <cstdlib>

#include "lumbung/error.h"

namespace lumbung::cli {

HttpTransportOptions transport_options(int timeout_ms, const Json* config) {
  HttpTransportOptions o;
  o.timeout_ms = timeout_ms;
  auto pick = [&](const char* env, const char* key) {
    if (const char* v = std::getenv(env); v && *v) return std::string(v);
    if (config && config->is_object()) return config->value(key, std::string());
    return std::string();
  };
  o.ca_file = pick("LUMBUNG_CA_FILE", "ca_file");
  o.pin_sha256 = pick("LUMBUNG_PIN", "pin_sha256");
  return o;
}

ApiClient::ApiClient(const std::string& base_url, std::string token, int timeout_ms)
    : ApiClient(base_url, std::move(token), transport_options(timeout_ms)) {}

ApiClient::ApiClient(const std::string& base_url, std::string token,
                     const HttpTransportOptions& options)
    : base_url_(base_url), token_(std::move(token)) {
  transport_ = make_http_transport(base_url, options);
}

Json ApiClient::call(const std::string& method, const std::string& target, const Json& body) {
  HttpRequest req;
  req.method = method;
  req.target = target;
  req.headers = {{"Accept", "application/json"}};
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  const HttpResponse r = transport_->send(req);
  Json j = Json::parse(r.body, nullptr, false);
  if (r.status >= 200 && r.status < 300) {
    if (j.is_discarded()) throw Error(ErrorCode::kProtocol, "server answer is not JSON");
    return j;
  }
  std::string code, detail = "HTTP " + std::to_string(r.status);
  if (j.is_object()) {
    if (j.contains("code") && j["code"].is_string()) code = j["code"];
    if (j.contains("detail") && j["detail"].is_string()) detail = j["detail"];
  }
  if (code.empty()) {
    throw Error(r.status >= 500 ? ErrorCode::kInternal : ErrorCode::kProtocol, detail);
  }
  throw Error(error_code_from_name(code), detail,
              j.contains("field") && j["field"].is_string() ? j["field"].get<std::string>() : "");
}

std::string ApiClient::get_text(const std::string& target) {
  HttpRequest req;
  req.method = "GET";
  req.target = target;
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  const HttpResponse r = transport_->send(req);
  if (r.status < 200 || r.status >= 300) {
    throw Error(ErrorCode::kNotFound, target + ": HTTP " + std::to_string(r.status));
  }
  return r.body;
}

}  // namespace lumbung::cli

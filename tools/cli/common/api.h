// JSON calls to lumbung-server's review and admin API (docs/PROTOCOL.md) over the engine's
// Transport, so the tools never include cpprestsdk headers. Used by lumbung-admin (and by
// lumbung for the few calls that are not sync).
#pragma once

#include <memory>
#include <string>

#include "lumbung/sync.h"

namespace lumbung::cli {

class ApiClient {
 public:
  // `base_url` like "http://127.0.0.1:8080"; `token` sent as a bearer credential ("" = none).
  ApiClient(const std::string& base_url, std::string token, int timeout_ms = 60000);
  // The same with the transport's options given whole (trust: CA file, pin; timeout).
  ApiClient(const std::string& base_url, std::string token, const HttpTransportOptions& options);

  // Sends one request and returns the JSON of a 2xx answer. A refusal throws Error with
  // the server's stable code and its detail (problem+json); an unreachable server throws
  // Error(kTransport). `body` null = no body.
  Json call(const std::string& method, const std::string& target, const Json& body = Json());
  Json get(const std::string& target) { return call("GET", target); }
  Json post(const std::string& target, const Json& body) { return call("POST", target, body); }
  // GET of a file the server serves as it is (e.g. /wilayah.csv, the region names): its body
  // on a 2xx answer, else Error(kNotFound) / the transport's error.
  std::string get_text(const std::string& target);

  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string token_;
  std::unique_ptr<Transport> transport_;
};

// How to trust the central office's HTTPS certificate: LUMBUNG_CA_FILE (a PEM file of
// certificates to trust, e.g. the office's self-signed one) and LUMBUNG_PIN (the server's
// "tls pin sha256"), else the laptop config's "ca_file" / "pin_sha256" when `config` is
// given, else the system store and no pin.
HttpTransportOptions transport_options(int timeout_ms = 60000, const Json* config = nullptr);

}  // namespace lumbung::cli

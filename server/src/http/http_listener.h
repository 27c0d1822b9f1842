// The HTTP transport: cpprestsdk's http_listener feeding api::Router. This header is free
// of cpprestsdk types on purpose; http_listener.cpp is the only file that includes them.
//
// For every request the adapter copies method, path, query and headers; if Content-Length
// is above kMaxBodyBytes it does not read the body and lets the router answer 413;
// otherwise it reads the body, calls Router::handle on a listener thread and replies.
// Every task continuation catches, so no task exception is left unobserved (which would
// abort the process).
//
// With ListenerOptions::tls_cert/tls_key it serves HTTPS (TLS 1.2+, OpenSSL through
// cpprestsdk's ssl context callback); the pair is loaded once in open() so a bad file fails
// the start, not every handshake. A ConnectionReaper closes stalled connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lumbung::server {

class Router;
class ConnectionReaper;

struct ListenerOptions {
  std::string tls_cert;            // PEM certificate chain; empty = plain HTTP
  std::string tls_key;             // PEM private key (unencrypted)
  int slow_client_timeout_ms = 0;  // 0 = never cut stalled connections
  uint64_t slow_client_min_bytes = 512;
};

class HttpListener {
 public:
  // Sizes cpprestsdk's shared thread pool; must run before anything else touches
  // cpprestsdk. 2-4 threads are several times faster than the default 40 on 2 cores.
  static void initialize_threads(size_t n);

  // A port on `host` that was free a moment ago (bind port 0, read it, close). cpprestsdk
  // cannot report the port it bound for port 0, so the server picks one first; open()
  // retries with a new pick if another process takes it in between.
  static uint16_t pick_free_port(const std::string& host);

  // SHA-256 (lowercase hex) of the DER SubjectPublicKeyInfo of the first certificate in a
  // PEM file: the value clients pin (HttpTransportOptions::pin_sha256). Throws
  // std::runtime_error if the file holds no certificate.
  static std::string public_key_pin(const std::string& cert_file);

  HttpListener(std::string host, uint16_t port, Router& router, ListenerOptions options = {});
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Starts listening on http(s)://host:port. Throws std::runtime_error if the bind fails or
  // the certificate/key cannot be loaded or do not match.
  void open();
  bool tls() const { return !options_.tls_cert.empty(); }
  // Stops accepting; waits for the listener to close.
  void close();
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::string host_;
  uint16_t port_;
  Router& router_;
  ListenerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbung::server

// The HTTP transport feeding api::Router: a small HTTP/1.1 server on boost::asio (which
// cpprestsdk brings), plain or TLS. This header is free of asio types on purpose;
// http_listener.cpp is the only file that includes them.
//
// Why not cpprestsdk's http_listener (it served here until issue 12): its asio listener
// (Release/src/http/listener/http_server_asio.cpp) reads the head with async_read_until into
// an unbounded streambuf (a 64 MiB header line was kept whole), calls the handler as soon
// as the head is parsed but goes on reading the body into the request's in-memory stream
// whatever the handler does, and writes any answer only after the last body byte
// (do_response waits for content_ready): a 413 or 401 could not stop a 256 MiB upload.
// Chunk sizes are read into an int with no limit. There is no hook to close a connection
// from a handler. So memory could not be bounded before trust through it.
//
// This server, per connection:
//   - a head must arrive within slow_client_timeout_ms of the connection being free (accept,
//     TLS handshake or the end of the previous answer), at most kMaxHeadBytes and
//     kMaxHeaderCount lines, else 431 (400 for a malformed head) and close;
//   - Router::admit() judges the head (rate limit, route, token, role, Content-Length against
//     the route's limit) before any body byte is read; a refusal is sent at once and the
//     connection closed (after a bounded linger that discards what the client still sends,
//     so it reads the answer rather than a reset);
//   - the body (Content-Length or chunked) is counted as it arrives and never read beyond
//     the route's limit (413), must move at slow_client_min_bytes per second after the
//     grace, and takes its size from a process-wide budget of kMaxBufferedBodyBytes (429
//     Retry-After: 1 when full);
//   - Router::handle() runs on one of the listener's threads; the answer must be read by the
//     client at the same minimum rate.
// At most kMaxConnections connections are open; more are closed at accept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lumbung::server {

class Router;

struct ListenerOptions {
  std::string tls_cert;                   // PEM certificate chain; empty = plain HTTP
  std::string tls_key;                    // PEM private key (unencrypted)
  int slow_client_timeout_ms = 0;         // 0 = no deadlines (heads, bodies and answers may stall)
  uint64_t slow_client_min_bytes = 1024;  // bytes per second after the grace (kSlowClientMinBytes)
};

class HttpListener {
 public:
  // Threads that run the listener (I/O and Router calls). Call before open(). 2-4 threads
  // are several times faster than 40 on 2 cores.
  static void initialize_threads(size_t n);

  // A port on `host` that was free a moment ago (bind port 0, read it, close); open()
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
  // Stops accepting, closes every connection (a Router call in progress finishes first).
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

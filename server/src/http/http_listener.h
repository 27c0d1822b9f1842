// The HTTP transport: cpprestsdk's http_listener feeding api::Router. This header is free
// of cpprestsdk types on purpose; http_listener.cpp is the only file that includes them.
//
// For every request the adapter copies method, path, query and headers; if Content-Length
// is above kMaxBodyBytes it does not read the body and lets the router answer 413;
// otherwise it reads the body, calls Router::handle on a listener thread and replies.
// Every task continuation catches, so no task exception is left unobserved (which would
// abort the process).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace lumbung::server {

class Router;

class HttpListener {
 public:
  // Sizes cpprestsdk's shared thread pool; must run before anything else touches
  // cpprestsdk. 2-4 threads are several times faster than the default 40 on 2 cores.
  static void initialize_threads(size_t n);

  // A port on `host` that was free a moment ago (bind port 0, read it, close). cpprestsdk
  // cannot report the port it bound for port 0, so the server picks one first; open()
  // retries with a new pick if another process takes it in between.
  static uint16_t pick_free_port(const std::string& host);

  HttpListener(std::string host, uint16_t port, Router& router);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Starts listening on http://host:port. Throws std::runtime_error if the bind fails.
  void open();
  // Stops accepting; waits for the listener to close.
  void close();
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::string host_;
  uint16_t port_;
  Router& router_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbung::server

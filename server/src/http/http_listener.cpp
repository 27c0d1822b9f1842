#include "http/http_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>
#include <boost/asio/ssl.hpp>

#include "api/http_types.h"
#include "api/problem.h"
#include "api/router.h"
#include "http/connection_reaper.h"
#include "lumbung/tuning.h"

namespace lumbung::server {
namespace http = web::http;
using http::experimental::listener::http_listener;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void send(http::http_request& req, const Response& r) {
  http::http_response resp(static_cast<http::status_code>(r.status));
  resp.set_body(std::vector<unsigned char>(r.body.begin(), r.body.end()));
  resp.headers().set_content_type(r.content_type);
  for (const auto& [k, v] : r.headers) resp.headers().add(k, v);
  req.reply(resp).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (...) {
      // The client went away before the answer was written; nothing to do.
    }
  });
}

Request to_request(const http::http_request& req) {
  Request r;
  r.method = req.method();
  const auto& rel = req.relative_uri();
  r.path = web::uri::decode(rel.path());
  r.query = rel.query();
  for (const auto& [k, v] : req.headers()) r.headers[lower(k)] = v;
  r.remote_address = req.remote_address();
  return r;
}

// Server side TLS settings: TLS 1.2 or newer, the chain and key from files.
void configure_tls(boost::asio::ssl::context& ctx, const ListenerOptions& o) {
  ctx.set_options(boost::asio::ssl::context::default_workarounds |
                  boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                  boost::asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.use_certificate_chain_file(o.tls_cert);
  ctx.use_private_key_file(o.tls_key, boost::asio::ssl::context::pem);
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    throw std::runtime_error("the TLS key does not match the certificate");
  }
}

}  // namespace

struct HttpListener::Impl {
  std::unique_ptr<http_listener> listener;
  std::unique_ptr<ConnectionReaper> reaper;
};

std::string HttpListener::public_key_pin(const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (!f) throw std::runtime_error("cannot read TLS certificate " + cert_file);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) throw std::runtime_error("no PEM certificate in " + cert_file);
  unsigned char* der = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  X509_free(cert);
  if (n <= 0) throw std::runtime_error("cannot encode the public key of " + cert_file);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(n), md);
  OPENSSL_free(der);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

void HttpListener::initialize_threads(size_t n) {
  crossplat::threadpool::initialize_with_threads(n);
}

uint16_t HttpListener::pick_free_port(const std::string& host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    throw std::runtime_error("--listen host must be an IPv4 address such as 127.0.0.1");
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a free port on " + host);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

HttpListener::HttpListener(std::string host, uint16_t port, Router& router, ListenerOptions options)
    : host_(std::move(host)),
      port_(port),
      router_(router),
      options_(std::move(options)),
      impl_(std::make_unique<Impl>()) {}

HttpListener::~HttpListener() {
  try {
    close();
  } catch (...) {
  }
}

void HttpListener::open() {
  http::experimental::listener::http_listener_config cfg;
  if (tls()) {
    // Load once here so that a wrong path or a mismatched key stops the start with a clear
    // message; the callback then repeats it for every connection's context.
    try {
      boost::asio::ssl::context probe(boost::asio::ssl::context::tls_server);
      configure_tls(probe, options_);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot load TLS certificate/key (" + options_.tls_cert + ", " +
                               options_.tls_key + "): " + e.what());
    }
    const ListenerOptions o = options_;
    cfg.set_ssl_context_callback([o](boost::asio::ssl::context& ctx) {
      try {
        configure_tls(ctx, o);
      } catch (...) {
        // Files changed under us: this connection's handshake fails, the server lives.
      }
    });
  }
  const std::string url = (tls() ? "https://" : "http://") + host_ + ":" + std::to_string(port_);
  impl_->listener = std::make_unique<http_listener>(url, cfg);
  Router* router = &router_;
  impl_->listener->support([router](http::http_request req) {
    try {
      Request r = to_request(req);
      const bool has_length = req.headers().has(http::header_names::content_length);
      const auto length = req.headers().content_length();
      if (has_length && length > kMaxBodyBytes) {
        // Refuse before reading: the body is never buffered by us.
        r.body_too_large = true;
        send(req, router->handle(r));
        return;
      }
      if (r.method == http::methods::GET || r.method == http::methods::HEAD ||
          (has_length && length == 0)) {
        send(req, router->handle(r));
        return;
      }
      req.extract_vector().then([req, r = std::move(r),
                                 router](pplx::task<std::vector<unsigned char>> t) mutable {
        try {
          std::vector<unsigned char> body = t.get();
          if (body.size() > kMaxBodyBytes) {
            r.body_too_large = true;
          } else {
            r.body.assign(body.begin(), body.end());
          }
          send(req, router->handle(r));
        } catch (...) {
          try {
            send(req, problem_response(ErrorCode::kTransport, "could not read the request body"));
          } catch (...) {
          }
        }
      });
    } catch (...) {
      try {
        send(req, response_for_current_exception());
      } catch (...) {
      }
    }
  });
  impl_->listener->open().wait();
  if (options_.slow_client_timeout_ms > 0) {
    impl_->reaper = std::make_unique<ConnectionReaper>(port_, options_.slow_client_timeout_ms,
                                                       options_.slow_client_min_bytes);
  }
}

void HttpListener::close() {
  if (impl_) impl_->reaper.reset();
  if (impl_ && impl_->listener) {
    impl_->listener->close().wait();
    impl_->listener.reset();
  }
}

}  // namespace lumbung::server

// HttpListener's static helpers (http_listener.h): the public key pin of a certificate
// file and a free port; apart from the listener's asio code.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "http/http_listener.h"
#include "http/listener_util.h"

#include "api/problem.h"
#include "http/http_wire.h"
#include "lumbung/tls_pin.h"

namespace lumbung::server {

std::string HttpListener::public_key_pin(const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (!f) throw std::runtime_error("cannot read TLS certificate " + cert_file);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) throw std::runtime_error("no PEM certificate in " + cert_file);
  std::string pin = public_key_pin_sha256(cert);
  X509_free(cert);
  if (pin.empty()) throw std::runtime_error("cannot encode the public key of " + cert_file);
  return pin;
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

bool header_safe(const std::string& s) {
  return s.find_first_of("\r\n") == std::string::npos && !s.empty();
}

Response headers_too_large(const std::string& detail) {
  Response r;
  r.status = 431;
  r.content_type = "application/problem+json";
  r.body = Json{
      {"type", "urn:lumbung:error:headers_too_large"},
      {"title", wire::reason_phrase(431)},
      {"status", 431},
      {"code", "headers_too_large"},
      {"detail",
       detail}}.dump();
  return r;
}

Response server_busy() {
  return problem_response(ErrorCode::kRateLimited,
                          "the server holds too many request bodies now; retry after 1 s",
                          Json{{"retry_after_s", 1}});
}

}  // namespace lumbung::server

// The server side TLS settings of the listener: TLS 1.2 with forward-secret AEAD suites
// only, or 1.3; the certificate chain and key from PEM files; no renegotiation, no
// compression. On OpenSSL's SSL_CTX (http_listener.cpp passes its asio context's native
// handle), so this file needs no asio headers (server/CMakeLists.txt).
#pragma once

#include <openssl/ssl.h>

#include "http/http_listener.h"

namespace lumbung::server {

// Throws std::runtime_error if OpenSSL has none of the suites, a file cannot be loaded, or
// the key does not match the certificate.
void configure_tls(SSL_CTX* ctx, const ListenerOptions& o);

}  // namespace lumbung::server

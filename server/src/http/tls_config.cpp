// The listener's TLS settings (tls_config.h).
#include "http/tls_config.h"

#include <stdexcept>

#include <openssl/ssl.h>

namespace lumbung::server {
namespace {

// TLS 1.2 suites offered: forward secret (ECDHE) AEAD only. The CBC suites (-SHA,
// -SHA256) are left out: MAC-then-encrypt is the root of Lucky13-style padding oracles,
// and every client we support (OpenSSL 1.1+, Android 5+, iOS 9+) has AES-GCM or ChaCha20.
// TLS 1.3 has only AEAD suites; OpenSSL's default list for it stands.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

void configure_tls(SSL_CTX* ctx, const ListenerOptions& o) {
  // asio's default_workarounds, no_sslv2, no_sslv3 and single_dh_use, as set before.
  SSL_CTX_set_options(ctx, SSL_OP_ALL | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_SINGLE_DH_USE);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    throw std::runtime_error("OpenSSL knows none of the TLS 1.2 AEAD cipher suites");
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Idle connections give their 2 x ~34 KB record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, o.tls_cert.c_str()) != 1) {
    throw std::runtime_error("cannot read the certificate chain " + o.tls_cert);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("cannot read the private key " + o.tls_key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::runtime_error("the TLS key does not match the certificate");
  }
}

}  // namespace lumbung::server

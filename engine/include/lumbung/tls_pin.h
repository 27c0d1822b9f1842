// The key pin a client compares (HttpTransportOptions::pin_sha256), computed in one place
// for the transport, the server's startup line and `lumbung init`'s trust set-up.
#pragma once

#include <string>

struct x509_st;  // OpenSSL's X509

namespace lumbung {

// Lowercase hex SHA-256 of the certificate's DER SubjectPublicKeyInfo; "" if the key
// cannot be encoded.
std::string public_key_pin_sha256(x509_st* cert);

}  // namespace lumbung

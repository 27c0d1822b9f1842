// The tests' own SHA-256 and hex (OpenSSL directly, not the engine's or the server's code),
// to name attachment bytes and check what comes back independently of the system under test.
#pragma once

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace lumbung::test {

inline std::string hex_of(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

inline std::string sha256_hex(const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return hex_of(std::string(reinterpret_cast<const char*>(d), n));
}

}  // namespace lumbung::test

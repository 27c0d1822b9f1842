// Encryption at rest for the device store, on OpenSSL EVP.
//
// Key hierarchy: a random 256-bit data key encrypts personal data (AES-256-GCM, a fresh
// 96-bit nonce per message, the record id or log seq as associated data so a sealed value
// cannot be moved to another row). The data key is stored only wrapped (AES-256-GCM) under
// a key-encryption key derived from the officer's passphrase with scrypt and a random
// salt; changing the passphrase re-wraps the data key and leaves the data alone. A second
// key derived from the data key (HMAC) makes the blind index for lookups by NIK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lumbung::crypto {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

std::string random_bytes(size_t n);

// nonce || ciphertext || tag.
std::string seal(std::string_view key, std::string_view plaintext, std::string_view aad);
// nullopt if the key is wrong or the data was changed.
std::optional<std::string> open(std::string_view key, std::string_view sealed,
                                std::string_view aad);

std::string hmac_sha256(std::string_view key, std::string_view data);

struct KdfParams {
  std::string salt;  // 16 random bytes
  uint64_t n = 0;    // scrypt cost (power of two)
  uint32_t r = 8;
  uint32_t p = 1;
};
std::string derive_key(std::string_view passphrase, const KdfParams& params);

std::string base64(std::string_view bytes);
std::optional<std::string> unbase64(std::string_view text);

// Holds the unwrapped keys; wipes them when destroyed.
class Keyring {
 public:
  explicit Keyring(std::string data_key);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  const std::string& data_key() const { return data_key_; }
  // The blind-index value of `text` as a 64-bit integer key.
  int64_t blind_index(std::string_view text) const;

 private:
  std::string data_key_;
  std::string index_key_;
};

}  // namespace lumbung::crypto

// Encryption at rest for the device store, on OpenSSL EVP.
//
// Key hierarchy: a random 256-bit data key encrypts personal data (AES-256-GCM, a fresh
// 96-bit nonce per message, the record id or log seq as associated data so a sealed value
// cannot be moved to another row). The data key is stored only wrapped (AES-256-GCM) under
// a key-encryption key derived from the officer's passphrase with scrypt and a random
// salt; changing the passphrase re-wraps the data key and leaves the data alone. A second
// key derived from the data key (HMAC) makes the blind index for lookups by NIK, and a
// third the row MACs (RowMac) that protect what an encrypted store keeps in clear.
#pragma once

#include <cstdint>
#include <memory>
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

// HMAC-SHA256 truncated to 128 bits (as HMAC-SHA-256-128, RFC 4868) over a row given
// field by field, with one OpenSSL EVP_MAC context kept for every row (the key schedule is
// done once, not per row). The encoding cannot be read two ways: a domain tag naming the
// table and layout, then per field 0x00 for NULL or 0x01, a 4-byte big-endian length and
// the bytes. Integers are added as their decimal text, which is how SQLite renders an
// INTEGER column, so a row read back hashes exactly as it was written.
// Not thread-safe: one user at a time (the store's mutex).
constexpr size_t kRowMacBytes = 16;

// HMAC-SHA256 with one OpenSSL EVP_MAC context keyed once and reused for every message.
// Not thread-safe: one user at a time.
class Hmac {
 public:
  explicit Hmac(std::string_view key);
  ~Hmac();
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;
  // HMAC-SHA256(key, data), 32 bytes.
  std::string mac(std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

class RowMac {
 public:
  explicit RowMac(std::string_view key) : hmac_(key) { buf_.reserve(2048); }
  ~RowMac();
  RowMac(const RowMac&) = delete;
  RowMac& operator=(const RowMac&) = delete;

  RowMac& begin(std::string_view domain);
  RowMac& add(std::string_view bytes);
  RowMac& add(int64_t v);
  RowMac& add_null();
  // The MAC of everything added since begin() (kRowMacBytes). Compare with CRYPTO_memcmp.
  std::string finish();

 private:
  Hmac hmac_;
  std::string buf_;
};

// Holds the unwrapped keys and the OpenSSL contexts made from them (key schedules done once
// per store, not per row); wipes the keys when destroyed. The contexts are shared state:
// callers serialise (the store holds its mutex).
class Keyring {
 public:
  explicit Keyring(std::string data_key);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  const std::string& data_key() const { return data_key_; }
  // seal() / open() above under the data key, with cipher contexts kept (same output format).
  std::string seal(std::string_view plaintext, std::string_view aad) const;
  std::optional<std::string> open(std::string_view sealed, std::string_view aad) const;
  // The blind-index value of `text` as a 64-bit integer key.
  int64_t blind_index(std::string_view text) const;
  // The row MAC under HMAC(data key, "lumbung row mac v1").
  RowMac& row_mac() const { return *row_mac_; }

 private:
  struct Ciphers;
  std::string data_key_;
  std::unique_ptr<Hmac> index_mac_;  // HMAC(data key, "lumbung blind index v1")
  std::unique_ptr<RowMac> row_mac_;
  std::unique_ptr<Ciphers> ciphers_;
};

}  // namespace lumbung::crypto

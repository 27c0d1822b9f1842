#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <charconv>
#include <memory>

#include "lumbung/error.h"
#include "lumbung/tls_pin.h"

namespace lumbung::crypto {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw Error(ErrorCode::kInternal, "out of memory (cipher context)");
  return ctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

[[noreturn]] void fail(const char* what) {
  throw Error(ErrorCode::kInternal, std::string("OpenSSL failed: ") + what);
}

}  // namespace

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    fail("RAND_bytes");
  }
  return out;
}

std::string seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  if (key.size() != kKeyBytes) throw Error(ErrorCode::kInternal, "seal: bad key size");
  std::string out = random_bytes(kNonceBytes);
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  CipherCtx ctx = new_ctx();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), o) != 1) fail("init");
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    fail("aad");
  }
  if (EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    fail("encrypt");
  }
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + len, &fin) != 1) fail("final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          o + kNonceBytes + plaintext.size()) != 1) {
    fail("tag");
  }
  return out;
}

std::optional<std::string> open(std::string_view key, std::string_view sealed,
                                std::string_view aad) {
  if (key.size() != kKeyBytes || sealed.size() < kNonceBytes + kTagBytes) return std::nullopt;
  const size_t n = sealed.size() - kNonceBytes - kTagBytes;
  std::string out(n, '\0');
  CipherCtx ctx = new_ctx();
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(sealed)) != 1) {
    fail("init");
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    return std::nullopt;
  }
  if (EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        bytes(sealed.substr(kNonceBytes)), static_cast<int>(n)) != 1) {
    return std::nullopt;
  }
  std::string tag(sealed.substr(kNonceBytes + n));
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          tag.data()) != 1) {
    return std::nullopt;
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &fin) !=
      1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;  // wrong key or tampered
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(), mac,
            &len)) {
    fail("HMAC");
  }
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string derive_key(std::string_view passphrase, const KdfParams& params) {
  std::string key(kKeyBytes, '\0');
  // maxmem: scrypt needs 128 * N * r bytes; allow that plus slack.
  const uint64_t maxmem = 128 * params.n * params.r + (1u << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), bytes(params.salt), params.salt.size(),
                     params.n, params.r, params.p, maxmem,
                     reinterpret_cast<unsigned char*>(key.data()), key.size()) != 1) {
    fail("scrypt");
  }
  return key;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(in),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(in),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding bytes as output; remove them.
  if (!in.empty() && in.back() == '=') --len;
  if (in.size() > 1 && in[in.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

struct Hmac::Ctx {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  ~Ctx() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

Hmac::Hmac(std::string_view key) : ctx_(std::make_unique<Ctx>()) {
  ctx_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!ctx_->mac) fail("EVP_MAC_fetch(HMAC)");
  ctx_->ctx = EVP_MAC_CTX_new(ctx_->mac);
  if (!ctx_->ctx) fail("EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  if (EVP_MAC_init(ctx_->ctx, bytes(key), key.size(), params) != 1) fail("EVP_MAC_init");
}

Hmac::~Hmac() = default;

std::string Hmac::mac(std::string_view data) {
  // A NULL key re-initialises HMAC with the key given at construction (its padded key
  // blocks are kept), so there is no key schedule per message.
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_init(ctx_->ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx_->ctx, bytes(data), data.size()) != 1 ||
      EVP_MAC_final(ctx_->ctx, out, &len, sizeof out) != 1) {
    fail("HMAC");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

RowMac::~RowMac() { OPENSSL_cleanse(buf_.data(), buf_.size()); }

RowMac& RowMac::begin(std::string_view domain) {
  buf_.clear();
  return add(domain);
}

RowMac& RowMac::add(std::string_view b) {
  const auto n = static_cast<uint32_t>(b.size());
  const char head[5] = {'\x01', static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
  buf_.append(head, sizeof head);
  buf_.append(b);
  return *this;
}

RowMac& RowMac::add(int64_t v) {
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;  // as "%lld" prints it
  return add(std::string_view(text, static_cast<size_t>(end - text)));
}

RowMac& RowMac::add_null() {
  buf_.push_back('\x00');
  return *this;
}

std::string RowMac::finish() { return hmac_.mac(buf_).substr(0, kRowMacBytes); }

// AES-256-GCM contexts keyed once; each message only sets its nonce.
struct Keyring::Ciphers {
  EVP_CIPHER* gcm = nullptr;
  CipherCtx enc{nullptr, &EVP_CIPHER_CTX_free};
  CipherCtx dec{nullptr, &EVP_CIPHER_CTX_free};
  ~Ciphers() { EVP_CIPHER_free(gcm); }
};

Keyring::Keyring(std::string data_key)
    : data_key_(std::move(data_key)), ciphers_(std::make_unique<Ciphers>()) {
  if (data_key_.size() != kKeyBytes) throw Error(ErrorCode::kInternal, "keyring: bad key size");
  std::string index_key = hmac_sha256(data_key_, "lumbung blind index v1");
  std::string row_key = hmac_sha256(data_key_, "lumbung row mac v1");
  index_mac_ = std::make_unique<Hmac>(index_key);
  row_mac_ = std::make_unique<RowMac>(row_key);
  OPENSSL_cleanse(index_key.data(), index_key.size());
  OPENSSL_cleanse(row_key.data(), row_key.size());
  ciphers_->gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (!ciphers_->gcm) fail("EVP_CIPHER_fetch(AES-256-GCM)");
  ciphers_->enc = new_ctx();
  ciphers_->dec = new_ctx();
  if (EVP_EncryptInit_ex(ciphers_->enc.get(), ciphers_->gcm, nullptr, bytes(data_key_), nullptr) !=
          1 ||
      EVP_DecryptInit_ex(ciphers_->dec.get(), ciphers_->gcm, nullptr, bytes(data_key_), nullptr) !=
          1) {
    fail("init");
  }
}

Keyring::~Keyring() { OPENSSL_cleanse(data_key_.data(), data_key_.size()); }

std::string Keyring::seal(std::string_view plaintext, std::string_view aad) const {
  std::string out = random_bytes(kNonceBytes);
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  EVP_CIPHER_CTX* ctx = ciphers_->enc.get();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, o) != 1) fail("init");
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    fail("aad");
  }
  if (EVP_EncryptUpdate(ctx, o + kNonceBytes, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    fail("encrypt");
  }
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx, o + kNonceBytes + len, &fin) != 1) fail("final");
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          o + kNonceBytes + plaintext.size()) != 1) {
    fail("tag");
  }
  return out;
}

std::optional<std::string> Keyring::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kNonceBytes + kTagBytes) return std::nullopt;
  const size_t n = sealed.size() - kNonceBytes - kTagBytes;
  std::string out(n, '\0');
  EVP_CIPHER_CTX* ctx = ciphers_->dec.get();
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, bytes(sealed)) != 1) fail("init");
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    return std::nullopt;
  }
  if (EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                        bytes(sealed.substr(kNonceBytes)), static_cast<int>(n)) != 1) {
    return std::nullopt;
  }
  std::string tag(sealed.substr(kNonceBytes + n));
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) !=
      1) {
    return std::nullopt;
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &fin) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;  // wrong key or tampered
  }
  return out;
}

int64_t Keyring::blind_index(std::string_view text) const {
  const std::string mac = index_mac_->mac(text);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(mac[i]);
  return static_cast<int64_t>(v >> 1);  // non-negative, 63 bits
}

}  // namespace lumbung::crypto

namespace lumbung {

// The key pin (lumbung/tls_pin.h): here, in the core library that the server and the tools
// link, rather than in the HTTP transport.
std::string public_key_pin_sha256(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (n <= 0) return {};
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

}  // namespace lumbung

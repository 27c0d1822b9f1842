#include "crypto/schema_signature.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <memory>

#include "crypto/crypto.h"

namespace lumbung::schema_signature {
namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string key_id(std::string_view public_key) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(bytes(public_key), public_key.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string key_text(std::string_view public_key) {
  return "ed25519 " + key_id(public_key) + " " + crypto::base64(public_key);
}

std::string signature_text(std::string_view public_key, std::string_view signature) {
  return "ed25519 " + key_id(public_key) + " " + crypto::base64(signature);
}

std::optional<Parsed> parse(std::string_view text, size_t size) {
  constexpr std::string_view kAlg = "ed25519 ";
  if (text.size() > 200 || text.substr(0, kAlg.size()) != kAlg) return std::nullopt;
  text.remove_prefix(kAlg.size());
  const size_t space = text.find(' ');
  if (space != 16) return std::nullopt;
  Parsed p;
  p.key_id = std::string(text.substr(0, space));
  for (char c : p.key_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto raw = crypto::unbase64(text.substr(space + 1));
  if (!raw || raw->size() != size) return std::nullopt;
  p.bytes = std::move(*raw);
  if (size == 32 && key_id(p.bytes) != p.key_id) return std::nullopt;
  return p;
}

bool verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(public_key), public_key.size()),
      &EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message),
                          message.size()) == 1;
}

}  // namespace lumbung::schema_signature

// The server's signature on the schema documents devices fetch (docs/PROTOCOL.md "Schema
// versions", signed documents), shared by lumbung-server (which signs) and SyncClient
// (which checks). One text form for a key and for a signature:
//
//   ed25519 <key id> <base64 of the raw bytes>
//
// where the key id is the first 8 bytes of SHA-256 of the 32-byte public key, in hex, and
// the bytes are the public key (32) or a signature (64) over the document's exact bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lumbung::schema_signature {

// The answer header of GET /v1/schema holding the signature ...
inline constexpr const char* kSignatureHeader = "Lumbung-Schema-Signature";
// ... and the one naming the key, for a device registered before keys were sent.
inline constexpr const char* kKeyHeader = "Lumbung-Schema-Key";
// The registration answer's member and the device store's meta key holding the key text.
inline constexpr const char* kKeyMember = "schema_key";

std::string key_id(std::string_view public_key);
// "ed25519 <id> <base64>" of a public key / of a signature made with it.
std::string key_text(std::string_view public_key);
std::string signature_text(std::string_view public_key, std::string_view signature);

struct Parsed {
  std::string key_id;
  std::string bytes;  // the public key or the signature, raw
};
// Reads one of the texts above whose bytes are `size` long (32: a key, 64: a signature);
// nullopt for anything else. For a key, its id must also be its own.
std::optional<Parsed> parse(std::string_view text, size_t size);

// True if `signature` is `public_key`'s Ed25519 signature of `message` (OpenSSL EVP).
bool verify(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace lumbung::schema_signature

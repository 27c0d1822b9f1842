// Small byte encodings the server needs: base64url (tokens, cursors), hex, SHA-256.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lumbung::server {

// RFC 4648 base64url without padding.
std::string base64url_encode(std::string_view bytes);
// nullopt if `text` has characters outside the base64url alphabet or a bad length.
std::optional<std::string> base64url_decode(std::string_view text);

std::string hex_encode(std::string_view bytes);
// nullopt unless `hex` is an even number of lowercase hex digits.
std::optional<std::string> hex_decode(std::string_view hex);
// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);
// `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Throws Error(kInternal) if it fails.
std::string random_bytes(size_t n);

}  // namespace lumbung::server

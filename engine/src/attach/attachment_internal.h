// Private to engine/src/attach: the attachment file's state, shared by attachment_store.cpp
// (the file) and attachment_sync.cpp (upload and fetch).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/sqlite.h"
#include "crypto/crypto.h"
#include "lumbung/attachments.h"
#include "lumbung/error.h"

namespace lumbung {
namespace attach_detail {

inline std::string hex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

inline std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "SHA-256 failed");
  }
  return hex(digest, len);
}

}  // namespace attach_detail

struct AttachmentStore::Impl {
  explicit Impl(Store& s) : store(s) {}
  Store& store;
  std::unique_ptr<sql::Database> db;
  std::string key;  // "" = the store is not encrypted: bytes kept in clear
  mutable std::mutex mu;

  std::string seal(const std::string& sha, const char* what, const std::string& clear) const;
  std::string open_sealed(const std::string& sha, const char* what, std::string_view stored) const;
  // Caller holds mu.
  std::optional<AttachmentInfo> load(const std::string& sha) const;
  // The first bytes of a file a fetch received before it stopped (sealed like the files);
  // "" if none. Each takes mu.
  std::string load_partial(const std::string& sha) const;
  void save_partial(const std::string& sha, const std::string& bytes);
  void drop_partial(const std::string& sha);
};

}  // namespace lumbung

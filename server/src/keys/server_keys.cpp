#include "keys/server_keys.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "common/encoding.h"

namespace lumbung::server {
namespace {

constexpr const char* kHeader = "lumbung-server key file v1";
constexpr size_t kMasterBytes = 32;
constexpr size_t kMaxKeyFileBytes = 4096;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("OpenSSL failed: " + what);
}

std::string hkdf(std::string_view master, std::string_view info, size_t n) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (!kdf) fail("EVP_KDF_fetch(HKDF)");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf),
                                                                &EVP_KDF_CTX_free);
  EVP_KDF_free(kdf);
  if (!ctx) fail("EVP_KDF_CTX_new");
  static const char kSalt[] = "lumbung-server";
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_KEY, const_cast<char*>(master.data()), master.size()),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt), sizeof kSalt - 1),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
                         OSSL_PARAM_construct_end()};
  std::string out(n, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), n, params) != 1) {
    fail("EVP_KDF_derive(HKDF)");
  }
  return out;
}

std::string perms_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Reads a key file after checking who may read it. Returns nullopt if it does not exist.
std::optional<std::string> read_key_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error("cannot open key file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::string text;
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot stat it: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    problem = "it is not a regular file";
  } else if (st.st_uid != ::geteuid()) {
    problem = "it belongs to another user (uid " + std::to_string(st.st_uid) + ")";
  } else if ((st.st_mode & 077) != 0) {
    problem = "group or others may access it (mode " + perms_text(st.st_mode) +
              "); run: chmod 600 " + path;
  } else if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
    problem = "it is too large to be a key file";
  } else {
    char buf[kMaxKeyFileBytes];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < kMaxKeyFileBytes) {
      text.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!problem.empty()) throw std::runtime_error("refusing key file " + path + ": " + problem);
  return text;
}

void write_new_key_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot create key file " + path + ": " + std::strerror(errno));
  }
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write key file " + path);
  }
  // The directory entry too: a key file lost in a power cut after data was sealed under it
  // would lose the data.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

struct ServerKeys::Signer {
  EVP_PKEY* key = nullptr;
  ~Signer() { EVP_PKEY_free(key); }

  // An Ed25519 key from a 32-byte seed; its public half goes to `public_key`.
  static std::unique_ptr<Signer> from_seed(const std::string& seed, std::string& public_key) {
    auto s = std::make_unique<Signer>();
    s->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(seed.data()),
                                          seed.size());
    if (!s->key) fail("EVP_PKEY_new_raw_private_key(ED25519)");
    size_t len = 32;
    public_key.assign(32, '\0');
    if (EVP_PKEY_get_raw_public_key(s->key, reinterpret_cast<unsigned char*>(public_key.data()),
                                    &len) != 1 ||
        len != 32) {
      fail("EVP_PKEY_get_raw_public_key");
    }
    return s;
  }

  std::string sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
      fail("EVP_DigestSignInit(ED25519)");
    }
    std::string sig(64, '\0');
    size_t len = sig.size();
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        len != 64) {
      fail("EVP_DigestSign(ED25519)");
    }
    return sig;
  }
};

ServerKeys::ServerKeys(std::string path, std::string_view master, uint64_t audit_keyed_from)
    : path_(std::move(path)), audit_keyed_from_(audit_keyed_from) {
  key_id_ = hex_encode(hkdf(master, "key id v1", 8));
  audit_mac_key_ = hkdf(master, "audit mac v1", 32);
  data_key_ = hkdf(master, "data seal v1", 32);
  index_key_ = hkdf(master, "nik index v1", 32);
  signer_ = Signer::from_seed(hkdf(master, "audit sign v1", 32), public_key_);
  schema_signer_ = Signer::from_seed(hkdf(master, "schema sign v1", 32), schema_public_key_);
}

ServerKeys::~ServerKeys() = default;

std::string ServerKeys::default_path(const std::string& data_dir) {
  std::string d = data_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (d.empty() || d == "/" || d == "." || d == "..") return std::string();
  return d + ".key";
}

std::unique_ptr<ServerKeys> ServerKeys::open_or_create(const std::string& path, const DbFacts& db) {
  std::optional<std::string> text = read_key_file(path);
  if (!text) {
    if (!db.key_id.empty()) {
      throw std::runtime_error(
          "key file " + path + " is missing, but this data directory was keyed with key " +
          db.key_id +
          ": its audit chain and personal data need that file. Restore it from where you kept "
          "its copy (docs/SECURITY.md \"Server keys\"), or give its place with --key-file");
    }
    const std::string master = random_bytes(kMasterBytes);
    const uint64_t from = db.audit_count + 1;
    write_new_key_file(path, std::string(kHeader) + "\nmaster " + hex_encode(master) +
                                 "\naudit_keyed_from " + std::to_string(from) + "\n");
    auto keys = std::make_unique<ServerKeys>(path, master, from);
    keys->created_ = true;
    return keys;
  }
  std::istringstream in(*text);
  std::string header, word, master_hex;
  uint64_t from = 0;
  std::getline(in, header);
  bool ok = header == kHeader;
  ok = ok && (in >> word) && word == "master" && (in >> master_hex);
  ok = ok && (in >> word) && word == "audit_keyed_from" && (in >> from) && from >= 1;
  const auto master = ok ? hex_decode(master_hex) : std::nullopt;
  if (!master || master->size() != kMasterBytes) {
    throw std::runtime_error("key file " + path + " is not a lumbung-server key file");
  }
  auto keys = std::make_unique<ServerKeys>(path, *master, from);
  if (!db.key_id.empty() && db.key_id != keys->key_id()) {
    throw std::runtime_error("key file " + path + " (key " + keys->key_id() +
                             ") is not this data directory's key (" + db.key_id + ")");
  }
  if (db.key_id.empty() && db.audit_count >= from) {
    throw std::runtime_error("key file " + path +
                             " was made for another data directory: this one "
                             "has " +
                             std::to_string(db.audit_count) +
                             " unkeyed audit entries and the file keys them from #" +
                             std::to_string(from));
  }
  return keys;
}

std::string ServerKeys::sign(std::string_view message) const { return signer_->sign(message); }

std::string ServerKeys::sign_schema(std::string_view document) const {
  return schema_signer_->sign(document);
}

bool ServerKeys::verify(std::string_view public_key, std::string_view message,
                        std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(public_key.data()),
                                  public_key.size()),
      &EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace lumbung::server

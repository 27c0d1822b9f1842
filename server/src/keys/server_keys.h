// The server's secrets, kept in a key file outside the database (docs/SECURITY.md "Server
// keys"), so that a copy of the data directory (a backup, a stolen disk image of --data)
// holds neither the audit key nor the data key.
//
// KEY FILE FORMAT (text, written once at the first start, mode 0600, never rewritten):
//
//   lumbung-server key file v1
//   master <64 hex digits: 32 random bytes from RAND_bytes>
//   audit_keyed_from <decimal: the first audit seq whose link is keyed>
//
// Every key is derived from `master` with HKDF-SHA256 (OpenSSL EVP_KDF "HKDF", salt
// "lumbung-server", one info label per key), so one secret is backed up and each use has
// its own key:
//   "audit mac v1"    HMAC-SHA256 key of the audit chain's links and head (audit_log.h)
//   "audit sign v1"   the 32-byte seed of the Ed25519 key that signs audit checkpoints
//   "schema sign v1"  the 32-byte seed of the Ed25519 key that signs the schema documents
//                     devices fetch (docs/PROTOCOL.md "Schema versions": signed documents)
//   "data seal v1"    AES-256-GCM key of personal fields in the database
//   "nik index v1"    HMAC-SHA256 key of the NIK blind index
//   "key id v1"       first 8 bytes, hex: names this key file in the database (meta key_id)
//
// `audit_keyed_from` is where an older data directory's unkeyed chain (plain SHA-256) ends
// and the keyed one begins. It lives in the key file, not in the database, so that someone
// who can only write the database cannot move the upgrade point to pass off recomputed
// entries as old ones. A new data directory has 1.
//
// Immutable after load; thread-safe (signing makes its own OpenSSL context per call).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lumbung::server {

class ServerKeys {
 public:
  // What the database says about keys, read before the key file is opened.
  struct DbFacts {
    std::string key_id;        // meta 'key_id' ("" if the database never had a key file)
    uint64_t audit_count = 0;  // entries in the audit table
  };

  // Opens `path`, or creates it when it does not exist and the database has never been
  // keyed (a new data directory, or one from before key files: then audit_keyed_from is
  // audit_count + 1). Throws std::runtime_error with a message for the operator when:
  // the file is missing but the database names a key_id; the file can be read or written
  // by group or others, or is not a regular file owned by this user; it is malformed; its
  // key id differs from the database's; or the database is not keyed yet but already holds
  // audit entries at or after the file's audit_keyed_from (a key file of another directory).
  static std::unique_ptr<ServerKeys> open_or_create(const std::string& path, const DbFacts& db);

  // A key file path beside a data directory: "<dir>.key" ("/srv/lumbung/data" ->
  // "/srv/lumbung/data.key"). Empty if `data_dir` has no name (e.g. "/").
  static std::string default_path(const std::string& data_dir);

  ~ServerKeys();
  ServerKeys(const ServerKeys&) = delete;
  ServerKeys& operator=(const ServerKeys&) = delete;

  const std::string& path() const { return path_; }
  bool created() const { return created_; }  // made by this start
  const std::string& key_id() const { return key_id_; }
  uint64_t audit_keyed_from() const { return audit_keyed_from_; }
  const std::string& audit_mac_key() const { return audit_mac_key_; }
  const std::string& data_key() const { return data_key_; }
  const std::string& index_key() const { return index_key_; }

  // Ed25519 over `message` (64 raw bytes) with the checkpoint key.
  std::string sign(std::string_view message) const;
  // The checkpoint key's public half, 32 raw bytes.
  const std::string& public_key() const { return public_key_; }
  // True if `signature` is `public_key`'s Ed25519 signature of `message`.
  static bool verify(std::string_view public_key, std::string_view message,
                     std::string_view signature);

  // Ed25519 over a schema document's exact bytes, with the schema key: a key of its own, so
  // that no schema signature can pass for a checkpoint's or the other way round.
  std::string sign_schema(std::string_view document) const;
  // The schema key's public half, 32 raw bytes (sent to devices at registration).
  const std::string& schema_public_key() const { return schema_public_key_; }

  // For tests and tools: keys from a master secret directly.
  ServerKeys(std::string path, std::string_view master, uint64_t audit_keyed_from);

 private:
  struct Signer;
  std::string path_;
  bool created_ = false;
  uint64_t audit_keyed_from_ = 1;
  std::string key_id_;
  std::string audit_mac_key_;
  std::string data_key_;
  std::string index_key_;
  std::string public_key_;
  std::unique_ptr<Signer> signer_;
  std::string schema_public_key_;
  std::unique_ptr<Signer> schema_signer_;
};

}  // namespace lumbung::server

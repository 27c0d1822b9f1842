// Attachments: files that belong to a record (the photo of the KTP, the signed form) but
// travel apart from it (docs/PROTOCOL.md "Attachments", docs/ARCHITECTURE.md).
//
//   auto att = lumbung::AttachmentStore::open(*store, AttachmentStore::path_for("desa.db"));
//   att->attach("enrolment", id, "foto_ktp", jpeg_bytes, "image/jpeg", "ktp.jpg");
//   SyncOptions o; o.attachments = att.get();   // SyncClient::sync sends them after records
//
// A field of type "attachment" holds only a reference {sha256, size, mime, name}; that
// reference is an ordinary field value, merged and synced with the record. The bytes live
// in a second SQLite file beside the store, sealed (AES-256-GCM, the sha256 as associated
// data) under a key derived from the store's data key when the store is encrypted, in clear
// when it is not (like every other personal value). A sync sends the records first, then
// each attachment not yet on the server in chunks sized to the link, each chunk
// checksummed, resuming where the server stopped (at most one chunk is sent twice after a
// cut, Ctrl-C or kill). A failing attachment is reported and the next one is tried; it never
// holds records back. Pulls never bring attachment bytes: fetch() does, on demand.
//
// Thread-safe: one mutex around the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lumbung/store.h"
#include "lumbung/sync.h"

namespace lumbung {

// The value of an attachment field.
struct AttachmentRef {
  std::string sha256;  // 64 lower-case hex digits of the bytes' SHA-256
  int64_t size = 0;
  std::string mime;
  std::string name;  // the file's name as attached ("" if none)

  Json to_json() const;
  // nullopt unless `j` is an object with sha256 (64 hex), size (> 0) and mime (text).
  static std::optional<AttachmentRef> from_json(const Json& j);
};

enum class AttachmentState {
  kWaiting,   // on this laptop, nothing confirmed by the server yet
  kSending,   // part of it is on the server (AttachmentInfo::sent bytes)
  kOnServer,  // the server has it whole and verified
  kFailed,    // the server refused it (AttachmentInfo::error); tried again at the next sync
};
const char* attachment_state_name(AttachmentState s) noexcept;  // "waiting", "sending", ...

struct AttachmentInfo {
  AttachmentRef ref;
  AttachmentState state = AttachmentState::kWaiting;
  uint64_t sent = 0;   // bytes the server confirmed holding
  bool local = false;  // the bytes are on this laptop
  std::string error;   // why the last attempt failed ("" after a success)
  // The stable code of that refusal (error_code_name: "quota_exceeded" when the server's
  // space for this device is full; "" after a success or from before codes were kept).
  std::string error_code;
};

// What fetches learned about the link: how large a range arrived whole, how many bytes the
// link carries between cuts. Handed to several AttachmentStore::fetch() calls in a row (the
// photos of one sync or one screen), so that only the first starts small and learns the
// link; the others start from what it learned (a fetch without one sizes from scratch, as
// every fetch did before). One per link; not thread-safe (one fetch at a time).
class FetchLink {
 public:
  FetchLink();
  ~FetchLink();
  FetchLink(const FetchLink&) = delete;
  FetchLink& operator=(const FetchLink&) = delete;
  struct State;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

class AttachmentStore {
 public:
  // Opens (or creates) the attachment file of `store` at `path`. `store` must outlive it.
  // Throws Error(kStorage) if SQLite cannot open the file, kSchemaMismatch if it belongs to
  // another device's store.
  static std::unique_ptr<AttachmentStore> open(Store& store, const std::string& path);
  // Where a store's attachments are kept by convention: "<store path>-attachments".
  static std::string path_for(const std::string& store_path) { return store_path + "-attachments"; }
  ~AttachmentStore();

  Store& store();

  // Keeps `bytes` and writes their reference into field `field` of the record (one
  // Store::update, synced like any change). Throws Error(kValidationFailed, field) naming
  // the limit when the file is larger than the field's max_size (reason "too_large") or of a
  // type it does not allow ("not_allowed"); kUnknownField if the field is not an
  // attachment; kNotFound for an unknown record. Nothing is written then.
  AttachmentRef attach(const std::string& collection, const std::string& record_id,
                       const std::string& field, const std::string& bytes, const std::string& mime,
                       const std::string& name);

  // The bytes, if they are on this laptop (checked against their sha256).
  std::optional<std::string> read(const std::string& sha256) const;
  // Bytes of `sha256` kept from a fetch that stopped (the next fetch goes on from there);
  // 0 if none.
  uint64_t partial_bytes(const std::string& sha256) const;
  std::optional<AttachmentInfo> info(const std::string& sha256) const;
  // Attachments not yet whole on the server, oldest first.
  std::vector<AttachmentInfo> unsent() const;

  // For the sync (attachment_sync.cpp): what the server confirmed; a refusal.
  void set_sent(const std::string& sha256, uint64_t sent, bool complete);
  void set_failed(const std::string& sha256, const std::string& error,
                  const std::string& error_code = "");
  // Keeps bytes fetched from the server (state kOnServer). Checks their sha256.
  void keep_fetched(const AttachmentRef& ref, const std::string& bytes);

  // Fetches the attachment held in field `field` of a record from the server unless it is
  // here already, keeps it, and returns its bytes (on demand only: pulls never do this).
  // In ranges sized to the link; a fetch that stops (kTransport after the retries,
  // kCancelled) keeps the bytes it received, sealed, and the next fetch of the same file
  // goes on from there. They are also written every 64 KiB: a kill loses at most that.
  // With `link`, ranges start at the size earlier fetches through it reached (FetchLink).
  // SyncOptions::cancel stops it, the range on its way too (kCancelled; what arrived is kept).
  // Throws Error(kNotFound) if the record has no such attachment, the server's refusal
  // (kForbidden / kOutOfScope / kNotFound), or kTransport after the retries.
  std::string fetch(Transport& transport, const std::string& token, const std::string& collection,
                    const std::string& record_id, const std::string& field,
                    const SyncOptions& options = {}, FetchLink* link = nullptr);

  struct Impl;

 private:
  explicit AttachmentStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sends every attachment not yet whole on the server, oldest first (called by
// SyncClient::sync after the records when SyncOptions::attachments is set). A refusal of
// one attachment (quota, checksum, size) is kept on it (AttachmentInfo::error and
// error_code, e.g. "quota_exceeded") and the next one is tried; it is tried again at the
// next sync (a file refused at its first chunk with a 1 KiB chunk). Throws only for what
// stops every attachment: Error(kUnauthorized / kForbidden for the device), kCancelled,
// kTransport after SyncOptions::max_attempts.
AttachmentSyncReport upload_attachments(AttachmentStore& attachments, Transport& transport,
                                        const std::string& token, const SyncOptions& options);

}  // namespace lumbung

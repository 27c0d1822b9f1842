// The attachment endpoints (docs/PROTOCOL.md "Attachments"): chunked, resumable upload by
// devices, status, download scoped like the records that refer to a file, quotas per
// device, and garbage collection of files no record refers to.
//
// Thread-safe: the bytes store (attach/attachment_bytes.h) serialises the chunks of one
// file (AttachmentBytes::Upload), across server processes on PostgreSQL, so that two
// devices sending the same photo take turns, chunk by chunk.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "api/http_types.h"
#include "attach/attachment_bytes.h"
#include "auth/principal.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "store/server_store.h"

namespace lumbung::server {

struct AttachmentLimits {
  // Bytes of attachments (complete and in progress) one device may keep on the server.
  uint64_t device_quota_bytes = 512ull * 1024 * 1024;
  // An upload that received nothing for this long is dropped by the collector (its device
  // asks for the status before it goes on, finds nothing and starts again from 0).
  int64_t stale_upload_ms = 24ll * 3600 * 1000;
  // A complete file no record refers to is kept this long (its record may still be on its
  // way: a device sends records first, but another device's record may come later).
  int64_t orphan_grace_ms = 24ll * 3600 * 1000;
  // Added to the clock the collector judges ages by (lumbung-server
  // --attachment-age-offset-hours): tests see a day pass without waiting one.
  int64_t age_offset_ms = 0;
  // A collection waits this long between its scan of the records and its removals
  // (lumbung-server --attachment-gc-pause-ms; tests only: a device acts in between).
  int64_t scan_pause_ms = 0;
};

// Largest chunk body a device may send (the server's answer to a bigger one is 413).
constexpr size_t kMaxAttachmentChunkBytes = 1024 * 1024;

class AttachmentService {
 public:
  // `dir`: where the files go (AttachmentFiles); `key`: the server's data key (the files are
  // sealed under HMAC(key, "lumbung attachments v1"); "" = kept in clear).
  AttachmentService(const Schema& schema, ServerStore& store, WallClock& wall, std::string dir,
                    std::string key, AttachmentLimits limits = {});
  // The bytes kept by `bytes` (e.g. store/pg_attachment_bytes.h), sealed under
  // sealing_key(data key).
  AttachmentService(const Schema& schema, ServerStore& store, WallClock& wall,
                    std::unique_ptr<AttachmentBytes> bytes, AttachmentLimits limits = {});
  ~AttachmentService();

  // The key attachment chunks are sealed under: HMAC(data key, "lumbung attachments v1"),
  // never the key of the record seals; "" for "" (kept in clear).
  static std::string sealing_key(const std::string& data_key);

  // GET /v1/attachments/{sha}: {"sha256", "size", "mime", "received", "complete"} to a caller
  // with a right to the file: an admin, the device that sent its first chunk, or a reader
  // whose regions hold a live record naming its hash and size. Anyone else: kNotFound, as
  // for a hash the server holds nothing of. A complete file is claimed
  // (AttachmentBytes::claim): see collect_garbage().
  Json status(const Principal& who, const std::string& sha);
  // POST /v1/attachments/{sha}?offset&size&mime with the chunk's SHA-256 (hex): appends the
  // chunk when `offset` is what the server holds, ignores it otherwise; answers
  // {"received", "complete"} as status() would.
  // Refuses: a chunk whose checksum does not match (kValidationFailed, field "chunk"), a
  // size beyond every attachment field's max_size (kBodyTooLarge), a MIME type no field
  // allows (kValidationFailed, field "mime"), the device's quota (kQuotaExceeded: 403
  // quota_exceeded, field "quota"), whole bytes that do not hash to `sha` (kValidationFailed,
  // field "sha256"; the upload is dropped).
  Json put_chunk(const Principal& who, const std::string& sha, uint64_t offset, uint64_t size,
                 const std::string& mime, const std::string& chunk, const std::string& chunk_sha);
  // GET /v1/attachments/{sha}/content?collection&record&offset&limit: bytes of a complete
  // file, to a caller that may read `record` (a device: in its regions; a reviewer: in its
  // regions; an admin: any) whose current values refer to `sha`. Anything else: kNotFound
  // (no oracle of which files exist) or kForbidden/kOutOfScope for a record outside.
  Response content(const Principal& who, const std::string& sha, const std::string& collection,
                   const std::string& record, uint64_t offset, uint64_t limit) const;
  // Drops complete files no live record refers to (after orphan_grace_ms, unless claimed
  // since the pass began), uploads idle for stale_upload_ms and strays as old. Returns
  // {"kept", "removed", "removed_bytes", "strays_removed"}.
  Json collect_garbage();
  // Runs collect_garbage() at once and then every `every_ms`, on a thread of its own until
  // destroyed.
  void start_collector(int64_t every_ms);

  // A schema version published live (sync/op_upgrade.h LiveSchema): its attachment fields
  // are checked at upload and kept by the collector from now on. `schema` must outlive this.
  void set_schema(const Schema& schema);

  // The router's entry (router hook in api/router.cpp; attach/attachment_routes.cpp).
  Response handle(const Request& req, const std::string& route, const std::string& sha,
                  const Principal& who);

 private:
  std::set<std::string> referenced();
  // True if a live record `who` may read names `sha` with `size` (status()'s rule).
  bool reader_names(const Principal& who, const std::string& sha, uint64_t size);

  const Schema& schema() const;

  mutable std::mutex schema_mu_;  // schema_, max_size_, mimes_ (set_schema, the collector)
  const Schema* schema_ = nullptr;
  ServerStore& store_;
  WallClock& wall_;
  std::unique_ptr<AttachmentBytes> files_;
  AttachmentLimits limits_;
  int64_t max_size_ = 0;
  std::set<std::string> mimes_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread collector_;
};

}  // namespace lumbung::server

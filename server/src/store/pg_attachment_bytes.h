// Attachment bytes in the PostgreSQL database (lumbung-server --db): any number of server
// processes on one database share every upload, finished or not (docs/ARCHITECTURE.md
// "Attachments"). Two tables, made by the constructor if missing (under the schema lock
// servers take at start, so two starting together do not race):
//
//   attachments        one row a file: size, mime, device (its quota pays), started_ms,
//                      touched_ms, received, complete
//   attachment_chunks  one row a chunk: (sha256, pos) -> len, sealed (bytea), sealed exactly
//                      as AttachmentFiles seals its frames (attach/attachment_bytes.h)
//
// An Upload is one transaction holding an advisory lock on the file's hash: the chunks of
// one file are taken one at a time whichever server receives them, and a chunk is kept,
// and its answer sent, only once the transaction committed (durable: synchronous commit).
// The quota's sum of a device's files is taken under an advisory lock on the device.
// Removals (the collector, on any server) take the file's lock too: a file is removed for
// every server at once, never in the middle of a chunk.
//
// Thread-safe: a pool of its own connections (an Upload holds one for its life).
#pragma once

#include <memory>
#include <string>

#include "attach/attachment_bytes.h"

namespace lumbung::server {

namespace pg {
class Pool;
}

// The two tables' DDL (idempotent), for a database filled without a server
// (lumbung-admin migrate).
const char* pg_attachment_ddl();

class PgAttachmentBytes : public AttachmentBytes {
 public:
  // Connects to `url` (a libpq URI) and creates the tables if missing. `key` "" = chunks
  // kept in clear. Throws Error(kStorage) if the database cannot be reached.
  PgAttachmentBytes(const std::string& url, std::string key);
  ~PgAttachmentBytes() override;

  std::unique_ptr<Upload> upload(const std::string& sha) override;
  std::optional<AttachmentEntry> find(const std::string& sha) const override;
  std::optional<AttachmentEntry> claim(const std::string& sha, int64_t now_ms) override;
  std::string read(const std::string& sha, uint64_t offset, uint64_t limit) const override;
  bool remove_if(const std::string& sha,
                 const std::function<bool(const AttachmentEntry&)>& still) override;
  uint64_t remove_strays(int64_t before_ms) override;
  void for_each(
      const std::function<void(const std::string&, const AttachmentEntry&)>& fn) const override;

 private:
  class PgUpload;
  std::unique_ptr<pg::Pool> pool_;
  std::string key_;
};

}  // namespace lumbung::server

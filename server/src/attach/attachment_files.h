// Attachment bytes on the server's disk, outside the record tables (docs/ARCHITECTURE.md
// "Attachments"). One directory (default <data dir>/attachments), three files a file:
//
//   <sha256>.meta   JSON {"size", "mime", "device", "started_ms"}: what the first chunk
//                   announced and who sent it (quota)
//   <sha256>.part   while the upload lasts: the chunks received so far, as frames
//   <sha256>.blob   once the whole SHA-256 matched: the same frames (renamed, not rewritten)
//
// A frame is a 4-byte big-endian plaintext length, a 4-byte big-endian stored length, then
// the stored bytes: crypto::seal(key, chunk, "lumbung att v1\0<sha256>\0<offset>") when the
// server has a key (AES-256-GCM; the offset in the associated data keeps frames in their
// place), the chunk itself when not. A frame torn by a crash is cut off when the directory
// is opened. Nothing but a complete .blob is ever served. Files of the directory no entry
// accounts for (a <sha>.meta.tmp of a start cut by a crash, a .part or .blob without its
// .meta) are strays: remove_strays() deletes them once old enough.
//
// The index is this process's own (read from the directory at start): one server process
// a directory. PostgreSQL servers keep the bytes in the database instead
// (store/pg_attachment_bytes.h). An entry's touched_ms after a restart is the modification
// time of its .part/.blob.
//
// Thread-safe: one mutex for the index; every call is short (one chunk, or one read bounded
// by `limit`); an Upload holds a second mutex (every upload of this process, one at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "attach/attachment_bytes.h"

namespace lumbung::server {

class AttachmentFiles : public AttachmentBytes {
 public:
  // Creates `dir` (0700) if needed and reads what is there. `key` "" = keep bytes in clear.
  // Throws Error(kStorage) if the directory cannot be made or read.
  AttachmentFiles(std::string dir, std::string key);

  std::unique_ptr<Upload> upload(const std::string& sha) override;
  std::optional<AttachmentEntry> find(const std::string& sha) const override;
  std::optional<AttachmentEntry> claim(const std::string& sha, int64_t now_ms) override;
  std::string read(const std::string& sha, uint64_t offset, uint64_t limit) const override;
  bool remove_if(const std::string& sha,
                 const std::function<bool(const AttachmentEntry&)>& still) override;
  uint64_t remove_strays(int64_t before_ms) override;
  void for_each(
      const std::function<void(const std::string&, const AttachmentEntry&)>& fn) const override;

  // Bytes held or announced by uploads of `device` (complete and partial).
  uint64_t device_bytes(const std::string& device) const;

  // Each whole frame of `sha`'s .blob (or .part) as stored, sealed or not: its plaintext
  // offset and length and the stored bytes. For a move of the bytes elsewhere without
  // opening them (lumbung-admin migrate: PostgreSQL seals chunks the same way). Returns
  // the plaintext bytes visited.
  uint64_t for_each_frame(const std::string& sha,
                          const std::function<void(uint64_t offset, uint32_t plain_len,
                                                   std::string_view stored)>& fn) const;

 private:
  class FileUpload;
  // Starts an upload (no bytes yet).
  void begin(const std::string& sha, const AttachmentEntry& e);
  // Appends a chunk at the end of a started upload; returns the bytes now held. Durable
  // (fdatasync) before it returns.
  uint64_t append(const std::string& sha, const std::string& chunk, int64_t now_ms);
  // The upload holds all its bytes: checks their SHA-256 against `sha` (.part renamed .blob)
  // or drops them.
  bool finish(const std::string& sha);
  std::string path(const std::string& sha, const char* ext) const;
  void load(const std::string& sha);

  std::string dir_;
  std::string key_;
  mutable std::mutex mu_;
  std::mutex upload_mu_;  // held by a FileUpload and by remove_if (before mu_)
  std::map<std::string, AttachmentEntry> index_;
  std::map<std::string, int64_t> strays_;  // file name -> modification time (ms)
};

}  // namespace lumbung::server

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
// Thread-safe: one mutex; every call is short (one chunk, or one read bounded by `limit`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace lumbung::server {

struct AttachmentEntry {
  uint64_t size = 0;
  std::string mime;
  std::string device;  // the device that sent the first chunk (its quota pays)
  int64_t started_ms = 0;
  // Last chunk, or a device told the file is complete (claim_complete); after a restart
  // the modification time of the .part/.blob.
  int64_t touched_ms = 0;
  uint64_t received = 0;
  bool complete = false;
};

class AttachmentFiles {
 public:
  // Creates `dir` (0700) if needed and reads what is there. `key` "" = keep bytes in clear.
  // Throws Error(kStorage) if the directory cannot be made or read.
  AttachmentFiles(std::string dir, std::string key);

  std::optional<AttachmentEntry> find(const std::string& sha) const;
  // Starts an upload (no bytes yet).
  void begin(const std::string& sha, const AttachmentEntry& e);
  // Appends a chunk at the end of a started upload; returns the bytes now held. Durable
  // (fdatasync) before it returns.
  uint64_t append(const std::string& sha, const std::string& chunk, int64_t now_ms);
  // The upload holds all its bytes: checks their SHA-256 against `sha`. True: the file is
  // complete and served from now on. False: the bytes did not match and are dropped.
  bool finish(const std::string& sha);
  // Bytes [offset, offset + limit) of a complete file. Throws Error(kCorrupt) if a frame
  // does not open.
  std::string read(const std::string& sha, uint64_t offset, uint64_t limit) const;
  void remove(const std::string& sha);
  // Removes the files of `sha` only if `still` holds for its entry as it is now (under the
  // lock: nothing can change it between the check and the removal). True if removed.
  bool remove_if(const std::string& sha, const std::function<bool(const AttachmentEntry&)>& still);
  // Marks a complete file as just claimed by a device (its record may not be seen yet by a
  // collection already under way). Returns the entry, nullopt if there is none.
  std::optional<AttachmentEntry> claim(const std::string& sha, int64_t now_ms);
  // Deletes the strays found when the directory was opened that were last modified before
  // `before_ms`. Returns how many.
  uint64_t remove_strays(int64_t before_ms);
  // Bytes held or announced by uploads of `device` (complete and partial).
  uint64_t device_bytes(const std::string& device) const;
  // Calls fn for every entry (a copy of the index: fn may call remove()).
  void for_each(const std::function<void(const std::string&, const AttachmentEntry&)>& fn) const;

 private:
  std::string path(const std::string& sha, const char* ext) const;
  void load(const std::string& sha);

  std::string dir_;
  std::string key_;
  mutable std::mutex mu_;
  std::map<std::string, AttachmentEntry> index_;
  std::map<std::string, int64_t> strays_;  // file name -> modification time (ms)
};

}  // namespace lumbung::server

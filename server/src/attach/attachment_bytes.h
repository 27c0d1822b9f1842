// Where the server keeps attachment bytes (docs/ARCHITECTURE.md "Attachments"): what
// AttachmentService needs of a store of sealed chunks, whatever holds them.
//
//   AttachmentFiles (attach/attachment_files.h)      files under a directory: the SQLite
//                                                    server (--data), one process
//   PgAttachmentBytes (store/pg_attachment_bytes.h)  two tables of the PostgreSQL database:
//                                                    any number of server processes
//
// Both seal each chunk alike: crypto::seal(key, chunk, "lumbung att v1\0<sha256>\0<offset>")
// when the server has a key (the offset in the associated data keeps a chunk in its place),
// the chunk itself when not. Nothing but a complete file (its whole SHA-256 checked) is
// ever served.
//
// Thread-safe, and for PgAttachmentBytes safe across processes: an Upload holds the one
// lock of its file for its life, so the chunks of one file are taken one at a time however
// many threads or servers receive them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lumbung::server {

struct AttachmentEntry {
  uint64_t size = 0;
  std::string mime;
  std::string device;  // the device that sent the first chunk (its quota pays)
  int64_t started_ms = 0;
  // Last chunk, or a device told the file is complete (claim).
  int64_t touched_ms = 0;
  uint64_t received = 0;
  bool complete = false;
};

// True if `s` is a SHA-256 as attachments are named: 64 lowercase hex digits.
inline bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The associated data a chunk at `offset` of file `sha` is sealed with (both stores).
inline std::string attachment_aad(const std::string& sha, uint64_t offset) {
  return std::string("lumbung att v1") + '\0' + sha + '\0' + std::to_string(offset);
}

class AttachmentBytes {
 public:
  // One file's upload, its lock held until the object is gone: read the entry, start it,
  // append, finish, with no other upload or removal of that file in between.
  class Upload {
   public:
    virtual ~Upload() = default;
    virtual std::optional<AttachmentEntry> entry() = 0;
    // Bytes held or announced by uploads of `device` (complete and partial). On PostgreSQL
    // it also takes that device's lock until the end: two first chunks of one device on two
    // servers do not both fit a quota that holds one.
    virtual uint64_t device_bytes(const std::string& device) = 0;
    // Starts (or starts again) the upload: no bytes yet.
    virtual void begin(const AttachmentEntry& e) = 0;
    // Appends a chunk at the end; returns the bytes now held.
    virtual uint64_t append(const std::string& chunk, int64_t now_ms) = 0;
    // All bytes are there: checks their SHA-256 against the file's name. True: complete and
    // served from now on. False: the bytes did not match and are dropped.
    virtual bool finish() = 0;
    // Marks a complete file as just claimed (see AttachmentBytes::claim).
    virtual std::optional<AttachmentEntry> claim(int64_t now_ms) = 0;
    // Makes what was done durable and visible. An Upload gone without commit() changes
    // nothing on PostgreSQL (its transaction rolls back); the files are written as they go.
    virtual void commit() = 0;
  };

  virtual ~AttachmentBytes() = default;

  virtual std::unique_ptr<Upload> upload(const std::string& sha) = 0;
  virtual std::optional<AttachmentEntry> find(const std::string& sha) const = 0;
  // Marks a complete file as just claimed by a device (its record may not be seen yet by a
  // collection already under way). Returns the entry, nullopt if there is none.
  virtual std::optional<AttachmentEntry> claim(const std::string& sha, int64_t now_ms) = 0;
  // Bytes [offset, offset + limit) of a complete file. Throws Error(kNotFound) if it is not
  // complete, Error(kCorrupt) if a chunk does not open.
  virtual std::string read(const std::string& sha, uint64_t offset, uint64_t limit) const = 0;
  // Removes the file only if `still` holds for its entry as it is now (under the file's
  // lock: nothing can change it between the check and the removal). True if removed.
  virtual bool remove_if(const std::string& sha,
                         const std::function<bool(const AttachmentEntry&)>& still) = 0;
  // Deletes leftovers of crashes no entry accounts for, last changed before `before_ms`.
  // Returns how many (always 0 where a crash leaves none: PostgreSQL).
  virtual uint64_t remove_strays(int64_t before_ms) = 0;
  // Calls fn for every entry (a copy: fn may call remove_if()).
  virtual void for_each(
      const std::function<void(const std::string&, const AttachmentEntry&)>& fn) const = 0;
};

}  // namespace lumbung::server

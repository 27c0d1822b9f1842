// A STREAMED PULL (docs/PROTOCOL.md "Streamed pull"): one answer to
// `GET /v1/pull?stream=1` carrying several pull pages ("frames"), each the v2 CBOR payload
// of one page document, in one zstd stream flushed at every frame's end, so a client
// applies each frame as soon as its bytes arrived and keeps what arrived whole when the
// link is cut. Later frames use the earlier ones as compression history.
//
//   "LBS1"  magic, 4 bytes
//   u8      compression: 2 = one zstd frame (RFC 8878) with its checksum
//   ...     the zstd frame; its content is a sequence of frames:
//     u32 LE  n, the payload's length (1 .. max frame bytes)
//     u32 LE  CRC-32 (ISO-HDLC, zlib's crc32) of the payload
//     n bytes the v2 CBOR payload (changeset_v2.cpp) of one pull page document
//   The last frame's document has "last": true; nothing follows it but the zstd frame's end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lumbung/schema.h"

namespace lumbung {

inline constexpr const char* kPullStreamMediaType = "application/x-lumbung-pull-stream";
// A frame's payload is at most this (a page's text is at most 8 MiB, its CBOR less).
inline constexpr size_t kPullStreamMaxFrameBytes = 8u * 1024 * 1024;

// Builds a streamed pull answer in memory (the server's listener sends one body).
class PullStreamWriter {
 public:
  explicit PullStreamWriter(int zstd_level);
  ~PullStreamWriter();
  PullStreamWriter(const PullStreamWriter&) = delete;
  PullStreamWriter& operator=(const PullStreamWriter&) = delete;

  // Appends a frame holding `page` (an object; "last" is added when `last`), flushed: the
  // bytes so far decode to every frame added. Error(kInvalidArgument) if it is too large.
  void add(Json page, bool last);
  // Compressed bytes so far.
  size_t size() const { return out_.size(); }
  // Ends the zstd frame (its checksum) and hands the whole body over.
  std::string finish();

 private:
  void compress(std::string_view in, int directive);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::string out_;
};

// Reads a streamed pull answer as its bytes arrive; memory bounded by one frame plus
// zstd's window (at most 16 MiB).
//
// Anything malformed is Error(kProtocol, "invalid pull stream: ...") - a wrong magic or
// compression, a damaged zstd stream, a frame length of 0, a CRC that does not match, a
// payload that is not a v2 page, bytes after the last frame - and a frame longer than
// `max_frame_bytes` is Error(kBodyTooLarge); on_frame is never called for a bad frame.
class PullStreamReader {
 public:
  explicit PullStreamReader(size_t max_frame_bytes = kPullStreamMaxFrameBytes);
  ~PullStreamReader();
  PullStreamReader(const PullStreamReader&) = delete;
  PullStreamReader& operator=(const PullStreamReader&) = delete;

  // Feeds the next bytes of the body; each whole, checked frame is decoded and handed to
  // `on_frame` in order (its "last" member removed; `last` says whether it had it).
  void feed(std::string_view bytes, const std::function<void(Json page, bool last)>& on_frame);
  // The last frame and the zstd frame's end (checksum verified) were read.
  bool complete() const { return ended_; }
  uint64_t frames() const { return frames_; }

 private:
  void take_frames(const std::function<void(Json, bool)>& on_frame);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  const size_t max_frame_;
  std::string head_;     // the 5 bytes before the zstd frame, until whole
  std::string pending_;  // decompressed bytes not yet a whole frame
  bool last_seen_ = false;
  bool ended_ = false;
  uint64_t frames_ = 0;
};

}  // namespace lumbung

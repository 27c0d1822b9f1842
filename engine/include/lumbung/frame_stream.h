// A FRAME STREAM: the body shared by the streamed pull (pull_stream.h) and the streamed
// push (push_stream.h), docs/PROTOCOL.md "Streamed pull" and "Streamed push". Several
// documents ("frames"), each the v2 CBOR payload (changeset_v2.cpp) of one page or push
// change set, in one zstd stream flushed at every frame's end, so the reader takes each
// frame as soon as its bytes arrived and keeps what arrived whole when the link is cut.
// Later frames use the earlier ones as compression history.
//
//   4 bytes  magic: "LBS1" for a pull stream, "LBP1" for a push stream
//   u8       compression: 2 = one zstd frame (RFC 8878) with its checksum
//   ...      the zstd frame; its content is a sequence of frames:
//     u32 LE  n, the payload's length (1 .. max frame bytes)
//     u32 LE  CRC-32 (ISO-HDLC, zlib's crc32) of the payload
//     n bytes the v2 CBOR payload of one document (a CBOR map)
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

// What tells one kind of frame stream from another.
struct FrameStreamKind {
  std::string_view magic;  // 4 bytes
  const char* name;        // in messages: "pull stream"
  const char* document;    // in messages: "pull page"
  size_t max_frame_bytes;  // a frame's payload is at most this
  int window_log_max;      // the largest zstd window a reader accepts (2^n bytes)
  // A decoded frame has the members its kind needs (e.g. "ops" and "next").
  bool (*is_document)(const Json& doc);
};

// Builds a frame stream in memory.
class FrameStreamWriter {
 public:
  // `expected_bytes`: about how much the frames will hold before compression, when known
  // (0: not known). zstd's window and tables are then sized to it rather than to the
  // largest stream: a small stream costs a few hundred KB of tables, not ~17 MB.
  FrameStreamWriter(const FrameStreamKind& kind, int zstd_level, size_t expected_bytes = 0);
  ~FrameStreamWriter();
  FrameStreamWriter(const FrameStreamWriter&) = delete;
  FrameStreamWriter& operator=(const FrameStreamWriter&) = delete;

  // Appends a frame holding `doc` (an object; "last" is added when `last`), flushed: the
  // bytes so far decode to every frame added. Error(kInvalidArgument) if it is too large.
  void add(Json doc, bool last);
  // Compressed bytes so far (those handed over by take() included).
  size_t size() const { return taken_ + out_.size(); }
  uint64_t frames() const { return frames_; }
  // Bytes the compressor holds (zstd's context: its window and tables).
  size_t memory() const;
  // Hands over the bytes made since the last take(): after an add(), the body so far ends
  // at a frame's end, so a sender can put it on the wire before the next frame is built.
  std::string take();
  // Ends the zstd frame (its checksum) and hands the rest of the body over.
  std::string finish();

 private:
  void compress(std::string_view in, int directive);
  struct Ctx;
  const FrameStreamKind& kind_;
  std::unique_ptr<Ctx> ctx_;
  std::string out_;
  size_t taken_ = 0;
  uint64_t frames_ = 0;
};

// Reads a frame stream as its bytes arrive; memory bounded by one frame plus zstd's window
// (2^kind.window_log_max).
//
// Anything malformed is Error(kProtocol, "invalid <name>: ...") - a wrong magic or
// compression, a damaged zstd stream, a frame length of 0, a CRC that does not match, a
// payload that is not a v2 document of the kind, bytes after the last frame - and a frame
// longer than `max_frame_bytes` is Error(kBodyTooLarge); on_frame is never called for a bad
// frame.
class FrameStreamReader {
 public:
  FrameStreamReader(const FrameStreamKind& kind, size_t max_frame_bytes);
  ~FrameStreamReader();
  FrameStreamReader(const FrameStreamReader&) = delete;
  FrameStreamReader& operator=(const FrameStreamReader&) = delete;

  // Feeds the next bytes of the body; each whole, checked frame is decoded and handed to
  // `on_frame` in order (its "last" member removed; `last` says whether it had it).
  void feed(std::string_view bytes, const std::function<void(Json doc, bool last)>& on_frame);
  // The last frame and the zstd frame's end (checksum verified) were read.
  bool complete() const { return ended_; }
  uint64_t frames() const { return frames_; }

 private:
  void take_frames(const std::function<void(Json, bool)>& on_frame);
  [[noreturn]] void bad(const std::string& what) const;
  struct Ctx;
  const FrameStreamKind& kind_;
  std::unique_ptr<Ctx> ctx_;
  const size_t max_frame_;
  std::string head_;     // the 5 bytes before the zstd frame, until whole
  std::string pending_;  // decompressed bytes not yet a whole frame
  bool last_seen_ = false;
  bool ended_ = false;
  uint64_t frames_ = 0;
};

}  // namespace lumbung

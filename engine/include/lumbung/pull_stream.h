// A STREAMED PULL (docs/PROTOCOL.md "Streamed pull"): one answer to
// `GET /v1/pull?stream=1` carrying several pull pages ("frames") as a frame stream
// (frame_stream.h) with the magic "LBS1": each frame the v2 CBOR payload of one page
// document (with "ops" and "next"), so a client applies each frame as soon as its bytes
// arrived and keeps what arrived whole when the link is cut.
#pragma once

#include "lumbung/frame_stream.h"

namespace lumbung {

inline constexpr const char* kPullStreamMediaType = "application/x-lumbung-pull-stream";
// A frame's payload is at most this (a page's text is at most 8 MiB, its CBOR less).
inline constexpr size_t kPullStreamMaxFrameBytes = 8u * 1024 * 1024;

// The pull stream's kind: "LBS1", frames with "ops" and "next".
const FrameStreamKind& pull_stream_kind();

// Builds a streamed pull answer in memory (the server's listener sends one body).
class PullStreamWriter : public FrameStreamWriter {
 public:
  explicit PullStreamWriter(int zstd_level, size_t expected_bytes = 0)
      : FrameStreamWriter(pull_stream_kind(), zstd_level, expected_bytes) {}
};

// Reads a streamed pull answer as its bytes arrive (errors: "invalid pull stream: ...").
class PullStreamReader : public FrameStreamReader {
 public:
  explicit PullStreamReader(size_t max_frame_bytes = kPullStreamMaxFrameBytes)
      : FrameStreamReader(pull_stream_kind(), max_frame_bytes) {}
};

}  // namespace lumbung

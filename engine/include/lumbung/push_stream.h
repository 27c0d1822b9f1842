// A STREAMED PUSH (docs/PROTOCOL.md "Streamed push"): the body of
// `POST /v1/push?stream=1` (Content-Type kPushStreamMediaType) is a frame stream
// (frame_stream.h) with the magic "LBP1": each frame the v2 CBOR payload of one push
// change set ({"device", "ops", optional "report"}) of consecutive ops. The server applies
// each whole frame as it arrives, in its own transaction; one push answer at the end
// covers them all. After a cut, `GET /v1/push/state?after=SEQ` tells how far it got and
// the answers of the ops it applied since SEQ.
#pragma once

#include "lumbung/frame_stream.h"

namespace lumbung {

inline constexpr const char* kPushStreamMediaType = "application/x-lumbung-push-stream";
// A frame's payload is at most this: a push frame is a push batch (kMaxBatchOps ops at
// most), its CBOR far smaller than its text.
inline constexpr size_t kPushStreamMaxFrameBytes = 4u * 1024 * 1024;
// The zstd window a push stream may use: 2 MiB (the server holds one per stream in flight).
inline constexpr int kPushStreamWindowLog = 21;

// The push stream's kind: "LBP1", frames with "device" and "ops".
const FrameStreamKind& push_stream_kind();

class PushStreamWriter : public FrameStreamWriter {
 public:
  explicit PushStreamWriter(int zstd_level, size_t expected_bytes = 0)
      : FrameStreamWriter(push_stream_kind(), zstd_level, expected_bytes) {}
};

// Errors: "invalid push stream: ...".
class PushStreamReader : public FrameStreamReader {
 public:
  explicit PushStreamReader(size_t max_frame_bytes = kPushStreamMaxFrameBytes)
      : FrameStreamReader(push_stream_kind(), max_frame_bytes) {}
};

}  // namespace lumbung

// Frame streams (format at the top of lumbung/frame_stream.h) and their two kinds: the
// streamed pull's and the streamed push's.

#include "lumbung/frame_stream.h"

#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "changeset/changeset_v2_format.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"
#include "lumbung/push_stream.h"

namespace lumbung {
namespace {

constexpr uint8_t kZstd = 2;
constexpr size_t kFrameHead = 8;

uint32_t crc_of(const void* data, size_t n) {
  return static_cast<uint32_t>(crc32(0L, static_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

void put_u32(std::string& out, uint32_t v) {
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int b = 0; b < 4; ++b) v |= uint32_t{static_cast<uint8_t>(p[b])} << (8 * b);
  return v;
}

bool is_pull_page(const Json& d) { return d.contains("ops") && d.contains("next"); }
bool is_push_set(const Json& d) { return d.contains("device") && d.contains("ops"); }

}  // namespace

const FrameStreamKind& pull_stream_kind() {
  // zstd's window for the decoder: 2^24 bytes at most (the server writes 2^20 or 2^21).
  static const FrameStreamKind k{"LBS1", "pull stream", "pull page", kPullStreamMaxFrameBytes,
                                 24,     &is_pull_page};
  return k;
}

const FrameStreamKind& push_stream_kind() {
  static const FrameStreamKind k{
      "LBP1",      "push stream", "push change set", kPushStreamMaxFrameBytes, kPushStreamWindowLog,
      &is_push_set};
  return k;
}

struct FrameStreamWriter::Ctx {
  ZSTD_CCtx* c = nullptr;
  ~Ctx() { ZSTD_freeCCtx(c); }
};

FrameStreamWriter::FrameStreamWriter(const FrameStreamKind& kind, int zstd_level,
                                     size_t expected_bytes)
    : kind_(kind), ctx_(std::make_unique<Ctx>()) {
  ctx_->c = ZSTD_createCCtx();
  if (!ctx_->c) throw Error(ErrorCode::kInternal, "zstd context");
  ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_compressionLevel, zstd_level);
  ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_checksumFlag, 1);
  // A stream's size is not known up front, so zstd would size its tables for a large
  // input: 89 MB for one answer at level 19 (1.5.4), allocated and touched per pull. An
  // answer is at most a few MB and its frames refer back little: 1 MiB of window and
  // tables of 2^20 entries (~17 MB at level 19, as zstd's own choice for a 1 MiB input).
  // A stream known to be smaller gets a window (and at high levels tables) that just
  // hold it, as zstd chooses for an input of known size: every byte can still refer back
  // to any before it, and setting up the tables no longer dominates a small stream.
  int log = zstd_level >= 10 ? 20 : 21;
  if (expected_bytes > 0) {
    int fit = 10;  // zstd's smallest window
    while (fit < log && (size_t{1} << fit) < expected_bytes) ++fit;
    log = fit;
  }
  ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_windowLog, log);
  if (zstd_level >= 10) {
    ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_hashLog, log);
    ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_chainLog, log);
  }
  out_.assign(kind_.magic.data(), 4);
  out_.push_back(static_cast<char>(kZstd));
}

FrameStreamWriter::~FrameStreamWriter() = default;

size_t FrameStreamWriter::memory() const { return ZSTD_sizeof_CCtx(ctx_->c); }

void FrameStreamWriter::compress(std::string_view in, int directive) {
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  for (;;) {
    const size_t at = out_.size();
    out_.resize(at + ZSTD_CStreamOutSize());
    ZSTD_outBuffer dst{out_.data() + at, ZSTD_CStreamOutSize(), 0};
    const size_t left =
        ZSTD_compressStream2(ctx_->c, &dst, &src, static_cast<ZSTD_EndDirective>(directive));
    out_.resize(at + dst.pos);
    if (ZSTD_isError(left)) throw Error(ErrorCode::kInternal, "zstd compression failed");
    if (left == 0 && src.pos == src.size) return;
  }
}

void FrameStreamWriter::add(Json doc, bool last) {
  if (!doc.is_object()) throw Error(ErrorCode::kInvalidArgument, "a frame is an object");
  if (last) doc["last"] = true;
  const std::vector<uint8_t> cbor = v2_detail::payload_cbor(doc);
  if (cbor.empty() || cbor.size() > kind_.max_frame_bytes) {
    throw Error(ErrorCode::kInvalidArgument, std::string(kind_.name) + " frame too large");
  }
  std::string frame;
  frame.reserve(kFrameHead + cbor.size());
  put_u32(frame, static_cast<uint32_t>(cbor.size()));
  put_u32(frame, crc_of(cbor.data(), cbor.size()));
  frame.append(reinterpret_cast<const char*>(cbor.data()), cbor.size());
  // Flushed: every frame decodes from the bytes so far, with the earlier ones as history.
  compress(frame, ZSTD_e_flush);
  ++frames_;
}

std::string FrameStreamWriter::take() {
  taken_ += out_.size();
  std::string bytes = std::move(out_);
  out_.clear();
  return bytes;
}

std::string FrameStreamWriter::finish() {
  compress({}, ZSTD_e_end);
  return std::move(out_);
}

struct FrameStreamReader::Ctx {
  ZSTD_DCtx* d = nullptr;
  ~Ctx() { ZSTD_freeDCtx(d); }
};

FrameStreamReader::FrameStreamReader(const FrameStreamKind& kind, size_t max_frame_bytes)
    : kind_(kind), ctx_(std::make_unique<Ctx>()), max_frame_(max_frame_bytes) {
  ctx_->d = ZSTD_createDCtx();
  if (!ctx_->d) throw Error(ErrorCode::kInternal, "zstd context");
  ZSTD_DCtx_setParameter(ctx_->d, ZSTD_d_windowLogMax, kind_.window_log_max);
}

FrameStreamReader::~FrameStreamReader() = default;

void FrameStreamReader::bad(const std::string& what) const {
  throw Error(ErrorCode::kProtocol, "invalid " + std::string(kind_.name) + ": " + what);
}

void FrameStreamReader::feed(std::string_view bytes,
                             const std::function<void(Json, bool)>& on_frame) {
  if (bytes.empty()) return;
  if (ended_) bad("bytes after the end of the stream");
  if (head_.size() < 5) {
    const size_t take = std::min(bytes.size(), 5 - head_.size());
    head_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (head_.size() < 5) return;
    if (std::memcmp(head_.data(), kind_.magic.data(), 4) != 0) {
      bad("no " + std::string(kind_.magic) + " header");
    }
    if (static_cast<uint8_t>(head_[4]) != kZstd) bad("unknown compression");
  }
  ZSTD_inBuffer src{bytes.data(), bytes.size(), 0};
  char buf[16 * 1024];
  for (;;) {
    if (ended_) {
      if (src.pos < src.size) bad("bytes after the end of the stream");
      return;
    }
    ZSTD_outBuffer dst{buf, sizeof buf, 0};
    const size_t r = ZSTD_decompressStream(ctx_->d, &dst, &src);
    // What came out before damage further on is handed over first: each frame's CRC
    // vouches for it, and a frame that arrived whole is kept.
    if (dst.pos > 0 && dst.pos <= sizeof buf) {
      if (last_seen_) bad("data after the last frame");
      pending_.append(buf, dst.pos);
      take_frames(on_frame);
    }
    if (ZSTD_isError(r)) bad(std::string("zstd stream is damaged (") + ZSTD_getErrorName(r) + ")");
    if (r == 0) {  // the zstd frame ended, its checksum verified
      if (!last_seen_ || !pending_.empty()) bad("the stream ended before its last frame");
      ended_ = true;
      continue;
    }
    // More output may wait inside zstd while the output buffer came back full.
    if (src.pos == src.size && dst.pos < dst.size) return;
  }
}

void FrameStreamReader::take_frames(const std::function<void(Json, bool)>& on_frame) {
  size_t at = 0;
  while (pending_.size() - at >= kFrameHead) {
    if (last_seen_) bad("data after the last frame");
    const uint32_t n = get_u32(pending_.data() + at);
    const uint32_t crc = get_u32(pending_.data() + at + 4);
    if (n == 0) bad("a frame of length 0");
    if (n > max_frame_) {
      throw Error(ErrorCode::kBodyTooLarge, "invalid " + std::string(kind_.name) + ": a frame of " +
                                                std::to_string(n) + " bytes, over the cap");
    }
    if (pending_.size() - at - kFrameHead < n) break;
    const char* payload = pending_.data() + at + kFrameHead;
    if (crc_of(payload, n) != crc) bad("frame " + std::to_string(frames_ + 1) + " CRC mismatch");
    Json page;
    try {
      page = v2_detail::decode_payload(std::string(payload, n), max_frame_);
    } catch (const Error& e) {
      bad("frame " + std::to_string(frames_ + 1) + ": " + e.what());
    }
    if (!page.is_object() || !kind_.is_document(page)) {
      bad("frame " + std::to_string(frames_ + 1) + " is not a " + kind_.document);
    }
    bool last = false;
    if (auto it = page.find("last"); it != page.end()) {
      last = *it == true;
      page.erase(it);
    }
    at += kFrameHead + n;
    ++frames_;
    last_seen_ = last;
    on_frame(std::move(page), last);
  }
  pending_.erase(0, at);
}

}  // namespace lumbung

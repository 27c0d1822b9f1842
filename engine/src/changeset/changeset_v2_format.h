// Change-set format v2: what its encoder (changeset_v2.cpp) and decoder
// (changeset_v2_decode.cpp) share. The format is described at the top of changeset_v2.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lumbung/changeset.h"

#include "lumbung/error.h"

namespace lumbung::v2_detail {

constexpr char kMagic[4] = {'L', 'B', 'C', '2'};
constexpr size_t kHeaderBytes = 9;
constexpr int kMaxDepth = 64;

enum Kind : uint64_t {
  kSet = 1,
  kDel = 2,
  kRec = 4,
  kGone = 8,
  kRefused = 16,
  kSv = 32,
  kRet = 64,
  kBase = 128,
  kDev = 256,
  kRaw = 512,
};
constexpr uint64_t kAllKinds = 1023;

// The CBOR payload of a v2 body (what follows the header once decompressed), and back:
// shared with the streamed pull (pull_stream.cpp), whose frames are such payloads.
// `document` must be an object (else Error(kInvalidArgument)).
std::vector<uint8_t> payload_cbor(const Json& document);
// As decode_changeset_v2 after decompression; `max_output` bounds the ops' rebuilding.
Json decode_payload(const std::string& cbor, size_t max_output);

[[noreturn]] inline void bad(const std::string& what) {
  throw Error(ErrorCode::kProtocol, "invalid change set v2: " + what);
}
[[noreturn]] inline void too_large(const std::string& what) {
  throw Error(ErrorCode::kBodyTooLarge, "change set v2 too large: " + what);
}

}  // namespace lumbung::v2_detail

// libFuzzer: the change-set v2 decoder (engine/src/changeset/changeset_v2.cpp) on arbitrary
// bytes, with the cap the server uses for a push. Whatever decodes must encode and decode
// to the same document; anything else must be an Error (kProtocol or kBodyTooLarge).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lumbung/changeset.h"
#include "lumbung/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const lumbung::Json doc = lumbung::decode_changeset_v2(bytes, 1 << 20);
    const lumbung::Json again = lumbung::decode_changeset_v2(
        lumbung::encode_changeset_v2(doc, {lumbung::V2Compression::kZstd, 1}), 1 << 22);
    if (again != doc) __builtin_trap();
  } catch (const lumbung::Error& e) {
    if (e.code() != lumbung::ErrorCode::kProtocol && e.code() != lumbung::ErrorCode::kBodyTooLarge)
      __builtin_trap();
  }
  return 0;
}

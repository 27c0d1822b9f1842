// libFuzzer: the server's pull-cursor decoder (server/src/sync/sync_service.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "lumbung/error.h"
#include "sync/sync_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const uint64_t pos = lumbung::server::decode_cursor(text);
    // A cursor that decodes names a position that encodes back to a decodable cursor.
    if (lumbung::server::decode_cursor(lumbung::server::encode_cursor(pos)) != pos)
      __builtin_trap();
  } catch (const lumbung::Error& e) {
    if (e.code() != lumbung::ErrorCode::kInvalidArgument) __builtin_trap();
  }
  return 0;
}

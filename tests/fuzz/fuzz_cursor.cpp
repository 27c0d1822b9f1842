// libFuzzer: the server's pull-cursor decoder (server/src/sync/sync_service.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "lumbung/error.h"
#include "sync/sync_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = lumbung::server::decode_cursor(text);
    // A cursor that decodes names an epoch and position that encode back to themselves
    // (a version-1 cursor has no epoch; it re-encodes with a placeholder one).
    const std::string epoch = c.epoch.empty() ? "0" : c.epoch;
    const auto back = lumbung::server::decode_cursor(lumbung::server::encode_cursor(epoch, c.pos));
    if (back.pos != c.pos || back.epoch != epoch) __builtin_trap();
  } catch (const lumbung::Error& e) {
    if (e.code() != lumbung::ErrorCode::kInvalidArgument) __builtin_trap();
  }
  return 0;
}

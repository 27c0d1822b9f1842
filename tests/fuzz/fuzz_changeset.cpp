// libFuzzer: the change-set decoder (engine/src/changeset) on arbitrary bytes, parsed the
// way the server parses request bodies (depth-checked first).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_input.h"
#include "lumbung/changeset.h"
#include "lumbung/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lumbung::Json j = lumbung::server::parse_json_input(
        std::string_view(reinterpret_cast<const char*>(data), size));
    const lumbung::ChangeSet cs = lumbung::decode_changeset(j);
    // What decodes must encode and decode to the same change set.
    const lumbung::ChangeSet again = lumbung::decode_changeset(lumbung::encode_changeset(cs));
    if (again.ops.size() != cs.ops.size() || again.device != cs.device) __builtin_trap();
  } catch (const lumbung::Error&) {
  }
  return 0;
}

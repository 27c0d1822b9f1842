// libFuzzer: the schema document parser (Schema::parse), then validation of a record
// against whatever schema parsed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_input.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lumbung::Json j = lumbung::server::parse_json_input(
        std::string_view(reinterpret_cast<const char*>(data), size));
    auto schema = lumbung::Schema::parse(j);
    for (const auto& name : {"enrolment", "x"}) {
      if (const auto* c = schema->collection(name)) {
        lumbung::Json rec = lumbung::Json{{"nik", "7242111911800001"}, {"full_name", "A"}};
        (void)c->normalize_and_validate(rec, /*partial=*/true);
      }
    }
  } catch (const lumbung::Error&) {
  }
  return 0;
}

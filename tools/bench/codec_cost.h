// Bytes and CPU of encoding and decoding the workload's change sets in format v1 (JSON,
// gzip) and v2 (columnar CBOR, zlib or zstd at several levels): what chose v2's compression.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lumbung/store.h"

namespace lumbung::bench {

// `wire`: a device's log as pushed (Store::pending_wire). Measures the push form (one
// change set, the device implied) and the pull form (the same ops naming their device),
// each as one body; CPU per record is the best of a few repetitions.
nlohmann::ordered_json measure_codecs(const std::vector<WireChange>& wire,
                                      const std::string& device);

}  // namespace lumbung::bench

// UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version 7, 74 random bits. Time-ordered so
// that records made on one device cluster in the B-tree; random enough that two offline
// devices never collide.
#pragma once

#include <cstdint>
#include <string>

namespace lumbung {

// A new UUIDv7 string for `unix_ms` (lowercase, 8-4-4-4-12). Thread-safe.
std::string make_uuid_v7(int64_t unix_ms);

// True if `s` is a UUID in canonical textual form (any version; lowercase or uppercase).
bool is_uuid(const std::string& s);

}  // namespace lumbung

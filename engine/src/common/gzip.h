// gzip (RFC 1952) of whole buffers with zlib, for bodies on the wire. cpprestsdk's listener
// does no compression and its Linux client does not compress requests (BUILD-NOTES.md),
// so both sides use these.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lumbung::gzip {

std::string compress(std::string_view data, int level = 6);

// Inflates `data` (gzip, or a zlib stream). Throws Error(kBodyTooLarge) as soon as the output would
// exceed `max_output` (a zip bomb stops there), Error(kProtocol) if it is not valid gzip.
std::string decompress(std::string_view data, size_t max_output);

}  // namespace lumbung::gzip

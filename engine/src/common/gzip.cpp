#include "common/gzip.h"

#include <zlib.h>

#include "lumbung/error.h"

namespace lumbung::gzip {

std::string compress(std::string_view data, int level) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer rather than a raw zlib stream.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error(ErrorCode::kInternal, "deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw Error(ErrorCode::kInternal, "deflate failed");
  out.resize(zs.total_out);
  return out;
}

std::string decompress(std::string_view data, size_t max_output) {
  z_stream zs{};
  // 15 + 32: accept a gzip or a zlib header.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw Error(ErrorCode::kInternal, "inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw Error(ErrorCode::kProtocol, "body is not valid gzip");
    }
    const size_t got = sizeof chunk - zs.avail_out;
    if (out.size() + got > max_output) {
      inflateEnd(&zs);
      throw Error(ErrorCode::kBodyTooLarge,
                  "inflated body exceeds " + std::to_string(max_output) + " bytes");
    }
    out.append(chunk, got);
    if (rc == Z_OK && got == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      throw Error(ErrorCode::kProtocol, "gzip body is truncated");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace lumbung::gzip

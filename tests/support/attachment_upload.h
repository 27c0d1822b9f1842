// One chunk of an attachment upload as a device sends it (docs/PROTOCOL.md "Attachments":
// POST /v1/attachments/{sha256}?offset=&size=&mime=, the chunk's own SHA-256 in a header),
// for tests that drive the server's attachment routes by hand.
#pragma once

#include <cstdint>
#include <string>

#include "support/http_test_client.h"
#include "support/sha256_hex.h"

namespace lumbung::test {

inline HttpResult post_attachment_chunk(HttpTestClient& http, const std::string& token,
                                        const std::string& sha, uint64_t offset, uint64_t size,
                                        const std::string& chunk,
                                        const std::string& mime = "image%2Fjpeg") {
  RequestOptions ro;
  ro.token = token;
  ro.content_type = "application/octet-stream";
  ro.headers["X-Lumbung-Chunk-Sha256"] = sha256_hex(chunk);
  return http.request("POST",
                      "/v1/attachments/" + sha + "?offset=" + std::to_string(offset) +
                          "&size=" + std::to_string(size) + "&mime=" + mime,
                      chunk, ro);
}

}  // namespace lumbung::test

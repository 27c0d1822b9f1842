// The files of server/web/, embedded in lumbung-server at build time (server/cmake/
// embed_web.cmake writes web_assets.cpp into the build directory), so the binary serves the
// page wherever it runs: tools/run.sh, a clean clone, an installed copy. No file is read at
// run time and nothing is downloaded.
#pragma once

#include <cstddef>

namespace lumbung::server {

struct WebAsset {
  const char* path;  // relative to server/web/, e.g. "index.html", "js/app.js"
  const unsigned char* data;
  size_t size;
};

// Every embedded file; `count` receives how many.
const WebAsset* web_assets(size_t& count);

}  // namespace lumbung::server

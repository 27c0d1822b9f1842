// A field laptop with an encrypted store and its attachment store, registered with a real
// lumbung-server, and the test photos it attaches: for the attachment tests of the engine
// (tests/engine/attachment_sync_test.cpp) and the server (tests/server/attachments_test.cpp).
// Header-only; needs server/server_fixture.h and lumbung_http.
#pragma once

#include <cstddef>
#include <memory>
#include <random>
#include <string>

#include "lumbung/attachments.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

namespace lumbung::test {

struct PhotoLaptop {
  TempDir dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<AttachmentStore> att;
  std::string token;

  PhotoLaptop(ServerFixture& f, const std::string& id, const std::string& region = "74.02") {
    OpenOptions o;
    o.path = dir.path() + "/" + id + ".db";
    o.schema = enrolment_schema();
    o.device_id = id;
    o.passphrase = "kata sandi petugas";  // attachments sealed like personal fields
    store = Store::open(o);
    att = AttachmentStore::open(*store, AttachmentStore::path_for(o.path));
    auto direct = make_http_transport(f.server().base_url());
    token = SyncClient(*store, *direct, "").register_device(f.code({region}), id);
  }
  // A whole sync (records, then attachments) straight to the server.
  SyncReport sync(ServerFixture& f) {
    auto direct = make_http_transport(f.server().base_url());
    return sync(*direct);
  }
  SyncReport sync(Transport& t, SyncOptions o = quick()) {
    o.attachments = att.get();
    return SyncClient(*store, t, token).sync(o);
  }
  static SyncOptions quick() {
    SyncOptions o;
    o.initial_backoff_ms = 20;
    o.max_backoff_ms = 100;
    return o;
  }
};

// Random (incompressible) bytes that look like a JPEG.
inline std::string photo(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  s[0] = '\xFF';
  s[1] = '\xD8';
  s[2] = '\xFF';
  return s;
}

}  // namespace lumbung::test

// Attachments (issue 17) end to end: the real lumbung-server, the real SyncClient and HTTP
// transport, the bench's link emulator (tools/bench/relay.h). Every loop is bounded.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>

#include "lumbung/attachments.h"
#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "relay.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/photo_laptop.h"
#include "support/temp_dir.h"

using namespace lumbung;
using bench::LinkProfile;
using bench::Relay;
using test::ServerFixture;

namespace {

using Laptop = test::PhotoLaptop;
using test::photo;

// Changes requests on their way, for the cases a real link does not make on demand.
class Tamper : public Transport {
 public:
  Tamper(Transport& inner, std::function<void(HttpRequest&)> edit)
      : inner_(inner), edit_(std::move(edit)) {}
  HttpResponse send(const HttpRequest& request) override {
    HttpRequest copy = request;
    edit_(copy);
    return inner_.send(copy);
  }

 private:
  Transport& inner_;
  std::function<void(HttpRequest&)> edit_;
};

bool is_chunk(const HttpRequest& r) {
  return r.method == "POST" && r.target.rfind("/v1/attachments/", 0) == 0;
}

test::HttpResult status_of(ServerFixture& f, const std::string& token, const std::string& sha) {
  return f.http().get("/v1/attachments/" + sha, token);
}

}  // namespace

TEST_CASE("a 300 KB photo over 2G cut every 30 KB arrives whole with at most 1.3x its bytes") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(300 * 1000, 17);
  const AttachmentRef ref =
      a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "ktp.jpg");
  CHECK(a.att->info(ref.sha256)->state == AttachmentState::kWaiting);
  {  // the record first, on a clean link: the relay below carries only the photo
    auto direct = make_http_transport(f.server().base_url());
    SyncOptions o = Laptop::quick();
    SyncClient(*a.store, *direct, a.token).sync(o);
  }
  // The bench's 2G profile (100 kbit/s each way, 200 ms one way), cut every 30 KB.
  Relay link(f.server().port(), LinkProfile{100000, 200, 30000});
  auto transport = make_http_transport(link.url());
  unsigned events = 0;
  SyncOptions o = Laptop::quick();
  o.on_attachment = [&](const AttachmentProgress& p) {
    ++events;
    CHECK(p.size == bytes.size());
  };
  const auto t0 = std::chrono::steady_clock::now();
  const AttachmentSyncReport r = upload_attachments(*a.att, *transport, a.token, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double carried = static_cast<double>(link.bytes_up() + link.bytes_down());
  MESSAGE("300 KB photo over 2G cut every 30 KB: "
          << carried << " B carried (" << carried / bytes.size() << "x), " << link.cuts()
          << " cuts, " << r.requests << " requests, " << secs << " s");
  CHECK(r.sent == 1);
  CHECK(r.failed == 0);
  CHECK(link.cuts() >= 5);
  CHECK(carried <= 1.3 * bytes.size());
  CHECK(events >= 5);
  CHECK(a.att->info(ref.sha256)->state == AttachmentState::kOnServer);
  auto st = status_of(f, a.token, ref.sha256);
  REQUIRE(st.status == 200);
  CHECK(st.json()["complete"] == true);
  CHECK(st.json()["received"] == bytes.size());

  // B pulls the record, never the bytes; it fetches them on demand, byte for byte.
  auto direct = make_http_transport(f.server().base_url());
  const SyncReport pulled = b.sync(*direct);
  CHECK(pulled.pulled >= 1);
  CHECK(pulled.bytes_down < 20000);  // the record, not the 300 KB
  CHECK_FALSE(b.att->read(ref.sha256).has_value());
  CHECK(b.att->fetch(*direct, b.token, "enrolment", id, "foto_ktp") == bytes);
  CHECK(b.att->read(ref.sha256) == bytes);  // kept, sealed, on B
}

TEST_CASE("records written after a photo reach the server while the photo cannot be sent") {
  ServerFixture f;
  Laptop a(f, "laptop-a");
  const std::string first = a.store->create("enrolment", test::konawe_enrolment(1));
  const AttachmentRef stuck =
      a.att->attach("enrolment", first, "foto_ktp", photo(50000, 1), "image/jpeg", "a.jpg");
  const std::string later = a.store->create("enrolment", test::konawe_enrolment(2));
  const AttachmentRef fine =
      a.att->attach("enrolment", later, "foto_ktp", photo(40000, 2), "image/jpeg", "b.jpg");
  // Every chunk of the first photo is damaged on the way (a faulty proxy): refused each
  // time; the other photo and every record go through.
  auto direct = make_http_transport(f.server().base_url());
  Tamper bad(*direct, [&](HttpRequest& r) {
    if (is_chunk(r) && r.target.find(stuck.sha256) != std::string::npos && !r.body.empty()) {
      r.body[r.body.size() / 2] ^= 0x55;
    }
  });
  const SyncReport r = a.sync(bad);
  CHECK(a.store->stats().pending_changes == 0);
  CHECK(f.records(f.admin()).size() == 2);  // both records, the later one too
  CHECK(r.attachments.sent == 1);
  CHECK(r.attachments.failed == 1);
  REQUIRE(r.attachments.errors.size() == 1);
  CHECK(r.attachments.errors[0].first == stuck.sha256);
  CHECK(a.att->info(stuck.sha256)->state == AttachmentState::kFailed);
  CHECK(a.att->info(fine.sha256)->state == AttachmentState::kOnServer);
  CHECK(status_of(f, a.token, stuck.sha256).status == 404);  // nothing of it kept

  // The link heals: the next sync sends it.
  const SyncReport again = a.sync(*direct);
  CHECK(again.attachments.sent == 1);
  CHECK(a.att->info(stuck.sha256)->state == AttachmentState::kOnServer);
}

TEST_CASE("a chunk damaged on the way is refused and sent again") {
  ServerFixture f;
  Laptop a(f, "laptop-a");
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(30000, 3);
  const AttachmentRef ref = a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "");
  auto direct = make_http_transport(f.server().base_url());
  int chunks = 0, damaged = 0;
  Tamper once(*direct, [&](HttpRequest& r) {
    if (!is_chunk(r)) return;
    if (++chunks == 2) {  // the second chunk, once
      r.body[0] ^= 1;
      ++damaged;
    }
  });
  const SyncReport r = a.sync(once);
  CHECK(damaged == 1);
  CHECK(r.attachments.sent == 1);
  CHECK(r.attachments.failed == 0);
  // Direct: the server's verdict on a damaged chunk, and nothing of it kept.
  auto st = status_of(f, a.token, ref.sha256);
  REQUIRE(st.status == 200);
  CHECK(st.json()["complete"] == true);
  test::RequestOptions ro;
  ro.token = a.token;
  ro.content_type = "application/octet-stream";
  ro.headers["X-Lumbung-Chunk-Sha256"] = std::string(64, '0');
  const std::string other = photo(1000, 4);
  auto refused = f.http().request(
      "POST", "/v1/attachments/" + std::string(64, 'a') + "?offset=0&size=1000&mime=image%2Fjpeg",
      other, ro);
  CHECK(refused.status == 422);
  CHECK(refused.json()["code"] == "validation_failed");
  CHECK(refused.json()["field"] == "chunk");
  CHECK(status_of(f, a.token, std::string(64, 'a')).status == 404);
  (void)bytes;
}

TEST_CASE("an upload stopped midway resumes where the server stopped after a restart") {
  ServerFixture f;
  auto lap = std::make_unique<Laptop>(f, "laptop-a");
  const std::string id = lap->store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(120000, 7);
  const AttachmentRef ref =
      lap->att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "ktp.jpg");
  auto direct = make_http_transport(f.server().base_url());
  SyncClient(*lap->store, *direct, lap->token).sync(Laptop::quick());  // the record only
  // Ctrl-C after the third chunk the server confirmed.
  std::atomic<bool> cancel{false};
  int answered = 0;
  SyncOptions o = Laptop::quick();
  o.cancel = &cancel;
  o.on_attachment = [&](const AttachmentProgress& p) {
    if (p.sent > 0 && ++answered == 3) cancel = true;
  };
  CHECK_THROWS_AS(upload_attachments(*lap->att, *direct, lap->token, o), Error);
  auto st = status_of(f, lap->token, ref.sha256);
  REQUIRE(st.status == 200);
  const uint64_t held = st.json()["received"].get<uint64_t>();
  CHECK(held > 0);
  CHECK(held < bytes.size());
  CHECK(lap->att->info(ref.sha256)->sent == held);

  // The laptop restarts (store and attachment file opened again): the upload goes on from
  // the server's offset, every byte before it sent once only.
  const std::string path = lap->dir.path() + "/laptop-a.db";
  const std::string token = lap->token;
  lap->att.reset();
  lap->store.reset();
  OpenOptions oo;
  oo.path = path;
  oo.schema = test::enrolment_schema();
  oo.device_id = "laptop-a";
  oo.passphrase = "kata sandi petugas";
  lap->store = Store::open(oo);
  lap->att = AttachmentStore::open(*lap->store, AttachmentStore::path_for(path));
  uint64_t first_offset = UINT64_MAX, chunk_bytes = 0;
  Tamper watch(*direct, [&](HttpRequest& r) {
    if (!is_chunk(r)) return;
    const size_t at = r.target.find("offset=");
    first_offset = std::min<uint64_t>(first_offset, std::stoull(r.target.substr(at + 7)));
    chunk_bytes += r.body.size();
  });
  const AttachmentSyncReport again = upload_attachments(*lap->att, watch, token, Laptop::quick());
  CHECK(again.sent == 1);
  CHECK(first_offset == held);
  CHECK(chunk_bytes == bytes.size() - held);
  CHECK(lap->att->info(ref.sha256)->state == AttachmentState::kOnServer);
  auto whole = f.http().get(
      "/v1/attachments/" + ref.sha256 + "/content?collection=enrolment&record=" + id, f.admin());
  CHECK(whole.body == bytes);
}

TEST_CASE("a device cannot read an attachment outside its regions") {
  ServerFixture f;
  Laptop a(f, "laptop-a", "74.02"), near(f, "laptop-near", "74.02"), far(f, "laptop-far", "74.14");
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(20000, 5);
  const AttachmentRef ref = a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "");
  auto direct = make_http_transport(f.server().base_url());
  REQUIRE(a.sync(*direct).attachments.sent == 1);
  const std::string path =
      "/v1/attachments/" + ref.sha256 + "/content?collection=enrolment&record=" + id;
  auto mine = f.http().get(path, near.token);
  CHECK(mine.status == 200);
  CHECK(mine.body == bytes);
  CHECK(mine.header("x-lumbung-size") == std::to_string(bytes.size()));
  auto outside = f.http().get(path, far.token);
  CHECK(outside.status == 403);
  CHECK(outside.body.find(bytes.substr(100, 16)) == std::string::npos);
  // Naming a record of its own region that does not refer to the file gets nothing either.
  const std::string own = far.store->create("enrolment", [] {
    Json r = test::sample_enrolment(9);
    r["village_code"] = "7414091481";
    return r;
  }());
  REQUIRE(far.sync(*direct).pushed >= 1);
  auto other = f.http().get(
      "/v1/attachments/" + ref.sha256 + "/content?collection=enrolment&record=" + own, far.token);
  CHECK(other.status == 404);
  // The office (admin) reads it; partial reads by offset for a resumed download.
  auto admin = f.http().get(path + "&offset=100&limit=50", f.admin());
  CHECK(admin.status == 200);
  CHECK(admin.body == bytes.substr(100, 50));
  // The office web page's session cookie reads it too (the record page's <img>).
  auto login = f.http().request("POST", "/v1/web/login", Json{{"token", f.admin()}}.dump(),
                                test::RequestOptions{});
  REQUIRE(login.status == 200);
  const std::string set_cookie = login.header("set-cookie");
  test::RequestOptions page;
  page.headers["Cookie"] = set_cookie.substr(0, set_cookie.find(';'));
  auto img = f.http().request("GET", path, "", page);
  CHECK(img.status == 200);
  CHECK(img.body == bytes);
  CHECK(img.header("content-type").find("image/jpeg") == 0);
  CHECK(img.header("cache-control").find("no-store") != std::string::npos);
  CHECK_THROWS_AS(far.att->fetch(*direct, far.token, "enrolment", id, "foto_ktp"), Error);
}

TEST_CASE("the same photo twice is kept once and a file no record refers to is collected") {
  ServerFixture f;
  Laptop a(f, "laptop-a");
  const std::string one = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string two = a.store->create("enrolment", test::konawe_enrolment(2));
  const std::string bytes = photo(10000, 6);
  const AttachmentRef r1 = a.att->attach("enrolment", one, "foto_ktp", bytes, "image/jpeg", "");
  a.att->attach("enrolment", two, "formulir", bytes, "image/jpeg", "");
  auto direct = make_http_transport(f.server().base_url());
  const SyncReport first = a.sync(*direct);
  CHECK(first.attachments.sent == 1);  // one file, two references
  // Another laptop with the same photo sends none of its bytes.
  Laptop b(f, "laptop-b");
  b.sync(*direct);
  const std::string three = b.store->create("enrolment", test::konawe_enrolment(3));
  b.att->attach("enrolment", three, "foto_ktp", bytes, "image/jpeg", "");
  const SyncReport dup = b.sync(*direct);
  CHECK(dup.attachments.sent == 1);
  CHECK(dup.attachments.already == 1);
  CHECK(dup.attachments.bytes == 0);
  // Still referred to: kept. (Orphans wait orphan_grace_ms, a day, before they go.)
  auto gc = f.http().request("POST", "/v1/admin/attachments/gc", "", [&] {
    test::RequestOptions ro;
    ro.token = f.admin();
    return ro;
  }());
  REQUIRE(gc.status == 200);
  CHECK(gc.json()["removed"] == 0);
  CHECK(status_of(f, a.token, r1.sha256).json()["complete"] == true);
  // A device may not run the collector.
  test::RequestOptions dev;
  dev.token = a.token;
  CHECK(f.http().request("POST", "/v1/admin/attachments/gc", "", dev).status == 403);
}

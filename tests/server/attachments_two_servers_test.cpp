// Two lumbung-server processes on one PostgreSQL database share attachment bytes (issue 17:
// the bytes in the database, store/pg_attachment_bytes.h): the chunks of one file sent
// alternately to each, the same chunk to both at once, the file served by both, and a
// collection on one removing it for both. The real servers, started as for production
// (--db, one key file); every loop bounded. PostgreSQL build only.
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "server/attachment_backend.h"
#include "server/server_fixture.h"
#include "support/attachment_upload.h"
#include "support/photo_laptop.h"
#include "support/sha256_hex.h"

using namespace lumbung;
using test::Device;
using test::HttpTestClient;
using test::json;
using test::ServerFixture;
using test::ServerProcess;

namespace {

using test::sha256_hex;  // the test's own (support/sha256_hex.h)

using test::post_attachment_chunk;

test::HttpResult run_gc(HttpTestClient& http, const std::string& admin) {
  test::RequestOptions ro;
  ro.token = admin;
  return http.request("POST", "/v1/admin/attachments/gc", "", ro);
}

std::string content_path(const std::string& sha, const std::string& id) {
  return "/v1/attachments/" + sha + "/content?collection=enrolment&record=" + id;
}

}  // namespace

TEST_CASE("two servers on one database share an upload chunk by chunk and its collection") {
  // Server A (the fixture) judges ages as now; server B 25 h ahead (its collections remove
  // orphans at once). Same database, same key file.
  ServerFixture f;
  const std::string root = std::filesystem::path(f.data_dir()).parent_path().string();
  ServerProcess b_proc(LUMBUNG_SERVER_BIN, "", root + "/admin-token-b",
                       {"--db", f.db_url(), "--key-file", root + "/server.key",
                        "--attachment-age-offset-hours", "25"});
  HttpTestClient a(f.server().base_url()), b(b_proc.base_url());
  HttpTestClient* servers[2] = {&a, &b};
  Device dev = f.device("dev-a", {"74.02"});

  const std::string bytes = test::photo(300 * 1000, 7);
  const std::string sha = sha256_hex(bytes);
  const size_t kChunk = 20 * 1000;
  uint64_t held = 0;
  int sent = 0;
  // Chunks alternate between the servers; every third one is also sent again to the other
  // (its answer lost): kept once. Bounded: 15 chunks of 20 KB, at most 40 requests.
  for (int i = 0; i < 40 && held < bytes.size(); ++i) {
    HttpTestClient& to = *servers[i % 2];
    const std::string chunk = bytes.substr(held, kChunk);
    auto r = post_attachment_chunk(to, dev.token, sha, held, bytes.size(), chunk);
    REQUIRE(r.status == 200);
    const uint64_t now = r.json()["received"].get<uint64_t>();
    CHECK(now == held + chunk.size());
    ++sent;
    if (i % 3 == 2 && now < bytes.size()) {
      auto again =
          post_attachment_chunk(*servers[(i + 1) % 2], dev.token, sha, held, bytes.size(), chunk);
      REQUIRE(again.status == 200);
      CHECK(again.json()["received"].get<uint64_t>() == now);  // not kept twice
    }
    // The other server knows how far the upload is (no index of its own).
    CHECK(servers[(i + 1) % 2]->get("/v1/attachments/" + sha, dev.token).json()["received"] == now);
    held = now;
  }
  CHECK(sent == 15);
  REQUIRE(held == bytes.size());
  for (auto* s : servers) {
    auto st = s->get("/v1/attachments/" + sha, dev.token);
    REQUIRE(st.status == 200);
    CHECK(st.json()["complete"] == true);
  }

  // The same chunk of another file to both servers at the same moment: one append, and
  // both answers say where to go on (no gap, no double bytes). Ten rounds, two threads.
  const std::string other = test::photo(100 * 1000, 8);
  const std::string other_sha = sha256_hex(other);
  uint64_t at = 0;
  for (int round = 0; round < 10 && at < other.size(); ++round) {
    const std::string chunk = other.substr(at, 10 * 1000);
    test::HttpResult ra, rb;
    std::thread ta(
        [&] { ra = post_attachment_chunk(a, dev.token, other_sha, at, other.size(), chunk); });
    std::thread tb(
        [&] { rb = post_attachment_chunk(b, dev.token, other_sha, at, other.size(), chunk); });
    ta.join();
    tb.join();
    REQUIRE(ra.status == 200);
    REQUIRE(rb.status == 200);
    CHECK(ra.json()["received"] == at + chunk.size());
    CHECK(rb.json()["received"] == at + chunk.size());
    at += chunk.size();
  }
  CHECK(a.get("/v1/attachments/" + other_sha, dev.token).json()["complete"] == true);

  // A record names the first file: both serve it byte for byte.
  const uint64_t h = test::hlc_now();
  json rec = test::konawe_record_1();
  rec["foto_ktp"] = {{"sha256", sha}, {"size", bytes.size()}, {"mime", "image/jpeg"}};
  REQUIRE(f.push(dev, json::array({test::make_op(1, "rec-att", h, rec)})).status == 200);
  for (auto* s : servers) {
    auto got = s->get(content_path(sha, "rec-att"), f.admin());
    REQUIRE(got.status == 200);
    CHECK(got.body == bytes);
    auto range = s->get(content_path(sha, "rec-att") + "&offset=19990&limit=30", dev.token);
    CHECK(range.body == bytes.substr(19990, 30));  // across two stored chunks
  }

  // B's collection: the second file (an orphan, 25 h old to B) goes, for A too; the named
  // one stays. Then the record lets go of it and A's view follows B's next collection.
  auto gc = run_gc(b, f.admin());
  REQUIRE(gc.status == 200);
  CHECK(gc.json()["removed"] == 1);
  CHECK(a.get("/v1/attachments/" + other_sha, f.admin()).status == 404);
  CHECK(test::files_of(f, other_sha).empty());
  CHECK(a.get(content_path(sha, "rec-att"), f.admin()).body == bytes);
  json clear{{"foto_ktp", nullptr}};
  REQUIRE(f.push(dev, json::array({test::make_op(2, "rec-att", h + 1, clear,
                                                 json{{"foto_ktp", json::array({h, "dev-a"})}})}))
              .status == 200);
  gc = run_gc(b, f.admin());
  REQUIRE(gc.status == 200);
  CHECK(gc.json()["removed"] == 1);
  CHECK(b.get("/v1/attachments/" + sha, f.admin()).status == 404);
  CHECK(a.get("/v1/attachments/" + sha, f.admin()).status == 404);
  CHECK(test::files_of(f, sha).empty());
  // A's own collection finds nothing left to remove.
  CHECK(run_gc(a, f.admin()).json()["removed"] == 0);
  b_proc.stop();
}

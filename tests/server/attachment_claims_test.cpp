// Who may name which attachment (issue 17, the claim rule), through the real lumbung-server:
// a file is named by its SHA-256 from any record's attachment field; the server keeps it
// once whatever names it (deduplicated), the device that sent its first chunk pays for it in
// its quota, a reader gets its bytes only through a record it may read whose current value
// names the file (hash and size), and it is kept while any live record names it; the status
// of a file tells nothing to a token with no right to it. Laptops are the real Store,
// AttachmentStore, SyncClient and HTTP transport. Every loop is bounded. Run on SQLite
// and on PostgreSQL ("postgres: ..." in CTest, support/test_backend.h).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "lumbung/attachments.h"
#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/attachment_backend.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/photo_laptop.h"
#include "support/sha256_hex.h"

using namespace lumbung;
using test::ServerFixture;

namespace {

namespace fs = std::filesystem;

using Laptop = test::PhotoLaptop;
using test::photo;

using test::sha256_hex;  // the test's own (support/sha256_hex.h)

using test::files_of;  // what the server stores of a file (files or rows)

test::HttpResult post_chunk(ServerFixture& f, const std::string& token, const std::string& sha,
                            uint64_t offset, uint64_t size, const std::string& chunk) {
  test::RequestOptions ro;
  ro.token = token;
  ro.content_type = "application/octet-stream";
  ro.headers["X-Lumbung-Chunk-Sha256"] = sha256_hex(chunk);
  return f.http().request("POST",
                          "/v1/attachments/" + sha + "?offset=" + std::to_string(offset) +
                              "&size=" + std::to_string(size) + "&mime=image%2Fjpeg",
                          chunk, ro);
}

test::HttpResult content(ServerFixture& f, const std::string& token, const std::string& sha,
                         const std::string& id) {
  return f.http().get("/v1/attachments/" + sha + "/content?collection=enrolment&record=" + id,
                      token);
}

test::HttpResult run_gc(ServerFixture& f) {
  test::RequestOptions ro;
  ro.token = f.admin();
  return f.http().request("POST", "/v1/admin/attachments/gc", "", ro);
}

// A person of Kabupaten Kolaka Timur (74.14), outside a 74.02 laptop's regions.
Json koltim_enrolment(int serial) {
  Json r = test::sample_enrolment(serial);
  r["village_code"] = "7414091481";
  return r;
}

}  // namespace

TEST_CASE("two records on two laptops name one photo and it is kept once for both") {
  ServerFixture f({"--attachment-quota-mb", "1"});
  Laptop a(f, "laptop-a", "74.02"), b(f, "laptop-b", "74.14");
  const std::string bytes = photo(600 * 1000, 61);
  const std::string sha = sha256_hex(bytes);
  const std::string ra = a.store->create("enrolment", test::konawe_enrolment(1));
  a.att->attach("enrolment", ra, "foto_ktp", bytes, "image/jpeg", "ktp.jpg");
  REQUIRE(a.sync(f).attachments.sent == 1);

  // The same bytes attached on another laptop to a record of its own regions: the server
  // has them whole, so nothing is sent again.
  const std::string rb = b.store->create("enrolment", koltim_enrolment(2));
  b.att->attach("enrolment", rb, "foto_ktp", bytes, "image/jpeg", "scan.jpg");
  const SyncReport rep = b.sync(f);
  CHECK(rep.pushed == 2);  // the record and its reference
  CHECK(rep.attachments.already == 1);
  CHECK(rep.attachments.bytes == 0);
  CHECK(rep.attachments.bytes_up < 2000);  // the status call only
  CHECK(b.att->info(sha)->state == AttachmentState::kOnServer);
  CHECK(files_of(f, sha) == std::set<std::string>{".blob", ".meta"});  // one copy

  // The first sender pays: A's 1 MiB holds the 600 KB, B's holds nothing of it.
  const std::string more = photo(600 * 1000, 62);
  auto a_more = post_chunk(f, a.token, sha256_hex(more), 0, more.size(), more.substr(0, 4000));
  CHECK(a_more.status == 403);
  CHECK(a_more.json()["code"] == "quota_exceeded");
  CHECK(post_chunk(f, b.token, sha256_hex(more), 0, more.size(), more.substr(0, 4000)).status ==
        200);

  // Each reads it through its own record, neither through the other's (other regions).
  CHECK(content(f, a.token, sha, ra).body == bytes);
  CHECK(content(f, b.token, sha, rb).body == bytes);
  CHECK(content(f, a.token, sha, rb).status == 403);
  CHECK(content(f, b.token, sha, ra).status == 403);

  // A's record lets go of it: kept a day later for B's record, no longer served through A's.
  a.store->update("enrolment", ra, Json{{"foto_ktp", nullptr}});
  REQUIRE(a.sync(f).pushed == 1);
  f.set_extra_args({"--attachment-quota-mb", "1", "--attachment-age-offset-hours", "25"});
  f.restart();
  REQUIRE(run_gc(f).status == 200);
  CHECK(content(f, b.token, sha, rb).body == bytes);
  CHECK(content(f, a.token, sha, ra).status == 404);
  // B's record lets go too: the next collection removes it.
  b.store->update("enrolment", rb, Json{{"foto_ktp", nullptr}});
  REQUIRE(b.sync(f).pushed == 1);
  REQUIRE(run_gc(f).status == 200);
  CHECK(files_of(f, sha).empty());
  CHECK(content(f, f.admin(), sha, rb).status == 404);
}

TEST_CASE("a laptop naming a file another laptop left half sent finishes it from where it is") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  const std::string bytes = photo(200 * 1000, 71);
  const std::string sha = sha256_hex(bytes);
  // A sent the first 80 KB and went quiet (its record with it).
  REQUIRE(post_chunk(f, a.token, sha, 0, bytes.size(), bytes.substr(0, 80000)).json()["received"] ==
          80000);
  // B attaches the same bytes: its sync asks for the status and sends only the rest.
  const std::string rb = b.store->create("enrolment", test::konawe_enrolment(3));
  b.att->attach("enrolment", rb, "foto_ktp", bytes, "image/jpeg", "");
  const SyncReport rep = b.sync(f);
  CHECK(rep.attachments.sent == 1);
  CHECK(rep.attachments.bytes == bytes.size() - 80000);
  CHECK(content(f, b.token, sha, rb).body == bytes);

  // Bytes that are not the file never become it: a laptop announcing a hash with other
  // bytes has them dropped at the end, and the file is not served.
  const std::string other = photo(30000, 72);
  const std::string forged_sha = sha256_hex(photo(30000, 73));
  auto forged = post_chunk(f, a.token, forged_sha, 0, other.size(), other);
  CHECK(forged.status == 422);
  CHECK(forged.json()["field"] == "sha256");
  CHECK(f.http().get("/v1/attachments/" + forged_sha, a.token).status == 404);
  CHECK(files_of(f, forged_sha).empty());
}

TEST_CASE("a reference with the right hash but another size does not read the file") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  const std::string bytes = photo(50 * 1000, 81);
  const std::string ra = a.store->create("enrolment", test::konawe_enrolment(4));
  const AttachmentRef ref = a.att->attach("enrolment", ra, "foto_ktp", bytes, "image/jpeg", "");
  REQUIRE(a.sync(f).attachments.sent == 1);
  // B's record names the file's hash with a size that is not the file's.
  const std::string rb = b.store->create("enrolment", test::konawe_enrolment(5));
  b.store->update(
      "enrolment", rb,
      Json{{"foto_ktp", {{"sha256", ref.sha256}, {"size", 1234}, {"mime", "image/jpeg"}}}});
  REQUIRE(b.sync(f).pushed >= 1);
  auto wrong = content(f, b.token, ref.sha256, rb);
  CHECK(wrong.status == 404);
  CHECK(wrong.body.find(bytes.substr(100, 16)) == std::string::npos);
  // A laptop fetching through that record is told the file is not there (before: it took
  // the bytes and failed on their length).
  auto direct = make_http_transport(f.server().base_url());
  try {
    b.att->fetch(*direct, b.token, "enrolment", rb, "foto_ktp", Laptop::quick());
    FAIL("the fetch should have been refused");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kNotFound);
  }
  // Through the record that names it rightly (pulled by B's syncs), B reads it.
  REQUIRE(b.store->get("enrolment", ra).has_value());
  CHECK(b.att->fetch(*direct, b.token, "enrolment", ra, "foto_ktp", Laptop::quick()) == bytes);
}

TEST_CASE("naming a file's hash in a record of one's own regions is enough to read it") {
  // The rule as it is (no proof that the naming laptop ever held the bytes): the SHA-256 is
  // the capability. A laptop learns one only from a record it may read or from the bytes
  // themselves, so this reads nothing it could not read already, except a photo of a record
  // that has left its regions or was replaced since. docs/PROTOCOL.md "Attachments".
  ServerFixture f;
  Laptop a(f, "laptop-a", "74.02"), far(f, "laptop-far", "74.14");
  const std::string bytes = photo(40 * 1000, 91);
  const std::string ra = a.store->create("enrolment", test::konawe_enrolment(6));
  const AttachmentRef ref = a.att->attach("enrolment", ra, "foto_ktp", bytes, "image/jpeg", "");
  REQUIRE(a.sync(f).attachments.sent == 1);
  CHECK(content(f, far.token, ref.sha256, ra).status == 403);  // A's record: outside
  const std::string own = far.store->create("enrolment", koltim_enrolment(7));
  far.store->update("enrolment", own, Json{{"foto_ktp", ref.to_json()}});
  REQUIRE(far.sync(f).pushed >= 1);
  CHECK(content(f, far.token, ref.sha256, own).body == bytes);
}

TEST_CASE("a file a laptop is told of while a collection scans is kept by that collection") {
  // Every collection waits 4 s between its scan of the records and its removals, and judges
  // ages 25 h ahead: the two orphans below are old enough to go.
  ServerFixture f({"--attachment-age-offset-hours", "25", "--attachment-gc-pause-ms", "4000"});
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  const std::string told = photo(40 * 1000, 101), untold = photo(40 * 1000, 102);
  const std::string told_sha = sha256_hex(told), untold_sha = sha256_hex(untold);
  for (const auto* bytes : {&told, &untold}) {
    REQUIRE(
        post_chunk(f, a.token, sha256_hex(*bytes), 0, bytes->size(), *bytes).json()["complete"] ==
        true);
  }
  // The collector's own first pass (at start) may still be pausing: wait it out (bounded).
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));

  test::HttpResult gc;
  std::thread collection([&] { gc = run_gc(f); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // its scan is done by now
  // While it pauses, laptop B records both files: one attached (its sync asks the server
  // for the status, is told the file is complete and sends nothing), the other only named
  // (a reference pushed, no status asked).
  const std::string r1 = b.store->create("enrolment", test::konawe_enrolment(11));
  b.att->attach("enrolment", r1, "foto_ktp", told, "image/jpeg", "");
  const std::string r2 = b.store->create("enrolment", test::konawe_enrolment(12));
  b.store->update("enrolment", r2,
                  Json{{"foto_ktp",
                        {{"sha256", untold_sha},
                         {"size", static_cast<int64_t>(untold.size())},
                         {"mime", "image/jpeg"}}}});
  const SyncReport rep = b.sync(f);
  CHECK(rep.attachments.already == 1);
  collection.join();
  REQUIRE(gc.status == 200);
  // The pass kept the file it had told B of, though its scan did not see B's record...
  CHECK(files_of(f, told_sha) == std::set<std::string>{".blob", ".meta"});
  CHECK(content(f, b.token, told_sha, r1).body == told);
  // ... and removed the one only named meanwhile: what the claim is there for (a laptop that
  // names a file it did not attach itself is not protected; the reference client always asks
  // for the status of the files it attached).
  CHECK(files_of(f, untold_sha).empty());
  CHECK(content(f, b.token, untold_sha, r2).status == 404);
}

TEST_CASE("the status of a file tells a token with no right to it nothing") {
  // GET /v1/attachments/{sha} answers a caller with no right to the file exactly as for a
  // hash the server never saw: the right is the content route's (the device that sent its
  // first chunk, a reader whose regions hold a live record naming its hash and size, an
  // admin).
  ServerFixture f;
  Laptop a(f, "laptop-a", "74.02"), far(f, "laptop-far", "74.14");
  const std::string bytes = photo(40 * 1000, 111);
  const std::string ra = a.store->create("enrolment", test::konawe_enrolment(21));
  const AttachmentRef ref = a.att->attach("enrolment", ra, "foto_ktp", bytes, "image/jpeg", "");
  REQUIRE(a.sync(f).attachments.sent == 1);
  // And an upload A left half sent (no record names it).
  const std::string half = photo(30 * 1000, 112);
  const std::string half_sha = sha256_hex(half);
  REQUIRE(post_chunk(f, a.token, half_sha, 0, half.size(), half.substr(0, 10000)).status == 200);
  const std::string unknown_sha = sha256_hex(photo(1000, 113));

  auto status = [&](const std::string& token, const std::string& sha) {
    return f.http().get("/v1/attachments/" + sha, token);
  };
  // The answer to a hash, with the hash itself taken out: what a prober could compare.
  auto answer = [&](const std::string& token, const std::string& sha) {
    auto r = status(token, sha);
    std::string body = r.body;
    for (size_t at = body.find(sha); at != std::string::npos; at = body.find(sha)) {
      body.replace(at, sha.size(), "<sha>");
    }
    return std::to_string(r.status) + " " + body;
  };
  const std::string unknown = answer(far.token, unknown_sha);
  CHECK(unknown.rfind("404 ", 0) == 0);
  MESSAGE("a hash the server never saw: " << unknown);
  // Another region's device probes the complete file and the half-sent one: the same answer.
  CHECK(answer(far.token, ref.sha256) == unknown);
  CHECK(answer(far.token, half_sha) == unknown);
  // A reviewer of another region: the same.
  auto rv = f.http().post(
      "/v1/admin/tokens",
      test::json{{"role", "reviewer"}, {"label", "far"}, {"scope", test::json::array({"74.14"})}},
      f.admin());
  REQUIRE(rv.status == 201);
  const std::string far_reviewer = rv.json()["token"];
  CHECK(answer(far_reviewer, ref.sha256) == answer(far_reviewer, unknown_sha));
  CHECK(status(far_reviewer, ref.sha256).status == 404);

  // Those with a right see it: the uploader (both files), a national reviewer and an admin
  // (the record is theirs to read), a reviewer of the record's region.
  CHECK(status(a.token, ref.sha256).json()["complete"] == true);
  CHECK(status(a.token, half_sha).json()["received"] == 10000);
  CHECK(status(f.reviewer(), ref.sha256).json()["complete"] == true);
  CHECK(status(f.admin(), half_sha).json()["received"] == 10000);
  auto near = f.http().post(
      "/v1/admin/tokens",
      test::json{{"role", "reviewer"}, {"label", "near"}, {"scope", test::json::array({"74.02"})}},
      f.admin());
  REQUIRE(near.status == 201);
  const std::string near_reviewer = near.json()["token"];
  CHECK(status(near_reviewer, ref.sha256).json()["complete"] == true);
  // A device of the same region as the record (not its uploader): it may read the record.
  Laptop b(f, "laptop-b", "74.02");
  CHECK(status(b.token, ref.sha256).json()["complete"] == true);
  // The far device once a record of its own regions names the file (hash and size): the
  // claim rule of the content route, no more.
  const std::string own = far.store->create("enrolment", koltim_enrolment(22));
  far.store->update("enrolment", own,
                    Json{{"foto_ktp",
                          {{"sha256", ref.sha256},
                           {"size", static_cast<int64_t>(bytes.size()) + 1},
                           {"mime", "image/jpeg"}}}});
  REQUIRE(far.sync(f).pushed >= 1);
  CHECK(answer(far.token, ref.sha256) == unknown);  // another size: not this file
  far.store->update("enrolment", own, Json{{"foto_ktp", ref.to_json()}});
  REQUIRE(far.sync(f).pushed >= 1);
  CHECK(status(far.token, ref.sha256).json()["complete"] == true);
}

// The server's side of attachments (issue 17), each through the real lumbung-server: the
// per-device quota, the collection of orphans after 24 h (the server's clock for it moved
// by --attachment-age-offset-hours, never a sleep), a download over a link cut every 30 KB
// that resumes, and the sealing of the stored bytes across a restart. Run on the SQLite
// server (files under the data directory) and, as "postgres:<case>" in CTest, on
// PostgreSQL (the bytes in the database; server/attachment_backend.h looks at either).
// Laptops are the real Store, AttachmentStore, SyncClient and HTTP transport; the cut link
// is the bench's relay (tools/bench/relay.h). Every loop is bounded.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include "lumbung/attachments.h"
#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "relay.h"
#include "server/attachment_backend.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/photo_laptop.h"
#include "support/sha256_hex.h"
#include "support/temp_dir.h"
#include "support/test_backend.h"

using namespace lumbung;
using bench::LinkProfile;
using bench::Relay;
using test::ServerFixture;

namespace {

namespace fs = std::filesystem;

using Laptop = test::PhotoLaptop;
using test::photo;

using test::sha256_hex;  // the test's own (support/sha256_hex.h)

using test::files_of;

std::string read_all(const fs::path& p) { return test::read_whole(p); }

test::HttpResult status_of(ServerFixture& f, const std::string& token, const std::string& sha) {
  return f.http().get("/v1/attachments/" + sha, token);
}

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

test::HttpResult run_gc(ServerFixture& f) {
  test::RequestOptions ro;
  ro.token = f.admin();
  return f.http().request("POST", "/v1/admin/attachments/gc", "", ro);
}

std::string content_path(const std::string& sha, const std::string& id) {
  return "/v1/attachments/" + sha + "/content?collection=enrolment&record=" + id;
}

}  // namespace

TEST_CASE("a device over its attachment quota is refused clearly and its records still sync") {
  ServerFixture f({"--attachment-quota-mb", "1"});
  Laptop a(f, "laptop-a");
  // Three photos of 400 KB against a quota of 1 MiB: two fit, the third does not.
  std::vector<std::string> ids, bytes;
  std::vector<AttachmentRef> refs;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(a.store->create("enrolment", test::konawe_enrolment(i + 1)));
    bytes.push_back(photo(400 * 1000, 100 + i));
    refs.push_back(
        a.att->attach("enrolment", ids.back(), "foto_ktp", bytes.back(), "image/jpeg", "ktp.jpg"));
  }
  const SyncReport r = a.sync(f);
  CHECK(a.store->stats().pending_changes == 0);
  CHECK(f.records(f.admin()).size() == 3);  // every record, the one with the refused photo too
  CHECK(r.attachments.sent == 2);
  CHECK(r.attachments.failed == 1);
  REQUIRE(r.attachments.errors.size() == 1);
  const std::string refused = r.attachments.errors[0].first;
  // The laptop keeps the photo as not sent, with the server's reason (what `lumbung show`
  // prints: attach.state_failed with AttachmentInfo::error).
  const auto info = a.att->info(refused);
  REQUIRE(info.has_value());
  CHECK(info->state == AttachmentState::kFailed);
  CHECK(info->local);
  CHECK(info->error.find("quota") != std::string::npos);
  CHECK(info->error.find("1.00 MiB") != std::string::npos);
  CHECK(info->error_code == "quota_exceeded");  // what the CLI says in the officer's words
  MESSAGE("the laptop's reason: " << info->error);
  int on_server = 0;
  for (const auto& ref : refs) {
    if (ref.sha256 == refused) continue;
    CHECK(a.att->info(ref.sha256)->state == AttachmentState::kOnServer);
    CHECK(status_of(f, a.token, ref.sha256).json()["complete"] == true);
    ++on_server;
  }
  CHECK(on_server == 2);
  // Nothing of the refused file on the server: no status, no file in its directory.
  CHECK(status_of(f, a.token, refused).status == 404);
  CHECK(files_of(f, refused).empty());

  // The refusal itself: a stable code and field, a message for people.
  const std::string other = photo(300 * 1000, 200);
  const std::string other_sha = sha256_hex(other);
  auto direct = post_chunk(f, a.token, other_sha, 0, other.size(), other.substr(0, 8000));
  // 403 as before the code existed: a client that does not know quota_exceeded keeps the
  // file failed and tries it at the next sync (a 5xx would be retried at once).
  CHECK(direct.status == 403);
  CHECK(direct.json()["code"] == "quota_exceeded");
  CHECK(direct.json()["field"] == "quota");
  CHECK(direct.json()["detail"].get<std::string>().find("--attachment-quota-mb") !=
        std::string::npos);
  CHECK(files_of(f, other_sha).empty());
  // Another device's quota is its own.
  Laptop b(f, "laptop-b");
  CHECK(post_chunk(f, b.token, other_sha, 0, other.size(), other.substr(0, 8000)).status == 200);

  // Records written later still go; the photo is tried again and refused again.
  a.store->create("enrolment", test::konawe_enrolment(4));
  const SyncReport again = a.sync(f);
  CHECK(again.pushed == 1);
  CHECK(f.records(f.admin()).size() == 4);
  CHECK(again.attachments.failed == 1);
  CHECK(a.att->info(refused)->state == AttachmentState::kFailed);
  // Tried again with the smallest chunk: the status, 1 KiB and the heads, not a whole chunk.
  MESSAGE("a refused photo tried again: " << again.attachments.bytes_up << " B up, "
                                          << again.attachments.bytes_down << " B down");
  CHECK(again.attachments.bytes_up < 3000);

  // The office raises the quota: the next sync sends it, byte for byte.
  f.set_extra_args({"--attachment-quota-mb", "2"});
  f.restart();
  const SyncReport raised = a.sync(f);
  CHECK(raised.attachments.sent == 1);
  CHECK(raised.attachments.failed == 0);
  CHECK(a.att->info(refused)->state == AttachmentState::kOnServer);
  CHECK(a.att->info(refused)->error.empty());
  CHECK(a.att->info(refused)->error_code.empty());
  size_t k = 0;
  while (k < refs.size() && refs[k].sha256 != refused) ++k;
  REQUIRE(k < refs.size());
  CHECK(f.http().get(content_path(refused, ids[k]), f.admin()).body == bytes[k]);
}

TEST_CASE("a photo refused for a full quota is sent once the collector frees the space") {
  ServerFixture f({"--attachment-quota-mb", "1"});
  Laptop a(f, "laptop-a");
  // 700 KB of the device's quota taken by a file no record names (an orphan).
  const std::string orphan = photo(700 * 1000, 51);
  const std::string orphan_sha = sha256_hex(orphan);
  REQUIRE(post_chunk(f, a.token, orphan_sha, 0, orphan.size(), orphan).json()["complete"] == true);
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(500 * 1000, 52);
  const AttachmentRef ref = a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "");
  const SyncReport first = a.sync(f);
  CHECK(first.pushed == 2);  // the record and its reference went
  CHECK(first.attachments.failed == 1);
  CHECK(a.att->info(ref.sha256)->error_code == "quota_exceeded");
  CHECK(a.att->info(ref.sha256)->local);  // kept on the laptop, not lost
  // A day later the collector removes the orphan: the device's space is free again and the
  // next sync sends the photo without anyone touching the quota.
  f.set_extra_args({"--attachment-quota-mb", "1", "--attachment-age-offset-hours", "25"});
  f.restart();
  REQUIRE(run_gc(f).status == 200);
  REQUIRE(status_of(f, a.token, orphan_sha).status == 404);
  const SyncReport second = a.sync(f);
  CHECK(second.attachments.sent == 1);
  CHECK(second.attachments.failed == 0);
  CHECK(a.att->info(ref.sha256)->state == AttachmentState::kOnServer);
  CHECK(a.att->info(ref.sha256)->error_code.empty());
  CHECK(f.http().get(content_path(ref.sha256, id), f.admin()).body == bytes);
}

TEST_CASE("orphans and unfinished uploads go after 24 h and a referenced file never does") {
  ServerFixture f;
  Laptop a(f, "laptop-a");
  // Referenced: a record names it.
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string kept = photo(50000, 1);
  const AttachmentRef kept_ref =
      a.att->attach("enrolment", id, "foto_ktp", kept, "image/jpeg", "ktp.jpg");
  REQUIRE(a.sync(f).attachments.sent == 1);
  // An orphan: uploaded whole, no record names it.
  const std::string orphan = photo(20000, 2);
  const std::string orphan_sha = sha256_hex(orphan);
  REQUIRE(post_chunk(f, a.token, orphan_sha, 0, orphan.size(), orphan).json()["complete"] == true);
  // An upload never finished: the first 10 KB of 60 KB.
  const std::string unfinished = photo(60000, 3);
  const std::string unfinished_sha = sha256_hex(unfinished);
  REQUIRE(post_chunk(f, a.token, unfinished_sha, 0, unfinished.size(), unfinished.substr(0, 10000))
              .json()["received"] == 10000);
  CHECK(files_of(f, orphan_sha) == std::set<std::string>{".blob", ".meta"});
  CHECK(files_of(f, unfinished_sha) == std::set<std::string>{".meta", ".part"});

  auto all_there = [&](const char* when) {
    INFO(when);
    auto gc = run_gc(f);
    REQUIRE(gc.status == 200);
    CHECK(gc.json()["removed"] == 0);
    CHECK(status_of(f, a.token, kept_ref.sha256).json()["complete"] == true);
    CHECK(status_of(f, a.token, orphan_sha).json()["complete"] == true);
    CHECK(status_of(f, a.token, unfinished_sha).json()["received"] == 10000);
  };
  all_there("now");
  // What a crash can leave: a start cut before its rename, a .part whose .meta is gone, an
  // unreadable .meta with its .blob; and a file that is not the server's to remove.
  // (PostgreSQL: a transaction leaves no half-made file for a collection to find.)
  const bool files = !test::test_postgres();
  const std::string dir = f.data_dir() + "/attachments/";
  std::vector<std::string> strays;
  if (files) {
    strays = {std::string(64, 'a') + ".meta.tmp", std::string(64, 'b') + ".part",
              std::string(64, 'c') + ".meta", std::string(64, 'c') + ".blob"};
    for (const auto& name : strays) std::ofstream(dir + name) << "{";
    std::ofstream(dir + "README.txt") << "the operator's note";
  }
  auto strays_left = [&] {
    int n = 0;
    for (const auto& name : strays) n += fs::exists(dir + name) ? 1 : 0;
    return n;
  };
  // 23 hours later (the collector's clock moved on, the files are the same).
  f.set_extra_args({"--attachment-age-offset-hours", "23"});
  f.restart();
  all_there("23 h later");
  if (files) CHECK(strays_left() == 4);
  CHECK(status_of(f, a.token, std::string(64, 'c')).status == 404);  // never served

  // 25 hours later: the orphan and the unfinished upload are gone, files and all; the
  // referenced photo is served whole. (The collector's first pass at start may have run
  // already: the state is checked, not the count.)
  f.set_extra_args({"--attachment-age-offset-hours", "25"});
  f.restart();
  auto gc = run_gc(f);
  REQUIRE(gc.status == 200);
  CHECK(status_of(f, a.token, orphan_sha).status == 404);
  CHECK(status_of(f, a.token, unfinished_sha).status == 404);
  CHECK(files_of(f, orphan_sha).empty());
  CHECK(files_of(f, unfinished_sha).empty());
  CHECK(files_of(f, kept_ref.sha256) == std::set<std::string>{".blob", ".meta"});
  CHECK(f.http().get(content_path(kept_ref.sha256, id), f.admin()).body == kept);
  CHECK(strays_left() == 0);
  if (files) CHECK(fs::exists(dir + "README.txt"));
  // Long after (a year): still kept while the record names it, after more collections.
  f.set_extra_args({"--attachment-age-offset-hours", "8760"});
  f.restart();
  for (int i = 0; i < 2; ++i) REQUIRE(run_gc(f).status == 200);
  CHECK(f.http().get(content_path(kept_ref.sha256, id), f.admin()).body == kept);
  // Once the record no longer names it (the field cleared), it goes like any orphan.
  Json clear{{"foto_ktp", nullptr}};
  a.store->update("enrolment", id, clear);
  REQUIRE(a.sync(f).pushed == 1);
  REQUIRE(run_gc(f).status == 200);
  CHECK(status_of(f, a.token, kept_ref.sha256).status == 404);
  CHECK(files_of(f, kept_ref.sha256).empty());
}

TEST_CASE("an upload still moving is not judged idle from its start after a restart") {
  ServerFixture f;
  Laptop a(f, "laptop-a");
  const std::string bytes = photo(30000, 9);
  const std::string sha = sha256_hex(bytes);
  REQUIRE(post_chunk(f, a.token, sha, 0, bytes.size(), bytes.substr(0, 10000)).status == 200);
  // As if the upload began 30 h ago over a link that kept failing: its .meta (its row on
  // PostgreSQL) says so; its last chunk (the .part's time, the row's touched_ms) came now.
  test::age_upload_start(f, sha, 30ll * 3600 * 1000);
  f.restart();
  REQUIRE(run_gc(f).status == 200);
  CHECK(status_of(f, a.token, sha).json()["received"] == 10000);
  // The rest of it goes on from there, and the file is whole.
  auto rest = post_chunk(f, a.token, sha, 10000, bytes.size(), bytes.substr(10000));
  CHECK(rest.json()["complete"] == true);
  // Idle for a day from its last chunk: gone.
  const std::string other = photo(30000, 10);
  const std::string other_sha = sha256_hex(other);
  REQUIRE(post_chunk(f, a.token, other_sha, 0, other.size(), other.substr(0, 10000)).status == 200);
  f.set_extra_args({"--attachment-age-offset-hours", "25"});
  f.restart();
  REQUIRE(run_gc(f).status == 200);
  CHECK(status_of(f, a.token, other_sha).status == 404);
}

TEST_CASE("a second laptop downloads a photo over a link cut every 30 KB and resumes") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(300 * 1000, 31);
  const std::string uploaded_sha = sha256_hex(bytes);  // the test's own record
  a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "ktp.jpg");
  REQUIRE(a.sync(f).attachments.sent == 1);

  // 2 Mbit/s, 20 ms one way (short test), every connection cut once it carried 30 KB.
  Relay link(f.server().port(), LinkProfile{2000000, 20, 30000});
  auto cut = make_http_transport(link.url());
  const SyncReport pulled = b.sync(*cut);  // the record, never the bytes
  CHECK(pulled.pulled >= 1);
  CHECK_FALSE(b.att->read(uploaded_sha).has_value());

  // Every range request the laptop makes, to see it go on rather than start over.
  struct Watch : Transport {
    Transport& inner;
    std::vector<uint64_t> offsets;
    explicit Watch(Transport& t) : inner(t) {}
    HttpResponse send(const HttpRequest& r) override {
      const size_t at = r.target.find("&offset=");
      if (r.target.find("/content?") != std::string::npos && at != std::string::npos) {
        offsets.push_back(std::stoull(r.target.substr(at + 8)));
      }
      return inner.send(r);
    }
  } watch(*cut);
  link.reset();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string got =
      b.att->fetch(watch, b.token, "enrolment", id, "foto_ktp", Laptop::quick());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double carried = static_cast<double>(link.bytes_up() + link.bytes_down());
  MESSAGE("300 KB download over a link cut every 30 KB: "
          << carried << " B carried (" << carried / bytes.size() << "x), " << link.cuts()
          << " cuts, " << watch.offsets.size() << " requests, " << secs << " s");
  CHECK(sha256_hex(got) == uploaded_sha);
  CHECK(got == bytes);
  CHECK(b.att->read(uploaded_sha) == bytes);  // kept on B
  // Cut often enough that starting over would never finish (each connection carries 10%).
  CHECK(link.cuts() >= 5);
  REQUIRE_FALSE(watch.offsets.empty());
  CHECK(watch.offsets.front() == 0);
  CHECK(std::is_sorted(watch.offsets.begin(), watch.offsets.end()));  // never back to 0
  CHECK(carried <= 1.3 * bytes.size());
}

TEST_CASE("fetches through one FetchLink size their ranges from what the first learned") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  std::vector<std::string> ids, bytes;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(a.store->create("enrolment", test::konawe_enrolment(10 + i)));
    bytes.push_back(photo(300 * 1000, 60 + i));
    a.att->attach("enrolment", ids.back(), "foto_ktp", bytes.back(), "image/jpeg", "");
  }
  REQUIRE(a.sync(f).attachments.sent == 3);
  REQUIRE(b.sync(f).pulled >= 3);
  struct Counting : Transport {
    Transport& inner;
    int requests = 0;
    explicit Counting(Transport& t) : inner(t) {}
    HttpResponse send(const HttpRequest& r) override {
      ++requests;
      return inner.send(r);
    }
  };
  auto direct = make_http_transport(f.server().base_url());
  auto ranges_of = [&](int i, FetchLink* link) {
    Counting t(*direct);
    CHECK(b.att->fetch(t, b.token, "enrolment", ids[i], "foto_ktp", Laptop::quick(), link) ==
          bytes[i]);
    return t.requests;
  };
  // Without a link a fetch starts at 8 KiB and grows; the second fetch through a link starts
  // where the first left off (a clean link: the ranges had grown).
  const int fresh = ranges_of(0, nullptr);
  FetchLink link;
  const int first = ranges_of(1, &link);
  const int second = ranges_of(2, &link);
  MESSAGE("300 KB fetches: " << fresh << " ranges from scratch, " << first
                             << " through a new FetchLink, then " << second);
  CHECK(first == fresh);
  CHECK(second < fresh);
  CHECK(second <= 2);
}

TEST_CASE("a download that gave up goes on from where it stopped at the next fetch") {
  ServerFixture f;
  Laptop a(f, "laptop-a"), b(f, "laptop-b");
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = photo(200 * 1000, 41);
  a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "ktp.jpg");
  REQUIRE(a.sync(f).attachments.sent == 1);
  REQUIRE(b.sync(f).pulled >= 1);

  // What the laptop's attachment file holds of the download, read by another connection
  // (as it would be found after a kill): the sealed partial bytes' length.
  const std::string att_file = AttachmentStore::path_for(b.dir.path() + "/laptop-b.db");
  auto partial_on_disk = [&]() -> int64_t {
    sqlite3* db = nullptr;
    int64_t n = -1;
    if (sqlite3_open_v2(att_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT length(bytes) FROM partial", -1, &st, nullptr) ==
          SQLITE_OK) {
        n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
  };
  // A link that dies once it delivered 100 KB: the fetch gives up.
  struct Dying : Transport {
    Transport& inner;
    uint64_t die_after = 0;
    uint64_t delivered = 0;  // body bytes of the ranges that arrived
    std::vector<uint64_t> offsets;
    std::function<void()> on_death;
    explicit Dying(Transport& t, uint64_t after) : inner(t), die_after(after) {}
    HttpResponse send(const HttpRequest& r) override {
      const size_t at = r.target.find("&offset=");
      if (at != std::string::npos) offsets.push_back(std::stoull(r.target.substr(at + 8)));
      if (delivered >= die_after) {
        if (on_death) on_death();
        on_death = nullptr;
        throw Error(ErrorCode::kTransport, "test: the link is down");
      }
      HttpResponse resp = inner.send(r);
      if (resp.status == 200) delivered += resp.body.size();
      return resp;
    }
  };
  auto direct = make_http_transport(f.server().base_url());
  Dying dying(*direct, 100 * 1000);
  int64_t on_disk_at_death = -1;  // before the fetch itself gives up and writes them
  dying.on_death = [&] { on_disk_at_death = partial_on_disk(); };
  SyncOptions o = Laptop::quick();
  o.max_attempts = 2;
  CHECK_THROWS_AS(b.att->fetch(dying, b.token, "enrolment", id, "foto_ktp", o), Error);
  REQUIRE(dying.delivered > 0);
  REQUIRE(dying.delivered < bytes.size());
  // Written every 64 KiB while it ran: a kill at that moment would have kept them.
  CHECK(on_disk_at_death >= 64 * 1024);
  CHECK(partial_on_disk() >= static_cast<int64_t>(dying.delivered));  // all, once it stopped
  CHECK_FALSE(b.att->read(sha256_hex(bytes)).has_value());  // not whole: not kept as the file
  // The laptop's files hold what arrived sealed, never in clear.
  {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(b.dir.path(), ec)) {
      if (e.is_regular_file())
        CHECK(read_all(e.path()).find(bytes.substr(1000, 32)) == std::string::npos);
    }
  }

  // The link is back: the next fetch asks from the bytes it kept, not from 0.
  Dying healthy(*direct, UINT64_MAX);
  const std::string got = b.att->fetch(healthy, b.token, "enrolment", id, "foto_ktp");
  CHECK(sha256_hex(got) == sha256_hex(bytes));
  REQUIRE_FALSE(healthy.offsets.empty());
  CHECK(healthy.offsets.front() == dying.delivered);
  CHECK(healthy.delivered == bytes.size() - dying.delivered);
  CHECK(b.att->read(sha256_hex(bytes)) == bytes);
  CHECK(partial_on_disk() == 0);  // dropped once whole
}

TEST_CASE("attachment files on the server are sealed and served again after a restart") {
  ServerFixture f;
  Laptop a(f, "laptop-a");
  const std::string id = a.store->create("enrolment", test::konawe_enrolment(1));
  // A known pattern to look for: the marker over and over after a JPEG head.
  const std::string marker = "LUMBUNG-PLAINTEXT-MARKER-";
  std::string bytes = "\xFF\xD8\xFF";
  while (bytes.size() < 200 * 1000) bytes += marker;
  const AttachmentRef ref = a.att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "");
  REQUIRE(a.sync(f).attachments.sent == 1);

  // Nothing the server stores holds the marker (nor a 16-byte piece of it), and the file is
  // there, larger than the photo by its frames' heads and tags.
  auto scan = [&](const char* when) {
    INFO(when);
    if (test::test_postgres()) {
      // The chunks' rows, and every row of the database as text (records, logs, audit).
      const auto hits = test::pg_query(
          f.db_url(),
          "SELECT count(*) FROM attachment_chunks WHERE position($1::bytea in sealed) > 0",
          {marker.substr(0, 16)});
      CHECK(hits.at(0).at(0) == "0");
      const auto chunks = test::pg_query(
          f.db_url(), "SELECT count(*) FROM attachment_chunks WHERE sha256=$1", {ref.sha256});
      CHECK(std::stoi(chunks.at(0).at(0)) >= 1);
      const auto tables = test::pg_query(
          f.db_url(), "SELECT tablename FROM pg_tables WHERE schemaname='public'", {});
      CHECK(tables.size() >= 3);
      for (const auto& t : tables) {
        if (t[0] == "attachment_chunks") continue;
        INFO(t[0]);
        const auto n = test::pg_query(f.db_url(),
                                      "SELECT count(*) FROM \"" + t[0] +
                                          "\" x WHERE "
                                          "position($1 in x::text) > 0",
                                      {marker.substr(0, 16)});
        CHECK(n.at(0).at(0) == "0");
      }
    } else {
      int files = 0;
      std::error_code ec;
      for (const auto& e : fs::recursive_directory_iterator(f.data_dir(), ec)) {
        if (!e.is_regular_file()) continue;
        ++files;
        const std::string content = read_all(e.path());
        INFO(e.path().string());
        CHECK(content.find(marker.substr(0, 16)) == std::string::npos);
      }
      CHECK(files >= 3);  // the database, the .meta and the .blob at least
    }
    CHECK(test::stored_bytes(f, ref.sha256) > bytes.size());
  };
  scan("after the upload");
  // The laptop's own copy is sealed too (an encrypted store): its files, write-ahead logs
  // included, hold the photo's bytes but never the marker.
  {
    uint64_t laptop_bytes = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(a.dir.path(), ec)) {
      if (!e.is_regular_file()) continue;
      const std::string content = read_all(e.path());
      laptop_bytes += content.size();
      INFO(e.path().string());
      CHECK(content.find(marker.substr(0, 16)) == std::string::npos);
    }
    CHECK(laptop_bytes > bytes.size());
  }

  // A server restarted on the same data directory (and key file) serves it byte for byte.
  f.restart();
  auto got = f.http().get(content_path(ref.sha256, id), f.admin());
  REQUIRE(got.status == 200);
  CHECK(got.body == bytes);
  Laptop b(f, "laptop-b");
  b.sync(f);
  auto direct = make_http_transport(f.server().base_url());
  CHECK(b.att->fetch(*direct, b.token, "enrolment", id, "foto_ktp") == bytes);
  scan("after the restart");

  // A byte changed on the disk: the server refuses to serve the file rather than send
  // bytes that are not the photo.
  test::damage_stored(f, ref.sha256, 100);
  auto damaged = f.http().get(content_path(ref.sha256, id), f.admin());
  CHECK(damaged.status == 500);
  CHECK(damaged.json()["code"] == "corrupt");
  CHECK(damaged.body.find(marker) == std::string::npos);
}

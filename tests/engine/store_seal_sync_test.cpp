// A stolen laptop, given back: someone with the store file but not the passphrase edits
// what an encrypted store keeps in clear (a record's status, its village code) with sqlite3.
// The officer's next sync must refuse (Error(kCorrupt) naming the record) and nothing of the
// forged values, nor anything after them, may reach the real lumbung-server.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;
using namespace lumbung::test;

namespace {

constexpr const char* kPassphrase = "kopi tubruk di Unaaha";

std::unique_ptr<Store> open_laptop(const std::string& path) {
  OpenOptions o;
  o.path = path;
  o.schema = enrolment_schema();
  o.device_id = "lap-seal";
  o.passphrase = kPassphrase;
  return Store::open(o);
}

SyncReport sync_laptop(Store& store, const std::string& url) {
  auto http = make_http_transport(url);
  SyncClient client(store, *http, store.get_secret("device_token"));
  SyncOptions o;
  o.sleep = [](int) {};
  o.max_attempts = 2;
  return client.sync(o);
}

void sql_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << msg);
}

}  // namespace

TEST_CASE("a clear field edited in the file without the passphrase is never pushed") {
  ServerFixture server;
  TempDir dir;
  const std::string path = dir.path() + "/laptop.db";
  const std::string url = server.server().base_url();
  std::string synced, fresh, later;
  {
    auto store = open_laptop(path);
    auto http = make_http_transport(url);
    SyncClient client(*store, *http, "");
    store->set_secret("device_token", client.register_device(server.code({"7402"}), "laptop"));
    synced = store->create("enrolment", konawe_record_1());
    CHECK(sync_laptop(*store, url).pushed == 1);
    // Offline again: a new enrolment, an edit of the synced one, and one more enrolment.
    fresh = store->create("enrolment", konawe_record_2());
    store->update("enrolment", synced, {{"phone", "081234567890"}});
    Json third = konawe_record_2();
    third["nik"] = "7402100607814909";
    third["full_name"] = "Joko Simanjuntak Muda";
    later = store->create("enrolment", third);
    CHECK(store->pending_count() == 3);
  }
  const json before = server.records(server.reviewer());
  REQUIRE(before.size() == 1);

  // The thief's two statements: the unsent enrolment marked enrolled in another village.
  sql_exec(path, "UPDATE records SET doc=json_set(doc,'$.status','enrolled','$.village_code',"
                 "'7402101230') WHERE id='" + fresh + "'");

  auto store = open_laptop(path);
  try {
    sync_laptop(*store, url);
    FAIL("the sync sent a forged record");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kCorrupt);
    CHECK(std::string(e.what()).find(fresh) != std::string::npos);
  }
  CHECK(store->pending_count() == 3);  // nothing acknowledged: nothing was taken
  // The server holds exactly what it held: no forged record, no change behind it either.
  const json after = server.records(server.reviewer());
  REQUIRE(after.size() == 1);
  CHECK(after[0]["id"] == synced);
  CHECK(after[0]["fields"]["status"] == "submitted");
  CHECK(after[0]["fields"]["phone"] == before[0]["fields"]["phone"]);
  CHECK(after.dump().find("enrolled") == std::string::npos);
  CHECK(after.dump().find(fresh) == std::string::npos);
  // The record cannot be read, nor edited into a new change that would carry the forgery.
  CHECK_THROWS_AS(store->get("enrolment", fresh), Error);
  CHECK_THROWS_AS(store->update("enrolment", fresh, {{"phone", "081200000000"}}), Error);
}

TEST_CASE("an untouched encrypted laptop syncs as before: the checks pass on every path") {
  ServerFixture server;
  TempDir dir;
  const std::string path = dir.path() + "/laptop.db";
  const std::string url = server.server().base_url();
  auto store = open_laptop(path);
  auto http = make_http_transport(url);
  SyncClient client(*store, *http, "");
  store->set_secret("device_token", client.register_device(server.code({"7402"}), "laptop"));
  const std::string a = store->create("enrolment", konawe_record_1());
  store->create("enrolment", konawe_record_2());
  store->update("enrolment", a, {{"phone", "+62 812-3456-7890"}});  // stored normalised
  CHECK(sync_laptop(*store, url).pushed == 3);
  store.reset();
  store = open_laptop(path);
  CHECK(store->pending_count() == 0);
  const json recs = server.records(server.reviewer());
  CHECK(recs.size() == 2);
  CHECK(store->get("enrolment", a)->fields["phone"] == "081234567890");
}

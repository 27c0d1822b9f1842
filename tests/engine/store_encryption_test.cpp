// Personal data at rest: the database file never holds a personal field in clear; a
// wrong passphrase gets a clear error and changes nothing; lookups by NIK still work. What
// stays in clear is protected by row MACs: an edit made with sqlite3, without the
// passphrase, is refused at every read and never pushed. A store made before row MACs is
// upgraded at open.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "lumbung/changeset.h"
#include "lumbung/store.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;

namespace {

std::unique_ptr<Store> open_store(const std::string& path, const std::string& passphrase,
                                  const std::string& device = "dev-a") {
  OpenOptions o;
  o.path = path;
  o.schema = test::enrolment_schema();
  o.device_id = device;
  o.passphrase = passphrase;
  return Store::open(o);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string all_bytes(const std::string& db) {
  return file_bytes(db) + file_bytes(db + "-wal") + file_bytes(db + "-shm");
}

// Runs SQL on the file directly, as someone holding the file but not the passphrase would.
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

std::string sql_text(const std::string& path, const std::string& query) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Error(kCorrupt) from `f`, its message containing `names` (if given).
void check_corrupt(const std::function<void()>& f, const std::string& names = {}) {
  try {
    f();
    FAIL("no integrity error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kCorrupt);
    if (!names.empty())
      CHECK_MESSAGE(std::string(e.what()).find(names) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("no NIK - name or phone of the written records is in the database files") {
  test::TempDir dir;
  const std::string path = dir.file("secret.db");
  std::vector<Json> written;
  {
    auto store = open_store(path, "rahasia desa 2026");
    CHECK(store->encrypted());
    std::string first;
    for (int i = 1; i <= 40; ++i) {
      Json r = test::sample_enrolment(i);
      r["full_name"] = "Nama Rahasia " + std::to_string(1000 + i);
      r["phone"] = "0812777" + std::to_string(10000 + i);
      const std::string id = store->create("enrolment", r);
      if (first.empty()) first = id;
      written.push_back(r);
    }
    // Updates and deletes go to the change log; conflicts keep values too.
    store->update("enrolment", first,
                  {{"phone", "081299990001"}, {"full_name", "Nama Baru Rahasia"}});
    written.push_back({{"phone", "081299990001"}, {"full_name", "Nama Baru Rahasia"}});
    Op remote;
    remote.collection = "enrolment";
    remote.id = first;
    remote.version = {store->pending_changes(1).front().op.version.hlc + 5, "dev-b"};
    remote.set = {{"phone", "081299990002"}};
    remote.base = {{"phone", store->get("enrolment", first)->versions.at("nik")}};
    CHECK(store->apply_remote({remote}).conflicts.size() == 1);
    written.push_back({{"phone", "081299990002"}});
    store->set_secret("device_token", "token-abcdef-123456");
    CHECK(store->get_secret("device_token") == "token-abcdef-123456");
    CHECK(store->find_by_key("enrolment", written[2]["nik"]).size() == 1);
    // The remote phone edit, and the name change awaiting review (a needs_review field).
    CHECK(store->conflicts().size() == 2);
    CHECK(store->pending_changes(100).size() == 41);
    CHECK(store->pending_changes(100).back().op.set["full_name"] == "Nama Baru Rahasia");
  }
  const std::string bytes = all_bytes(path);
  REQUIRE(bytes.size() > 4096);
  for (const auto& r : written) {
    for (const char* field : {"nik", "full_name", "phone"}) {
      if (!r.contains(field)) continue;
      const std::string v = r[field];
      INFO(field << " " << v);
      CHECK(bytes.find(v) == std::string::npos);
    }
  }
  CHECK(bytes.find("token-abcdef-123456") == std::string::npos);
  CHECK(bytes.find("Rahasia") == std::string::npos);
  // Income (financial data) and the office held (names one person in a village) are
  // personal too (docs/SECURITY.md "Which fields are personal").
  CHECK(bytes.find("14000000") == std::string::npos);
  CHECK(bytes.find("kasi pelayanan") == std::string::npos);
  CHECK(bytes.find("7242111687") != std::string::npos);  // the village code is not personal
}

TEST_CASE("a wrong passphrase is refused clearly and changes nothing") {
  test::TempDir dir;
  const std::string path = dir.file("secret.db");
  open_store(path, "benar").reset();
  {
    auto s = open_store(path, "benar");
    s->create("enrolment", test::sample_enrolment(1));
  }
  const std::string before = all_bytes(path);
  for (const std::string wrong : {"salah", "", "Benar"}) {
    try {
      open_store(path, wrong);
      FAIL("opened with a wrong passphrase");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kWrongPassphrase);
      CHECK(std::string(e.what()).find("benar") == std::string::npos);
    }
  }
  CHECK(all_bytes(path) == before);
  auto s = open_store(path, "benar");
  CHECK(s->count("enrolment") == 1);
}

TEST_CASE("changing the passphrase re-wraps the key: the data stays readable") {
  test::TempDir dir;
  const std::string path = dir.file("secret.db");
  std::string id;
  {
    auto s = open_store(path, "lama");
    id = s->create("enrolment", test::sample_enrolment(3));
    try {
      s->change_passphrase("keliru", "baru");
      FAIL("changed with a wrong old passphrase");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kWrongPassphrase);
    }
    s->change_passphrase("lama", "baru");
  }
  CHECK_THROWS_AS(open_store(path, "lama"), Error);
  auto s = open_store(path, "baru");
  CHECK(s->get("enrolment", id)->fields["full_name"] == "Eko Setiawan");
}

TEST_CASE("an unencrypted store refuses a passphrase rather than pretending") {
  test::TempDir dir;
  const std::string path = dir.file("plain.db");
  open_store(path, "").reset();
  try {
    open_store(path, "something");
    FAIL("expected a refusal");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
  }
}

namespace {

// An encrypted store with something in every table: a (create acknowledged), b (create
// unsent), c (create and a phone update unsent), another create, a conflict on c, a refusal of seq
// 1, the device token, regions. Closed (so the file is whole, no WAL).
struct Made {
  std::string path, a, b, c;
};

Made make_store(const std::string& path) {
  Made m;
  m.path = path;
  auto s = open_store(path, "kunci laptop");
  m.a = s->create("enrolment", test::sample_enrolment(1));
  m.b = s->create("enrolment", test::sample_enrolment(2));
  m.c = s->create("enrolment", test::sample_enrolment(3));
  s->update("enrolment", m.c, {{"phone", "081299990001"}});
  s->create("enrolment", test::sample_enrolment(4));  // the update is not the newest entry
  s->acknowledge(1);
  Op remote;
  remote.collection = "enrolment";
  remote.id = m.c;
  remote.version = {s->clock().now() + 5, "dev-b"};
  remote.set = {{"phone", "081299990002"}};
  remote.base = {{"phone", s->get("enrolment", m.c)->versions.at("nik")}};
  REQUIRE(s->apply_remote({remote}).conflicts.size() == 1);
  s->record_refused({{1, "enrolment", m.a, "validation_failed", "phone", "not valid", 1, {}, {}}});
  s->set_secret("device_token", "lbd_token_of_this_laptop");
  s->set_regions({"7242"});
  REQUIRE(s->pending_count() == 4);
  return m;
}

}  // namespace

TEST_CASE(
    "an edit of a clear column without the passphrase is refused at every read and never pushed") {
  test::TempDir dir;
  const Made m = make_store(dir.file("made.db"));
  // What each edit must stop: opening the store, reading the record (and writing over it),
  // the push read-back, the conflict list, the refused list, the device token.
  enum class Stops { kOpen, kRecord, kPush, kConflicts, kRefused, kSecret, kNothingForged };
  struct Case {
    const char* what;
    std::string sql;
    Stops stops;
    std::string names;  // the record or entry the error names
  };
  const std::string A = "'" + m.a + "'", B = "'" + m.b + "'";
  const std::vector<Case> cases = {
      {"a clear field of an acknowledged record (status)",
       "UPDATE records SET doc=json_set(doc,'$.status','enrolled') WHERE id=" + A, Stops::kRecord,
       m.a},
      {"a clear field of a record whose create is unsent (status)",
       "UPDATE records SET doc=json_set(doc,'$.status','enrolled') WHERE id=" + B, Stops::kPush,
       m.b},
      {"the village code",
       "UPDATE records SET doc=json_set(doc,'$.village_code','7242111688') WHERE id=" + B,
       Stops::kPush, m.b},
      {"a field removed from the clear part",
       "UPDATE records SET doc=json_remove(doc,'$.programs') WHERE id=" + B, Stops::kPush, m.b},
      {"the field versions (to win every merge)",
       "UPDATE records SET ver='{\"\":[999999999999999999,\"dev-a\"]}' WHERE id=" + B, Stops::kPush,
       m.b},
      {"the live flag", "UPDATE records SET live=0 WHERE id=" + B, Stops::kPush, m.b},
      {"the scope index key", "UPDATE records SET scope=scope+1 WHERE id=" + B, Stops::kPush, m.b},
      {"the MAC removed", "UPDATE records SET mac=NULL WHERE id=" + B, Stops::kPush, m.b},
      {"another record's clear part and MAC copied over",
       "UPDATE records SET doc=(SELECT doc FROM records WHERE id=" + A +
           "), mac=(SELECT mac FROM records WHERE id=" + A + ") WHERE id=" + B,
       Stops::kPush, m.b},
      {"another record's sealed part copied over",
       "UPDATE records SET sealed=(SELECT sealed FROM records WHERE id=" + A + ") WHERE id=" + B,
       Stops::kPush, m.b},
      {"a create's clock value in the log", "UPDATE changes SET hlc=hlc-1 WHERE seq=2",
       Stops::kPush, "change log entry 2"},
      {"a create's clock value pushed far ahead (checked when the clock resumes)",
       "UPDATE changes SET hlc=hlc+1000000000 WHERE seq=2", Stops::kOpen, "change log entry 2"},
      {"an update entry made into a create (values read from the record)",
       "UPDATE changes SET sealed=NULL WHERE seq=4", Stops::kPush, "change log entry 4"},
      {"an update entry pointed at another record", "UPDATE changes SET id=" + B + " WHERE seq=4",
       Stops::kPush, "change log entry 4"},
      {"an unsent entry deleted", "DELETE FROM changes WHERE seq=3", Stops::kPush,
       "change log entry 3 is missing"},
      {"the newest unsent entry deleted", "DELETE FROM changes WHERE seq=5", Stops::kOpen,
       "up to 5 are missing"},
      {"the newest entries deleted and the record of the log's end with them",
       "DELETE FROM changes WHERE seq>=4; DELETE FROM meta WHERE key='log_end'", Stops::kOpen,
       "are missing"},
      // The create is logged with its values (MAC'd): the push still sends what the
      // officer wrote; nothing forged can ride on the missing row.
      {"the record row of an unsent create deleted", "DELETE FROM records WHERE id=" + B,
       Stops::kNothingForged, m.b},
      {"a forged entry appended",
       "INSERT INTO changes(seq,col,id,hlc,wall_ms) SELECT 6, col, id, hlc+1, wall_ms FROM "
       "changes WHERE seq=1",
       Stops::kOpen, "change log entry 6"},
      {"unsent changes marked acknowledged", "UPDATE meta SET value='4' WHERE key='acked_seq'",
       Stops::kOpen, "acked_seq"},
      {"the clock pushed far ahead", "UPDATE meta SET value='999999999999999999' WHERE key='hlc'",
       Stops::kOpen, "hlc"},
      {"the regions widened", "UPDATE meta SET value='[\"72\",\"74\"]' WHERE key='regions'",
       Stops::kOpen, "regions"},
      {"a record hidden as moved away", "INSERT INTO away(id) VALUES(" + A + ")", Stops::kOpen,
       m.a},
      {"a conflict marked settled", "UPDATE conflicts SET resolved=1", Stops::kConflicts,
       "conflict"},
      {"a refusal's code changed", "UPDATE refused SET code='out_of_scope'", Stops::kRefused,
       "refused change 1"},
      {"the device token replaced by another sealed setting",
       "UPDATE meta SET value=(SELECT value FROM meta WHERE key='regions') WHERE "
       "key='secret:device_token'",
       Stops::kSecret, "device_token"},
  };
  const std::string before = all_bytes(m.path);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::string what = c.what;
    CAPTURE(what);
    const std::string path = dir.file("case" + std::to_string(i) + ".db");
    std::filesystem::copy_file(m.path, path);
    sql_exec(path, c.sql);
    if (c.stops == Stops::kOpen) {
      check_corrupt([&] { open_store(path, "kunci laptop"); }, c.names);
      continue;
    }
    auto s = open_store(path, "kunci laptop");
    switch (c.stops) {
      case Stops::kRecord:
        check_corrupt([&] { s->get("enrolment", m.a); }, c.names);
        // The forged value cannot be carried into a new change either.
        check_corrupt([&] { s->update("enrolment", m.a, {{"phone", "081200000000"}}); }, c.names);
        CHECK(s->pending_count() == 4);
        break;
      case Stops::kPush:
        check_corrupt([&] { s->pending_wire(100); }, c.names);
        check_corrupt([&] { s->pending_changes(100); }, c.names);
        break;
      case Stops::kNothingForged: {
        bool sent = false;
        for (const auto& w : s->pending_wire(100)) {
          const Op op = decode_op(Json::parse(w.json), "d");
          if (op.id != c.names) continue;
          sent = true;
          CHECK(op.set.at("nik") == test::sample_enrolment(2).at("nik"));
        }
        CHECK(sent);
        break;
      }
      case Stops::kConflicts:
        check_corrupt([&] { s->conflicts(true); }, c.names);
        break;
      case Stops::kRefused:
        check_corrupt([&] { s->refused_changes(); }, c.names);
        break;
      case Stops::kSecret:
        check_corrupt([&] { s->get_secret("device_token"); }, c.names);
        break;
      case Stops::kOpen:
        break;
    }
  }
  // The untouched file reads whole: the checks find nothing where nothing was changed.
  CHECK(all_bytes(m.path) == before);
  auto s = open_store(m.path, "kunci laptop");
  CHECK(s->get("enrolment", m.a)->fields["status"] == "submitted");
  CHECK(s->pending_wire(100).size() == 4);
  CHECK(s->pending_changes(100).size() == 4);
  CHECK(s->conflicts(true).size() == 1);
  CHECK(s->refused_changes().size() == 1);
  CHECK(s->get_secret("device_token") == "lbd_token_of_this_laptop");
  CHECK(s->regions() == std::vector<std::string>{"7242"});
  Query all;
  all.collection = "enrolment";
  CHECK(s->query(all).records.size() == 4);
}

TEST_CASE("every write path leaves rows that read back whole (MACs set on each)") {
  test::TempDir dir;
  const std::string path = dir.file("w.db");
  std::string a, b, c;
  {
    auto s = open_store(path, "kunci");
    a = s->create("enrolment", test::sample_enrolment(1));
    b = s->create("enrolment", test::sample_enrolment(2));
    c = s->create("enrolment", test::sample_enrolment(3));
    s->update("enrolment", a, {{"phone", "081211112222"}});
    s->remove("enrolment", b);
    // Re-stamps (the server re-stamped a far-ahead clock), stored values, a settled
    // conflict, a record moving away with an unsent change and one without.
    const uint64_t fresh = s->pending_changes(10).back().op.version.hlc + 1000;
    s->apply_restamps({{1, fresh}, {4, fresh + 1}});
    s->apply_stored({{4, Json{{"phone", "081211113333"}}}});
    Op remote;
    remote.collection = "enrolment";
    remote.id = a;
    remote.version = {fresh + 10, "dev-b"};
    remote.set = {{"phone", "081299990002"}};
    remote.base = {{"phone", s->get("enrolment", a)->versions.at("nik")}};
    REQUIRE(s->apply_remote({remote}).conflicts.size() == 1);
    s->update("enrolment", a, {{"phone", "081277778888"}});  // saw both sides: settles it
    Op pulled;
    pulled.collection = "enrolment";
    pulled.id = "0190aaaa-0000-7000-8000-00000000000d";
    pulled.version = {fresh + 20, "dev-b"};
    pulled.set = test::sample_enrolment(4);
    Op gone_c, gone_d;
    gone_c.collection = gone_d.collection = "enrolment";
    gone_c.id = c;
    gone_d.id = pulled.id;
    gone_c.version = gone_d.version = {fresh + 30, "server"};
    gone_c.gone = gone_d.gone = true;
    s->apply_remote({pulled});
    s->apply_remote({gone_c, gone_d});
    s->record_refused({{2, "enrolment", b, "validation_failed", "", "pesan", 7, {}, {}}});
    s->set_meta("cursor", "v2:9:9");
  }
  auto s = open_store(path, "kunci");
  CHECK(s->get("enrolment", a)->fields["phone"] == "081277778888");
  CHECK(s->get("enrolment", b, true)->deleted);
  CHECK_FALSE(s->get("enrolment", c));  // moved away, kept for its unsent create
  CHECK(s->get("enrolment", c, true));
  CHECK(s->pending_wire(100).size() == 6);
  CHECK(s->pending_changes(100).size() == 6);
  CHECK(s->conflicts(true).size() == 1);
  CHECK(s->conflicts(false).empty());
  CHECK(s->refused_changes().size() == 1);
  CHECK(s->get_meta("cursor") == "v2:9:9");
  Query all;
  all.collection = "enrolment";
  all.include_deleted = true;
  CHECK(s->query(all).records.size() == 3);
}

TEST_CASE("a store made before row MACs is upgraded at open with the passphrase") {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  {
    std::ifstream in(std::string(LUMBUNG_SOURCE_DIR) + "/tests/engine/data/store_before_macs.sql");
    REQUIRE(in);
    sql_exec(path,
             std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    sql_exec(path, "PRAGMA journal_mode=WAL");  // as the engine keeps its files
  }
  const std::string a = "0190aaaa-0000-7000-8000-00000000000a";
  const std::string b = "0190aaaa-0000-7000-8000-00000000000b";
  const std::string c = "0190aaaa-0000-7000-8000-00000000000c";
  const std::string d = "0190aaaa-0000-7000-8000-00000000000d";
  // Before: income and position in clear (they were not personal then).
  const std::string old_bytes = all_bytes(path);
  REQUIRE(old_bytes.find("13700001") != std::string::npos);
  REQUIRE(old_bytes.find("kasi pelayanan") != std::string::npos);
  // A wrong passphrase changes nothing, not even the columns.
  CHECK_THROWS_AS(open_store(path, "salah", "dev-old"), Error);
  CHECK(all_bytes(path) == old_bytes);

  std::vector<WireChange> wire_before;
  {
    auto s = open_store(path, "lama-sebelum-mac", "dev-old");
    CHECK(s->encrypted());
    const Record ra = *s->get("enrolment", a);
    CHECK(ra.fields["status"] == "verified");
    CHECK(ra.fields["phone"] == "081233334444");  // dev-z's concurrent edit won
    CHECK(ra.fields["monthly_income"] == 13700001);
    CHECK(ra.fields["position"] == "kasi pelayanan");
    CHECK(s->get("enrolment", b, true)->deleted);
    CHECK_FALSE(s->get("enrolment", c));  // still away, still kept for its unsent create
    CHECK(s->get("enrolment", d)->fields["monthly_income"] == 13700004);
    CHECK(s->get_secret("device_token") == "lbd_legacy_token_123");
    CHECK(s->regions() == std::vector<std::string>{"7242"});
    CHECK(s->get_meta("cursor") == "v2:1:2");
    CHECK(s->conflicts(true).size() == 1);
    CHECK(s->refused_changes().at(0).message == "phone 08952220666 is not valid");
    CHECK(s->find_by_key("enrolment", "7242111911800004").size() == 1);
    wire_before = s->pending_wire(100);
    REQUIRE(wire_before.size() == 3);  // seqs 3 (c's create), 4, 5
    CHECK(decode_op(Json::parse(wire_before[0].json), "x").set["monthly_income"] == 13700003);
    CHECK(s->pending_changes(100).size() == 3);
    // Writes go on as usual.
    s->update("enrolment", d, {{"phone", "081255556666"}});
  }
  // After: no longer in clear anywhere in the files (rewritten, vacuumed, WAL emptied).
  const std::string new_bytes = all_bytes(path);
  CHECK(new_bytes.find("13700001") == std::string::npos);
  CHECK(new_bytes.find("13700004") == std::string::npos);
  CHECK(new_bytes.find("kasi pelayanan") == std::string::npos);
  CHECK(new_bytes.find("verified") != std::string::npos);  // status stays in clear, with a MAC
  // The upgrade happened once: the key is not wrapped again at the next open.
  const std::string wrapped = sql_text(path, "SELECT value FROM meta WHERE key='crypto'");
  {
    auto s = open_store(path, "lama-sebelum-mac", "dev-old");
    CHECK(s->pending_wire(100).size() == 4);
    CHECK(s->pending_wire(100)[0].json == wire_before[0].json);
  }
  CHECK(sql_text(path, "SELECT value FROM meta WHERE key='crypto'") == wrapped);
  // And from now on an edit without the passphrase is caught.
  sql_exec(path, "UPDATE records SET doc=json_set(doc,'$.status','enrolled') WHERE id='" + a + "'");
  auto s = open_store(path, "lama-sebelum-mac", "dev-old");
  check_corrupt([&] { s->get("enrolment", a); }, a);
}

TEST_CASE("a schema that marks more fields personal reseals the records already stored") {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  std::string id;
  {
    auto s = open_store(path, "kunci");
    id = s->create("enrolment", test::sample_enrolment(5));
  }
  REQUIRE(all_bytes(path).find("OFC-0022") != std::string::npos);
  // The same schema with officer_id marked personal.
  std::ifstream in(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  Json doc = Json::parse(in);
  for (auto& f : doc["collections"][0]["fields"]) {
    if (f["name"] == "officer_id") f["personal"] = true;
  }
  OpenOptions o;
  o.path = path;
  o.schema = Schema::parse(doc);
  o.passphrase = "kunci";
  {
    auto s = Store::open(o);
    CHECK(s->get("enrolment", id)->fields["officer_id"] == "OFC-0022");
  }
  CHECK(all_bytes(path).find("OFC-0022") == std::string::npos);
  auto s = Store::open(o);
  CHECK(s->pending_wire(10).size() == 1);
}

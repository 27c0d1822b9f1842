// Personal data at rest: the database file never holds a NIK, name or phone in clear; a
// wrong passphrase gets a clear error and changes nothing; lookups by NIK still work.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

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

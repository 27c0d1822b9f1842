// Attachments on one laptop (issue 17), no server: the schema's attachment type, the value
// a record holds, and the laptop's attachment file (sealed with an encrypted store).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include "lumbung/attachments.h"
#include "lumbung/error.h"
#include "lumbung/schema.h"
#include "lumbung/store.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;

namespace {

Json schema_document() {
  std::ifstream in(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json");
  REQUIRE(in.good());
  return Json::parse(in);
}

Json& field_json(Json& doc, const std::string& name) {
  for (Json& f : doc["collections"][0]["fields"]) {
    if (f["name"] == name) return f;
  }
  FAIL("no field " << name);
  return doc;
}

std::string parse_message(const Json& doc) {
  try {
    Schema::parse(doc);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kSchemaInvalid);
    return e.what();
  }
  return "";
}

const std::string kSha(64, 'a');

Json ref(int64_t size, const std::string& mime = "image/jpeg") {
  return Json{{"sha256", kSha}, {"size", size}, {"mime", mime}, {"name", "ktp.jpg"}};
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the enrolment schema declares foto_ktp and formulir as optional attachments") {
  auto schema = test::enrolment_schema();
  const CollectionSchema* c = schema->collection("enrolment");
  REQUIRE(c);
  const FieldDef* foto = c->field("foto_ktp");
  REQUIRE(foto);
  CHECK(foto->type == FieldType::kAttachment);
  CHECK(foto->personal);
  CHECK_FALSE(foto->required);
  CHECK(foto->max_size == int64_t{1048576});
  CHECK(foto->mime == std::vector<std::string>{"image/jpeg", "image/png"});
  const FieldDef* form = c->field("formulir");
  REQUIRE(form);
  CHECK(form->type == FieldType::kAttachment);
  CHECK(form->max_size == int64_t{2097152});
  // A record without attachments is still whole.
  Json r = test::sample_enrolment();
  CHECK(c->normalize_and_validate(r, false).empty());
}

TEST_CASE("mime and max_size belong to attachment fields and are required there") {
  CHECK(parse_message(schema_document()).empty());
  Json d = schema_document();
  field_json(d, "full_name")["max_size"] = 100;
  CHECK(parse_message(d).find("attachment fields only") != std::string::npos);
  d = schema_document();
  field_json(d, "phone")["mime"] = {"image/jpeg"};
  CHECK(parse_message(d).find("attachment fields only") != std::string::npos);
  d = schema_document();
  field_json(d, "foto_ktp").erase("mime");
  CHECK(parse_message(d).find("\"mime\"") != std::string::npos);
  d = schema_document();
  field_json(d, "foto_ktp")["mime"] = {"jpeg"};
  CHECK(parse_message(d).find("MIME types") != std::string::npos);
  d = schema_document();
  field_json(d, "foto_ktp").erase("max_size");
  CHECK(parse_message(d).find("\"max_size\"") != std::string::npos);
  d = schema_document();
  field_json(d, "foto_ktp")["max_size"] = 0;
  CHECK(parse_message(d).find("\"max_size\"") != std::string::npos);
  d = schema_document();
  field_json(d, "foto_ktp")["max_size"] = 65 * 1024 * 1024;
  CHECK(parse_message(d).find("\"max_size\"") != std::string::npos);
  d = schema_document();
  field_json(d, "heirs")["item_fields"].push_back(field_json(d, "foto_ktp"));
  CHECK(parse_message(d).find("object_list") != std::string::npos);
  d = schema_document();
  d["collections"][0]["natural_key"] = "foto_ktp";
  CHECK_FALSE(parse_message(d).empty());
}

TEST_CASE("an attachment value is a reference checked against the field's limits") {
  auto schema = test::enrolment_schema();
  const CollectionSchema& c = *schema->collection("enrolment");
  Json ok{{"foto_ktp", ref(1000)}};
  CHECK(c.normalize_and_validate(ok, true).empty());
  Json upper{{"foto_ktp", ref(1000)}};
  upper["foto_ktp"]["sha256"] = std::string(64, 'A');
  CHECK(c.normalize_and_validate(upper, true).empty());
  CHECK(upper["foto_ktp"]["sha256"] == kSha);  // stored lower-case

  struct Case {
    const char* what;
    Json value;
    const char* reason;
  };
  Json extra = ref(10);
  extra["path"] = "/tmp/x";
  Json short_sha = ref(10);
  short_sha["sha256"] = "abc";
  Json no_size = ref(10);
  no_size.erase("size");
  Json long_name = ref(10);
  long_name["name"] = std::string(300, 'x');
  const Case cases[] = {
      {"text", Json("ktp.jpg"), "wrong_type"},
      {"unknown member", extra, "wrong_type"},
      {"short sha", short_sha, "wrong_type"},
      {"no size", no_size, "wrong_type"},
      {"zero size", ref(0), "wrong_type"},
      {"too large", ref(1048577), "too_large"},
      {"pdf for a photo", ref(100, "application/pdf"), "not_allowed"},
      {"long name", long_name, "wrong_type"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    Json patch{{"foto_ktp", k.value}};
    auto issues = c.normalize_and_validate(patch, true);
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].field == "foto_ktp");
    CHECK(issues[0].reason == k.reason);
    CHECK(issues[0].message.find("Foto KTP") == 0);
  }
  Json pdf{{"formulir", ref(100, "application/pdf")}};
  CHECK(c.normalize_and_validate(pdf, true).empty());
}

TEST_CASE("attach keeps the bytes sealed and writes the reference into the record") {
  test::TempDir dir;
  OpenOptions o;
  o.path = dir.path() + "/a.db";
  o.schema = test::enrolment_schema();
  o.device_id = "laptop-a";
  o.passphrase = "kata sandi petugas";
  auto store = Store::open(o);
  const std::string path = AttachmentStore::path_for(o.path);
  auto att = AttachmentStore::open(*store, path);
  const std::string id = store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = "\xFF\xD8\xFF" + std::string(5000, 'Q') + "UNIQUE-MARKER-1234";
  const AttachmentRef r = att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "ktp.jpg");
  CHECK(r.size == static_cast<int64_t>(bytes.size()));
  auto rec = store->get("enrolment", id);
  REQUIRE(rec);
  CHECK(rec->fields["foto_ktp"] == r.to_json());
  CHECK(att->read(r.sha256) == bytes);
  auto info = att->info(r.sha256);
  REQUIRE(info);
  CHECK(info->state == AttachmentState::kWaiting);
  CHECK(info->local);
  CHECK(info->ref.name == "ktp.jpg");
  CHECK(att->unsent().size() == 1);
  // Sealed at rest: neither the bytes nor the file name are in the file in clear.
  att.reset();
  const std::string raw = file_bytes(path);
  CHECK(raw.find("UNIQUE-MARKER-1234") == std::string::npos);
  CHECK(raw.find("ktp.jpg") == std::string::npos);
  att = AttachmentStore::open(*store, path);
  CHECK(att->read(r.sha256) == bytes);

  // Refusals change nothing.
  const std::string big(1048577, 'x');
  try {
    att->attach("enrolment", id, "foto_ktp", big, "image/jpeg", "big.jpg");
    FAIL("a file over max_size was kept");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kValidationFailed);
    CHECK(std::string(e.what()).find("1048576") != std::string::npos);
  }
  CHECK_THROWS_AS(att->attach("enrolment", id, "foto_ktp", "%PDF-1.4", "application/pdf", ""),
                  Error);
  CHECK_THROWS_AS(att->attach("enrolment", id, "full_name", "x", "image/jpeg", ""), Error);
  CHECK_THROWS_AS(att->attach("enrolment", "no-such-id", "foto_ktp", "x", "image/jpeg", ""), Error);
  CHECK(att->unsent().size() == 1);
  CHECK(store->get("enrolment", id)->fields["foto_ktp"] == r.to_json());

  // Another device's store may not open this file.
  OpenOptions ob = o;
  ob.path = dir.path() + "/b.db";
  ob.device_id = "laptop-b";
  auto other = Store::open(ob);
  CHECK_THROWS_AS(AttachmentStore::open(*other, path), Error);
}

TEST_CASE("an attachment file from before refusal codes opens and keeps a refusal's code") {
  test::TempDir dir;
  OpenOptions o;
  o.path = dir.path() + "/a.db";
  o.schema = test::enrolment_schema();
  o.device_id = "laptop-a";
  auto store = Store::open(o);
  const std::string path = AttachmentStore::path_for(o.path);
  const std::string id = store->create("enrolment", test::konawe_enrolment(1));
  const std::string bytes = "\xFF\xD8\xFF" + std::string(3000, 'k');
  std::string sha;
  {
    auto att = AttachmentStore::open(*store, path);
    sha = att->attach("enrolment", id, "foto_ktp", bytes, "image/jpeg", "ktp.jpg").sha256;
    att->set_failed(sha, "the server's space for this device's attachments is full");
  }
  // The file as the first attachment build left it: no error_code column.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "ALTER TABLE att DROP COLUMN error_code", nullptr, nullptr, nullptr) ==
        SQLITE_OK);
  sqlite3_close(db);

  auto att = AttachmentStore::open(*store, path);
  auto info = att->info(sha);
  REQUIRE(info);
  CHECK(info->state == AttachmentState::kFailed);
  CHECK(info->error.find("full") != std::string::npos);
  CHECK(info->error_code.empty());  // not known then
  CHECK(att->read(sha) == bytes);
  att->set_failed(sha, "full again", "quota_exceeded");
  CHECK(att->info(sha)->error_code == "quota_exceeded");
  att->set_sent(sha, 1000, false);  // a success clears the refusal
  CHECK(att->info(sha)->error.empty());
  CHECK(att->info(sha)->error_code.empty());
  CHECK(att->partial_bytes(sha) == 0);
}

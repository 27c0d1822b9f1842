// Schema documents signed by the server (issue 18: "pull carries it, signed by the server"),
// through the real lumbung-server: a laptop is given the server's schema key when it
// registers and checks every schema document it fetches against it before it moves; a
// document signed with another key, changed on the way or stripped of its signature is
// refused with signature_invalid, the laptop stays on its version and its sync goes on; a
// store registered before keys were sent learns the key from its first signed answer.
// The man in the middle is tests/support/tamper_relay.h, on loopback.
#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <atomic>
#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "server/schema_versions_support.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/laptop.h"
#include "support/sha256_hex.h"
#include "support/tamper_relay.h"
#include "support/temp_dir.h"

using namespace lumbung;
using test::ServerFixture;
using test::TamperRelay;
using namespace lumbung::test::versions;

namespace {

// "ed25519 <id> <base64>" -> the raw bytes (no check of the id: the engine's parser is
// what is under test).
std::string raw_of(const std::string& text) {
  const auto b64 = text.substr(text.rfind(' ') + 1);
  const auto raw = crypto::unbase64(b64);
  return raw ? *raw : std::string();
}

// Ed25519 with OpenSSL directly: the signature is over exactly the bytes served.
bool signed_by(const std::string& key_text, const std::string& bytes, const std::string& sig_text) {
  const std::string pub = raw_of(key_text), sig = raw_of(sig_text);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(pub.data()), pub.size()),
      &EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) == 1;
}

// What the man in the middle does to GET /v1/schema answers (all else passes unchanged).
enum class Tamper { kNone, kStripSignature, kFlipSignature, kChangeDocument };

// A laptop whose every request goes through a TamperRelay in front of the server.
struct RelayedLaptop {
  test::TempDir dir;
  TamperRelay relay;
  std::atomic<Tamper> mode{Tamper::kNone};
  std::string tampered_body;  // the last document changed on the way
  std::unique_ptr<Transport> link;
  std::unique_ptr<Store> store;
  std::unique_ptr<SyncClient> client;

  RelayedLaptop(ServerFixture& f, const std::string& id) : relay(f.server().port()) {
    relay.on_request_head = [this](std::string& head) {
      // A plain answer, so that a byte of the document can be changed (a gzip'ed one
      // changed would fail its CRC: a link failure, not a verdict on the document).
      if (mode == Tamper::kChangeDocument && head.rfind("GET /v1/schema", 0) == 0) {
        TamperRelay::drop_header(head, "accept-encoding");
      }
    };
    relay.on_answer = [this](std::string& head, std::string& body) {
      const std::string sig = TamperRelay::header(head, "lumbung-schema-signature");
      if (sig.empty()) return;  // not a schema answer
      switch (mode.load()) {
        case Tamper::kNone:
          break;
        case Tamper::kStripSignature:
          TamperRelay::drop_header(head, "lumbung-schema-signature");
          break;
        case Tamper::kFlipSignature: {
          // The first character of the signature's base64: still 64 bytes, other ones.
          const size_t at = TamperRelay::find_nocase(head, sig) + sig.rfind(' ') + 1;
          head[at] = head[at] == 'A' ? 'B' : 'A';
          break;
        }
        case Tamper::kChangeDocument: {
          const size_t at = body.find("\"max_length\": 20");
          if (at != std::string::npos) body.replace(at, 16, "\"max_length\": 99");
          tampered_body = body;
          break;
        }
      }
    };
    link = make_http_transport(relay.url());
    OpenOptions o;
    o.path = dir.path() + "/" + id + ".db";
    o.schema = test::enrolment_schema();
    o.device_id = id;
    store = Store::open(o);
    client = std::make_unique<SyncClient>(*store, *link, "");
    client->register_device(f.code({"74.02"}), id);
  }

  SyncReport sync() {
    SyncOptions o;
    o.sleep = [](int) {};
    o.max_attempts = 3;
    return client->sync(o);
  }
  // fetch_schema()'s refusal: its code and message ("" and kInternal if it did not throw).
  Error refusal() {
    try {
      client->fetch_schema();
    } catch (const Error& e) {
      return e;
    }
    return Error(ErrorCode::kInternal, "");
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a laptop is given the schema key at registration and moves to a signed version") {
  test::TempDir files;
  ServerFixture f({"--schema", write_file(files, "v1.json", v1_document())});
  test::Laptop a(f, "laptop-a", {"74.02"});
  const std::string key = a.store->get_meta("schema_key");
  REQUIRE(key.rfind("ed25519 ", 0) == 0);

  // The document as served, signed over exactly its bytes, by the key the laptop was given.
  auto served = f.http().get("/v1/schema", f.admin());
  REQUIRE(served.status == 200);
  CHECK(served.header("lumbung-schema-key") == key);
  const std::string sig = served.header("lumbung-schema-signature");
  CHECK(signed_by(key, served.body, sig));
  CHECK_FALSE(signed_by(key, served.body + "\n", sig));
  // Its own key: not the audit checkpoints' (a checkpoint signature cannot pass for it).
  auto checkpoint = f.http().post("/v1/admin/audit/checkpoint", Json::object(), f.admin());
  REQUIRE(checkpoint.status == 201);
  const std::string audit_key = checkpoint.json()["public_key"].get<std::string>();
  REQUIRE(audit_key.size() == 64);  // hex
  CHECK(audit_key != test::hex_of(raw_of(key)));

  // The office publishes version 2; the laptop learns of it at sync, fetches it, checks it.
  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);
  a.store->create("enrolment", test::konawe_enrolment(1));
  CHECK(a.sync().server_schema_version == 2);
  const Json doc = a.client->fetch_schema();
  REQUIRE(doc["version"] == 2);
  a.reopen(Schema::parse(doc));
  CHECK(a.store->schema().version() == 2);
  CHECK(a.store->get_meta("schema_key") == key);

  // The key comes from the key file: the same after a restart.
  const uint16_t port = f.server().port();
  f.stop();
  f.start(port);
  CHECK(f.http().get("/v1/schema", f.admin()).header("lumbung-schema-key") == key);
  CHECK(a.client->fetch_schema()["version"] == 2);
}

TEST_CASE("a schema document signed with another server's key is refused: nothing changes") {
  test::TempDir files;
  const std::string v1 = write_file(files, "v1.json", v1_document());
  ServerFixture f({"--schema", v1});
  ServerFixture other({"--schema", v1});  // its own data and key file
  test::Laptop a(f, "laptop-a", {"74.02"});
  const std::string key = a.store->get_meta("schema_key");
  REQUIRE(other.http().post("/v1/admin/schema", v2_document(), other.admin()).status == 201);

  // The other server answers this laptop (a token of its own) with a well-formed version 2,
  // signed with its key.
  test::Device there = other.device("laptop-a", {"74.02"});
  auto link = make_http_transport(other.server().base_url());
  SyncClient to_other(*a.store, *link, there.token);
  Error e(ErrorCode::kInternal, "");
  try {
    to_other.fetch_schema();
  } catch (const Error& thrown) {
    e = thrown;
  }
  CHECK(e.code() == ErrorCode::kSignatureInvalid);
  CHECK(std::string(error_code_name(e.code())) == "signature_invalid");
  CHECK(has(e.what(), "signed with key"));
  CHECK(has(e.what(), key.substr(8, 16)));  // names the key the laptop trusts
  CHECK(has(e.what(), "stays on schema version 1"));
  CHECK(a.store->schema().version() == 1);
  CHECK(a.store->get_meta("schema_key") == key);

  // The laptop keeps working under version 1 with its own server.
  a.store->create("enrolment", test::konawe_enrolment(2));
  const SyncReport r = a.sync();
  CHECK(r.pushed == 1);
  CHECK(r.refused == 0);
  CHECK(a.store->pending_count() == 0);
}

TEST_CASE("a schema document changed on the way or without its signature is refused") {
  test::TempDir files;
  ServerFixture f({"--schema", write_file(files, "v1.json", v1_document())});
  RelayedLaptop a(f, "laptop-r");
  const std::string key = a.store->get_meta("schema_key");
  REQUIRE_FALSE(key.empty());
  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);

  int serial = 10;
  for (Tamper t : {Tamper::kStripSignature, Tamper::kFlipSignature, Tamper::kChangeDocument}) {
    a.mode = t;
    // The sync through the same man in the middle goes on: pushes and pulls pass.
    a.store->create("enrolment", test::konawe_enrolment(++serial));
    const SyncReport r = a.sync();
    CHECK(r.pushed == 1);
    CHECK(r.server_schema_version == 2);
    const Error e = a.refusal();
    CHECK(e.code() == ErrorCode::kSignatureInvalid);
    CHECK(has(e.what(), "stays on schema version 1"));
    if (t == Tamper::kStripSignature) CHECK(has(e.what(), "carries no signature"));
    if (t != Tamper::kStripSignature) CHECK(has(e.what(), "does not match its bytes"));
    CHECK(a.store->schema().version() == 1);
    CHECK(a.store->get_meta("schema_key") == key);
    CHECK(a.store->pending_count() == 0);
  }
  // The changed document was a valid schema: only its signature gave it away.
  REQUIRE(has(a.tampered_body, "\"max_length\": 99"));
  CHECK_NOTHROW(Schema::parse(Json::parse(a.tampered_body)));

  // Left alone, the same laptop takes version 2.
  a.mode = Tamper::kNone;
  CHECK(a.client->fetch_schema()["version"] == 2);
}

TEST_CASE("a store registered before schema keys learns the key from its first signed answer") {
  test::TempDir files;
  ServerFixture f({"--schema", write_file(files, "v1.json", v1_document())});
  RelayedLaptop a(f, "laptop-old");
  const std::string key = a.store->get_meta("schema_key");
  a.store->set_meta("schema_key", "");  // what an older engine's registration left
  REQUIRE(f.http().post("/v1/admin/schema", v2_document(), f.admin()).status == 201);
  CHECK(a.sync().server_schema_version == 2);

  // Without a key: an unsigned answer is taken as before (a server older than signing),
  // teaching nothing; a signed one that does not verify is refused.
  a.mode = Tamper::kStripSignature;
  CHECK(a.client->fetch_schema()["version"] == 2);
  CHECK(a.store->get_meta("schema_key").empty());
  a.mode = Tamper::kFlipSignature;
  CHECK(a.refusal().code() == ErrorCode::kSignatureInvalid);
  CHECK(a.store->get_meta("schema_key").empty());

  // The first signed answer that verifies gives the key; from then on it is required.
  a.mode = Tamper::kNone;
  CHECK(a.client->fetch_schema()["version"] == 2);
  CHECK(a.store->get_meta("schema_key") == key);
  a.mode = Tamper::kStripSignature;
  const Error e = a.refusal();
  CHECK(e.code() == ErrorCode::kSignatureInvalid);
  CHECK(has(e.what(), "carries no signature"));
}

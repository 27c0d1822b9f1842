// SyncClient::fetch_schema: GET /v1/schema, checked against the server's signature before
// anyone moves to the document (docs/PROTOCOL.md "Schema versions", "Signed documents").
//
// The device keeps the server's schema key in its store (meta "schema_key"): given in the
// registration answer, or, for a store registered before keys were sent, taken from the
// first signed schema answer (trusted on TLS and the pin, as every answer was before).
// From then on a document without a valid signature by that key is refused with
// kSignatureInvalid, and nothing changes: the store stays on its schema.
#include <cctype>

#include "crypto/schema_signature.h"
#include "lumbung/error.h"
#include "lumbung/sync.h"
#include "sync/request_loop.h"

namespace lumbung {
namespace {

namespace sig = schema_signature;

std::string header_of(const sync_detail::CallInfo& info, std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto it = info.headers.find(name);
  return it == info.headers.end() ? std::string() : it->second;
}

[[noreturn]] void refuse(const Store& store, const std::string& why) {
  throw Error(ErrorCode::kSignatureInvalid, "the server's schema document was refused: " + why +
                                                "; this laptop stays on schema version " +
                                                std::to_string(store.schema().version()) +
                                                " and keeps syncing under it");
}

// Throws unless `signature_text` is a valid signature of `document` by `key`.
void check(const Store& store, const sig::Parsed& key, const std::string& signature_text,
           const std::string& document) {
  if (signature_text.empty()) {
    refuse(store,
           "it carries no signature, and this laptop takes only documents signed with "
           "the server's schema key " +
               key.key_id);
  }
  const auto s = sig::parse(signature_text, 64);
  if (!s) refuse(store, "its signature header is malformed");
  if (s->key_id != key.key_id) {
    refuse(store, "it is signed with key " + s->key_id + ", not with the server's schema key " +
                      key.key_id + " this laptop was given");
  }
  if (!sig::verify(key.bytes, document, s->bytes)) {
    refuse(store, "its signature does not match its bytes (changed on the way?)");
  }
}

}  // namespace

namespace sync_detail {

// The registration answer's schema key becomes the one this store requires (a re-enrolment
// is the office's word, so it replaces an older key). An answer without a readable one
// changes nothing: the registration itself (its token, used up on the server) must not fail.
void keep_schema_key(Store& store, const Json& answer) {
  const auto it = answer.find(sig::kKeyMember);
  if (it == answer.end() || !it->is_string()) return;
  if (!sig::parse(it->get_ref<const std::string&>(), 32)) return;
  store.set_meta(sig::kKeyMember, it->get<std::string>());
}

}  // namespace sync_detail

Json SyncClient::fetch_schema() {
  SyncOptions o;
  sync_detail::RequestLoop link(transport_, token_, o, {});
  sync_detail::CallInfo info;
  const std::string text = link.call_raw(
      "GET", "/v1/schema", std::string(),
      {{"Accept-Encoding", "gzip"}, {"User-Agent", "lumbung"}, {"Accept", "application/json"}},
      nullptr, &info);
  const std::string signature = header_of(info, sig::kSignatureHeader);
  const std::string kept = store_.get_meta(sig::kKeyMember);
  std::string learnt;  // a store without a key: the one this answer names, once it verifies
  if (!kept.empty()) {
    const auto key = sig::parse(kept, 32);
    if (!key) refuse(store_, "the schema key this laptop keeps is unreadable (enrol it again)");
    check(store_, *key, signature, text);
  } else if (!signature.empty()) {
    const std::string named = header_of(info, sig::kKeyHeader);
    const auto key = sig::parse(named, 32);
    if (!key) refuse(store_, "it is signed but names no readable key");
    check(store_, *key, signature, text);
    learnt = named;
  }  // else: a server that signs nothing (older than signing), trusted on TLS as before
  Json doc;
  try {
    doc = Json::parse(text);
    Schema::parse(doc);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kProtocol, std::string("the server's schema is not JSON: ") + e.what());
  } catch (const Error& e) {
    throw Error(ErrorCode::kProtocol,
                std::string("the server's schema does not parse: ") + e.what());
  }
  if (!learnt.empty()) store_.set_meta(sig::kKeyMember, learnt);
  return doc;
}

}  // namespace lumbung

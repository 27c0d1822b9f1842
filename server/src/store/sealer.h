// Private to server/src/store: personal data sealed at the SQLite boundary, so that the
// database file holds no personal value in clear and the rest of the server is unchanged
// (docs/SECURITY.md "Sealed on the server").
//
// STORED FORMS (with a Sealer; a store without one keeps everything in clear):
//   records.doc      the record's fields that the schema does not mark personal (JSON)
//   records.sealed   seal({personal field: value}) of the same record, NULL if it has none;
//                    associated data "records\0<col>\0<id>"
//   records.nkey     hex HMAC-SHA256(index key, "<col>\0<natural key>"): a blind index, so
//                    duplicate detection by NIK needs no plaintext
//   oplog.op, conflicts.body, conflicts.resolution, duplicates.resolution, refused.op,
//   refused.message, refused.resolution
//                    sealed text "s1:" + base64(nonce || AES-256-GCM(text) || tag),
//                    associated data "<table>.<column>\0<row id>" (oplog: its pos); the
//                    column defaults 'null' and '' stay as they are
// seal() is crypto::seal (AES-256-GCM, a fresh 96-bit nonce per value) under the key file's
// data key (keys/server_keys.h). The associated data binds a value to its row and column:
// a sealed value copied to another row does not open there.
//
// Thread-safe (every call makes its own OpenSSL context).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "lumbung/schema.h"

namespace lumbung::server::sqlite_detail {

class Sealer {
 public:
  // personal: collection -> names of its personal fields; natural_key: collection -> field.
  Sealer(std::string data_key, std::string index_key,
         std::map<std::string, std::set<std::string>> personal);

  struct Doc {
    std::string clear;                  // JSON of the non-personal fields
    std::optional<std::string> sealed;  // nullopt when the record has no personal field
  };
  // A record's doc (JSON object text) split for storage. Throws Error(kCorrupt) if not JSON.
  Doc split_doc(const std::string& col, const std::string& id, std::string_view doc) const;
  // The whole doc again. Throws Error(kCorrupt) naming the record if `sealed` does not open.
  Json join_doc(const std::string& col, const std::string& id, std::string_view clear,
                const std::optional<std::string_view>& sealed) const;

  // The same doc as JSON text, joined without decoding it (a snapshot sends records as
  // stored): `clear` and the opened sealed fields are objects split_doc wrote, with no name
  // in common, so their members are put side by side. Throws as join_doc.
  std::string join_doc_text(const std::string& col, const std::string& id, std::string_view clear,
                            const std::optional<std::string_view>& sealed) const;

  std::string blind(const std::string& col, const std::string& key) const;

  // Seals these fields too from now on: a schema version published live (sync/op_upgrade.h
  // LiveSchema) may rename or add a personal field. None is ever dropped: a former name is
  // never given again (schema_versions.h), so keeping it sealed costs nothing.
  void add_personal(const std::map<std::string, std::set<std::string>>& more);

  // `where` = "<table>.<column>". The defaults '' and 'null' are kept as they are.
  std::string seal_text(std::string_view where, std::string_view row_id,
                        std::string_view text) const;
  // Throws Error(kCorrupt) if `stored` is neither sealed for this row nor a default.
  std::string open_text(std::string_view where, std::string_view row_id,
                        std::string_view stored) const;
  static bool is_sealed(std::string_view stored) { return stored.rfind("s1:", 0) == 0; }

 private:
  std::string data_key_;
  std::string index_key_;
  mutable std::mutex personal_mu_;
  std::shared_ptr<const std::map<std::string, std::set<std::string>>> personal_;
};

// Seals a text column value when `s` is set, else returns it unchanged.
inline std::string seal_or_clear(const Sealer* s, std::string_view where, std::string_view id,
                                 std::string text) {
  return s ? s->seal_text(where, id, text) : text;
}
inline std::string open_or_clear(const Sealer* s, std::string_view where, std::string_view id,
                                 std::string_view stored) {
  return s ? s->open_text(where, id, stored) : std::string(stored);
}

}  // namespace lumbung::server::sqlite_detail

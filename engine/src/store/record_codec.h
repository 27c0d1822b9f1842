// How a record's merge state and a conflict are stored as text, shared by the device
// store and the server's SQLite store so both files read the same way.
//
//   doc  JSON object of every field ever written, cleared ones as null
//   ver  JSON object of field versions: "" holds the version shared by most fields, other
//        keys only the fields whose version differs ({"":[hlc,"dev"],"phone":[..]}), so a
//        freshly created record stores one version, not one per field
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "lumbung/merge.h"

namespace lumbung::codec {

std::string encode_doc(const RecordState& st);
std::string encode_versions(const RecordState& st);
// encode_versions of a record whose fields all carry `v` (a create applied to nothing).
std::string encode_one_version(const Version& v);
// Throws Error(kCorrupt) if the stored text does not decode.
RecordState decode_state(std::string_view doc, std::string_view ver, int64_t del_hlc,
                         std::string_view del_dev);
RecordState decode_state(Json doc, std::string_view ver, int64_t del_hlc, std::string_view del_dev);

Json encode_conflict(const Conflict& c);
Conflict decode_conflict(const Json& j);                   // throws Error(kCorrupt)
ConflictKind conflict_kind_from(const std::string& name);  // throws Error(kCorrupt)

// Index keys. Region codes and NIKs are digit strings that share long prefixes, and
// comparing them as text dominated index maintenance; as integers they compare in one
// instruction. A region code (at most 10 digits) maps to its digits right-padded to 10,
// so every code under a prefix falls in one integer range.
std::optional<int64_t> scope_key(std::string_view region_code);
// [low, high) of scope keys under a prefix of digits; nullopt if it is not 1..10 digits.
std::optional<std::pair<int64_t, int64_t>> scope_range(std::string_view prefix);
// A natural key as stored in the index: an integer when it is 1..18 digits without a
// leading zero (a one-to-one mapping), otherwise the text itself.
struct NaturalKey {
  bool is_int = false;
  int64_t i = 0;
  std::string_view text;
};
NaturalKey natural_key(std::string_view value);

// JSON string literal for `s` (with quotes), for building JSON text without a DOM.
std::string json_quote(const std::string& s);

}  // namespace lumbung::codec

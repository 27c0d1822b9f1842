// How a record's merge state and a conflict are stored as text, shared by the device
// store and the server's SQLite store so both files read the same way.
//
//   doc  JSON object of every field ever written, cleared ones as null
//   ver  JSON object of field versions: "" holds the version shared by most fields, other
//        keys only the fields whose version differs ({"":[hlc,"dev"],"phone":[..]}), so a
//        freshly created record stores one version, not one per field
#pragma once

#include <string>
#include <string_view>

#include "lumbung/merge.h"

namespace lumbung::codec {

std::string encode_doc(const RecordState& st);
std::string encode_versions(const RecordState& st);
// Throws Error(kCorrupt) if the stored text does not decode.
RecordState decode_state(std::string_view doc, std::string_view ver, int64_t del_hlc,
                         std::string_view del_dev);

Json encode_conflict(const Conflict& c);
Conflict decode_conflict(const Json& j);  // throws Error(kCorrupt)
ConflictKind conflict_kind_from(const std::string& name);  // throws Error(kCorrupt)

// JSON string literal for `s` (with quotes), for building JSON text without a DOM.
std::string json_quote(const std::string& s);

}  // namespace lumbung::codec

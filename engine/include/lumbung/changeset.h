// Ops and change sets: the unit that travels between replicas.
//
// The JSON encoding is written down at the top of engine/src/changeset/changeset.cpp
// and in docs/PROTOCOL.md; this header is the in-memory form.
//
// An Op is one write of one record by one device: either a set of field values (a create
// or a field-level update) or a delete. It carries the version it was written at and, for
// each field it sets, the version of that field the writer had seen (`base`), which is how
// receivers tell a true conflict from an ordinary overwrite.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lumbung/clock.h"
#include "lumbung/schema.h"

namespace lumbung {

struct Op {
  uint64_t seq = 0;  // the writing device's sequence number, from 1, gap-free
  std::string collection;
  std::string id;   // record id (UUID, made on the device)
  Version version;  // hlc + writing device
  bool is_delete = false;
  Json set = Json::object();  // field -> value (null clears the field); empty for a delete
  // field -> version the writer had seen (absent = it had seen none). An update lists the
  // fields it sets; a delete lists every field of the record as the deleter saw it. (A
  // version-1 delete carried one key "*", the newest version it had seen: still accepted,
  // read as its view of every field - merge.h seen_version.)
  std::map<std::string, Version> base;
  // Pulled only, written by the server when a record changes region (changeset.cpp):
  // `record` = the whole record ({"fields", "versions", "tombstone"}) for devices of the
  // region it entered; `gone` = it left the puller's regions.
  Json record;
  bool gone = false;
  // Pulled only, asked for with refusals=1: {"device", "seq", "code", "field", "message"}:
  // the server refused op `seq` of `device` after acknowledging it (an op that waited for
  // its record, docs/PROTOCOL.md "Refused ops"); only that device receives it.
  Json refusal;
  // The schema version the op was written under ("sv"; absent = 1). A server upgrades an
  // older op to its current version (lumbung/schema_versions.h) before applying it.
  int schema_version = 1;
  // Pulled only: values of fields retired since the op was written ("ret"), kept in the
  // record's history but not applied as live fields.
  Json retired;
};

// A batch of one device's ops, in seq order, as pushed.
struct ChangeSet {
  std::string device;
  std::vector<Op> ops;
};

// Encode and decode (see the format at the top of changeset.cpp). Decoding validates the
// shape (types, required members, seq order) and throws Error(kProtocol) naming the
// offending member; it does not check values against a schema.
Json encode_op(const Op& op, bool with_device);
Op decode_op(const Json& j, const std::string& default_device);
Json encode_changeset(const ChangeSet& cs);
ChangeSet decode_changeset(const Json& j);
// The same, moving each op's `set` out of `j` instead of copying it (a pushed batch or a
// pulled page is ~2,000 of them); `j` is left valid but unspecified.
Op decode_op(Json&& j, const std::string& default_device);
ChangeSet decode_changeset(Json&& j);

// An op's wire text around its `set` already serialized (`set_text` == op.set.dump()), for
// callers that store the set too and so serialize it once. Decodes to the same op as
// encode_op(op, with_device); member order differs from encode_op(...).dump().
std::string encode_op_text(const Op& op, bool with_device, std::string_view set_text);

// CHANGE-SET FORMAT v2 (docs/PROTOCOL.md "Change-set format v2"): the same documents as v1
// (a pushed change set with its "report", or a pull answer with "next", "more", ...), with
// their "ops" laid out column-wise (grouped by collection; ids that are canonical
// lowercase UUIDs as 16 bytes in one byte-plane column; devices and field names as
// dictionaries; seq and hlc as deltas; each field a column, its absence marked by a bit)
// in CBOR, then one compressed stream. It travels as Content-Type kChangesetV2MediaType
// with no Content-Encoding.
//
// Contract: decode_changeset_v2(encode_changeset_v2(doc)) == doc for every JSON object
// `doc` (an op the columns do not describe exactly - an unknown member, an odd type - is
// carried whole), so whatever v1 carries, v2 carries unchanged; a decoded document is
// then checked by the v1 decoders above like any v1 body.
inline constexpr const char* kChangesetV2MediaType = "application/x-lumbung-changeset-v2";
// A v2 pull answer's header: the page's size as v1 JSON text in bytes (what a pull's
// max_bytes counts), so a client sizing its pages needs not dump the decoded page to learn
// it. Absent (an older server): the client dumps.
inline constexpr const char* kTextBytesHeader = "Lumbung-Text-Bytes";

enum class V2Compression : uint8_t { kZlib = 1, kZstd = 2 };
struct V2EncodeOptions {
  V2Compression compression = V2Compression::kZstd;  // chosen by measurement (BENCHMARKS.md)
  int level = 19;
};

// `document` must be a JSON object (else Error(kInvalidArgument)).
std::string encode_changeset_v2(const Json& document, const V2EncodeOptions& options = {});
// Bounded: more than `max_output` bytes decompressed (claimed or real), a nesting deeper
// than 64, or ops whose rebuilding would allocate more than 4 x max_output (256 bytes an
// op plus every string copied from a dictionary) is Error(kBodyTooLarge); anything
// malformed (bad magic, truncated, garbled, counts or indexes that do not agree) is
// Error(kProtocol). Nothing is partially returned.
Json decode_changeset_v2(std::string_view bytes, size_t max_output);
// True when `bytes` begins with the v2 magic ("LBC2"; no JSON text begins so).
bool is_changeset_v2(std::string_view bytes);

// "hlc.device" text form of a version, used in conflict ids and logs.
std::string version_to_string(const Version& v);
Json encode_version(const Version& v);  // [hlc, "device"]
Version decode_version(const Json& j);  // throws Error(kProtocol)

}  // namespace lumbung

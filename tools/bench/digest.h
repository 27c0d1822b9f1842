// Content digest of a replica, so two replicas (or a replica and the workload it was fed)
// can be compared with one string.
//
// Format: SHA-256, lowercase hex, over the concatenation for every live record of one
// collection, in ascending id order (bytewise, as SQLite's BINARY collation orders them):
//
//   <id> "\n" <fields> "\n"
//
// where <fields> is the record's live field values as compact JSON with the object keys in
// bytewise order and no "id" member (nlohmann::json::dump() of the object). The digest of a
// workload is of its records after the schema's normalisation, i.e. what a correct store
// holds after writing them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lumbung/schema.h"

namespace lumbung {
class Store;
}

namespace lumbung::bench {

class Workload;

// The running digest itself: feed records in ascending id order, then hex().
class ContentDigest {
 public:
  ContentDigest();
  ~ContentDigest();
  ContentDigest(const ContentDigest&) = delete;
  ContentDigest& operator=(const ContentDigest&) = delete;
  void add_record(std::string_view id, const std::string& fields_json);
  std::string hex();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Digest of every live record of `collection` in `store`, read through Store::query in
// pages. `records` (if not null) receives how many records were hashed.
std::string store_digest(const Store& store, const std::string& collection,
                         uint64_t* records = nullptr);

// Digest the store should have after writing every record of `workload` into a collection
// with schema `cs`. Throws std::runtime_error naming the record if one does not validate
// (a workload record that does not is a bug in the schema or the data, not to be skipped).
std::string workload_digest(const Workload& workload, const CollectionSchema& cs);

// As workload_digest, for workload lines [begin, end), with `patch(i, fields)` applied to
// line i's parsed fields (after "id" is taken out, before normalisation) when not null.
std::string workload_digest(const Workload& workload, const CollectionSchema& cs, size_t begin,
                            size_t end, const std::function<void(size_t, Json&)>& patch);

// The record of workload line `line` as the store should hold it: parsed, "id" removed,
// normalised by `cs`. Throws std::runtime_error if it does not validate.
Json expected_fields(std::string_view line, const CollectionSchema& cs);

}  // namespace lumbung::bench

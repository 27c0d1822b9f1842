// The data definition the engine runs on: collections, fields, validation, merge policy.
//
// A schema is a JSON document (see schema/enrolment.schema.json and docs/ARCHITECTURE.md
// "Schema file") loaded at open. Nothing about BPJS is compiled into the engine: the field
// list, the validation rules (NIK, region codes, phone numbers, enums), which fields are
// personal data, which field scopes replication and which is the natural key all come
// from the file.
//
// Thread-safety: a loaded Schema is immutable; all const methods may be called from any
// thread at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lumbung {

using Json = nlohmann::json;

// How concurrent writes of one field are settled (see merge.h).
enum class MergePolicy {
  kLastWriterWins,  // highest version wins; a concurrent losing value is kept in a conflict
  kForwardOnly,     // ordered states (e.g. draft < submitted < verified < rejected <
                    // enrolled); the higher rank wins, then the higher version; settled by
                    // rule, no conflict entry; a local write may not lower the rank
  kNeedsReview,     // last-writer-wins provisionally, but every write that replaces a
                    // different existing value opens a review item
};

const char* merge_policy_name(MergePolicy p) noexcept;

enum class FieldType {
  kString,   // free text (trimmed; max_length applies)
  kInteger,  // JSON integer (min/max apply)
  kNumber,   // JSON number
  kBoolean,
  kDate,        // "YYYY-MM-DD", a real calendar date
  kTimestamp,   // ISO 8601 UTC timestamp "YYYY-MM-DDTHH:MM:SS(.sss)Z"
  kEnum,        // one of `values`
  kEnumSet,     // array of distinct members of `values` (stored sorted in schema order)
  kNik,         // Indonesian NIK: 16 digits, real province, birth-date part consistent
  kRegionCode,  // Kemendagri code; accepted with or without dots, stored without dots
  kPhone,       // Indonesian phone number, stored normalised as 08…
  kObjectList,  // array of objects whose members are declared in `item_fields`
  kAttachment,  // a file kept outside the record (engine/include/lumbung/attachments.h): the
                // record holds {"sha256", "size", "mime", "name"}; `mime` lists the types
                // allowed, `max_size` the most bytes
};

struct FieldDef {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  bool personal = false;  // personal data under UU 27/2022: encrypted at rest, never logged
  MergePolicy policy = MergePolicy::kLastWriterWins;
  std::vector<std::string> values;    // kEnum / kEnumSet members; for kForwardOnly, in rank order
  std::optional<int64_t> min, max;    // kInteger bounds
  std::optional<size_t> max_length;   // kString
  std::vector<FieldDef> item_fields;  // kObjectList members
  std::string label;                  // human name for messages, e.g. "Tanggal lahir"
  std::vector<std::string> mime;      // kAttachment: allowed MIME types ("image/jpeg")
  std::optional<int64_t> max_size;    // kAttachment: most bytes of the file

  // Rank of a value under kForwardOnly (its index in `values`), -1 if not a member.
  int rank(const Json& value) const;
};

// One problem found in a record: the field, a stable reason code, and a message that
// says what is wrong in words a field officer understands, e.g.
// {"birth_date", "nik_birth_date_mismatch", "NIK says born 19-11-1980, birth_date says
// 1980-11-09"}.
struct ValidationIssue {
  std::string field;
  std::string reason;
  std::string message;
};

class CollectionSchema {
 public:
  const std::string& name() const { return name_; }
  const std::vector<FieldDef>& fields() const { return fields_; }
  // nullptr if the collection has no such field.
  const FieldDef* field(std::string_view name) const;
  // The field whose value decides which devices a record replicates to (a region code);
  // empty if the collection is not scoped.
  const std::string& scope_field() const { return scope_field_; }
  // The natural key (e.g. "nik"): two live records with the same value are duplicates.
  // Empty if none.
  const std::string& natural_key() const { return natural_key_; }

  // Normalises `fields` in place (trim strings, strip dots from region codes, phone to
  // canonical form, sort enum sets) and checks it. With partial=false the object is a
  // whole record: required fields must be present and cross-field rules (NIK against
  // birth date and gender) apply. With partial=true it is a patch: only the given fields
  // are checked on their own. A JSON null in a patch means "clear this field" and is
  // allowed for fields that are not required. Returns every issue found (empty = valid).
  // Unknown fields are an issue with reason "unknown_field".
  // When `normalized` is given and the fields are valid, the names of the fields whose
  // value normalising changed are appended to it (the server tells the writer: PROTOCOL.md).
  std::vector<ValidationIssue> normalize_and_validate(
      Json& fields, bool partial, std::vector<std::string>* normalized = nullptr) const;

  // Normalises one value of `field` the way normalize_and_validate would store it
  // (e.g. "74.02.01.2006" -> "7402012006"); used to normalise query arguments.
  Json normalize_value(const FieldDef& field, const Json& value) const;

 private:
  friend class Schema;
  std::string name_;
  std::vector<FieldDef> fields_;
  std::string scope_field_;
  std::string natural_key_;
};

class Schema {
 public:
  // Parses a schema document. Throws Error(kSchemaInvalid) naming the problem (unknown
  // type, enum without values, scope field missing, policy unknown, ...).
  static std::shared_ptr<const Schema> parse(const Json& document);
  static std::shared_ptr<const Schema> load_file(const std::string& path);

  const std::string& name() const { return name_; }
  int version() const { return version_; }
  // A digest of the canonical schema document; stores remember it to notice a swap.
  const std::string& fingerprint() const { return fingerprint_; }
  // The document's "changelog" as written (null if none): the typed steps from version 1
  // (lumbung/schema_versions.h), with which a store upgrades its records when opened
  // under a newer version.
  const Json& changelog() const { return changelog_; }
  const std::vector<CollectionSchema>& collections() const { return collections_; }
  // nullptr if the schema has no such collection.
  const CollectionSchema* collection(std::string_view name) const;

 private:
  std::string name_;
  int version_ = 0;
  std::string fingerprint_;
  Json changelog_;
  std::vector<CollectionSchema> collections_;
};

}  // namespace lumbung

// Schema versions: the changelog a schema document carries, the check that a new version
// is a valid successor of the one before, and the upgrade of ops and records written under
// an older version.
//
// A schema document of version N > 1 carries "changelog": one entry per version 2..N,
// each {"version": k, "steps": [step, ...]}, cumulative (version N's document repeats the
// entries of N-1). So the newest document alone upgrades anything written under any older
// version. A step is one of (docs/ARCHITECTURE.md "Schema versions"):
//
//   {"op": "add_field",      "collection": C, "field": F, "default": V?}
//   {"op": "add_enum_value", "collection": C, "field": F, "value": V}
//   {"op": "tighten_rule",   "collection": C, "field": F}   required/max_length/min/max
//   {"op": "loosen_rule",    "collection": C, "field": F}   or enum values taken away
//   {"op": "rename_field",   "collection": C, "from": F, "to": G}
//   {"op": "retire_field",   "collection": C, "field": F}
//
// Thread-safety: a SchemaHistory is immutable once built; const methods may run at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/schema.h"

namespace lumbung {

struct SchemaStep {
  enum class Kind { kAddField, kAddEnumValue, kTighten, kLoosen, kRename, kRetire };
  Kind kind = Kind::kAddField;
  std::string collection;
  std::string field;  // the field (kRename: the old name)
  std::string to;     // kRename: the new name
  Json value;         // kAddEnumValue: the value; kAddField: the default (null = none)
};

// The typed steps of one document, by version (2..N). Throws Error(kSchemaInvalid) naming
// the entry when the changelog is malformed (unknown op, missing member, versions not
// 2..N in order).
std::map<int, std::vector<SchemaStep>> parse_changelog(const Json& document);

// The name in the newest version of `steps` (parse_changelog) of field `name` of
// `collection` written under `from_version`; "" if it was retired since.
std::string name_after_steps(const std::map<int, std::vector<SchemaStep>>& steps,
                             const std::string& collection, const std::string& name,
                             int from_version);

// Checks that `next` is a valid successor of `prev`: its version is prev's + 1, its
// changelog repeats prev's and adds one entry for its own version, and that entry's steps
// account for every difference between the two collections' fields - and nothing that
// cannot be mapped (a changed type, a removed collection, a new scope field or natural
// key, a rename onto a field of another type, a name that an earlier version renamed or
// retired: names are never reused, so an op without "sv" can be read as version 1). Throws
// Error(kSchemaInvalid) with every problem found, one a line, so an operator can fix the file in
// one go.
void check_successor(const Json& prev, const Json& next);

// What upgrading an op changed, for the record's history and for review.
struct OpUpgrade {
  Json retired = Json::object();      // values of retired fields the op had set
  std::vector<std::string> renamed;   // "old->new"
  std::vector<std::string> defaults;  // fields a create got from an add_field default
};

// Every version a server has served (or a device has learnt), newest last.
class SchemaHistory {
 public:
  // `documents`: one per version 1..N, in order, each a valid successor of the one before
  // (check_successor); a single document of version N > 1 is also accepted (its changelog
  // alone upgrades; older documents are then unknown). Throws Error(kSchemaInvalid).
  explicit SchemaHistory(std::vector<Json> documents);

  int current_version() const { return current_->version(); }
  const Schema& current() const { return *current_; }
  std::shared_ptr<const Schema> current_ptr() const { return current_; }
  const Json& current_document() const { return documents_.back(); }
  // The document of `version`, or nullptr if this history does not hold it.
  const Json* document(int version) const;
  // The parsed schema of `version`, or nullptr if this history does not hold it.
  std::shared_ptr<const Schema> schema_at(int version) const;

  // Rewrites `op` (written under op.schema_version) into the current version's field
  // names: renames mapped (set and base), retired fields moved out of `set` into the
  // returned `retired` (and op.retired), add_field defaults given to a create (an op
  // without base). op.schema_version becomes current. An op of a newer version than the
  // current, or below 1, throws Error(kInvalidArgument).
  OpUpgrade upgrade_op(Op& op) const;

  // The same for a record's fields: renamed, retired ones removed (returned).
  Json upgrade_fields(const std::string& collection, Json& fields, int from_version) const;
  // The field's name in the current version for `name` written under `from_version`
  // ("" if it was retired since).
  std::string current_name(const std::string& collection, const std::string& name,
                           int from_version) const;

 private:
  std::vector<Json> documents_;
  std::shared_ptr<const Schema> current_;
  std::vector<std::shared_ptr<const Schema>> schemas_;  // parallel to documents_
  std::map<int, std::vector<SchemaStep>> steps_;        // version -> steps that lead to it
};

}  // namespace lumbung

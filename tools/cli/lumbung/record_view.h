// Finding and showing records on the laptop: the lookups and displays several commands share.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "lumbung/store.h"

namespace lumbung::cli {

// The live record `ref` names: a whole id, a unique start or end of an id (at least 6
// characters, as `list` shows the last 8), or the natural key (NIK). Throws
// Error(kNotFound) if none, Error(kInvalidArgument) if `ref` fits several.
Record resolve_record(const Store& store, const CollectionSchema& cs, const std::string& ref);

// Calls `fn` for every record of the collection in id order (paged; bounded by the store).
void for_each_record(const Store& store, const CollectionSchema& cs, bool include_deleted,
                     const std::function<void(const Record&)>& fn,
                     const std::string& scope_prefix = {});

// "Label: value" lines of every field with a value, in schema order.
void print_record(std::ostream& out, const CollectionSchema& cs, const Record& r);
// {"id", "fields", "deleted", "versions": {field: [hlc, device]}} for --json.
Json record_json(const Record& r, bool with_versions = false);
// A table of records (short id + summary fields).
void print_record_table(std::ostream& out, const CollectionSchema& cs,
                        const std::vector<Record>& records);

// Prints each issue on its own line, translated, prefixed with "  ✗ ".
void print_issues(std::ostream& out, const CollectionSchema& cs,
                  const std::vector<ValidationIssue>& issues, const Json* record);

}  // namespace lumbung::cli

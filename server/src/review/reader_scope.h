// What a reader of the review API may see and act on: a reviewer token carries regions
// (region-code prefixes; none = the national office, every region); admins see every
// region. Review lists are filtered to them, and every action checks them (issue 12).
#pragma once

#include <string>
#include <vector>

#include "auth/principal.h"
#include "lumbung/error.h"
#include "sync/op_writer.h"
#include "sync/sync_service.h"

namespace lumbung::server {

// Who decided, as review resolutions record it.
inline Json who_json(const Principal& who) {
  return Json{{"role", role_name(who.role)}, {"label", who.label}};
}

// The reader's regions; empty = every region.
inline std::vector<std::string> reader_regions(const Principal& who) {
  return who.role == Role::kReviewer ? who.scope : std::vector<std::string>{};
}

// True if a record in `record_scope` ("" = a collection without regions) is the reader's.
inline bool reader_sees(const Principal& who, const std::string& record_scope) {
  const auto regions = reader_regions(who);
  return regions.empty() || record_scope.empty() || in_scope(record_scope, regions);
}

// The region prefix a reader's query may use: `requested` (any form) must lie inside one
// of its regions; "" means its only region, or everything for a national reader. Throws
// Error(kForbidden) otherwise, naming the reader's regions.
inline std::string reader_prefix(const Principal& who, const std::string& requested) {
  const auto regions = reader_regions(who);
  const std::string want = requested.empty() ? std::string() : canonical_region_prefix(requested);
  if (regions.empty()) return want;
  if (want.empty() && regions.size() == 1) return regions.front();
  for (const auto& r : regions) {
    if (!want.empty() && want.compare(0, r.size(), r) == 0) return want;
  }
  std::string list;
  for (const auto& r : regions) list += (list.empty() ? "" : ", ") + r;
  throw Error(ErrorCode::kForbidden,
              "this reviewer token covers " + list + "; ask for scope= one of them or inside one");
}

}  // namespace lumbung::server

// Targets per region (issue 16, docs/DASHBOARD.md "Targets"): the office sets how many
// records it expects in a region (e.g. the number of perangkat desa of a desa), and the
// progress answers show enrolled (live records, any status) against it.
//
// Rule: a region's target is the sum of every target set on it and on any region inside
// it (a kecamatan's = its own, if set, plus those of its desa). A target set on a region
// above the one asked for is not shared out to it.
//
// Setting: an admin anywhere, a reviewer inside its regions (as every review action).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "auth/principal.h"
#include "store/server_store.h"

namespace lumbung::server {

// Largest target one region may take (beyond any desa, kabupaten or province).
constexpr int64_t kMaxTarget = 100000000;

// Sums of targets by region code, every level (store/server_store.h TargetRow).
class TargetSums {
 public:
  explicit TargetSums(const std::vector<TargetRow>& rows);
  // The region's target under the rule above; 0 = none set.
  int64_t of(const std::string& code) const;
  bool empty() const { return sums_.empty(); }
  // Region codes of length `len` under `prefix` that have a target.
  std::vector<std::string> codes(const std::string& prefix, size_t len) const;

 private:
  std::map<std::string, int64_t> sums_;  // code (and "" for all) -> sum
};

// {"target", "percent"} members for a region with `enrolled` records, or nothing (target 0).
void put_target(Json& region, int64_t target, uint64_t enrolled);

// GET /v1/targets?scope=: {"scope", "targets": [{"scope", "n", "set_ms", "set_by"}]}, the
// targets set inside the reader's prefix.
Json list_targets_json(ServerStore& store, const Principal& who, const std::string& col,
                       const std::string& scope);
// POST /v1/targets {"scope": "<region code>", "n": <0..kMaxTarget> | null}: sets or (null)
// clears. Bad body: kInvalidArgument with "reason" (bad_body, bad_region, bad_target);
// a region outside a reviewer's: kForbidden. Returns {"scope", "n", "set_ms", "set_by",
// "previous": {"n", "set_ms", "set_by"} | null}: the target it replaced, read just before
// the write (two sets of one region at the same moment may both name the same previous).
// The versions are kept in the audit log: the caller's "set_target" entry carries
// "previous" (target_audit_detail).
Json set_target_json(ServerStore& store, const Principal& who, const std::string& col,
                     const Json& body, int64_t now_ms);
// Adds targets to a /v1/progress answer (review_service.cpp's shape): top level and every
// region in "regions" whose target is set, regions with a target and no record included.
void add_targets_to_progress(Json& progress, const TargetSums& sums);
// The "set_target" audit entry's detail for set_target_json's answer: {"n", "previous"}
// (previous: {"n", "set_ms", "set_by"} or null).
Json target_audit_detail(const Json& answer);

}  // namespace lumbung::server

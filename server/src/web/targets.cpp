#include "web/targets.h"

#include <algorithm>
#include <cmath>

#include "api/problem.h"
#include "review/reader_scope.h"

namespace lumbung::server {
namespace {

constexpr size_t kLevelLens[] = {2, 4, 6, 10};

[[noreturn]] void bad(const std::string& message, const char* reason, const char* field) {
  throw ProblemError(ErrorCode::kInvalidArgument, message, Json{{"reason", reason}}, field);
}

}  // namespace

TargetSums::TargetSums(const std::vector<TargetRow>& rows) {
  for (const TargetRow& t : rows) {
    sums_[""] += t.n;
    for (size_t len : kLevelLens) {
      if (t.scope.size() >= len) sums_[t.scope.substr(0, len)] += t.n;
    }
  }
}

int64_t TargetSums::of(const std::string& code) const {
  auto it = sums_.find(code);
  return it == sums_.end() ? 0 : it->second;
}

std::vector<std::string> TargetSums::codes(const std::string& prefix, size_t len) const {
  std::vector<std::string> out;
  for (auto it = sums_.lower_bound(prefix); it != sums_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (it->first.size() == len && it->second > 0) out.push_back(it->first);
  }
  return out;
}

void put_target(Json& region, int64_t target, uint64_t enrolled) {
  if (target <= 0) return;
  region["target"] = target;
  // One decimal: 12 of 15 -> 80.0.
  region["percent"] =
      std::round(1000.0 * static_cast<double>(enrolled) / static_cast<double>(target)) / 10.0;
}

Json list_targets_json(ServerStore& store, const Principal& who, const std::string& col,
                       const std::string& scope) {
  const std::string prefix = reader_prefix(who, scope);
  Json rows = Json::array();
  for (const TargetRow& t : store.list_targets(col, prefix)) {
    rows.push_back(
        Json{{"scope", t.scope}, {"n", t.n}, {"set_ms", t.set_ms}, {"set_by", t.set_by}});
  }
  return Json{{"scope", prefix}, {"collection", col}, {"targets", std::move(rows)}};
}

Json set_target_json(ServerStore& store, const Principal& who, const std::string& col,
                     const Json& body, int64_t now_ms) {
  if (!body.is_object() || body.size() != 2 || !body.contains("scope") || !body.contains("n")) {
    bad("body must be {\"scope\": \"<region code>\", \"n\": <number> | null}", "bad_body", "");
  }
  const Json& s = body["scope"];
  if (!s.is_string() || s.get<std::string>().empty() || s.get<std::string>().size() > 32) {
    bad("scope must be a region code (e.g. 74.02.29.2053)", "bad_region", "scope");
  }
  std::string code;
  try {
    code = canonical_region_prefix(s.get<std::string>());
  } catch (const Error&) {
    bad("scope must be a region code of 2, 4, 6 or 10 digits (dots allowed)", "bad_region",
        "scope");
  }
  const Json& n = body["n"];
  std::optional<int64_t> value;
  if (!n.is_null()) {
    if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > kMaxTarget) {
      bad("n must be a whole number from 0 to " + std::to_string(kMaxTarget) + ", or null",
          "bad_target", "n");
    }
    value = n.get<int64_t>();
  }
  // A reviewer only inside its regions (Error(kForbidden) otherwise).
  (void)reader_prefix(who, code);
  // The version it replaces (the list under a desa code is that desa's row alone; under a
  // wider code, its own row among its regions').
  Json previous;
  for (const TargetRow& t : store.list_targets(col, code)) {
    if (t.scope == code) previous = Json{{"n", t.n}, {"set_ms", t.set_ms}, {"set_by", t.set_by}};
  }
  const std::string by = who.label.empty() ? who.token_id : who.label;
  store.set_target(col, code, value, now_ms, by);
  return Json{{"scope", code},
              {"n", value ? Json(*value) : Json()},
              {"set_ms", now_ms},
              {"set_by", by},
              {"previous", std::move(previous)}};
}

Json target_audit_detail(const Json& answer) {
  return Json{{"n", answer.value("n", Json())}, {"previous", answer.value("previous", Json())}};
}

void add_targets_to_progress(Json& progress, const TargetSums& sums) {
  if (sums.empty()) return;
  const std::string prefix = progress.value("scope", "");
  put_target(progress, sums.of(prefix), progress.value("total", uint64_t{0}));
  static constexpr std::pair<const char*, size_t> kLevels[] = {
      {"provinsi", 2}, {"kabupaten", 4}, {"kecamatan", 6}, {"desa", 10}};
  Json& regions = progress["regions"];
  for (const auto& [name, len] : kLevels) {
    // Desa only where the answer lists desa (a kabupaten or narrower).
    if (len == 10 && prefix.size() < 4) continue;
    // Every target summed here lies under `prefix`: so do these codes (or they hold it).
    for (const std::string& code :
         sums.codes(prefix.substr(0, std::min(prefix.size(), len)), len)) {
      Json& r = regions[name][code];
      if (!r.contains("total")) {
        r["total"] = 0;
        r["by_status"] = Json::object();
      }
    }
    if (!regions.contains(name)) continue;
    for (auto it = regions[name].begin(); it != regions[name].end(); ++it) {
      put_target(it.value(), sums.of(it.key()), it.value().value("total", uint64_t{0}));
    }
  }
}

}  // namespace lumbung::server

// One seed as CI runs it (sim.h check_seed): the schedule under full, no and masked faults,
// and the comparison of the no-fault and masked-fault outcomes (docs/RELIABILITY.md,
// "Conflict sets"). The runs themselves are sim.cpp.
#include "sim/sim.h"

#include <sstream>

namespace lumbung::sim {

const char* fault_mode_name(FaultMode m) {
  switch (m) {
    case FaultMode::kNone:
      return "no faults";
    case FaultMode::kMasked:
      return "masked faults";
    case FaultMode::kFull:
      return "full faults";
  }
  return "?";
}

void SimStats::add(const SimStats& o) {
  runs += o.runs;
  writes += o.writes;
  reviews += o.reviews;
  syncs += o.syncs;
  syncs_failed += o.syncs_failed;
  requests += o.requests;
  streamed_pulls += o.streamed_pulls;
  streamed_pushes += o.streamed_pushes;
  cut_pushes += o.cut_pushes;
  faults += o.faults;
  server_restarts += o.server_restarts;
  server_restores += o.server_restores;
  held_pushes += o.held_pushes;
  device_crashes += o.device_crashes;
  conflicts += o.conflicts;
  duplicates += o.duplicates;
  schema_moves += o.schema_moves;
  newer_rule_refusals += o.newer_rule_refusals;
}

std::vector<std::string> check_seed(uint64_t seed, SimStats& totals, bool verbose, bool restores) {
  SimOptions o;
  o.verbose = verbose;
  o.restores = restores;
  return check_seed(seed, totals, o);
}

std::vector<std::string> check_seed(uint64_t seed, SimStats& totals, const SimOptions& base) {
  std::vector<std::string> failures;
  SimOptions o = base;
  o.seed = seed;
  SimOutcome outcomes[3];
  const FaultMode modes[3] = {FaultMode::kFull, FaultMode::kNone, FaultMode::kMasked};
  for (int i = 0; i < 3; ++i) {
    o.faults = modes[i];
    outcomes[i] = run_simulation(o);
    totals.add(outcomes[i].stats);
    failures.insert(failures.end(), outcomes[i].failures.begin(), outcomes[i].failures.end());
  }
  const SimOutcome& clean = outcomes[1];
  const SimOutcome& masked = outcomes[2];
  if (clean.failures.empty() && masked.failures.empty()) {
    if (clean.conflict_set != masked.conflict_set) {
      std::ostringstream s;
      s << "seed " << seed << ": the conflict set differs between no faults and masked faults:";
      for (auto& c : clean.conflict_set)
        if (!masked.conflict_set.count(c)) s << "\n  only without faults: " << c;
      for (auto& c : masked.conflict_set)
        if (!clean.conflict_set.count(c)) s << "\n  only with faults:    " << c;
      failures.push_back(s.str());
    }
    if (clean.final_records != masked.final_records) {
      std::ostringstream s;
      s << "seed " << seed << ": the final records differ between no faults and masked faults:";
      const Json none;
      for (const auto& [id, rec] : clean.final_records.items()) {
        const Json& other = masked.final_records.contains(id) ? masked.final_records[id] : none;
        if (rec != other)
          s << "\n  " << id << " without faults " << rec.dump() << "\n  " << id
            << " with faults    " << other.dump();
      }
      for (const auto& [id, rec] : masked.final_records.items()) {
        if (!clean.final_records.contains(id))
          s << "\n  " << id << " only with faults " << rec.dump();
      }
      failures.push_back(s.str());
    }
  }
  return failures;
}

}  // namespace lumbung::sim

// The end-of-run checks of the simulation: every replica against the server, the oplog,
// the oracle (nothing acknowledged lost) and the progress counts. See simulation.h.
#include "sim/simulation.h"

namespace lumbung::sim::detail {

// --- invariants (invariants.h) and the oracle (oracle.h)
void Simulation::check_invariants() {
  // The server's view.
  std::map<std::string, Json> server_records;
  for (std::string after;;) {
    Json page = call("GET", "/v1/records?collection=enrolment&limit=10000&after=" + after, Json(),
                     reviewer_);
    for (auto& r : page["records"]) server_records[r["id"].get<std::string>()] = r;
    after = page.value("next", "");
    if (after.empty() || page["records"].empty()) break;
  }
  Json conflicts = call("GET", "/v1/conflicts?status=all", Json(), reviewer_)["conflicts"];
  Json duplicates = call("GET", "/v1/duplicates?status=all", Json(), reviewer_)["duplicates"];
  stats_.conflicts = conflicts.size();
  for (auto& c : conflicts) {
    log("entry %s %s %s: %s at %s / %s at %s (%s)", c["kind"].get<std::string>().c_str(),
        c["record_id"].get<std::string>().c_str(), c["field"].get<std::string>().c_str(),
        c["winner"]["value"].dump().c_str(), c["winner"]["version"].dump().c_str(),
        c["loser"]["value"].dump().c_str(), c["loser"]["version"].dump().c_str(),
        c["status"].get<std::string>().c_str());
  }
  stats_.duplicates = duplicates.size();
  // The refused queue (issue 11, item 4); null from a server that has none.
  Json refused;
  for (std::string after;;) {
    int status = 0;
    Json page = call("GET", "/v1/refused?status=all&limit=10000&after=" + after, Json(), reviewer_,
                     &status);
    if (status != 200 || !page.contains("refused")) break;
    if (refused.is_null()) refused = Json::array();
    for (auto& r : page["refused"]) refused.push_back(r);
    after = page.value("next", "");
    if (after.empty() || page["refused"].empty()) break;
  }

  std::vector<std::string> found;
  if (o_.publications && refused.is_array()) {
    for (const Json& r : refused) {
      if (r.value("message", "").rfind("newer_schema_rule", 0) == 0) ++stats_.newer_rule_refusals;
    }
  }
  // 1. Every replica equals the server: records, values, versions, deletion.
  std::vector<std::string> names;
  std::vector<StateView> replicas;
  std::vector<std::set<std::string>> outside;
  for (auto& d : devices_) {
    names.push_back(d->id);
    // What the device must hold: the server's records in its regions (by their village).
    std::map<std::string, Json> its_records;
    outside.emplace_back();
    for (auto& [id, r] : server_records) {
      const Json& fields = r["fields"];
      const std::string village = fields.is_object() ? fields.value("village_code", "") : "";
      if (d->covers(village)) {
        its_records[id] = r;
      } else {
        outside.back().insert(id);
      }
    }
    replicas.push_back(check_replica(d->id, *d->store, its_records, found));
  }
  // 2. No change applied twice or lost on the way: acked_seq and the oplog.
  Json admin_devices = call("GET", "/v1/admin/devices", Json(), server_->admin_token())["devices"];
  std::map<std::string, uint64_t> seqs;
  for (auto& d : devices_) seqs[d->id] = d->seq;
  check_oplog([this](const test::OplogRowFn& fn) { server_->read_oplog(fn); }, writes_, seqs,
              admin_devices, refused, found, o_.publications ? &oracle_ : nullptr);
  // 3. The oracle: every acknowledged write is current, or was overwritten or deleted by a
  //    writer that had seen it, or is kept in a conflict entry.
  StateView server_view;
  for (auto& [id, r] : server_records) server_view[id] = record_view(r);
  for (auto& f : oracle_.check(server_view, names, replicas, conflicts, refused, outside))
    found.push_back(std::move(f));
  // 6. The progress counts kept with every write equal a count of what is served.
  check_progress(call("GET", "/v1/progress?collection=enrolment&scope=72", Json(), reviewer_),
                 server_records, found);
  // 7. With publications: the server and every laptop end on the newest version.
  if (o_.publications) {
    const Json doc = call("GET", "/v1/schema", Json(), reviewer_);
    if (doc.value("version", 0) != kNewestVersion) {
      found.push_back("the server runs schema version " + doc.value("version", Json()).dump() +
                      ", not " + std::to_string(kNewestVersion));
    }
    for (auto& d : devices_) {
      if (d->store->schema().version() != kNewestVersion) {
        found.push_back(d->id + " ends on schema version " +
                        std::to_string(d->store->schema().version()));
      }
    }
  }
  for (auto& f : found) fail(f);

  // For comparing runs of one schedule.
  for (auto& c : conflicts) conflict_set_.insert("conflict " + content_key(c));
  for (auto& d : duplicates)
    conflict_set_.insert("duplicate " + d["record_ids"].dump() + " " +
                         d["status"].get<std::string>());
  final_records_ = Json::object();
  for (auto& [id, r] : server_records) {
    final_records_[id] = Json{{"fields", r["fields"]}, {"deleted", r["deleted"]}};
  }
}

void Simulation::fail(const std::string& what) {
  failures_.push_back("seed " + std::to_string(o_.seed) + " (" + fault_mode_name(o_.faults) +
                      "): " + what);
}

}  // namespace lumbung::sim::detail

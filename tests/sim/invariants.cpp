// Invariants 1 and 2 of the simulation (see invariants.h).
#include "sim/invariants.h"

#include <algorithm>
#include <functional>

#include "lumbung/changeset.h"

namespace lumbung::sim {
Json record_json(const Record& r) {
  Json versions = Json::object();
  for (const auto& [f, v] : r.versions) versions[f] = encode_version(v);
  return Json{{"id", r.id},
              {"fields", r.fields},
              {"versions", versions},
              {"deleted", r.deleted},
              {"tombstone", r.tombstone.empty() ? Json() : encode_version(r.tombstone)}};
}

RecordView record_view(const Json& j) {
  RecordView r;
  r.fields = j.at("fields");
  for (const auto& [f, v] : j.at("versions").items()) r.versions[f] = decode_version(v);
  r.deleted = j.at("deleted").get<bool>();
  if (!j.at("tombstone").is_null()) r.tombstone = decode_version(j.at("tombstone"));
  return r;
}

StateView check_replica(const std::string& name, const Store& store,
                        const std::map<std::string, Json>& server_records,
                        std::vector<std::string>& failures) {
  Query q;
  q.collection = "enrolment";
  q.include_deleted = true;
  q.limit = 10000;
  std::map<std::string, Json> mine;
  StateView view;
  for (auto& r : store.query(q).records) {
    mine[r.id] = record_json(r);
    view[r.id] = record_view(mine[r.id]);
  }
  if (mine.size() != server_records.size()) {
    std::string extra;
    for (const auto& [id, rec] : mine) {
      if (!server_records.count(id)) extra += " " + id + " " + rec.dump();
    }
    failures.push_back(name + " holds " + std::to_string(mine.size()) + " records, the server " +
                       std::to_string(server_records.size()) +
                       (extra.empty() ? "" : "; not on the server:" + extra));
  }
  for (auto& [id, rec] : server_records) {
    auto it = mine.find(id);
    if (it == mine.end()) {
      failures.push_back(name + " lacks record " + id);
    } else if (it->second != rec) {
      failures.push_back(name + " differs from the server on " + id + ":\n  device " +
                         it->second.dump() + "\n  server " + rec.dump());
    }
  }
  if (store.pending_count() != 0) failures.push_back(name + " still has unacknowledged changes");
  return view;
}

void check_oplog(const OplogReader& read_oplog, const std::vector<HarnessWrite>& writes,
                 const std::map<std::string, uint64_t>& device_seqs, const Json& admin_devices,
                 const Json& refused_queue, std::vector<std::string>& failures,
                 const Oracle* names) {
  auto canon = [names](const std::string& f) { return names ? names->canonical(f) : f; };
  auto canon_set = [&canon](const Json& set) {
    Json out = Json::object();
    if (set.is_object()) {
      for (const auto& [f, v] : set.items()) out[canon(f)] = v;
    }
    return out;
  };
  for (const auto& [dev, seq] : device_seqs) {
    for (auto& row : admin_devices) {
      if (row["device_id"] == dev && row["acked_seq"].get<uint64_t>() != seq) {
        failures.push_back(dev + ": server acked_seq " + row["acked_seq"].dump() +
                           " but the device wrote " + std::to_string(seq) + " changes");
      }
    }
  }
  std::map<std::pair<std::string, uint64_t>, Op> oplog;
  try {
    read_oplog([&](uint64_t, const std::string& dev, uint64_t seq, const std::string& text) {
      const auto key = std::make_pair(dev, seq);
      if (oplog.count(key)) {
        failures.push_back("oplog holds (" + dev + ", " + std::to_string(seq) + ") twice");
      }
      oplog[key] = decode_op(Json::parse(text), "");
    });
  } catch (const std::exception& e) {
    failures.push_back(e.what());
  }
  for (const HarnessWrite& w : writes) {
    auto it = oplog.find({w.device, w.seq});
    const std::string key = "(" + w.device + ", " + std::to_string(w.seq) + ")";
    if (it == oplog.end()) {
      // An op the server refused is kept in its refused queue, not logged (the oracle checks
      // that every refusal its writer was told of is there).
      const bool refused =
          refused_queue.is_array() &&
          std::any_of(refused_queue.begin(), refused_queue.end(), [&](const Json& r) {
            return r.value("device_id", "") == w.device && r.value("seq", uint64_t{0}) == w.seq;
          });
      if (!refused) failures.push_back("write " + key + " on " + w.id + " is not in the oplog");
      continue;
    }
    const Op& op = it->second;
    if (op.id != w.id || op.is_delete != w.is_delete) {
      failures.push_back("oplog " + key + " is another write");
      continue;
    }
    // A create is read back from the record when pushed, so it also carries the values of
    // the device's later edits of that record (store.cpp, the changes table).
    // `v` null: any later edit of the field.
    auto later_edit_wrote = [&](const std::string& f, const Json* v) {
      if (!w.is_create) return false;
      return std::any_of(writes.begin(), writes.end(), [&](const HarnessWrite& x) {
        if (x.device != w.device || x.id != w.id || x.seq <= w.seq) return false;
        const Json xs = canon_set(x.set);
        return xs.contains(f) && (!v || xs[f] == *v);
      });
    };
    const Json wrote = canon_set(w.set);
    Json logged = canon_set(op.set);
    const Json retired_values = canon_set(op.retired);
    for (auto& [f, v] : retired_values.items()) logged[f] = v;
    for (auto& [f, v] : logged.items()) {
      if ((!wrote.contains(f) || wrote[f] != v) && !later_edit_wrote(f, &v)) {
        failures.push_back("oplog " + key + " field " + f + " = " + v.dump() + " was not written");
      }
    }
    // A retired field's value is not live anywhere: the log is where it must be.
    for (auto& [f, v] : wrote.items()) {
      if (!names || !names->retired(f) || v.is_null()) continue;
      if ((!logged.contains(f) || logged[f] != v) && !later_edit_wrote(f, nullptr)) {
        failures.push_back("oplog " + key + " lost the retired field " + f + " = " + v.dump());
      }
    }
  }
  for (auto& [k, op] : oplog) {
    if (k.first != "server" && !device_seqs.count(k.first)) {
      failures.push_back("oplog op of unknown device " + k.first);
    }
  }
}

void check_progress(const Json& progress, const std::map<std::string, Json>& server_records,
                    std::vector<std::string>& failures) {
  if (!progress.is_object()) {
    failures.push_back("GET /v1/progress answered " + progress.dump());
    return;
  }
  int64_t total = 0;
  std::map<std::string, int64_t> by_status, by_program, by_kabupaten;
  for (const auto& [id, r] : server_records) {
    if (r.value("deleted", false)) continue;
    const Json& f = r["fields"];
    ++total;
    if (f.contains("status") && f["status"].is_string()) ++by_status[f["status"]];
    if (f.contains("programs") && f["programs"].is_array()) {
      for (const Json& p : f["programs"]) ++by_program[p.get<std::string>()];
    }
    if (f.contains("village_code") && f["village_code"].is_string()) {
      ++by_kabupaten[f["village_code"].get<std::string>().substr(0, 4)];
    }
  }
  auto as_map = [](const Json& j, auto pick) {
    std::map<std::string, int64_t> out;
    if (!j.is_object()) return out;
    for (const auto& [k, v] : j.items()) {
      const int64_t n = pick(v);
      if (n != 0) out[k] = n;
    }
    return out;
  };
  auto count = [](const Json& v) { return v.is_number_integer() ? v.get<int64_t>() : -1; };
  auto region_total = [](const Json& v) {
    return v.is_object() && v.contains("total") ? v["total"].get<int64_t>() : -1;
  };
  const int64_t said = progress.value("total", int64_t{-1});
  if (said != total) {
    failures.push_back("progress counts " + std::to_string(said) + " live records, the server " +
                       "serves " + std::to_string(total));
  }
  if (as_map(progress.value("by_status", Json()), count) != by_status) {
    failures.push_back("progress by status " + progress.value("by_status", Json()).dump() +
                       " differs from a count of the records served");
  }
  const Json programs = progress.value("by_program", Json::object()).value("programs", Json());
  if (as_map(programs, count) != by_program) {
    failures.push_back("progress by programme " + programs.dump() +
                       " differs from a count of the records served");
  }
  const Json kabupaten = progress.value("regions", Json::object()).value("kabupaten", Json());
  if (as_map(kabupaten, region_total) != by_kabupaten) {
    failures.push_back("progress per kabupaten " + kabupaten.dump() +
                       " differs from a count of the records served");
  }
}

}  // namespace lumbung::sim

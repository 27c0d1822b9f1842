// Invariants 1 and 2 of the simulation (docs/RELIABILITY.md), checked after every run:
// every replica equals the server, and no change was applied twice or lost on the way.
// The "nothing lost" check made from the harness's own record is the oracle (oracle.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lumbung/schema.h"
#include "lumbung/store.h"
#include "sim/oracle.h"

namespace lumbung::sim {

// A write the harness asked a device for, as it asked.
struct HarnessWrite {
  std::string device;
  uint64_t seq = 0;  // the device's change-log seq
  std::string id;
  bool is_delete = false;
  bool is_create = false;
  Json set = Json::object();
};

// A record of GET /v1/records, and the same for a device's Record, in one JSON shape:
// {"id", "fields", "versions", "deleted", "tombstone"}.
Json record_json(const Record& r);
RecordView record_view(const Json& record_json);

// Invariant 1: `store` holds exactly `server_records` (id -> record_json), values, versions,
// deletion and tombstones, and nothing unacknowledged - values the server refused included
// (the server's answer gives the laptop its own: docs/PROTOCOL.md "Refused ops"). Returns
// the device's records as it holds them.
StateView check_replica(const std::string& name, const Store& store,
                        const std::map<std::string, Json>& server_records,
                        std::vector<std::string>& failures);

// Invariant 2: the server's acked_seq per device (`admin_devices`, GET /v1/admin/devices)
// equals the number of writes the device made (`device_seqs`); the server's oplog (every row
// in pos order from `read_oplog`: InProcessServer::read_oplog, on SQLite or PostgreSQL) holds
// each (device, seq) once, and every write under its (device, seq) with the values written,
// unless `refused_queue` (GET /v1/refused entries) holds it. With `names` (schema versions
// published, Oracle::set_changelog) field names are compared as the newest version names
// them, and a value of a field retired since is found in the op's set (an op logged before
// the retirement) or its "ret" (upgraded when pushed): kept in the record's history.
using OplogReader = std::function<void(
    const std::function<void(uint64_t, const std::string&, uint64_t, const std::string&)>&)>;
void check_oplog(const OplogReader& read_oplog, const std::vector<HarnessWrite>& writes,
                 const std::map<std::string, uint64_t>& device_seqs, const Json& admin_devices,
                 const Json& refused_queue, std::vector<std::string>& failures,
                 const Oracle* names = nullptr);

// Invariant 6: the progress counts the server keeps in each write transaction
// (`progress`, GET /v1/progress?collection=enrolment&scope=72) equal a count of the live
// records it serves (`server_records`): in total, by status, by programme and per kabupaten.
void check_progress(const Json& progress, const std::map<std::string, Json>& server_records,
                    std::vector<std::string>& failures);

}  // namespace lumbung::sim

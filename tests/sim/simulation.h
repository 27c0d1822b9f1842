// The simulation's world (sim.h is its interface): the devices, the server, the oracle,
// and the steps. Its parts: sim.cpp (the schedule, the officers, syncs, restores),
// sim_review.cpp (the central office's actions), sim_check.cpp (the end-of-run checks).
#pragma once

#include <algorithm>
#include <cstdio>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "sim/faulty_link.h"
#include "sim/in_process_server.h"
#include "sim/invariants.h"
#include "sim/oracle.h"
#include "sim/pg_hold.h"
#include "sim/raw_client.h"
#include "sim/sim.h"
#include "sim/sim_postgres.h"
#include "sim/sim_schemas.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace lumbung::sim::detail {

using test::FakeWallClock;
using test::InProcessServer;
using test::InProcessTransport;

constexpr int64_t kYearMs = 365LL * 24 * 3600 * 1000;
// Two kabupaten of Sulawesi Tengah. Most laptops cover the province; with four devices or
// more, the last covers only Sigi and the one before it only Banggai, so records moving
// between the two (region moves, issue 11 item 5) leave one laptop and reach another.
const char* const kProvince = "72";
const char* const kSigi = "72.42";
const char* const kBanggai = "72.01";
const char* const kSigiVillage = "7242111687";
const char* const kBanggaiVillage = "7201011001";

struct SimDevice {
  std::string id;
  std::string path;
  int64_t skew_ms = 0;  // this laptop's wall clock minus the true time
  std::unique_ptr<FakeWallClock> wall;
  std::shared_ptr<const Schema> schema;  // the version it works under (learnt at sync)
  std::unique_ptr<Store> store;
  std::unique_ptr<FaultyLink> link;
  std::unique_ptr<SyncClient> client;
  std::string token;
  std::string scope = kProvince;  // its one region prefix
  uint64_t seq = 0;               // change-log entries written (the harness's count)
  bool covers(const std::string& village) const {
    std::string digits;
    for (char c : scope) {
      if (c != '.') digits.push_back(c);
    }
    return village.compare(0, digits.size(), digits) == 0;
  }
};

// The fields the officers edit, and what they type into them: five slots, named as the
// schema version the laptop works under names them (sim_schemas.h): the phone renamed
// twice; position retired in version 2, where npwp (added) takes its slot, and mother_name
// (added in version 3) after it.
constexpr int kEditableSlots = 5;
inline const char* editable_field(int slot, int version) {
  static const char* const kByVersion[3][kEditableSlots] = {
      {"phone", "monthly_income", "full_name", "status", "position"},
      {"phone_number", "monthly_income", "full_name", "status", "npwp"},
      {"mobile_phone", "monthly_income", "full_name", "status", "mother_name"}};
  return kByVersion[std::clamp(version, 1, 3) - 1][slot];
}
// The slot of `field` as any version names it, or -1.
inline int editable_slot(const std::string& field) {
  for (int v = 1; v <= 3; ++v) {
    for (int s = 0; s < kEditableSlots; ++s) {
      if (field == editable_field(s, v)) return s;
    }
  }
  return -1;
}

class Simulation {
 public:
  explicit Simulation(const SimOptions& o);

  SimOutcome run();

 private:
  // --- time
  void advance_time();

  // --- devices
  void open_device(SimDevice& d);

  void record_write(SimDevice& d, HarnessWrite w, uint64_t pending_before);

  std::vector<std::string> live_ids(SimDevice& d);

  void create(SimDevice& d);

  std::string phone();

  // A value of `field` valid under schema `version` (a tightened rule is kept to).
  Json value_for(const std::string& field, int version);

  Json random_patch(int version);

  // A whole record as a laptop on `version` enters it (with --publications: the fields of
  // that version, the added enum values used).
  Json for_version(Json rec, int version) const;

  // --- schema versions (--publications, issue 18): the office publishes the next version
  // (POST /v1/admin/schema, straight to the server); a device whose completed sync said the
  // server runs a newer version fetches the document and reopens its store under it, as
  // lumbung sync does (tools/cli/lumbung/cmd_sync.cpp learn_schema).
  void publish_next();
  void learn_schema(SimDevice& d, int server_version);

  // The officer on `d` edits record `id` (live on d) with `patch`; a status the store refuses
  // to move back is left out, as the officer would.
  void edit_record(SimDevice& d, const std::string& id, Json patch);

  void edit(SimDevice& d);

  void remove_record(SimDevice& d, const std::string& id);

  void remove(SimDevice& d);

  // An officer moves a record to the other kabupaten (issue 11 item 5): a laptop covering
  // only the old one loses it, one covering only the new one receives it whole. A laptop
  // that covers one kabupaten refuses, on the spot, to move a record or enrol a person out
  // of it: nothing is written.
  void move_region(SimDevice& d);

  // The operator backs the server's database up; the next time this comes round the server
  // is restored from that copy, losing everything written since (issue 11 item 6). Laptops
  // learn it from the new history (epoch) and the lower acked_seq, send again what the
  // server no longer has, and every replica must converge with nothing acknowledged lost.
  void backup_or_restore();

  // Officer A edits a record offline while officer B, who holds it too, edits it, maybe
  // syncs, and deletes it (issue 11, case 1: B's own newer edit must not hide that B never
  // saw A's).
  void contested_delete();

  SyncOptions sync_options(const SimDevice& d) const;

  // One sync attempt; true if it completed. A DeviceCrash reopens the store. The oracle is
  // told the stored pull cursor before and after: the pages between them were applied.
  bool sync_once(SimDevice& d);

  void sync(SimDevice& d);

  void quiet_sync(SimDevice& d);

  // A client that is not the reference one sends bad change sets (raw_client.h); its own
  // stream picks them, so the schedule of the devices is the same with or without it.
  void hostile_pushes();

  static std::string record_id(int n);

  // --- reviewer actions (straight to the server: the central office has a good link; the
  // requests may still be held and delivered again later, like any request)
  Json call(const std::string& method, const std::string& target, const Json& body,
            const std::string& token, int* status = nullptr);
  Json admin_post(const std::string& target, const Json& body);

  // Review lists sorted by content, not by id or time, so the schedule's choice does not
  // depend on hlc values (which carry a little real time: the client's round-trip estimate).
  static std::string content_key(const Json& c);
  static std::string pick_key(const Json& c);

  std::optional<Json> pick_open_conflict();

  // The reviewer resolves entry `c` as it was shown: the server's op is told to the oracle
  // with the entry's two versions as everything the reviewer saw.
  void resolve(const Json& c);

  // A reviewer resolves an entry while an officer edits the same field: the officer's value
  // reaches the server before the resolution (the reviewer was shown the entry without it:
  // issue 11, case 2), after it (the officer had not seen the resolution), or they cross.
  void contested_resolution();

  void merge_duplicate();

  // --- invariants (invariants.h) and the oracle (oracle.h)
  void check_invariants();

  void fail(const std::string& what);

  template <typename... A>
  void log(const char* fmt, A... a) {
    if (!o_.verbose) return;
    std::fprintf(stderr, "[%s t=%lld] ", fault_mode_name(o_.faults),
                 static_cast<long long>(now_ - test::kToday));
    std::fprintf(stderr, fmt, a...);
    std::fputc('\n', stderr);
  }

  SimOptions o_;
  std::mt19937_64 sched_;
  std::mt19937_64 step_;  // this step's choices, seeded from sched_
  std::mt19937_64 faults_;
  FaultMode mode_ = o_.faults;
  test::TempDir dir_;
  int64_t now_ = test::kToday;
  FakeWallClock server_wall_;
  std::string schema_path_;
  Oracle oracle_;
  std::unique_ptr<InProcessServer> server_;
  std::string reviewer_;
  std::vector<std::unique_ptr<SimDevice>> devices_;
  std::deque<HttpRequest> held_;
  std::unique_ptr<RawClient> raw_;
  std::mt19937_64 raw_pick_{o_.seed ^ 0x5851F42D4C957F2DULL};
  std::vector<int> serials_;
  int records_made_ = 0;
  bool backed_up_ = false;
  std::vector<int> publish_at_;  // the steps at which versions 2, 3 are published
  int published_ = 1;            // the newest version published
  std::vector<HarnessWrite> writes_;
  std::vector<std::string> failures_;
  SimStats stats_;
  std::set<std::string> conflict_set_;
  Json final_records_;
};

}  // namespace lumbung::sim::detail

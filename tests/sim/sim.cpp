// The deterministic fault simulation (see sim.h and docs/RELIABILITY.md).
//
// Two random streams per seed: the *schedule* stream picks what the officers and the
// reviewers do (writes, syncs, reviews, clock jumps); the *fault* stream picks what the
// link, the server process and the device processes do wrong. The schedule stream never
// depends on faults: it is drawn a fixed number of times per step, and a step's own choices
// (which record, which entry) come from a stream seeded by one of those draws, so a step
// whose choices depend on what a device holds cannot shift the steps after it. The same
// seed run with and without faults therefore performs the same actions in the same order;
// with masked faults (every sync retried to completion) the outcome must be the same as on
// a perfect link. What the link carries and the writes asked for are recorded by the oracle
// (oracle.h), which checks at the end that nothing acknowledged was lost.
#include "sim/sim.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "sim/faulty_link.h"
#include "sim/in_process_server.h"
#include "sim/invariants.h"
#include "sim/oracle.h"
#include "sim/raw_client.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace lumbung::sim {
namespace {

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

// The fields the officers edit, and what they type into them.
const char* const kEditable[] = {"phone", "monthly_income", "full_name", "status", "position"};

class Simulation {
 public:
  explicit Simulation(const SimOptions& o)
      : o_(o),
        sched_(o.seed * 0x9E3779B97F4A7C15ULL + 1),
        faults_(o.seed ^ 0xD1B54A32D192ED03ULL),
        server_wall_(test::kToday),
        schema_path_(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json"),
        oracle_(*test::enrolment_schema()->collection("enrolment")) {
    server_ =
        std::make_unique<InProcessServer>(dir_.path() + "/server", server_wall_, schema_path_);
    InProcessTransport plain(*server_);
    reviewer_ =
        admin_post("/v1/admin/tokens", Json{{"role", "reviewer"}, {"label", "sim"}})["token"];
    const int future = static_cast<int>(sched_() % static_cast<uint64_t>(o.devices));
    for (int i = 0; i < o.devices; ++i) {
      auto d = std::make_unique<SimDevice>();
      d->id = "dev-" + std::to_string(i);
      d->path = dir_.file(d->id + ".db");
      d->skew_ms = i == future ? 3 * kYearMs : 0;  // one laptop believes it is 2029
      if (o.devices >= 4 && i == o.devices - 1) d->scope = kSigi;
      if (o.devices >= 4 && i == o.devices - 2) d->scope = kBanggai;
      d->wall = std::make_unique<FakeWallClock>(now_ + d->skew_ms);
      open_device(*d);
      const std::string code =
          admin_post("/v1/admin/codes", Json{{"scope", {d->scope}}, {"label", d->id}})["code"];
      SyncClient reg(*d->store, plain, "");
      d->token = reg.register_device(code, d->id);
      d->client->set_token(d->token);
      devices_.push_back(std::move(d));
    }
    // Not one of the devices: it writes nothing valid, and the replicas never hear of it.
    raw_ = std::make_unique<RawClient>(*server_, server_->admin_token(), reviewer_, "raw-0",
                                       kBanggai, o.seed);
  }

  SimOutcome run() {
    for (int step = 0; step < o_.steps; ++step) {
      advance_time();
      // Each step draws its choices from its own stream, seeded by one draw of the schedule:
      // a step whose choices depend on what a device holds (which differs when faults fall
      // differently) cannot shift the choices of the steps after it.
      step_.seed(sched_());
      const int what = static_cast<int>(step_() % 100);
      SimDevice& d = *devices_[step_() % devices_.size()];
      if (what < 20) {
        create(d);
      } else if (what < 44) {
        edit(d);
      } else if (what < 49) {
        remove(d);
      } else if (what < 53) {
        contested_delete();
      } else if (what < 56) {
        move_region(d);
      } else if (what < 57) {
        if (o_.restores) {
          backup_or_restore();
        } else {
          sync(d);
        }
      } else if (what < 79) {
        sync(d);
      } else if (what < 84) {
        if (auto c = pick_open_conflict()) resolve(*c);
      } else if (what < 88) {
        contested_resolution();
      } else if (what < 92) {
        merge_duplicate();
      } else if (what < 96) {
        d.skew_ms -= 1000 * static_cast<int64_t>(1 + step_() % 7200);  // clock jumps back
        d.wall->set(now_ + d.skew_ms);
        log("%s clock jumps back to skew %lld ms", d.id.c_str(), static_cast<long long>(d.skew_ms));
      } else {
        for (auto& dev : devices_) sync(*dev);  // everyone syncs: more interleavings
        hostile_pushes();
      }
    }
    // The quiet end: a perfect link, everyone pushes and pulls, twice.
    mode_ = FaultMode::kNone;
    for (int round = 0; round < 2; ++round) {
      for (auto& d : devices_) quiet_sync(*d);
    }
    held_.clear();
    check_invariants();
    SimOutcome out;
    out.failures = std::move(failures_);
    stats_.runs = 1;
    out.stats = stats_;
    out.conflict_set = conflict_set_;
    out.final_records = final_records_;
    return out;
  }

 private:
  // --- time
  void advance_time() {
    now_ += 100 * static_cast<int64_t>(1 + sched_() % 50);
    server_wall_.set(now_);
    for (auto& d : devices_) d->wall->set(now_ + d->skew_ms);
  }

  // --- devices
  void open_device(SimDevice& d) {
    d.client.reset();
    d.store.reset();
    OpenOptions oo;
    oo.path = d.path;
    oo.schema = test::enrolment_schema();
    oo.device_id = d.id;
    oo.clock = d.wall.get();
    d.store = Store::open(oo);
    d.link = std::make_unique<FaultyLink>(*server_, faults_, mode_, stats_, held_, d.id, oracle_);
    d.client = std::make_unique<SyncClient>(*d.store, *d.link, d.token);
  }

  void record_write(SimDevice& d, HarnessWrite w, uint64_t pending_before) {
    if (d.store->pending_count() == pending_before) return;  // nothing changed: not logged
    w.device = d.id;
    w.seq = ++d.seq;
    oracle_.local_write(w.device, w.seq, w.id, w.is_delete, w.set);
    writes_.push_back(std::move(w));
    ++stats_.writes;
  }

  std::vector<std::string> live_ids(SimDevice& d) {
    std::vector<std::string> ids;
    Query q;
    q.collection = "enrolment";
    q.limit = 10000;
    for (auto& r : d.store->query(q).records) ids.push_back(r.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  void create(SimDevice& d) {
    int serial;
    if (!serials_.empty() && step_() % 4 == 0) {
      serial = serials_[step_() % serials_.size()];  // the same person enrolled twice
    } else {
      serial = 1 + static_cast<int>(serials_.size());
      serials_.push_back(serial);
    }
    Json rec = test::sample_enrolment(serial);
    rec["phone"] = phone();
    const bool banggai = d.scope == kBanggai || (d.scope == kProvince && step_() % 4 == 0);
    rec["village_code"] = banggai ? kBanggaiVillage : kSigiVillage;
    const uint64_t before = d.store->pending_count();
    HarnessWrite w;
    w.is_create = true;
    // Ids are given, not UUIDv7s (which carry random bits), so every run of a seed names
    // its records the same way and runs can be compared.
    w.id = d.store->create("enrolment", rec, record_id(++records_made_));
    w.set = rec;  // what the harness asked for, not what the store read back
    log("%s creates %s (nik serial %d)", d.id.c_str(), w.id.c_str(), serial);
    record_write(d, std::move(w), before);
  }

  std::string phone() {
    std::string p = "0812";
    for (int i = 0; i < 7; ++i) p.push_back(static_cast<char>('0' + step_() % 10));
    return p;
  }

  Json value_for(const std::string& field) {
    static const char* const kNames[] = {"Eko Setiawan", "Eko Setiawan S.", "Siti Rahma",
                                         "Budi Santoso"};
    static const char* const kStatus[] = {"draft", "submitted", "verified", "rejected", "enrolled"};
    if (field == "phone") return phone();
    if (field == "monthly_income") return 1000000 + 100000 * static_cast<int64_t>(step_() % 190);
    if (field == "full_name") return kNames[step_() % 4];
    if (field == "status") return kStatus[step_() % 5];
    return step_() % 5 == 0 ? Json() : Json("kaur " + std::to_string(step_() % 9));  // position
  }

  Json random_patch() {
    Json patch = Json::object();
    const int nfields = 1 + static_cast<int>(step_() % 2);
    for (int i = 0; i < nfields; ++i) {
      static const int kField[] = {0, 0, 1, 2, 3, 4};  // phone twice as often
      const char* f = kEditable[kField[step_() % 6]];
      patch[f] = value_for(f);
    }
    return patch;
  }

  // The officer on `d` edits record `id` (live on d) with `patch`; a status the store refuses
  // to move back is left out, as the officer would.
  void edit_record(SimDevice& d, const std::string& id, Json patch) {
    // A field typed with the value it already has is no write (the store logs none).
    const Json had = d.store->get("enrolment", id)->fields;
    for (auto it = patch.begin(); it != patch.end();) {
      it = had.value(it.key(), Json()) == it.value() ? patch.erase(it) : std::next(it);
    }
    if (patch.empty()) return;
    const uint64_t before = d.store->pending_count();
    try {
      d.store->update("enrolment", id, patch);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kStatusRegression) throw;
      patch.erase("status");
      if (patch.empty()) return;
      d.store->update("enrolment", id, patch);
    }
    HarnessWrite w;
    w.id = id;
    w.set = patch;
    log("%s edits %s %s", d.id.c_str(), id.c_str(), patch.dump().c_str());
    record_write(d, std::move(w), before);
  }

  void edit(SimDevice& d) {
    auto ids = live_ids(d);
    if (ids.empty()) return create(d);
    const std::string id = ids[step_() % ids.size()];
    edit_record(d, id, random_patch());
  }

  void remove_record(SimDevice& d, const std::string& id) {
    const uint64_t before = d.store->pending_count();
    d.store->remove("enrolment", id);
    HarnessWrite w;
    w.id = id;
    w.is_delete = true;
    log("%s deletes %s", d.id.c_str(), id.c_str());
    record_write(d, std::move(w), before);
  }

  void remove(SimDevice& d) {
    auto ids = live_ids(d);
    if (ids.empty()) return;
    remove_record(d, ids[step_() % ids.size()]);
  }

  // An officer moves a record to the other kabupaten (issue 11 item 5): a laptop covering
  // only the old one loses it, one covering only the new one receives it whole. A laptop
  // that covers one kabupaten refuses, on the spot, to move a record or enrol a person out
  // of it: nothing is written.
  void move_region(SimDevice& d) {
    auto ids = live_ids(d);
    if (ids.empty()) return;
    const std::string id = ids[step_() % ids.size()];
    const std::string from = d.store->get("enrolment", id)->fields.value("village_code", "");
    const std::string to = from == kSigiVillage ? kBanggaiVillage : kSigiVillage;
    if (d.covers(to)) return edit_record(d, id, Json{{"village_code", to}});
    const uint64_t before = d.store->pending_count();
    Json rec = test::sample_enrolment(1 + static_cast<int>(step_() % 9000));
    rec["village_code"] = to;
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (attempt == 0) {
          d.store->update("enrolment", id, Json{{"village_code", to}});
        } else {
          d.store->create("enrolment", rec);
        }
        fail(d.id + " (" + d.scope + ") wrote a record into " + to);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kOutOfScope) throw;
      }
    }
    if (d.store->pending_count() != before)
      fail(d.id + ": a refused out-of-scope write was logged");
    log("%s may not move %s to %s: refused on the laptop", d.id.c_str(), id.c_str(), to.c_str());
  }

  // The operator backs the server's database up; the next time this comes round the server
  // is restored from that copy, losing everything written since (issue 11 item 6). Laptops
  // learn it from the new history (epoch) and the lower acked_seq, send again what the
  // server no longer has, and every replica must converge with nothing acknowledged lost.
  void backup_or_restore() {
    const std::string copy = dir_.path() + "/backup.db";
    if (!backed_up_) {
      log("the operator backs the server up");
      server_->backup(copy);
      oracle_.server_backed_up();
      backed_up_ = true;
      return;
    }
    log("the server is restored from its backup");
    server_->restore(copy);
    oracle_.server_restored();
    backed_up_ = false;
    ++stats_.server_restores;
    // A reviewer's request held on the way is not delivered into the restored history: the
    // harness could not tell the oracle what that reviewer had been shown. With masked faults
    // no held request is: each was already delivered by the retries that completed its
    // sync, and a stale copy arriving in the new history would put a change there earlier
    // than without faults, so the two runs could no longer be compared (seeds 5216, 5283).
    // Full faults keep device requests: a stale push across a restore must be survived.
    const bool masked = mode_ == FaultMode::kMasked;
    held_.erase(std::remove_if(held_.begin(), held_.end(),
                               [masked](const HttpRequest& r) {
                                 return masked || r.target.rfind("/v1/conflicts/", 0) == 0 ||
                                        r.target.rfind("/v1/duplicates/", 0) == 0;
                               }),
                held_.end());
  }

  // Officer A edits a record offline while officer B, who holds it too, edits it, maybe
  // syncs, and deletes it (issue 11, case 1: B's own newer edit must not hide that B never
  // saw A's).
  void contested_delete() {
    const size_t n = devices_.size();
    const size_t ia = step_() % n, ib = (ia + 1 + step_() % (n - 1)) % n;
    SimDevice& a = *devices_[ia];
    SimDevice& b = *devices_[ib];
    const auto la = live_ids(a), lb = live_ids(b);
    std::vector<std::string> both;
    std::set_intersection(la.begin(), la.end(), lb.begin(), lb.end(), std::back_inserter(both));
    if (both.empty()) return;
    const std::string id = both[step_() % both.size()];
    const int plan = static_cast<int>(step_() % 32);
    log("%s edits %s while %s deletes it (plan %d)", a.id.c_str(), id.c_str(), b.id.c_str(), plan);
    edit_record(a, id, random_patch());
    if (plan & 1) edit_record(b, id, random_patch());
    if (plan & 2) sync(b);
    if (plan & 4) sync(a);
    if (b.store->get("enrolment", id)) remove_record(b, id);
    if (plan & 8) sync(b);
    if (plan & 16) sync(a);
  }

  SyncOptions sync_options() const {
    SyncOptions so;
    so.sleep = [](int) {};
    so.monotonic_ms = [] { return int64_t{0}; };  // round trips take no time: reproducible
    so.max_attempts = 4;
    so.push_batch = 7;  // small batches: more requests, more places for faults to land
    so.pull_page = 9;
    return so;
  }

  // One sync attempt; true if it completed. A DeviceCrash reopens the store. The oracle is
  // told the stored pull cursor before and after: the pages between them were applied.
  bool sync_once(SimDevice& d) {
    ++stats_.syncs;
    oracle_.sync_began(d.id, d.store->get_meta("pull_cursor"));
    bool done = false;
    try {
      d.client->sync(sync_options());
      done = true;
    } catch (const DeviceCrash&) {
      log("%s crashed mid-sync; reopening its store", d.id.c_str());
      open_device(d);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kTransport) {
        fail("sync of " + d.id + " refused: " + error_code_name(e.code()) + ": " + e.what());
      }
    }
    oracle_.sync_ended(d.id, d.store->get_meta("pull_cursor"), done);
    if (!done) ++stats_.syncs_failed;
    return done;
  }

  void sync(SimDevice& d) {
    log("%s syncs", d.id.c_str());
    if (mode_ != FaultMode::kMasked) {
      sync_once(d);
      return;
    }
    for (int i = 0; i < 200; ++i) {
      if (sync_once(d)) return;
    }
    fail("masked sync of " + d.id + " did not complete in 200 attempts");
  }

  void quiet_sync(SimDevice& d) {
    d.link = std::make_unique<FaultyLink>(*server_, faults_, FaultMode::kNone, stats_, held_, d.id,
                                          oracle_);
    d.client = std::make_unique<SyncClient>(*d.store, *d.link, d.token);
    if (!sync_once(d)) fail("final quiet sync of " + d.id + " failed");
  }

  // A client that is not the reference one sends bad change sets (raw_client.h); its own
  // stream picks them, so the schedule of the devices is the same with or without it.
  void hostile_pushes() {
    for (int i = 0; i < 3; ++i) {
      const std::string existing =
          records_made_ > 0 ? record_id(1 + static_cast<int>(raw_pick_() % records_made_)) : "";
      const std::string problem = raw_->send_one(existing);
      log("raw-0 sends %s", raw_->last_action().c_str());
      if (!problem.empty()) fail(problem);
    }
  }

  static std::string record_id(int n) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-7000-8000-%012d", n);
    return id;
  }

  // --- reviewer actions (straight to the server: the central office has a good link; the
  // requests may still be held and delivered again later, like any request)
  Json call(const std::string& method, const std::string& target, const Json& body,
            const std::string& token, int* status = nullptr) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.is_null()) r.body = body.dump();
    InProcessTransport t(*server_);
    HttpResponse resp = t.send(r);
    const bool review =
        target.rfind("/v1/conflicts/", 0) == 0 || target.rfind("/v1/duplicates/", 0) == 0;
    if (mode_ != FaultMode::kNone && method == "POST" && review && faults_() % 5 == 0)
      held_.push_back(r);
    if (status) *status = resp.status;
    Json j = Json::parse(resp.body, nullptr, false);
    if (!status && (resp.status < 200 || resp.status >= 300)) {
      fail(method + " " + target + " answered " + std::to_string(resp.status) + ": " + resp.body);
    }
    return j;
  }
  Json admin_post(const std::string& target, const Json& body) {
    return call("POST", target, body, server_->admin_token());
  }

  // Review lists sorted by content, not by id or time, so the schedule's choice does not
  // depend on hlc values (which carry a little real time: the client's round-trip estimate).
  static std::string content_key(const Json& c) {
    std::vector<std::string> sides{c["winner"]["value"].dump(), c["loser"]["value"].dump()};
    std::sort(sides.begin(), sides.end());
    return c["record_id"].get<std::string>() + "|" + c["field"].get<std::string>() + "|" +
           c["kind"].get<std::string>() + "|" + sides[0] + "|" + sides[1];
  }

  std::optional<Json> pick_open_conflict() {
    Json list = call("GET", "/v1/conflicts?status=open", Json(), reviewer_)["conflicts"];
    if (list.empty()) return std::nullopt;
    std::vector<Json> cs(list.begin(), list.end());
    std::sort(cs.begin(), cs.end(),
              [](const Json& a, const Json& b) { return content_key(a) < content_key(b); });
    return cs[step_() % cs.size()];
  }

  // The reviewer resolves entry `c` as it was shown: the server's op is told to the oracle
  // with the entry's two versions as everything the reviewer saw.
  void resolve(const Json& c) {
    Json body;
    const int how = static_cast<int>(step_() % 3);
    const std::string field = c["field"];
    if (how == 2 && c["kind"] != "update_delete" &&
        (field == "phone" || field == "monthly_income" || field == "position")) {
      body = Json{{"value", value_for(field)}};
    } else {
      body = Json{{"keep", how == 0 ? "winner" : "loser"}};
    }
    int status = 0;
    Json r = call("POST", "/v1/conflicts/" + c["id"].get<std::string>() + "/resolve", body,
                  reviewer_, &status);
    log("reviewer resolves %s %s: %d", content_key(c).c_str(), body.dump().c_str(), status);
    ++stats_.reviews;
    if (status == 200) {
      std::vector<Version> shown{decode_version(c["winner"]["version"]),
                                 decode_version(c["loser"]["version"])};
      if (c.contains("record") && c["record"].is_object()) {  // an entry showing the record
        for (const auto& [f, v] : c["record"].value("versions", Json::object()).items())
          shown.push_back(decode_version(v));
      }
      oracle_.server_wrote(Json::array({r["resolution"]["op"]}), shown, "resolution");
    } else if (status != 400 && status != 422) {
      // A keep that cannot be written (nothing left to keep; a forward-only field that
      // would move back) is a refusal, not a bug: the entry stays open.
      fail("resolve answered " + std::to_string(status) + ": " + r.dump());
    }
  }

  // A reviewer resolves an entry while an officer edits the same field: the officer's value
  // reaches the server before the resolution (the reviewer was shown the entry without it:
  // issue 11, case 2), after it (the officer had not seen the resolution), or they cross.
  void contested_resolution() {
    auto c = pick_open_conflict();
    if (!c) return;
    const std::string id = (*c)["record_id"];
    std::string field = (*c)["field"];
    if (std::find(std::begin(kEditable), std::end(kEditable), field) == std::end(kEditable))
      field = kEditable[step_() % 5];
    const size_t first = step_() % devices_.size();
    SimDevice* officer = nullptr;
    for (size_t k = 0; k < devices_.size() && !officer; ++k) {
      SimDevice& cand = *devices_[(first + k) % devices_.size()];
      if (cand.store->get("enrolment", id)) officer = &cand;
    }
    const int order = static_cast<int>(step_() % 3);
    const Json patch{{field, value_for(field)}};
    if (!officer) return resolve(*c);
    log("%s edits %s while the reviewer resolves it (order %d)", officer->id.c_str(), id.c_str(),
        order);
    if (order == 0) {
      edit_record(*officer, id, patch);
      sync(*officer);
      resolve(*c);
    } else if (order == 1) {
      resolve(*c);
      edit_record(*officer, id, patch);
      sync(*officer);
    } else {
      edit_record(*officer, id, patch);
      resolve(*c);
      sync(*officer);
    }
  }

  void merge_duplicate() {
    Json list = call("GET", "/v1/duplicates?status=open", Json(), reviewer_)["duplicates"];
    if (list.empty()) return;
    std::vector<Json> ds(list.begin(), list.end());
    std::sort(ds.begin(), ds.end(), [](const Json& a, const Json& b) {
      return a["record_ids"].dump() < b["record_ids"].dump();
    });
    const Json& d = ds[step_() % ds.size()];
    const std::string survivor = d["record_ids"][step_() % 2];
    int status = 0;
    Json r = call("POST", "/v1/duplicates/" + d["id"].get<std::string>() + "/merge",
                  Json{{"survivor", survivor}}, reviewer_, &status);
    log("reviewer merges %s into %s: %d", d["record_ids"].dump().c_str(), survivor.c_str(), status);
    ++stats_.reviews;
    if (status != 200) {
      fail("merge answered " + std::to_string(status) + ": " + r.dump());
      return;
    }
    // The reviewer was shown both records whole: every version in them.
    std::vector<Version> shown;
    for (const Json& rec : d["records"]) {
      if (rec.contains("versions")) {
        for (const auto& [f, v] : rec["versions"].items()) shown.push_back(decode_version(v));
      }
      if (rec.contains("tombstone") && !rec["tombstone"].is_null())
        shown.push_back(decode_version(rec["tombstone"]));
    }
    oracle_.server_wrote(r["resolution"]["ops"], shown, "merge");
  }

  // --- invariants (invariants.h) and the oracle (oracle.h)
  void check_invariants() {
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
      Json page = call("GET", "/v1/refused?status=all&limit=10000&after=" + after, Json(),
                       reviewer_, &status);
      if (status != 200 || !page.contains("refused")) break;
      if (refused.is_null()) refused = Json::array();
      for (auto& r : page["refused"]) refused.push_back(r);
      after = page.value("next", "");
      if (after.empty() || page["refused"].empty()) break;
    }

    std::vector<std::string> found;
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
    Json admin_devices =
        call("GET", "/v1/admin/devices", Json(), server_->admin_token())["devices"];
    std::map<std::string, uint64_t> seqs;
    for (auto& d : devices_) seqs[d->id] = d->seq;
    check_oplog(server_->db_path(), writes_, seqs, admin_devices, refused, found);
    // 3. The oracle: every acknowledged write is current, or was overwritten or deleted by a
    //    writer that had seen it, or is kept in a conflict entry.
    StateView server_view;
    for (auto& [id, r] : server_records) server_view[id] = record_view(r);
    for (auto& f : oracle_.check(server_view, names, replicas, conflicts, refused, outside))
      found.push_back(std::move(f));
    // 6. The progress counts kept with every write equal a count of what is served.
    check_progress(call("GET", "/v1/progress?collection=enrolment&scope=72", Json(), reviewer_),
                   server_records, found);
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

  void fail(const std::string& what) {
    failures_.push_back("seed " + std::to_string(o_.seed) + " (" + fault_mode_name(o_.faults) +
                        "): " + what);
  }

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
  std::vector<HarnessWrite> writes_;
  std::vector<std::string> failures_;
  SimStats stats_;
  std::set<std::string> conflict_set_;
  Json final_records_;
};

}  // namespace

SimOutcome run_simulation(const SimOptions& options) {
  try {
    Simulation sim(options);
    return sim.run();
  } catch (const std::exception& e) {
    SimOutcome out;
    out.failures.push_back("seed " + std::to_string(options.seed) + " (" +
                           fault_mode_name(options.faults) +
                           "): unexpected exception: " + e.what());
    return out;
  }
}

}  // namespace lumbung::sim

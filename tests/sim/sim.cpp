// The deterministic fault simulation (see sim.h and docs/RELIABILITY.md).
//
// Two random streams per seed: the *schedule* stream picks what the officers and the
// reviewers do (writes, syncs, reviews, clock jumps); the *fault* stream picks what the
// link, the server process and the device processes do wrong. The schedule stream never
// depends on faults, so the same seed run with and without faults performs the same
// writes in the same order; with masked faults (every sync retried to completion) the
// outcome must therefore be the same as on a perfect link.
#include "sim/sim.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "lumbung/error.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "sim/in_process_server.h"
#include "support/enrolment.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace lumbung::sim {
namespace {

using test::FakeWallClock;
using test::InProcessServer;
using test::InProcessTransport;

constexpr int64_t kYearMs = 365LL * 24 * 3600 * 1000;
const char* const kScope = "72";  // every device covers the records' province (Sulawesi Tengah)

// Thrown by the link to simulate the device process dying at a request boundary: the
// harness throws the Store and SyncClient away and reopens the store from its file.
struct DeviceCrash {};

// The misbehaving network, server process and device process of one device, driven by the
// fault stream. Faults (probabilities per request in kMasked/kFull):
//   drop request            the request never arrives; the client sees a link error
//   drop response           the server acts (commits), the answer is lost
//   duplicate               the request arrives twice (a proxy retried)
//   hold copy               a copy is kept and delivered later, after newer requests
//   hold instead            the request is delayed: the client gives up on it, it arrives later
//   cut response            the answer stops halfway through its body
//   restart server          the server process is killed and restarted from its files
//                           (before delivering, or after committing and before answering)
//   device crash            the device process dies before the request or after its answer
//                           arrived (before the client could use it)
class FaultyLink final : public Transport {
 public:
  FaultyLink(InProcessServer& server, std::mt19937_64& rng, FaultMode mode, SimStats& stats,
             std::deque<HttpRequest>& held)
      : server_(server), inner_(server), rng_(rng), mode_(mode), stats_(stats), held_(held) {}

  HttpResponse send(const HttpRequest& request) override {
    ++stats_.requests;
    if (mode_ == FaultMode::kNone) return inner_.send(request);
    deliver_some_held();
    const int roll = static_cast<int>(rng_() % 1000);
    if (roll >= 300) return inner_.send(request);  // 70% clean
    ++stats_.faults;
    if (roll < 40) throw Error(ErrorCode::kTransport, "sim: request lost");
    if (roll < 80) {
      inner_.send(request);
      throw Error(ErrorCode::kTransport, "sim: response lost");
    }
    if (roll < 120) {
      inner_.send(request);
      return inner_.send(request);
    }
    if (roll < 150) {
      held_.push_back(request);
      return inner_.send(request);
    }
    if (roll < 180) {
      held_.push_back(request);
      throw Error(ErrorCode::kTransport, "sim: request delayed");
    }
    if (roll < 220) {
      HttpResponse r = inner_.send(request);
      r.body.resize(r.body.size() / 2);
      return r;
    }
    if (roll < 240) {
      restart_server();
      return inner_.send(request);
    }
    if (roll < 255) {
      inner_.send(request);
      restart_server();
      throw Error(ErrorCode::kTransport, "sim: server killed before answering");
    }
    if (roll < 270) {
      ++stats_.device_crashes;
      throw DeviceCrash{};
    }
    if (roll < 285) {
      inner_.send(request);
      ++stats_.device_crashes;
      throw DeviceCrash{};
    }
    // 285..299: a clean request that also delivers every held one after it.
    HttpResponse r = inner_.send(request);
    while (!held_.empty()) deliver_one_held();
    return r;
  }

  void deliver_some_held() {
    while (!held_.empty() && rng_() % 4 == 0) deliver_one_held();
  }

 private:
  void deliver_one_held() {
    const size_t i = static_cast<size_t>(rng_() % held_.size());
    HttpRequest r = std::move(held_[i]);
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    inner_.send(r);  // whoever sent it stopped listening long ago
  }
  void restart_server() {
    server_.restart();
    ++stats_.server_restarts;
  }

  InProcessServer& server_;
  InProcessTransport inner_;
  std::mt19937_64& rng_;
  FaultMode mode_;
  SimStats& stats_;
  std::deque<HttpRequest>& held_;
};

struct Write {
  std::string device;
  uint64_t seq = 0;
  std::string id;
  bool is_delete = false;
  bool is_create = false;
  Json set = Json::object();
};

struct SimDevice {
  std::string id;
  std::string path;
  int64_t skew_ms = 0;  // this laptop's wall clock minus the true time
  std::unique_ptr<FakeWallClock> wall;
  std::unique_ptr<Store> store;
  std::unique_ptr<FaultyLink> link;
  std::unique_ptr<SyncClient> client;
  std::string token;
  uint64_t seq = 0;  // change-log entries written (the harness's count)
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& o)
      : o_(o),
        sched_(o.seed * 0x9E3779B97F4A7C15ULL + 1),
        faults_(o.seed ^ 0xD1B54A32D192ED03ULL),
        server_wall_(test::kToday),
        schema_path_(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json") {
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
      d->wall = std::make_unique<FakeWallClock>(now_ + d->skew_ms);
      open_device(*d);
      const std::string code =
          admin_post("/v1/admin/codes", Json{{"scope", {kScope}}, {"label", d->id}})["code"];
      SyncClient reg(*d->store, plain, "");
      d->token = reg.register_device(code, d->id);
      d->client->set_token(d->token);
      devices_.push_back(std::move(d));
    }
  }

  SimOutcome run() {
    for (int step = 0; step < o_.steps; ++step) {
      advance_time();
      const int what = static_cast<int>(sched_() % 100);
      SimDevice& d = *devices_[sched_() % devices_.size()];
      if (what < 22) {
        create(d);
      } else if (what < 47) {
        edit(d);
      } else if (what < 52) {
        remove(d);
      } else if (what < 82) {
        sync(d);
      } else if (what < 88) {
        resolve_conflict();
      } else if (what < 92) {
        merge_duplicate();
      } else if (what < 96) {
        d.skew_ms -= 1000 * static_cast<int64_t>(1 + sched_() % 7200);  // clock jumps back
        d.wall->set(now_ + d.skew_ms);
        log("%s clock jumps back to skew %lld ms", d.id.c_str(), static_cast<long long>(d.skew_ms));
      } else {
        for (auto& dev : devices_) sync(*dev);  // everyone syncs: more interleavings
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
    d.link = std::make_unique<FaultyLink>(*server_, faults_, mode_, stats_, held_);
    d.client = std::make_unique<SyncClient>(*d.store, *d.link, d.token);
  }

  void record_write(SimDevice& d, Write w, uint64_t pending_before) {
    if (d.store->pending_count() == pending_before) return;  // nothing changed: not logged
    w.device = d.id;
    w.seq = ++d.seq;
    writes_.push_back(std::move(w));
    ++stats_.writes;
  }

  std::vector<std::string> live_ids(SimDevice& d) {
    std::vector<std::string> ids;
    Query q;
    q.collection = "enrolment";
    q.limit = 10000;
    for (auto& r : d.store->query(q).records) ids.push_back(r.id);
    return ids;
  }

  void create(SimDevice& d) {
    int serial;
    if (!serials_.empty() && sched_() % 4 == 0) {
      serial = serials_[sched_() % serials_.size()];  // the same person enrolled twice
    } else {
      serial = 1 + static_cast<int>(serials_.size());
      serials_.push_back(serial);
    }
    Json rec = test::sample_enrolment(serial);
    rec["phone"] = phone();
    const uint64_t before = d.store->pending_count();
    Write w;
    w.is_create = true;
    // Ids are given, not UUIDv7s (which carry random bits), so every run of a seed names
    // its records the same way and runs can be compared.
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-7000-8000-%012d", ++records_made_);
    w.id = d.store->create("enrolment", rec, id);
    w.set = d.store->get("enrolment", w.id)->fields;
    log("%s creates %s (nik serial %d)", d.id.c_str(), w.id.c_str(), serial);
    record_write(d, std::move(w), before);
  }

  std::string phone() {
    std::string p = "0812";
    for (int i = 0; i < 7; ++i) p.push_back(static_cast<char>('0' + sched_() % 10));
    return p;
  }

  void edit(SimDevice& d) {
    auto ids = live_ids(d);
    if (ids.empty()) return create(d);
    const std::string id = ids[sched_() % ids.size()];
    Json patch = Json::object();
    const int nfields = 1 + static_cast<int>(sched_() % 2);
    static const char* const kNames[] = {"Eko Setiawan", "Eko Setiawan S.", "Siti Rahma",
                                         "Budi Santoso"};
    static const char* const kStatus[] = {"draft", "submitted", "verified", "rejected", "enrolled"};
    for (int i = 0; i < nfields; ++i) {
      switch (sched_() % 6) {
        case 0:
        case 1:
          patch["phone"] = phone();
          break;
        case 2:
          patch["monthly_income"] = 1000000 + 100000 * static_cast<int64_t>(sched_() % 190);
          break;
        case 3:
          patch["full_name"] = kNames[sched_() % 4];
          break;
        case 4:
          patch["status"] = kStatus[sched_() % 5];
          break;
        default:
          patch["position"] =
              sched_() % 5 == 0 ? Json() : Json("kaur " + std::to_string(sched_() % 9));
          break;
      }
    }
    const uint64_t before = d.store->pending_count();
    try {
      d.store->update("enrolment", id, patch);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kStatusRegression) throw;
      patch.erase("status");
      if (patch.empty()) return;
      d.store->update("enrolment", id, patch);
    }
    Write w;
    w.id = id;
    w.set = patch;
    log("%s edits %s %s", d.id.c_str(), id.c_str(), patch.dump().c_str());
    record_write(d, std::move(w), before);
  }

  void remove(SimDevice& d) {
    auto ids = live_ids(d);
    if (ids.empty()) return;
    const std::string id = ids[sched_() % ids.size()];
    const uint64_t before = d.store->pending_count();
    d.store->remove("enrolment", id);
    Write w;
    w.id = id;
    w.is_delete = true;
    log("%s deletes %s", d.id.c_str(), id.c_str());
    record_write(d, std::move(w), before);
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

  // One sync attempt; true if it completed. A DeviceCrash reopens the store.
  bool sync_once(SimDevice& d) {
    ++stats_.syncs;
    try {
      d.client->sync(sync_options());
      return true;
    } catch (const DeviceCrash&) {
      log("%s crashed mid-sync; reopening its store", d.id.c_str());
      open_device(d);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kTransport) {
        fail("sync of " + d.id + " refused: " + error_code_name(e.code()) + ": " + e.what());
      }
    }
    ++stats_.syncs_failed;
    return false;
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
    d.link = std::make_unique<FaultyLink>(*server_, faults_, FaultMode::kNone, stats_, held_);
    d.client = std::make_unique<SyncClient>(*d.store, *d.link, d.token);
    if (!sync_once(d)) fail("final quiet sync of " + d.id + " failed");
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

  void resolve_conflict() {
    Json list = call("GET", "/v1/conflicts?status=open", Json(), reviewer_)["conflicts"];
    if (list.empty()) return;
    std::vector<Json> cs(list.begin(), list.end());
    std::sort(cs.begin(), cs.end(),
              [](const Json& a, const Json& b) { return content_key(a) < content_key(b); });
    const Json& c = cs[sched_() % cs.size()];
    Json body;
    const int how = static_cast<int>(sched_() % 3);
    if (how == 2 && c["kind"] != "update_delete" && c["field"] == "phone") {
      body = Json{{"value", phone()}};
    } else {
      body = Json{{"keep", how == 0 ? "winner" : "loser"}};
    }
    int status = 0;
    Json r = call("POST", "/v1/conflicts/" + c["id"].get<std::string>() + "/resolve", body,
                  reviewer_, &status);
    log("reviewer resolves %s %s: %d", content_key(c).c_str(), body.dump().c_str(), status);
    ++stats_.reviews;
    // A keep that cannot be written (e.g. nothing left to keep) is a refusal, not a bug.
    if (status != 200 && status != 400)
      fail("resolve answered " + std::to_string(status) + ": " + r.dump());
  }

  void merge_duplicate() {
    Json list = call("GET", "/v1/duplicates?status=open", Json(), reviewer_)["duplicates"];
    if (list.empty()) return;
    std::vector<Json> ds(list.begin(), list.end());
    std::sort(ds.begin(), ds.end(), [](const Json& a, const Json& b) {
      return a["record_ids"].dump() < b["record_ids"].dump();
    });
    const Json& d = ds[sched_() % ds.size()];
    const std::string survivor = d["record_ids"][sched_() % 2];
    int status = 0;
    Json r = call("POST", "/v1/duplicates/" + d["id"].get<std::string>() + "/merge",
                  Json{{"survivor", survivor}}, reviewer_, &status);
    log("reviewer merges %s into %s: %d", d["record_ids"].dump().c_str(), survivor.c_str(), status);
    ++stats_.reviews;
    if (status != 200) fail("merge answered " + std::to_string(status) + ": " + r.dump());
  }

  // --- invariants
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
    stats_.duplicates = duplicates.size();

    // 1. Every replica equals the server: records, values, versions, deletion.
    for (auto& d : devices_) {
      Query q;
      q.collection = "enrolment";
      q.include_deleted = true;
      q.limit = 10000;
      std::map<std::string, Json> mine;
      for (auto& r : d->store->query(q).records) {
        Json versions = Json::object();
        for (auto& [f, v] : r.versions) versions[f] = encode_version(v);
        mine[r.id] =
            Json{{"id", r.id},
                 {"fields", r.fields},
                 {"versions", versions},
                 {"deleted", r.deleted},
                 {"tombstone", r.tombstone.empty() ? Json() : encode_version(r.tombstone)}};
      }
      if (mine.size() != server_records.size()) {
        fail(d->id + " holds " + std::to_string(mine.size()) + " records, the server " +
             std::to_string(server_records.size()));
      }
      for (auto& [id, rec] : server_records) {
        auto it = mine.find(id);
        if (it == mine.end()) {
          fail(d->id + " lacks record " + id);
        } else if (it->second != rec) {
          fail(d->id + " differs from the server on " + id + ":\n  device " + it->second.dump() +
               "\n  server " + rec.dump());
        }
      }
      if (d->store->pending_count() != 0) fail(d->id + " still has unacknowledged changes");
    }

    // 2. No change applied twice or lost: acked_seq and the oplog against the harness.
    Json devices = call("GET", "/v1/admin/devices", Json(), server_->admin_token())["devices"];
    for (auto& d : devices_) {
      for (auto& row : devices) {
        if (row["device_id"] == d->id && row["acked_seq"].get<uint64_t>() != d->seq) {
          fail(d->id + ": server acked_seq " + row["acked_seq"].dump() + " but the device wrote " +
               std::to_string(d->seq) + " changes");
        }
      }
    }
    struct LoggedOp {
      uint64_t pos;
      Op op;
    };
    std::map<std::pair<std::string, uint64_t>, LoggedOp> oplog;
    std::map<std::string, std::vector<const LoggedOp*>> ops_by_record;
    read_oplog([&](uint64_t pos, const std::string& dev, uint64_t seq, const std::string& text) {
      const auto key = std::make_pair(dev, seq);
      if (oplog.count(key)) fail("oplog holds (" + dev + ", " + std::to_string(seq) + ") twice");
      oplog[key] = LoggedOp{pos, decode_op(Json::parse(text), "")};
    });
    for (auto& [k, lo] : oplog) ops_by_record[lo.op.id].push_back(&lo);
    for (const Write& w : writes_) {
      auto it = oplog.find({w.device, w.seq});
      if (it == oplog.end()) {
        fail("write (" + w.device + ", " + std::to_string(w.seq) + ") on " + w.id +
             " is not in the oplog");
        continue;
      }
      const Op& op = it->second.op;
      if (op.id != w.id || op.is_delete != w.is_delete) {
        fail("oplog (" + w.device + ", " + std::to_string(w.seq) + ") is another write");
        continue;
      }
      // A create is read back from the record when pushed, so it also carries the values of
      // the device's later edits of that record (store.cpp, the changes table).
      auto later_edit_wrote = [&](const std::string& f, const Json& v) {
        if (!w.is_create) return false;
        return std::any_of(writes_.begin(), writes_.end(), [&](const Write& x) {
          return x.device == w.device && x.id == w.id && x.seq > w.seq && x.set.contains(f) &&
                 x.set[f] == v;
        });
      };
      for (auto& [f, v] : op.set.items()) {
        if ((!w.set.contains(f) || w.set[f] != v) && !later_edit_wrote(f, v)) {
          fail("oplog (" + w.device + ", " + std::to_string(w.seq) + ") field " + f + " = " +
               v.dump() + " was not written");
        }
      }
    }
    for (auto& [k, lo] : oplog) {
      if (k.first != "server" && !std::any_of(devices_.begin(), devices_.end(),
                                              [&](auto& d) { return d->id == k.first; })) {
        fail("oplog op of unknown device " + k.first);
      }
    }

    // 3. Every acknowledged write is current, or was overwritten by a writer that had
    //    seen it, or is kept in a conflict entry; forward-only fields settle by rank.
    const CollectionSchema& cs = *server_->schema().collection("enrolment");
    for (auto& [k, lo] : oplog) {
      const Op& op = lo.op;
      if (op.is_delete) continue;
      auto rit = server_records.find(op.id);
      if (rit == server_records.end()) {
        fail("record " + op.id + " of oplog op is missing on the server");
        continue;
      }
      const Json& rec = rit->second;
      for (auto& [f, v] : op.set.items()) {
        const FieldDef* fd = cs.field(f);
        if (fd && fd->policy == MergePolicy::kForwardOnly) continue;
        const Json cur_value = rec["fields"].contains(f) ? rec["fields"][f] : Json();
        if (!rec["versions"].contains(f)) {
          fail("field " + f + " of " + op.id + " has no version on the server");
          continue;
        }
        const Version cur = decode_version(rec["versions"][f]);
        if (cur == op.version) {
          if (cur_value != v)
            fail("field " + f + " of " + op.id + " has the op's version but another value");
          continue;
        }
        if (cur < op.version) {
          fail("field " + f + " of " + op.id + " went back to an older version");
          continue;
        }
        if (cur_value == v) continue;
        bool seen = false;
        for (const LoggedOp* other : ops_by_record[op.id]) {
          auto b = other->op.base.find(f);
          if (other->op.set.contains(f) && b != other->op.base.end() && b->second >= op.version) {
            seen = true;
            break;
          }
        }
        if (seen) continue;
        bool kept = false;
        for (auto& c : conflicts) {
          if (c["record_id"] != op.id || c["field"] != f) continue;
          for (const char* side : {"winner", "loser"}) {
            // The write itself, or a later write of the same value that replaced it without
            // loss (two officers typed the same thing; soak seed 2336).
            if (decode_version(c[side]["version"]) >= op.version && c[side]["value"] == v)
              kept = true;
          }
        }
        if (!kept) {
          fail("acknowledged write lost: " + k.first + " seq " + std::to_string(k.second) +
               " set " + f + " = " + v.dump() + " on " + op.id + "; now " + cur_value.dump() +
               " at " + version_to_string(cur) + ", and no conflict entry keeps it");
        }
      }
    }

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

  // Reads the server's oplog straight from its SQLite file, read-only.
  void read_oplog(
      const std::function<void(uint64_t, const std::string&, uint64_t, const std::string&)>& fn) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(server_->db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
      fail("cannot open the server database read-only");
      sqlite3_close(db);
      return;
    }
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT pos, dev, seq, op FROM oplog ORDER BY pos", -1, &st,
                           nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        fn(static_cast<uint64_t>(sqlite3_column_int64(st, 0)),
           reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
           static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
           reinterpret_cast<const char*>(sqlite3_column_text(st, 3)));
      }
    } else {
      fail(std::string("cannot read the oplog: ") + sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
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
  std::mt19937_64 faults_;
  FaultMode mode_ = o_.faults;
  test::TempDir dir_;
  int64_t now_ = test::kToday;
  FakeWallClock server_wall_;
  std::string schema_path_;
  std::unique_ptr<InProcessServer> server_;
  std::string reviewer_;
  std::vector<std::unique_ptr<SimDevice>> devices_;
  std::deque<HttpRequest> held_;
  std::vector<int> serials_;
  int records_made_ = 0;
  std::vector<Write> writes_;
  std::vector<std::string> failures_;
  SimStats stats_;
  std::set<std::string> conflict_set_;
  Json final_records_;
};

}  // namespace

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
  faults += o.faults;
  server_restarts += o.server_restarts;
  device_crashes += o.device_crashes;
  conflicts += o.conflicts;
  duplicates += o.duplicates;
}

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

std::vector<std::string> check_seed(uint64_t seed, SimStats& totals, bool verbose) {
  std::vector<std::string> failures;
  SimOptions o;
  o.seed = seed;
  o.verbose = verbose;
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
      failures.push_back("seed " + std::to_string(seed) +
                         ": the final records differ between no faults and masked faults");
    }
  }
  return failures;
}

}  // namespace lumbung::sim

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
#include "sim/simulation.h"

namespace lumbung::sim::detail {

Simulation::Simulation(const SimOptions& o)
    : o_(o),
      sched_(o.seed * 0x9E3779B97F4A7C15ULL + 1),
      faults_(o.seed ^ 0xD1B54A32D192ED03ULL),
      server_wall_(test::kToday),
      schema_path_(std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json"),
      oracle_(*test::enrolment_schema()->collection("enrolment")) {
  if (o.postgres) {
#ifndef LUMBUNG_SIM_POSTGRES
    throw std::runtime_error("lumbung-sim was built without PostgreSQL (no lumbung-server)");
#else
    // A database of its own for this run; the server instances pick from their own stream,
    // so the schedule and the fault stream are drawn as on SQLite.
    SimPostgres& pg = SimPostgres::shared();
    const std::string db = pg.create_database();
    server_ = std::make_unique<InProcessServer>(pg, db, o.servers, o.seed ^ 0x2545F4914F6CDD1DULL,
                                                server_wall_, schema_path_);
    // Interleaved transactions need a second instance to serve meanwhile.
    if (o.servers > 1) server_->set_gate(std::make_unique<PgHold>(pg.url(db)));
#endif
  } else {
    server_ =
        std::make_unique<InProcessServer>(dir_.path() + "/server", server_wall_, schema_path_);
  }
  InProcessTransport plain(*server_);
  reviewer_ = admin_post("/v1/admin/tokens", Json{{"role", "reviewer"}, {"label", "sim"}})["token"];
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
  if (o.publications) {
    // The publication steps come from a stream of their own: the schedule's draws stay
    // as they are. The oracle names fields through the changelog it is given here.
    std::mt19937_64 pubs(o.seed ^ 0x9FB21C651E98DF25ULL);
    const int half = std::max(1, o.steps / 2);
    const int first = static_cast<int>(pubs() % static_cast<uint64_t>(half));
    const int second =
        first + 1 +
        static_cast<int>(pubs() % static_cast<uint64_t>(std::max(1, o.steps - first - 1)));
    publish_at_ = {first, second};
    oracle_.set_changelog(sim_schema(kNewestVersion)["changelog"]);
  }
  // Not one of the devices: it writes nothing valid, and the replicas never hear of it.
  raw_ = std::make_unique<RawClient>(*server_, server_->admin_token(), reviewer_, "raw-0", kBanggai,
                                     o.seed);
}

SimOutcome Simulation::run() {
  for (int step = 0; step < o_.steps; ++step) {
    advance_time();
    for (int v : publish_at_) {
      if (v == step) publish_next();
    }
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
  while (!publish_at_.empty() && published_ < kNewestVersion) publish_next();
  // The quiet end: a perfect link, everyone pushes and pulls, twice.
  mode_ = FaultMode::kNone;
  server_->release_held();
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

// --- time
void Simulation::advance_time() {
  now_ += 100 * static_cast<int64_t>(1 + sched_() % 50);
  server_wall_.set(now_);
  for (auto& d : devices_) d->wall->set(now_ + d->skew_ms);
}

// --- devices
void Simulation::open_device(SimDevice& d) {
  d.client.reset();
  d.store.reset();
  OpenOptions oo;
  oo.path = d.path;
  oo.schema = d.schema ? d.schema : test::enrolment_schema();
  oo.device_id = d.id;
  oo.clock = d.wall.get();
  d.store = Store::open(oo);
  d.link = std::make_unique<FaultyLink>(*server_, faults_, mode_, stats_, held_, d.id, oracle_);
  d.client = std::make_unique<SyncClient>(*d.store, *d.link, d.token);
}

void Simulation::record_write(SimDevice& d, HarnessWrite w, uint64_t pending_before) {
  if (d.store->pending_count() == pending_before) return;  // nothing changed: not logged
  w.device = d.id;
  w.seq = ++d.seq;
  oracle_.local_write(w.device, w.seq, w.id, w.is_delete, w.set);
  writes_.push_back(std::move(w));
  ++stats_.writes;
}

std::vector<std::string> Simulation::live_ids(SimDevice& d) {
  std::vector<std::string> ids;
  Query q;
  q.collection = "enrolment";
  q.limit = 10000;
  for (auto& r : d.store->query(q).records) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Simulation::create(SimDevice& d) {
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
  rec = for_version(std::move(rec), d.store->schema().version());
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

std::string Simulation::phone() {
  std::string p = "0812";
  for (int i = 0; i < 7; ++i) p.push_back(static_cast<char>('0' + step_() % 10));
  return p;
}

Json Simulation::value_for(const std::string& field, int version) {
  static const char* const kNames[] = {"Eko Setiawan", "Eko Setiawan S.", "Siti Rahma",
                                       "Budi Santoso"};
  static const char* const kStatus[] = {"draft", "submitted", "verified", "rejected", "enrolled"};
  if (editable_slot(field) == 0) return phone();
  if (field == "monthly_income") {
    // Version 2 lowered the maximum (sim_schemas.h): a laptop on it types within it.
    const uint64_t steps = version >= 2 ? (kIncomeMaxV2 - 1000000) / 100000 + 1 : 190;
    return 1000000 + 100000 * static_cast<int64_t>(step_() % steps);
  }
  if (field == "full_name") {
    std::string name = kNames[step_() % 4];
    if (version >= 3 && name.size() > kNameMaxV3) name = kNames[0];  // version 3's rule
    return name;
  }
  if (field == "status") return kStatus[step_() % 5];
  if (field == "npwp")
    return step_() % 5 == 0 ? Json() : Json(std::to_string(100000000 + step_() % 900000000));
  if (field == "mother_name") {
    static const char* const kMothers[] = {"Siti", "Aminah", "Rahmawati"};
    return kMothers[step_() % 3];
  }
  return step_() % 5 == 0 ? Json() : Json("kaur " + std::to_string(step_() % 9));  // position
}

Json Simulation::random_patch(int version) {
  Json patch = Json::object();
  const int nfields = 1 + static_cast<int>(step_() % 2);
  for (int i = 0; i < nfields; ++i) {
    static const int kSlot[] = {0, 0, 1, 2, 3, 4};  // phone twice as often
    const char* f = editable_field(kSlot[step_() % 6], version);
    patch[f] = value_for(f, version);
  }
  return patch;
}

Json Simulation::for_version(Json rec, int version) const {
  if (!o_.publications) return rec;
  const std::string nik = rec.value("nik", "");
  if (version < 3) rec["email"] = "p" + nik.substr(nik.size() - 4) + "@desa.id";  // retired in 3
  if (version >= 2) {
    rec["phone_number"] = rec["phone"];
    rec.erase("phone");
    rec.erase("position");
    rec["occupation"] = "penenun";  // the value version 2 added
  }
  if (version >= 3) {
    rec["mobile_phone"] = rec["phone_number"];
    rec.erase("phone_number");
    rec["payment_source"] = "CSR";  // the value version 3 added
  }
  return rec;
}

// --- schema versions (--publications)
void Simulation::publish_next() {
  const int v = published_ + 1;
  log("the office publishes schema version %d", v);
  int status = 0;
  Json r = call("POST", "/v1/admin/schema", sim_schema(v), server_->admin_token(), &status);
  if (status != 201) {
    fail("publishing version " + std::to_string(v) + " answered " + std::to_string(status) + ": " +
         r.dump());
    publish_at_.clear();  // nothing more to publish on
    return;
  }
  published_ = v;
}

void Simulation::learn_schema(SimDevice& d, int server_version) {
  if (!o_.publications || server_version <= d.store->schema().version()) return;
  // Fetched as the laptop's tool does (SyncClient::fetch_schema), on a good link: a fault
  // on this one GET would only exercise the request loop's retries, which syncs do, and its
  // retries sleep for real.
  InProcessTransport plain(*server_);
  SyncClient fetcher(*d.store, plain, d.token);
  const Json doc = fetcher.fetch_schema();
  const int was = d.store->schema().version();
  d.schema = Schema::parse(doc);
  open_device(d);  // the store moves its records in the opening transaction
  ++stats_.schema_moves;
  log("%s moves from schema version %d to %d", d.id.c_str(), was, d.store->schema().version());
  if (d.store->schema().version() != server_version) {
    fail(d.id + " fetched schema version " + std::to_string(d.store->schema().version()) +
         " but the server said it runs " + std::to_string(server_version));
  }
}

// The officer on `d` edits record `id` (live on d) with `patch`; a status the store refuses
// to move back is left out, as the officer would.
void Simulation::edit_record(SimDevice& d, const std::string& id, Json patch) {
  // A field typed with the value it already has is no write (the store logs none).
  const Json had = d.store->get("enrolment", id)->fields;
  for (auto it = patch.begin(); it != patch.end();) {
    it = had.value(it.key(), Json()) == it.value() ? patch.erase(it) : std::next(it);
  }
  if (patch.empty()) return;
  const uint64_t before = d.store->pending_count();
  for (int attempt = 0;; ++attempt) {
    try {
      d.store->update("enrolment", id, patch);
      break;
    } catch (const Error& e) {
      if (attempt == 2) throw;
      if (e.code() == ErrorCode::kStatusRegression) {
        patch.erase("status");
        if (patch.empty()) return;
        continue;
      }
      // The record holds this laptop's own value the server refused by a newer rule: the
      // laptop asks it fixed first, and the officer types one the rule accepts.
      const int version = d.store->schema().version();
      if (e.code() != ErrorCode::kValidationFailed || patch.contains(e.field()) ||
          editable_slot(e.field()) < 0) {
        throw;
      }
      patch[e.field()] = value_for(e.field(), version);
      log("%s must fix %s of %s first", d.id.c_str(), e.field().c_str(), id.c_str());
    }
  }
  HarnessWrite w;
  w.id = id;
  w.set = patch;
  log("%s edits %s %s", d.id.c_str(), id.c_str(), patch.dump().c_str());
  record_write(d, std::move(w), before);
}

void Simulation::edit(SimDevice& d) {
  auto ids = live_ids(d);
  if (ids.empty()) return create(d);
  const std::string id = ids[step_() % ids.size()];
  edit_record(d, id, random_patch(d.store->schema().version()));
}

void Simulation::remove_record(SimDevice& d, const std::string& id) {
  const uint64_t before = d.store->pending_count();
  d.store->remove("enrolment", id);
  HarnessWrite w;
  w.id = id;
  w.is_delete = true;
  log("%s deletes %s", d.id.c_str(), id.c_str());
  record_write(d, std::move(w), before);
}

void Simulation::remove(SimDevice& d) {
  auto ids = live_ids(d);
  if (ids.empty()) return;
  remove_record(d, ids[step_() % ids.size()]);
}

// An officer moves a record to the other kabupaten (issue 11 item 5): a laptop covering
// only the old one loses it, one covering only the new one receives it whole. A laptop
// that covers one kabupaten refuses, on the spot, to move a record or enrol a person out
// of it: nothing is written.
void Simulation::move_region(SimDevice& d) {
  auto ids = live_ids(d);
  if (ids.empty()) return;
  const std::string id = ids[step_() % ids.size()];
  const std::string from = d.store->get("enrolment", id)->fields.value("village_code", "");
  const std::string to = from == kSigiVillage ? kBanggaiVillage : kSigiVillage;
  if (d.covers(to)) return edit_record(d, id, Json{{"village_code", to}});
  const uint64_t before = d.store->pending_count();
  Json rec = test::sample_enrolment(1 + static_cast<int>(step_() % 9000));
  rec["village_code"] = to;
  rec = for_version(std::move(rec), d.store->schema().version());
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (attempt == 0) {
        d.store->update("enrolment", id, Json{{"village_code", to}});
      } else {
        d.store->create("enrolment", rec);
      }
      fail(d.id + " (" + d.scope + ") wrote a record into " + to);
    } catch (const Error& e) {
      // (Or the record holds a value of this laptop's that the server refused: fixed first.)
      if (e.code() != ErrorCode::kOutOfScope && e.code() != ErrorCode::kValidationFailed) throw;
    }
  }
  if (d.store->pending_count() != before) fail(d.id + ": a refused out-of-scope write was logged");
  log("%s may not move %s to %s: refused on the laptop", d.id.c_str(), id.c_str(), to.c_str());
}

// The operator backs the server's database up; the next time this comes round the server
// is restored from that copy, losing everything written since (issue 11 item 6). Laptops
// learn it from the new history (epoch) and the lower acked_seq, send again what the
// server no longer has, and every replica must converge with nothing acknowledged lost.
void Simulation::backup_or_restore() {
  if (!backed_up_) {
    log("the operator backs the server up");
    server_->backup();
    oracle_.server_backed_up();
    backed_up_ = true;
    return;
  }
  log("the server is restored from its backup");
  server_->restore();
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
void Simulation::contested_delete() {
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
  edit_record(a, id, random_patch(a.store->schema().version()));
  if (plan & 1) edit_record(b, id, random_patch(b.store->schema().version()));
  if (plan & 2) sync(b);
  if (plan & 4) sync(a);
  if (b.store->get("enrolment", id)) remove_record(b, id);
  if (plan & 8) sync(b);
  if (plan & 16) sync(a);
}

SyncOptions Simulation::sync_options(const SimDevice& d) const {
  SyncOptions so;
  so.sleep = [](int) {};
  so.monotonic_ms = [] { return int64_t{0}; };  // round trips take no time: reproducible
  so.max_attempts = 4;
  so.push_batch = 7;  // small batches: more requests, more places for faults to land
  so.pull_page = 9;
  // Every other laptop bootstraps from a snapshot (issue 13), so both first pulls are run.
  so.bootstrap_snapshot = d.id.back() % 2 == 1;
  // Of those, every other one lets the server choose (snapshot=auto).
  so.bootstrap_auto = d.id.back() % 4 == 1;
  // And both change-set formats, each with both first pulls: dev-0 and dev-3 speak v1.
  so.changeset_format = (d.id.back() - '0') % 3 == 0 ? 1 : 0;
  // Of the v2 laptops, dev-1 (snapshot first) and dev-4 (replay first) stream their pulls
  // (PROTOCOL.md "Streamed pull"; the sim's link never looks fast, so they always do);
  // dev-2 pulls page by page.
  so.pull_stream = d.id.back() == '1' || d.id.back() == '4';
  // dev-1 (streamed pull) and dev-2 (paged pull) stream their pushes (PROTOCOL.md
  // "Streamed push"; always, the link never looks fast); dev-4 pushes v2 batches, dev-0 and
  // dev-3 v1 batches.
  so.push_stream = o_.push_stream && (d.id.back() == '1' || d.id.back() == '2');
  return so;
}

// One sync attempt; true if it completed. A DeviceCrash reopens the store. The oracle is
// told the stored pull cursor before and after: the pages between them were applied.
bool Simulation::sync_once(SimDevice& d) {
  ++stats_.syncs;
  oracle_.sync_began(d.id, d.store->get_meta("pull_cursor"));
  bool done = false;
  int server_version = 0;
  try {
    server_version = d.client->sync(sync_options(d)).server_schema_version;
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
  if (done) learn_schema(d, server_version);
  return done;
}

void Simulation::sync(SimDevice& d) {
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

void Simulation::quiet_sync(SimDevice& d) {
  d.link = std::make_unique<FaultyLink>(*server_, faults_, FaultMode::kNone, stats_, held_, d.id,
                                        oracle_);
  d.client = std::make_unique<SyncClient>(*d.store, *d.link, d.token);
  if (!sync_once(d)) fail("final quiet sync of " + d.id + " failed");
}

// A client that is not the reference one sends bad change sets (raw_client.h); its own
// stream picks them, so the schedule of the devices is the same with or without it.
void Simulation::hostile_pushes() {
  for (int i = 0; i < 3; ++i) {
    const std::string existing =
        records_made_ > 0 ? record_id(1 + static_cast<int>(raw_pick_() % records_made_)) : "";
    const std::string problem = raw_->send_one(existing);
    log("raw-0 sends %s", raw_->last_action().c_str());
    if (!problem.empty()) fail(problem);
  }
}

std::string Simulation::record_id(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-7000-8000-%012d", n);
  return id;
}

}  // namespace lumbung::sim::detail

namespace lumbung::sim {

using detail::Simulation;

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

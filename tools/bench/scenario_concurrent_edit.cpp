// Scenario concurrent_edit: devices A and B both hold the N records (untimed: A loads them
// and syncs, B syncs them down). Offline, both edit the same records: A `phone`, B
// `monthly_income`. Timed, through the relay, in the device worker: A push, B push, A pull,
// B pull. The headline figures are of the 1% round (records = changed records); then, to
// show the cost follows the changes and not the database:
//   - a second round on the same database editing another 10% of it, and
//   - a 1,000-change-style round (N/100 changes) on a fresh server and a 10x smaller database;
// each printed under "rounds".
//
// Verified after every round: A, B and the server hold the same records, equal to the
// workload with every edit applied (both edits of every changed record survive); no
// conflict entries (the edits touch different fields; any same-field conflict the server
// opened would be listed and counted in `conflicts_open`), and no errors.

#include <cstdio>

#include "checker.h"
#include "digest.h"
#include "scenarios.h"
#include "sync_support.h"
#include "workload.h"

namespace lumbung::bench {
namespace {

// Which lines a round edits: i % stride == offset.
struct EditSet {
  size_t stride, offset;
  bool has(size_t i) const { return i % stride == offset; }
};

std::string edited_phone(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0813%08zu", i % 100000000);
  return buf;
}
int64_t edited_income(size_t i) { return 2000000 + static_cast<int64_t>(i % 100) * 100000 + 50000; }

struct Round {
  Json figures;
  bool ok = true;
};

class Cluster {
 public:
  Cluster(const Options& o, const Workload& w, std::shared_ptr<const Schema> schema, size_t n,
          const std::string& name)
      : o_(o), w_(w), schema_(std::move(schema)), n_(n), name_(name), env_(o, name) {
    collection_ = workload_collection(*schema_);
    db_a_ = o.workdir + "/" + name + "-a.db";
    db_b_ = o.workdir + "/" + name + "-b.db";
    const auto scope = province_prefixes(w, 0, n);
    std::fprintf(stderr,
                 "concurrent_edit[%s]: A loads %zu records and syncs, B syncs (untimed)...\n",
                 name.c_str(), n);
    {
      auto a = open_device(db_a_, schema_, name + "-a");
      load_records(*a, w, 0, n, collection_);
      token_a_ = register_device(env_, *a, scope);
      sync_direct(env_, *a, token_a_, "sync");  // push, then pull: A's cursor is at the end
    }
    {
      auto b = open_device(db_b_, schema_, name + "-b");
      token_b_ = register_device(env_, *b, scope);
      sync_direct(env_, *b, token_b_, "sync");
    }
  }

  SyncEnv& env() { return env_; }

  // One round: both devices edit `set` offline, then A push, B push, A pull, B pull.
  Round round(const EditSet& set, const std::vector<EditSet>& all_so_far, Checker& check) {
    size_t changed = 0;
    {
      auto a = open_device(db_a_, schema_, name_ + "-a");
      auto b = open_device(db_b_, schema_, name_ + "-b");
      Batch ba = a->begin_batch();
      for (size_t i = 0; i < n_; ++i) {
        if (!set.has(i)) continue;
        ba.update(collection_, std::string(extract_id(w_.line(i))),
                  Json{{"phone", edited_phone(i)}});
        ++changed;
      }
      ba.commit();
      Batch bb = b->begin_batch();
      for (size_t i = 0; i < n_; ++i) {
        if (set.has(i))
          bb.update(collection_, std::string(extract_id(w_.line(i))),
                    Json{{"monthly_income", edited_income(i)}});
      }
      bb.commit();
    }
    WorkerSpec spec;
    spec.url = env_.relay().url();
    spec.schema_path = o_.schema_path;
    spec.devices = {{db_a_, name_ + "-a", token_a_}, {db_b_, name_ + "-b", token_b_}};
    spec.steps = {{0, "push"}, {1, "push"}, {0, "pull"}, {1, "pull"}};
    env_.relay().reset();
    const Json w = run_worker(o_, spec, name_ + "-" + std::to_string(set.stride));
    Result r;
    r.records = changed;
    fill_wire_figures(r, w, env_.relay(), changed);
    Round out;
    out.figures = Json{{"server_peak_rss_mb", env_.server_rss_now().value_or(-1)},
                       {"db_records", n_},
                       {"changed_records", changed},
                       {"seconds", w.value("seconds", 0.0)},
                       {"bytes_up", r.bytes_up},
                       {"bytes_down", r.bytes_down},
                       {"requests", r.requests},
                       {"bytes_per_changed_record", r.extra["bytes_per_record"]},
                       {"device_peak_rss_mb", w.value("peak_rss_mb", 0.0)},
                       {"worker", w}};
    std::fprintf(
        stderr,
        "concurrent_edit[%s]: %zu of %zu changed: %.3f s, %llu B up, %llu B down, %llu requests\n",
        name_.c_str(), changed, n_, w.value("seconds", 0.0), (unsigned long long)r.bytes_up,
        (unsigned long long)r.bytes_down, (unsigned long long)r.requests);

    // Verify every replica against the workload with every edit so far applied.
    Checker local("concurrent_edit[" + name_ + "]");
    local(w.value("errors", 0) == 0, "worker errors: " + w["error_messages"].dump());
    const auto& steps = w.at("steps");
    local(steps.size() == 4 && steps[0].value("pushed", uint64_t{0}) == changed &&
              steps[1].value("pushed", uint64_t{0}) == changed,
          "pushes did not carry exactly the changed records");
    local(steps.size() == 4 && steps[2].value("pulled", uint64_t{0}) == changed &&
              steps[3].value("pulled", uint64_t{0}) == changed,
          "pulls did not carry exactly the other device's changes");
    const CollectionSchema& cs = *schema_->collection(collection_);
    const std::string expected = workload_digest(w_, cs, 0, n_, [&](size_t i, Json& f) {
      for (const EditSet& e : all_so_far) {
        if (e.has(i)) {
          f["phone"] = edited_phone(i);
          f["monthly_income"] = edited_income(i);
        }
      }
    });
    uint64_t live = 0;
    const std::string sd = env_.server_digest(collection_, &live);
    local(live == n_, "server live records " + std::to_string(live));
    local(sd == expected, "server digest " + sd + " != expected " + expected);
    for (const auto& [db, dev] : {std::pair{db_a_, name_ + "-a"}, std::pair{db_b_, name_ + "-b"}}) {
      auto s = open_device(db, schema_, dev);
      uint64_t cnt = 0;
      const std::string d = store_digest(*s, collection_, &cnt);
      local(cnt == n_ && d == expected, dev + " digest/count mismatch");
      local(s->stats().pending_changes == 0, dev + " has pending changes");
      local(s->stats().open_conflicts == 0, dev + " has open conflicts");
    }
    const Json conflicts = env_.conflicts();
    local(conflicts.empty(), "server has " + std::to_string(conflicts.size()) +
                                 " open conflicts (edits were of different fields)");
    out.figures["conflicts_open"] = conflicts.size();
    out.figures["verified"] = local.ok();
    out.figures["digest"] = sd;
    out.ok = local.ok();
    check(local.ok(), name_ + " round stride " + std::to_string(set.stride) + " did not verify");
    return out;
  }

 private:
  const Options& o_;
  const Workload& w_;
  std::shared_ptr<const Schema> schema_;
  size_t n_;
  std::string name_;
  SyncEnv env_;
  std::string collection_, db_a_, db_b_, token_a_, token_b_;
};

Json summary(const Json& round) {
  Json s = round;
  s.erase("worker");
  return s;
}

}  // namespace

Result run_concurrent_edit(const Options& options, const Workload& workload) {
  const size_t n = workload.size();
  std::shared_ptr<const Schema> schema(Schema::load_file(options.schema_path));
  Checker check("concurrent_edit");
  Result r;
  Json rounds = Json::array();
  {
    Cluster big(options, workload, schema, n, "ce");
    const EditSet one_pct{100, 0}, ten_pct{10, 5};  // disjoint sets
    Round r1 = big.round(one_pct, {one_pct}, check);
    const Json& w = r1.figures["worker"];
    r.records = r1.figures["changed_records"].get<size_t>();
    r.seconds = r1.figures["seconds"].get<double>();
    r.bytes_up = r1.figures["bytes_up"].get<uint64_t>();
    r.bytes_down = r1.figures["bytes_down"].get<uint64_t>();
    r.requests = r1.figures["requests"].get<uint64_t>();
    r.device_peak_rss_mb = w.value("peak_rss_mb", 0.0);
    r.digest = r1.figures["digest"];
    r.extra["db_records"] = n;
    r.extra["bytes_per_record"] = r1.figures["bytes_per_changed_record"];
    // Each changed record travels as 4 ops: A's edit up and down to B, B's edit up and down to A.
    r.extra["bytes_per_op_transfer"] = (r.bytes_up + r.bytes_down) / (4.0 * r.records);
    r.extra["conflicts_open"] = r1.figures["conflicts_open"];
    r.extra["errors"] = w.value("errors", 0);
    r.extra["est_bytes_up"] = w.value("est_bytes_up", uint64_t{0});
    r.extra["est_bytes_down"] = w.value("est_bytes_down", uint64_t{0});
    std::vector<double> step_s;
    for (const auto& s : w.at("steps")) step_s.push_back(s.value("seconds", 0.0));
    r.extra["step_seconds"] = step_s;  // A push, B push, A pull, B pull
    rounds.push_back(summary(r1.figures));
    Round r2 = big.round(ten_pct, {one_pct, ten_pct}, check);
    rounds.push_back(summary(r2.figures));
    r.server_peak_rss_mb = r1.figures["server_peak_rss_mb"].get<double>();
    r.extra["server_peak_rss_end_mb"] = big.env().stop_server().value_or(-1);
  }
  if (n >= 1000) {
    Cluster small(options, workload, schema, n / 10, "ce-small");
    Round r3 = small.round(EditSet{10, 0}, {EditSet{10, 0}}, check);
    rounds.push_back(summary(r3.figures));
  }
  r.extra["rounds"] = rounds;
  r.verified = check.ok();
  return r;
}

}  // namespace lumbung::bench

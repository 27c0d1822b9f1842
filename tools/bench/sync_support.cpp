#include "sync_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "cpu.h"
#include "digest.h"
#include "lumbung/error.h"
#include "rss.h"
#include "workload.h"

namespace lumbung::bench {

// --- SyncEnv ----------------------------------------------------------------------------------

SyncEnv::SyncEnv(const Options& options, const std::string& name, LinkProfile link)
    : dir_(options.workdir + "/" + name) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  const size_t k = std::max<size_t>(1, options.servers);
  if (server_backend() == ServerBackend::kPostgres) db_url_ = postgres_new_database();
  if (k == 1) {
    servers_.push_back(std::make_unique<ServerProc>(options.server_bin, dir_, 30, db_url_));
  } else {
    // One after another: the first creates the tables, the key file and the admin token;
    // the others find them (as pg_concurrency_test starts its servers).
    for (size_t i = 0; i < k; ++i) {
      servers_.push_back(std::make_unique<ServerProc>(
          options.server_bin, dir_ + "/server-" + std::to_string(i), 30, db_url_, dir_));
    }
  }
  for (const auto& s : servers_) relays_.push_back(std::make_unique<Relay>(s->port(), link));
  http_ = make_http_transport(server().url());
  for (size_t i = 0; i < k; ++i) {
    std::fprintf(stderr, "  server pid %d at %s, relay at %s\n",
                 static_cast<int>(servers_[i]->pid()), servers_[i]->url().c_str(),
                 relays_[i]->url().c_str());
  }
}

SyncEnv::SyncEnv(const Options& options, const std::string& name, const Prepare& prepare,
                 double ready_s)
    : dir_(options.workdir + "/" + name) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_ + "/data");
  if (server_backend() == ServerBackend::kPostgres) db_url_ = postgres_new_database();
  prepare(dir_, db_url_);
  servers_.push_back(std::make_unique<ServerProc>(options.server_bin, dir_, ready_s, db_url_));
  relays_.push_back(std::make_unique<Relay>(servers_.front()->port(), LinkProfile{}));
  http_ = make_http_transport(server().url());
  std::fprintf(stderr, "  server pid %d at %s, relay at %s\n",
               static_cast<int>(servers_.front()->pid()), servers_.front()->url().c_str(),
               relays_.front()->url().c_str());
}

SyncEnv::~SyncEnv() { stop_server(); }

std::vector<std::string> SyncEnv::relay_urls() const {
  std::vector<std::string> out;
  for (const auto& r : relays_) out.push_back(r->url());
  return out;
}

void SyncEnv::reset_relays() {
  for (const auto& r : relays_) r->reset();
}

uint64_t SyncEnv::bytes_up() const {
  uint64_t n = 0;
  for (const auto& r : relays_) n += r->bytes_up();
  return n;
}

uint64_t SyncEnv::bytes_down() const {
  uint64_t n = 0;
  for (const auto& r : relays_) n += r->bytes_down();
  return n;
}

uint64_t SyncEnv::connections() const {
  uint64_t n = 0;
  for (const auto& r : relays_) n += r->connections();
  return n;
}

CpuSample SyncEnv::cpu_now() const {
  CpuSample s;
  for (const auto& p : servers_) s.servers += p->cpu_seconds().value_or(0);
  if (server_backend() == ServerBackend::kPostgres) s.pg = cluster_cpu_seconds(postgres_pid());
  return s;
}

std::optional<uint64_t> SyncEnv::db_bytes() const {
  if (!db_url_.empty()) return postgres_database_bytes(db_url_);
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/data", ec)) {
    if (e.is_regular_file(ec)) n += e.file_size(ec);
  }
  return ec ? std::nullopt : std::optional<uint64_t>(n);
}

std::vector<TableBytes> SyncEnv::db_tables() const {
  if (db_url_.empty()) return {};
  return postgres_table_bytes(db_url_, 64 * 1024);
}

HttpResult SyncEnv::call(const std::string& method, const std::string& target, const Json& body,
                         const std::string& token) {
  HttpRequest req;
  req.method = method;
  req.target = target;
  req.headers = {{"Accept", "application/json"}};
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  HttpResponse resp;
  try {
    resp = http_->send(req);
  } catch (const Error& e) {
    // The server closes a keep-alive connection idle for 30 s (kSlowClientTimeoutMs), as it
    // is between the setup calls around a long sync on an emulated slow link: once more.
    if (e.code() != ErrorCode::kTransport) throw;
    resp = http_->send(req);
  }
  HttpResult out;
  out.status = resp.status;
  if (resp.headers.count("content-type") &&
      resp.headers["content-type"].find("json") != std::string::npos) {
    out.body = Json::parse(resp.body, nullptr, false);
  } else {
    out.body = resp.body;
  }
  return out;
}

std::string SyncEnv::code(const std::vector<std::string>& scope) {
  auto r = call("POST", "/v1/admin/codes", Json{{"scope", scope}, {"label", "bench"}},
                server().admin_token());
  if (r.status != 201) throw std::runtime_error("code creation failed: " + r.body.dump());
  return r.body.at("code").get<std::string>();
}

const std::string& SyncEnv::reviewer() {
  if (reviewer_.empty()) {
    auto r = call("POST", "/v1/admin/tokens", Json{{"role", "reviewer"}, {"label", "bench"}},
                  server().admin_token());
    if (r.status != 201) throw std::runtime_error("reviewer token failed: " + r.body.dump());
    reviewer_ = r.body.at("token").get<std::string>();
  }
  return reviewer_;
}

std::string SyncEnv::server_digest(const std::string& collection, uint64_t* live, uint64_t* total) {
  ContentDigest sha;
  uint64_t n_live = 0, n_all = 0;
  std::string after;
  for (int page = 0; page < 100000; ++page) {
    auto r = call("GET", "/v1/records?collection=" + collection + "&limit=2000&after=" + after,
                  Json(), reviewer());
    if (r.status != 200) throw std::runtime_error("GET /v1/records failed: " + r.body.dump());
    for (const auto& rec : r.body.at("records")) {
      ++n_all;
      if (rec.value("deleted", false)) continue;
      ++n_live;
      sha.add_record(rec.at("id").get<std::string>(), rec.at("fields").dump());
    }
    after = r.body.value("next", std::string());
    if (after.empty()) break;
  }
  if (live) *live = n_live;
  if (total) *total = n_all;
  return sha.hex();
}

int64_t SyncEnv::acked_seq(const std::string& device_id) {
  auto r = call("GET", "/v1/admin/devices", Json(), server().admin_token());
  if (r.status != 200) throw std::runtime_error("GET /v1/admin/devices failed: " + r.body.dump());
  for (const auto& d : r.body.at("devices")) {
    if (d.at("device_id") == device_id) return d.at("acked_seq").get<int64_t>();
  }
  return -1;
}

Json SyncEnv::conflicts() {
  auto r = call("GET", "/v1/conflicts?status=open", Json(), reviewer());
  if (r.status != 200) throw std::runtime_error("GET /v1/conflicts failed: " + r.body.dump());
  return r.body.at("conflicts");
}

double SyncEnv::metric(const std::string& name) {
  auto r = call("GET", "/metrics", Json(), "");
  if (r.status != 200 || !r.body.is_string()) return -1;
  std::istringstream in(r.body.get<std::string>());
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    found = true;
  }
  return found ? sum : -1;
}

std::optional<double> SyncEnv::server_rss_now() const {
  std::optional<double> peak;
  for (const auto& p : servers_) {
    if (auto v = p->peak_rss_mb()) peak = std::max(peak.value_or(0), *v);
  }
  return peak;
}

std::optional<double> SyncEnv::stop_server() {
  if (!stopped_) {
    server_rss_ = server_rss_now();
    relays_.clear();
    http_.reset();
    for (auto& p : servers_) {
      const int pid = static_cast<int>(p->pid());
      const int st = p->stop();
      std::fprintf(stderr, "  server pid %d stopped (status %d)\n", pid, st);
    }
    stopped_ = true;
    std::fprintf(stderr, "  server peak RSS %.1f MB\n", server_rss_.value_or(-1));
  }
  return server_rss_;
}

// --- devices ------------------------------------------------------------------------------------

std::string workload_collection(const Schema& schema) {
  if (schema.collection("enrolment")) return "enrolment";
  if (schema.collections().size() == 1) return schema.collections().front().name();
  throw std::runtime_error("schema " + schema.name() +
                           " has no \"enrolment\" collection and more than one other");
}

std::unique_ptr<Store> open_device(const std::string& path, std::shared_ptr<const Schema> schema,
                                   const std::string& device_id) {
  OpenOptions o;
  o.path = path;
  o.schema = std::move(schema);
  o.device_id = device_id;
  return Store::open(o);
}

void load_records(Store& store, const Workload& workload, size_t begin, size_t end,
                  const std::string& collection) {
  constexpr size_t kCommitEvery = 10000;
  for (size_t i = begin; i < end;) {
    Batch batch = store.begin_batch();
    const size_t stop = std::min(end, i + kCommitEvery);
    for (; i < stop; ++i) {
      Json fields = Json::parse(workload.line(i));
      std::string id = fields.at("id").get<std::string>();
      fields.erase("id");
      batch.create(collection, std::move(fields), std::move(id));
    }
    batch.commit();
  }
}

std::vector<std::string> province_prefixes(const Workload& workload, size_t begin, size_t end) {
  static constexpr std::string_view kKey = "\"village_code\":\"";
  std::set<std::string> out;
  for (size_t i = begin; i < end; ++i) {
    const std::string_view line = workload.line(i);
    const size_t at = line.find(kKey);
    if (at == std::string_view::npos || line.size() < at + kKey.size() + 2) continue;
    out.insert(std::string(line.substr(at + kKey.size(), 2)));
  }
  return {out.begin(), out.end()};
}

std::string register_device(SyncEnv& env, Store& store, const std::vector<std::string>& scope) {
  auto transport = make_http_transport(env.server().url());
  SyncClient client(store, *transport, "");
  return client.register_device(env.code(scope), "bench " + store.device_id());
}

SyncReport sync_direct(SyncEnv& env, Store& store, const std::string& token,
                       const std::string& what) {
  auto transport = make_http_transport(env.server().url());
  SyncClient client(store, *transport, token);
  if (what == "push") return client.push();
  if (what == "pull") return client.pull();
  return client.sync();
}

// --- the worker ---------------------------------------------------------------------------------

namespace {

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

Json spec_to_json(const WorkerSpec& s) {
  Json j{{"url", s.url},
         {"schema", s.schema_path},
         {"concurrent", s.concurrent},
         {"cut_after", s.cut_after},
         {"cut_down_for", s.cut_down_for},
         {"first_pull_snapshot", s.first_pull_snapshot}};
  j["devices"] = Json::array();
  for (const auto& d : s.devices) {
    j["devices"].push_back(
        {{"db", d.db}, {"device_id", d.device_id}, {"token", d.token}, {"urls", d.urls}});
  }
  j["steps"] = Json::array();
  for (const auto& st : s.steps)
    j["steps"].push_back({{"device", st.device}, {"action", st.action}});
  return j;
}

// A link that dies: after `pass` requests, the next one reaches the server but its answer
// is lost (the worst case: the server applied the batch), and `down_for` more fail before
// reaching it. heal() brings the link back.
class CutTransport final : public Transport {
 public:
  CutTransport(Transport& inner, size_t pass, size_t down_for)
      : inner_(inner), pass_(pass), down_for_(down_for) {}
  void heal() { healed_ = true; }
  size_t seen() const { return seen_; }
  HttpResponse send(const HttpRequest& request) override {
    const size_t n = ++seen_;
    if (!healed_ && n == pass_ + 1) {
      inner_.send(request);
      throw Error(ErrorCode::kTransport,
                  "bench: link cut (response lost after the server got the request)");
    }
    if (!healed_ && n > pass_ + 1 && n <= pass_ + 1 + down_for_) {
      throw Error(ErrorCode::kTransport, "bench: link down");
    }
    return inner_.send(request);
  }

 private:
  Transport& inner_;
  size_t pass_, down_for_;
  size_t seen_ = 0;
  bool healed_ = false;
};

// One device's requests spread over K servers in turn, as a load balancer without stickiness
// would: every server must serve any request of any device (none keeps state another needs).
class RoundRobinTransport final : public Transport {
 public:
  explicit RoundRobinTransport(const std::vector<std::string>& urls) {
    for (const auto& u : urls) links_.push_back(make_http_transport(u));
  }
  HttpResponse send(const HttpRequest& request) override {
    return links_[next_++ % links_.size()]->send(request);
  }

 private:
  std::vector<std::unique_ptr<Transport>> links_;
  size_t next_ = 0;
};

Json report_json(const SyncReport& r) {
  return Json{{"pushed", r.pushed},         {"pulled", r.pulled},
              {"applied", r.applied},       {"conflicts", r.conflicts},
              {"requests", r.requests},     {"retries", r.retries},
              {"est_bytes_up", r.bytes_up}, {"est_bytes_down", r.bytes_down}};
}

void add_report(Json& total, const SyncReport& r) {
  for (const char* k : {"pushed", "pulled", "conflicts", "requests", "retries"}) {
    total[k] = total.value(k, uint64_t{0});
  }
  total["pushed"] = total["pushed"].get<uint64_t>() + r.pushed;
  total["pulled"] = total["pulled"].get<uint64_t>() + r.pulled;
  total["conflicts"] = total["conflicts"].get<uint64_t>() + r.conflicts;
  total["requests"] = total["requests"].get<uint64_t>() + r.requests;
  total["retries"] = total["retries"].get<uint64_t>() + r.retries;
  total["est_bytes_up"] = total.value("est_bytes_up", uint64_t{0}) + r.bytes_up;
  total["est_bytes_down"] = total.value("est_bytes_down", uint64_t{0}) + r.bytes_down;
}

struct OpenDevice {
  std::unique_ptr<Store> store;
  std::unique_ptr<Transport> http;
  std::unique_ptr<SyncClient> client;
};

}  // namespace

Json run_worker(const Options& options, const WorkerSpec& spec, const std::string& tag) {
  const std::string path = options.workdir + "/worker-" + tag + ".json";
  {
    std::ofstream out(path);
    out << spec_to_json(spec).dump();
  }
  Subprocess child({self_exe(), "--worker", path});
  const std::string out = child.read_rest(1800);
  const auto status = child.wait(30);
  std::filesystem::remove(path);
  // The report is the last non-empty line.
  std::string last;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  Json j = Json::parse(last, nullptr, false);
  if (!status || !WIFEXITED(*status) || j.is_discarded()) {
    throw std::runtime_error("device worker " + tag + " failed (status " +
                             std::to_string(status.value_or(-1)) +
                             "), output: " + out.substr(0, 500));
  }
  return j;
}

int worker_main(const std::string& spec_path) {
  std::ifstream in(spec_path);
  const Json spec = Json::parse(in);
  auto schema =
      std::shared_ptr<const Schema>(Schema::load_file(spec.at("schema").get<std::string>()));
  const std::string url = spec.at("url");
  std::vector<OpenDevice> devs;
  for (const auto& d : spec.at("devices")) {
    OpenDevice od;
    od.store = open_device(d.at("db"), schema, d.at("device_id"));
    const auto urls = d.value("urls", std::vector<std::string>());
    if (urls.size() > 1) {
      od.http = std::make_unique<RoundRobinTransport>(urls);
    } else {
      od.http = make_http_transport(urls.empty() ? url : urls.front());
    }
    devs.push_back(std::move(od));
  }
  const auto& jdevs = spec.at("devices");
  Json out{{"steps", Json::array()}, {"errors", 0}, {"error_messages", Json::array()}};
  std::mutex mu;
  auto note_error = [&](const std::string& who, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    out["errors"] = out["errors"].get<int>() + 1;
    if (out["error_messages"].size() < 10) out["error_messages"].push_back(who + ": " + what);
  };
  SyncOptions so;
  so.bootstrap_snapshot = spec.value("first_pull_snapshot", false);
  so.sleep = [](int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 200)));
  };

  if (spec.value("concurrent", false)) {
    for (size_t i = 0; i < devs.size(); ++i) {
      devs[i].client = std::make_unique<SyncClient>(*devs[i].store, *devs[i].http,
                                                    jdevs[i].at("token").get<std::string>());
    }
    std::vector<SyncReport> reports(devs.size());
    std::vector<double> secs(devs.size());
    std::mutex start_mu;
    std::condition_variable start_cv;
    bool go = false;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < devs.size(); ++i) {
      threads.emplace_back([&, i] {
        {
          std::unique_lock<std::mutex> lock(start_mu);
          start_cv.wait(lock, [&] { return go; });
        }
        const double t = now_seconds();
        try {
          reports[i] = devs[i].client->push(so);
        } catch (const std::exception& e) {
          note_error(jdevs[i].at("device_id").get<std::string>(), e.what());
        }
        secs[i] = now_seconds() - t;
      });
    }
    const double t0 = now_seconds();
    {
      std::lock_guard<std::mutex> lock(start_mu);
      go = true;
    }
    start_cv.notify_all();
    for (auto& t : threads) t.join();
    out["seconds"] = now_seconds() - t0;
    for (size_t i = 0; i < devs.size(); ++i) {
      Json s = report_json(reports[i]);
      s["device"] = i;
      s["seconds"] = secs[i];
      out["steps"].push_back(s);
      add_report(out, reports[i]);
    }
  } else {
    double total = 0;
    for (const auto& st : spec.at("steps")) {
      const size_t di = st.at("device").get<size_t>();
      const std::string action = st.at("action");
      OpenDevice& d = devs.at(di);
      const std::string token = jdevs[di].at("token");
      Json s{{"device", di}, {"action", action}};
      std::unique_ptr<CutTransport> cut;
      Transport* link = d.http.get();
      if (action == "push_cut_resume") {
        cut = std::make_unique<CutTransport>(*d.http, spec.value("cut_after", size_t{0}),
                                             spec.value("cut_down_for", size_t{3}));
        link = cut.get();
      }
      SyncClient client(*d.store, *link, token);
      const double t = now_seconds();
      try {
        if (action == "push") {
          const SyncReport r = client.push(so);
          add_report(out, r);
          s.update(report_json(r));
        } else if (action == "pull") {
          const SyncReport r = client.pull(so);
          add_report(out, r);
          s.update(report_json(r));
        } else if (action == "sync") {
          const SyncReport r = client.sync(so);
          add_report(out, r);
          s.update(report_json(r));
        } else if (action == "push_cut_resume") {
          SyncOptions first = so;
          first.max_attempts = 2;  // give up while the link is down
          try {
            const SyncReport r = client.push(first);
            s["interrupted"] = false;
            s["first"] = report_json(r);
            add_report(out, r);
          } catch (const Error& e) {
            if (e.code() != ErrorCode::kTransport) throw;
            s["interrupted"] = true;
            s["interrupt_error"] = e.what();
            // The push failed as a whole; its own counters are lost with it, so count
            // the requests the wrapper saw.
            s["requests_before_cut"] = cut->seen();
            out["requests"] = out.value("requests", uint64_t{0}) + cut->seen();
          }
          s["pending_after_cut"] = d.store->stats().pending_changes;
          cut->heal();
          const SyncReport r = client.push(so);
          s["resumed"] = report_json(r);
          add_report(out, r);
        } else {
          throw std::runtime_error("unknown worker action " + action);
        }
      } catch (const std::exception& e) {
        note_error(jdevs[di].at("device_id").get<std::string>() + " " + action, e.what());
      }
      s["seconds"] = now_seconds() - t;
      total += s["seconds"].get<double>();
      out["steps"].push_back(s);
    }
    out["seconds"] = total;
  }
  devs.clear();  // close the stores (checkpoint) before the parent reads them
  // VmHWM of this process image, not getrusage: Linux keeps ru_maxrss across fork and
  // execve, so it would report the bench parent's peak (workload text included).
  out["peak_rss_mb"] = process_peak_rss_mb(getpid()).value_or(-1);
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace lumbung::bench

// The server core (everything lumbung-server runs except the cpprestsdk listener) in the
// test's own process, assembled exactly as server/src/main.cpp does, plus a
// lumbung::Transport that hands requests straight to Router::handle.
//
// Used by the simulation (tests/sim/sim.cpp) and the request-body fuzz target
// (tests/fuzz/fuzz_router.cpp). restart() destroys every core object and re-creates them
// on the same data directory, as a server process restarted from its files would (nothing
// held in memory survives: the clock resumes from meta, unflushed "last seen" times are
// lost as in a kill).
//
// Not thread-safe: one caller at a time (the simulation is single-threaded).
#pragma once

#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "api/router.h"
#include "auth/enrolment.h"
#include "auth/tokens.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "lumbung/sync.h"
#include "metrics/metrics.h"
#include "review/review_service.h"
#include "store/sqlite_server_store.h"
#include "sync/sync_service.h"

namespace lumbung::test {

inline std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class InProcessServer {
 public:
  // `data_dir` must exist (or be creatable by SqliteServerStore); `wall` outlives this.
  InProcessServer(std::string data_dir, WallClock& wall, const std::string& schema_path)
      : data_dir_(std::move(data_dir)),
        wall_(wall),
        schema_text_(slurp_file(schema_path)),
        schema_(Schema::parse(Json::parse(schema_text_))) {
    start();
    admin_ = core_->enrolment->bootstrap_admin();
    if (admin_.empty()) throw std::runtime_error("data dir was not empty: no admin token");
  }

  // As a process killed and started again on its files.
  void restart() {
    core_.reset();
    start();
    ++restarts_;
  }

  // The operator's backup: the server stopped (a clean stop leaves the database whole in
  // its files), its database files copied to `to`, the server started again.
  void backup(const std::string& to) {
    core_.reset();
    copy_db(db_path(), to);
    start();
    ++restarts_;
  }

  // The disaster: the server stopped and started again from the copy made by backup(),
  // everything it wrote since then gone.
  void restore(const std::string& from) {
    core_.reset();
    copy_db(from, db_path());
    start();
    ++restarts_;
  }

  server::Response handle(const server::Request& req) { return core_->router->handle(req); }

  const std::string& admin_token() const { return admin_; }
  std::string db_path() const { return data_dir_ + "/lumbung-server.db"; }
  const Schema& schema() const { return *schema_; }
  int restarts() const { return restarts_; }

 private:
  // Members in construction order; destroyed in reverse, like main()'s locals.
  struct Core {
    std::unique_ptr<server::SqliteServerStore> store;
    std::unique_ptr<HybridClock> clock;
    server::Metrics metrics;
    std::unique_ptr<server::SyncService> sync;
    std::unique_ptr<server::ReviewService> review;
    std::unique_ptr<server::Enrolment> enrolment;
    std::unique_ptr<server::Authenticator> auth;
    std::unique_ptr<server::Router> router;
  };

  static void copy_db(const std::string& from, const std::string& to) {
    namespace fs = std::filesystem;
    for (const char* ext : {"", "-wal", "-shm"}) {
      fs::remove(to + ext);
      if (fs::exists(from + ext)) fs::copy_file(from + ext, to + ext);
    }
  }

  void start() {
    ::mkdir(data_dir_.c_str(), 0700);  // as main.cpp: the data directory may not exist yet
    auto c = std::make_unique<Core>();
    c->store = server::SqliteServerStore::open(data_dir_);
    c->clock = std::make_unique<HybridClock>(wall_, server::server_clock_start(*c->store, wall_));
    c->sync =
        std::make_unique<server::SyncService>(*schema_, *c->store, *c->clock, wall_, c->metrics);
    c->review = std::make_unique<server::ReviewService>(*c->store, *c->sync, c->metrics);
    c->enrolment = std::make_unique<server::Enrolment>(*c->store, *c->sync, wall_);
    c->auth = std::make_unique<server::Authenticator>(*c->store);
    c->router = std::make_unique<server::Router>(*schema_, schema_text_, *c->sync, *c->review,
                                                 *c->enrolment, *c->auth, c->metrics);
    core_ = std::move(c);
  }

  std::string data_dir_;
  WallClock& wall_;
  std::string schema_text_;
  std::shared_ptr<const Schema> schema_;
  std::unique_ptr<Core> core_;
  std::string admin_;
  int restarts_ = 0;
};

inline std::string percent_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// HttpRequest (engine) -> server::Request, the way http/http_listener.cpp converts.
inline server::Request to_server_request(const HttpRequest& in) {
  server::Request r;
  r.method = in.method;
  const auto q = in.target.find('?');
  r.path = percent_decode(in.target.substr(0, q));
  r.query = q == std::string::npos ? std::string() : in.target.substr(q + 1);
  for (const auto& [k, v] : in.headers) r.headers[lower(k)] = v;
  r.body = in.body;
  return r;
}

inline HttpResponse to_http_response(const server::Response& in) {
  HttpResponse r;
  r.status = in.status;
  r.headers["content-type"] = in.content_type;
  for (const auto& [k, v] : in.headers) r.headers[lower(k)] = v;
  r.body = in.body;
  r.wire_bytes = in.body.size() + 64;
  return r;
}

// A Transport whose "network" is a function call into the in-process server.
class InProcessTransport final : public Transport {
 public:
  explicit InProcessTransport(InProcessServer& server) : server_(server) {}
  HttpResponse send(const HttpRequest& request) override {
    return to_http_response(server_.handle(to_server_request(request)));
  }

 private:
  InProcessServer& server_;
};

}  // namespace lumbung::test

// The server core (everything lumbung-server runs except the cpprestsdk listener) in the
// test's own process, assembled exactly as server/src/main.cpp does, plus a
// lumbung::Transport that hands requests straight to Router::handle.
//
// Used by the simulation (tests/sim/sim.cpp) and the request-body fuzz target
// (tests/fuzz/fuzz_router.cpp). restart() destroys every core object and re-creates them
// on the same database, as a server process restarted from its files would (nothing
// held in memory survives: the clock resumes from meta, unflushed "last seen" times are
// lost as in a kill).
//
// On PostgreSQL (the second constructor) it is N server cores on one database, as N
// lumbung-server processes behind a load balancer: each request goes to one of them,
// picked by a stream seeded by the caller, so a retried request may land on another;
// restart() restarts one of them. Backup and restore stop them all and copy the database
// (CREATE DATABASE ... TEMPLATE).
//
// Not thread-safe: one caller at a time (the simulation is single-threaded).
#pragma once

#include <sys/stat.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

#include "api/router.h"
#include "auth/enrolment.h"
#include "auth/tokens.h"
#include "lumbung/clock.h"
#include "lumbung/schema.h"
#include "lumbung/sync.h"
#include "metrics/metrics.h"
#include "review/review_service.h"
#include "store/pg_server_store.h"
#include "store/sqlite_server_store.h"
#include "sync/op_upgrade.h"
#include "sync/sync_service.h"

namespace lumbung::test {

inline std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Where a PostgreSQL-backed InProcessServer's databases live (sim/sim_postgres.h is the
// simulation's): an interface, so that users of the SQLite server need not link libpq.
class PgDatabases {
 public:
  virtual ~PgDatabases() = default;
  virtual std::string url(const std::string& db) const = 0;
  // `to` (dropped first) becomes a copy of `from`, to which nobody is connected.
  virtual void copy_database(const std::string& from, const std::string& to) = 0;
  virtual void drop_database(const std::string& db) = 0;
  virtual void read_oplog(const std::string& db,
                          const std::function<void(uint64_t, const std::string&, uint64_t,
                                                   const std::string&)>& fn) = 0;
};

// Runs the requests of an InProcessServer. The simulation's on PostgreSQL (sim/pg_hold.h)
// can hold one push's transaction open before its COMMIT and meanwhile run the others on
// threads of their own, so that transactions of several server instances interleave.
class RequestGate {
 public:
  virtual ~RequestGate() = default;
  virtual server::Response run(const std::function<server::Response()>& request) = 0;
  // Runs `request`, a push of `dev` whose last op is `seq`, and holds its transaction open
  // before COMMIT for the next `release_after` requests: nullopt while it is held, its
  // answer if it could not be held (nothing of it was new, say).
  virtual std::optional<server::Response> hold(
      const std::string& dev, uint64_t seq, int release_after,
      const std::function<server::Response()>& request) = 0;
  // Lets a held transaction commit and waits for it (its answer goes nowhere).
  virtual void release() = 0;
  virtual bool holding() const = 0;
};

using OplogRowFn = std::function<void(uint64_t, const std::string&, uint64_t, const std::string&)>;

class InProcessServer {
 public:
  // SQLite: one server core; `data_dir` must exist (or be creatable by SqliteServerStore);
  // `wall` outlives this.
  InProcessServer(std::string data_dir, WallClock& wall, const std::string& schema_path)
      : data_dir_(std::move(data_dir)),
        wall_(wall),
        schema_text_(slurp_file(schema_path)),
        schema_(Schema::parse(Json::parse(schema_text_))) {
    cores_.resize(1);
    start(0);
    admin_ = cores_[0]->enrolment->bootstrap_admin();
    if (admin_.empty()) throw std::runtime_error("data dir was not empty: no admin token");
  }

  // PostgreSQL: `instances` server cores on database `db` of `pg` (empty, made by the
  // caller; dropped by the destructor). Requests and restarts pick an instance from a
  // stream seeded with `route_seed`. `pg` and `wall` outlive this.
  InProcessServer(PgDatabases& pg, std::string db, int instances, uint64_t route_seed,
                  WallClock& wall, const std::string& schema_path)
      : wall_(wall),
        schema_text_(slurp_file(schema_path)),
        schema_(Schema::parse(Json::parse(schema_text_))),
        pg_(&pg),
        pg_db_(std::move(db)),
        route_(route_seed) {
    if (instances < 1) throw std::runtime_error("at least one server instance");
    cores_.resize(static_cast<size_t>(instances));
    try {
      for (size_t i = 0; i < cores_.size(); ++i) start(i);
    } catch (...) {
      stop_all();
      pg_->drop_database(pg_db_);
      throw;
    }
    admin_ = cores_[0]->enrolment->bootstrap_admin();
    if (admin_.empty()) throw std::runtime_error("database was not empty: no admin token");
  }

  ~InProcessServer() {
    release_held();
    gate_.reset();
    stop_all();
    if (pg_) {
      try {
        pg_->drop_database(pg_db_);
        if (has_backup_) pg_->drop_database(backup_db());
      } catch (...) {
        // A cluster gone at exit: nothing left to clean.
      }
    }
  }
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  // As a process killed and started again on its files (one of the instances).
  void restart() {
    release_held();  // nothing runs inside the instance while it is destroyed
    const size_t i = pick();
    cores_[i].reset();
    start(i);
    ++restarts_;
  }

  // The operator's backup: the server stopped (every instance: a clean stop leaves the
  // database whole), its database copied, the server started again.
  void backup() {
    release_held();
    stop_all();
    if (pg_) {
      pg_->copy_database(pg_db_, backup_db());
      has_backup_ = true;
    } else {
      copy_db(db_path(), backup_path());
    }
    start_all();
    ++restarts_;
  }

  // The disaster: the server stopped and started again from the copy made by backup(),
  // everything it wrote since then gone. On PostgreSQL the copy is a new database (a new
  // oid: the store starts a new history, as after any restore).
  void restore() {
    release_held();
    stop_all();
    if (pg_) {
      pg_->copy_database(backup_db(), pg_db_);
    } else {
      copy_db(backup_path(), db_path());
    }
    start_all();
    ++restarts_;
  }

  server::Response handle(const server::Request& req) {
    server::Router& r = *cores_[pick()]->router;
    if (!gate_) return r.handle(req);
    return gate_->run([&r, &req] { return r.handle(req); });
  }

  // A request whose body was cut on its way after `bytes` bytes; nobody gets an answer. A
  // streamed push's sink takes the prefix and is dropped unanswered, as the listener drops
  // it on a cut connection (the whole frames in the prefix stay applied); any other body
  // never reaches the service (a collected body is handled only once whole).
  void handle_cut(const server::Request& req, size_t bytes) {
    server::Router& r = *cores_[pick()]->router;
    auto cut = [&r, &req, bytes] {
      server::Request head = req;
      head.body.clear();
      const server::Router::Admission a = r.admit(head);
      if (!a.refusal && a.streamed) {
        std::unique_ptr<server::BodySink> sink = r.open_sink(head, a);
        sink->feed(std::string_view(req.body).substr(0, bytes));
      }
      return server::Response{};
    };
    if (!gate_) {
      cut();
    } else {
      gate_->run(cut);
    }
  }

  // With a gate (set_gate): a push of `dev` (its last op `seq`) whose transaction is held
  // open for the next `release_after` requests (RequestGate::hold). Without one, handle().
  std::optional<server::Response> handle_held(const server::Request& req, const std::string& dev,
                                              uint64_t seq, int release_after) {
    server::Router& r = *cores_[pick()]->router;
    if (!gate_) return r.handle(req);
    return gate_->hold(dev, seq, release_after, [&r, req] { return r.handle(req); });
  }
  void set_gate(std::unique_ptr<RequestGate> gate) {
    release_held();
    gate_ = std::move(gate);
  }
  bool can_hold() const { return gate_ != nullptr && !gate_->holding(); }
  // Lets a held push transaction commit (the simulation's quiet end, restarts, backups).
  void release_held() {
    if (gate_) gate_->release();
  }

  // Every row of the server's oplog in pos order: fn(pos, dev, seq, op JSON text).
  void read_oplog(const OplogRowFn& fn) {
    if (pg_) return pg_->read_oplog(pg_db_, fn);
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      throw std::runtime_error("cannot open the server database read-only");
    }
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT pos, dev, seq, op FROM oplog ORDER BY pos", -1, &st,
                           nullptr) != SQLITE_OK) {
      const std::string msg = sqlite3_errmsg(db);
      sqlite3_close(db);
      throw std::runtime_error("cannot read the oplog: " + msg);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      fn(static_cast<uint64_t>(sqlite3_column_int64(st, 0)),
         reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
         static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
         reinterpret_cast<const char*>(sqlite3_column_text(st, 3)));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  const std::string& admin_token() const { return admin_; }
  std::string db_path() const { return data_dir_ + "/lumbung-server.db"; }
  const Schema& schema() const { return *schema_; }
  int restarts() const { return restarts_; }
  int instances() const { return static_cast<int>(cores_.size()); }
  bool postgres() const { return pg_ != nullptr; }

 private:
  // Members in construction order; destroyed in reverse, like main()'s locals.
  struct Core {
    std::unique_ptr<server::ServerStore> store;
    // The schema versions (issue 18): the newest stored one is active; one published
    // through POST /v1/admin/schema is active at once. Before sync: it reads their history.
    std::unique_ptr<server::LiveSchema> live;
    std::shared_ptr<const Schema> started_schema;  // the version active at start
    std::string started_text;
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

  std::string backup_path() const { return data_dir_ + "/../backup.db"; }
  std::string backup_db() const { return pg_db_ + "_bak"; }

  // The instance of the next request or restart; always 0 with one.
  size_t pick() { return cores_.size() == 1 ? 0 : static_cast<size_t>(route_() % cores_.size()); }

  void stop_all() {
    for (size_t i = cores_.size(); i-- > 0;) cores_[i].reset();
  }
  void start_all() {
    for (size_t i = 0; i < cores_.size(); ++i) start(i);
  }

  void start(size_t i) {
    auto c = std::make_unique<Core>();
    if (pg_) {
      c->store = server::PgServerStore::open(pg_->url(pg_db_));
    } else {
      ::mkdir(data_dir_.c_str(), 0700);  // as main.cpp: the data directory may not exist yet
      c->store = server::SqliteServerStore::open(data_dir_);
    }
    // As main.cpp: the schema file reconciled with the versions stored (a restart with the
    // first file keeps a version published since), the records on the newest.
    server::SchemaStart versions =
        server::open_schema_versions(*c->store, Json::parse(schema_text_));
    server::activate_schema_version(*c->store, *versions.history);
    c->started_schema = versions.history->current_ptr();
    c->started_text = versions.history->current_document().dump(2);
    c->clock = std::make_unique<HybridClock>(wall_, server::server_clock_start(*c->store, wall_));
    c->sync = std::make_unique<server::SyncService>(*c->started_schema, *c->store, *c->clock, wall_,
                                                    c->metrics);
    c->live = std::make_unique<server::LiveSchema>(*c->store, std::move(versions.history));
    c->sync->set_schema_history(&c->live->history());
    c->review = std::make_unique<server::ReviewService>(*c->store, *c->sync, c->metrics);
    c->enrolment = std::make_unique<server::Enrolment>(*c->store, *c->sync, wall_);
    c->auth = std::make_unique<server::Authenticator>(*c->store);
    c->router = std::make_unique<server::Router>(*c->started_schema, c->started_text, *c->sync,
                                                 *c->review, *c->enrolment, *c->auth, c->metrics);
    server::SyncService* sync = c->sync.get();
    c->live->on_publish([](const SchemaHistory&) {},
                        [sync](const SchemaHistory& h) { sync->set_schema_history(&h); });
    c->router->set_live_schema(c->live.get());
    cores_[i] = std::move(c);
  }

  std::string data_dir_;
  WallClock& wall_;
  std::string schema_text_;
  std::shared_ptr<const Schema> schema_;
  PgDatabases* pg_ = nullptr;
  std::string pg_db_;
  bool has_backup_ = false;
  std::mt19937_64 route_{0};
  std::vector<std::unique_ptr<Core>> cores_;
  std::unique_ptr<RequestGate> gate_;  // after cores_: destroyed before them
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

// Shared setup for the server integration tests: a temp data dir, the real lumbung-server
// on 127.0.0.1:0, the admin token, and helpers to register devices and build ops.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lumbung/clock.h"
#include "support/http_test_client.h"
#include "support/pg_cluster.h"
#include "support/server_process.h"
#include "support/test_backend.h"

namespace lumbung::test {

using nlohmann::json;

// Valid enrolment records (from ../shared/workload): two in Konawe (74.02), one in
// Buton Tengah (74.14).
inline json konawe_record_1() {
  return json::parse(
      R"({"nik":"7402294809690329","full_name":"Wulan Pratama","birth_date":"1969-09-08",
    "gender":"P","village_code":"7402292053","position":"kasi pelayanan","phone":"08222672973",
    "programs":["JKK","JKM"],"monthly_income":4900000,"status":"submitted",
    "created_at":"2025-01-06T12:34:25.839Z","officer_id":"OFC-0143"})");
}
inline json konawe_record_2() {
  return json::parse(
      R"({"nik":"7402100607814908","full_name":"Joko Simanjuntak","birth_date":"1981-07-06",
    "gender":"L","village_code":"7402101229","position":"kaur perencanaan","phone":"08210753712",
    "programs":["JKK","JKM"],"monthly_income":5600000,"status":"submitted",
    "created_at":"2025-01-06T15:33:57.419Z","officer_id":"OFC-0230"})");
}
inline json buton_tengah_record() {
  return json::parse(
      R"({"nik":"7414090107611329","full_name":"Joko Gunawan","birth_date":"1961-07-01",
    "gender":"L","village_code":"7414091481","position":"kaur perencanaan","phone":"089584002465",
    "programs":["JKK","JKM"],"monthly_income":12600000,"status":"submitted",
    "created_at":"2025-01-06T03:50:13.746Z","officer_id":"OFC-0096"})");
}

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline uint64_t hlc_now(uint64_t counter = 0) { return hlc::make(wall_ms(), counter); }

inline json make_op(uint64_t seq, const std::string& id, uint64_t hlc, json set,
                    json base = json()) {
  json op{{"seq", seq}, {"col", "enrolment"}, {"id", id}, {"hlc", hlc}, {"set", std::move(set)}};
  if (!base.is_null()) op["base"] = std::move(base);
  return op;
}
inline json make_delete(uint64_t seq, const std::string& id, uint64_t hlc, json seen) {
  return json{{"seq", seq}, {"col", "enrolment"}, {"id", id},
              {"hlc", hlc}, {"del", true},        {"base", {{"*", std::move(seen)}}}};
}

struct Device {
  std::string id;
  std::string token;
  uint64_t next_seq = 1;
};

class ServerFixture {
 public:
  ServerFixture() { start(); }
  // `extra_args` go to every start (e.g. {"--schema", path}); set_extra_args() changes them
  // for the next start (a new schema file deployed: schema_versions_test).
  explicit ServerFixture(std::vector<std::string> extra_args) : extra_(std::move(extra_args)) {
    start();
  }
  void set_extra_args(std::vector<std::string> extra_args) { extra_ = std::move(extra_args); }

  // port 0: any free port; otherwise that one (to come back where laptops look for it).
  void start(uint16_t port = 0) {
    std::vector<std::string> args = extra_;
    if (port != 0) args.insert(args.end(), {"--listen", "127.0.0.1:" + std::to_string(port)});
    std::string data = dir_.path() + "/data";
    if (test_postgres()) {
      // The same tests on the PostgreSQL store: a new database of the test binary's cluster
      // per fixture (the "postgres:" registration in tests/CMakeLists.txt); the cluster
      // starts on first use, so a SQLite run never starts one.
      if (db_url_.empty()) db_url_ = PgCluster::shared().create_database();
      args.insert(args.end(), {"--db", db_url_, "--key-file", dir_.path() + "/server.key"});
      data.clear();
    }
    server_ = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data,
                                              dir_.path() + "/admin-token", args);
    http_ = std::make_unique<HttpTestClient>(server_->base_url());
    if (admin_.empty()) admin_ = read_text_file(dir_.path() + "/admin-token");
  }
  void restart() {
    server_->stop();
    start();
  }
  // Stops the server process (by pid); start() brings it back on the same data directory.
  void stop() { server_->stop(); }
  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string dir() const { return dir_.path(); }  // the admin token, the key file
  // The fixture's database on PostgreSQL (empty on SQLite).
  const std::string& db_url() const { return db_url_; }

  HttpTestClient& http() { return *http_; }
  ServerProcess& server() { return *server_; }
  const std::string& admin() const { return admin_; }

  std::string code(std::vector<std::string> scope) {
    auto r = http_->post("/v1/admin/codes", json{{"scope", scope}, {"label", "test"}}, admin_);
    if (r.status != 201) throw std::runtime_error("code creation failed: " + r.body);
    return r.json()["code"];
  }
  Device device(const std::string& id, std::vector<std::string> scope) {
    auto r = http_->post("/v1/devices/register",
                         json{{"code", code(scope)}, {"device_id", id}, {"label", id}});
    if (r.status != 201) throw std::runtime_error("register failed: " + r.body);
    return Device{id, r.json()["token"], 1};
  }
  std::string reviewer() {
    auto r = http_->post("/v1/admin/tokens", json{{"role", "reviewer"}, {"label", "rev"}}, admin_);
    if (r.status != 201) throw std::runtime_error("token failed: " + r.body);
    return r.json()["token"];
  }

  HttpResult push(Device& d, json ops, bool gzip = true) {
    return http_->post("/v1/push", json{{"device", d.id}, {"ops", std::move(ops)}}, d.token, gzip);
  }
  // Pulls pages until more=false (bounded); returns every op.
  json pull_all(const Device& d, std::string* cursor = nullptr) {
    json all = json::array();
    std::string c = cursor ? *cursor : std::string();
    for (int page = 0; page < 1000; ++page) {
      auto r = http_->get("/v1/pull?cursor=" + c, d.token);
      if (r.status != 200) throw std::runtime_error("pull failed: " + r.body);
      json j = r.json();
      for (auto& op : j["ops"]) all.push_back(op);
      c = j["next"];
      if (!j["more"].get<bool>()) break;
    }
    if (cursor) *cursor = c;
    return all;
  }
  json records(const std::string& token) {
    auto r = http_->get("/v1/records?collection=enrolment&limit=10000", token);
    if (r.status != 200) throw std::runtime_error("records failed: " + r.body);
    return r.json()["records"];
  }

 private:
  TempDir dir_;
  std::vector<std::string> extra_;  // given to every start
  std::string db_url_;              // PostgreSQL runs only
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpTestClient> http_;
  std::string admin_;
};

}  // namespace lumbung::test

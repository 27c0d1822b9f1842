// Helpers shared by the security tests: a generated certificate (tools/dev-cert.sh, i.e.
// the openssl CLI), direct SQL on the server's database file, and a device laptop syncing
// through the real HTTP(S) transport.
#pragma once

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "support/enrolment.h"
#include "support/http_test_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace lumbung::test {

struct TestCert {
  std::string cert;
  std::string key;
  std::string pin;  // sha256 of the public key, hex
};

// Runs a shell command; returns its stdout. Throws if it exits non-zero.
inline std::string run_capture(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd);
  return out;
}

// A self-signed certificate for 127.0.0.1 made by tools/dev-cert.sh into `dir`.
inline TestCert make_cert(const std::string& dir, const std::string& name = "127.0.0.1") {
  const std::string out = run_capture("bash '" + std::string(LUMBUNG_SOURCE_DIR) +
                                      "/tools/dev-cert.sh' '" + dir + "' " + name);
  const std::string marker = "pin sha256: ";
  const auto at = out.find(marker);
  if (at == std::string::npos) throw std::runtime_error("dev-cert.sh printed no pin: " + out);
  return TestCert{dir + "/server.crt", dir + "/server.key", out.substr(at + marker.size(), 64)};
}

// Executes SQL on a database file (the server must be stopped, or at least idle).
inline void sql_exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("SQL failed: " + msg + " in " + sql);
}

// One field laptop with its own store, syncing through make_http_transport(url, options).
class Laptop {
 public:
  Laptop(const std::string& url, const HttpTransportOptions& options, const std::string& id)
      : transport_(make_http_transport(url, options)) {
    OpenOptions o;
    o.path = dir_.path() + "/" + id + ".db";
    o.schema = enrolment_schema();
    o.device_id = id;
    store = Store::open(o);
    client = std::make_unique<SyncClient>(*store, *transport_, "");
  }
  SyncReport sync() {
    SyncOptions o;
    o.sleep = [](int) {};
    o.max_attempts = 2;
    return client->sync(o);
  }
  Transport& transport() { return *transport_; }

 private:
  TempDir dir_;
  std::unique_ptr<Transport> transport_;

 public:
  std::unique_ptr<Store> store;
  std::unique_ptr<SyncClient> client;
};

// A plain-HTTP (loopback) server for the auth, limits, audit and log tests, with its data
// directory in reach (for tampering) and its stderr in a file.
class SecServer {
 public:
  explicit SecServer(std::vector<std::string> args = {}) : args_(std::move(args)) { start(); }

  void start() {
    server_ = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, data_dir(),
                                              dir_.path() + "/admin-token", args_, stderr_path());
    http_ = std::make_unique<HttpTestClient>(server_->base_url());
    if (admin_.empty()) admin_ = read_text_file(dir_.path() + "/admin-token");
  }
  void stop() { server_->stop(); }
  void restart() {
    stop();
    start();
  }

  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string db_path() const { return data_dir() + "/lumbung-server.db"; }
  std::string stderr_path() const { return dir_.path() + "/server.err"; }
  HttpTestClient& http() { return *http_; }
  ServerProcess& server() { return *server_; }
  const std::string& admin() const { return admin_; }

  std::string code(const std::vector<std::string>& scope) {
    auto r =
        http_->post("/v1/admin/codes", nlohmann::json{{"scope", scope}, {"label", "sec"}}, admin_);
    if (r.status != 201) throw std::runtime_error("code creation failed: " + r.body);
    return r.json()["code"];
  }
  // (device id, token)
  std::string device(const std::string& id, const std::vector<std::string>& scope) {
    auto r = http_->post("/v1/devices/register",
                         nlohmann::json{{"code", code(scope)}, {"device_id", id}, {"label", id}});
    if (r.status != 201) throw std::runtime_error("register failed: " + r.body);
    return r.json()["token"];
  }
  // The created token's {"token","id",...}.
  nlohmann::json staff(const std::string& role) {
    auto r =
        http_->post("/v1/admin/tokens", nlohmann::json{{"role", role}, {"label", role}}, admin_);
    if (r.status != 201) throw std::runtime_error("token failed: " + r.body);
    return r.json();
  }

 private:
  TempDir dir_;
  std::vector<std::string> args_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpTestClient> http_;
  std::string admin_;
};

}  // namespace lumbung::test

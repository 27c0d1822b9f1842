// lb_sync_new_with_options (issue 15 item 12): an app reaches an office server with its
// own certificate (CA file or PEM text, and the key pin), a refused certificate or key is
// LB_ERR_TLS_REFUSED at once, and the timeout and retry limits bound how long a dead link
// holds the app. Linked to liblumbung.so only, against the real lumbung-server with a
// tools/dev-cert.sh certificate.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "lumbung/lumbung.h"
#include "support/http_test_client.h"
#include "support/server_process.h"

using lumbung::test::HttpTestClient;
using lumbung::test::ServerProcess;
using lumbung::test::TempDir;
using nlohmann::json;

// As tests/security/tls_test.cpp: cpprestsdk's worker threads keep OpenSSL's per-thread
// state of their TLS connections until exit, inside libcpprest (no Lumbung frame); full
// stacks at malloc so that the suppression sees those frames.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcpprest.so\n"; }
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }

namespace {

struct Text {
  char* p;
  explicit Text(char* s) : p(s) {}
  ~Text() { lb_free(p); }
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The office: codes made over plain HTTP on localhost, then the same data served over TLS
// with a tools/dev-cert.sh certificate (as an office sets its server up).
struct Office {
  TempDir dir;
  std::string cert = dir.path() + "/cert/server.crt";
  std::string pin;
  std::vector<std::string> codes;
  std::unique_ptr<ServerProcess> server;

  explicit Office(int n_codes) {
    const std::string cmd = "bash '" + std::string(LUMBUNG_SOURCE_DIR) + "/tools/dev-cert.sh' '" +
                            dir.path() + "/cert' 127.0.0.1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[512];
    std::string out;
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
    REQUIRE(::pclose(p) == 0);
    const auto at = out.find("pin sha256: ");
    REQUIRE(at != std::string::npos);
    pin = out.substr(at + 12, 64);
    const std::string data = dir.path() + "/data", token_file = dir.path() + "/admin-token";
    {
      ServerProcess plain(LUMBUNG_SERVER_BIN, data, token_file);
      HttpTestClient http(plain.base_url());
      const std::string admin = read_all(token_file).substr(0, read_all(token_file).find('\n'));
      for (int i = 0; i < n_codes; ++i) {
        auto r = http.post("/v1/admin/codes", json{{"scope", {"74.02"}}, {"label", "app"}}, admin);
        REQUIRE(r.status == 201);
        codes.push_back(r.json()["code"]);
      }
    }
    server = std::make_unique<ServerProcess>(
        LUMBUNG_SERVER_BIN, data, token_file,
        std::vector<std::string>{"--tls-cert", cert, "--tls-key", dir.path() + "/cert/server.key"});
  }
  std::string url() const { return server->base_url(); }
};

struct App {
  TempDir dir;
  lb_store* store = nullptr;
  explicit App(const char* device) {
    lb_error err;
    store =
        lb_store_open((dir.path() + "/app.db").c_str(), LUMBUNG_SCHEMA_FILE, device, nullptr, &err);
    REQUIRE_MESSAGE(store != nullptr, err.message);
  }
  ~App() { lb_store_close(store); }
};

lb_sync_options options() {
  lb_sync_options o{};
  o.struct_size = sizeof o;
  return o;
}

const char* kRecord =
    R"({"nik": "7402011911800001", "full_name": "Eko Setiawan", "birth_date": "1980-11-19",
        "gender": "L", "village_code": "74.02.11.1687", "position": "kasi pelayanan",
        "phone": "08952220666", "programs": ["JKK", "JKM"], "monthly_income": 1000000,
        "status": "submitted", "created_at": "2025-01-06T00:00:03.306Z",
        "officer_id": "OFC-0022"})";

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("an app reaches the office's own HTTPS server with its certificate and key pin") {
  Office office(3);
  App a("app-a"), b("app-b"), c("app-c");
  lb_error err;

  // Without trust settings the certificate is refused, at once and by its own code.
  lb_sync* plain = lb_sync_new(a.store, office.url().c_str(), nullptr, &err);
  REQUIRE(plain);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(Text(lb_sync_register(plain, office.codes[0].c_str(), "a", &err)).p == nullptr);
  CHECK(err.code == LB_ERR_TLS_REFUSED);
  CHECK(std::string(lb_error_name(err.code)) == "tls_refused");
  CHECK(std::string(err.message).rfind("TLS: certificate not trusted", 0) == 0);
  CHECK(seconds_since(t0) < 5);  // no backoff: waiting cannot fix a certificate
  lb_sync_free(plain);

  // The office's certificate file and its pin.
  lb_sync_options o = options();
  o.ca_file = office.cert.c_str();
  o.pin_sha256 = office.pin.c_str();
  lb_sync* sa = lb_sync_new_with_options(a.store, office.url().c_str(), nullptr, &o, &err);
  REQUIRE_MESSAGE(sa, err.message);
  REQUIRE_MESSAGE(Text(lb_sync_register(sa, office.codes[0].c_str(), "a", &err)).p, err.message);
  CHECK(Text(lb_store_put(a.store, "enrolment", kRecord, &err)).p != nullptr);
  char* report = nullptr;
  REQUIRE_MESSAGE(lb_sync_run(sa, nullptr, nullptr, &report, &err) == LB_OK, err.message);
  CHECK(json::parse(Text(report).p)["pushed"] == 1);
  lb_sync_free(sa);

  // The certificate as PEM text (an app asset), with the pin in colon form.
  const std::string pem = read_all(office.cert);
  std::string colons;
  for (size_t i = 0; i < office.pin.size(); i += 2)
    colons += (i ? ":" : "") + office.pin.substr(i, 2);
  lb_sync_options p = options();
  p.ca_pem = pem.c_str();
  p.pin_sha256 = colons.c_str();
  lb_sync* sb = lb_sync_new_with_options(b.store, office.url().c_str(), nullptr, &p, &err);
  REQUIRE_MESSAGE(sb, err.message);
  REQUIRE_MESSAGE(Text(lb_sync_register(sb, office.codes[1].c_str(), "b", &err)).p, err.message);
  report = nullptr;
  REQUIRE_MESSAGE(lb_sync_run(sb, nullptr, nullptr, &report, &err) == LB_OK, err.message);
  CHECK(json::parse(Text(report).p)["pulled"] == 1);
  lb_sync_free(sb);

  // The trusted certificate with another key's pin: a man in the middle, refused at once.
  const std::string other_pin(64, 'c');
  lb_sync_options w = options();
  w.ca_file = office.cert.c_str();
  w.pin_sha256 = other_pin.c_str();
  lb_sync* sc = lb_sync_new_with_options(c.store, office.url().c_str(), nullptr, &w, &err);
  REQUIRE(sc);
  CHECK(Text(lb_sync_register(sc, office.codes[2].c_str(), "c", &err)).p == nullptr);
  CHECK(err.code == LB_ERR_TLS_REFUSED);
  CHECK(std::string(err.message).rfind("TLS: pin mismatch", 0) == 0);
  lb_sync_free(sc);
}

TEST_CASE("lb_sync_new_with_options refuses bad options with LB_ERR_INVALID_ARGUMENT") {
  App a("app-a");
  lb_error err;
  const std::string https = "https://127.0.0.1:1", http = "http://127.0.0.1:1";
  auto refused = [&](const std::string& url, const lb_sync_options& o, const char* says) {
    lb_sync* s = lb_sync_new_with_options(a.store, url.c_str(), nullptr, &o, &err);
    lb_sync_free(s);
    CHECK(s == nullptr);
    CHECK(err.code == LB_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE(std::string(err.message).find(says) != std::string::npos, err.message);
  };
  lb_sync_options o{};
  refused(https, o, "struct_size");
  o = options();
  o.pin_sha256 = "abc";
  refused(https, o, "64 hex");
  o.pin_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  refused(http, o, "https");
  o = options();
  o.ca_pem = "hello";
  refused(https, o, "no PEM certificate");
  o.ca_file = "/nonexistent/ca.pem";
  refused(https, o, "not both");
  o = options();
  o.ca_file = "/nonexistent/ca.pem";
  refused(https, o, "/nonexistent/ca.pem");
  o = options();
  o.timeout_ms = -1;
  refused(https, o, "negative");
  // NULL options = lb_sync_new.
  lb_sync* s = lb_sync_new_with_options(a.store, http.c_str(), nullptr, nullptr, &err);
  CHECK(s != nullptr);
  lb_sync_free(s);
}

TEST_CASE("the timeout and retry limits bound how long a silent server holds the app") {
  // A listening socket that never answers: connections open, no byte ever comes back.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  App a("app-a");
  lb_error err;
  lb_sync_options o = options();
  o.timeout_ms = 300;
  o.max_attempts = 2;
  o.initial_backoff_ms = 50;
  o.max_backoff_ms = 50;
  lb_sync* s = lb_sync_new_with_options(a.store, url.c_str(), "some-token", &o, &err);
  REQUIRE(s);
  CHECK(Text(lb_store_put(a.store, "enrolment", kRecord, &err)).p != nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(lb_sync_run(s, nullptr, nullptr, nullptr, &err) == LB_ERR_TRANSPORT);
  const double took = seconds_since(t0);
  CHECK_MESSAGE(std::string(err.message).find("2 attempts") != std::string::npos, err.message);
  // Two attempts of 0.3 s and one 50 ms wait, not the default 8 attempts of 60 s.
  CHECK(took >= 0.5);
  CHECK(took < 10);
  lb_sync_free(s);
  ::close(fd);
}

// Crashes with real processes (docs/RELIABILITY.md "Real processes"):
// - the server killed with SIGKILL in the middle of a large push (right after it
//   acknowledged the first batch), restarted on the same data: the push completes and
//   nothing is lost or doubled;
// - a device process killed with SIGKILL in the middle of a pull (tests/sim/pull_child.cpp),
//   its store reopened: the pull resumes and nothing is lost or doubled.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>

#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "relay.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"

using namespace lumbung;
using test::HttpTestClient;
using test::ServerProcess;

namespace {

// Passes requests through and calls `after` with every answer (to kill the server there).
class HookTransport final : public Transport {
 public:
  HookTransport(Transport& inner,
                std::function<void(const HttpRequest&, const HttpResponse&)> after)
      : inner_(inner), after_(std::move(after)) {}
  HttpResponse send(const HttpRequest& request) override {
    HttpResponse r = inner_.send(request);
    after_(request, r);
    return r;
  }

 private:
  Transport& inner_;
  std::function<void(const HttpRequest&, const HttpResponse&)> after_;
};

std::unique_ptr<Store> open_store(const std::string& path, const std::string& id) {
  OpenOptions o;
  o.path = path;
  o.schema = test::enrolment_schema();
  o.device_id = id;
  return Store::open(o);
}

std::string make_code(HttpTestClient& http, const std::string& admin) {
  auto r = http.post("/v1/admin/codes", Json{{"scope", {"72"}}, {"label", "crash"}}, admin);
  REQUIRE(r.status == 201);
  return r.json()["code"];
}

uint64_t acked_seq(HttpTestClient& http, const std::string& admin, const std::string& device) {
  const Json devices = http.get("/v1/admin/devices", admin).json();
  for (auto& d : devices["devices"]) {
    if (d["device_id"] == device) return d["acked_seq"].get<uint64_t>();
  }
  return 0;
}

std::map<std::string, Json> server_records(HttpTestClient& http, const std::string& admin) {
  std::map<std::string, Json> out;
  auto page = http.get("/v1/records?collection=enrolment&limit=10000", admin);
  REQUIRE(page.status == 200);
  const Json j = page.json();
  for (auto& r : j["records"]) {
    out[r["id"].get<std::string>()] = r["fields"];
  }
  return out;
}

std::map<std::string, Json> store_records(Store& s) {
  Query q;
  q.collection = "enrolment";
  q.limit = 10000;
  std::map<std::string, Json> out;
  for (auto& r : s.query(q).records) out[r.id] = r.fields;
  return out;
}

void create_records(Store& s, int n) {
  auto batch = s.begin_batch();
  for (int i = 1; i <= n; ++i) batch.create("enrolment", test::sample_enrolment(i));
  batch.commit();
}

SyncOptions quick(size_t push_batch = kPushBatchOps) {
  SyncOptions o;
  o.sleep = [](int) {};
  o.max_attempts = 3;
  o.push_batch = push_batch;
  o.first_batch_bytes = 1 << 20;  // batches of push_batch ops from the first (not link-sized)
  // Batches, so that a kill lands between two acknowledged requests (a streamed push is one
  // request; its cuts are the simulation's: tests/sim/faulty_link.h).
  o.push_stream = false;
  return o;
}

// The tests send bursts on purpose; the rate limits are tested elsewhere.
const std::vector<std::string> kNoRateLimits = {"--rate-limit-device", "0/1",
                                                "--rate-limit-address", "0/1"};

// A server on a data directory of its own, which a test kills and starts again on the same
// files (a new port each time).
struct RestartableServer {
  test::TempDir dir;
  std::unique_ptr<ServerProcess> process;
  std::unique_ptr<HttpTestClient> http;
  std::string admin;

  RestartableServer() {
    start();
    admin = test::read_text_file(dir.path() + "/admin-token");
  }
  void start() {
    process = std::make_unique<ServerProcess>(LUMBUNG_SERVER_BIN, dir.path() + "/data",
                                              dir.path() + "/admin-token", kNoRateLimits);
    http = std::make_unique<HttpTestClient>(process->base_url());
  }
  void restart() {
    process->stop();
    start();
  }
};

}  // namespace

TEST_CASE("server killed with SIGKILL mid-push: restarted on its files - the push completes") {
  RestartableServer server;

  constexpr int kRecords = 3000;
  auto store = open_store(server.dir.file("laptop.db"), "laptop-kill");
  create_records(*store, kRecords);

  bool killed = false;
  uint64_t acked_before_kill = 0;
  std::string token;
  {
    auto link = make_http_transport(server.process->base_url());
    HookTransport hook(*link, [&](const HttpRequest& req, const HttpResponse& resp) {
      if (!killed && req.target.rfind("/v1/push", 0) == 0 && resp.status == 200) {
        auto enc = resp.headers.find("content-encoding");
        const bool gz = enc != resp.headers.end() && enc->second == "gzip";
        acked_before_kill =
            Json::parse(gz ? test::gunzip_bytes(resp.body) : resp.body, nullptr, false)
                .value("acked_seq", uint64_t{0});
        ::kill(server.process->pid(), SIGKILL);  // dies with the next batches unsent
        killed = true;
      }
    });
    SyncClient client(*store, hook, "");
    token = client.register_device(make_code(*server.http, server.admin), "laptop");
    client.set_token(token);
    CHECK_THROWS_AS(client.sync(quick(250)), Error);  // the server is gone
  }
  REQUIRE(killed);
  CHECK(acked_before_kill == 250);
  const uint64_t pending = store->pending_count();
  CHECK(pending == kRecords - 250);

  // Restarted on the same files (a new port), the same laptop finishes its push.
  server.restart();
  CHECK(acked_seq(*server.http, server.admin, "laptop-kill") == 250);
  auto link = make_http_transport(server.process->base_url());
  SyncClient client(*store, *link, token);
  const SyncReport r = client.sync(quick(250));
  CHECK(r.pushed == kRecords - 250);
  CHECK(store->pending_count() == 0);
  CHECK(acked_seq(*server.http, server.admin, "laptop-kill") == kRecords);
  const auto on_server = server_records(*server.http, server.admin);
  CHECK(on_server.size() == kRecords);
  CHECK(on_server == store_records(*store));
}

namespace {

// A device pulling 20 ops a page (or a streamed frame) is SIGKILLed after its fifth committed
// page; reopened, its pull resumes from the last committed cursor.
void kill_mid_pull_and_resume(const char* mode) {
  test::TempDir sdir;
  ServerProcess server(LUMBUNG_SERVER_BIN, sdir.path() + "/data", sdir.path() + "/admin-token",
                       kNoRateLimits);
  const std::string admin = test::read_text_file(sdir.path() + "/admin-token");
  HttpTestClient http(server.base_url());
  constexpr int kRecords = 1000;
  {  // laptop A writes everything
    test::TempDir adir;
    auto a = open_store(adir.file("a.db"), "laptop-a");
    create_records(*a, kRecords);
    auto link = make_http_transport(server.base_url());
    SyncClient client(*a, *link, "");
    client.set_token(client.register_device(make_code(http, admin), "a"));
    client.sync(quick());
    REQUIRE(a->pending_count() == 0);
  }
  test::TempDir dir;
  const std::string path = dir.file("b.db");
  std::string token;
  {
    auto b = open_store(path, "laptop-b");
    auto link = make_http_transport(server.base_url());
    SyncClient client(*b, *link, "");
    token = client.register_device(make_code(http, admin), "b");
  }

  // The child pulls 20 ops a page; it is killed after its fifth committed page.
  int out[2];
  REQUIRE(::pipe(out) == 0);
  const std::string schema = std::string(LUMBUNG_SOURCE_DIR) + "/schema/enrolment.schema.json";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    const std::string url = server.base_url();
    ::execl(LUMBUNG_PULL_CHILD, LUMBUNG_PULL_CHILD, url.c_str(), path.c_str(), "laptop-b",
            token.c_str(), schema.c_str(), mode, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* lines = ::fdopen(out[0], "r");
  REQUIRE(lines);
  char buf[64];
  int pages = 0;
  unsigned long long committed = 0;  // ops the child had committed when it said its last page
  while (pages < 5 && std::fgets(buf, sizeof buf, lines)) {
    int n = 0;
    unsigned long long ops = 0;
    if (std::sscanf(buf, "page %d %llu", &n, &ops) == 2) {
      ++pages;
      committed = ops;
    }
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::fclose(lines);
  REQUIRE(pages == 5);
  CHECK(WIFSIGNALED(status));

  auto b = open_store(path, "laptop-b");
  const size_t before = store_records(*b).size();
  CHECK(committed >= 5 * 20);
  CHECK(before >= committed);
  CHECK(before < kRecords);  // the kill landed mid-pull
  auto link = make_http_transport(server.base_url());
  SyncClient client(*b, *link, token);
  const SyncReport r = client.sync(quick());
  // Resumed from the cursor of the last committed page: at most one page pulled again.
  CHECK(r.pulled <= kRecords - before + 20);
  const auto mine = store_records(*b);
  CHECK(mine.size() == kRecords);
  CHECK(mine == server_records(http, admin));
  CHECK(b->stats().records == kRecords);
  CHECK(b->pending_count() == 0);  // pulling wrote nothing of its own
}

}  // namespace

TEST_CASE(
    "device process killed with SIGKILL mid-pull: reopened - the pull resumes - nothing lost or "
    "doubled") {
  kill_mid_pull_and_resume("pages");
}

TEST_CASE(
    "device process killed with SIGKILL mid-streamed-pull: reopened - the pull resumes from the "
    "last applied frame - nothing lost or doubled") {
  kill_mid_pull_and_resume("stream");
}

TEST_CASE(
    "server killed with SIGKILL mid-streamed-push: what it had applied survives - the laptop "
    "sends again - nothing lost or doubled") {
  RestartableServer server;
  constexpr uint64_t kRecords = 1000;
  auto store = open_store(server.dir.file("laptop.db"), "laptop-stream");
  create_records(*store, static_cast<int>(kRecords));

  // A 128 kbit/s link: the stream (~55 KB) takes seconds, and the server applies each frame
  // as it arrives; it is killed once it has applied some frames and not all.
  bench::Relay slow(server.process->port(), bench::LinkProfile{128000, 20, 0});
  std::string token;
  {
    auto direct = make_http_transport(server.process->base_url());
    SyncClient registrar(*store, *direct, "");
    token = registrar.register_device(make_code(*server.http, server.admin), "laptop");
  }
  SyncOptions o;
  o.sleep = [](int) {};
  o.max_attempts = 3;
  o.push_stream = true;
  uint64_t acked_at_kill = 0;
  std::thread killer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      const uint64_t acked = acked_seq(*server.http, server.admin, "laptop-stream");
      if (acked > 0) {
        ::kill(server.process->pid(), SIGKILL);
        acked_at_kill = acked;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  {
    auto link = make_http_transport(slow.url());
    SyncClient client(*store, *link, token);
    CHECK_THROWS_AS(client.sync(o), Error);  // the server is gone mid-stream
  }
  killer.join();
  MESSAGE("killed with acked_seq " << acked_at_kill << " of " << kRecords);
  REQUIRE(acked_at_kill > 0);
  CHECK(acked_at_kill < kRecords);  // the kill landed mid-stream

  // Restarted on the same files: every frame it had applied is there, and the laptop,
  // which heard no answer, sends again; the server takes each op once.
  server.restart();
  CHECK(acked_seq(*server.http, server.admin, "laptop-stream") >= acked_at_kill);
  auto link = make_http_transport(server.process->base_url());
  SyncClient client(*store, *link, token);
  client.sync(o);
  CHECK(store->pending_count() == 0);
  CHECK(acked_seq(*server.http, server.admin, "laptop-stream") == kRecords);
  const auto on_server = server_records(*server.http, server.admin);
  CHECK(on_server.size() == kRecords);
  CHECK(on_server == store_records(*store));
}

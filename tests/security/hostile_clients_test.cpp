// Hostile clients against the real lumbung-server (issue 12 item 1, and from item 8 the
// trickling client): memory stays bounded before trust. Duplicate JSON member names and
// HTTP framing are in hostile_framing_test.cpp, the attack client in hostile_support.h.
//
// Eight parallel clients of each kind - chunked huge bodies to register and to push (with a
// stolen device token), a lying Content-Length of 1 GiB, pushes without a token, a 64 MiB
// header line, a million header lines, "[{},{},...]" bodies inside the byte limit, clients
// trickling a head or a body at just over 512 bytes a second - run at once while a
// legitimate laptop pushes and another pulls. The server's VmHWM (/proc/<pid>/status) must
// stay <= 256 MB (768 MB under AddressSanitizer), each hostile client must get its refusal
// before it has sent more than a few MiB (or be cut, for the tricklers), and the laptops'
// sync must complete.
//
// Bounded: loopback only, every client has a byte budget and a deadline, a watchdog kills
// the server by pid if it passes 1.5 GiB (so a regression fails fast instead of eating the
// machine), the whole test takes ~10-15 s.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "security/hostile_support.h"
#include "security/security_support.h"

using namespace lumbung;
using namespace lumbung::test;
using nlohmann::json;
using namespace lumbung::test::hostile;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

namespace {

// The issue's target, 256 MB. Under AddressSanitizer the server's RSS also holds shadow
// memory (1/8 of what it maps), redzones and up to 256 MB of freed blocks in quarantine
// (measured there: 90 MB at start, VmHWM 262 MB under this test), so the bound there is
// 768 MB: still far below where the old listener went (> 1.5 GiB within seconds).
constexpr uint64_t kRssBoundBytes = (kAsan ? 768 : 256) * 1000 * 1000;
constexpr uint64_t kWatchdogKillBytes = 1536 * MiB;

struct Mem {
  uint64_t hwm = 0;  // VmHWM, bytes
  uint64_t rss = 0;  // VmRSS, bytes
};

Mem read_mem(pid_t pid) {
  Mem m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &kb) == 1) m.hwm = kb * 1024;
    if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kb) == 1) m.rss = kb * 1024;
  }
  return m;
}

// Samples the server's RSS every 20 ms; kills it if it passes kWatchdogKillBytes.
class Watchdog {
 public:
  explicit Watchdog(pid_t pid) : pid_(pid), thread_([this] { run(); }) {}
  ~Watchdog() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t max_rss() const { return max_rss_; }
  bool killed() const { return killed_; }

 private:
  void run() {
    for (int i = 0; i < 5000 && !stop_; ++i) {  // at most 100 s
      const Mem m = read_mem(pid_);
      if (m.rss > max_rss_) max_rss_ = m.rss;
      if (m.rss > kWatchdogKillBytes && !killed_) {
        ::kill(pid_, SIGKILL);
        killed_ = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> max_rss_{0};
  std::atomic<bool> killed_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("memory stays bounded under eight parallel hostile clients of every kind") {
  // No rate limits: every client comes from 127.0.0.1 and the test is about memory, not
  // request budgets. Deadlines of 1 s instead of 30 s so the tricklers are cut in time.
  SecServer s(
      {"--rate-limit-device", "0", "--rate-limit-address", "0", "--slow-client-ms", "1000"});
  const pid_t pid = s.server().pid();
  const uint16_t port = s.server().port();
  const std::string stolen = s.device("stolen", {"7402"});
  const Mem before = read_mem(pid);

  const std::string huge_line_head = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ";
  std::vector<std::pair<Attack, std::function<void(const Outcome&)>>> kinds;
  auto refused_at_once = [](int status, uint64_t max_sent) {
    return [status, max_sent](const Outcome& o) {
      CHECK(o.status == status);
      CHECK(o.sent_at_answer <= max_sent);
    };
  };
  // Refused at the byte limit or, when the body budget is full, before the body (429).
  auto refused_at_limit = [](uint64_t max_sent) {
    return [max_sent](const Outcome& o) {
      CHECK((o.status == 413 || o.status == 429));
      CHECK(o.sent_at_answer <= max_sent);
    };
  };
  // 1. chunked huge bodies (256 MiB) to the public register call, in large and small chunks
  kinds.push_back({{"chunked 256 MiB to register (64 KiB chunks)",
                    post_head("/v1/devices/register", "Transfer-Encoding: chunked"),
                    chunked_body(64 * KiB, 256 * MiB), 260 * MiB},
                   refused_at_limit(8 * MiB)});
  kinds.push_back({{"chunked 256 MiB to register (1000-byte chunks)",
                    post_head("/v1/devices/register", "Transfer-Encoding: chunked"),
                    chunked_body(1000, 256 * MiB), 260 * MiB},
                   refused_at_limit(8 * MiB)});
  // 2. chunked huge bodies to push with a (stolen) device token: stopped at 8 MiB
  kinds.push_back({{"chunked 256 MiB to push with a token",
                    post_head("/v1/push", "Transfer-Encoding: chunked", stolen),
                    chunked_body(64 * KiB, 256 * MiB), 260 * MiB},
                   refused_at_limit(24 * MiB)});
  // 3. Content-Length: 1 GiB, 64 MiB actually sent
  kinds.push_back({{"Content-Length 1 GiB to push with a token",
                    post_head("/v1/push", "Content-Length: 1073741824", stolen),
                    repeat_bytes('x', 64 * MiB), 64 * MiB},
                   refused_at_once(413, 8 * MiB)});
  kinds.push_back({{"Content-Length 1 GiB to register",
                    post_head("/v1/devices/register", "Content-Length: 1073741824"),
                    repeat_bytes('x', 64 * MiB), 64 * MiB},
                   refused_at_once(413, 8 * MiB)});
  // 4. pushes without a token: 96 MiB announced, and chunked
  kinds.push_back(
      {{"push without a token (Content-Length 96 MiB)",
        post_head("/v1/push", "Content-Length: 100663296"), repeat_bytes('x', 96 * MiB), 96 * MiB},
       refused_at_once(401, 8 * MiB)});
  kinds.push_back(
      {{"push without a token (Content-Length 4 MiB - inside the limit)",
        post_head("/v1/push", "Content-Length: 4194304"), repeat_bytes('x', 4 * MiB), 4 * MiB},
       refused_at_once(401, 4 * MiB)});
  kinds.push_back({{"push without a token (chunked 96 MiB)",
                    post_head("/v1/push", "Transfer-Encoding: chunked"),
                    chunked_body(64 * KiB, 96 * MiB), 100 * MiB},
                   refused_at_once(401, 8 * MiB)});
  // 5. a 64 MiB header line, and 6. a million header lines
  kinds.push_back({{"a 64 MiB header line", huge_line_head, repeat_bytes('a', 64 * MiB), 65 * MiB},
                   refused_at_once(431, 8 * MiB)});
  kinds.push_back({{"a million header lines", "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                    header_lines(1'000'000), 40 * MiB},
                   refused_at_once(431, 8 * MiB)});
  // 7. "[{},{},...]" inside the byte limit: 8 MiB to push with a token, 16 KiB to register
  {
    const std::string body = empty_objects(kMaxBodyBytes - 1);
    kinds.push_back(
        {{"[{},{},...] of 8 MiB to push with a token",
          post_head("/v1/push", "Content-Length: " + std::to_string(body.size()), stolen),
          from_string(body), body.size() + 4096},
         [](const Outcome& o) {
           // Never parsed: too many values (413), or the body budget was full (429).
           CHECK((o.status == 413 || o.status == 429));
         }});
    const std::string small = empty_objects(kMaxPublicBodyBytes - 1);
    kinds.push_back(
        {{"[{},{},...] of 16 KiB to register",
          post_head("/v1/devices/register", "Content-Length: " + std::to_string(small.size())),
          from_string(small), small.size() + 4096},
         [](const Outcome& o) {
           CHECK(o.status >= 400);
           CHECK(o.status < 500);
         }});
  }
  // 8. trickling just over 512 bytes a second (what the old reaper let through forever):
  //    a head that never ends, and a body at 600 B/s (under the 1 KiB/s floor)
  kinds.push_back(
      {{"trickling a head at 600 B/s", "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        repeat_bytes('s', 1 * MiB), 1 * MiB, 100, 60},
       [](const Outcome& o) {
         CHECK(o.closed);
         // The head deadline is 1 s here; the margin is for a loaded
         // machine under ASan (the head would never end otherwise).
         CHECK(o.seconds < 8.0);
       }});
  kinds.push_back(
      {{"trickling a body at 600 B/s", post_head("/v1/devices/register", "Content-Length: 16000"),
        repeat_bytes(' ', 16000), 17000, 100, 60},
       [](const Outcome& o) {
         // Cut, or refused before its body when the body budget is full.
         CHECK((o.closed || o.status == 429));
         // Cut at ~2.7 s on a quiet machine, 5.9 s under ASan with -j2 in CI;
         // finishing at the 1 KiB/s floor would take ~16.6 s, at 600 B/s 27 s.
         CHECK(o.seconds < 12.0);
       }});

  constexpr int kParallel = 8;
  std::vector<Outcome> outcomes(kinds.size() * kParallel);
  std::vector<std::thread> threads;
  Watchdog watchdog(pid);

  // The legitimate laptops, meanwhile: one creates and pushes, the other pulls.
  uint64_t pushed = 0;
  uint64_t pulled = 0;
  std::string legit_error;
  constexpr int kRecords = 300;
  {
    Laptop a(s.server().base_url(), HttpTransportOptions{}, "legit-a");
    Laptop b(s.server().base_url(), HttpTransportOptions{}, "legit-b");
    a.client->register_device(s.code({"7242"}), "A");
    b.client->register_device(s.code({"7242"}), "B");
    for (int i = 0; i < kRecords; ++i) a.store->create("enrolment", sample_enrolment(1000 + i));

    const auto deadline = Clock::now() + std::chrono::seconds(12);
    for (size_t k = 0; k < kinds.size(); ++k) {
      for (int i = 0; i < kParallel; ++i) {
        threads.emplace_back([&, k, i, deadline] {
          outcomes[k * kParallel + static_cast<size_t>(i)] =
              run_attack(port, kinds[k].first, deadline);
        });
      }
    }
    std::thread legit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // into the attack
      SyncOptions o;
      o.max_attempts = 20;
      o.initial_backoff_ms = 200;
      o.max_backoff_ms = 1000;
      try {
        pushed = a.client->sync(o).pushed;
        pulled = b.client->sync(o).pulled;
      } catch (const std::exception& e) {
        legit_error = e.what();
      }
    });
    legit.join();
    for (auto& t : threads) t.join();
  }
  watchdog.stop();
  const bool alive = ::kill(pid, 0) == 0 && !watchdog.killed();
  const Mem after = alive ? read_mem(pid) : Mem{};

  std::fprintf(stderr,
               "hostile clients: server RSS before %.1f MB, highest sampled %.1f MB, VmHWM %.1f "
               "MB, after %.1f MB%s\n",
               before.rss / 1e6, watchdog.max_rss() / 1e6, after.hwm / 1e6, after.rss / 1e6,
               alive ? "" : " (server killed by the watchdog)");
  for (size_t k = 0; k < kinds.size(); ++k) {
    for (int i = 0; i < kParallel; ++i) {
      const Outcome& o = outcomes[k * kParallel + static_cast<size_t>(i)];
      if (i == 0) {
        std::fprintf(stderr, "  %-58s status %d after %.1f MiB sent, %.2f s%s\n",
                     kinds[k].first.name.c_str(), o.status, o.sent_at_answer / double(MiB),
                     o.seconds, o.closed ? ", closed" : "");
      }
      INFO(kinds[k].first.name << " #" << i << ": status " << o.status << ", sent " << o.sent
                               << " (" << o.sent_at_answer << " at the answer), " << o.seconds
                               << " s" << (o.closed ? ", closed" : ""));
      kinds[k].second(o);
    }
  }

  REQUIRE_MESSAGE(alive, "the server passed " << kWatchdogKillBytes / MiB << " MiB and was killed");
  CHECK(after.hwm <= kRssBoundBytes);
  INFO("legit sync error: " << legit_error);
  CHECK(legit_error.empty());
  CHECK(pushed == kRecords);
  CHECK(pulled == kRecords);
  CHECK(s.http().get("/v1/health").status == 200);
}

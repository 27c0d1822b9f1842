// Hostile clients against the real lumbung-server (issue 12 item 1, and from item 8 the
// trickling client and duplicate JSON member names): memory stays bounded before trust.
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

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "security/security_support.h"

using namespace lumbung;
using namespace lumbung::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

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

// Fills `buf` with the next bytes of a body; returns how many (0: the body is complete).
using BodyGen = std::function<size_t(char* buf, size_t cap)>;

struct Attack {
  std::string name;
  std::string head;               // request line + headers + blank line
  std::function<BodyGen()> body;  // makes each client's own body generator; may be empty
  uint64_t max_bytes = 0;         // the client's own budget, head included
  int pace_ms = 0;                // > 0: send pace_bytes every pace_ms (a trickler)
  size_t pace_bytes = 0;
};

struct Outcome {
  int status = 0;               // of the answer, 0 if none
  uint64_t sent = 0;            // bytes sent in all
  uint64_t sent_at_answer = 0;  // bytes sent when the answer's status line arrived
  bool closed = false;          // the server closed (or reset) the connection
  double seconds = 0;           // until the answer or the close
};

int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Sends the attack's bytes as fast as the server takes them (or paced), watching for an
// answer between writes; stops at the answer, a close, the byte budget or the deadline.
Outcome run_attack(uint16_t port, const Attack& a, Clock::time_point deadline) {
  Outcome o;
  const auto t0 = Clock::now();
  const int fd = connect_loopback(port);
  if (fd < 0) {
    o.closed = true;
    return o;
  }
  std::string pending = a.head;
  size_t off = 0;
  BodyGen body = a.body ? a.body() : BodyGen();
  bool body_done = !body;
  std::vector<char> chunk(64 * KiB);
  std::string answer;
  auto next_pace = Clock::now();
  size_t pace_left = a.pace_bytes;
  for (int rounds = 0; rounds < 10'000'000 && Clock::now() < deadline; ++rounds) {
    // Refill what is to be sent next.
    if (off == pending.size() && !body_done && o.sent < a.max_bytes) {
      pending.clear();
      off = 0;
      const size_t n = body(chunk.data(), chunk.size());
      if (n == 0) {
        body_done = true;
      } else {
        pending.assign(chunk.data(), n);
      }
    }
    const bool want_write = off < pending.size() && o.sent < a.max_bytes;
    bool paced_out = false;
    if (want_write && a.pace_ms > 0) {
      if (Clock::now() >= next_pace) {
        next_pace = Clock::now() + std::chrono::milliseconds(a.pace_ms);
        pace_left = a.pace_bytes;
      }
      paced_out = pace_left == 0;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (want_write && !paced_out ? POLLOUT : 0)), 0};
    const int left_ms = static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
    ::poll(&p, 1, std::min(left_ms, 20));
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        answer.append(buf, static_cast<size_t>(n));
        if (answer.size() >= 12 && answer.compare(0, 5, "HTTP/") == 0) {
          o.status = std::atoi(answer.c_str() + 9);
          o.sent_at_answer = o.sent;
          break;
        }
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        o.closed = true;
        break;
      }
    }
    if ((p.revents & POLLOUT) && want_write && !paced_out) {
      size_t len = pending.size() - off;
      len = static_cast<size_t>(std::min<uint64_t>(len, a.max_bytes - o.sent));
      if (a.pace_ms > 0) len = std::min(len, pace_left);
      const ssize_t n = ::send(fd, pending.data() + off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        off += static_cast<size_t>(n);
        o.sent += static_cast<uint64_t>(n);
        if (a.pace_ms > 0) pace_left -= static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // Reset by the server: an answer may still be readable.
        char buf[4096];
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r >= 12 && std::strncmp(buf, "HTTP/", 5) == 0) {
          o.status = std::atoi(buf + 9);
          o.sent_at_answer = o.sent;
        }
        o.closed = true;
        break;
      }
    }
  }
  o.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  return o;
}

// "a" repeated: for header lines and padding.
std::function<BodyGen()> repeat_bytes(char c, uint64_t total) {
  return [c, total] {
    auto left = std::make_shared<uint64_t>(total);
    return BodyGen([c, left](char* buf, size_t cap) -> size_t {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(*left, cap));
      std::memset(buf, c, n);
      *left -= n;
      return n;
    });
  };
}

// A chunked body of `chunk`-byte chunks, `total` data bytes, then the last chunk.
std::function<BodyGen()> chunked_body(size_t chunk, uint64_t total) {
  return [chunk, total] {
    auto left = std::make_shared<uint64_t>(total);
    auto ended = std::make_shared<bool>(false);
    return BodyGen([chunk, left, ended](char* buf, size_t cap) -> size_t {
      if (*ended) return 0;
      if (*left == 0) {
        *ended = true;
        std::memcpy(buf, "0\r\n\r\n", 5);
        return 5;
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>({*left, chunk, cap - 32}));
      const int h = std::snprintf(buf, 32, "%zx\r\n", n);
      std::memset(buf + h, '[', n);
      std::memcpy(buf + h + n, "\r\n", 2);
      *left -= n;
      return static_cast<size_t>(h) + n + 2;
    });
  };
}

// "X-Nnnnnnn: v" lines forever (the head never ends).
std::function<BodyGen()> header_lines(uint64_t count) {
  return [count] {
    auto i = std::make_shared<uint64_t>(0);
    return BodyGen([i, count](char* buf, size_t cap) -> size_t {
      size_t n = 0;
      while (*i < count && n + 32 < cap) {
        n += static_cast<size_t>(
            std::snprintf(buf + n, 32, "X-N%07llu: v\r\n", static_cast<unsigned long long>(*i)));
        ++*i;
      }
      return n;
    });
  };
}

// "[{},{},...,{}]" of exactly `total` bytes (total odd, >= 3).
std::string empty_objects(size_t total) {
  std::string s = "[{}";
  s.reserve(total);
  while (s.size() + 3 + 1 <= total) s += ",{}";
  while (s.size() + 1 < total) s += ' ';
  s += ']';
  return s;
}

std::function<BodyGen()> from_string(std::string text) {
  auto s = std::make_shared<const std::string>(std::move(text));  // shared, read only
  return [s] {
    auto off = std::make_shared<size_t>(0);
    return BodyGen([s, off](char* buf, size_t cap) -> size_t {
      const size_t n = std::min(cap, s->size() - *off);
      std::memcpy(buf, s->data() + *off, n);
      *off += n;
      return n;
    });
  };
}

std::string post_head(const std::string& path, const std::string& framing,
                      const std::string& token = {}) {
  std::string h =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (!token.empty()) h += "Authorization: Bearer " + token + "\r\n";
  return h + framing + "\r\n\r\n";
}

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

TEST_CASE("an object that repeats a member name is refused as malformed JSON") {
  SecServer s;
  const std::string token = s.device("dup", {"7402"});
  RequestOptions o;
  o.token = token;
  // Two "device" members: a reader keeping the first and one keeping the last would disagree.
  auto r = s.http().request("POST", "/v1/push",
                            R"({"device":"dup","ops":[],"device":"someone-else"})", o);
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.json()["code"] == "malformed_json");
  // Nested too, and in the public call.
  r = s.http().request("POST", "/v1/push", R"({"device":"dup","ops":[{"seq":1,"seq":2}]})", o);
  CHECK(r.status == 400);
  r = s.http().request("POST", "/v1/devices/register", R"({"code":"a","code":"b"})",
                       RequestOptions{});
  CHECK(r.status == 400);
  CHECK(r.json()["code"] == "malformed_json");
  // The same member names in sibling objects are fine.
  r = s.http().request("POST", "/v1/push", R"({"device":"dup","ops":[],"report":{"device":1}})", o);
  CHECK(r.status == 200);
}

namespace {

// Sends `bytes` on a fresh connection and reads until the server closes or `ms` pass.
std::string talk(uint16_t port, const std::string& bytes, int ms = 3000) {
  const int fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  size_t off = 0;
  std::string got;
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  for (int i = 0; i < 100000 && Clock::now() < deadline; ++i) {
    pollfd p{fd, static_cast<short>(POLLIN | (off < bytes.size() ? POLLOUT : 0)), 0};
    ::poll(&p, 1, 20);
    if (p.revents & POLLOUT) {
      const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n > 0) off += static_cast<size_t>(n);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return got;
}

int count_of(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the listener speaks HTTP/1.1 - keep-alive - pipelining - 100-continue - HEAD - 1.0") {
  SecServer s;
  const uint16_t port = s.server().port();
  const std::string get = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

  SUBCASE("pipelined requests on one connection are answered in order, then closed on ask") {
    const std::string got =
        talk(port, get + get + "GET /v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(count_of(got, "HTTP/1.1 200 OK\r\n") == 2);
    CHECK(got.find("HTTP/1.1 404 Not Found\r\n") != std::string::npos);
    CHECK(got.rfind("Connection: close") != std::string::npos);
  }
  SUBCASE("Expect: 100-continue gets 100 before the body, and a refusal instead of it") {
    const std::string body = R"({"code":"nope","device_id":"x","label":"y"})";
    std::string got = talk(port,
                           "POST /v1/devices/register HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                           "Connection: close\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(got.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 ", 0) == 0);
    got = talk(port,
               "POST /v1/push HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 1000\r\n\r\n");
    CHECK(got.rfind("HTTP/1.1 401 ", 0) == 0);
  }
  SUBCASE("HEAD has the length but no body - HTTP/1.0 is answered and closed") {
    std::string got =
        talk(port, "HEAD /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(got.rfind("HTTP/1.1 405 ", 0) == 0);  // the API has no HEAD routes
    CHECK(got.size() == got.find("\r\n\r\n") + 4);
    got = talk(port, "GET /v1/health HTTP/1.0\r\n\r\n");
    CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(got.find("\"status\":\"ok\"") != std::string::npos);
  }
  SUBCASE("ambiguous framing is refused - never guessed") {
    for (const std::string& bad : {
             std::string("POST /v1/push HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: "
                         "chunked\r\n\r\n"),
             std::string(
                 "POST /v1/push HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
             std::string("POST /v1/push HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
             std::string("POST /v1/push HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
             std::string("GET /v1/health HTTP/1.1\r\nX-A: b\r\n folded\r\n\r\n"),
             std::string("GET /v1/health HTTP/1.1\r\nBad Name: b\r\n\r\n"),
             std::string("GET  /v1/health HTTP/1.1\r\n\r\n"),
             std::string("GET /v1/health HTTP/2.0\r\n\r\n"),
             std::string("GET /v1/%zz HTTP/1.1\r\n\r\n"),
         }) {
      INFO(bad);
      const std::string got = talk(port, bad);
      CHECK(got.rfind("HTTP/1.1 400 ", 0) == 0);
      CHECK(got.find("protocol_error") != std::string::npos);
    }
  }
  SUBCASE("a chunked body with extensions and trailers is read whole") {
    const std::string got =
        talk(port,
             "POST /v1/devices/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n5;ext=1\r\n{\"cod\r\n6\r\ne\":\"x\"\r\n1\r\n}\r\n0\r\nX-T: "
             "1\r\n\r\n");
    // Parsed and handed to registration, which refuses the unknown code (not a framing error).
    CHECK(got.rfind("HTTP/1.1 ", 0) == 0);
    CHECK(got.find("protocol_error") == std::string::npos);
    CHECK(got.find("malformed_json") == std::string::npos);
  }
  CHECK(s.http().get("/v1/health").status == 200);
}

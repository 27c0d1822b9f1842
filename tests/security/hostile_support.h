// Shared by the hostile-client tests (hostile_clients_test, hostile_framing_test): a raw
// loopback client that sends an attack's bytes - a head, then a body made on the fly - as
// fast as the server takes them or paced, within a byte budget and a deadline, and notes
// when the answer's status line came.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lumbung::test::hostile {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

using Clock = std::chrono::steady_clock;

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

inline int connect_loopback(uint16_t port) {
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
inline Outcome run_attack(uint16_t port, const Attack& a, Clock::time_point deadline) {
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
inline std::function<BodyGen()> repeat_bytes(char c, uint64_t total) {
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
inline std::function<BodyGen()> chunked_body(size_t chunk, uint64_t total) {
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
inline std::function<BodyGen()> header_lines(uint64_t count) {
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
inline std::string empty_objects(size_t total) {
  std::string s = "[{}";
  s.reserve(total);
  while (s.size() + 3 + 1 <= total) s += ",{}";
  while (s.size() + 1 < total) s += ' ';
  s += ']';
  return s;
}

inline std::function<BodyGen()> from_string(std::string text) {
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

inline std::string post_head(const std::string& path, const std::string& framing,
                             const std::string& token = {}) {
  std::string h =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (!token.empty()) h += "Authorization: Bearer " + token + "\r\n";
  return h + framing + "\r\n\r\n";
}

}  // namespace lumbung::test::hostile

#include "relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <vector>

namespace lumbung::bench {
namespace {

using Clock = std::chrono::steady_clock;

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Closing with a zero linger sends a reset: the peer sees the link die, not a clean end.
void reset_close(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

// Bytes read but not yet delivered, each chunk with the time it reaches the other end.
struct Chunk {
  Clock::time_point at;
  std::vector<char> data;
};

// One direction of a connection.
struct Pipe {
  int from = -1, to = -1;
  std::deque<Chunk> queue;
  size_t queued = 0;
  size_t off = 0;               // of the front chunk, already delivered
  Clock::time_point link_free;  // when the emulated link has sent all it took so far
  bool eof = false;             // `from` reached EOF
  bool shut = false;            // we shut down `to` for writing after the EOF was flushed
};

struct Conn {
  int client = -1, server = -1;
  Pipe up, down;
  uint64_t carried = 0;
  bool dead = false;
  ~Conn() {
    if (client >= 0) close(client);
    if (server >= 0) close(server);
  }
};

}  // namespace

Relay::Relay(uint16_t server_port, LinkProfile link) : server_port_(server_port), link_(link) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("relay: socket failed");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 256) != 0) {
    throw std::runtime_error(std::string("relay: bind/listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  set_nonblocking(listen_fd_);
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("relay: pipe failed");
  thread_ = std::thread([this] { loop(); });
}

Relay::~Relay() {
  stop_ = true;
  if (write(wake_[1], "x", 1) < 0) {
  }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

void Relay::loop() {
  const bool emulate = link_.rate_bits_per_s > 0 || link_.delay_ms > 0;
  // An emulated link reads a packet at a time into a small bottleneck queue, so the sender
  // feels the link's pace (its socket buffer fills); a plain relay moves big chunks.
  const size_t read_size = emulate ? 1460 : 256 * 1024;
  const size_t queue_cap = emulate ? 16 * 1024 : 256 * 1024;
  const auto delay = std::chrono::milliseconds(link_.delay_ms);
  auto transmit_time = [&](size_t n) {
    if (link_.rate_bits_per_s == 0) return Clock::duration::zero();
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
        static_cast<double>(n) * 8.0 / static_cast<double>(link_.rate_bits_per_s)));
  };
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> fds;
  // What each pollfd stands for: conn index and role (0 client, 1 server), -1 = listen/wake.
  std::vector<std::pair<int, int>> who;
  std::vector<char> buf(read_size);
  while (!stop_) {
    const auto now = Clock::now();
    auto next_due = now + std::chrono::milliseconds(200);
    fds.clear();
    who.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    who.push_back({-1, 0});
    fds.push_back({wake_[0], POLLIN, 0});
    who.push_back({-1, 1});
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = *conns[i];
      short ce = 0, se = 0;
      // up: client -> server; down: server -> client
      if (c.up.queued < queue_cap && !c.up.eof) ce |= POLLIN;
      if (c.down.queued < queue_cap && !c.down.eof) se |= POLLIN;
      for (Pipe* p : {&c.up, &c.down}) {
        if (p->queue.empty()) continue;
        if (p->queue.front().at <= now) {
          (p == &c.up ? se : ce) |= POLLOUT;
        } else {
          next_due = std::min(next_due, p->queue.front().at);
        }
      }
      fds.push_back({c.client, ce, 0});
      who.push_back({static_cast<int>(i), 0});
      fds.push_back({c.server, se, 0});
      who.push_back({static_cast<int>(i), 1});
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_due - now).count();
    const int r = poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait, 0)));
    if (r < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      for (;;) {
        const int cfd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (cfd < 0) break;
        const int sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(server_port_);
        if (sfd < 0 || connect(sfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
          close(cfd);
          if (sfd >= 0) close(sfd);
          continue;
        }
        set_nonblocking(cfd);
        set_nonblocking(sfd);
        set_nodelay(cfd);
        set_nodelay(sfd);
        auto c = std::make_unique<Conn>();
        c->client = cfd;
        c->server = sfd;
        c->up.from = cfd;
        c->up.to = sfd;
        c->down.from = sfd;
        c->down.to = cfd;
        // The handshake: nothing reaches the server before one round trip has passed.
        c->up.link_free = Clock::now() + 2 * delay;
        c->down.link_free = Clock::now();
        conns.push_back(std::move(c));
        ++conns_;
      }
    }
    const auto t = Clock::now();
    for (size_t k = 2; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      Conn& c = *conns[static_cast<size_t>(who[k].first)];
      if (c.dead) continue;
      const bool is_client = who[k].second == 0;
      Pipe& in = is_client ? c.up : c.down;                      // what we read from this fd
      Pipe& out = is_client ? c.down : c.up;                     // what we write to this fd
      std::atomic<uint64_t>& counter = is_client ? down_ : up_;  // delivered to this fd
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && in.queued < queue_cap && !in.eof) {
        const size_t want = std::min(buf.size(), queue_cap - in.queued);
        const ssize_t n = recv(fds[k].fd, buf.data(), want, 0);
        if (n > 0) {
          in.link_free = std::max(in.link_free, t) + transmit_time(static_cast<size_t>(n));
          in.queue.push_back({in.link_free + delay, std::vector<char>(buf.data(), buf.data() + n)});
          in.queued += static_cast<size_t>(n);
        } else if (n == 0) {
          in.eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          c.dead = true;
          continue;
        }
      }
      while ((fds[k].revents & POLLOUT) && !out.queue.empty() && out.queue.front().at <= t) {
        Chunk& ch = out.queue.front();
        size_t len = ch.data.size() - out.off;
        bool cut = false;
        if (link_.cut_after > 0 && c.carried + len >= link_.cut_after) {
          len = static_cast<size_t>(link_.cut_after - c.carried);
          cut = true;
        }
        const ssize_t n = len ? send(fds[k].fd, ch.data.data() + out.off, len, MSG_NOSIGNAL) : 0;
        if (n < 0) {
          if (errno != EAGAIN && errno != EINTR) c.dead = true;
          break;
        }
        out.off += static_cast<size_t>(n);
        c.carried += static_cast<uint64_t>(n);
        counter += static_cast<uint64_t>(n);
        if (cut && static_cast<size_t>(n) == len) {
          // The link dies here: both ends see a reset, whatever was in flight is lost.
          reset_close(c.client);
          reset_close(c.server);
          c.client = c.server = -1;
          c.dead = true;
          ++cuts_;
          break;
        }
        if (out.off < ch.data.size()) break;  // the socket took part of it: later
        out.queued -= ch.data.size();
        out.off = 0;
        out.queue.pop_front();
      }
      if ((fds[k].revents & POLLERR) && !(fds[k].revents & POLLIN)) c.dead = true;
    }
    // Propagate half-closes once flushed; drop finished or broken connections.
    for (auto& cp : conns) {
      Conn& c = *cp;
      if (c.dead) continue;
      for (Pipe* p : {&c.up, &c.down}) {
        if (p->eof && p->queue.empty() && !p->shut) {
          shutdown(p->to, SHUT_WR);
          p->shut = true;
        }
      }
      if (c.up.shut && c.down.shut) c.dead = true;
    }
    for (size_t i = 0; i < conns.size();) {
      if (conns[i]->dead) {
        conns[i] = std::move(conns.back());
        conns.pop_back();
      } else {
        ++i;
      }
    }
  }
}

}  // namespace lumbung::bench

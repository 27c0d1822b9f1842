#include "relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace lumbung::bench {
namespace {

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// One direction of a connection: bytes read from `from` waiting to be written to `to`.
struct Pipe {
  int from = -1, to = -1;
  std::vector<char> buf = std::vector<char>(256 * 1024);
  size_t len = 0, off = 0;
  bool eof = false;   // `from` reached EOF
  bool shut = false;  // we shut down `to` for writing after the EOF was flushed
};

struct Conn {
  int client = -1, server = -1;
  Pipe up, down;
  bool dead = false;
  ~Conn() {
    if (client >= 0) close(client);
    if (server >= 0) close(server);
  }
};

}  // namespace

Relay::Relay(uint16_t server_port) : server_port_(server_port) {
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
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> fds;
  // What each pollfd stands for: conn index and role (0 client, 1 server), -1 = listen/wake.
  std::vector<std::pair<int, int>> who;
  while (!stop_) {
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
      if (c.up.len == 0 && !c.up.eof) ce |= POLLIN;
      if (c.up.len > 0) se |= POLLOUT;
      if (c.down.len == 0 && !c.down.eof) se |= POLLIN;
      if (c.down.len > 0) ce |= POLLOUT;
      fds.push_back({c.client, ce, 0});
      who.push_back({static_cast<int>(i), 0});
      fds.push_back({c.server, se, 0});
      who.push_back({static_cast<int>(i), 1});
    }
    const int r = poll(fds.data(), fds.size(), 200);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
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
        conns.push_back(std::move(c));
        ++conns_;
      }
    }
    for (size_t k = 2; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      Conn& c = *conns[static_cast<size_t>(who[k].first)];
      if (c.dead) continue;
      const bool is_client = who[k].second == 0;
      Pipe& in = is_client ? c.up : c.down;   // what we read from this fd
      Pipe& out = is_client ? c.down : c.up;  // what we write to this fd
      std::atomic<uint64_t>& counter = is_client ? up_ : down_;
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && in.len == 0 && !in.eof) {
        const ssize_t n = recv(fds[k].fd, in.buf.data(), in.buf.size(), 0);
        if (n > 0) {
          in.len = static_cast<size_t>(n);
          in.off = 0;
          counter += static_cast<uint64_t>(n);
        } else if (n == 0) {
          in.eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          c.dead = true;
          continue;
        }
      }
      if ((fds[k].revents & POLLOUT) && out.len > 0) {
        const ssize_t n = send(fds[k].fd, out.buf.data() + out.off, out.len, MSG_NOSIGNAL);
        if (n > 0) {
          out.off += static_cast<size_t>(n);
          out.len -= static_cast<size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          c.dead = true;
          continue;
        }
      }
      if ((fds[k].revents & (POLLERR)) && !(fds[k].revents & POLLIN)) c.dead = true;
    }
    // Propagate half-closes once flushed; drop finished or broken connections.
    for (auto& cp : conns) {
      Conn& c = *cp;
      for (Pipe* p : {&c.up, &c.down}) {
        if (p->eof && p->len == 0 && !p->shut) {
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

#include "http/connection_reaper.h"

#include <dirent.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lumbung::server {
namespace {

// The kernel's TCP_ESTABLISHED (include/net/tcp_states.h); not exported by linux/tcp.h,
// and netinet/tcp.h (which has it) clashes with linux/tcp.h.
constexpr unsigned kTcpEstablished = 1;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Inode of the socket behind fd, or 0 if fd is not a socket.
unsigned long socket_inode(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  return static_cast<unsigned long>(st.st_ino);
}

// An accepted TCP connection on `port` (IPv4 or IPv6), not the listening socket.
bool accepted_on(int fd, uint16_t port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  uint16_t local = 0;
  if (addr.ss_family == AF_INET) {
    local = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    local = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  } else {
    return false;
  }
  if (local != port) return false;
  int listening = 0;
  socklen_t l2 = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l2) != 0) return false;
  return listening == 0;
}

}  // namespace

ConnectionReaper::ConnectionReaper(uint16_t port, int timeout_ms, uint64_t min_bytes)
    : port_(port), timeout_ms_(timeout_ms), min_bytes_(min_bytes) {
  if (timeout_ms_ > 0) thread_ = std::thread([this] { run(); });
}

ConnectionReaper::~ConnectionReaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t ConnectionReaper::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void ConnectionReaper::run() {
  // A quarter of the timeout between scans (at most 1 s): a stalled connection is closed
  // between timeout and 1.25 x timeout after its last progress.
  const auto interval = std::chrono::milliseconds(std::clamp(timeout_ms_ / 4, 50, 1000));
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    try {
      scan(steady_ms());
    } catch (...) {
      // A scan is best effort; the next one tries again.
    }
    lock.lock();
  }
}

void ConnectionReaper::scan(int64_t now_ms) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return;
  for (auto& [_, c] : conns_) c.seen = false;
  uint64_t shut = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == ::dirfd(dir)) continue;
    const unsigned long inode = socket_inode(fd);
    if (inode == 0 || !accepted_on(fd, port_)) continue;
    struct tcp_info info {};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) continue;
    if (info.tcpi_state != kTcpEstablished) continue;
    auto [it, fresh] = conns_.try_emplace(inode);
    Conn& c = it->second;
    c.seen = true;
    if (fresh || info.tcpi_bytes_received >= c.rx_at_progress + min_bytes_ ||
        info.tcpi_bytes_acked > c.acked_at_progress) {
      c.progress_ms = now_ms;
      c.rx_at_progress = info.tcpi_bytes_received;
      c.acked_at_progress = info.tcpi_bytes_acked;
      continue;
    }
    if (now_ms - c.progress_ms >= timeout_ms_ && socket_inode(fd) == inode) {
      // Shut down, not close: the fd stays the listener's to close, so it cannot be
      // reused under it.
      ::shutdown(fd, SHUT_RDWR);
      ++shut;
    }
  }
  ::closedir(dir);
  for (auto it = conns_.begin(); it != conns_.end();)
    it = it->second.seen ? std::next(it) : conns_.erase(it);
  if (shut > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ += shut;
  }
}

}  // namespace lumbung::server

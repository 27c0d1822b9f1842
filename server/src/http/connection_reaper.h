// Closes connections to the listener that stall: the slow-client timeout cpprestsdk's
// http_listener lacks (on Linux its http_listener_config::timeout() is never applied, so a
// client that connects and sends nothing, or trickles a byte at a time, would hold a socket
// and a parser forever).
//
// A background thread wakes every interval, finds the process's TCP sockets whose local
// port is the listener's (accepted connections, not the listening socket), and reads the
// kernel's TCP_INFO byte counters. A connection "progresses" when it has received at least
// `min_bytes` more, or had any more of our bytes acknowledged, since its last progress; one
// that has not progressed for `timeout_ms` is shut down (the listener then sees EOF and
// frees it). Idle keep-alive connections are closed the same way; clients reconnect.
// Linux only (TCP_INFO, /proc/self/fd). Free of cpprestsdk on purpose.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace lumbung::server {

class ConnectionReaper {
 public:
  ConnectionReaper(uint16_t port, int timeout_ms, uint64_t min_bytes);
  ~ConnectionReaper();  // stops and joins the thread
  ConnectionReaper(const ConnectionReaper&) = delete;
  ConnectionReaper& operator=(const ConnectionReaper&) = delete;

  uint64_t closed() const;  // connections shut down so far

 private:
  struct Conn {
    int64_t progress_ms = 0;
    uint64_t rx_at_progress = 0;
    uint64_t acked_at_progress = 0;
    bool seen = false;
  };
  void run();
  void scan(int64_t now_ms);

  uint16_t port_;
  int timeout_ms_;
  uint64_t min_bytes_;
  std::map<unsigned long, Conn> conns_;  // by socket inode (fd numbers get reused)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t closed_ = 0;
  std::thread thread_;
};

}  // namespace lumbung::server

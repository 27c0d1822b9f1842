// The baseline of the slow_link scenario: the smallest HTTP server that takes one POST of
// a gzip'ed blob (answering 200 with an empty body) or answers a GET with that blob
// (Content-Encoding: gzip). Sending the bare records this way over the emulated link is
// what the sync's push and pull are compared with. Blocking sockets, one thread, one
// connection at a time, 127.0.0.1 only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace lumbung::bench {

class BareSink {
 public:
  explicit BareSink(std::string blob);
  ~BareSink();
  BareSink(const BareSink&) = delete;
  BareSink& operator=(const BareSink&) = delete;

  uint16_t port() const { return port_; }
  // Body bytes of the last POST received whole.
  uint64_t received() const { return received_.load(); }

 private:
  void loop();
  void serve(int fd);
  std::string blob_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

}  // namespace lumbung::bench

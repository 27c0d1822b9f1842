// A TCP relay on 127.0.0.1 that counts the bytes really on the wire and can behave like a
// field link: devices connect to it instead of the server, and it forwards every byte both
// ways (one thread, poll()).
//
// bytes_up = client -> server (requests, headers included), bytes_down = server -> client,
// both counted as delivered to the other side (so a cut connection counts what it carried).
//
// With a LinkProfile it emulates a slow link per direction: bytes leave at `rate` (a
// bottleneck queue of kQueueBytes in front of it, as in a modem), arrive `delay_ms` later,
// a new connection's first bytes wait one round trip (the TCP handshake), and a connection
// is cut (reset, both ways, whatever is in flight lost) once it has carried `cut_after`
// bytes in both directions together. Used by lumbung-bench's slow_link scenario and by
// tests/engine/flaky_link_test.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace lumbung::bench {

struct LinkProfile {
  uint64_t rate_bits_per_s = 0;  // each way; 0 = unlimited
  int delay_ms = 0;              // one way
  uint64_t cut_after = 0;        // bytes per connection, both ways; 0 = never cut
};

class Relay {
 public:
  // Listens on 127.0.0.1:0 and forwards to 127.0.0.1:`server_port`.
  explicit Relay(uint16_t server_port, LinkProfile link = {});
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint64_t bytes_up() const { return up_.load(); }
  uint64_t bytes_down() const { return down_.load(); }
  uint64_t connections() const { return conns_.load(); }
  uint64_t cuts() const { return cuts_.load(); }
  void reset() {
    up_ = 0;
    down_ = 0;
    conns_ = 0;
    cuts_ = 0;
  }

 private:
  void loop();
  uint16_t server_port_;
  LinkProfile link_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> up_{0}, down_{0}, conns_{0}, cuts_{0};
  std::thread thread_;
};

}  // namespace lumbung::bench

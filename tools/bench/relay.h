// A TCP relay on 127.0.0.1 that counts the bytes really on the wire: devices connect to
// it instead of the server, and it forwards every byte both ways (one thread, poll()).
// bytes_up = client -> server (requests, headers included), bytes_down = server -> client.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace lumbung::bench {

class Relay {
 public:
  // Listens on 127.0.0.1:0 and forwards to 127.0.0.1:`server_port`.
  explicit Relay(uint16_t server_port);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint64_t bytes_up() const { return up_.load(); }
  uint64_t bytes_down() const { return down_.load(); }
  uint64_t connections() const { return conns_.load(); }
  void reset() {
    up_ = 0;
    down_ = 0;
    conns_ = 0;
  }

 private:
  void loop();
  uint16_t server_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> up_{0}, down_{0}, conns_{0};
  std::thread thread_;
};

}  // namespace lumbung::bench

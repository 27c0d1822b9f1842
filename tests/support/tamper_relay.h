// A loopback HTTP relay that changes what passes, for tests of what a device must refuse: it
// listens on 127.0.0.1:0, forwards each request to 127.0.0.1:<server_port> and each answer
// back, and may rewrite them on the way (a man in the middle). Plain HTTP/1.1 framed by
// Content-Length (what lumbung-server and cpprestsdk send); a thread and an upstream
// connection per client connection. Every wait is bounded (a peer silent for 5 s is
// dropped; everything stops within 100 ms of the relay's end). Header-only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lumbung::test {

class TamperRelay {
 public:
  // Rewrites a request's head (request line and headers, "\r\n\r\n" included) ...
  std::function<void(std::string& head)> on_request_head;
  // ... and an answer's head and body (Content-Length is set again after).
  std::function<void(std::string& head, std::string& body)> on_answer;

  explicit TamperRelay(uint16_t server_port) : server_port_(server_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("relay: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TamperRelay() {
    stop_ = true;
    thread_.join();
    for (auto& t : served_) t.join();
    ::close(listen_fd_);
  }
  TamperRelay(const TamperRelay&) = delete;
  TamperRelay& operator=(const TamperRelay&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int answers() const { return answers_; }  // answers relayed so far

  // Case-insensitive position of `needle` in `hay`, or npos.
  static size_t find_nocase(const std::string& hay, const std::string& needle) {
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    });
    return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
  }
  // Removes the header line `name` from a head; true if there was one.
  static bool drop_header(std::string& head, const std::string& name) {
    const size_t at = find_nocase(head, "\r\n" + name + ":");
    if (at == std::string::npos) return false;
    const size_t end = head.find("\r\n", at + 2);
    head.erase(at, end - at);
    return true;
  }
  // The value of header `name` in a head ("" if absent).
  static std::string header(const std::string& head, const std::string& name) {
    const size_t at = find_nocase(head, "\r\n" + name + ":");
    if (at == std::string::npos) return {};
    size_t from = at + name.size() + 3;
    while (from < head.size() && head[from] == ' ') ++from;
    return head.substr(from, head.find("\r\n", from) - from);
  }

 private:
  // Reads until `buf` holds a whole message (head + Content-Length body); false if the
  // peer closed or went silent for 5 s first.
  bool read_message(int fd, std::string& buf, std::string& head, std::string& body) {
    for (int silent = 0; silent < 50 && !stop_;) {
      const size_t end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        head = buf.substr(0, end + 4);
        if (find_nocase(head, "\r\ntransfer-encoding: chunked") != std::string::npos) {
          return false;  // not framed by Content-Length: not relayed
        }
        const std::string cl = header(head, "content-length");
        const size_t n = cl.empty() ? 0 : std::stoul(cl);
        if (buf.size() >= end + 4 + n) {
          body = buf.substr(end + 4, n);
          buf.erase(0, end + 4 + n);
          return true;
        }
      }
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0) return false;
      if (ready == 0) {
        ++silent;
        continue;
      }
      silent = 0;
      char chunk[65536];
      const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
      if (got <= 0) return false;
      buf.append(chunk, static_cast<size_t>(got));
    }
    return false;
  }
  static bool send_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  static void set_length(std::string& head, size_t n) {
    drop_header(head, "content-length");
    head.insert(head.size() - 2, "Content-Length: " + std::to_string(n) + "\r\n");
  }

  void serve(int client) {
    const int up = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(server_port_);
    if (up < 0 || ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (up >= 0) ::close(up);
      ::close(client);
      return;
    }
    std::string from_client, from_server, head, body;
    for (int n = 0; n < 10000; ++n) {
      if (!read_message(client, from_client, head, body)) break;
      if (on_request_head) on_request_head(head);
      if (!send_all(up, head + body)) break;
      if (!read_message(up, from_server, head, body)) break;
      if (on_answer) {
        on_answer(head, body);
        set_length(head, body.size());
      }
      ++answers_;
      if (!send_all(client, head + body)) break;
    }
    ::close(up);
    ::close(client);
  }

  void loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c < 0) continue;
      if (served_.size() >= 64) {  // bounded: a test opens a handful
        ::close(c);
        continue;
      }
      served_.emplace_back([this, c] { serve(c); });
    }
  }

  uint16_t server_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> answers_{0};
  std::thread thread_;
  std::vector<std::thread> served_;  // touched by the accept thread only, then joined
};

}  // namespace lumbung::test

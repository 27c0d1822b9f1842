// Hostile clients that do not flood (issue 12 item 8, and the listener's HTTP/1.1): JSON
// with a repeated member name is refused as malformed, and ambiguous framing is refused,
// never guessed, while keep-alive, pipelining, 100-continue, HEAD, HTTP/1.0 and chunked
// bodies with extensions and trailers work as HTTP/1.1 says. Through the real lumbung-server.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "security/hostile_support.h"
#include "security/security_support.h"

using namespace lumbung;
using namespace lumbung::test;
using namespace lumbung::test::hostile;

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

// The streamed pull on the wire (server/src/api/pull_stream_http.cpp, the listener's chunked
// answers): an HTTP/1.1 client gets the frames as they are made, chunked, the first chunk
// holding the first page's frame alone; an HTTP/1.0 client gets the same stream whole with
// a Content-Length. Read over a raw socket, so the framing itself is what is checked.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/pull_stream.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/raw_http.h"

using namespace lumbung;
using test::ServerFixture;

namespace {

constexpr int kRecords = 120;
constexpr int kPageOps = 10;

std::string record_id(int i) {
  char id[40];
  std::snprintf(id, sizeof id, "0193a6c2-0000-7000-8000-%012d", i);
  return id;
}

// Device "a" pushes kRecords enrolments; "b" (same region) is returned to pull them.
test::Device seeded(ServerFixture& f) {
  test::Device a = f.device("laptop-a", {"74"});
  Json ops = Json::array();
  for (int i = 1; i <= kRecords; ++i) {
    ops.push_back(test::make_op(a.next_seq++, record_id(i), test::hlc_now(static_cast<uint64_t>(i)),
                                test::konawe_enrolment(9000 + i)));
  }
  REQUIRE(f.push(a, ops).status == 200);
  return f.device("laptop-b", {"74"});
}

std::string pull_request(const std::string& version, const std::string& token) {
  return "GET /v1/pull?stream=1&limit=" + std::to_string(kPageOps) + " " + version +
         "\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
         "\r\nAccept: " + kChangesetV2MediaType + "\r\nConnection: close\r\n\r\n";
}

// The chunks of a chunked body, in order (REQUIRE-checked framing: hex size, CRLF, data,
// CRLF, ... "0" CRLF CRLF).
std::vector<std::string> chunks_of(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    const size_t eol = body.find("\r\n", at);
    REQUIRE(eol != std::string::npos);
    const size_t n = std::stoul(body.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (n == 0) {
      REQUIRE(body.substr(at) == "\r\n");
      return out;
    }
    REQUIRE(at + n + 2 <= body.size());
    out.push_back(body.substr(at, n));
    REQUIRE(body.compare(at + n, 2, "\r\n") == 0);
    at += n + 2;
  }
  FAIL("too many chunks");
  return out;
}

struct Decoded {
  size_t frames = 0;
  size_t ops = 0;
  bool complete = false;
};

Decoded decode(const std::vector<std::string>& pieces) {
  PullStreamReader reader;
  Decoded d;
  for (const std::string& p : pieces) {
    reader.feed(p, [&](Json page, bool) {
      ++d.frames;
      d.ops += page["ops"].size();
    });
  }
  d.complete = reader.complete();
  return d;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("a streamed pull goes out chunked - a frame a chunk - as its pages are made") {
  ServerFixture f;
  const test::Device b = seeded(f);
  const std::string answer =
      test::raw_exchange(f.server().port(), pull_request("HTTP/1.1", b.token));
  const size_t end = answer.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  const std::string head = lower(answer.substr(0, end));
  CHECK(head.rfind("http/1.1 200", 0) == 0);
  CHECK(head.find("transfer-encoding: chunked") != std::string::npos);
  CHECK(head.find("content-length") == std::string::npos);
  const std::vector<std::string> chunks = chunks_of(answer.substr(end + 4));
  // The first chunk leaves before the second page is read: it holds one frame, whole.
  REQUIRE(!chunks.empty());
  const Decoded first = decode({chunks.front()});
  CHECK(first.frames == 1);
  CHECK(first.ops == kPageOps);
  const Decoded all = decode(chunks);
  CHECK(all.complete);
  CHECK(all.ops == kRecords);
  CHECK(all.frames == kRecords / kPageOps + (kRecords % kPageOps ? 1 : 0));
  CHECK(chunks.size() >= all.frames);  // a frame a chunk (the zstd end may be one more)
}

TEST_CASE("an HTTP/1.0 client gets the same streamed pull whole with a Content-Length") {
  ServerFixture f;
  const test::Device b = seeded(f);
  const std::string answer =
      test::raw_exchange(f.server().port(), pull_request("HTTP/1.0", b.token));
  const size_t end = answer.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  const std::string head = lower(answer.substr(0, end));
  CHECK(head.rfind("http/1.1 200", 0) == 0);
  CHECK(head.find("transfer-encoding") == std::string::npos);
  const size_t cl = head.find("content-length: ");
  REQUIRE(cl != std::string::npos);
  const std::string body = answer.substr(end + 4);
  CHECK(std::stoul(head.substr(cl + 16)) == body.size());
  const Decoded all = decode({body});
  CHECK(all.complete);
  CHECK(all.ops == kRecords);
}

// The streamed pull (issue 14; docs/PROTOCOL.md "Streamed pull"): its body read frame by
// frame as the bytes arrive, bad bodies refused; and end to end against the real
// lumbung-server, through a link cut every 30 KB (tools/bench/relay.h) that keeps every
// frame that arrived whole, next to clients that pull page by page.
#include <doctest/doctest.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/pull_stream.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"
#include "relay.h"
#include "server/server_fixture.h"
#include "support/enrolment.h"
#include "support/temp_dir.h"

using namespace lumbung;
using bench::LinkProfile;
using bench::Relay;
using test::ServerFixture;

namespace {

Json page_doc(int first, int n, bool more) {
  Json ops = Json::array();
  for (int i = first; i < first + n; ++i) {
    ops.push_back({{"seq", i},
                   {"col", "enrolment"},
                   {"id", "0193a6c2-0000-7000-8000-" + std::to_string(100000000000 + i)},
                   {"hlc", 113514890264576000 + i},
                   {"dev", "dev-" + std::to_string(i % 3)},
                   {"set", {{"full_name", "Sri " + std::to_string(i)}, {"phone", "0812"}}}});
  }
  return Json{{"ops", ops}, {"next", "c" + std::to_string(first + n)}, {"more", more}};
}

struct Got {
  std::vector<Json> pages;
  std::vector<bool> last;
};

void feed(PullStreamReader& r, std::string_view bytes, Got& got) {
  r.feed(bytes, [&](Json p, bool last) {
    got.pages.push_back(std::move(p));
    got.last.push_back(last);
  });
}

// The code and the message of what `f` throws (kInternal and "(nothing thrown)" if nothing).
std::pair<ErrorCode, std::string> thrown(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {ErrorCode::kInternal, "(nothing thrown)"};
}

// A stream's decompressed content built by hand (for lengths and CRCs no writer makes).
std::string raw_stream(const std::string& frames) {
  std::string out = "LBS1";
  out.push_back(2);
  std::string z(ZSTD_compressBound(frames.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  const size_t n = ZSTD_compress2(c, z.data(), z.size(), frames.data(), frames.size());
  ZSTD_freeCCtx(c);
  REQUIRE(!ZSTD_isError(n));
  return out + z.substr(0, n);
}

std::string u32(uint32_t v) {
  std::string s;
  for (int b = 0; b < 4; ++b) s.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
  return s;
}

}  // namespace

TEST_CASE("pull stream: every frame is handed over as soon as its bytes arrived") {
  PullStreamWriter w(19);
  std::vector<size_t> ends;  // bytes of the body once frame k was flushed
  for (int k = 0; k < 5; ++k) {
    w.add(page_doc(1 + 40 * k, 40, k < 4), k == 4);
    ends.push_back(w.size());
  }
  const std::string body = w.finish();
  // Byte by byte: frame k appears exactly when the bytes flushed after it arrived.
  PullStreamReader r;
  Got got;
  for (size_t i = 0; i < body.size(); ++i) {
    feed(r, std::string_view(body).substr(i, 1), got);
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= i + 1) ++whole;
    REQUIRE(got.pages.size() == whole);
  }
  CHECK(r.complete());
  REQUIRE(got.pages.size() == 5);
  for (int k = 0; k < 5; ++k) CHECK(got.pages[k] == page_doc(1 + 40 * k, 40, k < 4));
  CHECK(got.last == std::vector<bool>{false, false, false, false, true});

  // One stream with the earlier frames as history against each page its own v2 body.
  size_t separate = 0;
  for (int k = 0; k < 5; ++k)
    separate += encode_changeset_v2(page_doc(1 + 40 * k, 40, k < 4)).size();
  MESSAGE("5 pages of 40 ops: one stream " << body.size() << " B, separate v2 bodies " << separate
                                           << " B");
  CHECK(body.size() < separate);
}

TEST_CASE("pull stream: a stream of known size holds a compressor sized to it") {
  // Most answers to a laptop that syncs often are one small page: sized to it, setting up
  // zstd's tables at level 19 no longer costs ~17 MB of memory touched per answer.
  const Json page = page_doc(1, 40, false);
  PullStreamWriter unknown(19), known(19, page.dump().size());
  unknown.add(page, true);
  known.add(page, true);
  MESSAGE("one page of 40 ops at level 19: compressor " << unknown.memory() << " B unsized, "
                                                        << known.memory() << " B sized");
  CHECK(unknown.memory() > 8u * 1024 * 1024);
  CHECK(known.memory() < 1024u * 1024);
  // Same content either way; the sized stream is no larger than a few bytes more.
  const std::string a = unknown.finish(), b = known.finish();
  CHECK(b.size() <= a.size() + 16);
  for (const std::string* body : {&a, &b}) {
    PullStreamReader r;
    Got got;
    feed(r, *body, got);
    REQUIRE(got.pages.size() == 1);
    CHECK(got.pages[0] == page);
    CHECK(r.complete());
  }
  // A size hint smaller than the stream is only a hint: every frame still decodes.
  PullStreamWriter small(19, 100);
  for (int k = 0; k < 5; ++k) small.add(page_doc(1 + 40 * k, 40, k < 4), k == 4);
  PullStreamReader r;
  Got got;
  feed(r, small.finish(), got);
  REQUIRE(got.pages.size() == 5);
  for (int k = 0; k < 5; ++k) CHECK(got.pages[k] == page_doc(1 + 40 * k, 40, k < 4));
}

TEST_CASE("pull stream: bad bodies are refused with a stable error and no frame from the damage") {
  PullStreamWriter w(19);
  size_t first_end = 0;
  for (int k = 0; k < 3; ++k) {
    w.add(page_doc(1 + 30 * k, 30, k < 2), k == 2);
    if (k == 0) first_end = w.size();
  }
  const std::string body = w.finish();

  SUBCASE("truncated: the frames before the cut, then not complete") {
    PullStreamReader r;
    Got got;
    feed(r, std::string_view(body).substr(0, body.size() - 9), got);
    CHECK(got.pages.size() == 2);
    CHECK(!r.complete());
  }
  SUBCASE("damaged zstd after the first frame") {
    std::string bad = body;
    bad[first_end + (body.size() - first_end) / 2] ^= 0x5A;
    PullStreamReader r;
    Got got;
    const auto [code, what] = thrown([&] { feed(r, bad, got); });
    CHECK((code == ErrorCode::kProtocol || code == ErrorCode::kBodyTooLarge));
    CHECK(what.rfind("invalid pull stream: ", 0) == 0);
    CHECK(got.pages.size() <= 1);  // the first frame only: it arrived whole before
    if (!got.pages.empty()) CHECK(got.pages[0] == page_doc(1, 30, true));
  }
  SUBCASE("a wrong magic") {
    PullStreamReader r;
    Got got;
    std::string bad = body;
    bad[3] = '2';
    CHECK(thrown([&] { feed(r, bad, got); }).second == "invalid pull stream: no LBS1 header");
  }
  const std::vector<uint8_t> cbor0 = Json::to_cbor(Json{{"e", page_doc(1, 0, false)}});
  const std::string payload(cbor0.begin(), cbor0.end());
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
  SUBCASE("a length longer than the frame: the stream ends inside it") {
    PullStreamReader r;
    Got got;
    const std::string s = raw_stream(u32(payload.size() + 5) + u32(crc) + payload);
    CHECK(thrown([&] { feed(r, s, got); }).second ==
          "invalid pull stream: the stream ended before its last frame");
    CHECK(got.pages.empty());
  }
  SUBCASE("a length of 0, or over the cap") {
    PullStreamReader r, small(16);
    Got got;
    CHECK(thrown([&] { feed(r, raw_stream(u32(0) + u32(0)), got); }).second ==
          "invalid pull stream: a frame of length 0");
    CHECK(thrown([&] {
            feed(small, raw_stream(u32(payload.size()) + u32(crc) + payload), got);
          }).first == ErrorCode::kBodyTooLarge);
    CHECK(got.pages.empty());
  }
  SUBCASE("a CRC that does not match") {
    PullStreamReader r;
    Got got;
    CHECK(thrown([&] {
            feed(r, raw_stream(u32(payload.size()) + u32(crc ^ 1) + payload), got);
          }).second == "invalid pull stream: frame 1 CRC mismatch");
    CHECK(got.pages.empty());
  }
  SUBCASE("a frame that is not a page, and data after the last frame") {
    const std::vector<uint8_t> other = Json::to_cbor(Json{{"e", {{"x", 1}}}});
    const std::string p2(other.begin(), other.end());
    const uint32_t crc2 = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(p2.data()), static_cast<uInt>(p2.size())));
    PullStreamReader r;
    Got got;
    CHECK(thrown([&] { feed(r, raw_stream(u32(p2.size()) + u32(crc2) + p2), got); }).second ==
          "invalid pull stream: frame 1 is not a pull page");
    PullStreamReader r2;
    CHECK(thrown([&] { feed(r2, body + "x", got); }).second ==
          "invalid pull stream: bytes after the end of the stream");
    CHECK(got.pages.size() == 3);  // the whole stream before the extra byte
  }
}

namespace {

// Records that differ the way real ones do, so they compress like the workload
// (flaky_link_test.cpp's, ~55 B each in v2).
Json varied_enrolment(int serial, std::mt19937& rng) {
  static const char* first[] = {"Eko", "Wulan", "Joko", "Sri", "Agus", "Dewi", "Budi", "Rina"};
  static const char* last[] = {"Setiawan", "Pratama", "Gunawan", "Lestari", "Saputra", "Wati"};
  Json r = test::konawe_enrolment(serial);
  r["full_name"] = std::string(first[rng() % 8]) + " " + last[rng() % 6];
  std::string phone = "08";
  for (int i = 0; i < 10; ++i) phone.push_back(static_cast<char>('0' + rng() % 10));
  r["phone"] = phone;
  r["monthly_income"] = 1000000 + 100000 * static_cast<int>(rng() % 190);
  char at[32];
  std::snprintf(at, sizeof at, "2025-01-06T%02u:%02u:03.%03uZ", unsigned(rng() % 24),
                unsigned(rng() % 60), unsigned(rng() % 1000));
  r["created_at"] = at;
  r["officer_id"] = "OFC-0" + std::to_string(100 + rng() % 900);
  return r;
}

// Passes requests to the real transport and notes them; optionally reads a streamed
// answer whole (on_body left out) and damages or truncates it before handing it back.
class Tap final : public Transport {
 public:
  explicit Tap(Transport& inner) : inner_(inner) {}
  HttpResponse send(const HttpRequest& request) override {
    HttpRequest r = request;
    if (flip_at || keep_share) {
      r.on_body = nullptr;
      r.stream_type.clear();
    }
    HttpResponse resp = inner_.send(r);
    auto it = resp.headers.find("content-type");
    const std::string type = it == resp.headers.end() ? "" : it->second;
    targets.push_back(r.target);
    types.push_back(type);
    if (type == kPullStreamMediaType && !resp.streamed) {
      if (flip_at && flip_at < resp.body.size()) resp.body[flip_at] ^= 0x5A;
      if (keep_share && truncate_left > 0) {
        --truncate_left;
        resp.body.resize(resp.body.size() * keep_share / 100);
      }
    }
    return resp;
  }
  std::vector<std::string> targets, types;
  size_t flip_at = 0;     // damage this byte of every streamed answer
  size_t keep_share = 0;  // percent of a streamed answer kept (0: all) ...
  int truncate_left = 0;  // ... in this many answers

 private:
  Transport& inner_;
};

struct Laptop {
  test::TempDir dir;
  std::unique_ptr<Store> store;
  std::string token;

  Laptop(ServerFixture& f, const std::string& id) {
    OpenOptions o;
    o.path = dir.path() + "/" + id + ".db";
    o.schema = test::enrolment_schema();
    o.device_id = id;
    store = Store::open(o);
    auto direct = make_http_transport(f.server().base_url());
    SyncClient c(*store, *direct, "");
    token = c.register_device(f.code({"74.02"}), id);
  }
  uint64_t records() const { return store->stats().records; }
};

SyncOptions quick_retries() {
  SyncOptions o;
  o.pull_stream = true;       // asked for (not yet the default)
  o.initial_backoff_ms = 20;  // the link heals at once: only the count matters here
  o.max_backoff_ms = 100;
  return o;
}

struct Carried {
  SyncReport report;
  uint64_t bytes = 0, cuts = 0, connections = 0;
};

Carried pull_through(Relay& relay, Laptop& l, const SyncOptions& o) {
  relay.reset();
  auto transport = make_http_transport(relay.url());
  SyncClient c(*l.store, *transport, l.token);
  Carried out;
  out.report = c.pull(o);
  out.bytes = relay.bytes_up() + relay.bytes_down();
  out.cuts = relay.cuts();
  out.connections = relay.connections();
  return out;
}

constexpr int kRecords = 2400;

void load_server(ServerFixture& f) {
  Laptop a(f, "laptop-a");
  std::mt19937 rng(14);
  Batch batch = a.store->begin_batch();
  for (int i = 1; i <= kRecords; ++i) batch.create("enrolment", varied_enrolment(i, rng));
  batch.commit();
  auto direct = make_http_transport(f.server().base_url());
  SyncClient c(*a.store, *direct, a.token);
  REQUIRE(c.push(quick_retries()).pushed == kRecords);
}

// Under the sanitizers the server builds frames several times slower, so its bound of 1 s of
// building per answer (kPullStreamMaxMs) ends answers early: a pull takes more than one
// request, and each cut then costs about what it costs pages (seen in CI: 3 requests for a
// clean stream, 1.43x a clean stream's bytes through the cuts against 1.47x for pages).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSlowServer = true;
#else
constexpr bool kSlowServer = false;
#endif

}  // namespace

TEST_CASE("a streamed pull through a link cut every 30 KB completes and keeps every whole frame") {
  ServerFixture f;
  load_server(f);
  Laptop clean_stream(f, "laptop-b"), clean_pages(f, "laptop-c"), cut_stream(f, "laptop-d"),
      cut_pages(f, "laptop-e");
  // 2 Mbit/s and 20 ms one way (a fair 3G link, so the test stays short), cut every 30 KB;
  // the clean runs go over the same link uncut.
  Relay clean(f.server().port(), LinkProfile{2000000, 20, 0});
  Relay cut(f.server().port(), LinkProfile{2000000, 20, 30000});
  SyncOptions pages = quick_retries();
  pages.pull_stream = false;  // as before this change
  const auto t0 = std::chrono::steady_clock::now();
  const Carried cs = pull_through(clean, clean_stream, quick_retries());
  const Carried cp = pull_through(clean, clean_pages, pages);
  const Carried xs = pull_through(cut, cut_stream, quick_retries());
  const Carried xp = pull_through(cut, cut_pages, pages);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(kSlowServer ? 120 : 30));
  for (const Carried* c : {&cs, &cp, &xs, &xp}) CHECK(c->report.pulled == kRecords);
  for (Laptop* l : {&clean_stream, &clean_pages, &cut_stream, &cut_pages}) {
    CHECK(l->records() == kRecords);
  }
  MESSAGE("clean: stream " << cs.bytes << " B in " << cs.report.requests << " requests, pages "
                           << cp.bytes << " B in " << cp.report.requests << " requests");
  MESSAGE("cut every 30 KB: stream "
          << xs.bytes << " B (" << double(xs.bytes) / cs.bytes << "x clean), " << xs.cuts
          << " cuts, " << xs.report.retries << " retries, " << xs.report.requests
          << " requests; pages " << xp.bytes << " B (" << double(xp.bytes) / cp.bytes
          << "x clean), " << xp.cuts << " cuts, " << xp.report.retries << " retries, "
          << xp.report.requests << " requests");
  // One request carries the whole clean pull, in about the bytes of pages (on this fast
  // link the pages grow to ~30 KB at once; frames are ~16 KB: within 1 % either way here;
  // on the 2G workload the stream is smaller, BENCHMARKS.md "A streamed pull").
  if (!kSlowServer) CHECK(cs.report.requests == 1);
  CHECK(cs.report.requests <= cp.report.requests);
  CHECK(cs.report.retries == 0);
  CHECK(cs.bytes * 100 < cp.bytes * 103);
  // The link was really cut, each cut one counted retry, and each resumed after the last
  // whole frame: the bytes stay within 1.35x a clean stream (1.28-1.29x measured; pages
  // lose the page under way at each cut: 1.48x here, 1.45-1.6x in flaky_link_test.cpp),
  // and within 1.35x clean pages as well.
  REQUIRE(cs.bytes > 60000);  // so more than two connections' worth
  CHECK(xs.cuts >= 2);
  CHECK(xs.report.retries >= xs.cuts - 1);
  CHECK(xs.report.retries <= xs.cuts);
  if (!kSlowServer) {
    CHECK(xs.report.requests == 1 + xs.report.retries);
    CHECK(xs.bytes * 100 < cs.bytes * 135);
    CHECK(xs.bytes * 100 < cp.bytes * 135);
  } else {  // answers split by the server's time bound: at least no worse than pages
    CHECK(xs.report.requests >= 1 + xs.report.retries);
    CHECK(xs.bytes * 100 < xp.bytes * 110);
  }
}

TEST_CASE("a client that does not ask and a v1 client pull page by page - stream needs v2") {
  ServerFixture f;
  load_server(f);
  Laptop paged(f, "laptop-p"), v1(f, "laptop-v1"), streamed(f, "laptop-s");
  auto http = make_http_transport(f.server().base_url());
  SyncOptions no = quick_retries(), old = quick_retries();
  no.pull_stream = false;
  old.changeset_format = 1;
  for (auto [l, o] :
       {std::pair{&paged, no}, std::pair{&v1, old}, std::pair{&streamed, quick_retries()}}) {
    Tap tap(*http);
    SyncClient c(*l->store, tap, l->token);
    const SyncReport r = c.pull(o);
    CHECK(r.pulled == kRecords);
    CHECK(l->records() == kRecords);
    bool asked = false, answered = false;
    for (const auto& t : tap.targets) asked |= t.find("stream=1") != std::string::npos;
    for (const auto& t : tap.types) answered |= t == kPullStreamMediaType;
    CHECK(asked == (l == &streamed));
    CHECK(answered == (l == &streamed));
    if (l == &streamed && !kSlowServer) CHECK(r.requests == 1);
    if (l != &streamed) CHECK(r.requests > 1);  // the sizer's pages, from 8 KiB
    if (l == &v1) {
      for (const auto& t : tap.types) CHECK(t.rfind("application/json", 0) == 0);
    }
  }
  // stream=1 without v2 in Accept is a v1 page; a stream value other than 0 or 1 is refused.
  HttpRequest req;
  req.method = "GET";
  req.target = "/v1/pull?stream=1&limit=5";
  req.headers = {{"Authorization", "Bearer " + paged.token}, {"Accept", "application/json"}};
  HttpResponse resp = http->send(req);
  CHECK(resp.status == 200);
  CHECK(resp.headers["content-type"].rfind("application/json", 0) == 0);
  CHECK(Json::parse(resp.body).at("ops").size() == 5);
  req.target = "/v1/pull?stream=2";
  req.headers.emplace_back("Accept", kChangesetV2MediaType);
  resp = http->send(req);
  CHECK(resp.status == 400);
  CHECK(Json::parse(resp.body).at("code") == "invalid_argument");
}

TEST_CASE("a damaged streamed answer changes nothing - a truncated one keeps its whole frames") {
  ServerFixture f;
  load_server(f);
  auto http = make_http_transport(f.server().base_url());
  SUBCASE("damaged in its first frame: refused every time, nothing applied") {
    Laptop l(f, "laptop-x");
    Tap tap(*http);
    tap.flip_at = 40;  // inside the first zstd block, so inside frame 1
    SyncClient c(*l.store, tap, l.token);
    SyncOptions o = quick_retries();
    o.max_attempts = 3;
    const auto [code, what] = thrown([&] { c.pull(o); });
    CHECK(code == ErrorCode::kTransport);
    MESSAGE(what);
    CHECK(what.find("invalid pull stream: ") != std::string::npos);
    CHECK(tap.targets.size() == 3);
    CHECK(l.records() == 0);
    CHECK(l.store->get_meta("pull_cursor").empty());
  }
  SUBCASE("answers cut to 60 percent: each attempt keeps its whole frames and the pull ends") {
    Laptop l(f, "laptop-y");
    Tap tap(*http);
    tap.keep_share = 60;
    tap.truncate_left = 4;
    SyncClient c(*l.store, tap, l.token);
    SyncOptions o = quick_retries();
    o.max_attempts = 3;  // fewer than the 4 cuts: each attempt that kept frames starts over
    const SyncReport r = c.pull(o);
    CHECK(r.pulled == kRecords);  // every frame once: each attempt resumed after the last
    CHECK(l.records() == kRecords);
    MESSAGE(r.requests << " requests, " << r.retries << " retries");
    CHECK(r.retries == 4);
    if (!kSlowServer) CHECK(r.requests == 5);
    CHECK(r.requests >= 5);  // more where the server's time bound split an answer
  }
}

TEST_CASE("a streamed pull cancelled between frames answers at once and keeps what it applied") {
  ServerFixture f;
  load_server(f);
  Laptop l(f, "laptop-z");
  // 200 kbit/s: the ~75 KB stream takes ~3 s, its frames applied as they come.
  Relay slow(f.server().port(), LinkProfile{200000, 50, 0});
  auto transport = make_http_transport(slow.url());
  SyncClient c(*l.store, *transport, l.token);
  std::atomic<bool> cancel{false};
  std::chrono::steady_clock::time_point cancelled_at;
  uint64_t frames_seen = 0;
  SyncOptions o = quick_retries();
  o.cancel = &cancel;
  o.on_progress = [&](const SyncProgress& p) {
    if (p.ops_pulled > 0 && !cancel) {
      ++frames_seen;
      cancelled_at = std::chrono::steady_clock::now();
      cancel = true;
    }
  };
  const auto [code, what] = thrown([&] { c.pull(o); });
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled_at).count();
  MESSAGE("cancelled after " << l.records() << " records; answered in " << took << " s");
  CHECK(code == ErrorCode::kCancelled);
  CHECK(frames_seen == 1);
  CHECK(took < 1.0);
  CHECK(l.records() > 0);  // the frames applied before stay, with their cursor
  CHECK(l.records() < kRecords);
  CHECK(!l.store->get_meta("pull_cursor").empty());
  // The next pull goes on from there and ends with every record once.
  o.cancel = nullptr;
  o.on_progress = nullptr;
  const uint64_t before = l.records();
  CHECK(c.pull(o).pulled == kRecords - before);
  CHECK(l.records() == kRecords);
}

// Issue 14: the streamed push (docs/PROTOCOL.md "Streamed push"). A laptop pushes its log as
// frames in one request, which the real server applies frame by frame as it arrives; after
// a cut the laptop asks GET /v1/push/state how far it got and what it answered, and sends
// only the rest. Through the bench's relay (tools/bench/relay.h) on loopback.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "engine/push_stream_support.h"

TEST_CASE(
    "a streamed push is one request - through a link cut every 30 KB nothing is lost or doubled") {
  ServerFixture f;
  Laptop clean_stream(f, "laptop-a"), clean_batches(f, "laptop-b"), cut_stream(f, "laptop-c"),
      cut_batches(f, "laptop-d");
  // Serials apart, so no two laptops write one NIK (a duplicate opens a review entry).
  clean_stream.create(kRecords, 0);
  clean_batches.create(kRecords, kRecords);
  cut_stream.create(kRecords, 2 * kRecords);
  cut_batches.create(kRecords, 3 * kRecords);
  // 2 Mbit/s and 20 ms one way (a fair 3G link, so the test stays short), cut every 30 KB;
  // the clean runs go over the same link uncut.
  Relay clean(f.server().port(), LinkProfile{2000000, 20, 0});
  Relay cut(f.server().port(), LinkProfile{2000000, 20, 30000});
  SyncOptions batches = streamed();
  batches.push_stream = false;  // as before this change
  const auto t0 = std::chrono::steady_clock::now();
  const Carried cs = push_through(clean, clean_stream, streamed());
  const Carried cb = push_through(clean, clean_batches, batches);
  const Carried xs = push_through(cut, cut_stream, streamed());
  const Carried xb = push_through(cut, cut_batches, batches);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(kSlowServer ? 120 : 40));
  for (const Carried* c : {&cs, &cb, &xs, &xb}) CHECK(c->report.pushed == kRecords);
  for (Laptop* l : {&clean_stream, &clean_batches, &cut_stream, &cut_batches}) {
    CHECK(l->store->pending_count() == 0);
  }
  MESSAGE("clean: stream " << cs.bytes << " B in " << cs.report.requests << " requests, batches "
                           << cb.bytes << " B in " << cb.report.requests << " requests");
  MESSAGE("cut every 30 KB: stream "
          << xs.bytes << " B (" << double(xs.bytes) / cs.bytes << "x clean), " << xs.cuts
          << " cuts, " << xs.report.retries << " retries, " << xs.report.requests << " requests, "
          << xs.state_asks << " state asks; batches " << xb.bytes << " B ("
          << double(xb.bytes) / cb.bytes << "x clean), " << xb.cuts << " cuts, "
          << xb.report.requests << " requests");
  // Every op on the server once: a new laptop replays the log and gets each op once.
  CHECK(pulled_by_new_laptop(f, "laptop-new") == 4 * kRecords);
  // One request carries the whole clean push, in fewer bytes than batches.
  if (!kSlowServer) CHECK(cs.report.requests == 1);
  CHECK(cs.report.requests < cb.report.requests);
  CHECK(cs.report.retries == 0);
  CHECK(cs.state_asks == 0);
  CHECK(cs.bytes < cb.bytes);
  // The link was really cut; after each cut the laptop asked how far the server got and
  // sent only the rest: 1.22x a clean stream's bytes measured here (issue 14's target on
  // the workload is 1.3x; where the cuts fall moves this a few per cent), never worse than
  // batches by much (1.20-2.0x here: a cut batch is lost whole).
  REQUIRE(cs.bytes > 45000);  // so at least one cut
  CHECK(xs.cuts >= 1);
  CHECK(xs.state_asks >= 1);
  CHECK(xs.report.retries >= xs.cuts);
  if (!kSlowServer) CHECK(xs.bytes * 100 < cs.bytes * 135);
  // Under the sanitizers the server applies frames slower than this link brings them, so a
  // state ask (which waits at most 2 s for the cut stream) finds fewer applied and the
  // laptop sends more again: 1.87x a clean stream, 1.52x the batches, seen (2026-12-06).
  CHECK(xs.bytes * 100 < xb.bytes * (kSlowServer ? 200 : 115));
}

// A laptop three years ahead whose every 40th record lies outside its regions, pushed as a
// stream through a link cut every 30 KB: every op's re-stamp and every refusal must reach it.
// `restart_at_state`: the server restarts (on its port, its ledger gone) just before the
// laptop's first state ask, which is then answered "complete": false.
void restamps_and_refusals_through_cuts(bool restart_at_state) {
  ServerFixture f;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  test::FakeWallClock ahead(now + 3LL * 365 * 24 * 3600 * 1000);  // three years ahead
  Laptop l(f, "laptop-2029", &ahead);
  // Regions not known yet: every 40th record lies outside them and is refused (kept).
  l.store->set_regions({});
  std::mt19937 rng(3);
  constexpr int kOps = 1600;
  int outside = 0;
  {
    Batch batch = l.store->begin_batch();
    for (int i = 1; i <= kOps; ++i) {
      Json r = varied_enrolment(i, rng);
      if (i % 40 == 0) {
        r["village_code"] = "7414012001";
        ++outside;
      }
      batch.create("enrolment", r);
    }
    batch.commit();
  }
  Relay cut(f.server().port(), LinkProfile{2000000, 20, 30000});
  auto http = make_http_transport(cut.url());
  Tap tap(*http);
  bool restarted = false;
  tap.before = [&](const HttpRequest& r) {
    if (!restart_at_state || restarted || r.target.rfind("/v1/push/state", 0) != 0) return;
    const uint16_t port = f.server().port();
    f.stop();
    f.start(port);
    restarted = true;
  };
  SyncClient c(*l.store, tap, l.token);
  const SyncReport rep = c.push(streamed());
  MESSAGE(cut.cuts() << " cuts, " << tap.count("/v1/push/state") << " state asks, " << rep.restamped
                     << " re-stamps, " << rep.refused << " refusals taken in");
  CHECK(cut.cuts() >= 1);
  CHECK(tap.count("/v1/push/state") >= 1);
  CHECK(restarted == restart_at_state);
  CHECK((tap.incomplete_states > 0) == restart_at_state);
  CHECK(rep.pushed == kOps);
  CHECK(l.store->pending_count() == 0);
  // Every refusal recorded once, every re-stamp taken: no version from 2029 is left.
  CHECK(l.store->refused_changes().size() == static_cast<size_t>(outside));
  CHECK(rep.restamped >= static_cast<uint64_t>(kOps));
  Query q;
  q.collection = "enrolment";
  q.limit = 1000;
  size_t seen = 0, future = 0;
  for (int page = 0; page < 100; ++page) {
    const Page p = l.store->query(q);
    for (const Record& r : p.records) {
      ++seen;
      for (const auto& [field, v] : r.versions) future += hlc::physical_ms(v.hlc) > now + 3600000;
    }
    if (p.next_after.empty()) break;
    q.after_id = p.next_after;
  }
  CHECK(seen == static_cast<size_t>(kOps));
  CHECK(future == 0);
  CHECK(pulled_by_new_laptop(f, "laptop-new") == static_cast<uint64_t>(kOps - outside));
}

TEST_CASE("re-stamps and refusals of a streamed push reach the laptop through cuts") {
  restamps_and_refusals_through_cuts(false);
}

// The ledger is in memory: after a restart the state cannot give the answers of the ops
// applied before it, says so, and the laptop sends those ops again (the server skips them
// and repeats their re-stamps and refusals from its store).
TEST_CASE("after a server restart the push state is incomplete and the ops go again") {
  restamps_and_refusals_through_cuts(true);
}

TEST_CASE(
    "every kind of bad push stream is refused - only the whole frames before it stay applied") {
  ServerFixture f;
  constexpr int kFrame = 100;
  // Three frames of 100 ops each of laptop `l`, each as its own document.
  auto frames_of = [](Laptop& l) {
    std::vector<Json> docs;
    const auto wire = l.store->pending_wire(3 * kFrame);
    for (int k = 0; k < 3; ++k) {
      Json ops = Json::array();
      for (int i = k * kFrame; i < (k + 1) * kFrame; ++i) ops.push_back(Json::parse(wire[i].json));
      docs.push_back(Json{{"device", l.store->device_id()}, {"ops", ops}});
    }
    return docs;
  };
  struct Case {
    const char* name;
    int status;
    const char* code;
    uint64_t acked;  // what the server holds after it
  };
  int serial = 50000;
  auto run = [&](const Case& c, const std::function<std::string(std::vector<Json>&)>& body,
                 const std::string& encoding = "") {
    INFO(c.name);
    Laptop l(f, std::string("laptop-bad-") + std::to_string(serial));
    l.create(3 * kFrame, serial);
    serial += 1000;
    std::vector<Json> docs = frames_of(l);
    const HttpResponse r = raw_push(f, l.token, body(docs), encoding);
    INFO(r.body);
    CHECK(r.status == c.status);
    const Json p = Json::parse(r.body, nullptr, false);
    REQUIRE(p.is_object());
    CHECK(p.value("code", "") == c.code);
    if (encoding.empty()) CHECK(p.value("acked_seq", uint64_t{999}) == c.acked);
    const Json st = push_state(f, l.token, "0");
    CHECK(st.at("acked_seq") == c.acked);
    CHECK(st.at("complete") == true);
  };
  auto stream = [](std::vector<Json>& docs, size_t n, std::string* at_boundary = nullptr) {
    PushStreamWriter w(19);
    for (size_t i = 0; i < n; ++i) {
      if (at_boundary && i + 1 == n) *at_boundary = std::string(std::to_string(w.size()));
      w.add(docs[i], i + 1 == n);
    }
    return w.finish();
  };
  run({"whole", 200, "", 300}, [&](auto& d) { return stream(d, 3); });
  run({"wrong magic", 400, "protocol_error", 0}, [&](auto& d) {
    std::string b = stream(d, 3);
    b[0] = 'X';
    return b;
  });
  run({"unknown compression", 400, "protocol_error", 0}, [&](auto& d) {
    std::string b = stream(d, 3);
    b[4] = 7;
    return b;
  });
  run({"damaged third frame", 400, "protocol_error", 200}, [&](auto& d) {
    std::string boundary;
    std::string b = stream(d, 3, &boundary);
    b[std::stoul(boundary) + 12] ^= 0x5A;
    return b;
  });
  run({"cut after two frames", 400, "protocol_error", 200}, [&](auto& d) {
    std::string boundary;
    std::string b = stream(d, 3, &boundary);
    b.resize(std::stoul(boundary));
    return b;
  });
  run({"another device's frame", 403, "forbidden", 100}, [&](auto& d) {
    d[1]["device"] = "laptop-someone-else";
    return stream(d, 3);
  });
  run({"a frame that is no change set", 400, "protocol_error", 100}, [&](auto& d) {
    d[1].erase("device");
    return stream(d, 3);
  });
  run({"a seq gap", 409, "seq_gap", 100}, [&](auto& d) {
    d[1] = d[2];
    return stream(d, 2);
  });
  run({"a frame over the cap", 413, "body_too_large", 0}, [&](auto&) {
    std::string frames(8, '\0');
    const uint32_t n = kPushStreamMaxFrameBytes + 1;
    for (int b = 0; b < 4; ++b) frames[b] = static_cast<char>((n >> (8 * b)) & 0xFF);
    std::string z(ZSTD_compressBound(frames.size()), '\0');
    z.resize(ZSTD_compress(z.data(), z.size(), frames.data(), frames.size(), 3));
    return std::string("LBP1\x02", 5) + z;
  });
  run(
      {"gzip on a stream", 400, "protocol_error", 0}, [&](auto& d) { return stream(d, 3); },
      "gzip");
}

TEST_CASE("batches still push - a server that reads no stream is pushed in batches") {
  ServerFixture f;
  auto http = make_http_transport(f.server().base_url());
  Laptop plain(f, "laptop-p"), v1(f, "laptop-v1"), old_server(f, "laptop-o");
  plain.create(600, 60000);
  v1.create(600, 61000);
  old_server.create(600, 62000);
  SyncOptions no = streamed(), v1_only = streamed();
  no.push_stream = false;
  v1_only.changeset_format = 1;
  for (auto [l, o] : {std::pair{&plain, no}, std::pair{&v1, v1_only}}) {
    Tap tap(*http);
    SyncClient c(*l->store, tap, l->token);
    CHECK(c.push(o).pushed == 600);
    CHECK(tap.count("stream=1") == 0);
    CHECK(tap.count("/v1/push") > 1);  // the sizer's batches, from 8 KiB
  }
  // The stream sent as JSON is what an older server reads: refused as malformed, without
  // "push_stream"; the laptop pushes in batches instead, and loses nothing.
  Tap tap(*http);
  tap.plain_type = true;
  SyncClient c(*old_server.store, tap, old_server.token);
  CHECK(c.push(streamed()).pushed == 600);
  CHECK(tap.count("stream=1") == 1);
  CHECK(tap.count("/v1/push") > 2);
  CHECK(old_server.store->pending_count() == 0);
  // Remembered: the next sync sends no stream for nothing.
  old_server.create(10, 63000);
  tap.targets.clear();
  CHECK(c.push(streamed()).pushed == 10);
  CHECK(tap.count("stream=1") == 0);
  // The server upgraded: its batch answer says it reads streams, and the sync after streams.
  tap.plain_type = false;
  old_server.create(10, 63100);
  CHECK(c.push(streamed()).pushed == 10);
  CHECK(tap.count("stream=1") == 0);
  old_server.create(10, 63200);
  CHECK(c.push(streamed()).pushed == 10);
  CHECK(tap.count("stream=1") == 1);
  CHECK(pulled_by_new_laptop(f, "laptop-new") == 1830);
  // The push state needs a seq, from a device.
  CHECK(push_state(f, plain.token, "").at("status") == 400);
  CHECK(push_state(f, plain.token, "x1").at("code") == "invalid_argument");
  CHECK(push_state(f, plain.token, "0").at("acked_seq") == 600);
}

TEST_CASE("cancelling a streamed push answers at once and loses nothing") {
  ServerFixture f;
  Laptop l(f, "laptop-c");
  l.create(kRecords, 70000);
  // 256 kbit/s: the push takes a few seconds, cancelled while its body goes.
  Relay slow(f.server().port(), LinkProfile{256000, 50, 0});
  auto http = make_http_transport(slow.url());
  std::atomic<bool> cancel{false};
  std::chrono::steady_clock::time_point asked{};
  SyncOptions o = streamed();
  o.cancel = &cancel;
  // Cancelled at the first progress of the request, while its body is on its way.
  o.on_progress = [&](const SyncProgress& p) {
    if (!cancel && p.request_size > 0 && p.stage != SyncProgress::Stage::kIdle) {
      asked = std::chrono::steady_clock::now();
      cancel = true;
    }
  };
  SyncClient c(*l.store, *http, l.token);
  bool cancelled = false;
  try {
    c.push(o);
  } catch (const Error& e) {
    cancelled = e.code() == ErrorCode::kCancelled;
  }
  REQUIRE(cancelled);
  CHECK(std::chrono::steady_clock::now() - asked <
        std::chrono::milliseconds(kSlowServer ? 3000 : 1500));
  CHECK(l.store->pending_count() > 0);
  // Pushed again: whatever the server applied of the cancelled stream is not applied twice.
  cancel = false;
  o.cancel = nullptr;
  o.on_progress = nullptr;
  auto direct = make_http_transport(f.server().base_url());
  SyncClient again(*l.store, *direct, l.token);
  again.push(o);
  CHECK(l.store->pending_count() == 0);
  CHECK(pulled_by_new_laptop(f, "laptop-new") == kRecords);
}

TEST_CASE(
    "a chunked streamed push is applied as its chunks arrive - an oversized chunk keeps the frames "
    "before") {
  ServerFixture f;
  Laptop l(f, "laptop-chunked");
  l.create(300, 80000);
  const auto wire = l.store->pending_wire(300);
  auto stream = [&](size_t from, size_t to) {
    PushStreamWriter w(19);
    for (size_t k = from; k < to; k += 100) {
      Json ops = Json::array();
      for (size_t i = k; i < k + 100; ++i) ops.push_back(Json::parse(wire[i].json));
      w.add(Json{{"device", l.store->device_id()}, {"ops", ops}}, k + 100 >= to);
    }
    return w.finish();
  };
  const std::string head = "POST /v1/push?stream=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           l.token + "\r\nContent-Type: " + kPushStreamMediaType +
                           "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  // Two frames in chunks of 700 bytes: one answer for both.
  std::string got =
      test::raw_exchange(f.server().port(), head + chunked(stream(0, 200), 700) + "0\r\n\r\n");
  INFO(got);
  REQUIRE(got.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(got.find("\"acked_seq\":200") != std::string::npos);
  // The third frame, then a chunk announced over the body limit: refused before it is read,
  // with how far the server got.
  got = test::raw_exchange(f.server().port(), head + chunked(stream(200, 300), 700) + "900000\r\n" +
                                                  std::string(64, 'x'));
  INFO(got);
  CHECK(got.rfind("HTTP/1.1 413 ", 0) == 0);
  CHECK(got.find("body_too_large") != std::string::npos);
  CHECK(got.find("\"acked_seq\":300") != std::string::npos);
  CHECK(push_state(f, l.token, "0").at("acked_seq") == 300);
}

// The server writes its time into a streamed push's answer after the body's end: the answer
// is a one-way delay old when it arrives, not half of the whole upload (which on a slow link
// is seconds: taken as the round trip, it moved a right clock ~2 s ahead here).
TEST_CASE("a long streamed push leaves a right clock where it was") {
  ServerFixture f;
  Laptop l(f, "laptop-clock");
  l.create(kRecords, 90000 % 10000);
  Relay slow(f.server().port(), LinkProfile{128000, 50, 0});  // ~60 KB: ~4 s of upload
  auto http = make_http_transport(slow.url());
  SyncClient c(*l.store, *http, l.token);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(c.push(streamed()).pushed == kRecords);
  const auto took = std::chrono::steady_clock::now() - t0;
  MESSAGE("push took " << std::chrono::duration<double>(took).count() << " s, clock offset "
                       << l.store->clock().offset_ms() << " ms");
  CHECK(took > std::chrono::seconds(2));
  CHECK(std::abs(l.store->clock().offset_ms()) < 1000);
}

// The ledger keeps a device's answers until it pulls (a sync pulls once its push got its
// answers): then a state of the same range can no longer give them, and says so.
TEST_CASE("the push state forgets a device's answers once it pulls") {
  ServerFixture f;
  Laptop l(f, "laptop-forget");
  l.create(200, 85000 % 10000);
  const auto wire = l.store->pending_wire(200);
  PushStreamWriter w(19);
  for (size_t k = 0; k < 200; k += 100) {
    Json ops = Json::array();
    for (size_t i = k; i < k + 100; ++i) ops.push_back(Json::parse(wire[i].json));
    w.add(Json{{"device", l.store->device_id()}, {"ops", ops}}, k + 100 >= 200);
  }
  REQUIRE(raw_push(f, l.token, w.finish()).status == 200);
  Json st = push_state(f, l.token, "0");
  CHECK(st.at("acked_seq") == 200);
  CHECK(st.at("answered_seq") == 200);
  CHECK(st.at("complete") == true);
  CHECK(push_state(f, l.token, "150").at("answered_seq") == 200);
  auto http = make_http_transport(f.server().base_url());
  SyncClient c(*l.store, *http, l.token);
  c.pull();
  st = push_state(f, l.token, "0");
  CHECK(st.at("acked_seq") == 200);
  CHECK(st.at("answered_seq") == 0);
  CHECK(st.at("complete") == false);
  CHECK(push_state(f, l.token, "200").at("complete") == true);  // nothing since 200
}

// A first sync against a server older than the stream sent the whole stream for nothing
// (218,803 B on 2G, BENCHMARKS.md): a laptop streams only once the server said it reads
// streams (`Lumbung-Push-Stream: 1` on the register, pull and push answers).
TEST_CASE("a laptop streams only to a server that said it reads streams") {
  SUBCASE("a server that does not say so gets batches and no stream") {
    // --no-push-stream: the server reads a stream as an older one does and says nothing.
    ServerFixture old({"--no-push-stream"});
    Laptop l(old, "laptop-o");
    CHECK(l.store->get_meta("server_push_stream").empty());
    l.create(600, 64000);
    auto http = make_http_transport(old.server().base_url());
    Tap tap(*http);
    SyncClient c(*l.store, tap, l.token);
    const SyncReport r = c.sync(streamed());
    CHECK(r.pushed == 600);
    CHECK(tap.count("/v1/push?stream=1") == 0);
    CHECK(tap.count("/v1/push") > 1);
    CHECK(l.store->pending_count() == 0);
    CHECK(l.store->get_meta("server_push_stream").empty());
    // It refuses a stream as a server older than the stream does, and applies nothing.
    l.create(5, 64700);
    PushStreamWriter w(19);
    Json ops = Json::array();
    for (const WireChange& op : l.store->pending_wire(5)) ops.push_back(Json::parse(op.json));
    w.add(Json{{"device", l.store->device_id()}, {"ops", ops}}, true);
    const HttpResponse refused = raw_push(old, l.token, w.finish());
    CHECK(refused.status == 400);
    CHECK(refused.body.find("malformed_json") != std::string::npos);
    CHECK(refused.headers.count("lumbung-push-stream") == 0);
    CHECK(push_state(old, l.token, "0").at("acked_seq") == 600);
  }
  SUBCASE("a laptop registered with a server that said so streams its first push") {
    ServerFixture f;
    Laptop l(f, "laptop-n");
    CHECK(l.store->get_meta("server_push_stream") == "1");  // from the register answer
    l.create(600, 65000);
    auto http = make_http_transport(f.server().base_url());
    Tap tap(*http);
    SyncClient c(*l.store, tap, l.token);
    CHECK(c.push(streamed()).pushed == 600);
    CHECK(tap.count("/v1/push?stream=1") == 1);
    CHECK(tap.count("/v1/push") == 1);
  }
  SUBCASE("a laptop registered before the header streams after one batch answer") {
    ServerFixture f;
    Laptop l(f, "laptop-r");
    l.store->set_meta("server_push_stream", "");  // as registered before the server said it
    l.create(600, 66000);
    // A slow link (2 Mbit/s, 20 ms one way), so the sizer still streams after the batch.
    Relay link(f.server().port(), LinkProfile{2000000, 20, 0});
    auto http = make_http_transport(link.url());
    Tap tap(*http);
    SyncClient c(*l.store, tap, l.token);
    CHECK(c.push(streamed()).pushed == 600);
    REQUIRE(tap.targets.size() >= 2);
    CHECK(tap.targets.front() == "/v1/push");          // the first batch, whose answer says so
    CHECK(tap.targets.back() == "/v1/push?stream=1");  // then the rest in one stream
    CHECK(tap.count("/v1/push") == 2);
    CHECK(l.store->pending_count() == 0);
    // A pull answer says so too: a laptop with nothing to push learns it there.
    l.store->set_meta("server_push_stream", "");
    c.pull(streamed());
    CHECK(l.store->get_meta("server_push_stream") == "1");
    CHECK(pulled_by_new_laptop(f, "laptop-new") == 600);
  }
}

// A cut after which the server took ops in is no failure to wait out: the push asks how far
// it got and goes on at once (the wait before the state ask cost 500 ms a cut on 3G,
// BENCHMARKS.md). A dead link's retries still wait (engine_sync_client_test).
TEST_CASE("a cut streamed push goes on at once after a cut with progress") {
  ServerFixture f;
  Laptop l(f, "laptop-w");
  l.create(kRecords, 4 * kRecords);
  Relay cut(f.server().port(), LinkProfile{2000000, 20, 30000});
  SyncOptions o = streamed();
  o.initial_backoff_ms = 3000;  // each wait would show: the old code waited this a cut
  o.max_backoff_ms = 3000;
  const auto t0 = std::chrono::steady_clock::now();
  const Carried x = push_through(cut, l, o);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE(x.cuts << " cuts, " << x.state_asks << " state asks, " << took << " s");
  CHECK(x.report.pushed == kRecords);
  CHECK(l.store->pending_count() == 0);
  REQUIRE(x.cuts >= 1);
  CHECK(x.state_asks >= 1);
  CHECK(x.report.retries >= x.cuts);
  CHECK(took < 3.0 * static_cast<double>(x.cuts));  // no 3 s wait per cut
  CHECK(pulled_by_new_laptop(f, "laptop-new") == static_cast<uint64_t>(kRecords));
}

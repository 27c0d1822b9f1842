// Push and pull against the real lumbung-server: ordering, idempotent retries, seq gaps,
// scopes, the clock bound, persistence across a restart, and a throughput figure.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "server/server_fixture.h"

using namespace lumbung::test;

TEST_CASE("a pushed batch is pulled by a second device - in order - with dev") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const uint64_t h = hlc_now();
  json ops = json::array({make_op(1, "rec-1", h, konawe_record_1()),
                          make_op(2, "rec-2", h + 1, konawe_record_2()),
                          make_op(3, "rec-1", h + 2, json{{"phone", "0812-3456-7890"}},
                                  json{{"phone", json::array({h, "dev-a"})}})});
  auto p = f.push(a, ops);
  REQUIRE(p.status == 200);
  json pr = p.json();
  CHECK(pr["acked_seq"] == 3);
  CHECK(pr["applied"] == 3);
  CHECK(pr["skipped"] == 0);
  CHECK(pr["restamped"].empty());
  CHECK(pr["server_time_ms"].get<int64_t>() > 0);

  json pulled = f.pull_all(b);
  REQUIRE(pulled.size() == 3);
  CHECK(pulled[0]["seq"] == 1);
  CHECK(pulled[0]["dev"] == "dev-a");
  CHECK(pulled[2]["set"]["phone"] == "081234567890");  // normalised by the schema
  // The pushing device does not get its own ops back.
  CHECK(f.pull_all(a).empty());

  // Paging: limit=1 walks the same ops; the same cursor gives the same page.
  auto p1 = f.http().get("/v1/pull?limit=1", b.token).json();
  CHECK(p1["ops"].size() == 1);
  CHECK(p1["more"] == true);
  const std::string c1 = p1["next"];
  auto p2 = f.http().get("/v1/pull?limit=1&cursor=" + c1, b.token);
  auto p2again = f.http().get("/v1/pull?limit=1&cursor=" + c1, b.token);
  CHECK(p2.json()["ops"] == p2again.json()["ops"]);
  CHECK(p2.json()["ops"][0]["seq"] == 2);
  // The end cursor returns nothing more.
  std::string cursor;
  f.pull_all(b, &cursor);
  auto end = f.http().get("/v1/pull?cursor=" + cursor, b.token).json();
  CHECK(end["ops"].empty());
  CHECK(end["more"] == false);
  CHECK(end["next"] == cursor);
}

TEST_CASE("a retried push (lost response) is applied zero times") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  json ops = json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1()),
                          make_op(2, "rec-2", hlc_now(1), konawe_record_2())});
  auto first = f.push(a, ops);
  REQUIRE(first.status == 200);
  auto retry = f.push(a, ops);
  REQUIRE(retry.status == 200);
  CHECK(retry.json()["acked_seq"] == 2);
  CHECK(retry.json()["applied"] == 0);
  CHECK(retry.json()["skipped"] == 2);
  CHECK(f.pull_all(b).size() == 2);  // logged once

  // A retry that overlaps with new ops applies only the new ones.
  ops.push_back(make_op(3, "rec-1", hlc_now(5), json{{"position", "sekretaris desa"}}));
  auto overlap = f.push(a, ops);
  REQUIRE(overlap.status == 200);
  CHECK(overlap.json()["applied"] == 1);
  CHECK(overlap.json()["skipped"] == 2);
  CHECK(overlap.json()["acked_seq"] == 3);
  CHECK(f.pull_all(b).size() == 3);
}

TEST_CASE("a seq gap is refused with the expected seq") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1())})).status ==
          200);
  auto gap = f.push(a, json::array({make_op(3, "rec-2", hlc_now(), konawe_record_2())}));
  CHECK(gap.status == 409);
  CHECK(gap.json()["code"] == "seq_gap");
  CHECK(gap.json()["expected_seq"] == 2);
  auto gap_inside =
      f.push(a, json::array({make_op(2, "rec-2", hlc_now(), konawe_record_2()),
                             make_op(4, "rec-2", hlc_now(1), json{{"phone", "081234567890"}})}));
  CHECK(gap_inside.status == 409);
  CHECK(gap_inside.json()["expected_seq"] == 3);
  // Nothing of the refused batch was applied: seq 2 is still expected.
  auto ok = f.push(a, json::array({make_op(2, "rec-2", hlc_now(), konawe_record_2())}));
  CHECK(ok.status == 200);
  CHECK(ok.json()["acked_seq"] == 2);
}

// A refused change to a record the server holds: the answer says what the server holds of
// the fields the change wrote, by the names it used ("held"), so the device can put those
// back in its record (docs/PROTOCOL.md "Refused ops"); again when the answer was lost and
// the op is sent again; never for a record outside the device's regions.
TEST_CASE("a refusal says what the server holds of the refused fields") {
  ServerFixture f;
  Device a = f.device("dev-a", {"74.02"});
  const uint64_t h = hlc_now();
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", h, konawe_record_1())})).status == 200);
  // 5 is no income; the record has no e-mail, and this one is no address.
  const json bad = make_op(2, "rec-1", hlc_now(1), json{{"monthly_income", 5}, {"email", "x"}},
                           json{{"monthly_income", json::array({h, "dev-a"})}});
  const json expect{
      {"set",
       {{"monthly_income", json::array({4900000, json::array({h, "dev-a"})})}, {"email", nullptr}}},
      {"tombstone", nullptr}};
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second: a retry after a lost answer
    CAPTURE(attempt);
    auto r = f.push(a, json::array({bad}));
    REQUIRE(r.status == 200);
    REQUIRE(r.json()["refused"].size() == 1);
    CHECK(r.json()["refused"][0]["code"] == "validation_failed");
    CHECK(r.json()["refused"][0]["held"] == expect);
  }
  // Out of the device's regions: nothing of the record is told.
  Device buton = f.device("dev-buton", {"74.14"});
  REQUIRE(f.push(buton, json::array({make_op(1, "rec-b1", hlc_now(3), buton_tengah_record())}))
              .status == 200);
  auto out =
      f.push(a, json::array({make_op(3, "rec-b1", hlc_now(4), json{{"phone", "081234567890"}})}));
  REQUIRE(out.json()["refused"].size() == 1);
  CHECK(out.json()["refused"][0]["code"] == "out_of_scope");
  CHECK_FALSE(out.json()["refused"][0].contains("held"));
  // A refused change to a record the server does not hold: nothing to tell either.
  auto none =
      f.push(a, json::array({make_op(4, "rec-9", hlc_now(5), json{{"phone", "081234567890"}})}));
  REQUIRE(none.json()["refused"].size() == 1);
  CHECK_FALSE(none.json()["refused"][0].contains("held"));
}

TEST_CASE("scope: a Konawe device cannot push Buton Tengah and pulls only Konawe") {
  ServerFixture f;
  Device konawe = f.device("dev-konawe", {"74.02"});
  Device buton = f.device("dev-buton", {"74.14"});
  Device office = f.device("dev-province", {"74"});

  // The Buton Tengah op is refused and kept; the Konawe one before it is applied, and the
  // device's seq moves past both (a refused op never blocks the ops behind it).
  auto out = f.push(konawe, json::array({make_op(1, "rec-k1", hlc_now(), konawe_record_1()),
                                         make_op(2, "rec-b1", hlc_now(1), buton_tengah_record())}));
  REQUIRE(out.status == 200);
  CHECK(out.json()["acked_seq"] == 2);
  CHECK(out.json()["applied"] == 1);
  REQUIRE(out.json()["refused"].size() == 1);
  CHECK(out.json()["refused"][0]["seq"] == 2);
  CHECK(out.json()["refused"][0]["code"] == "out_of_scope");

  REQUIRE(
      f.push(buton, json::array({make_op(1, "rec-b1", hlc_now(), buton_tengah_record())})).status ==
      200);
  // Moving a Konawe record into Buton Tengah is also out of scope; so is editing theirs.
  auto move =
      f.push(konawe,
             json::array({make_op(3, "rec-k1", hlc_now(2), json{{"village_code", "7414091481"}})}));
  REQUIRE(move.json()["refused"].size() == 1);
  CHECK(move.json()["refused"][0]["code"] == "out_of_scope");
  auto edit = f.push(
      konawe, json::array({make_op(4, "rec-b1", hlc_now(3), json{{"phone", "081234567890"}})}));
  REQUIRE(edit.json()["refused"].size() == 1);
  CHECK(edit.json()["refused"][0]["code"] == "out_of_scope");
  // The office sees all three with their data and reasons.
  auto q = f.http().get("/v1/refused?device=dev-konawe", f.reviewer());
  REQUIRE(q.status == 200);
  CHECK(q.json()["refused"].size() == 3);

  json k = f.pull_all(konawe);
  REQUIRE(k.size() == 0);  // its own op is not returned; Buton's is out of scope
  json b = f.pull_all(buton);
  REQUIRE(b.size() == 0);
  json p = f.pull_all(office);
  CHECK(p.size() == 2);

  Device konawe2 = f.device("dev-konawe-2", {"7402"});
  json k2 = f.pull_all(konawe2);
  REQUIRE(k2.size() == 1);
  CHECK(k2[0]["id"] == "rec-k1");
}

// The server writes an op without base for an unknown id directly (SyncService::apply_fresh);
// an op without base for an id it holds must still merge field by field.
TEST_CASE("an op without base on a known record merges - it does not replace the record") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const uint64_t h = hlc_now();
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", h, konawe_record_1())})).status == 200);
  // B writes phone without a base (it had not seen A's create: a concurrent first write),
  // then a create of the same id with one field different (an id collision, or a replay).
  json again = konawe_record_1();
  again["monthly_income"] = 5100000;
  auto pb = f.push(b, json::array({make_op(1, "rec-1", h + 5, json{{"phone", "081234567890"}}),
                                   make_op(2, "rec-1", h + 6, again)}));
  REQUIRE(pb.status == 200);
  CHECK(pb.json()["applied"] == 2);
  json recs = f.records(f.reviewer());
  REQUIRE(recs.size() == 1);
  const json& r = recs[0];
  CHECK(r["fields"]["full_name"] == "Wulan Pratama");  // kept from A's create
  CHECK(r["fields"]["phone"] == "08222672973");        // B's create (h + 6) is newest
  CHECK(r["fields"]["monthly_income"] == 5100000);
  CHECK(r["versions"]["monthly_income"][1] == "dev-b");
  CHECK(r["versions"]["nik"][1] == "dev-b");  // same value, newer version
  // The log holds all three ops; a third device pulls them and nothing else.
  Device c = f.device("dev-c", {"7402"});
  CHECK(f.pull_all(c).size() == 3);
}

TEST_CASE("a far-future hlc is re-stamped with the server clock") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  const uint64_t future = lumbung::hlc::make(wall_ms() + 5LL * 365 * 24 * 3600 * 1000, 0);
  const uint64_t near = lumbung::hlc::make(wall_ms() + 10 * 60 * 1000, 0);  // 10 min: allowed
  auto r = f.push(a, json::array({make_op(1, "rec-1", future, konawe_record_1()),
                                  make_op(2, "rec-2", near, konawe_record_2())}));
  REQUIRE(r.status == 200);
  json rs = r.json()["restamped"];
  REQUIRE(rs.size() == 1);
  CHECK(rs[0]["seq"] == 1);
  const uint64_t h = rs[0]["hlc"];
  CHECK(h < future);
  CHECK(lumbung::hlc::physical_ms(h) <= wall_ms() + 60 * 60 * 1000);
  json pulled = f.pull_all(b);
  REQUIRE(pulled.size() == 2);
  CHECK(pulled[0]["hlc"] == h);
  CHECK(pulled[1]["hlc"] == near);
}

TEST_CASE("a restart keeps records - devices - tokens - cursors and acked seqs") {
  ServerFixture f;
  Device a = f.device("dev-a", {"7402"});
  Device b = f.device("dev-b", {"7402"});
  REQUIRE(f.push(a, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1())})).status ==
          200);
  std::string cursor;
  REQUIRE(f.pull_all(b, &cursor).size() == 1);
  const std::string reviewer = f.reviewer();
  const json before = f.records(reviewer);

  const int status = f.server().stop();  // SIGTERM: a graceful close, exit code 0
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  f.start();
  CHECK(f.server().startup_lines().size() == 1);  // no new admin token printed
  CHECK(f.records(reviewer) == before);
  CHECK(f.pull_all(b).size() == 1);  // from the start again
  auto retry = f.push(a, json::array({make_op(1, "rec-1", hlc_now(), konawe_record_1())}));
  CHECK(retry.json()["applied"] == 0);
  // With a status report (not part of the change-set format; stripped before decoding).
  auto with_report = f.http().post(
      "/v1/push",
      json{{"device", a.id},
           {"ops", json::array({make_op(2, "rec-2", hlc_now(), konawe_record_2())})},
           {"report", {{"pending", 5}, {"records", 2}, {"oldest_pending_ms", 1700000000000}}}},
      a.token, true);
  REQUIRE(with_report.status == 200);
  json more = f.pull_all(b, &cursor);  // the old cursor still works
  REQUIRE(more.size() == 1);
  CHECK(more[0]["id"] == "rec-2");
  auto devices = f.http().get("/v1/admin/devices", f.admin()).json()["devices"];
  REQUIRE(devices.size() == 2);
  CHECK(devices[0]["device_id"] == "dev-a");
  CHECK(devices[0]["acked_seq"] == 2);
  CHECK(devices[0]["status"]["pending"] == 5);
  CHECK(devices[0]["last_sync_ms"].get<int64_t>() > 0);
  CHECK(devices[1]["last_seen_ms"].get<int64_t>() > 0);  // pulls count as seen
}

TEST_CASE("concurrent pushes from many devices: every op logged once - each device in seq order") {
  ServerFixture f;
  constexpr int kDevices = 8, kBatches = 3, kOps = 50;
  std::vector<Device> devices;
  for (int d = 0; d < kDevices; ++d)
    devices.push_back(f.device("dev-" + std::to_string(d), {"7402"}));
  Device reader = f.device("dev-reader", {"7402"});
  std::vector<int> failures(kDevices, 0);
  std::vector<std::thread> threads;
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      HttpTestClient http(f.server().base_url());
      uint64_t seq = 1;
      for (int b = 0; b < kBatches; ++b) {
        json ops = json::array();
        for (int i = 0; i < kOps; ++i, ++seq) {
          json rec = konawe_record_2();
          // A create must be a whole record; a NIK of its own (serial digits) per record
          // keeps this test free of duplicates.
          char serial[8];
          std::snprintf(serial, sizeof serial, "%04d", d * 200 + static_cast<int>(seq));
          rec["nik"] = "740210060781" + std::string(serial);
          ops.push_back(make_op(seq, "rec-" + std::to_string(d) + "-" + std::to_string(seq),
                                hlc_now(seq), rec));
        }
        auto r = http.post("/v1/push", json{{"device", devices[d].id}, {"ops", ops}},
                           devices[d].token, true);
        if (r.status != 200 || r.json()["acked_seq"] != seq - 1) ++failures[d];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int d = 0; d < kDevices; ++d) CHECK(failures[d] == 0);
  json all = f.pull_all(reader);
  CHECK(all.size() == size_t{kDevices * kBatches * kOps});
  std::map<std::string, uint64_t> last;
  bool ordered = true;
  for (const auto& op : all) {
    uint64_t& l = last[op["dev"].get<std::string>()];
    ordered = ordered && op["seq"].get<uint64_t>() == l + 1;
    l = op["seq"];
  }
  CHECK(ordered);
}

// Push and pull throughput with workload records (LUMBUNG_PERF_RECORDS, default 10,000;
// the target is measured with 100,000). Prints records/s and wire bytes.
TEST_CASE("throughput: push and pull workload records in batches of 2 000") {
  const char* env = std::getenv("LUMBUNG_PERF_RECORDS");
  const size_t n = env ? std::strtoul(env, nullptr, 10) : 10000;
  const std::string path = std::string(LUMBUNG_SHARED_DIR) + "/workload/enrolments-100k.ndjson.gz";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    MESSAGE("workload file not found; skipping");
    return;
  }
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string text = gunzip_bytes(gz);
  ServerFixture f;
  std::vector<std::string> provinces;  // every two-digit prefix: the whole country
  for (int p = 10; p <= 99; ++p) provinces.push_back(std::to_string(p));
  Device a = f.device("dev-a", provinces);
  Device b = f.device("dev-b", provinces);
  std::vector<json> batches;
  json ops = json::array();
  size_t count = 0, pos = 0;
  uint64_t h = hlc_now();
  while (count < n && pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    json rec = json::parse(text.substr(pos, nl - pos));
    pos = nl + 1;
    const std::string id = rec["id"];
    rec.erase("id");
    ++count;
    ops.push_back(make_op(count, id, ++h, std::move(rec)));
    if (ops.size() == 2000) {
      batches.push_back(json{{"device", a.id}, {"ops", std::move(ops)}});
      ops = json::array();
    }
  }
  if (!ops.empty()) batches.push_back(json{{"device", a.id}, {"ops", std::move(ops)}});
  std::vector<std::string> bodies;
  for (auto& bt : batches) bodies.push_back(gzip_bytes(bt.dump()));
  batches.clear();

  size_t up = 0;
  const auto t0 = std::chrono::steady_clock::now();
  // Send the pre-gzip'ed bodies as-is.
  size_t pushed = 0;
  for (const auto& body : bodies) {
    RequestOptions o;
    o.token = a.token;
    o.headers["Content-Encoding"] = "gzip";
    auto r = f.http().request("POST", "/v1/push", body, o);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    pushed = r.json()["acked_seq"];
    up += body.size() + r.wire_body_bytes;
  }
  const double push_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(pushed == count);

  const auto t1 = std::chrono::steady_clock::now();
  size_t got = 0, down = 0, requests = 0;
  std::string cursor;
  for (int i = 0; i < 10000; ++i) {
    auto r = f.http().get("/v1/pull?cursor=" + cursor, b.token);
    REQUIRE(r.status == 200);
    ++requests;
    down += r.wire_body_bytes;
    json j = r.json();
    got += j["ops"].size();
    cursor = j["next"];
    if (!j["more"].get<bool>()) break;
  }
  const double pull_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  CHECK(got == count);
  const std::string status =
      read_text_file("/proc/" + std::to_string(f.server().pid()) + "/status");
  const size_t hwm = status.find("VmHWM:");
  const long rss_kb =
      hwm == std::string::npos ? 0 : std::strtol(status.c_str() + hwm + 6, nullptr, 10);
  std::printf("throughput: server peak RSS %.0f MB\n", rss_kb / 1024.0);
  std::printf(
      "throughput: %zu records; push %.0f rec/s (%.2f s, %.1f body bytes/rec); "
      "pull %.0f rec/s (%.2f s, %.1f body bytes/rec, %zu requests)\n",
      count, count / push_s, push_s, double(up) / count, count / pull_s, pull_s,
      double(down) / count, requests);
}

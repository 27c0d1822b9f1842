// The thread-safety lumbung.h promises, through liblumbung.so only: one lb_store used by
// several threads at once; a sync running on a background thread while other threads
// write and read; two threads calling lb_sync_run on one handle (serialised); a cancel
// from another thread. Each thread has its own lb_error.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lumbung/lumbung.h"
#include "support/http_test_client.h"
#include "support/server_process.h"

using nlohmann::json;

namespace {

// Owns an lb_* buffer.
struct Text {
  char* p;
  explicit Text(char* s) : p(s) {}
  ~Text() { lb_free(p); }
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;
  json parse() const { return p ? json::parse(p) : json(); }
};

// A distinct valid enrolment in Kabupaten Konawe for each (thread, i).
std::string enrolment(int thread, int i) {
  const int serial = 1 + thread * 1000 + i;  // < 10000: the NIK's last four digits
  std::string digits = std::to_string(serial);
  json r{{"nik", "740211191180" + std::string(4 - digits.size(), '0') + digits},
         {"full_name", "Eko Setiawan"},
         {"birth_date", "1980-11-19"},
         {"gender", "L"},
         {"village_code", "74.02.11.1687"},
         {"position", "kasi pelayanan"},
         {"phone", "08952220666"},
         {"programs", {"JKK", "JKM"}},
         {"monthly_income", 1000000 + i},
         {"status", "submitted"},
         {"created_at", "2025-01-06T00:00:03.306Z"},
         {"officer_id", "OFC-0022"}};
  return r.dump();
}

struct StoreFile {
  lumbung::test::TempDir dir;
  lb_store* store = nullptr;
  explicit StoreFile(const char* device) {
    lb_error err;
    store =
        lb_store_open((dir.path() + "/s.db").c_str(), LUMBUNG_SCHEMA_FILE, device, nullptr, &err);
    REQUIRE_MESSAGE(store != nullptr, err.message);
  }
  ~StoreFile() { lb_store_close(store); }
};

size_t count_all(lb_store* s) {
  size_t n = 0;
  std::string after;
  for (int page = 0; page < 1000; ++page) {
    lb_error err;
    Text t(lb_store_query(s, "enrolment", nullptr, after.c_str(), 500, &err));
    REQUIRE(t.p);
    json j = t.parse();
    n += j["records"].size();
    if (j["next"].is_null()) break;
    after = j["next"];
  }
  return n;
}

constexpr int kThreads = 6;
constexpr int kPerThread = 40;

}  // namespace

TEST_CASE("several threads write - patch - read and list one store at once") {
  StoreFile f("threads-dev");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      lb_error err;  // one per thread
      for (int i = 0; i < kPerThread; ++i) {
        Text id(lb_store_put(f.store, "enrolment", enrolment(t, i).c_str(), &err));
        if (!id.p || err.code != LB_OK) {
          ++failures;
          continue;
        }
        if (lb_store_patch(f.store, "enrolment", id.p, R"({"phone": "081234567890"})", &err) !=
            LB_OK)
          ++failures;
        Text rec(lb_store_get(f.store, "enrolment", id.p, &err));
        if (!rec.p || rec.parse()["fields"]["phone"] != "081234567890") ++failures;
        // An invalid write from this thread reports its own error, not another thread's.
        Text bad(lb_store_put(f.store, "enrolment", R"({"nik": "123"})", &err));
        if (bad.p || err.code == LB_OK) ++failures;
        Text status(lb_store_status(f.store, &err));
        Text pending(lb_store_pending(f.store, 10, &err));
        if (!status.p || !pending.p) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(count_all(f.store) == size_t(kThreads * kPerThread));
  lb_error err;
  Text status(lb_store_status(f.store, &err));
  CHECK(status.parse()["pending_changes"] == 2 * kThreads * kPerThread);
}

TEST_CASE(
    "a sync on a background thread while other threads write - and a cancel from another thread") {
  lumbung::test::TempDir server_dir;
  lumbung::test::ServerProcess server(LUMBUNG_SERVER_BIN, server_dir.path() + "/data",
                                      server_dir.path() + "/admin-token");
  lumbung::test::HttpTestClient http(server.base_url());
  const std::string admin = lumbung::test::read_text_file(server_dir.path() + "/admin-token");
  auto code = [&] {
    auto r = http.post("/v1/admin/codes", json{{"scope", {"74.02"}}, {"label", "t"}}, admin);
    REQUIRE(r.status == 201);
    return r.json()["code"].get<std::string>();
  };

  StoreFile f("threads-sync");
  lb_error err;
  lb_sync* sync = lb_sync_new(f.store, server.base_url().c_str(), nullptr, &err);
  REQUIRE(sync);
  Text token(lb_sync_register(sync, code().c_str(), "threads", &err));
  REQUIRE_MESSAGE(token.p, err.message);

  std::atomic<bool> writing{true};
  std::atomic<int> failures{0}, syncs{0};
  // The background syncer: runs again and again while the writers write.
  std::thread syncer([&] {
    lb_error e;
    while (writing) {
      if (lb_sync_run(sync, nullptr, nullptr, nullptr, &e) != LB_OK) ++failures;
      ++syncs;
    }
  });
  // A second thread calling lb_sync_run on the same handle: serialised, both succeed.
  std::thread second([&] {
    lb_error e;
    for (int i = 0; i < 3; ++i) {
      char* report = nullptr;
      if (lb_sync_run(sync, nullptr, nullptr, &report, &e) != LB_OK || !report) ++failures;
      lb_free(report);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      lb_error e;
      for (int i = 0; i < kPerThread; ++i) {
        Text id(lb_store_put(f.store, "enrolment", enrolment(t, i).c_str(), &e));
        if (!id.p) ++failures;
        Text page(lb_store_query(f.store, "enrolment", "7402", nullptr, 20, &e));
        if (!page.p) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  writing = false;
  syncer.join();
  second.join();
  CHECK(failures == 0);
  CHECK(syncs > 0);

  // A final run pushes whatever the loop missed: nothing left pending, all on the server.
  char* report = nullptr;
  REQUIRE(lb_sync_run(sync, nullptr, nullptr, &report, &err) == LB_OK);
  lb_free(report);
  Text status(lb_store_status(f.store, &err));
  CHECK(status.parse()["pending_changes"] == 0);
  const std::string reviewer =
      http.post("/v1/admin/tokens", json{{"role", "reviewer"}, {"label", "r"}}, admin)
          .json()["token"];
  auto records =
      http.get("/v1/records?collection=enrolment&limit=10000", reviewer).json()["records"];
  CHECK(records.size() == size_t(3 * kPerThread));

  // Cancel from another thread while a run is in progress: the progress callback blocks
  // until the cancel has been issued, so the run is certainly in progress.
  for (int i = 0; i < 5; ++i) {
    Text id(lb_store_put(f.store, "enrolment", enrolment(5, i).c_str(), &err));
    REQUIRE(id.p);
  }
  struct Gate {
    std::atomic<bool> in_run{false}, cancelled{false};
  } gate;
  auto wait_for_cancel = [](const lb_progress*, void* user) -> int {
    auto* g = static_cast<Gate*>(user);
    g->in_run = true;
    for (int i = 0; i < 1000 && !g->cancelled; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  };
  int result = -1;
  std::thread runner([&] {
    lb_error e;
    result = lb_sync_run(sync, wait_for_cancel, &gate, nullptr, &e);
  });
  for (int i = 0; i < 1000 && !gate.in_run; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  lb_sync_cancel(sync);  // from this (another) thread
  gate.cancelled = true;
  runner.join();
  CHECK(result == LB_ERR_CANCELLED);

  // A cancel with no run in progress does not cancel the next run.
  lb_sync_cancel(sync);
  CHECK(lb_sync_run(sync, nullptr, nullptr, nullptr, &err) == LB_OK);
  lb_sync_free(sync);
}

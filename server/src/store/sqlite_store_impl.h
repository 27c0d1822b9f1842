// Private to server/src/store: the SQLite server store's shared state (one writer connection,
// a pool of readers, the background checkpointer), used by its files: sqlite_server_store.cpp
// (opening, epochs, tokens, devices, audit), sqlite_pull_reads.cpp (the log and record reads
// of pulls and snapshots) and sqlite_review_pages.cpp (the review queues' pages).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_rows.h"
#include "store/sqlite_server_store.h"

namespace lumbung::server {

// Checkpoints run on a background thread, PASSIVE, every kCheckpointInterval (the writer's
// own safety net: sqlite_server_store.cpp).
inline constexpr auto kCheckpointInterval = std::chrono::milliseconds(500);

struct SqliteServerStore::Impl {
  struct Reader {
    std::mutex mu;
    std::unique_ptr<sql::Database> db;
  };
  std::string path;
  bool restored = false;  // restored_at_start()
  std::mutex write_mu;
  std::unique_ptr<sql::Database> writer;
  std::vector<std::unique_ptr<Reader>> readers;
  std::atomic<size_t> next_reader{0};
  std::vector<Epoch> epochs;  // read at open, then only this start's epoch is added
  // Set once at start (seal_personal_data); null = in clear.
  std::unique_ptr<sqlite_detail::Sealer> sealer;

  // Background checkpointer: its own connection, woken every kCheckpointInterval.
  std::unique_ptr<sql::Database> checkpointer;
  std::thread checkpoint_thread;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;

  void checkpoint_loop() {
    std::unique_lock<std::mutex> lock(stop_mu);
    while (!stop_cv.wait_for(lock, kCheckpointInterval, [this] { return stopping; })) {
      int log_frames = 0, done_frames = 0;
      const int rc = sqlite3_wal_checkpoint_v2(
          checkpointer->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        std::fprintf(stderr, "lumbung-server: background checkpoint failed (%d)\n", rc);
      }
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(stop_mu);
      stopping = true;
    }
    stop_cv.notify_all();
    if (checkpoint_thread.joinable()) checkpoint_thread.join();
  }

  // A reader connection held for the lifetime of the lease.
  class Lease {
   public:
    explicit Lease(Impl& impl) {
      const size_t n = impl.readers.size();
      const size_t start = impl.next_reader.fetch_add(1) % n;
      for (size_t i = 0; i < n && !r_; ++i) {
        Reader& cand = *impl.readers[(start + i) % n];
        if (cand.mu.try_lock()) r_ = &cand;
      }
      if (!r_) {  // all busy: wait for one
        r_ = impl.readers[start].get();
        r_->mu.lock();
      }
    }
    ~Lease() { r_->mu.unlock(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    sql::Database& db() { return *r_->db; }

   private:
    Reader* r_ = nullptr;
  };
};

}  // namespace lumbung::server

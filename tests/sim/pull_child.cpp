// Helper process for tests/sim/crash_test.cpp: opens a device store and pulls from a real server in
// small pages (or streamed frames of as many ops), printing "page N OPS" after each committed
// page, so the parent can SIGKILL it mid-pull.
// Usage: lumbung-pull-child URL STORE DEVICE_ID TOKEN SCHEMA pages|stream
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "lumbung/store.h"
#include "lumbung/sync.h"

int main(int argc, char** argv) {
  if (argc != 7) return 2;
  const std::string mode = argv[6];
  if (mode != "pages" && mode != "stream") return 2;
  using namespace lumbung;
  OpenOptions o;
  o.path = argv[2];
  o.schema = Schema::load_file(argv[5]);
  o.device_id = argv[3];
  auto store = Store::open(o);
  auto transport = make_http_transport(argv[1]);
  SyncClient client(*store, *transport, argv[4]);
  SyncOptions so;
  so.pull_page = 20;
  so.pull_stream = mode == "stream";
  so.sleep = [](int) {};
  int pages = 0;
  uint64_t committed = 0;
  // Progress also comes while bytes arrive; only a grown ops_pulled means a committed page.
  so.on_progress = [&](const SyncProgress& p) {
    if (p.phase == SyncProgress::Phase::kPull && p.ops_pulled > committed) {
      committed = p.ops_pulled;
      std::this_thread::sleep_for(std::chrono::milliseconds(40));  // room for the kill
      std::printf("page %d %llu\n", ++pages, static_cast<unsigned long long>(committed));
      std::fflush(stdout);
    }
  };
  client.pull(so);
  std::printf("done\n");
  return 0;
}

// Helper process for tests/sim/crash_test.cpp: opens a device store and pulls from a real server in
// small pages, printing "page N" after each committed page, so the parent can SIGKILL it
// mid-pull. Usage: lumbung-pull-child URL STORE DEVICE_ID TOKEN SCHEMA
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "lumbung/store.h"
#include "lumbung/sync.h"

int main(int argc, char** argv) {
  if (argc != 6) return 2;
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
  so.sleep = [](int) {};
  int pages = 0;
  so.on_progress = [&](const SyncProgress& p) {
    if (p.phase == SyncProgress::Phase::kPull) {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));  // room for the kill
      std::printf("page %d\n", ++pages);
      std::fflush(stdout);
    }
  };
  client.pull(so);
  std::printf("done\n");
  return 0;
}

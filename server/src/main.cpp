// lumbung-server: the central sync server.
//
//   lumbung-server --listen 127.0.0.1:PORT --data DIR [--schema PATH] [--admin-token-file PATH]
//
// PORT 0 picks a free port. Prints exactly "listening on http://127.0.0.1:<port>" on stdout
// once ready; on the first start with an empty data directory it first prints
// "admin token: <token>" (the only time it is shown; --admin-token-file also writes it to
// a 0600 file for scripts). SIGINT/SIGTERM close the listener and exit 0.
// Logs (stderr) carry counts, device ids and seqs only, never record contents.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "api/router.h"
#include "auth/enrolment.h"
#include "auth/tokens.h"
#include "http/http_listener.h"
#include "lumbung/error.h"
#include "metrics/metrics.h"
#include "review/review_service.h"
#include "store/sqlite_server_store.h"
#include "sync/sync_service.h"

#ifndef LUMBUNG_DEFAULT_SCHEMA
#define LUMBUNG_DEFAULT_SCHEMA "schema/enrolment.schema.json"
#endif

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string data;
  std::string schema = LUMBUNG_DEFAULT_SCHEMA;
  std::string admin_token_file;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "lumbung-server: %s\n"
               "usage: lumbung-server --listen HOST:PORT --data DIR [--schema PATH] "
               "[--admin-token-file PATH]\n",
               why.c_str());
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool have_listen = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--listen") {
      const std::string v = value();
      const auto colon = v.rfind(':');
      if (colon == std::string::npos) usage("--listen must be HOST:PORT");
      o.host = v.substr(0, colon);
      try {
        o.port = std::stoi(v.substr(colon + 1));
      } catch (...) {
        usage("--listen port must be a number");
      }
      if (o.port < 0 || o.port > 65535) usage("--listen port out of range");
      have_listen = true;
    } else if (a == "--data") {
      o.data = value();
    } else if (a == "--schema") {
      o.schema = value();
    } else if (a == "--admin-token-file") {
      o.admin_token_file = value();
    } else if (a == "--help" || a == "-h") {
      usage("help");
    } else {
      usage("unknown argument " + a);
    }
  }
  if (!have_listen) usage("--listen is required");
  if (o.data.empty()) usage("--data is required");
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_secret_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  const std::string line = text + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lumbung;
  using namespace lumbung::server;
  const Options opt = parse_args(argc, argv);

  // Block the stop signals in every thread (threads inherit the mask); main waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  HttpListener::initialize_threads(4);
  try {
    if (::mkdir(opt.data.c_str(), 0700) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create data directory " + opt.data);
    }
    const std::string schema_text = read_file(opt.schema);
    auto schema = Schema::parse(Json::parse(schema_text));
    auto store = SqliteServerStore::open(opt.data);
    const std::string last = store->read_meta("clock");
    HybridClock clock(system_wall_clock(), last.empty() ? 0 : std::stoull(last));
    Metrics metrics;
    SyncService sync(*schema, *store, clock, system_wall_clock(), metrics);
    ReviewService review(*store, sync, metrics);
    Enrolment enrolment(*store, sync, system_wall_clock());
    Authenticator auth(*store);
    Router router(*schema, schema_text, sync, review, enrolment, auth, metrics);

    const std::string admin = enrolment.bootstrap_admin();
    if (!admin.empty()) {
      std::cout << "admin token: " << admin << std::endl;
      if (!opt.admin_token_file.empty()) write_secret_file(opt.admin_token_file, admin);
    }

    std::unique_ptr<HttpListener> listener;
    for (int attempt = 0; attempt < 5 && !listener; ++attempt) {
      const uint16_t port = opt.port == 0 ? HttpListener::pick_free_port(opt.host)
                                          : static_cast<uint16_t>(opt.port);
      auto l = std::make_unique<HttpListener>(opt.host, port, router);
      try {
        l->open();
        listener = std::move(l);
      } catch (const std::exception& e) {
        if (opt.port != 0 || attempt == 4) throw;
      }
    }
    std::cout << "listening on http://" << opt.host << ":" << listener->port() << std::endl;
    std::fprintf(stderr, "lumbung-server: schema %s v%d, data in %s\n", schema->name().c_str(),
                 schema->version(), opt.data.c_str());

    int sig = 0;
    sigwait(&stop, &sig);
    std::fprintf(stderr, "lumbung-server: signal %d, closing\n", sig);
    listener->close();
    sync.flush_activity();
    {
      auto txn = store->begin_write();
      txn->set_meta("clock", std::to_string(clock.last()));
      txn->commit();
    }
    return 0;
  } catch (const lumbung::Error& e) {
    std::fprintf(stderr, "lumbung-server: %s: %s\n", error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lumbung-server: %s\n", e.what());
    return 1;
  }
}

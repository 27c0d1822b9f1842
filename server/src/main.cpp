// lumbung-server: the central sync server.
//
//   lumbung-server --listen HOST:PORT --data DIR [--key-file PATH] [--schema PATH]
//   lumbung-server --listen HOST:PORT --db postgresql://... --key-file PATH [...]
//                  [--admin-token-file PATH]
//                  [--tls-cert FILE --tls-key FILE | --insecure-http] [--new-admin-token]
//                  [--admin-token-hours N] [--reviewer-token-hours N]
//                  [--rate-limit-device R/B] [--rate-limit-address R/B] [--slow-client-ms N]
//
// Transport: with --tls-cert/--tls-key it serves HTTPS and prints "tls pin sha256: <hex>"
// (what clients pin) before the listening line. Plain HTTP needs --insecure-http, except on
// a loopback IP address (127.0.0.0/8 or ::1, never a host name), where it is the default for
// local demos and tests; either way plain HTTP prints a warning on stderr. Any other
// address without TLS is refused.
//
// PORT 0 picks a free port. Prints exactly "listening on http(s)://HOST:<port>" on stdout
// once ready; on the first start with an empty data directory it first prints
// "admin token: <token>" (the only time it is shown), or with --admin-token-file writes it
// only to that 0600 file and prints "admin token written to PATH". SIGINT/SIGTERM close
// the listener and exit 0.
// Logs (stderr) carry counts, device ids and seqs only, never record contents.
//
// Database: --data DIR keeps everything in one SQLite file in DIR (one server process);
// --db takes a libpq connection URI instead, and any number of server processes may share
// that PostgreSQL database (store/pg_server_store.h). They must share one --key-file too.
//
// Keys: --key-file (default "<DIR>.key", beside the data directory) holds the secret of the
// audit chain and of the personal data sealed in the database (keys/server_keys.h,
// store/sealer.h). It is created, 0600, at the first
// start; the server refuses to start if it is missing for a data directory keyed with it,
// belongs to another one, or can be read by group or others.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "api/router.h"
#include "attach/attachment_service.h"
#include "audit/audit_log.h"
#include "auth/enrolment.h"
#include "auth/rate_limiter.h"
#include "auth/tokens.h"
#include "http/http_listener.h"
#include "keys/server_keys.h"
#include "lumbung/error.h"
#include "lumbung/tuning.h"
#include "metrics/metrics.h"
#include "review/review_service.h"
#include "store/migrate_sqlite_to_pg.h"
#include "store/pg_attachment_bytes.h"
#include "store/pg_server_store.h"
#include "store/sqlite_server_store.h"
#include "sync/op_upgrade.h"
#include "sync/sync_service.h"
#include "web/web_app.h"

#ifndef LUMBUNG_DEFAULT_SCHEMA
#define LUMBUNG_DEFAULT_SCHEMA "schema/enrolment.schema.json"
#endif

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string data;
  std::string db;  // libpq URI; when set, the PostgreSQL store instead of --data
  std::string key_file;
  std::string schema = LUMBUNG_DEFAULT_SCHEMA;
  std::string admin_token_file;
  std::string tls_cert;
  std::string tls_key;
  bool insecure_http = false;
  bool serve_moved_data = false;  // --data DIR that lumbung-admin migrate moved to PostgreSQL
  bool new_admin_token = false;
  int64_t admin_token_hours = lumbung::kAdminTokenTtlHours;
  int64_t reviewer_token_hours = lumbung::kReviewerTokenTtlHours;
  double device_rate = lumbung::kDeviceRatePerSec;
  double device_burst = lumbung::kDeviceRateBurst;
  double address_rate = lumbung::kAddressRatePerSec;
  double address_burst = lumbung::kAddressRateBurst;
  int slow_client_ms = lumbung::kSlowClientTimeoutMs;
  bool push_stream = true;                  // --no-push-stream: read no streamed push, and say so
  std::string attachments;                  // "" = <data>/attachments; --db: the database
  int64_t attachment_quota_mb = 0;          // 0 = AttachmentLimits' default
  int64_t attachment_age_offset_hours = 0;  // tests: the collector's clock runs ahead
  int64_t attachment_gc_pause_ms = 0;       // tests: a pause between scan and removals
};

// A loopback IP address written as one (127.0.0.0/8 or ::1), never a host name: a name
// such as "127.example" or "localhost" resolves through DNS or /etc/hosts to anything.
bool is_loopback_address(const std::string& host) {
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "lumbung-server: %s\n"
      "usage: lumbung-server --listen HOST:PORT --data DIR [--key-file PATH] [--schema PATH]\n"
      "       lumbung-server --listen HOST:PORT --db postgresql://... --key-file PATH [...]\n"
      "         [--admin-token-file PATH] [--new-admin-token]\n"
      "         [--serve-moved-data]   (--data that lumbung-admin migrate moved: undo the move)\n"
      "         [--tls-cert FILE --tls-key FILE | --insecure-http]\n"
      "         [--admin-token-hours N] [--reviewer-token-hours N]   (0 = never expire)\n"
      "         [--rate-limit-device RATE/BURST] [--rate-limit-address RATE/BURST] (0 = off)\n"
      "         [--slow-client-ms N]   (0 = never cut stalled connections)\n"
      "         [--no-push-stream]   (refuse streamed pushes as an older server: batches)\n"
      "         [--attachments DIR] [--attachment-quota-mb N]   (per device)\n"
      "         [--attachment-age-offset-hours N]   (tests: attachments look N hours older)\n"
      "         [--attachment-gc-pause-ms N]   (tests: collections wait N ms after their scan)\n",
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
    } else if (a == "--db") {
      o.db = value();
    } else if (a == "--key-file") {
      o.key_file = value();
    } else if (a == "--attachments") {
      o.attachments = value();
    } else if (a == "--attachment-quota-mb") {
      o.attachment_quota_mb = std::atoll(value().c_str());
      if (o.attachment_quota_mb <= 0) usage("--attachment-quota-mb must be positive");
    } else if (a == "--attachment-age-offset-hours") {
      // Lets a test see the 24 h of orphan collection pass without waiting them.
      o.attachment_age_offset_hours = std::atoll(value().c_str());
      if (o.attachment_age_offset_hours < 0 || o.attachment_age_offset_hours > 24 * 365) {
        usage("--attachment-age-offset-hours must be 0-8760");
      }
    } else if (a == "--attachment-gc-pause-ms") {
      // Lets a test act between a collection's scan of the records and its removals.
      o.attachment_gc_pause_ms = std::atoll(value().c_str());
      if (o.attachment_gc_pause_ms < 0 || o.attachment_gc_pause_ms > 60000) {
        usage("--attachment-gc-pause-ms must be 0-60000");
      }
    } else if (a == "--schema") {
      o.schema = value();
    } else if (a == "--admin-token-file") {
      o.admin_token_file = value();
    } else if (a == "--tls-cert") {
      o.tls_cert = value();
    } else if (a == "--tls-key") {
      o.tls_key = value();
    } else if (a == "--insecure-http") {
      o.insecure_http = true;
    } else if (a == "--no-push-stream") {
      o.push_stream = false;
    } else if (a == "--serve-moved-data") {
      o.serve_moved_data = true;
    } else if (a == "--new-admin-token") {
      o.new_admin_token = true;
    } else if (a == "--admin-token-hours" || a == "--reviewer-token-hours" ||
               a == "--slow-client-ms") {
      const std::string v = value();
      int64_t n = -1;
      try {
        n = std::stoll(v);
      } catch (...) {
      }
      if (n < 0 || n > 24LL * 365 * 10) usage(a + " must be a whole number >= 0");
      if (a == "--admin-token-hours") o.admin_token_hours = n;
      if (a == "--reviewer-token-hours") o.reviewer_token_hours = n;
      if (a == "--slow-client-ms") o.slow_client_ms = static_cast<int>(n);
    } else if (a == "--rate-limit-device" || a == "--rate-limit-address") {
      const std::string v = value();
      double rate = -1, burst = 1;
      const auto slash = v.find('/');
      try {
        rate = std::stod(v.substr(0, slash));
        if (slash != std::string::npos) burst = std::stod(v.substr(slash + 1));
      } catch (...) {
        rate = -1;
      }
      if (rate < 0 || burst < 1) usage(a + " must be RATE/BURST, e.g. 20/60 (0 = off)");
      if (slash == std::string::npos) burst = std::max(1.0, rate * 3);
      (a == "--rate-limit-device" ? o.device_rate : o.address_rate) = rate;
      (a == "--rate-limit-device" ? o.device_burst : o.address_burst) = burst;
    } else if (a == "--help" || a == "-h") {
      usage("help");
    } else {
      usage("unknown argument " + a);
    }
  }
  if (!have_listen) usage("--listen is required");
  if (o.data.empty() == o.db.empty()) usage("give one of --data DIR and --db URI");
  // With --db there is no directory to put the key file beside, and every server process
  // of one database needs the same one.
  if (!o.db.empty() && o.key_file.empty()) usage("--db needs --key-file");
  if (o.key_file.empty()) o.key_file = lumbung::server::ServerKeys::default_path(o.data);
  if (o.key_file.empty()) usage("--key-file is required when --data has no name to put it beside");
  if (o.tls_cert.empty() != o.tls_key.empty()) usage("--tls-cert and --tls-key go together");
  if (!o.tls_cert.empty() && o.insecure_http) usage("--insecure-http contradicts --tls-cert");
  if (o.tls_cert.empty() && !o.insecure_http && !is_loopback_address(o.host)) {
    usage("refusing to serve plain HTTP on " + o.host +
          ": tokens and personal data would cross the network in clear text.\n"
          "  Give --tls-cert FILE --tls-key FILE (tools/dev-cert.sh makes a pair), or\n"
          "  --insecure-http if something else (a TLS proxy) encrypts the link");
  }
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
    if (opt.db.empty() && ::mkdir(opt.data.c_str(), 0700) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create data directory " + opt.data);
    }
    const std::string file_text = read_file(opt.schema);
    Schema::parse(Json::parse(file_text));  // a broken file stops the server before the store opens
    std::unique_ptr<SqliteServerStore> sqlite_store;
    std::unique_ptr<PgServerStore> pg_store;
    if (opt.db.empty()) {
      sqlite_store = SqliteServerStore::open(opt.data, opt.serve_moved_data);
    } else {
      pg_store = PgServerStore::open(opt.db);
    }
    ServerStore* store = pg_store ? static_cast<ServerStore*>(pg_store.get()) : sqlite_store.get();
    // Every version served is kept; the newest published one is active (sync/op_upgrade.h).
    SchemaStart versions = open_schema_versions(*store, Json::parse(file_text));
    if (!versions.note.empty()) std::fprintf(stderr, "lumbung-server: %s\n", versions.note.c_str());
    auto schema = versions.history->current_ptr();
    const std::string schema_text = versions.history->current_document().dump(2);
    ServerKeys::DbFacts facts;
    {
      auto txn = store->begin_write();
      facts.key_id = txn->meta("key_id");
      facts.audit_count = txn->audit_head().first;
    }
    const auto keys = ServerKeys::open_or_create(opt.key_file, facts);
    if (keys->created()) {
      std::fprintf(stderr,
                   "lumbung-server: created key file %s (key %s). Keep a copy apart from the data "
                   "directory and its backups: without it the audit log cannot be verified nor the "
                   "personal data read.\n",
                   keys->path().c_str(), keys->key_id().c_str());
    }
    if (const uint64_t n = pg_store ? pg_store->seal_personal_data(*keys, *schema)
                                    : sqlite_store->seal_personal_data(*keys, *schema);
        n > 0) {
      std::fprintf(stderr, "lumbung-server: sealed the personal data of %llu rows kept in clear\n",
                   static_cast<unsigned long long>(n));
    }
    // Records move to the newest schema version only now: reading them needs the keys.
    if (const std::string moved = activate_schema_version(*store, *versions.history);
        !moved.empty()) {
      std::fprintf(stderr, "lumbung-server: %s\n", moved.c_str());
    }
    HybridClock clock(system_wall_clock(), server_clock_start(*store, system_wall_clock()));
    Metrics metrics;
    SyncService sync(*schema, *store, clock, system_wall_clock(), metrics);
    // A version published through the API is active at once (sync/op_upgrade.h).
    LiveSchema live(*store, std::move(versions.history));
    sync.set_schema_history(&live.history());
    ReviewService review(*store, sync, metrics);
    Enrolment enrolment(*store, sync, system_wall_clock());
    if (!opt.tls_cert.empty()) enrolment.set_tls_pin(HttpListener::public_key_pin(opt.tls_cert));
    enrolment.set_token_ttl_hours(opt.reviewer_token_hours, opt.admin_token_hours);
    Authenticator auth(*store, system_wall_clock());
    Router router(*schema, schema_text, sync, review, enrolment, auth, metrics);
    AuditLog audit(*store, system_wall_clock(), keys.get());
    audit.adopt_keys();
    audit_migration_once(*store, audit);
    RateLimiter per_address(opt.address_rate, opt.address_burst, kRateLimiterMaxKeys);
    RateLimiter per_principal(opt.device_rate, opt.device_burst, kRateLimiterMaxKeys);
    router.set_security(Router::Security{&per_address, &per_principal, &audit});
    router.set_schema_keys(keys.get());
    router.set_push_stream(opt.push_stream);
    // The office web page on the same port (docs/DASHBOARD.md); its cookies are Secure under TLS.
    WebApp web(*store, sync, auth, system_wall_clock());
    web.set_secure_cookies(!opt.tls_cert.empty());
    web.set_audit(&audit);
    router.set_web(&web);
    // Attachment bytes outside the record tables, sealed under a key of their own from the
    // key file: files (attach/attachment_files.h), or with --db two tables every server
    // process shares (store/pg_attachment_bytes.h) unless --attachments names a directory.
    std::unique_ptr<AttachmentService> attachments;
    const std::string att_dir = !opt.attachments.empty() ? opt.attachments
                                : opt.db.empty()         ? opt.data + "/attachments"
                                                         : std::string();
    {
      AttachmentLimits limits;
      if (opt.attachment_quota_mb > 0) {
        limits.device_quota_bytes = static_cast<uint64_t>(opt.attachment_quota_mb) << 20;
      }
      limits.age_offset_ms = opt.attachment_age_offset_hours * 3600 * 1000;
      limits.scan_pause_ms = opt.attachment_gc_pause_ms;
      attachments = att_dir.empty()
                        ? std::make_unique<AttachmentService>(
                              *schema, *store, system_wall_clock(),
                              std::make_unique<PgAttachmentBytes>(
                                  opt.db, AttachmentService::sealing_key(keys->data_key())),
                              limits)
                        : std::make_unique<AttachmentService>(*schema, *store, system_wall_clock(),
                                                              att_dir, keys->data_key(), limits);
      attachments->start_collector(3600 * 1000);  // its first pass at once, in the background
      router.set_attachments(attachments.get());
    }
    live.on_publish(
        [&](const SchemaHistory& h) {
          // Before the records move: a renamed or added personal field is sealed.
          if (pg_store) {
            pg_store->seal_personal_data(*keys, h.current());
          } else {
            sqlite_store->seal_personal_data(*keys, h.current());
          }
        },
        [&](const SchemaHistory& h) {
          sync.set_schema_history(&h);
          if (attachments) attachments->set_schema(h.current());
        });
    router.set_live_schema(&live);

    std::string admin = enrolment.bootstrap_admin();
    if (admin.empty() && opt.new_admin_token) admin = enrolment.new_admin_token("recovery admin");
    if (!admin.empty()) {
      audit.record(nullptr, "create_token", token_id(secret_hash(admin)),
                   Json{{"role", "admin"}, {"at_start", true}});
      // With a file the token goes only there: stdout is often a log (systemd, run.sh).
      if (opt.admin_token_file.empty()) {
        std::cout << "admin token: " << admin << std::endl;
      } else {
        write_secret_file(opt.admin_token_file, admin);
        std::cout << "admin token written to " << opt.admin_token_file << std::endl;
      }
    }

    ListenerOptions lopt;
    lopt.tls_cert = opt.tls_cert;
    lopt.tls_key = opt.tls_key;
    lopt.slow_client_timeout_ms = opt.slow_client_ms;
    lopt.slow_client_min_bytes = kSlowClientMinBytes;
    if (!opt.tls_cert.empty()) {
      std::cout << "tls pin sha256: " << HttpListener::public_key_pin(opt.tls_cert) << std::endl;
    } else {
      std::fprintf(stderr,
                   "lumbung-server: WARNING: serving PLAIN HTTP on %s. Bearer tokens and "
                   "personal data cross the link unencrypted; anyone on the path can read and "
                   "replay them. Use --tls-cert/--tls-key outside a single machine.\n",
                   opt.host.c_str());
    }

    std::unique_ptr<HttpListener> listener;
    for (int attempt = 0; attempt < 5 && !listener; ++attempt) {
      const uint16_t port =
          opt.port == 0 ? HttpListener::pick_free_port(opt.host) : static_cast<uint16_t>(opt.port);
      auto l = std::make_unique<HttpListener>(opt.host, port, router, lopt);
      try {
        l->open();
        listener = std::move(l);
      } catch (const std::exception& e) {
        if (opt.port != 0 || attempt == 4) throw;
      }
    }
    std::cout << "listening on " << (listener->tls() ? "https://" : "http://") << opt.host << ":"
              << listener->port() << std::endl;
    std::fprintf(stderr, "lumbung-server: schema %s v%d, data in %s\n", schema->name().c_str(),
                 schema->version(), opt.db.empty() ? opt.data.c_str() : "PostgreSQL (--db)");

    int sig = 0;
    sigwait(&stop, &sig);
    std::fprintf(stderr, "lumbung-server: signal %d, closing\n", sig);
    listener->close();
    sync.flush_activity();
    audit.checkpoint();
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

// Child processes of lumbung-bench: the real lumbung-server, and the device worker (this
// same binary re-executed with --worker, so the device's memory figure is of a process that
// holds only a device's store and sync client, not the ~40 MB workload text).
// Every wait is bounded; processes are stopped by pid only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lumbung::bench {

class Subprocess {
 public:
  // fork/exec `argv` (argv[0] is the program path); its stdout is a pipe we read, its
  // stderr is inherited (or sent to `stderr_path` when not empty). Throws on failure.
  Subprocess(const std::vector<std::string>& argv, const std::string& stderr_path = {});
  ~Subprocess();  // SIGKILL + reap if still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // Next line of stdout (without "\n"), waiting at most `timeout_s`; nullopt on timeout/EOF.
  std::optional<std::string> read_line(double timeout_s);
  // Everything left on stdout until EOF or `timeout_s`.
  std::string read_rest(double timeout_s);
  // Waits for exit up to `timeout_s`; returns the waitpid status, or nullopt on timeout.
  std::optional<int> wait(double timeout_s);
  // SIGTERM, wait up to `grace_s`, then SIGKILL. Returns the wait status (-1 if gone).
  int stop(double grace_s = 10);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// Where the servers of this bench process keep their data (--backend): kSqlite, a fresh
// --data directory each; kPostgres, a fresh database each of one PostgreSQL cluster that the
// bench starts itself at its first server (tests/support/pg_cluster.h: initdb in /tmp, Unix
// socket only, fsync off; as `nobody` when run as root) and stops at exit. Set by main
// before any server starts.
enum class ServerBackend { kSqlite, kPostgres };
void set_server_backend(ServerBackend backend);
ServerBackend server_backend();
// The postmaster of the bench's PostgreSQL cluster (started on first use); kPostgres only.
pid_t postgres_pid();
// A fresh database of that cluster, for servers that are to share it.
std::string postgres_new_database();
// Size of a database of that cluster (pg_database_size), bytes; nullopt if it cannot be read.
std::optional<uint64_t> postgres_database_bytes(const std::string& db_url);
// Per table of that database with at least `min_bytes` in all: {name, heap+TOAST bytes
// (pg_table_size), index bytes (pg_indexes_size), live and dead row versions as the
// statistics last counted them (pg_stat_user_tables; may lag by a second)}, largest first;
// empty if unreadable.
struct TableBytes {
  std::string name;
  uint64_t table = 0;
  uint64_t indexes = 0;
  uint64_t live_rows = 0;
  uint64_t dead_rows = 0;
};
std::vector<TableBytes> postgres_table_bytes(const std::string& db_url, uint64_t min_bytes);

// lumbung-server on 127.0.0.1:0 with a fresh data directory (or database: ServerBackend);
// reads the "listening on" line and the admin token file.
class ServerProc {
 public:
  // Waits up to `ready_s` seconds for the server's "listening on" line. `db_url`: on
  // PostgreSQL, that database instead of a fresh one (its key file is <dir>/server.key).
  // `shared_dir`: where the key file and admin token file are, when several servers serve
  // one database (they must share the key; only the first start writes the token); default
  // `dir`. The server's log is <dir>/server.log either way.
  ServerProc(const std::string& binary, const std::string& dir, double ready_s = 30,
             const std::string& db_url = {}, const std::string& shared_dir = {});
  const std::string& url() const { return url_; }
  const std::string& admin_token() const { return admin_; }
  pid_t pid() const { return proc_.pid(); }
  uint16_t port() const { return port_; }
  // VmHWM of the server, MiB (read before stopping it).
  std::optional<double> peak_rss_mb() const;
  // User+system CPU of the server so far, seconds (cpu.h); nullopt once it is gone.
  std::optional<double> cpu_seconds() const;
  int stop() { return proc_.stop(); }

 private:
  std::string dir_;
  Subprocess proc_;
  std::string url_;
  std::string admin_;
  uint16_t port_ = 0;
};

}  // namespace lumbung::bench

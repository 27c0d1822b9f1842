#include "proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <libpq-fe.h>

#include "bench.h"
#include "cpu.h"
#include "rss.h"
#include "support/pg_cluster.h"

namespace lumbung::bench {

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::string& stderr_path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      const int e = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (e >= 0) dup2(e, STDERR_FILENO);
    }
    execv(args[0], args.data());
    std::fprintf(stderr, "lumbung-bench: exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  pid_ = pid;
  out_fd_ = fds[0];
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

std::optional<std::string> Subprocess::read_line(double timeout_s) {
  const double deadline = now_seconds() + timeout_s;
  for (;;) {
    const size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    if (eof_) return std::nullopt;
    const double left = deadline - now_seconds();
    if (left <= 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char tmp[65536];
    const ssize_t n = read(out_fd_, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

std::string Subprocess::read_rest(double timeout_s) {
  std::string out;
  const double deadline = now_seconds() + timeout_s;
  while (auto line = read_line(deadline - now_seconds())) out += *line + "\n";
  out += buf_;
  buf_.clear();
  return out;
}

std::optional<int> Subprocess::wait(double timeout_s) {
  if (pid_ <= 0) return -1;
  const double deadline = now_seconds() + timeout_s;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return -1;
    }
    if (now_seconds() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int Subprocess::stop(double grace_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  if (auto st = wait(grace_s)) return *st;
  kill(pid_, SIGKILL);
  return wait(5).value_or(-1);
}

namespace {
ServerBackend g_backend = ServerBackend::kSqlite;

std::vector<std::string> server_args(const std::string& binary, const std::string& dir,
                                     const std::string& db_url, const std::string& shared) {
  std::filesystem::create_directories(dir);
  // Plain HTTP on loopback, said explicitly; rate limits off because every simulated device
  // shares 127.0.0.1 and the bench measures capacity, not the admission policy.
  std::vector<std::string> args = {binary,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--admin-token-file",
                                   shared + "/admin-token",
                                   "--insecure-http",
                                   "--rate-limit-device",
                                   "0",
                                   "--rate-limit-address",
                                   "0"};
  if (g_backend == ServerBackend::kPostgres) {
    args.insert(args.end(),
                {"--db", db_url.empty() ? test::PgCluster::shared().create_database() : db_url,
                 "--key-file", shared + "/server.key"});
  } else {
    args.insert(args.end(), {"--data", dir + "/data"});
  }
  return args;
}
}  // namespace

void set_server_backend(ServerBackend backend) { g_backend = backend; }
ServerBackend server_backend() { return g_backend; }

ServerProc::ServerProc(const std::string& binary, const std::string& dir, double ready_s,
                       const std::string& db_url, const std::string& shared_dir)
    : dir_(dir),
      proc_(server_args(binary, dir, db_url, shared_dir.empty() ? dir : shared_dir),
            dir + "/server.log") {
  const double deadline = now_seconds() + ready_s;
  while (url_.empty()) {
    auto line = proc_.read_line(deadline - now_seconds());
    if (!line) {
      throw std::runtime_error("lumbung-server did not report its port within " +
                               std::to_string(static_cast<int>(ready_s)) + " s; see " + dir +
                               "/server.log");
    }
    static const std::string kPrefix = "listening on ";
    if (line->rfind(kPrefix, 0) == 0) {
      url_ = line->substr(kPrefix.size());
      while (!url_.empty() && (url_.back() == ' ' || url_.back() == '\r')) url_.pop_back();
      port_ = static_cast<uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
    }
  }
  const std::string token_file = (shared_dir.empty() ? dir : shared_dir) + "/admin-token";
  std::ifstream in(token_file);
  std::getline(in, admin_);
  if (admin_.empty()) throw std::runtime_error("no admin token in " + token_file);
}

std::optional<double> ServerProc::peak_rss_mb() const { return process_peak_rss_mb(proc_.pid()); }

std::optional<double> ServerProc::cpu_seconds() const { return process_cpu_seconds(proc_.pid()); }

pid_t postgres_pid() { return test::PgCluster::shared().pid(); }

std::string postgres_new_database() { return test::PgCluster::shared().create_database(); }

std::optional<uint64_t> postgres_database_bytes(const std::string& db_url) {
  PGconn* c = PQconnectdb(db_url.c_str());
  std::optional<uint64_t> out;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, "SELECT pg_database_size(current_database())");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      out = std::stoull(PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

std::vector<TableBytes> postgres_table_bytes(const std::string& db_url, uint64_t min_bytes) {
  PGconn* c = PQconnectdb(db_url.c_str());
  std::vector<TableBytes> out;
  if (PQstatus(c) == CONNECTION_OK) {
    const std::string min = std::to_string(min_bytes);
    const char* params[] = {min.c_str()};
    PGresult* r = PQexecParams(c,
                               "SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid), "
                               "coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0) "
                               "FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = "
                               "c.oid WHERE c.relkind = 'r' AND c.relnamespace = "
                               "'public'::regnamespace AND pg_total_relation_size(c.oid) >= "
                               "$1::bigint ORDER BY pg_total_relation_size(c.oid) DESC",
                               1, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      for (int i = 0; i < PQntuples(r); ++i) {
        out.push_back({PQgetvalue(r, i, 0), std::stoull(PQgetvalue(r, i, 1)),
                       std::stoull(PQgetvalue(r, i, 2)), std::stoull(PQgetvalue(r, i, 3)),
                       std::stoull(PQgetvalue(r, i, 4))});
      }
    }
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

}  // namespace lumbung::bench

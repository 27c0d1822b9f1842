#include "support/pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lumbung::test {
namespace {

std::string pg_bin_dir() {
  if (const char* env = std::getenv("LUMBUNG_PG_BIN"); env && *env) return env;
  std::string best;
  int best_v = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const int v = std::atoi(e.path().filename().c_str());
    if (v > best_v && std::filesystem::exists(e.path() / "bin" / "postgres")) {
      best_v = v;
      best = (e.path() / "bin").string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL not found: no /usr/lib/postgresql/<N>/bin/postgres (apt-get install "
        "postgresql, or set LUMBUNG_PG_BIN)");
  }
  return best;
}

// The account initdb and postgres run as: ourselves, or `nobody` when we are root.
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs run_as() {
  RunAs r;
  if (::geteuid() != 0) return r;
  const passwd* pw = ::getpwnam("nobody");
  if (!pw) throw std::runtime_error("running as root and there is no user nobody for PostgreSQL");
  r.drop = true;
  r.uid = pw->pw_uid;
  r.gid = pw->pw_gid;
  return r;
}

// fork + (drop to `as`) + exec, stdout and stderr to `log`. The child dies with us.
pid_t spawn(const std::vector<std::string>& args, const RunAs& as, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    if (as.drop) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0) {
        _exit(126);
      }
    }
    // After setuid (which clears it): a test binary that crashes takes its cluster along.
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `seconds`; returns its status, or -1 if it is still running.
int wait_for(pid_t pid, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (int i = 0; i < seconds * 100 + 1; ++i) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string s = buf.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

}  // namespace

PgCluster::PgCluster() {
  const std::string bin = pg_bin_dir();
  const RunAs as = run_as();
  char tmpl[] = "/tmp/lumbung-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed for the PostgreSQL cluster");
  dir_ = tmpl;
  if (as.drop && ::chown(dir_.c_str(), as.uid, as.gid) != 0) {
    throw std::runtime_error("cannot give " + dir_ + " to nobody");
  }
  const std::string log = dir_ + "/log";
  {
    // The log is created by us but written by the child as nobody: open it for them first.
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      if (as.drop && ::fchown(fd, as.uid, as.gid) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot give the PostgreSQL log to nobody");
      }
      ::close(fd);
    }
  }
  const pid_t init = spawn({bin + "/initdb", "-D", dir_ + "/data", "-U", "lumbung", "--auth=trust",
                            "-N", "-E", "UTF8", "--locale=C"},
                           as, log);
  const int st = wait_for(init, 60);
  if (st == -1) {
    ::kill(init, SIGKILL);
    wait_for(init, 5);
    throw std::runtime_error("initdb did not finish in 60 s: " + tail_of(log));
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    throw std::runtime_error("initdb failed: " + tail_of(log));
  }
  pid_ = spawn({bin + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-c",
                "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
                "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=32MB",
                // What each statement of the servers costs (rows, buffers), for tests that
                // check a pull's cost (pg_concurrency_test); unused otherwise.
                "-c", "shared_preload_libraries=pg_stat_statements"},
               as, log);
  const std::string probe = url("postgres");
  for (int i = 0; i < 300; ++i) {
    if (PQping(probe.c_str()) == PQPING_OK) return;
    if (wait_for(pid_, 0) != -1) {
      pid_ = -1;
      throw std::runtime_error("postgres exited at start: " + tail_of(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGQUIT);
  wait_for(pid_, 10);
  pid_ = -1;
  throw std::runtime_error("postgres was not ready in 30 s: " + tail_of(log));
}

PgCluster::~PgCluster() {
  if (pid_ > 0) {
    ::kill(pid_, SIGINT);
    if (wait_for(pid_, 10) == -1) {
      ::kill(pid_, SIGQUIT);
      if (wait_for(pid_, 5) == -1) {
        ::kill(pid_, SIGKILL);
        wait_for(pid_, 5);
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

PgCluster& PgCluster::shared() {
  static PgCluster cluster;
  return cluster;
}

std::string PgCluster::url(const std::string& db) const {
  return "postgresql://lumbung@/" + db + "?host=" + dir_;
}

std::string PgCluster::create_database() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const std::string name = "t" + std::to_string(++next_db_);
  PGconn* c = PQconnectdb(url("postgres").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to the test cluster: " + msg);
  }
  // A fixed name made of letters and digits: nothing to quote.
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string msg = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE failed: " + msg);
  return url(name);
}

}  // namespace lumbung::test

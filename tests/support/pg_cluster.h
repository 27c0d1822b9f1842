// A throwaway PostgreSQL cluster for the tests of the PostgreSQL server store: initdb into
// a fresh directory under /tmp, then postgres listening on a Unix socket in that directory
// only (listen_addresses='', no TCP at all), fsync off. Stopped by pid at the end.
//
// initdb and postgres refuse to run as root, and CI runs the suite as root: then both run
// as user `nobody` (setgid/setuid in the forked child before exec), the directory owned by
// it. The servers and the test itself connect over the socket as the cluster's superuser
// "lumbung" (trust authentication, which only this socket in a 0700 directory can reach).
//
// Binaries: $LUMBUNG_PG_BIN if set, else the newest /usr/lib/postgresql/<N>/bin (Debian's
// postgresql-15). Anything missing or failing throws std::runtime_error saying what: a test
// that needs PostgreSQL fails, it never skips.
#pragma once

#include <sys/types.h>

#include <string>

namespace lumbung::test {

class PgCluster {
 public:
  // Starts the cluster; at most ~60 s (initdb) + 30 s (ready).
  PgCluster();
  // Stops the postmaster by pid: SIGINT (fast shutdown), up to 10 s, then SIGQUIT, then
  // SIGKILL; removes the directory.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // One cluster for the whole test process, started on first use, stopped at exit.
  static PgCluster& shared();

  // A libpq URI for database `db` of this cluster.
  std::string url(const std::string& db) const;
  // Creates a new empty database (t1, t2, ...) and returns its URI.
  std::string create_database();
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int next_db_ = 0;
};

}  // namespace lumbung::test

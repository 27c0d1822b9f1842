// The PostgreSQL the simulation runs on with --postgres (issue 13: "on PostgreSQL the
// simulation drives >= 3 server instances on one database"): one cluster per process - the
// one named by $LUMBUNG_SIM_PG (a libpq URI or key=value string of a database whose role may
// CREATE DATABASE), else a throwaway cluster started on first use (tests/support/pg_cluster.h:
// initdb as nobody when root, Unix socket only, fsync off, stopped by pid at exit).
//
// Every simulation run gets a database of its own, dropped at its end; a backup of the
// server is a copy made with CREATE DATABASE ... TEMPLATE while no server instance is
// connected, as an operator would copy a stopped database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sim/in_process_server.h"

namespace lumbung::sim {

class SimPostgres final : public test::PgDatabases {
 public:
  // The process's cluster, started on first use. Throws std::runtime_error when there is
  // no PostgreSQL: a --postgres run fails, it never falls back to SQLite.
  static SimPostgres& shared();

  // A libpq connection string for database `db` of the cluster.
  std::string url(const std::string& db) const override;
  // A fresh empty database with a name no other run of any process on the cluster uses.
  std::string create_database();
  // Drops `db` if it exists (connections to it closed first: WITH (FORCE)).
  void drop_database(const std::string& db) override;
  // `to` (dropped first) becomes a copy of `from`; nobody may be connected to `from`.
  void copy_database(const std::string& from, const std::string& to) override;
  // Every oplog row of `db` in pos order, as SqliteServerStore's file would be read:
  // fn(pos, dev, seq, op JSON text). Throws std::runtime_error on a database error.
  void read_oplog(const std::string& db,
                  const std::function<void(uint64_t, const std::string&, uint64_t,
                                           const std::string&)>& fn) override;

  SimPostgres(const SimPostgres&) = delete;
  SimPostgres& operator=(const SimPostgres&) = delete;
  ~SimPostgres() override;

 private:
  SimPostgres();
  void admin(const std::string& sql);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbung::sim

// The simulation's PostgreSQL (see sim_postgres.h).
#include "sim/sim_postgres.h"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "lumbung/error.h"
#include "store/pg_conn.h"
#include "support/pg_cluster.h"

namespace lumbung::sim {

struct SimPostgres::Impl {
  std::unique_ptr<test::PgCluster> cluster;  // null when $LUMBUNG_SIM_PG names one
  std::string given;                         // $LUMBUNG_SIM_PG
  int next_db = 0;
};

SimPostgres::SimPostgres() : impl_(std::make_unique<Impl>()) {
  if (const char* env = std::getenv("LUMBUNG_SIM_PG"); env && *env) {
    impl_->given = env;
  } else {
    impl_->cluster = std::make_unique<test::PgCluster>();
  }
}

SimPostgres::~SimPostgres() = default;

SimPostgres& SimPostgres::shared() {
  static SimPostgres pg;
  return pg;
}

std::string SimPostgres::url(const std::string& db) const {
  if (impl_->cluster) return impl_->cluster->url(db);
  const std::string& g = impl_->given;
  const auto scheme = g.find("://");
  if (scheme == std::string::npos) return g + " dbname=" + db;  // key=value: the last one wins
  // A URI: postgresql://[user@][host][:port][/db][?params] - the path replaced.
  const auto path = g.find('/', scheme + 3);
  const auto query = g.find('?', scheme + 3);
  const std::string head = g.substr(0, std::min(path, query));
  return head + "/" + db + (query == std::string::npos ? "" : g.substr(query));
}

void SimPostgres::admin(const std::string& sql) {
  try {
    server::pg::Conn c(url("postgres"));
    c.run(sql.c_str());
  } catch (const Error& e) {
    throw std::runtime_error("PostgreSQL: " + sql + ": " + e.what());
  }
}

std::string SimPostgres::create_database() {
  // Letters, digits and '_' only: nothing to quote. The pid keeps runs of two processes on
  // one given cluster (ctest -j2 with $LUMBUNG_SIM_PG) apart.
  const std::string db =
      "lumbung_sim_" + std::to_string(::getpid()) + "_" + std::to_string(++impl_->next_db);
  drop_database(db);
  admin("CREATE DATABASE " + db);
  return db;
}

void SimPostgres::drop_database(const std::string& db) {
  admin("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
}

void SimPostgres::copy_database(const std::string& from, const std::string& to) {
  drop_database(to);
  admin("CREATE DATABASE " + to + " TEMPLATE " + from);
}

void SimPostgres::read_oplog(
    const std::string& db,
    const std::function<void(uint64_t, const std::string&, uint64_t, const std::string&)>& fn) {
  try {
    server::pg::Conn c(url(db));
    // The in-process server seals nothing (it has no key file): op is the op's JSON text.
    auto r = c.exec("SELECT pos::text, dev, seq::text, op FROM oplog ORDER BY pos");
    for (int i = 0; i < r.rows(); ++i) {
      fn(r.u64(i, 0), r.text(i, 1), r.u64(i, 2), r.text(i, 3));
    }
  } catch (const Error& e) {
    throw std::runtime_error(std::string("PostgreSQL: reading the oplog: ") + e.what());
  }
}

}  // namespace lumbung::sim

// The SQLite store's progress counts (store/record_counts.h): written at each write
// transaction's commit, built once by a scan for a database made before them, read by the
// progress pages.
#include "store/record_counts.h"
#include "store/sqlite_rows.h"

namespace lumbung::server::sqlite_detail {

void write_counts(sql::Database& db, CountDeltas& deltas) {
  if (deltas.empty()) return;
  for (const CountDeltas::Entry& e : deltas.take()) {
    db.prepare(
          "INSERT INTO counts(col,scope,dim,key,n) VALUES(?1,?2,?3,?4,?5) "
          "ON CONFLICT(col,scope,dim,key) DO UPDATE SET n=n+excluded.n")
        .bind_static(1, e.col)
        .bind_static(2, e.scope)
        .bind_static(3, e.dim)
        .bind_static(4, e.key)
        .bind(5, e.delta)
        .run();
    if (e.delta < 0) {  // a value nobody holds any more leaves no row behind
      db.prepare("DELETE FROM counts WHERE col=?1 AND scope=?2 AND dim=?3 AND key=?4 AND n<=0")
          .bind_static(1, e.col)
          .bind_static(2, e.scope)
          .bind_static(3, e.dim)
          .bind_static(4, e.key)
          .run();
    }
  }
}

uint64_t build_counts_if_missing(sql::Database& db) {
  {
    auto& st = db.prepare("SELECT value FROM meta WHERE key=?1");
    ResetOnExit r{st};
    st.bind_static(1, kCountsMetaKey);
    if (st.step() && st.column_view(0) == kCountsVersion) return 0;
  }
  sql::Transaction tx(db);
  db.exec("DELETE FROM counts");
  CountDeltas deltas;
  uint64_t n = 0;
  {
    auto& st = db.prepare("SELECT col, scope, doc FROM records WHERE live=1");
    ResetOnExit r{st};
    while (st.step()) {
      deltas.add(st.column_text(0), st.column_text(1), st.column_view(2), +1);
      ++n;
    }
  }
  write_counts(db, deltas);
  db.prepare("INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=?2")
      .bind_static(1, kCountsMetaKey)
      .bind_static(2, kCountsVersion)
      .run();
  tx.commit();
  return n;
}

void read_counts(sql::Database& db, const std::string& col, const std::string& scope_prefix,
                 const CountFn& fn) {
  // Two statements, not one with "?2='' OR": SQLite would not use the key's range for it.
  auto& st = scope_prefix.empty()
                 ? db.prepare("SELECT scope, dim, key, n FROM counts WHERE col=?1 AND n>0")
                 : db.prepare(
                       "SELECT scope, dim, key, n FROM counts WHERE col=?1 AND n>0 "
                       "AND scope>=?2 AND scope<?3");
  ResetOnExit r{st};
  const std::string end = prefix_end(scope_prefix);
  st.bind_static(1, col);
  if (!scope_prefix.empty()) st.bind_static(2, scope_prefix).bind_static(3, end);
  while (st.step()) {
    fn(st.column_view(0), st.column_view(1), st.column_view(2), st.column_int(3));
  }
}

}  // namespace lumbung::server::sqlite_detail

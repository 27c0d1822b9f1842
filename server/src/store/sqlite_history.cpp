// Reads of the SQLite server store for the office page: a record's oplog rows (its history,
// through the oplog_record index) and the targets per region.
#include <algorithm>

#include "store/sqlite_rows.h"

namespace lumbung::server::sqlite_detail {

RecordLogPage read_record_log(sql::Database& db, const Sealer* s, const std::string& col,
                              const std::string& id, size_t limit, uint64_t before_pos) {
  RecordLogPage page;
  // Newest first through the index (col, id, rowid = pos), one row more than asked: it says
  // whether older rows exist.
  auto& st = db.prepare(
      "SELECT pos, dev, scope, op, not_scope FROM oplog WHERE col=?1 AND id=?2 AND pos<?4 "
      "ORDER BY pos DESC LIMIT ?3");
  ResetOnExit r{st};
  const uint64_t below = before_pos > 0 ? std::min<uint64_t>(before_pos, INT64_MAX) : INT64_MAX;
  st.bind_static(1, col).bind_static(2, id).bind(3, static_cast<int64_t>(limit) + 1);
  st.bind(4, static_cast<int64_t>(below));
  while (st.step()) {
    if (page.entries.size() == limit) {
      page.cut = true;
      break;
    }
    LogEntry e;
    e.pos = static_cast<uint64_t>(st.column_int(0));
    e.dev = st.column_text(1);
    e.scope = st.column_text(2);
    e.op_text = open_or_clear(s, "oplog.op", std::to_string(e.pos), st.column_view(3));
    e.not_scope = st.column_text(4);
    page.entries.push_back(std::move(e));
  }
  std::reverse(page.entries.begin(), page.entries.end());
  return page;
}

std::vector<TargetRow> read_targets(sql::Database& db, const std::string& col,
                                    const std::string& scope_prefix) {
  auto& st = db.prepare(
      "SELECT scope, n, set_ms, set_by FROM targets WHERE col=?1 "
      "AND (?2='' OR (scope>=?2 AND scope<?3)) ORDER BY scope");
  ResetOnExit r{st};
  const std::string end = prefix_end(scope_prefix);
  st.bind_static(1, col).bind_static(2, scope_prefix).bind_static(3, end);
  std::vector<TargetRow> out;
  while (st.step()) {
    out.push_back(
        TargetRow{col, st.column_text(0), st.column_int(1), st.column_int(2), st.column_text(3)});
  }
  return out;
}

void write_target(sql::Database& db, const std::string& col, const std::string& scope,
                  std::optional<int64_t> n, int64_t now_ms, const std::string& by) {
  sql::Transaction txn(db);
  if (n) {
    db.prepare(
          "INSERT INTO targets(col,scope,n,set_ms,set_by) VALUES(?1,?2,?3,?4,?5) "
          "ON CONFLICT(col,scope) DO UPDATE SET n=excluded.n, set_ms=excluded.set_ms, "
          "set_by=excluded.set_by")
        .bind(1, col)
        .bind(2, scope)
        .bind(3, *n)
        .bind(4, now_ms)
        .bind(5, by)
        .run();
  } else {
    db.prepare("DELETE FROM targets WHERE col=?1 AND scope=?2").bind(1, col).bind(2, scope).run();
  }
  txn.commit();
}

}  // namespace lumbung::server::sqlite_detail

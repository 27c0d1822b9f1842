// The SQLite server store's reads for pulls and snapshots: a page of the oplog (filtered by
// region here: SQLite scans the log), the log's horizon, and pages of records.
#include <algorithm>
#include <climits>

#include "store/sqlite_rows.h"
#include "store/sqlite_store_impl.h"

namespace lumbung::server {

using namespace sqlite_detail;  // NOLINT: this store's own private helpers

LogPage SqliteServerStore::read_log(uint64_t after_pos, const std::vector<std::string>& prefixes,
                                    const std::string& exclude_dev, size_t limit,
                                    size_t scan_limit) {
  Impl::Lease lease(*impl_);
  auto& db = lease.db();
  LogPage page;
  page.last_scanned = after_pos;
  auto in_scope = [&prefixes](std::string_view scope) {
    if (scope.empty()) return true;
    for (const auto& p : prefixes) {
      if (scope.compare(0, p.size(), p) == 0) return true;
    }
    return false;
  };
  // One statement = one read snapshot, so the page and `more` agree with each other.
  db.exec("BEGIN");
  struct EndRead {
    sql::Database& db;
    ~EndRead() {
      try {
        db.exec("COMMIT");
      } catch (...) {
      }
    }
  } end_read{db};
  bool stopped_early = false;
  {
    auto& st = db.prepare(
        "SELECT pos, dev, scope, op, not_scope FROM oplog WHERE pos>?1 ORDER BY pos "
        "LIMIT ?2");
    ResetOnExit r{st};
    st.bind(1, static_cast<int64_t>(after_pos)).bind(2, static_cast<int64_t>(scan_limit));
    size_t scanned = 0;
    while (st.step()) {
      ++scanned;
      page.last_scanned = static_cast<uint64_t>(st.column_int(0));
      const std::string_view dev = st.column_view(1);
      const std::string_view scope = st.column_view(2);
      const std::string_view not_scope = st.column_view(4);
      // A row for one device alone ("@" + its id) goes to that device only.
      const bool wanted = scope.compare(0, 1, kDeviceScopePrefix) == 0
                              ? scope.substr(1) == exclude_dev
                              : in_scope(scope) && (not_scope.empty() || !in_scope(not_scope));
      if (dev != exclude_dev && wanted) {
        LogEntry e;
        e.pos = page.last_scanned;
        e.dev = std::string(dev);
        e.scope = std::string(scope);
        e.op_text = open_or_clear(impl_->sealer.get(), "oplog.op", std::to_string(e.pos),
                                  st.column_view(3));
        page.entries.push_back(std::move(e));
        if (page.entries.size() >= limit) {
          stopped_early = true;
          break;
        }
      }
    }
    if (scanned >= scan_limit) stopped_early = true;
  }
  if (stopped_early) {
    auto& st = db.prepare("SELECT 1 FROM oplog WHERE pos>?1 LIMIT 1");
    ResetOnExit r{st};
    st.bind(1, static_cast<int64_t>(page.last_scanned));
    page.more = st.step();
  }
  return page;
}

uint64_t SqliteServerStore::last_pos_before(uint64_t before_pos) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare("SELECT coalesce(max(pos), 0) FROM oplog WHERE pos < ?1");
  ResetOnExit r{st};
  st.bind(1, static_cast<int64_t>(std::min<uint64_t>(before_pos, INT64_MAX)));
  st.step();
  return static_cast<uint64_t>(st.column_int(0));
}

uint64_t SqliteServerStore::log_length() {
  // Positions run on from each history's start (a large number: epochs()), gap-free
  // within one: the sum of each history's span.
  uint64_t rows = 0;
  const std::vector<Epoch> histories = epochs();
  for (size_t i = 0; i < histories.size(); ++i) {
    const uint64_t end = last_pos_before(i + 1 < histories.size() ? histories[i + 1].start_pos
                                                                  : uint64_t{INT64_MAX});
    if (end >= histories[i].start_pos) rows += end - histories[i].start_pos + 1;
  }
  return rows;
}

uint64_t SqliteServerStore::log_horizon() {
  // One writer: every row in the file is committed.
  return last_pos_before(INT64_MAX);
}

std::vector<RecordRow> SqliteServerStore::list_records(const std::string& col,
                                                       const std::string& scope_prefix,
                                                       const std::string& after_id, size_t limit) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT id, doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=?1 AND id>?2 "
      "AND (?3='' OR (scope>=?3 AND scope<?4)) ORDER BY id LIMIT ?5");
  ResetOnExit r{st};
  const std::string end = prefix_end(scope_prefix);
  st.bind_static(1, col).bind_static(2, after_id).bind_static(3, scope_prefix).bind_static(4, end);
  st.bind(5, static_cast<int64_t>(limit));
  std::vector<RecordRow> out;
  while (st.step()) {
    RecordRow row;
    row.collection = col;
    row.id = st.column_text(0);
    row.state = decode_record(impl_->sealer.get(), col, row.id, st, 1, 5);
    out.push_back(std::move(row));
  }
  return out;
}

void SqliteServerStore::snapshot_records(const std::string& col, const std::string& scope_prefix,
                                         const std::string& after_scope,
                                         const std::string& after_id, size_t limit,
                                         const std::function<bool(const StoredRecord&)>& fn) {
  Impl::Lease lease(*impl_);
  // A range of the region index (col, scope, id), read in its order: no sort, and no row
  // outside the region is looked at (records_region in sqlite_rows.h).
  const bool bounded = !scope_prefix.empty();
  auto& st = lease.db().prepare(
      std::string("SELECT scope, id, doc, ver, del_hlc, del_dev, sealed FROM records "
                  "INDEXED BY records_region WHERE col=?1 AND (scope, id) > (?2, ?3)") +
      (bounded ? " AND scope<?5" : "") + " ORDER BY scope, id LIMIT ?4");
  ResetOnExit r{st};
  // From the start: every scope at or above the prefix (and any id). Copies: the caller's
  // cursor strings change while the rows are read (fn), and a static bind would follow them.
  const bool from_start = after_scope.empty() && after_id.empty();
  const std::string low_scope = from_start ? scope_prefix : after_scope;
  const std::string low_id = from_start ? std::string() : after_id;
  st.bind_static(1, col);
  st.bind_static(2, low_scope);
  st.bind_static(3, low_id);
  st.bind(4, static_cast<int64_t>(limit));
  const std::string end = prefix_end(scope_prefix);
  if (bounded) st.bind_static(5, end);
  const Sealer* sealer = impl_->sealer.get();
  std::string joined;
  while (st.step()) {
    StoredRecord rec;
    rec.scope = st.column_view(0);
    rec.id = st.column_view(1);
    rec.doc = st.column_view(2);
    if (sealer) {
      std::optional<std::string_view> sealed;
      if (!st.column_is_null(6)) sealed = st.column_view(6);
      joined = sealer->join_doc_text(col, std::string(rec.id), rec.doc, sealed);
      rec.doc = joined;
    }
    rec.ver = st.column_view(3);
    rec.del_hlc = st.column_int(4);
    rec.del_dev = st.column_view(5);
    if (!fn(rec)) break;
  }
}

void SqliteServerStore::written_outside(
    const std::string& device, const std::vector<std::string>& prefixes,
    const std::string& after_col, const std::string& after_id, size_t limit,
    const std::function<bool(const std::string&, const std::string&)>& fn) {
  Impl::Lease lease(*impl_);
  std::string sql =
      "SELECT o.col, o.id FROM oplog o INDEXED BY oplog_dev_seq JOIN records r ON "
      "r.col=o.col AND r.id=o.id WHERE o.dev=?1 AND (o.col, o.id) > (?2, ?3) AND r.scope<>''";
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const std::string a = std::to_string(5 + 2 * i), b = std::to_string(6 + 2 * i);
    sql += " AND NOT (r.scope>=?" + a + " AND r.scope<?" + b + ")";
  }
  auto& st = lease.db().prepare(sql + " GROUP BY o.col, o.id ORDER BY o.col, o.id LIMIT ?4");
  ResetOnExit r{st};
  // Copies: the caller's cursor strings change while the rows are read (fn).
  st.bind_static(1, device).bind(2, after_col).bind(3, after_id);
  st.bind(4, static_cast<int64_t>(limit));
  for (size_t i = 0; i < prefixes.size(); ++i) {
    st.bind(static_cast<int>(5 + 2 * i), prefixes[i]);
    st.bind(static_cast<int>(6 + 2 * i), prefix_end(prefixes[i]));
  }
  while (st.step()) {
    if (!fn(st.column_text(0), st.column_text(1))) break;
  }
}

std::optional<RecordState> SqliteServerStore::get_record(const std::string& col,
                                                         const std::string& id) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=?1 AND id=?2");
  ResetOnExit r{st};
  st.bind_static(1, col).bind_static(2, id);
  if (!st.step()) return std::nullopt;
  return decode_record(impl_->sealer.get(), col, id, st, 0, 4);
}

void SqliteServerStore::for_each_live(
    const std::string& col, const std::string& scope_prefix,
    const std::function<void(const std::string&, std::string_view)>& fn) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT scope, doc FROM records WHERE col=?1 AND live=1 "
      "AND (?2='' OR (scope>=?2 AND scope<?3))");
  ResetOnExit r{st};
  const std::string end = prefix_end(scope_prefix);
  st.bind_static(1, col).bind_static(2, scope_prefix).bind_static(3, end);
  while (st.step()) fn(st.column_text(0), st.column_view(1));
}

void SqliteServerStore::for_each_count(const std::string& col, const std::string& scope_prefix,
                                       const CountFn& fn) {
  Impl::Lease lease(*impl_);
  read_counts(lease.db(), col, scope_prefix, fn);
}

}  // namespace lumbung::server

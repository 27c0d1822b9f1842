// The SQLite server store's review-queue pages (conflicts, duplicates, refused ops): paged by
// (found_ms, id), filtered by status, device and the reader's region prefixes, with a total.
#include <functional>
#include <string>

#include "store/sqlite_rows.h"
#include "store/sqlite_store_impl.h"

namespace lumbung::server {

using namespace sqlite_detail;  // NOLINT: this store's own private helpers

namespace {

// Review-queue paging: the cursor is "<found_ms>:<id>" of the last row of a page.
std::pair<int64_t, std::string> decode_after(const std::string& after) {
  if (after.empty()) return {-1, ""};
  const size_t colon = after.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 18 || after.size() > 200) {
    throw Error(ErrorCode::kInvalidArgument, "malformed \"after\" cursor");
  }
  int64_t ms = 0;
  for (size_t i = 0; i < colon; ++i) {
    if (after[i] < '0' || after[i] > '9') {
      throw Error(ErrorCode::kInvalidArgument, "malformed \"after\" cursor");
    }
    ms = ms * 10 + (after[i] - '0');
  }
  return {ms, after.substr(colon + 1)};
}

// "(col >= ?k AND col < ?k+1 OR ...)" for the reader's prefixes, binding from index `first`;
// "1" when the reader sees every region.
std::string prefix_sql(const std::string& col, const std::vector<std::string>& prefixes,
                       int first) {
  if (prefixes.empty()) return "1";
  std::string out = "(";
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const int k = first + static_cast<int>(2 * i);
    if (i) out += " OR ";
    out +=
        "(" + col + ">=?" + std::to_string(k) + " AND " + col + "<?" + std::to_string(k + 1) + ")";
  }
  return out + ")";
}

void bind_prefixes(sql::Statement& st, const std::vector<std::string>& prefixes, int first) {
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const int k = first + static_cast<int>(2 * i);
    st.bind(k, prefixes[i]).bind(k + 1, prefix_end(prefixes[i]));
  }
}

// Runs the page query and the count for one review table. `from_where` is the FROM and
// WHERE text with ?1 = status filter value, ?2 = device, regions from ?10; the page adds
// the cursor (?3, ?4) and limit (?5).
template <class Row, class Read>
ReviewPage<Row> review_page(sql::Database& db, const std::string& select,
                            const std::string& from_where, const std::string& order_cols,
                            const ReviewQuery& q, const std::string& status_value, Read read,
                            const std::function<std::string(const Row&)>& cursor_of) {
  const auto [after_ms, after_id] = decode_after(q.after);
  ReviewPage<Row> page;
  {
    auto& st = db.prepare("SELECT count(*) " + from_where);
    ResetOnExit r{st};
    st.bind(1, status_value).bind(2, q.device);
    bind_prefixes(st, q.prefixes, 10);
    st.step();
    page.total = static_cast<uint64_t>(st.column_int(0));
  }
  // order_cols is "(a, b)": compared as a row value, sorted as a column list.
  const std::string sql = "SELECT " + select + " " + from_where + " AND (" + order_cols +
                          " > (?3, ?4)) ORDER BY " + order_cols.substr(1, order_cols.size() - 2) +
                          " LIMIT ?5";
  auto& st = db.prepare(sql);
  ResetOnExit r{st};
  st.bind(1, status_value).bind(2, q.device).bind(3, after_ms).bind(4, after_id);
  st.bind(5, static_cast<int64_t>(q.limit));
  bind_prefixes(st, q.prefixes, 10);
  while (st.step()) page.rows.push_back(read(st));
  if (page.rows.size() == q.limit && !page.rows.empty()) page.next = cursor_of(page.rows.back());
  return page;
}

}  // namespace

ReviewPage<RefusedRow> SqliteServerStore::list_refused(const ReviewQuery& q) {
  if (q.status != "open" && q.status != "applied" && q.status != "dismissed" && q.status != "all") {
    throw Error(ErrorCode::kInvalidArgument, "status must be open, applied, dismissed or all");
  }
  Impl::Lease lease(*impl_);
  std::string cols;
  for (const char* c : {"id", "dev", "seq", "col", "rid", "code", "field", "message", "op", "scope",
                        "found_ms", "status", "resolution"}) {
    cols += std::string(cols.empty() ? "" : ",") + "f." + c;
  }
  return review_page<RefusedRow>(
      lease.db(), cols,
      "FROM refused f WHERE (?1='all' OR f.status=?1) AND (?2='' OR f.dev=?2) AND " +
          prefix_sql("f.scope", q.prefixes, 10),
      "(f.found_ms, f.id)", q, q.status,
      [s = impl_->sealer.get()](sql::Statement& st) { return read_refused(st, s); },
      [](const RefusedRow& r) { return std::to_string(r.found_ms) + ":" + r.id; });
}

ReviewPage<ConflictRow> SqliteServerStore::list_conflicts(const ReviewQuery& q) {
  const int f = status_filter(q.status);
  Impl::Lease lease(*impl_);
  return review_page<ConflictRow>(
      lease.db(), "c.body, c.resolved, c.found_ms, c.resolution, c.id",
      "FROM conflicts c LEFT JOIN records r ON r.col=c.col AND r.id=c.rid "
      "WHERE (?1='-1' OR c.resolved=CAST(?1 AS INTEGER)) AND ?2=?2 AND " +
          prefix_sql("coalesce(r.scope,'')", q.prefixes, 10),
      "(c.found_ms, c.id)", q, std::to_string(f),
      [s = impl_->sealer.get()](sql::Statement& st) {
        return read_conflict(st, s, st.column_view(4));
      },
      [](const ConflictRow& r) { return std::to_string(r.found_ms) + ":" + r.conflict.id; });
}

ReviewPage<DuplicateRow> SqliteServerStore::list_duplicates(const ReviewQuery& q) {
  const int f = status_filter(q.status);
  Impl::Lease lease(*impl_);
  return review_page<DuplicateRow>(
      lease.db(), "d.id, d.col, d.rid_a, d.rid_b, d.resolved, d.found_ms, d.resolution",
      "FROM duplicates d LEFT JOIN records a ON a.col=d.col AND a.id=d.rid_a "
      "LEFT JOIN records b ON b.col=d.col AND b.id=d.rid_b "
      "WHERE (?1='-1' OR d.resolved=CAST(?1 AS INTEGER)) AND ?2=?2 AND (" +
          prefix_sql("coalesce(a.scope,'')", q.prefixes, 10) + " OR " +
          prefix_sql("coalesce(b.scope,'')", q.prefixes, 10) + ")",
      "(d.found_ms, d.id)", q, std::to_string(f),
      [s = impl_->sealer.get()](sql::Statement& st) { return read_duplicate(st, s); },
      [](const DuplicateRow& r) { return std::to_string(r.found_ms) + ":" + r.id; });
}

}  // namespace lumbung::server

// The review queues of the PostgreSQL server store, a page at a time (server_store.h
// ReviewQuery): the same cursor ("<found_ms>:<id>"), order and region rules as the SQLite
// store's, so the review page and lumbung-admin see no difference between backends.
#include <functional>

#include "store/pg_rows.h"

namespace lumbung::server::pg {
namespace {

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

// "(starts_with(col, $k) OR ...)" for the reader's prefixes, numbered from `first` (the
// text names placeholders only; the prefixes are parameters); "true" for every region.
std::string prefix_sql(const std::string& col, size_t count, int first) {
  if (count == 0) return "true";
  std::string out = "(";
  for (size_t i = 0; i < count; ++i) {
    if (i) out += " OR ";
    out += "starts_with(" + col + ", $" + std::to_string(first + static_cast<int>(i)) + "::text)";
  }
  return out + ")";
}

int status_filter(const std::string& status) {
  if (status == "open") return 0;
  if (status == "resolved" || status == "merged") return 1;
  if (status == "all") return -1;
  throw Error(ErrorCode::kInvalidArgument, "status must be open, resolved or all");
}

// `from_where(first)`: FROM and WHERE with $1 = status value, $2 = device and the regions
// from $first. The page adds the cursor and the limit after the regions.
template <class Row>
ReviewPage<Row> review_page(Conn& c, const std::string& select,
                            const std::function<std::string(int)>& from_where,
                            const std::string& order_a, const std::string& order_b,
                            const ReviewQuery& q, const std::string& status_value,
                            const std::function<Row(const Result&, int)>& read,
                            const std::function<std::string(const Row&)>& cursor_of) {
  const auto [after_ms, after_id] = decode_after(q.after);
  std::vector<Param> params{status_value, q.device};
  for (const auto& p : q.prefixes) params.emplace_back(p);
  const std::string fw = from_where(3);
  ReviewPage<Row> page;
  page.total = c.exec("SELECT count(*) " + fw, params).u64(0, 0);
  const int k = 3 + static_cast<int>(q.prefixes.size());
  params.emplace_back(after_ms);
  params.emplace_back(after_id);
  params.emplace_back(static_cast<uint64_t>(q.limit));
  const std::string sql = "SELECT " + select + " " + fw + " AND ((" + order_a + ", " + order_b +
                          ") > ($" + std::to_string(k) + "::bigint, $" + std::to_string(k + 1) +
                          "::text)) ORDER BY " + order_a + ", " + order_b + " LIMIT $" +
                          std::to_string(k + 2);
  auto r = c.exec(sql, params);
  for (int i = 0; i < r.rows(); ++i) page.rows.push_back(read(r, i));
  if (page.rows.size() == q.limit && !page.rows.empty()) page.next = cursor_of(page.rows.back());
  return page;
}

}  // namespace

ReviewPage<RefusedRow> list_refused(Pool& pool, const Sealer* sealer, const ReviewQuery& q) {
  if (q.status != "open" && q.status != "applied" && q.status != "dismissed" && q.status != "all") {
    throw Error(ErrorCode::kInvalidArgument, "status must be open, applied, dismissed or all");
  }
  std::string cols;
  for (const char* c : {"id", "dev", "seq", "col", "rid", "code", "field", "message", "op", "scope",
                        "found_ms", "status", "resolution"}) {
    cols += std::string(cols.empty() ? "" : ",") + "f." + c;
  }
  const size_t n = q.prefixes.size();
  Pool::Lease c(pool);
  return review_page<RefusedRow>(
      *c, cols,
      [n](int first) {
        return "FROM refused f WHERE ($1::text='all' OR f.status=$1::text) AND "
               "($2::text='' OR f.dev=$2::text) AND " +
               prefix_sql("f.scope", n, first);
      },
      "f.found_ms", "f.id", q, q.status,
      [s = sealer](const Result& r, int i) { return read_refused(r, i, s); },
      [](const RefusedRow& r) { return std::to_string(r.found_ms) + ":" + r.id; });
}

ReviewPage<ConflictRow> list_conflicts(Pool& pool, const Sealer* sealer, const ReviewQuery& q) {
  const int f = status_filter(q.status);
  const size_t n = q.prefixes.size();
  Pool::Lease c(pool);
  return review_page<ConflictRow>(
      *c, "c.body, c.resolved, c.found_ms, c.resolution, c.id",
      [n](int first) {
        return "FROM conflicts c LEFT JOIN records r ON r.col=c.col AND r.id=c.rid "
               "WHERE ($1::text='-1' OR c.resolved=$1::int) AND $2::text=$2::text AND " +
               prefix_sql("coalesce(r.scope,'')", n, first);
      },
      "c.found_ms", "c.id", q, std::to_string(f),
      [s = sealer](const Result& r, int i) { return read_conflict(r, i, s, r.view(i, 4)); },
      [](const ConflictRow& r) { return std::to_string(r.found_ms) + ":" + r.conflict.id; });
}

ReviewPage<DuplicateRow> list_duplicates(Pool& pool, const Sealer* sealer, const ReviewQuery& q) {
  const int f = status_filter(q.status);
  const size_t n = q.prefixes.size();
  Pool::Lease c(pool);
  return review_page<DuplicateRow>(
      *c, "d.id, d.col, d.rid_a, d.rid_b, d.resolved, d.found_ms, d.resolution",
      [n](int first) {
        return "FROM duplicates d LEFT JOIN records a ON a.col=d.col AND a.id=d.rid_a "
               "LEFT JOIN records b ON b.col=d.col AND b.id=d.rid_b "
               "WHERE ($1::text='-1' OR d.resolved=$1::int) AND $2::text=$2::text AND (" +
               prefix_sql("coalesce(a.scope,'')", n, first) + " OR " +
               prefix_sql("coalesce(b.scope,'')", n, first) + ")";
      },
      "d.found_ms", "d.id", q, std::to_string(f),
      [s = sealer](const Result& r, int i) { return read_duplicate(r, i, s); },
      [](const DuplicateRow& r) { return std::to_string(r.found_ms) + ":" + r.id; });
}

}  // namespace lumbung::server::pg

// The PostgreSQL store's progress counts (store/record_counts.h): written at each write
// transaction's commit, built once by a scan for a database made before them, read by the
// progress pages.
#include "store/pg_rows.h"

namespace lumbung::server::pg {

void write_counts(Conn& c, CountDeltas& deltas) {
  if (deltas.empty()) return;
  std::vector<std::string> col, scope, dim, key, n;
  bool gone = false;  // some count went down: rows at zero are deleted
  for (CountDeltas::Entry& e : deltas.take()) {
    col.push_back(std::move(e.col));
    scope.push_back(std::move(e.scope));
    dim.push_back(std::move(e.dim));
    key.push_back(std::move(e.key));
    n.push_back(std::to_string(e.delta));
    gone = gone || e.delta < 0;
  }
  if (col.empty()) return;
  const std::string a1 = text_array(col), a2 = text_array(scope), a3 = text_array(dim),
                    a4 = text_array(key);
  // unnest keeps the arrays' (sorted) order, so every writer locks count rows in one order.
  c.exec(
      "INSERT INTO counts(col,scope,dim,key,n) SELECT * FROM unnest($1::text[], $2::text[], "
      "$3::text[], $4::text[], $5::bigint[]) ON CONFLICT(col,scope,dim,key) DO UPDATE SET "
      "n=counts.n+excluded.n",
      {a1, a2, a3, a4, text_array(n)});
  if (gone) {
    c.exec(
        "DELETE FROM counts c USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS "
        "t(col, scope, dim, key) WHERE c.col=t.col AND c.scope=t.scope AND c.dim=t.dim AND "
        "c.key=t.key AND c.n<=0",
        {a1, a2, a3, a4});
  }
}

void TxnCounts::seen(const std::string& col, const std::string& id, bool live, std::string scope,
                     std::string doc) {
  counted_[{col, id}] =
      live ? std::optional<Counted>(Counted{std::move(scope), std::move(doc)}) : std::nullopt;
}

void TxnCounts::written(Conn& c, const std::string& col, const std::string& id, bool lock,
                        bool live, const std::string& scope, const std::string& doc) {
  auto it = counted_.find({col, id});
  if (it == counted_.end()) {
    // Not read by this transaction yet: its committed state, locked as load_record would
    // (the write that follows locks the row anyway).
    auto r = c.exec(std::string("SELECT scope, doc FROM records WHERE col=$1 AND id=$2 AND live") +
                        (lock ? " FOR UPDATE" : ""),
                    std::vector<Param>{col, id});
    std::optional<Counted> before;
    if (r.rows() > 0) before = Counted{r.text(0, 0), r.text(0, 1)};
    it = counted_.emplace(std::make_pair(col, id), std::move(before)).first;
  }
  // The record as it was leaves the counts; as it is now, enters them.
  if (it->second) deltas_.add(col, it->second->scope, it->second->doc, -1);
  if (live) {
    deltas_.add(col, scope, doc, +1);
    it->second = Counted{scope, doc};
  } else {
    it->second.reset();
  }
}

void TxnCounts::created(const std::string& col, const std::string& id, const std::string& scope,
                        const std::string& doc) {
  deltas_.add(col, scope, doc, +1);
  counted_[{col, id}] = Counted{scope, doc};
}

uint64_t build_counts_if_missing(Conn& c) {
  if (c.exec("SELECT 1 FROM meta WHERE key=$1 AND value=$2", {kCountsMetaKey, kCountsVersion})
          .rows() > 0) {
    return 0;
  }
  c.run("DELETE FROM counts");
  CountDeltas deltas;
  uint64_t n = 0;
  // By pages of (col, id), so a province's records never sit in memory at once.
  constexpr uint64_t kPage = 5000;
  std::string after_col, after_id;
  for (bool first = true;; first = false) {
    auto r = c.exec(
        "SELECT col, id, scope, doc FROM records WHERE live AND ($1 OR (col, id) > ($2, $3)) "
        "ORDER BY col, id LIMIT $4",
        {first ? "true" : "false", after_col, after_id, kPage});
    for (int i = 0; i < r.rows(); ++i) deltas.add(r.text(i, 0), r.text(i, 2), r.view(i, 3), +1);
    n += static_cast<uint64_t>(r.rows());
    if (static_cast<uint64_t>(r.rows()) < kPage) break;
    after_col = r.text(r.rows() - 1, 0);
    after_id = r.text(r.rows() - 1, 1);
  }
  write_counts(c, deltas);
  c.exec("INSERT INTO meta(key,value) VALUES($1,$2) ON CONFLICT(key) DO UPDATE SET value=$2",
         {kCountsMetaKey, kCountsVersion});
  return n;
}

void read_counts(Pool& pool, const std::string& col, const std::string& scope_prefix,
                 const CountFn& fn) {
  Pool::Lease c(pool);
  std::string where = "true";
  std::vector<Param> params{col};
  if (!scope_prefix.empty() && static_cast<unsigned char>(scope_prefix.back()) < 0x7f) {
    std::string hi = scope_prefix;  // a range on the primary key (region codes are digits)
    hi.back() = static_cast<char>(hi.back() + 1);
    where = "scope>=$2 AND scope<$3";
    params.emplace_back(scope_prefix);
    params.emplace_back(std::move(hi));
  } else if (!scope_prefix.empty()) {
    where = "starts_with(scope, $2)";
    params.emplace_back(scope_prefix);
  }
  auto r =
      c->exec("SELECT scope, dim, key, n FROM counts WHERE col=$1 AND n>0 AND " + where, params);
  for (int i = 0; i < r.rows(); ++i) fn(r.view(i, 0), r.view(i, 1), r.view(i, 2), r.i64(i, 3));
}

}  // namespace lumbung::server::pg

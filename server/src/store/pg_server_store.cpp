#include "store/pg_server_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "common/encoding.h"
#include "store/pg_rows.h"

namespace lumbung::server {

using namespace pg;  // NOLINT: this store's own private helpers

namespace {

// Connections per server process: the listener's 4 threads, plus one for a write
// transaction that a reader must not wait behind.
constexpr size_t kPoolConnections = 6;

}  // namespace

// Which copy of the data this is: the PostgreSQL cluster and timeline it lives on ("" if
// the server role may not read them: pg_control_* need pg_monitor or superuser), then the
// database's oid and the oplog table's. A restore in the same cluster makes a new database
// (CREATE DATABASE ... TEMPLATE, pg_restore into a new database: a new database oid) or
// new tables (pg_restore --clean: a new table oid), so it starts a new history too; a
// restart keeps all four. (pg_upgrade keeps relation oids but makes a new cluster.)
// Outside the anonymous namespace (pg_rows.h): lumbung-admin migrate records its epoch with it.
std::string pg::cluster_identity(Conn& c) {
  std::string control;
  c.run("SAVEPOINT cluster_id");
  try {
    auto r = c.exec(
        "SELECT s.system_identifier::text || ':' || k.timeline_id::text "
        "FROM pg_control_system() s, pg_control_checkpoint() k");
    c.run("RELEASE SAVEPOINT cluster_id");
    control = r.text(0, 0);
  } catch (const Error&) {
    c.run("ROLLBACK TO SAVEPOINT cluster_id");
  }
  auto r = c.exec(
      "SELECT d.oid::text || ':' || 'oplog'::regclass::oid::text FROM pg_database d "
      "WHERE d.datname = current_database()");
  return control + ':' + r.text(0, 0);
}

namespace {

// Epochs recorded before the identity named the database and oplog oids hold only
// "<system>:<timeline>" (or ""): the same copy if that part matches.
bool same_copy(const std::string& recorded, const std::string& now) {
  if (recorded == now) return true;
  const auto oids = now.rfind(':', now.rfind(':') - 1);  // before "<db oid>:<oplog oid>"
  return recorded.find(':') == recorded.rfind(':') && now.compare(0, oids, recorded) == 0 &&
         oids == recorded.size();
}

// Creates the tables (idempotent) and returns every epoch, oldest first, the last being
// the one this process writes in. One transaction under the schema lock, so servers
// starting together neither race on CREATE TABLE nor both open an epoch.
std::vector<std::pair<Epoch, uint64_t>> open_schema(Conn& c, bool& restored) {
  c.run("BEGIN");
  c.exec("SELECT pg_advisory_xact_lock($1)", {kSchemaLock});
  c.script(kDdl);
  if (const uint64_t n = build_counts_if_missing(c); n > 0) {
    std::fprintf(stderr, "lumbung-server: progress counts built for %llu records\n",
                 static_cast<unsigned long long>(n));
  }
  const std::string cluster = cluster_identity(c);
  auto last = c.exec("SELECT id, cluster FROM epochs ORDER BY start_pos DESC LIMIT 1");
  if (last.rows() > 0 && last.text(0, 1) != cluster && same_copy(last.text(0, 1), cluster)) {
    // Recorded by an older server: the same copy, named as it is named now.
    c.exec("UPDATE epochs SET cluster=$2 WHERE id=$1", {last.text(0, 0), cluster});
  } else if (last.rows() == 0 || last.text(0, 1) != cluster) {
    restored = last.rows() > 0;
    // A new history: positions continue above every existing one - above every row, and
    // above every earlier history's start, which alone says how high an empty history's
    // positions went (a database restored into a cluster with smaller xids: found by
    // tests/server/migrate_test.cpp's broken variants). Later transactions have larger
    // xids, so pos_of(offset, their xid, n) >= start_pos.
    const uint64_t xid = c.exec("SELECT pg_current_xact_id()::text").u64(0, 0);
    const uint64_t max_pos = c.exec(
                                  "SELECT greatest((SELECT coalesce(max(pos), 0) FROM oplog), "
                                  "(SELECT coalesce(max(start_pos), 0) FROM epochs))")
                                 .u64(0, 0);
    if (xid >= kMaxXid) throw Error(ErrorCode::kStorage, "xid out of range");
    const uint64_t base = pos_of(0, xid, 0);
    const uint64_t offset = max_pos + 1 > base ? max_pos + 1 - base : 0;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    c.exec(
        "INSERT INTO epochs(id,start_pos,started_ms,pos_offset,cluster) "
        "VALUES($1,$2,$3,$4,$5)",
        {hex_encode(random_bytes(8)), pos_of(offset, xid, 0),
         static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()),
         offset, cluster});
  }
  c.run("COMMIT");
  std::vector<std::pair<Epoch, uint64_t>> out;
  auto r = c.exec("SELECT id, start_pos, started_ms, pos_offset FROM epochs ORDER BY start_pos");
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({Epoch{r.text(i, 0), r.u64(i, 1), r.i64(i, 2)}, r.u64(i, 3)});
  }
  return out;
}

}  // namespace

struct PgServerStore::Impl {
  explicit Impl(const std::string& url) : pool(url, kPoolConnections) {}
  Pool pool;
  std::vector<Epoch> epochs;  // fixed for the life of the process, like SyncService's
  uint64_t offset = 0;        // the current epoch's pos_offset
  std::string instance;       // this process's row in `clocks`
  bool restored = false;      // restored_at_start()
  std::unique_ptr<Sealer> sealer;
};

PgServerStore::PgServerStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgServerStore::~PgServerStore() = default;

std::unique_ptr<PgServerStore> PgServerStore::open(const std::string& url) {
  auto impl = std::make_unique<Impl>(url);
  {
    Pool::Lease c(impl->pool);
    for (auto& [e, offset] : open_schema(*c, impl->restored)) {
      impl->epochs.push_back(e);
      impl->offset = offset;
    }
  }
  impl->instance = hex_encode(random_bytes(8));
  return std::unique_ptr<PgServerStore>(new PgServerStore(std::move(impl)));
}

uint64_t PgServerStore::seal_personal_data(const ServerKeys& keys, const Schema& schema) {
  std::map<std::string, std::set<std::string>> personal;
  for (const auto& cs : schema.collections()) {
    for (const auto& f : cs.fields()) {
      if (f.personal) personal[cs.name()].insert(f.name);
    }
  }
  // Again, for a version published live: the sealer learns its personal fields.
  if (impl_->sealer) {
    impl_->sealer->add_personal(personal);
    return 0;
  }
  {
    Pool::Lease c(impl_->pool);
    c->run("BEGIN");
    c->exec("SELECT pg_advisory_xact_lock($1)", {kSchemaLock});
    const bool sealed = c->exec("SELECT 1 FROM meta WHERE key='sealed'").rows() > 0;
    if (!sealed && c->exec("SELECT 1 FROM records LIMIT 1").rows() > 0) {
      c->run("ROLLBACK");
      throw Error(ErrorCode::kCorrupt,
                  "the database holds records but was never sealed: not made by lumbung-server");
    }
    c->run("INSERT INTO meta(key,value) VALUES('sealed','1') ON CONFLICT DO NOTHING");
    // Sealed data is lost without its key file: from this commit on the server refuses to
    // start without it (keys/server_keys.h).
    c->exec("INSERT INTO meta(key,value) VALUES('key_id',$1) ON CONFLICT DO NOTHING",
            {keys.key_id()});
    c->run("COMMIT");
  }
  impl_->sealer = std::make_unique<Sealer>(keys.data_key(), keys.index_key(), std::move(personal));
  return 0;
}

std::unique_ptr<WriteTxn> PgServerStore::begin_write() {
  return make_write_txn(std::make_unique<Pool::Lease>(impl_->pool), impl_->offset,
                        impl_->sealer.get(), impl_->instance);
}

std::optional<Principal> PgServerStore::find_principal(const std::string& token_hash) {
  Pool::Lease c(impl_->pool);
  {
    auto r =
        c->exec("SELECT hash, role, label, revoked_ms, expires_ms, scope FROM tokens WHERE hash=$1",
                {token_hash});
    if (r.rows() > 0) {
      auto role = role_from(r.view(0, 1));
      if (!role) throw Error(ErrorCode::kCorrupt, "stored token has an unknown role");
      Principal p;
      p.role = *role;
      p.label = r.text(0, 2);
      p.revoked = r.i64(0, 3) != 0;
      p.expires_ms = r.i64(0, 4);
      p.stored_hash = r.text(0, 0);
      p.token_id = p.stored_hash.substr(0, kTokenIdHexDigits);
      if (p.role == Role::kReviewer) p.scope = scope_from_text(r.view(0, 5));
      return p;
    }
  }
  // A device's token, or its pending rotated token (PROTOCOL.md "Token rotation").
  for (const char* column : {"token_hash", "next_token_hash"}) {
    auto r = c->exec(std::string("SELECT device_id, label, scope, revoked_ms, ") + column +
                         " FROM devices WHERE " + column + "=$1",
                     std::vector<Param>{token_hash});
    if (r.rows() == 0) continue;
    Principal p;
    p.role = Role::kDevice;
    p.device_id = r.text(0, 0);
    p.label = r.text(0, 1);
    p.scope = scope_from_text(r.view(0, 2));
    p.revoked = r.i64(0, 3) != 0;
    p.stored_hash = r.text(0, 4);
    p.pending_token = std::string_view(column) == "next_token_hash";
    return p;
  }
  return std::nullopt;
}

LogPage PgServerStore::read_log(uint64_t after_pos, const std::vector<std::string>& prefixes,
                                const std::string& exclude_dev, size_t limit, size_t scan_limit) {
  // A transaction that is still running holds back every row above its position, including
  // rows already committed (it may yet add rows below them). Such a transaction is usually
  // short (another push, an autovacuum ANALYZE): look again a few times, ~175 ms at most,
  // before answering with what is final now.
  static constexpr int kWaitMs[] = {5, 20, 50, 100};
  bool held = false;
  LogPage page = read_log_once(after_pos, prefixes, exclude_dev, limit, scan_limit, &held);
  for (int wait_ms : kWaitMs) {
    if (!held) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    page = read_log_once(after_pos, prefixes, exclude_dev, limit, scan_limit, &held);
  }
  return page;
}

LogPage PgServerStore::read_log_once(uint64_t after_pos, const std::vector<std::string>& prefixes,
                                     const std::string& exclude_dev, size_t limit,
                                     size_t scan_limit, bool* held) {
  Pool::Lease c(impl_->pool);
  LogPage page;
  page.last_scanned = after_pos;
  *held = false;
  auto in_scope = [&prefixes](std::string_view scope) {
    if (scope.empty()) return true;
    for (const auto& p : prefixes) {
      if (scope.compare(0, p.size(), p) == 0) return true;
    }
    return false;
  };
  // One snapshot for the bound, the page and `more`.
  c->run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  struct EndRead {
    Conn& c;
    ~EndRead() {
      try {
        c.run("COMMIT");
      } catch (...) {
      }
    }
  } end_read{*c};
  // Every transaction with an xid below the snapshot's xmin has ended, and every later one
  // gets a larger xid: the rows below this position are all the rows there will ever be
  // below it. A row above it may still be joined by a row of a slower transaction with a
  // smaller position, so the cursor must not pass it yet (docs/ARCHITECTURE.md).
  const uint64_t xmin = c->exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").u64(0, 0);
  const uint64_t bound = pos_of(impl_->offset, std::min(xmin, kMaxXid), 0);
  // Only the rows of the device's regions are read, through the index on (scope, pos):
  // one range of scope per region prefix (a desa's rows are one range), plus rows for
  // everyone (scope ''). The cost follows the region, not the log (docs/ARCHITECTURE.md
  // "Pull cost follows the region"). scan_limit bounds nothing here: no row outside the
  // regions is examined.
  (void)scan_limit;
  std::vector<Param> params{after_pos, bound, exclude_dev, static_cast<uint64_t>(limit) + 1};
  // Plus the rows for this device alone ("@" + its id: a late refusal notice).
  std::string where = "scope='' OR scope=$5";
  params.emplace_back(kDeviceScopePrefix + exclude_dev);
  for (const std::string& p : prefixes) {
    if (p.empty() || static_cast<unsigned char>(p.back()) == 0xff) {
      where = "true";  // every region (rows for other devices alone are skipped below)
      params.erase(params.begin() + 4, params.end());
      break;
    }
    std::string hi = p;
    hi.back() = static_cast<char>(hi.back() + 1);
    where += " OR (scope>=$" + std::to_string(params.size() + 1) + " AND scope<$" +
             std::to_string(params.size() + 2) + ")";
    params.emplace_back(p);
    params.emplace_back(std::move(hi));
  }
  auto r = c->exec(
      "SELECT pos, dev, scope, op, not_scope FROM oplog WHERE pos>$1 AND pos<$2 AND dev<>$3 "
      "AND (" +
          where + ") ORDER BY pos LIMIT $4",
      params);
  const int n = r.rows();
  for (int i = 0; i < n && page.entries.size() < limit; ++i) {
    page.last_scanned = r.u64(i, 0);
    const std::string_view not_scope = r.view(i, 4);
    if (!not_scope.empty() && in_scope(not_scope)) continue;
    const std::string_view scope = r.view(i, 2);
    if (scope.compare(0, 1, kDeviceScopePrefix) == 0 && scope.substr(1) != exclude_dev) continue;
    LogEntry e;
    e.pos = page.last_scanned;
    e.dev = r.text(i, 1);
    e.scope = r.text(i, 2);
    e.op_text = open_or_clear(impl_->sealer.get(), "oplog.op", std::to_string(e.pos), r.view(i, 3));
    page.entries.push_back(std::move(e));
  }
  if (static_cast<size_t>(n) > limit) {
    page.more = true;  // the query's extra row: there is more after the last one sent
    return page;
  }
  // Every row of the regions below the bound was read: the cursor may move up to the last
  // row below it, whoever it was for (never into the gap above, which may lie in no epoch).
  const uint64_t last =
      c->exec("SELECT coalesce(max(pos), 0) FROM oplog WHERE pos<$1", {bound}).u64(0, 0);
  page.last_scanned = std::max(page.last_scanned, std::max(last, after_pos));
  *held = c->exec("SELECT 1 FROM oplog WHERE pos>=$1 LIMIT 1", {bound}).rows() > 0;
  return page;
}

std::vector<Epoch> PgServerStore::epochs() { return impl_->epochs; }
bool PgServerStore::restored_at_start() { return impl_->restored; }

uint64_t PgServerStore::last_pos_before(uint64_t before_pos) {
  Pool::Lease c(impl_->pool);
  return c
      ->exec("SELECT coalesce(max(pos), 0) FROM oplog WHERE pos < $1",
             {std::min<uint64_t>(before_pos, INT64_MAX)})
      .u64(0, 0);
}

uint64_t PgServerStore::log_length() {
  Pool::Lease c(impl_->pool);
  // The planner's estimate (kept by autovacuum's ANALYZE) where counting would read a large
  // table; -1 or a small number (a table never analysed, or small): count it.
  constexpr int64_t kCountBelow = 100000;
  const int64_t estimate = static_cast<int64_t>(
      c->exec("SELECT coalesce((SELECT reltuples::bigint FROM pg_class WHERE oid = "
              "'oplog'::regclass), -1)")
          .i64(0, 0));
  if (estimate >= kCountBelow) return static_cast<uint64_t>(estimate);
  return c->exec("SELECT count(*) FROM oplog").u64(0, 0);
}

uint64_t PgServerStore::log_horizon() {
  Pool::Lease c(impl_->pool);
  // The highest row below the xmin bound, in one statement (one snapshot): no transaction
  // still running can add a row below it (read_log).
  auto r = c->exec(
      "SELECT coalesce(max(pos), 0) FROM oplog WHERE pos < $1::bigint + "
      "(least(pg_snapshot_xmin(pg_current_snapshot())::text::bigint, $2) << $3)",
      {impl_->offset, kMaxXid, kPosShift});
  return r.u64(0, 0);
}

uint64_t PgServerStore::device_acked_seq(const std::string& device_id) {
  Pool::Lease c(impl_->pool);
  auto r = c->exec("SELECT acked_seq FROM devices WHERE device_id=$1", {device_id});
  return r.rows() ? r.u64(0, 0) : 0;
}

ReviewPage<RefusedRow> PgServerStore::list_refused(const ReviewQuery& q) {
  return pg::list_refused(impl_->pool, impl_->sealer.get(), q);
}
ReviewPage<ConflictRow> PgServerStore::list_conflicts(const ReviewQuery& q) {
  return pg::list_conflicts(impl_->pool, impl_->sealer.get(), q);
}
ReviewPage<DuplicateRow> PgServerStore::list_duplicates(const ReviewQuery& q) {
  return pg::list_duplicates(impl_->pool, impl_->sealer.get(), q);
}

std::vector<DeviceRow> PgServerStore::list_devices() {
  Pool::Lease c(impl_->pool);
  auto r = c->exec(std::string("SELECT ") + kDeviceCols + " FROM devices ORDER BY device_id", {});
  std::vector<DeviceRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_device(r, i));
  return out;
}

std::vector<RecordRow> PgServerStore::list_records(const std::string& col,
                                                   const std::string& scope_prefix,
                                                   const std::string& after_id, size_t limit) {
  Pool::Lease c(impl_->pool);
  auto r = c->exec(
      "SELECT id, doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=$1 AND id>$2 "
      "AND ($3='' OR starts_with(scope, $3)) ORDER BY id LIMIT $4",
      {col, after_id, scope_prefix, static_cast<uint64_t>(limit)});
  std::vector<RecordRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    RecordRow row;
    row.collection = col;
    row.id = r.text(i, 0);
    row.state = read_record(r, i, 1, impl_->sealer.get(), col, row.id);
    out.push_back(std::move(row));
  }
  return out;
}

void PgServerStore::snapshot_records(const std::string& col, const std::string& scope_prefix,
                                     const std::string& after_scope, const std::string& after_id,
                                     size_t limit,
                                     const std::function<bool(const StoredRecord&)>& fn) {
  Pool::Lease c(impl_->pool);
  // A range of the region index records_region (col, scope, id), read in its order (text
  // keys are COLLATE "C": the same order as SQLite's).
  const bool from_start = after_scope.empty() && after_id.empty();
  std::vector<Param> params{col, from_start ? scope_prefix : after_scope,
                            from_start ? std::string() : after_id, static_cast<uint64_t>(limit)};
  std::string sql =
      "SELECT scope, id, doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=$1 "
      "AND (scope, id) > ($2, $3)";
  if (!scope_prefix.empty()) {
    std::string end = scope_prefix;
    end.back() = static_cast<char>(end.back() + 1);
    sql += " AND scope < $5";
    params.emplace_back(std::move(end));
  }
  auto r = c->exec(sql + " ORDER BY scope, id LIMIT $4", params);
  const Sealer* sealer = impl_->sealer.get();
  std::string joined;
  for (int i = 0; i < r.rows(); ++i) {
    StoredRecord rec;
    rec.scope = r.view(i, 0);
    rec.id = r.view(i, 1);
    rec.doc = r.view(i, 2);
    if (sealer) {
      std::optional<std::string_view> sealed;
      if (!r.null(i, 6)) sealed = r.view(i, 6);
      joined = sealer->join_doc_text(col, std::string(rec.id), rec.doc, sealed);
      rec.doc = joined;
    }
    rec.ver = r.view(i, 3);
    rec.del_hlc = r.i64(i, 4);
    rec.del_dev = r.view(i, 5);
    if (!fn(rec)) break;
  }
}

void PgServerStore::written_outside(
    const std::string& device, const std::vector<std::string>& prefixes,
    const std::string& after_col, const std::string& after_id, size_t limit,
    const std::function<bool(const std::string&, const std::string&)>& fn) {
  Pool::Lease c(impl_->pool);
  std::vector<Param> params{device, after_col, after_id, static_cast<uint64_t>(limit)};
  std::string sql =
      "SELECT o.col, o.id FROM oplog o JOIN records r ON r.col=o.col AND r.id=o.id "
      "WHERE o.dev=$1 AND (o.col, o.id) > ($2, $3) AND r.scope<>''";
  for (const auto& p : prefixes) {
    std::string end = p;
    if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
    sql += " AND NOT (r.scope>=$" + std::to_string(params.size() + 1) + " AND r.scope<$" +
           std::to_string(params.size() + 2) + ")";
    params.emplace_back(p);
    params.emplace_back(std::move(end));
  }
  auto r = c->exec(sql + " GROUP BY o.col, o.id ORDER BY o.col, o.id LIMIT $4", params);
  for (int i = 0; i < r.rows(); ++i) {
    if (!fn(r.text(i, 0), r.text(i, 1))) break;
  }
}

std::optional<RecordState> PgServerStore::get_record(const std::string& col,
                                                     const std::string& id) {
  Pool::Lease c(impl_->pool);
  auto r = c->exec("SELECT doc, ver, del_hlc, del_dev, sealed FROM records WHERE col=$1 AND id=$2",
                   {col, id});
  if (r.rows() == 0) return std::nullopt;
  return read_record(r, 0, 0, impl_->sealer.get(), col, id);
}

void PgServerStore::for_each_live(
    const std::string& col, const std::string& scope_prefix,
    const std::function<void(const std::string&, std::string_view)>& fn) {
  // By pages of ids, so a province's records never sit in memory at once.
  constexpr uint64_t kPage = 2000;
  std::string after;
  for (;;) {
    Pool::Lease c(impl_->pool);
    auto r = c->exec(
        "SELECT id, scope, doc FROM records WHERE col=$1 AND live AND id>$2 "
        "AND ($3='' OR starts_with(scope, $3)) ORDER BY id LIMIT $4",
        {col, after, scope_prefix, kPage});
    for (int i = 0; i < r.rows(); ++i) fn(r.text(i, 1), r.view(i, 2));
    if (static_cast<uint64_t>(r.rows()) < kPage) return;
    after = r.text(r.rows() - 1, 0);
  }
}

void PgServerStore::for_each_count(const std::string& col, const std::string& scope_prefix,
                                   const CountFn& fn) {
  read_counts(impl_->pool, col, scope_prefix, fn);
}

std::string PgServerStore::read_meta(const std::string& key) {
  Pool::Lease c(impl_->pool);
  if (key == "clock") {  // one row per server process (pg_write_txn.cpp set_meta)
    auto r = c->exec("SELECT coalesce(max(value), 0)::text FROM clocks");
    return r.view(0, 0) == "0" ? std::string() : r.text(0, 0);
  }
  auto r = c->exec("SELECT value FROM meta WHERE key=$1", {key});
  return r.rows() ? r.text(0, 0) : std::string();
}

std::vector<TokenRow> PgServerStore::list_tokens() {
  Pool::Lease c(impl_->pool);
  auto r =
      c->exec(std::string("SELECT ") + kTokenCols + " FROM tokens ORDER BY created_ms, hash", {});
  std::vector<TokenRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_token(r, i));
  return out;
}

void PgServerStore::read_audit(uint64_t after_seq, size_t limit,
                               const std::function<bool(const AuditRow&)>& fn) {
  Pool::Lease c(impl_->pool);
  auto r = c->exec(
      "SELECT seq,at_ms,role,actor,action,target,detail,prev_hash,hash FROM audit "
      "WHERE seq>$1 ORDER BY seq LIMIT $2",
      {after_seq, static_cast<uint64_t>(limit)});
  for (int i = 0; i < r.rows(); ++i) {
    AuditRow a;
    a.seq = r.u64(i, 0);
    a.at_ms = r.i64(i, 1);
    a.role = r.text(i, 2);
    a.actor = r.text(i, 3);
    a.action = r.text(i, 4);
    a.target = r.text(i, 5);
    a.detail = r.text(i, 6);
    a.prev_hash = r.text(i, 7);
    a.hash = r.text(i, 8);
    if (!fn(a)) break;
  }
}

std::vector<AuditCheckpoint> PgServerStore::audit_checkpoints() {
  Pool::Lease c(impl_->pool);
  auto r = c->exec("SELECT count, head, at_ms, key_id, sig FROM audit_checkpoints ORDER BY count");
  std::vector<AuditCheckpoint> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(
        AuditCheckpoint{r.u64(i, 0), r.text(i, 1), r.i64(i, 2), r.text(i, 3), r.text(i, 4)});
  }
  return out;
}

RecordLogPage PgServerStore::record_log(const std::string& col, const std::string& id, size_t limit,
                                        uint64_t before_pos) {
  Pool::Lease c(impl_->pool);
  // Newest first through oplog_record, one row more than asked: older rows exist. Rows of
  // transactions still running are not visible (committed data only, as every read).
  const uint64_t below = before_pos > 0 ? std::min<uint64_t>(before_pos, INT64_MAX) : INT64_MAX;
  auto r = c->exec(
      "SELECT pos, dev, scope, op, not_scope FROM oplog WHERE col=$1 AND id=$2 AND pos<$4 "
      "ORDER BY pos DESC LIMIT $3",
      {col, id, static_cast<uint64_t>(limit) + 1, below});
  RecordLogPage page;
  for (int i = 0; i < r.rows(); ++i) {
    if (page.entries.size() == limit) {
      page.cut = true;
      break;
    }
    LogEntry e;
    e.pos = r.u64(i, 0);
    e.dev = r.text(i, 1);
    e.scope = r.text(i, 2);
    e.op_text = open_or_clear(impl_->sealer.get(), "oplog.op", std::to_string(e.pos), r.view(i, 3));
    e.not_scope = r.text(i, 4);
    page.entries.push_back(std::move(e));
  }
  std::reverse(page.entries.begin(), page.entries.end());
  return page;
}

std::vector<TargetRow> PgServerStore::list_targets(const std::string& col,
                                                   const std::string& scope_prefix) {
  Pool::Lease c(impl_->pool);
  auto r = c->exec(
      "SELECT scope, n, set_ms, set_by FROM targets WHERE col=$1 "
      "AND ($2='' OR starts_with(scope, $2)) ORDER BY scope",
      {col, scope_prefix});
  std::vector<TargetRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(TargetRow{col, r.text(i, 0), r.i64(i, 1), r.i64(i, 2), r.text(i, 3)});
  }
  return out;
}

void PgServerStore::set_target(const std::string& col, const std::string& scope,
                               std::optional<int64_t> n, int64_t now_ms, const std::string& by) {
  Pool::Lease c(impl_->pool);
  if (n) {
    c->exec(
        "INSERT INTO targets(col,scope,n,set_ms,set_by) VALUES($1,$2,$3,$4,$5) "
        "ON CONFLICT(col,scope) DO UPDATE SET n=excluded.n, set_ms=excluded.set_ms, "
        "set_by=excluded.set_by",
        {col, scope, *n, now_ms, by});
  } else {
    c->exec("DELETE FROM targets WHERE col=$1 AND scope=$2", {col, scope});
  }
}

}  // namespace lumbung::server

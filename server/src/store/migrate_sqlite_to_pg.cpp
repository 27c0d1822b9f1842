#include "store/migrate_sqlite_to_pg.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>

#include "attach/attachment_files.h"
#include "audit/audit_log.h"
#include "common/encoding.h"
#include "lumbung/error.h"
#include "store/pg_attachment_bytes.h"
#include "store/pg_rows.h"

namespace lumbung::server {

using pg::Conn;
using pg::Param;

namespace {

// One table: the SQLite columns it must have (all of them: one more or one less means a
// version this code does not know), the SELECT that gives the PostgreSQL columns in order
// ({xid} is replaced by the migration's transaction id), and those PostgreSQL columns.
struct TableSpec {
  const char* table;  // the PostgreSQL table; the SQLite one unless sqlite_table says
  const char* sqlite_table;
  const char* sqlite_cols;  // "" = not a SQLite table of its own (clocks)
  const char* select;
  const char* pg_cols;
};

// In the order of sqlite_rows.h kDdl. Every SQLite table must be here (checked).
constexpr TableSpec kTables[] = {
    {"meta", "meta", "key,value", "SELECT key, value FROM meta WHERE key<>'clock' ORDER BY key",
     "key,value"},
    // meta 'clock' on SQLite is one row of `clocks` on PostgreSQL (pg_rows.h).
    {"clocks", "meta", "", "SELECT 'sqlite', value FROM meta WHERE key='clock'", "instance,value"},
    {"records", "records", "col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed",
     "SELECT col, id, doc, ver, del_hlc, del_dev, live, scope, nkey, sealed FROM records "
     "ORDER BY rowid",
     "col,id,doc,ver,del_hlc,del_dev,live,scope,nkey,sealed"},
    {"oplog", "oplog", "pos,dev,seq,col,id,scope,hlc,op,not_scope",
     "SELECT pos, '{xid}', dev, seq, col, id, scope, hlc, op, not_scope FROM oplog ORDER BY pos",
     "pos,xid,dev,seq,col,id,scope,hlc,op,not_scope"},
    {"devices", "devices",
     "device_id,label,scope,token_hash,acked_seq,registered_ms,last_seen_ms,last_sync_ms,"
     "revoked_ms,status,next_token_hash",
     "SELECT device_id, label, scope, token_hash, acked_seq, registered_ms, last_seen_ms, "
     "last_sync_ms, revoked_ms, status, next_token_hash FROM devices",
     "device_id,label,scope,token_hash,acked_seq,registered_ms,last_seen_ms,last_sync_ms,"
     "revoked_ms,status,next_token_hash"},
    {"tokens", "tokens", "hash,role,label,created_ms,revoked_ms,expires_ms,scope",
     "SELECT hash, role, label, created_ms, expires_ms, revoked_ms, scope FROM tokens",
     "hash,role,label,created_ms,expires_ms,revoked_ms,scope"},
    {"codes", "codes",
     "hash,scope,label,created_ms,expires_ms,used_ms,used_by,revoked_ms,device_id",
     "SELECT hash, scope, label, created_ms, expires_ms, used_ms, used_by, revoked_ms, "
     "device_id FROM codes",
     "hash,scope,label,created_ms,expires_ms,used_ms,used_by,revoked_ms,device_id"},
    {"conflicts", "conflicts", "id,kind,col,rid,field,body,resolved,found_ms,resolution",
     "SELECT id, kind, col, rid, field, body, resolved, found_ms, resolution FROM conflicts",
     "id,kind,col,rid,field,body,resolved,found_ms,resolution"},
    {"duplicates", "duplicates", "id,col,rid_a,rid_b,resolved,found_ms,resolution",
     "SELECT id, col, rid_a, rid_b, resolved, found_ms, resolution FROM duplicates",
     "id,col,rid_a,rid_b,resolved,found_ms,resolution"},
    {"refused", "refused",
     "id,dev,seq,col,rid,code,field,message,op,scope,found_ms,status,resolution",
     "SELECT id, dev, seq, col, rid, code, field, message, op, scope, found_ms, status, "
     "resolution FROM refused",
     "id,dev,seq,col,rid,code,field,message,op,scope,found_ms,status,resolution"},
    {"counts", "counts", "col,scope,dim,key,n", "SELECT col, scope, dim, key, n FROM counts",
     "col,scope,dim,key,n"},
    {"targets", "targets", "col,scope,n,set_ms,set_by",
     "SELECT col, scope, n, set_ms, set_by FROM targets", "col,scope,n,set_ms,set_by"},
    // The SQLite histories keep their ids and starts; pos_offset only matters for the epoch
    // a PostgreSQL server writes in (the last one), and "sqlite" is no cluster's identity.
    {"epochs", "epochs", "id,start_pos,started_ms",
     "SELECT id, start_pos, started_ms, 0, 'sqlite' FROM epochs ORDER BY start_pos",
     "id,start_pos,started_ms,pos_offset,cluster"},
    {"audit", "audit", "seq,at_ms,role,actor,action,target,detail,prev_hash,hash",
     "SELECT seq, at_ms, role, actor, action, target, detail, prev_hash, hash FROM audit "
     "ORDER BY seq",
     "seq,at_ms,role,actor,action,target,detail,prev_hash,hash"},
    {"audit_checkpoints", "audit_checkpoints", "count,head,at_ms,key_id,sig",
     "SELECT count, head, at_ms, key_id, sig FROM audit_checkpoints ORDER BY count",
     "count,head,at_ms,key_id,sig"},
};

constexpr size_t kCopyChunkBytes = 256 * 1024;

std::set<std::string> split_set(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.insert(item);
  return out;
}

std::string join_set(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ",") + x;
  return out;
}

// The SQLite file, held under an exclusive lock (locking_mode EXCLUSIVE + BEGIN EXCLUSIVE)
// until destroyed. Only read.
class Source {
 public:
  // false from open(): another connection holds it (a running server).
  bool open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      throw Error(ErrorCode::kStorage, "cannot open " + path + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, 0);
    run("PRAGMA locking_mode=EXCLUSIVE");
    // A server's connections keep a shared lock on a WAL database while open: this fails.
    if (sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      const int rc = sqlite3_extended_errcode(db_) & 0xff;
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return false;
      throw Error(ErrorCode::kStorage, std::string("SQLite: ") + sqlite3_errmsg(db_));
    }
    return true;
  }
  ~Source() {
    if (db_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
    }
  }
  void run(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw Error(ErrorCode::kStorage, std::string("SQLite: ") + sqlite3_errmsg(db_));
    }
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A prepared SQLite statement, finalized at scope exit.
class Query {
 public:
  Query(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK) {
      throw Error(ErrorCode::kStorage, std::string("SQLite: ") + sqlite3_errmsg(db));
    }
  }
  ~Query() { sqlite3_finalize(st_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(ErrorCode::kStorage, std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  int columns() const { return sqlite3_column_count(st_); }
  bool null(int i) const { return sqlite3_column_type(st_, i) == SQLITE_NULL; }
  std::string_view text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, i));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st_, i)))
             : std::string_view();
  }
  int64_t i64(int i) const { return sqlite3_column_int64(st_, i); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

int64_t sqlite_i64(sqlite3* db, const std::string& sql) {
  Query q(db, sql);
  return q.step() ? q.i64(0) : 0;
}

// COPY text format: backslash, tab, newline and carriage return escaped; NULL is \N.
void append_copy_value(std::string& out, std::string_view v) {
  for (char ch : v) {
    switch (ch) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += ch;
    }
  }
}

std::string pg_error(PGconn* c) { return std::string("PostgreSQL: ") + PQerrorMessage(c); }

// Streams the rows of `select` (SQLite) into `table(cols)` (PostgreSQL) with COPY.
uint64_t copy_rows(sqlite3* src, Conn& dst, const std::string& select, const std::string& table,
                   const std::string& cols) {
  PGconn* h = dst.handle();
  {
    const std::string sql = "COPY " + table + "(" + cols + ") FROM STDIN";
    PGresult* r = PQexec(h, sql.c_str());
    const bool started = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!started) throw Error(ErrorCode::kStorage, pg_error(h));
  }
  uint64_t rows = 0;
  std::string buf;
  buf.reserve(kCopyChunkBytes + 64 * 1024);
  auto flush = [&] {
    if (!buf.empty() && PQputCopyData(h, buf.data(), static_cast<int>(buf.size())) != 1) {
      throw Error(ErrorCode::kStorage, pg_error(h));
    }
    buf.clear();
  };
  std::string failure;
  try {
    Query q(src, select);
    const int n = q.columns();
    while (q.step()) {
      for (int i = 0; i < n; ++i) {
        if (i) buf += '\t';
        if (q.null(i)) {
          buf += "\\N";
        } else {
          append_copy_value(buf, q.text(i));
        }
      }
      buf += '\n';
      ++rows;
      if (buf.size() >= kCopyChunkBytes) flush();
    }
    flush();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // Ends the COPY either way (an error message makes the server abort it).
  if (PQputCopyEnd(h, failure.empty() ? nullptr : failure.c_str()) != 1) {
    throw Error(ErrorCode::kStorage, pg_error(h));
  }
  std::string pg_failure;
  while (PGresult* res = PQgetResult(h)) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK && pg_failure.empty()) {
      pg_failure = PQresultErrorMessage(res);
    }
    PQclear(res);
  }
  if (!failure.empty()) throw Error(ErrorCode::kStorage, failure);
  if (!pg_failure.empty()) {
    throw Error(ErrorCode::kStorage, "PostgreSQL: copying " + table + ": " + pg_failure);
  }
  return rows;
}

// The SQLite file's tables and columns against kTables; "" if they are the ones known.
std::string check_source_layout(sqlite3* db) {
  std::set<std::string> known;
  for (const TableSpec& t : kTables) {
    if (*t.sqlite_cols) known.insert(t.sqlite_table);
  }
  {
    Query q(db, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'");
    while (q.step()) {
      const std::string name(q.text(0));
      if (!known.count(name)) return "table " + name + " is not known to this version";
    }
  }
  for (const TableSpec& t : kTables) {
    if (!*t.sqlite_cols) continue;
    std::set<std::string> have;
    Query q(db, std::string("SELECT name FROM pragma_table_info('") + t.sqlite_table + "')");
    while (q.step()) have.insert(std::string(q.text(0)));
    const std::set<std::string> want = split_set(t.sqlite_cols);
    if (have.empty()) return std::string("table ") + t.sqlite_table + " is missing";
    if (have != want) {
      return std::string("table ") + t.sqlite_table + " has columns " + join_set(have) +
             ", expected " + join_set(want);
    }
  }
  return "";
}

// Lumbung tables of the PostgreSQL database that hold rows ("" if none).
std::string target_rows(Conn& c) {
  std::string found;
  for (const TableSpec& t : kTables) {
    if (c.exec("SELECT to_regclass($1) IS NOT NULL", {t.table}).view(0, 0) != "t") continue;
    const std::string sql = std::string("SELECT count(*) FROM ") + t.table;
    const uint64_t n = c.exec(sql.c_str()).u64(0, 0);
    if (n > 0)
      found += (found.empty() ? "" : ", ") + std::string(t.table) + " " + std::to_string(n);
  }
  return found;
}

void mismatch(const std::string& what) {
  throw Error(ErrorCode::kCorrupt, "verification failed, nothing migrated: " + what);
}

// Oplog extent, rows and max seq per device, and every device's acked seq and token hash:
// the same in both databases, or kCorrupt.
uint64_t verify_log_and_devices(sqlite3* src, Conn& dst, uint64_t* max_pos) {
  {
    Query q(src, "SELECT coalesce(min(pos),0), coalesce(max(pos),0) FROM oplog");
    q.step();
    auto r = dst.exec("SELECT coalesce(min(pos),0), coalesce(max(pos),0) FROM oplog");
    if (r.i64(0, 0) != q.i64(0) || r.i64(0, 1) != q.i64(1)) mismatch("oplog positions");
    *max_pos = static_cast<uint64_t>(q.i64(1));
  }
  struct Check {
    const char* sqlite_sql;
    const char* pg_sql;
    const char* what;
  };
  const Check checks[] = {
      {"SELECT dev, count(*), max(seq) FROM oplog GROUP BY dev ORDER BY dev",
       "SELECT dev, count(*), max(seq) FROM oplog GROUP BY dev ORDER BY dev", "oplog per device"},
      {"SELECT device_id, acked_seq, token_hash FROM devices ORDER BY device_id",
       "SELECT device_id, acked_seq, token_hash FROM devices ORDER BY device_id",
       "device acked seqs"},
  };
  uint64_t devices = 0;
  for (const Check& ch : checks) {
    Query q(src, ch.sqlite_sql);
    auto r = dst.exec(ch.pg_sql);
    int row = 0;
    while (q.step()) {
      if (row >= r.rows()) mismatch(ch.what);
      for (int col = 0; col < 3; ++col) {
        if (q.text(col) != r.view(row, col))
          mismatch(std::string(ch.what) + " (" + r.text(row, 0) + ")");
      }
      ++row;
    }
    if (row != r.rows()) mismatch(ch.what);
    devices = static_cast<uint64_t>(row);  // the last check's: devices
  }
  return devices;
}

// Records the PostgreSQL history, as PgServerStore::open does for a new database, but
// starting above every migrated position AND every migrated epoch's start (a SQLite start
// opens an epoch at the wall clock in microseconds, often above the last row).
void start_pg_epoch(Conn& c, uint64_t xid, MigrationResult& res) {
  const uint64_t max_start = c.exec("SELECT coalesce(max(start_pos), 0) FROM epochs").u64(0, 0);
  const uint64_t floor = std::max(res.max_pos, max_start) + 1;
  const uint64_t base = pg::pos_of(0, xid, 0);
  const uint64_t offset = floor > base ? floor - base : 0;
  res.new_epoch = hex_encode(random_bytes(8));
  res.new_epoch_start = pg::pos_of(offset, xid, 0);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  c.exec("INSERT INTO epochs(id,start_pos,started_ms,pos_offset,cluster) VALUES($1,$2,$3,$4,$5)",
         {res.new_epoch, res.new_epoch_start,
          static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()),
          offset, pg::cluster_identity(c)});
}

// The attachment files into attachments / attachment_chunks, frames as stored (no key
// needed: PostgreSQL seals a chunk with the same key and associated data). Checked per
// file before the caller commits: the chunk rows hold exactly the bytes the entry says.
void copy_attachments(const std::string& dir, Conn& c, MigrationResult& res) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  c.script(pg_attachment_ddl());
  // Reads the directory (a torn tail of a .part, from a crash, is cut off as a server
  // start would); never opens a sealed frame.
  const AttachmentFiles files(dir, "");
  files.for_each([&](const std::string& sha, const AttachmentEntry& e) {
    c.exec(
        "INSERT INTO attachments(sha256, size, mime, device, started_ms, touched_ms, received, "
        "complete) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
        {sha, e.size, e.mime, e.device, e.started_ms, std::max(e.touched_ms, e.started_ms),
         e.received, e.complete ? "true" : "false"});
    const uint64_t copied =
        files.for_each_frame(sha, [&](uint64_t offset, uint32_t plain, std::string_view stored) {
          c.exec(
              "INSERT INTO attachment_chunks(sha256, pos, len, sealed) VALUES($1, $2, $3, "
              "decode($4, 'hex'))",
              {sha, offset, static_cast<uint64_t>(plain), hex_encode(stored)});
        });
    const uint64_t held =
        c.exec("SELECT coalesce(sum(len), 0) FROM attachment_chunks WHERE sha256=$1", {sha})
            .u64(0, 0);
    if (copied != e.received || held != e.received) {
      mismatch("attachment " + sha + ": " + std::to_string(e.received) + " bytes in its entry, " +
               std::to_string(copied) + " read, " + std::to_string(held) + " in PostgreSQL");
    }
    ++res.attachments;
    res.attachment_bytes += e.received;
  });
}

// What the audit entry of the move says: counts and positions, never data.
Json migration_note(const MigrationResult& res) {
  Json tables = Json::object();
  for (const auto& t : res.tables) tables[t.name] = t.rows;
  return Json{{"at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()},
              {"tables", tables},
              {"max_pos", res.max_pos},
              {"devices_checked", res.devices_checked},
              {"epoch", res.new_epoch},
              {"epoch_start", res.new_epoch_start},
              {"attachments", res.attachments},
              {"attachment_bytes", res.attachment_bytes}};
}

// meta 'moved_to' in the SQLite file: when and into which history (no connection string:
// it may hold a password).
void mark_moved(sqlite3* db, MigrationResult& res) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string value =
      Json{{"backend", "postgresql"}, {"at_ms", now}, {"epoch", res.new_epoch}}.dump();
  Query q(db, "INSERT OR REPLACE INTO meta(key,value) VALUES('moved_to',?1)");
  q.bind(1, value);
  q.step();
  res.source_marked = true;
}

}  // namespace

MigrationResult migrate_sqlite_to_pg(
    const std::string& data_dir, const std::string& url,
    const std::function<void(const MigrationResult::Table&)>& progress,
    const std::string& attachments_dir) {
  const auto t0 = std::chrono::steady_clock::now();
  MigrationResult res;
  const std::string path = data_dir + "/lumbung-server.db";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::kInvalidArgument, "no lumbung-server.db in " + data_dir);
  }
  Source src;
  if (!src.open(path)) {
    res.outcome = MigrationResult::Outcome::kSourceInUse;
    res.detail = path;
    return res;
  }
  sqlite3* db = src.db();
  res.detail = check_source_layout(db);
  if (res.detail.empty() && sqlite_i64(db, "SELECT count(*) FROM records") > 0 &&
      sqlite_i64(db, "SELECT count(*) FROM meta WHERE key='sealed'") == 0) {
    res.detail = "its personal data was never sealed";
  }
  if (!res.detail.empty()) {
    res.outcome = MigrationResult::Outcome::kSourceMismatch;
    return res;
  }
  {
    Query q(db, "SELECT value FROM meta WHERE key='key_id'");
    if (q.step()) res.key_id = std::string(q.text(0));
  }

  Conn c(url);
  c.run("BEGIN");
  try {
    // A server starting on this database meanwhile waits here, then joins the epoch below.
    c.exec("SELECT pg_advisory_xact_lock($1)", {pg::kSchemaLock});
    res.detail = target_rows(c);
    if (!res.detail.empty()) {
      c.run("ROLLBACK");
      res.outcome = MigrationResult::Outcome::kTargetNotEmpty;
      return res;
    }
    c.script(pg::kDdl);
    const uint64_t xid = c.exec("SELECT pg_current_xact_id()::text").u64(0, 0);
    if (xid == 0 || xid >= pg::kMaxXid) throw Error(ErrorCode::kStorage, "xid out of range");
    for (const TableSpec& t : kTables) {
      std::string select = t.select;
      if (const auto at = select.find("{xid}"); at != std::string::npos) {
        select.replace(at, 5, std::to_string(xid));
      }
      MigrationResult::Table done{t.table, copy_rows(db, c, select, t.table, t.pg_cols)};
      // Verified in the transaction: a difference rolls everything back.
      const uint64_t want =
          static_cast<uint64_t>(sqlite_i64(db, "SELECT count(*) FROM (" + select + ")"));
      const uint64_t have =
          c.exec(std::string("SELECT count(*) FROM ") + t.table, std::vector<Param>{}).u64(0, 0);
      if (done.rows != want || have != want) {
        mismatch(std::string(t.table) + ": " + std::to_string(want) + " rows in SQLite, " +
                 std::to_string(have) + " in PostgreSQL");
      }
      res.tables.push_back(done);
      if (progress) progress(done);
    }
    res.devices_checked = verify_log_and_devices(db, c, &res.max_pos);
    copy_attachments(attachments_dir.empty() ? data_dir + "/attachments" : attachments_dir, c, res);
    start_pg_epoch(c, xid, res);
    // For the audit chain: a server has the keys to append to it, migrate may not; the first
    // server start writes the entry (audit_migration_once).
    c.exec("INSERT INTO meta(key,value) VALUES('migrated_from_sqlite',$1)",
           {migration_note(res).dump()});
    c.run("COMMIT");
    // Then the SQLite copy is marked moved, so a server started on it again refuses
    // (SqliteServerStore::open): laptops syncing with two diverging servers would each miss
    // what the other took. After the PostgreSQL commit: a crash in between leaves the copy
    // unmarked (as before this mark), never marked but not moved.
    mark_moved(db, res);
    src.run("COMMIT");
  } catch (...) {
    try {
      c.run("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

void audit_migration_once(ServerStore& store, AuditLog& audit) {
  if (store.read_meta("migrated_from_sqlite").empty()) return;
  auto txn = store.begin_write();
  // Read again under the key's lock (meta() holds it on PostgreSQL): of several servers
  // starting together, one writes the entry.
  const std::string note = txn->meta("migrated_from_sqlite");
  if (note.empty() || !txn->meta("migrated_from_sqlite.audited").empty()) return;
  Json detail = Json::parse(note, nullptr, false);
  if (!detail.is_object()) detail = Json::object();
  audit.record_in(*txn, nullptr, "migrated_from_sqlite", detail.value("epoch", ""), detail);
  txn->set_meta("migrated_from_sqlite.audited", "1");
  txn->commit();
}

}  // namespace lumbung::server

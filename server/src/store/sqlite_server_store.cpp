#include "store/sqlite_server_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "common/encoding.h"
#include "store/sqlite_rows.h"
#include "store/sqlite_store_impl.h"

namespace lumbung::server {

using namespace sqlite_detail;  // NOLINT: this store's own private helpers

namespace {

// Readers: enough for the listener's 4 threads to pull concurrently with one writer.
constexpr size_t kReaderConnections = 3;
// The writer's page cache. A push inserts records under random UUID keys all over the
// records b-tree; with the engine's 16 MiB default most pages came from the OS by pread
// (40% of push time in the kernel at 100k records). 64 MiB keeps the hot b-tree pages of
// ~250k records in process and stays well inside the 256 MB server RSS budget.
constexpr int kWriterCacheKiB = 64 * 1024;
// Checkpoints run on a background thread (sqlite_store_impl.h) so that a push never pays for
// copying the WAL back into the database. The writer's own automatic checkpoint stays as a
// safety net at 64 MB of WAL (16,384 pages): a 2,000-op batch of random-key inserts dirties
// ~8-14 MB of pages, and the default 4 MB checkpointed inside nearly every push.
constexpr int kWalAutocheckpointPages = 16384;

}  // namespace

namespace {

// Replaces `path` with `text` so that a power cut leaves the old or the new file whole.
void write_file_durably(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    // Not fatal: without the file the next start cannot tell a restore (it assumes none).
    std::fprintf(stderr, "lumbung-server: cannot write %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return;
  }
  const std::string dir = path.substr(0, path.rfind('/') + 1);
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<Epoch> list_epochs(sql::Database& db) {
  std::vector<Epoch> out;
  auto& st = db.prepare("SELECT id, start_pos, started_ms FROM epochs ORDER BY start_pos");
  ResetOnExit r{st};
  while (st.step()) {
    out.push_back(
        Epoch{st.column_text(0), static_cast<uint64_t>(st.column_int(1)), st.column_int(2)});
  }
  return out;
}

}  // namespace

// Records this start of the server as a new history (Epoch) and returns every epoch,
// oldest first. The new epoch's positions start above both the log and the wall clock in
// microseconds: a database restored from an older copy then never reuses a position that
// the lost history gave out (those were all taken at earlier times).
std::vector<Epoch> start_epoch(sql::Database& db) {
  sql::Transaction txn(db);
  uint64_t max_pos = 0;
  {
    auto& st = db.prepare("SELECT coalesce(max(pos), 0) FROM oplog");
    ResetOnExit r{st};
    st.step();
    max_pos = static_cast<uint64_t>(st.column_int(0));
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  Epoch e;
  e.id = hex_encode(random_bytes(8));
  e.start_pos =
      std::max<uint64_t>(max_pos + 1, static_cast<uint64_t>(std::max<int64_t>(now_us, 1)));
  e.started_ms = now_ms;
  db.prepare("INSERT INTO epochs(id,start_pos,started_ms) VALUES(?1,?2,?3)")
      .bind_static(1, e.id)
      .bind(2, static_cast<int64_t>(e.start_pos))
      .bind(3, e.started_ms)
      .run();
  txn.commit();
  return list_epochs(db);
}

namespace {

// Before the epoch marker or anything else is written (migrate_sqlite_to_pg.h).
void refuse_if_moved(sql::Database& db, const std::string& dir, bool serve_moved) {
  auto& st = db.prepare("SELECT value FROM meta WHERE key='moved_to'");
  std::string moved;
  if (st.step()) moved = st.column_text(0);
  st.reset();
  if (moved.empty()) return;
  const Json j = Json::parse(moved, nullptr, false);
  std::string when = "an earlier day";
  if (j.is_object() && j.value("at_ms", int64_t{0}) > 0) {
    const std::time_t t = static_cast<std::time_t>(j.value("at_ms", int64_t{0}) / 1000);
    char buf[32];
    std::tm tm{};
    if (gmtime_r(&t, &tm) && std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm)) when = buf;
  }
  if (!serve_moved) {
    throw Error(ErrorCode::kSchemaMismatch,
                "the database in " + dir + " was moved to PostgreSQL by lumbung-admin migrate on " +
                    when +
                    ": start the servers with --db. Serving this copy again would give the "
                    "laptops two diverging servers; to undo the move and serve it anyway, start "
                    "with --serve-moved-data");
  }
  db.exec("DELETE FROM meta WHERE key='moved_to'");
  std::fprintf(stderr,
               "lumbung-server: serving %s although it was moved to PostgreSQL on %s "
               "(--serve-moved-data): the move is undone; laptops that synced with PostgreSQL "
               "since meet a restore\n",
               dir.c_str(), when.c_str());
}

}  // namespace

SqliteServerStore::SqliteServerStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteServerStore::~SqliteServerStore() = default;

std::unique_ptr<SqliteServerStore> SqliteServerStore::open(const std::string& dir,
                                                           bool serve_moved) {
  auto impl = std::make_unique<Impl>();
  impl->path = dir + "/lumbung-server.db";
  impl->writer = std::make_unique<sql::Database>(impl->path, true);
  impl->writer->exec(kDdl);
  for (const AddedColumn& c : kAddedColumns) {
    auto& st = impl->writer->prepare("SELECT count(*) FROM pragma_table_info(?1) WHERE name=?2");
    st.bind_static(1, c.table).bind_static(2, c.column);
    st.step();
    const bool present = st.column_int(0) > 0;
    st.reset();
    if (!present) impl->writer->exec(c.alter);
  }
  impl->writer->exec(kAddedIndexes);
  // An acknowledged push must survive a power cut, not only a crash: the commit that the
  // answer reports is fsync'ed (WAL + synchronous=FULL). Measured in BENCHMARKS.md.
  impl->writer->exec("PRAGMA synchronous=FULL");
  refuse_if_moved(*impl->writer, dir, serve_moved);
  {
    // The epoch the last start made here: missing from the database = restored from a copy.
    const std::string marker = dir + "/history";
    std::ifstream in(marker);
    std::string last;
    if (in >> last) {
      impl->restored = true;
      for (const Epoch& e : list_epochs(*impl->writer)) impl->restored &= e.id != last;
    }
    impl->epochs = start_epoch(*impl->writer);
    write_file_durably(marker, impl->epochs.back().id + "\n");
  }
  if (const uint64_t n = build_counts_if_missing(*impl->writer); n > 0) {
    std::fprintf(stderr, "lumbung-server: progress counts built for %llu records\n",
                 static_cast<unsigned long long>(n));
  }
  impl->writer->exec("PRAGMA cache_size=-" + std::to_string(kWriterCacheKiB));
  impl->writer->exec("PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages));
  for (size_t i = 0; i < kReaderConnections; ++i) {
    auto r = std::make_unique<Impl::Reader>();
    r->db = std::make_unique<sql::Database>(impl->path, false);
    r->db->exec("PRAGMA query_only=1");
    impl->readers.push_back(std::move(r));
  }
  impl->checkpointer = std::make_unique<sql::Database>(impl->path, false);
  Impl* raw = impl.get();
  impl->checkpoint_thread = std::thread([raw] { raw->checkpoint_loop(); });
  return std::unique_ptr<SqliteServerStore>(new SqliteServerStore(std::move(impl)));
}

uint64_t SqliteServerStore::seal_personal_data(const ServerKeys& keys, const Schema& schema) {
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
  auto sealer = std::make_unique<Sealer>(keys.data_key(), keys.index_key(), std::move(personal));
  uint64_t sealed = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->write_mu);
    sealed = seal_database(*impl_->writer, *sealer, keys.key_id());
    if (sealed > 0) {
      // The clear values are still in free pages and in the WAL's old frames: rebuild the
      // file and empty the WAL.
      impl_->writer->exec("VACUUM");
      impl_->writer->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
  }
  impl_->sealer = std::move(sealer);
  return sealed;
}

std::unique_ptr<WriteTxn> SqliteServerStore::begin_write() {
  return make_write_txn(impl_->write_mu, *impl_->writer, impl_->epochs.back().start_pos,
                        impl_->sealer.get());
}

std::optional<Principal> SqliteServerStore::find_principal(const std::string& token_hash) {
  Impl::Lease lease(*impl_);
  auto& db = lease.db();
  {
    auto& st = db.prepare(
        "SELECT hash, role, label, revoked_ms, expires_ms, scope FROM tokens WHERE hash=?1");
    ResetOnExit r{st};
    st.bind_static(1, token_hash);
    if (st.step()) {
      auto role = role_from(st.column_view(1));
      if (!role) throw Error(ErrorCode::kCorrupt, "stored token has an unknown role");
      Principal p;
      p.role = *role;
      p.label = st.column_text(2);
      p.revoked = st.column_int(3) != 0;
      p.expires_ms = st.column_int(4);
      p.stored_hash = st.column_text(0);
      p.token_id = p.stored_hash.substr(0, kTokenIdHexDigits);
      if (p.role == Role::kReviewer) p.scope = scope_from_text(st.column_view(5));
      return p;
    }
  }
  // A device's token, or its pending rotated token (PROTOCOL.md "Token rotation").
  for (const char* column : {"token_hash", "next_token_hash"}) {
    auto& st = db.prepare(std::string("SELECT device_id, label, scope, revoked_ms, ") + column +
                          " FROM devices WHERE " + column + "=?1");
    ResetOnExit r{st};
    st.bind_static(1, token_hash);
    if (!st.step()) continue;
    Principal p;
    p.role = Role::kDevice;
    p.device_id = st.column_text(0);
    p.label = st.column_text(1);
    p.scope = scope_from_text(st.column_view(2));
    p.revoked = st.column_int(3) != 0;
    p.stored_hash = st.column_text(4);
    p.pending_token = std::string_view(column) == "next_token_hash";
    return p;
  }
  return std::nullopt;
}

std::vector<Epoch> SqliteServerStore::epochs() { return impl_->epochs; }
bool SqliteServerStore::restored_at_start() { return impl_->restored; }

uint64_t SqliteServerStore::device_acked_seq(const std::string& device_id) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare("SELECT acked_seq FROM devices WHERE device_id=?1");
  ResetOnExit r{st};
  st.bind_static(1, device_id);
  return st.step() ? static_cast<uint64_t>(st.column_int(0)) : 0;
}

std::vector<DeviceRow> SqliteServerStore::list_devices() {
  Impl::Lease lease(*impl_);
  auto& st =
      lease.db().prepare(std::string("SELECT ") + kDeviceCols + " FROM devices ORDER BY device_id");
  ResetOnExit r{st};
  std::vector<DeviceRow> out;
  while (st.step()) out.push_back(read_device(st));
  return out;
}

std::string SqliteServerStore::read_meta(const std::string& key) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare("SELECT value FROM meta WHERE key=?1");
  ResetOnExit r{st};
  st.bind_static(1, key);
  return st.step() ? st.column_text(0) : std::string();
}

std::vector<TokenRow> SqliteServerStore::list_tokens() {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(std::string("SELECT ") + kTokenCols +
                                " FROM tokens ORDER BY created_ms, hash");
  ResetOnExit r{st};
  std::vector<TokenRow> out;
  while (st.step()) out.push_back(read_token(st));
  return out;
}

void SqliteServerStore::read_audit(uint64_t after_seq, size_t limit,
                                   const std::function<bool(const AuditRow&)>& fn) {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT seq,at_ms,role,actor,action,target,detail,prev_hash,hash FROM audit "
      "WHERE seq>?1 ORDER BY seq LIMIT ?2");
  ResetOnExit r{st};
  st.bind(1, static_cast<int64_t>(after_seq)).bind(2, static_cast<int64_t>(limit));
  while (st.step()) {
    AuditRow a;
    a.seq = static_cast<uint64_t>(st.column_int(0));
    a.at_ms = st.column_int(1);
    a.role = st.column_text(2);
    a.actor = st.column_text(3);
    a.action = st.column_text(4);
    a.target = st.column_text(5);
    a.detail = st.column_text(6);
    a.prev_hash = st.column_text(7);
    a.hash = st.column_text(8);
    if (!fn(a)) break;
  }
}

std::vector<AuditCheckpoint> SqliteServerStore::audit_checkpoints() {
  Impl::Lease lease(*impl_);
  auto& st = lease.db().prepare(
      "SELECT count, head, at_ms, key_id, sig FROM audit_checkpoints ORDER BY count");
  ResetOnExit r{st};
  std::vector<AuditCheckpoint> out;
  while (st.step()) {
    out.push_back(AuditCheckpoint{static_cast<uint64_t>(st.column_int(0)), st.column_text(1),
                                  st.column_int(2), st.column_text(3), st.column_text(4)});
  }
  return out;
}

RecordLogPage SqliteServerStore::record_log(const std::string& col, const std::string& id,
                                            size_t limit, uint64_t before_pos) {
  Impl::Lease lease(*impl_);
  return read_record_log(lease.db(), impl_->sealer.get(), col, id, limit, before_pos);
}

std::vector<TargetRow> SqliteServerStore::list_targets(const std::string& col,
                                                       const std::string& scope_prefix) {
  Impl::Lease lease(*impl_);
  return read_targets(lease.db(), col, scope_prefix);
}

void SqliteServerStore::set_target(const std::string& col, const std::string& scope,
                                   std::optional<int64_t> n, int64_t now_ms,
                                   const std::string& by) {
  std::lock_guard<std::mutex> lock(impl_->write_mu);  // the one writer connection
  write_target(*impl_->writer, col, scope, n, now_ms, by);
}

}  // namespace lumbung::server

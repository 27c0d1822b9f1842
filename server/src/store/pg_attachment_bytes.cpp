#include "store/pg_attachment_bytes.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>

#include "common/encoding.h"
#include "crypto/crypto.h"
#include "lumbung/error.h"
#include "store/pg_conn.h"
#include "store/pg_rows.h"

namespace lumbung::server {
namespace {

using pg::Conn;
using pg::Pool;
using pg::Result;

constexpr size_t kPoolConnections = 4;
// Chunks read a page at a time when the whole file is hashed: memory bounded by the page,
// not the file.
constexpr int kHashPageChunks = 16;

constexpr const char* kDdl = R"sql(
CREATE TABLE IF NOT EXISTS attachments(
  sha256 text COLLATE "C" PRIMARY KEY, size bigint NOT NULL, mime text NOT NULL,
  device text COLLATE "C" NOT NULL, started_ms bigint NOT NULL, touched_ms bigint NOT NULL,
  received bigint NOT NULL DEFAULT 0, complete boolean NOT NULL DEFAULT false);
CREATE INDEX IF NOT EXISTS attachments_device ON attachments(device);
CREATE TABLE IF NOT EXISTS attachment_chunks(
  sha256 text COLLATE "C" NOT NULL REFERENCES attachments(sha256) ON DELETE CASCADE,
  pos bigint NOT NULL, len integer NOT NULL, sealed bytea NOT NULL,
  PRIMARY KEY(sha256, pos));
)sql";

constexpr const char* kEntryCols =
    "size, mime, device, started_ms, touched_ms, received, complete::int";

AttachmentEntry entry_of(const Result& r, int row) {
  AttachmentEntry e;
  e.size = r.u64(row, 0);
  e.mime = r.text(row, 1);
  e.device = r.text(row, 2);
  e.started_ms = r.i64(row, 3);
  e.touched_ms = r.i64(row, 4);
  e.received = r.u64(row, 5);
  e.complete = r.i64(row, 6) != 0;
  return e;
}

// `for_update`: the row locked until the transaction ends, read as last committed (a claim
// committed meanwhile is seen; one coming later waits, then finds the row gone).
std::optional<AttachmentEntry> select_entry(Conn& c, const std::string& sha,
                                            bool for_update = false) {
  auto r = c.exec(std::string("SELECT ") + kEntryCols + " FROM attachments WHERE sha256=$1" +
                      (for_update ? " FOR UPDATE" : ""),
                  std::vector<pg::Param>{sha});
  if (r.rows() == 0) return std::nullopt;
  return entry_of(r, 0);
}

// The file's lock (transaction-scoped): uploads and removals of one hash, on every server.
void lock_file(Conn& c, const std::string& sha) {
  c.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"lumbung att:" + sha});
}

std::string unhex(std::string_view hex) {
  auto raw = hex_decode(hex);
  if (!raw) throw Error(ErrorCode::kCorrupt, "postgresql: an attachment chunk is not bytea hex");
  return std::move(*raw);
}

// Opens a stored chunk (or takes it as it is without a key).
std::optional<std::string> open_chunk(const std::string& key, const std::string& sha, uint64_t pos,
                                      const std::string& stored) {
  if (key.empty()) return stored;
  return crypto::open(key, stored, attachment_aad(sha, pos));
}

}  // namespace

// Named rather than anonymous: PgAttachmentBytes::PgUpload holds a Txn, and a class with
// external linkage must not hold a type of no linkage (gcc -Wsubobject-linkage, unity build).
namespace pg_attachment_detail {

// A transaction that rolls back unless committed (the pool's connections must come back
// idle).
class Txn {
 public:
  explicit Txn(Pool& pool) : c_(pool) { c_->run("BEGIN"); }
  ~Txn() {
    if (done_) return;
    try {
      c_->run("ROLLBACK");
    } catch (...) {  // a broken connection: the pool drops it
    }
  }
  Conn& conn() { return *c_; }
  void commit() {
    c_->run("COMMIT");
    done_ = true;
  }

 private:
  Pool::Lease c_;
  bool done_ = false;
};

}  // namespace pg_attachment_detail

using pg_attachment_detail::Txn;

class PgAttachmentBytes::PgUpload : public AttachmentBytes::Upload {
 public:
  PgUpload(Pool& pool, const std::string& key, std::string sha)
      : txn_(pool), key_(key), sha_(std::move(sha)) {
    lock_file(txn_.conn(), sha_);
  }
  std::optional<AttachmentEntry> entry() override { return select_entry(txn_.conn(), sha_); }
  uint64_t device_bytes(const std::string& device) override {
    Conn& c = txn_.conn();
    c.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"lumbung att dev:" + device});
    return c.exec("SELECT coalesce(sum(size), 0) FROM attachments WHERE device=$1", {device})
        .u64(0, 0);
  }
  void begin(const AttachmentEntry& e) override {
    Conn& c = txn_.conn();
    c.exec("DELETE FROM attachments WHERE sha256=$1", {sha_});  // its chunks with it
    c.exec(
        "INSERT INTO attachments(sha256, size, mime, device, started_ms, touched_ms, received, "
        "complete) VALUES($1, $2, $3, $4, $5, $6, 0, false)",
        {sha_, e.size, e.mime, e.device, e.started_ms, std::max(e.touched_ms, e.started_ms)});
  }
  uint64_t append(const std::string& chunk, int64_t now_ms) override {
    Conn& c = txn_.conn();
    auto e = select_entry(c, sha_);
    if (!e || e->complete)
      throw Error(ErrorCode::kInternal, "append to an upload that is not open");
    const std::string stored =
        key_.empty() ? chunk : crypto::seal(key_, chunk, attachment_aad(sha_, e->received));
    c.exec(
        "INSERT INTO attachment_chunks(sha256, pos, len, sealed) VALUES($1, $2, $3, "
        "decode($4, 'hex'))",
        {sha_, e->received, static_cast<uint64_t>(chunk.size()), hex_encode(stored)});
    return c
        .exec(
            "UPDATE attachments SET received=received+$2, touched_ms=$3 WHERE sha256=$1 "
            "RETURNING received",
            {sha_, static_cast<uint64_t>(chunk.size()), now_ms})
        .u64(0, 0);
  }
  bool finish() override {
    Conn& c = txn_.conn();
    auto e = select_entry(c, sha_);
    if (!e) return false;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    bool ok = md && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1;
    uint64_t total = 0;
    // Bounded: each page moves `total` forward by at least one byte a chunk (len > 0).
    while (ok && total < e->size) {
      auto r = c.exec(
          "SELECT pos, len, encode(sealed, 'hex') FROM attachment_chunks WHERE sha256=$1 AND "
          "pos >= $2 ORDER BY pos LIMIT " +
              std::to_string(kHashPageChunks),
          std::vector<pg::Param>{sha_, total});
      if (r.rows() == 0) break;
      for (int i = 0; ok && i < r.rows(); ++i) {
        const uint64_t pos = r.u64(i, 0);
        auto plain = open_chunk(key_, sha_, pos, unhex(r.view(i, 2)));
        ok = pos == total && plain && plain->size() == r.u64(i, 1) && !plain->empty();
        if (!ok) break;
        EVP_DigestUpdate(md.get(), plain->data(), plain->size());
        total += plain->size();
      }
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && total == e->size && EVP_DigestFinal_ex(md.get(), digest, &len) == 1;
    if (!ok || hex_encode(std::string_view(reinterpret_cast<const char*>(digest), len)) != sha_) {
      c.exec("DELETE FROM attachments WHERE sha256=$1", {sha_});
      return false;
    }
    c.exec("UPDATE attachments SET complete=true, received=size WHERE sha256=$1", {sha_});
    return true;
  }
  std::optional<AttachmentEntry> claim(int64_t now_ms) override {
    Conn& c = txn_.conn();
    c.exec(
        "UPDATE attachments SET touched_ms=greatest(touched_ms, $2) WHERE sha256=$1 AND complete",
        {sha_, now_ms});
    return select_entry(c, sha_);
  }
  void commit() override { txn_.commit(); }

 private:
  Txn txn_;
  const std::string& key_;
  std::string sha_;
};

PgAttachmentBytes::PgAttachmentBytes(const std::string& url, std::string key)
    : pool_(std::make_unique<Pool>(url, kPoolConnections)), key_(std::move(key)) {
  Txn t(*pool_);
  // The lock PgServerStore takes to make its tables: servers starting together wait.
  t.conn().exec("SELECT pg_advisory_xact_lock($1)", {pg::kSchemaLock});
  t.conn().script(kDdl);
  t.commit();
}

PgAttachmentBytes::~PgAttachmentBytes() = default;

std::unique_ptr<AttachmentBytes::Upload> PgAttachmentBytes::upload(const std::string& sha) {
  return std::make_unique<PgUpload>(*pool_, key_, sha);
}

std::optional<AttachmentEntry> PgAttachmentBytes::find(const std::string& sha) const {
  Pool::Lease c(*pool_);
  return select_entry(*c, sha);
}

std::optional<AttachmentEntry> PgAttachmentBytes::claim(const std::string& sha, int64_t now_ms) {
  Pool::Lease c(*pool_);
  // One statement: the row lock of the update orders it with a removal of the file.
  auto r = c->exec(std::string("UPDATE attachments SET touched_ms = CASE WHEN complete THEN "
                               "greatest(touched_ms, $2) ELSE touched_ms END WHERE sha256=$1 "
                               "RETURNING ") +
                       kEntryCols,
                   std::vector<pg::Param>{sha, now_ms});
  if (r.rows() == 0) return std::nullopt;
  return entry_of(r, 0);
}

std::string PgAttachmentBytes::read(const std::string& sha, uint64_t offset, uint64_t limit) const {
  Pool::Lease c(*pool_);
  // One statement, so one snapshot: the chunks of a file complete in it, those overlapping
  // the range only (a download in small ranges does not read the whole file each time).
  auto r = c->exec(
      "SELECT c.pos, c.len, encode(c.sealed, 'hex'), a.size FROM attachment_chunks c JOIN "
      "attachments a ON a.sha256 = c.sha256 WHERE c.sha256=$1 AND a.complete AND "
      "c.pos + c.len > $2 AND c.pos < $3 ORDER BY c.pos",
      std::vector<pg::Param>{sha, offset, offset + limit});
  std::string out;
  uint64_t size = 0;
  for (int i = 0; i < r.rows() && out.size() < limit; ++i) {
    const uint64_t at = r.u64(i, 0);
    size = r.u64(i, 3);
    auto plain = open_chunk(key_, sha, at, unhex(r.view(i, 2)));
    if (!plain || plain->size() != r.u64(i, 1) || at + plain->size() <= offset) {
      throw Error(ErrorCode::kCorrupt, "attachment " + sha.substr(0, 12) + " is damaged");
    }
    const uint64_t from = offset > at ? offset - at : 0;
    out.append(*plain, from, std::min<uint64_t>(plain->size() - from, limit - out.size()));
  }
  // Nothing (removed since the caller looked, or not complete) or a range cut short: not
  // the file the caller was told of.
  if (r.rows() == 0) throw Error(ErrorCode::kNotFound, "no such attachment");
  if (out.size() < std::min<uint64_t>(limit, size > offset ? size - offset : 0)) {
    throw Error(ErrorCode::kCorrupt, "attachment " + sha.substr(0, 12) + " is missing chunks");
  }
  return out;
}

bool PgAttachmentBytes::remove_if(const std::string& sha,
                                  const std::function<bool(const AttachmentEntry&)>& still) {
  Txn t(*pool_);
  lock_file(t.conn(), sha);
  auto e = select_entry(t.conn(), sha, true);  // judged with any claim committed before
  if (!e || !still(*e)) return false;          // rolled back: nothing was written
  t.conn().exec("DELETE FROM attachments WHERE sha256=$1", {sha});
  t.commit();
  return true;
}

uint64_t PgAttachmentBytes::remove_strays(int64_t) {
  return 0;  // a transaction leaves no half-made file behind
}

void PgAttachmentBytes::for_each(
    const std::function<void(const std::string&, const AttachmentEntry&)>& fn) const {
  std::map<std::string, AttachmentEntry> copy;
  {
    Pool::Lease c(*pool_);
    auto r = c->exec(std::string("SELECT ") + kEntryCols + ", sha256 FROM attachments",
                     std::vector<pg::Param>{});
    for (int i = 0; i < r.rows(); ++i) copy[r.text(i, 7)] = entry_of(r, i);
  }
  for (const auto& [sha, e] : copy) fn(sha, e);
}

const char* pg_attachment_ddl() { return kDdl; }

}  // namespace lumbung::server

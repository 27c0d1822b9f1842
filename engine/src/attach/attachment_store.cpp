// The laptop's attachment file (lumbung/attachments.h). Layout of the SQLite file:
//
//   meta(key PRIMARY KEY, value)   device_id: the store it belongs to
//   att(sha PRIMARY KEY, size, mime, name, bytes, state, sent, error, added_ms)
//       sha    64 hex digits of the bytes' SHA-256: one row per distinct file (attaching
//              the same photo to two records keeps it once)
//       name   the file's name; sealed like `bytes` when the store is encrypted
//       bytes  the file, or NULL when only its reference is known; with an encrypted store
//              crypto::seal(key, file, "lumbung att v1\0" + sha) where key is
//              Store::derive_key("lumbung attachments v1"): AES-256-GCM, so a changed or
//              moved blob does not open
//       state  waiting | sending | on_server | failed; sent = bytes the server confirmed
//       error, error_code  why the server refused it last (error_code added later: a file
//              made before gains the column when opened)
//   partial(sha PRIMARY KEY, bytes)
//       the first bytes of a file whose fetch stopped (a cut past the retries, a cancel),
//       sealed like att.bytes ("partial" in the associated data); the next fetch goes on
//       from there and drops the row once the whole file is kept
//
// What stays in clear in an encrypted store: sha256, size, MIME type and upload state (as
// record ids and versions do in the store itself).
#include "attach/attachment_internal.h"

#include <chrono>

#include "lumbung/error.h"

namespace lumbung {
namespace {

constexpr const char* kDdl = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS att(
  sha TEXT PRIMARY KEY, size INTEGER NOT NULL, mime TEXT NOT NULL, name BLOB NOT NULL,
  bytes BLOB, state TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '', added_ms INTEGER NOT NULL,
  error_code TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS partial(sha TEXT PRIMARY KEY, bytes BLOB NOT NULL) WITHOUT ROWID;
)sql";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AttachmentState state_from(std::string_view s) {
  if (s == "sending") return AttachmentState::kSending;
  if (s == "on_server") return AttachmentState::kOnServer;
  if (s == "failed") return AttachmentState::kFailed;
  return AttachmentState::kWaiting;
}

std::string aad(const std::string& sha, const char* what) {
  return std::string("lumbung att v1") + '\0' + what + '\0' + sha;
}

}  // namespace

const char* attachment_state_name(AttachmentState s) noexcept {
  switch (s) {
    case AttachmentState::kWaiting:
      return "waiting";
    case AttachmentState::kSending:
      return "sending";
    case AttachmentState::kOnServer:
      return "on_server";
    case AttachmentState::kFailed:
      return "failed";
  }
  return "waiting";
}

Json AttachmentRef::to_json() const {
  Json j{{"sha256", sha256}, {"size", size}, {"mime", mime}};
  if (!name.empty()) j["name"] = name;
  return j;
}

std::optional<AttachmentRef> AttachmentRef::from_json(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  auto sha = j.find("sha256"), size = j.find("size"), mime = j.find("mime");
  if (sha == j.end() || !sha->is_string() || sha->get_ref<const std::string&>().size() != 64 ||
      size == j.end() || !size->is_number_integer() || size->get<int64_t>() <= 0 ||
      mime == j.end() || !mime->is_string()) {
    return std::nullopt;
  }
  AttachmentRef r{sha->get<std::string>(), size->get<int64_t>(), mime->get<std::string>(), ""};
  if (auto n = j.find("name"); n != j.end() && n->is_string()) r.name = n->get<std::string>();
  return r;
}

std::string AttachmentStore::Impl::seal(const std::string& sha, const char* what,
                                        const std::string& clear) const {
  return key.empty() ? clear : crypto::seal(key, clear, aad(sha, what));
}

std::string AttachmentStore::Impl::open_sealed(const std::string& sha, const char* what,
                                               std::string_view stored) const {
  if (key.empty()) return std::string(stored);
  auto out = crypto::open(key, stored, aad(sha, what));
  if (!out) {
    throw Error(ErrorCode::kCorrupt, "attachment " + sha.substr(0, 12) + " is damaged: its " +
                                         what + " does not open with this store's key");
  }
  return *out;
}

std::optional<AttachmentInfo> AttachmentStore::Impl::load(const std::string& sha) const {
  auto& st = db->prepare(
      "SELECT size, mime, name, bytes IS NOT NULL, state, sent, error, error_code FROM att "
      "WHERE sha=?1");
  st.bind(1, sha);
  if (!st.step()) {
    st.reset();
    return std::nullopt;
  }
  AttachmentInfo i;
  i.ref.sha256 = sha;
  i.ref.size = st.column_int(0);
  i.ref.mime = st.column_text(1);
  const std::string name(st.column_view(2));
  i.local = st.column_int(3) != 0;
  i.state = state_from(st.column_view(4));
  i.sent = static_cast<uint64_t>(st.column_int(5));
  i.error = st.column_text(6);
  i.error_code = st.column_text(7);
  st.reset();
  i.ref.name = open_sealed(sha, "name", name);
  return i;
}

AttachmentStore::AttachmentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AttachmentStore::~AttachmentStore() = default;

std::unique_ptr<AttachmentStore> AttachmentStore::open(Store& store, const std::string& path) {
  auto impl = std::make_unique<Impl>(store);
  impl->db = std::make_unique<sql::Database>(path);
  impl->db->exec(kDdl);
  {  // A file from before error_code: add the column (SQLite has no ADD COLUMN IF NOT EXISTS).
    auto& cols =
        impl->db->prepare("SELECT 1 FROM pragma_table_info('att') WHERE name='error_code'");
    const bool has = cols.step();
    cols.reset();
    if (!has) impl->db->exec("ALTER TABLE att ADD COLUMN error_code TEXT NOT NULL DEFAULT ''");
  }
  impl->key = store.derive_key("lumbung attachments v1");
  auto& get = impl->db->prepare("SELECT value FROM meta WHERE key='device_id'");
  std::string owner = get.step() ? get.column_text(0) : std::string();
  get.reset();
  if (owner.empty()) {
    impl->db->prepare("INSERT INTO meta(key, value) VALUES('device_id', ?1)")
        .bind(1, store.device_id())
        .run();
  } else if (owner != store.device_id()) {
    throw Error(ErrorCode::kSchemaMismatch, "attachment file " + path + " belongs to device " +
                                                owner + ", not " + store.device_id());
  }
  return std::unique_ptr<AttachmentStore>(new AttachmentStore(std::move(impl)));
}

Store& AttachmentStore::store() { return impl_->store; }

AttachmentRef AttachmentStore::attach(const std::string& collection, const std::string& record_id,
                                      const std::string& field, const std::string& bytes,
                                      const std::string& mime, const std::string& name) {
  const CollectionSchema* cs = impl_->store.schema().collection(collection);
  if (!cs) throw Error(ErrorCode::kUnknownCollection, "no collection " + collection);
  const FieldDef* f = cs->field(field);
  if (!f || f->type != FieldType::kAttachment) {
    throw Error(ErrorCode::kUnknownField, field + " is not an attachment field of " + collection,
                field);
  }
  if (bytes.empty()) throw Error(ErrorCode::kValidationFailed, "the file is empty", field);
  // The schema's own check, before anything is kept: the size limit and the type.
  AttachmentRef ref{attach_detail::sha256_hex(bytes), static_cast<int64_t>(bytes.size()), mime,
                    name};
  Json patch{{field, ref.to_json()}};
  auto issues = cs->normalize_and_validate(patch, true);
  if (!issues.empty()) {
    throw Error(ErrorCode::kValidationFailed, issues.front().message, field);
  }
  if (!impl_->store.get(collection, record_id)) {
    throw Error(ErrorCode::kNotFound, "no record " + record_id);
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    sql::Transaction txn(*impl_->db);
    auto& ins = impl_->db->prepare(
        "INSERT INTO att(sha, size, mime, name, bytes, state, sent, added_ms) "
        "VALUES(?1, ?2, ?3, ?4, ?5, 'waiting', 0, ?6) "
        "ON CONFLICT(sha) DO UPDATE SET bytes=excluded.bytes WHERE att.bytes IS NULL");
    const std::string sealed_name = impl_->seal(ref.sha256, "name", name);
    const std::string sealed = impl_->seal(ref.sha256, "bytes", bytes);
    ins.bind(1, ref.sha256).bind(2, ref.size).bind(3, mime);
    ins.bind_blob(4, sealed_name.data(), sealed_name.size());
    ins.bind_blob(5, sealed.data(), sealed.size());
    ins.bind(6, now_ms());
    ins.run();
    txn.commit();
  }
  // Bytes first, then the reference: a crash between leaves bytes no record names, never
  // a record naming bytes this laptop never had.
  impl_->store.update(collection, record_id, patch);
  return ref;
}

std::optional<std::string> AttachmentStore::read(const std::string& sha256) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->db->prepare("SELECT bytes FROM att WHERE sha=?1 AND bytes IS NOT NULL");
  st.bind(1, sha256);
  if (!st.step()) {
    st.reset();
    return std::nullopt;
  }
  const std::string stored(st.column_view(0));
  st.reset();
  std::string bytes = impl_->open_sealed(sha256, "bytes", stored);
  if (attach_detail::sha256_hex(bytes) != sha256) {
    throw Error(ErrorCode::kCorrupt,
                "attachment " + sha256.substr(0, 12) + " on this laptop does not match its sha256");
  }
  return bytes;
}

std::optional<AttachmentInfo> AttachmentStore::info(const std::string& sha256) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->load(sha256);
}

std::vector<AttachmentInfo> AttachmentStore::unsent() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<std::string> shas;
  auto& st = impl_->db->prepare(
      "SELECT sha FROM att WHERE state<>'on_server' AND bytes IS NOT NULL ORDER BY added_ms, sha");
  while (st.step()) shas.push_back(st.column_text(0));
  st.reset();
  std::vector<AttachmentInfo> out;
  for (const auto& s : shas) {
    if (auto i = impl_->load(s)) out.push_back(std::move(*i));
  }
  return out;
}

void AttachmentStore::set_sent(const std::string& sha256, uint64_t sent, bool complete) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->db->prepare("UPDATE att SET sent=?2, state=?3, error='', error_code='' WHERE sha=?1")
      .bind(1, sha256)
      .bind(2, static_cast<int64_t>(sent))
      .bind(3, complete   ? "on_server"
               : sent > 0 ? "sending"
                          : "waiting")
      .run();
}

void AttachmentStore::set_failed(const std::string& sha256, const std::string& error,
                                 const std::string& error_code) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->db->prepare("UPDATE att SET state='failed', error=?2, error_code=?3 WHERE sha=?1")
      .bind(1, sha256)
      .bind(2, error)
      .bind(3, error_code)
      .run();
}

std::string AttachmentStore::Impl::load_partial(const std::string& sha) const {
  std::lock_guard<std::mutex> lock(mu);
  auto& st = db->prepare("SELECT bytes FROM partial WHERE sha=?1");
  st.bind(1, sha);
  const std::string stored = st.step() ? std::string(st.column_view(0)) : std::string();
  st.reset();
  if (stored.empty()) return {};
  try {
    return open_sealed(sha, "partial", stored);
  } catch (const Error&) {
    return {};  // damaged: the fetch starts again from 0 (the whole hash is checked anyway)
  }
}

uint64_t AttachmentStore::partial_bytes(const std::string& sha256) const {
  return impl_->load_partial(sha256).size();  // opened, so damaged bytes count as none
}

void AttachmentStore::Impl::save_partial(const std::string& sha, const std::string& bytes) {
  const std::string sealed = seal(sha, "partial", bytes);
  std::lock_guard<std::mutex> lock(mu);
  auto& st = db->prepare("INSERT OR REPLACE INTO partial(sha, bytes) VALUES(?1, ?2)");
  st.bind(1, sha);
  st.bind_blob(2, sealed.data(), sealed.size());
  st.run();
}

void AttachmentStore::Impl::drop_partial(const std::string& sha) {
  std::lock_guard<std::mutex> lock(mu);
  db->prepare("DELETE FROM partial WHERE sha=?1").bind(1, sha).run();
}

void AttachmentStore::keep_fetched(const AttachmentRef& ref, const std::string& bytes) {
  if (attach_detail::sha256_hex(bytes) != ref.sha256) {
    throw Error(ErrorCode::kCorrupt, "the server sent bytes that do not match the sha256");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string sealed_name = impl_->seal(ref.sha256, "name", ref.name);
  const std::string sealed = impl_->seal(ref.sha256, "bytes", bytes);
  auto& ins = impl_->db->prepare(
      "INSERT INTO att(sha, size, mime, name, bytes, state, sent, added_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5, 'on_server', ?2, ?6) "
      "ON CONFLICT(sha) DO UPDATE SET bytes=excluded.bytes WHERE att.bytes IS NULL");
  ins.bind(1, ref.sha256).bind(2, ref.size).bind(3, ref.mime);
  ins.bind_blob(4, sealed_name.data(), sealed_name.size());
  ins.bind_blob(5, sealed.data(), sealed.size());
  ins.bind(6, now_ms());
  ins.run();
}

}  // namespace lumbung

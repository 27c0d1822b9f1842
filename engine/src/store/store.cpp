// The device store. Layout of the SQLite file (schema version 1):
//
//   meta(key PRIMARY KEY, value, mac)   device_id, schema name, hlc (last clock value),
//                                        acked_seq, clock_offset_ms, sync cursor, regions,
//                                        secrets, crypto, sealed_fields, ...
//   records(rowid, col, id, doc, ver, del_hlc, del_dev, live, scope, nkey, sealed, mac)
//       UNIQUE(id); a rowid table, not WITHOUT ROWID keyed by id: ids are random-ish, and
//       ~450-byte rows inserted at random leaves made every commit rewrite most of the table
//       into the WAL (measured 25k records/s); appending rows and indexing the short id is
//       2-4x faster
//       doc  JSON object of every field ever written, cleared ones as null
//       ver  JSON object of field versions: "" holds the version shared by most fields,
//            other keys only the fields whose version differs ({"":[hlc,"dev"],"phone":[..]})
//            so a freshly created record stores one version, not one per field
//       scope  the scope field's region code as an integer key (record_codec.h), for
//              prefix queries; NULL when the record has none
//       nkey   the natural key's value (NIK) for duplicate lookups, integer when digits
//   changes(seq INTEGER PRIMARY KEY, col, id, hlc, wall_ms, op, sealed, mac)
//       the local change log / outbox; `op` is the op's wire JSON (changeset.cpp) without
//       the device, creates included (with their own values: a create sent again after a
//       server restore must carry what this device wrote, not what the record holds now).
//       Stores written before that have creates with `op` NULL, read back from the record
//       when pushed: the fields still at the create's version, and fields overwritten since
//       with their current value (their own later entries bring the newer versions), so
//       every prefix of the log holds whole records. Entries with seq <= meta.acked_seq are
//       acknowledged by the server; they are kept as the device's history (sent again if a
//       restored server no longer has them).
//   conflicts(cid PRIMARY KEY, kind, col, rid, field, body, hi_hlc, hi_dev, found_ms, resolved,
//             sealed, mac)
//   refused(seq PRIMARY KEY, col, rid, code, field, message, at_ms, sealed, mac)
//   away(id PRIMARY KEY, mac)
//
// Encrypted stores (OpenOptions::passphrase; crypto/crypto.h): fields the schema marks
// personal leave `doc` and live in `records.sealed` (AES-256-GCM of their JSON, the record
// id as associated data); update/delete log entries live in `changes.sealed` (seq as
// associated data) with `op` NULL; conflict bodies in `conflicts.sealed`, refusal messages
// in `refused.sealed`; `nkey` is the HMAC blind index of the natural key; secrets in meta
// are sealed. `meta.crypto` holds the scrypt parameters, salt and the wrapped data key.
// What stays in clear: ids, versions, region codes, the log's seqs and clock values, and the
// other non-personal fields, so sync and scope queries need no decryption.
//
// Integrity (encrypted stores): every row of every table carries `mac`, HMAC-SHA256
// truncated to 128 bits (crypto::RowMac) under a key derived from the data key, over all
// the row's other columns in the order of the LB_*_COLS lists (store_impl.h), with a domain
// tag per table; meta rows cover key and value, except meta.crypto, which AES-GCM under the
// passphrase authenticates. Every write path computes it (save, insert_fresh, log_change,
// apply_restamps, record_conflicts and the settling of conflicts, record_refused, move_away,
// put_meta) and every read checks it before using the row: a mismatch is Error(kCorrupt)
// naming the record or entry, so a row edited without the passphrase is neither shown,
// merged into, written over nor pushed (pending_wire checks the log entry and, for a create,
// the record row it reads the values from, which must exist). The unsent log must also be
// gap-free, and reach meta.log_end, the newest seq recorded at each commit, so entries cut
// from its end are noticed at open. What the MACs cannot show: other rows deleted whole, or
// a row replaced by an older authentic copy of itself (docs/SECURITY.md). Counts (count(),
// stats()) come from clear columns unchecked.
//
// Upgrade: a data key wrapped with "lumbung data key v1" marks a store made before row
// MACs; opening it with the passphrase adds the `mac` columns, MACs every row as it stands,
// reseals records under the current personal fields and wraps the key as v2, in one
// transaction, then VACUUMs so that values newly sealed leave no copy in free pages. A
// schema that marks more fields personal than meta.sealed_fields records makes open()
// reseal every record the same way.
//
// Invariant: a record row and its change-log entry are written in one transaction, and

#include "lumbung/store.h"

#include "store/store_impl.h"

namespace lumbung {

// --- Batch ---------------------------------------------------------------------------------

struct Batch::Impl {
  Store::Impl* s;
  std::unique_lock<std::mutex> lock;
  std::optional<sql::Transaction> txn;
  uint64_t seq_at_begin;
  bool committed = false;
  bool poisoned = false;  // a write failed after touching SQL: the batch cannot commit

  template <typename F>
  auto guarded(F&& f) {
    if (committed) throw Error(ErrorCode::kInvalidArgument, "batch already committed");
    if (poisoned) throw Error(ErrorCode::kInvalidArgument, "batch failed earlier; discard it");
    try {
      return f();
    } catch (const Error& e) {
      // Validation and lookups fail before any SQL write; anything else may be a half write.
      if (e.code() == ErrorCode::kStorage || e.code() == ErrorCode::kInternal ||
          e.code() == ErrorCode::kCorrupt) {
        poisoned = true;
      }
      throw;
    } catch (...) {
      poisoned = true;
      throw;
    }
  }
};

Batch::Batch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Batch::Batch(Batch&&) noexcept = default;
Batch::~Batch() {
  if (impl_ && !impl_->committed) {
    impl_->txn.reset();  // rolls back
    impl_->s->next_seq = impl_->seq_at_begin;
  }
}

std::string Batch::create(const std::string& collection, Json fields, std::string id) {
  return impl_->guarded(
      [&] { return impl_->s->create(collection, std::move(fields), std::move(id)); });
}
void Batch::update(const std::string& collection, const std::string& id, Json patch) {
  impl_->guarded([&] { impl_->s->update(collection, id, std::move(patch)); });
}
void Batch::remove(const std::string& collection, const std::string& id) {
  impl_->guarded([&] { impl_->s->remove(collection, id); });
}
void Batch::commit() {
  impl_->guarded([&] {
    impl_->s->persist_clock();
    impl_->txn->commit();
    impl_->committed = true;
    impl_->txn.reset();
    impl_->lock.unlock();  // a committed batch no longer blocks the store
  });
}

// --- Store ---------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// meta.crypto: {"kdf":"scrypt","n":..,"r":..,"p":..,"salt":b64,"wrapped":b64}. The data key
// is wrapped with one of two associated data strings: v2 says every row carries a MAC; a
// key wrapped with v1 (stores made before row MACs) makes open() add them (upgrade_store).
// The wrapping cannot be turned back from v2 into v1 without the passphrase.
constexpr const char* kDataKeyAadV1 = "lumbung data key v1";
constexpr const char* kDataKeyAad = "lumbung data key v2: rows carry MACs";

Json wrap_data_key(const std::string& data_key, const std::string& passphrase) {
  crypto::KdfParams kdf;
  kdf.salt = crypto::random_bytes(16);
  kdf.n = kScryptCost;
  std::string kek = crypto::derive_key(passphrase, kdf);
  const std::string wrapped = crypto::seal(kek, data_key, kDataKeyAad);
  OPENSSL_cleanse(kek.data(), kek.size());
  return Json{{"kdf", "scrypt"},
              {"n", kdf.n},
              {"r", kdf.r},
              {"p", kdf.p},
              {"salt", crypto::base64(kdf.salt)},
              {"wrapped", crypto::base64(wrapped)}};
}

struct Unwrapped {
  std::unique_ptr<crypto::Keyring> keys;
  bool before_macs = false;  // wrapped with v1: the rows have no MACs yet
};

Unwrapped unwrap_data_key(const std::string& meta_json, const std::string& passphrase) {
  if (passphrase.empty()) {
    throw Error(ErrorCode::kWrongPassphrase, "this store is encrypted: a passphrase is required");
  }
  const Json m = Json::parse(meta_json, nullptr, false);
  crypto::KdfParams kdf;
  std::optional<std::string> salt, wrapped;
  if (m.is_object() && m.value("kdf", "") == "scrypt") {
    salt = crypto::unbase64(m.value("salt", ""));
    wrapped = crypto::unbase64(m.value("wrapped", ""));
    kdf.n = m.value("n", uint64_t{0});
    kdf.r = m.value("r", 0u);
    kdf.p = m.value("p", 0u);
  }
  if (!salt || !wrapped || kdf.n < 2 || kdf.n > (uint64_t{1} << 22) || kdf.r == 0 || kdf.p == 0) {
    throw Error(ErrorCode::kCorrupt, "the store's key parameters are damaged");
  }
  kdf.salt = *salt;
  std::string kek = crypto::derive_key(passphrase, kdf);
  Unwrapped out;
  auto data_key = crypto::open(kek, *wrapped, kDataKeyAad);
  if (!data_key) {
    data_key = crypto::open(kek, *wrapped, kDataKeyAadV1);
    out.before_macs = data_key.has_value();
  }
  OPENSSL_cleanse(kek.data(), kek.size());
  if (!data_key) throw Error(ErrorCode::kWrongPassphrase, "wrong passphrase");
  out.keys = std::make_unique<crypto::Keyring>(std::move(*data_key));
  return out;
}

// A setting read before the keys are known (no MAC check; open() checks it afterwards).
std::string raw_meta(sql::Database& db, const std::string& key) {
  auto& st = db.prepare("SELECT value FROM meta WHERE key=?1");
  st.bind(1, key);
  std::string out = st.step() ? st.column_text(0) : std::string();
  st.reset();
  return out;
}

// Files made before row MACs get the `mac` columns (NULL until upgrade_store fills them).
void add_mac_columns(sql::Database& db) {
  for (const char* table : kMacTables) {
    auto& st = db.prepare(std::string("SELECT 1 FROM pragma_table_info('") + table +
                          "') WHERE name='mac'");
    const bool has = st.step();
    st.reset();
    if (!has) db.exec(std::string("ALTER TABLE ") + table + " ADD COLUMN mac BLOB");
  }
}

// Which fields the schema seals, per collection: kept in meta "sealed_fields" so that a
// schema marking more fields personal makes open() reseal the records already stored.
std::string sealed_fields(const Schema& schema) {
  std::string out;
  for (const CollectionSchema& cs : schema.collections()) {
    out += cs.name() + ":";
    std::vector<std::string> names;
    for (const FieldDef& f : cs.fields()) {
      if (f.personal) names.push_back(f.name);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out += n + ",";
    out += ";";
  }
  return out;
}

}  // namespace

void Store::Impl::for_each_record_row(
    bool checked,
    const std::function<void(const CollectionSchema&, const std::string&, RecordState&)>& fn) {
  int64_t after = 0;
  for (;;) {
    std::vector<std::tuple<int64_t, std::string, std::string, RecordState>> rows;
    auto& st = db->prepare("SELECT rid, " LB_RECORD_COLS
                           " FROM records WHERE rid>?1 ORDER BY rid LIMIT 512");
    st.bind(1, after);
    try {
      while (st.step()) {
        rows.emplace_back(st.column_int(0), st.column_text(1 + rc::kCol),
                          st.column_text(1 + rc::kId), decode_row(st, 1, checked));
      }
    } catch (...) {
      st.reset();
      throw;
    }
    st.reset();
    if (rows.empty()) return;
    for (auto& [rid, col, id, state] : rows) {
      const CollectionSchema* cs = schema->collection(col);
      if (!cs)
        throw Error(ErrorCode::kCorrupt, "record " + id + " is of unknown collection " + col);
      fn(*cs, id, state);
    }
    after = std::get<0>(rows.back());
  }
}

// Writes every record row again under the schema's current personal fields (which moves
// values that became personal out of `doc` into `sealed`) with a fresh MAC.
void Store::Impl::reseal_records(bool checked) {
  for_each_record_row(checked, [this](const CollectionSchema& cs, const std::string& id,
                                      RecordState& state) { save(cs, id, state); });
}

// Gives every row of a table a MAC of its content as it stands (stores made before row
// MACs). `key_col`: the column that names a row, for the UPDATE.
void Store::Impl::mac_table(const std::string& table, const std::string& cols, int n,
                            const char* domain, const std::string& key_col) {
  struct Row {
    std::string key;  // text keys (meta, conflicts, away)
    int64_t seq;      // integer keys (changes, refused)
    std::string mac;
  };
  const bool int_key = key_col == "seq";
  std::vector<Row> rows;
  auto& st = db->prepare("SELECT " + cols + ", " + key_col + " FROM " + table);
  try {
    while (st.step()) {
      if (table == "meta" && meta_unmacked(st.column_view(n))) continue;
      rows.push_back({int_key ? std::string() : st.column_text(n), st.column_int(n),
                      row_mac_of(st, domain, 0, n)});
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  auto& upd = db->prepare("UPDATE " + table + " SET mac=?2 WHERE " + key_col + "=?1");
  for (const Row& r : rows) {
    if (int_key) {
      upd.bind(1, r.seq);
    } else {
      upd.bind(1, r.key);
    }
    bind_mac(upd, 2, r.mac);
    upd.run();
  }
}

// An encrypted store made before row MACs: every row gets its MAC (the rows are taken as
// they stand: nothing earlier can vouch for them) and records are resealed under the current
// personal fields. The caller wraps the data key again as v2, in the same transaction.
void Store::Impl::add_row_macs() {
  mac_table("changes", "seq, col, id, hlc, wall_ms, op, sealed", cc::kCount, kMacChange, "seq");
  mac_table("conflicts",
            "cid, kind, col, rid, field, body, hi_hlc, hi_dev, found_ms, resolved, sealed", 11,
            kMacConflict, "cid");
  mac_table("refused", "seq, col, rid, code, field, message, at_ms, sealed", 8, kMacRefused, "seq");
  mac_table("away", "id", 1, kMacAway, "id");
  mac_table("meta", "key, value", 2, kMacMeta, "key");
  load_regions_and_away();  // now checked; a record that moved away keeps live=0
  reseal_records(false);
}

std::unique_ptr<Store> Store::open(const OpenOptions& options) {
  if (!options.schema) throw Error(ErrorCode::kInvalidArgument, "OpenOptions.schema is required");
  if (options.path.empty())
    throw Error(ErrorCode::kInvalidArgument, "OpenOptions.path is required");
  auto impl = std::make_unique<Impl>();
  impl->schema = options.schema;
  impl->wall = options.clock ? options.clock : &system_wall_clock();
  impl->db = std::make_unique<sql::Database>(options.path);
  impl->db->exec("PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages));
  impl->db->exec(kDdl);
  bool rewritten = false;  // rows rewritten: old cells are purged from the file afterwards
  {
    sql::Transaction txn(*impl->db);
    // Nothing is written before the passphrase is proven (a wrong one changes nothing).
    const std::string stored_device = raw_meta(*impl->db, "device_id");
    const std::string wrapped = raw_meta(*impl->db, "crypto");
    bool before_macs = false;
    if (stored_device.empty()) {
      if (!wrapped.empty()) {
        throw Error(ErrorCode::kCorrupt, "the store's device id is missing (key present)");
      }
      if (options.device_id.empty() || options.device_id.size() > 64) {
        throw Error(ErrorCode::kInvalidArgument,
                    "a new store needs a device id of 1..64 characters");
      }
    } else if (!wrapped.empty()) {
      Unwrapped u = unwrap_data_key(wrapped, options.passphrase);
      impl->keys = std::move(u.keys);
      before_macs = u.before_macs;
    } else if (!options.passphrase.empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "this store was created without encryption; it cannot take a passphrase");
    }
    add_mac_columns(*impl->db);
    if (stored_device.empty()) {
      if (!options.passphrase.empty()) {
        std::string data_key = crypto::random_bytes(crypto::kKeyBytes);
        impl->put_meta("crypto", wrap_data_key(data_key, options.passphrase).dump());
        impl->keys = std::make_unique<crypto::Keyring>(std::move(data_key));
        impl->put_meta("sealed_fields", sealed_fields(*options.schema));
      }
      impl->put_meta("device_id", options.device_id);
      impl->put_meta("schema", options.schema->name());
      impl->device = options.device_id;
    } else {
      if (before_macs) {
        impl->add_row_macs();
        impl->put_meta("crypto", wrap_data_key(impl->keys->data_key(), options.passphrase).dump());
        impl->put_meta("sealed_fields", sealed_fields(*options.schema));
        impl->reload_counters();
        impl->put_meta("log_end", std::to_string(impl->next_seq - 1));
        rewritten = true;
      }
      // Read again through the MAC check.
      impl->device = impl->meta("device_id");
      if (!options.device_id.empty() && options.device_id != impl->device) {
        throw Error(ErrorCode::kSchemaMismatch,
                    "this store belongs to device " + impl->device + ", not " + options.device_id);
      }
      if (impl->meta("schema") != options.schema->name()) {
        throw Error(ErrorCode::kSchemaMismatch, "this store holds schema \"" +
                                                    impl->meta("schema") + "\", not \"" +
                                                    options.schema->name() + "\"");
      }
    }
    // Another schema version than last time (store_migrate.cpp), before the sealing check:
    // the records are renamed first, then sealed as the new version says.
    if (const std::string was = impl->meta("schema_version");
        !was.empty() && was != std::to_string(options.schema->version())) {
      if (impl->move_schema_version(std::stoi(was))) rewritten = true;
    }
    if (impl->keys) {
      const std::string fields = sealed_fields(*options.schema);
      if (impl->meta("sealed_fields") != fields) {
        impl->load_regions_and_away();  // a record that moved away keeps live=0
        impl->reseal_records(true);
        impl->put_meta("sealed_fields", fields);
        rewritten = true;
      }
    }
    const std::string version = std::to_string(options.schema->version());
    if (impl->meta("schema_version") != version) impl->put_meta("schema_version", version);
    txn.commit();
  }
  if (rewritten) {
    // Values that were in clear before (a field newly marked personal, rows from before the
    // upgrade) must not linger in free pages or the WAL.
    impl->db->exec("VACUUM");
    impl->db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  impl->reload_counters();
  impl->check_log_end();
  impl->load_regions_and_away();
  // The clock resumes above everything it issued before, even if it crashed after logging.
  const std::string h = impl->meta("hlc");
  uint64_t last = h.empty() ? 0 : std::stoull(h);
  {
    // The entry with the highest clock value (checked: a forged one would move the clock).
    auto& st =
        impl->db->prepare("SELECT " LB_CHANGE_COLS " FROM changes ORDER BY hlc DESC LIMIT 1");
    if (st.step()) {
      try {
        impl->check_change_row(st, 0);
      } catch (...) {
        st.reset();
        throw;
      }
      last = std::max<uint64_t>(last, static_cast<uint64_t>(st.column_int(cc::kHlc)));
    }
    st.reset();
  }
  impl->clock = std::make_unique<HybridClock>(*impl->wall, last);
  const std::string off = impl->meta("clock_offset_ms");
  if (!off.empty()) impl->clock->set_offset_ms(std::stoll(off));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const Schema& Store::schema() const { return *impl_->schema; }
const std::string& Store::device_id() const { return impl_->device; }
HybridClock& Store::clock() { return *impl_->clock; }

Batch Store::begin_batch() {
  auto b = std::make_unique<Batch::Impl>();
  b->s = impl_.get();
  b->lock = std::unique_lock<std::mutex>(impl_->mu);
  b->txn.emplace(*impl_->db);
  impl_->catch_up_with_other_writers();
  b->seq_at_begin = impl_->next_seq;
  return Batch(std::move(b));
}

std::string Store::create(const std::string& collection, Json fields, std::string id) {
  Batch b = begin_batch();
  std::string out = b.create(collection, std::move(fields), std::move(id));
  b.commit();
  return out;
}

void Store::update(const std::string& collection, const std::string& id, Json patch) {
  Batch b = begin_batch();
  b.update(collection, id, std::move(patch));
  b.commit();
}

void Store::remove(const std::string& collection, const std::string& id) {
  Batch b = begin_batch();
  b.remove(collection, id);
  b.commit();
}

std::vector<ValidationIssue> Store::validate(const std::string& collection, Json fields) const {
  return impl_->collection(collection).normalize_and_validate(fields, false);
}

std::string Store::get_meta(const std::string& key) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->meta(key);
}

void Store::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->put_meta(key, value);
}

bool Store::encrypted() const { return impl_->keys != nullptr; }

void Store::change_passphrase(const std::string& old_passphrase,
                              const std::string& new_passphrase) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->keys) throw Error(ErrorCode::kInvalidArgument, "this store is not encrypted");
  if (new_passphrase.empty())
    throw Error(ErrorCode::kInvalidArgument, "the new passphrase is empty");
  sql::Transaction txn(*impl_->db);
  auto old = unwrap_data_key(impl_->meta("crypto"), old_passphrase);  // proves the old one
  impl_->put_meta("crypto", wrap_data_key(old.keys->data_key(), new_passphrase).dump());
  txn.commit();
}

std::string Store::derive_key(const std::string& label) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->keys ? crypto::hmac_sha256(impl_->keys->data_key(), label) : std::string();
}

std::string Store::get_secret(const std::string& key) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string v = impl_->meta("secret:" + key);
  if (v.empty() || !impl_->keys) return v;
  auto sealed = crypto::unbase64(v);
  if (!sealed) throw Error(ErrorCode::kCorrupt, "stored secret is damaged");
  return impl_->unseal(*sealed, "secret:" + key);
}

void Store::set_secret(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->put_meta("secret:" + key,
                  impl_->keys ? crypto::base64(impl_->seal(value, "secret:" + key)) : value);
}

StoreStats Store::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreStats s;
  auto& st = impl_->db->prepare(
      "SELECT coalesce(sum(live),0), count(*)-coalesce(sum(live),0) FROM records");
  st.step();
  s.records = static_cast<uint64_t>(st.column_int(0));
  s.deleted = static_cast<uint64_t>(st.column_int(1));
  st.reset();
  s.pending_changes = impl_->next_seq - 1 - impl_->acked_seq;
  auto& oldest =
      impl_->db->prepare("SELECT wall_ms FROM changes WHERE seq>?1 ORDER BY seq LIMIT 1");
  oldest.bind(1, static_cast<int64_t>(impl_->acked_seq));
  if (oldest.step()) s.oldest_pending_ms = oldest.column_int(0);
  oldest.reset();
  auto& c = impl_->db->prepare("SELECT count(*) FROM conflicts WHERE resolved=0");
  c.step();
  s.open_conflicts = static_cast<uint64_t>(c.column_int(0));
  c.reset();
  auto& rf = impl_->db->prepare("SELECT count(*) FROM refused");
  rf.step();
  s.refused_changes = static_cast<uint64_t>(rf.column_int(0));
  rf.reset();
  const std::string last = impl_->meta("last_sync_ms");
  if (!last.empty()) s.last_sync_ms = std::stoll(last);
  return s;
}

}  // namespace lumbung

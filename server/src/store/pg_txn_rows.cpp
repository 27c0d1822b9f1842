// The PostgreSQL write transaction's single-row writes (pg_txn_rows.h): each is one
// statement; every row read to be changed is locked (FOR UPDATE) to commit, and read-then-
// write of a counter or the audit chain's head holds an advisory lock (pg_write_txn.cpp).
#include "store/pg_txn_rows.h"

namespace lumbung::server::pg {

bool PgTxnRows::insert_conflict(const Conflict& c, int64_t now_ms) {
  return c_.exec(
               "INSERT INTO conflicts(id,kind,col,rid,field,body,found_ms) "
               "VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(id) DO NOTHING",
               {c.id, conflict_kind_name(c.kind), c.collection, c.record_id, c.field,
                seal_or_clear(s_, "conflicts.body", c.id, codec::encode_conflict(c).dump()),
                now_ms})
             .affected() > 0;
}

std::optional<ConflictRow> PgTxnRows::conflict(const std::string& id) {
  auto r = c_.exec(
      "SELECT body, resolved, found_ms, resolution FROM conflicts WHERE id=$1 "
      "FOR UPDATE",
      {id});
  if (r.rows() == 0) return std::nullopt;
  return read_conflict(r, 0, s_, id);
}

void PgTxnRows::resolve_conflict(const std::string& id, const Json& resolution) {
  c_.exec("UPDATE conflicts SET resolved=1, resolution=$2 WHERE id=$1",
          {id, seal_or_clear(s_, "conflicts.resolution", id, resolution.dump())});
}

bool PgTxnRows::insert_duplicate(const DuplicateRow& d) {
  return c_.exec(
               "INSERT INTO duplicates(id,col,rid_a,rid_b,found_ms) VALUES($1,$2,$3,$4,$5) "
               "ON CONFLICT(id) DO NOTHING",
               {d.id, d.collection, d.record_a, d.record_b, d.found_ms})
             .affected() > 0;
}

std::optional<DuplicateRow> PgTxnRows::duplicate(const std::string& id) {
  auto r = c_.exec(
      "SELECT id, col, rid_a, rid_b, resolved, found_ms, resolution "
      "FROM duplicates WHERE id=$1 FOR UPDATE",
      {id});
  if (r.rows() == 0) return std::nullopt;
  return read_duplicate(r, 0, s_);
}

void PgTxnRows::resolve_duplicate(const std::string& id, const Json& resolution) {
  c_.exec("UPDATE duplicates SET resolved=1, resolution=$2 WHERE id=$1",
          {id, seal_or_clear(s_, "duplicates.resolution", id, resolution.dump())});
}

bool PgTxnRows::insert_refused(const RefusedRow& f) {
  return c_.exec(
               "INSERT INTO refused(id,dev,seq,col,rid,code,field,message,op,scope,found_ms) "
               "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT(id) DO NOTHING",
               {f.id, f.device, f.seq, f.collection, f.record_id, f.code, f.field,
                seal_or_clear(s_, "refused.message", f.id, f.message),
                seal_or_clear(s_, "refused.op", f.id, f.op_text), f.scope, f.found_ms})
             .affected() > 0;
}

std::optional<RefusedRow> PgTxnRows::refused(const std::string& id) {
  auto r = c_.exec(std::string("SELECT ") + kRefusedCols + " FROM refused WHERE id=$1 FOR UPDATE",
                   std::vector<Param>{id});
  if (r.rows() == 0) return std::nullopt;
  return read_refused(r, 0, s_);
}

void PgTxnRows::resolve_refused(const std::string& id, const std::string& status,
                                const Json& resolution) {
  c_.exec("UPDATE refused SET status=$2, resolution=$3 WHERE id=$1",
          {id, status, seal_or_clear(s_, "refused.resolution", id, resolution.dump())});
}

void PgTxnRows::set_refused_reason(const std::string& id, const std::string& code,
                                   const std::string& field, const std::string& message) {
  c_.exec("UPDATE refused SET code=$2, field=$3, message=$4 WHERE id=$1",
          {id, code, field, seal_or_clear(s_, "refused.message", id, message)});
}

bool PgTxnRows::has_open_refused(const std::string& device, const std::string& col,
                                 const std::string& rid) {
  return c_.exec(
               "SELECT 1 FROM refused WHERE dev=$1 AND col=$2 AND rid=$3 AND status='open' "
               "AND code<>'waiting_for_record' LIMIT 1",
               {device, col, rid})
             .rows() > 0;
}

std::vector<RefusedRow> PgTxnRows::waiting_for_record(const std::string& col,
                                                      const std::string& rid) {
  auto r = c_.exec(std::string("SELECT ") + kRefusedCols +
                       " FROM refused WHERE col=$1 AND rid=$2 AND status='open' AND "
                       "code='waiting_for_record' ORDER BY found_ms, seq FOR UPDATE",
                   std::vector<Param>{col, rid});
  std::vector<RefusedRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_refused(r, i, s_));
  return out;
}

std::optional<DeviceRow> PgTxnRows::device(const std::string& id) {
  // The push's first statement: the lock that serialises one device's pushes (see top).
  // After lock_records another device's row is only read: a push applying ops that
  // waited for their record reads their writers' regions, and two such pushes locking
  // each other's device rows would deadlock (pg_concurrency_test).
  auto r = c_.exec(std::string("SELECT ") + kDeviceCols + " FROM devices WHERE device_id=$1" +
                       (lock_mode_ ? "" : " FOR UPDATE"),
                   std::vector<Param>{id});
  if (r.rows() == 0) return std::nullopt;
  return read_device(r, 0);
}

void PgTxnRows::insert_device(const DeviceRow& d, const std::string& token_hash) {
  c_.exec(
      "INSERT INTO devices(device_id,label,scope,token_hash,registered_ms,last_seen_ms) "
      "VALUES($1,$2,$3,$4,$5,$5)",
      {d.device_id, d.label, scope_to_text(d.scope), token_hash, d.registered_ms});
}

void PgTxnRows::update_device_sync(const std::string& id, uint64_t acked_seq, int64_t now_ms,
                                   const Json* status) {
  c_.exec(
      "UPDATE devices SET acked_seq=$2, last_sync_ms=$3, "
      "last_seen_ms=greatest(last_seen_ms,$3), status=coalesce($4, status) "
      "WHERE device_id=$1",
      {id, acked_seq, now_ms, status ? Param(status->dump()) : Param(std::nullopt)});
}

bool PgTxnRows::revoke_device(const std::string& id, int64_t now_ms) {
  if (c_.exec("UPDATE devices SET revoked_ms=$2 WHERE device_id=$1 AND revoked_ms=0", {id, now_ms})
          .affected() > 0) {
    return true;
  }
  return device(id).has_value();
}

bool PgTxnRows::reenrol_device(const std::string& id, const std::string& label,
                               const std::vector<std::string>& scope,
                               const std::string& token_hash) {
  return c_.exec(
               "UPDATE devices SET token_hash=$2, next_token_hash=NULL, revoked_ms=0, "
               "label=$3, scope=$4 WHERE device_id=$1",
               {id, token_hash, label, scope_to_text(scope)})
             .affected() > 0;
}

void PgTxnRows::touch_device(const std::string& id, int64_t now_ms) {
  c_.exec("UPDATE devices SET last_seen_ms=greatest(last_seen_ms,$2) WHERE device_id=$1",
          {id, now_ms});
}

std::optional<CodeRow> PgTxnRows::code(const std::string& code_hash) {
  // Locked: of two servers given one enrolment code at once, the second sees it used.
  auto r = c_.exec(
      "SELECT scope,label,created_ms,expires_ms,used_ms,used_by,revoked_ms,device_id "
      "FROM codes WHERE hash=$1 FOR UPDATE",
      {code_hash});
  if (r.rows() == 0) return std::nullopt;
  CodeRow c;
  c.scope = scope_from_text(r.view(0, 0));
  c.label = r.text(0, 1);
  c.created_ms = r.i64(0, 2);
  c.expires_ms = r.i64(0, 3);
  c.used_ms = r.i64(0, 4);
  c.used_by = r.text(0, 5);
  c.revoked_ms = r.i64(0, 6);
  c.device_id = r.text(0, 7);
  return c;
}

void PgTxnRows::insert_code(const std::string& code_hash, const CodeRow& c) {
  c_.exec(
      "INSERT INTO codes(hash,scope,label,created_ms,expires_ms,device_id) "
      "VALUES($1,$2,$3,$4,$5,$6)",
      {code_hash, scope_to_text(c.scope), c.label, c.created_ms, c.expires_ms, c.device_id});
}

void PgTxnRows::mark_code_used(const std::string& code_hash, const std::string& device_id,
                               int64_t now_ms) {
  c_.exec("UPDATE codes SET used_ms=$2, used_by=$3 WHERE hash=$1", {code_hash, now_ms, device_id});
}

std::optional<CodeRow> PgTxnRows::revoke_code(const std::string& id, int64_t now_ms) {
  if (id.size() != kTokenIdHexDigits) return std::nullopt;
  auto r = c_.exec("SELECT hash FROM codes WHERE starts_with(hash, $1) LIMIT 1", {id});
  if (r.rows() == 0) return std::nullopt;
  const std::string hash = r.text(0, 0);
  c_.exec("UPDATE codes SET revoked_ms=$2 WHERE hash=$1 AND revoked_ms=0", {hash, now_ms});
  return code(hash);
}

void PgTxnRows::set_next_device_token(const std::string& device_id, const std::string& next_hash) {
  c_.exec("UPDATE devices SET next_token_hash=$2 WHERE device_id=$1", {device_id, next_hash});
}

bool PgTxnRows::promote_device_token(const std::string& device_id, const std::string& next_hash) {
  return c_.exec(
               "UPDATE devices SET token_hash=next_token_hash, next_token_hash=NULL "
               "WHERE device_id=$1 AND next_token_hash=$2",
               {device_id, next_hash})
             .affected() > 0;
}

void PgTxnRows::insert_token(const std::string& token_hash, Role role, const std::string& label,
                             int64_t now_ms, int64_t expires_ms,
                             const std::vector<std::string>& scope) {
  c_.exec(
      "INSERT INTO tokens(hash,role,label,created_ms,expires_ms,scope) "
      "VALUES($1,$2,$3,$4,$5,$6)",
      {token_hash, role_name(role), label, now_ms, expires_ms, scope_to_text(scope)});
}

uint64_t PgTxnRows::count_tokens() {
  // Two servers starting on an empty database at once: the first admin token is made once.
  c_.exec("SELECT pg_advisory_xact_lock($1)", {kTokensLock});
  return c_.exec("SELECT count(*) FROM tokens").u64(0, 0);
}

std::optional<TokenRow> PgTxnRows::revoke_token(const std::string& id, int64_t now_ms) {
  if (id.size() != kTokenIdHexDigits) return std::nullopt;
  c_.exec("UPDATE tokens SET revoked_ms=$2 WHERE starts_with(hash, $1) AND revoked_ms=0",
          {id, now_ms});
  auto r = c_.exec(
      std::string("SELECT ") + kTokenCols + " FROM tokens WHERE starts_with(hash, $1) LIMIT 1",
      std::vector<Param>{id});
  if (r.rows() == 0) return std::nullopt;
  return read_token(r, 0);
}

std::pair<uint64_t, std::string> PgTxnRows::audit_head() {
  // Held to commit: the next entry's seq and link follow this head on every server.
  c_.exec("SELECT pg_advisory_xact_lock($1)", {kAuditLock});
  auto r = c_.exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
  if (r.rows() == 0) return {0, std::string()};
  return {r.u64(0, 0), r.text(0, 1)};
}

void PgTxnRows::append_audit(const AuditRow& a) {
  c_.exec(
      "INSERT INTO audit(seq,at_ms,role,actor,action,target,detail,prev_hash,hash) "
      "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
      {a.seq, a.at_ms, a.role, a.actor, a.action, a.target, a.detail, a.prev_hash, a.hash});
}

void PgTxnRows::put_audit_checkpoint(const AuditCheckpoint& cp) {
  c_.exec(
      "INSERT INTO audit_checkpoints(count,head,at_ms,key_id,sig) VALUES($1,$2,$3,$4,$5) "
      "ON CONFLICT(count) DO UPDATE SET head=$2, at_ms=$3, key_id=$4, sig=$5",
      {cp.count, cp.head, cp.at_ms, cp.key_id, cp.sig});
}

int PgTxnRows::pin_schema_version(bool publishing) {
  c_.exec(
      publishing ? "SELECT pg_advisory_xact_lock($1)" : "SELECT pg_advisory_xact_lock_shared($1)",
      {kSchemaVersionLock});
  // Read after the lock is granted: READ COMMITTED takes this statement's snapshot now, so a
  // publication that held the lock until its commit is seen. Not through meta(), whose lock
  // on the key would queue every writer behind every other.
  auto r = c_.exec("SELECT value FROM meta WHERE key='schema.active'");
  return r.rows() ? std::stoi(r.text(0, 0)) : 0;
}

std::string PgTxnRows::meta(const std::string& key) {
  if (key == "clock") {
    auto r = c_.exec("SELECT coalesce(max(value), 0)::text FROM clocks");
    return r.view(0, 0) == "0" ? std::string() : r.text(0, 0);
  }
  // A read-then-write of a meta value (server_seq) holds its key to commit, row or not.
  c_.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"meta:" + key});
  auto r = c_.exec("SELECT value FROM meta WHERE key=$1", {key});
  return r.rows() ? r.text(0, 0) : std::string();
}

void PgTxnRows::set_meta(const std::string& key, const std::string& value) {
  if (key == "clock") {
    // Every push writes the clock: one row per server process, so pushes on different
    // servers never queue here; meta("clock") reads the highest.
    uint64_t v = 0;
    for (char ch : value) {
      if (ch < '0' || ch > '9' || v > (uint64_t{1} << 62)) {
        throw Error(ErrorCode::kInternal, "clock value is not a number");
      }
      v = v * 10 + static_cast<uint64_t>(ch - '0');
    }
    c_.exec(
        "INSERT INTO clocks(instance,value) VALUES($1,$2) "
        "ON CONFLICT(instance) DO UPDATE SET value=greatest(clocks.value, $2)",
        {instance_, v});
    return;
  }
  c_.exec("INSERT INTO meta(key,value) VALUES($1,$2) ON CONFLICT(key) DO UPDATE SET value=$2",
          {key, value});
}

}  // namespace lumbung::server::pg

#include "auth/enrolment.h"

#include "api/problem.h"
#include "audit/audit_log.h"
#include "auth/tokens.h"
#include "lumbung/error.h"
#include "lumbung/text.h"

namespace lumbung::server {
namespace {

std::string string_member(const Json& body, const char* name, size_t max_len, bool required) {
  auto it = body.find(name);
  if (it == body.end()) {
    if (required)
      throw Error(ErrorCode::kInvalidArgument, std::string("\"") + name + "\" is required");
    return {};
  }
  if (!it->is_string() || it->get_ref<const std::string&>().size() > max_len) {
    throw Error(ErrorCode::kInvalidArgument, std::string("\"") + name +
                                                 "\" must be a string of at most " +
                                                 std::to_string(max_len) + " characters");
  }
  return it->get<std::string>();
}

// A label is shown in every devices and tokens listing and by both CLIs: text is data
// (lumbung/text.h), refused like a schema text field (422 validation_failed, with the
// field and the reason "control_character" or "invalid_utf8"; never the label itself).
std::string label_member(const Json& body) {
  std::string label = string_member(body, "label", 200, false);
  if (auto fault = find_text_fault(label)) {
    throw ProblemError(ErrorCode::kValidationFailed,
                       "\"label\" contains " + describe_text_fault(*fault),
                       Json{{"field", "label"}, {"reason", fault->reason()}}, "label");
  }
  return label;
}

void only_members(const Json& body, std::initializer_list<const char*> allowed) {
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "body must be a JSON object");
  for (const auto& [k, _] : body.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || k == a;
    if (!ok) throw Error(ErrorCode::kInvalidArgument, "unknown member \"" + k + "\"");
  }
}

bool valid_device_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || id == kServerDevice) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string Enrolment::bootstrap_admin() {
  auto txn = store_.begin_write();
  if (txn->count_tokens() > 0) return {};
  const std::string token = new_token(Role::kAdmin);
  const int64_t now = wall_.now_ms();
  txn->insert_token(secret_hash(token), Role::kAdmin, "first admin", now,
                    admin_ttl_h_ > 0 ? now + admin_ttl_h_ * 3600 * 1000 : 0);
  txn->commit();
  return token;
}

std::string Enrolment::new_admin_token(const std::string& label) {
  auto txn = store_.begin_write();
  const std::string token = new_token(Role::kAdmin);
  const int64_t now = wall_.now_ms();
  txn->insert_token(secret_hash(token), Role::kAdmin, label, now,
                    admin_ttl_h_ > 0 ? now + admin_ttl_h_ * 3600 * 1000 : 0);
  txn->commit();
  return token;
}

Json Enrolment::create_code(const Json& body) {
  only_members(body, {"scope", "label", "expires_in_hours", "device_id"});
  CodeRow c;
  c.device_id = string_member(body, "device_id", 64, false);
  auto sc = body.find("scope");
  // A code for a device may leave "scope" out: it keeps the device's regions.
  if (sc != body.end() || c.device_id.empty()) {
    if (sc == body.end() || !sc->is_array() || sc->empty() || sc->size() > 100) {
      throw Error(ErrorCode::kInvalidArgument, "\"scope\" must be a list of 1..100 region codes");
    }
    for (const auto& s : *sc) {
      if (!s.is_string())
        throw Error(ErrorCode::kInvalidArgument, "a scope entry must be a string");
      c.scope.push_back(canonical_region_prefix(s.get<std::string>()));
    }
  }
  c.label = label_member(body);
  int64_t hours = 72;
  if (auto it = body.find("expires_in_hours"); it != body.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 24 * 90) {
      throw Error(ErrorCode::kInvalidArgument, "\"expires_in_hours\" must be an integer 1..2160");
    }
    hours = it->get<int64_t>();
  }
  c.created_ms = wall_.now_ms();
  c.expires_ms = c.created_ms + hours * 3600 * 1000;
  const std::string code = new_enrolment_code();
  const std::string hash = secret_hash(canonical_code(code));
  auto txn = store_.begin_write();
  // A code for one device is for a laptop the server knows (a typo would make a code
  // nobody can use).
  if (!c.device_id.empty()) {
    auto d = txn->device(c.device_id);
    if (!d) throw Error(ErrorCode::kNotFound, "no such device");
    if (c.scope.empty()) c.scope = d->scope;
  }
  txn->insert_code(hash, c);
  txn->commit();
  Json out{{"code", code},
           {"id", token_id(hash)},
           {"scope", c.scope},
           {"label", c.label},
           {"expires_ms", c.expires_ms}};
  if (!c.device_id.empty()) out["device_id"] = c.device_id;
  if (!tls_pin_.empty()) out["tls_pin_sha256"] = tls_pin_;
  return out;
}

Json Enrolment::register_device(const Json& body, AuditLog* audit) {
  only_members(body, {"code", "device_id", "label"});
  const std::string code = string_member(body, "code", 64, true);
  const std::string device_id = string_member(body, "device_id", 64, true);
  const std::string label = label_member(body);
  if (!valid_device_id(device_id)) {
    throw Error(ErrorCode::kInvalidArgument,
                "device_id must be 1..64 of A-Z a-z 0-9 . _ - (and not \"server\")");
  }
  const std::string code_hash = secret_hash(canonical_code(code));
  const int64_t now = wall_.now_ms();
  auto txn = store_.begin_write();
  auto c = txn->code(code_hash);
  if (!c) throw Error(ErrorCode::kUnauthorized, "unknown enrolment code");
  // 403 forbidden, told apart by "reason" (PROTOCOL.md): the laptop says which to the officer.
  auto refuse = [](const char* reason, const char* detail) {
    return ProblemError(ErrorCode::kForbidden, detail, Json{{"reason", reason}});
  };
  if (c->revoked_ms != 0) throw refuse("code_revoked", "enrolment code revoked");
  if (c->used_ms != 0) throw refuse("code_used", "enrolment code already used");
  if (c->expires_ms <= now) throw refuse("code_expired", "enrolment code expired");
  if (!c->device_id.empty() && c->device_id != device_id)
    throw refuse("code_for_other_device", "enrolment code made for another device");
  if (auto known = txn->device(device_id)) {
    if (c->device_id != device_id) {
      throw Error(ErrorCode::kAlreadyExists,
                  "device id already registered (enrolling it again needs a code made for it)");
    }
    const std::string token = new_token(Role::kDevice);
    // As at a first registration: the laptop's own name, else the code's, else as it was.
    const std::string new_label = !label.empty()      ? label
                                  : !c->label.empty() ? c->label
                                                      : known->label;
    txn->reenrol_device(device_id, new_label, c->scope, secret_hash(token));
    txn->mark_code_used(code_hash, device_id, now);
    if (audit) {
      Principal who;
      who.role = Role::kDevice;
      who.device_id = device_id;
      audit->record_in(*txn, &who, "reenrol", device_id,
                       Json{{"code", token_id(code_hash)},
                            {"scope", c->scope},
                            {"acked_seq", known->acked_seq},
                            {"was_revoked", known->revoked_ms != 0}});
    }
    txn->commit();
    return Json{{"device_id", device_id},
                {"token", token},
                {"scope", c->scope},
                {"label", new_label},
                {"acked_seq", known->acked_seq},
                {"reenrolled", true}};
  }
  const std::string token = new_token(Role::kDevice);
  DeviceRow d;
  d.device_id = device_id;
  d.label = label.empty() ? c->label : label;
  d.scope = c->scope;
  d.registered_ms = now;
  txn->insert_device(d, secret_hash(token));
  txn->mark_code_used(code_hash, device_id, now);
  txn->commit();
  return Json{{"device_id", device_id}, {"token", token}, {"scope", d.scope},
              {"label", d.label},       {"acked_seq", 0}, {"reenrolled", false}};
}

Json Enrolment::revoke_code(const std::string& id) {
  const int64_t now = wall_.now_ms();
  auto txn = store_.begin_write();
  auto c = txn->revoke_code(id, now);
  if (!c) throw Error(ErrorCode::kNotFound, "no such enrolment code");
  txn->commit();
  return Json{{"id", id},
              {"revoked", true},
              {"revoked_ms", c->revoked_ms},
              {"used", c->used_ms != 0},
              {"used_by", c->used_by}};
}

Json Enrolment::rotate_device_token(const Principal& device) {
  const std::string token = new_token(Role::kDevice);
  auto txn = store_.begin_write();
  auto d = txn->device(device.device_id);
  if (!d || d->revoked_ms != 0) throw Error(ErrorCode::kUnauthorized, "device revoked");
  txn->set_next_device_token(device.device_id, secret_hash(token));
  txn->commit();
  return Json{{"device_id", device.device_id}, {"token", token}};
}

Json Enrolment::create_token(const Json& body) {
  only_members(body, {"role", "label", "expires_in_hours", "scope"});
  const std::string role_text = string_member(body, "role", 16, true);
  auto role = role_from(role_text);
  if (!role || *role == Role::kDevice) {
    throw Error(ErrorCode::kInvalidArgument,
                "\"role\" must be \"reviewer\" or \"admin\" (devices register with a code)");
  }
  const std::string label = label_member(body);
  int64_t hours = *role == Role::kAdmin ? admin_ttl_h_ : reviewer_ttl_h_;
  if (auto it = body.find("expires_in_hours"); it != body.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > kMaxStaffTokenTtlHours) {
      throw Error(ErrorCode::kInvalidArgument, "\"expires_in_hours\" must be an integer 1.." +
                                                   std::to_string(kMaxStaffTokenTtlHours));
    }
    hours = it->get<int64_t>();
  }
  // A reviewer's regions: what it may list and act on (absent = every region).
  std::vector<std::string> scope;
  if (auto sc = body.find("scope"); sc != body.end()) {
    if (*role != Role::kReviewer) {
      throw Error(ErrorCode::kInvalidArgument, "only reviewer tokens have a \"scope\"");
    }
    if (!sc->is_array() || sc->empty() || sc->size() > 100) {
      throw Error(ErrorCode::kInvalidArgument, "\"scope\" must be a list of 1..100 region codes");
    }
    for (const auto& s : *sc) {
      if (!s.is_string())
        throw Error(ErrorCode::kInvalidArgument, "a scope entry must be a string");
      scope.push_back(canonical_region_prefix(s.get<std::string>()));
    }
  }
  const std::string token = new_token(*role);
  const std::string hash = secret_hash(token);
  const int64_t now = wall_.now_ms();
  const int64_t expires = hours > 0 ? now + hours * 3600 * 1000 : 0;
  auto txn = store_.begin_write();
  txn->insert_token(hash, *role, label, now, expires, scope);
  txn->commit();
  return Json{{"token", token}, {"id", token_id(hash)}, {"role", role_name(*role)},
              {"label", label}, {"scope", scope},       {"expires_ms", expires}};
}

Json Enrolment::list_tokens() {
  Json arr = Json::array();
  for (const TokenRow& t : store_.list_tokens()) {
    arr.push_back(Json{{"id", t.id},
                       {"role", role_name(t.role)},
                       {"label", t.label},
                       {"created_ms", t.created_ms},
                       {"expires_ms", t.expires_ms},
                       {"scope", t.scope},
                       {"revoked", t.revoked_ms != 0},
                       {"revoked_ms", t.revoked_ms}});
  }
  return Json{{"tokens", std::move(arr)}};
}

Json Enrolment::revoke_token(const std::string& id) {
  const int64_t now = wall_.now_ms();
  auto txn = store_.begin_write();
  auto t = txn->revoke_token(id, now);
  if (!t) throw Error(ErrorCode::kNotFound, "no such token");
  txn->commit();
  return Json{{"id", t->id},
              {"role", role_name(t->role)},
              {"revoked", true},
              {"revoked_ms", t->revoked_ms}};
}

Json Enrolment::list_devices() {
  const auto seen = sync_.seen_snapshot();
  Json arr = Json::array();
  for (const DeviceRow& d : store_.list_devices()) {
    int64_t last_seen = d.last_seen_ms;
    if (auto it = seen.find(d.device_id); it != seen.end())
      last_seen = std::max(last_seen, it->second);
    arr.push_back(Json{{"device_id", d.device_id},
                       {"label", d.label},
                       {"scope", d.scope},
                       {"acked_seq", d.acked_seq},
                       {"registered_ms", d.registered_ms},
                       {"last_seen_ms", last_seen},
                       {"last_sync_ms", d.last_sync_ms},
                       {"revoked", d.revoked_ms != 0},
                       {"revoked_ms", d.revoked_ms},
                       {"status", d.status}});
  }
  return Json{{"devices", std::move(arr)}};
}

Json Enrolment::revoke_device(const std::string& device_id) {
  const int64_t now = wall_.now_ms();
  auto txn = store_.begin_write();
  if (!txn->revoke_device(device_id, now)) throw Error(ErrorCode::kNotFound, "no such device");
  txn->commit();
  return Json{{"device_id", device_id}, {"revoked", true}};
}

}  // namespace lumbung::server

// The Router's handlers for what a laptop calls: health, the schema, push, pull, device
// registration and token rotation; and the public /metrics. Routing, authentication and
// body limits are in api/router.cpp.
#include <algorithm>

#include "api/changeset_v2_http.h"
#include "api/pull_stream_http.h"
#include "api/push_stream_http.h"
#include "api/route_util.h"
#include "api/router.h"
#include "crypto/schema_signature.h"
#include "keys/server_keys.h"
#include "lumbung/error.h"
#include "sync/op_upgrade.h"

namespace lumbung::server {

// docs/PROTOCOL.md "Streamed push": a client streams only to a server that said it reads
// streams, so a server older than the stream never gets one sent for nothing.
void Router::say_push_stream(Response& r) const {
  if (push_stream_) r.headers["Lumbung-Push-Stream"] = "1";
}

Response Router::health(const Request&, const Params&, Json&, const Principal*) {
  return json_response(Json{{"status", "ok"},
                            {"server_time_ms", sync_.now_ms()},
                            {"schema", sync_.schema().name()},
                            {"schema_version", sync_.schema().version()},
                            {"protocol", 1}});
}

Response Router::metrics(const Request&, const Params&, Json&, const Principal*) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics_.render();
  return r;
}

Response Router::schema(const Request&, const Params&, Json&, const Principal*) {
  Response r;
  // The active version's document (it changes when a version is published live).
  const SchemaHistory* h = sync_.schema_history();
  r.body = h ? h->current_document().dump(2) : schema_document_;
  // Signed over the exact bytes sent (before any gzip), so the document stays as it is and a
  // device checks it before it moves to it; the key for a device that has none yet.
  if (schema_keys_) {
    const std::string& pub = schema_keys_->schema_public_key();
    r.headers[schema_signature::kSignatureHeader] =
        schema_signature::signature_text(pub, schema_keys_->sign_schema(r.body));
    r.headers[schema_signature::kKeyHeader] = schema_signature::key_text(pub);
  }
  return r;
}

Response Router::drafts(const Request&, const Params&, Json& body, const Principal* who) {
  Json out = review_.refused().hold_drafts(*who, body);
  size_t held = 0, withdrawn = 0;
  for (const Json& d : out["drafts"]) {
    held += d.value("status", "") == "open";
    withdrawn += d.value("status", "") == "withdrawn";
  }
  audit_record(who, "drafts", "",
               Json{{"items", out["drafts"].size()}, {"open", held}, {"withdrawn", withdrawn}});
  return json_response(out);
}

PushResult Router::push_one(const Principal& who_ref, Json body) {
  const Principal* who = &who_ref;
  // The newest schema version the device writes under, for the laptops on older versions:
  // what its report says it works under (a laptop that moved sends its older unsent ops
  // first), else its ops' "sv".
  int sv = 1;
  if (auto rep = body.find("report"); rep != body.end() && rep->is_object()) {
    if (auto v = rep->find("schema_version"); v != rep->end() && v->is_number_integer()) {
      sv = std::max(sv, v->get<int>());
    }
  }
  if (auto ops = body.find("ops"); ops != body.end() && ops->is_array()) {
    for (const auto& op : *ops) {
      if (auto v = op.find("sv"); op.is_object() && v != op.end() && v->is_number_integer()) {
        sv = std::max(sv, v->get<int>());
      }
    }
  }
  PushResult res = sync_.push(*who, std::move(body));  // the handler owns the parsed body
  if (live_) live_->note_device_version(who->device_id, std::min(sv, sync_.schema().version()));
  audit_record(who, "push", "",
               Json{{"acked_seq", res.acked_seq},
                    {"applied", res.applied},
                    {"skipped", res.duplicates},
                    {"conflicts", res.conflicts},
                    {"duplicates", res.duplicate_keys},
                    {"restamped", res.restamped.size()},
                    {"refused", res.refused.size()}});
  return res;
}

Response Router::push(const Request&, const Params&, Json& body, const Principal* who) {
  const PushResult res = push_one(*who, std::move(body));
  Response r;
  r.body = push_answer_json(res, sync_.epoch(), sync_.now_ms());  // api/push_stream_http.h
  // A client that took this server for an older one streams again.
  say_push_stream(r);
  return r;
}

Response Router::push_state(const Request& req, const Params&, Json&, const Principal* who) {
  Response r;
  r.body = ledger_->state(*who, seq_param(req, "after"), sync_);  // api/push_stream_http.h
  return r;
}

Response Router::pull(const Request& req, const Params&, Json&, const Principal* who) {
  const int level = pull_zstd_level(req);  // a bad one is refused before any work
  ledger_->forget(who->device_id);         // its streamed push is over (push_stream_http.h)
  // The schema version the laptop works under (optional): a laptop that moved to a newer
  // one and has nothing to push is known by its pulls too.
  const size_t sv = size_param(req, "sv");
  if (live_ && sv > 0) {
    live_->note_device_version(who->device_id,
                               static_cast<int>(std::min<size_t>(sv, sync_.schema().version())));
  }
  Response r;
  // "1", or "2": compact "rec"; "auto": the server chooses (compact) for a first pull.
  const std::string snapshot = query_param(req, "snapshot");
  const std::string cursor = query_param(req, "cursor");
  const bool stream = wants_pull_stream(req);  // a bad value is refused before any work
  const bool chosen = snapshot == "auto" && cursor.empty() && sync_.snapshot_pays(*who);
  const size_t limit = size_param(req, "limit"), max_bytes = size_param(req, "max_bytes");
  const bool refusals = query_param(req, "refusals") == "1";
  const bool as_snapshot = snapshot == "1" || snapshot == "2" || chosen;
  const bool compact = snapshot == "2" || chosen;
  // By value: a streamed answer reads its later pages after this handler returned.
  auto page = [this, device = *who, limit, max_bytes, as_snapshot, refusals,
               compact](const std::string& at) {
    return sync_.pull(device, at, limit, max_bytes, as_snapshot, refusals, compact);
  };
  if (stream) {
    r = pull_stream_response(cursor, level, page,  // api/pull_stream_http.h
                             [this](const std::function<void()>& read) { run_live(false, read); });
  } else {
    r.body = page(cursor);
    if (accepts_changeset_v2(req)) encode_pull_v2(r, level);
  }
  r.headers["Vary"] = "Accept, Accept-Encoding";  // the format follows Accept (a cache must know)
  say_push_stream(r);  // a laptop registered before this header was sent learns it here
  return r;
}

Response Router::register_device(const Request&, const Params&, Json& body, const Principal*) {
  // A re-enrolment writes its audit entry in its own transaction (enrolment.h).
  Json out = enrolment_.register_device(body, security_.audit);
  // The key the device's schema documents must be signed with, from now on.
  if (schema_keys_) {
    out[schema_signature::kKeyMember] =
        schema_signature::key_text(schema_keys_->schema_public_key());
  }
  if (!out.value("reenrolled", false)) {
    Principal device;
    device.role = Role::kDevice;
    device.device_id = out["device_id"].get<std::string>();
    audit_record(&device, "register", device.device_id, Json{{"scope", out["scope"]}});
  }
  Response r = json_response(out, 201);
  say_push_stream(r);  // before the first push: a new laptop's first push may stream
  return r;
}

Response Router::rotate_token(const Request&, const Params&, Json&, const Principal* who) {
  Json out = enrolment_.rotate_device_token(*who);
  audit_record(who, "rotate_token", who->device_id, Json::object());
  return json_response(out);
}
}  // namespace lumbung::server

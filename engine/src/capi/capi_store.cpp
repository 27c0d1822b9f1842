// The store half of the C API (lumbung.h "Store"): records, queries, outbox, status.
#include <string>
#include <vector>

#include "capi/capi_internal.h"
#include "lumbung/changeset.h"
#include "lumbung/merge.h"

using lumbung::Error;
using lumbung::ErrorCode;
using lumbung::Json;
using namespace lumbung::capi;

namespace {

// `schema_version`: the version the record's field names are in - its store's, since a
// store moves every record when it moves to a newer version (issue 18).
Json record_json(const lumbung::Record& r, int schema_version) {
  return Json{{"collection", r.collection},
              {"id", r.id},
              {"fields", r.fields},
              {"deleted", r.deleted},
              {"schema_version", schema_version}};
}

Json records_json(const std::vector<lumbung::Record>& records, int schema_version) {
  Json out = Json::array();
  for (const auto& r : records) out.push_back(record_json(r, schema_version));
  return out;
}

Json side_json(const lumbung::ConflictSide& s) {
  return Json{{"value", s.value}, {"version", lumbung::version_to_string(s.version)}};
}

Json optional_ms(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

// The record `id` as `patch` would leave it (null members clear), for explaining a refused
// patch; null Json if there is no such live record.
Json patched_record(const lumbung::Store& s, const std::string& collection, const std::string& id,
                    const Json& patch) noexcept {
  try {
    auto rec = s.get(collection, id);
    if (!rec) return Json();
    Json whole = rec->fields;
    for (const auto& [k, v] : patch.items()) {
      if (v.is_null()) {
        whole.erase(k);
      } else {
        whole[k] = v;
      }
    }
    return whole;
  } catch (...) {
    return Json();
  }
}

// Runs a write; when it fails and `issues_json` is wanted, gives the issues `fn` explained
// there, or the error as the one issue (a failure before the write, or explaining failed).
template <typename Fn>
int explained(lb_error* err, char** issues_json, Fn&& fn) noexcept {
  if (issues_json) *issues_json = nullptr;
  lb_error local;
  Json issues;
  const int rc = guarded(&local, [&] { fn(issues); });
  if (err) *err = local;
  if (rc != LB_OK && issues_json) {
    try {
      if (issues.is_null()) {
        Json one = Json::array();
        one.push_back(issue_json(nullptr, local.field, lb_error_name(rc), local.message));
        issues = Json{{"valid", false}, {"issues", std::move(one)}};
      }
      *issues_json = dup_string(issues.dump());
    } catch (...) {
      // Out of memory: the lb_error still says what failed.
    }
  }
  return rc;
}

}  // namespace

extern "C" {

lb_store* lb_store_open(const char* path, const char* schema_path, const char* device_id,
                        const char* passphrase, lb_error* err) {
  lb_store* out = nullptr;
  guarded(err, [&] {
    lumbung::OpenOptions o;
    o.path = need(path, "path");
    o.schema = lumbung::Schema::load_file(need(schema_path, "schema_path"));
    o.device_id = optional_text(device_id);
    o.passphrase = optional_text(passphrase);
    auto handle = std::make_unique<lb_store>();
    handle->store = lumbung::Store::open(o);
    handle->attachments = std::make_shared<AttachmentSlot>();
    handle->attachments->store = handle->store;
    handle->attachments->path = o.path;
    out = handle.release();
  });
  return out;
}

void lb_store_close(lb_store* store) {
  delete store;  // ~shared_ptr; the Store closes with its last lb_sync
}

char* lb_store_put(lb_store* store, const char* collection, const char* json_fields,
                   lb_error* err) {
  return lb_store_put_ex(store, collection, json_fields, nullptr, err);
}

char* lb_store_put_ex(lb_store* store, const char* collection, const char* json_fields,
                      char** issues_json, lb_error* err) {
  char* out = nullptr;
  explained(err, issues_json, [&](Json& issues) {
    auto& s = need_store(store);
    const std::string col = need(collection, "collection");
    Json fields = parse_object(json_fields, "json_fields");
    try {
      out = dup_string(s.create(col, issues_json ? Json(fields) : std::move(fields)));
    } catch (const Error& e) {
      if (issues_json) issues = explain_failure(s, col, &fields, e);
      throw;
    }
  });
  return out;
}

int lb_store_patch(lb_store* store, const char* collection, const char* id, const char* json_patch,
                   lb_error* err) {
  return lb_store_patch_ex(store, collection, id, json_patch, nullptr, err);
}

int lb_store_patch_ex(lb_store* store, const char* collection, const char* id,
                      const char* json_patch, char** issues_json, lb_error* err) {
  return explained(err, issues_json, [&](Json& issues) {
    auto& s = need_store(store);
    const std::string col = need(collection, "collection"), rid = need(id, "id");
    Json patch = parse_object(json_patch, "json_patch");
    try {
      s.update(col, rid, issues_json ? Json(patch) : std::move(patch));
    } catch (const Error& e) {
      if (issues_json) {
        const Json whole = patched_record(s, col, rid, patch);
        issues = explain_failure(s, col, whole.is_null() ? nullptr : &whole, e);
      }
      throw;
    }
  });
}

int lb_store_delete(lb_store* store, const char* collection, const char* id, lb_error* err) {
  return guarded(err,
                 [&] { need_store(store).remove(need(collection, "collection"), need(id, "id")); });
}

char* lb_store_get(lb_store* store, const char* collection, const char* id, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    const std::string col = need(collection, "collection");
    if (!s.schema().collection(col)) {
      throw Error(ErrorCode::kUnknownCollection, "unknown collection: " + col);
    }
    auto rec = s.get(col, need(id, "id"));
    if (rec) out = dup_string(record_json(*rec, s.schema().version()).dump());
  });
  return out;
}

char* lb_store_query(lb_store* store, const char* collection, const char* scope_prefix,
                     const char* after_id, size_t limit, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    lumbung::Query q;
    q.collection = need(collection, "collection");
    q.scope_prefix = optional_text(scope_prefix);
    q.after_id = optional_text(after_id);
    q.limit = limit;
    auto& s = need_store(store);
    lumbung::Page page = s.query(q);
    Json j{{"records", records_json(page.records, s.schema().version())},
           {"next", page.next_after.empty() ? Json(nullptr) : Json(page.next_after)}};
    out = dup_string(j.dump());
  });
  return out;
}

char* lb_store_find_by_key(lb_store* store, const char* collection, const char* key,
                           lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    auto found = s.find_by_key(need(collection, "collection"), need(key, "key"));
    out = dup_string(Json{{"records", records_json(found, s.schema().version())}}.dump());
  });
  return out;
}

char* lb_store_validate(lb_store* store, const char* collection, const char* json_fields,
                        lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    const std::string col = need(collection, "collection");
    if (!s.schema().collection(col)) {
      throw Error(ErrorCode::kUnknownCollection, "unknown collection: " + col);
    }
    auto issues = s.validate(col, parse_object(json_fields, "json_fields"));
    out = dup_string(issues_document(s.schema().collection(col), issues).dump());
  });
  return out;
}

char* lb_store_pending(lb_store* store, size_t limit, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    const size_t n = limit == 0 ? lumbung::kDefaultQueryPageSize : limit;
    Json list = Json::array();
    for (const auto& p : s.pending_changes(n)) {
      list.push_back({{"seq", p.op.seq},
                      {"collection", p.op.collection},
                      {"id", p.op.id},
                      {"delete", p.op.is_delete},
                      {"op", lumbung::encode_op(p.op, true)}});
    }
    out =
        dup_string(Json{{"changes", std::move(list)}, {"total", s.stats().pending_changes}}.dump());
  });
  return out;
}

char* lb_store_conflicts(lb_store* store, int include_resolved, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    Json list = Json::array();
    for (const auto& c : need_store(store).conflicts(include_resolved != 0)) {
      list.push_back({{"id", c.id},
                      {"kind", lumbung::conflict_kind_name(c.kind)},
                      {"collection", c.collection},
                      {"record_id", c.record_id},
                      {"field", c.field},
                      {"winner", side_json(c.winner)},
                      {"loser", side_json(c.loser)},
                      {"other_record", c.other_record}});
    }
    out = dup_string(Json{{"conflicts", std::move(list)}}.dump());
  });
  return out;
}

char* lb_store_refused(lb_store* store, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    Json list = Json::array();
    const auto& s = need_store(store);
    const lumbung::Schema& schema = s.schema();
    for (const auto& r : s.refused_changes()) {
      list.push_back({{"seq", r.seq},
                      {"collection", r.collection},
                      {"record_id", r.record_id},
                      {"code", r.code},
                      {"field", r.field},
                      {"message", r.message},
                      {"message_id", issue_json(schema.collection(r.collection), r.field, r.code,
                                                r.message)["message_id"]},
                      {"values", r.set},
                      {"at_ms", r.at_ms}});
    }
    out = dup_string(Json{{"refused", std::move(list)}}.dump());
  });
  return out;
}

char* lb_store_status(lb_store* store, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    const lumbung::StoreStats st = s.stats();
    Json j{{"device_id", s.device_id()},
           {"schema", s.schema().name()},
           {"schema_version", s.schema().version()},
           {"encrypted", s.encrypted()},
           {"registered", !s.get_secret(kTokenSecret).empty()},
           {"records", st.records},
           {"deleted", st.deleted},
           {"pending_changes", st.pending_changes},
           {"open_conflicts", st.open_conflicts},
           {"refused_changes", st.refused_changes},
           {"oldest_pending_ms", optional_ms(st.oldest_pending_ms)},
           {"last_sync_ms", optional_ms(st.last_sync_ms)}};
    out = dup_string(j.dump());
  });
  return out;
}

int lb_store_change_passphrase(lb_store* store, const char* old_passphrase,
                               const char* new_passphrase, lb_error* err) {
  return guarded(err, [&] {
    need_store(store).change_passphrase(need(old_passphrase, "old_passphrase"),
                                        need(new_passphrase, "new_passphrase"));
  });
}
}  // extern "C"

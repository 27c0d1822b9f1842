// The C API (include/lumbung/lumbung.h): a thin façade over the C++ Store and SyncClient.
//
// Every exported function does its work inside guarded(), the one place where C++
// exceptions are caught and turned into an lb_error; nothing here throws past it. Returned
// strings are malloc'd copies so that lb_free() is free() whatever allocator the caller's
// runtime uses.

#include "lumbung/lumbung.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "lumbung/changeset.h"
#include "lumbung/error.h"
#include "lumbung/merge.h"
#include "lumbung/schema.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"

#ifndef LUMBUNG_VERSION_STRING
#define LUMBUNG_VERSION_STRING "0.0.0"
#endif

// The handles. A store is shared so that an lb_sync can outlive lb_store_close.
struct lb_store {
  std::shared_ptr<lumbung::Store> store;
};

struct lb_sync {
  std::shared_ptr<lumbung::Store> store;
  std::unique_ptr<lumbung::Transport> transport;
  std::unique_ptr<lumbung::SyncClient> client;

  // Serialises register/run: Transport and SyncClient are single-threaded.
  std::mutex op_mutex;
  // Guards `running` and the reset of `cancel`, so a cancel lands on the run in progress
  // only and never on a later one; `cancel_cv` cuts backoff waits short.
  std::mutex state_mutex;
  std::condition_variable cancel_cv;
  bool running = false;
  std::atomic<bool> cancel{false};

  // lb_sync_options' retry settings, applied to every run.
  unsigned max_attempts = 8;
  int initial_backoff_ms = 500;
  int max_backoff_ms = 30000;
  // A private copy of lb_sync_options.ca_pem (the transport loads it at each new
  // connection); removed with the handle.
  std::string ca_pem_file;
  ~lb_sync() {
    if (!ca_pem_file.empty()) std::remove(ca_pem_file.c_str());
  }
};

namespace {

using lumbung::Error;
using lumbung::ErrorCode;
using lumbung::Json;

// The ABI numbers of lumbung.h. A switch without default: a new ErrorCode makes the
// compiler warn here until it gets its own (appended) number.
int to_c_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return LB_ERR_INVALID_ARGUMENT;
    case ErrorCode::kValidationFailed:
      return LB_ERR_VALIDATION_FAILED;
    case ErrorCode::kUnknownField:
      return LB_ERR_UNKNOWN_FIELD;
    case ErrorCode::kUnknownCollection:
      return LB_ERR_UNKNOWN_COLLECTION;
    case ErrorCode::kNotFound:
      return LB_ERR_NOT_FOUND;
    case ErrorCode::kAlreadyExists:
      return LB_ERR_ALREADY_EXISTS;
    case ErrorCode::kStatusRegression:
      return LB_ERR_STATUS_REGRESSION;
    case ErrorCode::kSchemaInvalid:
      return LB_ERR_SCHEMA_INVALID;
    case ErrorCode::kSchemaMismatch:
      return LB_ERR_SCHEMA_MISMATCH;
    case ErrorCode::kStorage:
      return LB_ERR_STORAGE;
    case ErrorCode::kCorrupt:
      return LB_ERR_CORRUPT;
    case ErrorCode::kMalformedJson:
      return LB_ERR_MALFORMED_JSON;
    case ErrorCode::kProtocol:
      return LB_ERR_PROTOCOL;
    case ErrorCode::kUnauthorized:
      return LB_ERR_UNAUTHORIZED;
    case ErrorCode::kForbidden:
      return LB_ERR_FORBIDDEN;
    case ErrorCode::kOutOfScope:
      return LB_ERR_OUT_OF_SCOPE;
    case ErrorCode::kBodyTooLarge:
      return LB_ERR_BODY_TOO_LARGE;
    case ErrorCode::kBatchTooLarge:
      return LB_ERR_BATCH_TOO_LARGE;
    case ErrorCode::kJsonTooDeep:
      return LB_ERR_JSON_TOO_DEEP;
    case ErrorCode::kSeqGap:
      return LB_ERR_SEQ_GAP;
    case ErrorCode::kMethodNotAllowed:
      return LB_ERR_METHOD_NOT_ALLOWED;
    case ErrorCode::kWrongPassphrase:
      return LB_ERR_WRONG_PASSPHRASE;
    case ErrorCode::kRateLimited:
      return LB_ERR_RATE_LIMITED;
    case ErrorCode::kTransport:
      return LB_ERR_TRANSPORT;
    case ErrorCode::kCancelled:
      return LB_ERR_CANCELLED;
    case ErrorCode::kInternal:
      return LB_ERR_INTERNAL;
  }
  return LB_ERR_INTERNAL;
}

// The C code of an error. A refused certificate or key is its own code here (the engine
// reports it as kTransport whose message starts "TLS:", lumbung/sync.h), because an app must
// not treat it like a lost signal and retry.
int c_code_of(const Error& e) {
  if (e.code() == ErrorCode::kTransport && std::strncmp(e.what(), "TLS:", 4) == 0) {
    return LB_ERR_TLS_REFUSED;
  }
  return to_c_code(e.code());
}

// Copies `text` into a fixed buffer, cut at a UTF-8 character boundary.
template <size_t N>
void copy_text(char (&dst)[N], const char* text) {
  size_t n = std::strlen(text);
  if (n >= N) {
    n = N - 1;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(dst, text, n);
  dst[n] = '\0';
}

void set_error(lb_error* err, int code, const char* message, const char* field = "") {
  if (!err) return;
  err->code = code;
  copy_text(err->message, message);
  copy_text(err->field, field);
}

// The one exception boundary: runs `fn`, maps whatever it throws to an lb_error, and
// returns the code. noexcept: if mapping itself failed, terminate rather than unwind into C.
template <typename Fn>
int guarded(lb_error* err, Fn&& fn) noexcept {
  set_error(err, LB_OK, "");
  try {
    fn();
    return LB_OK;
  } catch (const Error& e) {
    const int code = c_code_of(e);
    set_error(err, code, e.what(), e.field().c_str());
    return code;
  } catch (const Json::parse_error& e) {
    set_error(err, LB_ERR_MALFORMED_JSON, e.what());
    return LB_ERR_MALFORMED_JSON;
  } catch (const std::bad_alloc&) {
    set_error(err, LB_ERR_INTERNAL, "out of memory");
    return LB_ERR_INTERNAL;
  } catch (const std::exception& e) {
    set_error(err, LB_ERR_INTERNAL, e.what());
    return LB_ERR_INTERNAL;
  } catch (...) {
    set_error(err, LB_ERR_INTERNAL, "unknown exception");
    return LB_ERR_INTERNAL;
  }
}

// A caller-owned copy for lb_free().
char* dup_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

const char* need(const char* arg, const char* name) {
  if (!arg) throw Error(ErrorCode::kInvalidArgument, std::string(name) + " is NULL");
  return arg;
}
std::string optional_text(const char* arg) { return arg ? arg : ""; }

lumbung::Store& need_store(lb_store* s) {
  if (!s || !s->store) throw Error(ErrorCode::kInvalidArgument, "store is NULL");
  return *s->store;
}
lb_sync& need_sync(lb_sync* s) {
  if (!s) throw Error(ErrorCode::kInvalidArgument, "sync is NULL");
  return *s;
}

Json parse_object(const char* text, const char* name) {
  Json j = Json::parse(need(text, name));  // parse_error -> LB_ERR_MALFORMED_JSON
  if (!j.is_object()) {
    throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a JSON object");
  }
  return j;
}

Json record_json(const lumbung::Record& r) {
  return Json{
      {"collection", r.collection}, {"id", r.id}, {"fields", r.fields}, {"deleted", r.deleted}};
}

Json records_json(const std::vector<lumbung::Record>& records) {
  Json out = Json::array();
  for (const auto& r : records) out.push_back(record_json(r));
  return out;
}

Json side_json(const lumbung::ConflictSide& s) {
  return Json{{"value", s.value}, {"version", lumbung::version_to_string(s.version)}};
}

// The Store secret where lb_sync_register keeps the device token.
constexpr const char* kTokenSecret = "device_token";

Json optional_ms(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

// ca_pem's private file: checked to hold a certificate, written under $TMPDIR (else /tmp)
// readable by this user only.
std::string write_ca_pem(const char* pem) {
  const std::string text = pem;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!cert) throw Error(ErrorCode::kInvalidArgument, "ca_pem holds no PEM certificate");
  X509_free(cert);
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/lumbung-ca-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) throw Error(ErrorCode::kStorage, "cannot create a file for ca_pem in " + path);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (done != text.size()) {
    std::remove(path.c_str());
    throw Error(ErrorCode::kStorage, "cannot write ca_pem to " + path);
  }
  return path;
}

// lb_sync_options -> the transport's options and the handle's retry settings. The pin and
// the CA file are checked by make_http_transport.
void apply_sync_options(const lb_sync_options& o, lb_sync& h, lumbung::HttpTransportOptions& t) {
  if (o.struct_size < sizeof(lb_sync_options)) {
    throw Error(ErrorCode::kInvalidArgument,
                "options->struct_size must be sizeof(lb_sync_options) (" +
                    std::to_string(sizeof(lb_sync_options)) + "), not " +
                    std::to_string(o.struct_size));
  }
  if (o.timeout_ms < 0 || o.initial_backoff_ms < 0 || o.max_backoff_ms < 0) {
    throw Error(ErrorCode::kInvalidArgument, "timeouts and backoffs cannot be negative");
  }
  if (o.ca_file && o.ca_pem) {
    throw Error(ErrorCode::kInvalidArgument, "give ca_file or ca_pem, not both");
  }
  if (o.ca_file) t.ca_file = o.ca_file;
  if (o.ca_pem) t.ca_file = h.ca_pem_file = write_ca_pem(o.ca_pem);
  if (o.pin_sha256) t.pin_sha256 = o.pin_sha256;
  if (o.timeout_ms > 0) t.timeout_ms = o.timeout_ms;
  if (o.max_attempts > 0) h.max_attempts = o.max_attempts;
  if (o.initial_backoff_ms > 0) h.initial_backoff_ms = o.initial_backoff_ms;
  if (o.max_backoff_ms > 0) h.max_backoff_ms = o.max_backoff_ms;
}

}  // namespace

extern "C" {

const char* lb_error_name(int code) {
  if (code == LB_OK) return "ok";
  if (code == LB_ERR_TLS_REFUSED) return "tls_refused";
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto c = static_cast<ErrorCode>(i);
    if (to_c_code(c) == code) return lumbung::error_code_name(c);
  }
  return "unknown";
}

const char* lb_version(void) { return LUMBUNG_VERSION_STRING; }

void lb_free(void* buffer) { std::free(buffer); }

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
    out = handle.release();
  });
  return out;
}

void lb_store_close(lb_store* store) {
  delete store;  // ~shared_ptr; the Store closes with its last lb_sync
}

char* lb_store_put(lb_store* store, const char* collection, const char* json_fields,
                   lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& s = need_store(store);
    Json fields = parse_object(json_fields, "json_fields");
    out = dup_string(s.create(need(collection, "collection"), std::move(fields)));
  });
  return out;
}

int lb_store_patch(lb_store* store, const char* collection, const char* id, const char* json_patch,
                   lb_error* err) {
  return guarded(err, [&] {
    auto& s = need_store(store);
    Json patch = parse_object(json_patch, "json_patch");
    s.update(need(collection, "collection"), need(id, "id"), std::move(patch));
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
    if (rec) out = dup_string(record_json(*rec).dump());
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
    lumbung::Page page = need_store(store).query(q);
    Json j{{"records", records_json(page.records)},
           {"next", page.next_after.empty() ? Json(nullptr) : Json(page.next_after)}};
    out = dup_string(j.dump());
  });
  return out;
}

char* lb_store_find_by_key(lb_store* store, const char* collection, const char* key,
                           lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto found = need_store(store).find_by_key(need(collection, "collection"), need(key, "key"));
    out = dup_string(Json{{"records", records_json(found)}}.dump());
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
    Json list = Json::array();
    for (const auto& i : issues) {
      list.push_back({{"field", i.field}, {"reason", i.reason}, {"message", i.message}});
    }
    out = dup_string(Json{{"valid", issues.empty()}, {"issues", std::move(list)}}.dump());
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
    for (const auto& r : need_store(store).refused_changes()) {
      list.push_back({{"seq", r.seq},
                      {"collection", r.collection},
                      {"record_id", r.record_id},
                      {"code", r.code},
                      {"field", r.field},
                      {"message", r.message},
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

lb_sync* lb_sync_new(lb_store* store, const char* server_url, const char* token, lb_error* err) {
  return lb_sync_new_with_options(store, server_url, token, nullptr, err);
}

lb_sync* lb_sync_new_with_options(lb_store* store, const char* server_url, const char* token,
                                  const lb_sync_options* options, lb_error* err) {
  lb_sync* out = nullptr;
  guarded(err, [&] {
    need_store(store);
    const std::string url = need(server_url, "server_url");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      throw Error(ErrorCode::kInvalidArgument, "server_url must start with http:// or https://");
    }
    auto handle = std::make_unique<lb_sync>();
    handle->store = store->store;
    lumbung::HttpTransportOptions topt;
    if (options) apply_sync_options(*options, *handle, topt);
    handle->transport = lumbung::make_http_transport(url, topt);
    std::string t = optional_text(token);
    if (t.empty()) t = handle->store->get_secret(kTokenSecret);
    handle->client =
        std::make_unique<lumbung::SyncClient>(*handle->store, *handle->transport, std::move(t));
    out = handle.release();
  });
  return out;
}

char* lb_sync_register(lb_sync* sync, const char* code, const char* label, lb_error* err) {
  char* out = nullptr;
  guarded(err, [&] {
    auto& h = need_sync(sync);
    std::lock_guard<std::mutex> op(h.op_mutex);
    const std::string token = h.client->register_device(need(code, "code"), optional_text(label));
    h.store->set_secret(kTokenSecret, token);
    out = dup_string(token);
  });
  return out;
}

int lb_sync_run(lb_sync* sync, lb_progress_fn progress, void* user, char** report_json,
                lb_error* err) {
  if (report_json) *report_json = nullptr;
  return guarded(err, [&] {
    auto& h = need_sync(sync);
    std::lock_guard<std::mutex> op(h.op_mutex);
    {
      std::lock_guard<std::mutex> st(h.state_mutex);
      h.cancel = false;
      h.running = true;
    }
    struct Finish {  // clears `running` however the run ends
      lb_sync& h;
      ~Finish() {
        std::lock_guard<std::mutex> st(h.state_mutex);
        h.running = false;
      }
    } finish{h};

    lumbung::SyncOptions o;
    o.cancel = &h.cancel;
    o.max_attempts = h.max_attempts;
    o.initial_backoff_ms = h.initial_backoff_ms;
    o.max_backoff_ms = h.max_backoff_ms;
    if (progress) {
      o.on_progress = [&](const lumbung::SyncProgress& p) {
        lb_progress c{};
        c.phase = p.phase == lumbung::SyncProgress::Phase::kPush   ? LB_PHASE_PUSH
                  : p.phase == lumbung::SyncProgress::Phase::kPull ? LB_PHASE_PULL
                                                                   : LB_PHASE_DONE;
        c.ops_pushed = p.ops_pushed;
        c.ops_to_push = p.ops_to_push;
        c.ops_pulled = p.ops_pulled;
        c.bytes_up = p.bytes_up;
        c.bytes_down = p.bytes_down;
        c.retries = p.retries;
        if (progress(&c, user) != 0) h.cancel = true;
      };
    }
    // Backoff waits end early on cancel, so "Cancel" answers within a request, not 30 s.
    o.sleep = [&](int ms) {
      std::unique_lock<std::mutex> st(h.state_mutex);
      h.cancel_cv.wait_for(st, std::chrono::milliseconds(ms), [&] { return h.cancel.load(); });
    };
    const lumbung::SyncReport r = h.client->sync(o);
    if (report_json) {
      Json j{{"pushed", r.pushed},       {"pulled", r.pulled},         {"applied", r.applied},
             {"conflicts", r.conflicts}, {"restamped", r.restamped},   {"refused", r.refused},
             {"bytes_up", r.bytes_up},   {"bytes_down", r.bytes_down}, {"requests", r.requests},
             {"retries", r.retries},     {"seconds", r.seconds}};
      *report_json = dup_string(j.dump());
    }
  });
}

void lb_sync_cancel(lb_sync* sync) {
  if (!sync) return;
  std::lock_guard<std::mutex> st(sync->state_mutex);
  if (sync->running) {
    sync->cancel = true;
    sync->cancel_cv.notify_all();
  }
}

void lb_sync_free(lb_sync* sync) {
  if (!sync) return;
  // The client refers to the transport and the store: destroy it first.
  sync->client.reset();
  sync->transport.reset();
  delete sync;
}

}  // extern "C"

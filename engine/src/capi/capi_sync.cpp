// The sync half of the C API (lumbung.h "Sync"): lb_sync handles, registration, runs,
// cancel, and the trust and retry settings of lb_sync_options.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "capi/capi_internal.h"

using lumbung::Error;
using lumbung::ErrorCode;
using lumbung::Json;
using namespace lumbung::capi;

namespace {

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

// Where a member of lb_sync_options ends: a caller's struct holds it when its struct_size
// reaches that far (an app built with an older header passes a smaller struct).
constexpr size_t kFirstPullEnd =
    offsetof(lb_sync_options, first_pull) + sizeof(lb_sync_options::first_pull);
constexpr size_t kChangesetFormatEnd =
    offsetof(lb_sync_options, changeset_format) + sizeof(lb_sync_options::changeset_format);

// lb_sync_options -> the transport's options and the handle's retry and pull settings. The
// pin and the CA file are checked by make_http_transport. The struct only grows at the end:
// the smallest accepted is the one shipped before `first_pull` (API 2-3); a member beyond
// struct_size is never read and keeps its default.
void apply_sync_options(const lb_sync_options& o, lb_sync& h, lumbung::HttpTransportOptions& t) {
  constexpr size_t kOldest = offsetof(lb_sync_options, first_pull);
  if (o.struct_size < kOldest) {
    throw Error(ErrorCode::kInvalidArgument,
                "options->struct_size must be sizeof(lb_sync_options) (" +
                    std::to_string(sizeof(lb_sync_options)) + "; at least " +
                    std::to_string(kOldest) + " from an older header), not " +
                    std::to_string(o.struct_size));
  }
  if (o.timeout_ms < 0 || o.initial_backoff_ms < 0 || o.max_backoff_ms < 0) {
    throw Error(ErrorCode::kInvalidArgument, "timeouts and backoffs cannot be negative");
  }
  if (o.ca_file && o.ca_pem) {
    throw Error(ErrorCode::kInvalidArgument, "give ca_file or ca_pem, not both");
  }
  int first_pull = LB_FIRST_PULL_AUTO;
  if (o.struct_size >= kFirstPullEnd) first_pull = o.first_pull;
  if (first_pull != LB_FIRST_PULL_AUTO && first_pull != LB_FIRST_PULL_REPLAY &&
      first_pull != LB_FIRST_PULL_SNAPSHOT) {
    throw Error(ErrorCode::kInvalidArgument,
                "first_pull must be LB_FIRST_PULL_AUTO (0), LB_FIRST_PULL_REPLAY (1) or "
                "LB_FIRST_PULL_SNAPSHOT (2), not " +
                    std::to_string(first_pull));
  }
  int format = LB_CHANGESET_V2_OR_V1;
  if (o.struct_size >= kChangesetFormatEnd) format = o.changeset_format;
  if (format != LB_CHANGESET_V2_OR_V1 && format != LB_CHANGESET_V1 && format != LB_CHANGESET_V2) {
    throw Error(ErrorCode::kInvalidArgument,
                "changeset_format must be LB_CHANGESET_V2_OR_V1 (0), LB_CHANGESET_V1 (1) or "
                "LB_CHANGESET_V2 (2), not " +
                    std::to_string(format));
  }
  if (o.ca_file) t.ca_file = o.ca_file;
  if (o.ca_pem) t.ca_file = h.ca_pem_file = write_ca_pem(o.ca_pem);
  if (o.pin_sha256) t.pin_sha256 = o.pin_sha256;
  if (o.timeout_ms > 0) t.timeout_ms = o.timeout_ms;
  if (o.max_attempts > 0) h.max_attempts = o.max_attempts;
  if (o.initial_backoff_ms > 0) h.initial_backoff_ms = o.initial_backoff_ms;
  if (o.max_backoff_ms > 0) h.max_backoff_ms = o.max_backoff_ms;
  h.bootstrap_snapshot = first_pull != LB_FIRST_PULL_REPLAY;
  h.bootstrap_auto = first_pull == LB_FIRST_PULL_AUTO;
  h.changeset_format = format;  // LB_CHANGESET_* are SyncOptions::changeset_format's numbers
}

Json attachment_report_json(const lumbung::AttachmentSyncReport& r) {
  Json errors = Json::array();
  for (const auto& [sha, why] : r.errors) errors.push_back({{"sha256", sha}, {"error", why}});
  return Json{{"sent", r.sent},
              {"already", r.already},
              {"failed", r.failed},
              {"bytes", r.bytes},
              {"bytes_up", r.bytes_up},
              {"requests", r.requests},
              {"errors", std::move(errors)}};
}

int stage_of(lumbung::SyncProgress::Stage s) {
  using Stage = lumbung::SyncProgress::Stage;
  switch (s) {
    case Stage::kIdle:
      return LB_STAGE_IDLE;
    case Stage::kConnecting:
      return LB_STAGE_CONNECTING;
    case Stage::kSending:
      return LB_STAGE_SENDING;
    case Stage::kWaiting:
      return LB_STAGE_WAITING;
    case Stage::kReceiving:
      return LB_STAGE_RECEIVING;
    case Stage::kRetryWait:
      return LB_STAGE_RETRY_WAIT;
  }
  return LB_STAGE_IDLE;
}

}  // namespace

namespace lumbung::capi {

RunScope::RunScope(lb_sync& h) : h_(h) {
  std::lock_guard<std::mutex> st(h_.state_mutex);
  h_.cancel = false;
  h_.running = true;
}

RunScope::~RunScope() {
  std::lock_guard<std::mutex> st(h_.state_mutex);
  h_.running = false;
}

SyncOptions run_options(lb_sync& h) {
  SyncOptions o;
  o.cancel = &h.cancel;
  o.max_attempts = h.max_attempts;
  o.initial_backoff_ms = h.initial_backoff_ms;
  o.max_backoff_ms = h.max_backoff_ms;
  o.bootstrap_snapshot = h.bootstrap_snapshot;
  o.bootstrap_auto = h.bootstrap_auto;
  o.changeset_format = h.changeset_format;
  // Backoff waits end early on cancel, so "Cancel" answers within a request, not 30 s.
  o.sleep = [&h](int ms) {
    std::unique_lock<std::mutex> st(h.state_mutex);
    h.cancel_cv.wait_for(st, std::chrono::milliseconds(ms), [&h] { return h.cancel.load(); });
  };
  return o;
}

}  // namespace lumbung::capi

extern "C" {

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
    handle->watch = std::make_unique<ChangeWatch>(handle->store);
    handle->transport = std::make_unique<WatchingTransport>(lumbung::make_http_transport(url, topt),
                                                            *handle->watch);
    std::string t = optional_text(token);
    if (t.empty()) t = handle->store->get_secret(kTokenSecret);
    handle->token = t;
    handle->attachments = store->attachments;
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
    h.token = token;
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
    RunScope scope(h);
    lumbung::SyncOptions o = run_options(h);
    // Records changed: told once, when the records are synced (before the attachments go,
    // which may take long on 2G), or when the run stops early.
    h.watch->begin(h.on_changed != nullptr);
    bool told = false;
    auto tell_changed = [&]() noexcept {
      if (told || !h.on_changed) return;
      told = true;
      try {
        const Json c = h.watch->collect();
        if (c["count"].get<size_t>() > 0 || c["truncated"].get<bool>()) {
          h.on_changed(c.dump().c_str(), h.on_changed_user);
        }
      } catch (...) {
        // Nothing to tell the app that it could act on; the run's own result stands.
      }
    };
    lb_progress last{};  // the last records' progress, for the attachment events
    std::string last_error;
    o.on_progress = [&](const lumbung::SyncProgress& p) {
      if (p.phase == lumbung::SyncProgress::Phase::kDone) tell_changed();
      if (!progress) return;
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
      c.stage = stage_of(p.stage);
      c.attempt = p.attempt;
      c.max_attempts = p.max_attempts;
      c.retry_in_ms = p.retry_in_ms;
      last_error = p.last_error;
      c.last_error = last_error.c_str();
      c.request_sent = p.request_sent;
      c.request_size = p.request_size;
      c.request_received = p.request_received;
      last = c;
      if (progress(&c, user) != 0) h.cancel = true;
    };
    if (progress) {
      o.on_attachment = [&](const lumbung::AttachmentProgress& a) {
        lb_progress c = last;
        c.phase = LB_PHASE_ATTACHMENTS;
        c.stage = LB_STAGE_IDLE;
        c.last_error = last_error.c_str();
        c.attachment_index = a.index;
        c.attachment_count = a.count;
        c.attachment_sent = a.sent;
        c.attachment_size = a.size;
        if (progress(&c, user) != 0) h.cancel = true;
      };
    }
    // Attachments go after the records (lumbung/attachments.h); a failing one is reported,
    // never fails the run.
    if (has_attachment_fields(h.store->schema())) o.attachments = &h.attachments->get();
    lumbung::SyncReport r;
    try {
      r = h.client->sync(o);
    } catch (...) {
      tell_changed();  // the pages applied before the failure stay applied
      throw;
    }
    tell_changed();
    if (report_json) {
      Json j{{"pushed", r.pushed},       {"pulled", r.pulled},         {"applied", r.applied},
             {"conflicts", r.conflicts}, {"restamped", r.restamped},   {"refused", r.refused},
             {"bytes_up", r.bytes_up},   {"bytes_down", r.bytes_down}, {"requests", r.requests},
             {"retries", r.retries},     {"seconds", r.seconds}};
      if (o.attachments) j["attachments"] = attachment_report_json(r.attachments);
      *report_json = dup_string(j.dump());
    }
  });
}

int lb_sync_on_changed(lb_sync* sync, lb_changed_fn fn, void* user, lb_error* err) {
  return guarded(err, [&] {
    auto& h = need_sync(sync);
    std::lock_guard<std::mutex> op(h.op_mutex);
    h.on_changed = fn;
    h.on_changed_user = fn ? user : nullptr;
  });
}

int lb_api_version(void) { return LB_API_VERSION; }

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

// Private to engine/src/capi: the handles behind lumbung.h and the helpers every part of
// the C API uses (the exception boundary, caller-owned strings, argument checks).
//
// Every exported function does its work inside guarded(), the one place where C++
// exceptions are caught and turned into an lb_error; nothing here throws past it. Returned
// strings are malloc'd copies so that lb_free() is free() whatever allocator the caller's
// runtime uses.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "lumbung/attachments.h"
#include "lumbung/error.h"
#include "lumbung/lumbung.h"
#include "lumbung/pull_stream.h"
#include "lumbung/schema.h"
#include "lumbung/store.h"
#include "lumbung/sync.h"

namespace lumbung::capi {

// The attachment file beside a store (lumbung/attachments.h), opened at first use and
// shared by the lb_store and every lb_sync made from it. It holds the Store, declared
// first, so that the AttachmentStore (which refers to it) is destroyed before it.
struct AttachmentSlot {
  std::shared_ptr<Store> store;
  std::string path;  // the store's path; the attachments are at AttachmentStore::path_for
  std::mutex mu;
  std::unique_ptr<AttachmentStore> att;
  AttachmentStore& get();  // opens on first use; throws as AttachmentStore::open
};

// Which records a run's pull changed, for lb_sync_on_changed (capi_changes.cpp). Fed by
// the WatchingTransport below from any thread; begin/collect on the syncing thread.
class ChangeWatch {
 public:
  explicit ChangeWatch(std::shared_ptr<Store> store) : store_(std::move(store)) {}
  // A run starts: forget the last one; watch pull pages only if `active`.
  void begin(bool active);
  // A request went out and `resp` came back (before the sync client sees it).
  void observe(const HttpRequest& req, const HttpResponse& resp) noexcept;
  // The next bytes of a streamed pull's body (lumbung/pull_stream.h), before the sync
  // client reads them: each whole frame is observed as a page is. `reader` is the
  // answer's own (one per attempt).
  void observe_stream(PullStreamReader& reader, std::string_view piece) noexcept;
  bool active();
  // The run ended: {"count", "truncated", "records": [{"collection", "id", "deleted"}]}.
  Json collect();

 private:
  struct State {
    size_t hash;  // of the record's field versions and deletion
    bool live;
  };
  State state_of(const std::string& collection, const std::string& id) const;
  void observe_page(const Json& page);  // throws on an op it cannot read
  std::shared_ptr<Store> store_;
  std::mutex mu_;
  bool active_ = false;
  bool truncated_ = false;
  std::map<std::pair<std::string, std::string>, size_t> before_;  // key -> State::hash
};

// The HTTP transport of an lb_sync, with its answers shown to the handle's ChangeWatch.
class WatchingTransport : public Transport {
 public:
  WatchingTransport(std::unique_ptr<Transport> inner, ChangeWatch& watch)
      : inner_(std::move(inner)), watch_(watch) {}
  HttpResponse send(const HttpRequest& request) override;

 private:
  std::unique_ptr<Transport> inner_;
  ChangeWatch& watch_;
};

// True if some collection has a field of type attachment (only then does a sync open the
// attachment file and send what waits there).
bool has_attachment_fields(const Schema& schema);

}  // namespace lumbung::capi

// The handles. A store is shared so that an lb_sync can outlive lb_store_close.
struct lb_store {
  std::shared_ptr<lumbung::Store> store;
  std::shared_ptr<lumbung::capi::AttachmentSlot> attachments;
};

struct lb_sync {
  std::shared_ptr<lumbung::Store> store;
  std::unique_ptr<lumbung::capi::ChangeWatch> watch;  // before transport: it refers to it
  std::unique_ptr<lumbung::Transport> transport;
  std::unique_ptr<lumbung::SyncClient> client;
  std::shared_ptr<lumbung::capi::AttachmentSlot> attachments;
  std::string token;  // the client's, for attachment fetches (guarded by op_mutex)
  // What lb_attachment_open's fetches learned about the link, so that the photos opened
  // one after another through this handle size their ranges once (guarded by op_mutex).
  lumbung::FetchLink fetch_link;
  // lb_sync_on_changed's callback (guarded by op_mutex).
  lb_changed_fn on_changed = nullptr;
  void* on_changed_user = nullptr;

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
  // lb_sync_options' first_pull and changeset_format (API 4), as SyncOptions has them.
  bool bootstrap_snapshot = true;
  bool bootstrap_auto = true;
  int changeset_format = 0;
  // A private copy of lb_sync_options.ca_pem (the transport loads it at each new
  // connection); removed with the handle.
  std::string ca_pem_file;
  ~lb_sync() {
    if (!ca_pem_file.empty()) std::remove(ca_pem_file.c_str());
  }
};

namespace lumbung::capi {

// The C code of an error (lumbung.h's LB_ERR_*).
int c_code_of(const Error& e);
int to_c_code(ErrorCode code);

// Sets *err (if not NULL): the code, the message and field cut to fit at a UTF-8 boundary.
void set_error(lb_error* err, int code, const char* message, const char* field = "");

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
char* dup_string(const std::string& s);

// Throw Error(kInvalidArgument) for a NULL argument or handle.
const char* need(const char* arg, const char* name);
inline std::string optional_text(const char* arg) { return arg ? arg : ""; }
Store& need_store(lb_store* s);
lb_sync& need_sync(lb_sync* s);

// Parses a JSON object argument: LB_ERR_MALFORMED_JSON if not JSON, LB_ERR_INVALID_ARGUMENT
// if not an object.
Json parse_object(const char* text, const char* name);

// Reason codes (capi_issues.cpp). One issue as lumbung.h gives it: field, label, reason,
// message (= message_en), message_en, message_id. `cs` may be null.
Json issue_json(const CollectionSchema* cs, const std::string& field, const std::string& reason,
                const std::string& message_en);
// {"valid": <no issues>, "issues": [issue_json...]}
Json issues_document(const CollectionSchema* cs, const std::vector<ValidationIssue>& issues);
// The issues behind a refused write: every issue of the whole record `whole` (the record
// put, or the record as the patch would leave it) when the refusal is about values, else
// the error itself as one issue (reason = its code's name). Null Json if that failed too.
Json explain_failure(const Store& s, const std::string& collection, const Json* whole,
                     const Error& e) noexcept;

// Marks an operation in progress on `h` (lb_sync_run, a fetch of lb_attachment_open) so
// that lb_sync_cancel reaches it and never a later one; the caller holds h.op_mutex.
class RunScope {
 public:
  explicit RunScope(lb_sync& h);
  ~RunScope();
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;

 private:
  lb_sync& h_;
};

// SyncOptions with the handle's retry settings, its cancel flag, and waits between retries
// that a cancel cuts short.
SyncOptions run_options(lb_sync& h);

// The Store secret where lb_sync_register keeps the device token.
constexpr const char* kTokenSecret = "device_token";

}  // namespace lumbung::capi

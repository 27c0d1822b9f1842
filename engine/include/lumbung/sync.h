// Syncing a device store with lumbung-server (protocol: docs/PROTOCOL.md).
//
//   auto transport = lumbung::make_http_transport("http://127.0.0.1:8080");
//   lumbung::SyncClient client(*store, *transport, token);
//   lumbung::SyncReport report = client.sync(options);
//
// A sync pushes the change log in batches, then pulls pages until the server has no more;
// batches and pages are sized in bytes to what the link carries whole (SyncOptions).
// Every step is safe to interrupt: a push batch is keyed by (device, seq) so the server
// applies a retried batch zero times; a pull page and its cursor commit in one local
// transaction. On a dropped link the client waits (exponential backoff) and resumes from
// where it stopped, up to SyncOptions::max_attempts consecutive failures.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lumbung/store.h"
#include "lumbung/tuning.h"

namespace lumbung {

struct HttpRequest {
  std::string method;  // "GET" or "POST"
  std::string target;  // path and query, e.g. "/v1/pull?cursor=abc"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Optional: told the body bytes sent so far (upload) and received so far (download) of
  // this request, from any thread, while send() runs. Bytes going back down (upload) mean
  // the HTTP stack started the request again on its own (see SyncClient's RequestLoop).
  std::function<void(bool upload, uint64_t bytes)> on_bytes;
  // Optional: polled (from the sending thread, every ~50 ms) while send() runs; once it
  // returns true send() gives the request up as soon as it can and throws
  // Error(kCancelled).
  std::function<bool()> stop;
  // Optional, for a body read as it arrives (the streamed pull, pull_stream.h): a 2xx
  // answer whose Content-Type begins with `stream_type` is not kept in HttpResponse::body
  // but handed to `on_body` in pieces as they arrive (on the sending thread), then once
  // with an empty piece when it ended; HttpResponse::streamed says so. on_body returning
  // false stops reading (the rest is not wanted); what it throws ends send() as a link
  // failure (Error kTransport). Any other answer is read whole. A transport that reads
  // every body whole may ignore both: the caller then hands the body over itself.
  std::string stream_type;
  std::function<bool(std::string_view piece)> on_body;
};

// `s` percent-encoded as one URL path segment or query value, for HttpRequest::target:
// every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX.
std::string url_encode(std::string_view s);

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // as received (maybe gzip; see headers)
  size_t wire_bytes = 0;                       // bytes received, status line and headers included
  bool streamed = false;                       // the body went to HttpRequest::on_body
};

// Where requests go. The HTTP implementation talks to a real server; tests wrap it to drop,
// cut or duplicate traffic. send() throws Error(kTransport) when the link fails (refused,
// timeout, cut mid-transfer); any HTTP status, even 500, is a response, not a throw.
// Implementations must be safe to call from one thread at a time (the SyncClient's).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

struct HttpTransportOptions {
  int timeout_ms = 60000;  // per request; a 2G link moves ~10 KB/s
  // PEM file of certificates to trust for https, instead of the system store (e.g. the
  // office's self-signed certificate, copied to the laptop when it was set up).
  std::string ca_file;
  // Lowercase hex SHA-256 of the server's public key (DER SubjectPublicKeyInfo), as printed
  // by lumbung-server ("tls pin sha256: ...") and tools/dev-cert.sh. When set, the server
  // must present exactly that key, on top of a certificate chain that verifies. https only.
  std::string pin_sha256;
};

// A Transport over HTTP/HTTPS to `base_url` (e.g. "https://127.0.0.1:8443"), built on
// cpprestsdk. Keeps the connection alive between requests. For https it verifies the
// server's certificate chain (system store or options.ca_file) and host name, and the pin
// if one is given; a failure is Error(kTransport) whose message starts "TLS: certificate
// not trusted" or "TLS: pin mismatch". Throws Error(kInvalidArgument) for a bad URL, an
// unreadable ca_file, or a pin that is not 64 hex digits or is given for plain http.
std::unique_ptr<Transport> make_http_transport(const std::string& base_url,
                                               const HttpTransportOptions& options = {});

// Longest time a sync stays silent: while a request or a retry wait lasts, on_progress is
// called at least this often, so an officer never looks at a frozen screen.
constexpr int kProgressEveryMs = 500;

struct SyncProgress {
  enum class Phase { kPush, kPull, kDone };
  // What the link is doing right now. kConnecting until the first body byte of a request
  // is out (a new connection's handshake is in there), kSending while the body goes,
  // kWaiting for the server's first answer byte, kReceiving while the answer comes,
  // kRetryWait between a failed attempt and the next (see retry_in_ms), kIdle otherwise.
  enum class Stage { kIdle, kConnecting, kSending, kWaiting, kReceiving, kRetryWait };
  Phase phase = Phase::kPush;
  uint64_t ops_pushed = 0;
  uint64_t ops_to_push = 0;  // pending when the sync began
  uint64_t ops_pulled = 0;
  uint64_t bytes_up = 0;  // on the wire, headers included
  uint64_t bytes_down = 0;
  unsigned retries = 0;  // every attempt after a failed one, the HTTP stack's own included
  Stage stage = Stage::kIdle;
  uint64_t request_sent = 0;      // body bytes of the current request sent so far
  uint64_t request_size = 0;      // body bytes of the current request
  uint64_t request_received = 0;  // answer body bytes received so far
  unsigned attempt = 0;           // of the current request: 1, then 2 after a failure ...
  unsigned max_attempts = 0;      // ... up to this (SyncOptions::max_attempts)
  int64_t retry_in_ms = 0;        // kRetryWait: time left before the next attempt
  std::string last_error;         // why the last attempt failed ("" after a success)
  size_t transfer_bytes = 0;      // the size (wire bytes) batches and pages aim at now
};

class AttachmentStore;  // attachments.h

// One attachment on its way (SyncOptions::on_attachment).
struct AttachmentProgress {
  std::string sha256;
  uint64_t sent = 0;  // bytes the server confirmed
  uint64_t size = 0;
  unsigned index = 0;  // 1-based, of `count` attachments this sync sends
  unsigned count = 0;
};

// What the attachment part of a sync did (attachments.h upload_attachments).
struct AttachmentSyncReport {
  uint64_t sent = 0;      // attachments now whole on the server
  uint64_t already = 0;   // of those, the server had the bytes already (same sha256)
  uint64_t failed = 0;    // refused or not finished; kept, tried again at the next sync
  uint64_t bytes = 0;     // attachment bytes the server confirmed in this sync
  uint64_t bytes_up = 0;  // on the wire, headers and re-sent chunks included
  uint64_t bytes_down = 0;
  uint64_t requests = 0;
  std::vector<std::pair<std::string, std::string>> errors;  // (sha256, why) per failure
};

struct SyncOptions {
  size_t push_batch = kPushBatchOps;  // most ops in one push batch
  size_t pull_page = kPullPageOps;    // most ops in one pull page
  // Largest push batch / pull page in wire bytes (gzip'ed body); 0 = 1 MiB. Within it,
  // sizes adapt to the link: they start at first_batch_bytes, double while transfers
  // arrive whole and fast, shrink after a cut (engine/src/sync/transfer_sizer.h).
  size_t max_batch_bytes = 0;
  // Size (wire bytes) the first batch and page aim at; 0 = 8 KiB, right for a 2G link. A
  // caller that knows the link is fast (a LAN) or wants batches of exactly push_batch ops
  // from the start may set it higher.
  size_t first_batch_bytes = 0;
  // A device with no pull cursor yet (a new laptop, or one whose cursor was cleared) asks
  // for a snapshot of its regions' current records, then follows the log from there,
  // instead of replaying the whole history (docs/PROTOCOL.md "Bootstrap from a snapshot").
  // On by default (issue 13): a new laptop's first pull then costs in proportion to its
  // regions' current records, not to the log's history (on a server holding a province,
  // 3 requests instead of 51 for a desa, BENCHMARKS.md); where records have several edits
  // each it also carries fewer bytes. False replays the log from its start (on a history of
  // creates only, the replay is somewhat faster; BENCHMARKS.md). A server without snapshots
  // replays either way.
  bool bootstrap_snapshot = true;
  // With bootstrap_snapshot: the server chooses (snapshot=auto, docs/PROTOCOL.md "Letting
  // the server choose"): the snapshot where its log is long against the device's records, a
  // replay where the log is little more than their creations - there the replay took 2.6 s
  // and 1.5 s of server CPU for 100,000 records against the snapshot's 9.4-9.9 s and 7.2-7.4
  // s (BENCHMARKS.md). On by default; false forces the snapshot. A server older than
  // snapshot=auto replays.
  bool bootstrap_auto = true;
  // Change-set format (docs/PROTOCOL.md "Change-set format v2"): 0 = v2 where the server
  // reads it (pulls ask for it; a push falls back to v1 for the rest of the sync when the
  // server refuses a v2 body without naming "changeset_formats", as servers older than v2
  // do); 1 = v1 only; 2 = v2 only (no fallback).
  int changeset_format = 0;
  // Streamed pull (docs/PROTOCOL.md "Streamed pull"; v2 only): one request carries the
  // whole pull as frames, each applied with its cursor as it arrives; after a cut the pull
  // resumes after the last whole frame. Asked for while the link is slow (under 1 MiB/s;
  // a sync's first pull, before any transfer told the pace, counts as slow); on a faster
  // one, and from a server without it, the rest of the sync pulls page by page. false:
  // pages, one request each.
  bool pull_stream = true;
  // Streamed push (docs/PROTOCOL.md "Streamed push"; v2 only): one request carries the
  // unsent log as frames, which the server applies each as it arrives; after a cut the
  // client asks how far the server got (GET /v1/push/state) and sends only the rest.
  // Asked for while the link is slow; a server without it is pushed in batches (the
  // simulation streams dev-1's and dev-2's pushes, with cuts inside and between frames).
  // false: batches, one request each.
  bool push_stream = true;
  unsigned max_attempts = 8;     // consecutive failures before giving up
  int initial_backoff_ms = 500;  // doubled after each failure ...
  int max_backoff_ms = 30000;    // ... up to this
  // Called on the syncing thread after every batch or page, and while a request or a
  // retry wait lasts at least every kProgressEveryMs (sync.h's SyncProgress::Stage says
  // what the link is doing). One call at a time.
  std::function<void(const SyncProgress&)> on_progress;
  // Set to true (from any thread) to stop at the next request boundary; sync() then
  // throws Error(kCancelled). What was committed stays committed.
  const std::atomic<bool>* cancel = nullptr;
  // How to wait between retries; tests replace it to run without sleeping.
  std::function<void(int ms)> sleep;
  // How round trips are timed, in monotonic ms (half of one corrects the server's time,
  // see SyncClient). Default std::chrono::steady_clock; a deterministic simulation
  // replaces it so that real elapsed time cannot change the versions it issues.
  std::function<int64_t()> monotonic_ms;
  // When set, sync() sends these attachments after the records (attachments.h); a failure
  // of one is reported in SyncReport::attachments and never fails the sync.
  AttachmentStore* attachments = nullptr;
  // Called after every attachment chunk the server confirmed.
  std::function<void(const AttachmentProgress&)> on_attachment;
};

struct SyncReport {
  uint64_t pushed = 0;     // ops the server acknowledged in this sync
  uint64_t pulled = 0;     // ops received
  uint64_t applied = 0;    // received ops that changed local state
  uint64_t conflicts = 0;  // conflicts found locally while applying
  uint64_t restamped = 0;  // own ops the server re-stamped (clock far ahead)
  uint64_t refused = 0;    // own ops the server acknowledged but refused (Store::refused_changes)
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t requests = 0;
  unsigned retries = 0;
  double seconds = 0;
  // The schema version the server runs, from its pull answers (0 = not said). Above the
  // store's Schema::version(): fetch_schema(), then open the store under the new document
  // once nothing is pending (the store upgrades its records: schema_versions.h).
  int server_schema_version = 0;
  AttachmentSyncReport attachments;  // SyncOptions::attachments set: what they did
};

// What a field officer sees before syncing.
struct SyncStatus {
  uint64_t pending_changes = 0;
  std::optional<int64_t> oldest_pending_ms;
  std::optional<int64_t> last_sync_ms;
  uint64_t open_conflicts = 0;
  uint64_t refused_changes = 0;  // changes the server refused; see Store::refused_changes
};

// Runs syncs of one Store against one server. Call from one thread at a time (usually a
// background thread); the Store may be used by other threads meanwhile.
class SyncClient {
 public:
  SyncClient(Store& store, Transport& transport, std::string token);

  // Registers this device with a one-time enrolment code from the central office; returns
  // the device token (shown once by the server: keep it). Keeps the server's schema key the
  // answer names in the store (meta "schema_key"; see fetch_schema()). Throws Error with the
  // server's code (e.g. kUnauthorized for a used code, kAlreadyExists) or kTransport.
  std::string register_device(const std::string& code, const std::string& label);

  // Push then pull until the server has no more. Throws Error(kUnauthorized / kForbidden /
  // kOutOfScope / kValidationFailed ...) for refusals that retrying cannot fix,
  // Error(kTransport) after max_attempts consecutive link failures, Error(kCancelled).
  SyncReport sync(const SyncOptions& options = {});
  SyncReport push(const SyncOptions& options = {});
  SyncReport pull(const SyncOptions& options = {});

  SyncStatus status() const;

  void set_token(std::string token) { token_ = std::move(token); }

  // Device token rotation (docs/PROTOCOL.md "POST /v1/devices/token/rotate"), in two steps
  // so that no answer lost on the link strands the device:
  //  1. request_new_token() asks the server, with the current token, for a new one and
  //     returns it. The server keeps accepting the current token. The caller keeps the new
  //     one durably (beside the current one) before step 2.
  //  2. confirm_token(next) makes one authenticated call with `next`; from then the server
  //     accepts only `next`, and so does this client. On failure this client keeps its
  //     current token: Error(kUnauthorized) means `next` is dead (a later request replaced
  //     it; drop it and rotate again), Error(kTransport) that the link failed (keep both
  //     and confirm later: the current token still works meanwhile).
  // Neither step touches the store's records or change log.
  std::string request_new_token();
  // GET /v1/schema: the schema document the server runs (with its changelog), checked
  // against the server's Ed25519 signature over its exact bytes (docs/PROTOCOL.md "Schema
  // versions"). The store keeps the server's schema key (register_device(), or, for a store
  // registered before keys were sent, the first signed answer's, trusted on TLS); once it
  // holds one, a document without a valid signature by that key throws
  // Error(kSignatureInvalid) and nothing changes (the store syncs on under its current schema).
  // Throws as sync() does; Error(kProtocol) if the answer is not a schema document.
  Json fetch_schema();
  void confirm_token(const std::string& next);

 private:
  class Run;
  Store& store_;
  Transport& transport_;
  std::string token_;
};

}  // namespace lumbung

/* Lumbung C API: one small, stable surface over the engine for apps written in other
 * languages (Kotlin/JNI, Swift, Dart FFI, Python ctypes). See docs/EMBEDDING.md.
 *
 *   lb_error err;
 *   lb_store* s = lb_store_open("desa.db", "enrolment.schema.json", "laptop-1", pass, &err);
 *   char* id = lb_store_put(s, "enrolment", "{\"nik\": \"...\", ...}", &err);
 *   char* rec = lb_store_get(s, "enrolment", id, &err);
 *   lb_free(rec); lb_free(id);
 *   lb_sync* c = lb_sync_new(s, "https://lumbung.example.id", token, &err);
 *   char* report = NULL;
 *   if (lb_sync_run(c, on_progress, app_state, &report, &err) != LB_OK) show(err.message);
 *   lb_free(report); lb_sync_free(c); lb_store_close(s);
 *
 * CONVENTIONS (they hold for every function below unless it says otherwise)
 *
 * Errors.  The last argument is an `lb_error*`. It may be NULL (the details are then
 *   dropped; the return value still tells success from failure). On entry the function
 *   sets err->code = LB_OK and clears the strings; on failure it sets err->code to one of
 *   the LB_ERR_* codes below, err->message to a human-readable message (UTF-8, at most 511
 *   bytes, always NUL-terminated, never cut inside a UTF-8 sequence) and, for validation
 *   failures, err->field to the field at fault. Functions returning `int` return the same
 *   code (LB_OK = 0 on success). Functions returning a pointer return NULL on failure.
 *   No function throws a C++ exception or aborts across this boundary; an internal failure
 *   (including out of memory) is LB_ERR_INTERNAL.
 *
 * Strings.  Every `const char*` argument is NUL-terminated UTF-8, borrowed for the call
 *   only (the library copies what it keeps). A NULL string argument is an
 *   LB_ERR_INVALID_ARGUMENT unless the function says NULL is allowed.
 *
 * Ownership.  Every `char*` returned (and every `char*` stored through an out-parameter)
 *   is a new NUL-terminated UTF-8 buffer owned by the caller, to be released with
 *   lb_free() exactly once. `const char*` results (lb_version, lb_error_name) are static:
 *   never free them. Handles (lb_store, lb_sync) are released only with their own
 *   lb_store_close / lb_sync_free.
 *
 * JSON.  Records travel as JSON text. A record read back is
 *   {"collection": "enrolment", "id": "0193...", "fields": {...}, "deleted": false,
 *    "schema_version": 3}
 *   with values normalised by the schema (e.g. region codes without dots). "schema_version"
 *   is the schema version its field names are in: the store's, as every record moves with
 *   the store when it is opened under a newer version (issue 18).
 *
 * Threads.  An lb_store may be used from several threads at once: calls on one store are
 *   serialised inside the engine (one SQLite connection). An lb_sync runs one operation
 *   at a time: concurrent lb_sync_register / lb_sync_run calls on one lb_sync wait for
 *   each other; lb_sync_cancel may be called from any thread at any time while the handle
 *   is alive. Callbacks (lb_progress_fn, lb_changed_fn) run only on the thread that called
 *   lb_sync_run, before it returns. lb_attachment_open with a sync handle is serialised
 *   with its runs. Store calls from other threads proceed while a sync runs. Closing or freeing
 *   a handle must not race with any other call on that same handle. lb_error structs are
 *   not shared: give each thread its own.
 *
 * Stability.  The LB_* codes, struct layouts and function signatures here are ABI: codes
 *   keep their numbers forever, new codes and functions are only appended, and structs
 *   handed to callbacks only grow at the end. The library exports nothing but lb_*.
 */
#ifndef LUMBUNG_LUMBUNG_H_
#define LUMBUNG_LUMBUNG_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(LUMBUNG_C_API_BUILD)
#define LB_EXPORT __declspec(dllexport)
#else
#define LB_EXPORT __declspec(dllimport)
#endif
#else
#define LB_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when functions, or members at the end of a struct, are added (never when they
 * change: they do not). */
#define LB_API_VERSION 4

/* ---- Errors ---------------------------------------------------------------------- */

/* Mirrors lumbung::ErrorCode (engine/include/lumbung/error.h). The numbers are ABI. */
enum {
  LB_OK = 0,
  LB_ERR_INVALID_ARGUMENT = 1,  /* a NULL or malformed argument (e.g. JSON that is not an object) */
  LB_ERR_VALIDATION_FAILED = 2, /* a record or patch breaks a schema rule; err->field names it */
  LB_ERR_UNKNOWN_FIELD = 3,     /* a field the schema does not declare */
  LB_ERR_UNKNOWN_COLLECTION = 4, /* a collection the schema does not declare */
  LB_ERR_NOT_FOUND = 5,          /* the record to patch or delete does not exist (or is deleted) */
  LB_ERR_ALREADY_EXISTS = 6,     /* e.g. registering a device id the server already knows */
  LB_ERR_STATUS_REGRESSION = 7,  /* a forward-only field asked to move backwards */
  LB_ERR_SCHEMA_INVALID = 8,     /* the schema file is malformed or unreadable */
  LB_ERR_SCHEMA_MISMATCH = 9,    /* the store file belongs to another schema or device */
  LB_ERR_STORAGE = 10,           /* SQLite failed (disk full, I/O, cannot open the file) */
  LB_ERR_CORRUPT = 11,           /* stored data cannot be decoded */
  LB_ERR_MALFORMED_JSON = 12,    /* a JSON argument is not JSON */
  LB_ERR_PROTOCOL = 13,          /* the server answered something that breaks the protocol */
  LB_ERR_UNAUTHORIZED = 14,      /* missing, wrong or revoked token; unknown enrolment code */
  LB_ERR_FORBIDDEN = 15,         /* used or expired enrolment code; call not allowed */
  LB_ERR_OUT_OF_SCOPE = 16,      /* a record outside the device's registered regions */
  LB_ERR_BODY_TOO_LARGE = 17,
  LB_ERR_BATCH_TOO_LARGE = 18,
  LB_ERR_JSON_TOO_DEEP = 19,
  LB_ERR_SEQ_GAP = 20,
  LB_ERR_METHOD_NOT_ALLOWED = 21,
  LB_ERR_WRONG_PASSPHRASE = 22, /* the passphrase does not open this store */
  LB_ERR_RATE_LIMITED = 23,     /* the server asked us to slow down (retries exhausted) */
  LB_ERR_TRANSPORT = 24,        /* the link failed (refused, timeout, cut) after retries */
  LB_ERR_CANCELLED = 25,        /* the caller cancelled (lb_sync_cancel / the callback) */
  LB_ERR_INTERNAL = 26,         /* a bug or out of memory; the message says which */
  LB_ERR_TLS_REFUSED = 27       /* (API 2) this device refused the server's certificate or
                                   key: not trusted, or not the pinned key. Waiting will not
                                   fix it: the app's trust settings or the network are wrong.
                                   (Before API 2 this was LB_ERR_TRANSPORT.) */
};

typedef struct lb_error {
  int code;          /* LB_OK or an LB_ERR_* code */
  char field[128];   /* the field at fault (validation errors), else "" */
  char message[512]; /* human-readable, UTF-8, NUL-terminated; "" when code == LB_OK */
} lb_error;

/* The stable snake_case name of a code, as the server's problem+json uses it
 * ("validation_failed", "wrong_passphrase", ...); "ok" for LB_OK; "unknown" for a number
 * not listed above.
 * Static string: do not free. Thread-safe. */
LB_EXPORT const char* lb_error_name(int code);

/* The library version, e.g. "0.1.0". Static string: do not free. Thread-safe. */
LB_EXPORT const char* lb_version(void);

/* Releases a buffer returned by any lb_* function. NULL is allowed (no-op). Thread-safe. */
LB_EXPORT void lb_free(void* buffer);

/* ---- Store ----------------------------------------------------------------------- */

typedef struct lb_store lb_store;

/* Opens the store at `path` (an SQLite file, created if missing) with the schema document
 * at `schema_path`. `device_id` (1-64 of A-Z a-z 0-9 . _ -) is required when the file is
 * new and must match afterwards. `passphrase` may be NULL or "" for an unencrypted store;
 * a store created with a passphrase keeps personal fields encrypted at rest and must be
 * opened with the same passphrase. The app should take the passphrase from the officer
 * (or the platform keystore) each time and never write it anywhere.
 * Returns a new handle (close with lb_store_close), or NULL with err set:
 * LB_ERR_SCHEMA_INVALID (schema unreadable or malformed), LB_ERR_SCHEMA_MISMATCH (another
 * device's or schema's file), LB_ERR_WRONG_PASSPHRASE, LB_ERR_STORAGE, LB_ERR_INVALID_ARGUMENT.
 * Thread-safe (distinct paths; do not open one file twice at once). */
LB_EXPORT lb_store* lb_store_open(const char* path, const char* schema_path, const char* device_id,
                                  const char* passphrase, lb_error* err);

/* Releases the handle. The database closes when the last lb_sync made from it has been
 * freed too (an lb_sync keeps its store alive). NULL is allowed. Must not race with other
 * calls on the same handle. */
LB_EXPORT void lb_store_close(lb_store* store);

/* Creates a record from a JSON object of fields (validated and normalised first; the
 * write and its change-log entry commit together). Returns the new record id (a UUIDv7;
 * free with lb_free), or NULL with err set: LB_ERR_VALIDATION_FAILED (the first issue;
 * use lb_store_validate for all), LB_ERR_UNKNOWN_FIELD, LB_ERR_UNKNOWN_COLLECTION,
 * LB_ERR_MALFORMED_JSON, LB_ERR_INVALID_ARGUMENT (not an object), LB_ERR_STORAGE.
 * Nothing is written on failure. Thread-safe. */
LB_EXPORT char* lb_store_put(lb_store* store, const char* collection, const char* json_fields,
                             lb_error* err);

/* Field-level update: only the members of the JSON object `json_patch` are written; a
 * null member clears that field. Returns LB_OK, or LB_ERR_NOT_FOUND (absent or deleted),
 * LB_ERR_VALIDATION_FAILED, LB_ERR_UNKNOWN_FIELD, LB_ERR_STATUS_REGRESSION,
 * LB_ERR_MALFORMED_JSON, LB_ERR_INVALID_ARGUMENT, LB_ERR_STORAGE. Nothing is written on
 * failure. Thread-safe. */
LB_EXPORT int lb_store_patch(lb_store* store, const char* collection, const char* id,
                             const char* json_patch, lb_error* err);

/* Deletes (tombstones) a record; the delete syncs like any write. Returns LB_OK, or
 * LB_ERR_NOT_FOUND (absent or already deleted), LB_ERR_UNKNOWN_COLLECTION, LB_ERR_STORAGE.
 * Thread-safe. */
LB_EXPORT int lb_store_delete(lb_store* store, const char* collection, const char* id,
                              lb_error* err);

/* The live record as JSON (see JSON above; free with lb_free). Returns NULL with
 * err->code == LB_OK when there is no such live record (an expected miss, not an error),
 * or NULL with an error code (LB_ERR_UNKNOWN_COLLECTION, LB_ERR_STORAGE, ...).
 * Thread-safe. */
LB_EXPORT char* lb_store_get(lb_store* store, const char* collection, const char* id,
                             lb_error* err);

/* One page of live records in id order:
 *   {"records": [record, ...], "next": "<id>" | null}
 * `scope_prefix` filters by the collection's scope field (a region-code prefix such as
 * "74.02", dots optional); NULL or "" = all. `after_id` continues after that id: pass the
 * previous page's "next"; NULL or "" = from the start. `limit` 0 = the engine default
 * (100); larger values are capped (10000). "next" is null on the last page.
 * Returns a new buffer (lb_free) or NULL with err set. Thread-safe. */
LB_EXPORT char* lb_store_query(lb_store* store, const char* collection, const char* scope_prefix,
                               const char* after_id, size_t limit, lb_error* err);

/* Live records whose natural key (e.g. NIK) equals `key` (normalised first):
 *   {"records": [record, ...]}
 * More than one means the same person was enrolled twice. Returns a new buffer (lb_free)
 * or NULL with err set. Thread-safe. */
LB_EXPORT char* lb_store_find_by_key(lb_store* store, const char* collection, const char* key,
                                     lb_error* err);

/* Reason codes (LB_API_VERSION 3). "reason" in an issue is one of: required, wrong_type,
 * out_of_range, too_long, not_in_enum, duplicate_value, invalid_date, invalid_timestamp,
 * invalid_phone, invalid_region_code, invalid_nik, nik_birth_date_mismatch,
 * nik_gender_mismatch, control_character, invalid_utf8, unknown_field, too_large,
 * not_allowed (attachment values); or, for a refusal that is not about a value, the
 * lb_error_name of the error (status_regression, not_found, unknown_collection,
 * malformed_json, invalid_argument, storage, ...). Codes are only added, never renamed;
 * an app should show message_id / message_en for a code it does not know.
 * docs/EMBEDDING.md "Reason codes" lists what each means. */

/* lb_store_put that also explains a refusal: when `issues_json` is not NULL and the put
 * fails, *issues_json receives a new buffer (lb_free) {"valid": false, "issues": [...]}
 * in the form of lb_store_validate: every issue of the record (at least one; a failure
 * that is not about the values is one issue whose reason is lb_error_name(code)); on
 * success *issues_json is NULL. Otherwise exactly lb_store_put. Thread-safe. */
LB_EXPORT char* lb_store_put_ex(lb_store* store, const char* collection, const char* json_fields,
                                char** issues_json, lb_error* err);

/* lb_store_patch that also explains a refusal, as lb_store_put_ex: the issues are those of
 * the record as the patch would leave it (e.g. {"field": "status", "reason":
 * "status_regression"} or {"reason": "not_found"}). Thread-safe. */
LB_EXPORT int lb_store_patch_ex(lb_store* store, const char* collection, const char* id,
                                const char* json_patch, char** issues_json, lb_error* err);

/* Checks a whole record without writing:
 *   {"valid": true|false, "issues": [{"field", "label", "reason", "message", "message_en",
 *                                     "message_id"}]}
 * every issue (for forms): "field" the field's name ("heirs[0].nik" inside a list),
 * "label" its label from the schema ("" if unknown), "reason" a stable machine-readable code
 * (see "Reason codes" below), "message_en" the engine's English words naming the value
 * ("message" is the same text, kept from API 1), "message_id" an Indonesian sentence for
 * the reason. (API 3 added label, message_en and message_id.) Returns a new buffer
 * (lb_free) or NULL with err set (LB_ERR_UNKNOWN_COLLECTION, LB_ERR_MALFORMED_JSON,
 * LB_ERR_INVALID_ARGUMENT). An invalid record is not an error. Thread-safe. */
LB_EXPORT char* lb_store_validate(lb_store* store, const char* collection, const char* json_fields,
                                  lb_error* err);

/* The outbox: up to `limit` (0 = 100) change-log entries not yet acknowledged by the
 * server, oldest first, in the wire encoding of docs/PROTOCOL.md:
 *   {"changes": [{"seq": 1, "collection": "...", "id": "...", "delete": false,
 *                 "op": {...}}], "total": <all pending>}
 * Returns a new buffer (lb_free) or NULL with err set. Thread-safe. */
LB_EXPORT char* lb_store_pending(lb_store* store, size_t limit, lb_error* err);

/* Conflicts this replica knows of, newest first (resolved ones too if
 * `include_resolved` is non-zero):
 *   {"conflicts": [{"id", "kind": "concurrent_update"|"update_delete"|"needs_review"|
 *                   "duplicate_key", "collection", "record_id", "field",
 *                   "winner": {"value", "version"}, "loser": {"value", "version"},
 *                   "other_record"}]}
 * Returns a new buffer (lb_free) or NULL with err set. Thread-safe. */
LB_EXPORT char* lb_store_conflicts(lb_store* store, int include_resolved, lb_error* err);

/* Changes of this device that the server acknowledged but refused (outside the device's
 * regions, not a valid record, ...): they are kept in the server's refused queue for the
 * central office, and never hold up the device's other changes. Newest first:
 *   {"refused": [{"seq", "collection", "record_id", "code": "out_of_scope"|
 *                 "validation_failed"|"unknown_field"|"unknown_collection", "field",
 *                 "message", "message_id", "values", "at_ms"}]}
 * ("message" is the server's words; "message_id", API 3, an Indonesian sentence for the
 * code, as in the issues of lb_store_validate; "values": what the change wrote, as typed,
 * null for a delete - the record itself holds the server's values again, not these)
 * Returns a new buffer (lb_free) or NULL with err set. Thread-safe. */
LB_EXPORT char* lb_store_refused(lb_store* store, lb_error* err);

/* What an officer sees before syncing:
 *   {"device_id", "schema", "schema_version", "encrypted": true|false, "registered":
 *    true|false (a device token is kept in the store), "records", "deleted",
 *    "pending_changes", "open_conflicts", "refused_changes",
 *    "oldest_pending_ms": <ms since epoch>|null,
 *    "last_sync_ms": <ms since epoch>|null}
 * Returns a new buffer (lb_free) or NULL with err set. Thread-safe. */
LB_EXPORT char* lb_store_status(lb_store* store, lb_error* err);

/* Re-wraps the store's data key under `new_passphrase` (the data is not re-encrypted, so
 * this is quick). Returns LB_OK, or LB_ERR_WRONG_PASSPHRASE (`old_passphrase` is wrong),
 * LB_ERR_INVALID_ARGUMENT (the store is not encrypted, or the new passphrase is empty),
 * LB_ERR_STORAGE. Thread-safe; other handles open on the same file keep working. */
LB_EXPORT int lb_store_change_passphrase(lb_store* store, const char* old_passphrase,
                                         const char* new_passphrase, lb_error* err);

/* ---- Sync ------------------------------------------------------------------------ */

typedef struct lb_sync lb_sync;

/* LB_PHASE_DONE: the records are synced. (API 3) LB_PHASE_ATTACHMENTS comes after it when
 * attachments are sent (see the attachment_* members). */
enum { LB_PHASE_PUSH = 0, LB_PHASE_PULL = 1, LB_PHASE_DONE = 2, LB_PHASE_ATTACHMENTS = 3 };

/* (API 3) What the link is doing at the moment of a progress call. */
enum {
  LB_STAGE_IDLE = 0,       /* between requests */
  LB_STAGE_CONNECTING = 1, /* until the first body byte is out (a handshake is in there) */
  LB_STAGE_SENDING = 2,    /* request_sent of request_size body bytes are out */
  LB_STAGE_WAITING = 3,    /* for the server's first answer byte */
  LB_STAGE_RECEIVING = 4,  /* request_received answer bytes are in */
  LB_STAGE_RETRY_WAIT = 5  /* a request failed (last_error); the next attempt in retry_in_ms */
};

/* Handed to the progress callback; valid only during the call. Only grows at the end: the
 * members after `retries` exist from LB_API_VERSION 3 (lb_api_version() >= 3). */
typedef struct lb_progress {
  int phase; /* LB_PHASE_* */
  uint64_t ops_pushed;
  uint64_t ops_to_push; /* pending when the sync began */
  uint64_t ops_pulled;
  uint64_t bytes_up; /* on the wire, headers included */
  uint64_t bytes_down;
  unsigned retries; /* every attempt after a failed one, in this run */
  /* (API 3) the request under way, and its retries */
  int stage;                 /* LB_STAGE_* */
  unsigned attempt;          /* of the current request: 1, then 2 after a failure, ... */
  unsigned max_attempts;     /* ... up to this (then LB_ERR_TRANSPORT) */
  int64_t retry_in_ms;       /* LB_STAGE_RETRY_WAIT: time left before the next attempt */
  const char* last_error;    /* why the last attempt failed, "" after a success */
  uint64_t request_sent;     /* body bytes of the current request sent so far */
  uint64_t request_size;     /* body bytes of the current request */
  uint64_t request_received; /* answer body bytes received so far */
  /* (API 3) LB_PHASE_ATTACHMENTS: attachment_index of attachment_count (1-based) is on its
   * way; the server confirmed attachment_sent of its attachment_size bytes */
  unsigned attachment_index;
  unsigned attachment_count;
  uint64_t attachment_sent;
  uint64_t attachment_size;
} lb_progress;

/* Called on the thread that called lb_sync_run (never another one): after every push
 * batch and pull page, at least every 500 ms while a request or a wait between retries
 * lasts (stage, attempt, retry_in_ms count down), and after every attachment chunk the
 * server confirmed (phase LB_PHASE_ATTACHMENTS). Return 0 to go on, non-zero to cancel
 * (the sync stops at the next request boundary with LB_ERR_CANCELLED). It must not call
 * lb_sync_register, lb_sync_run, lb_sync_on_changed, lb_attachment_open with this handle,
 * or lb_sync_free on the same handle (it would deadlock); lb_sync_cancel and lb_store_*
 * calls are fine. It must return normally (no longjmp, no exception). To update a UI,
 * post to the UI thread from here. */
typedef int (*lb_progress_fn)(const lb_progress* progress, void* user);

/* A sync client for `store` against the server at `server_url` ("http://host:port" or
 * "https://..."). `token` is the device token; NULL or "" means the one lb_sync_register
 * kept in the store (none before registration). No network traffic happens here. The
 * handle keeps the store alive.
 * Returns a new handle (lb_sync_free) or NULL with err set (LB_ERR_INVALID_ARGUMENT for
 * a URL that is not http(s)). Thread-safe. */
LB_EXPORT lb_sync* lb_sync_new(lb_store* store, const char* server_url, const char* token,
                               lb_error* err);

/* Registers this device (the store's device id) with a one-time enrolment code from the
 * central office. The device token is used by later runs of this handle and kept in the
 * store as a secret (sealed under the passphrase when the store is encrypted), so later
 * lb_sync_new calls may pass a NULL token. Returns the token too (free with lb_free; the
 * server shows it only once — an app that keeps it elsewhere, e.g. in the platform
 * keystore, passes it to lb_sync_new), or NULL with err set:
 * LB_ERR_UNAUTHORIZED (unknown code), LB_ERR_FORBIDDEN (used or expired code),
 * LB_ERR_ALREADY_EXISTS (device id taken), LB_ERR_TRANSPORT. Blocks on the network: call
 * off the UI thread. Serialised with other calls on the same handle. */
LB_EXPORT char* lb_sync_register(lb_sync* sync, const char* code, const char* label, lb_error* err);

/* Pushes the change log, then pulls until the server has no more. Link failures are
 * retried with backoff; what was committed stays committed whatever happens, and the
 * next run resumes. Blocks on the network: call from a background thread.
 * `progress` may be NULL; `user` is passed to it as is. If `report_json` is not NULL,
 * on success *report_json receives a new buffer (lb_free)
 *   {"pushed", "pulled", "applied", "conflicts", "restamped", "refused", "bytes_up", "bytes_down",
 *    "requests", "retries", "seconds", "attachments": {"sent", "already", "failed", "bytes",
    "bytes_up", "requests", "errors": [{"sha256", "error"}]}}
 * ("attachments" only when the schema has attachment fields: they are sent after the
 * records; a failed one is counted and named there and does not fail the run)
 * and on failure NULL. Returns LB_OK, or LB_ERR_CANCELLED, LB_ERR_TRANSPORT (link down
 * after all retries), LB_ERR_TLS_REFUSED (certificate or key refused, at once: see
 * lb_sync_new_with_options), LB_ERR_UNAUTHORIZED (token wrong or revoked), LB_ERR_FORBIDDEN,
 * LB_ERR_OUT_OF_SCOPE, LB_ERR_VALIDATION_FAILED (server refused a record), LB_ERR_STORAGE.
 * Serialised with other calls on the same handle. */
LB_EXPORT int lb_sync_run(lb_sync* sync, lb_progress_fn progress, void* user, char** report_json,
                          lb_error* err);

/* Asks the run in progress on this handle (or, API 3, the attachment fetch of an
 * lb_attachment_open through it) to stop at its next request boundary (also cuts a
 * backoff wait short); that call returns LB_ERR_CANCELLED. A no-op when no run is
 * in progress (it does not cancel a later run). Callable from any thread, e.g. the UI
 * thread's "Cancel" button. NULL is allowed. */
LB_EXPORT void lb_sync_cancel(lb_sync* sync);

/* Releases the handle (and its reference to the store). NULL is allowed. Must not race
 * with other calls on the same handle: cancel and join the syncing thread first. */
LB_EXPORT void lb_sync_free(lb_sync* sync);

/* ---- Sync with options (LB_API_VERSION 2) ----------------------------------------- */

/* How an lb_sync reaches the office's server. Zero-initialise it, set `struct_size` to
 * sizeof(lb_sync_options) (so that the struct may grow at the end in later versions), and
 * fill what differs from the defaults. Strings are copied by lb_sync_new_with_options.
 * Only grows at the end: the members from `first_pull` on exist from LB_API_VERSION 4. A
 * caller built with an older header passes its smaller struct_size (at least
 * offsetof(lb_sync_options, first_pull), the API 2-3 size) and gets the defaults for the
 * members it does not know. */
typedef struct lb_sync_options {
  size_t struct_size;     /* sizeof(lb_sync_options), required */
  const char* ca_file;    /* PEM file of certificates to trust instead of the system's
                             store (the office's own certificate); NULL = system store */
  const char* ca_pem;     /* the same as PEM text (e.g. an app asset); NULL = none. Not
                             together with ca_file */
  const char* pin_sha256; /* SHA-256 of the server's public key, 64 hex digits (colons
                             allowed), as lumbung-server prints it ("tls pin sha256") and
                             lumbung-admin's setup code carries it; the server must present
                             exactly that key. https only. NULL = no pin */
  int timeout_ms;         /* per request; 0 = 60000 (a 2G link moves ~10 KB/s) */
  unsigned max_attempts;  /* consecutive link failures before lb_sync_run gives up with
                             LB_ERR_TRANSPORT; 0 = 8; 1 = no retry */
  int initial_backoff_ms; /* wait after the first failure, doubled after each; 0 = 500 */
  int max_backoff_ms;     /* longest wait between attempts; 0 = 30000 */
  /* (API 4) */
  int first_pull;       /* a device with no pull cursor yet (a new laptop): LB_FIRST_PULL_*;
                           0 = LB_FIRST_PULL_AUTO */
  int changeset_format; /* LB_CHANGESET_*; 0 = LB_CHANGESET_V2_OR_V1 */
} lb_sync_options;

/* (API 4) lb_sync_options.first_pull. SNAPSHOT: the first pull takes the current records of
 * the device's regions, then follows the log from there (docs/PROTOCOL.md "Bootstrap from a
 * snapshot"): its cost follows the regions, not the server's history. REPLAY: every op of
 * the log since its start that concerns the regions (a server without snapshots replays
 * either way). AUTO, the default: the server chooses - the snapshot where its log is long
 * against the device's records, the replay (cheaper there) where the log is little more
 * than their creations (docs/PROTOCOL.md "Letting the server choose"). */
enum { LB_FIRST_PULL_AUTO = 0, LB_FIRST_PULL_REPLAY = 1, LB_FIRST_PULL_SNAPSHOT = 2 };

/* (API 4) lb_sync_options.changeset_format (docs/PROTOCOL.md "Change-set format v2").
 * V2_OR_V1: v2 where the server reads it (a push falls back to v1 for the rest of the run
 * when a server older than v2 refuses it); V1: v1 only; V2: v2 only, no fallback. */
enum { LB_CHANGESET_V2_OR_V1 = 0, LB_CHANGESET_V1 = 1, LB_CHANGESET_V2 = 2 };

/* lb_sync_new with the trust and retry settings of `options` (NULL = lb_sync_new). An app
 * reaching an office server with its own certificate passes ca_file or ca_pem, and the
 * pin. A certificate that does not verify, or a key that is not the pinned one, makes
 * lb_sync_register / lb_sync_run fail at once (no retries: waiting cannot fix it) with
 * LB_ERR_TLS_REFUSED and a message starting "TLS: certificate not trusted" or "TLS: pin
 * mismatch". No network traffic happens here.
 * Returns a new handle (lb_sync_free) or NULL with err set: LB_ERR_INVALID_ARGUMENT (URL
 * not http(s); struct_size smaller than offsetof(lb_sync_options, first_pull); a pin that
 * is not 64 hex digits or given for http://; an unreadable ca_file; ca_pem holding no
 * certificate; both ca_file and ca_pem; a negative number; first_pull or changeset_format
 * not one of its values), LB_ERR_STORAGE (ca_pem could not be written to its private file
 * under $TMPDIR, removed by lb_sync_free). Thread-safe. */
LB_EXPORT lb_sync* lb_sync_new_with_options(lb_store* store, const char* server_url,
                                            const char* token, const lb_sync_options* options,
                                            lb_error* err);

/* ---- Records changed (LB_API_VERSION 3) -------------------------------------------- */

/* Told which records a run's pull changed on this device:
 *   {"count": <records listed>, "truncated": true|false,
 *    "records": [{"collection": "enrolment", "id": "0193...", "deleted": true|false}]}
 * "deleted": the record is gone from this device (deleted elsewhere, or moved out of its
 * regions). "truncated": more changed than could be tracked (over 100000 records in one
 * run, or a page that could not be read): reload everything. `changes_json` is valid only
 * during the call (copy what you keep). Same rules as lb_progress_fn: it runs on the
 * thread that called lb_sync_run, must return normally, and must not call lb_sync_* on
 * the same handle except lb_sync_cancel; lb_store_* calls are fine. */
typedef void (*lb_changed_fn)(const char* changes_json, void* user);

/* Sets (or with `fn` NULL clears) the callback told, at the end of each later lb_sync_run
 * on this handle, which records that run's pull changed. It is called at most once per
 * run, after the pull and before lb_sync_run returns (also when the run then fails or is
 * cancelled: the pages applied until then stay applied), and only when at least one
 * record changed: a run that brings nothing new does not call it. A record counts as
 * changed when its stored state (field versions, deletion) after the run differs from
 * before its page was applied; pulled changes this device already had do not count. A
 * write from another thread to a pulled record during the run counts too. Costs one read
 * per pulled record at the end of the run, only while a callback is set. Returns LB_OK or
 * LB_ERR_INVALID_ARGUMENT. Waits for a run in progress on the handle. */
LB_EXPORT int lb_sync_on_changed(lb_sync* sync, lb_changed_fn fn, void* user, lb_error* err);

/* The LB_API_VERSION the library was built with (an app built with a newer header checks
 * it before reading newer lb_progress members). Thread-safe. */
LB_EXPORT int lb_api_version(void);

/* ---- Attachments (LB_API_VERSION 3) ---------------------------------------------- */

/* A field of type "attachment" (the photo of the KTP, the signed form) holds only a
 * reference {"sha256", "size", "mime", "name"}; the bytes are kept beside the store, in
 * "<store path>-attachments" (sealed like personal fields when the store has a
 * passphrase). lb_sync_run sends them after the records, in chunks, resuming where a cut
 * stopped; a failing attachment is reported (report "attachments") and never holds the
 * records back. Pulls never bring attachment bytes: lb_attachment_open fetches them on
 * demand. The same contract as the CLI's `lumbung attach` / `lumbung open`. */

/* Keeps `size` bytes as the attachment in field `field` of a live record, and writes the
 * reference into that field (an ordinary change that syncs). `mime` may be NULL or "":
 * the type is then read from the first bytes (JPEG, PNG, PDF), else from `name`'s
 * extension. `name` (the file's name to show) may be NULL. Returns the reference as JSON
 * (lb_free), or NULL with err set: LB_ERR_UNKNOWN_FIELD (not an attachment field; err->field
 * names it), LB_ERR_VALIDATION_FAILED (empty, larger than the field's max_size, or a type
 * it does not allow; err->field names the field, the message the limit),
 * LB_ERR_NOT_FOUND (no such live record), LB_ERR_UNKNOWN_COLLECTION, LB_ERR_STORAGE,
 * LB_ERR_INVALID_ARGUMENT. Nothing is kept on failure. Thread-safe. */
LB_EXPORT char* lb_attach(lb_store* store, const char* collection, const char* record_id,
                          const char* field, const void* bytes, size_t size, const char* mime,
                          const char* name, lb_error* err);

/* lb_attach with the bytes of the file at `path` (its base name becomes the name). A file
 * larger than the field's max_size is refused before it is read (LB_ERR_VALIDATION_FAILED);
 * a path that is not a readable regular file is LB_ERR_INVALID_ARGUMENT. Thread-safe. */
LB_EXPORT char* lb_attach_file(lb_store* store, const char* collection, const char* record_id,
                               const char* field, const char* path, const char* mime,
                               lb_error* err);

/* The bytes of the attachment in field `field` of a live record: *bytes receives a new
 * buffer (lb_free) and *size its length. From this device if they are here (checked
 * against their sha256); otherwise, when `sync` is not NULL (a handle made from the same
 * store), fetched from the server and kept, so the next open is local. Returns LB_OK, or
 * LB_ERR_NOT_FOUND (no such record; the field holds no attachment; or the bytes are not on
 * this device and `sync` is NULL: err->field names the field), LB_ERR_UNKNOWN_FIELD,
 * LB_ERR_INVALID_ARGUMENT (NULL bytes/size, or `sync` of another store), and with a fetch
 * the errors of lb_sync_run (LB_ERR_TRANSPORT after the handle's retries, LB_ERR_FORBIDDEN /
 * LB_ERR_OUT_OF_SCOPE / LB_ERR_NOT_FOUND from the server, LB_ERR_TLS_REFUSED, ...). On
 * failure *bytes is NULL and *size 0. A fetch blocks on the network and is serialised with
 * the other calls on `sync`: call it off the UI thread; lb_sync_cancel(sync) stops it with
 * LB_ERR_CANCELLED (what arrived is kept: the next open goes on from there). Fetches through
 * one `sync` size their ranges from what the previous ones learned of the link.
 * Otherwise thread-safe. */
LB_EXPORT int lb_attachment_open(lb_store* store, lb_sync* sync, const char* collection,
                                 const char* record_id, const char* field, void** bytes,
                                 size_t* size, lb_error* err);

/* Where the attachment in field `field` of a live record stands:
 *   {"field", "sha256", "size", "mime", "name", "local": true|false,
 *    "state": "waiting" (here, nothing confirmed by the server) | "sending" (the server
 *             holds "sent" bytes of it) | "on_server" (whole and verified there) |
 *             "failed" (the server refused it: "error" says why; tried again at the next
 *             sync) | "remote" (the record came from another device: the bytes are on
 *             the server only; lb_attachment_open with a sync handle fetches them),
 *    "sent": <bytes the server confirmed>, "error": "..." | "",
 *    "error_code": the refusal's stable code, e.g. "quota_exceeded" (the server's space for
 *                  this device's attachments is full: ask the office to raise it) | ""}
 * Returns a new buffer (lb_free); NULL with err->code == LB_OK when the field holds no
 * attachment (an expected miss); NULL with err set for LB_ERR_NOT_FOUND (no such record),
 * LB_ERR_UNKNOWN_FIELD, LB_ERR_UNKNOWN_COLLECTION, LB_ERR_STORAGE. Thread-safe. */
LB_EXPORT char* lb_attachment_state(lb_store* store, const char* collection, const char* record_id,
                                    const char* field, lb_error* err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LUMBUNG_LUMBUNG_H_ */

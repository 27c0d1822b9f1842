"""Lumbung for Python: a ctypes wrapper over liblumbung.so (engine/include/lumbung/lumbung.h).

Standard library only. Records go in as dicts and come back as dicts; every failure is a
LumbungError carrying the C API's code, its stable name and the message.

    lib = lumbung.Library("/path/to/liblumbung.so")
    with lib.open_store("desa.db", "enrolment.schema.json", "laptop-1", passphrase) as store:
        rid = store.put("enrolment", {...})
        store.get("enrolment", rid)
        with store.sync_client("https://lumbung.example.id") as sync:
            sync.register(code, "Laptop Lambuya 1")     # once; the token is kept in the store
            report = sync.run(on_progress=lambda p: print(p.ops_pushed))

Threads: a Store may be used from several threads; sync.run() blocks (the GIL is released
while it runs), so call it from a worker thread and sync.cancel() from any other. The
progress and records-changed callbacks run on the thread that called sync.run().
Functions the loaded library lacks (an older liblumbung) raise AttributeError when used;
Library.api_version() says which LB_API_VERSION it has.
"""

import ctypes
import json
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_int64,
                    c_size_t, c_uint, c_uint64, c_void_p)

# Error codes of lumbung.h (ABI: the numbers never change).
OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_VALIDATION_FAILED = 2
ERR_UNKNOWN_FIELD = 3
ERR_UNKNOWN_COLLECTION = 4
ERR_NOT_FOUND = 5
ERR_ALREADY_EXISTS = 6
ERR_STATUS_REGRESSION = 7
ERR_SCHEMA_INVALID = 8
ERR_SCHEMA_MISMATCH = 9
ERR_STORAGE = 10
ERR_CORRUPT = 11
ERR_MALFORMED_JSON = 12
ERR_PROTOCOL = 13
ERR_UNAUTHORIZED = 14
ERR_FORBIDDEN = 15
ERR_OUT_OF_SCOPE = 16
ERR_BODY_TOO_LARGE = 17
ERR_BATCH_TOO_LARGE = 18
ERR_JSON_TOO_DEEP = 19
ERR_SEQ_GAP = 20
ERR_METHOD_NOT_ALLOWED = 21
ERR_WRONG_PASSPHRASE = 22
ERR_RATE_LIMITED = 23
ERR_TRANSPORT = 24
ERR_CANCELLED = 25
ERR_INTERNAL = 26
ERR_TLS_REFUSED = 27  # API 2

PHASE_PUSH, PHASE_PULL, PHASE_DONE, PHASE_ATTACHMENTS = 0, 1, 2, 3
# API 3: what the link is doing at a progress call (Progress.stage).
(STAGE_IDLE, STAGE_CONNECTING, STAGE_SENDING, STAGE_WAITING, STAGE_RECEIVING,
 STAGE_RETRY_WAIT) = range(6)


class _Error(Structure):
    _fields_ = [("code", c_int), ("field", c_char * 128), ("message", c_char * 512)]


class Progress(Structure):
    """lb_progress: valid only during the callback (copy what you keep).

    Member for member as lumbung.h declares it (ctypes pads like the C compiler: 128 bytes
    on x86-64). The members after `retries` exist only when api_version() >= 3;
    last_error is bytes (UTF-8), b"" after a success."""
    _fields_ = [("phase", c_int), ("ops_pushed", c_uint64), ("ops_to_push", c_uint64),
                ("ops_pulled", c_uint64), ("bytes_up", c_uint64), ("bytes_down", c_uint64),
                ("retries", c_uint),
                # API 3: the request under way, and its retries
                ("stage", c_int), ("attempt", c_uint), ("max_attempts", c_uint),
                ("retry_in_ms", c_int64), ("last_error", c_char_p),
                ("request_sent", c_uint64), ("request_size", c_uint64),
                ("request_received", c_uint64),
                # API 3: PHASE_ATTACHMENTS
                ("attachment_index", c_uint), ("attachment_count", c_uint),
                ("attachment_sent", c_uint64), ("attachment_size", c_uint64)]


class _SyncOptions(Structure):
    """lb_sync_options (API 2); struct_size must be set to its size."""
    _fields_ = [("struct_size", c_size_t), ("ca_file", c_char_p), ("ca_pem", c_char_p),
                ("pin_sha256", c_char_p), ("timeout_ms", c_int), ("max_attempts", c_uint),
                ("initial_backoff_ms", c_int), ("max_backoff_ms", c_int)]


_PROGRESS_FN = CFUNCTYPE(c_int, POINTER(Progress), c_void_p)
_CHANGED_FN = CFUNCTYPE(None, c_char_p, c_void_p)


class LumbungError(Exception):
    """A failed call. `issues` (put_ex / patch_ex only, else []) lists every problem of a
    refused record: dicts with field, label, reason, message_en, message_id."""

    def __init__(self, code, name, message, field="", issues=None):
        super().__init__(f"{name}: {message}")
        self.code, self.name, self.message, self.field = code, name, message, field
        self.issues = issues or []


def _enc(s):
    return None if s is None else s.encode("utf-8")


class Library:
    """The loaded liblumbung.so with its signatures declared."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        err = POINTER(_Error)
        # Returned buffers are c_void_p (not c_char_p) so that we can lb_free them.
        sig = {
            "lb_version": (c_char_p, []),
            "lb_error_name": (c_char_p, [c_int]),
            "lb_free": (None, [c_void_p]),
            "lb_store_open": (c_void_p, [c_char_p, c_char_p, c_char_p, c_char_p, err]),
            "lb_store_close": (None, [c_void_p]),
            "lb_store_put": (c_void_p, [c_void_p, c_char_p, c_char_p, err]),
            "lb_store_patch": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, err]),
            "lb_store_delete": (c_int, [c_void_p, c_char_p, c_char_p, err]),
            "lb_store_get": (c_void_p, [c_void_p, c_char_p, c_char_p, err]),
            "lb_store_query": (c_void_p, [c_void_p, c_char_p, c_char_p, c_char_p, c_size_t, err]),
            "lb_store_find_by_key": (c_void_p, [c_void_p, c_char_p, c_char_p, err]),
            "lb_store_validate": (c_void_p, [c_void_p, c_char_p, c_char_p, err]),
            "lb_store_pending": (c_void_p, [c_void_p, c_size_t, err]),
            "lb_store_conflicts": (c_void_p, [c_void_p, c_int, err]),
            "lb_store_status": (c_void_p, [c_void_p, err]),
            "lb_store_change_passphrase": (c_int, [c_void_p, c_char_p, c_char_p, err]),
            "lb_sync_new": (c_void_p, [c_void_p, c_char_p, c_char_p, err]),
            "lb_sync_register": (c_void_p, [c_void_p, c_char_p, c_char_p, err]),
            "lb_sync_run": (c_int, [c_void_p, _PROGRESS_FN, c_void_p, POINTER(c_void_p), err]),
            "lb_sync_cancel": (None, [c_void_p]),
            "lb_sync_free": (None, [c_void_p]),
            # API 2
            "lb_sync_new_with_options": (c_void_p, [c_void_p, c_char_p, c_char_p,
                                                    POINTER(_SyncOptions), err]),
            # API 3
            "lb_api_version": (c_int, []),
            "lb_store_put_ex": (c_void_p, [c_void_p, c_char_p, c_char_p, POINTER(c_void_p), err]),
            "lb_store_patch_ex": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                          POINTER(c_void_p), err]),
            "lb_store_refused": (c_void_p, [c_void_p, err]),
            "lb_sync_on_changed": (c_int, [c_void_p, _CHANGED_FN, c_void_p, err]),
            "lb_attach": (c_void_p, [c_void_p, c_char_p, c_char_p, c_char_p, c_char_p, c_size_t,
                                     c_char_p, c_char_p, err]),
            "lb_attach_file": (c_void_p, [c_void_p, c_char_p, c_char_p, c_char_p, c_char_p,
                                          c_char_p, err]),
            "lb_attachment_open": (c_int, [c_void_p, c_void_p, c_char_p, c_char_p, c_char_p,
                                           POINTER(c_void_p), POINTER(c_size_t), err]),
            "lb_attachment_state": (c_void_p, [c_void_p, c_char_p, c_char_p, c_char_p, err]),
        }
        for name, (res, args) in sig.items():
            if not hasattr(lib, name):  # an older library: using it raises AttributeError
                continue
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.c = lib

    def version(self):
        return self.c.lb_version().decode()

    def api_version(self):
        """The library's LB_API_VERSION (1 for a library from before lb_api_version)."""
        return self.c.lb_api_version() if hasattr(self.c, "lb_api_version") else 1

    def error_name(self, code):
        return self.c.lb_error_name(code).decode()

    def open_store(self, path, schema_path, device_id, passphrase=None):
        return Store(self, path, schema_path, device_id, passphrase)

    # -- helpers shared by Store and Sync ----------------------------------------------
    def _raise(self, err):
        raise LumbungError(err.code, self.error_name(err.code),
                           err.message.decode("utf-8", "replace"),
                           err.field.decode("utf-8", "replace"))

    def _text(self, ptr, err, allow_none=False):
        """Takes ownership of a returned buffer: copies it out and lb_frees it."""
        if not ptr:
            if err.code != OK:
                self._raise(err)
            if allow_none:
                return None
            raise LumbungError(ERR_INTERNAL, "internal_error", "NULL without an error")
        try:
            return ctypes.string_at(ptr).decode("utf-8")
        finally:
            self.c.lb_free(ptr)

    def _check(self, code, err):
        if code != OK:
            self._raise(err)

    def _check_issues(self, code, err, issues_ptr):
        """For put_ex / patch_ex: frees the issues buffer, raises with its issues on failure."""
        issues = []
        if issues_ptr.value:
            issues = json.loads(self._text(issues_ptr.value, err)).get("issues", [])
        if code != OK:
            raise LumbungError(code, self.error_name(code),
                               err.message.decode("utf-8", "replace"),
                               err.field.decode("utf-8", "replace"), issues)


class Store:
    """An lb_store. Safe to share between threads; close() when done (or use `with`)."""

    def __init__(self, lib, path, schema_path, device_id, passphrase=None):
        self._lib, self._c = lib, lib.c
        err = _Error()
        self._h = self._c.lb_store_open(_enc(path), _enc(schema_path), _enc(device_id),
                                        _enc(passphrase), ctypes.byref(err))
        if not self._h:
            lib._raise(err)

    def close(self):
        if self._h:
            self._c.lb_store_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _json(self, fn, *args, allow_none=False):
        err = _Error()
        text = self._lib._text(fn(self._h, *args, ctypes.byref(err)), err, allow_none)
        return None if text is None else json.loads(text)

    def put(self, collection, fields):
        """Creates a record; returns its new id."""
        err = _Error()
        ptr = self._c.lb_store_put(self._h, _enc(collection), _enc(json.dumps(fields)),
                                   ctypes.byref(err))
        return self._lib._text(ptr, err)

    def put_ex(self, collection, fields):
        """put() whose LumbungError also carries .issues: every problem of the record, each
        with a stable "reason" code and messages in English and Indonesian (for a form)."""
        err, issues = _Error(), c_void_p()
        ptr = self._c.lb_store_put_ex(self._h, _enc(collection), _enc(json.dumps(fields)),
                                      ctypes.byref(issues), ctypes.byref(err))
        if not ptr:
            self._lib._check_issues(err.code or ERR_INTERNAL, err, issues)
        self._lib.c.lb_free(issues.value)  # NULL on success; freed in case
        return self._lib._text(ptr, err)

    def patch_ex(self, collection, record_id, changes):
        """patch() whose LumbungError carries .issues (those of the record as patched)."""
        err, issues = _Error(), c_void_p()
        code = self._c.lb_store_patch_ex(self._h, _enc(collection), _enc(record_id),
                                         _enc(json.dumps(changes)), ctypes.byref(issues),
                                         ctypes.byref(err))
        self._lib._check_issues(code, err, issues)

    def patch(self, collection, record_id, changes):
        err = _Error()
        self._lib._check(self._c.lb_store_patch(self._h, _enc(collection), _enc(record_id),
                                                _enc(json.dumps(changes)), ctypes.byref(err)), err)

    def delete(self, collection, record_id):
        err = _Error()
        self._lib._check(self._c.lb_store_delete(self._h, _enc(collection), _enc(record_id),
                                                 ctypes.byref(err)), err)

    def get(self, collection, record_id):
        """The record as a dict, or None if there is no such live record."""
        return self._json(self._c.lb_store_get, _enc(collection), _enc(record_id), allow_none=True)

    def query(self, collection, scope=None, after=None, limit=0):
        """One page: (records, next_after or None)."""
        page = self._json(self._c.lb_store_query, _enc(collection), _enc(scope), _enc(after), limit)
        return page["records"], page["next"]

    def records(self, collection, scope=None, page_size=500):
        """Every live record (in scope), page by page."""
        after = None
        while True:
            recs, after = self.query(collection, scope, after, page_size)
            yield from recs
            if after is None:
                return

    def find_by_key(self, collection, key):
        return self._json(self._c.lb_store_find_by_key, _enc(collection), _enc(key))["records"]

    def validate(self, collection, fields):
        """Every issue of a would-be record (for forms): a list of dicts, empty if valid."""
        return self._json(self._c.lb_store_validate, _enc(collection),
                          _enc(json.dumps(fields)))["issues"]

    def pending(self, limit=0):
        return self._json(self._c.lb_store_pending, limit)

    def conflicts(self, include_resolved=False):
        return self._json(self._c.lb_store_conflicts, 1 if include_resolved else 0)["conflicts"]

    def status(self):
        return self._json(self._c.lb_store_status)

    def refused(self):
        """This device's changes the server acknowledged but refused, newest first."""
        return self._json(self._c.lb_store_refused)["refused"]

    # -- attachments (API 3) -------------------------------------------------------------
    def attach(self, collection, record_id, field, data, mime=None, name=None):
        """Keeps `data` (bytes) as the attachment in `field`; returns its reference dict
        {sha256, size, mime, name}. mime None: read from the first bytes, else the name."""
        err = _Error()
        data = bytes(data)
        ptr = self._c.lb_attach(self._h, _enc(collection), _enc(record_id), _enc(field), data,
                                len(data), _enc(mime), _enc(name), ctypes.byref(err))
        return json.loads(self._lib._text(ptr, err))

    def attach_file(self, collection, record_id, field, path, mime=None):
        """attach() with the bytes of the file at `path` (its base name becomes the name)."""
        return self._json(self._c.lb_attach_file, _enc(collection), _enc(record_id),
                          _enc(field), _enc(path), _enc(mime))

    def open_attachment(self, collection, record_id, field, sync=None):
        """The attachment's bytes: from this device, else fetched through `sync` (a Sync of
        this store; blocks on the network) and kept. Without `sync` and not here:
        LumbungError ERR_NOT_FOUND."""
        err, buf, size = _Error(), c_void_p(), c_size_t()
        code = self._c.lb_attachment_open(self._h, sync._h if sync else None, _enc(collection),
                                          _enc(record_id), _enc(field), ctypes.byref(buf),
                                          ctypes.byref(size), ctypes.byref(err))
        try:
            self._lib._check(code, err)
            return ctypes.string_at(buf.value, size.value) if size.value else b""
        finally:
            self._lib.c.lb_free(buf.value)

    def attachment_state(self, collection, record_id, field):
        """{field, sha256, size, mime, name, local, state, sent, error, error_code}, or None
        when the field holds no attachment."""
        return self._json(self._c.lb_attachment_state, _enc(collection), _enc(record_id),
                          _enc(field), allow_none=True)

    def change_passphrase(self, old, new):
        err = _Error()
        self._lib._check(self._c.lb_store_change_passphrase(self._h, _enc(old), _enc(new),
                                                            ctypes.byref(err)), err)

    def sync_client(self, server_url, token=None, **options):
        """A Sync. Keyword options (lb_sync_options; omitted = the default): ca_file, ca_pem,
        pin_sha256, timeout_ms, max_attempts, initial_backoff_ms, max_backoff_ms."""
        return Sync(self, server_url, token, **options)


class Sync:
    """An lb_sync. run() blocks: call it off the UI thread; cancel() from any thread."""

    def __init__(self, store, server_url, token=None, ca_file=None, ca_pem=None,
                 pin_sha256=None, timeout_ms=0, max_attempts=0, initial_backoff_ms=0,
                 max_backoff_ms=0):
        self._lib, self._c = store._lib, store._c
        self._changed_cb = None  # the ctypes callback object, alive while registered
        self._cb_raised = []
        err = _Error()
        if ca_file or ca_pem or pin_sha256 or timeout_ms or max_attempts or \
                initial_backoff_ms or max_backoff_ms:
            o = _SyncOptions(ctypes.sizeof(_SyncOptions), _enc(ca_file), _enc(ca_pem),
                             _enc(pin_sha256), timeout_ms, max_attempts, initial_backoff_ms,
                             max_backoff_ms)
            self._h = self._c.lb_sync_new_with_options(store._h, _enc(server_url), _enc(token),
                                                       ctypes.byref(o), ctypes.byref(err))
        else:
            self._h = self._c.lb_sync_new(store._h, _enc(server_url), _enc(token),
                                          ctypes.byref(err))
        if not self._h:
            self._lib._raise(err)

    def close(self):
        if self._h:
            self._c.lb_sync_free(self._h)
            self._h = None
            self._changed_cb = None  # the library no longer holds it

    def on_changed(self, fn):
        """fn(changes) after each later run whose pull changed records on this device:
        changes = {"count", "truncated", "records": [{"collection", "id", "deleted"}]}.
        It runs on the thread calling run(); an exception in it cancels the run and is
        raised by run(). None clears it."""
        def trampoline(text, _user):
            try:
                fn(json.loads(text.decode("utf-8")))
            except BaseException as e:  # never unwind into C
                self._cb_raised.append(e)
                self._c.lb_sync_cancel(self._h)
        cb = _CHANGED_FN(trampoline) if fn else _CHANGED_FN()
        err = _Error()
        self._lib._check(self._c.lb_sync_on_changed(self._h, cb, None, ctypes.byref(err)), err)
        self._changed_cb = cb if fn else None  # keep it from the garbage collector

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def register(self, code, label):
        """Registers the device with a one-time code; returns the token (also kept in the store)."""
        err = _Error()
        ptr = self._c.lb_sync_register(self._h, _enc(code), _enc(label), ctypes.byref(err))
        return self._lib._text(ptr, err)

    def run(self, on_progress=None):
        """Push then pull. on_progress(Progress) -> truthy to cancel. Returns the report dict."""
        raised = []

        def trampoline(p, _user):
            try:
                return 1 if on_progress(p.contents) else 0
            except BaseException as e:  # never unwind into C: cancel, re-raise below
                raised.append(e)
                return 1
        cb = _PROGRESS_FN(trampoline) if on_progress else _PROGRESS_FN()
        report = c_void_p()
        err = _Error()
        self._cb_raised = []
        code = self._c.lb_sync_run(self._h, cb, None, ctypes.byref(report), ctypes.byref(err))
        raised += self._cb_raised
        if raised:
            self._lib.c.lb_free(report.value)
            raise raised[0]
        self._lib._check(code, err)
        return json.loads(self._lib._text(report.value, err))

    def cancel(self):
        self._c.lb_sync_cancel(self._h)

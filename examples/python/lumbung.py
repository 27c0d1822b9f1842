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
while it runs), so call it from a worker thread and sync.cancel() from any other.
"""

import ctypes
import json
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_size_t,
                    c_uint, c_uint64, c_void_p)

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
ERR_WRONG_PASSPHRASE = 22
ERR_RATE_LIMITED = 23
ERR_TRANSPORT = 24
ERR_CANCELLED = 25
ERR_INTERNAL = 26

PHASE_PUSH, PHASE_PULL, PHASE_DONE = 0, 1, 2


class _Error(Structure):
    _fields_ = [("code", c_int), ("field", c_char * 128), ("message", c_char * 512)]


class Progress(Structure):
    """lb_progress: valid only during the callback (copy what you keep)."""
    _fields_ = [("phase", c_int), ("ops_pushed", c_uint64), ("ops_to_push", c_uint64),
                ("ops_pulled", c_uint64), ("bytes_up", c_uint64), ("bytes_down", c_uint64),
                ("retries", c_uint)]


_PROGRESS_FN = CFUNCTYPE(c_int, POINTER(Progress), c_void_p)


class LumbungError(Exception):
    def __init__(self, code, name, message, field=""):
        super().__init__(f"{name}: {message}")
        self.code, self.name, self.message, self.field = code, name, message, field


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
        }
        for name, (res, args) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.c = lib

    def version(self):
        return self.c.lb_version().decode()

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

    def change_passphrase(self, old, new):
        err = _Error()
        self._lib._check(self._c.lb_store_change_passphrase(self._h, _enc(old), _enc(new),
                                                            ctypes.byref(err)), err)

    def sync_client(self, server_url, token=None):
        return Sync(self, server_url, token)


class Sync:
    """An lb_sync. run() blocks: call it off the UI thread; cancel() from any thread."""

    def __init__(self, store, server_url, token=None):
        self._lib, self._c = store._lib, store._c
        err = _Error()
        self._h = self._c.lb_sync_new(store._h, _enc(server_url), _enc(token), ctypes.byref(err))
        if not self._h:
            self._lib._raise(err)

    def close(self):
        if self._h:
            self._c.lb_sync_free(self._h)
            self._h = None

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
        code = self._c.lb_sync_run(self._h, cb, None, ctypes.byref(report), ctypes.byref(err))
        if raised:
            self._lib.c.lb_free(report.value)
            raise raised[0]
        self._lib._check(code, err)
        return json.loads(self._lib._text(report.value, err))

    def cancel(self):
        self._c.lb_sync_cancel(self._h)

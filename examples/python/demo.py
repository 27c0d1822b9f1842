#!/usr/bin/env python3
"""How an app uses Lumbung through the C API: a field officer's laptop enrols people offline,
syncs on a background thread with a progress bar, and a second laptop receives the records.

Also: a refused form lists every problem with a reason code and Indonesian/English words
(put_ex / patch_ex), a KTP photo is attached and its state followed, the second laptop is
told which records a pull changed (on_changed) and opens the photo, and a link that is down
shows the retry countdown.

    python3 examples/python/demo.py --lib build/engine/liblumbung.so \\
        --server-bin build/server/lumbung-server

It starts its own lumbung-server on 127.0.0.1 (a free port) in a temp dir, as the tests
do; a real app would be given a server URL and an enrolment code by the central office.
Exits non-zero if anything does not behave as documented (CTest runs it).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
import lumbung  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WULAN = {"nik": "7402294809690329", "full_name": "Wulan Pratama", "birth_date": "1969-09-08",
         "gender": "P", "village_code": "74.02.29.2053", "position": "kasi pelayanan",
         "phone": "0822 2672 973", "programs": ["JKK", "JKM"], "monthly_income": 4900000,
         "status": "submitted", "created_at": "2025-01-06T12:34:25.839Z", "officer_id": "OFC-0143"}
JOKO = {"nik": "7402100607814908", "full_name": "Joko Simanjuntak", "birth_date": "1981-07-06",
        "gender": "L", "village_code": "7402101229", "position": "kaur perencanaan",
        "phone": "08210753712", "programs": ["JKK", "JKM"], "monthly_income": 5600000,
        "status": "submitted", "created_at": "2025-01-06T15:33:57.419Z", "officer_id": "OFC-0230"}


# A tiny stand-in for the photo of a KTP: the JPEG signature is what the type is read from.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"

PHASES = {lumbung.PHASE_PUSH: "push", lumbung.PHASE_PULL: "pull", lumbung.PHASE_DONE: "done",
          lumbung.PHASE_ATTACHMENTS: "attachments"}
STAGES = {lumbung.STAGE_IDLE: "idle", lumbung.STAGE_CONNECTING: "connecting",
          lumbung.STAGE_SENDING: "sending", lumbung.STAGE_WAITING: "waiting",
          lumbung.STAGE_RECEIVING: "receiving", lumbung.STAGE_RETRY_WAIT: "retry_wait"}


def expect(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"  ok: {what}")


def _die_with_parent():
    """Linux: the server gets SIGTERM if this script dies without running its cleanup."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Server:
    """lumbung-server on 127.0.0.1:0 in a temp dir, with the admin calls the office makes."""

    def __init__(self, binary, workdir):
        self.token_file = os.path.join(workdir, "admin-token")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--data", os.path.join(workdir, "data"),
             "--admin-token-file", self.token_file],
            stdout=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
        marker = "listening on http://127.0.0.1:"
        self.url = None
        for line in self.proc.stdout:  # ends at EOF if the server dies
            if line.startswith(marker):
                self.url = "http://127.0.0.1:" + line[len(marker):].strip()
                break
        if not self.url:
            raise SystemExit("lumbung-server did not start")
        # Keep draining its stdout so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        with open(self.token_file) as f:
            self.admin = f.read().strip()

    def enrolment_code(self, scope):
        req = urllib.request.Request(
            self.url + "/v1/admin/codes", method="POST",
            data=json.dumps({"scope": scope, "label": "demo"}).encode(),
            headers={"Authorization": "Bearer " + self.admin, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["code"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def sync_in_background(sync, expect_error=False):
    """What an app does: run the sync on a worker thread, update the UI from callbacks.
    Returns (report, progress seen, the worker's thread id), or with expect_error the
    LumbungError in place of the report."""
    result, seen = {}, []

    def on_progress(p):
        # p is valid only during this call: copy what the screen needs.
        seen.append({"phase": PHASES.get(p.phase, p.phase), "stage": STAGES.get(p.stage, p.stage),
                     "attempt": p.attempt, "max_attempts": p.max_attempts,
                     "retry_in_ms": p.retry_in_ms,
                     "last_error": (p.last_error or b"").decode("utf-8", "replace"),
                     "attachment": (p.attachment_index, p.attachment_count, p.attachment_sent,
                                    p.attachment_size),
                     "thread": threading.get_ident()})
        if p.stage == lumbung.STAGE_RETRY_WAIT:  # `attempt` is the one that failed
            print(f"    Sinyal putus, coba lagi dalam {p.retry_in_ms / 1000:.1f} detik "
                  f"(percobaan {p.attempt + 1} dari {p.max_attempts}): {seen[-1]['last_error']}")
        elif p.phase == lumbung.PHASE_ATTACHMENTS:
            print(f"    [attachments] {p.attachment_index}/{p.attachment_count}: "
                  f"{p.attachment_sent}/{p.attachment_size} B")
        else:
            print(f"    [{seen[-1]['phase']}, {seen[-1]['stage']}] pushed {p.ops_pushed}/"
                  f"{p.ops_to_push}, pulled {p.ops_pulled}, {p.bytes_up} B up, "
                  f"{p.bytes_down} B down")
        return False  # True would cancel

    def worker():
        result["thread"] = threading.get_ident()
        try:
            result["report"] = sync.run(on_progress)
        except lumbung.LumbungError as e:
            result["error"] = e

    t = threading.Thread(target=worker, name="lumbung-sync")
    t.start()
    t.join(timeout=120)  # a UI would not join; it would show the progress instead
    if t.is_alive():
        sync.cancel()
        t.join()
    if expect_error:
        if "error" not in result:
            raise SystemExit("FAILED: the sync succeeded")
        return result["error"], seen, result["thread"]
    if "error" in result:
        raise SystemExit(f"FAILED: sync: {result['error']}")
    return result["report"], seen, result["thread"]


def free_port():
    """A port nothing listens on (bound, then released): a link that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, help="path to liblumbung.so")
    ap.add_argument("--server-bin", required=True, help="path to lumbung-server")
    ap.add_argument("--schema", default=os.path.join(ROOT, "schema", "enrolment.schema.json"))
    args = ap.parse_args()

    lib = lumbung.Library(args.lib)
    print(f"liblumbung {lib.version()}, API {lib.api_version()}")
    expect(lib.api_version() >= 3, "the library has the API 3 calls this demo uses")
    workdir = tempfile.mkdtemp(prefix="lumbung-demo-")
    server = Server(args.server_bin, workdir)
    try:
        # The passphrase comes from the officer (or the platform keystore) at every start;
        # the app never writes it anywhere.
        passphrase = "sagu-dan-sinonggi"
        print("1. open the laptop's store (encrypted at rest) and enrol offline")
        store = lib.open_store(os.path.join(workdir, "laptop-a.db"), args.schema, "laptop-a",
                               passphrase)
        wulan = store.put("enrolment", WULAN)
        joko = store.put("enrolment", JOKO)
        rec = store.get("enrolment", wulan)
        expect(rec["fields"]["phone"] == "08222672973", "phone normalised on write")
        expect(rec["fields"]["village_code"] == "7402292053", "region code stored without dots")

        print("2. a mistake is caught on the spot, with a message the officer understands")
        wrong = dict(WULAN, nik="7402294809690330", birth_date="1970-01-01")
        try:
            store.put("enrolment", wrong)
            raise SystemExit("FAILED: an invalid record was accepted")
        except lumbung.LumbungError as e:
            print(f"    {e.name} [{e.field}]: {e.message}")
            expect(e.code == lumbung.ERR_VALIDATION_FAILED and e.field, "validation error code")
        issues = store.validate("enrolment", wrong)
        expect(len(issues) >= 1, f"validate lists every issue ({len(issues)})")
        # A form shows every problem at once: put_ex refuses with all the issues, each with a
        # stable reason code (for the app's own words) and our Indonesian and English ones.
        bad = dict(wrong, phone="12", monthly_income=999)
        try:
            store.put_ex("enrolment", bad)
            raise SystemExit("FAILED: put_ex accepted an invalid record")
        except lumbung.LumbungError as e:
            for i in e.issues:
                print(f"    {i['field']} ({i['label']}) {i['reason']}:\n"
                      f"      id: {i['message_id']}\n      en: {i['message_en']}")
            reasons = {i["field"]: i["reason"] for i in e.issues}
            expect(e.code == lumbung.ERR_VALIDATION_FAILED, "put_ex: validation_failed")
            expect(len(e.issues) == 3 and reasons.get("phone") == "invalid_phone"
                   and reasons.get("monthly_income") == "out_of_range"
                   and reasons.get("birth_date") == "nik_birth_date_mismatch",
                   f"put_ex names each field with its reason ({len(e.issues)} issues)")
            expect(all(i["message_id"] and i["message_en"] and i["message_id"] != i["message_en"]
                       for i in e.issues), "every issue has an Indonesian and an English message")
        expect(store.find_by_key("enrolment", bad["nik"]) == [], "nothing written on refusal")
        try:
            store.patch_ex("enrolment", wulan, {"status": "draft"})
            raise SystemExit("FAILED: status moved backwards")
        except lumbung.LumbungError as e:
            print(f"    status: {e.issues[0]['message_id']}")
            expect(e.code == lumbung.ERR_STATUS_REGRESSION
                   and [(i["field"], i["reason"]) for i in e.issues] ==
                   [("status", "status_regression")], "patch_ex: status_regression on status")

        print("3. edit, query by region, look up by NIK")
        store.patch("enrolment", joko, {"phone": "0812-4100-2201"})
        recs, _ = store.query("enrolment", scope="74.02.29")
        expect([r["id"] for r in recs] == [wulan], "query by kecamatan prefix")
        expect(len(list(store.records("enrolment"))) == 2, "paging through every record")
        expect(store.find_by_key("enrolment", "7402100607814908")[0]["id"] == joko, "find by NIK")
        expect(store.get("enrolment", "no-such-id") is None, "a miss is None, not an error")
        status = store.status()
        print(f"    status: {json.dumps(status)}")
        expect(status["pending_changes"] == 3 and status["encrypted"], "3 changes pending")

        print("3b. attach the photo of Wulan's KTP")
        expect(store.attachment_state("enrolment", wulan, "foto_ktp") is None,
               "no photo yet: state is None")
        photo_path = os.path.join(workdir, "ktp-wulan.jpg")
        with open(photo_path, "wb") as f:
            f.write(PHOTO)
        ref = store.attach_file("enrolment", wulan, "foto_ktp", photo_path)
        print(f"    reference: {json.dumps(ref)}")
        expect(ref["mime"] == "image/jpeg" and ref["size"] == len(PHOTO)
               and ref["name"] == "ktp-wulan.jpg", "type read from the bytes, size and name kept")
        state = store.attachment_state("enrolment", wulan, "foto_ktp")
        expect(state["state"] == "waiting" and state["local"], "state: waiting, here")
        try:
            store.attach("enrolment", wulan, "foto_ktp", b"%PDF-1.4 form", name="form.pdf")
            raise SystemExit("FAILED: a PDF was accepted as the KTP photo")
        except lumbung.LumbungError as e:
            expect(e.code == lumbung.ERR_VALIDATION_FAILED and e.field == "foto_ktp",
                   f"a type the field refuses: {e.message}")

        print("4. register with the central office and sync on a background thread")
        sync = store.sync_client(server.url, max_attempts=3)  # lb_sync_new_with_options
        token = sync.register(server.enrolment_code(["74.02"]), "Laptop Lambuya 1")
        expect(token.startswith("lbd_"), "device token received (kept in the store, sealed)")
        report, seen, _ = sync_in_background(sync)
        print(f"    report: {json.dumps(report)}")
        phases = [p["phase"] for p in seen]
        expect(report["pushed"] == 4 and "push" in phases, "pushed 4 ops with progress")
        expect(all(p["max_attempts"] == 3 for p in seen if p["phase"] != "attachments"),
               "progress carries the handle's max_attempts (3)")
        photo_events = [p["attachment"] for p in seen if p["phase"] == "attachments"]
        expect(photo_events and photo_events[-1] == (1, 1, len(PHOTO), len(PHOTO))
               and phases.index("attachments") > phases.index("done"),
               "the photo's progress after the records: 1 of 1, every byte")
        expect(report["attachments"]["sent"] == 1, "the report counts the photo sent")
        expect(store.attachment_state("enrolment", wulan, "foto_ktp")["state"] == "on_server",
               "state: on_server")
        expect(store.status()["pending_changes"] == 0, "nothing pending after sync")
        expect(store.refused() == [], "the server refused none of this laptop's changes")
        sync.close()

        print("5. a second laptop in the same kabupaten receives the records")
        with lib.open_store(os.path.join(workdir, "laptop-b.db"), args.schema, "laptop-b",
                            "another-officer") as other:
            with other.sync_client(server.url) as sync_b:
                sync_b.register(server.enrolment_code(["74.02"]), "Laptop Lambuya 2")
                changed = []  # what a list screen would reload

                def on_changed(changes):
                    print(f"    records changed: {json.dumps(changes)}")
                    changed.append((changes, threading.get_ident()))
                sync_b.on_changed(on_changed)
                report_b, _, worker = sync_in_background(sync_b)
                # Two records and an edit: three ops as a replay, two if it asked for a snapshot.
                expect(report_b["pulled"] >= 2, f"pulled {report_b['pulled']} ops")
                got = other.get("enrolment", joko)
                expect(got and got["fields"]["phone"] == "081241002201", "the edit arrived")
                expect(len(changed) == 1 and
                       sorted(r["id"] for r in changed[0][0]["records"]) == sorted([wulan, joko])
                       and not changed[0][0]["truncated"],
                       "on_changed named both records the pull brought")
                expect(changed[0][1] == worker, "on_changed ran on the syncing thread")

                print("5b. the photo is on the server only; laptop B opens it through its sync")
                state = other.attachment_state("enrolment", wulan, "foto_ktp")
                expect(state["state"] == "remote" and not state["local"], "state: remote")
                try:
                    other.open_attachment("enrolment", wulan, "foto_ktp")
                    raise SystemExit("FAILED: opened bytes that are not here")
                except lumbung.LumbungError as e:
                    expect(e.code == lumbung.ERR_NOT_FOUND, "without a sync handle: not_found")
                got_photo = other.open_attachment("enrolment", wulan, "foto_ktp", sync=sync_b)
                expect(got_photo == PHOTO, f"the same {len(PHOTO)} bytes, fetched")
                expect(other.attachment_state("enrolment", wulan, "foto_ktp")["local"],
                       "kept: the next open is local")

                print("5c. laptop A edits Joko; laptop B is told only Joko changed")
                store.patch("enrolment", joko, {"status": "verified"})
                with store.sync_client(server.url) as sync_a:
                    sync_in_background(sync_a)
                changed.clear()
                sync_in_background(sync_b)
                expect([(r["id"], r["deleted"]) for c, _ in changed for r in c["records"]] ==
                       [(joko, False)], "on_changed named just the patched record")
                changed.clear()
                sync_in_background(sync_b)
                expect(changed == [], "a run that brings nothing new does not call it")
            print(f"    laptop B status: {json.dumps(other.status())}")

        print("6. the store does not open with the wrong passphrase")
        store.close()
        try:
            lib.open_store(os.path.join(workdir, "laptop-a.db"), args.schema, "laptop-a", "guess")
            raise SystemExit("FAILED: opened with a wrong passphrase")
        except lumbung.LumbungError as e:
            expect(e.code == lumbung.ERR_WRONG_PASSPHRASE, f"{e.name}")
        with lib.open_store(os.path.join(workdir, "laptop-a.db"), args.schema, "laptop-a",
                            passphrase) as again:
            with again.sync_client(server.url) as s:
                expect(s.run()["pushed"] == 0, "reopened; syncs with the token kept in the store")

            print("7. the link is down: the progress callback shows the retry countdown")
            # Bounded: three attempts 700 ms apart against a port nobody listens on.
            with again.sync_client(f"http://127.0.0.1:{free_port()}", timeout_ms=2000,
                                   max_attempts=3, initial_backoff_ms=700,
                                   max_backoff_ms=700) as down:
                e, seen, _ = sync_in_background(down, expect_error=True)
            waits = [p for p in seen if p["stage"] == "retry_wait"]
            expect(e.code == lumbung.ERR_TRANSPORT, f"gave up: {e.name}: {e.message}")
            expect(waits and all(0 < p["retry_in_ms"] <= 700 and p["last_error"] for p in waits),
                   f"retry_wait with a countdown and the reason ({len(waits)} calls)")
            expect(sorted({p["attempt"] for p in waits}) == [1, 2]
                   and all(p["max_attempts"] == 3 for p in seen),
                   "waits after attempts 1 and 2 of 3 (the third failure ends the run)")
        print("demo finished: every step behaved as documented")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

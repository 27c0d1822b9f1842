#!/usr/bin/env python3
"""How an app uses Lumbung through the C API: a field officer's laptop enrols people offline,
syncs on a background thread with a progress bar, and a second laptop receives the records.

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
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


def sync_in_background(sync):
    """What an app does: run the sync on a worker thread, update the UI from callbacks."""
    result, progress_seen = {}, []

    def on_progress(p):
        phase = {lumbung.PHASE_PUSH: "push", lumbung.PHASE_PULL: "pull",
                 lumbung.PHASE_DONE: "done"}[p.phase]
        progress_seen.append(phase)
        print(f"    [{phase}] pushed {p.ops_pushed}/{p.ops_to_push}, pulled {p.ops_pulled}, "
              f"{p.bytes_up} B up, {p.bytes_down} B down")
        return False  # True would cancel

    def worker():
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
    if "error" in result:
        raise SystemExit(f"FAILED: sync: {result['error']}")
    return result["report"], progress_seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, help="path to liblumbung.so")
    ap.add_argument("--server-bin", required=True, help="path to lumbung-server")
    ap.add_argument("--schema", default=os.path.join(ROOT, "schema", "enrolment.schema.json"))
    args = ap.parse_args()

    lib = lumbung.Library(args.lib)
    print(f"liblumbung {lib.version()}")
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

        print("4. register with the central office and sync on a background thread")
        sync = store.sync_client(server.url)
        token = sync.register(server.enrolment_code(["74.02"]), "Laptop Lambuya 1")
        expect(token.startswith("lbd_"), "device token received (kept in the store, sealed)")
        report, phases = sync_in_background(sync)
        print(f"    report: {json.dumps(report)}")
        expect(report["pushed"] == 3 and "push" in phases, "pushed 3 ops with progress")
        expect(store.status()["pending_changes"] == 0, "nothing pending after sync")
        sync.close()

        print("5. a second laptop in the same kabupaten receives the records")
        with lib.open_store(os.path.join(workdir, "laptop-b.db"), args.schema, "laptop-b",
                            "another-officer") as other:
            with other.sync_client(server.url) as sync_b:
                sync_b.register(server.enrolment_code(["74.02"]), "Laptop Lambuya 2")
                report_b, _ = sync_in_background(sync_b)
            # A new laptop takes a snapshot: one op per record (two), not their history.
            expect(report_b["pulled"] >= 2, f"pulled {report_b['pulled']} ops")
            got = other.get("enrolment", joko)
            expect(got and got["fields"]["phone"] == "081241002201", "the edit arrived")
            print(f"    laptop B status: {json.dumps(other.status())}")

        print("6. the store does not open with the wrong passphrase")
        store.close()
        try:
            lib.open_store(os.path.join(workdir, "laptop-a.db"), args.schema, "laptop-a", "guess")
            raise SystemExit("FAILED: opened with a wrong passphrase")
        except lumbung.LumbungError as e:
            expect(e.code == lumbung.ERR_WRONG_PASSPHRASE, f"{e.name}")
        with lib.open_store(os.path.join(workdir, "laptop-a.db"), args.schema, "laptop-a",
                            passphrase) as again, again.sync_client(server.url) as s:
            expect(s.run()["pushed"] == 0, "reopened; syncs with the token kept in the store")
        print("demo finished: every step behaved as documented")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

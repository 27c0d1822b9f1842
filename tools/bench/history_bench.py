#!/usr/bin/python3
"""Issue 16: time of GET /v1/records/{id}/history on a server with many ops, with and
without the oplog index on (collection, record id), and the index's build at start.

  history_bench.py --server PATH [--records 100000] [--edits 200] [--runs 20]
                   [--push-without-index]

Starts lumbung-server (SQLite, 127.0.0.1:0, a temp data dir), pushes `records` creates
(batches of 2,000) and `edits` edits of one record spread among them, then times the
history of that record `runs` times (median, max); drops the index through SQLite while
the server runs (its statements re-prepare) and times it again; stops the server, restarts
it (the index is built again at start) and reports how long that start took, and the
next one (the index there). --push-without-index drops the index before the pushes
instead, to compare the pushes' time (push_s) without it.
"""
import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request


def http(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read() or b"null")


def start(binary, work):
    out = open(os.path.join(work, "server.out"), "w+")
    t0 = time.time()
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data", os.path.join(work, "data"),
                             "--admin-token-file", os.path.join(work, "admin-token")],
                            stdout=out, stderr=open(os.path.join(work, "server.log"), "a"))
    for _ in range(6000):  # 600 s at most
        out.seek(0)
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", out.read())
        if m:
            return proc, m.group(1), time.time() - t0
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def timed(base, token, rid, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        h = http(base, "GET", "/v1/records/" + rid + "/history", None, token)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times), len(h["changes"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--push-without-index", action="store_true",
                    help="drop the index before the pushes (their cost without it)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="lumbung-history-bench-")
    proc = None
    try:
        proc, base, _ = start(a.server, work)
        admin = open(os.path.join(work, "admin-token")).read().strip()
        code = http(base, "POST", "/v1/admin/codes", {"scope": ["74"], "label": "bench"}, admin)["code"]
        tok = http(base, "POST", "/v1/devices/register",
                   {"code": code, "device_id": "bench-1", "label": "bench"})["token"]
        db = os.path.join(work, "data", "lumbung-server.db")
        if a.push_without_index:
            c = sqlite3.connect(db, timeout=60)
            c.execute("DROP INDEX oplog_record")
            c.commit()
            c.close()
        push_t0 = time.time()
        h0 = int(time.time() * 1000) << 16
        seq, hl, ops = 0, h0, []
        every = max(1, a.records // max(1, a.edits))
        for i in range(a.records):
            seq += 1
            hl += 1
            # A valid NIK: region 740201, birth date DDMMYY, serial; the name in letters.
            dd, mm, yy, serial = 1 + i % 28, 1 + (i // 28) % 12, 60 + (i // 336) % 40, 1 + i // 13440
            name = "Orang " + "".join(chr(97 + (i // 26 ** k) % 26) for k in range(4))
            rec = {"nik": "740201%02d%02d%02d%04d" % (dd, mm, yy, serial), "full_name": name,
                   "birth_date": "19%02d-%02d-%02d" % (yy, mm, dd),
                   "gender": "L", "village_code": "7402012006", "position": "kaur umum",
                   "phone": "0812%08d" % i, "programs": ["JKK"], "monthly_income": 3000000,
                   "status": "submitted", "created_at": "2026-11-30T08:00:00.000Z",
                   "officer_id": "OFC-0001"}
            ops.append({"seq": seq, "col": "enrolment", "id": "rec-%d" % i, "hlc": hl, "set": rec})
            if i > 0 and i % every == 0:
                seq += 1
                hl += 1
                ops.append({"seq": seq, "col": "enrolment", "id": "rec-0", "hlc": hl,
                            "set": {"phone": "0813%08d" % i}})
            if len(ops) >= 2000:
                r = http(base, "POST", "/v1/push", {"device": "bench-1", "ops": ops}, tok)
                assert not r["refused"], r["refused"][:3]
                ops = []
        if ops:
            r = http(base, "POST", "/v1/push", {"device": "bench-1", "ops": ops}, tok)
            assert not r["refused"], r["refused"][:3]
        push_s = time.time() - push_t0
        n_ops = sqlite3.connect(db).execute("SELECT count(*) FROM oplog").fetchone()[0]
        if not a.push_without_index:
            with_idx = timed(base, admin, "rec-0", a.runs)
            c = sqlite3.connect(db, timeout=60)
            c.execute("DROP INDEX oplog_record")
            c.commit()
            c.close()
        without = timed(base, admin, "rec-0", a.runs)
        stop(proc)
        proc, base, start_s = start(a.server, work)  # builds the index again
        if a.push_without_index:
            with_idx = timed(base, admin, "rec-0", a.runs)
        stop(proc)
        proc, base, again_s = start(a.server, work)  # the index is there
        print(json.dumps({"oplog_rows": n_ops, "history_changes": with_idx[2],
                          "push_s": round(push_s, 1), "pushed_with_index": not a.push_without_index,
                          "with_index_median_ms": round(with_idx[0] * 1000, 2),
                          "with_index_max_ms": round(with_idx[1] * 1000, 2),
                          "without_index_median_ms": round(without[0] * 1000, 2),
                          "without_index_max_ms": round(without[1] * 1000, 2),
                          "restart_building_index_s": round(start_s, 2),
                          "restart_with_index_s": round(again_s, 2)}))
    finally:
        if proc:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

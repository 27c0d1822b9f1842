#!/usr/bin/python3
"""Issue 16: the progress answers with a target on every desa of Sulawesi Tenggara (2,285, from
server/web/wilayah.csv), against none; and the time to set them one by one over HTTP.

  (cd REPO && python3 tools/bench/targets_bench.py)   # LUMBUNG_SERVER=path, default build/h16/server/lumbung-server

A server with no records (the counts are empty): what the targets add to an answer.
"""
import json, os, re, signal, statistics, subprocess, tempfile, time, urllib.request, csv, shutil
def http(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")
work = tempfile.mkdtemp()
out = open(os.path.join(work, "out"), "w+")
proc = subprocess.Popen([os.environ.get("LUMBUNG_SERVER", "build/h16/server/lumbung-server"), "--listen", "127.0.0.1:0", "--data", work + "/data",
    "--admin-token-file", work + "/admin", "--rate-limit-device", "0/1", "--rate-limit-address", "0/1"],
    stdout=out, stderr=open(work + "/log", "w"))
base = None
for _ in range(300):
    out.seek(0); m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", out.read())
    if m: base = m.group(1); break
    time.sleep(0.1)
admin = open(work + "/admin").read().strip()
desa = [r[0].replace(".", "") for r in csv.reader(open("server/web/wilayah.csv")) if len(r[0].replace(".", "")) == 10 and r[0].startswith("74")]
def t(path, n=10):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); http(base, "GET", path, None, admin); ts.append(time.perf_counter() - t0)
    return round(statistics.median(ts) * 1000, 2), round(max(ts) * 1000, 2)
before = {p: t(p) for p in ["/v1/web/progress?scope=74", "/v1/progress?scope=74", "/v1/progress?scope=7402"]}
t0 = time.time()
for i, d in enumerate(desa):
    http(base, "POST", "/v1/targets", {"scope": d, "n": 5 + i % 7}, admin)
set_s = time.time() - t0
after = {p: t(p) for p in ["/v1/web/progress?scope=74", "/v1/progress?scope=74", "/v1/progress?scope=7402"]}
tg = http(base, "GET", "/v1/progress?scope=74", None, admin)
print(json.dumps({"desa_targets": len(desa), "set_all_s": round(set_s, 2), "before_ms": before, "after_ms": after, "target_74": tg.get("target")}))
proc.send_signal(signal.SIGTERM); proc.wait(timeout=30); shutil.rmtree(work)

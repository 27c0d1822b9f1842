#!/usr/bin/python3
"""Issue 16: the office web page in a real browser (headless Chromium from Debian, driven by
python3-selenium through chromedriver), against the real lumbung-server on 127.0.0.1.

  browser_test.py --server PATH [--screenshots DIR]

Seeds the server over its API (two laptops in Kecamatan Lambuya, a phone conflict, a refused
change, a hostile name, a record in another kabupaten), then, as a Kabupaten Konawe reviewer:
logs in (a wrong token first), drills into progress by region name down to Desa Awuliti
(setting a target for it on the way), finds a person by NIK, sees a hostile name rendered as text, cannot open a record of
Buton Tengah, moves a record's status (its history names the reviewer) and pages back
through that record's history of 522 changes, resolves the conflict (and a laptop's next pull receives the decision),
reads the record's history (each edit old -> new, the office's decision), merges the duplicate, dismisses the refused change with a note, logs out; then as admin
opens the laptops page (makes an enrolment code, makes a reviewer token for another
kabupaten that then reads only its records, and revokes it) and the audit page; checks the cookie is Secure over TLS and that no page
logged a CSP violation or script error. Every wait is bounded; the browser may reach only
127.0.0.1. Exit 0 = passed.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 15  # longest wait for any one thing on the page


def http(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def must(result, status=(200, 201)):
    code, body = result
    if code not in status:
        raise AssertionError("HTTP %d: %s" % (code, body))
    return body


def hlc(counter=0):
    return (int(time.time() * 1000) << 16) | counter


def record(nik, name, desa, officer, phone):
    return {"nik": nik, "full_name": name, "birth_date": "19" + nik[10:12] + "-" + nik[8:10] + "-"
            + "%02d" % (int(nik[6:8]) % 40), "gender": "P" if int(nik[6:8]) > 40 else "L",
            "village_code": desa, "position": "kaur keuangan", "phone": phone,
            "programs": ["JKK", "JKM"], "monthly_income": 3000000, "status": "submitted",
            "created_at": "2026-11-30T08:00:00.000Z", "officer_id": officer}


def seed(base, admin):
    def device(dev_id, scope):
        code = must(http(base, "POST", "/v1/admin/codes", {"scope": scope, "label": dev_id}, admin))["code"]
        tok = must(http(base, "POST", "/v1/devices/register",
                        {"code": code, "device_id": dev_id, "label": dev_id}))["token"]
        return dev_id, tok

    a = device("laptop-awuliti", ["74.02.01"])
    b = device("laptop-lambuya", ["74.02.01"])
    prov = device("laptop-provinsi", ["74"])
    h = hlc()
    siti = record("7402015203780001", "Siti Rahmawati", "7402012006", "OFC-0001", "081241002201")
    amir = record("7402012107850002", "La Ode Amir", "7402012006", "OFC-0001", "081341002202")
    hostile = record("7402010901900003", '<img src=x id=pwned onerror="document.title=1">Andi',
                     "7402012001", "OFC-0002", "081341002203")
    buton = record("7414090107611329", "Joko Gunawan", "7414091481", "OFC-0096", "089584002465")
    push = lambda dev, ops: must(http(base, "POST", "/v1/push", {"device": dev[0], "ops": ops}, dev[1]))
    op = lambda seq, rid, hl, s, base_=None: dict(seq=seq, col="enrolment", id=rid, hlc=hl, set=s,
                                                   **({"base": base_} if base_ else {}))
    push(a, [op(1, "rec-siti", h, siti), op(2, "rec-amir", h + 1, amir),
             op(3, "rec-andi", h + 2, hostile)])
    push(prov, [op(1, "rec-buton", h + 3, buton)])
    # Both laptops change Siti's phone having seen the same version: one conflict.
    seen = {"phone": [h, a[0]]}
    push(a, [op(4, "rec-siti", h + 10, {"phone": "081241002299"}, seen)])
    # The hostile record's phone changed 520 times: a history longer than one page (500).
    push(a, [op(5 + i, "rec-andi", h + 40 + i, {"phone": "0813%08d" % (i + 1)}) for i in range(520)])
    push(b, [op(1, "rec-siti", h + 20, {"phone": "085241002288"}, seen)])
    # Lambuya's laptop enrols La Ode Amir again (same NIK, another phone): a duplicate entry.
    amir2 = dict(amir, phone="081341002277", programs=["JKK", "JKM", "JHT"])
    push(b, [op(2, "rec-amir-2", h + 25, amir2)])
    # Lambuya's laptop enrols someone outside its kecamatan (74.02.29): refused and kept.
    out = push(b, [op(3, "rec-far", h + 30, record("7402294809690329", "Wulan Pratama",
                                                     "7402292053", "OFC-0002", "082226729730"))])
    assert out["refused"] and out["refused"][0]["code"] == "out_of_scope", out
    reviewer = must(http(base, "POST", "/v1/admin/tokens",
                         {"role": "reviewer", "label": "Kab. Konawe", "scope": ["74.02"]}, admin))["token"]
    # The office publishes the next schema version (a new occupation), active at once: every
    # laptop above pushed under the older one (issue 18).
    doc = must(http(base, "GET", "/v1/schema", None, admin))
    doc["version"] = doc.get("version", 1) + 1
    for f in doc["collections"][0]["fields"]:
        if f["name"] == "occupation":
            f["values"].append("penenun")
    doc["changelog"] = doc.get("changelog", []) + [{"version": doc["version"], "steps": [
        {"op": "add_enum_value", "collection": "enrolment", "field": "occupation", "value": "penenun"}]}]
    must(http(base, "POST", "/v1/admin/schema", doc, admin))
    return reviewer, b


def start_server(binary, work, extra=()):
    out = open(os.path.join(work, "server.out"), "w+")
    err = open(os.path.join(work, "server.log"), "w")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data", os.path.join(work, "data"),
                             "--admin-token-file", os.path.join(work, "admin-token")] + list(extra),
                            stdout=out, stderr=err)
    deadline = time.time() + 30
    while time.time() < deadline:
        out.seek(0)
        m = re.search(r"listening on (https?://127\.0\.0\.1:\d+)", out.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("lumbung-server did not start; see " + err.name)


def secure_cookie_over_tls(binary, source_dir):
    """Over HTTPS the session cookie is also Secure (no browser needed: the header)."""
    import ssl
    work = tempfile.mkdtemp(prefix="lumbung-web-tls-")
    subprocess.run([os.path.join(source_dir, "tools", "dev-cert.sh"), os.path.join(work, "tls"),
                    "127.0.0.1"], check=True, stdout=subprocess.DEVNULL, timeout=60)
    crt, key = os.path.join(work, "tls", "server.crt"), os.path.join(work, "tls", "server.key")
    proc, base = start_server(binary, work, ["--tls-cert", crt, "--tls-key", key])
    try:
        admin = open(os.path.join(work, "admin-token")).read().strip()
        ctx = ssl.create_default_context(cafile=crt)
        req = urllib.request.Request(base + "/v1/web/login", data=json.dumps({"token": admin}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            cookie = r.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def stop(proc):
    """SIGTERM by pid, SIGKILL after 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def browser():
    opts = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1366,768", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--no-proxy-server",
                # Loopback only: every other host name fails to resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]:
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports, script errors
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    d = webdriver.Chrome(service=service, options=opts)
    d.set_page_load_timeout(WAIT_S)
    d.set_script_timeout(WAIT_S)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--screenshots", default="")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="lumbung-web-")
    proc, base = start_server(args.server, work)
    driver = None
    try:
        admin = open(os.path.join(work, "admin-token")).read().strip()
        reviewer, laptop_b = seed(base, admin)
        driver = browser()
        wait = WebDriverWait(driver, WAIT_S)
        shot = lambda name: args.screenshots and driver.save_screenshot(
            os.path.join(args.screenshots, name + ".png"))
        by_id = lambda i: wait.until(EC.visibility_of_element_located((By.ID, i)))
        text_in = lambda sel, txt: wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, sel), txt))

        step = "login"
        driver.get(base + "/")
        by_id("token").send_keys("lbr_wrong")
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        text_in("#login-error", "unknown token")
        shot("login")
        tok = driver.find_element(By.ID, "token")
        tok.clear()
        tok.send_keys(reviewer)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        by_id("nav")
        cookie = driver.get_cookie("lumbung_session")
        assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
        assert driver.execute_script("return document.cookie") == "", "session cookie readable by script"

        step = "progress drill-down by name"
        text_in("#progress-table", "Lambuya")
        assert by_id("progress-total").text == "4", by_id("progress-total").text
        text_in("#older-schema", "laptop-awuliti")  # still on the older schema version
        text_in("#older-schema", "laptop-lambuya")
        shot("progress")
        # A phone: one column, nothing wider than the screen (tables scroll inside their box).
        driver.set_window_size(390, 844)
        text_in("#progress-table", "Lambuya")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= driver.execute_script("return window.innerWidth") + 1, width
        shot("progress-phone")
        driver.set_window_size(1366, 768)
        driver.find_element(By.LINK_TEXT, "Lambuya").click()
        text_in("#progress-table", "Awuliti")

        step = "set a target for Desa Awuliti"
        driver.find_element(By.CSS_SELECTOR, "#target-form").find_element(By.XPATH, "..").find_element(
            By.TAG_NAME, "summary").click()
        tgt = by_id("target-scope")
        tgt.clear()
        tgt.send_keys("74.02.01.2006")
        by_id("target-n").send_keys("4")
        by_id("target-save").click()
        # Three records there (one enrolled twice) of 4 expected.
        text_in("#progress-table tr[data-code='7402012006']", "75%")
        assert by_id("progress-target").text.startswith("4 "), by_id("progress-target").text
        # Who set it and when, listed in the panel.
        driver.find_element(By.CSS_SELECTOR, "#target-form").find_element(By.XPATH, "..").find_element(
            By.TAG_NAME, "summary").click()
        text_in("#targets-set", "Kab. Konawe")
        text_in("#targets-set", "Awuliti")
        shot("progress-target")
        driver.find_element(By.LINK_TEXT, "Awuliti").click()  # a desa: its enrolments
        text_in("#enrolments-table", "Siti Rahmawati")

        step = "English switch"
        by_id("lang").click()
        text_in("#nav", "Enrolments")
        text_in("#view h1", "Enrolments")  # the page re-renders in English
        by_id("lang").click()
        text_in("#nav", "Peserta")

        step = "search by NIK"
        driver.get(base + "/#/enrolments")
        q = by_id("f-q")
        q.send_keys("7402012107850002")
        by_id("search-button").click()
        text_in("#enrolments-table", "La Ode Amir")
        rows = driver.find_elements(By.CSS_SELECTOR, "#enrolments-table tbody tr")
        assert len(rows) == 2, len(rows)  # enrolled twice: the duplicate merged below
        shot("enrolments")

        step = "hostile name renders as text"
        q = by_id("f-q")
        q.clear()
        q.send_keys("7402010901900003")
        by_id("search-button").click()
        text_in("#enrolments-table", "<img src=x")
        assert not driver.find_elements(By.ID, "pwned"), "a name became markup"
        assert driver.title != "1", "a name ran script"

        step = "record page"
        driver.find_element(By.CSS_SELECTOR, "#enrolments-table tbody a").click()
        text_in("#record-table", "OFC-0002")
        shot("record")

        step = "a status move names the reviewer in the history"
        driver.find_element(By.XPATH, "//div[@id='status-actions']/button[text()='Verifikasi']").click()
        driver.find_element(By.CSS_SELECTOR, "#status-actions .confirm button").click()
        text_in("#history-table", "Kantor (peninjau) · Kab. Konawe")
        text_in("#history-table", "submitted → verified")

        step = "older changes of a long history"
        by_id("history-older").click()
        text_in("#history-table", "dibuat")  # the page before reaches the record's creation
        text_in("#history-table", "08130000001")
        by_id("history-newest").click()
        text_in("#history-table", "Kantor (peninjau) · Kab. Konawe")

        step = "another kabupaten's record does not exist for this reviewer"
        driver.get(base + "/#/record/rec-buton")
        text_in("#view", "no record with this id")

        step = "resolve the conflict"
        driver.get(base + "/#/conflicts")
        text_in("#view h1", "(1)")
        text_in(".conflict h2", "Siti Rahmawati")
        shot("conflicts")
        driver.find_element(By.CSS_SELECTOR, ".conflict .keep-loser").click()
        # Lambuya's write is newer and in force; the reviewer keeps Awuliti's number.
        text_in(".conflict .side.kept", "085241002288")
        text_in(".confirm", "081241002299")
        driver.find_element(By.CSS_SELECTOR, ".confirm button").click()
        text_in("#view h1", "(0)")
        # The laptop's next pull receives the decision.
        cursor, got = "", False
        for _ in range(50):
            page = must(http(base, "GET", "/v1/pull?cursor=" + cursor, None, laptop_b[1]))
            got = got or any(o.get("dev") == "server" and o.get("id") == "rec-siti" and
                             o.get("set", {}).get("phone") == "081241002299" for o in page["ops"])
            cursor = page["next"]
            if not page["more"]:
                break
        assert got, "the resolution did not reach the laptop"

        step = "the record's history shows the edits old -> new and the decision"
        driver.get(base + "/#/record/rec-siti")
        text_in("#history-table", "081241002201 → 081241002299")  # Awuliti's edit
        text_in("#history-table", "081241002299 → 085241002288")  # Lambuya's, newer
        text_in("#history-table", "085241002288 → 081241002299")  # the office's decision
        text_in("#history-table", "Kantor (peninjau) · Kab. Konawe")  # who decided
        text_in("#history-table", "laptop-lambuya")
        driver.execute_script("document.getElementById('history-table').scrollIntoView()")
        shot("history")

        step = "merge the duplicate, the first enrolment surviving"
        driver.get(base + "/#/duplicates")
        text_in("#view h1", "(1)")
        text_in(".duplicate tr.diff", "081341002277")  # the differing phone is marked
        shot("duplicates")
        driver.find_element(By.CSS_SELECTOR, ".duplicate input[value='rec-amir']").click()
        # The survivor keeps its own phone but takes the other record's programmes (JHT).
        driver.find_element(By.CSS_SELECTOR, ".duplicate input[data-field='phone'][value='a']").click()
        driver.find_element(By.CSS_SELECTOR, ".duplicate input[data-field='programs'][value='b']").click()
        driver.find_element(By.CSS_SELECTOR, ".duplicate .merge").click()
        text_in(".confirm", "Program")
        driver.find_element(By.CSS_SELECTOR, ".confirm button").click()
        text_in("#view h1", "(0)")
        merged = must(http(base, "GET", "/v1/duplicates?status=merged", None, reviewer))["duplicates"]
        assert merged and merged[0]["resolution"]["survivor"] == "rec-amir", merged
        kept = must(http(base, "GET", "/v1/web/records/rec-amir", None, reviewer))["fields"]
        assert sorted(kept["programs"]) == ["JHT", "JKK", "JKM"] and kept["phone"] == "081341002202", kept

        step = "dismiss the refused change with a note"
        driver.get(base + "/#/refused")
        text_in("#view h1", "(1)")
        text_in(".refused", "out_of_scope")
        shot("refused")
        driver.find_element(By.CSS_SELECTOR, ".refused textarea.note").send_keys("salah kecamatan")
        driver.find_element(By.CSS_SELECTOR, ".refused .dismiss").click()
        driver.find_element(By.CSS_SELECTOR, ".confirm button").click()
        text_in("#view h1", "(0)")
        dismissed = must(http(base, "GET", "/v1/refused?status=dismissed", None, reviewer))["refused"]
        assert dismissed and "salah kecamatan" in json.dumps(dismissed[0]["resolution"]), dismissed

        step = "logout ends the session"
        by_id("logout").click()
        by_id("token")
        driver.get(base + "/#/progress")
        by_id("token")
        assert not driver.find_element(By.ID, "nav").is_displayed()

        step = "admin: laptops and the audit log"
        by_id("token").send_keys(admin)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        by_id("nav")
        driver.get(base + "/#/laptops")
        text_in("#laptops-table", "laptop-lambuya")
        cells = driver.find_elements(By.CSS_SELECTOR, "tr[data-device='laptop-lambuya'] td")
        assert cells[5].text == "—" and cells[6].text == "0", [c.text for c in cells]  # dismissed
        by_id("code-scope").send_keys("74.02.01")
        by_id("code-label").send_keys("Laptop baru")
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type='submit']").click()
        driver.find_element(By.CSS_SELECTOR, "form.filters .confirm button").click()
        code = by_id("code-value").text
        assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3,}", code), code
        # The code registers a laptop.
        must(http(base, "POST", "/v1/devices/register", {"code": code, "device_id": "laptop-baru",
                                                          "label": "baru"}))
        shot("laptops")

        step = "admin: a reviewer token for Buton Tengah made on the page"
        by_id("token-scope").send_keys("74.14")
        by_id("token-label").send_keys("Kab. Buton Tengah")
        driver.find_element(By.CSS_SELECTOR, "#token-form button[type='submit']").click()
        driver.find_element(By.CSS_SELECTOR, "#token-form .confirm button").click()
        new_token = by_id("token-value").text
        assert new_token.startswith("lbr_"), new_token
        # It reads its kabupaten's records and not Konawe's.
        must(http(base, "GET", "/v1/records/rec-buton/history", None, new_token))
        assert http(base, "GET", "/v1/records/rec-siti/history", None, new_token)[0] == 404
        driver.get(base + "/#/progress")  # the token is not shown again
        driver.get(base + "/#/laptops")
        text_in("#tokens-table", "Kab. Buton Tengah")
        assert new_token not in driver.find_element(By.TAG_NAME, "body").text
        revoke = driver.find_element(By.XPATH, "//table[@id='tokens-table']//tr[td[1]='Kab. Buton Tengah']//button")
        revoke.click()
        driver.find_element(By.CSS_SELECTOR, "#tokens-table .confirm button").click()
        text_in("#tokens-table", "dicabut")
        assert http(base, "GET", "/v1/records/rec-buton/history", None, new_token)[0] == 401
        driver.get(base + "/#/audit")
        text_in("#audit-state", "utuh")  # the chain verifies
        text_in("#view table", "web_login")
        shot("audit")
        step = "the cookie is Secure over TLS"
        secure_cookie_over_tls(args.server, os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))

        step = "no CSP violation or script error on any page"
        log = driver.get_log("browser")  # everything since the last call (it drains)
        bad = [e for e in log
               if e["level"] == "SEVERE" and "/v1/" not in e["message"]]  # refused calls: expected
        csp = [e for e in log if "Content Security Policy" in e["message"]]
        assert not bad and not csp, bad + csp
        print("browser test passed")
        return 0
    except Exception as e:  # report the step, the page and the server log
        print("FAILED at step '%s': %r" % (locals().get("step", "?"), e), file=sys.stderr)
        if driver:
            print(driver.find_element(By.TAG_NAME, "body").text[:2000], file=sys.stderr)
        return 1
    finally:
        if driver:
            driver.quit()
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

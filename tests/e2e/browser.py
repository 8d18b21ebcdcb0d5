#!/usr/bin/env python3
"""browser.py — load a page in a real headless Chromium and say what it shows.

    browser.py URL [--screenshot FILE] [--width PX] [--height PX] [--wait-ms MS]

Drives Debian's chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on fd 3, answers on fd 4, NUL-terminated
JSON; nothing but the Python standard library).  It opens URL, waits for the
load event (images included) and --wait-ms more for late errors, and prints
one JSON object on stdout:

  {"title": ..., "refresh": "5" | null, "stale": false,
   "errors": ["console error: ...", "exception: ...", "log error: Failed to load resource ..."],
   "figures": [{"id": "chart-fleet", "loaded": true, "width": 900, "height": 400, "nodata": false,
                "ink": 0.21}],
   "tables": [{"id": "latest-readings", "rows": 20}],
   "tiles": [{"id": "t-loaders", "value": "1", "class": "tile ok"}],
   "sections": ["health", ...]}

"ink" is the share of a chart's pixels that are not white (what was drawn),
when the page's origin may read them (over HTTP; null from file://).  With
--screenshot it also writes a PNG of the whole page.  Exit status 0
when the page loaded (whatever it shows: the caller judges), 1 when Chromium
could not be run or the page did not load in time, 2 usage.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PROBE = r"""
(() => {
  // the share of an image's pixels that are not (near) white: how much was
  // drawn; null where the page's origin may not read the pixels (file://)
  const ink = i => {
    try {
      const c = document.createElement("canvas");
      c.width = i.naturalWidth; c.height = i.naturalHeight;
      const g = c.getContext("2d");
      g.drawImage(i, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let k = 0; k < d.length; k += 4)
        if (d[k] < 235 || d[k + 1] < 235 || d[k + 2] < 235) n++;
      return n / (d.length / 4);
    } catch (e) {
      return null;
    }
  };
  const figures = [...document.querySelectorAll("figure")].map(f => {
    const i = f.querySelector("img");
    const loaded = !!i && i.complete && i.naturalWidth > 0;
    return {id: f.id, loaded, width: i ? i.naturalWidth : 0, height: i ? i.naturalHeight : 0,
            nodata: f.classList.contains("nodata"), ink: loaded ? ink(i) : null};
  });
  const tables = [...document.querySelectorAll("table")].map(t => ({
    id: t.id, rows: [...t.querySelectorAll("tr")].filter(r => r.querySelector("td")).length}));
  const tiles = [...document.querySelectorAll(".tile")].map(t => ({
    id: t.id, value: (t.querySelector(".v") || {}).textContent || "", class: t.className}));
  const meta = document.querySelector('meta[http-equiv="refresh"]');
  const stale = document.getElementById("stale");
  return JSON.stringify({title: document.title, refresh: meta ? meta.content : null,
    stale: !!stale && !stale.hidden, figures, tables, tiles,
    sections: [...document.querySelectorAll("section")].map(s => s.id)});
})()
"""


class Browser:
    def __init__(self, exe, profile):
        cmd_r, self.cmd_w = os.pipe()   # we write commands, chromium reads fd 3
        self.res_r, res_w = os.pipe()   # chromium writes answers on fd 4

        def fds():
            # (copies above 4 first: os.pipe() may have given 3 or 4, and
            # a dup2 onto itself would keep the close-on-exec flag)
            a, b = os.dup(cmd_r), os.dup(res_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=fds)
        os.close(cmd_r)
        os.close(res_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            import select
            r, _, _ = select.select([self.res_r], [], [], max(0.0, deadline - time.time()))
            if not r:
                continue
            chunk = os.read(self.res_r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=20):
        self.next_id += 1
        m = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.cmd_w, json.dumps(m).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            r = self._read(deadline)
            if r.get("id") == self.next_id:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"].get("message")))
                return r.get("result", {})
            self.events.append(r)

    def wait_event(self, name, session, timeout):
        deadline = time.time() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == name and e.get("sessionId") == session:
                del self.events[i]
                return e
        while True:
            e = self._read(deadline)
            if e.get("method") == name and e.get("sessionId") == session:
                return e
            self.events.append(e)

    def drain(self, seconds):
        deadline = time.time() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except TimeoutError:
            pass

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def errors_of(events):
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append("console %s: %s" % (p["type"], args))
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: %s" % (d.get("exception", {}).get("description") or d.get("text")))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            en = p["entry"]
            out.append("log %s: %s %s" % (en["level"], en.get("text", ""), en.get("url", "")))
    return out


def main():
    ap = argparse.ArgumentParser(description="load a page in headless Chromium and report what it shows")
    ap.add_argument("url")
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--wait-ms", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("browser.py: chromium is missing (apt-get install -y chromium)", file=sys.stderr)
        return 1
    profile = tempfile.mkdtemp(prefix="hb-browser.")
    b = Browser(exe, profile)
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for dom in ("Runtime", "Log", "Page"):
            b.send(dom + ".enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": a.width, "height": a.height, "deviceScaleFactor": 1, "mobile": False}, session=s)
        nav = b.send("Page.navigate", {"url": a.url}, session=s)
        if nav.get("errorText"):
            print("browser.py: cannot open %s: %s" % (a.url, nav["errorText"]), file=sys.stderr)
            return 1
        b.wait_event("Page.loadEventFired", s, a.timeout)
        b.drain(a.wait_ms / 1000.0)
        r = b.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=s)
        if "exceptionDetails" in r:
            print("browser.py: the probe failed: %s" % r["exceptionDetails"].get("text"), file=sys.stderr)
            return 1
        report = json.loads(r["result"]["value"])
        if a.screenshot:
            size = b.send("Page.getLayoutMetrics", session=s)["cssContentSize"]
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": a.width, "height": int(size["height"]) + 1, "deviceScaleFactor": 1,
                    "mobile": False}, session=s)
            shot = b.send("Page.captureScreenshot", {"format": "png"}, session=s)
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        b.drain(0.1)
        report["errors"] = errors_of(b.events)
        print(json.dumps(report))
        return 0
    except (TimeoutError, EOFError, RuntimeError, KeyError) as e:
        print("browser.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

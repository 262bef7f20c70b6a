"""Headless Chromium driven through the DevTools protocol, for tools/browser_check.py.

Needs Debian's ``chromium`` (``apt-get install chromium``) and ``websocket-client``.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

# The window the pages are read in, and the code column measured in: a 1440-pixel laptop
# screen, the narrowest at which the theme's article column has its full width (89
# characters of code; 77 at 1280, where the theme narrows the column).
WINDOW = (1440, 900)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}"]


class Chromium:
    """Headless Chromium driven through the DevTools protocol (one tab)."""

    def __init__(self, binary: str | None = None):
        import websocket  # websocket-client

        binary = binary or shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise SystemExit("chromium not found: apt-get install chromium")
        self.profile = tempfile.mkdtemp(prefix="bigtext-chromium-")
        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        else:
            self.close()
            raise SystemExit("chromium did not start (no DevToolsActivePort after 30 s)")
        port = port_file.read_text().split()[0]
        tabs = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                                 timeout=10).read())
        page = next(t for t in tabs if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id, self.events = 0, []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def evaluate(self, expression: str, await_promise: bool = False):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=await_promise)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(f"page script failed: "
                               f"{details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 30):
        self.events, self.base = [], url.split("/", 3)[0] + "//" + url.split("/", 3)[2]
        self.call("Page.navigate", url=url)
        deadline = time.time() + timeout
        while time.time() < deadline:  # wait for the load event
            if any(e.get("method") == "Page.loadEventFired" for e in self.events):
                return
            self.ws.settimeout(max(0.1, deadline - time.time()))
            self.events.append(json.loads(self.ws.recv()))
        raise RuntimeError(f"{url} did not finish loading in {timeout:.0f} s")

    def errors(self) -> list[str]:
        """Problems seen since the last ``open``. Requests to other hosts are left out:
        offline they cannot load, and the book only links to them (Colab badge, CDNs)."""
        self.local = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in self.events
                      if e.get("method") == "Network.requestWillBeSent"
                      and e["params"]["request"]["url"].startswith(self.base)}
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("JavaScript exception: " + p["exceptionDetails"].get("exception", {})
                           .get("description", p["exceptionDetails"].get("text", ""))
                           .splitlines()[0])
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console error: "
                           + " ".join(str(a.get("value", a.get("description", "")))
                                      for a in p.get("args", [])))
            elif (m == "Log.entryAdded" and p["entry"]["level"] == "error"
                  # asked for by the browser itself
                  and not p["entry"].get("url", "").endswith("/favicon.ico")
                  and (p["entry"].get("source") != "network"
                       or p["entry"].get("url", "").startswith(self.base))):
                out.append(f"console error: {p['entry']['text']} "
                           f"{p['entry'].get('url', '')}".strip())
            elif (m == "Network.loadingFailed" and not p.get("canceled")
                  and p.get("requestId") in self.local):
                out.append(f"request failed: {p.get('errorText')} {self.local[p['requestId']]}")
        return out

    def screenshot(self, path: Path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.proc.terminate()
            self.proc.wait(10)
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

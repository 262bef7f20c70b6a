"""Read the built book as a reader does: every page opened in headless Chromium.

For each page of ``_build/html`` (served on 127.0.0.1) it checks that

- no JavaScript error reached the console and no request failed,
- every internal link points at a page that exists (and at an anchor that exists),
- every image of the site loaded (images and scripts from other hosts, such as
  the Colab badge, are not checked: this machine may be offline),
- MathJax ran and rendered every formula (no ``mjx-merror``, no raw ``$$``,
  ``\\(`` or ``\\[`` left in the visible text),
- exercise solutions are hidden until their button is clicked, and shown after,
- on a chapter (a page under ``notebooks/``) no code scrolls sideways: neither a
  cell's input nor highlighted code in its output (``show_source``); printed text
  may. It prints how many characters of code fit a line at the default window,

and saves screenshots of the home page and of one chapter. The book loads
MathJax from a CDN; this machine may have no internet, so the server hands the
browser a local copy of the same MathJax 3 (``npm pack mathjax@3``, cached under
``.venv/mathjax``) in its place.

    python tools/browser_check.py _build/html [--screenshots DIR] [--pages N]

Needs Debian's ``chromium`` (``apt-get install chromium``) and ``websocket-client``;
tools/chromium.py drives it.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from pathlib import Path

from chromium import WINDOW, Chromium

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_CDN = re.compile(rb"https://cdn\.jsdelivr\.net/npm/mathjax@3/es5/")
MATHJAX_VERSION = "3.2.2"


def local_mathjax(cache: Path = ROOT / ".venv" / "mathjax") -> Path:
    """The es5/ folder of MathJax 3, fetched once from the npm registry."""
    es5 = cache / "package" / "es5"
    if not (es5 / "tex-mml-chtml.js").exists():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=cache,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"npm pack mathjax@{MATHJAX_VERSION} failed: {done.stderr.strip()}")
        archive = cache / done.stdout.strip().splitlines()[-1]
        with tarfile.open(archive) as tar:
            tar.extractall(cache, filter="data")
        archive.unlink()
    return es5


class _Handler(http.server.SimpleHTTPRequestHandler):
    mathjax: Path

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/_mathjax/"):
            return self._send(self.mathjax / path[len("/_mathjax/"):])
        if path.endswith(".html") or path.endswith("/"):
            file = Path(self.translate_path(path))
            file = file / "index.html" if file.is_dir() else file
            if file.exists():
                body = MATHJAX_CDN.sub(b"/_mathjax/", file.read_bytes())
                return self._reply(200, "text/html; charset=utf-8", body)
        return super().do_GET()

    def _send(self, file: Path):
        if not file.is_file():
            return self._reply(404, "text/plain", b"not found")
        return self._reply(200, self.guess_type(str(file)), file.read_bytes())

    def _reply(self, code, kind, body):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(folder: Path, mathjax: Path):
    handler = functools.partial(type("Handler", (_Handler,), {"mathjax": mathjax}),
                                directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# Runs in the page once MathJax has finished: everything the checks need, as JSON.
_INSPECT = r"""(() => {
  const skip = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "TEXTAREA", "MJX-CONTAINER",
                        "MJX-ASSISTIVE-MML"]);
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    let el = node.parentElement, hidden = false;
    while (el) { if (skip.has(el.tagName)) { hidden = true; break; } el = el.parentElement; }
    if (!hidden && /\$\$|\\\(|\\\[|\$\\[a-zA-Z]/.test(node.textContent))
      raw.push(node.textContent.trim().slice(0, 80));
  }
  // sphinx-togglebutton hides a solution with visibility: hidden and no height
  const visible = el => el.offsetHeight > 0 && getComputedStyle(el).visibility !== "hidden";
  return {
    raw: raw,
    // A TeX error becomes <mjx-merror>; an undefined macro (MathJax's noundefined) red text.
    mathErrors: (() => {
      const bad = c => c.querySelector("mjx-merror, mjx-mtext[style*='red']");
      let items = [];
      try { items = [...MathJax.startup.document.math]; }
      catch (e) { /* no MathJax on this page */ }
      return [...document.querySelectorAll("mjx-container")].filter(bad).map(c => {
        const item = items.find(it => it.typesetRoot === c);
        return item ? item.math.trim().slice(0, 80) : "(source unknown)";
      }).slice(0, 5);
    })(),
    formulas: document.querySelectorAll("mjx-container").length,
    brokenImages: [...document.images].filter(i => i.src.startsWith(location.origin))
        .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src")),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    ids: [...document.querySelectorAll("[id]")].map(e => e.id),
    solutions: [...document.querySelectorAll(".solution.dropdown")].map(s =>
        [...s.children].filter(c => !c.classList.contains("admonition-title")).some(visible)),
    // Code a reader must scroll sideways: a cell's input, or highlighted code in its
    // output (show_source displays IPython's Code as HTML). Printed text is left out.
    wideCode: [...document.querySelectorAll(".cell_input pre, .cell_output .text_html pre, "
                                            + ".cell_output .text_markdown pre")]
        .filter(pre => pre.scrollWidth > pre.clientWidth + 1).map(pre => ({
          cell: (pre.closest(".cell")?.querySelector(".cell_input pre") || pre).textContent
              .trim().split("\n")[0].slice(0, 60),
          output: pre.closest(".cell_output") !== null,
          longest: Math.max(...pre.textContent.split("\n").map(line => line.length)),
        })),
    // How many characters of code fit a line of the first input cell: its inner width
    // (with the pixel wideCode allows) over the width of one character of its font.
    codeColumn: (() => {
      const pre = document.querySelector(".cell_input pre");
      if (!pre || !pre.clientWidth) return null;
      const probe = pre.appendChild(document.createElement("span"));
      probe.textContent = "0".repeat(100);
      const perChar = probe.getBoundingClientRect().width / 100;
      probe.remove();
      const {paddingLeft, paddingRight} = getComputedStyle(pre);
      const inner = pre.clientWidth - parseFloat(paddingLeft) - parseFloat(paddingRight);
      return Math.floor((inner + 1) / perChar);
    })(),
  };
})()"""

_CLICK_FIRST_SOLUTION = r"""(() => {
  const s = document.querySelector(".solution.dropdown");
  const button = s.querySelector(".toggle-button") || s.querySelector(".admonition-title");
  button.click();
  return new Promise(done => setTimeout(() => done([...s.children]
      .filter(c => !c.classList.contains("admonition-title"))
      .some(c => c.offsetHeight > 0 && getComputedStyle(c).visibility !== "hidden")), 500));
})()"""


_REFRESH = re.compile(rb'<meta[^>]+http-equiv="refresh"[^>]+url=([^"]+)"', re.IGNORECASE)


def redirect_target(page: Path) -> Path | None:
    """Where a meta-refresh page (jupyter-book's index.html) sends the reader, or None."""
    found = _REFRESH.search(page.read_bytes())
    return (page.parent / found.group(1).decode()).resolve() if found else None


def check_page(browser: Chromium, base: str, folder: Path, page: Path, ids_of,
               columns: dict[str, int] | None = None) -> list[str]:
    """The page's problems; a chapter's code column (characters a line) goes in ``columns``."""
    target = redirect_target(page)
    # the browser leaves at once: check where it goes (a page checked on its own)
    if target is not None:
        return [] if target.is_file() else [f"redirect to a missing page: "
                                            f"{target.relative_to(folder)}"]
    url = f"{base}/{page.relative_to(folder).as_posix()}"
    browser.open(url)
    ready = browser.evaluate("window.MathJax && MathJax.startup && MathJax.startup.promise "
                             "? MathJax.startup.promise.then(() => true) : false",
                             await_promise=True)
    browser.evaluate("document.fonts.ready.then(() => true)", await_promise=True)  # code's width
    seen = browser.evaluate(_INSPECT)
    problems = browser.errors()
    if not ready and MATHJAX_CDN.search(page.read_bytes()):
        # the page asks for it (it has math), but it never ran
        problems.append("MathJax did not start")
    problems += [f"raw math left in the text: {t!r}" for t in seen["raw"][:5]]
    problems += [f"MathJax error (a TeX error or an undefined macro) in: {e!r}"
                 for e in seen["mathErrors"]]
    problems += [f"image did not load: {src}" for src in seen["brokenImages"]]
    for link in seen["links"]:
        if not link.startswith(base):
            continue
        target, _, anchor = link[len(base) + 1:].partition("#")
        target = urllib.parse.unquote(target.split("?")[0]) or "index.html"
        file = folder / target
        file = file / "index.html" if file.is_dir() else file
        if not file.exists():
            problems.append(f"dead link: {link[len(base):]}")
        elif anchor and file.suffix == ".html" and urllib.parse.unquote(anchor) not in ids_of(file):
            problems.append(f"link to a missing anchor: {link[len(base):]}")
    if page.relative_to(folder).parts[0] == "notebooks":
        problems += [f"code scrolls sideways: cell {c['cell']!r} "
                     f"({'output' if c['output'] else 'input'}), longest line {c['longest']} "
                     f"characters" for c in seen["wideCode"]]
        if columns is not None and seen["codeColumn"]:
            columns[page.relative_to(folder).as_posix()] = seen["codeColumn"]
    if any(seen["solutions"]):
        problems.append("an exercise solution is visible before its button is clicked")
    elif seen["solutions"] and not browser.evaluate(_CLICK_FIRST_SOLUTION, await_promise=True):
        problems.append("clicking a solution's button does not show it")
    return problems


def check_site(folder: Path, screenshots: Path | None = None, limit: int | None = None,
               mathjax: Path | None = None) -> dict[str, list[str]]:
    """{page: [problems]} for every page (``limit``: the first N) of a built site."""
    folder = folder.resolve()
    pages = sorted(p for p in folder.rglob("*.html")
                   if not p.relative_to(folder).parts[0].startswith("_"))
    pages = pages[:limit] if limit else pages
    server, base = serve(folder, mathjax or local_mathjax())
    browser = Chromium()
    id_cache: dict[Path, set[str]] = {}

    def ids_of(file: Path) -> set[str]:
        if file not in id_cache:
            id_cache[file] = set(re.findall(r'\sid="([^"]+)"',
                                            file.read_text(encoding="utf-8", errors="replace")))
        return id_cache[file]

    try:
        report, columns = {}, {}
        for page in pages:
            report[page.relative_to(folder).as_posix()] = check_page(browser, base, folder, page,
                                                                     ids_of, columns)
        if columns:
            first, *_ = columns.items()
            print(f"code column at the {WINDOW[0]}x{WINDOW[1]} window: {first[1]} characters "
                  f"of code fit a line on {first[0]}"
                  + (f" ({min(columns.values())} to {max(columns.values())} across "
                     f"{len(columns)} chapters)" if len(set(columns.values())) > 1 else ""))
        if screenshots:
            chapters = [p for p in pages if p.parent.name == "notebooks"]
            home = folder / "index.html"
            home = redirect_target(home) or home if home.exists() else None
            for name, page in [("home", home), ("chapter", chapters[0] if chapters else None)]:
                if page is not None and page.exists():
                    browser.open(f"{base}/{page.relative_to(folder).as_posix()}")
                    browser.evaluate("window.MathJax && MathJax.startup "
                                     "? MathJax.startup.promise : 0", await_promise=True)
                    browser.screenshot(screenshots / f"{name}.png")
        return report
    finally:
        browser.close()
        server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=ROOT / "_build" / "html")
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--pages", type=int, default=None, help="only the first N pages")
    args = parser.parse_args()
    start = time.perf_counter()
    report = check_site(args.folder, args.screenshots, args.pages)
    bad = {page: problems for page, problems in report.items() if problems}
    for page, problems in bad.items():
        print(f"{page}:")
        for p in problems:
            print(f"  {p}")
    print(f"{len(report)} pages read in headless Chromium in {time.perf_counter() - start:.0f} s: "
          f"{len(bad)} with problems"
          + (f"; screenshots in {args.screenshots}" if args.screenshots else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

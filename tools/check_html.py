"""Check the built book as a reader sees it:

- math that did not render: any `$$`, `$\\...` or `\\(` left in the visible text of a
  page (outside code, scripts and the MathJax-marked math elements);
- backstage: words and paths that belong to the authors' workshop, not to a reader's
  page (BACKSTAGE below), anywhere a reader can see them, code outputs included.

    python tools/check_html.py [_build/html]     # exit 1 and list the pages
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

RAW_MATH = re.compile(r"\$\$|\$\\[a-zA-Z]|\\\(|\\\[")
SKIP = {"script", "style", "code", "pre", "textarea"}
# Each pattern, with what it gives away. Pages about how the book is built may name the
# project's tests and benchmarks; nothing else here belongs on any page.
BACKSTAGE = {
    r"uncommitted": "a working copy's state as provenance",
    r"design notes|working notes": "the authors' notes",
    r"\bgoal is\b|\bthe [\w-]+ goal\b": "a project goal",
    r"\bcomplete: (?:true|false)\b": "a raw result field",
    r"\bcut (?:off|short) by\b|\d+-minute limit": "how a run was cut short",
    r"to fit the (?:transfer|upload)": "how files reached a machine",
    r"(?<![\w.~])/(?:work|root|home|tmp|Users)/[\w.-]": "a local absolute path",
    r"#\s*NBVAL_": "a test marker",
    r"\bnot installed\b": "a missing yardstick",
    r"\b(?:TODO|FIXME|XXX)\b": "an unfinished note",
    r"\btests/test_\w+\.py|\bbenchmarks/bench_\w+\.py": "a test or benchmark file",
}
BUILD_PAGES = {"how_built.html"}  # the one page that explains the tests and benchmarks
# What a chapter's code may rightly say (an ImportError's message), though no result may.
CODE_MAY_SAY = {"a missing yardstick"}


class VisibleText(HTMLParser):
    def __init__(self, skip=SKIP, skip_classes=("math",)):
        super().__init__()
        self.skip, self.skip_classes, self.stack, self.text = skip, set(skip_classes), [], []

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag in {"br", "img", "meta", "link", "input", "hr"}:
            return
        self.stack.append(tag in self.skip or bool(self.skip_classes & set(classes.split())))

    def handle_endtag(self, tag):
        if self.stack and tag not in {"br", "img", "meta", "link", "input", "hr"}:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.text.append(data)


def raw_math(page: Path) -> list[str]:
    parser = VisibleText()
    parser.feed(page.read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    return [text[max(0, m.start() - 30): m.end() + 30] for m in RAW_MATH.finditer(text)]


def backstage(page: Path) -> list[str]:
    """Backstage words on ``page``, each as 'what it gives away: "...context..."'."""
    html = page.read_text(encoding="utf-8")

    def seen(skip_classes) -> str:
        parser = VisibleText(skip={"script", "style"}, skip_classes=skip_classes)
        parser.feed(html)
        return " ".join(" ".join(parser.text).split())

    everything, beside_code = seen({"math"}), seen({"math", "cell_input"})
    hits = []
    for pattern, what in BACKSTAGE.items():
        if page.name in BUILD_PAGES and what == "a test or benchmark file":
            continue
        text = beside_code if what in CODE_MAY_SAY else everything
        hits += [f'{what}: "{text[max(0, m.start() - 40): m.end() + 40]}"'
                 for m in re.finditer(pattern, text, re.I)]
    return hits


def main(folder: str = "_build/html") -> int:
    pages = sorted(p for p in Path(folder).rglob("*.html") if "_static" not in p.parts)
    problems = 0
    for name, check in (("unrendered math", raw_math), ("backstage", backstage)):
        bad = {p: hits for p in pages if (hits := check(p))}
        for page, hits in bad.items():
            print(f"{page}: {name}: {hits[:3]}")
        print(f"checked {len(pages)} pages: {len(bad)} with {name}")
        problems += len(bad)
    return 1 if problems or not pages else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

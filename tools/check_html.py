"""Check the built book for math that did not render: any `$$`, `$\\...` or
`\\(` left in the visible text of a page (outside code, scripts and the
MathJax-marked math elements) means a formula was not parsed.

    python tools/check_html.py [_build/html]     # exit 1 and list the pages
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

RAW_MATH = re.compile(r"\$\$|\$\\[a-zA-Z]|\\\(|\\\[")
SKIP = {"script", "style", "code", "pre", "textarea"}


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag in {"br", "img", "meta", "link", "input", "hr"}:
            return
        self.stack.append(tag in SKIP or "math" in classes.split())

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


def main(folder: str = "_build/html") -> int:
    pages = sorted(p for p in Path(folder).rglob("*.html") if "_static" not in p.parts)
    bad = {p: raw_math(p) for p in pages}
    bad = {p: hits for p, hits in bad.items() if hits}
    for page, hits in bad.items():
        print(f"{page}: unrendered math: {hits[:3]}")
    print(f"checked {len(pages)} pages: {len(bad)} with unrendered math")
    return 1 if bad or not pages else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""tools/browser_check.py, on a tiny site: a good page passes, and each way a page
can be broken for a reader (a formula MathJax cannot render, raw math, a dead
link, a missing image, a JavaScript error, a redirect to nowhere, chapter code too
wide for its column) is reported by name."""

import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
browser_check = pytest.importorskip("browser_check")
pytest.importorskip("websocket")
if not shutil.which("chromium"):
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

HEAD = """<html><head><script>window.MathJax = {tex: {inlineMath: [["\\\\(", "\\\\)"]]}};</script>
<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script></head><body>"""


def png() -> bytes:
    """A 1x1 PNG."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


GOOD = (r"""<h1 id="top">Good</h1><p>Inline \(a^2 + b^2\) and display</p>"""
        r"""<div>$$\frac{1}{2} \sum_i x_i$$</div>
<img src="dot.png"><a href="other.html#part">other</a> <a href="#top">up</a>""")

BROKEN = {
    "formula": (r"<div>$$\frac{1}{2}\undefinedmacro$$</div>", "MathJax error"),
    "raw": (r"<p>a lone $$ x with no end</p>", "raw math left in the text"),
    "link": ('<a href="missing.html">gone</a>', "dead link: /missing.html"),
    "anchor": ('<a href="other.html#nowhere">gone</a>',
               "link to a missing anchor: /other.html#nowhere"),
    "image": ('<img src="nope.png">', "image did not load: nope.png"),
    "script": ("<script>notAFunction()</script>", "JavaScript exception: ReferenceError"),
}


def cell(code: str, output: str = "") -> str:
    """A code cell as MyST-NB writes it; ``output`` goes in its output area."""
    return (f'<div class="cell"><div class="cell_input"><div class="highlight-ipython3">'
            f'<div class="highlight"><pre>{code}</pre></div></div></div>'
            f'<div class="cell_output">{output}</div></div>')


def shown(code: str) -> str:
    """What ``show_source`` puts in an output: IPython's Code, highlighted as HTML."""
    return f'<div class="output text_html"><div class="highlight"><pre>{code}</pre></div></div>'


def printed(text: str) -> str:
    return (f'<div class="output stream highlight-myst-ansi"><div class="highlight">'
            f'<pre>{text}</pre></div></div>')


# A column of about 60 characters of code, as the book's theme gives one of about 88.
CODE_COLUMN = "<style>.cell pre {width: 60ch; padding: 0 1ch; overflow-x: auto}</style>"
# the widest line that fits, and one character more: the column is measured to the character
NARROW, WIDE = "x = " + "1" * 56, "x = " + "1" * 57
CHAPTERS = {
    "narrow": cell(NARROW, shown(NARROW) + printed("a printed table, wider: " + WIDE)),
    "wide": cell("# the first line names the cell\n" + WIDE) + cell("show_source(f)", shown(WIDE)),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    (folder / "dot.png").write_bytes(png())
    (folder / "other.html").write_text(HEAD + '<h2 id="part">Part</h2></body></html>')
    (folder / "index.html").write_text(HEAD + GOOD + "</body></html>")
    (folder / "redirect_good.html").write_text(
        '<meta http-equiv="Refresh" content="0; url=index.html" />')
    (folder / "redirect_bad.html").write_text(
        '<meta http-equiv="Refresh" content="0; url=nowhere.html" />')
    for name, (body, _) in BROKEN.items():
        (folder / f"broken_{name}.html").write_text(HEAD + GOOD + body + "</body></html>")
    (folder / "notebooks").mkdir()
    for name, body in CHAPTERS.items():
        (folder / "notebooks" / f"{name}.html").write_text(
            HEAD + CODE_COLUMN + body + "</body></html>")
    (folder / "wide_but_no_chapter.html").write_text(HEAD + CODE_COLUMN + CHAPTERS["wide"]
                                                     + "</body></html>")
    return folder


def test_good_pages_pass_and_every_break_is_named(site, tmp_path, capsys):
    report = browser_check.check_site(site, screenshots=tmp_path)
    assert (report["index.html"] == [] and report["other.html"] == []
            and report["redirect_good.html"] == [] and report["notebooks/narrow.html"] == []
            and report["wide_but_no_chapter.html"] == [])
    assert report["notebooks/wide.html"] == [
        "code scrolls sideways: cell '# the first line names the cell' (input), "
        "longest line 61 characters",
        "code scrolls sideways: cell 'show_source(f)' (output), longest line 61 characters"]
    assert "60 characters of code fit a line on notebooks/narrow.html" in capsys.readouterr().out
    assert report["redirect_bad.html"] == ["redirect to a missing page: nowhere.html"]
    for name, (_, message) in BROKEN.items():
        problems = report[f"broken_{name}.html"]
        assert any(p.startswith(message) for p in problems), (name, problems)
        assert len(problems) <= 2, (name, problems)  # the break, not a cascade of false alarms
    assert (tmp_path / "home.png").stat().st_size > 1000  # a real screenshot

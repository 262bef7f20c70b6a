"""The rendered-math check must catch a formula that did not render."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_html", ROOT / "tools" / "check_html.py")
check_html = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_html)

GOOD = """<html><body><p>Loss <span class="math notranslate nohighlight">\\(\\ell = -\\log p\\)</span></p>
<div class="math notranslate nohighlight">\\[\\frac{a}{b}\\]</div>
<pre>print("$$ in code is fine")</pre><script>var x = "\\\\(";</script></body></html>"""


def test_rendered_math_passes_and_raw_math_fails(tmp_path):
    (tmp_path / "good.html").write_text(GOOD)
    assert check_html.main(str(tmp_path)) == 0
    (tmp_path / "bad.html").write_text("<html><body><p>$$ \\frac{a}{b} $$ (eq-x)</p></body></html>")
    assert check_html.raw_math(tmp_path / "bad.html")
    assert check_html.main(str(tmp_path)) == 1
    (tmp_path / "bad.html").write_text("<html><body><p>inline $\\mathbf x$ left raw</p></body></html>")
    assert check_html.main(str(tmp_path)) == 1

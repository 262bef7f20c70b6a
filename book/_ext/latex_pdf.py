"""What the LaTeX builder (``make pdf``) needs that the HTML build does not.

Nothing here changes the HTML build.

* The MathJax macros of ``_config.yml`` (``mathjax3_config.tex.macros``) are
  defined for LaTeX too, so the PDF's formulas use the same one list.
* FreeSerif/FreeMono (Sphinx's XeLaTeX fonts) have no CJK: Japanese text (the
  fastText chapter hashes 日本) switches to IPAGothic, Debian's
  fonts-ipafont-gothic, through ucharclasses (which jupyterBook.cls's preamble
  loads again with [Latin,Greek], a subset of these options).
* The References page holds only the bibliography; the bibliography's own
  chapter heading ("Bibliography", on a new page after an empty "References")
  is dropped, so the entries follow the References heading.
* Remote images (the *Open in Colab* badges, SVGs on colab.research.google.com)
  become their alt text, still a link: LaTeX cannot include an SVG, and an
  offline build cannot fetch it.
* ``show_source`` outputs carry a Pygments ``text/latex`` rendering (macros
  ``\\PY``). myst-nb would put it in a math block; it becomes a code block in
  Sphinx's own frame and colours instead (Sphinx's Pygments macros are ``\\PYG``).
* ``jupyterBook.cls`` (sphinx-jupyterbook-latex) loads ``bbm``, which Debian
  ships only in the 500 MB texlive-fonts-extra; the book never writes
  ``\\mathbbm``, so a two-line stand-in goes next to the .tex instead.
"""

import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

_BBM_STANDIN = r"""\ProvidesPackage{bbm}[2026/01/01 stand-in written by book/_ext/latex_pdf.py]
\providecommand\mathbbm[1]{\mathbb{#1}}
"""


_PREAMBLE = r"""
% book/_ext/latex_pdf.py
\usepackage[Latin,Greek,Japanese]{ucharclasses}
\newfontfamily\bigtextcjk{IPAGothic}
\setTransitionsForJapanese{\begingroup\bigtextcjk}{\endgroup}
\makeatletter
\def\bigtext@nochapter*#1{}
\renewenvironment{sphinxthebibliography}[1]
  {\let\bigtext@chapter\chapter \let\chapter\bigtext@nochapter \let\@mkboth\@gobbletwo
   \begin{thebibliography}{#1}\let\chapter\bigtext@chapter}
  {\end{thebibliography}}
\makeatother
"""


def _macro(name, body):
    """One MathJax macro (``"body"`` or ``["body", nargs]``) as a LaTeX \\def."""
    nargs = 0
    if isinstance(body, (list, tuple)):
        body, nargs = body[0], int(body[1]) if len(body) > 1 else 0
    params = "".join(f"#{i}" for i in range(1, nargs + 1))
    # \def, not \newcommand: jupyterBook.cls already defines some (\argmax as "arg max")
    return f"\\def\\{name}{params}{{{body}}}"


def _add_preamble(app, config):
    macros = ((config.mathjax3_config or {}).get("tex") or {}).get("macros") or {}
    elements = config.latex_elements
    elements["preamble"] = (
        elements.get("preamble", "") + _PREAMBLE
        + "% the MathJax macros of _config.yml\n"
        + "".join(_macro(name, body) + "\n" for name, body in macros.items())
    )


class RemoteImagesToText(SphinxPostTransform):
    """Replace each remote image by its alt text (a badge's link stays)."""

    default_priority = 50  # before sphinx's ImageDownloader (100)
    formats = ("latex",)

    def run(self, **kwargs):
        for image in list(self.document.findall(nodes.image)):
            if "://" in image.get("uri", ""):
                image.replace_self(nodes.Text(image.get("alt") or image["uri"]))


_PYGMENTS_VERBATIM = re.compile(r"\A\s*\\begin\{Verbatim\}\[commandchars=\\\\\\\{\\\}\]")


class PygmentsLatexToCode(SphinxPostTransform):
    """Typeset a Pygments text/latex output as Sphinx typesets a code block."""

    default_priority = 50
    formats = ("latex",)

    def run(self, **kwargs):
        for block in list(self.document.findall(nodes.math_block)):
            text = block.astext()
            if "text_latex" not in block.get("classes", []) or not _PYGMENTS_VERBATIM.match(text):
                continue
            text = text.replace("{Verbatim}", "{sphinxVerbatim}")
            text = re.sub(r"\\PY(?=[{Z])", r"\\PYG", text)
            block.replace_self(nodes.raw("", "\n" + text.strip() + "\n", format="latex"))


def _write_bbm(app):
    if app.builder.format == "latex":
        Path(app.outdir, "bbm.sty").write_text(_BBM_STANDIN, encoding="utf-8")


def setup(app):
    # before sphinx-jupyterbook-latex's own preamble (500), which loads ucharclasses
    app.connect("config-inited", _add_preamble, priority=400)
    app.connect("builder-inited", _write_bbm)
    app.add_post_transform(RemoteImagesToText)
    app.add_post_transform(PygmentsLatexToCode)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

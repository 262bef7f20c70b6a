"""A chapter's check and a test's check are one library function, never two copies.

Where a notebook cell and a test check the same thing, both call the library (as
``formulas.gap_to_torch_optim`` serves notebook 01, its test and experiments/formulas).
This test looks for the copies that rule forbids: runs of ``RUN`` or more consecutive
code lines that a chapter notebook and a test file share, compared by their shape
(every name, number and string replaced by a placeholder, as the `duplicates` tool does),
after dropping blank lines, comments and imports: a copy renamed, re-indented or
re-commented is still a copy.
"""

from __future__ import annotations

import io
import json
import keyword
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = 5


def code_lines(source: str) -> list[str]:
    """The lines that carry code: no blanks, comments, imports, magics or shell lines."""
    out = []
    for line in source.splitlines():
        line = line.split("  #")[0].strip()
        if line and not line.startswith(("#", "import ", "from ", "%", "!")):
            out.append(line)
    return out


def shape(line: str) -> str:
    """``err = W[i] @ C[js].T`` -> ``N = N [ N ] @ N [ N ] . N``: keywords and operators kept."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return line
    placeholder = {tokenize.NUMBER: "0", tokenize.STRING: "S"}
    out = []
    for t in tokens:
        if t.type == tokenize.NAME:
            out.append(t.string if keyword.iskeyword(t.string) else "N")
        elif t.type in placeholder:
            out.append(placeholder[t.type])
        elif t.type == tokenize.OP:
            out.append(t.string)
    return " ".join(out)


def notebook_code(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return code_lines("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))


def shared_runs(a: list[str], b: list[str], run: int = RUN) -> list[list[str]]:
    """Each maximal run of ``run`` or more consecutive lines of ``a`` whose shapes also
    appear, consecutively, in ``b``; the lines are ``a``'s own."""
    sa, sb = [shape(x) for x in a], [shape(x) for x in b]
    starts = {tuple(sb[i:i + run]) for i in range(len(sb) - run + 1)}
    found, i = [], 0
    while i <= len(sa) - run:
        if tuple(sa[i:i + run]) in starts:
            j = i + run
            while j < len(sa) and any(sb[k:k + j + 1 - i] == sa[i:j + 1] for k in range(len(sb))):
                j += 1
            found.append(a[i:j])
            i = j
        else:
            i += 1
    return found


def copies(notebooks: list[Path], tests: list[Path]) -> list[str]:
    tests_code = {t: code_lines(t.read_text()) for t in tests}
    report = []
    for nb in notebooks:
        code = notebook_code(nb)
        for t, lines in tests_code.items():
            for run in shared_runs(code, lines):
                report.append(f"{nb.name} and {t.name} share {len(run)} lines, from: {run[0]}")
    return report


def test_no_notebook_cell_copies_a_test():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert copies(notebooks, sorted((ROOT / "tests").glob("test_*.py"))) == []


def test_a_copied_check_is_found(tmp_path):
    check = ["grad = hand_grad(z, y)", "auto = torch.autograd.grad(loss(z, y), z)[0]",
             "diff = (grad - auto).abs().max()", "print(diff)", "assert diff < 1e-6"]
    nb = tmp_path / "chapter.ipynb"
    cell = "import torch\n" + "\n".join(check) + "\n"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [cell]}]}))
    test = tmp_path / "test_chapter.py"
    body = "\n".join("    " + line + "  # same check" for line in check)
    test.write_text("def test_grad():\n    # the check again, re-indented\n" + body + "\n")
    assert copies([nb], [test]) == [f"chapter.ipynb and test_chapter.py share 5 lines, from: "
                                    f"{check[0]}"]
    renamed = [line.replace("z", "logits").replace("1e-6", "1e-5") for line in check]
    test.write_text("def test_grad():\n" + "\n".join("    " + line for line in renamed) + "\n")
    assert len(copies([nb], [test])) == 1  # other names and numbers: the same check
    test.write_text("def test_grad():\n" + "\n".join("    " + line for line in check[:4]) + "\n")
    assert copies([nb], [test]) == []  # four shared lines are not yet a copy

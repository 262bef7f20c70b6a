"""The library's imports point only down its layers, and no import closes a cycle.

Every import is read from the source with ``ast``: at module level and inside functions
(a lazy import is still a dependency, only a later one). The layers, lowest first, and
the reason each sits where it does, are below; an edge that is neither inside one unit
nor down the list fails the test, unless ``EXCEPTIONS`` names it and says why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[1] / "bigtext_lite"

LAYERS = [
    {"errors", "config", "io", "checkpoint", "formulas", "metrics"},  # import nothing of ours
    {"data"},  # IMDB, tokenising, batching: knows nothing of models
    {"fasttext"},  # hashing, its file format, the classifier (formulas.huffman_codes)
    {"vectors", "models", "baselines"},  # vectors reuse fastText's hashing and Hogwild
    {"train"},  # the loop trains any model; no model imports it
    {"experiments"},  # what produces and compares the book's numbers
    {"book"},  # the command line, assignments, notebook helpers
]
# (from unit, to unit) -> why that edge against the order is there. Empty: none is needed.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def unit(module: str) -> str:
    """``bigtext_lite.fasttext.hashing`` -> ``fasttext``; ``bigtext_lite.io`` -> ``io``."""
    return module.split(".")[1] if module.count(".") else ""


def modules(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (a ``bigtext_lite`` folder) by its dotted name."""
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, name: str, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(module imported, line) for every import of the library in one file. ``from pkg
    import x`` counts as an import of ``pkg.x`` where that is a module, else of ``pkg``."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..data import y
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if not base.startswith("bigtext_lite"):
                continue
            for a in node.names:
                target = f"{base}.{a.name}"
                out.append((target if target in known else base, node.lineno))
    return out


def graph(root: Path) -> dict[str, list[tuple[str, int]]]:
    known = modules(root)
    return {name: imports(path, name, known) for name, path in known.items()}


def layer_problems(root: Path) -> list[str]:
    """Each import against the layer order, as 'file:line: a -> b (why it is wrong)'."""
    level = {u: i for i, units in enumerate(LAYERS) for u in units}
    problems = []
    for name, edges in graph(root).items():
        src = unit(name)
        for target, line in sorted(set(edges)):
            dst = unit(target)
            if not src or not dst or src == dst or (src, dst) in EXCEPTIONS:
                continue
            where = f"{name.replace('.', '/')}.py:{line}: {name} -> {target}"
            if src not in level or dst not in level:
                problems.append(f"{where} ({src if src not in level else dst} is in no layer)")
            elif level[dst] >= level[src]:
                problems.append(f"{where} ({dst} is not below {src})")
    return problems


def cycles(root: Path) -> list[list[str]]:
    """Import cycles between modules (each found once), by depth-first search."""
    edges = {m: sorted({t for t, _ in e if t != m}) for m, e in graph(root).items()}
    found, state = [], {}  # state: 1 on the current path, 2 finished

    def visit(m, path):
        state[m] = 1
        for t in edges.get(m, []):
            if state.get(t) == 1:
                found.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    return found


def test_every_unit_of_the_library_has_a_layer():
    level = {u for units in LAYERS for u in units}
    assert {unit(m) for m in modules(LIBRARY)} - {""} <= level


def test_imports_only_point_down_the_layers():
    assert layer_problems(LIBRARY) == []


def test_no_import_cycles():
    assert cycles(LIBRARY) == []


def test_exceptions_are_edges_that_exist_and_say_why():
    edges = {(unit(a), unit(b)) for a, e in graph(LIBRARY).items() for b, _ in e}
    for (src, dst), why in EXCEPTIONS.items():
        assert (src, dst) in edges, f"{src} -> {dst} is listed but no longer imported"
        assert len(why.split()) >= 5, f"say why {src} -> {dst} is allowed"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / "bigtext_lite"


@pytest.mark.parametrize("where", ["module", "function"])
def test_an_upward_import_is_caught(tmp_path, where):
    upward = "from bigtext_lite.train import fit\n"
    if where == "function":
        upward = "def load():\n    from bigtext_lite.train.loop import fit\n"
    root = write(tmp_path, {"bigtext_lite/__init__.py": "", "bigtext_lite/data/__init__.py": "",
                            "bigtext_lite/data/imdb.py": "import os\n" + upward,
                            "bigtext_lite/train/__init__.py": "",
                            "bigtext_lite/train/loop.py": "from bigtext_lite.data import imdb\n"})
    problems = layer_problems(root)
    line = 2 if where == "module" else 3
    assert len(problems) == 1 and "bigtext_lite.data.imdb -> bigtext_lite.train" in problems[0]
    assert (f"bigtext_lite/data/imdb.py:{line}" in problems[0]
            and "train is not below data" in problems[0])


def test_a_cycle_and_a_relative_import_are_caught(tmp_path):
    root = write(tmp_path, {"bigtext_lite/__init__.py": "", "bigtext_lite/fasttext/__init__.py":
                            "from bigtext_lite.fasttext.model import FastText\n",
                            "bigtext_lite/fasttext/model.py": "from . import hashing\n",
                            "bigtext_lite/fasttext/hashing.py": "from .. import fasttext\n"})
    assert layer_problems(root) == []  # inside one unit: the layers allow it
    assert cycles(root) == [["bigtext_lite.fasttext", "bigtext_lite.fasttext.model",
                             "bigtext_lite.fasttext.hashing", "bigtext_lite.fasttext"]]

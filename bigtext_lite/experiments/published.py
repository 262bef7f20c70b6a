"""The published results when the repository is not at hand.

On Colab a chapter runs in an empty folder, with the library pip-installed from the
book's release (``git+https://github.com/<owner>/<repo>@<tag>``): there is no
``results/`` folder above it. pip records where it installed from (PEP 610's
``direct_url.json``: the address and the exact commit), so the chapter can still read
the published run of *that* commit: from raw.githubusercontent.com for a GitHub
install, or from the folder of a ``file://`` one.
"""

from __future__ import annotations

import json
import urllib.request
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from bigtext_lite import config
from bigtext_lite.io import write_json_atomic

RAW = "https://raw.githubusercontent.com"  # GitHub serves a commit's files here


def installed_from(package: str = "bigtext-lite") -> tuple[str, str] | None:
    """(address, commit) this package was installed from with git; None otherwise
    (an editable or index install, or no record)."""
    try:
        text = metadata.distribution(package).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    record = json.loads(text) if text else {}
    commit = record.get("vcs_info", {}).get("commit_id")
    return (record["url"], commit) if commit and record.get("url") else None


def source_of(url: str, commit: str, name: str) -> str | Path | None:
    """Where ``results/<name>`` of ``commit`` lives: a file of a local clone, a raw GitHub
    address, or None for a host we do not know."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path)) / "results" / name
    if parsed.netloc == "github.com":
        repo = parsed.path.strip("/").removesuffix(".git")
        return f"{RAW}/{repo}/{commit}/results/{name}"
    return None


def fetch_result(name: str, timeout: float = 20.0) -> dict | None:
    """``results/<name>`` of the commit the library was installed from (cached after the
    first download), or None when it cannot be had; says why in one line."""
    origin = installed_from()
    if origin is None:
        return None
    source = source_of(*origin, name)
    if isinstance(source, Path):
        return json.loads(source.read_text(encoding="utf-8")) if source.exists() else None
    if source is None:
        return None
    cached = config.cache_dir() / "results" / origin[1] / name
    if not cached.exists():
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:
                data = json.loads(response.read().decode("utf-8"))  # JSON only, never code
        except (OSError, ValueError) as err:
            print(f"could not read the published {name} from {source} ({err})")
            return None
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(cached, data)
    return json.loads(cached.read_text(encoding="utf-8"))

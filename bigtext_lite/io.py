"""Files that are never half-written: temp file, flush, fsync, rename.

A file is written to a temporary name in the same folder, flushed and fsync'ed,
then renamed over the old one (``os.replace`` is atomic on POSIX and Windows), so
a crash at any moment leaves either the old or the new file, never half of one.
Every file the library writes (vocabularies, caches, vector files, checkpoints)
goes through here.

Walkthrough: notebooks/04_training_loop.ipynb, "Checkpoints and resume".
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch


def write_atomic(path: str | Path, write, keep: str | Path | None = None) -> Path:
    """Write a file through ``write(binary_file)`` atomically: temp file, flush,
    fsync, rename, fsync the folder. Readers see the old file or the new one,
    never half of one; on an error the old file is untouched. ``keep``: move the
    file being replaced there first (a rename too), so one older version survives."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # remove_stale_temps knows it
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if keep is not None and path.exists():
            os.replace(path, keep)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only still there if something above failed
    if hasattr(os, "O_DIRECTORY"):  # make the renames themselves durable (POSIX)
        fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def remove_stale_temps(folder: str | Path, names: tuple[str, ...]) -> None:
    """Delete the temp files a killed :func:`write_atomic` left for ``names`` in
    ``folder``: only our own pattern (``.NAME.PID.tmp``), only when process PID is gone."""
    for tmp in Path(folder).glob(".*.tmp"):
        m = re.fullmatch(r"\.(.+)\.(\d+)\.tmp", tmp.name)
        if m and m[1] in names and not _alive(int(m[2])):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX; elsewhere there is no safe probe)."""
    if pid == os.getpid() or os.name != "posix":  # on Windows os.kill would end the process
        return pid == os.getpid()
    try:
        os.kill(pid, 0)  # signal 0 delivers nothing: it only asks whether pid exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


def save_atomic(obj, path: str | Path) -> Path:
    """``torch.save`` to ``path`` atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda f: torch.save(obj, f))


def write_json_atomic(path: str | Path, obj, **dump_kwargs) -> Path:
    """``json.dump`` to ``path`` atomically (see :func:`write_atomic`).
    ``dump_kwargs`` go to ``json.dumps``."""
    data = json.dumps(obj, ensure_ascii=False, **dump_kwargs).encode("utf-8")
    return write_atomic(path, lambda f: f.write(data))

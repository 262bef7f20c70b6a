"""Run code from strangers in a throwaway Jupyter kernel, for ``bigtext check``.

Each run gets a fresh temporary working folder (also its HOME and TMPDIR), deleted
afterwards; a short environment (none of the grader's tokens or keys); a time limit per
cell; and, when the grader runs as root, an unprivileged account (``nobody``) for the
kernel. Afterwards every process the code started is killed: the kernel's process group,
and on Linux also any process that left the group (``setsid``) or was orphaned (a double
fork), because the grader is a child subreaper while the kernel runs, so orphans come back
to it instead of to init. It blocks neither the network nor reads of files the account can
read, and sets no memory, CPU or disk limits.

Walkthrough: book/instructors.md
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager

KEEP_ENV = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "VIRTUAL_ENV"}
KEEP_PREFIXES = ("BIGTEXT_", "OMP_", "MKL_", "CUDA_")
_LINUX = sys.platform.startswith("linux")
_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37
_QUIET = logging.getLogger("bigtext.check")  # nbclient's timeout and kernel-death messages:
_QUIET.addHandler(logging.NullHandler())  # the grade reports them in one line instead
_QUIET.propagate = False


class SandboxError(Exception):
    """The sandbox cannot be set up as asked (an unknown account, a root account)."""


@dataclass
class Run:
    outputs: list[list[dict]]  # per cell, the outputs it produced ([] if it did not run)
    status: list[str | None]  # per cell, the kernel's execute_reply status: "ok", "error", None
    error: str | None = None  # why the run stopped early, in one line


class _KernelManager(AsyncKernelManager):
    """A kernel manager that hands the connection file to the sandbox account (the kernel
    cannot start without reading it) and remembers the kernel's process group."""

    owner: tuple[int, int] | None = None
    pgid: int | None = None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.owner:
            os.chown(self.connection_file, *self.owner)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self.pgid = getattr(self.provisioner, "pgid", None)  # its own: start_new_session=True


@functools.cache
def account(user: str | None) -> tuple[tuple[int, int] | None, str | None]:
    """(uid, gid) to run kernels as, and why not when it cannot be ``user``'s. Only root can
    switch accounts, so a non-root grader runs submissions as itself; a root grader whose
    Python the account cannot run (it lives under /root, say) runs them as root, and says so."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not user:
        return None, None
    import pwd  # POSIX only, as is being root

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise SandboxError(f"cannot run submissions as {user!r}: no such account "
                           f"(pass --user with an unprivileged one)") from None
    if entry.pw_uid == 0:
        raise SandboxError(f"--user {user!r} is root: submissions must run unprivileged")
    owner = entry.pw_uid, entry.pw_gid
    try:  # what the kernel will import, as the account, in a folder it may not write
        probe = subprocess.run([sys.executable, "-c", "import ipykernel, bigtext_lite"],
                               user=owner[0], group=owner[1], extra_groups=[], cwd="/",
                               env=_environment(Path("/nonexistent")), capture_output=True,
                               text=True, timeout=120)
        failed = probe.returncode and (probe.stderr.strip().splitlines() or ["no output"])[-1]
    except (OSError, subprocess.TimeoutExpired) as err:
        failed = f"{type(err).__name__}: {err}"
    if failed:
        return None, (f"submissions run as root: {user!r} cannot run {sys.executable} with "
                      f"this project ({failed}); make them readable by {user!r} or pass --user")
    return owner, None


def _environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEEP_ENV or k.startswith(KEEP_PREFIXES)}
    env.update(HOME=str(workdir), TMPDIR=str(workdir), IPYTHONDIR=str(workdir / ".ipython"),
               MPLBACKEND="Agg")
    return env


def _descendants(root: int) -> set[int]:
    """Every process below ``root``, from the parent ids in /proc."""
    parent = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:  # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # it ended while we looked
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def _subreaper(on: int) -> int:
    """Set whether orphans below us are re-parented to us (Linux); returns the old setting."""
    libc = ctypes.CDLL(None, use_errno=True)
    old = ctypes.c_int(0)
    libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(old), 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, on, 0, 0, 0)
    return old.value


def _kill_leftovers(pgid: int | None, before: set[int]) -> None:
    """SIGKILL the kernel's process group, then (Linux) every process below us that was not
    there before the kernel started, until none is left; reap the ones re-parented to us."""
    if pgid and hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already
    for _ in range(100) if _LINUX else ():
        left = _descendants(os.getpid()) - before
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, os.WNOHANG)
            except (ProcessLookupError, ChildProcessError, PermissionError):
                pass  # gone; not our child yet (its parent dies first); or setuid (not ours)
        time.sleep(0.05)


def _describe(err: Exception, name: str | None, timeout: float, log) -> str:
    """One line for why a run stopped: no traceback, the grade says the rest."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(err, CellTimeoutError):
        return f"{name} was still running after {timeout:g} s (--timeout): stopped there"
    where = f" in {name}" if name else " before the first cell"
    if isinstance(err, DeadKernelError):
        return f"the kernel died{where} (os._exit, a kill, a crash or no memory left)"
    log.seek(0)
    said = [line for line in log.read().decode(errors="replace").splitlines() if line.strip()]
    reason = f"; the kernel said: {said[-1]}" if said else ""
    return f"the kernel failed{where}: {type(err).__name__}: {err}".splitlines()[0] + reason


def _client(nb, timeout: float, status: list, started: list):
    """An nbclient runner that records each cell's start and its execute_reply status."""
    from nbclient import NotebookClient

    def executed(cell, cell_index, execute_reply):
        status[cell_index] = (execute_reply or {}).get("content", {}).get("status")

    # a long iopub_timeout costs nothing (the wait ends at the kernel's idle message) and on a
    # loaded machine keeps the last outputs of a cell, which scoring reads, from being dropped
    return NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                          shutdown_kernel="immediate", iopub_timeout=max(10, timeout),
                          log=_QUIET,
                          kernel_manager_class=_KernelManager, on_cell_executed=executed,
                          on_cell_start=lambda cell, cell_index: started.append(cell_index))


def run(cells: list[str], names: list[str], timeout: float, user: str | None = "nobody") -> Run:
    """Run ``cells`` (code) top to bottom in one fresh kernel, each for at most ``timeout``
    seconds; ``names`` say which cell is which in messages. An error in a cell does not stop
    the run; a timeout or a dead kernel does."""
    owner, _ = account(user)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    status: list[str | None] = [None] * len(cells)
    started: list[int] = []
    workdir = Path(tempfile.mkdtemp(prefix="bigtext-check-"))
    log = tempfile.TemporaryFile()  # the kernel's stdout and stderr: ZMQ noise, start failures
    client = _client(nb, timeout, status, started)
    km = client.create_kernel_manager()
    km.owner, km.connection_file = owner, str(workdir / ".kernel.json")
    launch = dict(cwd=str(workdir), env=_environment(workdir), stdout=log, stderr=log)
    if owner:
        os.chown(workdir, *owner)
        launch.update(user=owner[0], group=owner[1], extra_groups=[])
    old = _subreaper(1) if _LINUX else 0
    before = _descendants(os.getpid()) if _LINUX else set()
    error = None
    try:
        client.execute(**launch)
    except Exception as err:  # a timeout, a dead kernel, a kernel that would not start
        error = _describe(err, names[started[-1]] if started else None, timeout, log)
    finally:
        atexit.unregister(client._cleanup_kernel)  # nbclient leaves it there when a start fails
        _kill_leftovers(km.pgid, before)
        if _LINUX:
            _subreaper(old)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return Run([list(c.get("outputs", [])) for c in nb.cells], status, error)

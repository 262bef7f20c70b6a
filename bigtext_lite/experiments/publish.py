"""The published run: every chapter's experiment in the book's order, one profile, into
results/: ``bigtext publish [--profile full] [--only lstm,bert]`` (or ``make publish``).

It resumes chapter by chapter. A chapter whose result is complete, from this very commit
and on this device, is kept; one cut off (its file says ``complete: false``), from another
commit or another device runs again from its start. So a machine lent for commands of
a few minutes each reruns the same command until every chapter is kept. A chapter that
fails is reported and the others still run.

A published number must come from code a reader can check out: the command refuses a
working copy whose library differs from its commit (``allow_uncommitted`` is for tests).
It writes ``results/publish-<profile>.json``: for each chapter whether it ran, was kept
or failed, and its seconds (a kept one's, those of the run that made it), with the
commit, the device, their total and this command's own time.
Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

from bigtext_lite import config
from bigtext_lite.config import SettingError
from bigtext_lite.experiments import CHAPTERS, code_hash_at, environment, result_name, run_chapter
from bigtext_lite.io import write_json_atomic

# the book's order: the cheap chapters first, so a failure in setup shows in seconds
ORDER = ("formulas", "text_pipeline", "training_loop", "baselines", "fasttext",
         "word_vectors", "lstm", "bert")


def kept(path: Path, env: dict) -> dict | None:
    """The result at ``path`` if it is complete and from this commit's code, on this
    device."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, or cut off while being written
        return None
    same = (old.get("complete") is True and old.get("device") == env["device"]
            and all(old.get(key) == env[key] for key in ("git_commit", "code_hash")))
    return old if same else None


def publish(profile: str = "full", out_dir: str | Path = "results",
            only: list[str] | None = None, allow_uncommitted: bool = False,
            run=run_chapter) -> dict:
    """Run each chapter of ``only`` (default: all, in :data:`ORDER`) that is not
    :func:`kept`; return (and write) the summary. ``run`` is :func:`run_chapter`,
    replaceable in tests."""
    profile = config.parse_profile(profile, "profile")
    unknown = sorted(set(only or ()) - set(CHAPTERS))
    if unknown:
        raise SettingError(f"unknown chapter(s) {', '.join(unknown)}; choose from "
                           f"{', '.join(ORDER)}")
    env = environment()
    if not env["git_commit"] or ("+" in env["git_commit"] and not allow_uncommitted):
        raise SettingError(f"the library is at {env['git_commit'] or 'no git commit'}: "
                           f"commit it first, so that every result names code a reader "
                           f"can check out")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"profile": profile, "git_commit": env["git_commit"], "device": env["device"],
               "date": env["date"], "chapters": {}, "complete": False}
    start = time.perf_counter()
    for chapter in [c for c in ORDER if only is None or c in only]:
        path = out_dir / result_name(chapter, profile)
        old = kept(path, env)
        if old is not None:  # its seconds are those of the run that made it
            summary["chapters"][chapter] = {"status": "kept", "seconds": old["wall_seconds"]}
            print(f"{chapter}: kept {path} (complete, this commit and device)", flush=True)
            continue
        print(f"{chapter}: running the {profile} profile", flush=True)
        began = time.perf_counter()
        try:
            run(chapter, profile, out_dir)
            status = {"status": "ran"}
        except Exception as err:  # noqa: BLE001 - one chapter's failure must not stop the rest
            traceback.print_exc()
            status = {"status": "failed", "error": f"{type(err).__name__}: {err}"[:500]}
        status["seconds"] = round(time.perf_counter() - began, 1)
        summary["chapters"][chapter] = status
        print(f"{chapter}: {status['status']} in {status['seconds']:.0f} s", flush=True)
        write_json_atomic(out_dir / f"publish-{profile}.json", summary, indent=2)
    # every chapter's run, kept ones included: the whole run's time over all the commands
    summary["seconds"] = round(sum(c["seconds"] for c in summary["chapters"].values()), 1)
    summary["this_command_seconds"] = round(time.perf_counter() - start, 1)
    summary["complete"] = all(c["status"] != "failed" for c in summary["chapters"].values())
    write_json_atomic(out_dir / f"publish-{profile}.json", summary, indent=2)
    return summary


def provenance_problems(results_dir: str | Path, repo: str | Path) -> list[str]:
    """What is wrong with the results' provenance: each result that names a commit and
    the digest of the code that ran (``code_hash``) must name a commit of ``repo`` whose
    code has that digest; a run that ran other code than its commit's, or names a
    commit the repository lacks, is listed."""
    problems, digests = [], {}
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            problems.append(f"{path.name}: not JSON ({err})")
            continue
        if not isinstance(result, dict):
            continue  # not a run's result
        commit, ran = result.get("git_commit"), result.get("code_hash")
        if not commit or not ran or "+" in commit:
            continue  # no claim to check (a run marked as uncommitted says so itself)
        if commit not in digests:
            digests[commit] = code_hash_at(commit, Path(repo))
        if digests[commit] is None:
            problems.append(f"{path.name}: commit {commit} is not in this repository")
        elif digests[commit] != ran:
            problems.append(f"{path.name}: ran code {ran}, but commit {commit}'s code is "
                            f"{digests[commit]}: it was not run from that commit")
    return problems

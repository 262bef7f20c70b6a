"""One fastText training in a fresh process, timed there: what :mod:`.official` starts as

    python -m bigtext_lite.experiments.official_worker HOW TRAINING_FILE KWARGS_JSON OUT

HOW is ``bigtext_lite`` (ours, ``bigtext_lite.fasttext.train_supervised``) or the name of
the official package's function (``train_supervised``, ``train_unsupervised``). The model
is saved to OUT and the last line printed is JSON: ``seconds`` and ``cpu_seconds`` of the
training call alone (this process and the Hogwild workers it started), and for ours its
words per second per thread while training. The clock starts after the imports, and this
module imports a trainer only once HOW has picked it.

Walkthrough: notebooks/04_fasttext.ipynb.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def cpu_seconds() -> float:
    """CPU time of this process's threads and of its ended children (the Hogwild workers)."""
    return sum(sum(resource.getrusage(who)[:2])
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def main(argv: list[str] | None = None) -> None:
    how, path, kwargs, out = argv or sys.argv[1:]
    kwargs = json.loads(kwargs)
    if how == "bigtext_lite":
        from bigtext_lite import fasttext as ft

        start, start_cpu = time.perf_counter(), cpu_seconds()
        model = ft.train_supervised(path, verbose=False, **kwargs)
        stats = {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - start_cpu,
                 "train_words_per_s_per_thread": model.stats["train_words_per_s"]
                 / model.stats["thread"]}
        model.save(out)
    else:
        import fasttext

        start, start_cpu = time.perf_counter(), cpu_seconds()
        model = getattr(fasttext, how)(path, **kwargs)
        stats = {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - start_cpu}
        model.save_model(out)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()

"""One fastText training in a fresh process, timed there: what :mod:`.official` starts as

    python -m bigtext_lite.experiments.official_worker HOW TRAINING_FILE KWARGS_JSON OUT

HOW is one of OURS (``bigtext_lite``: ``bigtext_lite.fasttext.train_supervised``;
``skipgram``: ``bigtext_lite.vectors.skipgram.train_unsupervised`` on the file's lines) or
the name of the official package's function (``train_supervised``, ``train_unsupervised``).
The model is saved to OUT and the last line printed is JSON: ``seconds`` and
``cpu_seconds`` of the training call alone (this process and the Hogwild workers it
started; for ``skipgram`` reading the file counts, as it does for the official), and for
ours its words per second per thread (supervised) or seconds (skip-gram) while training.
The clock starts after the imports, and this module imports a trainer only once HOW has
picked it.

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

import json
import resource
import sys
import time

OURS = ("bigtext_lite", "skipgram")


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
    elif how == "skipgram":
        from bigtext_lite.fasttext import split_tokens
        from bigtext_lite.vectors import skipgram

        start, start_cpu = time.perf_counter(), cpu_seconds()
        with open(path, encoding="utf-8") as f:
            texts = [split_tokens(line) for line in f]
        model = skipgram.train_unsupervised(texts, verbose=False, **kwargs)
        stats = {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - start_cpu,
                 "train_s": model.stats["train_s"]}
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

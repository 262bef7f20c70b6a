"""The small chapter runs: the word-vectors probes reward what they claim to measure, and
the formulas run checks every derivation; the Results page renders both kinds of table."""

import numpy as np

from bigtext_lite.experiments import vector_probes
from bigtext_lite.vectors import Vectors


def test_neighbour_rating_agreement_sees_whether_neighbours_share_ratings():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    ratings = {w: float(i % 10 + 1) for i, w in enumerate(words)}
    # vectors that cluster by rating: neighbours share it
    centres = rng.normal(0, 1, (10, 16))
    clustered = Vectors(words, np.stack([centres[i % 10] + 0.05 * rng.normal(0, 1, 16)
                                         for i in range(200)]))
    shuffled = Vectors(words, rng.normal(0, 1, (200, 16)))
    assert vector_probes.neighbour_rating_agreement(clustered, ratings, words) > 0.95
    assert abs(vector_probes.neighbour_rating_agreement(shuffled, ratings, words)) < 0.3


def test_analogy_probe_scores_vectors_built_to_solve_one_relation():
    rng = np.random.default_rng(1)
    pairs = vector_probes.RELATIONS["plural"]
    offset = rng.normal(0, 1, 32)
    words, rows = [], []
    for a, b in pairs:
        base = rng.normal(0, 1, 32)
        words += [a, b]
        rows += [base, base + offset]  # b - a is the same vector for every pair
    vecs = Vectors(words, np.stack(rows))
    scores = vector_probes.analogy_accuracy(vecs)
    # gender words are missing: counted wrong
    assert scores["plural"] == 1.0 and scores["gender"] == 0.0
    assert abs(scores["all"] - 1 / 3) < 1e-9


def test_formulas_run_checks_every_derivation_and_the_results_page_renders_it(tmp_path):
    import json
    import sys
    from pathlib import Path

    from bigtext_lite.experiments import run_chapter

    path = run_chapter("formulas", "quick", tmp_path)
    result = json.loads(Path(path).read_text())
    # float64: any wrong formula is far off
    assert len(result["rows"]) >= 10 and result["worst_error"] < 1e-8
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import render_results

    facts = {"chapter": "text_pipeline", "profile": "quick", "device": "CPU", "torch": "2",
             "date": "today", "git_commit": "abc",
             "facts": {"reviews": 5000, "padding, random batches of 32 (%)": 41.5}}
    (tmp_path / "text_pipeline-quick.json").write_text(json.dumps(facts))
    page = render_results.render(tmp_path)
    assert "| Adam, 100 steps | torch.optim.Adam |" in page
    assert "| reviews | 5,000 |" in page and "| padding, random batches of 32 (%) | 41.5 |" in page


def test_every_chapter_has_committed_quick_results():
    from pathlib import Path

    from bigtext_lite.experiments import CHAPTERS, result_name

    results = Path(__file__).resolve().parents[1] / "results"
    missing = [c for c in CHAPTERS if not (results / result_name(c, "quick")).exists()]
    assert not missing, f"run `bigtext run {missing[0]} --profile quick` and commit results/"


def test_a_run_is_marked_only_when_the_code_differs_from_its_commit(tmp_path):
    import subprocess

    from bigtext_lite.experiments import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "bigtext_lite").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "bigtext_lite" / "model.py").write_text("x = 1\n")
    (tmp_path / "results" / "lstm-quick.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    clean = git_commit(tmp_path / "bigtext_lite")
    assert clean and "+" not in clean
    (tmp_path / "results" / "lstm-quick.json").write_text('{"rows": []}\n')  # a run's output
    (tmp_path / "notes.md").write_text("prose\n")
    assert git_commit(tmp_path) == clean
    (tmp_path / "bigtext_lite" / "lstm.py").write_text("y = 2\n")  # a new module, not added
    assert git_commit(tmp_path) == clean + "+uncommitted changes"
    (tmp_path / "bigtext_lite" / "lstm.py").unlink()
    (tmp_path / "bigtext_lite" / "model.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == clean + "+uncommitted changes"


def test_lstm_run_reports_the_tested_epochs_validation_and_picks_the_best_by_it(
        real_root, monkeypatch):
    """A small LSTM run: with early stopping the weights tested are the best epoch's,
    so each row's val_acc is that epoch's, and the headline is the row best on it."""
    from bigtext_lite.experiments import lstm

    histories, train = [], lstm.train

    def recorded(model, data, s, **kwargs):
        histories.append(train(model, data, s, **kwargs))
        return histories[-1]

    monkeypatch.setattr(lstm, "train", recorded)
    s = lstm.Settings(max_train=300, max_test=200, max_len=40, embed_dim=8, hidden=8,
                      num_epochs=3, patience=1, lr=1e-2,
                      configs=("random, mean pooling", "random, max pooling"))
    result = lstm.run(s)
    assert [r["config"] for r in result["rows"]] == list(s.configs)
    for row, history in zip(result["rows"], histories):
        assert row["val_acc"] == round(max(history.column("val_acc")), 4)
        assert row["epochs_run"] == len(history.epochs)
    best = max(result["rows"], key=lambda r: r["val_acc"])
    assert (result["best_config"], result["test_acc"]) == (best["config"], best["test_acc"])

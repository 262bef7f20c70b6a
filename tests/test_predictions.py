"""A run's saved per-review predictions (experiments/predictions.py): the decision of each
review survives the rounding, and predictions are never paired with other reviews."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bigtext_lite.experiments import full_run_or, load_predictions, predictions, run_chapter

TEXTS = ["good film", "bad film", "a film", "fine"]


def test_rounding_keeps_every_decision_and_the_labels():
    probs = np.array([0.5004, 0.4996, 0.5, 0.9])  # 0.5 itself is negative, as in predict
    saved = predictions.pack(TEXTS, [1, 0, 1, 1], {"m": probs})
    assert saved["labels"] == "1011" and saved["permille"]["m"] == [501, 500, 500, 900]
    labels, back = predictions.unpack(json.loads(json.dumps(saved)), TEXTS)
    assert labels.tolist() == [1, 0, 1, 1]
    assert ((back["m"] > 0.5) == (probs > 0.5)).all()
    np.testing.assert_allclose(back["m"], probs, atol=1e-3)


def test_predictions_of_other_reviews_or_of_the_wrong_size_are_refused():
    saved = predictions.pack(TEXTS, [1, 0, 1, 1], {"m": [0.9, 0.1, 0.6, 0.7]})
    with pytest.raises(ValueError, match="other test reviews"):
        predictions.unpack(saved, TEXTS[::-1])  # the same reviews in another order
    with pytest.raises(ValueError, match="m: 3 predictions for 4 reviews"):
        predictions.pack(TEXTS, [1, 0, 1, 1], {"m": [0.9, 0.1, 0.6]})


TINY = {  # chapter: (settings small enough for a test, where its test texts come from)
    "baselines": {"max_train": 400, "max_test": 200},
    "lstm": {"max_train": 300, "max_test": 100, "max_len": 40, "embed_dim": 8, "hidden": 8,
             "num_epochs": 1, "vector_texts": 300, "vector_num_epochs": 1, "seeds": 2},
    "bert": {"max_train": 60, "max_test": 30, "max_len": 32, "batch_size": 8, "seeds": 2},
}


@pytest.mark.slow
@pytest.mark.parametrize("chapter", TINY)
def test_a_run_saves_the_predictions_its_chapter_reads(chapter, tmp_path, monkeypatch,
                                                       real_root):
    from bigtext_lite.experiments import chapter_module

    module = chapter_module(chapter)
    path = Path(run_chapter(chapter, "quick", tmp_path / "results", overrides=TINY[chapter]))
    result = json.loads(path.read_text())
    assert result["predictions"] == f"predictions/{chapter}-quick.json"
    assert "permille" not in path.read_text()  # the result file stays small
    monkeypatch.chdir(tmp_path)  # where a chapter finds results/
    s = module.Settings.for_profile("quick").with_overrides(TINY[chapter])
    texts = (module.prepare(s)[2].texts if chapter == "baselines"
             else module.prepare(s)["test_texts"])
    labels, probs = load_predictions(texts, chapter, "quick")
    assert len(labels) == len(texts) == result["test_size"]
    kept = set(module.SAVED) if chapter == "baselines" else {result["best_config"]}
    assert set(probs) == kept
    for row in result["rows"]:  # the saved predictions give the accuracy the run reported
        name = row["config"].rsplit(",", 1)[0] if chapter == "baselines" else row["config"]
        if name in probs:
            assert predictions.accuracy(probs[name], labels) == pytest.approx(row["test_acc"],
                                                                              abs=1e-4)
    if chapter != "baselines":  # the headline again with seed 1: its spread over seeds
        seeds = result["seeds"]
        assert seeds["config"] == result["best_config"] and len(seeds["test_accs"]) == 2
        assert seeds["test_accs"][0] == result["test_acc"]
        assert seeds["mean"] == pytest.approx(np.mean(seeds["test_accs"]), abs=1e-4)
        assert seeds["sd"] == pytest.approx(np.std(seeds["test_accs"], ddof=1), abs=1e-4)


def test_the_confident_mistakes_are_the_wrong_decisions_surest_first():
    positive = np.array([0.9, 0.2, 0.6, 0.05, 0.51])  # P(positive)
    labels = np.array([0, 0, 0, 1, 1])  # wrong: 0 (sure 0.9), 2 (0.6), 3 (0.95)
    assert predictions.confident_mistakes(positive, labels).tolist() == [3, 0, 2]
    assert predictions.confident_mistakes(positive, labels, k=1).tolist() == [3]


def test_a_chapter_reads_the_full_runs_predictions_when_saved_else_its_own(tmp_path,
                                                                           monkeypatch):
    texts = ["good", "bad", "fine"]  # the full run's test reviews

    def here():
        return "the model above", texts[:2], np.array([1, 0]), np.array([0.7, 0.1])

    monkeypatch.chdir(tmp_path)  # where a chapter finds results/
    assert full_run_or("fixture", texts, here)[0] == "the model above"
    saved = predictions.pack(texts, [1, 0, 1], {"random, max pooling": [0.8, 0.3, 0.4]})
    (tmp_path / "results" / "predictions").mkdir(parents=True)
    (tmp_path / "results" / "predictions" / "fixture-full.json").write_text(json.dumps(saved))
    who, read, labels, positive = full_run_or("fixture", texts, here)
    assert who == "the full run's model (random, max pooling)" and read is texts
    assert labels.tolist() == [1, 0, 1] and positive.tolist() == [0.8, 0.3, 0.4]
    with pytest.raises(ValueError, match="other test reviews"):
        full_run_or("fixture", texts[::-1], here)  # never paired with other reviews


def test_the_seeds_line_names_the_spread_only_when_there_is_one():
    seeds = predictions.over_seeds("b", [0.9, 0.92, 0.91])
    assert seeds == {"config": "b", "test_accs": [0.9, 0.92, 0.91], "mean": 0.91, "sd": 0.01}
    assert predictions.seeds_line({"seeds": seeds}) == (
        "b over 3 seeds: 91.00% ± 1.00% (mean ± standard deviation; each: 90.00%, 92.00%, "
        "91.00%)")
    assert predictions.seeds_line({"seeds": predictions.over_seeds("b", [0.9])}) is None
    assert predictions.seeds_line({}) is None

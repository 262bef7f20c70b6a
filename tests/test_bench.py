"""The benchmarks' bookkeeping, never their timings: min and median of the ratios, the
command line a row records, the table run_all.py prints (a failed benchmark shown as
failed), the merge of an --only run into the previous file, and the sentence a chapter
quotes. The benchmarks themselves are `make bench` (minutes, and no timed tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # benchmarks/ is scripts, not a package

import bench_fasttext  # noqa: E402
import common  # noqa: E402
import run_all  # noqa: E402

from bigtext_lite.experiments import bench  # noqa: E402

LSTM = {"piece": "lstm", "title": "bidirectional LSTM on CPU, batch 32",
        "ours": {"name": "packed-exact LSTM", "value": 0.05182, "unit": "s/step"},
        "reference": {"name": "the padded nn.LSTM", "value": 0.0436, "unit": "s/step"},
        "ratios": [0.84, 0.88], "min": 0.84, "median": 0.86, "repeats": 2,
        "load_before": [0.95, 1.0, 1.0], "load_after": [1.1, 1.0, 1.0],
        "command": "python benchmarks/bench_lstm.py --batch 32",
        "note": "PyTorch PackedSequence 0.31x", "benchmark": "lstm",
        "date": "2026-12-02 08:20 UTC", "git_commit": "abc1234", "cpu_count": 2}
WORDPIECE_FAILED = {"benchmark": "wordpiece", "failed": "FileNotFoundError: no minilm | here",
                    "command": "python benchmarks/bench_wordpiece.py --limit 5000"}


def test_spread_is_the_min_and_median_of_the_ratios_per_repeat():
    s = common.spread(iter([1.2, 0.8, 0.85]))  # a generator, as the scripts pass
    assert s == {"ratios": [1.2, 0.8, 0.85], "min": 0.8, "median": 0.85}
    assert common.spread([0.5, 1.5, 0.7, 0.9])["median"] == 0.8  # even: the middle two's mean
    with pytest.raises(ValueError, match="at least one repeat"):
        common.spread([])


def test_the_recorded_command_is_retypeable_without_the_temporary_json():
    script = str(ROOT / "benchmarks" / "bench_lstm.py")
    argv = [script, "--batch", "32", "--json", "/tmp/x.json", "--repeats", "2", "--json=/tmp/y"]
    assert common.command(argv) == "python benchmarks/bench_lstm.py --batch 32 --repeats 2"


def test_a_row_has_every_field_the_table_and_quote_read(monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(ROOT / "benchmarks" / "bench_lstm.py"), "--json", "x"])
    r = common.row("lstm", "t", ("ours", 2, "s"), ("theirs", 1, "s"), [0.5, 0.7], [1, 1, 1],
                   note="n")
    assert (r["min"], r["median"], r["repeats"]) == (0.5, 0.6, 2)
    assert r["ours"] == {"name": "ours", "value": 2.0, "unit": "s"}
    assert r["command"] == "python benchmarks/bench_lstm.py" and len(r["load_after"]) == 3


def test_the_table_shows_each_measurement_and_a_failed_benchmark_as_failed():
    lines = run_all.table([LSTM, WORDPIECE_FAILED]).splitlines()
    assert lines[0].startswith("| piece | ours | reference | ratio") and len(lines) == 4
    assert lines[2] == ("| bidirectional LSTM on CPU, batch 32 "
                        "| packed-exact LSTM: 0.0518 s/step | the padded nn.LSTM: 0.0436 s/step "
                        "| 0.84 / 0.86; PyTorch PackedSequence 0.31x | 2; load 0.95 → 1.10 "
                        "| `python benchmarks/bench_lstm.py --batch 32` |")
    # a | in an error message would cut the markdown row in two
    assert lines[3].startswith("| wordpiece | **failed** | – "
                               "| FileNotFoundError: no minilm \\| here |")
    big = {"name": "x", "value": 170193.4, "unit": "words/s"}
    assert run_all.amount(big) == "x: 170,193 words/s"
    assert run_all.amount({**big, "value": 4.4649e6}) == "x: 4.46M words/s"


def test_a_failure_is_told_by_its_last_line(tmp_path, monkeypatch):
    assert run_all.last_error_line(["Traceback (most recent call last):\n", "  File x\n",
                                    "ValueError: bad size\n", "\n"]) == "ValueError: bad size"
    assert run_all.last_error_line([]) == "no output"
    broken = tmp_path / "broken.py"
    broken.write_text("print('started')\nraise ValueError('no such size')\n")
    silent = tmp_path / "silent.py"
    silent.write_text("")
    monkeypatch.setitem(run_all.BENCHMARKS, "broken", [str(broken)])
    monkeypatch.setitem(run_all.BENCHMARKS, "silent", [str(silent)])
    assert run_all.run_one("broken", timeout=60) == ([], "ValueError: no such size")
    rows, why = run_all.run_one("silent", timeout=60)
    assert rows == [] and "wrote no --json rows" in why


def test_an_only_run_replaces_its_own_rows_and_keeps_the_others():
    old_lstm = {**LSTM, "min": 0.5}
    word2vec = {**LSTM, "piece": "word2vec", "benchmark": "word2vec"}
    merged = run_all.merge([WORDPIECE_FAILED, old_lstm, word2vec], [LSTM], ["lstm"])
    assert merged == [word2vec, WORDPIECE_FAILED, LSTM]  # in BENCHMARKS' order
    assert run_all.chosen("lstm, wordpiece") == ["lstm", "wordpiece"]
    with pytest.raises(SystemExit, match="unknown benchmark lstms"):
        run_all.chosen("lstms")


def test_quote_is_one_sentence_from_the_latest_run(capsys):
    result = {"rows": [LSTM, WORDPIECE_FAILED]}
    assert bench.quote("lstm", result) == (
        "our packed-exact LSTM runs at 0.84x the speed of the padded nn.LSTM (measured in "
        "s/step; min of 2 alternated repeats, median 0.86; 2 CPU cores, 2026-12-02, commit "
        "abc1234); PyTorch PackedSequence 0.31x")
    assert bench.quote("wordpiece", result) is None
    hint = capsys.readouterr().out
    assert "it has lstm" in hint and "failed on the latest run: wordpiece" in hint


def test_quote_without_a_results_file_says_what_writes_it(monkeypatch, capsys):
    monkeypatch.setattr(bench, "find_published", lambda name: None)
    assert bench.quote("lstm") is None
    hint = capsys.readouterr().out
    assert "`make bench`" in hint and "bigtext run" not in hint  # which does not write it


def test_the_fasttext_settings_make_bench_names_are_the_benchmarks_own():
    args = run_all.BENCHMARKS["fasttext"]
    names = args[args.index("--settings") + 1].split(",")
    assert len(names) == 4 and bench_fasttext.unknown_settings(names) == []
    # a misspelt name would be skipped without a word: it is named instead
    assert bench_fasttext.unknown_settings(["unigrams", "bigram"]) == ["bigram"]

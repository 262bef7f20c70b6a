"""fastText's supervised training and the trained classifier: it learns, predicts,
saves and loads; bad input is skipped with a warning or refused with a clear error."""

from __future__ import annotations

import platform
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from fasttext_helpers import WORDS, toy_examples

from bigtext_lite import fasttext as ft
from bigtext_lite.checkpoint import CheckpointError
from bigtext_lite.experiments import official
from bigtext_lite.experiments.official import train_official
from bigtext_lite.io import save_atomic


@pytest.mark.parametrize("loss", ["softmax", "hs", "ns"])
def test_training_learns_the_toy_task(loss):
    train, test = toy_examples(600, seed=1), toy_examples(200, seed=2)
    clf = ft.train_supervised(train, lr=0.5, dim=16, epoch=5, wordNgrams=2, bucket=10_000,
                              loss=loss, verbose=False)
    n, precision, recall = clf.test(test)
    assert n == 200 and precision == recall and precision > 0.95


def test_one_vs_all_predicts_several_labels():
    rng = random.Random(0)
    examples = []
    fruit = [("__label__a", "apple"), ("__label__b", "banana")]
    for _ in range(600):
        labels = [label for label, _ in fruit if rng.random() < 0.5]
        words = [word for label, word in fruit if label in labels]
        examples.append((labels or ["__label__none"], words + rng.sample(WORDS, 3)))
    clf = ft.train_supervised(examples, lr=0.5, dim=8, epoch=10, loss="ova", verbose=False)
    labels, probs = clf.predict("apple banana the movie", k=3, threshold=0.5)
    assert set(labels) == {"__label__a", "__label__b"} and min(probs) > 0.5


def test_predict_save_load_round_trip(tmp_path):
    clf = ft.train_supervised(toy_examples(300), lr=0.5, dim=8, epoch=3, wordNgrams=2,
                              bucket=1000, verbose=False)
    labels, probs = clf.predict("great fun movie", k=2)
    assert labels[0] == "__label__pos" and probs[0] > probs[1] and abs(sum(probs) - 1) < 1e-5
    clf.save(tmp_path / "model.pt")
    loaded = ft.FastTextClassifier.load(tmp_path / "model.pt")
    assert loaded.predict("great fun movie", k=2) == (labels, probs)
    assert loaded.predict(["awful", "plot"])[0] == ["__label__neg"]


def test_loading_another_checkpoint_names_the_file_and_what_it_lacks(tmp_path):
    """A checkpoint that FastTextClassifier.save did not write (an LSTM's model.pt, a
    dict of other things) is refused with its path and what is missing."""
    torch.save({"w": torch.zeros(2)}, tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match=r"w.pt is not a saved fastText classifier: it holds "
                                              r"a dict with keys \['w'\], which lacks 'args', "
                                              r"'dictionary', 'model'"):
        ft.FastTextClassifier.load(tmp_path / "w.pt")
    save_atomic(torch.nn.LSTM(4, 3).state_dict(), tmp_path / "model.pt")  # as lstm.save does
    with pytest.raises(CheckpointError, match=r"model.pt is not a saved fastText classifier: "
                                              r"it holds a dict with keys \['weight_ih_l0'"):
        ft.FastTextClassifier.load(tmp_path / "model.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match=r"list.pt is not a saved fastText classifier: "
                                              r"it holds a list"):
        ft.FastTextClassifier.load(tmp_path / "list.pt")


def test_lines_without_labels_are_skipped_with_a_warning(tmp_path):
    path = tmp_path / "train.txt"
    lines = [f"{' '.join(labs)} {' '.join(t)}" for labs, t in toy_examples(100)]
    lines[3] = "no label on this line"
    lines[7] = ""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"2 of 100 lines have no label and were skipped "
                                         r"\(lines \[4, 8\]\)"):
        ft.train_supervised(str(path), epoch=1, verbose=False)


def test_unseen_labels_in_test_are_dropped_with_a_warning():
    clf = ft.train_supervised(toy_examples(200), lr=0.5, epoch=2, verbose=False)
    data = [(["__label__pos"], ["great"]), (["__label__meh"], ["plot"]),
            (["__label__neg", "__label__meh"], ["bad"])]
    with pytest.warns(UserWarning, match=r"2 gold labels never seen in training were dropped: "
                                         r"\['__label__meh'\]"):
        n, precision, recall = clf.test(data)
    assert n == 2  # the line with only an unseen label is skipped, as fastText does


def test_empty_and_unknown_texts_get_the_prior():
    clf = ft.train_supervised(toy_examples(200), lr=0.5, epoch=2, verbose=False)
    empty, unknown = clf.predict("", k=2), clf.predict("zzz qqq", k=2)
    assert empty == unknown and len(empty[0]) == 2  # both are just </s>


def test_hogwild_threads_train_a_shared_model():
    clf = ft.train_supervised(toy_examples(600, seed=3), lr=0.5, dim=8, epoch=4, thread=2,
                              verbose=False)
    assert clf.test(toy_examples(200, seed=4))[1] > 0.95


def test_lines_left_without_features_are_skipped_or_refused():
    data = [(["__label__a"], ["x"] * 3), (["__label__b"], ["y"])]
    with pytest.warns(UserWarning, match="1 lines have no feature left at minCount=3"):
        # only "x" is kept; </s> occurs twice
        clf = ft.train_supervised(data, minCount=3, epoch=1, verbose=False)
    assert clf.dictionary.words == ["x"]
    with pytest.raises(ValueError, match="no line has a feature left at minCount=5"):
        ft.train_supervised(data, minCount=5, epoch=1, verbose=False)


def test_official_rows_past_its_initialised_block_start_at_zero(tmp_path):
    """The official fastText fills only thread/10 of its input matrix and leaves the
    rest as the allocator returned it: in a small model, reused heap memory, at times
    a NaN that stops training ("Encountered NaN."). Through train_official those rows
    are exactly zero (epoch=0: the matrix as initialised, before any update)."""
    pytest.importorskip("fasttext")
    path = ft.write_file(tmp_path / "train.txt", [t for _, t in toy_examples(50)],
                         [labs for labs, _ in toy_examples(50)])
    official, _ = train_official(path, epoch=0, dim=4, verbose=0, thread=1)
    flat = official.get_input_matrix().reshape(-1)
    block = flat.size // 10  # what uniform() fills with one thread
    assert np.count_nonzero(flat[:block]) == block
    assert np.count_nonzero(flat[block:]) == 0


# Heap churn that leaves freed, 0xff-filled chunks where glibc's per-thread cache
# hands them to the next aligned allocation the size of the official's input matrix
# for the toy files (15 words x dim 4), then reads that allocation as floats.
_HEAP_CHURN = """
import ctypes, math, struct
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.posix_memalign.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_size_t]
chunks = []
for _ in range(16):
    chunks.append(libc.malloc(352))
    libc.malloc(24)  # a guard, so that freed neighbours do not merge
for c in chunks:
    libc.free(c)
for _ in range(7):
    libc.malloc(352)
p = ctypes.c_void_p()
libc.posix_memalign(ctypes.byref(p), 64, 240)
print(sum(math.isnan(x) for x in struct.unpack("60f", ctypes.string_at(p.value, 240))))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the official's env is glibc's")
@pytest.mark.parametrize("env", ["official", "perturb alone"])
def test_the_officials_environment_hands_out_no_nan_after_heap_churn(env):
    """MALLOC_PERTURB_ alone leaves a cached chunk as free() filled it, NaN (the CI's
    "Encountered NaN." in a toy training); official_env() turns that cache off."""
    environ = official.official_env()
    if env == "perturb alone":
        environ.pop("GLIBC_TUNABLES")
    done = subprocess.run([sys.executable, "-c", _HEAP_CHURN], env=environ,
                          capture_output=True, text=True, check=True)
    nans = int(done.stdout)  # of 60 floats; the cache's own pointer can keep a few
    assert nans == 0 if env == "official" else nans > 50


def test_settings_of_ours_alone_train_the_official_at_its_own(tmp_path):
    """A compared setting with batch_size and row_steps trains ours with them and the
    official, which has neither, without them (it would refuse unknown arguments)."""
    pytest.importorskip("fasttext")
    examples = toy_examples(60)
    paths = [ft.write_file(tmp_path / f"{name}.txt", [t for _, t in examples],
                           [labs for labs, _ in examples]) for name in ("train", "test")]
    setting = ("large", dict(epoch=1, dim=4, batch_size=16, row_steps="mean"))
    rows = official.compare_with_official(*paths, [setting], thread=1)
    ours = next(r for r in rows if r["implementation"] == "bigtext_lite")
    assert (ours["model"].args.batch_size, ours["model"].args.row_steps) == (16, "mean")
    assert len(rows) == 2 and all(0 <= r["test_acc"] <= 1 for r in rows)

"""fastText from scratch: hashing parity with the official package, training, I/O, bad input."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch

from bigtext_lite.models import fasttext as ft

WORDS = ["good", "great", "fun", "bad", "awful", "dull", "the", "movie", "plot", "café", "naïve",
         "日本", "🎬", "x"]


def toy_examples(n=400, seed=0):
    rng = random.Random(seed)
    pos, neg, filler = WORDS[:3], WORDS[3:6], WORDS[6:]
    out = []
    for _ in range(n):
        label = rng.choice(["__label__pos", "__label__neg"])
        words = [rng.choice(pos if label.endswith("pos") else neg)] + rng.sample(filler, 4)
        rng.shuffle(words)
        out.append(([label], words))
    return out


def test_fnv1a_known_values_and_sign_extension():
    assert ft.fasttext_hash("") == 2166136261
    assert ft.fasttext_hash("a") == 0xE40C292C  # the published 32-bit FNV-1a of "a"

    def naive(token):  # FNV-1a over unsigned bytes
        h = 2166136261
        for b in token.encode():
            h = ((h ^ b) * 16777619) & 0xFFFFFFFF
        return h

    assert ft.fasttext_hash("movie") == naive("movie")  # ASCII: identical
    assert ft.fasttext_hash("café") != naive("café")  # bytes >= 0x80 are sign-extended


def test_vectorised_features_equal_the_reference_ngram_code():
    examples = toy_examples(50)
    d = ft.Dictionary.build(examples, word_ngrams=3, bucket=997)
    many = d.features_many([toks for _, toks in examples])
    for (_, toks), got in zip(examples, many):
        tokens = toks + [ft.EOS]
        words = [d.word_id[t] for t in tokens if t in d.word_id]
        grams = [len(d.words) + b for b in ft.ngram_buckets([ft.fasttext_hash(t) for t in tokens], 3, 997)]
        assert sorted(got.tolist()) == sorted(words + grams)
        assert sorted(d.features(toks).tolist()) == sorted(words + grams)


def test_hash_parity_with_official_fasttext(tmp_path):
    """Same tokens, same n-grams, same buckets: our features index the official
    model's input matrix to give exactly its sentence vector."""
    pytest.importorskip("fasttext")
    examples = toy_examples(300)
    path = ft.write_file(tmp_path / "train.txt", [t for _, t in examples], [l for l, _ in examples])
    official, _ = ft.train_official(path, wordNgrams=3, bucket=5003, dim=8, epoch=5, verbose=0, thread=1)
    ours = ft.Dictionary.build(examples, word_ngrams=3, bucket=5003)
    matrix = official.get_input_matrix()
    nwords = len(official.words)
    assert sorted(official.words) == sorted(ours.words)
    texts = [["café", "naïve", "日本", "🎬", "unseen-wörd", "plot"], ["the", "movie"], ["x"], []]
    for tokens in texts:
        ids = [official.get_word_id(ours.words[i]) if i < len(ours.words) else nwords + i - len(ours.words)
               for i in ours.features(tokens)]
        ours_vec = matrix[ids].mean(0)
        np.testing.assert_allclose(ours_vec, official.get_sentence_vector(" ".join(tokens)), atol=1e-6)


@pytest.mark.parametrize("loss", ["softmax", "hs", "ns"])
def test_training_learns_the_toy_task(loss):
    train, test = toy_examples(600, seed=1), toy_examples(200, seed=2)
    clf = ft.train_supervised(train, lr=0.5, dim=16, epoch=5, wordNgrams=2, bucket=10_000, loss=loss,
                              verbose=False)
    n, precision, recall = clf.test(test)
    assert n == 200 and precision == recall and precision > 0.95


def test_hs_probabilities_sum_to_one_over_labels():
    counts = [50, 30, 10, 5, 3, 2]
    model = ft.FastText(100, len(counts), 8, "hs", counts)
    torch.nn.init.normal_(model.output)
    hidden = torch.randn(4, 8)
    torch.testing.assert_close(model.log_probs(hidden).exp().sum(-1), torch.ones(4))


def test_one_vs_all_predicts_several_labels():
    rng = random.Random(0)
    examples = []
    for _ in range(600):
        labels = [l for l, w in [("__label__a", "apple"), ("__label__b", "banana")] if rng.random() < 0.5]
        words = [w for l, w in [("__label__a", "apple"), ("__label__b", "banana")] if l in labels]
        examples.append((labels or ["__label__none"], words + rng.sample(WORDS, 3)))
    clf = ft.train_supervised(examples, lr=0.5, dim=8, epoch=10, loss="ova", verbose=False)
    labels, probs = clf.predict("apple banana the movie", k=3, threshold=0.5)
    assert set(labels) == {"__label__a", "__label__b"} and min(probs) > 0.5


def test_predict_save_load_round_trip(tmp_path):
    clf = ft.train_supervised(toy_examples(300), lr=0.5, dim=8, epoch=3, wordNgrams=2, bucket=1000,
                              verbose=False)
    labels, probs = clf.predict("great fun movie", k=2)
    assert labels[0] == "__label__pos" and probs[0] > probs[1] and abs(sum(probs) - 1) < 1e-5
    clf.save(tmp_path / "model.pt")
    loaded = ft.FastTextClassifier.load(tmp_path / "model.pt")
    assert loaded.predict("great fun movie", k=2) == (labels, probs)
    assert loaded.predict(["awful", "plot"])[0] == ["__label__neg"]


def test_lines_without_labels_are_skipped_with_a_warning(tmp_path):
    path = tmp_path / "train.txt"
    lines = [f"{' '.join(l)} {' '.join(t)}" for l, t in toy_examples(100)]
    lines[3] = "no label on this line"
    lines[7] = ""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"2 of 100 lines have no label and were skipped \(lines \[4, 8\]\)"):
        ft.train_supervised(str(path), epoch=1, verbose=False)


def test_unseen_labels_in_test_are_dropped_with_a_warning():
    clf = ft.train_supervised(toy_examples(200), lr=0.5, epoch=2, verbose=False)
    data = [(["__label__pos"], ["great"]), (["__label__meh"], ["plot"]), (["__label__neg", "__label__meh"], ["bad"])]
    with pytest.warns(UserWarning, match=r"2 gold labels never seen in training were dropped: \['__label__meh'\]"):
        n, precision, recall = clf.test(data)
    assert n == 2  # the line with only an unseen label is skipped, as fastText does


def test_empty_and_unknown_texts_get_the_prior():
    clf = ft.train_supervised(toy_examples(200), lr=0.5, epoch=2, verbose=False)
    empty, unknown = clf.predict("", k=2), clf.predict("zzz qqq", k=2)
    assert empty == unknown and len(empty[0]) == 2  # both are just </s>


def test_non_utf8_names_line_and_byte(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"__label__pos good film\n__label__neg caf\xe9 awful\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2, byte 17: not valid UTF-8"):
        ft.read_file(path)
    assert ft.read_file(path, encoding_errors="replace")[1] == (["__label__neg"], ["caf\ufffd", "awful"])


def test_no_labels_at_all_and_bad_loss_are_refused():
    with pytest.raises(ValueError, match="no line has a label"):
        ft.Dictionary.build([([], ["a", "b"])])
    with pytest.raises(ValueError, match="loss must be"):
        ft.FastText(10, 2, 4, loss="hinge")


def test_hogwild_threads_train_a_shared_model():
    clf = ft.train_supervised(toy_examples(600, seed=3), lr=0.5, dim=8, epoch=4, thread=2, verbose=False)
    assert clf.test(toy_examples(200, seed=4))[1] > 0.95


def test_split_tokens_follows_fasttext_whitespace_not_pythons():
    official_space = set(" \n\r\t\v\f\0")
    for c in map(chr, range(0x110000)):
        if c.isspace() or c in official_space:
            expected = ["a", "b"] if c in official_space else [f"a{c}b"]
            assert ft.split_tokens(f"a{c}b") == expected, repr(c)


def test_tokens_match_the_official_reader(tmp_path):
    """The official package's own tokenizer (get_line) agrees on the characters
    where Python's str.split() and fastText differ."""
    pytest.importorskip("fasttext")
    path = ft.write_file(tmp_path / "train.txt", [t for _, t in toy_examples(50)], [l for l, _ in toy_examples(50)])
    official, _ = ft.train_official(path, epoch=1, dim=4, verbose=0, thread=1)
    for line in ["a\xa0b c", "a\x1cb c", "a\x00b\tc\x0bd\x0ce\rf", "x\u3000y\u2028z", "café\x85 日本"]:
        words, _ = official.get_line(line)
        assert ft.parse_line(line) == ([], words[:-1])  # get_line ends with </s>


def test_official_rows_past_its_initialised_block_start_at_zero(tmp_path):
    """The official fastText fills only thread/10 of its input matrix and leaves the
    rest as the allocator returned it: in a small model, reused heap memory, at times
    a NaN that stops training ("Encountered NaN."). Through train_official those rows
    are exactly zero (epoch=0: the matrix as initialised, before any update)."""
    pytest.importorskip("fasttext")
    path = ft.write_file(tmp_path / "train.txt", [t for _, t in toy_examples(50)], [l for l, _ in toy_examples(50)])
    official, _ = ft.train_official(path, epoch=0, dim=4, verbose=0, thread=1)
    flat = official.get_input_matrix().reshape(-1)
    block = flat.size // 10  # what uniform() fills with one thread
    assert np.count_nonzero(flat[:block]) == block
    assert np.count_nonzero(flat[block:]) == 0


def test_vectorised_hashes_equal_the_reference():
    rng = random.Random(0)
    tokens = ["", "a", "café", "日本", "🎬", "x" * 300, "y" * 257, "movie"]
    tokens += ["".join(rng.choice("abzé日🎬") for _ in range(rng.randint(0, 30))) for _ in range(500)]
    assert ft.fasttext_hashes(tokens).tolist() == [ft.fasttext_hash(t) for t in tokens]
    assert ft.fasttext_hashes([]).shape == (0,)


def test_distinct_rows_with_weights_give_the_same_mean():
    rng = np.random.default_rng(0)
    counts = np.array([5, 1, 12, 3])
    ids = rng.integers(0, 6, counts.sum()).astype(np.int32)  # many repeats within a text
    table = rng.normal(size=(6, 3))
    distinct, per_text, weights = ft.distinct_per_text(ids, counts)
    assert per_text.sum() == len(distinct) < len(ids)
    at, dt = np.cumsum(counts) - counts, np.cumsum(per_text) - per_text
    for t in range(len(counts)):
        raw = ids[at[t]:at[t] + counts[t]]
        rows, w = distinct[dt[t]:dt[t] + per_text[t]], weights[dt[t]:dt[t] + per_text[t]]
        assert len(set(rows.tolist())) == len(rows) and set(rows.tolist()) == set(raw.tolist())
        np.testing.assert_allclose(w @ table[rows], table[raw].mean(0), rtol=1e-6)


@pytest.mark.parametrize("loss", ["softmax", "hs", "ns", "ova"])
def test_sgd_step_is_one_autograd_sgd_step(loss):
    """The hand-written update equals autograd's gradient of FastText.loss, applied
    by plain SGD, for every loss (same negatives for ns)."""
    torch.manual_seed(0)
    num_labels, dim, lr = 5, 6, 0.3
    model = ft.FastText(40, num_labels, dim, loss, label_counts=[9, 5, 3, 2, 1], neg=3)
    with torch.no_grad():
        model.output.normal_()
    texts = [torch.randint(0, 40, (n,)) for n in (7, 3, 11)]
    texts[0][:3] = 4  # a row three times in one text
    targets = (torch.rand(3, num_labels) < 0.4).float() if loss == "ova" else torch.tensor([0, 3, 4])
    raw = torch.cat(texts)
    offsets = torch.tensor([0, 7, 10])

    reference = copy.deepcopy(model)
    torch.manual_seed(1)
    negatives = reference._sample_negatives(targets) if loss == "ns" else None
    expected_loss = reference.loss(reference(raw, offsets), targets, negatives)
    expected_loss.backward()
    with torch.no_grad():
        for p in reference.parameters():
            p -= lr * p.grad

    ids, per_text, weights = ft.distinct_per_text(raw.numpy(), np.array([7, 3, 11]))
    lengths = torch.from_numpy(per_text)
    torch.manual_seed(1)
    got_loss = model.sgd_step(torch.from_numpy(ids), torch.cumsum(lengths, 0) - lengths, torch.from_numpy(weights),
                              lengths, targets, lr)
    torch.testing.assert_close(got_loss, expected_loss.detach())
    torch.testing.assert_close(model.output, reference.output)
    torch.testing.assert_close(model.input.weight, reference.input.weight)


def test_read_indexed_in_parts_equals_read_file(tmp_path):
    lines = [f"__label__{'pos' if i % 3 else 'neg'} w{i % 7} café\xa0{i} ok" for i in range(40)]
    lines[5] = "no label here"
    lines[9] = ""
    lines[12] = "mid __label__pos line\r"
    lines[30] = "日本 __label__neg 🎬\x00x"
    path = tmp_path / "data.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    examples = ft.read_file(path)
    kept = [(labs, toks) for labs, toks in examples if labs]
    distinct, rows, lengths = ft.index_tokens([toks for _, toks in kept])
    for parts in (1, 2, 3, 7):
        n, unlabelled, labels, (d2, r2, l2) = ft.read_indexed(path, parts)
        assert n == 40 and unlabelled == [6, 10] and labels == [labs for labs, _ in kept]
        assert [d2[i] for i in r2] == [distinct[i] for i in rows] and l2.tolist() == lengths.tolist()


def test_non_utf8_in_a_later_part_names_its_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"".join(b"__label__a fine line %d\n" % i for i in range(30)) + b"__label__b bad \xff here\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 31, byte 16: not valid UTF-8"):
        ft.read_indexed(path, 3)


def test_permute_texts_moves_whole_texts():
    indexed = ft.index_tokens([["a", "b"], ["c"], ["d", "e", "f"]])
    distinct, rows, lengths = ft.permute_texts(indexed, np.array([2, 0, 1]))
    assert [distinct[i] for i in rows] == ["d", "e", "f", "</s>", "a", "b", "</s>", "c", "</s>"]
    assert lengths.tolist() == [4, 3, 2]


def test_lines_left_without_features_are_skipped_or_refused():
    data = [(["__label__a"], ["x"] * 3), (["__label__b"], ["y"])]
    with pytest.warns(UserWarning, match="1 lines have no feature left at minCount=3"):
        clf = ft.train_supervised(data, minCount=3, epoch=1, verbose=False)  # only "x" is kept; </s> occurs twice
    assert clf.dictionary.words == ["x"]
    with pytest.raises(ValueError, match="no line has a feature left at minCount=5"):
        ft.train_supervised(data, minCount=5, epoch=1, verbose=False)

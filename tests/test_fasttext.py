"""fastText from scratch: hashing parity with the official package, training, I/O, bad input."""

from __future__ import annotations

import copy
import random
from collections import Counter

import numpy as np
import pytest
import torch

from bigtext_lite import fasttext as ft
from bigtext_lite.fasttext import supervised
from bigtext_lite.experiments.official import train_official, write_imdb

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
    official, _ = train_official(path, wordNgrams=3, bucket=5003, dim=8, epoch=5, verbose=0, thread=1)
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
    official, _ = train_official(path, epoch=1, dim=4, verbose=0, thread=1)
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
    official, _ = train_official(path, epoch=0, dim=4, verbose=0, thread=1)
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


def read_indexed_reference(path):
    """What read_indexed computes, the readable way: read_file, then index_tokens."""
    examples = ft.read_file(path)
    kept = [(labs, toks) for labs, toks in examples if labs]
    unlabelled = [n for n, (labs, _) in enumerate(examples, start=1) if not labs]
    indexed = ft.index_tokens([toks for _, toks in kept])
    return len(examples), unlabelled, [labs for labs, _ in kept], indexed


def assert_reads_as_the_reference(path, piece_bytes=1 << 20):
    n, unlabelled, labels, (distinct, rows, lengths) = ft.read_indexed(path, piece_bytes)
    n2, unlabelled2, labels2, (distinct2, rows2, lengths2) = read_indexed_reference(path)
    assert (n, unlabelled, labels) == (n2, unlabelled2, labels2)
    assert distinct == distinct2  # the same ids: first occurrences in labelled lines
    assert rows.tolist() == rows2.tolist() and lengths.tolist() == lengths2.tolist()


TRICKY_LINES = [
    "zeta alpha 日本",  # unlabelled: its words count only where a labelled line has them
    "__label__b alpha zeta </s> mid",  # a literal </s> is the end-of-line word
    "mid __label__pos line\r",
    "日本 __label__neg 🎬\x00x\tcafé\xa0naïve\x0bv\x0cf",  # \xa0 is not fastText whitespace
    "",
    "__label__a __label__b",  # labels only: the line is just </s>
    # tokens of 8, 9, 16, 17 and more bytes that share their first bytes
    "__label__a abcdefgh abcdefghi abcdefghijklmnop abcdefghijklmnopq abcdefghijklmnopqrstuvwxyz0",
    "__label__a abcdefghijklmnopq abcdefghijklmnop abcdefgh abcdefghi 🎬🎬🎬🎬🎬 🎬🎬🎬🎬",
    "no label here",
    "__label__c   spaced\t\tout  ",
]


@pytest.mark.parametrize("piece_bytes", [1, 30, 1 << 20])
def test_read_indexed_equals_read_file_then_index_tokens(tmp_path, piece_bytes):
    path = tmp_path / "data.txt"
    path.write_text("\n".join(TRICKY_LINES), encoding="utf-8")  # and no newline at the end
    assert_reads_as_the_reference(path, piece_bytes)
    labelled = [line for line in TRICKY_LINES if "__label__" in line]
    path.write_text("\n".join(labelled) + "\n\n__label__z last\n", encoding="utf-8")  # one empty line
    assert_reads_as_the_reference(path, piece_bytes)
    path.write_text("\n".join(labelled) + "\n", encoding="utf-8")  # every line labelled
    assert_reads_as_the_reference(path, piece_bytes)
    path.write_bytes(b"")
    assert ft.read_indexed(path)[:3] == (0, [], [])


def test_read_indexed_on_many_random_tokens_grows_its_table(tmp_path, monkeypatch):
    tables = []

    class Recorded(supervised._TokenTable):
        def __init__(self, bits):
            tables.append(bits)
            super().__init__(bits)

    monkeypatch.setattr(supervised, "_TokenTable", Recorded)
    rng = random.Random(0)
    vocab = [f"{i:x}" for i in range(40_000)]
    vocab += ["".join(rng.choices("xé日🎬", k=rng.randint(1, 9))) for _ in range(999)]
    tokens = vocab + rng.choices(vocab, k=10_000)  # mostly seen once: far more distinct than usual
    rng.shuffle(tokens)
    lines = [" ".join(["__label__" + rng.choice("ab")] + tokens[i:i + 25])
             for i in range(0, len(tokens), 25)]
    path = tmp_path / "data.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_reads_as_the_reference(path, piece_bytes=4096)
    assert len(tables) > 1  # the first table filled up, and a larger one took over


def colliding_token(key: int, rng) -> bytes:
    """A printable 16-byte token whose hash key (as _TokenTable makes it) is ``key``."""
    k1, k2 = (int(k) for k in supervised._KEY_MULTIPLIERS)
    while True:
        lo = bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(8))
        hi = (key - int.from_bytes(lo, "little") * k1) * pow(k2, -1, 2**64) % 2**64
        if all(33 <= c < 127 for c in hi.to_bytes(8, "little")):
            return lo + hi.to_bytes(8, "little")


def token_key(token: bytes) -> int:
    k1, k2 = (int(k) for k in supervised._KEY_MULTIPLIERS)
    lo, hi = int.from_bytes(token[:8], "little"), int.from_bytes(token[8:16], "little")
    return (lo * k1 + hi * k2) % 2**64


def test_tokens_whose_hash_keys_collide_keep_their_own_ids(tmp_path):
    """Real collisions: a 16-byte token with another's key, and an 8-byte token with
    a long one's key. Each pair lands in one slot and must still get two ids."""
    rng, inverse = random.Random(0), pow(int(supervised._KEY_MULTIPLIERS[0]), -1, 2**64)
    a = b"abcdefghijklmnop"
    b = colliding_token(token_key(a), rng)
    while True:  # a long token whose key an 8-byte printable token also has
        long = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(20))
        short = (token_key(long) * inverse % 2**64).to_bytes(8, "little")
        if all(33 <= c < 127 for c in short):
            break
    for x, y in ((a, b), (long, short)):
        assert x != y and token_key(x) == token_key(y)
        table = supervised._TokenTable(10)
        data = b" " + x + b" " + y + b" " + x + b" " + bytes(16)
        buf = np.frombuffer(data, dtype=np.uint8)
        ids, new = table.identities(data, buf, *supervised._token_spans(buf))
        assert np.count_nonzero(table.keys) == 1  # one key for both: a collision in the table
        assert ids[0] == ids[2] != ids[1] and new.tolist() == [0, 1]
        path = tmp_path / "data.txt"
        for first, second in ((x, y), (y, x)):
            path.write_bytes(b"__label__p %s %s\n__label__q %s z %s\n" % (first, second, second, first))
            assert_reads_as_the_reference(path)


def test_non_utf8_names_its_line_and_byte_when_read_indexed(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"".join(b"__label__a fine line %d\n" % i for i in range(30)) + b"__label__b bad \xff here\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 31, byte 16: not valid UTF-8"):
        ft.read_indexed(path, piece_bytes=100)
    path.write_bytes(b"no label, bad \xff\n__label__a fine\n")  # in a line that is skipped
    with pytest.raises(ValueError, match=r"bad.txt, line 1, byte 15: not valid UTF-8"):
        ft.read_indexed(path)


def distinct_per_text_reference(ids, counts):
    out_ids, per_text, weights = [], [], []
    for text in np.split(ids, np.cumsum(counts)[:-1]):
        seen = Counter(text.tolist())
        out_ids += sorted(seen)
        per_text.append(len(seen))
        weights += [np.float32(seen[i] / len(text)) for i in sorted(seen)]
    return out_ids, per_text, weights


def test_distinct_per_text_equals_counting_each_text():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 700, 60)  # lengths across many powers of two, and empty texts
    counts[:3] = [0, 1, 2]
    ids = rng.integers(0, 50, counts.sum()).astype(np.int32)
    ids[:400] = rng.integers(0, 2 ** 31 - 2, 400)  # large ids, below the padding value
    got = ft.distinct_per_text(ids, counts)
    expected = distinct_per_text_reference(ids, counts)
    assert [g.tolist() for g in got] == [list(e) for e in expected]
    assert got[0].dtype == np.int32 and got[2].dtype == np.float32


@pytest.mark.slow
def test_fast_preparation_equals_the_reference_on_real_imdb(real_root, tmp_path):
    """Reading, then features and their weights, equal the readable code on the
    real IMDB training file (features: 1,500 reviews, in training order)."""
    train_path, _ = write_imdb(tmp_path, "polarity", max_test=10)
    assert_reads_as_the_reference(train_path)
    _, _, label_lists, indexed = ft.read_indexed(train_path)
    d = ft.Dictionary.from_indexed(indexed, label_lists, word_ngrams=2, bucket=2_000_000)
    order = np.random.default_rng(0).permutation(len(label_lists))[:1500]
    ids, per_text, weights = supervised._training_features(d, indexed, order, 2, piece_tokens=50_000)
    distinct, rows, lengths = indexed
    starts, hashes = np.cumsum(lengths) - lengths, {}
    features = []
    for t in order.tolist():
        tokens = [distinct[i] for i in rows[starts[t]:starts[t] + lengths[t]].tolist()]
        token_hashes = [hashes.setdefault(w, ft.fasttext_hash(w)) for w in tokens]
        features.append([d.word_id[w] for w in tokens]
                        + [len(d.words) + b for b in ft.ngram_buckets(token_hashes, 2, d.bucket)])
    expected = distinct_per_text_reference(np.concatenate(features).astype(np.int32),
                                           np.array([len(f) for f in features]))
    assert ids.tolist() == expected[0] and per_text.tolist() == expected[1]
    assert weights.tolist() == expected[2]


def test_lines_left_without_features_are_skipped_or_refused():
    data = [(["__label__a"], ["x"] * 3), (["__label__b"], ["y"])]
    with pytest.warns(UserWarning, match="1 lines have no feature left at minCount=3"):
        clf = ft.train_supervised(data, minCount=3, epoch=1, verbose=False)  # only "x" is kept; </s> occurs twice
    assert clf.dictionary.words == ["x"]
    with pytest.raises(ValueError, match="no line has a feature left at minCount=5"):
        ft.train_supervised(data, minCount=5, epoch=1, verbose=False)

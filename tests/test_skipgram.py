"""Unsupervised word vectors: the batched update is fastText's update one pair at a
time, they learn co-occurrence, CBOW and skip-gram both train (in Hogwild processes
too), unseen words get n-gram vectors, and our .bin is read by the official fastText."""

import numpy as np
import pytest
import torch

from bigtext_lite.fasttext import subword_rows
from bigtext_lite.vectors import FastTextBin, skipgram
from bigtext_lite.vectors import negative_sampling as NS


def topic_corpus(lines=400, seed=0):
    """Two topics that never share a line: a word's neighbours must be from its own topic."""
    rng = np.random.default_rng(seed)
    topics = [[f"red{i}" for i in range(8)], [f"blue{i}" for i in range(8)]]
    return [list(rng.choice(topics[k % 2], 10)) for k in range(lines)]


class Recorder:
    """A seeded numpy generator that keeps what it drew, so a reference can reuse the draws."""

    def __init__(self, seed):
        self.rng, self.draws = np.random.default_rng(seed), []

    def random(self, *args, **kwargs):
        self.draws.append(self.rng.random(*args, **kwargs))
        return self.draws[-1]

    def integers(self, *args, **kwargs):
        self.draws.append(self.rng.integers(*args, **kwargs))
        return self.draws[-1]


def fasttext_loops(words, ids, lines, kept, windows, args, targets):
    """fastText's ``skipgram()`` / ``cbow()`` loops over the kept tokens of each line, one
    update at a time: [(input rows, target row)], the target rows taken in order from
    ``targets`` (whose first word each update's true word must be)."""
    def rows(i):
        return subword_rows(words[i], i, len(words), args.minn, args.maxn, args.bucket)

    ids, lines, targets, updates = ids[kept], lines[kept], iter(targets), []
    for w, b in enumerate(windows):
        context = [w + c for c in range(-b, b + 1)
                   if c != 0 and 0 <= w + c < len(ids) and lines[w + c] == lines[w]]
        if args.model == "skipgram":
            for c in context:
                updates.append((rows(ids[w]), next(targets)))
                assert updates[-1][1][0] == ids[c]
        elif context:
            updates.append(([r for c in context for r in rows(ids[c])], next(targets)))
            assert updates[-1][1][0] == ids[w]
    assert next(targets, None) is None
    return updates


def per_pair_update(input, output, updates, lr):
    """Every (input rows, targets) update one by one, each reading the starting parameters
    (as a batch does), the changes summed; returns (input, output, loss)."""
    new_in, new_out, loss = input.clone(), output.clone(), 0.0
    for rows, targets in updates:
        u, grad = input[rows].mean(0), torch.zeros_like(input[0])
        for k, target in enumerate(targets):
            label, score = float(k == 0), output[target] @ u
            g = lr * (label - torch.sigmoid(score))
            grad += g * output[target]
            new_out[target] += g * u
            loss -= torch.log(torch.sigmoid(score if k == 0 else -score)).item()
        for r in rows:
            new_in[r] += grad  # the full gradient on every row, as fastText's C++
    return new_in, new_out, loss


@pytest.mark.parametrize("model, ws, neg", [("skipgram", 2, 2), ("cbow", 2, 2), ("skipgram", 5, 5)])
def test_batched_update_equals_fasttexts_loop_one_pair_at_a_time(model, ws, neg):
    texts = [s.split() for s in ["the cat sat on the mat", "a dog", "alone", "the dog ate the cat",
                                 "and then the mat sat on a dog", "cats and dogs ate on the mat"]]
    args = skipgram.SkipgramArgs(model=model, ws=ws, neg=neg, minCount=1, minn=2, maxn=3, bucket=20,
                          t=0.02, dim=4)
    words, counts, ntokens, ids, lines = skipgram.build_vocabulary(texts, args.minCount)
    freq = np.array(counts) / ntokens
    keep_p = np.sqrt(args.t / freq) + args.t / freq
    rng = Recorder(0)
    ex = NS.examples(rng, ids, lines, keep_p, NS.negative_table(np.array(counts)),
                     model=args.model, ws=args.ws, neg=args.neg)
    kept, windows = np.flatnonzero(rng.draws[0] < keep_p[ids]), rng.draws[1]
    assert 0 < len(kept) < len(ids)  # subsampling dropped some tokens, not all
    updates = fasttext_loops(words, ids, lines, kept, windows, args, ex["targets"])
    assert all(t[0] not in t[1:] for _, t in updates)  # no negative is the true word

    sub, read, seen = NS.Subwords(words, args.minn, args.maxn, args.bucket), [], []
    for _, (rows, sizes, members, per_example, _, targets) in NS.batches(ex, 7, model, sub, "cpu"):
        own = rows[torch.cumsum(sizes, 0) - sizes]  # a word's bag starts with its own row
        assert len(own) == len(set(own.tolist())) and len(members) == per_example.sum()
        read, seen = read + own[members].tolist(), seen + [targets]  # small batches: all of ex
    assert read == ex["words"].tolist()
    assert torch.equal(torch.cat(seen), torch.from_numpy(ex["targets"]))

    gen = torch.Generator().manual_seed(0)
    input = torch.rand(len(words) + args.bucket, args.dim, generator=gen,
                       dtype=torch.float64) - 0.5
    output = torch.rand(len(words), args.dim, generator=gen, dtype=torch.float64) - 0.5
    want_in, want_out, want_loss = per_pair_update(input, output, updates, lr=0.1)
    (_, batch), = NS.batches(ex, 10**9, model, sub, "cpu")  # all in one batch
    loss = NS.sgd_step(input, output, *batch, lr=0.1, with_loss=True)
    torch.testing.assert_close(input, want_in, rtol=0, atol=1e-12)
    torch.testing.assert_close(output, want_out, rtol=0, atol=1e-12)
    assert loss.item() == pytest.approx(want_loss, rel=1e-9)


def test_lines_end_with_eos_and_are_cut_as_fasttext_reads_them():
    texts = [["b", "a", "b"], ["rare"], ["b"] * 2000]
    words, counts, ntokens, ids, lines = skipgram.build_vocabulary(texts, 2)
    assert words == ["b", "</s>"] and ntokens == 2007  # "a" and "rare" are below minCount
    cut = skipgram.MAX_LINE
    assert lines.tolist() == [0] * 3 + [1] + [2] * cut + [3] * (2001 - cut)
    assert ids[:4].tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("model, thread", [("skipgram", 2), ("cbow", 1)])
def test_vectors_learn_which_words_share_lines(model, thread):
    m = skipgram.train_unsupervised(topic_corpus(), model=model, dim=16, epoch=5, minCount=1,
                                    maxn=0, t=1.0, lr=0.05, batch_size=64, thread=thread,
                                    verbose=False)
    assert m.stats["threads"] == thread
    vecs = m.vectors()
    for word in ("red0", "blue3"):
        neighbours = [w for w, _ in vecs.most_similar(word, k=5)]
        assert all(w[:3] == word[:3] for w in neighbours), (word, neighbours)
    assert m.stats["epoch_loss"][-1] < m.stats["epoch_loss"][0]


def test_unseen_words_get_ngram_vectors_and_min_count_drops_rare_words():
    texts = topic_corpus(200) + [["hapax"]]
    m = skipgram.train_unsupervised(texts, dim=8, epoch=1, minCount=2, minn=3, maxn=4, bucket=1000,
                             verbose=False)
    assert "hapax" not in m.index and "red1" in m.index
    assert np.abs(m.get_word_vector("red99")).sum() > 0  # composed from <re, red, ed9, ...
    assert m.subword_ids("red1")[0] == m.index["red1"]


def test_our_bin_is_read_by_the_official_fasttext(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    m = skipgram.train_unsupervised(topic_corpus(200), dim=8, epoch=1, minCount=1, minn=2, maxn=4,
                             bucket=1000, verbose=False)
    path = m.save(tmp_path / "ours.bin")
    official, ours = fasttext.load_model(str(path)), FastTextBin(path)
    for word in ("red1", "blue7", "</s>", "unseen", "red77"):
        want = m.get_word_vector(word)
        np.testing.assert_allclose(official.get_word_vector(word), want, atol=1e-6)
        np.testing.assert_allclose(ours.get_word_vector(word), want, atol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"unknown arguments \['window'\]"):
        skipgram.train_unsupervised([["a"]], window=5)
    with pytest.raises(ValueError, match="model must be 'skipgram' or 'cbow'"):
        skipgram.train_unsupervised([["a"]], model="glove")
    with pytest.raises(ValueError, match="no word occurs 5 times"):
        skipgram.train_unsupervised([["a", "b"]], minCount=5, verbose=False)


def test_a_training_that_diverges_is_refused_not_returned_as_nan_vectors():
    """Summed steps grow with the batch: at a step size far too large, the loss runs off
    to infinity, and the trainer says so instead of returning NaN vectors."""
    from bigtext_lite.errors import NonFiniteLossError

    args = dict(dim=16, epoch=2, minCount=1, maxn=0, t=1.0, batch_size=4096, verbose=False)
    assert np.isfinite(skipgram.train_unsupervised(topic_corpus(), lr=0.05, **args)
                       .vectors().matrix).all()
    with pytest.raises(NonFiniteLossError, match=r"diverged: not finite in (epoch \d|the "
                                                 r"trained weights).*; lr=1000.0 is too high "
                                                 r"for batch_size=4096"):
        skipgram.train_unsupervised(topic_corpus(), lr=1000.0, **args)


def test_negatives_are_drawn_in_proportion_to_the_square_root_of_counts():
    # fastText's initNegatives: count ** 0.5 (word2vec's 0.75 would give 100, 283, 800)
    table = NS.negative_table(np.array([1, 4, 16]), size=700)
    assert np.bincount(table).tolist() == [100, 200, 400]

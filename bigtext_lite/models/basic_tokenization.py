"""Steps 1 and 2 of BERT's tokenizer, its "basic tokenisation": normalise, then split.

1. Normalise: drop control characters, turn every whitespace into a space,
   put spaces around CJK ideographs, strip accents (NFD, then drop combining
   marks) and lower-case. This follows the order of the Rust ``tokenizers``
   BertNormalizer, which is what ``AutoTokenizer`` gives.
2. Pre-tokenise: split on whitespace, and make every punctuation character a
   token of its own.

Both run as regexes over the whole string (C loops, fast); the ``*_reference``
versions say the same one character at a time, and tests hold them equal. Step 3,
WordPiece itself, is :mod:`bigtext_lite.models.wordpiece`.

Walkthrough: notebooks/09_bert.ipynb.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata

# The CJK Unified Ideograph blocks BERT splits character by character.
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK)


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    # ASCII symbols such as $ + < = > ^ ` | ~ are not Unicode punctuation, but BERT splits them too.
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 \
        or unicodedata.category(ch).startswith("P")


def normalize_reference(text: str, lowercase: bool = True, strip_accents: bool | None = None,
                        clean_text: bool = True, handle_chinese_chars: bool = True) -> str:
    """Step 1, one character at a time: the readable definition that :func:`normalize`
    must equal. ``strip_accents=None`` means "strip when lower-casing" (BERT uncased);
    the flags are those of the Rust ``BertNormalizer``."""
    out = []
    for ch in text:
        cp = ord(ch)
        if clean_text and (cp == 0 or cp == 0xFFFD or _is_control(ch)):
            continue
        if clean_text and ch.isspace():
            out.append(" ")
        elif handle_chinese_chars and _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = "".join(out)
    if lowercase if strip_accents is None else strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text)
                       if unicodedata.category(c) != "Mn")
    return "".join(c.lower() for c in text) if lowercase else text  # each alone, as in Rust


def pre_tokenize_reference(text: str) -> list[str]:
    """Step 2, one character at a time: whitespace-separated words, with each
    punctuation character split off. :func:`pre_tokenize` must equal it."""
    words = []
    for chunk in text.split():
        word = []
        for ch in chunk:
            if _is_punctuation(ch):
                if word:
                    words.append("".join(word))
                    word = []
                words.append(ch)
            else:
                word.append(ch)
        if word:
            words.append("".join(word))
    return words


def _kind(cp: int) -> str | None:
    """What the reference makes of a character: dropped, a stripped mark, or punctuation."""
    ch = chr(cp)
    if cp == 0 or cp == 0xFFFD or _is_control(ch):
        return "control"
    if unicodedata.category(ch) == "Mn":
        return "mark"
    return "punct" if _is_punctuation(ch) else None


@functools.cache
def _patterns(top: int) -> dict[str, re.Pattern]:
    """Regexes whose classes are the reference's own tests, asked once of each code point
    up to ``top`` (on first use): each text is then scanned by C loops, not Python."""
    spans = {"control": [], "mark": [], "punct": [], None: []}
    for kind, run in itertools.groupby(range(top + 1), key=_kind):
        run = list(run)
        spans[kind].append(f"\\U{run[0]:08x}-\\U{run[-1]:08x}")
    control, mark, punct = ("".join(spans[kind]) for kind in ("control", "mark", "punct"))
    cjk = "".join(f"\\U{lo:08x}-\\U{min(hi, top):08x}" for lo, hi in _CJK if lo <= top)
    return {"control": re.compile(f"[{control}]"), "mark": re.compile(f"[{mark}]"),
            "cjk": re.compile(f"[{cjk}]"), "space": re.compile(r"\s"),
            # \s is str.isspace, as in str.split(); no punctuation is whitespace (tests check)
            "word": re.compile(f"[^\\s{punct}]+|[{punct}]")}


def _patterns_for(text: str) -> dict[str, re.Pattern]:
    # re looks a character up to U+FFFF in a table, but tries ranges above it one by one:
    # leave out those hundreds of ranges unless the text needs them (emoji, rare scripts)
    narrow = text.isascii() or max(text) <= "\uffff"
    return _patterns(0xFFFF if narrow else sys.maxunicode)


def normalize(text: str, lowercase: bool = True, strip_accents: bool | None = None,
              clean_text: bool = True, handle_chinese_chars: bool = True) -> str:
    """Step 1, the steps of :func:`normalize_reference` on the whole string at once."""
    regex = _patterns_for(text)
    if clean_text:  # controls first: a few (\x1c-\x1f) count as whitespace too, and are dropped
        text = regex["space"].sub(" ", regex["control"].sub("", text))
    if not text.isascii():  # ASCII has no ideographs and no accents: 9 reviews in 10 skip this
        if handle_chinese_chars:
            text = regex["cjk"].sub(r" \g<0> ", text)
        if lowercase if strip_accents is None else strip_accents:
            text = regex["mark"].sub("", unicodedata.normalize("NFD", text))
    # str.lower() makes a word-final capital sigma "ς"; Rust lowercases letter by letter: "σ"
    return text.replace("Σ", "σ").lower() if lowercase else text


def pre_tokenize(text: str) -> list[str]:
    """Step 2: whitespace-separated words, with each punctuation character split off."""
    return _patterns_for(text)["word"].findall(text)

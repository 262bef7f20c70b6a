"""BERT's tokenizer from scratch: basic tokenisation, then greedy WordPiece.

1. Normalise: drop control characters, turn every whitespace into a space,
   put spaces around CJK ideographs, strip accents (NFD, then drop combining
   marks) and lower-case. This follows the order of the Rust ``tokenizers``
   BertNormalizer, which is what ``AutoTokenizer`` gives.
2. Pre-tokenise: split on whitespace, and make every punctuation character a
   token of its own.
3. WordPiece: split each word into the longest vocabulary pieces, left to
   right; continuation pieces carry a ``##`` prefix. A word that cannot be
   covered, or is longer than 100 characters, becomes ``[UNK]``.

Steps 1 and 2 run as regexes over the whole string (C loops, fast); the
``*_reference`` versions say the same one character at a time, and tests hold them equal.
Special tokens written in the text (``[SEP]``, ...) are kept whole, as the
Rust tokenizer does. A checkpoint's settings come from its ``tokenizer.json``
(what the Rust tokenizer reads) or ``vocab.txt``, with ``tokenizer_config.json``
overriding case and accents, as ``transformers`` does.
Walkthrough: notebooks/07_bert.ipynb.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import sys
import unicodedata
import warnings
from pathlib import Path
from typing import Sequence

import torch

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRUNCATIONS = ("head", "tail", "head+tail")

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


# --- reading a checkpoint's tokenizer files -----------------------------------------

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read_json(path: Path) -> dict:
    """The JSON object in ``path``; a broken file is an error naming it, line and column."""
    try:
        raw = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}, "
                         f"column {err.colno}); truncated or hand-edited?") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: holds a JSON {type(raw).__name__}, not an object {{...}}")
    return raw


def read_vocab_txt(path: Path) -> list[str]:
    """``vocab.txt``: one token a line, id = line number - 1."""
    tokens = _read_text(path).split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()  # the final newline
    first, repeats = {}, []
    for i, token in enumerate(tokens):
        if first.setdefault(token, i) != i:
            repeats.append((first[token], i))
    if repeats:  # real files have them (multilingual BERT's once did), and transformers loads them
        a, b = repeats[0]
        warnings.warn(f"{path}: {len(repeats)} lines repeat an earlier token, e.g. {tokens[a]!r} "
                      f"on lines {a + 1} and {b + 1}; the later line's id wins, as in transformers",
                      stacklevel=3)
    return tokens


# tokenizer.json's "normalizer": null means the text goes to the pre-tokeniser as it is.
_NO_NORMALIZER = dict(clean_text=False, handle_chinese_chars=False, lowercase=False,
                      strip_accents=False)
_BERT_NORMALIZER = dict(clean_text=True, handle_chinese_chars=True, lowercase=True,
                        strip_accents=None)  # the Rust defaults for a key left out


def read_tokenizer_json(path: Path) -> tuple[list[str], dict]:
    """The vocabulary and settings of a Rust ``tokenizers`` file, or an error naming
    the part this tokenizer does not implement."""
    raw = read_json(path)
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    if model.get("type") != "WordPiece":
        raise ValueError(f"{path}: the tokenizer model is {model.get('type')!r}, not WordPiece "
                         f"(BPE and Unigram tokenizers, as in GPT-2, RoBERTa or T5, are not read)")
    for key, ours in (("unk_token", "[UNK]"), ("continuing_subword_prefix", "##")):
        if model.get(key, ours) != ours:
            raise ValueError(f"{path}: model.{key} is {model[key]!r}; this WordPiece uses {ours!r}")
    pre = raw.get("pre_tokenizer") or {}
    if pre.get("type") != "BertPreTokenizer":
        raise ValueError(f"{path}: pre_tokenizer {pre.get('type')!r} is not implemented "
                         f"(only BertPreTokenizer)")
    norm = raw.get("normalizer")
    if norm is not None and norm.get("type") != "BertNormalizer":
        raise ValueError(f"{path}: normalizer {norm.get('type')!r} is not implemented "
                         f"(only BertNormalizer, or none)")
    settings = dict(_NO_NORMALIZER) if norm is None else \
        {k: norm.get(k, default) for k, default in _BERT_NORMALIZER.items()}
    settings["max_chars_per_word"] = model.get("max_input_chars_per_word", 100)
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not all(type(i) is int for i in vocab.values()):
        raise ValueError(f"{path}: model.vocab must map tokens to integer ids")
    absent = set(range(len(vocab))) - set(vocab.values())
    if absent:  # ids must index a list: a gap or a shared id has no place in it
        raise ValueError(f"{path}: model.vocab has no token with id {min(absent)} "
                         f"(ids must run 0..{len(vocab) - 1}, one token each)")
    return sorted(vocab, key=vocab.get), settings


def read_tokenizer_config(path: Path) -> dict:
    """Case, accent and CJK settings of ``tokenizer_config.json``, if there is one:
    ``transformers`` builds its normaliser from them, whatever tokenizer.json says."""
    if not path.exists():
        return {}
    raw = read_json(path)
    names = (("do_lower_case", "lowercase"), ("strip_accents", "strip_accents"),
             ("tokenize_chinese_chars", "handle_chinese_chars"))
    settings = {ours: raw[theirs] for theirs, ours in names if theirs in raw}
    for key, value in settings.items():
        if not isinstance(value, bool) and not (key == "strip_accents" and value is None):
            raise ValueError(f"{path}: {key} must be true or false, got {value!r}")
    return settings


class _PieceCache(dict):
    """word -> its piece ids, worked out on first sight: IMDB's words are Zipfian, so
    most words were seen before and cost one dict lookup."""

    def __init__(self, word_pieces):
        super().__init__()
        self.word_pieces = word_pieces

    def __missing__(self, word: str) -> list[int]:
        ids = self.word_pieces(word)
        if len(self) < 1_000_000:  # bounded memory, however many new words come
            self[word] = ids
        return ids


class WordPiece:
    """A BERT tokenizer over a vocabulary (a token list: id = position)."""

    def __init__(self, vocab: Sequence[str], lowercase: bool = True,
                 strip_accents: bool | None = None, max_chars_per_word: int = 100,
                 clean_text: bool = True, handle_chinese_chars: bool = True,
                 model_max_length: int | None = 512, source: str = "the vocabulary"):
        self.itos = list(vocab)
        self.vocab = {token: i for i, token in enumerate(self.itos)}
        missing = [s for s in SPECIALS if s not in self.vocab]
        if missing:
            raise ValueError(f"{source} lacks the special tokens {missing}")
        self.normalizer = dict(lowercase=lowercase, strip_accents=strip_accents,
                               clean_text=clean_text, handle_chinese_chars=handle_chinese_chars)
        self.max_chars_per_word = max_chars_per_word
        self.model_max_length, self.source = model_max_length, source
        self.pad_id, self.unk_id = self.vocab["[PAD]"], self.vocab["[UNK]"]
        self.cls_id, self.sep_id = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self._specials = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")
        self._cache = _PieceCache(self.word_pieces)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "WordPiece":
        """A checkpoint folder's tokenizer: its ``tokenizer.json`` (transformers 5 writes
        no vocab.txt) or else ``vocab.txt``; or either file itself. ``tokenizer_config.json``
        beside it, then ``kwargs``, override the settings."""
        path = Path(path)
        if path.is_dir():
            path = path / ("tokenizer.json" if (path / "tokenizer.json").exists() else "vocab.txt")
        if not path.exists():
            raise FileNotFoundError(f"no WordPiece vocabulary at {path} (nor a tokenizer.json)")
        tokens, settings = read_tokenizer_json(path) if path.suffix == ".json" else \
            (read_vocab_txt(path), {})
        settings.update(read_tokenizer_config(path.parent / "tokenizer_config.json"))
        return cls(tokens, **{**settings, **kwargs, "source": str(path)})

    def __len__(self) -> int:
        return len(self.itos)

    def word_pieces(self, word: str) -> list[int]:
        """Step 3 for one word: greedy longest-match-first."""
        if len(word) > self.max_chars_per_word:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                ids = [self.unk_id]  # no piece fits: the whole word is unknown
                break
            start = end
        return ids

    def tokenize_ids(self, text: str) -> list[int]:
        """Ids of ``text`` without [CLS] / [SEP]."""
        ids = []
        for i, part in enumerate(self._specials.split(text)):
            if i % 2:  # a special token written in the text
                ids.append(self.vocab[part])
                continue
            words = pre_tokenize(normalize(part, **self.normalizer))
            ids += itertools.chain.from_iterable(map(self._cache.__getitem__, words))  # C loops
        return ids

    def tokenize_many(self, texts: Sequence[str], processes: int | None = None) -> list[list[int]]:
        """:meth:`tokenize_ids` of many texts, on ``processes`` CPU cores (default all;
        forked workers, so on platforms without ``fork`` it runs in this process)."""
        import multiprocessing as mp
        import os

        processes = processes or os.cpu_count() or 1
        if processes == 1 or len(texts) < 2000 or "fork" not in mp.get_all_start_methods():
            return [self.tokenize_ids(t) for t in texts]
        global _FORKED
        _FORKED = self  # the forked workers inherit it: nothing big is pickled per task
        _patterns(0xFFFF)  # and the regexes, built once here
        with mp.get_context("fork").Pool(processes) as pool:
            return pool.map(_tokenize_in_worker, texts, chunksize=256)

    def tokenize(self, text: str) -> list[str]:
        return [self.itos[i] for i in self.tokenize_ids(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Tokens joined back, ``##`` pieces glued to the previous one (lossy: case, accents)."""
        return " ".join(self.itos[int(i)] for i in ids).replace(" ##", "")

    def encode(self, text: str, pair: str | None = None, max_length: int | str | None = "model",
               truncation: str = "head", head: int | None = None) -> tuple[list[int], list[int]]:
        """``[CLS] text [SEP]`` (or ``[CLS] text [SEP] pair [SEP]``) -> (input ids, token type ids).

        max_length: at most this many ids; "model" (the default) is ``model_max_length``,
            the checkpoint's position limit when built by ``bert.tokenizer_for``; None: no cut.
        truncation (single texts): keep the "head", the "tail", or "head+tail":
            the first ``head`` tokens (default a quarter) and the rest from the end,
            the best of the three on IMDB in Sun et al. (2019).
        Pairs are cut "longest first", one token at a time, as in ``transformers``.
        """
        a = self.tokenize_ids(text)
        b = self.tokenize_ids(pair) if pair is not None else None
        return self.build(a, b, max_length, truncation, head)

    def build(self, a: list[int], b: list[int] | None = None,
              max_length: int | str | None = "model", truncation: str = "head",
              head: int | None = None) -> tuple[list[int], list[int]]:
        """:meth:`encode` from already tokenised ids (tokenise once, truncate many ways)."""
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        b = list(b) if b is not None else None
        if max_length == "model":
            max_length = self.model_max_length
        if max_length is not None:
            room = max_length - (3 if b is not None else 2)
            if room < 1:
                raise ValueError(f"max_length={max_length} leaves no room for tokens")
            if b is None and len(a) > room:
                keep_head = room if truncation == "head" else 0 if truncation == "tail" else \
                    min(room, head if head is not None else room // 4)
                a = a[:keep_head] + (a[len(a) - (room - keep_head):] if room > keep_head else [])
            a = list(a)
            while b is not None and len(a) + len(b) > room:
                (a if len(a) > len(b) else b).pop()
        ids = [self.cls_id] + a + [self.sep_id]
        types = [0] * len(ids)
        if b is not None:
            ids += b + [self.sep_id]
            types += [1] * (len(b) + 1)
        return ids, types

    def __call__(self, texts: str | Sequence[str], max_length: int | str | None = "model",
                 truncation: str = "head", pad_to: int | None = None) -> dict[str, torch.Tensor]:
        """A padded batch: ``input_ids``, ``token_type_ids`` and ``attention_mask``, each (B, T)."""
        if isinstance(texts, str):
            texts = [texts]
        encoded = [self.encode(t, max_length=max_length, truncation=truncation) for t in texts]
        return self.pad(encoded, pad_to)

    def pad(self, encoded: Sequence[tuple[list[int], list[int]]],
            pad_to: int | None = None) -> dict:
        """Pad (ids, types) pairs to the longest one (or ``pad_to``) into tensors."""
        longest = max([len(ids) for ids, _ in encoded] + [pad_to or 0])
        batch = torch.full((len(encoded), longest), self.pad_id, dtype=torch.long)
        types = torch.zeros_like(batch)
        mask = torch.zeros_like(batch)
        for row, (ids, tt) in enumerate(encoded):
            batch[row, :len(ids)] = torch.tensor(ids)
            types[row, :len(tt)] = torch.tensor(tt)
            mask[row, :len(ids)] = 1
        return {"input_ids": batch, "token_type_ids": types, "attention_mask": mask}


_FORKED: WordPiece | None = None


def _tokenize_in_worker(text: str) -> list[int]:
    return _FORKED.tokenize_ids(text)

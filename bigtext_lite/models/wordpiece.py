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

Special tokens written in the text (``[SEP]``, ...) are kept whole, as the
Rust tokenizer does. Walkthrough: notebooks/07_bert.ipynb.
"""

from __future__ import annotations

import re
import unicodedata
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


def normalize(text: str, lowercase: bool = True, strip_accents: bool | None = None) -> str:
    """Step 1. ``strip_accents=None`` means "strip when lower-casing" (BERT uncased)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if ch.isspace():
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = "".join(out)
    if lowercase if strip_accents is None else strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text.lower() if lowercase else text


def pre_tokenize(text: str) -> list[str]:
    """Step 2: whitespace-separated words, with each punctuation character split off."""
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


class WordPiece:
    """A BERT tokenizer over a ``vocab.txt`` (one token per line, id = line number)."""

    def __init__(self, vocab: Sequence[str], lowercase: bool = True, strip_accents: bool | None = None,
                 max_chars_per_word: int = 100):
        self.itos = list(vocab)
        self.vocab = {token: i for i, token in enumerate(self.itos)}
        missing = [s for s in SPECIALS if s not in self.vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks the special tokens {missing}")
        self.lowercase, self.strip_accents = lowercase, strip_accents
        self.max_chars_per_word = max_chars_per_word
        self.pad_id, self.unk_id = self.vocab["[PAD]"], self.vocab["[UNK]"]
        self.cls_id, self.sep_id = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self._specials = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")
        self._cache: dict[str, list[int]] = {}  # word -> piece ids: IMDB repeats words a lot

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "WordPiece":
        """Read ``vocab.txt`` (or the folder holding it); tokenizer_config.json's
        ``do_lower_case`` is honoured when it sits beside it."""
        import json

        path = Path(path)
        folder, path = (path, path / "vocab.txt") if path.is_dir() else (path.parent, path)
        if not path.exists():
            raise FileNotFoundError(f"no WordPiece vocabulary at {path}")
        config = folder / "tokenizer_config.json"
        if config.exists() and "lowercase" not in kwargs:
            settings = json.loads(config.read_text(encoding="utf-8"))
            kwargs["lowercase"] = settings.get("do_lower_case", True)
            kwargs.setdefault("strip_accents", settings.get("strip_accents"))
        tokens = path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()  # the final newline
        return cls(tokens, **kwargs)

    def __len__(self) -> int:
        return len(self.itos)

    def word_pieces(self, word: str) -> list[int]:
        """Step 3 for one word: greedy longest-match-first."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
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
        if len(self._cache) < 1_000_000:
            self._cache[word] = ids
        return ids

    def tokenize_ids(self, text: str) -> list[int]:
        """Ids of ``text`` without [CLS] / [SEP]."""
        ids = []
        for i, part in enumerate(self._specials.split(text)):
            if i % 2:  # a special token written in the text
                ids.append(self.vocab[part])
                continue
            for word in pre_tokenize(normalize(part, self.lowercase, self.strip_accents)):
                ids += self.word_pieces(word)
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
        with mp.get_context("fork").Pool(processes) as pool:
            return pool.map(_tokenize_in_worker, texts, chunksize=256)

    def tokenize(self, text: str) -> list[str]:
        return [self.itos[i] for i in self.tokenize_ids(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Tokens joined back, ``##`` pieces glued to the previous one (lossy: case, accents)."""
        return " ".join(self.itos[int(i)] for i in ids).replace(" ##", "")

    def encode(self, text: str, pair: str | None = None, max_length: int | None = 512,
               truncation: str = "head", head: int | None = None) -> tuple[list[int], list[int]]:
        """``[CLS] text [SEP]`` (or ``[CLS] text [SEP] pair [SEP]``) -> (input ids, token type ids).

        truncation (single texts): keep the "head", the "tail", or "head+tail":
            the first ``head`` tokens (default a quarter) and the rest from the end,
            the best of the three on IMDB in Sun et al. (2019).
        Pairs are cut "longest first", one token at a time, as in ``transformers``.
        """
        a = self.tokenize_ids(text)
        b = self.tokenize_ids(pair) if pair is not None else None
        return self.build(a, b, max_length, truncation, head)

    def build(self, a: list[int], b: list[int] | None = None, max_length: int | None = 512,
              truncation: str = "head", head: int | None = None) -> tuple[list[int], list[int]]:
        """:meth:`encode` from already tokenised ids (tokenise once, truncate many ways)."""
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        b = list(b) if b is not None else None
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

    def __call__(self, texts: str | Sequence[str], max_length: int | None = 512, truncation: str = "head",
                 pad_to: int | None = None) -> dict[str, torch.Tensor]:
        """A padded batch: ``input_ids``, ``token_type_ids`` and ``attention_mask``, each (B, T)."""
        if isinstance(texts, str):
            texts = [texts]
        encoded = [self.encode(t, max_length=max_length, truncation=truncation) for t in texts]
        return self.pad(encoded, pad_to)

    def pad(self, encoded: Sequence[tuple[list[int], list[int]]], pad_to: int | None = None) -> dict:
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

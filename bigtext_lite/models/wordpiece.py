"""BERT's tokenizer from scratch: basic tokenisation, then greedy WordPiece.

1. Normalise: drop control characters, make every whitespace a space, put spaces
   around CJK ideographs, strip accents and lower-case.
2. Pre-tokenise: split on whitespace, and make every punctuation character a
   token of its own. (Steps 1 and 2: :mod:`bigtext_lite.models.basic_tokenization`.)
3. WordPiece: split each word into the longest vocabulary pieces, left to
   right; continuation pieces carry a ``##`` prefix. A word that cannot be
   covered, or is longer than 100 characters, becomes ``[UNK]``.

Special tokens written in the text (``[SEP]``, ...) are kept whole, as the
Rust tokenizer does. A checkpoint's settings come from its ``tokenizer.json``
(what the Rust tokenizer reads) or ``vocab.txt``, with ``tokenizer_config.json``
overriding case and accents, as ``transformers`` does
(:mod:`bigtext_lite.models.tokenizer_files`).

Walkthrough: notebooks/09_bert.ipynb.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Sequence

import torch

from bigtext_lite.models.basic_tokenization import _patterns, normalize, pre_tokenize
from bigtext_lite.models.tokenizer_files import (
    read_tokenizer_config,
    read_tokenizer_json,
    read_vocab_txt,
)

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRUNCATIONS = ("head", "tail", "head+tail")


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


# The tokenizer tokenize_many's workers use. A module global because a forked worker
# starts with a copy of this module as it was, while Pool sends each task only the
# function's name and its text: the vocabulary and the word cache cost nothing to pass.
_FORKED: WordPiece | None = None


def _tokenize_in_worker(text: str) -> list[int]:
    return _FORKED.tokenize_ids(text)

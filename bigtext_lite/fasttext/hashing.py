"""fastText's hashing, exactly as its C++ does it, so that one training file gives both
implementations the same features and the same n-gram lands in the same bucket:

- token hashes are 32-bit FNV-1a over the UTF-8 bytes, each byte sign-extended
  as C++'s ``int8_t`` does (bytes >= 0x80 differ from a naive FNV-1a);
- word n-gram hashes combine the word hashes as the C++ code does with 64-bit
  arithmetic: ``h = h * 116049371 + hash(next word)``, bucket = ``h % bucket``,
  where each 32-bit hash enters as a *signed* int32 widened to 64 bits;
- a word's character n-grams are those of ``<word>``, hashed into the same buckets.

Each idea comes twice where speed matters: a readable reference (``fasttext_hash``,
``ngram_buckets``) and a vectorised version tested equal to it (``fasttext_hashes``,
``Dictionary.encode_rows``).

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

EOS = "</s>"
_MASK64 = (1 << 64) - 1


def fasttext_hash(token: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes, each byte sign-extended like ``int8_t``."""
    h = 2166136261
    for byte in token.encode("utf-8"):
        h ^= (byte | 0xFFFFFF00) if byte >= 0x80 else byte  # int8_t(b) as uint32
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def fasttext_hashes(tokens: Sequence[str]) -> np.ndarray:
    """:func:`fasttext_hash` of many tokens at once (uint32): numpy steps through the
    bytes of all tokens together, position by position, the longest tokens last."""
    encoded = [t.encode("utf-8") for t in tokens]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))  # (N,)
    starts = np.cumsum(lengths) - lengths  # (N,)
    # data: (total bytes,), each byte as int8_t, sign-extended to uint32
    data = np.frombuffer(b"".join(encoded), dtype=np.int8).astype(np.uint32)
    out = np.full(len(encoded), 2166136261, dtype=np.uint32)  # (N,)
    long = np.flatnonzero(lengths > 256)  # rare: the Python loop, rather than a numpy step per byte
    out[long] = [fasttext_hash(tokens[i]) for i in long]
    lengths[long] = 0
    order = np.argsort(-lengths, kind="stable")  # tokens still going at byte j are a prefix of this
    # still: (longest length,), how many tokens have more than j bytes
    still = np.searchsorted(-lengths[order], -np.arange(lengths.max(initial=0)), side="left")
    for j, n in enumerate(still):
        i = order[:n]
        out[i] = (out[i] ^ data[starts[i] + j]) * np.uint32(16777619)
    return out


def ngram_buckets(word_hashes: Sequence[int], n: int, bucket: int) -> list[int]:
    """Bucket ids of all 2..n-grams of a line, in fastText's order (reference version)."""
    signed = [h - (1 << 32) if h >= (1 << 31) else h for h in word_hashes]  # stored as int32
    out = []
    for i in range(len(signed)):
        h = signed[i] & _MASK64
        for j in range(i + 1, min(len(signed), i + n)):
            h = (h * 116049371 + (signed[j] & _MASK64)) & _MASK64
            out.append(h % bucket)
    return out


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of ``<word>`` with minn <= n <= maxn, in fastText's order
    (by start position, then length; ``<`` and ``>`` alone are never n-grams)."""
    w = "<" + word + ">"
    out = []
    for i in range(len(w)):
        for n in range(max(minn, 1), maxn + 1):
            if i + n > len(w):
                break
            if n == 1 and (i == 0 or i + n == len(w)):
                continue
            out.append(w[i:i + n])
    return out


def char_ngram_hashes(word: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """Bucket ids (0 .. bucket-1) of the character n-grams of ``word``, as fastText hashes
    them."""
    return [fasttext_hash(g) % bucket for g in char_ngrams(word, minn, maxn)]


def subword_rows(word: str, word_id: int | None, nwords: int, minn: int, maxn: int, bucket: int,
                 pruned: dict[int, int] | None = None) -> list[int]:
    """Rows of fastText's input matrix whose mean is ``word``'s vector, as
    ``Dictionary::getSubwords``: the word's own row (``word_id``, None when it is
    out of the vocabulary), then ``nwords + bucket`` of each character n-gram;
    ``</s>`` and ``maxn == 0`` have no n-grams. ``pruned`` (a pruned model's map
    from bucket to kept row) drops the buckets it lacks and renumbers the rest."""
    ids = [] if word_id is None else [word_id]
    if word != EOS and maxn > 0:
        for h in char_ngram_hashes(word, minn, maxn, bucket):
            if pruned:
                if h not in pruned:
                    continue
                h = pruned[h]
            ids.append(nwords + h)
    return ids

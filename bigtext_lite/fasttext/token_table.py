"""The hash table behind ``read_indexed``: each token of a training file, as bytes, to
an id that is the same for equal tokens and different for different ones, found
by numpy for a whole piece of the file at once instead of a dict lookup per token.

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

import numpy as np

_FIRST_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # k low bytes
_LONG = np.uint64(0x8000000000000001)  # zero bytes inside: no token's first 8 bytes
_KEY_MULTIPLIERS = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)  # odd: one-to-one


def token_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of bytes between fastText's whitespace in ``buf``,
    which starts and ends with whitespace. UTF-8 writes no other character with
    these bytes, so splitting the bytes splits the text exactly."""
    space = (buf == 32) | (buf - np.uint8(9) <= 4) | (buf == 0)  # " ", \t \n \v \f \r, \0
    edges = np.flatnonzero(space[1:] != space[:-1]) + 1  # (2 * tokens,)
    return edges[0::2], edges[1::2]


def token_keys(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """(lo, keys) of the tokens at ``starts:ends`` in ``buf`` (which has 16 zero bytes
    after its last token): a token's first 8 bytes, zero-padded, as a number, and its
    hash key, those with the next 8 bytes (:class:`TokenTable`). A token longer than 16
    bytes gets the ``lo`` no token has, so the table's dict tells it apart. Needs no
    table: a piece's keys can be made while the table takes the piece before."""
    # windows: (bytes - 7,), bytes i..i+7 read as one number
    windows = np.ndarray((len(buf) - 7,), "<u8", buf, strides=(1,))
    lengths = ends - starts  # (tokens,)
    lo = windows[starts] & _FIRST_BYTES[np.minimum(lengths, 8)]  # (tokens,)
    longer = np.flatnonzero(lengths > 8)
    hi = windows[starts[longer] + 8] & _FIRST_BYTES[np.minimum(lengths[longer] - 8, 8)]
    with np.errstate(over="ignore"):
        keys = lo * _KEY_MULTIPLIERS[0]  # (tokens,)
        keys[longer] += hi * _KEY_MULTIPLIERS[1]
    lo[longer[lengths[longer] > 16]] = _LONG  # never a slot's first token's: to the dict
    return lo, keys


class TableFull(Exception):
    """The hash table is half full: read again with a larger one."""


class TokenTable:
    """Token bytes -> an id ("identity"), exactly, for a file read piece by piece.

    A token's first 8 bytes, zero-padded, are a number ``lo`` that tells it apart
    from every other token as short (no token holds a zero byte); with the next 8
    bytes they make a hash key. numpy places the keys of a whole piece at once in an
    open-addressing table. Tokens in one slot share their key, so one whose ``lo``
    equals that of the first token in the slot is that token (up to 16 bytes);
    longer tokens, and those unlike the first in their slot (a hash collision), get
    their identity from a dict, numbered after the slots.
    """

    def __init__(self, bits: int):
        self.keys = np.zeros(1 << bits, dtype=np.uint64)  # (slots,); 0: an empty slot
        self.lo = np.zeros(1 << bits, dtype=np.uint64)  # (slots,): of its first token; 0: none yet
        self.long: dict[bytes, int] = {}
        self.filled = 0

    def identities(self, data: bytes, starts: np.ndarray, ends: np.ndarray, lo: np.ndarray,
                   keys: np.ndarray):
        """Each token's identity, and the tokens (indices) that are the first of a new one.
        ``data``: the piece's bytes; ``starts``, ``ends``: its tokens' spans; ``lo``,
        ``keys``: theirs from :func:`token_keys`."""
        ids = self._slots(keys)  # (tokens,)
        slot_lo = self.lo[ids]
        odd = np.flatnonzero(lo != slot_lo)  # in slots not yet claimed, collisions, long tokens
        claims = odd[(slot_lo[odd] == 0) & (lo[odd] != _LONG)]
        claimed, first = np.unique(ids[claims], return_index=True)  # a slot's first claimant wins
        self.lo[claimed] = lo[claims[first]]
        odd = odd[lo[odd] != self.lo[ids[odd]]]
        known = len(self.long)
        ids[odd] = [len(self.keys) + self.long.setdefault(data[s:e], len(self.long))
                    for s, e in zip(starts[odd].tolist(), ends[odd].tolist())]
        in_dict, first_in_dict = np.unique(ids[odd], return_index=True)
        new_in_dict = odd[first_in_dict[in_dict >= len(self.keys) + known]]
        new = np.concatenate([claims[first], new_in_dict])
        return ids, np.sort(new)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        """Each key's slot, equal keys in the same one: a key takes its home slot if
        empty (of several claimants, one wins) or if it holds the key; the others try
        the next slot, round by round."""
        size = len(self.keys)  # a power of two
        slots = (keys >> np.uint64(65 - size.bit_length())).view(np.int64)  # the best-mixed bits
        pending = np.flatnonzero(self.keys[slots] != keys)  # most keys are home already
        while len(pending):
            s, k = slots[pending], keys[pending]
            empty = self.keys[s] == 0
            self.filled += len(np.unique(s[empty]))
            if self.filled > size // 2:
                raise TableFull
            self.keys[s[empty]] = k[empty]
            moved = self.keys[s] != k
            slots[pending[moved]] = (s[moved] + 1) & (size - 1)
            pending = pending[moved]
        return slots

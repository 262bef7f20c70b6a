"""A checkpoint's tokenizer files, read: ``tokenizer.json``, ``vocab.txt`` and
``tokenizer_config.json``, each an error naming the file and the part of it that
this tokenizer cannot use.

``tokenizer.json`` is what the Rust ``tokenizers`` library reads (transformers 5
writes no vocab.txt); ``tokenizer_config.json`` overrides its case and accent
settings, as ``transformers`` does.

Walkthrough: notebooks/09_bert.ipynb.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path


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

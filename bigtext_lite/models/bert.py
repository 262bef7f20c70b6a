"""A BERT encoder small enough to read in one sitting, that loads real weights.

    embeddings  word + position + token type, then LayerNorm and dropout
    N layers    x = LN(x + Attn(x));  x = LN(x + W2 GELU(W1 x))      (post-norm)
    pooler      tanh(W h_[CLS])
    head        dropout, then a linear layer to the classes, on the pooled [CLS]
                vector ("cls") or on the mean of the real tokens' hidden states ("mean")

Attention goes through ``F.scaled_dot_product_attention``, so a GPU runs it as one
fused kernel: flash attention for a batch without padding, which needs no mask, and
for a padded one a kernel that takes a mask (e.g. the memory-efficient one).
:func:`from_pretrained` builds the model a checkpoint folder (``config.json`` +
``model.safetensors`` or ``pytorch_model.bin``) describes and loads its weights;
finding and reading that folder, and mapping our short parameter names to Hugging
Face's, is :mod:`bigtext_lite.models.bert_weights`.

Walkthrough: notebooks/09_bert.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# The checkpoint side lives in bert_weights; its names are imported here too, so that
# bert.resolve_checkpoint, bert.read_weights, bert.hf_name ... read as one model's API.
from bigtext_lite.models.bert_weights import (  # noqa: F401
    _canonical,
    hf_name,
    load_encoder_weights,
    offline_checkpoint,
    read_weights,
    resolve_checkpoint,
    weights_file,
)
from bigtext_lite.models.pooling import masked_mean
from bigtext_lite.models.tokenizer_files import read_json
from bigtext_lite.models.wordpiece import WordPiece

# Sizes the tensors' shapes come from. config.json must give all but the last, as every real
# one does (type_vocab_size may be left out: 2, as in transformers).
_SIZES = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
          "intermediate_size", "max_position_embeddings", "type_vocab_size")
# A field's annotation (a string here) -> the JSON values it takes; JSON writes 0.0 as 0 at times.
_KINDS = {"int": int, "float": (int, float), "str": str, "int | None": (int, type(None))}


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    pad_token_id: int | None = 0
    hidden_act: str = "gelu"

    def __post_init__(self):
        # Refused here, a bad value is one line naming it, not an IndexError deep in a layer.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, _KINDS[f.type]):
                raise ValueError(f"{f.name} must be {f.type}, got {value!r}")
            if f.name in _SIZES and value < 1:
                raise ValueError(f"{f.name} must be at least 1, got {value}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by "
                             f"{self.num_attention_heads} heads")
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"pad_token_id {self.pad_token_id} is not an id below vocab_size")
        if self.hidden_act not in ("gelu", "gelu_new"):
            raise ValueError(f"activation {self.hidden_act!r} is not implemented")

    @classmethod
    def from_json(cls, path: str | Path) -> "BertConfig":
        raw = read_json(Path(path))
        if raw.get("model_type", "bert") != "bert":
            raise ValueError(f"{path}: model_type {raw['model_type']!r} is not a BERT checkpoint")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only absolute position embeddings are implemented")
        missing = [k for k in _SIZES[:-1] if k not in raw]
        if missing:
            raise ValueError(f"{path}: no {', '.join(missing)}: the model's sizes are unknown")
        try:
            return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


class Embeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        T, limit = input_ids.shape[1], self.position.num_embeddings  # input_ids: (B, T)
        if T > limit:  # refused, not cut: the tokenizer is where a text is truncated, by a strategy
            raise ValueError(f"input of {T} tokens, but this BERT has {limit} positions "
                             f"(max_position_embeddings): encode with max_length={limit} or less")
        positions = torch.arange(T, device=input_ids.device)  # (T,)
        # (B, T, H) + (1, T, H) + (B, T, H): every text gets the same position vectors
        x = self.word(input_ids) + self.position(positions)[None] + self.token_type(token_type_ids)
        return self.dropout(self.norm(x))  # (B, T, H)


class Layer(nn.Module):
    """One post-norm encoder layer: self-attention, then a feed-forward block."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.attn_out = nn.Linear(c.hidden_size, c.hidden_size)
        self.norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.ffn_in = nn.Linear(c.hidden_size, c.intermediate_size)
        self.ffn_out = nn.Linear(c.intermediate_size, c.hidden_size)
        self.norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.attn_dropout = c.attention_probs_dropout_prob
        self.gelu = nn.GELU(approximate="tanh" if c.hidden_act == "gelu_new" else "none")

    def forward(self, x, mask):
        B, T, H = x.shape  # x: (B, T, H); mask: (B, 1, 1, T)

        # (B, T, H) -> (B, heads, T, H / heads): each head attends on its own
        def split(t):
            return t.view(B, T, self.heads, H // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        # softmax(q k^T / sqrt(d) + mask) v, padded keys masked out,
        # in one fused kernel.
        a = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask,
            dropout_p=self.attn_dropout if self.training else 0.0)
        a = a.transpose(1, 2).reshape(B, T, H)  # (B, heads, T, H / heads) -> (B, T, H)
        x = self.norm1(x + self.dropout(self.attn_out(a)))  # (B, T, H)
        # (B, T, H) -> (B, T, intermediate) -> (B, T, H)
        return self.norm2(x + self.dropout(self.ffn_out(self.gelu(self.ffn_in(x)))))


class Bert(nn.Module):
    """The encoder: returns (hidden states (B, T, H), pooled [CLS] (B, H))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        mask = None  # no padding: SDPA may then pick flash attention, which takes no mask
        if attention_mask is not None:
            # (B, 1, 1, T) boolean: True where a key may be attended to (a real token).
            mask = attention_mask.bool()[:, None, None, :]
            # a batch without padding drops it too (as transformers does); the check
            # reads the mask's values, so it is left out while torch.compile traces
            if not torch.compiler.is_compiling() and bool(mask.all()):
                mask = None
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, H)
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))  # (B, T, H), and [CLS]'s pooled (B, H)


POOLINGS = ("cls", "mean")


class BertClassifier(nn.Module):
    """BERT + dropout + linear on one vector per text: the pooled [CLS] vector
    (``pooling="cls"``, as ``BertForSequenceClassification``) or the mean of the real
    tokens' hidden states (``"mean"``, the pooling sentence-transformers train with)."""

    def __init__(self, config: BertConfig, num_classes: int = 2, pooling: str = "cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.bert = Bert(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, num_classes)
        nn.init.normal_(self.classifier.weight, std=0.02)  # BERT's initialiser
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        # hidden: (B, T, H), pooled: (B, H)
        hidden, pooled = self.bert(input_ids, attention_mask, token_type_ids)
        if self.pooling == "mean":  # the real tokens' mean, padding left out
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            pooled = masked_mean(hidden, attention_mask)  # (B, H)
        return self.classifier(self.dropout(pooled))  # logits: (B, num_classes)


# --- a model from a checkpoint --------------------------------------------------

def from_pretrained(name: str | Path, num_classes: int | None = 2, dropout: float | None = None,
                    pooling: str = "cls"):
    """A :class:`BertClassifier` (``num_classes``, reading ``pooling``) or bare
    :class:`Bert` (``None``) with the checkpoint's encoder weights; the classifier
    head starts fresh."""
    folder = resolve_checkpoint(name)
    config = BertConfig.from_json(folder / "config.json")
    if dropout is not None:
        config.hidden_dropout_prob = dropout
    model = Bert(config) if num_classes is None else BertClassifier(config, num_classes, pooling)
    encoder = model if num_classes is None else model.bert
    load_encoder_weights(encoder, read_weights(folder), str(weights_file(folder)))
    return model


def tokenizer_for(name: str | Path) -> WordPiece:
    """The :class:`~bigtext_lite.models.wordpiece.WordPiece` tokenizer of a checkpoint,
    cutting texts at the model's ``max_position_embeddings`` unless told otherwise."""
    folder = resolve_checkpoint(name)
    config = BertConfig.from_json(folder / "config.json")
    tokenizer = WordPiece.from_file(folder, model_max_length=config.max_position_embeddings)
    if len(tokenizer) > config.vocab_size:  # the extra ids would index past the embedding table
        raise ValueError(f"{tokenizer.source} has {len(tokenizer)} tokens, but "
                         f"{folder / 'config.json'} has vocab_size {config.vocab_size}: "
                         f"not this model's tokenizer?")
    return tokenizer


def param_groups(model: nn.Module, weight_decay: float = 0.01) -> list[dict]:
    """AdamW groups as in BERT: no weight decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)  # biases and norms are the 1-D tensors
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]

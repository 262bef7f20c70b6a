"""The published word vectors (GloVe, fastText's English vectors and model), for users
with internet: ``PRETRAINED`` names them, ``fetch_vectors`` downloads and unpacks one
through the verified, atomic path of :mod:`bigtext_lite.data.fetch`.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bigtext_lite import config
from bigtext_lite.data.fetch import Source, download, extract_member


@dataclass(frozen=True)
class Pretrained:
    """A published vector file: the archive to download and the file inside it."""

    archive: Source
    member: str | None  # the file inside a .zip; None: the archive is one gzip-compressed file
    sha256: str | None = None  # of the extracted file, where one is published


_GLOVE_6B = Source("glove.6B.zip", ("https://nlp.stanford.edu/data/glove.6B.zip",
                                    "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip",
                                    "https://huggingface.co/stanfordnlp/glove/resolve/main/"
                                    "glove.6B.zip"),
                   sha256=None, size=862_182_613)
_FASTTEXT = "https://dl.fbaipublicfiles.com/fasttext"


def _fasttext(folder: str, name: str, member: str | None) -> Pretrained:
    return Pretrained(Source(name, (f"{_FASTTEXT}/{folder}/{name}",), None), member)


# Neither Stanford nor fastText publishes checksums: the archives are pinned on
# first download (see fetch.Source). glove.6B.50d.txt's sha256 is the one
# independent projects record for it.
PRETRAINED = {
    "glove.6B.50d": Pretrained(_GLOVE_6B, "glove.6B.50d.txt",
                               "d8f717f8dd4b545cb7f418ef9f3d0c3e6e68a6f48b97d32f8b7aae40cb31f96f"),
    "glove.6B.100d": Pretrained(_GLOVE_6B, "glove.6B.100d.txt"),
    "glove.6B.200d": Pretrained(_GLOVE_6B, "glove.6B.200d.txt"),
    "glove.6B.300d": Pretrained(_GLOVE_6B, "glove.6B.300d.txt"),
    "wiki-news-300d-1M": _fasttext("vectors-english", "wiki-news-300d-1M.vec.zip",
                                   "wiki-news-300d-1M.vec"),
    "wiki-news-300d-1M-subword": _fasttext("vectors-english", "wiki-news-300d-1M-subword.vec.zip",
                                           "wiki-news-300d-1M-subword.vec"),
    "crawl-300d-2M": _fasttext("vectors-english", "crawl-300d-2M.vec.zip", "crawl-300d-2M.vec"),
    "cc.en.300.bin": _fasttext("vectors-crawl", "cc.en.300.bin.gz", None),  # 4.5 GB: the .bin model
}


def fetch_vectors(name: str | Pretrained, folder: str | Path | None = None) -> Path:
    """Download (once) and unpack a published vector file; returns its path.

    name: a key of ``PRETRAINED`` (e.g. ``"glove.6B.100d"``, ``"wiki-news-300d-1M"``)
        or a :class:`Pretrained`. folder: default ``<data root>/vectors``.
    Every step is verified and atomic (see ``fetch.download``): nothing half
    downloaded or half extracted is ever left under a final name.
    """
    if isinstance(name, str):
        if name not in PRETRAINED:
            raise KeyError(f"unknown vectors {name!r}; known: {', '.join(PRETRAINED)}")
        name = PRETRAINED[name]
    folder = Path(folder) if folder is not None else config.data_root() / "vectors"
    return extract_member(download(name.archive, folder), name.member, folder, name.sha256)

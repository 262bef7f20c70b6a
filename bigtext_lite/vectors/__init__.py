"""Word vectors, in reading order: a word -> vector table (``vectors``); the files it is
read from and written to (``formats``: text and word2vec binary, with ``reading`` behind
them; ``fasttext_bin``: the fastText ``.bin`` model); the published ones (``pretrained``);
our skip-gram/CBOW trainer (``skipgram``, with ``negative_sampling``, what decides the
vectors); and the transfer into a model's embedding layer (``transfer``).

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from bigtext_lite.errors import VectorFileError
from bigtext_lite.vectors.fasttext_bin import (
    FASTTEXT_MAGIC,
    FASTTEXT_VERSION,
    FastTextBin,
    SubwordVectors,
    write_fasttext_bin,
)
from bigtext_lite.vectors.formats import (
    load,
    read_text,
    read_word2vec_bin,
    write_text,
    write_word2vec_bin,
)
from bigtext_lite.vectors.negative_sampling import Subwords
from bigtext_lite.vectors.pretrained import PRETRAINED, Pretrained, fetch_vectors
from bigtext_lite.vectors.skipgram import (
    SkipgramArgs,
    WordVectors,
    build_vocabulary,
    train_unsupervised,
)
from bigtext_lite.vectors.transfer import OOV_STRATEGIES, Coverage, build_embedding_matrix
from bigtext_lite.vectors.vectors import Vectors

__all__ = [
    "FASTTEXT_MAGIC", "FASTTEXT_VERSION", "OOV_STRATEGIES", "PRETRAINED", "Coverage", "FastTextBin",
    "Pretrained", "SkipgramArgs", "SubwordVectors", "Subwords", "VectorFileError", "Vectors",
    "WordVectors", "build_embedding_matrix", "build_vocabulary", "fetch_vectors", "load",
    "read_text", "read_word2vec_bin", "train_unsupervised", "write_fasttext_bin", "write_text",
    "write_word2vec_bin",
]

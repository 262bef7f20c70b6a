"""Word vectors: a word -> vector table, its file formats (text, word2vec binary,
fastText .bin), our skip-gram/CBOW trainer, and the transfer into a model's
embedding layer.

Walkthrough: notebooks/05_word_vectors.ipynb.
"""

from bigtext_lite.errors import VectorFileError
from bigtext_lite.vectors.formats import (FASTTEXT_MAGIC, FASTTEXT_VERSION, OOV_STRATEGIES, PRETRAINED, Coverage, FastTextModel, Pretrained,
                                          Vectors, build_embedding_matrix, fetch_vectors, load,
                                          read_text, read_word2vec_bin, write_text, write_word2vec_bin)
from bigtext_lite.vectors.skipgram import Subwords, WordVectors, build_vocabulary, train_unsupervised

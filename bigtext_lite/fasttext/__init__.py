"""fastText, the supervised classifier, in reading order: hashing as the C++ does it
(``hashing``), the training-file format (``textfile``, with ``token_table`` behind its
fast reader), the dictionary and a text's features (``dictionary``), the model and its
hand-written SGD step (``model``), and Hogwild training and the trained classifier
(``supervised``, with ``hogwild``).

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from bigtext_lite.fasttext.dictionary import (
    Dictionary,
    Indexed,
    LabelledTexts,
    distinct_per_text,
    index_labelled,
    index_tokens,
)
from bigtext_lite.fasttext.hashing import (
    EOS,
    char_ngram_hashes,
    char_ngrams,
    fasttext_hash,
    fasttext_hashes,
    ngram_buckets,
    subword_rows,
)
from bigtext_lite.fasttext.model import FastText
from bigtext_lite.fasttext.supervised import (
    LOSS_EVERY,
    FastTextClassifier,
    SupervisedArgs,
    train_supervised,
)
from bigtext_lite.fasttext.textfile import (
    LABEL_PREFIX,
    parse_line,
    read_file,
    read_indexed,
    split_tokens,
    write_file,
)
from bigtext_lite.formulas import huffman_codes  # the hs loss's tree, shown in the chapter

__all__ = ["EOS", "char_ngram_hashes", "char_ngrams", "fasttext_hash", "fasttext_hashes",
           "ngram_buckets", "subword_rows",
           "LABEL_PREFIX", "parse_line", "read_file", "read_indexed", "split_tokens", "write_file",
           "Dictionary", "Indexed", "LabelledTexts", "distinct_per_text", "index_labelled",
           "index_tokens",
           "FastText", "huffman_codes",
           "LOSS_EVERY", "FastTextClassifier", "SupervisedArgs", "train_supervised"]

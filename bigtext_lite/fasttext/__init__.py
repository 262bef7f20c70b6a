"""fastText, the supervised classifier: hashing as the C++ does it, the training-file
format, the dictionary, the model and its hand-written SGD step, and Hogwild training.

Walkthrough: notebooks/04_fasttext.ipynb.
"""

from bigtext_lite.fasttext.supervised import (EOS, LABEL_PREFIX, LOSS_EVERY, Args, Dictionary, FastText,
                                              FastTextClassifier, char_ngram_hashes, char_ngrams,
                                              distinct_per_text, fasttext_hash, fasttext_hashes,
                                              huffman_codes, index_tokens, ngram_buckets, parse_line,
                                              read_file, read_indexed, split_tokens, subword_rows,
                                              train_supervised, write_file)

"""Datasets and the text pipeline: IMDB, tokenisers, vocabularies, batching."""

from bigtext_lite.data.batching import BucketBatchSampler, bucketed_loader, pad_collate, padding_fraction
from bigtext_lite.data.fetch import Source, download, safe_extract, sha256sum
from bigtext_lite.errors import DataError
from bigtext_lite.data.imdb import IMDB_SOURCE, Reviews, load_imdb, train_valid_split
from bigtext_lite.data.text import Vocab, basic_english, numericalize

__all__ = [
    "BucketBatchSampler", "bucketed_loader", "numericalize", "DataError", "IMDB_SOURCE", "Reviews", "Source", "Vocab",
    "basic_english", "download", "load_imdb", "pad_collate", "padding_fraction",
    "safe_extract", "sha256sum", "train_valid_split",
]

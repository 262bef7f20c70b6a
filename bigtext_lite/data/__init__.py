"""Datasets and the text pipeline: IMDB, tokenisers, vocabularies, batching."""

from bigtext_lite.data.archives import safe_extract
from bigtext_lite.data.batching import (
    BucketBatchSampler,
    bucketed_loader,
    pad_collate,
    padding_fraction,
)
from bigtext_lite.data.fetch import Source, download, sha256sum
from bigtext_lite.data.imdb import IMDB_SOURCE, load_imdb
from bigtext_lite.data.reviews import Reviews, train_valid_split
from bigtext_lite.data.text import Encoded, Vocab, basic_english, numericalize
from bigtext_lite.errors import DataError

__all__ = [
    "BucketBatchSampler", "bucketed_loader", "numericalize", "DataError", "Encoded", "IMDB_SOURCE",
    "Reviews", "Source", "Vocab", "basic_english", "download", "load_imdb", "pad_collate",
    "padding_fraction", "safe_extract", "sha256sum", "train_valid_split",
]

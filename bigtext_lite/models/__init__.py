"""The chapters' models."""

from bigtext_lite.models.bow import BagOfEmbeddings

__all__ = ["BagOfEmbeddings"]

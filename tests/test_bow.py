"""BagOfEmbeddings: padding never changes the result."""

import torch

from bigtext_lite.models.bow import BagOfEmbeddings


def test_padding_does_not_change_the_mean():
    torch.manual_seed(0)
    model = BagOfEmbeddings(20, 8, 2, pad_id=1)
    short = model(torch.tensor([[4, 5, 6]]), torch.tensor([3]))
    padded = model(torch.tensor([[4, 5, 6, 1, 1, 1]]), torch.tensor([3]))
    torch.testing.assert_close(short, padded)
    by_hand = model.out(model.embedding.weight[[4, 5, 6]].mean(0))
    torch.testing.assert_close(short[0], by_hand)

"""The training-loop chapter's DDP demo: ``torchrun --nproc-per-node 2 -m
bigtext_lite.experiments.ddp_demo --out params.pt`` trains a linear classifier with
a fixed global batch on however many processes torchrun starts; the chapter checks
that 2 processes end with the parameters 1 process reaches.

Walkthrough: notebooks/04_training_loop.ipynb, "Several GPUs".
"""

from __future__ import annotations

import argparse

import torch

from bigtext_lite.train import fit
from bigtext_lite.train.distributed import cleanup, is_main, make_loader, setup, world_size


def _demo_data(n: int = 256, d: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X @ torch.randn(d, generator=g) > 0).long()
    return torch.utils.data.TensorDataset(X, y)


def main(argv=None) -> None:
    """Demo: a linear classifier trained for 3 epochs with a global batch of
    ``--global-batch``, on however many processes torchrun started."""
    parser = argparse.ArgumentParser(description="DDP demo for the training-loop chapter")
    parser.add_argument("--out", required=True, help="where rank 0 saves the final parameters")
    parser.add_argument("--global-batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    setup("gloo")  # CPU processes, even on a machine with one GPU (as Colab's)
    torch.manual_seed(0)  # the same initial weights in every process
    if args.global_batch % world_size():
        raise SystemExit(f"--global-batch {args.global_batch} is not divisible by "
                         f"{world_size()} processes")
    model = torch.nn.Linear(10, 2)
    loader = make_loader(_demo_data(), args.global_batch // world_size())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    fit(model, loader, num_epochs=args.epochs, optimizer=optimizer, device="cpu", progress=False,
        verbose=is_main())
    if is_main():
        torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, args.out)
    cleanup()


if __name__ == "__main__":
    main()

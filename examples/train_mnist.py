"""Train the reference MNIST CNN with the library's pieces, step by step.

Run: ``VISIONDATA_HOME=../shared/data python examples/train_mnist.py [--epochs N]``
"""

from __future__ import annotations

import argparse

import torch

import visiondata as vd
from visiondata.models import MNISTCNN
from visiondata.training import evaluate, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--root", default=None, help="folder holding MNIST/raw (default: $VISIONDATA_HOME)")
    options = parser.parse_args()

    torch.manual_seed(0)
    train = vd.get_dataset("mnist", root=options.root, split="train")
    test = vd.get_dataset("mnist", root=options.root, split="test")
    train_batches = train.batches(128, shuffle=True, generator=torch.Generator().manual_seed(0))

    model = MNISTCNN()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.01, total_steps=options.epochs * len(train_batches)
    )
    fit(model, train_batches, optimizer, options.epochs, eval_batches=test.batches(1000), scheduler=scheduler)
    print(f"test accuracy: {evaluate(model, test.batches(1000))['accuracy']:.4f}")


if __name__ == "__main__":
    main()

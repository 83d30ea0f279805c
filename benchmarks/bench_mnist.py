"""MNIST: our in-memory batched path versus torchvision's per-sample pipeline.

Runs both in one process, alternating rounds, and prints medians and ratios:

(a) data path alone: samples per second of
    torchvision ``MNIST`` + ``ToTensor`` + ``Normalize`` + ``DataLoader(num_workers=0)``,
    versus ``MNISTDataset`` through the same ``DataLoader`` (batched ``__getitems__``)
    and through ``MNISTDataset.batches``;
(b) seconds per training epoch of ``MNISTCNN`` (batch 256, AdamW) fed by each.

Usage: ``python benchmarks/bench_mnist.py [--root DIR] [--rounds N]``
(root defaults to $VISIONDATA_HOME, else ../shared/data beside the checkout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from visiondata.datasets import MNISTDataset
from visiondata.models import MNISTCNN

BATCH = 256


def samples_per_second(batches: Iterable, limit: int | None = None) -> float:
    started, seen = time.perf_counter(), 0
    for step, (images, _) in enumerate(batches):
        seen += len(images)
        if limit is not None and step + 1 >= limit:
            break
    return seen / (time.perf_counter() - started)


def epoch_seconds(batches: Iterable) -> float:
    torch.manual_seed(0)
    model = MNISTCNN()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    started = time.perf_counter()
    for images, labels in batches:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def median_of(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, float]:
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):  # alternate so that drift in machine load hits every contender alike
        for name, measure in contenders.items():
            results[name].append(measure())
    return {name: statistics.median(values) for name, values in results.items()}


def main() -> None:
    default_root = os.environ.get("VISIONDATA_HOME") or str(
        Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=default_root)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--torchvision-batches", type=int, default=60, help="batches timed per torchvision data round"
    )
    options = parser.parse_args()

    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    theirs = datasets.MNIST(options.root, train=True, transform=pipeline, download=False)
    ours = MNISTDataset(options.root, split="train")
    generator = torch.Generator().manual_seed(0)

    def torchvision_loader() -> DataLoader:
        return DataLoader(theirs, batch_size=BATCH, shuffle=True, num_workers=0, generator=generator)

    def our_loader() -> DataLoader:
        return DataLoader(ours, batch_size=BATCH, shuffle=True, num_workers=0, generator=generator)

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, {options.rounds} rounds"
    )
    data = median_of(
        options.rounds,
        {
            "torchvision MNIST + ToTensor/Normalize + DataLoader": lambda: samples_per_second(
                torchvision_loader(), options.torchvision_batches
            ),
            "visiondata MNISTDataset + DataLoader (__getitems__)": lambda: samples_per_second(our_loader()),
            "visiondata MNISTDataset.batches": lambda: samples_per_second(
                ours.batches(BATCH, shuffle=True, generator=generator)
            ),
        },
    )
    baseline = data["torchvision MNIST + ToTensor/Normalize + DataLoader"]
    print("\n(a) data path, samples/s (median)")
    for name, value in data.items():
        print(f"  {name:<55} {value:>12,.0f}   {value / baseline:6.1f}x")

    training = median_of(
        max(1, options.rounds // 2),
        {
            "torchvision pipeline": lambda: epoch_seconds(torchvision_loader()),
            "visiondata MNISTDataset.batches": lambda: epoch_seconds(
                ours.batches(BATCH, shuffle=True, generator=generator)
            ),
        },
    )
    print("\n(b) one training epoch of MNISTCNN on 60,000 images, seconds (median)")
    slow = training["torchvision pipeline"]
    for name, value in training.items():
        print(f"  {name:<55} {value:>12.2f}   {slow / value:6.1f}x faster")


if __name__ == "__main__":
    main()

"""MNIST: our in-memory batched path versus torchvision's per-sample pipeline.

Runs both in one process, alternating rounds, and prints medians and ratios:

(a) data path alone: samples per second of
    torchvision ``MNIST`` + ``ToTensor`` + ``Normalize`` + ``DataLoader(num_workers=0)``,
    versus ``MNISTDataset`` through the same ``DataLoader`` (batched ``__getitems__``)
    and through ``MNISTDataset.batches``;
(b) seconds per training epoch of ``MNISTCNN`` (batch 256, AdamW) fed by each.

One torch thread unless ``--threads`` says otherwise. Each ratio is the median over rounds of
the per-round ratio, printed with its min-max. Target: both data paths at least 30x
torchvision's.

Usage: ``python benchmarks/bench_mnist.py [--root DIR] [--rounds N] [--threads N]``
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
from _machine import footer, header, ratio_text
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from visiondata.datasets import MNISTDataset
from visiondata.models import MNISTCNN

BATCH = 256
TARGET = ">= 30"


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


def per_round(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):  # alternate so that drift in machine load hits every contender alike
        for name, measure in contenders.items():
            results[name].append(measure())
    return results


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
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--epoch-rounds",
        type=int,
        default=None,
        help="rounds of (b), the epochs; default rounds // 2; 0 skips",
    )
    options = parser.parse_args()
    torch.set_num_threads(options.threads)

    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    theirs = datasets.MNIST(options.root, train=True, transform=pipeline, download=False)
    ours = MNISTDataset(options.root, split="train")
    generator = torch.Generator().manual_seed(0)

    def torchvision_loader() -> DataLoader:
        return DataLoader(theirs, batch_size=BATCH, shuffle=True, num_workers=0, generator=generator)

    def our_loader() -> DataLoader:
        return DataLoader(ours, batch_size=BATCH, shuffle=True, num_workers=0, generator=generator)

    # Same sampler seed, same batches: ours must equal torchvision's, bit for bit.
    for (a, b), (c, d), _ in zip(
        DataLoader(theirs, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(1)),
        DataLoader(ours, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(1)),
        range(2),
        strict=False,
    ):
        assert torch.equal(a, c) and torch.equal(b, d), "our DataLoader batch differs from torchvision's"

    epoch_rounds = max(1, options.rounds // 2) if options.epoch_rounds is None else options.epoch_rounds
    print(
        header(
            options.rounds,
            f"MNIST train split ({len(ours):,} images) from {options.root}; batch {BATCH}, num_workers=0; "
            f"(a) {options.rounds} rounds, torchvision timed over {options.torchvision_batches} batches "
            f"a round, ours over the whole epoch; (b) {epoch_rounds} round{'s' if epoch_rounds != 1 else ''}",
        )
    )
    baseline_name = "torchvision MNIST + ToTensor/Normalize + DataLoader"
    data = per_round(
        options.rounds,
        {
            baseline_name: lambda: samples_per_second(torchvision_loader(), options.torchvision_batches),
            "visiondata MNISTDataset + DataLoader (__getitems__)": lambda: samples_per_second(our_loader()),
            "visiondata MNISTDataset.batches": lambda: samples_per_second(
                ours.batches(BATCH, shuffle=True, generator=generator)
            ),
        },
    )
    print(f"\n(a) data path, samples/s (median of {options.rounds} rounds), vs torchvision")
    print(f"  {baseline_name:<55} {statistics.median(data[baseline_name]):>12,.0f}")
    for name, values in data.items():
        if name != baseline_name:
            print(
                f"  {name:<55} {statistics.median(values):>12,.0f}   "
                f"{ratio_text(values, data[baseline_name], TARGET, digits=1)}"
            )

    if epoch_rounds == 0:
        print(f"\n{footer()}")
        return
    slow_name = "torchvision pipeline"
    training = per_round(
        epoch_rounds,
        {
            slow_name: lambda: epoch_seconds(torchvision_loader()),
            "visiondata MNISTDataset.batches": lambda: epoch_seconds(
                ours.batches(BATCH, shuffle=True, generator=generator)
            ),
        },
    )
    print(
        f"\n(b) one training epoch of MNISTCNN on 60,000 images, seconds (median of {epoch_rounds}), no target"
    )
    print(f"  {slow_name:<55} {statistics.median(training[slow_name]):>12.2f}")
    name = "visiondata MNISTDataset.batches"
    # Faster: torchvision's seconds over ours, per round.
    print(
        f"  {name:<55} {statistics.median(training[name]):>12.2f}   "
        f"{ratio_text(training[slow_name], training[name], digits=1, word='faster')}"
    )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

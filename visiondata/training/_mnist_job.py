"""The ``mnist-cnn`` training job: its settings and its command-line options.

Importing this module costs no torch import, so ``visiondata --help`` stays
fast; the training itself lives in ``_mnist_training``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from visiondata.training._jobs import (
    TrainingJob,
    non_negative_float,
    positive_float,
    positive_int,
    register_job,
)


@dataclass(frozen=True)
class MNISTTrainingConfig:
    """Settings of [`train_mnist_cnn`][visiondata.training.train_mnist_cnn]; the defaults are the tested recipe."""

    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.01
    weight_decay: float = 0.01
    seed: int = 0
    root: str | None = None
    out: str = "runs/mnist-cnn"
    limit: int | None = None
    progress: bool = True


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = MNISTTrainingConfig()
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=defaults.epochs,
        help="passes over the training set (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=defaults.batch_size, help="default: %(default)s"
    )
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=defaults.lr,
        help="peak learning rate of the one-cycle schedule (default: %(default)s)",
    )
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=defaults.weight_decay,
        help="AdamW weight decay (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")
    parser.add_argument(
        "--root",
        default=None,
        help="folder holding MNIST/raw (default: $VISIONDATA_HOME, else ~/.cache/visiondata)",
    )
    parser.add_argument(
        "--out", default=defaults.out, help="where metrics.json and model.pt go (default: %(default)s)"
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        help="train on the first N training images only (quick checks)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run(options: argparse.Namespace) -> dict[str, Any]:
    from visiondata.training._mnist_training import train_mnist_cnn

    metrics = train_mnist_cnn(
        MNISTTrainingConfig(
            epochs=options.epochs,
            batch_size=options.batch_size,
            lr=options.lr,
            weight_decay=options.weight_decay,
            seed=options.seed,
            root=options.root,
            out=options.out,
            limit=options.limit,
            progress=not options.no_progress,
        )
    )
    print(
        f"test accuracy {metrics['test_accuracy']:.4f} ({metrics['parameters']:,} parameters, "
        f"{metrics['seconds']:.1f}s); wrote {os.path.join(options.out, 'metrics.json')} and model.pt"
    )
    return metrics


register_job(
    TrainingJob(
        "mnist-cnn",
        "train the reference MNIST CNN (2,762 parameters) and report test accuracy",
        _add_arguments,
        _run,
    )
)

"""The ``mnist-cnn`` training job: its command-line options, on top of ``_mnist_training``.

Importing this module costs no torch import (``_mnist_training`` imports
torch only when training starts), so ``visiondata --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from visiondata._arguments import positive_int_option
from visiondata.training._jobs import TrainingJob, add_optimisation_arguments, register_job
from visiondata.training._mnist_training import MNISTTrainingConfig, train_mnist_cnn
from visiondata.training._threads import add_threads_argument


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = MNISTTrainingConfig()
    add_optimisation_arguments(parser, defaults, "passes over the training set")
    parser.add_argument(
        "--root",
        default=None,
        help="folder holding MNIST/raw (default: $VISIONDATA_HOME, else ~/.cache/visiondata)",
    )
    parser.add_argument(
        "--download", action="store_true", help="download MNIST into the root folder when it is not there"
    )
    parser.add_argument(
        "--out", default=defaults.out, help="where metrics.json and model.pt go (default: %(default)s)"
    )
    parser.add_argument(
        "--limit",
        type=positive_int_option,
        default=None,
        help="train on the first N training images only (quick checks)",
    )
    add_threads_argument(parser, defaults.threads)
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress bar (it is shown only when stderr is a terminal; a log gets one line per epoch)",
    )


def _run(options: argparse.Namespace) -> dict[str, Any]:
    from visiondata.exceptions import DatasetNotFoundError

    config = MNISTTrainingConfig(
        epochs=options.epochs,
        batch_size=options.batch_size,
        lr=options.lr,
        weight_decay=options.weight_decay,
        seed=options.seed,
        root=options.root,
        out=options.out,
        limit=options.limit,
        progress=not options.no_progress,
        download=options.download,
        threads=options.threads,
    )
    try:
        metrics = train_mnist_cnn(config)
    except DatasetNotFoundError as error:
        raise DatasetNotFoundError(_command_line_advice(str(error))) from error
    print(
        f"test accuracy {metrics['test_accuracy']:.4f} ({metrics['parameters']:,} parameters, "
        f"{metrics['seconds']:.1f}s, threads: {metrics['threads']}); wrote {os.path.join(options.out, 'metrics.json')} and model.pt"
    )
    return metrics


def _command_line_advice(message: str) -> str:
    """The dataset's message, its Python advice (``download=True``, ``root=``) replaced by this command's options."""
    # The dataset states what is missing and where, then advises its own keyword arguments.
    missing = message.split(" Pass download=True", 1)[0].rstrip(".")
    return (
        f"{missing}. Run again with --download to fetch it, place the files in that folder by hand, or pass "
        "--root (or set $VISIONDATA_HOME) to the folder that holds MNIST/raw"
    )


register_job(
    TrainingJob(
        "mnist-cnn",
        "train the reference MNIST CNN (2,762 parameters) and report test accuracy",
        _add_arguments,
        _run,
    )
)

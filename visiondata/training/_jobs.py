"""Registry of named training jobs, run by ``visiondata train NAME``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visiondata._registry import Registry


@dataclass(frozen=True)
class TrainingJob:
    """A named job: how to declare its command-line options and how to run it.

    Attributes:
        name: Registry name (``"mnist-cnn"``).
        description: One line for ``visiondata train --help``.
        add_arguments: Adds the job's options to an ``argparse`` parser.
        run: Runs the job from the parsed options and returns its metrics.
    """

    name: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict[str, Any]]


_JOBS: Registry[TrainingJob] = Registry("job")


def register_job(job: TrainingJob, *, override: bool = False) -> TrainingJob:
    """Make ``job`` available as ``visiondata train <job.name>``.

    Raises:
        DuplicateNameError: A job of that name exists and ``override`` is false.
    """
    return _JOBS.register(job.name, job, override=override)


def list_jobs(pattern: str | None = None) -> list[str]:
    """Sorted names of registered training jobs.

    Examples:
        >>> list_jobs()
        ['mnist-cnn', 'yolo-shapes']
    """
    return _JOBS.names(pattern)


def get_job(name: str) -> TrainingJob:
    """The job registered as ``name``; unknown names suggest close matches."""
    return _JOBS.get(name)


def add_optimisation_arguments(parser: argparse.ArgumentParser, defaults: Any, epochs_help: str) -> None:
    """The options every training job shares: ``--epochs``, ``--batch-size``, ``--lr``, ``--weight-decay``, ``--seed``.

    ``defaults`` is the job's config (its ``epochs``, ``batch_size``, ``lr``, ``weight_decay`` and ``seed``).
    """
    from visiondata._arguments import non_negative_float_option, positive_float_option, positive_int_option

    parser.add_argument(
        "--epochs",
        type=positive_int_option,
        default=defaults.epochs,
        help=f"{epochs_help} (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int_option, default=defaults.batch_size, help="default: %(default)s"
    )
    parser.add_argument(
        "--lr",
        type=positive_float_option,
        default=defaults.lr,
        help="peak learning rate of the one-cycle schedule (default: %(default)s)",
    )
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float_option,
        default=defaults.weight_decay,
        help="AdamW weight decay (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")


def save_run(out: Any, model: Any, metrics: dict[str, Any]) -> None:
    """Write ``out/model.pt`` (the state dict), then ``out/metrics.json``, each whole or not at all.

    ``metrics.json`` comes last: when it is there, the weights beside it are those it describes.
    """
    import json

    import torch

    from visiondata._files import atomic_path, write_text_atomic

    with atomic_path(Path(out) / "model.pt") as partial:
        torch.save(model.state_dict(), partial)
    write_text_atomic(Path(out) / "metrics.json", json.dumps(metrics, indent=2) + "\n")

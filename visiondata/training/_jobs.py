"""Registry of named training jobs, run by ``visiondata train NAME``."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
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
        ['mnist-cnn']
    """
    return _JOBS.names(pattern)


def get_job(name: str) -> TrainingJob:
    """The job registered as ``name``; unknown names suggest close matches."""
    return _JOBS.get(name)


# argparse ``type=`` functions for job options: a bad value then exits with status 2 and the
# usage line, naming the option, instead of failing with a traceback once training has begun.
def positive_int(text: str) -> int:
    """An integer of at least 1, for ``--epochs``-like options.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such an integer.

    Examples:
        >>> positive_int("3")
        3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0, for ``--lr``-like options (``nan`` and ``inf`` are refused).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such a number.

    Examples:
        >>> positive_float("3e-4")
        0.0003
    """
    value = _finite_float(text, "a positive finite number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0, for ``--weight-decay``-like options.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such a number.

    Examples:
        >>> non_negative_float("0")
        0.0
    """
    value = _finite_float(text, "a finite number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _finite_float(text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value

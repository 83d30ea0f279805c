"""Registry of named training jobs, run by ``visiondata train NAME``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from visiondata._arguments import check_finite_number, check_positive_int, parse_option
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
        >>> positive_int("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a positive integer, got '0'
    """
    return parse_option(text, int, check_positive_int, quote_text=True)


def positive_float(text: str) -> float:
    """A finite number above 0, for ``--lr``-like options (``nan`` and ``inf`` are refused).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such a number.

    Examples:
        >>> positive_float("3e-4")
        0.0003
    """
    return parse_option(
        text,
        float,
        lambda name, value: check_finite_number(
            name, value, minimum=0, inclusive=False, expected="a positive finite number"
        ),
        quote_text=True,
    )


def non_negative_float(text: str) -> float:
    """A finite number of at least 0, for ``--weight-decay``-like options.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such a number.

    Examples:
        >>> non_negative_float("0")
        0.0
    """
    return parse_option(
        text, float, lambda name, value: check_finite_number(name, value, minimum=0), quote_text=True
    )

"""Registry of named training jobs, run by ``visiondata train NAME``."""

from __future__ import annotations

import argparse
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
        ['mnist-cnn', 'yolo-shapes']
    """
    return _JOBS.names(pattern)


def get_job(name: str) -> TrainingJob:
    """The job registered as ``name``; unknown names suggest close matches."""
    return _JOBS.get(name)

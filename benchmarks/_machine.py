"""What every benchmark prints first (the machine, the builds, the threads, the rounds) and how it prints a ratio.

Imported by the ``bench_*.py`` scripts beside it (``python benchmarks/bench_x.py`` puts this
folder on ``sys.path``).
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
from collections.abc import Sequence


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> str:
    """``"2 cores"``, or ``"16 cores (4 usable)"`` when this process may run on fewer."""
    total = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = total
    return f"{total} cores" if usable == total else f"{total} cores ({usable} usable)"


def load_average() -> str:
    try:
        return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "load average unknown"


def header(rounds: int, *extra: str, method: str | None = None) -> str:
    """The lines a benchmark prints before anything else.

    The CPU and its cores, the torch build (``torch.__version__`` says ``+cpu`` or ``+cuXXX``;
    a CUDA build still runs these benchmarks on the CPU), torchvision, the torch threads in use
    (call this after ``torch.set_num_threads``), the rounds, Python, the date and the load
    average (this machine may be shared), and ``extra`` (other libraries, the data). ``method``
    replaces the line saying how the contenders alternate and how ratios are taken.
    """
    import torch
    import torchvision

    cuda = "CUDA build, run on the CPU" if torch.version.cuda else "CPU build"
    lines = [
        f"machine: {cpu_name()}, {cores()}; Python {platform.python_version()} ({sys.platform})",
        f"torch {torch.__version__} ({cuda}), torchvision {torchvision.__version__}; "
        f"{torch.get_num_threads()} torch thread{'s' if torch.get_num_threads() != 1 else ''}",
        f"{rounds} round{'s' if rounds != 1 else ''}, "
        + (
            method
            or "contenders alternating within each round; each ratio: median over rounds of the per-round ratio, with its min-max"
        ),
        f"started {datetime.datetime.now().isoformat(timespec='seconds')}, {load_average()}",
    ]
    return "\n".join([*lines, *extra])


def ratio_text(
    ours: Sequence[float],
    theirs: Sequence[float],
    target: str | None = None,
    digits: int = 2,
    word: str = "",
) -> str:
    """``"1.80x (rounds 1.71-1.86x; target >= 1.6x: met)"`` from per-round values of the two contenders.

    ``target`` is ``">= 1.6"`` or ``"<= 0.4"`` (the ratio ours/theirs must be at least, or at
    most, that); the verdict compares the median ratio with it. ``word`` follows the median
    (``"faster"``, ``"the size"``).
    """
    ratios = [mine / max(base, 1e-12) for mine, base in zip(ours, theirs, strict=True)]
    median = statistics.median(ratios)
    text = f"{median:.{digits}f}x{' ' + word if word else ''} (rounds {min(ratios):.{digits}f}-{max(ratios):.{digits}f}x"
    if target is not None:
        text += f"; target {target}x: {verdict(median, target)}"
    return text + ")"


def verdict(value: float, target: str) -> str:
    """``"met"`` or ``"MISSED"``: ``value`` against ``">= 1.6"`` or ``"<= 0.4"``."""
    operator, bound = target.split()
    met = value >= float(bound) if operator == ">=" else value <= float(bound)
    return "met" if met else "MISSED"


def footer() -> str:
    return f"finished {datetime.datetime.now().isoformat(timespec='seconds')}, {load_average()}"

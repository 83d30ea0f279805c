"""How many CPU threads a training job gives torch, and the command-line option that sets it.

Measured on a 2-core machine (docs/performance.md, "Threads and a busy
machine"): the reference MNIST CNN trains faster on one thread than on two,
and with one other CPU-bound process running, two threads take several times
as long as one, because every parallel kernel waits for the thread the other
process has pushed aside. One thread keeps its speed on a shared machine, and
a run repeats its result exactly however busy the machine is and however many
cores it has.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager


def add_threads_argument(parser: argparse.ArgumentParser, default: int | None) -> None:
    """``--threads N``: the torch threads of the job (``default``; ``None`` keeps torch's own count)."""
    from visiondata._arguments import positive_int_option

    default_help = "torch's own, one per core" if default is None else "%(default)s"
    parser.add_argument(
        "--threads",
        type=positive_int_option,
        default=default,
        help=(
            "torch threads (default: "
            f"{default_help}); the result can differ in its last digits with another count, and more "
            "threads than free cores slows training several times over"
        ),
    )


@contextmanager
def torch_threads(count: int | None) -> Iterator[int]:
    """Run the block with ``count`` torch threads, then give the process back its own count.

    Args:
        count: Threads for the block; ``None`` leaves torch's count as it is.

    Yields:
        The thread count the block runs with.

    Examples:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1) as count:
        ...     count, torch.get_num_threads()
        (1, 1)
        >>> torch.get_num_threads() == before
        True
    """
    import torch

    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)

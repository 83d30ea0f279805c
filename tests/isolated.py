"""Run a snippet in a child interpreter with a time limit and a memory limit.

Tests of inputs that once crashed the process (a segmentation fault in a C extension), hung it (a FIFO
opened for reading) or filled the memory run their code here, so a regression fails the one test with
the child's exit status and output instead of killing or stalling the whole suite.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Address space for the child: enough for torch and a small dataset, far below what the bugs took.
DEFAULT_MEMORY = 6 << 30


def run_isolated(
    code: str, timeout: float = 60, memory_bytes: int = DEFAULT_MEMORY, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) in a fresh ``python``; raise AssertionError on a timeout, naming it a hang.

    The child's address space is capped at ``memory_bytes`` (``RLIMIT_AS``), so a runaway allocation
    fails in the child (``MemoryError`` or a killed process) rather than swapping the machine.
    """

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
            cwd=cwd or REPO,
            # One thread each: every thread's stack counts against the address-space limit.
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired as error:
        raise AssertionError(
            f"the child hung: still running after {timeout} s\n{error.stderr or ''}"
        ) from None


def assert_clean_exit(result: subprocess.CompletedProcess[str]) -> None:
    """The child exited 0; else fail with its status (a negative one is the signal) and its output."""
    assert result.returncode == 0, (
        f"child exited with {result.returncode} (negative: killed by signal {-result.returncode})\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )

"""The ``visiondata`` command line (also ``python -m visiondata``).

Commands:
    visiondata train mnist-cnn [--epochs N] [--batch-size B] [--lr LR] [--seed S] [--root DIR] [--download] [--out DIR]
    visiondata train yolo-shapes [--epochs N] [--seed S] [--data PATH] [--out DIR]
    visiondata datasets list [--task T] [--pattern P] [--json]
    visiondata datasets info NAME [--json]
    visiondata check PATH | --csv FILE [--root DIR] [--json]
    visiondata models list [--pattern P] [--task T] [--source S] [--json]
    visiondata models info NAME [--json]
    visiondata convert SRC OUT --to coco|voc|yolo [--from FORMAT] [--images DIR] [--split S] [--classes NAMES]
        [--include-crowd] [--overwrite]
    visiondata export DATASET_OR_PATH OUT [--split S] [--max-count N] [--encode keep|jpeg|png] [--format F]
    visiondata preview SOURCE [--from FORMAT] [--images DIR] [--pipeline SPEC] [--out PNG] [-n N] [--split S] [--root DIR] [--seed S]
    visiondata report DATA [DATA ...] [--split S ...] -o OUT.html [--json FILE] [--format F] [--images DIR] [--root DIR]
        [--max-per-section N] [--near-threshold K]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from visiondata._version import __version__
from visiondata.exceptions import VisionDataError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``visiondata`` command."""
    from visiondata.datasets._check import add_command as add_check_command
    from visiondata.datasets._commands import add_commands as add_dataset_commands
    from visiondata.formats._convert import add_command as add_convert_command
    from visiondata.models._commands import add_commands as add_model_commands
    from visiondata.report._commands import add_command as add_report_command
    from visiondata.shards._commands import add_command as add_export_command
    from visiondata.training import get_job, list_jobs
    from visiondata.transforms._commands import add_commands as add_preview_command

    parser = argparse.ArgumentParser(
        prog="visiondata", description="Datasets, transforms and models for PyTorch vision projects."
    )
    parser.add_argument("--version", action="version", version=f"visiondata {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="run a training job", description="Run a named training job.")
    jobs = train.add_subparsers(dest="job", metavar="JOB", required=True)
    for name in list_jobs():
        job = get_job(name)
        job_parser = jobs.add_parser(name, help=job.description, description=job.description)
        job.add_arguments(job_parser)
        job_parser.set_defaults(handler=job.run)

    add_dataset_commands(commands)
    add_check_command(commands)
    add_model_commands(commands)
    add_preview_command(commands)
    add_convert_command(commands)
    add_export_command(commands)
    add_report_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors the user can act on end with one line on stderr, ``visiondata: error: ...``, and exit
    status 1: every [`VisionDataError`][visiondata.exceptions.VisionDataError] (they name the file,
    what was expected and the fix), and an ``OSError`` that names a file (permission denied, a
    folder where a file was expected, no space left on the device holding it...). Anything
    else (``TypeError``, ``AttributeError``...) is a bug and keeps its traceback.

    Examples:
        >>> main(["train", "mnist-cnn", "--epochs", "1", "--limit", "1000"])  # doctest: +SKIP
        0
    """
    options = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # restored when the command ends
            status = options.handler(options)
    except BrokenPipeError:
        # The reader of the output went away (`visiondata datasets list | head`): nothing is wrong with the
        # command. Standard output goes to /dev/null so that flushing it at exit raises nothing either.
        _silence_stdout()
        return 128 + 13  # killed by SIGPIPE, as the shell reports it for other programs
    except VisionDataError as error:
        # Our errors carry the file, the expected value and the fix: no traceback needed.
        print(f"visiondata: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        if error.filename is None:  # not about a path the user can fix: keep the traceback
            raise
        print(f"visiondata: error: {_os_error_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("visiondata: interrupted", file=sys.stderr)
        return 130
    return status if isinstance(status, int) else 0


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """One line per warning, ``visiondata: warning: ...``: the source file and line mean nothing to a user."""
    kind = "" if category is UserWarning else f" ({category.__name__})"
    with contextlib.suppress(OSError, ValueError):  # standard error closed: not worth a traceback
        print(f"visiondata: warning{kind}: {message}", file=file if file is not None else sys.stderr)


def _silence_stdout() -> None:
    with contextlib.suppress(BrokenPipeError, ValueError):
        sys.stdout.flush()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind sys.stdout (a test's capture)
        pass


def _os_error_line(error: OSError) -> str:
    """An ``OSError`` about a file as one line: the file(s), the system's reason, and what to check.

    Examples:
        >>> _os_error_line(PermissionError(13, "Permission denied", "/data/out"))
        '/data/out: Permission denied (PermissionError); check its permissions'
        >>> _os_error_line(OSError(18, "Invalid cross-device link", "/a", None, "/b"))
        '/a -> /b: Invalid cross-device link (OSError); check the path'
    """
    where = str(error.filename) + (f" -> {error.filename2}" if error.filename2 is not None else "")
    reason = error.strerror or str(error)
    hint = "check its permissions" if isinstance(error, PermissionError) else "check the path"
    return f"{where}: {reason} ({type(error).__name__}); {hint}"

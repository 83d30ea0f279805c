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
import sys
from collections.abc import Sequence

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
        status = options.handler(options)
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

"""``visiondata datasets list`` and ``visiondata datasets info NAME``."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from collections.abc import Iterator
from typing import Any

from visiondata.datasets._catalog import dataset_info, list_datasets
from visiondata.datasets._info import TASKS, DatasetInfo


class _TasksWithDatasets:
    """The tasks at least one registered dataset has, in the order of ``TASKS``, for ``--task`` choices.

    argparse only iterates or searches the choices when ``--task`` is given
    or help is printed (given a metavar), so the registry and its plugins
    are read then, not whenever the parser is built.
    """

    @functools.cached_property
    def _tasks(self) -> tuple[str, ...]:
        present = {dataset_info(name).task for name in list_datasets()}
        return tuple(task for task in TASKS if task in present)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __contains__(self, task: object) -> bool:
        return task in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the ``datasets`` command and its sub-commands to the top-level parser."""
    datasets = commands.add_parser(
        "datasets",
        help="list and describe the registered datasets",
        description="List and describe the registered datasets: built-in, registered with register_dataset() "
        "and added by installed plugins.",
    )
    actions = datasets.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="one line per dataset", description="List registered datasets.")
    # A metavar, or argparse would list the choices (and read the registry) while building the parser.
    listing.add_argument(
        "--task",
        choices=_TasksWithDatasets(),
        metavar="TASK",
        help="keep only datasets of this task: %(choices)s",
    )
    listing.add_argument("--pattern", help="shell-style pattern on the name, e.g. '*mnist*'")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)

    info = actions.add_parser(
        "info", help="everything known about one dataset", description="Describe a dataset."
    )
    info.add_argument("name", help="registry name, e.g. cifar10")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_info)


def info_as_dict(info: DatasetInfo) -> dict[str, Any]:
    """A JSON-ready dict of every [`DatasetInfo`][visiondata.datasets.DatasetInfo] field.

    Examples:
        >>> import visiondata as vd
        >>> info_as_dict(vd.dataset_info("mnist"))["splits"]
        ['train', 'test']
    """
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in dataclasses.asdict(info).items()
    }


def _list(options: argparse.Namespace) -> None:
    infos = [dataset_info(name) for name in list_datasets(options.pattern, task=options.task)]
    if options.json:
        print(json.dumps([info_as_dict(info) for info in infos], indent=2))
        return
    rows = [
        (
            info.name,
            info.task,
            ", ".join(info.splits),
            "" if info.num_classes is None else str(info.num_classes),
            "yes" if info.download else "no",
        )
        for info in infos
    ]
    print(_table(("name", "task", "splits", "classes", "download"), rows))
    print(f"{len(rows)} dataset{'' if len(rows) == 1 else 's'}")


def _info(options: argparse.Namespace) -> None:
    fields = info_as_dict(dataset_info(options.name))
    if options.json:
        print(json.dumps(fields, indent=2))
        return
    classes = fields.pop("classes")
    width = max(len(key) for key in fields)
    for key, value in fields.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value
        print(f"{key:<{width}}  {'-' if shown is None else shown}")
    if classes:
        print(f"{'classes':<{width}}  {', '.join(classes)}")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [header, tuple("-" * width for width in widths), *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )

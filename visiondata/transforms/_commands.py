"""``visiondata preview``: a PNG grid of augmented samples with their boxes, to see a pipeline before training."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visiondata.exceptions import OutputConflictError, VisionDataError


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the ``preview`` command to the top-level parser."""
    preview = commands.add_parser(
        "preview",
        help="write a PNG grid of (augmented) samples with their boxes",
        description=(
            "Draw the first N samples of a dataset, each through an augmentation pipeline if one is given, "
            "with their boxes and labels, into one PNG grid."
        ),
    )
    preview.add_argument(
        "source",
        metavar="DATASET_OR_FOLDER",
        help="a catalog name (visiondata datasets list), a CSV file of boxes, or a folder with one sub-folder per class",
    )
    preview.add_argument(
        "--pipeline", help="a BoxPipeline spec file (YAML or JSON, as BoxPipeline.save writes)"
    )
    preview.add_argument(
        "--out",
        default="preview.png",
        help="image file to write: PNG, or JPEG for a .jpg name (default: preview.png)",
    )
    preview.add_argument(
        "-n",
        "--count",
        type=_int_in(1, MAX_COUNT),
        default=16,
        help=f"number of samples, 1..{MAX_COUNT} (default: 16); a smaller dataset is cycled through, each pass "
        "augmented anew",
    )
    preview.add_argument(
        "--ncols", type=_int_in(1, MAX_COUNT), default=4, help=f"images per row, 1..{MAX_COUNT} (default: 4)"
    )
    preview.add_argument("--split", help="split of a catalog dataset (default: its first)")
    preview.add_argument(
        "--root", help="data folder of a catalog dataset, or the folder CSV paths are relative to"
    )
    preview.add_argument(
        "--seed", type=_int_in(0, 2**64 - 1), help="seed of the pipeline, an int >= 0 (overrides the spec's)"
    )
    preview.set_defaults(handler=_preview)


#: The most samples (and columns) one preview draws: a grid of 1024 images is already hard to look at,
#: and every sample is held in memory until the grid is written.
MAX_COUNT = 1024


def _int_in(low: int, high: int) -> Any:
    """An argparse type: an int in ``low..high``; anything else exits 2 with the usage and the bounds."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int in {low}..{high}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an int in {low}..{high}, got {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in some messages
    return parse


def open_source(source: str, split: str | None = None, root: str | None = None) -> Any:
    """The dataset a command names: a CSV file of boxes, a class-folder tree, or a catalog name."""
    path = Path(source)
    if path.suffix.lower() == ".csv" and path.is_file():
        from visiondata.datasets import CSVDetectionDataset

        return CSVDetectionDataset(path, root if root is not None else path.parent)
    if path.is_dir():
        from visiondata.datasets import ImageFolderDataset

        return ImageFolderDataset(path)
    from visiondata.datasets import get_dataset

    return get_dataset(source, split=split, root=root)


def _check_out(options: argparse.Namespace) -> None:
    """Refuse an ``--out`` that is not a file to write (a folder, a device) or is one of the inputs."""
    from visiondata._files import file_kind, same_or_inside

    out = options.out
    try:
        info = os.stat(out)
    except OSError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputConflictError(
            f"{out}: --out: expected an image file to write (new, or a file to replace), got "
            f"{file_kind(info.st_mode)}; choose a file name such as preview.png"
        )
    inputs = [path for path in (options.source, options.pipeline) if path and os.path.exists(path)]
    conflict = same_or_inside(out, inputs) if inputs else None
    if conflict is not None:
        raise OutputConflictError(
            f"{out}: --out: expected a file apart from the inputs, got one that is or lies inside {conflict}; "
            "writing there would change the data or the spec previewed: choose another --out"
        )


def _preview(options: argparse.Namespace) -> int:
    from visiondata.transforms._pipeline import BoxPipeline
    from visiondata.viz import save_grid

    if options.count < 1:  # the parser refuses it; kept for callers building the options themselves
        raise SystemExit("visiondata preview: error: -n/--count: expected a positive number")
    _check_out(options)
    dataset = open_source(options.source, options.split, options.root)
    pipeline = None
    if options.pipeline is not None:
        if not os.path.lexists(options.pipeline):
            print(
                f"visiondata: error: {options.pipeline}: no such file; expected a pipeline spec "
                "(YAML or JSON, as BoxPipeline.save writes it)",
                file=sys.stderr,
            )
            return 1
        # A FIFO, a device or a folder is refused by load, named, before it is opened.
        pipeline = BoxPipeline.load(options.pipeline)
        if options.seed is not None:
            pipeline = BoxPipeline.from_dict({**pipeline.to_dict(), "seed": options.seed})
    if len(dataset) == 0:
        raise SystemExit(f"visiondata preview: error: {options.source}: the dataset has no samples")
    count = options.count
    samples = []
    reasons: Counter[str] = Counter()
    boxes = 0
    for index in range(count):
        image, target = dataset[index % len(dataset)]
        if pipeline is not None:
            try:
                if isinstance(target, Mapping):
                    image, target = pipeline(image, target)
                    reasons.update(entry["reason"] for entry in target.get("dropped", []))
                else:
                    image = pipeline({"image": image})["image"]
            except (TypeError, ValueError) as error:
                if isinstance(error, VisionDataError):
                    raise type(error)(f"sample {index % len(dataset)}: {error}") from None
                # A sample the pipeline cannot take (an image type, a per-box field of another shape).
                raise VisionDataError(
                    f"sample {index % len(dataset)}: the pipeline {options.pipeline} cannot take it: {error}"
                ) from None
        if isinstance(target, Mapping) and target.get("boxes") is not None:
            boxes += len(target["boxes"])
        samples.append((image, target))
    classes = getattr(dataset, "classes", None)
    try:
        path = save_grid(samples, options.out, ncols=options.ncols, class_names=classes)
    except OSError as error:
        raise OutputConflictError(
            f"{options.out}: --out: cannot write the preview: {error.strerror or error}"
        ) from None
    dropped = sum(reasons.values())
    detail = f" ({', '.join(f'{reason} {n}' for reason, n in sorted(reasons.items()))})" if dropped else ""
    print(f"wrote {os.fspath(path)}: {count} samples, {boxes} boxes, {dropped} dropped{detail}")
    return 0

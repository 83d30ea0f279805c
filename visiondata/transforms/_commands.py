"""``visiondata preview``: a PNG grid of augmented samples with their labels, to see a pipeline before training.

Boxes (oriented ones as their outline), keypoints with the dataset's ``skeleton`` and masks (tinted) are
drawn as ``visiondata.viz.draw_boxes`` draws them.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

from visiondata._arguments import MAX_SEED, check_int, parse_option
from visiondata.exceptions import OutputConflictError, VisionDataError
from visiondata.formats._open import DETECTION_FORMATS


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
        metavar="SOURCE",
        help="what convert, check and export read: a COCO JSON file, a VOC folder, a YOLO data.yaml or folder, "
        "a CSV file of boxes, a CVAT for images XML, a LabelMe folder, a Label Studio JSON export; or a folder "
        "with one sub-folder per class, or a catalog name (visiondata datasets list)",
    )
    preview.add_argument(
        "--from",
        dest="source_format",
        choices=SOURCE_FORMATS,
        help="format of SOURCE (guessed if left out: an existing path by its contents, else a catalog name)",
    )
    preview.add_argument(
        "--images",
        help="COCO, CVAT, Label Studio: the folder the file names are relative to (default: the annotation "
        "file's folder)",
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
    preview.add_argument(
        "--split",
        help="split to draw: of a catalog dataset (default: its first), VOC (default: every file), YOLO "
        "(default: train)",
    )
    preview.add_argument(
        "--root", help="data folder of a catalog dataset, or the folder CSV paths are relative to"
    )
    preview.add_argument(
        "--seed", type=_int_in(0, MAX_SEED), help="seed of the pipeline, an int >= 0 (overrides the spec's)"
    )
    preview.set_defaults(handler=_preview)


#: The most samples (and columns) one preview draws: a grid of 1024 images is already hard to look at,
#: and every sample is held in memory until the grid is written.
MAX_COUNT = 1024


def _int_in(low: int, high: int) -> Any:
    """An argparse type: an int in ``low..high``; anything else exits 2 with the usage and the bounds."""

    def parse(text: str) -> int:
        return parse_option(text, int, lambda name, value: check_int(name, value, minimum=low, maximum=high))

    parse.__name__ = "int"  # argparse names the type in some messages
    return parse


#: What ``--from`` takes: every detection format ``convert``, ``check`` and ``export`` read, plus a folder of
#: class sub-folders and a catalog name.
SOURCE_FORMATS = (*DETECTION_FORMATS, "folder", "catalog")


def open_source(
    source: str,
    split: str | None = None,
    root: str | None = None,
    *,
    fmt: str | None = None,
    images: str | None = None,
) -> Any:
    """The dataset ``preview`` draws, opened as ``convert``, ``check`` and ``export`` open it.

    Detection formats go through [`open_detection`][visiondata.formats._open.open_detection], so a COCO
    file, a VOC, YOLO, CVAT, LabelMe or Label Studio export is read with its boxes. Without ``fmt``, an
    existing path is guessed by ``guess_format``; a folder that is none of those is a folder of class
    sub-folders; a name that is no path is a catalog name.

    Args:
        source: A path, or a catalog name.
        split: VOC/YOLO: the split to read; catalog: the split (default: its first).
        root: CSV: the folder image paths are relative to; catalog: the data folder.
        fmt: One of ``SOURCE_FORMATS``; guessed when ``None``.
        images: COCO, CVAT, Label Studio: the folder the file names are relative to.

    Raises:
        DatasetFormatError: An existing file whose format cannot be told (the message says what was tried),
            a FIFO or a device, or a reader's plain ``ValueError`` (named with the source).
        UnknownNameError: No such file or folder, and no catalog dataset of that name; the message says both.
    """
    from visiondata.exceptions import DatasetFormatError, UnknownNameError
    from visiondata.formats._open import guess_format, open_detection

    if fmt is None:
        if os.path.exists(source):
            mode = os.stat(source).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                from visiondata._files import file_kind

                # A FIFO would block the guess (or the reader) forever: named before anything opens it.
                raise DatasetFormatError(
                    f"{source}: expected a dataset file or folder, got {file_kind(mode)}; pass the file itself"
                )
            fmt = guess_format(source) or ("folder" if stat.S_ISDIR(mode) else None)
            if fmt is None:
                raise DatasetFormatError(
                    f"{source}: cannot tell the format of this file: expected a COCO or LabelMe or Label "
                    "Studio .json, a CVAT .xml, a YOLO data.yaml or a .csv of boxes, got none of those; "
                    f"pass --from ({', '.join(SOURCE_FORMATS)})"
                )
        else:
            fmt = "catalog"
    if fmt == "catalog":
        from visiondata.datasets import get_dataset

        try:
            return get_dataset(source, split=split, root=root)
        except UnknownNameError as error:
            # A link to nothing is a path, not a catalog name: say which.
            what = "a link to nothing" if os.path.lexists(source) else "no such file or folder"
            # Tried both readings of SOURCE: say so, so a mistyped path is not taken for a catalog miss.
            raise UnknownNameError(
                f"{source}: {what}, and not a catalog dataset either ({error.args[0] if error.args else error}); "
                "expected a dataset file or folder (COCO, VOC, YOLO, CSV, CVAT, LabelMe, Label Studio, class "
                "folders) or a name from `visiondata datasets list`"
            ) from None
    if fmt == "folder":
        from visiondata.datasets import ImageFolderDataset

        return ImageFolderDataset(source)
    try:
        return open_detection(source, fmt, images=images, split=split, root=root)
    except VisionDataError:
        raise
    except ValueError as error:
        # A reader's plain ValueError (duplicate class names...): one line naming the source, as convert does.
        message = str(error) if str(source) in str(error) else f"{source}: {error}"
        raise DatasetFormatError(message) from error


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
    named = (options.source, options.pipeline, getattr(options, "images", None))
    inputs = [path for path in named if path and os.path.exists(path)]
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
    dataset = open_source(
        options.source,
        options.split,
        options.root,
        fmt=getattr(options, "source_format", None),
        images=getattr(options, "images", None),
    )
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
    # Keypoints are joined as the dataset's annotations say (COCO's skeleton); void mask pixels stay untinted.
    skeleton = getattr(dataset, "skeleton", None)
    ignore_index = getattr(dataset, "ignore_index", 255)
    try:
        path = save_grid(
            samples,
            options.out,
            ncols=options.ncols,
            class_names=classes,
            skeleton=skeleton,
            ignore_index=ignore_index if isinstance(ignore_index, int) else 255,
        )
    except OSError as error:
        raise OutputConflictError(
            f"{options.out}: --out: cannot write the preview: {error.strerror or error}"
        ) from None
    dropped = sum(reasons.values())
    detail = f" ({', '.join(f'{reason} {n}' for reason, n in sorted(reasons.items()))})" if dropped else ""
    print(f"wrote {os.fspath(path)}: {count} samples, {boxes} boxes, {dropped} dropped{detail}")
    return 0

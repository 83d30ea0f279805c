"""``visiondata convert``, and opening a detection dataset from a path and a format name."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DETECTION_FORMATS = ("coco", "voc", "yolo", "csv")
WRITERS = ("coco", "voc", "yolo")


def guess_format(source: str | Path) -> str | None:
    """The detection format a path looks like: a ``.json`` file is COCO, a ``.csv`` file CSV,
    a ``.yaml`` file or a folder with ``labels/`` YOLO, a folder with ``Annotations/`` or XML files VOC."""
    path = Path(source)
    suffix = path.suffix.lower()
    if path.is_file():
        return {".json": "coco", ".csv": "csv", ".yaml": "yolo", ".yml": "yolo"}.get(suffix)
    if not path.is_dir():
        return None
    if (
        (path / "Annotations").is_dir()
        or (path / "VOCdevkit").is_dir()
        or any(path.glob("VOC20*/Annotations"))
    ):
        return "voc"
    if (
        (path / "data.yaml").is_file()
        or (path / "labels").is_dir()
        or (path.parent.parent / "labels").is_dir()
    ):
        return "yolo"
    if any(path.glob("*.xml")):
        return "voc"
    return None


def open_detection(
    source: str | Path,
    fmt: str | None = None,
    images: str | None = None,
    split: str | None = None,
    root: str | None = None,
    on_error: str = "raise",
) -> Any:
    """A detection dataset from a path: COCO JSON (images in ``images``), a VOC folder, YOLO, or a CSV file.

    Raises:
        DatasetFormatError: The format is unknown and cannot be guessed from the path.
    """
    from visiondata.datasets import (
        CocoDetectionDataset,
        CSVDetectionDataset,
        VOCDetectionDataset,
        YOLODataset,
    )

    fmt = fmt or guess_format(source)
    path = Path(source)
    if fmt == "coco":
        return CocoDetectionDataset(images or path.parent, path, on_error=on_error)
    if fmt == "voc":
        return VOCDetectionDataset(path, split=split, on_error=on_error)
    if fmt == "yolo":
        if path.is_file():
            return YOLODataset(data_yaml=path, split=split or "train", on_error=on_error)
        if (path / "data.yaml").is_file():
            return YOLODataset(data_yaml=path / "data.yaml", split=split or "train", on_error=on_error)
        return YOLODataset(path, on_error=on_error)
    if fmt == "csv":
        return CSVDetectionDataset(path, root or path.parent, on_error=on_error)
    from visiondata.exceptions import DatasetFormatError

    raise DatasetFormatError(
        f"{source}: cannot tell the detection format; pass one of {', '.join(DETECTION_FORMATS)} "
        "(--from on the command line)"
    )


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata convert`` to the top-level parser."""
    convert = commands.add_parser(
        "convert",
        help="convert a detection dataset between COCO, VOC, YOLO (and from CSV)",
        description="Read a detection dataset in one format and write it in another, copying (or linking) its images.",
    )
    convert.add_argument(
        "source", metavar="SRC", help="COCO JSON file, VOC folder, YOLO data.yaml or images folder, CSV file"
    )
    convert.add_argument("out", metavar="OUT", help="output folder")
    convert.add_argument(
        "--from", dest="source_format", choices=DETECTION_FORMATS, help="format of SRC (guessed if left out)"
    )
    convert.add_argument("--to", dest="target_format", choices=WRITERS, required=True, help="format to write")
    convert.add_argument(
        "--images", help="COCO: the folder the file names are relative to (default: the JSON's folder)"
    )
    convert.add_argument(
        "--root", help="CSV: the folder the image paths are relative to (default: the CSV's folder)"
    )
    convert.add_argument("--split", help="VOC/YOLO: the split to read (VOC default: every file; YOLO: train)")
    convert.add_argument(
        "--out-split", default="train", help="VOC/YOLO: the split name to write (default: train)"
    )
    convert.add_argument(
        "--link",
        choices=("copy", "link", "symlink"),
        default="copy",
        help="how images are placed (default: copy)",
    )
    convert.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out bad annotations (reported) instead of stopping at them",
    )
    convert.add_argument("--json", action="store_true", help="print the summary as JSON")
    convert.set_defaults(handler=_run)


def _run(options: argparse.Namespace) -> int:
    from visiondata.datasets._writers import to_coco, to_voc, to_yolo

    dataset = open_detection(
        options.source,
        options.source_format,
        images=options.images,
        split=options.split,
        root=options.root,
        on_error="skip" if options.skip_bad else "raise",
    )
    progress = sys.stderr.isatty()
    if options.target_format == "coco":
        report = to_coco(dataset, options.out, images=options.link, progress=progress)
    elif options.target_format == "voc":
        report = to_voc(dataset, options.out, images=options.link, split=options.out_split, progress=progress)
    else:
        report = to_yolo(
            dataset, options.out, images=options.link, split=options.out_split, progress=progress
        )
    print(json.dumps(report.as_dict(), indent=2) if options.json else report.summary())
    return 0

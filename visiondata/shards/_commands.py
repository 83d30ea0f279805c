"""``visiondata export``: a catalog dataset, a folder, a CSV or a detection dataset to WebDataset shards."""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import time
from dataclasses import asdict
from typing import Any

from visiondata._arguments import (
    check_int,
    non_negative_int_option,
    parse_option,
    positive_int_option,
)

_SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def split_name(text: str) -> str:
    """A ``--split`` value: it becomes file names (``<split>-000000.tar``), so letters, digits, ``_.+-`` only.

    Raises:
        argparse.ArgumentTypeError: Empty, with a separator, ``..``, ``%`` or another character.

    Examples:
        >>> split_name("val2017")
        'val2017'
    """
    if not _SPLIT_NAME.fullmatch(text) or ".." in text:
        raise argparse.ArgumentTypeError(
            f"expected a split name of letters, digits and _ . + - (it names the shard files), got {text!r}"
        )
    return text


def jpeg_quality(text: str) -> int:
    """A JPEG quality, 1 to 100 (``--quality``).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such an integer.

    Examples:
        >>> jpeg_quality("95")
        95
        >>> jpeg_quality("101")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected an integer from 1 to 100, got '101'
    """
    return parse_option(
        text,
        int,
        lambda name, value: check_int(
            name, value, minimum=1, maximum=100, expected="an integer from 1 to 100"
        ),
        quote_text=True,
    )


# The detection formats of `visiondata convert` (csv-boxes being its "csv"), plus catalog names, folders and CSV labels.
SOURCE_FORMATS = (
    "catalog",
    "folder",
    "csv",
    "coco",
    "voc",
    "yolo",
    "csv-boxes",
    "cvat",
    "labelme",
    "label-studio",
    "dota",
    "mask-folder",
)


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata export`` to the top-level parser."""
    export = commands.add_parser(
        "export",
        help="write a dataset as WebDataset tar shards (for streaming, see docs/scaling.md)",
        description="Write a catalog dataset, an image folder, a CSV of labels or a COCO/VOC/YOLO dataset as "
        "WebDataset tar shards OUT/<split>-000000.tar... with a manifest OUT/<split>.shards.json. The manifest is "
        "written last: until it is, an earlier export of the split stays as it was. An existing export of the "
        "split is refused unless --overwrite; other splits in OUT are left alone.",
    )
    export.add_argument(
        "source",
        metavar="DATASET_OR_PATH",
        help="a catalog name (mnist, cifar10...), an image folder, a CSV file, a COCO JSON file, a VOC folder, "
        "a YOLO data.yaml or images folder, a DOTA folder, a mask folder (images/ + masks/)",
    )
    export.add_argument(
        "out",
        metavar="OUT",
        help="folder for the shards and the manifest, or an object-store prefix such as s3://bucket/prefix "
        "(the cloud extra; credentials and endpoint from the AWS_* variables or profiles)",
    )
    export.add_argument(
        "--split",
        default="train",
        type=split_name,
        help="split to read, and the shards' name (default: train; letters, digits and _ . + -)",
    )
    export.add_argument(
        "--format",
        choices=SOURCE_FORMATS,
        help="what DATASET_OR_PATH is (guessed if left out; csv-boxes is a CSV of boxes)",
    )
    export.add_argument(
        "--root", help="catalog: the data folder; CSV: the folder its image paths are relative to"
    )
    export.add_argument(
        "--images", help="COCO: the folder its file names are relative to (default: the JSON's folder)"
    )
    export.add_argument("--image-col", default="image", help="CSV: the image column (default: %(default)s)")
    export.add_argument("--label-col", default="label", help="CSV: the label column (default: %(default)s)")
    export.add_argument(
        "--max-count",
        type=positive_int_option,
        default=10_000,
        help="samples per shard at most (default: %(default)s)",
    )
    export.add_argument(
        "--max-size",
        type=positive_int_option,
        default=1 << 30,
        help="bytes per shard at most (default: %(default)s, 1 GiB)",
    )
    export.add_argument(
        "--encode",
        choices=("keep", "jpeg", "png"),
        default="keep",
        help="keep image files as they are (default), or encode every image as JPEG or PNG",
    )
    export.add_argument(
        "--quality", type=jpeg_quality, default=95, help="JPEG quality, 1 to 100 (default: %(default)s)"
    )
    export.add_argument(
        "--workers",
        "--num-workers",
        dest="workers",
        type=non_negative_int_option,
        default=0,
        help="processes writing shards, each whole shards; 0 writes in this process (default: %(default)s)",
    )
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing export of the split in OUT (the old shards go once the new set is complete)",
    )
    export.add_argument(
        "--skip-bad", action="store_true", help="leave out unreadable images (reported) instead of stopping"
    )
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    export.set_defaults(handler=_run)


def _run(options: argparse.Namespace) -> int:
    from visiondata._files import refuse_special_output
    from visiondata.exceptions import OutputConflictError
    from visiondata.shards._remote import filesystem, is_remote, join, refuse_writing_to
    from visiondata.shards._write import write_shards

    remote = is_remote(options.out)
    if remote:
        try:  # before reading a dataset: a web address cannot be written to, an unknown scheme at all
            refuse_writing_to(options.out)
            filesystem(options.out)
        except ValueError as error:  # the user's OUT: one line, no traceback
            print(f"visiondata: error: {error}", file=sys.stderr)
            return 1
    else:
        refuse_special_output(options.out)  # before reading a dataset: OUT a file, /dev/null, a FIFO
    if options.format != "catalog" and not remote:
        # OUT may hold the input (shards beside the data are fine), but may not be it or lie inside it:
        # shards inside an image folder would become part of the dataset they were made from.
        out = os.path.realpath(options.out)
        for path in (options.source, options.images):
            if path and os.path.exists(path):
                real = os.path.realpath(path)
                if out == real or out.startswith(real.rstrip(os.sep) + os.sep):
                    raise OutputConflictError(
                        f"{options.out}: OUT: expected a folder apart from the input, got one that is or lies "
                        f"inside the input {path}; choose another output folder"
                    )
    dataset = open_source(options)
    started = time.perf_counter()
    report = write_shards(
        dataset,
        join(options.out, f"{options.split}-%06d.tar"),
        max_count=options.max_count,
        max_size=options.max_size,
        encode=options.encode,
        quality=options.quality,
        num_workers=options.workers,
        progress=sys.stderr.isatty(),
        overwrite=options.overwrite,
    )
    seconds = time.perf_counter() - started
    if options.json:
        print(json.dumps({**asdict(report), "seconds": round(seconds, 3)}, indent=2))
    else:
        print(f"{options.source} ({options.split}): {report.summary()}, in {seconds:.1f} s")
        for skipped in report.skipped[:10]:
            print(f"  skipped sample {skipped['index']}: {skipped['reason']}")
        if len(report.skipped) > 10:
            print(f"  ... and {len(report.skipped) - 10} more (all in the manifest)")
    return 0


def open_source(options: argparse.Namespace) -> Any:
    """The dataset ``visiondata export`` reads: by catalog name or by path and format."""
    from visiondata.formats._open import guess_format, open_detection

    on_error = "skip" if options.skip_bad else "raise"
    fmt = options.format
    if fmt is None:
        if os.path.exists(options.source):
            fmt = guess_format(options.source) or ("folder" if os.path.isdir(options.source) else None)
            if fmt == "csv":
                fmt = "csv-boxes" if _has_box_columns(options.source) else "csv"
        else:
            fmt = "catalog"
    if fmt == "catalog":
        import visiondata as vd

        return vd.get_dataset(options.source, root=options.root, split=options.split)
    if fmt == "folder":
        from visiondata.datasets import ImageFolderDataset

        return ImageFolderDataset(options.source, on_error=on_error)
    if fmt == "csv":
        from visiondata.datasets import CSVDataset

        return CSVDataset(
            options.source,
            options.root or os.path.dirname(os.path.abspath(options.source)),
            image_col=options.image_col,
            label_col=options.label_col,
            on_error=on_error,
        )
    detection_format = "csv" if fmt == "csv-boxes" else fmt
    return open_detection(
        options.source,
        detection_format,
        images=options.images,
        split=options.split,
        root=options.root,
        on_error=on_error,
    )


def _has_box_columns(path: str) -> bool:
    if not stat.S_ISREG(os.stat(path).st_mode):
        return False  # a FIFO or a device is never opened here; the CSV reader names it
    with open(path, encoding="utf-8-sig", errors="replace") as stream:
        header = {name.strip() for name in stream.readline(1 << 16).split(",")}
    return {"x_min", "y_min", "x_max", "y_max"} <= header

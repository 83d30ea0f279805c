"""``visiondata report``: one HTML page (and optionally JSON) of a dataset's statistics, samples, problems, duplicates."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from visiondata._arguments import non_negative_int_option, positive_int_option


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata report`` to the top-level parser."""
    from visiondata.shards._commands import SOURCE_FORMATS, split_name

    report = commands.add_parser(
        "report",
        help="write a dataset health report: one HTML page of plots, samples, problems and duplicates",
        description="Write one self-contained HTML page (no script, no network request) with a summary, plots "
        "(class counts, box sizes, box centres, image sizes, brightness), sample grids per class with the boxes "
        "drawn, every problem found and the exact and near duplicates within and across splits. Several splits: "
        "--split train --split val reads DATA once per split; several DATA are one split each (named by --split "
        "at the same position, else by the file or folder name). Bad annotations and unreadable files become "
        "problems on the page rather than errors.",
    )
    report.add_argument(
        "sources",
        nargs="+",
        metavar="DATA",
        help="a catalog name (mnist, cifar10...), an image folder, a CSV file, a COCO JSON file, a VOC folder, "
        "a YOLO data.yaml or images folder, a DOTA folder, a mask folder (images/ + masks/), WebDataset shards "
        "(a folder of <split>.shards.json manifests, with --split, or a manifest file)",
    )
    report.add_argument(
        "--split",
        dest="splits",
        action="append",
        type=split_name,
        default=[],
        help="a split to report (repeat for several); with one DATA each split is read from it, with several "
        "DATA the n-th --split names the n-th DATA",
    )
    report.add_argument("-o", "--out", required=True, metavar="OUT.html", help="the HTML file to write")
    report.add_argument("--json", metavar="FILE", help="also write every number behind the page as JSON")
    report.add_argument(
        "--format",
        choices=(*SOURCE_FORMATS, "shards"),
        help="what DATA is (guessed if left out; csv-boxes is a CSV of boxes; shards: written by "
        "`visiondata export`)",
    )
    report.add_argument(
        "--images",
        help="COCO, CVAT, Label Studio: the folder file names are relative to (default: beside it)",
    )
    report.add_argument(
        "--root", help="catalog: the data folder; CSV: the folder its image paths are relative to"
    )
    report.add_argument("--image-col", default="image", help="CSV: the image column (default: %(default)s)")
    report.add_argument("--label-col", default="label", help="CSV: the label column (default: %(default)s)")
    report.add_argument(
        "--max-per-section",
        type=positive_int_option,
        default=24,
        help="thumbnails per section at most (default: %(default)s)",
    )
    report.add_argument(
        "--near-threshold",
        type=_threshold,
        default=6,
        help="Hamming distance of 64-bit perceptual hashes at or below which images are near duplicates "
        "(default: %(default)s)",
    )
    report.add_argument(
        "--max-decoded",
        type=non_negative_int_option,
        default=200,
        help="images decoded (small) per split for the brightness and contrast plots (default: %(default)s)",
    )
    report.add_argument(
        "--thumbnail-size",
        type=positive_int_option,
        default=160,
        help="longer side of the thumbnails in pixels (default: %(default)s)",
    )
    report.add_argument("--title", help="the page's title (default: the sources' names)")
    report.set_defaults(handler=_run)


def _threshold(text: str) -> int:
    """``--near-threshold``: 0 to 32 (of the 64 bits).

    Examples:
        >>> _threshold("6")
        6
        >>> _threshold("33")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected an integer from 0 to 32 (bits of the 64-bit hash), got '33'
    """
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 32:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 0 to 32 (bits of the 64-bit hash), got {text!r}"
        )
    return value


def _run(options: argparse.Namespace) -> int:
    from visiondata._files import refuse_non_file_output
    from visiondata.report._build import build_report
    from visiondata.report._page import require_report_extra

    require_report_extra()
    refuse_non_file_output(options.out, "an HTML report", "report.html")  # before reading any dataset
    if options.json:
        refuse_non_file_output(options.json, "a JSON file", "report.json")
    splits = open_splits(options)
    report = build_report(
        splits,
        options.out,
        json_path=options.json,
        max_per_section=options.max_per_section,
        thumbnail_size=options.thumbnail_size,
        near_threshold=options.near_threshold,
        max_decoded=options.max_decoded,
        progress=sys.stderr.isatty(),
        title=options.title,
    )
    counts = {"exact": [0, 0], "near": [0, 0]}
    for kind, groups in (("exact", report.duplicates.exact), ("near", report.duplicates.near)):
        for group in groups:
            counts[kind][group.across_splits] += 1
    images = sum(statistics.images for statistics in report.statistics)
    problems = sum(len(lines) for lines in report.problems.values())
    print(
        f"{report.path}: {images} images in {len(report.statistics)} split{'s' if len(report.statistics) != 1 else ''}, "
        f"{problems} problem{'s' if problems != 1 else ''}, duplicate groups: {counts['exact'][0]} exact and "
        f"{counts['near'][0]} near within a split, {counts['exact'][1]} exact and {counts['near'][1]} near across "
        f"splits, in {report.seconds:.1f} s"
        + (f"; numbers in {report.json_path}" if report.json_path else "")
    )
    return 0


def open_splits(options: argparse.Namespace) -> dict[str, Any]:
    """Split name -> dataset, from ``DATA [DATA ...]`` and ``--split`` (see the command's description).

    Raises:
        DatasetFormatError: A DATA that looks like a path does not exist, or the splits cannot be named
            (more ``--split`` than DATA, or two DATA of the same name).
    """
    from visiondata.exceptions import DatasetFormatError

    sources, names = list(options.sources), list(options.splits)
    for source in sources:
        if not os.path.exists(source) and _looks_like_path(source) and options.format != "catalog":
            raise DatasetFormatError(
                f"{source}: DATA: expected a dataset file or folder (or a catalog name), got nothing there; "
                "check the path"
            )
    if len(sources) == 1:
        if not names:
            return {_name_of(sources[0], options.format): _open(options, sources[0], None)}
        return {name: _open(options, sources[0], name) for name in dict.fromkeys(names)}
    if names and len(names) != len(sources):
        raise DatasetFormatError(
            f"--split: expected one --split per DATA ({len(sources)}) or none, got {len(names)}; with several "
            "DATA each is one split, named by the --split at its position"
        )
    labelled = names or [_name_of(source, options.format) for source in sources]
    repeated = sorted({name for name in labelled if labelled.count(name) > 1})
    if repeated:
        raise DatasetFormatError(
            f"DATA: expected one split name per DATA, got {', '.join(map(repr, repeated))} more than once; "
            "name each with --split (--split train --split val)"
        )
    return {
        name: _open(options, source, name if names else None)
        for name, source in zip(labelled, sources, strict=True)
    }


def _looks_like_path(source: str) -> bool:
    return os.sep in source or (os.altsep or os.sep) in source or bool(Path(source).suffix)


def _name_of(source: str, fmt: str | None = None) -> str:
    """A split's name from its DATA: the file's stem or the folder's name (a catalog name as it is).

    Shards are named by their set: ``out/train.shards.json`` and a folder holding only ``train.shards.json``
    are ``train``.

    Examples:
        >>> _name_of("data/coco/instances_val2017.json"), _name_of("photos/"), _name_of("mnist")
        ('instances_val2017', 'photos', 'mnist')
        >>> _name_of("out/val.shards.json")
        'val'
    """
    from visiondata.shards._manifest import MANIFEST_SUFFIX

    if source.endswith(MANIFEST_SUFFIX):
        return os.path.basename(source)[: -len(MANIFEST_SUFFIX)] or source
    manifests = _manifests(source) if fmt in (None, "shards") else []
    if len(manifests) == 1:
        return manifests[0]
    path = Path(source.rstrip("/\\") or source)
    return (path.stem if path.suffix else path.name) or source


def _manifests(source: str) -> list[str]:
    """The shard sets (split names) of the ``*.shards.json`` manifests in the folder ``source``."""
    from visiondata.shards._manifest import MANIFEST_SUFFIX

    if not os.path.isdir(source):
        return []
    try:
        names = os.listdir(source)
    except OSError:
        return []
    return sorted(name[: -len(MANIFEST_SUFFIX)] for name in names if name.endswith(MANIFEST_SUFFIX))


def _open_shards(source: str, split: str | None) -> Any:
    """A `ShardDataset` of a manifest file or of a folder of shard sets (``split`` picks the set).

    Raises:
        DatasetFormatError: A manifest file of another split than ``--split`` names, or not a manifest.
        DatasetNotFoundError: No manifest of the split in the folder (the error lists those there).
    """
    from visiondata.exceptions import DatasetFormatError
    from visiondata.shards import ShardDataset
    from visiondata.shards._manifest import MANIFEST_SUFFIX

    if os.path.isfile(source):
        if not source.endswith(MANIFEST_SUFFIX):
            raise DatasetFormatError(
                f"{source}: --format shards: expected a <split>{MANIFEST_SUFFIX} manifest or a folder of them, "
                "got another file; pass the manifest written by `visiondata export`"
            )
        name = os.path.basename(source)[: -len(MANIFEST_SUFFIX)]
        if split is not None and split != name:
            raise DatasetFormatError(
                f"{source}: --split {split}: expected the manifest of that split, got the manifest of {name!r}; "
                f"pass {os.path.join(os.path.dirname(source), split + MANIFEST_SUFFIX)} or leave --split out"
            )
        source, split = os.path.dirname(source) or ".", name
    # In written order: the report streams each shard once and names samples by their position.
    return ShardDataset(source, split=split, shuffle_buffer=0, on_error="skip")


def _open(options: argparse.Namespace, source: str, split: str | None) -> Any:
    """One split of ``source``, read as ``visiondata export`` reads it, with problems skipped and recorded."""
    from visiondata.formats._open import guess_format
    from visiondata.shards._commands import open_source

    fmt = options.format
    if fmt == "shards" or (fmt is None and (source.endswith(".shards.json") or _manifests(source))):
        return _open_shards(source, split)
    if split is not None and os.path.isdir(source) and os.path.isdir(os.path.join(source, split)):
        # A folder of class folders per split (photos/train/cat/...): the split's folder is the dataset,
        # unless the format reads splits itself (YOLO, VOC, mask folders).
        guessed = fmt or guess_format(source)
        if guessed in (None, "folder"):
            source, fmt = os.path.join(source, split), "folder"
    if (fmt or (guess_format(source) if os.path.isdir(source) else "")) in (None, "folder"):
        from visiondata.datasets import ImageFolderDataset

        # An empty class folder is a finding of the report (an empty class), not a reason to stop.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hidden entries skipped: the page lists them instead
            return ImageFolderDataset(source, allow_empty=True, on_error="skip")
    namespace = argparse.Namespace(
        source=source,
        format=fmt,
        root=options.root,
        images=options.images,
        image_col=options.image_col,
        label_col=options.label_col,
        # A catalog dataset needs a split; a detection reader picks its default from None.
        split=split if split is not None else ("train" if not os.path.exists(source) else None),
        skip_bad=True,  # bad annotations and files become problems on the page, not errors
    )
    return open_source(namespace)

"""``visiondata check``: find what is wrong with an image folder or a CSV-labelled dataset.

Every image is decoded once. The report lists per-class counts, unreadable
files with their cause, exact duplicates (same bytes), images whose size or
pixel format differs from the rest, hidden entries that were skipped, class
imbalance, and (for a CSV) every validation problem of the file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import sys
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: A class with more than this many times the images of the smallest class is reported.
IMBALANCE_RATIO = 10.0
#: An image whose area is this many times smaller or larger than the median is reported.
SIZE_FACTOR = 16.0


@dataclass
class CheckReport:
    """What ``visiondata check`` found. ``problems`` is empty for a clean dataset."""

    source: str
    images: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)
    unusual: list[dict[str, str]] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    imbalance: float | None = None
    validation: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """One line per kind of problem found."""
        found = []
        if self.validation:
            found.append(f"{len(self.validation)} validation problems")
        if self.unreadable:
            found.append(f"{len(self.unreadable)} unreadable files")
        if self.duplicates:
            found.append(f"{len(self.duplicates)} groups of identical images")
        if self.unusual:
            found.append(f"{len(self.unusual)} images of unusual size or format")
        if self.imbalance is not None and self.imbalance > IMBALANCE_RATIO:
            found.append(f"class imbalance {self.imbalance:.1f}:1 (above {IMBALANCE_RATIO:g}:1)")
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``problems``."""
        return {**asdict(self), "problems": self.problems}


def check_dataset(
    path: str | os.PathLike[str] | None = None,
    csv_file: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    progress: bool = True,
    image_col: str = "image",
    label_col: str = "label",
) -> CheckReport:
    """Inspect an image folder (``path``) or a CSV file with its image ``root``.

    Args:
        path: Image folder with one sub-folder per class.
        csv_file: CSV file with an image column and a label column.
        root: Folder the CSV's paths are relative to (default: the CSV's folder).
        progress: Show a progress bar.
        image_col: The CSV's image column.
        label_col: The CSV's label column.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / "cat").mkdir()
        >>> Image.new("RGB", (8, 8)).save(folder / "cat" / "a.png")
        >>> _ = (folder / "cat" / "b.png").write_bytes((folder / "cat" / "a.png").read_bytes())
        >>> check_dataset(folder, progress=False).duplicates
        [['cat/a.png', 'cat/b.png']]
    """
    from visiondata.datasets._csv import CSVDataset
    from visiondata.datasets._folder import ImageFolderDataset
    from visiondata.exceptions import DatasetValidationError

    if csv_file is not None:
        report = CheckReport(str(csv_file))
        try:
            dataset = CSVDataset(
                csv_file, root or Path(csv_file).parent, image_col=image_col, label_col=label_col
            )
        except DatasetValidationError as error:
            report.validation = error.problems
            return report
        names = dataset.classes
    else:
        if path is None:
            raise ValueError("check_dataset: expected a folder path or csv_file=, got neither")
        report = CheckReport(str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the hidden entries are part of the report instead
            try:
                dataset = ImageFolderDataset(path, allow_empty=True)
            except DatasetValidationError as error:
                report.validation = error.problems
                return report
        report.hidden = list(dataset.hidden)
        names = dataset.classes
    counts = Counter(int(target) for target in dataset.targets)
    report.class_counts = {name: counts.get(index, 0) for index, name in enumerate(names)}
    report.images = len(dataset)
    nonzero = [count for count in report.class_counts.values() if count]
    if nonzero:
        report.imbalance = max(nonzero) / min(nonzero)
    _inspect_files(dataset, report, progress)
    return report


def _inspect_files(dataset: Any, report: CheckReport, progress: bool) -> None:
    from PIL import Image
    from tqdm.auto import tqdm

    from visiondata.exceptions import ImageReadError
    from visiondata.io._read import read_image

    by_hash: dict[str, list[str]] = {}
    formats: dict[str, tuple[str, int]] = {}
    for index in tqdm(
        range(len(dataset)), desc="checking", unit="image", disable=not progress, file=sys.stderr
    ):
        relative, full = dataset.relative_path(index), dataset.path(index)
        try:
            data = Path(full).read_bytes()
            read_image(full, mode="unchanged")
            with Image.open(io.BytesIO(data)) as image:
                formats[relative] = (image.mode, image.width * image.height)
        except (ImageReadError, OSError) as error:
            report.unreadable.append({"path": relative, "reason": str(error)})
            continue
        by_hash.setdefault(hashlib.sha256(data).hexdigest(), []).append(relative)
    report.duplicates = [paths for paths in by_hash.values() if len(paths) > 1]
    if not formats:
        return
    usual_mode = Counter(mode for mode, _ in formats.values()).most_common(1)[0][0]
    median_area = statistics.median(area for _, area in formats.values())
    for relative, (mode, area) in formats.items():
        if mode != usual_mode:
            report.unusual.append(
                {"path": relative, "reason": f"pixel format {mode}, most images are {usual_mode}"}
            )
        elif area * SIZE_FACTOR < median_area or area > median_area * SIZE_FACTOR:
            report.unusual.append(
                {
                    "path": relative,
                    "reason": f"{area:,} pixels, {SIZE_FACTOR:g}x away from the median {median_area:,.0f}",
                }
            )


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata check`` to the top-level parser."""
    check = commands.add_parser(
        "check",
        help="find unreadable, duplicate and unusual images in a folder or CSV dataset",
        description="Inspect an image folder (one sub-folder per class) or a CSV file. "
        "Exit status 1 when problems are found.",
    )
    check.add_argument("path", nargs="?", help="image folder with one sub-folder per class")
    check.add_argument("--csv", help="CSV file with image and label columns")
    check.add_argument(
        "--root", help="folder the CSV's image paths are relative to (default: the CSV's folder)"
    )
    check.add_argument("--image-col", default="image", help="the CSV's image column (default: %(default)s)")
    check.add_argument("--label-col", default="label", help="the CSV's label column (default: %(default)s)")
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check.set_defaults(handler=_run)


def _run(options: argparse.Namespace) -> int:
    if (options.path is None) == (options.csv is None):
        print("visiondata check: give either a folder PATH or --csv FILE", file=sys.stderr)
        return 2
    report = check_dataset(
        options.path,
        options.csv,
        options.root,
        progress=sys.stderr.isatty(),
        image_col=options.image_col,
        label_col=options.label_col,
    )
    if options.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(_human(report))
    return 1 if report.problems else 0


def _human(report: CheckReport) -> str:
    lines = [f"{report.source}: {report.images} images in {len(report.class_counts)} classes"]
    if report.class_counts:
        width = max(len(name) for name in report.class_counts)
        lines += [f"  {name:<{width}}  {count:>8}" for name, count in report.class_counts.items()]
    sections = [
        ("validation problems", report.validation),
        ("unreadable files", [f"{item['path']}: {item['reason']}" for item in report.unreadable]),
        ("identical images", [", ".join(group) for group in report.duplicates]),
        ("unusual images", [f"{item['path']}: {item['reason']}" for item in report.unusual]),
        ("hidden entries skipped", report.hidden),
    ]
    for title, items in sections:
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items[:50]]
            if len(items) > 50:
                lines.append(f"  ... and {len(items) - 50} more")
    if report.imbalance is not None:
        lines.append(f"class imbalance: {report.imbalance:.1f}:1 (largest to smallest class)")
    lines.append("problems: " + ("; ".join(report.problems) if report.problems else "none"))
    return "\n".join(lines)

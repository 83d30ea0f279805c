"""``visiondata check``: find what is wrong with an image folder, a CSV-labelled or a detection dataset.

Every image is decoded once, by [`read_image`][visiondata.io.read_image] itself, so an
unreadable file here is exactly what the readers refuse (strict decoding by
default: a JPEG that libjpeg decodes only with a warning is unreadable for
both). The report lists per-class counts, unreadable files with their cause,
exact duplicates (same bytes), images whose size or pixel format differs
from the rest, hidden entries that were skipped, class imbalance, and (for a
CSV) every validation problem of the file.

Detection datasets (COCO, VOC, YOLO, CSV boxes, CVAT, LabelMe, Label Studio,
DOTA) also get every annotation problem (boxes outside the image or without
area, unknown classes, images or categories an annotation names but the file
lacks, malformed lines, keypoints outside their image), duplicate boxes,
images without boxes, a histogram of boxes per class and the count of
keypoint instances and oriented boxes.

Mask folders (images + semantic masks of class ids) get every pairing problem
(an image without a mask, a mask without an image), masks of another size
than their image, unknown colours, ids beyond the classes, and the number of
masks each class appears in.

``--leakage OTHER [OTHER ...]`` also compares the dataset's images with those of other datasets
(opened the way the dataset itself is: the same ``--format``, ``--images``, ``--split``, ``--root``)
for exact duplicates (same bytes) and near duplicates (64-bit perceptual hashes within
`LEAKAGE_THRESHOLD` bits, see `visiondata.report._duplicates`): every image of the dataset that has a
copy in another is a problem, a test split that leaks the training split.
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported by the checks only: building the CLI's parser needs none of it
    import numpy as np

#: Exit status of ``visiondata check``: nothing wrong.
EXIT_CLEAN = 0
#: Exit status of ``visiondata check``: the dataset was checked and has problems.
EXIT_PROBLEMS = 1
#: Exit status of ``visiondata check``: the command line is wrong (argparse's own status).
EXIT_USAGE = 2
#: Exit status of ``visiondata check``: there is no dataset to check (missing path, unreadable file).
EXIT_NOT_FOUND = 3
#: Groups of identical images the text report shows (``--json`` lists them all), and paths per group.
SHOWN_GROUPS, SHOWN_PER_GROUP = 10, 4
#: A class with more than this many times the images of the smallest class is reported.
IMBALANCE_RATIO = 10.0
#: An image whose area is more than this many times smaller or larger than the median is reported.
SIZE_FACTOR = 16.0
#: ``--leakage``: Hamming distance (of 64 bits) at or below which two images are near duplicates.
LEAKAGE_THRESHOLD = 6


def _count(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it.

    Examples:
        >>> _count(1, "unreadable file"), _count(3, "duplicate box", "duplicate boxes")
        ('1 unreadable file', '3 duplicate boxes')
    """
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


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
    loops: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    #: ``--leakage``: the duplicate search's report (`DuplicateReport.as_dict`) with ``path``, ``against``,
    #: ``leaked_images`` (images of this dataset with a copy in another) and ``leaked`` (their paths).
    leakage: dict[str, Any] | None = None

    @property
    def problems(self) -> list[str]:
        """One line per kind of problem found."""
        found = []
        if self.validation:
            found.append(_count(len(self.validation), "validation problem"))
        if self.unlisted:
            found.append(f"{_count(len(self.unlisted), 'folder')} not indexed")
        if self.loops:
            found.append(f"{_count(len(self.loops), 'symbolic link')} not followed (loops)")
        if self.unreadable:
            found.append(_count(len(self.unreadable), "unreadable file"))
        if self.duplicates:
            found.append(f"{_count(len(self.duplicates), 'group')} of identical images")
        if self.unusual:
            found.append(f"{_count(len(self.unusual), 'image')} of unusual size or format")
        if self.imbalance is not None and self.imbalance > IMBALANCE_RATIO:
            found.append(f"class imbalance {self.imbalance:.1f}:1 (above {IMBALANCE_RATIO:g}:1)")
        if self.leakage is not None and self.leakage["leaked_images"]:
            found.append(
                f"{_count(self.leakage['leaked_images'], 'image')} with an exact or near duplicate in "
                + ", ".join(self.leakage["against"])
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``problems`` (and ``leakage`` only when it was searched)."""
        found = asdict(self)
        if self.leakage is None:
            del found["leakage"]
        return {**found, "problems": self.problems}


@dataclass
class DetectionCheckReport(CheckReport):
    """What ``visiondata check`` found in a detection dataset; ``class_counts`` counts boxes."""

    format: str = ""
    boxes: int = 0
    annotation_problems: list[str] = field(default_factory=list)
    duplicate_boxes: list[str] = field(default_factory=list)
    images_without_boxes: list[str] = field(default_factory=list)
    #: Crowd regions (COCO ``iscrowd=1``) the reader left out, as training reads them (``include_crowd=False``).
    crowd_left_out: int = 0
    #: Boxes with at least one labelled keypoint (visibility 1 or 2): COCO keypoints, YOLO-pose.
    keypoint_instances: int = 0
    #: Labelled keypoints (visibility 1 or 2) over all instances.
    keypoints: int = 0
    #: Oriented boxes (DOTA, YOLO-OBB); 0 for readers of axis-aligned boxes.
    oriented_boxes: int = 0

    @property
    def problems(self) -> list[str]:
        found = super().problems
        if self.annotation_problems:
            found.insert(0, _count(len(self.annotation_problems), "annotation problem"))
        if self.duplicate_boxes:
            found.append(_count(len(self.duplicate_boxes), "duplicate box", "duplicate boxes"))
        return found


@dataclass
class SegmentationCheckReport(CheckReport):
    """What ``visiondata check`` found in a mask folder; ``class_counts`` counts the masks holding each class."""

    format: str = ""
    #: Image/mask pairs read.
    masks: int = 0
    #: Pairing problems, then masks that cannot be read, of another size, with unknown colours or ids.
    mask_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = super().problems
        if self.mask_problems:
            found.insert(0, _count(len(self.mask_problems), "mask problem"))
        return found


def check_segmentation(
    source: str | os.PathLike[str], split: str | None = None, progress: bool = True
) -> SegmentationCheckReport:
    """Inspect a mask folder (``images/`` + ``masks/``, ``classes.txt``), as ``visiondata check`` does.

    Every mask is decoded once (class ids, unknown colours, ids that are neither a class nor the
    ``ignore_index``) and compared with its image's size, read from the image header; every image is
    decoded once by the file pass the other checks share (unreadable, identical, unusual images).

    Args:
        source: The mask folder.
        split: Read ``images/<split>`` and ``masks/<split>``.
        progress: Show a progress bar.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "masks").mkdir()
        >>> Image.new("RGB", (4, 2)).save(root / "images" / "a.png")
        >>> Image.new("L", (4, 3)).save(root / "masks" / "a.png")
        >>> report = check_segmentation(root, progress=False)
        >>> report.masks, report.problems
        (1, ['1 mask problem'])
    """
    import numpy as np
    from tqdm.auto import tqdm

    from visiondata.exceptions import DatasetValidationError
    from visiondata.formats._open import MASK_FOLDER, open_detection
    from visiondata.formats._writing import image_size

    report = SegmentationCheckReport(str(source))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the pairing problems are part of the report instead
            dataset = open_detection(source, MASK_FOLDER, split=split, on_error="skip")
    except DatasetValidationError as error:
        report.validation = error.problems
        return report
    report.format = type(dataset).__name__
    report.mask_problems = list(dataset.problems)
    report.hidden = list(dataset.hidden)
    report.images = report.masks = len(dataset)
    names = dataset.classes
    counts: Counter[int] = Counter()
    for index in tqdm(
        range(len(dataset)), desc="masks", unit="mask", disable=None if progress else True, file=sys.stderr
    ):
        try:
            ids = dataset.mask(index)  # unreadable, unknown colours, ids beyond the classes: named errors
        except (OSError, ValueError) as error:
            report.mask_problems.append(str(error))
            continue
        try:
            size = image_size(dataset.path(index))
        except OSError:
            size = None  # an unreadable image: the file pass below reports it
        if size is not None and tuple(ids.shape) != size:
            report.mask_problems.append(dataset.size_problem(index, size, ids.shape))
        values = np.unique(ids).tolist()
        counts.update(value for value in values if value != dataset.ignore_index)
    if names is None:
        names = [str(value) for value in range(max(counts, default=-1) + 1)]
    report.class_counts = {name: counts.get(label, 0) for label, name in enumerate(names)}
    nonzero = [count for count in report.class_counts.values() if count]
    if nonzero:
        report.imbalance = max(nonzero) / min(nonzero)
    _inspect_files(dataset, report, progress)
    return report


def check_detection(
    source: str | os.PathLike[str],
    fmt: str | None = None,
    images: str | os.PathLike[str] | None = None,
    split: str | None = None,
    root: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> DetectionCheckReport:
    """Inspect a detection dataset: a COCO JSON file, a VOC folder, YOLO (``data.yaml`` or images folder), CSV boxes,
    CVAT, LabelMe, Label Studio or DOTA.

    Besides the boxes, the report counts keypoint instances and labelled keypoints (COCO keypoints,
    YOLO-pose) and oriented boxes (DOTA, YOLO-OBB); the readers' own problems (a keypoint outside its
    image, a twisted DOTA box...) are annotation problems.

    Args:
        source: The annotation file or folder.
        fmt: A format of ``open_detection`` (guessed from ``source`` if left out).
        images: COCO: the folder its file names are relative to (default: the JSON's folder).
        split: VOC or YOLO split to read.
        root: CSV: the folder its paths are relative to.
        progress: Show a progress bar.

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "ann.json").write_text(json.dumps({
        ...     "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
        ...     "categories": [{"id": 1, "name": "cat"}],
        ...     "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 1, 5, 4]},
        ...                     {"id": 2, "image_id": 1, "category_id": 1, "bbox": [2, 1, 5, 4]},
        ...                     {"id": 3, "image_id": 1, "category_id": 1, "bbox": [15, 1, 9, 4]}]}))
        >>> report = check_detection(root / "ann.json", progress=False)
        >>> report.boxes, report.class_counts, report.problems
        (2, {'cat': 2}, ['1 annotation problem', '1 duplicate box'])
    """
    import numpy as np

    from visiondata.exceptions import DatasetValidationError
    from visiondata.formats._open import open_detection

    report = DetectionCheckReport(str(source))
    try:
        dataset = open_detection(
            source,
            fmt,
            images=None if images is None else str(images),
            split=split,
            root=None if root is None else str(root),
            on_error="skip",
        )
    except DatasetValidationError as error:
        report.validation = error.problems
        return report
    report.format = type(dataset).__name__
    report.annotation_problems = list(getattr(dataset, "problems", []))
    report.images = len(dataset)
    report.crowd_left_out = int(getattr(dataset, "crowd_left_out", 0) or 0)
    names = dataset.classes
    counts: Counter[int] = Counter()
    for index in range(len(dataset)):
        target = dataset.target(index)
        labels = target["labels"].tolist()
        boxes = np.round(np.asarray(dataset.boxes(index), dtype=np.float64), 4).tolist()
        counts.update(labels)
        report.boxes += len(labels)
        if not labels:
            report.images_without_boxes.append(dataset.relative_path(index))
        report.annotation_problems += _beyond_the_image(dataset, index, np.asarray(boxes).reshape(-1, 4))
        _count_shapes(dataset, index, target, report)
        seen = Counter(zip(labels, map(tuple, boxes), strict=True))
        report.duplicate_boxes += [
            f"{dataset.relative_path(index)}: {names[label]} box {list(box)} appears {times} times"
            for (label, box), times in seen.items()
            if times > 1
        ]
    report.class_counts = {
        name: counts.get(label, 0) for label, name in enumerate(names) if name != "__background__"
    }
    nonzero = [count for count in report.class_counts.values() if count]
    if nonzero:
        report.imbalance = max(nonzero) / min(nonzero)
    _inspect_files(dataset, report, progress)
    return report


def _count_shapes(dataset: Any, index: int, target: Any, report: DetectionCheckReport) -> None:
    """Add image ``index``'s keypoint instances, labelled keypoints and oriented boxes to ``report``.

    The keypoints are the target's (``(N, K, 3)``, in pixels: YOLO-pose's scaled once, by the target).
    """
    import numpy as np

    points = target.get("keypoints") if isinstance(target, dict) else None
    if points is not None:
        array = np.asarray(points)
        if array.ndim == 3 and array.size:  # (N, K, 3); (N, 0, 3) for a reader without keypoints
            visible = array[..., 2] > 0
            report.keypoint_instances += int(np.count_nonzero(visible.any(axis=-1)))
            report.keypoints += int(np.count_nonzero(visible))
    oriented = getattr(dataset, "oriented_boxes", None)
    if callable(oriented):
        corners = oriented(index)
        report.oriented_boxes += 0 if corners is None else len(corners)


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
                dataset = ImageFolderDataset(path, allow_empty=True, on_error="skip")
            except DatasetValidationError as error:
                report.validation = error.problems
                return report
        report.hidden = list(dataset.hidden)
        report.loops = list(dataset.loops)
        report.unlisted = list(dataset.unlisted)
        names = dataset.classes
    counts = Counter(int(target) for target in dataset.targets)
    report.class_counts = {name: counts.get(index, 0) for index, name in enumerate(names)}
    report.images = len(dataset)
    nonzero = [count for count in report.class_counts.values() if count]
    if nonzero:
        report.imbalance = max(nonzero) / min(nonzero)
    _inspect_files(dataset, report, progress)
    return report


def _beyond_the_image(dataset: Any, index: int, boxes: np.ndarray) -> list[str]:
    """Problems of pixel boxes against the image file's real size (read from its header).

    Readers check boxes against the size their annotations declare (a CSV
    declares none); a declared size that differs from the file's is a
    problem too. Unreadable files are left to the decoding pass.
    """
    import numpy as np

    from visiondata.datasets._detection import BORDER_TOLERANCE
    from visiondata.formats._writing import image_size

    index_of_boxes = getattr(dataset, "index", None)
    if index_of_boxes is not None and index_of_boxes.normalized:
        return []  # fractions of whatever size the image has
    try:
        height, width = image_size(dataset.path(index))
    except OSError:
        return []
    where = dataset.relative_path(index)
    problems = []
    if index_of_boxes is not None:
        declared = tuple(int(side) for side in index_of_boxes.sizes[index])
        if declared != (0, 0) and declared != (height, width):
            problems.append(
                f"{where}: the annotations say {declared[1]}x{declared[0]}, the file is {width}x{height} (width x height)"
            )
    limits = np.array([width, height, width, height], dtype=np.float64)
    for box in boxes[(boxes > limits * (1 + BORDER_TOLERANCE)).any(axis=1)].tolist():
        problems.append(f"{where}: box {box} (xyxy) is outside the {width}x{height} image")
    return problems


def _inspect_files(dataset: Any, report: CheckReport, progress: bool) -> None:
    from PIL import Image
    from tqdm.auto import tqdm

    from visiondata.exceptions import ImageReadError
    from visiondata.io._read import read_file, read_image

    by_hash: dict[str, list[str]] = {}
    formats: dict[str, tuple[str, int]] = {}
    # disable=None: tqdm shows the bar on a terminal only, never as carriage returns in a log.
    for index in tqdm(
        range(len(dataset)),
        desc="checking",
        unit="image",
        disable=None if progress else True,
        file=sys.stderr,
    ):
        relative, full = dataset.relative_path(index), dataset.path(index)
        try:
            data = read_file(full)  # special files and huge files are refused here, never opened
            # The readers' own decode and strictness (the dataset's, else the process default):
            # one definition of an unreadable file for check and for training.
            read_image(data, mode="unchanged", strict=getattr(dataset, "strict", None))
            with Image.open(io.BytesIO(data)) as image:
                formats[relative] = (image.mode, image.width * image.height)
        except OSError as error:  # ImageReadError included
            if isinstance(error, ImageReadError) and error.path == "<bytes>" and error.reason is not None:
                error = ImageReadError(full, error.reason, error.detail)  # read_image was given the bytes
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
            report.unusual.append({"path": relative, "reason": _size_reason(area, median_area)})


def _size_reason(area: int, median_area: float) -> str:
    """How far an image's pixel count is from the median, as the factor it really is.

    Examples:
        >>> _size_reason(20_736, 64), _size_reason(4, 1_296)
        ('20,736 pixels, 324x the median 64', '4 pixels, 1/324 of the median 1,296')
    """
    if area >= median_area:
        return f"{area:,} pixels, {_factor(area / median_area)}x the median {median_area:,.0f}"
    if area == 0:
        return f"0 pixels, the median is {median_area:,.0f}"
    return f"{area:,} pixels, 1/{_factor(median_area / area)} of the median {median_area:,.0f}"


def _factor(value: float) -> str:
    # Whole numbers once the factor is large; one decimal near the threshold (16.5, not 16).
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")


def _cause(item: dict[str, str]) -> str:
    """An unreadable file's reason without the full path it starts with (the line names the file already).

    Examples:
        >>> _cause({"path": "dog/5.jpg", "reason": "photos/dog/5.jpg: cannot read image: empty file"})
        'cannot read image: empty file'
    """
    path, reason = item["path"], item["reason"]
    marker = f"{path}: "
    at = reason.find(marker)
    if at == 0 or (at > 0 and reason[at - 1] in "/\\"):  # the full path ends with the relative one
        return reason[at + len(marker) :]
    return reason


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata check`` to the top-level parser."""
    check = commands.add_parser(
        "check",
        help="find unreadable, duplicate and unusual images in a folder or CSV dataset",
        description="Inspect an image folder (one sub-folder per class), a CSV file or a detection dataset.",
        epilog=f"exit status: {EXIT_CLEAN} nothing wrong, {EXIT_PROBLEMS} problems found, {EXIT_USAGE} wrong "
        f"arguments, {EXIT_NOT_FOUND} nothing to check (the path is missing, cannot be read, is a special file such "
        "as a FIFO, or is not a dataset)",
    )
    check.add_argument(
        "path",
        nargs="?",
        help="image folder with one sub-folder per class, a detection dataset (COCO JSON file, VOC folder, "
        "YOLO data.yaml or images folder, DOTA folder...) or a mask folder (images/ + masks/)",
    )
    check.add_argument(
        "--format",
        choices=(
            "folder",
            "coco",
            "voc",
            "yolo",
            "csv",
            "cvat",
            "labelme",
            "label-studio",
            "dota",
            "mask-folder",
        ),
        help="what PATH is (guessed if left out; 'csv' is a CSV of boxes, --csv a CSV of image labels; "
        "'mask-folder' a folder of images/ and masks/ of class ids)",
    )
    check.add_argument(
        "--images", help="COCO: the folder its file names are relative to (default: the JSON's folder)"
    )
    check.add_argument("--split", help="VOC, YOLO or mask folder: the split to check")
    check.add_argument("--csv", help="CSV file with image and label columns")
    check.add_argument(
        "--root", help="folder the CSV's image paths are relative to (default: the CSV's folder)"
    )
    check.add_argument("--image-col", default="image", help="the CSV's image column (default: %(default)s)")
    check.add_argument("--label-col", default="label", help="the CSV's label column (default: %(default)s)")
    check.add_argument(
        "--leakage",
        nargs="+",
        metavar="OTHER",
        help="also compare PATH's images with those of these datasets (opened as PATH is: same --format, "
        f"--images, --split, --root) for exact and near duplicates (perceptual hashes within {LEAKAGE_THRESHOLD} "
        "of 64 bits); each image of PATH with a copy there is a problem",
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check.set_defaults(handler=_run)


def _run(options: argparse.Namespace) -> int:
    if (options.path is None) == (options.csv is None):
        print("visiondata check: give either a folder PATH or --csv FILE", file=sys.stderr)
        return EXIT_USAGE
    from visiondata.exceptions import VisionDataError

    given = options.path if options.path is not None else options.csv
    try:
        special = _special_file(given)
    except OSError as error:
        reason = "no such file or folder" if isinstance(error, FileNotFoundError) else error.strerror or error
        print(f"visiondata check: {given}: {reason}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if special:  # never opened: a FIFO would wait for a writer, a device could be read forever
        expected = "a CSV file" if options.path is None else "a dataset folder or annotation file"
        print(
            f"visiondata check: {given}: expected {expected}, got {special}; special files are never opened: "
            "give the path of the dataset itself",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    others = list(getattr(options, "leakage", None) or [])
    refused = _refuse_others(given, others)
    if refused is not None:
        print(f"visiondata check: {refused[1]}", file=sys.stderr)
        return refused[0]
    try:
        report = _report(options)
        if others and not report.validation:  # a dataset that cannot be opened has no images to compare
            report.leakage = _leakage(options, given, others)
    except VisionDataError as error:  # not a dataset of the kind asked for
        print(f"visiondata check: {error}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except OSError as error:  # a file of the dataset that cannot be read at all (permissions...)
        if error.filename is None:
            raise
        print(f"visiondata check: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return EXIT_NOT_FOUND
    print(json.dumps(report.as_dict(), indent=2) if options.json else _human(report))
    return EXIT_PROBLEMS if report.problems else EXIT_CLEAN


def _refuse_others(given: str, others: list[str]) -> tuple[int, str] | None:
    """The exit status and message refusing ``--leakage``'s datasets, or ``None`` when each can be opened."""
    seen = {os.path.abspath(given): given}
    for other in others:
        try:
            special = _special_file(other)
        except OSError as error:
            reason = (
                "no such file or folder" if isinstance(error, FileNotFoundError) else error.strerror or error
            )
            return EXIT_NOT_FOUND, f"--leakage {other}: {reason}"
        if special:
            return EXIT_NOT_FOUND, (
                f"--leakage {other}: expected a dataset folder or annotation file, got {special}; special files "
                "are never opened: give the path of the dataset itself"
            )
        if os.path.abspath(other) in seen:
            return EXIT_USAGE, (
                f"--leakage {other}: expected another dataset than {seen[os.path.abspath(other)]}, got the same "
                "path twice; give each dataset once"
            )
        seen[os.path.abspath(other)] = other
    return None


def _leakage(options: argparse.Namespace, given: str, others: list[str]) -> dict[str, Any]:
    """Exact and near duplicates between ``given``'s images and each other dataset's, for ``--leakage``.

    The splits of the search are named by the paths as given. Only groups holding an image of
    ``given`` and one of another dataset are leakage; groups among the others are listed, not counted.
    """
    from visiondata.report._duplicates import find_duplicates

    splits = {source: _image_paths(options, source) for source in [given, *others]}
    found = find_duplicates(splits, threshold=LEAKAGE_THRESHOLD, progress=sys.stderr.isatty())
    leaked: dict[str, None] = {}
    for group in [*found.exact, *found.near]:
        if given in group.splits and group.across_splits:
            leaked.update(dict.fromkeys(path for split, path in group.members if split == given))
    return {
        **found.as_dict(),
        "path": given,
        "against": others,
        "leaked_images": len(leaked),
        "leaked": list(leaked),
    }


def _image_paths(options: argparse.Namespace, source: str) -> list[str]:
    """The full path of every image of the dataset at ``source``, opened as ``visiondata check`` opens PATH."""
    from visiondata.formats._open import MASK_FOLDER, guess_format, open_detection

    dataset: Any
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hidden entries, pairing problems: the check of PATH reports them
        if options.path is None:  # --csv: the other datasets are CSV files too
            from visiondata.datasets._csv import CSVDataset

            root = options.root or Path(source).parent
            dataset = CSVDataset(source, root, image_col=options.image_col, label_col=options.label_col)
        else:
            fmt = options.format or guess_format(source) or "folder"
            if fmt == "folder":
                from visiondata.datasets._folder import ImageFolderDataset

                dataset = ImageFolderDataset(source, allow_empty=True, on_error="skip")
            elif fmt == MASK_FOLDER:
                dataset = open_detection(source, MASK_FOLDER, split=options.split, on_error="skip")
            else:
                dataset = open_detection(
                    source,
                    fmt,
                    images=options.images,
                    split=options.split,
                    root=options.root,
                    on_error="skip",
                )
    return [str(dataset.path(index)) for index in range(len(dataset))]


def _special_file(path: str) -> str:
    """What ``path`` is, in words, if it is neither a folder nor a regular file (links followed); else ``""``.

    Examples:
        >>> _special_file("/dev/null"), _special_file(".")
        ('a character device', '')
    """
    import stat

    from visiondata._files import file_kind

    mode = os.stat(path).st_mode
    return "" if stat.S_ISDIR(mode) or stat.S_ISREG(mode) else file_kind(mode)


def _report(options: argparse.Namespace) -> CheckReport:
    from visiondata.formats._open import MASK_FOLDER, guess_format

    fmt = options.format
    if options.path is not None and fmt is None:
        fmt = guess_format(options.path) or "folder"
    if options.path is not None and fmt == MASK_FOLDER:
        return check_segmentation(options.path, options.split, progress=sys.stderr.isatty())
    if options.path is not None and fmt != "folder":
        return check_detection(
            options.path, fmt, options.images, options.split, options.root, progress=sys.stderr.isatty()
        )
    return check_dataset(
        options.path,
        options.csv,
        options.root,
        progress=sys.stderr.isatty(),
        image_col=options.image_col,
        label_col=options.label_col,
    )


def _human(report: CheckReport) -> str:
    detection = isinstance(report, DetectionCheckReport)
    segmentation = isinstance(report, SegmentationCheckReport)
    classes = _count(len(report.class_counts), "class", "classes")
    lines = [f"{report.source}: {_count(report.images, 'image')} in {classes}"]
    if detection:
        boxes = _count(report.boxes, "box", "boxes")
        if report.oriented_boxes:
            boxes += f" ({report.oriented_boxes} oriented)"
        if report.keypoint_instances:
            boxes += (
                f", {_count(report.keypoint_instances, 'keypoint instance')} "
                f"({_count(report.keypoints, 'labelled keypoint')})"
            )
        lines[0] = (
            f"{report.source} ({report.format}): {_count(report.images, 'image')}, {boxes} in {classes}"
        )
    if segmentation:
        masks = _count(report.masks, "image/mask pair")
        lines[0] = f"{report.source} ({report.format}): {masks} in {classes} (masks holding each class)"
    if report.class_counts:
        width = max(len(name) for name in report.class_counts)
        lines += [f"  {name:<{width}}  {number:>8}" for name, number in report.class_counts.items()]
    sections = [
        ("validation problems", report.validation),
        ("mask problems", report.mask_problems if segmentation else []),
        ("annotation problems", report.annotation_problems if detection else []),
        ("duplicate boxes", report.duplicate_boxes if detection else []),
        ("images without boxes", report.images_without_boxes if detection else []),
        ("unreadable files", [f"{item['path']}: {_cause(item)}" for item in report.unreadable]),
        ("identical images", _groups(report.duplicates)),
        ("unusual images", [f"{item['path']}: {item['reason']}" for item in report.unusual]),
        ("folders not indexed", report.unlisted),
        ("symbolic links not followed", report.loops),
        ("hidden entries skipped", report.hidden),
    ]
    for title, items in sections:
        if title == "identical images" and items:
            files = sum(len(group) for group in report.duplicates)
            groups = _count(len(report.duplicates), "group")
            lines.append(f"identical images ({groups}, {_count(files, 'file')}; --json lists them all):")
            lines += items
            continue
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items[:50]]
            if len(items) > 50:
                lines.append(f"  ... and {len(items) - 50} more")
    if detection and report.crowd_left_out:
        lines.append(
            f"{_count(report.crowd_left_out, 'crowd region')} (iscrowd=1) left out, as training reads the file "
            "(include_crowd=False): not counted as boxes above"
        )
    if report.imbalance is not None:
        lines.append(f"class imbalance: {report.imbalance:.1f}:1 (largest to smallest class)")
    if report.leakage is not None:
        lines += _leakage_lines(report.leakage)
    lines.append("problems: " + ("; ".join(report.problems) if report.problems else "none"))
    return "\n".join(lines)


def _leakage_lines(leakage: dict[str, Any]) -> list[str]:
    """``--leakage``'s part of the text report: the count, then the first groups that cross datasets."""
    path, against = leakage["path"], ", ".join(leakage["against"])
    lines = [
        f"leakage against {against}: {_count(leakage['leaked_images'], 'image')} of {path} with an exact or near "
        f"duplicate there (near: perceptual hashes within {leakage['threshold']} of 64 bits)"
    ]
    crossing = [
        group
        for group in [*leakage["exact"], *leakage["near"]]
        if group["across_splits"] and path in group["splits"]
    ]
    for group in crossing[:SHOWN_GROUPS]:
        kind = "identical" if group["kind"] == "exact" else f"near, distance {group['distance']}"
        members = [f"{member['split']}: {member['path']}" for member in group["members"]]
        more = f" and {len(members) - SHOWN_PER_GROUP} more" if len(members) > SHOWN_PER_GROUP else ""
        lines.append(f"  {kind}: " + " | ".join(members[:SHOWN_PER_GROUP]) + more)
    if len(crossing) > SHOWN_GROUPS:
        lines.append(
            f"  ... and {_count(len(crossing) - SHOWN_GROUPS, 'more group')} (--json lists them all)"
        )
    unreadable = [item for item in leakage["unreadable"] if item["split"] != path]
    if unreadable:
        lines.append(
            f"  {_count(len(unreadable), 'file')} of {against} could not be read, not compared (--json lists them)"
        )
    return lines


def _groups(duplicates: list[list[str]]) -> list[str]:
    """The first groups of identical files, a line each, with the first few paths of each."""
    lines = []
    for group in duplicates[:SHOWN_GROUPS]:
        shown = ", ".join(group[:SHOWN_PER_GROUP])
        more = f" and {len(group) - SHOWN_PER_GROUP} more" if len(group) > SHOWN_PER_GROUP else ""
        lines.append(f"  {len(group)} files: {shown}{more}")
    if len(duplicates) > SHOWN_GROUPS:
        lines.append(f"  ... and {_count(len(duplicates) - SHOWN_GROUPS, 'more group')}")
    return lines

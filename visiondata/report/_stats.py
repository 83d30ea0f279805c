"""Statistics of one split of a dataset, for the report: counts, box shapes, image sizes, pixels.

Everything that comes from the annotations is computed on flat numpy arrays
(one row per box, one per image), never with a Python loop per box: COCO
train2017's 860k boxes take seconds. What needs the image files is bounded:
a header read and an ``os.stat`` per image (skippable with ``files=False``),
and pixel statistics decode at most ``max_decoded`` images, chosen evenly,
at about 64 pixels a side.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

#: Bins of the box-centre heatmap along each side.
HEATMAP_BINS = 16
#: Bins of the width/height histograms.
SIZE_BINS = 40
#: Aspect ratios (width / height) outside this range are counted in the outermost bins.
ASPECT_RANGE = (1 / 16, 16.0)
#: Distinct image sizes listed; the images of the others are counted in ``other_sizes``.
MAX_SIZES = 500
#: Longest side (pixels) images are decoded at for the brightness and contrast statistics.
PIXEL_SIDE = 64
#: Bytes read from each image file for its header (JPEG frame header, PNG IHDR).
HEADER_BYTES = 4096
#: Bytes read when the frame header of a JPEG lies beyond `HEADER_BYTES` (large EXIF blocks).
LONG_HEADER_BYTES = 1 << 16
#: Names of the ``__background__`` class detection readers put at label 0.
_BACKGROUND = "__background__"


@dataclass
class SplitStatistics:
    """What the report shows of one split; `as_dict` gives it JSON-ready (without `paths`).

    Histograms are ``{"edges": [...], "counts": [...]}`` (``len(edges) == len(counts) + 1``).
    Counts over boxes leave out boxes whose image size is unknown where the size is needed
    (relative sizes, centres; pixel sizes of normalised boxes), which `notes` states.

    Attributes:
        split: The split's name.
        kind: ``"detection"``, ``"classification"`` or ``"segmentation"``.
        source: The dataset's annotation file or root.
        images: Images in the split.
        classes: Class names (without the ``__background__`` of label 0).
        images_per_class: Images that contain each class (detection), are labelled with it
            (classification), or whose mask holds at least one of its pixels (segmentation).
        boxes_per_class: Boxes of each class (detection), else ``None``.
        imbalance: Largest over smallest class count (boxes for detection, images for
            classification); ``None`` when a class is empty (see `empty_classes`) or there are no
            classes. Segmentation: largest over smallest *non-zero* pixel count (the empty classes
            are listed apart).
        empty_classes: Classes without a box (detection), an image (classification) or a pixel
            (segmentation).
        boxes: Boxes in the split.
        boxes_per_image: Histogram of boxes per image (integer bins).
        images_without_boxes: Images without a box (detection).
        box_width_px: Histogram of box widths in pixels.
        box_height_px: Histogram of box heights in pixels.
        box_aspect: Histogram of width / height, log-spaced bins.
        box_width_rel: Histogram of box widths over the image width.
        box_height_rel: Histogram of box heights over the image height.
        centre_heatmap: ``{"bins": 16, "counts": 16 rows (y) of 16 counts (x)}`` of box centres.
        image_sizes: ``{"width", "height", "count"}`` per distinct size, most common first.
        other_sizes: Distinct sizes beyond the `MAX_SIZES` listed (their images: ``images -
            unknown_sizes - sum of the listed counts``).
        unknown_sizes: Images whose size is unknown (not annotated, file not read).
        formats: Image files per format (``"jpeg"``, ``"png"``, or the extension).
        bytes: Bytes of the image files.
        read_seconds: Seconds spent reading the annotations' arrays and the file headers (not decoding).
        brightness: Histogram of the mean grey level (0-255) of the decoded images.
        contrast: Histogram of the standard deviation of the grey level of the decoded images.
        decoded: Images the pixel statistics decoded.
        keypoint_instances: Boxes with at least one labelled keypoint.
        oriented_boxes: Oriented boxes (readers of DOTA, YOLO-OBB).
        samples_per_class: Class -> dataset indices of images with the class (spread over the split).
        smallest_boxes: ``{"index", "box" (xyxy pixels), "label", "area"}`` of the smallest boxes.
        largest_boxes: The same for the largest boxes.
        most_crowded: ``{"index", "boxes"}`` of the images with the most boxes.
        missing_files: Image files that could not be opened for their header or size.
        notes: What the numbers measure and what was left out, one sentence each.
        pixels_per_class: Segmentation: mask pixels of each class (void pixels left out), else ``None``.
        ignored_pixels: Segmentation: mask pixels equal to ``ignore_index`` (void), counted apart
            (with any negative ids of decoded masks).
        ignore_index: Segmentation: the id of void pixels (``None``: none).
        unreadable_masks: Segmentation: masks that could not be decoded (left out of the counts).
        paths: Full path of every image file, in dataset order (not in `as_dict`).
        thumbnails: Dataset index -> `Thumbnail` of the samples listed above, for datasets the
            page cannot read again by index (shards: kept while streaming); not in `as_dict`.
    """

    split: str
    kind: str
    source: str
    images: int
    classes: list[str]
    images_per_class: list[int] = field(default_factory=list)
    boxes_per_class: list[int] | None = None
    imbalance: float | None = None
    empty_classes: list[str] = field(default_factory=list)
    boxes: int = 0
    boxes_per_image: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    images_without_boxes: int = 0
    box_width_px: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    box_height_px: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    box_aspect: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    box_width_rel: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    box_height_rel: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    centre_heatmap: dict[str, Any] = field(
        default_factory=lambda: {"bins": HEATMAP_BINS, "counts": [[0] * HEATMAP_BINS] * HEATMAP_BINS}
    )
    image_sizes: list[dict[str, int]] = field(default_factory=list)
    other_sizes: int = 0
    unknown_sizes: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    read_seconds: float = 0.0
    brightness: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    contrast: dict[str, list] = field(default_factory=lambda: _empty_histogram())
    decoded: int = 0
    keypoint_instances: int = 0
    oriented_boxes: int = 0
    samples_per_class: dict[str, list[int]] = field(default_factory=dict)
    smallest_boxes: list[dict[str, Any]] = field(default_factory=list)
    largest_boxes: list[dict[str, Any]] = field(default_factory=list)
    most_crowded: list[dict[str, int]] = field(default_factory=list)
    missing_files: int = 0
    notes: list[str] = field(default_factory=list)
    pixels_per_class: list[int] | None = None
    ignored_pixels: int = 0
    ignore_index: int | None = None
    unreadable_masks: int = 0
    paths: list[str] = field(default_factory=list, repr=False)
    thumbnails: dict[int, Thumbnail] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Every field but `paths`, as plain JSON values (numpy numbers converted).

        Examples:
            >>> import json
            >>> statistics = SplitStatistics("train", "classification", "data/", 2, ["cat"], [2])
            >>> json.loads(json.dumps(statistics.as_dict()))["images_per_class"]
            [2]
        """
        # Not asdict: it would deep-copy the thumbnails' pictures only to drop them.
        values = {
            item.name: getattr(self, item.name) for item in fields(self) if item.name not in _NOT_IN_DICT
        }
        return _plain(values)


#: Fields of `SplitStatistics` kept for the page, not part of its numbers.
_NOT_IN_DICT = ("paths", "thumbnails")


@dataclass
class Thumbnail:
    """A sample's picture kept while streaming a dataset without random access (shards), for the page.

    Attributes:
        picture: RGB PIL image, at most the thumbnail size on its longer side.
        full: The image's full ``(width, height)``: boxes are in its pixels.
        boxes: ``(N, 4)`` ``xyxy`` pixel boxes of the sample (detection), else ``None``.
        labels: The boxes' class ids, as the dataset's ``classes`` number them.
    """

    picture: Any
    full: tuple[int, int]
    boxes: np.ndarray | None = None
    labels: list[int] | None = None


def _empty_histogram() -> dict[str, list]:
    return {"edges": [], "counts": []}


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and numbers turned into lists and Python numbers."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


@dataclass
class _Table:
    """One split, flat: what every kind of dataset is turned into before the statistics.

    ``labels`` are positions in ``classes`` (background and unknown labels: -1). Boxes are ``xyxy``
    pixels, or fractions of the image size when ``normalized``.
    """

    kind: str
    source: str
    classes: list[str]
    count: int
    sizes: np.ndarray  # (N, 2) height, width; 0 unknown
    paths: list[str]
    offsets: np.ndarray | None = None  # (N + 1,) detection
    boxes: np.ndarray | None = None  # (M, 4)
    box_labels: np.ndarray | None = None  # (M,)
    normalized: bool = False
    keypoint_instances: int = 0
    oriented_boxes: int = 0
    image_labels: np.ndarray | None = None  # (N,) class position, or (N, K) booleans (multi-label)
    # Segmentation: one row per (image, class present in its mask), sorted by image (`_MaskCounts`).
    masks: _MaskCounts | None = None
    # Images decoded by __getitem__ for generic datasets: dataset index -> grey image.
    decoded: dict[int, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


#: The id of void pixels when a segmentation dataset does not name one (VOC's borders; the library's default).
DEFAULT_IGNORE_INDEX = 255


class _MaskCounts:
    """Pixels per class of decoded semantic masks: one row per (image, class present in its mask).

    Rows are kept per image, not summed at once, so that a ``Subset`` can select its images from a
    base dataset's counts (`select`) and the samples per class come from the same rows.
    """

    def __init__(self, ignore_index: int | None) -> None:
        self.ignore_index = ignore_index
        self._parts: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.ignored: dict[int, int] = {}  # image -> void pixels (and negative ids)
        self.unreadable: list[int] = []
        self.negative = 0
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, index: int, mask: Any) -> np.ndarray:
        """Count the class ids of image ``index``'s mask; returns the ids present (void left out)."""
        ids = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask).reshape(-1)
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.int64)  # bool (0/1) or float ids
        drop = None
        if self.ignore_index is not None:
            drop = ids == self.ignore_index
        if ids.dtype.kind == "i":
            negative = ids < 0
            self.negative += int(np.count_nonzero(negative))
            drop = negative if drop is None else drop | negative
        if drop is not None and drop.any():
            self.ignored[index] = self.ignored.get(index, 0) + int(np.count_nonzero(drop))
            ids = ids[~drop]
        counts = np.bincount(ids) if ids.size else np.zeros(0, dtype=np.int64)
        present = np.flatnonzero(counts)
        self._parts.append((index, present, counts[present].astype(np.int64)))
        self._arrays = None
        return present

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(image, class, pixels)`` of every row, in image order."""
        if self._arrays is None:
            if self._parts:
                image = np.concatenate(
                    [np.full(len(present), index, dtype=np.int64) for index, present, _ in self._parts]
                )
                classes = np.concatenate([present for _, present, _ in self._parts]).astype(np.int64)
                pixels = np.concatenate([pixels for _, _, pixels in self._parts])
                order = np.argsort(image, kind="stable")
                self._arrays = (image[order], classes[order], pixels[order])
            else:
                empty = np.zeros(0, dtype=np.int64)
                self._arrays = (empty, empty, empty)
        return self._arrays

    def select(self, indices: np.ndarray, count: int) -> _MaskCounts:
        """The counts of images ``indices`` of the ``count`` counted, renumbered ``0..len(indices) - 1``."""
        image, classes, pixels = self.arrays()
        per_image = np.bincount(image, minlength=count)
        starts = np.concatenate([[0], np.cumsum(per_image)])[indices]
        sizes = per_image[indices]
        # Row r of image i's j-th class is starts[i] + j: one arange over all rows, shifted per image.
        within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        rows = np.repeat(starts, sizes) + within
        selected = _MaskCounts(self.ignore_index)
        selected._arrays = (
            np.repeat(np.arange(len(indices), dtype=np.int64), sizes),
            classes[rows],
            pixels[rows],
        )
        positions = indices.tolist()
        selected.ignored = {
            new: self.ignored[old] for new, old in enumerate(positions) if old in self.ignored
        }
        unreadable = set(self.unreadable)
        selected.unreadable = [new for new, old in enumerate(positions) if old in unreadable]
        selected.negative = self.negative
        return selected


def _ignore_index(dataset: Any) -> int | None:
    """The dataset's ``ignore_index`` (``None``: no void id), or `DEFAULT_IGNORE_INDEX` when it names none."""
    if hasattr(dataset, "ignore_index"):
        value = dataset.ignore_index
        return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else None
    inner = getattr(dataset, "dataset", None)  # a Subset
    return _ignore_index(inner) if inner is not None else DEFAULT_IGNORE_INDEX


def _mask_target(target: Any) -> Any:
    """The semantic mask of a sample's target (``{"mask": ...}`` or a ``tv_tensors.Mask``), else ``None``."""
    if isinstance(target, dict):
        if "boxes" in target:
            return None  # detection (instance masks travel as "masks")
        mask = target.get("mask")
        return mask if hasattr(mask, "shape") else None
    if type(target).__name__ == "Mask" and hasattr(target, "shape"):
        return target
    return None


def _folder_masks(dataset: Any, count: int, split: str, progress: bool) -> _MaskCounts | None:
    """Every mask of a `SegmentationFolderDataset` (or a ``Subset`` of one) decoded once, or ``None``."""
    from torch.utils.data import Subset

    from visiondata.formats._mask_folder import SegmentationFolderDataset

    if isinstance(dataset, SegmentationFolderDataset):
        base, indices = dataset, list(range(len(dataset)))
    elif isinstance(dataset, Subset) and isinstance(dataset.dataset, SegmentationFolderDataset):
        base, indices = dataset.dataset, [int(index) for index in dataset.indices]
    else:
        return None
    masks = _MaskCounts(base.ignore_index)
    for position in _progress(range(count), progress, f"{split}: decoding masks"):
        try:
            ids = base.mask(indices[position])
        except (OSError, ValueError):  # unreadable, unknown colours: check names them; left out here
            masks.unreadable.append(position)
            continue
        masks.add(position, ids)
    return masks


def collect_statistics(
    dataset: Any,
    split: str = "data",
    *,
    max_decoded: int = 200,
    samples_per_class: int = 8,
    extremes: int = 8,
    progress: bool = False,
    files: bool = True,
    thumbnail_size: int = 160,
) -> SplitStatistics:
    """Statistics of one split of any dataset visiondata reads, for `build_report`.

    Detection readers (COCO, VOC, YOLO, CSV and the oriented-box and keypoint readers), the
    classification folder and CSV datasets, the segmentation folder dataset, a
    ``torch.utils.data.Subset`` of any of them, and any other map-style dataset (read through
    ``dataset[i]``), and WebDataset shards (`visiondata.shards.ShardDataset`: streamed once, see
    below). Annotation statistics are computed on flat arrays; image sizes come from the
    annotations where given, else from each file's header; pixel statistics (brightness, contrast)
    decode at most ``max_decoded`` images, evenly spread, at about 64 pixels a side.

    Segmentation (mask folders, catalog datasets whose targets are ``{"mask": ...}``, segmentation
    shards): every mask is decoded once for the pixels of each class (``pixels_per_class``), the masks
    holding each class (``images_per_class``) and the void pixels (``ignored_pixels``, the dataset's
    ``ignore_index``, 255 where it names none); unnamed ids are named ``"0"`` up to the largest seen.

    Shards have no random access and no image files: their samples are streamed once, in written
    order, with bounded memory. Each image member's size comes from its header (no full decode),
    formats and bytes are those of the image members, targets are rebuilt from their members, and
    thumbnails (`SplitStatistics.thumbnails`) of the samples the lists select are kept on the way:
    ``samples_per_class`` per class (spread over the class's images) and ``extremes`` per list.
    ``paths`` stays empty: shard splits are not searched for duplicates.

    Args:
        dataset: The dataset.
        split: The split's name, for the report.
        max_decoded: Most images decoded for the pixel statistics (0: none).
        samples_per_class: Dataset indices listed per class in ``samples_per_class``.
        extremes: Boxes listed in ``smallest_boxes`` and ``largest_boxes``, images in ``most_crowded``.
        progress: Show a progress bar while reading headers and decoding.
        files: Read each image file's header and size (``os.stat``) and decode for the pixel
            statistics; ``False`` uses the annotations alone (sizes they do not give stay unknown).
        thumbnail_size: Longer side, in pixels, of the thumbnails kept for shards.

    Returns:
        The `SplitStatistics`.

    Raises:
        TypeError: ``dataset`` is not a map-style dataset (no ``len`` and ``[]``).
        ValueError: A count argument is negative.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import ImageFolderDataset
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name, level in [("cat", 60), ("cat", 80), ("dog", 200)]:
        ...     (root / name).mkdir(exist_ok=True)
        ...     Image.new("RGB", (32, 24), (level,) * 3).save(root / name / f"{level}.png")
        >>> statistics = collect_statistics(ImageFolderDataset(root), "train")
        >>> statistics.images_per_class, statistics.imbalance, statistics.image_sizes
        ([2, 1], 2.0, [{'width': 32, 'height': 24, 'count': 3}])
    """
    for name, value in (("max_decoded", max_decoded), ("samples_per_class", samples_per_class)):
        _check_count(name, value)
    _check_count("extremes", extremes)
    if _is_shards(dataset):
        return _shard_statistics(
            dataset, split, max_decoded, samples_per_class, extremes, progress, max(int(thumbnail_size), 1)
        )
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"dataset: expected a map-style dataset (with len() and dataset[i]), got {type(dataset).__name__}; "
            "wrap an iterable dataset's samples in a list first"
        )
    started = time.perf_counter()
    table = _table(dataset, max_decoded, progress)
    if table.kind == "segmentation" and table.masks is None:
        # Masks are annotations: decoded here, within the time to read.
        table.masks = _folder_masks(dataset, table.count, split, progress)
    statistics = SplitStatistics(split, table.kind, table.source, table.count, list(table.classes))
    statistics.paths = table.paths
    statistics.notes = list(table.notes)
    if files and table.paths:
        _read_files(table, statistics, progress)
    elif not files:
        statistics.notes.append("Files were not read (files=False): sizes come from the annotations alone.")
    statistics.read_seconds = round(time.perf_counter() - started, 3)
    statistics.notes.append(
        "Time to read: seconds spent reading the annotations and the file headers (no pixel decoding)."
    )
    if max_decoded and (files or table.decoded):
        # Before the sizes: images decoded through dataset[i] give their sizes too.
        _pixel_statistics(dataset, table, statistics, max_decoded, progress)
    _size_statistics(table, statistics)
    _class_statistics(table, statistics, samples_per_class)
    if table.kind == "detection":
        _box_statistics(table, statistics, extremes)
    return statistics


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}: expected a whole number >= 0, got {value!r}")


# --- turning a dataset into a _Table -------------------------------------------------------------


def _source(dataset: Any) -> str:
    for name in ("annotation_file", "csv_file", "data_yaml", "annotations_dir", "labels_dir", "root"):
        value = getattr(dataset, name, None)
        if value:
            return str(value)
    return type(dataset).__name__


def _kept_classes(classes: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
    """The class names without the background of label 0, and label -> position (-1: left out)."""
    names = [str(name) for name in (classes or [])]
    positions = np.arange(len(names), dtype=np.int64)
    if names and names[0] == _BACKGROUND:
        positions = positions - 1
        names = names[1:]
    return names, positions


def _map_labels(labels: np.ndarray, positions: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    valid = (labels >= 0) & (labels < len(positions))
    return np.where(
        valid, positions[np.clip(labels, 0, max(len(positions) - 1, 0))] if len(positions) else -1, -1
    )


def _file_paths(dataset: Any) -> list[str]:
    return [dataset.path(index) for index in range(len(dataset))]


def _table(dataset: Any, max_decoded: int, progress: bool) -> _Table:
    from torch.utils.data import Subset

    if isinstance(dataset, Subset):
        base = _table(dataset.dataset, 0, progress)
        indices = np.asarray(list(dataset.indices), dtype=np.int64)
        return _select(base, indices)
    from visiondata.datasets._detection import DetectionFileDataset

    if isinstance(dataset, DetectionFileDataset):
        return _detection_table(dataset)
    from visiondata.formats._csv_detection import CSVDetectionDataset

    if isinstance(dataset, CSVDetectionDataset):
        return _csv_detection_table(dataset)
    from visiondata.datasets._csv import CSVDataset
    from visiondata.datasets._folder import ImageFolderDataset

    if isinstance(dataset, (ImageFolderDataset, CSVDataset)):
        return _classification_table(dataset)
    from visiondata.formats._mask_folder import SegmentationFolderDataset

    if isinstance(dataset, SegmentationFolderDataset):
        classes = list(dataset.classes or [])
        return _Table(
            "segmentation",
            _source(dataset),
            classes,
            len(dataset),
            np.zeros((len(dataset), 2), dtype=np.int64),
            _file_paths(dataset),
        )
    return _generic_table(dataset, max_decoded, progress)


def _detection_table(dataset: Any) -> _Table:
    index = dataset.index
    classes, positions = _kept_classes(dataset.classes)
    keypoints = 0
    if index.keypoints is not None and index.keypoints.size:
        keypoints = int((index.keypoints[..., 2] > 0).any(axis=1).sum())
    return _Table(
        "detection",
        _source(dataset),
        classes,
        len(index.paths),
        np.asarray(index.sizes, dtype=np.int64).reshape(-1, 2),
        _file_paths(dataset),
        offsets=np.asarray(index.offsets, dtype=np.int64),
        boxes=np.asarray(index.boxes, dtype=np.float64).reshape(-1, 4),
        box_labels=_map_labels(index.labels, positions),
        normalized=bool(index.normalized),
        keypoint_instances=keypoints,
        oriented_boxes=0 if index.corners is None else len(index.corners),
    )


def _csv_detection_table(dataset: Any) -> _Table:
    classes, positions = _kept_classes(dataset.classes)
    count = len(dataset)
    offsets = getattr(dataset, "_offsets", None)
    boxes = getattr(dataset, "_boxes", None)
    labels = getattr(dataset, "_labels", None)
    if offsets is None or boxes is None or labels is None:  # another version of the reader: per image
        parts = [np.asarray(dataset.boxes(i), dtype=np.float64).reshape(-1, 4) for i in range(count)]
        label_parts = [np.asarray(dataset.target(i)["labels"]).reshape(-1) for i in range(count)]
        offsets = np.concatenate([[0], np.cumsum([len(part) for part in parts])])
        boxes = np.concatenate(parts) if parts else np.zeros((0, 4))
        labels = np.concatenate(label_parts) if label_parts else np.zeros(0, dtype=np.int64)
    return _Table(
        "detection",
        _source(dataset),
        classes,
        count,
        np.zeros((count, 2), dtype=np.int64),
        _file_paths(dataset),
        offsets=np.asarray(offsets, dtype=np.int64),
        boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        box_labels=_map_labels(labels, positions),
    )


def _classification_table(dataset: Any) -> _Table:
    targets = np.asarray(dataset.targets)
    classes = [str(name) for name in dataset.classes]
    # Multi-label (or regression) CSV targets are (N, K): a class is present where its value is > 0.
    labels = targets > 0 if targets.ndim == 2 else targets.astype(np.int64)
    return _Table(
        "classification",
        _source(dataset),
        classes,
        len(dataset),
        np.zeros((len(dataset), 2), dtype=np.int64),
        _file_paths(dataset),
        image_labels=labels,
    )


def _generic_table(dataset: Any, max_decoded: int, progress: bool) -> _Table:
    """Any map-style dataset: labels from ``.targets`` when it has them, else from every sample."""
    count = len(dataset)
    classes = [str(name) for name in (getattr(dataset, "classes", None) or [])]
    paths = _file_paths(dataset) if callable(getattr(dataset, "path", None)) else []
    table = _Table(
        "classification", _source(dataset), classes, count, np.zeros((count, 2), dtype=np.int64), paths
    )
    _raw_pixels(dataset, table, max_decoded)
    targets = getattr(dataset, "targets", None)
    if targets is not None and len(targets) == count:
        array = np.asarray(targets.numpy() if hasattr(targets, "numpy") else targets)
        if array.ndim == 1 and np.issubdtype(array.dtype, np.integer):
            table.image_labels = array.astype(np.int64)
            return table
    # Every sample is read for its target: the images come with it, and a few are kept for pixels.
    keep = set(_evenly(count, max_decoded).tolist())
    labels: list[int] = []
    box_parts: list[np.ndarray] = []
    label_parts: list[np.ndarray] = []
    detection = False
    masks = _MaskCounts(_ignore_index(dataset))
    segmentation = False
    for index in _progress(range(count), progress, "reading samples"):
        image, target = _pair(dataset[index])
        size = _image_size(image)
        if size is not None:
            table.sizes[index] = size
        if index in keep and index not in table.decoded:
            grey = _grey(image)
            if grey is not None:
                table.decoded[index] = grey
        if isinstance(target, dict) and "boxes" in target:
            detection = True
            box_parts.append(np.asarray(target["boxes"], dtype=np.float64).reshape(-1, 4))
            label_parts.append(np.asarray(target.get("labels", np.zeros(0)), dtype=np.int64).reshape(-1))
        elif _mask_target(target) is not None:
            segmentation = True
            masks.add(index, _mask_target(target))
        elif isinstance(target, (int, np.integer)) or (hasattr(target, "ndim") and target.ndim == 0):
            labels.append(int(target))
        else:
            labels.append(-1)
    if detection:
        table.kind = "detection"
        table.classes, positions = _kept_classes(classes)
        table.offsets = np.concatenate([[0], np.cumsum([len(part) for part in box_parts])]).astype(np.int64)
        table.boxes = np.concatenate(box_parts) if box_parts else np.zeros((0, 4))
        joined = np.concatenate(label_parts) if label_parts else np.zeros(0, dtype=np.int64)
        table.box_labels = _map_labels(joined, positions)
    elif segmentation:
        table.kind = "segmentation"
        table.masks = masks
    else:
        table.image_labels = np.asarray(labels, dtype=np.int64)
        if not classes and len(labels):
            table.classes = [str(label) for label in range(max(labels) + 1)]
    return table


def _raw_pixels(dataset: Any, table: _Table, max_decoded: int) -> None:
    """Sizes and pixels from a ``uint8`` ``.data`` array of every image (MNIST, CIFAR), when there is one.

    ``dataset[i]`` may give normalised floats (MNIST's ``normalize=True``); the stored bytes are the
    image as it is.
    """
    data = getattr(dataset, "data", None)
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) not in (3, 4) or shape[0] != table.count:
        return
    dtype = str(getattr(data, "dtype", ""))
    if "uint8" not in dtype:
        return
    table.sizes[:] = (int(shape[1]), int(shape[2]))
    for index in _evenly(table.count, max_decoded).tolist():
        grey = _grey(np.asarray(data[index]))
        if grey is not None:
            table.decoded[index] = grey


def _pair(sample: Any) -> tuple[Any, Any]:
    if isinstance(sample, (tuple, list)) and len(sample) >= 2:
        return sample[0], sample[1]
    return sample, None


def _select(table: _Table, indices: np.ndarray) -> _Table:
    """The rows ``indices`` of ``table`` (a ``Subset``), in that order."""
    selected = _Table(
        table.kind,
        table.source,
        table.classes,
        len(indices),
        table.sizes[indices],
        [table.paths[i] for i in indices.tolist()] if table.paths else [],
        normalized=table.normalized,
        notes=[*table.notes, f"A subset of {len(indices)} of the dataset's {table.count} images."],
    )
    if table.image_labels is not None:
        selected.image_labels = table.image_labels[indices]
    if table.masks is not None:
        selected.masks = table.masks.select(indices, table.count)
    if table.offsets is not None and table.boxes is not None and table.box_labels is not None:
        counts = np.diff(table.offsets)[indices]
        starts = table.offsets[indices]
        # Row r of box j of image i is starts[i] + j: one arange over all boxes, shifted per image.
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = np.repeat(starts, counts) + within
        selected.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        selected.boxes = table.boxes[rows]
        selected.box_labels = table.box_labels[rows]
    return selected


# --- files: headers, formats, bytes ----------------------------------------------------------------


def _read_files(table: _Table, statistics: SplitStatistics, progress: bool) -> None:
    """Format and bytes of every file; its size from the header where the annotations give none."""
    from visiondata.io._header import jpeg_orientation, read_header

    formats: dict[str, int] = {}
    total = 0
    missing = 0
    need_size = (table.sizes <= 0).any(axis=1)
    for position, path in enumerate(_progress(table.paths, progress, f"{statistics.split}: reading headers")):
        try:
            total += os.stat(path).st_size
            with open(path, "rb") as file:
                data = file.read(HEADER_BYTES)
                header = read_header(data)
                if header.format == "jpeg" and header.width is None:
                    data += file.read(LONG_HEADER_BYTES)
                    header = read_header(data)
        except OSError:
            missing += 1
            continue
        name = header.format if header.format != "other" else _extension(path)
        formats[name] = formats.get(name, 0) + 1
        if not need_size[position]:
            continue
        if header.width is not None and header.height is not None:
            width, height = header.width, header.height
            # read_image applies the EXIF orientation: orientations 5 to 8 swap the sides.
            if header.format == "jpeg" and jpeg_orientation(data) in (5, 6, 7, 8):
                width, height = height, width
            table.sizes[position] = (height, width)
        else:
            size = _pil_size(path)
            if size is not None:
                table.sizes[position] = size
    statistics.formats = dict(sorted(formats.items(), key=lambda item: (-item[1], item[0])))
    statistics.bytes = total
    statistics.missing_files = missing
    if missing:
        statistics.notes.append(f"{missing} image file{'s' if missing != 1 else ''} could not be opened.")


def _extension(path: str) -> str:
    return os.path.splitext(path)[1].lower().lstrip(".") or "none"


def _pil_size(path: str) -> tuple[int, int] | None:
    """``(height, width)`` of a file the header reader does not know (WebP, BMP...), EXIF applied."""
    from visiondata.formats._writing import image_size

    try:
        return image_size(path)
    except Exception:  # an unreadable file: its size stays unknown, check reports the file
        return None


# --- statistics ------------------------------------------------------------------------------------


def _size_statistics(table: _Table, statistics: SplitStatistics) -> None:
    known = (table.sizes > 0).all(axis=1)
    statistics.unknown_sizes = int((~known).sum())
    if statistics.unknown_sizes:
        statistics.notes.append(f"The size of {statistics.unknown_sizes} images is unknown.")
    if not known.any():
        return
    sizes, counts = np.unique(table.sizes[known], axis=0, return_counts=True)
    # Most common first; ties by width then height.
    order = np.lexsort((sizes[:, 0], sizes[:, 1], -counts))
    listed = order[:MAX_SIZES]
    statistics.image_sizes = [
        {"width": int(sizes[i, 1]), "height": int(sizes[i, 0]), "count": int(counts[i])}
        for i in listed.tolist()
    ]
    statistics.other_sizes = max(len(sizes) - MAX_SIZES, 0)


def _imbalance(counts: Sequence[int]) -> float | None:
    if not len(counts) or min(counts) == 0:
        return None
    return round(max(counts) / min(counts), 3)


def _class_statistics(table: _Table, statistics: SplitStatistics, per_class: int) -> None:
    if table.kind == "segmentation":
        _mask_statistics(table, statistics, per_class)
        return
    classes = table.classes
    count = len(classes)
    if table.kind == "detection":
        assert table.offsets is not None and table.box_labels is not None
        box_image = np.repeat(np.arange(table.count, dtype=np.int64), np.diff(table.offsets))
        known = table.box_labels >= 0
        boxes_per_class = np.bincount(table.box_labels[known], minlength=count)[:count]
        # One (image, class) pair per image that holds the class, sorted by class then image.
        pairs = np.unique(table.box_labels[known] * max(table.count, 1) + box_image[known])
        pair_class, pair_image = pairs // max(table.count, 1), pairs % max(table.count, 1)
        statistics.boxes_per_class = boxes_per_class.tolist()
        statistics.images_per_class = np.bincount(pair_class, minlength=count)[:count].tolist()
        weights = statistics.boxes_per_class
    elif table.image_labels is not None and table.image_labels.ndim == 2:
        present = table.image_labels[:, :count]
        pair_image, pair_class = np.nonzero(present.T)[1], np.nonzero(present.T)[0]
        statistics.images_per_class = present.sum(axis=0).astype(np.int64).tolist()
        weights = statistics.images_per_class
    elif table.image_labels is not None:
        labels = table.image_labels
        valid = (labels >= 0) & (labels < count)
        order = np.lexsort((np.arange(len(labels))[valid], labels[valid]))
        pair_class, pair_image = labels[valid][order], np.flatnonzero(valid)[order]
        statistics.images_per_class = np.bincount(labels[valid], minlength=count)[:count].tolist()
        weights = statistics.images_per_class
    else:
        return
    statistics.empty_classes = [name for name, value in zip(classes, weights, strict=True) if value == 0]
    statistics.imbalance = _imbalance(weights)
    # Indices spread evenly over the images of each class, so the grid is not only the first files.
    bounds = np.searchsorted(pair_class, np.arange(count + 1))
    samples: dict[str, list[int]] = {}
    for position, name in enumerate(classes):
        images = pair_image[bounds[position] : bounds[position + 1]]
        samples[name] = images[_evenly(len(images), per_class)].astype(int).tolist()
    statistics.samples_per_class = samples


def _mask_statistics(table: _Table, statistics: SplitStatistics, per_class: int) -> None:
    """Pixels and masks per class, void pixels, pixel imbalance and samples per class of the masks."""
    masks = table.masks
    if masks is None:
        return
    image, classes, pixels = masks.arrays()
    top = int(classes.max()) if len(classes) else -1
    names = list(table.classes)
    unnamed = not names
    if unnamed:
        names = [str(value) for value in range(top + 1)]
    elif top >= len(names):
        statistics.notes.append(
            f"Masks hold ids up to {top}, beyond the {len(names)} named classes: those ids are named by number."
        )
        names += [str(value) for value in range(len(names), top + 1)]
    table.classes = names
    statistics.classes = list(names)
    count = len(names)
    # Integer weights: float64 sums stay exact below 2**53 pixels.
    totals = np.rint(np.bincount(classes, weights=pixels, minlength=count)).astype(np.int64)[:count]
    statistics.pixels_per_class = totals.tolist()
    statistics.images_per_class = np.bincount(classes, minlength=count)[:count].astype(np.int64).tolist()
    statistics.ignored_pixels = int(sum(masks.ignored.values()))
    statistics.ignore_index = masks.ignore_index
    statistics.unreadable_masks = len(masks.unreadable)
    statistics.empty_classes = [
        name
        for value, (name, total) in enumerate(zip(names, totals.tolist(), strict=True))
        # An unnamed id range may pass over the void id: it is no class.
        if total == 0 and not (unnamed and value == masks.ignore_index)
    ]
    nonzero = totals[totals > 0]
    statistics.imbalance = round(float(nonzero.max() / nonzero.min()), 3) if len(nonzero) else None
    order = np.lexsort((image, classes))
    pair_class, pair_image = classes[order], image[order]
    bounds = np.searchsorted(pair_class, np.arange(count + 1))
    statistics.samples_per_class = {
        name: pair_image[bounds[position] : bounds[position + 1]][
            _evenly(int(bounds[position + 1] - bounds[position]), per_class)
        ]
        .astype(int)
        .tolist()
        for position, name in enumerate(names)
    }
    void = "no void id" if masks.ignore_index is None else f"void id {masks.ignore_index}"
    decoded = table.count - len(masks.unreadable)
    statistics.notes.append(
        f"Masks: {decoded} of {table.count} decoded once each; pixels per class count every mask pixel of "
        f"the class, {statistics.ignored_pixels:,} void pixels ({void}) counted apart; the imbalance is the "
        "largest over the smallest non-zero pixel count."
    )
    if masks.negative:
        statistics.notes.append(f"{masks.negative:,} mask pixels with negative ids are counted as void.")
    if masks.unreadable:
        statistics.notes.append(
            f"{len(masks.unreadable)} mask{'s' if len(masks.unreadable) != 1 else ''} could not be decoded "
            "and are left out of the class counts."
        )


def _evenly(count: int, wanted: int) -> np.ndarray:
    """Up to ``wanted`` positions of ``range(count)``, evenly spread, first and last included."""
    if wanted <= 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    if count <= wanted:
        return np.arange(count, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, count - 1, wanted)).astype(np.int64))


def _histogram(values: np.ndarray, edges: np.ndarray) -> dict[str, list]:
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return {"edges": [round(float(edge), 6) for edge in edges], "counts": counts.astype(int).tolist()}


def _integer_histogram(values: np.ndarray) -> dict[str, list]:
    """Integer bins ``[k, k + step)``; ``step`` grows so that at most 100 bins are drawn."""
    top = int(values.max()) if len(values) else 0
    step = max(1, math.ceil((top + 1) / 100))
    edges = np.arange(0, top + step + 1, step)
    counts, _ = np.histogram(values, bins=edges)
    return {"edges": edges.astype(int).tolist(), "counts": counts.astype(int).tolist()}


def _linear_edges(values: np.ndarray, top: float | None = None) -> np.ndarray:
    upper = float(values.max()) if top is None and len(values) else (top or 1.0)
    return np.linspace(0.0, upper if upper > 0 else 1.0, SIZE_BINS + 1)


def _box_statistics(table: _Table, statistics: SplitStatistics, extremes: int) -> None:
    assert table.offsets is not None and table.boxes is not None and table.box_labels is not None
    boxes = table.boxes
    per_image = np.diff(table.offsets)
    statistics.boxes = len(boxes)
    statistics.boxes_per_image = _integer_histogram(per_image)
    statistics.images_without_boxes = int((per_image == 0).sum())
    statistics.keypoint_instances = table.keypoint_instances
    statistics.oriented_boxes = table.oriented_boxes
    box_image = np.repeat(np.arange(table.count, dtype=np.int64), per_image)
    sizes = table.sizes[box_image].astype(np.float64)  # (M, 2) height, width
    known = (sizes > 0).all(axis=1)
    scale = np.stack([sizes[:, 1], sizes[:, 0], sizes[:, 1], sizes[:, 0]], axis=1)
    if table.normalized:
        relative, pixel, pixel_known, relative_known = boxes, boxes * scale, known, np.ones(len(boxes), bool)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = boxes / np.where(scale > 0, scale, 1.0)
        pixel, pixel_known, relative_known = boxes, np.ones(len(boxes), bool), known
    left_out = int((~(pixel_known & relative_known)).sum())
    if left_out:
        statistics.notes.append(
            f"{left_out} boxes of images of unknown size are left out of the "
            f"{'pixel' if table.normalized else 'relative'} sizes and the centre heatmap."
        )
    width, height = pixel[:, 2] - pixel[:, 0], pixel[:, 3] - pixel[:, 1]
    finite = np.isfinite(width) & np.isfinite(height)
    px = pixel_known & finite
    if px.any():
        statistics.box_width_px = _histogram(width[px], _linear_edges(width[px]))
        statistics.box_height_px = _histogram(height[px], _linear_edges(height[px]))
    shaped = finite & (width > 0) & (height > 0)
    if shaped.any():
        # Aspect ratio does not depend on the scale: normalised boxes need their image's aspect though.
        aspect_ok = shaped & pixel_known
        aspect = width[aspect_ok] / height[aspect_ok]
        # An odd number of bins: 1 (square) lies in the middle of the central bin, not on an edge.
        edges = np.geomspace(ASPECT_RANGE[0], ASPECT_RANGE[1], 34)
        statistics.box_aspect = _histogram(aspect, edges)
    rel = relative_known & np.isfinite(relative).all(axis=1)
    if rel.any():
        unit = np.linspace(0.0, 1.0, SIZE_BINS + 1)
        statistics.box_width_rel = _histogram(relative[rel, 2] - relative[rel, 0], unit)
        statistics.box_height_rel = _histogram(relative[rel, 3] - relative[rel, 1], unit)
        centre_x = (relative[rel, 0] + relative[rel, 2]) / 2
        centre_y = (relative[rel, 1] + relative[rel, 3]) / 2
        cells = np.clip((np.stack([centre_y, centre_x]) * HEATMAP_BINS).astype(np.int64), 0, HEATMAP_BINS - 1)
        heat = np.bincount(cells[0] * HEATMAP_BINS + cells[1], minlength=HEATMAP_BINS**2)
        statistics.centre_heatmap = {
            "bins": HEATMAP_BINS,
            "counts": heat.reshape(HEATMAP_BINS, HEATMAP_BINS).astype(int).tolist(),
        }
    # Extremes by area in pixels: a stable sort, so ties keep dataset order.
    if extremes and px.any():
        rows = np.flatnonzero(px)
        area = np.maximum(width[rows], 0) * np.maximum(height[rows], 0)
        order = np.argsort(area, kind="stable")
        names = table.classes

        def listed(selection: np.ndarray) -> list[dict[str, Any]]:
            items = []
            for position in selection.tolist():
                row = int(rows[position])
                label = int(table.box_labels[row])  # type: ignore[index]
                items.append(
                    {
                        "index": int(box_image[row]),
                        "box": [round(float(value), 2) for value in pixel[row]],
                        "label": names[label] if 0 <= label < len(names) else "",
                        "area": round(float(area[position]), 2),
                    }
                )
            return items

        statistics.smallest_boxes = listed(order[:extremes])
        # Largest first; among equal areas the earlier box first.
        largest = np.argsort(-area, kind="stable")[:extremes]
        statistics.largest_boxes = listed(largest)
    if extremes and table.count:
        crowded = np.argsort(-per_image, kind="stable")[:extremes]
        statistics.most_crowded = [
            {"index": int(i), "boxes": int(per_image[i])} for i in crowded.tolist() if per_image[i] > 0
        ]


# --- shards: one streaming pass ----------------------------------------------------------------------


def _is_shards(dataset: Any) -> bool:
    """Whether ``dataset`` is a `visiondata.shards.ShardDataset` (without importing webdataset)."""
    from visiondata.shards._dataset import ShardDataset

    return isinstance(dataset, ShardDataset)


class _Kept:
    """Thumbnails of the samples that may still be listed, each held while any list holds its index.

    The lists of extremes are bounded heaps (the ``extremes`` smallest keys, in the order
    `_box_statistics` sorts them, so the final lists find their thumbnails here); the samples per
    class keep every ``stride``-th image of the class, doubling ``stride`` whenever more than twice
    ``per_class`` are held, so what stays is spread over the whole split in bounded memory.
    """

    def __init__(self, per_class: int, extremes: int, size: int) -> None:
        self.per_class, self.extremes, self.size = per_class, extremes, size
        self.thumbnails: dict[int, Thumbnail] = {}
        self.holders: dict[int, int] = {}
        self.smallest: list[tuple[float, int, int]] = []  # (-area, -row, index): the largest key on top
        self.largest: list[tuple[float, int, int]] = []  # (area, -row, index)
        self.crowded: list[tuple[int, int, int]] = []  # (boxes, -index, index)
        self.seen: dict[int, int] = {}  # class position -> images of it so far
        self.stride: dict[int, int] = {}
        self.by_class: dict[int, list[tuple[int, int]]] = {}  # class position -> (occurrence, index)
        self.decode_seconds = 0.0

    def _hold(self, index: int, make: Any) -> None:
        if index not in self.holders:
            started = time.perf_counter()
            thumbnail = make()
            self.decode_seconds += time.perf_counter() - started
            if thumbnail is None:
                return
            self.thumbnails[index] = thumbnail
            self.holders[index] = 0
        self.holders[index] += 1

    def _release(self, index: int) -> None:
        if index not in self.holders:
            return
        self.holders[index] -= 1
        if self.holders[index] <= 0:
            del self.holders[index], self.thumbnails[index]

    def _bounded(self, heap: list[Any], entry: tuple[Any, ...], make: Any) -> None:
        import heapq

        if len(heap) < self.extremes:
            self._hold(entry[-1], make)
            if entry[-1] in self.holders:
                heapq.heappush(heap, entry)
        elif entry > heap[0]:  # a smaller key than the worst held (keys are stored negated)
            self._hold(entry[-1], make)
            if entry[-1] in self.holders:
                self._release(heapq.heapreplace(heap, entry)[-1])

    def add(
        self, index: int, classes: np.ndarray, areas: np.ndarray | None, first_row: int, boxes: int, make: Any
    ) -> None:
        """Offer sample ``index``: its class positions, its boxes' areas (rows from ``first_row``)."""
        if self.per_class:
            for position in classes.tolist():
                occurrence = self.seen.get(position, 0)
                self.seen[position] = occurrence + 1
                stride = self.stride.setdefault(position, 1)
                if occurrence % stride:
                    continue
                self._hold(index, make)
                if index not in self.holders:
                    continue
                held = self.by_class.setdefault(position, [])
                held.append((occurrence, index))
                if len(held) > 2 * self.per_class:
                    stride *= 2
                    self.stride[position] = stride
                    for dropped in [item for item in held if item[0] % stride]:
                        self._release(dropped[1])
                    held[:] = [item for item in held if item[0] % stride == 0]
        if not self.extremes:
            return
        if boxes:
            self._bounded(self.crowded, (boxes, -index, index), make)
        if areas is not None and len(areas):
            finite = np.isfinite(areas)
            # Only boxes that can enter a full list are offered: no Python step per box otherwise.
            small = finite & (areas <= -self.smallest[0][0] if len(self.smallest) >= self.extremes else True)
            for offset in np.flatnonzero(small).tolist():
                self._bounded(self.smallest, (-float(areas[offset]), -(first_row + offset), index), make)
            large = finite & (areas >= self.largest[0][0] if len(self.largest) >= self.extremes else True)
            for offset in np.flatnonzero(large).tolist():
                self._bounded(self.largest, (float(areas[offset]), -(first_row + offset), index), make)

    def samples(self, position: int) -> list[int]:
        held = self.by_class.get(position, [])
        return [held[i][1] for i in _evenly(len(held), self.per_class).tolist()]


def _shard_statistics(
    dataset: Any,
    split: str,
    max_decoded: int,
    per_class: int,
    extremes: int,
    progress: bool,
    thumbnail_size: int,
) -> SplitStatistics:
    """Statistics of a `ShardDataset`, its samples streamed once from the raw tar members."""
    from visiondata.io._header import jpeg_orientation, read_header
    from visiondata.shards._records import decode_target, image_member

    started = time.perf_counter()
    manifest = dataset.manifest
    raw_classes = [str(name) for name in (dataset.classes or [])]
    detection = manifest.task == "detection"
    kind = manifest.task if manifest.task in ("detection", "segmentation") else "classification"
    classes, positions = (
        _kept_classes(raw_classes) if detection else (raw_classes, np.arange(len(raw_classes)))
    )
    chosen = set(_evenly(manifest.count, max_decoded).tolist())
    kept = _Kept(per_class, extremes, thumbnail_size)
    sizes: list[tuple[int, int]] = []
    counts: list[int] = []
    box_parts: list[np.ndarray] = []
    label_parts: list[np.ndarray] = []
    image_labels: list[int] = []
    masks = _MaskCounts(_ignore_index(dataset)) if kind == "segmentation" else None
    greys: dict[int, np.ndarray] = {}
    formats: dict[str, int] = {}
    total_bytes = rows = keypoint_instances = oriented = 0
    pixel_seconds = 0.0

    def raw_samples() -> Any:
        for position in range(len(dataset.urls)):
            yield from dataset._samples(position)  # the members' bytes: no decode, no transform

    stream = raw_samples()
    if progress:
        from tqdm.auto import tqdm

        stream = tqdm(
            stream, total=manifest.count, desc=f"{split}: streaming shards", unit="sample", leave=False
        )
    position = 0  # stream position of every sample read; indices count the readable ones
    for sample in stream:
        where = f"{sample['__url__']}: key {sample['__key__']}"
        position += 1
        extension = image_member(sample)
        if extension is None:
            dataset.errors[where] = f"{where}: no image member"
            continue
        data = sample[extension]
        header = read_header(bytes(data[:LONG_HEADER_BYTES]))
        if header.width is not None and header.height is not None:
            width, height = header.width, header.height
            # Readers apply the EXIF orientation: orientations 5 to 8 swap the sides.
            if header.format == "jpeg" and jpeg_orientation(bytes(data[:LONG_HEADER_BYTES])) in (5, 6, 7, 8):
                width, height = height, width
        else:
            size = _bytes_size(data)
            if size is None:
                dataset.errors[where] = f"{where}: unreadable image member .{extension}"
                continue
            height, width = size
        try:
            target = decode_target(sample, where, (height, width))
        except Exception as error:  # a damaged target is a problem of the page, not a stop
            dataset.errors[where] = str(error)
            continue
        index = len(sizes)
        sizes.append((height, width))
        name = header.format if header.format != "other" else extension.lower()
        formats[name] = formats.get(name, 0) + 1
        total_bytes += len(data)
        if position - 1 in chosen:
            clock = time.perf_counter()
            grey = _grey_file(io.BytesIO(data))
            pixel_seconds += time.perf_counter() - clock
            if grey is not None:
                greys[index] = grey
        boxes = labels = areas = None
        if detection and isinstance(target, dict):
            boxes = _xyxy(target.get("boxes"))
            labels = np.asarray(target.get("labels", np.zeros(len(boxes))), dtype=np.int64).reshape(-1)
            if len(labels) != len(boxes):
                labels = np.full(len(boxes), -1, dtype=np.int64)
            keypoints = target.get("keypoints")
            if keypoints is not None:
                array = np.asarray(keypoints)
                if array.ndim == 3 and array.shape[-1] >= 3:
                    keypoint_instances += int((array[..., 2] > 0).any(axis=1).sum())
            corners = target.get("corners", target.get("oriented_boxes"))
            oriented += 0 if corners is None else len(corners)
            box_parts.append(boxes)
            label_parts.append(labels)
            counts.append(len(boxes))
            with np.errstate(invalid="ignore"):
                areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
            present = np.unique(_map_labels(labels, positions))
            present = present[present >= 0]
        elif detection:
            counts.append(0)
            present = np.zeros(0, dtype=np.int64)
        elif masks is not None:
            # The mask member, decoded once by the target's rebuild above.
            mask = _mask_target(target)
            if mask is None:
                masks.unreadable.append(index)
                present = np.zeros(0, dtype=np.int64)
            else:
                present = masks.add(index, mask)
        else:
            label = _class_id(target)
            image_labels.append(label)
            present = np.array([label] if 0 <= label < len(classes) else [], dtype=np.int64)

        def make(
            data: Any = data, boxes: Any = boxes, labels: Any = labels, full: Any = (width, height)
        ) -> Any:
            return _thumbnail(data, thumbnail_size, full, boxes, labels)

        kept.add(index, present, areas, rows, len(boxes) if boxes is not None else 0, make)
        rows += 0 if boxes is None else len(boxes)

    count = len(sizes)
    table = _Table(
        kind,
        os.fspath(
            getattr(dataset, "_manifest_location", "") or (dataset.urls[0] if dataset.urls else "shards")
        ),
        classes,
        count,
        np.asarray(sizes, dtype=np.int64).reshape(-1, 2),
        [],
        decoded=greys,
        masks=masks,
    )
    if detection:
        table.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        table.boxes = np.concatenate(box_parts) if box_parts else np.zeros((0, 4))
        joined = np.concatenate(label_parts) if label_parts else np.zeros(0, dtype=np.int64)
        table.box_labels = _map_labels(joined, positions)
        table.keypoint_instances, table.oriented_boxes = keypoint_instances, oriented
    elif kind == "classification":
        table.image_labels = np.asarray(image_labels, dtype=np.int64)
        if not classes and image_labels:
            table.classes = [str(label) for label in range(max(image_labels) + 1)]
    statistics = SplitStatistics(split, table.kind, table.source, table.count, list(table.classes))
    statistics.formats = dict(sorted(formats.items(), key=lambda item: (-item[1], item[0])))
    statistics.bytes = total_bytes
    statistics.read_seconds = round(
        max(time.perf_counter() - started - pixel_seconds - kept.decode_seconds, 0.0), 3
    )
    statistics.notes = [
        f"Shards: {count} samples streamed once from {len(dataset.urls)} shard"
        f"{'s' if len(dataset.urls) != 1 else ''}; image sizes from each image member's header (no full "
        "decode), formats and bytes those of the image members inside the shards.",
        "Time to read: seconds spent streaming the shards (tar members, headers, targets), without decoding "
        "pixels for the brightness statistics and the thumbnails.",
    ]
    if masks is not None and not hasattr(dataset, "ignore_index"):
        statistics.notes.append(
            f"Void pixels: id {DEFAULT_IGNORE_INDEX}, the library's default (the shard manifest does not "
            "record the source's ignore_index)."
        )
    if max_decoded:
        _pixel_statistics(dataset, table, statistics, max_decoded, False)
    _size_statistics(table, statistics)
    _class_statistics(table, statistics, per_class)
    if detection:
        _box_statistics(table, statistics, extremes)
    # The samples per class are those kept while streaming (the classes' sizes were not known then).
    statistics.samples_per_class = {name: kept.samples(place) for place, name in enumerate(table.classes)}
    listed = {index for indices in statistics.samples_per_class.values() for index in indices}
    for entries in (statistics.smallest_boxes, statistics.largest_boxes, statistics.most_crowded):
        listed.update(entry["index"] for entry in entries)
    statistics.thumbnails = {
        index: kept.thumbnails[index] for index in sorted(listed) if index in kept.thumbnails
    }
    return statistics


def _xyxy(boxes: Any) -> np.ndarray:
    """``(N, 4)`` ``xyxy`` float64 of a target's boxes (``tv_tensors.BoundingBoxes`` in another format converted)."""
    if boxes is None:
        return np.zeros((0, 4))
    layout = str(getattr(boxes, "format", "XYXY")).rsplit(".", 1)[-1].upper()
    array = np.asarray(boxes.detach().cpu().numpy() if hasattr(boxes, "detach") else boxes, dtype=np.float64)
    array = array.reshape(-1, 4)
    if layout == "XYWH":
        array = np.concatenate([array[:, :2], array[:, :2] + array[:, 2:]], axis=1)
    elif layout == "CXCYWH":
        array = np.concatenate([array[:, :2] - array[:, 2:] / 2, array[:, :2] + array[:, 2:] / 2], axis=1)
    return array


def _class_id(target: Any) -> int:
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return int(target)
    if hasattr(target, "ndim") and target.ndim == 0:
        return int(target)
    return -1


def _bytes_size(data: Any) -> tuple[int, int] | None:
    """``(height, width)`` of an image member the header reader does not know (WebP, BMP...)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            return height, width
    except Exception:  # an unreadable member: the page lists it
        return None


def _thumbnail(
    data: Any, size: int, full: tuple[int, int], boxes: np.ndarray | None, labels: np.ndarray | None
) -> Thumbnail | None:
    """A `Thumbnail` of an image member's bytes (JPEG: decoded at a reduced scale), or ``None`` if unreadable."""
    from visiondata.report._page import file_thumbnail

    try:
        picture, _ = file_thumbnail(io.BytesIO(data), size)  # type: ignore[arg-type]
    except Exception:  # unreadable: the sample is shown without a picture
        return None
    return Thumbnail(picture, full, boxes, None if labels is None else labels.tolist())


# --- pixels --------------------------------------------------------------------------------------------


def _pixel_statistics(
    dataset: Any, table: _Table, statistics: SplitStatistics, max_decoded: int, progress: bool
) -> None:
    """Mean and standard deviation of the grey level of at most ``max_decoded`` images, evenly chosen."""
    greys: list[np.ndarray] = []
    if table.decoded:
        greys = list(table.decoded.values())
    elif table.paths:
        chosen = _evenly(len(table.paths), max_decoded)
        for position in _progress(chosen.tolist(), progress, f"{statistics.split}: decoding"):
            grey = _grey_file(table.paths[position])
            if grey is not None:
                greys.append(grey)
    else:
        for index in _progress(_evenly(len(dataset), max_decoded).tolist(), progress, "decoding"):
            try:
                image, _ = _pair(dataset[index])
            except Exception:  # a sample that cannot be read has no pixels to count
                continue
            size = _image_size(image)
            if size is not None and not (table.sizes[index] > 0).all():
                table.sizes[index] = size
            grey = _grey(image)
            if grey is not None:
                greys.append(grey)
    statistics.decoded = len(greys)
    if not greys:
        return
    means = np.array([grey.mean() for grey in greys])
    deviations = np.array([grey.std() for grey in greys])
    statistics.brightness = _histogram(means, np.linspace(0, 256, 33))
    statistics.contrast = _histogram(deviations, np.linspace(0, 128, 33))
    statistics.notes.append(
        f"Brightness and contrast: mean and standard deviation of the grey level of {len(greys)} of "
        f"{table.count} images, evenly chosen, decoded at about {PIXEL_SIDE} pixels a side."
    )


def _grey_file(path: str) -> np.ndarray | None:
    """The grey levels of an image file, decoded at about `PIXEL_SIDE` pixels (JPEG: a DCT-scaled decode)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("L", (PIXEL_SIDE, PIXEL_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 directly
            grey = image.convert("L")
            grey.thumbnail((PIXEL_SIDE, PIXEL_SIDE))
            return np.asarray(grey, dtype=np.float64)
    except Exception:  # unreadable files are check's to report; they have no pixels to count here
        return None


def _grey(image: Any) -> np.ndarray | None:
    """Grey levels 0-255 of a decoded image (PIL, tensor or array; ``C x H x W`` or ``H x W``)."""
    if image is None:
        return None
    if type(image).__module__.startswith("PIL."):
        grey = image.convert("L")
        grey.thumbnail((PIXEL_SIDE, PIXEL_SIDE))
        return np.asarray(grey, dtype=np.float64)
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    floats = array.dtype.kind == "f"
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)  # C x H x W -> H x W x C
    array = array.astype(np.float64)
    if array.ndim == 3:
        array = array[..., 0] if array.shape[-1] < 3 else array[..., :3] @ np.array([0.299, 0.587, 0.114])
    if array.ndim != 2 or not array.size:
        return None
    if floats and array.min() >= 0.0 and array.max() <= 1.0:
        array = array * 255.0  # float images scaled to [0, 1]
    step = max(1, math.ceil(max(array.shape) / PIXEL_SIDE))
    return array[::step, ::step]


def _image_size(image: Any) -> tuple[int, int] | None:
    """``(height, width)`` of a decoded image."""
    if image is None:
        return None
    if type(image).__module__.startswith("PIL."):
        width, height = image.size
        return height, width
    shape = getattr(image, "shape", None)
    if shape is None or len(shape) < 2:
        return None
    if len(shape) == 3 and shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4):
        return int(shape[1]), int(shape[2])
    if len(shape) == 3:
        return int(shape[0]), int(shape[1])
    return int(shape[-2]), int(shape[-1])


def _progress(items: Sequence[Any] | range, enabled: bool, description: str) -> Any:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    # disable=None: tqdm's own "only on a terminal".
    return tqdm(items, desc=description, unit="image", leave=False, disable=None)

"""``YOLODataset``: the ``images/`` + ``labels/`` layout of YOLO trainers, and Ultralytics' ``data.yaml``."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import DetectionFileDataset, DetectionIndex
from visiondata.datasets._index import smallest_int_type
from visiondata.datasets._walk import FolderWalk
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError
from visiondata.io._read import IMAGE_EXTENSIONS

# Coordinates outside [0, 1] by at most this much are float noise, snapped onto the border.
_TOLERANCE = 1e-3


class YOLODataset(DetectionFileDataset):
    """Images with one YOLO label file each: ``class cx cy w h`` per line, normalised to [0, 1].

    Give ``images_dir`` (labels in ``labels_dir``, by default the same path
    with its last ``images`` folder replaced by ``labels``, as YOLO trainers
    expect: ``data/images/train/a.jpg`` -> ``data/labels/train/a.txt``), or
    ``data_yaml``: an Ultralytics dataset file whose ``path``, ``train`` /
    ``val`` / ``test`` entries (folders, lists of image paths in a ``.txt``
    file, or lists of those) and ``names`` pick the images of ``split``.

    An image without a label file, or with an empty one, has no boxes.
    Malformed lines, class ids that are not integers or have no name, and
    coordinates outside [0, 1] (by more than 0.001; less is snapped onto
    the border) or without area are problems naming the file and line, and
    follow ``on_error`` as in [`CocoDetectionDataset`][visiondata.datasets.CocoDetectionDataset].

    Labels index `classes`: ``"__background__"`` then the names, so
    YOLO class ``c`` has label ``c + 1`` (`label_to_category_id` maps
    back); ``background=False`` keeps YOLO's own ids as labels. Without
    names (``classes=`` or the YAML's), classes are named by their ids.

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels of the
    decoded image), "labels": int64, "image_id": index})``.

    Args:
        images_dir: Folder of images (searched recursively).
        labels_dir: Folder of label files mirroring ``images_dir``.
        classes: Names of YOLO's class ids, in id order.
        data_yaml: An Ultralytics ``data.yaml`` (instead of the folders).
        split: ``"train"``, ``"val"`` or ``"test"``: the ``data.yaml`` entry to read.
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        allow_outside_root: Accept image paths (in a ``data.yaml`` list) leaving the dataset folder.
        check_files: Check at construction that every listed image file exists.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "labels").mkdir()
        >>> Image.new("RGB", (20, 10)).save(root / "images" / "a.png")
        >>> _ = (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.4\\n")
        >>> dataset = YOLODataset(root / "images", classes=["cat", "dog"])
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), dataset.classes
        ([[5.0, 3.0, 15.0, 7.0]], [2], ['__background__', 'cat', 'dog'])
    """

    def __init__(
        self,
        images_dir: str | os.PathLike[str] | None = None,
        labels_dir: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = None,
        data_yaml: str | os.PathLike[str] | None = None,
        split: str = "train",
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        background: bool = True,
    ) -> None:
        problems: list[str] = []
        if data_yaml is not None:
            root, images, names = _from_yaml(
                Path(data_yaml), split, allow_outside_root, check_files, problems
            )
            classes = names if classes is None else classes
        elif images_dir is not None:
            root = Path(images_dir).expanduser()
            if not root.is_dir():
                raise DatasetNotFoundError(
                    f"{root}: expected a folder of images, found {'a file' if root.exists() else 'nothing'}"
                )
            images = _scan(root, problems)
        else:
            raise ValueError("YOLODataset: expected images_dir= or data_yaml=, got neither")
        super().__init__(root, transform, target_transform, on_error, loader)
        # Paths a data.yaml names are confined like annotation paths; a scanned folder follows its links.
        self.allow_outside_root = allow_outside_root or data_yaml is None
        #: The ``data.yaml`` entry read.
        self.split_name = split
        self.labels_dir = str(Path(labels_dir).expanduser()) if labels_dir is not None else None
        label_files = [self._label_file(path) for path in images]
        names = None if classes is None else class_names(classes)
        rows = [_read_labels(path, names, problems) for path in label_files]
        if names is None:
            largest = max((int(row[0]) for found in rows for row in found), default=-1)
            names = [str(index) for index in range(largest + 1)]
        self.classes = ([BACKGROUND] if background else []) + names
        refuse_duplicate_classes(self.classes, data_yaml or root)
        self.category_ids = ([None] if background else []) + list(range(len(names)))
        offset = 1 if background else 0
        counts = np.array([len(found) for found in rows], dtype=np.int64)
        table = np.array([row for found in rows for row in found], dtype=np.float64).reshape(-1, 5)
        centre, half = table[:, 1:3], table[:, 3:5] / 2
        self.index = DetectionIndex.build(
            images,
            np.arange(len(images)),
            np.zeros((len(images), 2), dtype=np.int32),
            np.repeat(np.arange(len(images)), counts),
            np.concatenate([centre - half, centre + half], axis=1).clip(0, 1),
            (table[:, 0].astype(np.int64) + offset).astype(smallest_int_type(max(len(self.classes) - 1, 0))),
            normalized=True,
        )
        self._settle(str(data_yaml if data_yaml is not None else root), problems)

    def _label_file(self, image: str) -> Path:
        """The label file of ``image`` (relative to `root`)."""
        relative = Path(image).with_suffix(".txt")
        if self.labels_dir is not None:
            return Path(self.labels_dir) / relative
        full = Path(self.root) / relative
        parts = list(full.parts)
        if "images" in parts:
            # Ultralytics' rule: the last "images" folder becomes "labels".
            last = len(parts) - 1 - parts[::-1].index("images")
            parts[last] = "labels"
            return Path(*parts)
        return full


def _scan(folder: Path, problems: list[str]) -> list[str]:
    """Image files under ``folder`` (recursively, sorted), relative to it.

    Folders that cannot be listed are problems; links that loop back are
    not followed, with a warning.
    """
    walk = FolderWalk(str(folder))
    found = [os.path.normpath(path) for path in walk.files(str(folder), ".", IMAGE_EXTENSIONS, [])]
    problems.extend(f"{folder}: {line}" for line in walk.unlisted)
    if walk.loops:
        warnings.warn(
            f"{folder}: {len(walk.loops)} symbolic links were not followed: " + "; ".join(walk.loops[:5]),
            stacklevel=4,
        )
    return found


def _read_labels(path: Path, names: list[str] | None, problems: list[str]) -> list[tuple[float, ...]]:
    """The valid ``(class, cx, cy, w, h)`` rows of one label file; problems are appended."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []  # no label file: an image without objects
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{path}: cannot read the label file ({error})")
        return []
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        if len(fields) != 5:
            problems.append(
                f"{where}: expected 5 values 'class cx cy w h', got {len(fields)}: {line.strip()!r}"
            )
            continue
        try:
            values = [float(field) for field in fields]
        except ValueError:
            problems.append(f"{where}: expected numbers 'class cx cy w h', got {line.strip()!r}")
            continue
        category = values[0]
        if not category.is_integer() or category < 0:
            problems.append(f"{where}: class {fields[0]!r}: expected an integer id >= 0")
            continue
        if names is not None and category >= len(names):
            problems.append(
                f"{where}: class {int(category)} is out of range: {len(names)} names, ids 0..{len(names) - 1}"
            )
            continue
        centre_x, centre_y, width, height = values[1:]
        corners = (centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2)
        if not all(np.isfinite(values)):
            problems.append(f"{where}: expected finite numbers 'class cx cy w h', got {line.strip()!r}")
            continue
        stored = np.asarray(corners, dtype=np.float32)  # boxes are kept as float32
        if width <= 0 or height <= 0 or stored[2] <= stored[0] or stored[3] <= stored[1]:
            problems.append(
                f"{where}: box {fields[1:]} has no area: expected w > 0 and h > 0 (also once stored as float32)"
            )
            continue
        if min(corners) < -_TOLERANCE or max(corners) > 1 + _TOLERANCE:
            problems.append(
                f"{where}: box {fields[1:]} reaches {[round(c, 4) for c in corners]} (xyxy): expected coordinates "
                "in [0, 1], normalised by the image size"
            )
            continue
        rows.append(tuple(values))
    return rows


def _from_yaml(
    path: Path, split: str, allow_outside_root: bool, check_files: bool, problems: list[str]
) -> tuple[Path, list[str], list[str] | None]:
    """The dataset root, the images of ``split`` (relative to it) and the class names of a ``data.yaml``."""
    import yaml

    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path}: expected an Ultralytics data.yaml, found {'a folder' if path.exists() else 'nothing'}"
        )
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DatasetFormatError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(spec, Mapping):
        raise DatasetFormatError(f"{path}: expected a mapping with path, train/val/test and names")
    root = Path(spec.get("path") or ".")
    root = root if root.is_absolute() else (path.parent / root)
    key = {"valid": "val", "validation": "val"}.get(split, split)
    if key not in spec or spec[key] in (None, ""):
        available = [name for name in ("train", "val", "test") if spec.get(name)]
        raise DatasetNotFoundError(f"{path}: no {key!r} entry; it has {', '.join(available) or 'none'}")
    entries = spec[key] if isinstance(spec[key], list) else [spec[key]]
    images: list[str] = []
    for entry in entries:
        location = root / str(entry)
        if location.is_dir():
            base = os.path.relpath(location, root)
            images.extend(os.path.normpath(os.path.join(base, name)) for name in _scan(location, problems))
        elif location.is_file():
            for number, line in enumerate(location.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                entry_path = line.strip()
                if entry_path.startswith("./"):  # Ultralytics' rule: relative to the list file's folder
                    entry_path = str(location.parent / entry_path[2:])
                image = Path(entry_path)
                relative = os.path.relpath(image, root) if image.is_absolute() else str(image)
                normal, problem = check_path(relative, str(root), allow_outside_root)
                if problem is None and check_files and not (root / normal).is_file():
                    problem = f"image file {root / normal} does not exist"
                if problem is not None:
                    problems.append(f"{location}:{number}: {problem}")
                    continue
                images.append(normal)
        else:
            raise DatasetNotFoundError(
                f"{path}: {key} entry {entry!r}: {location} is neither a folder nor a list file"
            )
    names = spec.get("names")
    if isinstance(names, Mapping):
        ids = sorted(int(key) for key in names)
        if ids != list(range(len(ids))):
            raise DatasetFormatError(
                f"{path}: names: expected class ids 0..{len(ids) - 1} without gaps (YOLO's ids index the names), "
                f"got {ids}"
            )
        by_id = {int(key): value for key, value in names.items()}
        names = [str(by_id[index]) for index in ids]
    elif names is not None:
        names = [str(name) for name in names]
    return root.resolve(), images, names

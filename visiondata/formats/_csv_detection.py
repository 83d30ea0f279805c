"""`CSVDetectionDataset`: object boxes listed in a CSV file, one row per box, grouped by image.

Every row is validated when the dataset is built, and every problem found is reported at once, with its
line in the file, in one ``DatasetValidationError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional

from visiondata._arguments import check_choice
from visiondata.datasets._base import (
    BACKGROUND,
    ImageFileDataset,
    class_names,
    refuse_duplicate_classes,
)
from visiondata.datasets._csv import csv_line, problems_by_line, read_csv_columns, resolve_paths, sorted_names
from visiondata.datasets._index import PathIndex
from visiondata.exceptions import DatasetValidationError, InvalidBoxesError
from visiondata.io._plan import PlannedImage

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


class CSVDetectionDataset(ImageFileDataset):
    """Object boxes listed in a CSV file, one row per box, grouped by image.

    A row whose box cells are all empty lists an image without objects: its
    target has boxes of shape ``(0, 4)``. Samples follow the detection schema
    of the catalog: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY,
    pixels), "labels": int64 tensor, "image_id": int})``, and ``transform`` is
    called as ``transform(image, target)`` (a ``torchvision.transforms.v2``
    transform moves the boxes with the image).

    Labels index `classes`. By default the classes are
    ``("__background__", *sorted names)``, so labels start at 1 as
    torchvision's detection models expect; ``classes=`` fixes the list as given.

    Construction checks every row (paths, numbers, empty labels, boxes with no
    area) and raises one ``DatasetValidationError`` listing every problem
    with its line; at load time, a box outside its image raises
    [`InvalidBoxesError`][visiondata.exceptions.InvalidBoxesError] naming the file and box.

    Args:
        csv_file: The CSV file.
        root: Folder the image paths are relative to.
        image_col: Column with the image paths.
        box_cols: The four box columns, in ``box_format`` order.
        label_col: Column with the class names.
        box_format: ``"xyxy"``, ``"xywh"`` or ``"cxcywh"``, in pixels.
        classes: Class names in id order.
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"`` for unreadable files.
        allow_outside_root: Accept absolute paths and paths leaving ``root``.
        check_files: Check that every image file exists.
        loader: Reads one path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        strict: For the default loader: refuse (``True``) or decode as libjpeg
            recovers it (``False``) a file that decodes only with a warning;
            ``None`` (default) follows ``visiondata.io.set_strict_decode``.
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "boxes.csv").write_text(
        ...     "image,x_min,y_min,x_max,y_max,label\\na.png,1,2,5,6,cat\\na.png,0,0,20,10,dog\\n")
        >>> image, target = CSVDetectionDataset(root / "boxes.csv", root)[0]
        >>> target["boxes"].tolist(), target["labels"].tolist()
        ([[1.0, 2.0, 5.0, 6.0], [0.0, 0.0, 20.0, 10.0]], [1, 2])
    """

    def __init__(
        self,
        csv_file: str | os.PathLike[str],
        root: str | os.PathLike[str],
        image_col: str = "image",
        box_cols: Sequence[str] = ("x_min", "y_min", "x_max", "y_max"),
        label_col: str = "label",
        box_format: str = "xyxy",
        classes: Sequence[str] | None = None,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        super().__init__(root, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.allow_outside_root = allow_outside_root
        box_format = check_choice("box_format", box_format, BOX_FORMATS)
        if len(box_cols) != 4:
            raise ValueError(f"box_cols: expected 4 column names, got {len(box_cols)}: {list(box_cols)}")
        self.csv_file = str(csv_file)
        self.box_format = box_format
        columns, self._file_lines = read_csv_columns(csv_file, [image_col, *box_cols, label_col])
        problems: list[str] = []
        paths = resolve_paths(
            self.root, columns[image_col], self._file_lines, allow_outside_root, check_files, problems
        )
        labels = [value.strip() for value in columns[label_col]]
        boxes_by_row = [
            self._box(row, [columns[c][row] for c in box_cols], problems) for row in range(len(paths))
        ]
        names = sorted(
            {label for label, box in zip(labels, boxes_by_row, strict=True) if box is not None and label}
        )
        self.classes = class_names(classes) if classes is not None else [BACKGROUND, *sorted_names(names)]
        refuse_duplicate_classes(self.classes, self.csv_file)
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        order: dict[str, list[int]] = {}
        for row, path in enumerate(paths):
            order.setdefault(path, []).append(row)
            box = boxes_by_row[row]
            if box is None:
                continue
            if not labels[row]:
                problems.append(
                    f"{csv_line(self._file_lines, row)}: empty label in column {label_col!r} for a box"
                )
            elif labels[row] not in self.class_to_idx:
                problems.append(
                    f"{csv_line(self._file_lines, row)}: label {labels[row]!r} is not one of the classes {self.classes}"
                )
        if problems:
            raise DatasetValidationError(self.csv_file, problems_by_line(problems))
        images = [path for path in order if path]
        box_rows = [[row for row in order[path] if boxes_by_row[row] is not None] for path in images]
        self.paths = PathIndex(images)
        counts = np.fromiter((len(rows) for rows in box_rows), dtype=np.int64, count=len(images))
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        flat = [row for rows in box_rows for row in rows]
        self._boxes = np.asarray([boxes_by_row[row] for row in flat], dtype=np.float32).reshape(-1, 4)
        self._labels = np.asarray([self.class_to_idx[labels[row]] for row in flat], dtype=np.int64)
        self._lines = self._file_lines[np.asarray(flat, dtype=np.int64)]

    def _box(self, row: int, cells: list[str], problems: list[str]) -> list[float] | None:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            return None  # an image without objects
        try:
            a, b, c, d = (float(cell) for cell in cells)
        except ValueError:
            problems.append(
                f"{csv_line(self._file_lines, row)}: box cells {cells}: expected 4 numbers (or 4 empty cells for no box)"
            )
            return None
        if not all(np.isfinite((a, b, c, d))):
            problems.append(f"{csv_line(self._file_lines, row)}: box {cells}: expected finite numbers")
            return None
        if self.box_format == "xywh":
            a, b, c, d = a, b, a + c, b + d
        elif self.box_format == "cxcywh":
            a, b, c, d = a - c / 2, b - d / 2, a + c / 2, b + d / 2
        # Checked as stored (float32): 1.00000001 rounds to 1.0 and can close a box, 1e39 overflows.
        with np.errstate(over="ignore"):
            stored = np.asarray([a, b, c, d], dtype=np.float32)
        if not np.isfinite(stored).all():
            problems.append(
                f"{csv_line(self._file_lines, row)}: box {cells}: expected coordinates within float32's range "
                f"(±{float(np.finfo(np.float32).max):.3g}), as the boxes are stored"
            )
            return None
        a, b, c, d = stored.tolist()
        if c <= a or d <= b:
            problems.append(
                f"{csv_line(self._file_lines, row)}: box {cells} ({self.box_format}) has no area: expected x_max > x_min and "
                f"y_max > y_min, got x {a:g}..{c:g}, y {b:g}..{d:g} (as float32, the type boxes are stored in)"
            )
            return None
        return [a, b, c, d]

    def split(self, fractions: Sequence[float] = (0.8, 0.2), seed: int = 0) -> list[Subset]:
        """Disjoint random subsets of images in the given fractions, reproducible for a seed."""
        return self._split(fractions, None, seed)

    def boxes(self, index: int) -> np.ndarray:
        """The XYXY boxes of image ``index``, a ``(N, 4)`` array."""
        return self._boxes[self._offsets[index] : self._offsets[index + 1]]

    def target(self, index: int) -> dict[str, Any]:
        start, end = self._offsets[index], self._offsets[index + 1]
        return {"labels": torch.from_numpy(self._labels[start:end].copy()), "image_id": index}

    _sample_takes_planned = True

    def _sample(self, image: Any, current: int) -> tuple[Any, Any]:
        if isinstance(image, PlannedImage):  # decoded for the transform's plan: boxes at the full size
            height, width = image.full_size
        else:
            image = image if isinstance(image, tv_tensors.Image) else functional.to_image(image)
            height, width = image.shape[-2:]
        target = self.target(current)
        boxes = self.boxes(current)
        outside = (boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 2] > width) | (boxes[:, 3] > height)
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            raise InvalidBoxesError(
                f"{self.path(current)}: box {boxes[first].tolist()} (XYXY, {self.csv_file} "
                f"line {self._lines[self._offsets[current] + first]}) is outside the image: expected "
                f"0 <= x <= {width} and 0 <= y <= {height}; fix the row or the image"
            )
        target["boxes"] = tv_tensors.BoundingBoxes(
            torch.from_numpy(boxes.copy()),
            format=tv_tensors.BoundingBoxFormat.XYXY,
            canvas_size=(height, width),
        )
        if self.transform is not None:
            image, target = self.transform(image, target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return f"CSVDetectionDataset({self.csv_file!r}, {len(self)} images, {len(self._labels)} boxes)"

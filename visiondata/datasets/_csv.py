"""Datasets labelled by a CSV file: single-label, multi-label and regression rows (detection rows: `visiondata.formats`).

Everything is validated when the dataset is built, and every problem found is
reported at once, with its line in the file, in one ``DatasetValidationError``:
a training run never discovers a missing file or an unknown label hours in.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

from visiondata.datasets._base import (
    ImageFileDataset,
    check_path,
    class_names,
    refuse_duplicate_classes,
)
from visiondata.datasets._index import PathIndex, read_only, smallest_int_type
from visiondata.exceptions import DatasetNotFoundError, DatasetValidationError

TASKS = ("classification", "multilabel", "regression")


DUPLICATES = ("raise", "keep", "drop")


def read_csv_columns(
    csv_file: str | os.PathLike[str], required: Sequence[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every column of ``csv_file`` as strings (empty cells are ``""``), and each row's line in the file.

    The file is read with Python's ``csv`` module, so that problems point at
    the real line (blank lines and quoted cells spanning several lines
    included), then held in a pandas frame. Blank lines are skipped.

    Raises:
        DatasetNotFoundError: The file does not exist.
        DatasetValidationError: The file cannot be parsed, has no header or no
            rows, rows with another number of fields than the header (every
            such line is listed), or lacks a required column (the message
            lists the columns it has).
    """
    import csv

    import pandas as pd

    path = Path(csv_file)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: expected a CSV file, found {_what_is(str(path))}")
    records: list[list[str]] = []
    lines: list[int] = []
    ragged: list[str] = []
    damaged: list[str] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream, skipinitialspace=True, strict=True)
            header = [name.strip() for name in next(reader, [])]
            start = reader.line_num + 1
            for record in reader:
                if record and any(cell.strip() for cell in record):
                    if "\0" in "".join(record):
                        damaged.append(
                            f"line {start}: a cell holds a NUL character (\\x00): "
                            f"{','.join(record)!r}; the file is damaged or not text: fix or remove the row"
                        )
                    if len(record) != len(header):
                        ragged.append(
                            f"line {start}: expected {len(header)} fields ({', '.join(header)}), got "
                            f"{len(record)}: {','.join(record)!r}"
                        )
                    records.append(record)
                    lines.append(start)
                start = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError) as error:
        raise DatasetValidationError(path, [f"cannot parse the file as CSV: {error}"]) from error
    if not header:
        raise DatasetValidationError(
            path, ["the file is empty: expected a header line with the column names"]
        )
    if ragged or damaged:
        raise DatasetValidationError(path, problems_by_line(ragged + damaged))
    if not records:
        raise DatasetValidationError(path, ["no rows below the header: expected one row per image"])
    missing = [column for column in required if column not in header]
    if missing:
        raise DatasetValidationError(
            path,
            [
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
                f"the file has columns {', '.join(map(repr, header))}"
            ],
        )
    frame = pd.DataFrame(records, columns=header, dtype=str)
    columns = {column: frame[column].to_numpy(dtype=str) for column in dict.fromkeys(header)}
    return columns, np.asarray(lines, dtype=np.int64)


def resolve_paths(
    root: str,
    values: np.ndarray,
    lines: np.ndarray,
    allow_outside_root: bool,
    check_files: bool,
    problems: list[str],
) -> list[str]:
    """Normalised paths of ``values`` relative to ``root``; problems are appended, not raised."""
    resolved = []
    for line, value in zip(lines.tolist(), values, strict=True):
        normal, problem = check_path(value, root, allow_outside_root)
        if problem is not None:
            problems.append(f"line {line}: {problem}")
        elif check_files and not os.path.isfile(os.path.join(root, normal)):
            full = os.path.join(root, normal)
            found = _what_is(full)
            problems.append(
                f"line {line}: image file {full} does not exist"
                if found.startswith("nothing") or found == "a broken symbolic link"
                else f"line {line}: expected an image file at {full}, found {found}; special files and "
                "folders are never opened: replace it with the image file it stands for"
            )
        resolved.append(normal)
    return resolved


def _what_is(path: str) -> str:
    """What stands at ``path`` when it is not a regular file, in words (links followed, nothing opened).

    Examples:
        >>> _what_is("/dev/null"), _what_is("/no/such/file")
        ('a character device', 'nothing (no such file)')
    """
    from visiondata._files import file_kind

    try:
        return file_kind(os.stat(path).st_mode)
    except FileNotFoundError:
        return "a broken symbolic link" if os.path.islink(path) else "nothing (no such file)"
    except OSError as error:
        return f"a path that cannot be examined ({error.strerror or error})"


def sorted_names(names: Sequence[str]) -> list[str]:
    """Class names in order: numerically when all are integers (2 before 10), else as text."""
    unique = sorted(set(names))
    try:
        return sorted(unique, key=int)
    except ValueError:
        return unique


class CSVDataset(ImageFileDataset):
    """Images listed in a CSV file with their labels.

    One row per image. Paths are relative to ``root``. The targets are:

    - ``task="classification"``: the class id (``int``) of ``label_col``;
      labels (text or integers) are mapped to ids in sorted order (integers
      numerically) unless ``classes`` fixes the order;
    - ``task="multilabel"``: a multi-hot ``float32`` tensor, from several
      0/1 columns (``label_cols``) or from one column of names joined by
      ``label_sep`` (``"cat|dog"``). An image with no labels is an all-zero
      target: an empty cell in the names column, or a row of zeros in the 0/1
      columns (an empty 0/1 cell is a missing value and refused);
      ``allow_empty=False`` refuses such images instead;
    - ``task="regression"``: a ``float32`` tensor of the ``label_cols`` (or
      ``label_col``) values.

    Construction checks every row and raises one
    [`DatasetValidationError`][visiondata.exceptions.DatasetValidationError] listing every
    problem with its line: missing columns, empty image paths, paths outside
    ``root``, missing files, empty (except multi-label names, see above) or
    unknown labels, values that are not
    0/1 or not numbers, and duplicated image rows (``duplicates="raise"``;
    ``"drop"`` keeps the first row of each image, unless their labels differ,
    and counts the rest in `dropped_duplicates`; ``"keep"`` keeps all).

    Customise by subclassing (the pattern of the PyTorch data-loading
    tutorial): override `load_image` to read files differently, and
    `load_target` to build targets from the row.

    Args:
        csv_file: The CSV file (header line first).
        root: Folder the image paths are relative to.
        image_col: Column with the image paths.
        label_col: Column with the label (classification; multilabel with ``label_sep``).
        label_cols: Columns with 0/1 labels (multilabel) or values (regression).
        task: ``"classification"``, ``"multilabel"`` or ``"regression"``.
        classes: Class names in id order; labels not among them are refused.
        label_sep: Separator of several names in ``label_col`` (multilabel).
        transform: Applied to each image (a ``uint8`` RGB tensor by default).
        target_transform: Applied to each target.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"`` for unreadable files.
        duplicates: ``"raise"``, ``"keep"`` or ``"drop"`` for repeated image paths.
        allow_outside_root: Accept absolute paths and paths leaving ``root``.
        check_files: Check that every image file exists (one ``stat`` per row).
        loader: Reads one path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        allow_empty: Multilabel only: accept images with no labels (an empty
            names cell, or every 0/1 column at 0) as all-zero targets; with
            ``False`` they are refused, each with its line.
        strict: For the default loader: refuse (``True``) or decode as libjpeg
            recovers it (``False``) a file that decodes only with a warning;
            ``None`` (default) follows ``visiondata.io.set_strict_decode``.
        scaled_decode: Decode each JPEG for the output: when the transform offers a
            decode plan (``presets.classification_train``; ``classification_eval``
            with ``scaled_decode=True``) and the default loader reads, the crop is
            drawn on the file's header and the JPEG decoded at the smallest
            libjpeg-turbo DCT scale (1/2, 1/4, 1/8) that still keeps twice the output's
            resolution for it: the same crops, at least 30 dB PSNR from the exact
            pixels, faster on large photos (docs/performance.md). Other formats decode as usual.
            ``None`` (default): on when the transform offers a plan, unless
            ``visiondata.io.set_scaled_decode(False)`` (or ``VISIONDATA_SCALED_DECODE=0``);
            ``True``: on (the transform must offer a plan); ``False``: exact decoding.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("a.png", "b.png"):
        ...     Image.new("RGB", (8, 8)).save(root / name)
        >>> _ = (root / "labels.csv").write_text("image,label\\na.png,dog\\nb.png,cat\\n")
        >>> dataset = CSVDataset(root / "labels.csv", root)
        >>> dataset.classes, dataset.targets.tolist()
        (['cat', 'dog'], [1, 0])

        Multi-label names; an empty cell is an image with no labels:

        >>> _ = (root / "tags.csv").write_text("image,tags\\na.png,cat|dog\\nb.png,\\n")
        >>> tags = CSVDataset(root / "tags.csv", root, task="multilabel", label_col="tags", label_sep="|")
        >>> tags.classes, tags.targets.tolist()
        (['cat', 'dog'], [[1.0, 1.0], [0.0, 0.0]])

        A target built from other columns, by subclassing:

        >>> class Weighted(CSVDataset):  # doctest: +SKIP
        ...     def load_target(self, row):
        ...         return self.class_to_idx[row["label"]], float(row["weight"])
    """

    def __init__(
        self,
        csv_file: str | os.PathLike[str],
        root: str | os.PathLike[str],
        image_col: str = "image",
        label_col: str | None = "label",
        label_cols: Sequence[str] | None = None,
        task: str = "classification",
        classes: Sequence[str] | None = None,
        label_sep: str | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        duplicates: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        allow_empty: bool = True,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        super().__init__(root, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.allow_outside_root = allow_outside_root
        self.allow_empty = allow_empty
        if task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(map(repr, TASKS))}, got {task!r}")
        if duplicates not in DUPLICATES:
            raise ValueError(
                f"duplicates: expected one of {', '.join(map(repr, DUPLICATES))}, got {duplicates!r}"
            )
        self.csv_file = str(csv_file)
        self.task = task
        self.image_col = image_col
        self.label_sep = label_sep
        self.label_columns = self._label_columns(task, label_col, label_cols, label_sep)
        columns, self._file_lines = read_csv_columns(csv_file, [image_col, *self.label_columns])
        problems: list[str] = []
        paths = resolve_paths(
            self.root, columns[image_col], self._file_lines, allow_outside_root, check_files, problems
        )
        self.classes = self._classes(columns, classes, problems)
        refuse_duplicate_classes(self.classes, self.csv_file)
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        targets = [self._encode(columns, row, problems) for row in range(len(paths))]
        keep = self._deduplicate(paths, targets, duplicates, problems)
        if problems:
            raise DatasetValidationError(self.csv_file, problems_by_line(problems))
        self.paths = PathIndex(paths[row] for row in keep)
        #: Index of each sample's row among the file's data rows (blank lines do not count).
        self.rows = read_only(np.asarray(keep, dtype=np.int64))
        #: Line of each sample's row in the file (the header is line 1), as error messages give it.
        self.lines = read_only(self._file_lines[keep])
        # Every cell, as compact UTF-8 buffers, for row() and custom load_target().
        self._columns = {name: PathIndex(values[keep].tolist()) for name, values in columns.items()}
        self._targets = self._stack([targets[row] for row in keep])

    # ------------------------------------------------------------ building
    @staticmethod
    def _label_columns(
        task: str, label_col: str | None, label_cols: Sequence[str] | None, label_sep: str | None
    ) -> list[str]:
        if label_cols:
            if task == "classification":
                raise ValueError("label_cols: a classification target is one column; pass label_col= instead")
            return list(label_cols)
        if label_col is None:
            raise ValueError("expected label_col= (one column) or label_cols= (several), got neither")
        if task == "multilabel" and label_sep is None:
            raise ValueError(
                "task='multilabel' with one label_col needs label_sep= (e.g. '|'); "
                "for several 0/1 columns pass label_cols="
            )
        return [label_col]

    def _classes(
        self, columns: Mapping[str, np.ndarray], classes: Sequence[str] | None, problems: list[str]
    ) -> list[str]:
        if self.task == "regression":
            return []
        if self.task == "multilabel" and self.label_sep is None:
            given = class_names(classes) if classes is not None else list(self.label_columns)
            if len(given) != len(self.label_columns):
                problems.append(
                    f"classes: expected {len(self.label_columns)} names (one per label column), got {len(given)}"
                )
            return given
        if classes is not None:
            return class_names(classes)
        names = [name for value in columns[self.label_columns[0]] for name in self._names(value)]
        if not names and self.task == "multilabel":
            # Every cell empty: each row alone is fine, but there are no classes to give targets a width.
            problems.append(
                f"column {self.label_columns[0]!r}: expected label names in at least one row, got only empty "
                "cells; pass classes= to give the class list, or check label_col="
            )
        return sorted_names(names)

    def _names(self, value: str) -> list[str]:
        value = value.strip()
        if self.label_sep is None:
            return [value] if value else []
        return [name.strip() for name in value.split(self.label_sep) if name.strip()]

    def _encode(self, columns: Mapping[str, np.ndarray], row: int, problems: list[str]) -> Any:
        values = {name: columns[name][row] for name in self.label_columns}
        try:
            return self._target_from(values)
        except ValueError as error:
            problems.append(f"{csv_line(self._file_lines, row)}: {error}")
            return None

    def _target_from(self, values: Mapping[str, str]) -> Any:
        """Encode one row's label cells; ``ValueError`` says what is wrong with them."""
        if self.task == "classification":
            (column,) = self.label_columns
            label = values[column].strip()
            if not label:
                raise ValueError(f"empty label in column {column!r}")
            if label not in self.class_to_idx:
                raise ValueError(f"label {label!r} is not one of the classes {self.classes}")
            return self.class_to_idx[label]
        if self.task == "multilabel" and self.label_sep is not None:
            (column,) = self.label_columns
            names = self._names(values[column])
            if not names:
                if values[column].strip():
                    # Separators and nothing else ("|", " | "): a damaged cell rather than a deliberate "none".
                    raise ValueError(
                        f"empty label in column {column!r}: expected names separated by {self.label_sep!r}, "
                        f"got {str(values[column])!r}; leave the cell empty for an image with no labels"
                    )
                if not self.allow_empty:
                    raise ValueError(
                        f"empty label in column {column!r}: expected at least one name, got an empty cell; "
                        "pass allow_empty=True to read it as an image with no labels"
                    )
                return np.zeros(len(self.classes), dtype=np.float32)
            unknown = [name for name in names if name not in self.class_to_idx]
            if unknown:
                raise ValueError(f"labels {unknown} are not among the classes {self.classes}")
            hot = np.zeros(len(self.classes), dtype=np.float32)
            hot[[self.class_to_idx[name] for name in names]] = 1
            return hot
        numbers = []
        for column in self.label_columns:
            text = values[column].strip()
            if self.task == "multilabel" and not text:
                # A 0/1 column holds a value for every image: an empty cell is missing data, not "no label".
                raise ValueError(
                    f"column {column!r}: expected 0 or 1, got an empty cell; write 0 for 'not this label'"
                )
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"column {column!r}: expected a number, got {text!r}") from None
            if not np.isfinite(number):
                raise ValueError(f"column {column!r}: expected a finite number, got {text!r}")
            if self.task == "multilabel" and number not in (0.0, 1.0):
                raise ValueError(f"column {column!r}: expected 0 or 1, got {text!r}")
            numbers.append(number)
        if self.task == "multilabel" and not self.allow_empty and not any(numbers):
            raise ValueError(
                f"expected at least one of the columns {self.label_columns} at 1, got all 0; "
                "pass allow_empty=True to accept images with no labels"
            )
        return np.asarray(numbers, dtype=np.float32)

    def _deduplicate(
        self, paths: list[str], targets: list[Any], policy: str, problems: list[str]
    ) -> list[int]:
        first: dict[str, int] = {}
        keep = []
        #: Rows left out by duplicates="drop".
        self.dropped_duplicates = 0
        for row, path in enumerate(paths):
            if not path or policy == "keep" or path not in first:
                first.setdefault(path, row)
                keep.append(row)
                continue
            earlier = first[path]
            if policy == "raise":
                problems.append(
                    f"{csv_line(self._file_lines, row)}: image {path!r} is listed again (first on {csv_line(self._file_lines, earlier)}); "
                    "pass duplicates='drop' or 'keep' to accept repeated rows"
                )
            elif not _same(targets[row], targets[earlier]):
                problems.append(
                    f"{csv_line(self._file_lines, row)}: image {path!r} is listed again with another label than on {csv_line(self._file_lines, earlier)}; "
                    "dropping either row would mislabel it: fix the file"
                )
            else:
                self.dropped_duplicates += 1
        if self.dropped_duplicates:
            warnings.warn(
                f"{self.csv_file}: dropped {self.dropped_duplicates} repeated image rows (duplicates='drop')",
                stacklevel=4,
            )
        return keep

    def _stack(self, targets: list[Any]) -> np.ndarray:
        if self.task == "classification":
            return np.asarray(targets, dtype=smallest_int_type(max(len(self.classes) - 1, 0)))
        width = len(self.classes) if self.task == "multilabel" else len(self.label_columns)
        return np.asarray(targets, dtype=np.float32).reshape(len(targets), width)

    # ------------------------------------------------------------ access
    @property
    def targets(self) -> np.ndarray:
        """Every target: class ids, or a ``(N, K)`` float array (read-only)."""
        return read_only(self._targets)

    def row(self, index: int) -> dict[str, str]:
        """The CSV cells of sample ``index``, by column name."""
        return {name: str(values[index]) for name, values in self._columns.items()}

    def load_target(self, row: Mapping[str, str]) -> Any:
        """The target of one CSV row (override to build targets differently)."""
        encoded = self._target_from({name: row[name] for name in self.label_columns})
        return encoded if self.task == "classification" else torch.from_numpy(encoded)

    def target(self, index: int) -> Any:
        if type(self).load_target is not CSVDataset.load_target:
            return self.load_target(self.row(index))
        if self.task == "classification":
            return int(self._targets[index])
        return torch.from_numpy(self._targets[index].copy())

    def split(
        self, fractions: Sequence[float] = (0.8, 0.2), stratify: bool = True, seed: int = 0
    ) -> list[Subset]:
        """Disjoint subsets of the given fractions; stratified by class for classification.

        Raises:
            ValueError: ``stratify=True`` for a multilabel or regression dataset.
        """
        if stratify and self.task != "classification":
            raise ValueError(
                f"stratify=True needs single-label classes, this dataset is {self.task}; pass stratify=False"
            )
        return self._split(fractions, self._targets if stratify else None, seed)

    def __repr__(self) -> str:
        return f"CSVDataset({self.csv_file!r}, {len(self)} images, task={self.task!r})"


def csv_line(lines: np.ndarray, row: int) -> str:
    """Where data row ``row`` is in the file, for messages: ``"line 7"``."""
    return f"line {lines[row]}"


def problems_by_line(problems: list[str]) -> list[str]:
    """Problems in file order (each starts with "line N:"; others first)."""

    def line_number(problem: str) -> int:
        head = problem.split(":", 1)[0]
        return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0

    return sorted(problems, key=line_number)


def _same(first: Any, second: Any) -> bool:
    if first is None or second is None:
        return True  # already reported as a problem of its own
    return bool(np.array_equal(np.asarray(first), np.asarray(second)))

"""``CSVDataset``, ``CSVDetectionDataset`` and ``visiondata check`` on real CSV and image files in ``tmp_path``."""

from __future__ import annotations

import json
import re
import runpy
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

import visiondata
from visiondata.cli import main
from visiondata.datasets import CSVDataset, CSVDetectionDataset
from visiondata.datasets._check import check_dataset
from visiondata.exceptions import (
    DatasetNotFoundError,
    DatasetValidationError,
    ImageReadError,
    InvalidBoxesError,
)
from visiondata.io import read_image

# ---------------------------------------------------------------- helpers


def color_of(number: int) -> tuple[int, int, int]:
    return (number * 37 % 256, number * 91 % 256, number * 151 % 256)


def write_image(
    path: Path, color: tuple[int, int, int] = (10, 20, 30), size: tuple[int, int] = (4, 3), mode: str = "RGB"
) -> Path:
    """A real PNG (or JPEG for .jpg) of ``size`` (W, H)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fill: Any = color if mode == "RGB" else color[0]
    Image.new(mode, size, fill).save(path, "JPEG" if path.suffix.lower() == ".jpg" else "PNG")
    return path


def write_images(root: Path, names: Iterable[str]) -> None:
    for number, name in enumerate(names):
        write_image(root / name, color_of(number))


def write_csv(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def validation_error(*args: Any, cls: type = CSVDataset, **kwargs: Any) -> DatasetValidationError:
    with pytest.raises(DatasetValidationError) as caught:
        cls(*args, **kwargs)
    return caught.value


def lines_of(error: DatasetValidationError) -> list[str]:
    """The "line N" of each problem, in the order reported."""
    return [problem.split(":", 1)[0] for problem in error.problems]


def pixels(path: Path, mode: str = "RGB") -> torch.Tensor:
    with Image.open(path) as image:
        array = np.asarray(image.convert(mode))
    return torch.from_numpy(array.copy()).reshape(*array.shape[:2], -1).permute(2, 0, 1)


# ---------------------------------------------------------------- 1. targets by task


def test_classification_with_text_labels(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    csv = write_csv(
        tmp_path / "labels.csv", "image,label", "b.png,dog", "a.png,cat", "c.png,bird", "d.png,cat"
    )
    dataset = CSVDataset(csv, tmp_path)
    assert dataset.classes == ["bird", "cat", "dog"]
    assert dataset.class_to_idx == {"bird": 0, "cat": 1, "dog": 2}
    assert dataset.targets.tolist() == [2, 1, 0, 1]
    assert dataset.targets.shape == (4,) and np.issubdtype(dataset.targets.dtype, np.integer)
    image, target = dataset[0]
    assert target == 2 and type(target) is int
    assert image.dtype == torch.uint8 and torch.equal(image, pixels(tmp_path / "b.png"))
    assert dataset.path(1) == str(tmp_path / "a.png")
    assert len(dataset) == 4


def test_integer_labels_sort_numerically(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,10", "b.png,2", "c.png,1", "d.png,2")
    dataset = CSVDataset(csv, tmp_path)
    assert dataset.classes == ["1", "2", "10"]
    assert dataset.targets.tolist() == [2, 1, 0, 1]
    assert [dataset[i][1] for i in range(4)] == [2, 1, 0, 1]


def test_classes_fix_the_order(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "b.png,dog", "c.png,cat")
    dataset = CSVDataset(csv, tmp_path, classes=["dog", "cat", "fish"])
    assert dataset.classes == ["dog", "cat", "fish"]
    assert dataset.class_to_idx == {"dog": 0, "cat": 1, "fish": 2}
    assert dataset.targets.tolist() == [1, 0, 1]


def test_multilabel_from_01_columns(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png"])
    csv = write_csv(
        tmp_path / "labels.csv", "image,cat,dog,bird", "a.png,1,0,1", "b.png,0,0,0", "c.png,0,1.0,0"
    )
    dataset = CSVDataset(csv, tmp_path, label_cols=["cat", "dog", "bird"], task="multilabel")
    assert dataset.classes == ["cat", "dog", "bird"]
    assert dataset.targets.dtype == np.float32 and dataset.targets.shape == (3, 3)
    assert dataset.targets.tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    target = dataset[0][1]
    assert isinstance(target, torch.Tensor) and target.dtype == torch.float32
    assert target.tolist() == [1.0, 0.0, 1.0]


def test_multilabel_from_separated_names(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png"])
    csv = write_csv(
        tmp_path / "labels.csv", "image,tags", "a.png,cat|dog", "b.png,bird", "c.png, dog | cat |"
    )
    dataset = CSVDataset(csv, tmp_path, label_col="tags", task="multilabel", label_sep="|")
    assert dataset.classes == ["bird", "cat", "dog"]
    assert dataset.targets.dtype == np.float32 and dataset.targets.shape == (3, 3)
    assert dataset.targets.tolist() == [[0, 1, 1], [1, 0, 0], [0, 1, 1]]
    assert dataset[1][1].tolist() == [1.0, 0.0, 0.0] and dataset[1][1].dtype == torch.float32


def test_multilabel_with_one_column_needs_a_separator(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,tags", "a.png,cat")
    with pytest.raises(ValueError, match="label_sep"):
        CSVDataset(csv, tmp_path, label_col="tags", task="multilabel")


@pytest.mark.parametrize(
    ("columns", "expected"),
    [(["age"], [[23.5], [-1.0]]), (["x", "y"], [[0.25, 3.0], [1e-3, -7.0]])],
)
def test_regression(tmp_path: Path, columns: list[str], expected: list[list[float]]) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,age,x,y", "a.png,23.5,0.25,3", "b.png,-1,0.001,-7")
    if len(columns) == 1:
        dataset = CSVDataset(csv, tmp_path, label_col=columns[0], task="regression")
    else:
        dataset = CSVDataset(csv, tmp_path, label_cols=columns, task="regression")
    assert dataset.classes == []
    assert dataset.targets.dtype == np.float32 and dataset.targets.shape == (2, len(columns))
    assert np.array_equal(dataset.targets, np.asarray(expected, dtype=np.float32))
    target = dataset[1][1]
    assert target.dtype == torch.float32 and target.shape == (len(columns),)
    assert torch.equal(target, torch.tensor(expected[1], dtype=torch.float32))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"task": "segmentation"}, "task"),
        ({"duplicates": "merge"}, "duplicates"),
        ({"on_error": "ignore"}, "on_error"),
        ({"label_cols": ["label"]}, "label_cols"),
        ({"label_col": None}, "label_col"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, Any], match: str) -> None:
    write_images(tmp_path, ["a.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat")
    with pytest.raises(ValueError, match=match):
        CSVDataset(csv, tmp_path, **options)


def test_importable_from_the_package() -> None:
    assert visiondata.CSVDataset is CSVDataset
    assert visiondata.CSVDetectionDataset is CSVDetectionDataset


# ---------------------------------------------------------------- 2. validation


def test_every_problem_in_one_error_with_its_line(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_images(root, ["a.png", "b.png", "c.png", "d.png"])
    outside = write_image(tmp_path / "outside.png")
    csv = write_csv(
        root / "labels.csv",
        "image,label",  # line 1
        "a.png,cat",  # 2: fine
        ",dog",  # 3: empty image path
        "missing.png,",  # 4: missing file AND empty label
        f"{outside},dog",  # 5: absolute path
        "sub/../../outside.png,cat",  # 6: leaves the root
        "b.png,",  # 7: empty label
        "c.png,bird",  # 8: not among the classes
        "./a.png,cat",  # 9: a.png again
        "d.png,dog",  # 10: fine
    )
    error = validation_error(csv, root, classes=["cat", "dog"])
    assert lines_of(error) == ["line 3", "line 4", "line 4", "line 5", "line 6", "line 7", "line 8", "line 9"]
    expected = [
        "line 3: empty image path",
        f"line 4: image file {root / 'missing.png'} does not exist",
        "line 4: empty label in column 'label'",
        f"line 5: image path '{outside}' is outside the root {root}",
        f"line 6: image path 'sub/../../outside.png' is outside the root {root}",
        "line 7: empty label in column 'label'",
        "line 8: label 'bird' is not one of the classes ['cat', 'dog']",
        "line 9: image 'a.png' is listed again (first on line 2)",
    ]
    for problem, start in zip(error.problems, expected):
        assert problem.startswith(start), (problem, start)
    message = str(error)
    assert message.startswith(f"{csv}: 8 problems found:")
    assert all(problem in message for problem in error.problems)
    assert "... and" not in message
    assert "allow_outside_root=True" in message and "duplicates='drop'" in message


def test_allow_outside_root_accepts_absolute_and_parent_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_image(root / "a.png", color=(1, 1, 1))
    outside = write_image(tmp_path / "outside.png", color=(2, 2, 2))
    write_image(tmp_path / "elsewhere" / "b.png", color=(3, 3, 3))
    csv = write_csv(root / "labels.csv", "image,label", "a.png,x", f"{outside},y", "../elsewhere/b.png,z")
    assert len(validation_error(csv, root).problems) == 2

    dataset = CSVDataset(csv, root, allow_outside_root=True)
    assert [dataset[i][0][0, 0, 0].item() for i in range(3)] == [1, 2, 3]
    assert dataset.targets.tolist() == [0, 1, 2]


def test_missing_files_are_not_checked_when_check_files_is_false(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "gone.png,dog")
    dataset = CSVDataset(csv, tmp_path, check_files=False)
    assert len(dataset) == 2 and dataset[0][1] == 0
    with pytest.raises(ImageReadError, match=re.escape("gone.png: cannot read image: file not found")):
        dataset[1]


@pytest.mark.parametrize(
    ("options", "header", "rows", "expected"),
    [
        (
            {"label_cols": ["x", "y"], "task": "regression"},
            "image,x,y",
            ["a.png,1.5,2", "b.png,nan,1", "missing.png,abc,1", "c.png,1,", "d.png,inf,0"],
            [
                "line 3: column 'x': expected a finite number, got 'nan'",
                "line 4: image file",
                "line 4: column 'x': expected a number, got 'abc'",
                "line 5: column 'y': expected a number, got ''",
                "line 6: column 'x': expected a finite number, got 'inf'",
            ],
        ),
        (
            {"label_cols": ["cat", "dog"], "task": "multilabel"},
            "image,cat,dog",
            ["a.png,1,0", "b.png,2,0", "c.png,0,0.5", "d.png,yes,1", "missing.png,1,1"],
            [
                "line 3: column 'cat': expected 0 or 1, got '2'",
                "line 4: column 'dog': expected 0 or 1, got '0.5'",
                "line 5: column 'cat': expected a number, got 'yes'",
                "line 6: image file",
            ],
        ),
        (
            {"label_col": "tags", "task": "multilabel", "label_sep": "|", "classes": ["cat", "dog"]},
            "image,tags",
            ["a.png,cat|dog", "b.png,cat|fish", "c.png, | ", "missing.png,dog"],
            [
                "line 3: labels ['fish'] are not among the classes ['cat', 'dog']",
                "line 4: empty label in column 'tags'",
                "line 5: image file",
            ],
        ),
    ],
)
def test_value_problems_by_task(
    tmp_path: Path, options: dict[str, Any], header: str, rows: list[str], expected: list[str]
) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    error = validation_error(write_csv(tmp_path / "labels.csv", header, *rows), tmp_path, **options)
    assert len(error.problems) == len(expected)
    for problem, start in zip(error.problems, expected):
        assert problem.startswith(start), (problem, start)


def test_more_than_twenty_problems_are_counted(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "labels.csv", "image,label", *[f"gone{n:02d}.png,cat" for n in range(25)])
    error = validation_error(csv, tmp_path)
    assert len(error.problems) == 25
    assert lines_of(error) == [f"line {n}" for n in range(2, 27)]
    message = str(error)
    assert "25 problems found" in message
    assert "line 21: " in message and "gone19.png" in message
    assert "line 22: " not in message and "gone20.png" not in message
    assert message.endswith("\n  ... and 5 more")


def test_missing_column_names_the_columns_present(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png"])
    csv = write_csv(tmp_path / "labels.csv", "file, species ,weight", "a.png,cat,1")
    error = validation_error(csv, tmp_path)
    assert error.problems == [
        "missing columns 'image', 'label'; the file has columns 'file', 'species', 'weight'"
    ]
    assert CSVDataset(csv, tmp_path, image_col="file", label_col="species").classes == ["cat"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["image,label", 'a.png,"cat', "b.png,dog"], "cannot parse the file as CSV: unexpected end of data"),
        (
            ["image,label", "a.png,cat", "b.png,dog,extra"],
            "line 3: expected 2 fields (image, label), got 3: 'b.png,dog,extra'",
        ),
        ([], "the file is empty: expected a header line with the column names"),
        (["image,label"], "no rows below the header: expected one row per image"),
    ],
    ids=["unbalanced-quote", "ragged-row", "empty-file", "header-only"],
)
def test_malformed_csv_is_a_validation_error(tmp_path: Path, lines: list[str], expected: str) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = tmp_path / "labels.csv"
    csv.write_text("\n".join(lines))
    error = validation_error(csv, tmp_path)
    assert error.problems == [expected]


def test_extra_field_on_every_row_is_reported_as_such(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat,", "b.png,dog,")
    error = validation_error(csv, tmp_path)
    assert error.problems == [
        "line 2: expected 2 fields (image, label), got 3: 'a.png,cat,'",
        "line 3: expected 2 fields (image, label), got 3: 'b.png,dog,'",
    ]


@pytest.mark.parametrize(
    "lines",
    [
        ["image,label", "a.png,cat", "", "missing.png,dog"],
        ["image,label", 'a.png,"cat', 'kitten"', "missing.png,dog"],
    ],
    ids=["blank-line", "multi-line-cell"],
)
def test_line_numbers_are_lines_of_the_file(tmp_path: Path, lines: list[str]) -> None:
    write_images(tmp_path, ["a.png"])
    error = validation_error(write_csv(tmp_path / "labels.csv", *lines), tmp_path)
    assert lines_of(error) == ["line 4"]


def test_samples_know_their_row_and_line(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "", "b.png,dog")
    dataset = CSVDataset(csv, tmp_path)
    assert dataset.rows.tolist() == [0, 1]  # data rows: the blank line is not one
    assert dataset.lines.tolist() == [2, 4]  # lines of the file, as in error messages


@pytest.mark.parametrize("kind", ["nothing", "folder"])
def test_missing_csv_is_dataset_not_found(tmp_path: Path, kind: str) -> None:
    csv = tmp_path / "labels.csv"
    if kind == "folder":
        csv.mkdir()
    with pytest.raises(
        DatasetNotFoundError,
        match=f"expected a CSV file, found {'a folder' if kind == 'folder' else 'nothing'}",
    ):
        CSVDataset(csv, tmp_path)


# ---------------------------------------------------------------- 3. duplicates


def test_duplicates_drop_keeps_the_first_row(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = write_csv(
        tmp_path / "labels.csv", "image,label", "a.png,cat", "b.png,dog", "./a.png,cat", "a.png, cat"
    )
    with pytest.warns(UserWarning, match="dropped 2 repeated image rows"):
        dataset = CSVDataset(csv, tmp_path, duplicates="drop")
    assert len(dataset) == 2 and dataset.dropped_duplicates == 2
    assert dataset.rows.tolist() == [0, 1]
    assert dataset.targets.tolist() == [0, 1]
    assert [dataset.row(i)["image"] for i in range(2)] == ["a.png", "b.png"]


def test_duplicates_with_different_labels_are_refused_even_with_drop(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "b.png,dog", "a.png,dog")
    error = validation_error(csv, tmp_path, duplicates="drop")
    assert len(error.problems) == 1
    assert error.problems[0].startswith(
        "line 4: image 'a.png' is listed again with another label than on line 2"
    )


def test_duplicates_keep_keeps_every_row(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "b.png,dog", "a.png,dog")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = CSVDataset(csv, tmp_path, duplicates="keep")
    assert len(dataset) == 3 and dataset.dropped_duplicates == 0
    assert dataset.targets.tolist() == [0, 1, 1]
    assert dataset.path(0) == dataset.path(2)


def test_duplicates_raise_is_the_default(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "a.png,cat")
    assert validation_error(csv, tmp_path).problems[0].startswith("line 3: image 'a.png' is listed again")


# ---------------------------------------------------------------- 4. subclassing


class GreyWeighted(CSVDataset):
    """The tutorial pattern: read images differently, build targets from other columns."""

    def load_image(self, path: str) -> torch.Tensor:
        return read_image(path, mode="L")

    def load_target(self, row: dict[str, str]) -> tuple[int, float]:
        return self.class_to_idx[row["label"]], float(row["weight"])


def test_subclass_overrides_load_image_and_load_target(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", color=(200, 100, 50), size=(5, 2))
    write_image(tmp_path / "b.png", color=(0, 255, 0))
    csv = write_csv(
        tmp_path / "labels.csv", "image,label,weight,note", 'a.png,dog,0.5,"x, y"', "b.png,cat,2,007"
    )
    dataset = GreyWeighted(csv, tmp_path)
    assert dataset.row(0) == {"image": "a.png", "label": "dog", "weight": "0.5", "note": "x, y"}
    assert dataset.row(1) == {"image": "b.png", "label": "cat", "weight": "2", "note": "007"}
    image, target = dataset[0]
    assert target == (1, 0.5)
    assert image.shape == (1, 2, 5) and image.dtype == torch.uint8
    assert torch.equal(image, pixels(tmp_path / "a.png", "L"))
    assert dataset[1][1] == (0, 2.0)


def test_target_transform_applies_to_the_custom_target(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png"])
    csv = write_csv(tmp_path / "labels.csv", "image,label,weight", "a.png,dog,3")
    dataset = GreyWeighted(csv, tmp_path, target_transform=lambda target: target[1] * 2)
    assert dataset[0][1] == 6.0


# ---------------------------------------------------------------- 5. on_error


@pytest.mark.parametrize("on_error", ["skip", "warn"])
def test_skip_returns_the_next_sample_with_its_own_label(tmp_path: Path, on_error: str) -> None:
    write_image(tmp_path / "a.png", color=(255, 0, 0))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    write_image(tmp_path / "c.png", color=(0, 0, 255))
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.png,cat", "bad.png,cat", "c.png,dog")
    dataset = CSVDataset(csv, tmp_path, on_error=on_error)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        image, target = dataset[1]
    assert target == 1  # dog: the replacement's label, not the bad file's "cat"
    assert image[:, 0, 0].tolist() == [0, 0, 255]
    assert list(dataset.errors) == [str(tmp_path / "bad.png")]
    assert len(record) == (1 if on_error == "warn" else 0)

    raising = CSVDataset(csv, tmp_path)
    with pytest.raises(ImageReadError, match=re.escape(str(tmp_path / "bad.png"))):
        raising[1]


# ---------------------------------------------------------------- 6. split


def test_split_classification_is_stratified(tmp_path: Path) -> None:
    names = [f"{n:02d}.png" for n in range(25)]
    write_images(tmp_path, names)
    csv = write_csv(
        tmp_path / "labels.csv",
        "image,label",
        *[f"{name},{'cat' if n < 20 else 'dog'}" for n, name in enumerate(names)],
    )
    dataset = CSVDataset(csv, tmp_path)
    train, val = dataset.split((0.8, 0.2), seed=5)
    counts = [np.bincount(dataset.targets[subset.indices], minlength=2).tolist() for subset in (train, val)]
    assert counts == [[16, 4], [4, 1]]
    assert sorted([*train.indices, *val.indices]) == list(range(25))
    assert [list(s.indices) for s in dataset.split((0.8, 0.2), seed=5)] == [train.indices, val.indices]


def test_split_multilabel_refuses_stratify(tmp_path: Path) -> None:
    write_images(tmp_path, [f"{n}.png" for n in range(5)])
    csv = write_csv(tmp_path / "labels.csv", "image,cat,dog", *[f"{n}.png,{n % 2},1" for n in range(5)])
    dataset = CSVDataset(csv, tmp_path, label_cols=["cat", "dog"], task="multilabel")
    with pytest.raises(ValueError, match="stratify=False"):
        dataset.split((0.6, 0.4))
    parts = dataset.split((0.6, 0.4), stratify=False, seed=0)
    assert [len(part) for part in parts] == [3, 2]
    assert sorted([*parts[0].indices, *parts[1].indices]) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- 7. detection

BOX_HEADER = "image,x_min,y_min,x_max,y_max,label"


def test_detection_rows_are_grouped_per_image(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        write_image(tmp_path / name, size=(20, 10))
    csv = write_csv(
        tmp_path / "boxes.csv",
        BOX_HEADER,
        "b.png,1,2,5,6,dog",
        "a.png,0,0,20,10,cat",
        "c.png,,,,,",
        "b.png,3,3,4,4,cat",
    )
    dataset = CSVDetectionDataset(csv, tmp_path)
    assert dataset.classes == ["__background__", "cat", "dog"]
    assert len(dataset) == 3
    assert [dataset.path(i) for i in range(3)] == [str(tmp_path / n) for n in ("b.png", "a.png", "c.png")]
    assert dataset.boxes(0).tolist() == [[1, 2, 5, 6], [3, 3, 4, 4]]

    _, target = dataset[0]
    assert target["labels"].tolist() == [2, 1] and target["image_id"] == 0
    assert target["boxes"].tolist() == [[1, 2, 5, 6], [3, 3, 4, 4]]
    _, empty = dataset[2]
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)
    assert empty["labels"].dtype == torch.int64 and empty["image_id"] == 2


def test_detection_sample_schema(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", color=(9, 8, 7), size=(20, 10))
    csv = write_csv(tmp_path / "boxes.csv", BOX_HEADER, "a.png,1,2,5,6,cat")
    image, target = CSVDetectionDataset(csv, tmp_path)[0]
    assert isinstance(image, tv_tensors.Image)
    assert image.dtype == torch.uint8 and image.shape == (3, 10, 20)
    assert torch.equal(image.as_subclass(torch.Tensor), pixels(tmp_path / "a.png"))
    boxes = target["boxes"]
    assert isinstance(boxes, tv_tensors.BoundingBoxes)
    assert boxes.format == tv_tensors.BoundingBoxFormat.XYXY and tuple(boxes.canvas_size) == (10, 20)
    assert target["labels"].dtype == torch.int64 and target["labels"].tolist() == [1]
    assert target["image_id"] == 0 and set(target) == {"boxes", "labels", "image_id"}


@pytest.mark.parametrize(
    ("box_format", "cells", "xyxy"),
    [
        ("xyxy", "1.5,2,4.5,6.25", [1.5, 2.0, 4.5, 6.25]),
        ("xywh", "1.5,2,3,4.25", [1.5, 2.0, 4.5, 6.25]),
        ("cxcywh", "5,6,4,2.5", [3.0, 4.75, 7.0, 7.25]),
    ],
)
def test_box_formats_become_xyxy_exactly(
    tmp_path: Path, box_format: str, cells: str, xyxy: list[float]
) -> None:
    write_image(tmp_path / "a.png", size=(20, 10))
    csv = write_csv(tmp_path / "boxes.csv", "image,a,b,c,d,label", f"a.png,{cells},cat")
    dataset = CSVDetectionDataset(csv, tmp_path, box_cols=("a", "b", "c", "d"), box_format=box_format)
    assert dataset.boxes(0).tolist() == [xyxy]
    assert dataset[0][1]["boxes"].tolist() == [xyxy]


def test_detection_classes_given(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", size=(20, 10))
    csv = write_csv(tmp_path / "boxes.csv", BOX_HEADER, "a.png,1,1,2,2,cat", "a.png,2,2,3,3,dog")
    dataset = CSVDetectionDataset(csv, tmp_path, classes=["dog", "cat"])
    assert dataset.classes == ["dog", "cat"] and dataset.class_to_idx == {"dog": 0, "cat": 1}
    assert dataset[0][1]["labels"].tolist() == [1, 0]


def test_detection_integer_labels_sort_numerically(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", size=(20, 10))
    csv = write_csv(tmp_path / "boxes.csv", BOX_HEADER, "a.png,1,1,2,2,10", "a.png,2,2,3,3,2")
    dataset = CSVDetectionDataset(csv, tmp_path)
    assert dataset.classes == ["__background__", "2", "10"]
    assert dataset[0][1]["labels"].tolist() == [2, 1]


def test_detection_problems_are_collected_with_lines(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", size=(20, 10))
    csv = write_csv(
        tmp_path / "boxes.csv",
        BOX_HEADER,
        "a.png,1,1,2,2,cat",  # 2: fine
        "a.png,1,one,2,2,cat",  # 3: not a number
        "a.png,1,1,,2,cat",  # 4: partly empty
        "a.png,5,1,5,2,cat",  # 5: no area
        "a.png,1,1,2,2,",  # 6: box without a label
        "a.png,1,1,2,2,horse",  # 7: unknown label
        "gone.png,,,,,",  # 8: missing file
    )
    error = validation_error(csv, tmp_path, cls=CSVDetectionDataset, classes=["__background__", "cat"])
    expected = [
        "line 3: box cells ['1', 'one', '2', '2']: expected 4 numbers",
        "line 4: box cells ['1', '1', '', '2']: expected 4 numbers",
        "line 5: box ['5', '1', '5', '2'] (xyxy) has no area",
        "line 6: empty label in column 'label' for a box",
        "line 7: label 'horse' is not one of the classes ['__background__', 'cat']",
        f"line 8: image file {tmp_path / 'gone.png'} does not exist",
    ]
    assert len(error.problems) == len(expected)
    for problem, start in zip(error.problems, expected):
        assert problem.startswith(start), (problem, start)


def test_box_outside_the_image_fails_at_load(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", size=(20, 10))
    write_image(tmp_path / "b.png", size=(20, 10))
    csv = write_csv(
        tmp_path / "boxes.csv", BOX_HEADER, "a.png,0,0,20,10,cat", "b.png,1,1,2,2,cat", "b.png,0,0,25,5,cat"
    )
    dataset = CSVDetectionDataset(csv, tmp_path)  # the image size is only known when reading
    assert dataset[0][1]["boxes"].tolist() == [[0, 0, 20, 10]]  # touching the border is inside
    with pytest.raises(InvalidBoxesError) as caught:
        dataset[1]
    message = str(caught.value)
    assert str(tmp_path / "b.png") in message
    assert "[0.0, 0.0, 25.0, 5.0]" in message and f"{csv} line 4" in message
    assert "0 <= x <= 20" in message


def test_horizontal_flip_moves_image_and_boxes_together(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (10, 20, 3), dtype=np.uint8)).save(path)
    csv = write_csv(tmp_path / "boxes.csv", BOX_HEADER, "a.png,1,2,5,6,cat", "a.png,10,0,20,10,dog")
    dataset = CSVDetectionDataset(csv, tmp_path, transform=v2.RandomHorizontalFlip(p=1))
    image, target = dataset[0]
    assert torch.equal(image.as_subclass(torch.Tensor), pixels(path).flip(-1))
    assert target["boxes"].tolist() == [[15, 2, 19, 6], [0, 0, 10, 10]]
    assert target["labels"].tolist() == [1, 2]


def test_detection_split(tmp_path: Path) -> None:
    names = [f"{n}.png" for n in range(5)]
    for name in names:
        write_image(tmp_path / name, size=(8, 8))
    csv = write_csv(tmp_path / "boxes.csv", BOX_HEADER, *[f"{name},1,1,3,3,cat" for name in names])
    dataset = CSVDetectionDataset(csv, tmp_path)
    train, val = dataset.split((0.6, 0.4), seed=2)
    assert (len(train), len(val)) == (3, 2)
    assert sorted([*train.indices, *val.indices]) == [0, 1, 2, 3, 4]
    assert [list(s.indices) for s in dataset.split((0.6, 0.4), seed=2)] == [train.indices, val.indices]
    assert val[0][1]["image_id"] == val.indices[0]


def test_detection_bad_options(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png")
    csv = write_csv(tmp_path / "boxes.csv", BOX_HEADER, "a.png,0,0,1,1,cat")
    with pytest.raises(ValueError, match="box_format"):
        CSVDetectionDataset(csv, tmp_path, box_format="yxyx")
    with pytest.raises(ValueError, match="box_cols"):
        CSVDetectionDataset(csv, tmp_path, box_cols=("x_min", "y_min", "x_max"))


# ---------------------------------------------------------------- 8. check


def make_messy_folder(root: Path) -> None:
    """20 files in "big" (one corrupt, one greyscale, one huge), 1 in "small" (a copy), a hidden folder."""
    for n in range(17):
        write_image(root / "big" / f"img_{n:02d}.png", color_of(n), size=(8, 8))
    (root / "big" / "img_17_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 30)
    write_image(root / "big" / "img_18_grey.png", color=(90, 0, 0), size=(8, 8), mode="L")
    write_image(root / "big" / "img_19_huge.png", color=(1, 2, 3), size=(64, 64))
    (root / "small").mkdir()
    (root / "small" / "copy.png").write_bytes((root / "big" / "img_00.png").read_bytes())
    write_image(root / ".ipynb_checkpoints" / "x.png")


def make_clean_folder(root: Path) -> None:
    for n in range(4):
        write_image(root / ("cat" if n % 2 else "dog") / f"{n}.png", color_of(n))


def test_check_dataset_reports_every_kind_of_problem(tmp_path: Path) -> None:
    make_messy_folder(tmp_path)
    report = check_dataset(tmp_path, progress=False)
    assert report.images == 21
    assert report.class_counts == {"big": 20, "small": 1}
    assert [item["path"] for item in report.unreadable] == ["big/img_17_corrupt.png"]
    assert "cannot read image" in report.unreadable[0]["reason"]
    assert report.duplicates == [["big/img_00.png", "small/copy.png"]]
    assert report.unusual == [
        {"path": "big/img_18_grey.png", "reason": "pixel format L, most images are RGB"},
        {"path": "big/img_19_huge.png", "reason": "4,096 pixels, 64x the median 64"},
    ]
    assert report.hidden == [".ipynb_checkpoints"]
    assert report.imbalance == 20.0
    assert report.problems == [
        "1 unreadable file",
        "1 group of identical images",
        "2 images of unusual size or format",
        "class imbalance 20.0:1 (above 10:1)",
    ]


def test_check_cli_json_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_messy_folder(tmp_path)
    assert main(["check", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == str(tmp_path)
    assert [item["path"] for item in report["unreadable"]] == ["big/img_17_corrupt.png"]
    assert report["duplicates"] == [["big/img_00.png", "small/copy.png"]]
    assert sorted(item["path"] for item in report["unusual"]) == [
        "big/img_18_grey.png",
        "big/img_19_huge.png",
    ]
    assert report["hidden"] == [".ipynb_checkpoints"]
    assert report["imbalance"] == 20.0
    assert len(report["problems"]) == 4

    assert main(["check", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert (
        "21 images in 2 classes" in text
        and "identical images (1 group, 2 files; --json lists them all):" in text
    )
    assert "hidden entries skipped (1):" in text and "class imbalance: 20.0:1" in text


def test_check_clean_folder_exits_0_as_python_m_visiondata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `python -m visiondata check PATH`, run in this process (a subprocess would re-import torch: seconds).
    make_clean_folder(tmp_path)
    monkeypatch.setattr(sys, "argv", ["visiondata", "check", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("visiondata", run_name="__main__")
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path}: 4 images in 2 classes")
    assert out.rstrip().endswith("problems: none")


def test_check_csv_reports_validation_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_images(tmp_path / "images", ["a.png", "b.png"])
    csv = write_csv(
        tmp_path / "labels.csv", "image,label", "images/a.png,cat", "images/gone.png,dog", "images/b.png,"
    )
    assert main(["check", "--csv", str(csv), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["validation"] == [
        f"line 3: image file {tmp_path / 'images' / 'gone.png'} does not exist",
        "line 4: empty label in column 'label'",
    ]
    assert report["problems"] == ["2 validation problems"]

    good = write_csv(tmp_path / "images" / "good.csv", "image,label", "a.png,cat", "b.png,dog")
    assert main(["check", "--csv", str(good), "--root", str(tmp_path / "images")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("problems: none")


def test_check_needs_a_folder_or_a_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "give either a folder PATH or --csv FILE" in capsys.readouterr().err


def test_check_report_from_a_corrupt_jpeg_in_csv(tmp_path: Path) -> None:
    write_image(tmp_path / "a.jpg", color=(250, 250, 250), size=(16, 16))
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "b.jpg").write_bytes(data[: len(data) // 2])
    csv = write_csv(tmp_path / "labels.csv", "image,label", "a.jpg,cat", "b.jpg,dog")
    report = check_dataset(csv_file=csv, progress=False)
    assert report.class_counts == {"cat": 1, "dog": 1}
    assert [item["path"] for item in report.unreadable] == ["b.jpg"]
    assert report.problems == ["1 unreadable file"]

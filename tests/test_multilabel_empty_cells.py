"""Multi-label ``CSVDataset``: an image with no labels, on real CSV and image files in ``tmp_path``.

A names column (``label_sep``) reads an empty cell as "no labels" (an all-zero
target) unless ``allow_empty=False``; the 0/1-columns layout says "no labels"
with a row of zeros, and an empty 0/1 cell stays a missing value.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from visiondata.datasets import CSVDataset
from visiondata.exceptions import DatasetValidationError


def write_files(root: Path, text: str, images: int = 4) -> Path:
    for number in range(images):
        Image.new("RGB", (4, 3), (number * 40, 0, 0)).save(root / f"{'abcd'[number]}.png")
    csv = root / "labels.csv"
    csv.write_text(text)
    return csv


def tags(csv: Path, **options: object) -> CSVDataset:
    return CSVDataset(csv, csv.parent, task="multilabel", label_col="tags", label_sep="|", **options)


def test_empty_names_cell_is_an_image_with_no_labels(tmp_path: Path) -> None:
    csv = write_files(tmp_path, 'image,tags\na.png,cat|dog\nb.png,\nc.png,dog\nd.png,""\n')
    dataset = tags(csv)
    assert dataset.classes == ["cat", "dog"]
    assert dataset.targets.tolist() == [[1, 1], [0, 0], [0, 1], [0, 0]]
    _, target = dataset[1]
    assert target.dtype == torch.float32 and target.tolist() == [0.0, 0.0]
    assert dataset.load_target(dataset.row(3)).tolist() == [0.0, 0.0]  # the per-row path agrees


def test_whitespace_only_names_cell_is_empty_too(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,tags\na.png,cat\nb.png,   \n", images=2)
    assert tags(csv).targets.tolist() == [[1], [0]]


def test_allow_empty_false_refuses_each_empty_cell_with_its_line(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,tags\na.png,cat\nb.png,\n\nc.png,dog\nd.png,\n")
    with pytest.raises(DatasetValidationError) as caught:
        tags(csv, allow_empty=False)
    problems = caught.value.problems
    assert [problem.split(":", 1)[0] for problem in problems] == ["line 3", "line 6"]
    assert all("empty label in column 'tags'" in p and "allow_empty=True" in p for p in problems)


def test_cell_of_separators_only_is_refused_as_damaged(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,tags\na.png,cat\nb.png, | \n", images=2)
    with pytest.raises(DatasetValidationError) as caught:
        tags(csv)
    (problem,) = caught.value.problems
    assert problem.startswith("line 3: empty label in column 'tags'") and "got '| '" in problem


def test_every_names_cell_empty_asks_for_classes(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,tags\na.png,\nb.png,\n", images=2)
    with pytest.raises(DatasetValidationError) as caught:
        tags(csv)
    assert "pass classes=" in caught.value.problems[0]
    assert tags(csv, classes=["cat", "dog"]).targets.tolist() == [[0, 0], [0, 0]]


def test_zero_one_columns_all_zero_row_is_no_labels_but_empty_cell_is_missing(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,cat,dog\na.png,1,0\nb.png,0,0\nc.png,,1\n", images=3)
    with pytest.raises(DatasetValidationError) as caught:
        CSVDataset(csv, tmp_path, task="multilabel", label_cols=["cat", "dog"])
    (problem,) = caught.value.problems
    assert problem.startswith("line 4: column 'cat': expected 0 or 1, got an empty cell")

    csv.write_text("image,cat,dog\na.png,1,0\nb.png,0,0\n")
    assert CSVDataset(csv, tmp_path, task="multilabel", label_cols=["cat", "dog"]).targets.tolist() == [
        [1, 0],
        [0, 0],
    ]


def test_zero_one_columns_allow_empty_false_refuses_all_zero_rows(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,cat,dog\na.png,1,0\nb.png,0,0\n", images=2)
    with pytest.raises(DatasetValidationError) as caught:
        CSVDataset(csv, tmp_path, task="multilabel", label_cols=["cat", "dog"], allow_empty=False)
    (problem,) = caught.value.problems
    assert (
        problem.startswith("line 3: expected at least one of the columns") and "allow_empty=True" in problem
    )


def test_allow_empty_leaves_classification_empty_labels_refused(tmp_path: Path) -> None:
    csv = write_files(tmp_path, "image,label\na.png,cat\nb.png,\n", images=2)
    with pytest.raises(DatasetValidationError, match="line 3: empty label in column 'label'"):
        CSVDataset(csv, tmp_path, allow_empty=True)

"""Values in label and annotation files that used to slip through: NUL bytes, class names given twice
or named like the background, strings where a list of names belongs, and box coordinates that only
go wrong once stored as float32 (a zero width, or an overflow to infinity)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata.datasets import (
    CocoDetectionDataset,
    CSVDataset,
    CSVDetectionDataset,
    VOCDetectionDataset,
    YOLODataset,
)
from visiondata.exceptions import DatasetValidationError


def picture(path: Path, size: tuple[int, int] = (20, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 90, 90)).save(path)
    return path


def coco_file(root: Path, categories: list[dict], boxes: list[list[float]]) -> Path:
    picture(root / "a.png")
    annotations = [
        {"id": number, "image_id": 1, "category_id": categories[0]["id"], "bbox": box}
        for number, box in enumerate(boxes, 1)
    ]
    content = {
        "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
        "categories": categories,
        "annotations": annotations,
    }
    path = root / "annotations.json"
    path.write_text(json.dumps(content))
    return path


# ---------------------------------------------------------------- NUL bytes
def test_a_nul_byte_in_a_csv_cell_is_reported_with_its_line(tmp_path: Path) -> None:
    picture(tmp_path / "a.png")
    picture(tmp_path / "b.png")
    (tmp_path / "labels.csv").write_bytes(b"image,label\na.png,cat\nb.png,d\x00g\n")
    with pytest.raises(DatasetValidationError, match=r"line 3: a cell holds a NUL character") as caught:
        CSVDataset(tmp_path / "labels.csv", tmp_path)
    assert caught.value.problems[0].startswith("line 3:")


# ---------------------------------------------------------------- class names
def test_class_names_given_twice_are_refused(tmp_path: Path) -> None:
    picture(tmp_path / "a.png")
    (tmp_path / "labels.csv").write_text("image,label\na.png,cat\n")
    with pytest.raises(ValueError, match=r"expected distinct names, got 'dog' at positions 0 and 2"):
        CSVDataset(tmp_path / "labels.csv", tmp_path, classes=["dog", "cat", "dog"])


def _build_with_classes(reader: str, root: Path, classes: object) -> object:
    if reader == "csv":
        (root / "labels.csv").write_text("image,label\nimages/a.png,abc\n")
        return CSVDataset(root / "labels.csv", root, classes=classes)
    if reader == "csv_boxes":
        (root / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\nimages/a.png,1,1,5,5,abc\n")
        return CSVDetectionDataset(root / "boxes.csv", root, classes=classes)
    if reader == "coco":
        annotations = coco_file(root / "images", [{"id": 1, "name": "abc"}], [[1, 1, 4, 4]])
        return CocoDetectionDataset(root / "images", annotations, classes=classes)
    if reader == "voc":
        (root / "xml").mkdir(exist_ok=True)
        (root / "xml" / "a.xml").write_text(
            "<annotation><filename>a.png</filename><size><width>20</width><height>10</height></size>"
            "<object><name>abc</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>6</xmax><ymax>6</ymax>"
            "</bndbox></object></annotation>"
        )
        return VOCDetectionDataset(root / "xml", split=None, images_dir=root / "images", classes=classes)
    return YOLODataset(root / "images", classes=classes)


@pytest.mark.parametrize("reader", ["csv", "csv_boxes", "coco", "voc", "yolo"])
def test_a_string_is_not_split_into_class_names(tmp_path: Path, reader: str) -> None:
    picture(tmp_path / "images" / "a.png")
    with pytest.raises(TypeError, match=r"classes: expected a sequence of class names, got the string 'abc'"):
        _build_with_classes(reader, tmp_path, "abc")
    assert "abc" in _build_with_classes(reader, tmp_path, ["abc"]).classes


def test_a_detection_label_named_like_the_background_is_refused(tmp_path: Path) -> None:
    picture(tmp_path / "a.png")
    (tmp_path / "boxes.csv").write_text(
        "image,x_min,y_min,x_max,y_max,label\na.png,1,1,5,5,cat\na.png,2,2,6,6,__background__\n"
    )
    with pytest.raises(ValueError, match=r"'__background__' names label 0 \(the background\)"):
        CSVDetectionDataset(tmp_path / "boxes.csv", tmp_path)


def test_coco_categories_named_like_the_background_or_twice_are_refused(tmp_path: Path) -> None:
    categories = [{"id": 1, "name": "cat"}, {"id": 7, "name": "__background__"}]
    with pytest.raises(ValueError, match="names label 0"):
        CocoDetectionDataset(tmp_path, coco_file(tmp_path, categories, [[1, 1, 4, 4]]))
    twice = [{"id": 1, "name": "cat"}, {"id": 2, "name": "cat"}]
    with pytest.raises(ValueError, match="expected distinct names, got 'cat' for ids 1, 2"):
        CocoDetectionDataset(tmp_path, coco_file(tmp_path, twice, [[1, 1, 4, 4]]))


# ---------------------------------------------------------------- coordinates as stored
def test_a_csv_box_that_closes_in_float32_is_refused_with_its_line(tmp_path: Path) -> None:
    picture(tmp_path / "a.png")
    assert np.float32(1.00000001) == np.float32(1.0)
    (tmp_path / "boxes.csv").write_text(
        "image,x_min,y_min,x_max,y_max,label\na.png,1,2,3,6,cat\na.png,1,2,1.00000001,6,cat\n"
    )
    with pytest.raises(DatasetValidationError, match=r"line 3: box .* has no area.*as float32"):
        CSVDetectionDataset(tmp_path / "boxes.csv", tmp_path)


def test_a_csv_coordinate_beyond_float32_is_refused_not_made_infinite(tmp_path: Path) -> None:
    picture(tmp_path / "a.png")
    (tmp_path / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\na.png,1,2,1e39,6,cat\n")
    with pytest.raises(
        DatasetValidationError, match=r"line 2: box .*expected coordinates within float32's range"
    ):
        CSVDetectionDataset(tmp_path / "boxes.csv", tmp_path)


def test_coco_boxes_are_checked_as_stored(tmp_path: Path) -> None:
    categories = [{"id": 1, "name": "cat"}]
    annotations = coco_file(tmp_path, categories, [[1, 2, 1e-8, 4], [1, 2, 1e39, 4], [1, 2, 3, 4]])
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, annotations)
    problems = "\n".join(caught.value.problems)
    assert "annotation 1" in problems and "has no area" in problems
    assert "annotation 2" in problems and "float32's range" in problems
    assert "annotation 3" not in problems
    kept = CocoDetectionDataset(tmp_path, annotations, on_error="skip")
    boxes = kept[0][1]["boxes"]
    assert boxes.tolist() == [[1.0, 2.0, 4.0, 6.0]] and bool(np.isfinite(boxes.numpy()).all())


def test_yolo_boxes_that_close_in_float32_are_refused_with_file_and_line(tmp_path: Path) -> None:
    picture(tmp_path / "images" / "a.png")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 1e-9 0.2\n")
    with pytest.raises(DatasetValidationError, match=r"a\.txt:2: box .* has no area"):
        YOLODataset(tmp_path / "images", classes=["cat"])

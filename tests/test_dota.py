"""DOTA: ``DOTADataset`` and ``to_dota`` against the layout the DOTA devkit documents.

``images/P0001.png`` + ``labelTxt/P0001.txt``, with ``imagesource:`` / ``gsd:`` header lines (v1.0)
and one object a line, ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` in pixels (v1.0 integers, v1.5
floats such as ``2753.0``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from isolated import assert_clean_exit, run_isolated
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader
from torchvision import tv_tensors

from visiondata.exceptions import DatasetFormatError, DatasetValidationError
from visiondata.formats._dota import DOTA_V1_CLASSES, DOTADataset, to_dota
from visiondata.formats._open import guess_format, open_detection
from visiondata.formats._yolo import YOLODataset, to_yolo

WIDTH, HEIGHT = 100, 80

V1_FILE = (
    "imagesource:GoogleEarth\n"
    "gsd:0.146343590398\n"
    "10 10 40 10 40 30 10 30 small-vehicle 0\n"
    "60 20 80 40 60 60 40 40 plane 1\n"
)
V15_FILE = "10.0 10.0 40.0 10.0 40.0 30.0 10.0 30.0 container-crane 0\n"


def _dota(root: Path, labels: dict[str, str]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labelTxt").mkdir()
    for stem, text in labels.items():
        image = Image.new("RGB", (WIDTH, HEIGHT), (70, 110, 70))
        ImageDraw.Draw(image).polygon([(60, 20), (80, 40), (60, 60), (40, 40)], fill=(220, 220, 220))
        image.save(root / "images" / f"{stem}.png")
        (root / "labelTxt" / f"{stem}.txt").write_text(text)
    return root


def test_reads_the_devkit_layout(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": V1_FILE})
    dataset = DOTADataset(root / "images")
    assert dataset.classes == ["__background__", *DOTA_V1_CLASSES]  # v1.0's list, in the devkit's order
    image, target = dataset[0]
    boxes = target["boxes"]
    assert boxes.format == tv_tensors.BoundingBoxFormat.XYXYXYXY
    assert tuple(boxes.canvas_size) == (HEIGHT, WIDTH)
    assert boxes.tolist() == [[10, 10, 40, 10, 40, 30, 10, 30], [60, 20, 80, 40, 60, 60, 40, 40]]
    assert [dataset.classes[label] for label in target["labels"].tolist()] == ["small-vehicle", "plane"]
    assert target["difficult"].tolist() == [0, 1]
    assert dataset.boxes(0).tolist() == [[10, 10, 40, 30], [40, 20, 80, 60]]  # enclosing, for check/filters
    # The labelled pixels are where the corners say: the diamond's centre is light grey.
    assert image[:, 40, 60].tolist() == [220, 220, 220]


def test_v15_classes_are_added_after_v1(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": V1_FILE, "P0002": V15_FILE})
    dataset = DOTADataset(root / "images")
    assert dataset.classes[-1] == "container-crane"
    assert dataset.classes[1:16] == list(DOTA_V1_CLASSES)


def test_problems_name_file_and_line(tmp_path: Path) -> None:
    text = (
        "10 10 40 10 40 30 10 30 car 0\n"  # unknown class
        "10 10 40 10 40 x 10 30 plane 0\n"  # not a number
        "10 10 40 10 40 30 plane 0\n"  # too few values
        "10 10 140 10 140 30 10 30 plane 0\n"  # a corner outside the 100x80 image
        "10 10 40 30 40 10 10 30 plane 0\n"  # twisted
        "10 10 20 10 30 10 40 10 plane 0\n"  # no area
        "10 10 40 10 40 30 10 30 plane 2\n"  # difficult 2
        "10 10 40 10 40 30 10 30 plane 0\n"  # fine
    )
    root = _dota(tmp_path, {"P0001": text})
    with pytest.raises(DatasetValidationError) as error:
        DOTADataset(root / "images")
    message = str(error.value)
    label = root / "labelTxt" / "P0001.txt"
    assert f"{label}:1: unknown class 'car'" in message
    assert f"{label}:2: expected 8 corner coordinates" in message
    assert f"{label}:3: expected 'x1 y1 x2 y2 x3 y3 x4 y4 class difficult' (10 values), got 8" in message
    assert f"{label}:4: box" in message and "outside the 100x80 image" in message
    assert f"{label}:5: box" in message and "is twisted" in message
    assert f"{label}:6: box" in message and "has no area" in message
    assert f"{label}:7: difficult '2'" in message
    dataset = DOTADataset(root / "images", on_error="skip")
    assert len(dataset.problems) == 7
    assert len(dataset[0][1]["boxes"]) == 1


def test_given_classes_replace_dotas(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": "10 10 40 10 40 30 10 30 car 0\n"})
    dataset = DOTADataset(root / "images", root / "labelTxt", classes=["car"], background=False)
    assert dataset.classes == ["car"] and dataset[0][1]["labels"].tolist() == [0]


def test_corner_within_tolerance_is_clipped(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": "10 10 100.05 10 100.05 30 10 30 plane 0\n"})
    assert DOTADataset(root / "images").oriented_boxes(0).max() == 100.0


def test_round_trip_and_yolo_obb(tmp_path: Path) -> None:
    root = _dota(tmp_path / "src", {"P0001": V1_FILE})
    source = DOTADataset(root / "images")
    report = to_dota(source, tmp_path / "copy")
    assert report.fields_left_out == {}  # difficult is kept
    assert (tmp_path / "copy" / "labelTxt" / "P0001.txt").read_text().splitlines()[1] == (
        "60.0 20.0 80.0 40.0 60.0 60.0 40.0 40.0 plane 1"
    )
    again = DOTADataset(tmp_path / "copy" / "images")
    assert np.array_equal(again.oriented_boxes(0), source.oriented_boxes(0))
    assert again[0][1]["difficult"].tolist() == [0, 1]
    # DOTA -> YOLO-OBB -> DOTA: the same corners within DOTA's precision.
    to_yolo(source, tmp_path / "yolo", task="obb")
    obb = YOLODataset(tmp_path / "yolo" / "images", classes=source.classes[1:])
    assert np.abs(obb.oriented_boxes(0) - source.oriented_boxes(0)).max() <= 0.5
    to_dota(obb, tmp_path / "back")
    back = DOTADataset(tmp_path / "back" / "images")
    assert np.abs(back.oriented_boxes(0) - source.oriented_boxes(0)).max() <= 0.5


def test_class_names_with_spaces_are_refused(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": "10 10 40 10 40 30 10 30 car 0\n"})
    dataset = DOTADataset(root / "images", classes=["car"])
    dataset.classes = ["__background__", "small car"]
    with pytest.raises(DatasetFormatError, match="'small car'"):
        to_dota(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_guessed_and_opened(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": V1_FILE})
    assert guess_format(root) == "dota" and guess_format(root / "images") == "dota"
    assert len(open_detection(root).index.boxes) == 2
    assert len(open_detection(root / "images").index.boxes) == 2


def test_dataloader_workers_give_the_indexed_samples(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": V1_FILE, "P0002": V1_FILE, "P0003": ""})
    dataset = DOTADataset(root / "images")
    for position, (image, target) in enumerate(DataLoader(dataset, batch_size=None, num_workers=2)):
        expected_image, expected = dataset[position]
        assert torch.equal(image, expected_image)
        assert torch.equal(target["boxes"], expected["boxes"])
        assert torch.equal(target["difficult"], expected["difficult"])


def test_a_fifo_label_file_is_a_named_problem_not_a_hang(tmp_path: Path) -> None:
    root = _dota(tmp_path, {"P0001": V1_FILE})
    (root / "labelTxt" / "P0001.txt").unlink()
    os.mkfifo(root / "labelTxt" / "P0001.txt")
    result = run_isolated(
        f"""
        from visiondata.formats._dota import DOTADataset
        dataset = DOTADataset({str(root / "images")!r}, on_error="skip")
        assert len(dataset.problems) == 1 and "P0001.txt" in dataset.problems[0], dataset.problems
        assert len(dataset[0][1]["boxes"]) == 0
        """,
        timeout=60,
    )
    assert_clean_exit(result)

"""``YOLODataset`` on YOLO data laid out as Ultralytics and supervision write it (issue 19, items 1 and 3).

Fixtures are written by hand from the tools' documented layouts (no ultralytics import: it is AGPL):

- Ultralytics ``data.yaml`` whose ``train`` is a list file of ``./images/...`` lines (as YOLOv5's
  ``autosplit`` writes ``autosplit_train.txt``): ``get_img_files`` joins a ``./`` line to the list
  file's folder.
- supervision's ``DetectionDataset.as_yolo``: ``images/``, ``labels/`` and a ``data.yaml`` holding
  ``names``; with masks it writes one polygon line ``class x1 y1 ... xn yn`` (normalised) per object.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata.cli import main
from visiondata.datasets import YOLODataset
from visiondata.datasets._detection import rasterize_polygon
from visiondata.exceptions import DatasetValidationError

# ---------------------------------------------------------------- item 1: ./ lines of a list file


def list_file_dataset(root: Path) -> Path:
    """``root/ds``: ``data.yaml`` (``path: .``), ``train.txt`` of ``./images/...`` lines, images and labels."""
    ds = root / "ds"
    (ds / "images").mkdir(parents=True)
    (ds / "labels").mkdir()
    for stem in ("a", "b"):
        Image.new("RGB", (20, 10)).save(ds / "images" / f"{stem}.png")
        (ds / "labels" / f"{stem}.txt").write_text("0 0.5 0.5 0.5 0.4\n")
    (ds / "train.txt").write_text("./images/a.png\n./images/b.png\n")
    (ds / "data.yaml").write_text("path: .\ntrain: train.txt\nval: train.txt\nnames:\n  0: cat\n")
    return ds


def test_a_relative_data_yaml_with_dot_slash_list_lines_reads_the_images_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    list_file_dataset(tmp_path)
    monkeypatch.chdir(tmp_path)
    # The old reader joined "./images/a.png" to the list file's relative folder ("ds/images/a.png"),
    # then read that relative to the root: ds/ds/images/a.png, which does not exist.
    dataset = YOLODataset(data_yaml="ds/data.yaml")
    assert list(dataset.paths) == [os.path.join("images", "a.png"), os.path.join("images", "b.png")]
    assert Path(dataset.path(0)) == tmp_path / "ds" / "images" / "a.png"
    _image, target = dataset[1]
    assert target["boxes"].tolist() == [[5.0, 3.0, 15.0, 7.0]] and target["labels"].tolist() == [1]


def test_dot_slash_lines_are_relative_to_the_list_file_not_to_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = list_file_dataset(tmp_path)
    # A list file in a sub-folder: "./" is that sub-folder (Ultralytics' get_img_files rule).
    (ds / "splits").mkdir()
    (ds / "images" / "a.png").rename(ds / "splits" / "a.png")
    (ds / "splits" / "train.txt").write_text("./a.png\n")
    (ds / "data.yaml").write_text("path: .\ntrain: splits/train.txt\nnames: [cat]\n")
    monkeypatch.chdir(tmp_path)
    dataset = YOLODataset(data_yaml=Path("ds") / "data.yaml")
    assert list(dataset.paths) == [os.path.join("splits", "a.png")]


def test_convert_reads_a_relative_data_yaml_with_dot_slash_list_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    list_file_dataset(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "ds/data.yaml", "out", "--to", "coco"]) == 0
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert sorted(Path(image["file_name"]).name for image in coco["images"]) == ["a.png", "b.png"]
    assert len(coco["annotations"]) == 2


# ---------------------------------------------------------------- item 3: segment (polygon) lines

# Normalised polygons of a 100 x 80 image (x by width, y by height).
TRIANGLE = [0.1, 0.1, 0.5, 0.1, 0.1, 0.6]
PENTAGON = [0.6, 0.2, 0.9, 0.3, 0.85, 0.7, 0.65, 0.75, 0.55, 0.45]
WIDTH, HEIGHT = 100, 80


def supervision_dataset(root: Path, labels: dict[str, str]) -> Path:
    """supervision's ``as_yolo`` layout: ``images/``, ``labels/``, ``data.yaml`` with only ``names``."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for stem, text in labels.items():
        Image.new("RGB", (WIDTH, HEIGHT)).save(root / "images" / f"{stem}.jpg")
        (root / "labels" / f"{stem}.txt").write_text(text)
    (root / "data.yaml").write_text("names:\n- cat\n- dog\nnc: 2\n")
    return root


def line(category: int, values: list[float]) -> str:
    return f"{category} " + " ".join(f"{value:.5f}" for value in values) + "\n"


def polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def extent_pixels(values: list[float]) -> list[float]:
    xs, ys = np.array(values[0::2]) * WIDTH, np.array(values[1::2]) * HEIGHT
    return [xs.min(), ys.min(), xs.max(), ys.max()]


def test_supervision_segment_lines_are_read_as_their_extents_and_masks(tmp_path: Path) -> None:
    root = supervision_dataset(tmp_path, {"a": line(0, TRIANGLE) + line(1, PENTAGON)})
    # The old reader refused every polygon line: 0 boxes even with on_error="skip".
    dataset = YOLODataset(root / "images", classes=["cat", "dog"])
    assert len(dataset.index.boxes) == 2 and dataset.problems == []
    _image, target = dataset[0]
    assert target["labels"].tolist() == [1, 2]
    np.testing.assert_allclose(
        target["boxes"].numpy(), [extent_pixels(TRIANGLE), extent_pixels(PENTAGON)], atol=1e-3
    )
    assert "masks" not in target  # only when asked, as CocoDetectionDataset
    polygons = dataset.polygons(0)
    # Pixels, as every reader gives them: the normalised points scaled by the image's size.
    size = np.array([WIDTH, HEIGHT])
    np.testing.assert_allclose(polygons[0], np.reshape(TRIANGLE, (-1, 2)) * size, atol=1e-4)
    np.testing.assert_allclose(polygons[1], np.reshape(PENTAGON, (-1, 2)) * size, atol=1e-4)

    _image, target = YOLODataset(root / "images", classes=["cat", "dog"], masks=True)[0]
    masks = target["masks"]
    assert tuple(masks.shape) == (2, HEIGHT, WIDTH) and masks.dtype.is_floating_point is False
    for mask, values in zip(masks.numpy(), (TRIANGLE, PENTAGON), strict=True):
        pixels = np.reshape(values, (-1, 2)) * [WIDTH, HEIGHT]
        area = polygon_area(pixels)
        assert abs(int(mask.sum()) - area) <= 0.05 * area, (int(mask.sum()), area)
        # The mask lies inside its box.
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = extent_pixels(values)
        assert xs.min() >= np.floor(x0) and xs.max() < np.ceil(x1)
        assert ys.min() >= np.floor(y0) and ys.max() < np.ceil(y1)


def test_detect_and_segment_lines_mix_in_one_file(tmp_path: Path) -> None:
    root = supervision_dataset(
        tmp_path, {"a": line(1, PENTAGON) + "0 0.3 0.5 0.2 0.5\n", "b": "1 0.5 0.5 0.2 0.2\n"}
    )
    dataset = YOLODataset(root / "images", classes=["cat", "dog"], masks=True)
    _image, target = dataset[0]
    assert target["labels"].tolist() == [2, 1]
    np.testing.assert_allclose(
        target["boxes"].numpy(), [extent_pixels(PENTAGON), [20, 20, 40, 60]], atol=1e-3
    )
    polygons = dataset.polygons(0)
    assert polygons[1] is None and polygons[0].shape == (5, 2)
    # A box line has no polygon: its mask is its box (20 x 40 pixels).
    box_mask = target["masks"][1].numpy()
    assert int(box_mask.sum()) == 20 * 40 and box_mask[20:60, 20:40].all()
    # An image of box lines only, in the same dataset: box masks.
    _image, target = dataset[1]
    assert tuple(target["masks"].shape) == (1, HEIGHT, WIDTH) and int(target["masks"].sum()) == 20 * 16
    assert dataset.polygons(1) == [None]


def test_a_detect_only_dataset_keeps_no_polygon_arrays_and_gives_box_masks(tmp_path: Path) -> None:
    root = supervision_dataset(tmp_path, {"a": "0 0.5 0.5 0.5 0.5\n"})
    dataset = YOLODataset(root / "images", masks=True)
    assert dataset._shape_points is None and dataset.polygons(0) == [None]
    assert int(dataset[0][1]["masks"].sum()) == 50 * 40


def test_polygons_are_stored_flat(tmp_path: Path) -> None:
    labels = {f"i{index}": line(0, TRIANGLE) * 3 + "0 0.5 0.5 0.1 0.1\n" for index in range(20)}
    dataset = YOLODataset(supervision_dataset(tmp_path, labels) / "images")
    assert dataset._shape_points is not None and dataset._shape_offsets is not None
    assert dataset._shape_points.dtype == np.float32 and dataset._shape_points.shape == (20 * 3 * 6,)
    assert dataset._shape_offsets.shape == (20 * 4 + 1,)


def test_bad_segment_lines_are_named_problems(tmp_path: Path) -> None:
    root = supervision_dataset(
        tmp_path,
        {
            "a": (
                line(0, TRIANGLE)  # 1: fine
                + "0 0.1 0.1 0.5 0.1 0.1\n"  # 2: 5 coordinates
                + "0 0.1 0.1 0.5 0.1 0.1 0.6 0.3\n"  # 3: 7 coordinates
                + "0 0.3 0.3 0.2 0.1\n"  # 4: 4 values: a box line, fine
                + "0 0.1 0.1\n"  # 5: one point
                + "0 0.1 0.1 nan 0.1 0.1 0.6\n"  # 6: NaN
                + "0 0.1 0.1 0.5 0.1 0.1 1.5\n"  # 7: outside [0, 1]
                + "0 0.1 0.1 0.2 0.1 0.3 0.1\n"  # 8: on one horizontal line: no area
                + "0 0.1 0.1 0.5 0.1 0.1 1.0004\n"  # 9: float noise: snapped
                + "5 0.1 0.1 0.5 0.1 0.1 0.6\n"  # 10: no such class
            )
        },
    )
    with pytest.raises(DatasetValidationError) as error:
        YOLODataset(root / "images", classes=["cat", "dog"])
    problems = error.value.problems
    assert problems is not None and len(problems) == 7, problems
    label = root / "labels" / "a.txt"

    def about(number: int) -> str:
        (found,) = [problem for problem in problems if problem.startswith(f"{label}:{number}:")]
        return found

    assert "5 coordinates: a polygon needs x y pairs" in about(2)
    assert "7 coordinates: a polygon needs x y pairs" in about(3)
    assert "a polygon of 1 points needs at least 3" in about(5)
    assert "expected finite numbers 'class x1 y1 ... xn yn'" in about(6)
    assert "reaches 1.5" in about(7) and "expected coordinates in [0, 1]" in about(7)
    assert "expected an extent with area" in about(8)
    assert "class 5 is out of range" in about(10)
    dataset = YOLODataset(root / "images", classes=["cat", "dog"], on_error="skip", masks=True)
    assert len(dataset.problems) == 7
    _image, target = dataset[0]
    assert target["labels"].tolist() == [1, 1, 1]
    assert target["boxes"][2].tolist()[3] == pytest.approx(HEIGHT)  # line 9, clipped to the border
    assert dataset.polygons(0)[2][:, 1].max() == HEIGHT  # snapped onto the border: 1.0 of the height
    assert tuple(target["masks"].shape) == (3, HEIGHT, WIDTH)


def test_masks_must_be_a_bool(tmp_path: Path) -> None:
    root = supervision_dataset(tmp_path, {"a": line(0, TRIANGLE)})
    with pytest.raises(TypeError, match="masks: expected True or False, got 'yes'"):
        YOLODataset(root / "images", masks="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("polygon", "expected"),
    [
        ([[2, 2], [12, 2], [12, 12], [2, 12]], 100),  # a square: exactly its area
        ([[2, 2], [12, 2], [2, 12]], 45),  # a right triangle of area 50: centres on the diagonal are out
        ([[-5, -5], [30, -5], [30, 30], [-5, 30]], 400),  # beyond the image: clipped to it
        ([[0, 0], [20, 20], [20, 0], [0, 20]], 200),  # a bow tie: two triangles of area 100
    ],
)
def test_rasterize_polygon_samples_pixel_centres(polygon: list[list[float]], expected: int) -> None:
    mask = rasterize_polygon(np.array(polygon, dtype=np.float64), 20, 20)
    assert mask.dtype == np.uint8 and mask.shape == (20, 20)
    assert abs(int(mask.sum()) - expected) <= 2, int(mask.sum())


def test_rasterize_a_circle_matches_its_area() -> None:
    angles = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    circle = np.stack([60 + 35 * np.cos(angles), 45 + 35 * np.sin(angles)], axis=1)
    mask = rasterize_polygon(circle, 100, 120)
    assert abs(int(mask.sum()) - np.pi * 35**2) < 0.01 * np.pi * 35**2
    assert mask[45, 60] == 1 and mask[0, 0] == 0

"""One keypoint store and one keypoint check for every reader (issue 20).

COCO keypoints and YOLO-pose keep their keypoints in the shared `DetectionIndex` (``index.keypoints``,
aligned with the box rows), so subsets, ``drop_empty``, the removal of bad images, workers and
``target()`` carry them with their boxes through one path; both readers check each point with
`keypoint_problems`. Fixtures are written as the formats lay them out: a COCO
``person_keypoints_*.json`` and an Ultralytics pose dataset (``data.yaml`` with ``kpt_shape``,
``images/train`` + ``labels/train``, lines ``class cx cy w h px1 py1 v1 ...`` normalised).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader

from visiondata.datasets._detection import BORDER_TOLERANCE, keypoint_problems
from visiondata.exceptions import DatasetValidationError
from visiondata.formats import CocoDetectionDataset, YOLODataset

WIDTH, HEIGHT = 80, 64
NAMES = ["nose", "left_eye", "right_eye"]


def _photo(path: Path, width: int = WIDTH, height: int = HEIGHT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (width, height), (70, 90, 110))
    ImageDraw.Draw(image).ellipse((20, 10, 50, 40), outline=(240, 240, 240), width=2)
    image.save(path)


def _points_for(box: list[float]) -> list[float]:
    """Keypoints that name their box: the nose at the box's corner + 1, an eye at its centre, one unlabelled."""
    x, y, w, h = box
    return [x + 1, y + 1, 2, x + w / 2, y + h / 2, 1, 0, 0, 0]


def _coco_file(root: Path, images: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> Path:
    path = root / "person_keypoints_val.json"
    category = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": NAMES,
        "skeleton": [[2, 3]],
    }
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [category]}))
    return path


def _annotation(number: int, image_id: int, box: list[float], points: list[float] | None = None) -> dict:
    points = _points_for(box) if points is None else points
    return {
        "id": number,
        "image_id": image_id,
        "category_id": 1,
        "bbox": box,
        "area": box[2] * box[3],
        "iscrowd": 0,
        "keypoints": points,
        "num_keypoints": sum(1 for visibility in points[2::3] if visibility > 0),
    }


def _assert_aligned(boxes: np.ndarray, keypoints: np.ndarray) -> None:
    """Each box's keypoints are its own (see `_points_for`): the nose at its corner + 1."""
    assert keypoints.shape == (len(boxes), len(NAMES), 3)
    np.testing.assert_allclose(keypoints[:, 0, :2], boxes[:, :2] + 1, atol=1e-3)
    np.testing.assert_allclose(keypoints[:, 1, :2], (boxes[:, :2] + boxes[:, 2:]) / 2, atol=1e-3)


def _coco_dataset(tmp_path: Path, **options: Any) -> CocoDetectionDataset:
    """Five images: a.png (2 persons), b.png (none), missing.png (not on disk, 1 person), c.png (1 person and
    1 with a visibility of 3), d.png (3 persons)."""
    for name in ("a", "b", "c", "d"):
        _photo(tmp_path / f"{name}.png")
    images = [
        {"id": index + 1, "file_name": f"{name}.png", "width": WIDTH, "height": HEIGHT}
        for index, name in enumerate(["a", "b", "missing", "c", "d"])
    ]
    bad = _points_for([30, 30, 10, 10])
    bad[5] = 3  # a visibility COCO does not have
    annotations = [
        _annotation(1, 1, [2, 3, 20, 30]),
        _annotation(2, 3, [5, 5, 10, 10]),
        _annotation(3, 4, [10, 12, 30, 20]),
        _annotation(4, 1, [40, 8, 16, 24]),
        _annotation(5, 4, [30, 30, 10, 10], bad),
        _annotation(6, 5, [1, 1, 8, 8]),
        _annotation(7, 5, [20, 22, 14, 6]),
        _annotation(8, 5, [50, 40, 20, 20]),
    ]
    return CocoDetectionDataset(tmp_path, _coco_file(tmp_path, images, annotations), **options)


def test_coco_keypoints_live_in_the_shared_index_through_drop_empty_and_bad_image_removal(
    tmp_path: Path,
) -> None:
    dataset = _coco_dataset(tmp_path, on_error="skip", drop_empty=True)
    index = dataset.index
    # One store: the index's (M, K, 3) array, aligned with its box rows, counted in its memory.
    assert index.keypoints is not None and index.keypoints.dtype == np.float32
    assert index.keypoints.shape == (len(index.boxes), 3, 3) == (6, 3, 3)
    assert index.nbytes() >= index.keypoints.nbytes + index.boxes.nbytes
    # missing.png (a bad image) and b.png (empty) are left out; the bad annotation 5 too.
    assert [dataset.image_id(i) for i in range(len(dataset))] == [1, 4, 5]
    assert dataset.annotation_ids(1).tolist() == [3]
    assert any("annotation 5" in problem and "visibility 3" in problem for problem in dataset.problems)
    for position in range(len(dataset)):
        boxes = dataset.boxes(position)
        _assert_aligned(boxes, dataset.keypoints(position))
        _assert_aligned(boxes, dataset.target(position)["keypoints"].numpy())
        _, target = dataset[position]
        assert target["keypoints"].dtype == torch.float32
        _assert_aligned(target["boxes"].numpy(), target["keypoints"].numpy())
    # The index's own selection (as every reader's removal of images) carries the keypoints.
    chosen = index.select(np.array([False, True, True]))
    assert chosen.keypoints is not None and len(chosen.keypoints) == len(chosen.boxes) == 4
    _assert_aligned(chosen.boxes, chosen.keypoints)


def test_coco_keypoints_stay_aligned_in_subsets_pickles_and_workers(tmp_path: Path) -> None:
    dataset = _coco_dataset(tmp_path, on_error="skip")
    assert [dataset.image_id(i) for i in range(len(dataset))] == [1, 2, 4, 5]  # empty b.png kept
    assert dataset.keypoints(1).shape == (0, 3, 3)
    assert dataset[1][1]["keypoints"].shape == (0, 3, 3)
    subsets = dataset.split((0.5, 0.5), seed=3)
    assert sorted(i for subset in subsets for i in subset.indices) == [0, 1, 2, 3]
    for subset in subsets:
        for _, target in subset:
            _assert_aligned(target["boxes"].numpy(), target["keypoints"].numpy())
    # Spawned workers get a pickle: the keypoints travel with the index.
    copy = pickle.loads(pickle.dumps(dataset))
    for position in range(len(dataset)):
        np.testing.assert_array_equal(copy.keypoints(position), dataset.keypoints(position))
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=lambda batch: batch)
    seen = 0
    for batch in loader:
        for _, target in batch:
            _assert_aligned(target["boxes"].numpy(), target["keypoints"].numpy())
            seen += len(target["boxes"])
    assert seen == len(dataset.index.boxes) == 6


def test_coco_keypoints_false_holds_no_keypoints(tmp_path: Path) -> None:
    dataset = _coco_dataset(tmp_path, on_error="skip", keypoints=False)
    assert dataset.index.keypoints is None
    assert "keypoints" not in dataset[0][1]
    assert dataset.keypoints(0).shape == (2, 0, 3)


def _pose_dataset(root: Path, labels: dict[str, str], kpt_shape: tuple[int, int] = (3, 3)) -> Path:
    """``data.yaml`` + ``images/train`` + ``labels/train``, as Ultralytics lays out a pose dataset."""
    for stem, text in labels.items():
        _photo(root / "images" / "train" / f"{stem}.png")
        label = root / "labels" / "train" / f"{stem}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(text)
    spec = {"path": ".", "train": "images/train", "val": "images/train", "names": {0: "person"}}
    spec["kpt_shape"] = list(kpt_shape)
    (root / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root / "data.yaml"


def _pose_line(box: list[float], points: list[float] | None = None) -> str:
    """A pose line for a pixel ``xywh`` box whose keypoints name it (`_points_for`), normalised."""
    x, y, w, h = box
    points = _points_for(box) if points is None else points
    values = [(x + w / 2) / WIDTH, (y + h / 2) / HEIGHT, w / WIDTH, h / HEIGHT]
    for px, py, visibility in zip(points[0::3], points[1::3], points[2::3], strict=True):
        values += [px / WIDTH, py / HEIGHT, visibility]
    return "0 " + " ".join(f"{value:.6f}" for value in values) + "\n"


def test_yolo_pose_keypoints_stay_aligned_through_bad_lines_subsets_and_selection(tmp_path: Path) -> None:
    bad = _points_for([30, 30, 10, 10])
    bad[5] = 3
    data = _pose_dataset(
        tmp_path,
        {
            "a": _pose_line([2, 3, 20, 30]) + _pose_line([30, 30, 10, 10], bad) + _pose_line([40, 8, 16, 24]),
            "b": "",
            "c": _pose_line([10, 12, 30, 20]) + "0 0.5 0.5\n" + _pose_line([50, 40, 20, 20]),
        },
    )
    dataset = YOLODataset(data_yaml=data, on_error="skip")
    index = dataset.index
    assert index.keypoints is not None and index.keypoints.shape == (len(index.boxes), 3, 3) == (4, 3, 3)
    assert len(dataset.problems) == 2
    for position in range(len(dataset)):
        _, target = dataset[position]
        _assert_aligned(target["boxes"].numpy(), target["keypoints"].numpy())
        _assert_aligned(target["boxes"].numpy(), dataset.target(position)["keypoints"].numpy())
    for subset in dataset.split((0.5, 0.5), seed=1):
        for _, target in subset:
            _assert_aligned(target["boxes"].numpy(), target["keypoints"].numpy())
    chosen = index.select(np.array([True, False, False]))
    assert chosen.normalized and chosen.keypoints is not None and len(chosen.keypoints) == 2
    scale = np.array([WIDTH, HEIGHT], dtype=np.float32)
    _assert_aligned(chosen.boxes * np.tile(scale, 2), chosen.keypoints * np.append(scale, 1))


def test_yolo_pose_problems_keep_their_line_order(tmp_path: Path) -> None:
    # The pose lines' keypoints are checked in one batch per file; the problems still come line by line.
    bad = _points_for([30, 30, 10, 10])
    bad[2] = 5
    data = _pose_dataset(
        tmp_path,
        {
            "a": _pose_line([2, 3, 20, 30])
            + _pose_line([30, 30, 10, 10], bad)  # line 2: keypoint problem
            + "7 0.5 0.5 0.2 0.2 0.5 0.5 2 0.5 0.5 2 0 0 0\n"  # line 3: class problem (found first)
            + "0 0.5 0.5 0 0.2 0.5 0.5 2 0.5 0.5 2 0 0 0\n",  # line 4: box problem
        },
    )
    dataset = YOLODataset(data_yaml=data, on_error="skip")
    assert [problem.split(": ")[0].rsplit(":", 1)[1] for problem in dataset.problems] == ["2", "3", "4"]
    assert "keypoint 0: visibility 5" in dataset.problems[0]
    assert "class 7 is out of range" in dataset.problems[1]
    assert "has no area" in dataset.problems[2]
    assert len(dataset.index.boxes) == 1


def test_yolo_pose_unlabelled_point_beyond_float32_is_a_problem_not_an_infinite_keypoint(
    tmp_path: Path,
) -> None:
    # A point not labelled (visibility 0) is not checked against the image, but it is stored as float32:
    # 1e39 would become inf in the index. The one check names it, as COCO's reader does.
    data = _pose_dataset(
        tmp_path,
        {"a": _pose_line([2, 3, 20, 30]) + "0 0.5 0.5 0.2 0.2 0.5 0.5 2 0.5 0.5 1 1e39 0 0\n"},
    )
    with pytest.raises(DatasetValidationError, match=r"a\.txt:2: keypoint 2: expected finite numbers"):
        YOLODataset(data_yaml=data)
    dataset = YOLODataset(data_yaml=data, on_error="skip")
    assert dataset.index.keypoints is not None and np.isfinite(dataset.index.keypoints).all()
    assert len(dataset.index.boxes) == 1


def _f32(value: float) -> np.float32:
    return np.float32(value)


def _above(value: float) -> float:
    """The next float32 beyond ``value`` (away from zero)."""
    stored = _f32(value)
    return float(np.nextafter(stored, np.float32(np.inf if value >= 0 else -np.inf)))


@pytest.mark.parametrize(
    ("x", "y", "snapped"),
    [
        (WIDTH + WIDTH * BORDER_TOLERANCE, 10.0, (WIDTH, 10.0)),  # exactly at the tolerance: snapped
        (-WIDTH * BORDER_TOLERANCE, HEIGHT + HEIGHT * BORDER_TOLERANCE, (0.0, HEIGHT)),
        (WIDTH, HEIGHT, (WIDTH, HEIGHT)),  # on the border: kept
        (0.0, 0.0, (0.0, 0.0)),
    ],
)
def test_keypoint_check_snaps_points_up_to_exactly_the_tolerance(x: float, y: float, snapped: tuple) -> None:
    points = np.array([[[x, y, 2], [x, y, 1]]], dtype=np.float32)
    assert keypoint_problems(points, np.array([[HEIGHT, WIDTH]])) == [None]
    assert points[0, :, :2].tolist() == [list(snapped), list(snapped)]


@pytest.mark.parametrize(
    ("x", "y", "shown"),
    [
        (_above(WIDTH + WIDTH * BORDER_TOLERANCE), 10.0, "80.08"),
        (_above(-WIDTH * BORDER_TOLERANCE), 10.0, "-0.08"),
        (10.0, _above(HEIGHT + HEIGHT * BORDER_TOLERANCE), "64.064"),
    ],
)
def test_keypoint_check_refuses_a_point_just_beyond_the_tolerance(x: float, y: float, shown: str) -> None:
    points = np.array([[[5, 5, 0], [x, y, 2]]], dtype=np.float32)
    (problem,) = keypoint_problems(points, np.array([[HEIGHT, WIDTH]]), NAMES)
    assert problem is not None
    assert problem.startswith("keypoint 1 (left_eye) at (")
    assert shown in problem
    assert "is outside the 80x64 image: expected 0 <= x <= 80 and 0 <= y <= 64" in problem


def test_keypoint_check_normalised_bounds_and_message() -> None:
    points = np.array(
        [
            [[1 + BORDER_TOLERANCE, -BORDER_TOLERANCE, 2], [0.5, 0.5, 1], [7.0, -3.0, 0]],
            [[0.5, _above(1 + BORDER_TOLERANCE), 2], [0.5, 0.5, 2], [0, 0, 0]],
        ],
        dtype=np.float32,
    )
    problems = keypoint_problems(points, None)
    assert problems[0] is None
    assert points[0, 0, :2].tolist() == [1.0, 0.0]  # snapped
    assert points[0, 2].tolist() == [7.0, -3.0, 0.0]  # not labelled: not checked against the image
    assert problems[1] is not None and problems[1].startswith("keypoint 0 (0.5, 1.001")
    assert "is outside its image: expected coordinates in [0, 1], normalised by the image size" in problems[1]


def test_keypoint_check_unknown_image_size_allows_half_a_pixel_below_zero() -> None:
    points = np.array([[[-0.5, 1e6, 2]], [[_above(-0.5), 3, 2]]], dtype=np.float32)
    problems = keypoint_problems(points, np.zeros((2, 2), dtype=np.int32))
    assert problems[0] is None and points[0, 0].tolist() == [0.0, 1e6, 2.0]
    assert problems[1] is not None and "is below 0: expected coordinates >= 0" in problems[1]


def test_keypoint_check_reports_the_first_problem_in_order_and_uses_the_written_values() -> None:
    points = np.array(
        [
            [[np.nan, 0, 0], [1, 1, 3], [500, 1, 2]],  # not finite first
            [[1, 1, 2], [1, 1, 1.5], [500, 1, 2]],  # then the visibility
            [[1, 1, 2], [1, 1, 1], [500, 1, 2]],  # then outside
        ],
        dtype=np.float32,
    )
    written = np.array(
        [[[1e39, 0, 0], [1, 1, 3], [500, 1, 2]], [[0] * 3] * 3, [[0] * 3] * 3], dtype=np.float64
    )
    problems = keypoint_problems(points, np.full((3, 2), 100), NAMES, written=written.__getitem__)
    assert problems[0] == (
        "keypoint 0 (nose): expected finite numbers within float32's range, got [1e+39, 0.0, 0.0] (x, y, visibility)"
    )
    assert problems[1] == (
        "keypoint 1 (left_eye): visibility 0: expected 0 (not labelled), 1 (labelled but hidden) or 2 (visible)"
    )
    assert problems[2] is not None and problems[2].startswith("keypoint 2 (right_eye) at (0, 0) is outside")
    with pytest.raises(TypeError, match="float32"):
        keypoint_problems(points.astype(np.float64), None)


def test_coco_keypoint_written_exactly_at_the_tolerance_is_snapped_not_refused(tmp_path: Path) -> None:
    # 80.08 is 80 + 0.1% of the width: float32 rounds it up (80.0800018...), which must not make it a problem.
    _photo(tmp_path / "a.png")
    points = [80.08, 10, 2, 5, 64.064, 1, -0.08, 3, 2]
    path = _coco_file(
        tmp_path,
        [{"id": 1, "file_name": "a.png", "width": WIDTH, "height": HEIGHT}],
        [_annotation(1, 1, [2, 3, 20, 30], points)],
    )
    dataset = CocoDetectionDataset(tmp_path, path)
    assert dataset.keypoints(0)[0].tolist() == [[80.0, 10.0, 2.0], [5.0, 64.0, 1.0], [0.0, 3.0, 2.0]]


def test_yolo_keypoint_written_exactly_at_the_tolerance_is_snapped_not_refused(tmp_path: Path) -> None:
    data = _pose_dataset(tmp_path, {"a": "0 0.5 0.5 0.2 0.2 1.001 0.5 2 0.5 -0.001 1 0 0 0\n"})
    dataset = YOLODataset(data_yaml=data)
    assert dataset.index.keypoints is not None
    assert dataset.index.keypoints[0, :2].tolist() == [[1.0, 0.5, 2.0], [0.5, 0.0, 1.0]]

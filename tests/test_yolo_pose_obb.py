"""YOLO pose and OBB label lines (Ultralytics' documented layouts), read and written, and their round trips.

Fixtures are written by hand as docs.ultralytics.com/datasets/pose and /datasets/obb document them:
pose lines ``class cx cy w h px1 py1 [v1] ...`` with ``kpt_shape`` (and ``flip_idx``) in data.yaml, OBB
lines ``class x1 y1 x2 y2 x3 y3 x4 y4``, all normalised to [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader
from torchvision import tv_tensors

from visiondata.cli import main
from visiondata.exceptions import DatasetFormatError, DatasetValidationError
from visiondata.formats import to_coco, to_voc
from visiondata.formats._dota import DOTADataset, to_dota
from visiondata.formats._open import open_detection
from visiondata.formats._yolo import YOLODataset, to_yolo

WIDTH, HEIGHT = 80, 60


def _image(path: Path) -> None:
    """A small real picture: a grey background with a red rectangle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (WIDTH, HEIGHT), (90, 90, 90))
    ImageDraw.Draw(image).rectangle((20, 15, 60, 45), fill=(200, 30, 30))
    image.save(path)


def _pose_dataset(root: Path, lines: dict[str, str], kpt_shape=(3, 3), **extra) -> Path:
    """``root/data.yaml`` + ``images/train`` + ``labels/train`` as Ultralytics' pose datasets lay them out."""
    for stem, text in lines.items():
        _image(root / "images" / "train" / f"{stem}.png")
        label = root / "labels" / "train" / f"{stem}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(text)
    spec = {"path": ".", "train": "images/train", "val": "images/train", "names": {0: "person"}}
    if kpt_shape is not None:
        spec["kpt_shape"] = list(kpt_shape)
    spec.update(extra)
    (root / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root / "data.yaml"


# Three keypoints: left eye, right eye, nose (flip_idx swaps the eyes).
POSE_LINE = "0 0.5 0.5 0.5 0.5 0.375 0.333333 2 0.625 0.333333 1 0 0 0\n"


def test_pose_lines_give_pixel_keypoints_with_visibility(tmp_path: Path) -> None:
    data = _pose_dataset(
        tmp_path, {"a": POSE_LINE}, flip_idx=[1, 0, 2], kpt_names={0: ["left_eye", "right_eye", "nose"]}
    )
    dataset = YOLODataset(data_yaml=data)
    assert dataset.task == "pose"  # guessed from kpt_shape
    _, target = dataset[0]
    assert target["keypoints"].dtype == torch.float32
    assert target["keypoints"].shape == (1, 3, 3)
    expected = [[30.0, 20.0, 2.0], [50.0, 20.0, 1.0], [0.0, 0.0, 0.0]]
    assert torch.allclose(target["keypoints"][0], torch.tensor(expected), atol=1e-3)
    assert target["boxes"].tolist() == [[20.0, 15.0, 60.0, 45.0]]
    assert dataset.flip_pairs == [(0, 1)]
    assert dataset.keypoint_names == ["left_eye", "right_eye", "nose"]
    assert dataset.skeleton is None
    # The undecoded target (what writers read) gives the same pixels.
    assert np.allclose(dataset.target(0)["keypoints"].numpy(), np.array([expected]), atol=1e-3)


def test_pose_without_visibility_column_marks_zero_points_unlabelled(tmp_path: Path) -> None:
    data = _pose_dataset(tmp_path, {"a": "0 0.5 0.5 0.5 0.5 0.375 0.333333 0 0 0.5 0.5\n"}, kpt_shape=(3, 2))
    _, target = YOLODataset(data_yaml=data)[0]
    assert target["keypoints"][0, :, 2].tolist() == [2.0, 0.0, 2.0]
    assert target["keypoints"][0, 2, :2].tolist() == [40.0, 30.0]


def test_pose_problems_name_file_line_and_point(tmp_path: Path) -> None:
    lines = (
        POSE_LINE
        + "0 0.5 0.5 0.5 0.5 0.375 0.333333 2\n"  # too short
        + "0 0.5 0.5 0.5 0.5 0.375 0.333333 3 0.625 0.333333 1 0 0 0\n"  # visibility 3
        + "0 0.5 0.5 0.5 0.5 1.5 0.333333 2 0.625 0.333333 1 0 0 0\n"  # a labelled point outside
    )
    data = _pose_dataset(tmp_path, {"a": lines})
    with pytest.raises(DatasetValidationError) as error:
        YOLODataset(data_yaml=data)
    message = str(error.value)
    label = tmp_path / "labels" / "train" / "a.txt"
    assert f"{label}:2: expected 14 values" in message
    assert f"{label}:3: keypoint 0: visibility 3" in message
    assert f"{label}:4: keypoint 0 (1.5, 0.333333) is outside its image" in message
    dataset = YOLODataset(data_yaml=data, on_error="skip")
    assert len(dataset.problems) == 3
    assert len(dataset[0][1]["keypoints"]) == 1


def test_flip_idx_must_be_a_pairing_permutation_and_flip_pairs_override(tmp_path: Path) -> None:
    data = _pose_dataset(tmp_path, {"a": POSE_LINE}, flip_idx=[1, 1, 2])
    with pytest.raises(DatasetFormatError, match="flip_idx: expected a permutation"):
        YOLODataset(data_yaml=data)
    assert YOLODataset(data_yaml=data, flip_pairs=[(0, 1)]).flip_pairs == [(0, 1)]
    with pytest.raises(ValueError, match="flip_pairs: expected pairs of keypoint indices below 3"):
        YOLODataset(data_yaml=data, flip_pairs=[(0, 5)])


def test_task_pose_without_kpt_shape_is_refused(tmp_path: Path) -> None:
    data = _pose_dataset(tmp_path, {"a": POSE_LINE}, kpt_shape=None)
    with pytest.raises(DatasetFormatError, match="kpt_shape"):
        YOLODataset(data_yaml=data, task="pose")
    dataset = YOLODataset(data_yaml=data, task="pose", kpt_shape=[3, 3])
    assert dataset[0][1]["keypoints"].shape == (1, 3, 3)


OBB_LINE = "0 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n"
ROTATED_LINE = "0 0.5 0.166667 0.75 0.5 0.5 0.833333 0.25 0.5\n"  # a diamond


def _obb_folder(root: Path, text: str) -> Path:
    _image(root / "images" / "a.png")
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "a.txt").write_text(text)
    return root / "images"


def test_obb_lines_are_guessed_and_give_xyxyxyxy_boxes(tmp_path: Path) -> None:
    dataset = YOLODataset(_obb_folder(tmp_path, OBB_LINE + ROTATED_LINE), classes=["plane"])
    assert dataset.task == "obb"
    _, target = dataset[0]
    boxes = target["boxes"]
    assert isinstance(boxes, tv_tensors.BoundingBoxes)
    assert boxes.format == tv_tensors.BoundingBoxFormat.XYXYXYXY
    assert tuple(boxes.canvas_size) == (HEIGHT, WIDTH)
    assert np.allclose(boxes[0].tolist(), [20, 15, 60, 15, 60, 45, 20, 45], atol=1e-3)
    assert np.allclose(boxes[1].tolist(), [40, 10, 60, 30, 40, 50, 20, 30], atol=1e-3)
    # The index keeps the enclosing boxes beside the corners, normalised (check and filters use them).
    assert np.allclose(
        dataset.boxes(0), [[0.25, 0.25, 0.75, 0.75], [0.25, 0.166667, 0.75, 0.833333]], atol=1e-6
    )
    assert dataset.index.corners.shape == (2, 8)


def test_nine_values_beside_other_lines_stay_segments(tmp_path: Path) -> None:
    dataset = YOLODataset(_obb_folder(tmp_path, OBB_LINE + "0 0.5 0.5 0.2 0.2\n"), classes=["plane"])
    assert dataset.task == "detect"
    assert dataset[0][1]["boxes"].format == tv_tensors.BoundingBoxFormat.XYXY


def test_rectangles_only_stay_segments_unless_task_obb(tmp_path: Path) -> None:
    # to_yolo writes boxes as rectangle segment lines: 9 values, but not oriented boxes.
    images = _obb_folder(tmp_path, OBB_LINE)
    assert YOLODataset(images, classes=["plane"]).task == "detect"
    dataset = YOLODataset(images, classes=["plane"], task="obb")
    assert dataset[0][1]["boxes"].format == tv_tensors.BoundingBoxFormat.XYXYXYXY


def test_obb_problems_name_file_and_line(tmp_path: Path) -> None:
    text = (
        OBB_LINE
        + "0 0.25 0.25 0.75 0.75 0.75 0.25 0.25 0.75\n"  # twisted: the sides cross
        + "0 0.25 0.25 0.75 0.25 1.5 0.75 0.25 0.75\n"  # a corner outside
        + "0 0.25 0.25 0.5 0.25 0.75 0.25 0.6 0.25\n"  # no area
    )
    images = _obb_folder(tmp_path, text)
    with pytest.raises(DatasetValidationError) as error:
        YOLODataset(images, classes=["plane"], task="obb")
    message = str(error.value)
    label = tmp_path / "labels" / "a.txt"
    assert f"{label}:2: oriented box" in message and "is twisted" in message
    assert f"{label}:3: oriented box" in message and "reaches outside the image" in message
    assert f"{label}:4: oriented box" in message and "has no area" in message
    dataset = YOLODataset(images, classes=["plane"], task="obb", on_error="skip")
    assert len(dataset.problems) == 3 and len(dataset[0][1]["boxes"]) == 1


def test_pose_round_trip_keeps_keypoints_and_flip_pairs(tmp_path: Path) -> None:
    lines = POSE_LINE + "0 0.3 0.4 0.2 0.3 0.25 0.3 2 0.35 0.3 2 0.3 0.45 1\n"
    data = _pose_dataset(
        tmp_path / "src", {"a": lines}, flip_idx=[1, 0, 2], kpt_names={0: ["left_eye", "right_eye", "nose"]}
    )
    source = YOLODataset(data_yaml=data)
    report = to_yolo(source, tmp_path / "out", task="pose")
    assert report.fields_left_out == {}
    spec = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert spec["kpt_shape"] == [3, 3] and spec["flip_idx"] == [1, 0, 2]
    assert spec["kpt_names"][0] == ["left_eye", "right_eye", "nose"]
    back = YOLODataset(data_yaml=tmp_path / "out" / "data.yaml")
    assert back.task == "pose" and back.flip_pairs == source.flip_pairs
    assert back.keypoint_names == source.keypoint_names
    assert np.allclose(back.index.keypoints, source.index.keypoints, atol=1e-6)
    assert np.allclose(back.index.boxes, source.index.boxes, atol=1e-6)
    # task=None picks pose for a source with keypoints.
    to_yolo(source, tmp_path / "auto")
    assert "kpt_shape" in yaml.safe_load((tmp_path / "auto" / "data.yaml").read_text())


def test_obb_to_dota_and_back_keeps_corners(tmp_path: Path) -> None:
    source = YOLODataset(_obb_folder(tmp_path / "src", OBB_LINE + ROTATED_LINE), classes=["plane"])
    report = to_dota(source, tmp_path / "dota")
    assert report.boxes == 2
    dota = DOTADataset(tmp_path / "dota" / "images", classes=["plane"])
    pixels = source.oriented_boxes(0)
    assert np.abs(dota.oriented_boxes(0) - pixels).max() <= 0.05
    to_yolo(dota, tmp_path / "yolo")  # task=None: obb for oriented boxes
    back = YOLODataset(tmp_path / "yolo" / "images", classes=["plane"])
    assert back.task == "obb"
    assert np.abs(back.oriented_boxes(0) - pixels).max() <= 0.05


def test_what_a_task_cannot_hold_is_counted(tmp_path: Path) -> None:
    obb = YOLODataset(_obb_folder(tmp_path / "obb", OBB_LINE + ROTATED_LINE), classes=["plane"])
    report = to_yolo(obb, tmp_path / "detect", task="detect")
    assert report.fields_left_out == {"oriented_boxes": 1}  # the axis-aligned one loses nothing
    written = (tmp_path / "detect" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert [len(line.split()) for line in written] == [5, 5]
    # COCO and VOC hold the enclosing box of the rotated one too, and say so.
    assert to_coco(obb, tmp_path / "coco").fields_left_out == {"oriented_boxes": 1}
    assert to_voc(obb, tmp_path / "voc").fields_left_out == {"oriented_boxes": 1}
    segments = to_yolo(obb, tmp_path / "segment", task="segment")
    assert segments.fields_left_out == {}  # a segment line holds the quadrilateral
    lines = (tmp_path / "segment" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert lines[1] == "0 0.500000 0.166667 0.750000 0.500000 0.500000 0.833333 0.250000 0.500000"
    pose = YOLODataset(data_yaml=_pose_dataset(tmp_path / "pose", {"a": POSE_LINE}))
    assert to_dota(pose, tmp_path / "dota").fields_left_out == {"keypoints": 1}
    assert to_yolo(pose, tmp_path / "obb-out", task="obb").fields_left_out == {"keypoints": 1}
    with pytest.raises(ValueError, match="task='pose': YOLODataset has no keypoints"):
        to_yolo(obb, tmp_path / "nope", task="pose")
    assert not (tmp_path / "nope").exists()


def test_dataloader_workers_give_the_indexed_samples(tmp_path: Path) -> None:
    pose = YOLODataset(data_yaml=_pose_dataset(tmp_path / "pose", {"a": POSE_LINE, "b": POSE_LINE}))
    obb = YOLODataset(_obb_folder(tmp_path / "obb", OBB_LINE + ROTATED_LINE), classes=["plane"])
    for dataset, key in ((pose, "keypoints"), (obb, "boxes")):
        loader = DataLoader(dataset, batch_size=None, num_workers=2)
        for position, (image, target) in enumerate(loader):
            expected_image, expected = dataset[position]
            assert torch.equal(image, expected_image)
            assert torch.equal(target[key], expected[key])


def test_convert_command_writes_dota_and_yolo_tasks(tmp_path: Path) -> None:
    images = _obb_folder(tmp_path / "src", OBB_LINE + ROTATED_LINE)
    out = tmp_path / "dota"
    assert main(["convert", str(images), str(out), "--to", "dota", "--classes", "plane", "--json"]) == 0
    assert len((out / "labelTxt" / "a.txt").read_text().splitlines()) == 2
    assert open_detection(out).oriented_boxes(0).shape == (2, 8)
    yolo = tmp_path / "yolo"
    assert (
        main(["convert", str(out), str(yolo), "--to", "yolo", "--classes", "plane", "--task", "detect"]) == 0
    )
    assert YOLODataset(data_yaml=yolo / "data.yaml").task == "detect"
    assert main(["convert", str(out), str(tmp_path / "x"), "--to", "coco", "--task", "pose"]) == 1

"""COCO keypoints (issue 20): ``CocoDetectionDataset(..., keypoints=True)`` reads a ``person_keypoints_*.json``
laid out as COCO's own files are, and ``to_coco`` writes keypoints back (losslessly from a COCO source)."""

from __future__ import annotations

import copy
import gc
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from visiondata.exceptions import DatasetFormatError, DatasetValidationError
from visiondata.formats import CocoDetectionDataset, to_coco

# COCO's person category exactly as person_keypoints_val2017.json writes it.
COCO_KEYPOINT_NAMES = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
COCO_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [8, 6], [9, 7],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip
PERSON = {
    "supercategory": "person",
    "id": 1,
    "name": "person",
    "keypoints": COCO_KEYPOINT_NAMES,
    "skeleton": COCO_SKELETON,
}


def _photo(path: Path, width: int, height: int, seed: int) -> None:
    """A small JPEG with a gradient and a figure drawn on it (real encoded pixels, not a blank canvas)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    pixels = np.concatenate(
        [x.repeat(height, 0), y.repeat(width, 1), np.full((height, width, 1), 90.0)], axis=2
    )
    pixels += rng.normal(0, 8, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse([width // 3, 4, width // 3 + 12, 16], outline=(250, 250, 250))
    draw.line([width // 3 + 6, 16, width // 3 + 6, height - 10], fill=(250, 250, 250), width=2)
    image.save(path, quality=90)


def _person_keypoints(seed: int, visible: int = 17, x0: int = 10, y0: int = 6) -> list[int]:
    """COCO's flat ``[x1, y1, v1, ...]`` for 17 points: the first ``visible`` labelled, the rest ``0, 0, 0``."""
    rng = np.random.default_rng(seed)
    values: list[int] = []
    for index in range(17):
        if index < visible:
            values += [int(x0 + rng.integers(0, 40)), int(y0 + rng.integers(0, 40)), int(rng.choice([1, 2]))]
        else:
            values += [0, 0, 0]
    return values


def _labelled(keypoints: list[float]) -> int:
    return sum(1 for visibility in keypoints[2::3] if visibility > 0)


def write_keypoints_file(root: Path, annotations: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
    """``root/images/*.jpg`` and ``root/annotations/person_keypoints_val.json`` in COCO's layout."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    _photo(root / "images" / "000000000785.jpg", 80, 64, 1)
    _photo(root / "images" / "000000000872.jpg", 72, 60, 2)
    if annotations is None:
        first, second, third = _person_keypoints(1), _person_keypoints(2, visible=9), _person_keypoints(3, 12)
        annotations = [
            {
                "segmentation": [[10, 6, 60, 6, 60, 50, 10, 50]],
                "num_keypoints": _labelled(first),
                "area": 1520.5,
                "iscrowd": 0,
                "keypoints": first,
                "image_id": 785,
                "bbox": [8.5, 4.25, 55, 50],
                "category_id": 1,
                "id": 101,
            },
            {
                "segmentation": [[30, 10, 60, 10, 60, 50]],
                "num_keypoints": 0,
                "area": 310.0,
                "iscrowd": 0,
                "keypoints": [0] * 51,
                "image_id": 785,
                "bbox": [30, 10, 30, 40],
                "category_id": 1,
                "id": 102,
            },
            {
                "segmentation": [[12, 8, 52, 8, 52, 50]],
                "num_keypoints": _labelled(second),
                "area": 900,
                "iscrowd": 0,
                "keypoints": second,
                "image_id": 872,
                "bbox": [9, 5, 45, 52],
                "category_id": 1,
                "id": 103,
            },
            {
                "segmentation": {"counts": [0, 4320], "size": [60, 72]},
                "num_keypoints": 0,
                "area": 4320,
                "iscrowd": 1,
                "keypoints": [0] * 51,
                "image_id": 872,
                "bbox": [0, 0, 72, 60],
                "category_id": 1,
                "id": 104,
            },
            {
                "segmentation": [[14, 9, 50, 9, 50, 48]],
                "num_keypoints": _labelled(third),
                "area": 700.25,
                "iscrowd": 0,
                "keypoints": third,
                "image_id": 872,
                "bbox": [10, 6, 44, 50],
                "category_id": 1,
                "id": 105,
            },
        ]
    content = {
        "info": {"description": "hand-made keypoints", "version": "1.0", "year": 2026},
        "licenses": [{"url": "http://example.org", "id": 1, "name": "test"}],
        "images": [
            {"license": 1, "file_name": "000000000785.jpg", "height": 64, "width": 80, "id": 785},
            {"license": 1, "file_name": "000000000872.jpg", "height": 60, "width": 72, "id": 872},
        ],
        "annotations": annotations,
        "categories": extra.pop("categories", [PERSON]),
    }
    path = root / "annotations" / "person_keypoints_val.json"
    path.write_text(json.dumps(content))
    return path


def _one(keypoints: list[float], num_keypoints: Any = "count", **fields: Any) -> dict[str, Any]:
    annotation = {
        "id": fields.pop("id", 1),
        "image_id": 785,
        "category_id": 1,
        "bbox": [8, 4, 50, 50],
        "area": 2500,
        "iscrowd": 0,
        "keypoints": keypoints,
        **fields,
    }
    if num_keypoints == "count":
        annotation["num_keypoints"] = _labelled(keypoints)
    elif num_keypoints is not None:
        annotation["num_keypoints"] = num_keypoints
    return annotation


# ---------------------------------------------------------------------------------------------- reading


def test_person_keypoints_file_gives_keypoints_aligned_with_boxes(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    written = json.loads(path.read_text())["annotations"]
    dataset = CocoDetectionDataset(tmp_path / "images", path)  # chosen automatically: the category names them
    assert dataset.keypoint_names == COCO_KEYPOINT_NAMES
    assert dataset.skeleton == [(first - 1, second - 1) for first, second in COCO_SKELETON]  # 0-based
    assert dataset.flip_pairs == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
    _, target = dataset[0]
    keypoints = target["keypoints"]
    assert keypoints.dtype == torch.float32 and keypoints.shape == (2, 17, 3)
    assert len(target["boxes"]) == 2
    expected = np.array([written[0]["keypoints"], written[1]["keypoints"]], dtype=np.float32).reshape(
        2, 17, 3
    )
    assert np.array_equal(keypoints.numpy(), expected)
    # Image 872: the crowd region (104) is left out by default, and its keypoints with it.
    _, target = dataset[1]
    assert target["keypoints"].shape == (2, 17, 3)
    assert dataset.annotation_ids(1).tolist() == [103, 105]
    assert np.array_equal(
        target["keypoints"].numpy(),
        np.array([written[2]["keypoints"], written[4]["keypoints"]]).reshape(2, 17, 3),
    )
    assert np.array_equal(dataset.keypoints(1), target["keypoints"].numpy())
    assert dataset.target(1)["keypoints"].shape == (2, 17, 3)


def test_include_crowd_and_drop_empty_keep_keypoints_aligned(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    written = {item["id"]: item for item in json.loads(path.read_text())["annotations"]}
    dataset = CocoDetectionDataset(tmp_path / "images", path, include_crowd=True, drop_empty=True)
    for index in range(len(dataset)):
        target = dataset[index][1]
        ids = dataset.annotation_ids(index).tolist()
        expected = np.array([written[i]["keypoints"] for i in ids], dtype=np.float32).reshape(-1, 17, 3)
        assert np.array_equal(target["keypoints"].numpy(), expected)
        assert len(target["keypoints"]) == len(target["boxes"]) == len(target["iscrowd"])


def test_keypoints_false_and_instance_files_have_no_keypoints(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    dataset = CocoDetectionDataset(tmp_path / "images", path, keypoints=False)
    assert "keypoints" not in dataset[0][1]
    assert dataset.keypoint_names is None and dataset.skeleton is None and dataset.flip_pairs is None
    # An instances file (categories without keypoints): no keypoints either.
    instances = tmp_path / "instances.json"
    content = json.loads(path.read_text())
    content["categories"] = [{"id": 1, "name": "person"}]
    instances.write_text(json.dumps(content))
    assert "keypoints" not in CocoDetectionDataset(tmp_path / "images", instances)[0][1]
    with pytest.raises(ValueError, match="keypoints: expected True, False or None"):
        CocoDetectionDataset(tmp_path / "images", path, keypoints="yes")  # type: ignore[arg-type]


def test_keypoints_true_on_a_file_without_names_takes_the_count_from_the_annotations(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path, categories=[{"id": 1, "name": "person"}])
    dataset = CocoDetectionDataset(tmp_path / "images", path, keypoints=True)
    assert dataset[0][1]["keypoints"].shape == (2, 17, 3)
    assert dataset.keypoint_names is None and dataset.skeleton is None and dataset.flip_pairs is None
    empty = write_keypoints_file(
        tmp_path / "boxes", [{"id": 1, "image_id": 785, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        categories=[{"id": 1, "name": "person"}],
    )  # fmt: skip
    with pytest.raises(DatasetFormatError, match="keypoints=True, but no category read lists keypoint names"):
        CocoDetectionDataset(tmp_path / "boxes" / "images", empty, keypoints=True)


def test_flip_pairs_keyword_overrides_and_is_checked(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    dataset = CocoDetectionDataset(tmp_path / "images", path, flip_pairs=[[1, 2], (5, 6)])
    assert dataset.flip_pairs == [(1, 2), (5, 6)]
    for bad in ([(1, 17)], [(3, 3)], [(1, 2), (2, 4)], [(1,)], [(True, 2)]):
        with pytest.raises(
            ValueError, match=r"flip_pairs: expected pairs \(i, j\) of distinct keypoint indices"
        ):
            CocoDetectionDataset(tmp_path / "images", path, flip_pairs=bad)
    with pytest.raises(ValueError, match="read without keypoints"):
        CocoDetectionDataset(tmp_path / "images", path, keypoints=False, flip_pairs=[(1, 2)])


def test_annotation_without_keypoints_gets_all_zero_keypoints(tmp_path: Path) -> None:
    # COCOeval ignores a ground truth with num_keypoints == 0 (and needs keypoints on every one): an
    # annotation without them is an unlabelled person, all zeros.
    path = write_keypoints_file(
        tmp_path,
        [
            _one(_person_keypoints(1), id=1),
            {"id": 2, "image_id": 785, "category_id": 1, "bbox": [20, 20, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 3, "image_id": 785, "category_id": 1, "bbox": [20, 20, 10, 10], "keypoints": None},
        ],
    )
    target = CocoDetectionDataset(tmp_path / "images", path)[0][1]
    assert target["keypoints"].shape == (3, 17, 3)
    assert not target["keypoints"][1:].any()


def test_num_keypoints_that_does_not_count_the_labelled_points_is_a_named_problem(tmp_path: Path) -> None:
    points = _person_keypoints(4, visible=10)
    path = write_keypoints_file(
        tmp_path, [_one(points, num_keypoints=11, id=7), _one(_person_keypoints(5), id=8)]
    )
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path / "images", path)
    message = str(caught.value)
    assert "annotation 7 (image 785, 000000000785.jpg)" in message
    assert "num_keypoints 11: expected the count of labelled keypoints (visibility 1 or 2), 10" in message
    dataset = CocoDetectionDataset(tmp_path / "images", path, on_error="skip")
    assert dataset.annotation_ids(0).tolist() == [8]
    assert dataset[0][1]["keypoints"].shape == (1, 17, 3)
    assert len(dataset.problems) == 1 and "annotation 7" in dataset.problems[0]
    # Without num_keypoints there is nothing to compare: read.
    path = write_keypoints_file(tmp_path / "no_count", [_one(points, num_keypoints=None)])
    assert CocoDetectionDataset(tmp_path / "no_count" / "images", path)[0][1]["keypoints"].shape == (1, 17, 3)


def test_keypoint_outside_its_image_is_a_named_problem_and_border_noise_is_snapped(tmp_path: Path) -> None:
    outside = _person_keypoints(6)
    outside[3 * 4 : 3 * 4 + 3] = [81.5, 20, 2]  # right_ear beyond the 80-pixel width
    hidden_far = _person_keypoints(6)
    hidden_far[3 * 2 : 3 * 2 + 3] = [500, -40, 0]  # not labelled: its coordinates are not checked
    noise = _person_keypoints(6)
    noise[0:3] = [80.05, -0.04, 1]  # within 0.1% of the side: snapped onto the border
    path = write_keypoints_file(tmp_path, [_one(outside, id=1), _one(hidden_far, id=2), _one(noise, id=3)])
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path / "images", path)
    message = str(caught.value)
    assert "annotation 1 (image 785, 000000000785.jpg): keypoint 4 (right_ear) at (81.5, 20)" in message
    assert "outside the 80x64 image: expected 0 <= x <= 80 and 0 <= y <= 64" in message
    assert "annotation 2" not in message and "annotation 3" not in message
    with pytest.warns(Warning, match="skipped 1 annotation problem"):
        dataset = CocoDetectionDataset(tmp_path / "images", path, on_error="warn")
    assert dataset.annotation_ids(0).tolist() == [2, 3]
    keypoints = dataset[0][1]["keypoints"]
    assert keypoints[1, 0].tolist() == [80.0, 0.0, 1.0]
    assert keypoints[0, 2].tolist() == [500.0, -40.0, 0.0]


@pytest.mark.parametrize(
    ("keypoints", "expected"),
    [
        ([1, 2, 2] * 16, "keypoints: expected 51 numbers (17 keypoints x, y, visibility as the category names them), got 48"),
        ([1, 2, 3] + [0] * 48, "keypoint 0 (nose): visibility 3: expected 0 (not labelled), 1 (labelled but hidden) or 2"),
        (["1", 2, 2] + [0] * 48, "keypoints: expected a list of numbers [x1, y1, v1, x2, y2, v2, ...]"),
        ({"x": 1}, "keypoints: expected a list of numbers"),
        ([1e39, 2, 2] + [0] * 48, "keypoint 0 (nose): expected finite numbers within float32's range"),
    ],
)  # fmt: skip
def test_malformed_keypoints_are_problems_of_their_annotation(
    tmp_path: Path, keypoints: Any, expected: str
) -> None:
    path = write_keypoints_file(
        tmp_path, [_one(keypoints, num_keypoints=None, id=9), _one(_person_keypoints(1), id=10)]
    )
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path / "images", path)
    assert "annotation 9 (image 785, 000000000785.jpg): " + expected in str(caught.value)
    dataset = CocoDetectionDataset(tmp_path / "images", path, on_error="skip")
    assert dataset.annotation_ids(0).tolist() == [10] and len(dataset.problems) == 1


def test_nan_keypoints_written_by_python_json_are_a_problem(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path, [_one([float("nan"), 2, 2] + [0] * 48, num_keypoints=None, id=4)])
    assert "NaN" in path.read_text()
    with pytest.raises(DatasetValidationError, match=r"annotation 4 .*keypoint 0 \(nose\): expected finite"):
        CocoDetectionDataset(tmp_path / "images", path)


def test_num_keypoints_that_is_not_an_integer_is_a_schema_problem(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path, [_one(_person_keypoints(1), num_keypoints="all", id=5)])
    with pytest.raises(
        DatasetValidationError,
        match=r"annotation 5 \(annotations\[0\]\): not a COCO annotation: .*num_keypoints",
    ):
        CocoDetectionDataset(tmp_path / "images", path)


def test_categories_with_different_keypoint_lists_are_refused_unless_one_is_selected(tmp_path: Path) -> None:
    hand = {
        "id": 2,
        "name": "hand",
        "keypoints": ["wrist", "thumb_tip", "index_tip"],
        "skeleton": [[1, 2], [1, 3]],
    }
    annotations = [
        _one(_person_keypoints(1), id=1),
        {"id": 2, "image_id": 785, "category_id": 2, "bbox": [1, 1, 9, 9], "keypoints": [2, 2, 2, 5, 5, 2, 0, 0, 0],
         "num_keypoints": 2},
    ]  # fmt: skip
    path = write_keypoints_file(tmp_path, annotations, categories=[PERSON, hand])
    with pytest.raises(DatasetFormatError, match="the categories read name different keypoints") as caught:
        CocoDetectionDataset(tmp_path / "images", path)
    assert "1 ('person'): 17 keypoints" in str(caught.value) and "2 ('hand'): 3 keypoints" in str(
        caught.value
    )
    assert "classes=[...]" in str(caught.value)
    hands = CocoDetectionDataset(
        tmp_path / "images", path, classes=["__background__", "hand"], on_error="skip"
    )
    assert hands.keypoint_names == ["wrist", "thumb_tip", "index_tip"] and hands.skeleton == [(0, 1), (0, 2)]
    assert hands.flip_pairs == []
    assert hands[0][1]["keypoints"].tolist() == [[[2, 2, 2], [5, 5, 2], [0, 0, 0]]]
    # Boxes only: both categories, no keypoints.
    assert "keypoints" not in CocoDetectionDataset(tmp_path / "images", path, keypoints=False)[0][1]


def test_a_category_without_keypoint_names_beside_one_with_gets_zero_keypoints(tmp_path: Path) -> None:
    annotations = [
        _one(_person_keypoints(1), id=1),
        {"id": 2, "image_id": 785, "category_id": 2, "bbox": [1, 1, 9, 9]},
    ]
    path = write_keypoints_file(tmp_path, annotations, categories=[PERSON, {"id": 2, "name": "dog"}])
    target = CocoDetectionDataset(tmp_path / "images", path)[0][1]
    assert target["labels"].tolist() == [1, 2] and target["keypoints"].shape == (2, 17, 3)
    assert not target["keypoints"][1].any()


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        (
            {**PERSON, "skeleton": [[0, 1]]},
            "COCO's skeleton is 1-based), got [0, 1]: 0 is not an index in COCO",
        ),
        ({**PERSON, "skeleton": [[1, 18]]}, "skeleton: expected pairs of keypoint indices from 1 to 17"),
        ({**PERSON, "keypoints": ["nose", 3]}, "keypoints: expected a list of keypoint names (strings)"),
    ],
)
def test_malformed_keypoint_categories_are_refused(
    tmp_path: Path, category: dict[str, Any], expected: str
) -> None:
    path = write_keypoints_file(tmp_path, categories=[category])
    with pytest.raises(DatasetFormatError) as caught:
        CocoDetectionDataset(tmp_path / "images", path)
    assert "category 1 ('person')" in str(caught.value) and expected in str(caught.value)
    assert "keypoints=False" in str(caught.value)
    assert len(CocoDetectionDataset(tmp_path / "images", path, keypoints=False)) == 2


def test_dataloader_workers_give_the_samples_indexing_gives(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    dataset = CocoDetectionDataset(tmp_path / "images", path, include_crowd=True)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=None, num_workers=2, multiprocessing_context="spawn", persistent_workers=False
    )
    for index, (image, target) in enumerate(loader):
        expected_image, expected = dataset[index]
        assert torch.equal(image, expected_image)
        assert torch.equal(target["keypoints"], expected["keypoints"])
        assert torch.equal(target["boxes"], expected["boxes"])


def test_no_python_object_per_annotation_survives_construction(tmp_path: Path) -> None:
    count = 3000
    rng = np.random.default_rng(0)
    annotations = [_one(_person_keypoints(int(seed), visible=8), id=index + 1) for index, seed in
                   enumerate(rng.integers(0, 50, count))]  # fmt: skip
    path = write_keypoints_file(tmp_path, annotations)
    gc.collect()
    before = len(gc.get_objects())
    dataset = CocoDetectionDataset(tmp_path / "images", path)
    gc.collect()
    assert len(gc.get_objects()) - before < count // 10
    assert dataset.keypoints(0).shape == (count, 17, 3)


# ---------------------------------------------------------------------------------------------- writing


KEYPOINT_FIELDS = ("keypoints", "num_keypoints")


def test_coco_to_coco_keeps_every_keypoint_field_as_written(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    original = json.loads(path.read_text())
    dataset = CocoDetectionDataset(tmp_path / "images", path, include_crowd=True)
    report = to_coco(dataset, tmp_path / "out")
    assert "keypoints" not in report.fields_left_out
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert written["categories"] == original["categories"]  # keypoint names and the 1-based skeleton
    by_id = {item["id"]: item for item in written["annotations"]}
    for annotation in original["annotations"]:
        for name in KEYPOINT_FIELDS:
            value = by_id[annotation["id"]][name]
            assert value == annotation[name]
            assert [type(item) for item in np.atleast_1d(value).tolist()] == [
                type(item) for item in np.atleast_1d(annotation[name]).tolist()
            ]  # integers stay integers
    assert written["annotations"] == original["annotations"]
    again = CocoDetectionDataset(
        tmp_path / "out" / "images", tmp_path / "out" / "annotations.json", include_crowd=True
    )
    for index in range(len(dataset)):
        assert torch.equal(again[index][1]["keypoints"], dataset[index][1]["keypoints"])
    assert (again.keypoint_names, again.skeleton, again.flip_pairs) == (
        dataset.keypoint_names,
        dataset.skeleton,
        dataset.flip_pairs,
    )


def test_coco_to_coco_fills_in_what_the_reader_filled_in(tmp_path: Path) -> None:
    points = _person_keypoints(6)
    points[0:3] = [80.05, 3, 2]  # snapped onto the border by the reader: written as it holds it
    path = write_keypoints_file(
        tmp_path,
        [
            _one(points, num_keypoints=None, id=1),
            {"id": 2, "image_id": 785, "category_id": 1, "bbox": [20, 20, 10, 10], "area": 100, "iscrowd": 0},
        ],
    )
    to_coco(CocoDetectionDataset(tmp_path / "images", path), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
    assert written[0]["keypoints"] == [80, *points[1:]]
    assert written[0]["num_keypoints"] == 17
    assert written[1]["keypoints"] == [0] * 51 and written[1]["num_keypoints"] == 0


def test_keypoints_false_writes_the_file_keypoints_untouched(tmp_path: Path) -> None:
    path = write_keypoints_file(tmp_path)
    original = json.loads(path.read_text())
    to_coco(
        CocoDetectionDataset(tmp_path / "images", path, keypoints=False, include_crowd=True), tmp_path / "out"
    )
    assert (
        json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
        == original["annotations"]
    )


class _PoseSamples:
    """Decoded samples with keypoints and no files (as a transformed or in-memory source gives them)."""

    def __init__(self, root: Path) -> None:
        self.classes = ["__background__", "person"]
        self.keypoint_names = ["left_hand", "right_hand", "head"]
        self.skeleton = [(0, 2), (1, 2)]
        _photo(root / "a.jpg", 40, 30, 3)
        self.image = torch.from_numpy(np.array(Image.open(root / "a.jpg"))).permute(2, 0, 1)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> tuple[Any, dict[str, Any]]:
        from torchvision import tv_tensors

        boxes = tv_tensors.BoundingBoxes([[2, 3, 30, 25]], format="XYXY", canvas_size=(30, 40))
        keypoints = torch.tensor([[[4.0, 5.25, 2.0], [0.0, 0.0, 0.0], [20.1, 7.0, 1.0]]])
        return tv_tensors.Image(self.image), {
            "boxes": boxes,
            "labels": torch.tensor([1]),
            "keypoints": keypoints,
        }


def test_other_sources_write_keypoints_num_keypoints_names_and_one_based_skeleton(tmp_path: Path) -> None:
    report = to_coco(_PoseSamples(tmp_path), tmp_path / "out")
    assert "keypoints" not in report.fields_left_out
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    (annotation,) = written["annotations"]
    assert annotation["keypoints"] == [4, 5.25, 2, 0, 0, 0, 20.1, 7, 1]
    assert [type(value) for value in annotation["keypoints"]] == [
        int,
        float,
        int,
        int,
        int,
        int,
        float,
        int,
        int,
    ]
    assert annotation["num_keypoints"] == 2
    assert written["categories"] == [
        {
            "id": 1,
            "name": "person",
            "keypoints": ["left_hand", "right_hand", "head"],
            "skeleton": [[1, 3], [2, 3]],
        }
    ]
    again = CocoDetectionDataset(tmp_path / "out" / "images", tmp_path / "out" / "annotations.json")
    assert again.skeleton == [(0, 2), (1, 2)] and again.flip_pairs == [(0, 1)]
    assert torch.allclose(again[0][1]["keypoints"], _PoseSamples(tmp_path)[0][1]["keypoints"])


def test_cocoeval_keypoints_of_a_ground_truth_copy_of_our_output_is_ap_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    path = write_keypoints_file(tmp_path)
    # Also an annotation whose num_keypoints the file left out and one without keypoints: COCOeval reads
    # both fields of every ground truth, so the writer fills them in (the count; all zeros).
    content = json.loads(path.read_text())
    del content["annotations"][0]["num_keypoints"]
    content["annotations"].append(
        {"id": 106, "image_id": 872, "category_id": 1, "bbox": [3, 3, 20, 20], "area": 400}
    )
    path.write_text(json.dumps(content))
    to_coco(CocoDetectionDataset(tmp_path / "images", path, include_crowd=True), tmp_path / "out")
    ground_truth = COCO(str(tmp_path / "out" / "annotations.json"))
    detections = [
        {
            "image_id": item["image_id"],
            "category_id": item["category_id"],
            "keypoints": copy.deepcopy(item["keypoints"]),
            "score": 1.0,
        }
        for item in ground_truth.dataset["annotations"]
        if item["num_keypoints"] > 0 and not item["iscrowd"]
    ]
    evaluation = COCOeval(ground_truth, ground_truth.loadRes(detections), iouType="keypoints")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    capsys.readouterr()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_masks_and_keypoints_together_stay_aligned(tmp_path: Path) -> None:
    pytest.importorskip("pycocotools")
    path = write_keypoints_file(tmp_path)
    written = {item["id"]: item for item in json.loads(path.read_text())["annotations"]}
    dataset = CocoDetectionDataset(tmp_path / "images", path, masks=True, include_crowd=True)
    target = dataset[1][1]
    assert target["masks"].shape == (3, 60, 72) and target["keypoints"].shape == (3, 17, 3)
    ids = dataset.annotation_ids(1).tolist()
    assert ids == [103, 104, 105]
    assert target["masks"][1].all()  # the crowd RLE covers the image
    assert np.array_equal(
        target["keypoints"].numpy(), np.array([written[i]["keypoints"] for i in ids]).reshape(3, 17, 3)
    )


def test_keypoints_of_an_image_without_a_size_are_checked_against_0(tmp_path: Path) -> None:
    points = _person_keypoints(2)
    points[0:3] = [-3, 5, 2]
    path = write_keypoints_file(tmp_path, [_one(points, id=3)])
    content = json.loads(path.read_text())
    for image in content["images"]:
        del image["width"], image["height"]
    path.write_text(json.dumps(content))
    with pytest.raises(
        DatasetValidationError, match=r"annotation 3 .*keypoint 0 \(nose\) at \(-3, 5\) is below 0"
    ):
        CocoDetectionDataset(tmp_path / "images", path)

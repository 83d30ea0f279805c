"""Issue 26: each job of the COCO reader's index builder, on real COCO files in ``tmp_path``.

The mutants that survived the suite: masks not regrouped by image (annotations interleaved across
images gave image 0's masks to image 1's boxes), which of two images of one id wins, repeated
image ids not reported, and ``classes=`` keeping the last category of a repeated name. Each test
below fails with its mutant. Masks are compared with pycocotools' own decoding of the file's polygons
(an independent reference) and with hand-made pixel sets for uncompressed RLE.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from coco_files import HEIGHT, WIDTH, write_coco, write_png
from pycocotools import mask as coco_mask

from visiondata.datasets import CocoDetectionDataset
from visiondata.datasets._base import check_path
from visiondata.exceptions import DatasetValidationError, SkippedSampleWarning
from visiondata.formats import to_coco
from visiondata.formats._coco import _positions


def image(identifier: int, name: str, width: int = WIDTH, height: int = HEIGHT) -> dict[str, Any]:
    return {"id": identifier, "file_name": name, "width": width, "height": height}


def rectangle_polygon(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE of a ``uint8`` mask: run lengths in column-major order, zeros first."""
    flat = mask.flatten(order="F").tolist()
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def reference_mask(segmentation: Any, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """pycocotools' own decoding of a COCO segmentation (polygons or uncompressed RLE)."""
    if isinstance(segmentation, list):
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    else:
        rle = coco_mask.frPyObjects(segmentation, height, width)
    return coco_mask.decode(rle)


def hand_mask(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """A filled rectangle of pixels ``[x0, x1) x [y0, y1)`` on a ``WIDTH x HEIGHT`` image."""
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


# Two images, their annotations interleaved in the file (a, b, a, b): polygons and RLE, each box's
# shape inside its own box and nowhere near the other image's boxes.
RLE_MASK = hand_mask(12, 5, 17, 9)


def box_record(number: int, image_id: int, bbox: list[float], segmentation: Any = None) -> dict[str, Any]:
    record = {"id": number, "image_id": image_id, "category_id": 1, "bbox": bbox}
    return record if segmentation is None else {**record, "segmentation": segmentation}


INTERLEAVED = [
    box_record(1, 10, [1, 1, 4, 3], rectangle_polygon(1, 1, 4, 3)),
    box_record(2, 20, [10, 2, 6, 5], rectangle_polygon(10, 2, 6, 5)),
    box_record(3, 10, [12, 5, 5, 4], uncompressed_rle(RLE_MASK)),
    box_record(4, 20, [0, 6, 3, 3], [[0, 6, 3, 6, 0, 9]]),
]


def expected_masks(annotations: list[dict[str, Any]]) -> dict[int, np.ndarray]:
    return {record["id"]: reference_mask(record["segmentation"]) for record in annotations}


def assert_masks_follow_their_boxes(dataset: CocoDetectionDataset, expected: dict[int, np.ndarray]) -> None:
    """Each sample's masks are its own annotations' segmentations, box by box, inside each box."""
    for index in range(len(dataset)):
        _, target = dataset[index]
        ids = dataset.annotation_ids(index).tolist()
        masks = target["masks"].numpy()
        assert masks.shape == (len(ids), HEIGHT, WIDTH)
        for mask, identifier, box in zip(masks, ids, target["boxes"].tolist(), strict=True):
            assert np.array_equal(mask, expected[identifier]), (index, identifier)
            rows, columns = np.nonzero(mask)
            assert box[0] <= columns.min() and columns.max() < box[2], (identifier, box)
            assert box[1] <= rows.min() and rows.max() < box[3], (identifier, box)


def test_masks_follow_their_own_image_when_annotations_are_interleaved(tmp_path: Path) -> None:
    file = write_coco(tmp_path, [image(10, "a.png"), image(20, "b.png")], INTERLEAVED)
    dataset = CocoDetectionDataset(tmp_path, file, masks=True)
    assert [dataset.image_id(index) for index in range(2)] == [10, 20]
    # Boxes grouped by image, file order within each; the masks go with them.
    assert [dataset.annotation_ids(index).tolist() for index in range(2)] == [[1, 3], [2, 4]]
    assert_masks_follow_their_boxes(dataset, expected_masks(INTERLEAVED))
    # The hand-made pixel set of the RLE, as a check on the reference itself.
    assert np.array_equal(dataset[0][1]["masks"][1].numpy(), RLE_MASK)


def test_masks_follow_their_image_when_images_are_left_out(tmp_path: Path) -> None:
    # An image whose file is missing (left out under "skip") and an image without annotations
    # (left out by drop_empty) between the two, with annotations of the missing one interleaved.
    annotations = [
        box_record(7, 15, [2, 2, 3, 3], rectangle_polygon(2, 2, 3, 3)),
        *INTERLEAVED[:2],
        box_record(8, 15, [4, 4, 3, 3], rectangle_polygon(4, 4, 3, 3)),
        *INTERLEAVED[2:],
    ]
    images = [image(15, "missing.png"), image(10, "a.png"), image(12, "empty.png"), image(20, "b.png")]
    file = write_coco(tmp_path, images, annotations, missing=("missing.png",))
    dataset = CocoDetectionDataset(tmp_path, file, masks=True, on_error="skip", drop_empty=True)
    assert [dataset.image_id(index) for index in range(len(dataset))] == [10, 20]
    assert [problem.split(":")[0] for problem in dataset.problems] == ["image 15"]
    assert_masks_follow_their_boxes(dataset, expected_masks(INTERLEAVED))


@pytest.mark.parametrize("masks", [True, False])
def test_polygons_follow_their_own_image_when_annotations_are_interleaved(
    tmp_path: Path, masks: bool
) -> None:
    # With masks=True the polygons come from the segmentations held; without, from the file read again.
    file = write_coco(tmp_path, [image(10, "a.png"), image(20, "b.png")], INTERLEAVED)
    dataset = CocoDetectionDataset(tmp_path, file, masks=masks)
    first = [None if shape is None else shape.tolist() for shape in dataset.polygons(0)]
    second = [None if shape is None else shape.tolist() for shape in dataset.polygons(1)]
    assert first == [[[1, 1], [5, 1], [5, 4], [1, 4]], None]  # annotation 3 is an RLE: no outline
    assert second == [[[10, 2], [16, 2], [16, 7], [10, 7]], [[0, 6], [3, 6], [0, 9]]]
    assert dataset.mask_only(0) == [False, True]


def test_keypoints_follow_their_own_image_when_annotations_are_interleaved(tmp_path: Path) -> None:
    categories = [{"id": 1, "name": "person", "keypoints": ["left_eye", "right_eye"], "skeleton": [[1, 2]]}]
    # Each annotation's points tell it apart: their x is its id.
    annotations = [
        {**box_record(number, image_id, [1, 1, 8, 6]), "keypoints": [number, 2, 2, number, 3, 1]}
        for number, image_id in ((1, 10), (2, 20), (3, 10), (4, 20))
    ]
    file = write_coco(tmp_path, [image(10, "a.png"), image(20, "b.png")], annotations, categories)
    dataset = CocoDetectionDataset(tmp_path, file)
    assert [dataset.annotation_ids(index).tolist() for index in range(2)] == [[1, 3], [2, 4]]
    for index in range(2):
        assert dataset.keypoints(index)[:, :, 0].tolist() == [
            [number] * 2 for number in dataset.annotation_ids(index)
        ]
        assert dataset[index][1]["keypoints"][:, 0, 0].tolist() == dataset.annotation_ids(index).tolist()


def test_to_coco_writes_each_interleaved_annotation_with_its_own_image(tmp_path: Path) -> None:
    file = write_coco(tmp_path / "data", [image(10, "a.png"), image(20, "b.png")], INTERLEAVED)
    dataset = CocoDetectionDataset(tmp_path / "data", file)
    to_coco(dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [(record["id"], record["image_id"]) for record in written["annotations"]] == [
        (1, 10),
        (2, 20),
        (3, 10),
        (4, 20),
    ]
    assert [record["segmentation"] for record in written["annotations"]] == [
        record["segmentation"] for record in INTERLEAVED
    ]


def test_to_coco_finds_the_file_s_records_when_a_malformed_annotation_came_before(tmp_path: Path) -> None:
    # Annotation 5 does not fit the schema (3 numbers): the kept ones' places in the file shift by one.
    annotations = [
        INTERLEAVED[0],
        {"id": 5, "image_id": 10, "category_id": 1, "bbox": [1, 2, 3]},
        *INTERLEAVED[1:],
    ]
    file = write_coco(tmp_path / "data", [image(10, "a.png"), image(20, "b.png")], annotations)
    dataset = CocoDetectionDataset(tmp_path / "data", file, on_error="skip")
    assert [problem.split(" (")[0] for problem in dataset.problems] == ["annotation 5"]
    assert dataset.polygons(1)[1].tolist() == [[0, 6], [3, 6], [0, 9]]
    to_coco(dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
    assert [record["segmentation"] for record in written] == [
        record["segmentation"] for record in INTERLEAVED
    ]


# Repeated image ids: documented ("An image id listed twice is a problem of every image of that id"):
# annotations name their image by id, so neither image can take them; every image of the id is left out.


def repeated_id_file(root: Path) -> Path:
    images = [image(5, "a.png"), image(5, "b.png", 40, 30), image(6, "c.png")]
    annotations = [
        # Beyond a.png (20x10), inside b.png (40x30): which image it were checked against would show.
        {"id": 1, "image_id": 5, "category_id": 1, "bbox": [25, 15, 10, 10]},
        {"id": 2, "image_id": 6, "category_id": 1, "bbox": [1, 1, 4, 4]},
        {"id": 3, "image_id": 5, "category_id": 1, "bbox": [1, 1, 2, 2]},
    ]
    return write_coco(root, images, annotations)


REPEATED_ID_PROBLEM = (
    "image id 5 is listed 2 times ('a.png', 'b.png'): expected each image once with an id of its own, as "
    "annotations name their image by id; give each image its own id"
)


def test_a_repeated_image_id_is_reported_with_its_file_names(tmp_path: Path) -> None:
    file = repeated_id_file(tmp_path)
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file)
    assert caught.value.problems == [REPEATED_ID_PROBLEM]
    with pytest.warns(SkippedSampleWarning, match="image id 5 is listed 2 times"):
        dataset = CocoDetectionDataset(tmp_path, file, on_error="warn")
    assert dataset.problems == [REPEATED_ID_PROBLEM]


def test_no_image_of_a_repeated_id_wins_its_annotations(tmp_path: Path) -> None:
    dataset = CocoDetectionDataset(tmp_path, repeated_id_file(tmp_path), on_error="skip")
    # Neither a.png nor b.png: the annotations of id 5 belong to no image told apart.
    assert [dataset.image_id(index) for index in range(len(dataset))] == [6]
    assert [dataset.relative_path(index) for index in range(len(dataset))] == ["c.png"]
    assert dataset.annotation_ids(0).tolist() == [2]
    # Only the repeated id is reported: its annotations are neither "not in the file's images" nor
    # checked against one of its images' sizes.
    assert dataset.problems == [REPEATED_ID_PROBLEM]


def test_an_image_id_listed_more_than_three_times_shows_three_names(tmp_path: Path) -> None:
    images = [image(5, name) for name in ("a.png", "b.png", "c.png", "d.png")] + [image(6, "e.png")]
    file = write_coco(tmp_path, images, [])
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert [dataset.image_id(index) for index in range(len(dataset))] == [6]
    assert dataset.problems == [
        "image id 5 is listed 4 times ('a.png', 'b.png', 'c.png', ...): expected each image once with an id "
        "of its own, as annotations name their image by id; give each image its own id"
    ]


@pytest.mark.parametrize("ids", [[5, 5, 6], [10**12, 10**12, 6]], ids=["dense", "sparse"])
def test_positions_give_the_first_image_of_a_repeated_id(ids: list[int]) -> None:
    # Both ways of looking ids up (a table for dense ids, a binary search for others) agree: the first
    # image of a repeated id is the one an annotation points at (then left out with its images).
    position, known = _positions(np.array(ids, dtype=np.int64), np.array([ids[0], 6, 7], dtype=np.int64))
    assert position[known].tolist() == [0, 2]
    assert known.tolist() == [True, True, False]


# classes= matches categories by name: of two categories of one name, the one of the lowest id takes
# the class's label (the order of ids is the order labels follow without classes=); the other's
# annotations are problems naming it.


def test_classes_match_a_repeated_name_to_the_category_of_the_lowest_id(tmp_path: Path) -> None:
    categories = [{"id": 4, "name": "car"}, {"id": 2, "name": "car"}, {"id": 9, "name": "bus"}]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 4, "bbox": [1, 1, 3, 3]},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [5, 1, 3, 3]},
        {"id": 3, "image_id": 1, "category_id": 9, "bbox": [9, 1, 3, 3]},
    ]
    file = write_coco(tmp_path, [image(1, "a.png")], annotations, categories)
    dataset = CocoDetectionDataset(tmp_path, file, classes=["car", "bus"], on_error="skip")
    assert dataset.classes == ["car", "bus"]
    assert dataset.category_ids == [2, 9]
    assert dataset.label_to_category_id == {0: 2, 1: 9}
    _, target = dataset[0]
    assert dataset.annotation_ids(0).tolist() == [2, 3]
    assert target["labels"].tolist() == [0, 1]
    assert dataset.problems == [
        "annotation 1: category_id 4 is named 'car' like category 2, which takes that class's label; "
        "give the categories distinct names"
    ]


# Annotation problems of each kind, as worded (the reader's jobs that decide which annotations stay).


def test_each_kind_of_annotation_problem_is_reported_with_its_annotation(tmp_path: Path) -> None:
    categories = [{"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}]
    annotations = [
        {"id": 1, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]},
        {"id": 2, "image_id": 1, "category_id": 1},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": None},
        {"id": 4, "image_id": 1, "category_id": 7, "bbox": [1, 1, 2, 2]},
        {"id": 5, "image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 2]},
        {"id": 6, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 2]},
        {"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
    ]
    file = write_coco(tmp_path, [image(1, "a.png")], annotations, categories)
    dataset = CocoDetectionDataset(tmp_path, file, classes=["cat"], on_error="skip")
    assert dataset.annotation_ids(0).tolist() == [7]
    assert dataset.problems == [
        "annotation 1: image_id 99 is not in the file's images",
        "annotation 2: no bbox",
        "annotation 3: no bbox",
        "annotation 4: category_id 7 is not in the file's categories [1, 3]",
        "annotation 5: category_id 3 is 'dog', not one of the classes ['cat']",
        "annotation 6 (image 1, a.png): box [1.0, 1.0, 1.0, 3.0] (xyxy) has no area: expected x_max > x_min and "
        "y_max > y_min, got width 0 and height 2",
    ]


MISSING_BBOX = [
    {"id": 1, "image_id": 1, "category_id": 1},
    {"id": 2, "image_id": 1, "category_id": 1, "bbox": None},
    {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
]


@pytest.mark.parametrize(
    "extra",
    [
        [],  # the schema fits every annotation: one decode
        [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}],  # one does not: one by one
        [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [1, 2, float("nan"), 3]}],  # NaN: Python's json
    ],
    ids=["strict", "loose", "nan"],
)
@pytest.mark.parametrize("masks", [False, True])
def test_a_missing_or_null_bbox_is_no_bbox_on_every_road(
    tmp_path: Path, extra: list[Any], masks: bool
) -> None:
    file = write_coco(tmp_path, [image(1, "a.png")], MISSING_BBOX + extra)
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", masks=masks)
    assert dataset.annotation_ids(0).tolist() == [3]
    # A bbox of 3 numbers is a record that does not fit; one written with NaN is a box with NaN: neither
    # is a missing one.
    assert [problem for problem in dataset.problems if "no bbox" in problem] == [
        "annotation 1: no bbox",
        "annotation 2: no bbox",
    ]
    assert len(dataset.problems) == 2 + len(extra)


def test_a_missing_bbox_is_no_bbox_when_keypoints_are_read(tmp_path: Path) -> None:
    file = write_coco(
        tmp_path, [image(1, "a.png")], [{**record, "keypoints": [1, 1, 2]} for record in MISSING_BBOX]
    )
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", keypoints=True)
    assert dataset.problems == ["annotation 1: no bbox", "annotation 2: no bbox"]
    assert dataset.keypoints(0).tolist() == [[[1.0, 1.0, 2.0]]]


def test_a_missing_or_null_area_is_the_box_s_and_a_given_one_is_kept(tmp_path: Path) -> None:
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 3]},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 3], "area": None},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 3], "area": 7.5},
    ]
    dataset = CocoDetectionDataset(tmp_path, write_coco(tmp_path, [image(1, "a.png")], annotations))
    assert dataset[0][1]["area"].tolist() == [12.0, 12.0, 7.5]


def test_image_path_problems_name_the_image_and_leave_out_its_annotations(tmp_path: Path) -> None:
    images = [image(1, "a.png"), image(2, "../out.png"), image(3, "gone.png"), image(4, " b.png ")]
    annotations = [
        {"id": number, "image_id": number, "category_id": 1, "bbox": [1, 1, 2, 2]} for number in (1, 2, 3, 4)
    ]
    root = tmp_path / "root"
    file = write_coco(root, images, annotations, missing=("../out.png", "gone.png", " b.png "))
    write_png(tmp_path / "out.png")  # it exists, but outside the root
    write_png(root / "b.png")
    dataset = CocoDetectionDataset(root, file, on_error="skip")
    # " b.png " is stripped, as every reader's paths are; the plain name goes the short way, same result.
    assert [dataset.relative_path(index) for index in range(len(dataset))] == ["a.png", "b.png"]
    assert dataset.problems == [
        f"image 2: image path '../out.png' is outside the root {root}; expected a path relative to the root "
        "(pass allow_outside_root=True to permit it)",
        f"image 3: image file {root / 'gone.png'} does not exist",
    ]


def test_crowd_regions_are_left_out_before_their_boxes_are_checked(tmp_path: Path) -> None:
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 1},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 2], "iscrowd": 1},  # no area
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
        {"id": 4, "image_id": 1, "category_id": 1, "iscrowd": 1},  # no bbox: a problem, not a crowd
    ]
    file = write_coco(tmp_path, [image(1, "a.png")], annotations)
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    # Left out by choice (counted), so the second one's box is never checked.
    assert dataset.crowd_left_out == 2
    assert dataset.annotation_ids(0).tolist() == [3]
    assert dataset.problems == ["annotation 4: no bbox"]
    kept = CocoDetectionDataset(tmp_path, file, on_error="skip", include_crowd=True)
    assert kept.crowd_left_out == 0
    assert kept.annotation_ids(0).tolist() == [1, 3]
    assert kept[0][1]["iscrowd"].tolist() == [1, 0]
    assert [problem.split(":")[0] for problem in kept.problems] == [
        "annotation 4",
        "annotation 2 (image 1, a.png)",
    ]


OUTSIDE = "is outside the root /data; expected a path relative to the root (pass allow_outside_root=True to permit it)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.png", ("a.png", None)),  # the short way: a plain name
        ("...", ("...", None)),
        ("a..png", ("a..png", None)),
        (" a.png", ("a.png", None)),  # stripped, as every reader's paths
        ("photos/./a.png", ("photos/a.png", None)),
        ("photos/../a.png", ("a.png", None)),
        (".", (".", None)),
        ("..", ("..", f"image path '..' {OUTSIDE}")),
        (" .. ", ("..", f"image path '..' {OUTSIDE}")),
        ("../a.png", ("../a.png", f"image path '../a.png' {OUTSIDE}")),
        ("/data/a.png", ("/data/a.png", f"image path '/data/a.png' {OUTSIDE}")),
        ("", ("", "empty image path")),
        ("  ", ("", "empty image path")),
    ],
)
def test_check_path_gives_plain_names_as_they_are_and_normalises_the_rest(
    value: str, expected: tuple[str, str | None]
) -> None:
    # Every reader (COCO, VOC, CSV, YOLO, CVAT, LabelMe, Label Studio) checks its paths here.
    assert check_path(value, "/data", False) == expected
    assert check_path(value, "/data", True) == (expected[0], "empty image path" if not expected[0] else None)


def test_an_image_named_dot_dot_is_outside_the_root_even_unchecked(tmp_path: Path) -> None:
    images = [image(1, "a.png"), image(2, "..")]
    file = write_coco(tmp_path, images, [], missing=("..",))
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", check_files=False)
    assert [dataset.relative_path(index) for index in range(len(dataset))] == ["a.png"]
    assert dataset.problems == [
        f"image 2: image path '..' is outside the root {tmp_path}; expected a path relative to the root "
        "(pass allow_outside_root=True to permit it)"
    ]

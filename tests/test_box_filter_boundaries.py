"""The exact edges of the box filter, and ``convert_boxes``' promise never to hand back its input.

Issue 26's mutation run found these untested: ``areas < min_area`` turned into ``<=``, the rounding
tolerance of ``min_visibility`` removed, and ``convert_boxes`` returning its input itself when the two
formats are the same; each test below fails on one of those mutants. A later run found the edges of
``min_size`` for heights and for oriented boxes' own sides, the edge of the visibility tolerance, boxes
smaller than a pixel, whole objects without area, and the edge of the border snapping of corners.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from visiondata.boxes import convert_boxes
from visiondata.transforms import BoxPipeline

BACKENDS = ["torchvision", "albumentations"]


def image(height: int = 32, width: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_box_of_exactly_min_area_is_kept_and_one_just_below_is_dropped(backend: str) -> None:
    # 4 x 5 = 20 pixels, exactly min_area; 4 x 4.9375 = 19.75 (exact in binary), just below it.
    sample = {"image": image(), "boxes": [[2, 2, 6, 7], [10, 2, 14, 6.9375]], "labels": [1, 2]}
    out = BoxPipeline([], min_area=20, backend=backend)(sample)
    assert out["labels"] == [1]
    assert out["dropped"] == [{"index": 1, "reason": "area"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_box_of_exactly_min_size_is_kept_and_one_just_narrower_is_dropped(backend: str) -> None:
    sample = {"image": image(), "boxes": [[2, 2, 5, 12], [10, 2, 12.96875, 12]], "labels": [1, 2]}
    out = BoxPipeline([], min_size=3, backend=backend)(sample)
    assert out["labels"] == [1]
    assert out["dropped"] == [{"index": 1, "reason": "size"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_box_of_exactly_min_size_high_is_kept_and_one_just_lower_is_dropped(backend: str) -> None:
    # Both boxes are 10 wide: only the height decides. 12.96875 - 10 = 2.96875 (exact in binary).
    sample = {"image": image(), "boxes": [[2, 2, 12, 5], [2, 10, 12, 12.96875]], "labels": [1, 2]}
    out = BoxPipeline([], min_size=3, backend=backend)(sample)
    assert out["labels"] == [1]
    assert out["dropped"] == [{"index": 1, "reason": "size"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_oriented_box_with_a_side_of_length_zero_is_dropped_for_size_without_min_size(
    backend: str,
) -> None:
    # A box without width or height never survives, even with min_size=0 and an area left: the first
    # quadrilateral repeats its first corner (no width, a triangle of area 50), the second its second corner
    # (no height, also of area 50). The 10 x 10 square beside them stays.
    boxes = np.array(
        [
            [4, 4, 4, 4, 14, 14, 4, 14],
            [4, 4, 14, 4, 14, 4, 4, 14],
            [4, 4, 14, 4, 14, 14, 4, 14],
        ],
        dtype=np.float64,
    )
    sample = {"image": image(), "boxes": boxes, "labels": [1, 2, 3]}
    out = BoxPipeline([], box_format="xyxyxyxy", backend=backend)(sample)
    assert out["labels"] == [3]
    assert out["dropped"] == [{"index": 0, "reason": "size"}, {"index": 1, "reason": "size"}]
    assert out["boxes"].tolist() == [[4, 4, 14, 4, 14, 14, 4, 14]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_size_measures_an_oriented_box_by_its_own_sides_not_its_enclosing_box(backend: str) -> None:
    # Turned 30 degrees, a 2 x 10 box is enclosed by a box of about 6.7 x 9.7, wider than min_size; its
    # own width (2) is not. The second box fails by its height alone, the third (4 x 4) passes. They lie
    # away from the image's corner: a side is the distance between two corners, not where they are.
    boxes = np.array([[20, 20, 2, 10, 30], [40, 20, 10, 2, -60], [20, 40, 4, 4, 45]], dtype=np.float64)
    sample = {"image": image(64, 64), "boxes": boxes, "labels": [1, 2, 3]}
    out = BoxPipeline([], box_format="cxcywhr", min_size=3, backend=backend)(sample)
    assert out["labels"] == [3]
    assert out["dropped"] == [{"index": 0, "reason": "size"}, {"index": 1, "reason": "size"}]
    assert len(out["boxes"]) == 1
    assert out["boxes"][0].tolist() == pytest.approx([20, 40, 4, 4, 45])


def test_a_box_short_of_min_visibility_by_exactly_the_rounding_tolerance_is_kept() -> None:
    # The crop keeps x 4..8 of a box spanning x 4..12: exactly half of it is in view. min_visibility is
    # 0.5 plus the filter's rounding tolerance of 1e-6 (0.500001 - 1e-6 is exactly 0.5 in float64): a
    # box short by at most the tolerance passes.
    sample = {"image": image(), "boxes": [[4, 4, 12, 8]], "labels": [1]}
    crop = [{"name": "Crop", "top": 0, "left": 0, "height": 32, "width": 8}]
    out = BoxPipeline(crop, min_visibility=0.500001)(sample)
    assert out["labels"] == [1]
    assert out["dropped"] == []
    assert out["boxes"] == [[4, 4, 8, 8]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_boxes_smaller_than_one_pixel_wholly_in_view_pass_min_visibility_one(backend: str) -> None:
    # Visibility is a ratio of areas: an area below 1 square pixel is as much an area as any other.
    axis_aligned = {"image": image(), "boxes": [[2, 2, 2.5, 2.5]], "labels": [1]}
    out = BoxPipeline([], min_visibility=1.0, backend=backend)(axis_aligned)
    assert out["labels"] == [1]
    assert out["boxes"] == [[2, 2, 2.5, 2.5]]
    oriented = {"image": image(), "boxes": np.array([[10, 10, 0.5, 0.5, 30.0]]), "labels": [1]}
    out = BoxPipeline([], box_format="cxcywhr", min_visibility=1.0, backend=backend)(oriented)
    assert out["labels"] == [1]
    assert len(out["boxes"]) == 1
    assert out["boxes"][0].tolist() == pytest.approx([10, 10, 0.5, 0.5, 30])


@pytest.mark.filterwarnings("error")
def test_a_box_whose_area_is_too_small_for_float64_counts_as_not_visible() -> None:
    # 5e-324 is the smallest positive float64: the box has a width and a height, but both its visible and
    # its whole area come out as 0. Without a whole area to measure against it is not visible (no 0 / 0,
    # and no warning about one): min_visibility drops it, and the report says so.
    sample = {"image": image(), "boxes": np.array([[0, 0, 5e-324, 5e-324], [2, 2, 6, 6]]), "labels": [1, 2]}
    out = BoxPipeline([], min_visibility=0.5)(sample)
    assert out["labels"] == [2]
    assert out["dropped"] == [{"index": 0, "reason": "visibility"}]


@pytest.mark.filterwarnings("error")
def test_an_oriented_box_a_step_flattens_counts_as_not_visible() -> None:
    # A parallelogram 1e-8 thick along its long sides (y 32 and 32 + 1e-8), the slanted ones 10 long. The
    # crop moves it to the top border, where its corners 1e-8 from the border (within 1e-9 of the image's
    # side) are float noise and are put on it: the whole object is flat, of area 0. Its visible part, the
    # soft clamp of the corners cut by the crop's left side, is the 8 x 10 box that the first and second
    # sides span (torchvision's rule): without a whole area to measure it against, the box is not
    # visible, and no warning is raised about dividing by that area.
    boxes = np.array([[2, 32, 16, 32, 26, 32 + 1e-8, 12, 32 + 1e-8], [40, 40, 50, 40, 50, 50, 40, 50]])
    sample = {"image": image(64, 64), "boxes": boxes, "labels": [1, 2]}
    crop = [{"name": "Crop", "top": 32, "left": 8, "height": 32, "width": 48}]
    out = BoxPipeline(crop, box_format="xyxyxyxy", min_visibility=0.5)(sample)
    assert out["labels"] == [2]
    assert out["dropped"] == [{"index": 0, "reason": "visibility"}]
    assert out["boxes"].tolist() == [[32, 8, 42, 8, 42, 18, 32, 18]]


@pytest.mark.parametrize(("beyond", "kept"), [(2.0**-9, True), (2.0**-8, False)])
def test_an_oriented_corner_up_to_the_snapping_tolerance_beyond_the_border_is_put_on_it(
    beyond: float, kept: bool
) -> None:
    # Corners within 1e-9 of the image's side of the border are float noise and are put on it. 1953125
    # (5**9) is the smallest side for which that tolerance (1953125e-9 = 2**-9) is a distance a corner can
    # lie at exactly; the image is 2 pixels high. With out_of_bounds="drop", a corner left beyond the
    # border drops its box: the corner exactly at the tolerance is put on the border and its box stays,
    # one twice as far is not.
    width = 1953125
    right = width + beyond
    sample = {
        "image": np.zeros((2, width, 3), dtype=np.uint8),
        "boxes": np.array([[width - 10, 0.5, right, 0.5, right, 1.5, width - 10, 1.5]]),
        "labels": [1],
    }
    out = BoxPipeline([], box_format="xyxyxyxy", out_of_bounds="drop")(sample)
    if kept:
        assert out["dropped"] == []
        assert out["boxes"].tolist() == [[width - 10, 0.5, width, 0.5, width, 1.5, width - 10, 1.5]]
    else:
        assert out["dropped"] == [{"index": 0, "reason": "out_of_bounds"}]
        assert out["labels"] == []


@pytest.mark.parametrize(
    "spec",
    [
        [{"name": "Resize", "size": [61, 77]}],
        [{"name": "Rotate", "degrees": [17, 17]}],
        [{"name": "HorizontalFlip", "p": 1.0}],
    ],
    ids=["resize", "rotate", "flip"],
)
def test_oriented_boxes_wholly_in_view_pass_min_visibility_one(spec: list[dict]) -> None:
    # Their visible area (the polygon clipped to the image) and their whole area come from two formulas,
    # which agree only to rounding: without the filter's tolerance about a quarter of them were dropped.
    # Centres 40..90 x 35..60 and sides up to 30 keep every corner (at most 21.3 from its centre) in view.
    rng = np.random.default_rng(0)
    count = 300
    boxes = np.column_stack(
        [
            rng.uniform(40, 90, count),
            rng.uniform(35, 60, count),
            rng.uniform(2, 30, count),
            rng.uniform(2, 30, count),
            rng.uniform(-90, 90, count),
        ]
    )
    target = {
        "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="CXCYWHR", canvas_size=(97, 131)),
        "labels": torch.arange(count),
    }
    _, out = BoxPipeline(spec, min_visibility=1.0, seed=0)(tv_tensors.Image(torch.zeros(3, 97, 131)), target)
    assert out["labels"].tolist() == list(range(count))
    assert out["dropped"] == []


@pytest.mark.parametrize("kind", ["numpy float64", "numpy float32", "tensor float32", "BoundingBoxes"])
@pytest.mark.parametrize("box_format", ["xyxy", "cxcywh", "xywhr"])
def test_the_same_format_gives_a_copy_never_the_input(kind: str, box_format: str) -> None:
    columns = 5 if box_format == "xywhr" else 4
    values = np.arange(2 * columns, dtype=np.float64).reshape(2, columns) + 1
    if kind.startswith("numpy"):
        boxes = values.astype(kind.split()[1])
    elif kind == "tensor float32":
        boxes = torch.from_numpy(values).float()
    else:
        boxes = tv_tensors.BoundingBoxes(
            torch.from_numpy(values).float(), format=box_format.upper(), canvas_size=(50, 60)
        )
    source = None if kind == "BoundingBoxes" else box_format
    result = convert_boxes(boxes, source, box_format)
    assert result is not boxes
    assert type(result) is type(boxes) and result.dtype == boxes.dtype
    assert result.tolist() == boxes.tolist()
    result[0, 0] = -100  # writing to the result leaves the caller's boxes alone
    assert boxes[0, 0] == 1

"""Oriented (rotated) boxes in visiondata.boxes: formats, conversions, area, IoU, clipping and validation.

torchvision 0.29 is the reference for the conventions: its ``convert_bounding_box_format`` for the
conversions and its ``clamp_bounding_boxes`` (soft mode) for clipping.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as tvf

from visiondata.boxes import (
    AXIS_ALIGNED_FORMATS,
    BOX_FORMATS,
    ROTATED_FORMATS,
    box_area,
    box_iou,
    clip_boxes,
    convert_boxes,
    validate_boxes,
)
from visiondata.boxes._convert import check_format
from visiondata.exceptions import InvalidBoxesError

TORCHVISION_NAME = {"xywhr": "XYWHR", "cxcywhr": "CXCYWHR", "xyxyxyxy": "XYXYXYXY"}
PIXEL_AXIS_ALIGNED = ("xyxy", "xywh", "cxcywh")


def random_xywhr(count: int, seed: int = 0, low: float = 0.0, high: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.uniform(low, high, (count, 2)),
            rng.uniform(1.0, 50.0, (count, 2)),
            rng.uniform(-180.0, 180.0, count),
        ]
    )


def torchvision_convert(boxes: np.ndarray, src: str, dst: str) -> np.ndarray:
    return tvf.convert_bounding_box_format(
        torch.tensor(boxes), old_format=TORCHVISION_NAME[src], new_format=TORCHVISION_NAME[dst]
    ).numpy()


def as_cxcywhr(boxes: list[list[float]]) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64)


def canonical_corners(boxes: Any, fmt: str) -> np.ndarray:
    """The corners of each box as a sorted set: the same rectangle whichever corner is listed first."""
    corners = np.asarray(convert_boxes(np.asarray(boxes, dtype=np.float64), fmt, "xyxyxyxy")).reshape(
        -1, 4, 2
    )
    rounded = np.round(corners, 3) + 0.0
    return np.array([sorted(map(tuple, row)) for row in rounded])


# ---------------------------------------------------------------- formats and conversions


def test_box_formats_list_the_rotated_formats_after_the_axis_aligned_ones() -> None:
    assert ROTATED_FORMATS == ("xywhr", "cxcywhr", "xyxyxyxy")
    assert BOX_FORMATS == AXIS_ALIGNED_FORMATS + ROTATED_FORMATS
    assert check_format("XYXYXYXY", formats=BOX_FORMATS) == "xyxyxyxy"
    # Code that moves boxes opts in to oriented formats: by default they are refused by name, never read as
    # their enclosing box.
    with pytest.raises(
        ValueError, match=r"expected one of 'xyxy'.* got 'xywhr'; oriented boxes are not supported"
    ):
        check_format("xywhr", "box_format")


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(ROTATED_FORMATS, ROTATED_FORMATS)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rotated_conversions_agree_with_torchvision(src: str, dst: str, dtype: type) -> None:
    boxes = torchvision_convert(random_xywhr(200, seed=1), "xywhr", src).astype(dtype)
    expected = torchvision_convert(boxes, src, dst)
    ours = convert_boxes(boxes, src, dst)
    assert isinstance(ours, np.ndarray) and ours.dtype == dtype
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=1e-5)
    tensor = convert_boxes(torch.tensor(boxes), src, dst)
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.from_numpy(boxes).dtype
    np.testing.assert_allclose(tensor.numpy(), expected, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize(("src", "middle"), list(itertools.product(ROTATED_FORMATS, BOX_FORMATS)))
def test_round_trips_through_rotated_formats(src: str, middle: str) -> None:
    boxes = convert_boxes(random_xywhr(50, seed=2), "xywhr", src)
    back = convert_boxes(
        convert_boxes(boxes, src, middle, image_size=(100, 120)), middle, src, image_size=(100, 120)
    )
    if middle in ROTATED_FORMATS:
        # The angle of xyxyxyxy -> xywhr comes from atan2: the same box, maybe by r + 360.
        np.testing.assert_allclose(canonical_corners(back, src), canonical_corners(boxes, src), atol=2e-3)
        np.testing.assert_allclose(box_area(back, src), box_area(boxes, src), rtol=1e-9)
    else:
        # Through an axis-aligned format a rotated box becomes its enclosing box, at angle 0.
        enclosing = convert_boxes(boxes, src, "xyxy")
        np.testing.assert_allclose(convert_boxes(back, src, "xyxy"), enclosing, atol=1e-9)
        np.testing.assert_allclose(convert_boxes(back, src, "xywhr")[:, 4] % 360, 0.0, atol=1e-9)


@pytest.mark.parametrize("src", ROTATED_FORMATS)
@pytest.mark.parametrize("dst", AXIS_ALIGNED_FORMATS)
def test_rotated_to_axis_aligned_is_the_enclosing_box_of_torchvisions_corners(src: str, dst: str) -> None:
    xywhr = random_xywhr(100, seed=3)
    corners = torchvision_convert(xywhr, "xywhr", "xyxyxyxy")
    boxes = torchvision_convert(xywhr, "xywhr", src)
    xs, ys = corners[:, 0::2], corners[:, 1::2]
    enclosing = np.column_stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)])
    expected = convert_boxes(enclosing, "xyxy", dst, image_size=(80, 120))
    np.testing.assert_allclose(convert_boxes(boxes, src, dst, image_size=(80, 120)), expected, atol=1e-9)


def test_axis_aligned_to_rotated_has_angle_zero_and_the_same_corners() -> None:
    boxes = np.array([[10.0, 20.0, 40.0, 60.0]])
    assert convert_boxes(boxes, "xyxy", "xywhr").tolist() == [[10.0, 20.0, 30.0, 40.0, 0.0]]
    assert convert_boxes(boxes, "xyxy", "cxcywhr").tolist() == [[25.0, 40.0, 30.0, 40.0, 0.0]]
    assert convert_boxes(boxes, "xyxy", "xyxyxyxy").tolist() == [
        [10.0, 20.0, 40.0, 20.0, 40.0, 60.0, 10.0, 60.0]
    ]
    yolo = np.array([[0.5, 0.5, 0.2, 0.4]])
    assert convert_boxes(yolo, "yolo", "xywhr", image_size=(100, 200)).tolist() == [
        [80.0, 30.0, 40.0, 40.0, 0.0]
    ]
    with pytest.raises(ValueError, match=r"image_size: converting 'cxcywhn' to 'xywhr' needs"):
        convert_boxes(yolo, "yolo", "xywhr")


def test_a_positive_angle_turns_the_box_counter_clockwise_on_screen() -> None:
    # A 4 x 2 box with its first corner at (10, 10), turned by 90 degrees: its top side, which ran to the
    # right, now runs up the screen (towards smaller y), as torchvision has it.
    corners = convert_boxes(np.array([[10.0, 10.0, 4.0, 2.0, 90.0]]), "xywhr", "xyxyxyxy")
    np.testing.assert_allclose(corners, [[10.0, 10.0, 10.0, 6.0, 12.0, 6.0, 12.0, 10.0]], atol=1e-12)
    np.testing.assert_allclose(
        corners,
        torchvision_convert(np.array([[10.0, 10.0, 4.0, 2.0, 90.0]]), "xywhr", "xyxyxyxy"),
        atol=1e-12,
    )


def test_wrong_column_counts_name_the_format() -> None:
    with pytest.raises(
        InvalidBoxesError, match=r"boxes: expected shape \(N, 5\) for 'xywhr' boxes, got \(1, 4\)"
    ):
        convert_boxes(np.zeros((1, 4)), "xywhr", "xyxy")
    with pytest.raises(
        InvalidBoxesError, match=r"expected shape \(N, 8\) for 'xyxyxyxy' boxes, got \(8,\); a single"
    ):
        box_area(np.zeros(8), "xyxyxyxy")
    assert convert_boxes(np.zeros((0, 5)), "cxcywhr", "xyxyxyxy").shape == (0, 8)
    assert convert_boxes([], "xyxyxyxy", "xywhr").shape == (0, 5)


def test_the_pipeline_keeps_the_angle_of_rotated_formats() -> None:
    # The pipeline used to accept the format and return the enclosing box at angle 0 (a silently
    # different box), then refused it; it now moves oriented boxes (tests/test_oriented_pipeline.py).
    from visiondata.transforms import BoxPipeline

    out = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}], box_format="cxcywhr")(
        {
            "image": torch.zeros(3, 20, 40, dtype=torch.uint8),
            "boxes": torch.tensor([[10.0, 10.0, 8.0, 4.0, 30.0]]),
        }
    )
    assert out["boxes"].tolist() == [[30.0, 10.0, 8.0, 4.0, pytest.approx(-30.0, abs=1e-4)]]


def test_conversions_never_share_memory_and_integers_become_floats() -> None:
    boxes = np.array([[10, 20, 30, 40, 0]])
    same = convert_boxes(boxes, "xywhr", "xywhr")
    assert same.dtype == np.float64 and not np.shares_memory(same, boxes)
    tensor = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    out = convert_boxes(tensor, "xywhr", "xywhr")
    out[0, 0] = 99
    assert tensor[0, 0] == 1.0


# ---------------------------------------------------------------- BoundingBoxes in rotated formats


@pytest.mark.parametrize("src", ROTATED_FORMATS)
@pytest.mark.parametrize("dst", ROTATED_FORMATS + PIXEL_AXIS_ALIGNED)
def test_bounding_boxes_in_a_rotated_format_keep_type_format_and_canvas(src: str, dst: str) -> None:
    values = torchvision_convert(random_xywhr(5, seed=4), "xywhr", src)
    declared = tv_tensors.BoundingBoxes(values, format=TORCHVISION_NAME[src], canvas_size=(120, 150))
    out = convert_boxes(declared, None, dst)
    assert isinstance(out, tv_tensors.BoundingBoxes)
    assert out.format.name == dst.upper() and out.canvas_size == (120, 150)
    expected = convert_boxes(values, src, dst)
    np.testing.assert_allclose(out.as_subclass(torch.Tensor).numpy(), expected, atol=1e-9)
    if dst in ROTATED_FORMATS:
        np.testing.assert_allclose(
            out.as_subclass(torch.Tensor).numpy(),
            tvf.convert_bounding_box_format(declared, new_format=dst.upper())
            .as_subclass(torch.Tensor)
            .numpy(),
            atol=1e-4,
        )


def test_bounding_boxes_in_a_rotated_format_are_read_in_their_format_everywhere() -> None:
    declared = tv_tensors.BoundingBoxes(
        [[50.0, 40.0, 20.0, 10.0, 30.0]], format="CXCYWHR", canvas_size=(80, 100)
    )
    assert box_area(declared).tolist() == [200.0]
    np.testing.assert_allclose(box_iou(declared, declared).numpy(), [[1.0]])
    clipped = clip_boxes(declared)
    assert isinstance(clipped, tv_tensors.BoundingBoxes) and clipped.format.name == "CXCYWHR"
    assert validate_boxes(declared).boxes.format.name == "CXCYWHR"
    with pytest.raises(InvalidBoxesError, match=r"expected the format the BoundingBoxes declare, 'cxcywhr'"):
        convert_boxes(declared, "xywhr", "xyxy")
    outside = tv_tensors.BoundingBoxes(
        [[95.0, 40.0, 20.0, 10.0, 30.0]], format="CXCYWHR", canvas_size=(80, 100)
    )
    with pytest.raises(InvalidBoxesError, match=r"box 0 .*corner 2 \(x2, y2\)"):
        validate_boxes(outside)


# ---------------------------------------------------------------- area


def test_area_of_rotated_boxes() -> None:
    assert box_area(np.array([[5.0, 5.0, 4.0, 3.0, 33.0], [0, 0, -1.0, 3.0, 0]]), "xywhr").tolist() == [
        12.0,
        0.0,
    ]
    diamond = np.array([[0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 1.0, 2.0]])
    assert box_area(diamond, "xyxyxyxy").tolist() == [2.0]
    # The other way round the corners run gives the same area.
    reversed_corners = diamond.reshape(1, 4, 2)[:, ::-1].reshape(1, 8)
    assert box_area(reversed_corners, "xyxyxyxy").tolist() == [2.0]
    assert box_area(torch.tensor(diamond, dtype=torch.float32), "xyxyxyxy").dtype == torch.float32


rotated_boxes = st.tuples(
    st.floats(-50, 150), st.floats(-50, 150), st.floats(0.5, 60), st.floats(0.5, 60), st.floats(-360, 360)
)


@settings(max_examples=60, deadline=None)
@given(box=rotated_boxes, dst=st.sampled_from(ROTATED_FORMATS))
def test_area_is_invariant_under_conversion(box: tuple[float, ...], dst: str) -> None:
    boxes = np.array([box])
    np.testing.assert_allclose(box_area(convert_boxes(boxes, "xywhr", dst), dst), box[2] * box[3], rtol=1e-9)


# ---------------------------------------------------------------- IoU


def test_iou_of_two_unit_squares_at_45_degrees_is_one_over_root_two() -> None:
    # They share a regular octagon of area 2 (sqrt 2 - 1); the union is 2 minus that.
    first, second = as_cxcywhr([[0.0, 0.0, 1.0, 1.0, 0.0]]), as_cxcywhr([[0.0, 0.0, 1.0, 1.0, 45.0]])
    octagon = 2 * (math.sqrt(2) - 1)
    np.testing.assert_allclose(box_iou(first, second, "cxcywhr"), [[octagon / (2 - octagon)]], atol=1e-12)


def test_iou_of_hand_computed_rotated_pairs() -> None:
    turned = 30.0
    box = as_cxcywhr([[50.0, 50.0, 10.0, 4.0, turned]])
    shifted = box.copy()
    # Half a width along the box's own width axis (counter-clockwise on screen: y goes down).
    shifted[0, 0] += 5 * math.cos(math.radians(turned))
    shifted[0, 1] -= 5 * math.sin(math.radians(turned))
    inner = as_cxcywhr([[50.0, 50.0, 5.0, 2.0, turned]])
    far = as_cxcywhr([[10.0, 10.0, 10.0, 4.0, turned]])
    iou = box_iou(box, np.concatenate([box, shifted, inner, far]), "cxcywhr")
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.25, 0.0]], atol=1e-9)
    # Touching at one corner only: no area in common.
    corner = convert_boxes(np.array([[0.0, 0.0, 2.0, 2.0]]), "xyxy", "xyxyxyxy")
    diamond = np.array([[2.0, 2.0, 3.0, 1.0, 4.0, 2.0, 3.0, 3.0]])
    assert box_iou(corner, diamond, "xyxyxyxy").tolist() == [[0.0]]


def test_iou_mixes_rotated_and_axis_aligned_sets() -> None:
    axis = np.array([[50.0, 25.0, 150.0, 75.0]])
    quarter = as_cxcywhr([[100.0, 50.0, 100.0, 50.0, 90.0]])
    np.testing.assert_allclose(box_iou(axis, quarter, "xyxy", "cxcywhr"), [[1 / 3]], atol=1e-12)
    np.testing.assert_allclose(box_iou(quarter, axis, "cxcywhr", "xyxy"), [[1 / 3]], atol=1e-12)
    declared = tv_tensors.BoundingBoxes(axis, format="XYXY", canvas_size=(100, 200))
    rotated = tv_tensors.BoundingBoxes(quarter, format="CXCYWHR", canvas_size=(100, 200))
    np.testing.assert_allclose(box_iou(declared, rotated).numpy(), [[1 / 3]], atol=1e-6)
    with pytest.raises(
        ValueError, match=r"fmt: expected a pixel format to compare with oriented boxes, got 'xyxyn'"
    ):
        box_iou(axis / 200, quarter, "xyxyn", "cxcywhr")


def test_iou_keeps_the_type_dtype_and_shape() -> None:
    first = torch.tensor(random_xywhr(3, seed=5), dtype=torch.float32)
    second = torch.tensor(random_xywhr(4, seed=6), dtype=torch.float32)
    iou = box_iou(first, second, "xywhr")
    assert isinstance(iou, torch.Tensor) and iou.dtype == torch.float32 and iou.shape == (3, 4)
    array = box_iou(random_xywhr(3, seed=5), random_xywhr(0, seed=6), "xywhr")
    assert isinstance(array, np.ndarray) and array.dtype == np.float64 and array.shape == (3, 0)


def test_iou_of_a_dense_scene_matches_a_pairwise_computation() -> None:
    # Chunks and the enclosing-box filter must not change any value: compare with one pair at a time.
    boxes = random_xywhr(60, seed=7, high=60.0)
    all_pairs = box_iou(boxes, boxes, "xywhr")
    one_by_one = np.array([[box_iou(a[None], b[None], "xywhr")[0, 0] for b in boxes] for a in boxes])
    np.testing.assert_allclose(all_pairs, one_by_one, atol=1e-12)
    assert (all_pairs > 0).mean() > 0.2


def rotate_about(
    boxes: np.ndarray, degrees: float, centre: tuple[float, float], shift: tuple[float, float]
) -> np.ndarray:
    """``cxcywhr`` boxes turned by ``degrees`` counter-clockwise on screen about ``centre``, then moved."""
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    dx, dy = boxes[:, 0] - centre[0], boxes[:, 1] - centre[1]
    # With y pointing down, counter-clockwise on screen maps (x, y) to (x cos + y sin, -x sin + y cos).
    x = centre[0] + dx * cos + dy * sin + shift[0]
    y = centre[1] - dx * sin + dy * cos + shift[1]
    return np.column_stack([x, y, boxes[:, 2], boxes[:, 3], boxes[:, 4] + degrees])


@settings(max_examples=80, deadline=None)
@given(
    first=rotated_boxes,
    second=rotated_boxes,
    turn=st.floats(-180, 180),
    shift=st.tuples(st.floats(-100, 100), st.floats(-100, 100)),
)
def test_iou_properties(
    first: tuple[float, ...], second: tuple[float, ...], turn: float, shift: tuple[float, float]
) -> None:
    a, b = np.array([first]), np.array([second])
    ab = box_iou(a, b, "cxcywhr")[0, 0]
    assert 0.0 <= ab <= 1.0
    assert ab == pytest.approx(box_iou(b, a, "cxcywhr")[0, 0], abs=1e-9)
    assert box_iou(a, a, "cxcywhr")[0, 0] == pytest.approx(1.0, abs=1e-9)
    moved = box_iou(rotate_about(a, turn, (50, 50), shift), rotate_about(b, turn, (50, 50), shift), "cxcywhr")
    assert moved[0, 0] == pytest.approx(ab, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(first=rotated_boxes, second=rotated_boxes)
def test_iou_at_zero_and_ninety_degrees_is_the_axis_aligned_iou(
    first: tuple[float, ...], second: tuple[float, ...]
) -> None:
    a, b = np.array([first[:4]]), np.array([second[:4]])
    expected = box_iou(a, b, "cxcywh")[0, 0]
    at_zero = box_iou(np.c_[a, [0.0]], np.c_[b, [0.0]], "cxcywhr")[0, 0]
    # Turned a quarter, a box is the axis-aligned box with width and height swapped.
    at_ninety = box_iou(np.c_[a[:, [0, 1, 3, 2]], [90.0]], np.c_[b[:, [0, 1, 3, 2]], [90.0]], "cxcywhr")[0, 0]
    assert at_zero == pytest.approx(expected, abs=1e-9)
    assert at_ninety == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------- clipping


def test_clip_rotated_boxes_matches_torchvisions_soft_clamp() -> None:
    height, width = 80, 100
    rng = np.random.default_rng(8)
    boxes = np.column_stack(
        [
            rng.uniform(-30, 130, 2000),
            rng.uniform(-30, 110, 2000),
            rng.uniform(1, 60, (2000, 2)),
            rng.uniform(-180, 180, 2000),
        ]
    )
    reference = tvf.clamp_bounding_boxes(
        torch.tensor(boxes), format="XYWHR", canvas_size=(height, width), clamping_mode="soft"
    ).numpy()
    ours = clip_boxes(boxes, "xywhr", image_size=(height, width))
    same = (
        np.abs(canonical_corners(ours, "xywhr") - canonical_corners(reference, "xywhr")).max((1, 2)) <= 1e-2
    )
    # torchvision collapses a few boxes near an image corner at angles within a few degrees of the axes to
    # (0, height, 0, 0, 0) although part of them is inside; we keep that part (the documented deviation).
    collapsed = (reference == [0.0, height, 0.0, 0.0, 0.0]).all(1)
    canvas = np.array([[width / 2, height / 2, width, height, 0.0]])
    overlaps = box_iou(boxes, canvas, "xywhr")[:, 0] > 0
    assert (same | (collapsed & overlaps)).all()
    assert (~same).sum() < 20


def test_clip_rotated_boxes_by_hand() -> None:
    # A box at angle 0 is clipped as its axis-aligned self.
    np.testing.assert_allclose(
        clip_boxes(np.array([[-2.0, 1.0, 4.0, 2.0, 0.0]]), "xywhr", image_size=(10, 10)),
        [[0.0, 1.0, 2.0, 2.0, 0.0]],
    )
    # A diamond poking out of the left side keeps its angle and encloses what is inside.
    diamond = np.array(
        [[0.0, 5.0, 2 * math.sqrt(2), 2 * math.sqrt(2), 45.0]]
    )  # cxcywhr corners at x = -2 ... 2
    clipped = clip_boxes(diamond, "cxcywhr", image_size=(10, 10))
    assert clipped[0, 4] == 45.0
    inside = box_iou(clipped, diamond, "cxcywhr")[0, 0] * box_area(diamond, "cxcywhr")[0]
    assert box_area(clipped, "cxcywhr")[0] > inside - 1e-9  # it holds the visible half (area 4) and more
    # The visible half's three corners span both sides of the diamond: the whole diamond (area 8) is the
    # smallest box at 45 degrees around it, as torchvision's soft clamp also finds.
    assert box_area(clipped, "cxcywhr")[0] == pytest.approx(8.0)
    reference = tvf.clamp_bounding_boxes(
        torch.tensor(diamond), format="CXCYWHR", canvas_size=(10, 10), clamping_mode="soft"
    )
    np.testing.assert_allclose(clipped, reference.numpy(), atol=1e-9)
    # Inside the image: unchanged, bit for bit; a copy all the same.
    within = torch.tensor([[5.0, 5.0, 2.0, 1.0, 17.0]], dtype=torch.float32)
    out = clip_boxes(within, "cxcywhr", image_size=(10, 10))
    assert out.dtype == torch.float32 and torch.equal(out, within) and out.data_ptr() != within.data_ptr()
    # Wholly outside: collapsed as torchvision collapses it.
    assert clip_boxes(np.array([[150.0, 10, 5, 5, 30]]), "xywhr", image_size=(80, 100)).tolist() == [
        [0.0, 80.0, 0.0, 0.0, 0.0]
    ]


# ---------------------------------------------------------------- validation


def test_validate_rotated_boxes_names_each_box_and_problem() -> None:
    boxes = np.array(
        [
            [50.0, 40.0, 20.0, 10.0, 30.0],  # fine
            [50.0, 40.0, 0.0, 10.0, 30.0],  # no width
            [50.0, 40.0, -5.0, 10.0, 30.0],  # negative width
            [np.nan, 40.0, 5.0, 10.0, 30.0],
            [95.0, 40.0, 20.0, 10.0, 30.0],  # reaches past x = 100
        ]
    )
    with pytest.raises(InvalidBoxesError) as caught:
        validate_boxes(boxes, "cxcywhr", image_size=(80, 100))
    message = str(caught.value)
    assert message.startswith("invalid cxcywhr boxes, image 80x100 (height x width):")
    assert "box 0" not in message
    assert (
        "box 1 [50.0, 40.0, 0.0, 10.0, 30.0]: without area: expected w > 0 and h > 0, got width 0 and height 10"
        in message
    )
    assert "box 2 [50.0, 40.0, -5.0, 10.0, 30.0]: inverted: expected w > 0 and h > 0, got width -5" in message
    assert "box 3 [nan, 40.0, 5.0, 10.0, 30.0]: expected finite numbers, got NaN or infinity" in message
    assert "box 4 [95.0, 40.0, 20.0, 10.0, 30.0]: corner 3 (x3, y3) = (106.16" in message
    assert "is outside the allowed range [0, 100] x [0, 80]" in message
    assert "policy='clip'" in message


def test_validate_corner_boxes_refuses_twisted_and_flat_quadrilaterals() -> None:
    twisted = [0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0, 10.0]  # a bow tie
    flat = [0.0, 0.0, 5.0, 5.0, 10.0, 10.0, 5.0, 5.0]
    good = [1.0, 1.0, 9.0, 1.0, 9.0, 5.0, 1.0, 5.0]
    counter = [1.0, 1.0, 1.0, 5.0, 9.0, 5.0, 9.0, 1.0]  # the same box, corners the other way round
    with pytest.raises(InvalidBoxesError) as caught:
        validate_boxes(np.array([twisted, flat, good, counter]), "xyxyxyxy", image_size=(20, 20))
    message = str(caught.value)
    assert (
        "box 0 [0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0, 10.0]: inverted: expected four corners in order"
        in message
    )
    assert (
        "box 1 [0.0, 0.0, 5.0, 5.0, 10.0, 10.0, 5.0, 5.0]: without area: expected four corners enclosing an area, got area 0"
        in message
    )
    assert "box 2" not in message and "box 3" not in message


def test_validate_rotated_policies() -> None:
    boxes = np.array(
        [
            [50.0, 40.0, 20.0, 10.0, 30.0],
            [50.0, 40.0, 0.0, 10.0, 30.0],
            [95.0, 40.0, 20.0, 10.0, 30.0],
            [500.0, 40.0, 2.0, 2.0, 30.0],
        ]
    )
    dropped = validate_boxes(boxes, "cxcywhr", image_size=(80, 100), policy="drop")
    assert dropped.keep.tolist() == [True, False, False, False]
    np.testing.assert_array_equal(dropped.boxes, boxes[:1])
    assert [change["reason"] for change in dropped.changes] == ["zero_area", "out_of_bounds", "out_of_bounds"]
    clipped = validate_boxes(torch.tensor(boxes), "cxcywhr", image_size=(80, 100), policy="clip")
    assert clipped.keep.tolist() == [True, False, True, False]
    assert clipped.changes == [
        {"index": 1, "reason": "zero_area", "action": "dropped"},
        {"index": 2, "reason": "out_of_bounds", "action": "clipped"},
        {"index": 3, "reason": "out_of_bounds", "action": "dropped"},
    ]
    expected = clip_boxes(boxes[2:3], "cxcywhr", image_size=(80, 100))
    np.testing.assert_allclose(clipped.boxes[1:].numpy(), expected, atol=1e-9)
    # Within the tolerance of the border a corner is float noise, not a problem; it is left where it is.
    noise = np.array([[0.0, 0.0, 100.05, 0.0, 100.05, 80.0, 0.0, 80.0]])
    assert validate_boxes(noise, "xyxyxyxy", image_size=(80, 100)).boxes.tolist() == noise.tolist()

"""Exact behaviour of ``visiondata.boxes._rotated``: oriented boxes' conversions on any tensor, soft clamping
to the image and to a region, the inside test, torchvision's parallelogram rule and the rotated IoU.

Hand-computed values on small inputs, at the edges where the code makes its decisions: boxes that touch the
border, that poke past it by less than the rounding allowance, that hold a NaN, batches that mix boxes
inside and outside, regions smaller than a pixel. The mutation run of issue 26 (``scripts/mutate.py``)
checks that these tests notice each change of the module; tests/mutation/boxes-rotated.txt explains the
changes that no test can notice.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from visiondata.boxes import box_iou, clip_boxes, convert_boxes
from visiondata.boxes._rotated import (
    _BORDER_NOISE,
    _intersection_points,
    clamp_corners,
    clamp_xywhr,
    corners_inside,
    parallelogram_to_rectangle,
    polygon_area_in_image,
    rotated_iou,
)

ROOT3 = math.sqrt(3.0)

# ---------------------------------------------------------------- conversions keep the tensor


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("xyxyxyxy", "xywhr"),
        ("xyxyxyxy", "cxcywhr"),
        ("xywhr", "xyxyxyxy"),
        ("cxcywhr", "xywhr"),
        ("xyxy", "xywhr"),
        ("xyxy", "cxcywhr"),
    ],
)
def test_rotated_conversions_of_meta_tensors_stay_on_the_meta_device(src: str, dst: str) -> None:
    """Conversions run in torch on the input's device: a tensor without data (meta) converts, shape only."""
    columns = {"xyxy": 4, "xywhr": 5, "cxcywhr": 5, "xyxyxyxy": 8}
    boxes = torch.empty(3, columns[src], device="meta", dtype=torch.float64)
    out = convert_boxes(boxes, src, dst)
    assert isinstance(out, torch.Tensor)
    assert out.device.type == "meta"
    assert out.dtype == torch.float64
    assert tuple(out.shape) == (3, columns[dst])


def test_gradients_flow_through_the_corner_to_xywhr_conversion() -> None:
    """Width, height and angle from corners are differentiable torch operations (sqrt, atan2)."""
    corners = torch.tensor(
        [[0.0, 0.0, 3.0, -4.0, 7.0, -1.0, 4.0, 3.0]], dtype=torch.float64, requires_grad=True
    )
    out = convert_boxes(corners, "xyxyxyxy", "xywhr")
    # The first side (3, -4) on screen: length 5, lifted by atan2(4, 3); the second side (4, 3): length 5.
    expected = [0.0, 0.0, 5.0, 5.0, math.degrees(math.atan2(4.0, 3.0))]
    np.testing.assert_allclose(out.detach().numpy(), [expected], rtol=1e-12)
    out[0, 2].backward()
    # d|(x2 - x1, y2 - y1)| / dx2 = 3 / 5, / dy2 = -4 / 5, / dx1 = -3 / 5, / dy1 = 4 / 5.
    np.testing.assert_allclose(corners.grad.numpy(), [[-0.6, 0.8, 0.6, -0.8, 0, 0, 0, 0]], atol=1e-12)


def test_gradients_flow_from_axis_aligned_to_rotated_boxes() -> None:
    """``xyxy`` to ``xywhr`` is torch arithmetic on the tensor: the result keeps the autograd graph."""
    boxes = torch.tensor([[1.0, 2.0, 5.0, 8.0]], requires_grad=True)
    out = convert_boxes(boxes, "xyxy", "xywhr")
    assert out.requires_grad
    assert out.tolist() == [[1.0, 2.0, 4.0, 6.0, 0.0]]
    out[0, 2].backward()
    assert boxes.grad.tolist() == [[-1.0, 0.0, 1.0, 0.0]]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_corner_conversion_of_half_precision_tensors_keeps_their_dtype(dtype: torch.dtype) -> None:
    """Reduced-precision tensors (which numpy cannot hold: bfloat16) convert in torch, in their dtype."""
    corners = torch.tensor([[0.0, 0.0, 4.0, 0.0, 4.0, 2.0, 0.0, 2.0]], dtype=dtype)
    out = convert_boxes(corners, "xyxyxyxy", "xywhr")
    assert out.dtype == dtype
    assert out.float().tolist() == [[0.0, 0.0, 4.0, 2.0, 0.0]]


@pytest.mark.parametrize("as_tensor", [False, True])
def test_rotated_conversions_keep_the_leading_dimensions_of_a_batch(as_tensor: bool) -> None:
    """``(..., 5)`` and ``(..., 8)`` boxes convert row by row: a (2, 3) batch gives what its six rows give.

    Arrays and tensors take different paths (numpy's min and stack, torch's amin and stack): both are checked.
    """
    rows = np.array(
        [
            [1.0, 2.0, 4.0, 2.0, 0.0],
            [0.0, 0.0, 2.0, 2.0, 90.0],
            [3.0, 1.0, 2.0, 5.0, 30.0],
            [5.0, 5.0, 1.0, 3.0, -45.0],
            [2.0, 7.0, 6.0, 1.0, 135.0],
            [4.0, 0.5, 3.0, 3.0, -170.0],
        ]
    )
    wrap = torch.tensor if as_tensor else np.asarray
    corners = convert_boxes(rows, "xywhr", "xyxyxyxy")
    # The first box, unturned: corners (1, 2), (5, 2), (5, 4), (1, 4), enclosed by (1, 2, 5, 4).
    batch_corners = convert_boxes(wrap(rows.reshape(2, 3, 5)), "xywhr", "xyxyxyxy")
    assert np.asarray(batch_corners)[0, 0].tolist() == [1.0, 2.0, 5.0, 2.0, 5.0, 4.0, 1.0, 4.0]
    assert np.asarray(convert_boxes(batch_corners, "xyxyxyxy", "xyxy"))[0, 0].tolist() == [1.0, 2.0, 5.0, 4.0]
    for source, src, dst in [
        (rows, "xywhr", "xyxyxyxy"),
        (rows, "xywhr", "cxcywhr"),
        (rows, "cxcywhr", "xywhr"),
        (rows, "xywhr", "xyxy"),
        (corners, "xyxyxyxy", "xyxy"),
        (corners, "xyxyxyxy", "xywhr"),
    ]:
        expected = np.asarray(convert_boxes(wrap(source), src, dst))
        out = convert_boxes(wrap(source.reshape(2, 3, -1)), src, dst)
        assert type(out) is type(wrap(source))
        assert tuple(out.shape) == (2, 3, expected.shape[-1])
        np.testing.assert_array_equal(np.asarray(out).reshape(6, -1), expected)


# ---------------------------------------------------------------- soft clamping (clamp_xywhr, clip_boxes)


def test_clipping_a_tensor_that_requires_grad_and_a_bfloat16_tensor() -> None:
    """clip_boxes reads oriented tensors through ``detach``: autograd and bfloat16 tensors clip too."""
    boxes = torch.tensor([[-2.0, 1.0, 4.0, 2.0, 0.0], [1.0, 1.0, 2.0, 2.0, 0.0]], requires_grad=True)
    out = clip_boxes(boxes, "xywhr", image_size=(10, 10))
    assert out.detach().tolist() == [[0.0, 1.0, 2.0, 2.0, 0.0], [1.0, 1.0, 2.0, 2.0, 0.0]]
    half = clip_boxes(boxes.detach().to(torch.bfloat16), "xywhr", image_size=(10, 10))
    assert half.dtype == torch.bfloat16
    assert half.float().tolist() == [[0.0, 1.0, 2.0, 2.0, 0.0], [1.0, 1.0, 2.0, 2.0, 0.0]]


def test_a_box_filling_the_image_exactly_is_inside() -> None:
    """Corners on the border are inside: the box filling the image is neither changed nor flagged."""
    boxes = np.array([[0.0, 0.0, 10.0, 8.0, 0.0]])
    clamped, changed = clamp_xywhr(boxes, 8, 10)
    assert changed.tolist() == [False]
    np.testing.assert_array_equal(clamped, boxes)


@pytest.mark.parametrize(
    ("outside", "expected"),
    [
        ((-2.0, 1.0, 4.0, 2.0, 0.0), (0.0, 1.0, 2.0, 2.0, 0.0)),  # past the left border
        ((8.0, 1.0, 4.0, 2.0, 0.0), (8.0, 1.0, 2.0, 2.0, 0.0)),  # past the right border
        ((1.0, -1.0, 2.0, 3.0, 0.0), (1.0, 0.0, 2.0, 2.0, 0.0)),  # past the top
        ((1.0, 7.0, 2.0, 3.0, 0.0), (1.0, 7.0, 2.0, 1.0, 0.0)),  # past the bottom
    ],
)
def test_only_the_boxes_that_leave_the_image_are_clamped(
    outside: tuple[float, ...], expected: tuple[float, ...]
) -> None:
    """Each box is tested on its own: a box past one border does not make a box inside it count as moved."""
    inside = (3.0, 3.0, 2.0, 2.0, 30.0)
    clamped, changed = clamp_xywhr(np.array([inside, outside]), 8, 10)
    assert changed.tolist() == [False, True]
    np.testing.assert_array_equal(clamped[0], inside)
    np.testing.assert_allclose(clamped[1], expected, atol=1e-12)
    # Through the public API a DOTA quadrilateral inside the image is returned as it is, not squared off.
    kite = [4.0, 2.0, 5.0, 3.0, 4.0, 5.0, 3.0, 3.0]
    out = clip_boxes(
        np.array([kite, *convert_boxes(np.array([outside]), "xywhr", "xyxyxyxy")]), "xyxyxyxy", (8, 10)
    )
    assert out[0].tolist() == kite


def test_a_box_turned_inside_the_image_comes_back_bit_for_bit() -> None:
    """A turned box wholly inside is not recomputed from its clamped extent (that would add rounding)."""
    boxes = np.array([[3.1, 4.7, 2.3, 1.9, 33.3], [-5.0, 0.0, 2.0, 2.0, 0.0]])
    clamped, changed = clamp_xywhr(boxes, 10, 10)
    assert changed.tolist() == [False, True]
    assert clamped[0].tolist() == boxes[0].tolist()


def test_a_box_holding_nan_is_left_alone_while_the_others_are_clamped() -> None:
    """NaN is neither inside nor clamped: it stays NaN, unflagged, and does not stop the other boxes."""
    boxes = np.array([[np.nan, 0.0, 4.0, 2.0, 0.0], [-2.0, 1.0, 4.0, 2.0, 0.0]])
    clamped, changed = clamp_xywhr(boxes, 10, 10)
    assert changed.tolist() == [False, True]
    assert np.isnan(clamped[0, 0])
    assert clamped[0, 1:].tolist() == [0.0, 4.0, 2.0, 0.0]
    np.testing.assert_allclose(clamped[1], [0.0, 1.0, 2.0, 2.0, 0.0], atol=1e-12)


def test_clamping_integer_boxes_gives_float64_boxes() -> None:
    """Integer boxes are clamped in float64: a turned box's clamped sides are not cut to integers."""
    clamped, changed = clamp_xywhr(np.array([[-3, 5, 4, 4, 30]]), 10, 10)
    assert clamped.dtype == np.float64
    assert changed.tolist() == [True]
    # The bottom side runs right at 30 degrees from (-1, 5 + 2 sqrt 3) and crosses x = 0 after 1 / cos 30:
    # the part inside starts there along the width, and keeps the whole height.
    cut = 1.0 / math.cos(math.radians(30.0))
    np.testing.assert_allclose(clamped[0, 2:], [4.0 - cut, 4.0, 30.0], rtol=1e-12)


def test_a_region_thinner_than_the_rounding_of_the_box_takes_none_of_its_corners() -> None:
    """A region 1e-9 high, a box reaching 1e4 px up and 5e-9 past the region's bottom: cut at the region.

    At coordinates of 1e4 the inside test allows 1e-12 x 1e4 = 1e-8 px of rounding, more than the region is
    high: the region counts as having no area, so the box's bottom corners (5e-9 below it, inside that
    allowance) are not taken as inside it. The part of the box inside is 0.5 x 1e-9, from (0.25, 0).
    """
    height, past = 1e-9, 5e-9
    box = np.array([[0.25, -1e4, 0.5, 1e4 + height + past, 0.0]])
    clamped, changed = clamp_xywhr(box, height, 1.0)
    assert changed.tolist() == [True]
    # The cut's y comes from crossings computed with 1e4-sized numbers: good to a few 1e-12.
    np.testing.assert_allclose(clamped, [[0.25, 0.0, 0.5, height, 0.0]], rtol=0, atol=1e-11)


def test_a_box_thinner_than_the_rounding_of_the_image_takes_none_of_its_corners() -> None:
    """A box 1e-9 high passing 5e-9 below the top left corner of a 1e4 x 1e4 image: cut at x = 0 only.

    At the image's coordinates the inside test allows 1e-12 x 1e4 = 1e-8 px of rounding, more than the box
    is high: the box counts as having no area there, so the image's corner (5e-9 above it, inside that
    allowance) is not taken as a point of the box, which would stretch it to 6e-9 high.
    """
    height, below = 1e-9, 5e-9
    clamped, changed = clamp_xywhr(np.array([[-1.0, below, 2.0, height, 0.0]]), 1e4, 1e4)
    assert changed.tolist() == [True]
    np.testing.assert_allclose(clamped, [[0.0, below, 1.0, height, 0.0]], rtol=0, atol=1e-15)


# ---------------------------------------------------------------- clamping corners to a region


def test_clamping_corners_to_a_region_less_than_a_pixel_high_or_wide() -> None:
    """A region 0.5 high (or wide) clamps to 0.5: its size is not rounded up to a pixel."""
    low = clamp_corners(np.array([[2.0, 0.0, 4.0, 0.0, 4.0, 0.8, 2.0, 0.8]]), 0.0, 0.0, 10.0, 0.5)
    np.testing.assert_allclose(low, [[2.0, 0.0, 4.0, 0.0, 4.0, 0.5, 2.0, 0.5]], atol=1e-12)
    narrow = clamp_corners(np.array([[0.1, 2.0, 0.8, 2.0, 0.8, 4.0, 0.1, 4.0]]), 0.0, 0.0, 0.5, 10.0)
    np.testing.assert_allclose(narrow, [[0.1, 2.0, 0.5, 2.0, 0.5, 4.0, 0.1, 4.0]], atol=1e-12)


def test_clamping_corners_to_a_region_away_from_the_origin_cuts_at_its_far_borders() -> None:
    """The region [10, 20] x [10, 20]: a box past its bottom and right borders is cut at y = 20 and x = 20."""
    below = clamp_corners(
        np.array([[12.0, 15.0, 14.0, 15.0, 14.0, 25.0, 12.0, 25.0]]), 10.0, 10.0, 20.0, 20.0
    )
    np.testing.assert_allclose(below, [[12.0, 15.0, 14.0, 15.0, 14.0, 20.0, 12.0, 20.0]], atol=1e-12)
    right = clamp_corners(
        np.array([[15.0, 12.0, 25.0, 12.0, 25.0, 14.0, 15.0, 14.0]]), 10.0, 10.0, 20.0, 20.0
    )
    np.testing.assert_allclose(right, [[15.0, 12.0, 20.0, 12.0, 20.0, 14.0, 15.0, 14.0]], atol=1e-12)


def test_clamping_to_a_region_of_height_zero_keeps_the_side_lying_on_it() -> None:
    """A box whose top side lies on a region of height 0 (a line) meets it in that side: it clamps to it.

    The line holds no corner of the box, so the side's ends are found where the box's upright sides cross
    the line: at the very start of one side and the very end of the other, both of which count.
    """
    box = np.array([[2.0, 0.0, 5.0, 0.0, 5.0, 1.0, 2.0, 1.0]])
    out = clamp_corners(box, 0.0, 0.0, 10.0, 0.0)
    assert out.tolist() == [[2.0, 0.0, 5.0, 0.0, 5.0, 0.0, 2.0, 0.0]]


def test_corners_past_the_border_by_rounding_only_are_kept_bit_for_bit() -> None:
    """Corners beyond the border by less than the rounding allowance are inside: not moved at all."""
    corners = np.array([[-5e-5, 0.0, 4.0, 0.0, 4.0, 2.0, -5e-5, 2.0]])
    out = clamp_corners(corners, 0.0, 0.0, 10.0, 10.0)
    assert out.tolist() == corners.tolist()


def test_clamping_corners_leaves_a_nan_corner_nan() -> None:
    """A box with a NaN corner is not rebuilt from its other corners: the NaN stays for the caller to drop."""
    corners = np.array([[0.0, 0.0, 4.0, 0.0, 4.0, 2.0, np.nan, 2.0]])
    out = clamp_corners(corners, 0.0, 0.0, 10.0, 10.0)
    assert np.isnan(out[0, 6])
    assert out[0, :6].tolist() == [0.0, 0.0, 4.0, 0.0, 4.0, 2.0]


# ---------------------------------------------------------------- the inside test


def test_corners_on_the_border_are_inside() -> None:
    """The box filling the image, and one filling it turned by 90 degrees, lie inside it."""
    filling = np.array(
        [[0.0, 0.0, 10.0, 0.0, 10.0, 8.0, 0.0, 8.0], [10.0, 0.0, 10.0, 8.0, 0.0, 8.0, 0.0, 0.0]]
    )
    assert corners_inside(filling, 8, 10).tolist() == [True, True]


def test_corners_inside_is_decided_box_by_box() -> None:
    """One box past each border among boxes inside: only it is outside."""
    inside = [1.0, 1.0, 3.0, 1.0, 3.0, 3.0, 1.0, 3.0]
    left = [-1.0, 1.0, 3.0, 1.0, 3.0, 3.0, -1.0, 3.0]
    right = [1.0, 1.0, 11.0, 1.0, 11.0, 3.0, 1.0, 3.0]
    top = [1.0, -1.0, 3.0, -1.0, 3.0, 3.0, 1.0, 3.0]
    bottom = [1.0, 1.0, 3.0, 1.0, 3.0, 9.0, 1.0, 9.0]
    for outside in (left, right, top, bottom):
        assert corners_inside(np.array([inside, outside, inside]), 8, 10).tolist() == [True, False, True]


def test_the_inside_test_allows_rounding_noise_up_to_its_limit() -> None:
    """Corners up to _BORDER_NOISE past a border are inside; twice as far they are outside."""
    for beyond, expected in ((_BORDER_NOISE, True), (2 * _BORDER_NOISE, False)):
        low, high_x, high_y = -beyond, 10 + beyond, 8 + beyond
        boxes = np.array(
            [
                [low, 1.0, 3.0, 1.0, 3.0, 3.0, low, 3.0],
                [1.0, 1.0, high_x, 1.0, high_x, 3.0, 1.0, 3.0],
                [1.0, low, 3.0, low, 3.0, 3.0, 1.0, 3.0],
                [1.0, 1.0, 3.0, 1.0, 3.0, high_y, 1.0, high_y],
            ]
        )
        assert corners_inside(boxes, 8, 10).tolist() == [expected] * 4


# ---------------------------------------------------------------- torchvision's parallelogram rule


def test_a_rhombus_is_squared_off_as_torchvision_does() -> None:
    """Equal sides take torchvision's branch for neither side shorter: width and height grow by the shear.

    The rhombus (0, 0), (2, 0), (3, sqrt 3), (1, sqrt 3) has sides 2 at 60 degrees: torchvision makes it
    the square of side 2 + 2 cos 60 = 3 about its centre (1.5, sqrt 3 / 2), along its first side.
    """
    rhombus = np.array([[0.0, 0.0, 2.0, 0.0, 3.0, ROOT3, 1.0, ROOT3]])
    top, bottom = ROOT3 / 2 - 1.5, ROOT3 / 2 + 1.5
    expected = [[0.0, top, 3.0, top, 3.0, bottom, 0.0, bottom]]
    np.testing.assert_allclose(parallelogram_to_rectangle(rhombus), expected, atol=1e-12)
    geometry = pytest.importorskip("torchvision.transforms.v2.functional._geometry")
    rule = getattr(geometry, "_parallelogram_to_bounding_boxes", None)
    if rule is not None:
        reference = rule(torch.tensor(rhombus)).numpy()
        np.testing.assert_allclose(parallelogram_to_rectangle(rhombus), reference, atol=1e-12)


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_rectangles_skewed_by_rounding_only_are_kept_bit_for_bit_at_any_scale(scale: float) -> None:
    """A skew of 1e-12 of the sides (rounding) leaves the corners as they are, for small and large boxes."""
    side, skew = 3.0 * scale, 3e-12 * scale
    corners = np.array([[0.0, 0.0, side, 0.0, side + skew, side, skew, side]])
    assert parallelogram_to_rectangle(corners).tolist() == corners.tolist()


def test_a_skew_of_exactly_the_rectangle_tolerance_still_counts_as_a_rectangle() -> None:
    """The corner dot product may reach 1e-9 of the sides' product: at exactly that the corners are kept."""
    # Sides (1, 0) and (1e-9, 1): the dot product is 1e-9 and the second side's length rounds to 1.
    corners = np.array([[0.0, 0.0, 1.0, 0.0, 1.0 + 1e-9, 1.0, 1e-9, 1.0]])
    assert parallelogram_to_rectangle(corners).tolist() == corners.tolist()


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_a_real_shear_is_squared_off_at_any_scale(scale: float) -> None:
    """A shear of 1e-6 of the sides is a parallelogram, not rounding: it becomes a rectangle at any scale."""
    side, skew = 3.0 * scale, 3e-6 * scale
    corners = np.array([[0.0, 0.0, side, 0.0, side + skew, side, skew, side]])
    out = parallelogram_to_rectangle(corners)
    assert out.tolist() != corners.tolist()
    points = out.reshape(4, 2)
    first, second = points[1] - points[0], points[3] - points[0]
    assert abs(first @ second) <= 1e-12 * np.hypot(*first) * np.hypot(*second)
    # The longer diagonal, from the first corner to the third, stays.
    np.testing.assert_allclose(out[0, [0, 1, 4, 5]], corners[0, [0, 1, 4, 5]], atol=1e-12 * scale)


# ---------------------------------------------------------------- rotated IoU


def test_boxes_a_hair_apart_have_iou_exactly_zero() -> None:
    """Axis-aligned boxes apart by 1e-14 (less than the inside test's rounding allowance) have IoU 0 exactly:
    their enclosing boxes do not overlap. (Slanted neighbours that close may get an IoU within the allowance.)"""
    gap = 1e-14
    square = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    beside = [1.0 + gap, 0.0, 2.0, 0.0, 2.0, 1.0, 1.0 + gap, 1.0]
    below = [0.0, 1.0 + gap, 1.0, 1.0 + gap, 1.0, 2.0, 0.0, 2.0]
    others = np.array([beside, below, [-1.0, 0.0, -gap, 0.0, -gap, 1.0, -1.0, 1.0]])
    assert rotated_iou(np.array([square]), others).tolist() == [[0.0, 0.0, 0.0]]
    assert rotated_iou(others, np.array([square])).tolist() == [[0.0], [0.0], [0.0]]
    assert box_iou(np.array([square]), others, "xyxyxyxy").tolist() == [[0.0, 0.0, 0.0]]


def slanted_neighbours(gap: float) -> tuple[list[float], list[float]]:
    """Two quadrilaterals side by side along a slanted side (direction (1, 2)), ``gap`` apart along x.

    The gap across the sides is ``gap * 2 / sqrt 5``; their enclosing boxes overlap, so the pair is intersected.
    All coordinates lie in [-1, 1].
    """
    left = [-1.0, -1.0, -0.5, -1.0, 0.5, 1.0, -1.0, 1.0]
    right = [-0.5 + gap, -1.0, 1.0, -1.0, 1.0, 1.0, 0.5 + gap, 1.0]
    return left, right


def test_boxes_apart_by_more_than_the_rounding_allowance_do_not_overlap() -> None:
    """The inside test allows 1e-12 of the coordinates' magnitude (at least 1) of rounding: no more.

    At coordinates up to 1, sides 1.6e-12 * 2 / sqrt 5 = 1.43e-12 apart are apart: IoU exactly 0.
    """
    left, right = slanted_neighbours(1.6e-12)
    assert rotated_iou(np.array([left]), np.array([right])).tolist() == [[0.0]]
    assert rotated_iou(np.array([right]), np.array([left])).tolist() == [[0.0]]


def test_the_rounding_allowance_of_a_pair_does_not_depend_on_the_other_pairs() -> None:
    """Each pair's allowance follows its own coordinates: a pair at 1e6 px in the batch does not widen it.

    The two quadrilaterals, 1e-7 apart at coordinates up to 1, do not overlap; at 1e6 px the allowance would be
    1e-6 px and they would.
    """
    left, right = slanted_neighbours(1e-7)
    far = [1e6, 1e6, 1e6 + 1.0, 1e6, 1e6 + 1.0, 1e6 + 1.0, 1e6, 1e6 + 1.0]
    assert rotated_iou(np.array([left, far]), np.array([right, far])).tolist() == [[0.0, 0.0], [0.0, 1.0]]
    assert rotated_iou(np.array([right, far]), np.array([left, far])).tolist() == [[0.0, 0.0], [0.0, 1.0]]


def test_boxes_smaller_than_a_pixel_and_apart_do_not_overlap() -> None:
    """A diamond 2e-3 across and a diamond 2e-7 across, 1e-7 apart: IoU exactly 0, however small the sides.

    The rounding allowance is a distance (1e-12 of the coordinates), not a share of the sides' length.
    """
    radius, small = 1e-3, 1e-7
    big = [0.5, 0.5 - radius, 0.5 + radius, 0.5, 0.5, 0.5 + radius, 0.5 - radius, 0.5]
    # The small diamond's lower left side runs along the big one's upper right side (x - y = radius), 1e-7
    # beyond it: its centre lies 1e-7 plus its own half width (small / sqrt 2) out from the middle of that side,
    # along the normal (1, -1) / sqrt 2.
    shift = (small + 1e-7 * math.sqrt(2.0)) / 2
    x, y = 0.5 + radius / 2 + shift, 0.5 - radius / 2 - shift
    tiny = [x, y - small, x + small, y, x, y + small, x - small, y]
    assert rotated_iou(np.array([tiny]), np.array([big])).tolist() == [[0.0]]
    assert rotated_iou(np.array([big]), np.array([tiny])).tolist() == [[0.0]]


def test_a_box_smaller_than_a_millionth_of_a_pixel_straddling_a_side_overlaps_by_half() -> None:
    """Sides 1e-7 long cross a side 1 long: their crossings count, however short one side is.

    The tiny square's half inside the unit square, 1e-7 x 5e-8, is the intersection: IoU 5e-15 / (1 + 5e-15).
    """
    side = 1e-7
    unit = [-1.0, -0.5, 0.0, -0.5, 0.0, 0.5, -1.0, 0.5]
    tiny = [-side / 2, 0.0, side / 2, 0.0, side / 2, side, -side / 2, side]
    half = side * side / 2
    expected = half / (1.0 + half)
    np.testing.assert_allclose(rotated_iou(np.array([unit]), np.array([tiny])), [[expected]], rtol=1e-6)
    np.testing.assert_allclose(rotated_iou(np.array([tiny]), np.array([unit])), [[expected]], rtol=1e-6)


def test_a_triangle_given_as_four_corners_with_two_equal_intersects_as_the_triangle() -> None:
    """A quadrilateral with a repeated corner is the triangle of its other three, as DOTA labels may give it.

    Its side of length 0 has no inside to test against: it excludes no point. The unit square inside the
    triangle (0, 0), (4, 0), (4, 4) of area 8 has IoU 1/8 with it, as the independent clipper finds.
    """
    triangle = np.array([[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 4.0, 4.0]])
    square = np.array([[2.5, 0.5, 3.5, 0.5, 3.5, 1.5, 2.5, 1.5]])
    np.testing.assert_allclose(rotated_iou(triangle, square), [[0.125]], rtol=1e-12)
    np.testing.assert_allclose(rotated_iou(square, triangle), [[0.125]], rtol=1e-12)
    np.testing.assert_allclose(reference_iou(triangle, square), [[0.125]], rtol=1e-12)


# ---------------------------------------------------------------- the area inside the image


def test_area_in_image_of_a_box_with_an_infinite_corner_is_zero_without_warnings() -> None:
    """A box with an infinite coordinate has no area inside the image, and numpy stays quiet about it."""
    corners = np.array(
        [[0.0, 0.0, np.inf, 0.0, 4.0, 2.0, 0.0, 2.0], [-2.0, 0.0, 2.0, 0.0, 2.0, 2.0, -2.0, 2.0]]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert polygon_area_in_image(corners, 10, 10).tolist() == [0.0, 4.0]


# ---------------------------------------------------------------- extreme coordinates stay quiet


def test_a_box_reaching_far_past_the_image_is_cut_to_it_without_warnings() -> None:
    """A box 1e200 long is cut to the image's width; its huge rounding allowances overflow silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clamped, changed = clamp_xywhr(np.array([[0.0, 0.0, 1e200, 2.0, 0.0]]), 10, 10)
        out = clip_boxes(np.array([[0.0, 0.0, 1e200, 2.0, 0.0]]), "xywhr", image_size=(10, 10))
    assert changed.tolist() == [True]
    assert clamped.tolist() == [[0.0, 0.0, 10.0, 2.0, 0.0]]
    assert out.tolist() == [[0.0, 0.0, 10.0, 2.0, 0.0]]


def test_iou_with_boxes_reaching_infinity_is_zero_without_warnings() -> None:
    """A strip and a spike that reach x = inf have infinite area: their IoU with a square is 0, quietly."""
    square = np.array([[0.0, -1.0, 2.0, -1.0, 2.0, 1.0, 0.0, 1.0]])
    strip = np.array([[0.0, -1.0, np.inf, -1.0, np.inf, 1.0, 0.0, 1.0]])
    spike = np.array([[0.0, -1.0, np.inf, 0.0, 0.0, 1.0, -1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for infinite in (strip, spike):
            assert rotated_iou(infinite, square).tolist() == [[0.0]]
            assert rotated_iou(square, infinite).tolist() == [[0.0]]


def test_iou_of_two_crossing_strips_1e155_long_is_about_zero_without_warnings() -> None:
    """Two strips 1e155 long crossing in a unit square: IoU 1 / 2e155, and the side products overflow quietly."""
    across = np.array([[0.0, 0.0, 1e155, 0.0, 1e155, 1.0, 0.0, 1.0]])
    down = np.array([[0.0, 0.0, 1.0, 0.0, 1.0, 1e155, 0.0, 1e155]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iou = rotated_iou(across, down)
    assert iou.shape == (1, 1)
    assert 0.0 <= iou[0, 0] <= 1e-150


def test_a_quadrilateral_with_an_infinite_corner_passes_through_the_parallelogram_rule_quietly() -> None:
    """An infinite corner cannot be squared off: the corners come back as they are, without warnings."""
    corners = np.array([[0.0, 0.0, np.inf, 0.0, 4.0, 2.0, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = parallelogram_to_rectangle(corners)
    assert out.tolist() == corners.tolist()


# ---------------------------------------------------------------- against an independent polygon clipper


def clip_polygon(subject: list[tuple[float, float]], clipper: list[tuple[float, float]]) -> list:
    """Sutherland-Hodgman: the part of convex ``subject`` inside convex ``clipper`` (both positively oriented)."""
    out = list(subject)
    for k, start in enumerate(clipper):
        end = clipper[(k + 1) % len(clipper)]
        points, out = out, []

        def side(point: tuple[float, float], start: tuple = start, end: tuple = end) -> float:
            return (end[0] - start[0]) * (point[1] - start[1]) - (end[1] - start[1]) * (point[0] - start[0])

        for index, current in enumerate(points):
            previous = points[index - 1]
            now, before = side(current), side(previous)
            if (now >= 0) != (before >= 0):
                share = before / (before - now)
                out.append(
                    (
                        previous[0] + share * (current[0] - previous[0]),
                        previous[1] + share * (current[1] - previous[1]),
                    )
                )
            if now >= 0:
                out.append(current)
    return out


def shoelace(points: list[tuple[float, float]]) -> float:
    """Area of a polygon through ``points``."""
    total = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]))
    return abs(total) / 2


def reference_iou(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """IoU of every pair of positively oriented ``(N, 8)`` / ``(M, 8)`` quadrilaterals, one pair at a time."""
    out = np.zeros((len(first), len(second)))
    for i, a in enumerate(first):
        for j, b in enumerate(second):
            pa, pb = list(zip(a[0::2], a[1::2])), list(zip(b[0::2], b[1::2]))
            inter = shoelace(clip_polygon(pa, pb))
            union = shoelace(pa) + shoelace(pb) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def test_rotated_iou_matches_an_independent_polygon_clipper() -> None:
    """Random turned boxes crowded together, and special pairs: IoU as a Sutherland-Hodgman clipper gives it."""
    rng = np.random.default_rng(26)
    count = 30
    xywhr = np.column_stack(
        [rng.uniform(0, 12, (count, 2)), rng.uniform(0.5, 8, (count, 2)), rng.uniform(-180, 180, count)]
    )
    xywhr[:5, 4] = [0.0, 90.0, 45.0, 30.0, 180.0]
    boxes = convert_boxes(xywhr, "xywhr", "xyxyxyxy")
    special = np.array(
        [
            [0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0],  # a square
            [0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0],  # the same square
            [4.0, 0.0, 8.0, 0.0, 8.0, 4.0, 4.0, 4.0],  # sharing its right side
            [1.0, 1.0, 3.0, 1.0, 3.0, 3.0, 1.0, 3.0],  # inside it
            [2.0, -1.0, 5.0, 2.0, 2.0, 5.0, -1.0, 2.0],  # turned 45 degrees about its centre
            [2.0, 0.0, 6.0, 0.0, 6.0, 4.0, 2.0, 4.0],  # half over it, sides along its sides
            [3.0, 3.0, 5.0, 3.0, 5.0, 5.0, 3.0, 5.0],  # over one corner
            [4.0, 4.0, 6.0, 4.0, 6.0, 6.0, 4.0, 6.0],  # touching one corner
            [0.0, 2.0, 4.0, 0.0, 6.0, 4.0, 2.0, 6.0],  # a turned, non-square quadrilateral
        ]
    )
    every = np.vstack([boxes, special])
    np.testing.assert_allclose(rotated_iou(every, every), reference_iou(every, every), atol=1e-9)
    np.testing.assert_allclose(box_iou(every, special, "xyxyxyxy"), reference_iou(every, special), atol=1e-9)


def test_area_in_image_matches_an_independent_polygon_clipper() -> None:
    """The part of turned boxes inside a 10 x 8 image, as a Sutherland-Hodgman clipper gives it."""
    rng = np.random.default_rng(5)
    xywhr = np.column_stack(
        [rng.uniform(-4, 14, (40, 2)), rng.uniform(0.5, 9, (40, 2)), rng.uniform(-180, 180, 40)]
    )
    corners = convert_boxes(xywhr, "xywhr", "xyxyxyxy")
    image = [(0.0, 0.0), (10.0, 0.0), (10.0, 8.0), (0.0, 8.0)]
    expected = [shoelace(clip_polygon(list(zip(c[0::2], c[1::2])), image)) for c in corners]
    np.testing.assert_allclose(polygon_area_in_image(corners, 8, 10), expected, atol=1e-9)


def test_iou_of_boxes_smaller_than_a_pixel() -> None:
    """Boxes whose union is under 1 square pixel: IoU is still intersection over union (1/3, 1, 0.5 / 0.5)."""
    square = [0.0, 0.0, 0.5, 0.0, 0.5, 0.5, 0.0, 0.5]
    shifted = [0.25, 0.0, 0.75, 0.0, 0.75, 0.5, 0.25, 0.5]
    iou = rotated_iou(np.array([square]), np.array([shifted, square]))
    np.testing.assert_allclose(iou, [[1.0 / 3.0, 1.0]], rtol=1e-12)
    # A box inside the other: no sides cross, the intersection is the inner box (0.2 x 0.2 of 0.5 x 0.5).
    inner = [0.1, 0.1, 0.3, 0.1, 0.3, 0.3, 0.1, 0.3]
    np.testing.assert_allclose(rotated_iou(np.array([inner]), np.array([square])), [[0.16]], rtol=1e-12)
    turned = convert_boxes(np.array([[0.25, 0.25, 0.5, 0.5, 90.0]]), "cxcywhr", "xyxyxyxy")
    np.testing.assert_allclose(box_iou(np.array([square]), turned, "xyxyxyxy"), [[1.0]], rtol=1e-12)


def test_a_sliver_narrower_than_rounding_overlaps_nothing() -> None:
    """A box 1e-12 wide across a unit square is collapsed: its IoU with the square, and with itself, is 0."""
    sliver = [0.5, -1.0, 0.5 + 1e-12, -1.0, 0.5 + 1e-12, 2.0, 0.5, 2.0]
    square = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    iou = rotated_iou(np.array([sliver]), np.array([square, sliver]))
    assert iou.tolist() == [[0.0, 0.0]]


def test_iou_does_not_depend_on_the_direction_the_corners_run() -> None:
    """Corners listed the other way round (counter-clockwise on screen) are the same quadrilateral."""
    rng = np.random.default_rng(7)
    xywhr = np.column_stack([rng.uniform(0, 6, (8, 2)), rng.uniform(1, 5, (8, 2)), rng.uniform(-90, 90, 8)])
    corners = convert_boxes(xywhr, "xywhr", "xyxyxyxy")
    reversed_corners = corners.reshape(-1, 4, 2)[:, ::-1].reshape(-1, 8)
    expected = rotated_iou(corners, corners)
    assert np.all(np.diag(expected) > 1 - 1e-12)
    np.testing.assert_allclose(rotated_iou(reversed_corners, corners), expected, atol=1e-12)
    np.testing.assert_allclose(rotated_iou(corners, reversed_corners), expected, atol=1e-12)
    np.testing.assert_allclose(
        polygon_area_in_image(reversed_corners, 8, 8), polygon_area_in_image(corners, 8, 8)
    )


def test_iou_of_float32_and_tensor_corners_is_computed_in_float64() -> None:
    """float32 arrays, bfloat16 tensors and tensors that require grad are intersected in float64 numpy."""
    xywhr = np.array([[1.1, 2.3, 3.7, 2.9, 17.0], [2.2, 1.9, 2.6, 3.3, -41.0], [0.7, 0.3, 5.1, 1.3, 73.0]])
    corners32 = convert_boxes(xywhr, "xywhr", "xyxyxyxy").astype(np.float32)
    # The float32 values themselves, intersected in float64, are the reference.
    expected = rotated_iou(corners32.astype(np.float64), corners32.astype(np.float64))
    np.testing.assert_array_equal(rotated_iou(corners32, corners32), expected)
    grad = torch.tensor(corners32, requires_grad=True)
    np.testing.assert_array_equal(rotated_iou(grad, grad), expected)
    half = torch.tensor(corners32).to(torch.bfloat16)
    reference = rotated_iou(half.double().numpy(), half.double().numpy())
    np.testing.assert_array_equal(rotated_iou(half, half), reference)
    assert box_iou(half, half, "xyxyxyxy").dtype == torch.bfloat16


def test_slivers_are_collapsed_by_their_width_relative_to_their_coordinates() -> None:
    """A quadrilateral narrower than 1e-10 of its coordinates' magnitude (at least 1) has no area.

    A sliver 1.5e-10 wide within the unit square keeps its area (its coordinates are at most 1); one 2e-10
    wide and 4 long (coordinates up to 4: limit 4e-10) is collapsed, whatever boxes share the batch.
    """
    unit = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    kept = [0.5, 0.0, 0.5 + 1.5e-10, 0.0, 0.5 + 1.5e-10, 1.0, 0.5, 1.0]
    long = [0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]
    collapsed = [2.0, 0.0, 2.0 + 2e-10, 0.0, 2.0 + 2e-10, 4.0, 2.0, 4.0]
    far = [1000.0, 1000.0, 1100.0, 1000.0, 1100.0, 1100.0, 1000.0, 1100.0]
    iou = rotated_iou(np.array([kept, collapsed, far]), np.array([unit, long]))
    np.testing.assert_allclose(iou[0, 0], 1.5e-10, rtol=1e-3)
    assert iou[1].tolist() == [0.0, 0.0]
    area = polygon_area_in_image(np.array([kept, collapsed, far]), 10, 10)
    np.testing.assert_allclose(area[0], 1.5e-10, rtol=1e-3)
    assert area[1:].tolist() == [0.0, 0.0]


def kite_along_x(thickness: float) -> list[float]:
    """A kite from (0, 1) to (2, 1), ``thickness`` above and below its middle: area 2 thickness, sides ~1."""
    return [0.0, 1.0, 1.0, 1.0 - thickness, 2.0, 1.0, 1.0, 1.0 + thickness]


def kite_along_y(thickness: float) -> list[float]:
    """The same kite upright, from (1, 0) to (1, 2)."""
    return [1.0, 0.0, 1.0 + thickness, 1.0, 1.0, 2.0, 1.0 - thickness, 1.0]


def strip_along_the_diagonal(thickness: float) -> list[float]:
    """The segment from (0, 0) to (2, 2) widened by (thickness, -thickness): sides 2 sqrt 2 and thickness sqrt 2."""
    return [0.0, 0.0, 2.0, 2.0, 2.0 + thickness, 2.0 - thickness, thickness, -thickness]


# Each sliver's flatness bound, 1e-10 x its longest side x its largest coordinate (2), as a thickness: the
# kites' area 2 t reaches 1e-10 x 1 x 2 at t = 1e-10, the strip's area 4 t reaches 1e-10 x 2 sqrt 2 x 2 at
# t = sqrt 2 x 1e-10.
SLIVERS = {
    "kite along x": (kite_along_x, 1e-10),
    "kite along y": (kite_along_y, 1e-10),
    "strip along the diagonal": (strip_along_the_diagonal, math.sqrt(2.0) * 1e-10),
}


@pytest.mark.parametrize("name", SLIVERS)
def test_a_sliver_is_collapsed_under_the_flatness_bound_and_kept_over_it(name: str) -> None:
    """At 0.8 of its bound a sliver has no area (IoU 0 with itself), at 1.25 of it it keeps it (IoU 1).

    The bound uses the longest side as the sliver's own corners give it, whichever way the sliver lies.
    """
    make, bound = SLIVERS[name]
    collapsed, kept = np.array([make(0.8 * bound)]), np.array([make(1.25 * bound)])
    assert rotated_iou(collapsed, collapsed).tolist() == [[0.0]]
    np.testing.assert_allclose(rotated_iou(kept, kept), [[1.0]], rtol=1e-3)


def test_whether_a_sliver_is_collapsed_does_not_depend_on_its_neighbours_in_the_batch() -> None:
    """A sliver kept on its own is kept next to a box 1000 px away, listed before it or after it."""
    kept = kite_along_x(1.25e-10)
    far = [1000.0, 1000.0, 1100.0, 1000.0, 1100.0, 1100.0, 1000.0, 1100.0]
    for batch in (np.array([kept, far]), np.array([far, kept])):
        np.testing.assert_allclose(np.diag(rotated_iou(batch, batch)), [1.0, 1.0], rtol=1e-3)


# ---------------------------------------------------------------- the candidate vertices of an intersection


def test_corners_on_the_sides_of_the_other_quadrilateral_count_as_inside_far_from_the_origin() -> None:
    """Corners a third of the way along the sides of a 1000 px square at (1e6, 1e6) are vertices of both.

    They lie on the sides up to rounding, and here every one of them lands 2e-11 px outside: the inside
    test's allowance, 1e-12 of the coordinates (1e-6 px here), keeps them as inside, either way round.
    """
    corner, along, down = np.array([1e6, 1e6]), np.array([800.0, -600.0]), np.array([600.0, 800.0])
    outer = np.array([[corner, corner + along, corner + along + down, corner + down]])
    inner = np.array([[outer[0, k] + (outer[0, (k + 1) % 4] - outer[0, k]) / 3 for k in range(4)]])
    sides = np.roll(outer[0], -1, axis=0) - outer[0]
    offsets = inner[0] - outer[0]
    # Cross products of each side with its point: all negative, so every point is outside by rounding.
    assert np.all(sides[:, 0] * offsets[:, 1] - sides[:, 1] * offsets[:, 0] < 0)
    # The mask holds a's corners inside b first, then b's corners inside a.
    assert _intersection_points(inner, outer)[2][0, :4].tolist() == [True] * 4
    assert _intersection_points(outer, inner)[2][0, 4:8].tolist() == [True] * 4
    # The inner square's side is sqrt((1/3)^2 + (2/3)^2) of the outer one's: 5/9 of its area.
    np.testing.assert_allclose(rotated_iou(inner.reshape(1, 8), outer.reshape(1, 8)), [[5 / 9]], rtol=1e-9)


def test_sides_within_the_parallel_tolerance_have_no_crossing_point() -> None:
    """Sides whose cross product is at most 1e-12 of their lengths' product are parallel, the limit included.

    Near parallel, a corner's rounding moves the sides' crossing far along them: such sides are not crossed.
    The top side of the unit square and a side turned by exactly the limit (rising 1e-12 over 1) count as
    parallel; turned by twice the limit, they cross at (0.5, 0).
    """
    square = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    for rise, crossing in ((1e-12, False), (2e-12, True)):
        tilted = np.array([[[0.0, -rise / 2], [1.0, rise / 2], [1.0, 1.0], [0.0, 1.0]]])
        xs, ys, mask = _intersection_points(square, tilted)
        # Crossings follow the corners, side i of the first against side j of the second at 8 + 4 i + j.
        assert bool(mask[0, 8]) is crossing
        if crossing:
            assert (xs[0, 8], ys[0, 8]) == (0.5, 0.0)

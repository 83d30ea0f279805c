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
    """Boxes apart by 1e-14 (less than the inside test's rounding allowance) do not overlap: IoU 0 exactly."""
    gap = 1e-14
    square = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    beside = [1.0 + gap, 0.0, 2.0, 0.0, 2.0, 1.0, 1.0 + gap, 1.0]
    below = [0.0, 1.0 + gap, 1.0, 1.0 + gap, 1.0, 2.0, 0.0, 2.0]
    others = np.array([beside, below, [-1.0, 0.0, -gap, 0.0, -gap, 1.0, -1.0, 1.0]])
    assert rotated_iou(np.array([square]), others).tolist() == [[0.0, 0.0, 0.0]]
    assert rotated_iou(others, np.array([square])).tolist() == [[0.0], [0.0], [0.0]]
    assert box_iou(np.array([square]), others, "xyxyxyxy").tolist() == [[0.0, 0.0, 0.0]]


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

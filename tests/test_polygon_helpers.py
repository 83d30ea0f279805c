"""The polygon helpers of ``visiondata.boxes._rotated``: intersections with collapsed boxes, the area of a
polygon inside the image, soft clamping of corners to a region, and torchvision's parallelogram rule.

The pipeline (``transforms/_work.py``, ``transforms/_mixing.py``) uses these helpers; these tests pin them
at their home, by hand-computed values and against torchvision's own functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as tvf

from visiondata.boxes import box_iou, clip_boxes
from visiondata.boxes._rotated import (
    _as_float64_points,
    _hull_area,
    _intersection_points,
    clamp_corners,
    clamp_xywhr,
    corners_to_xywhr,
    parallelogram_to_rectangle,
    polygon_area_in_image,
    rotated_iou,
    signed_area,
    xywhr_to_corners,
)

HEIGHT, WIDTH = 40, 64
CANVAS = np.array([[0.0, 0.0, WIDTH, 0.0, WIDTH, HEIGHT, 0.0, HEIGHT]])


def corners(*xywhr: tuple[float, float, float, float, float]) -> np.ndarray:
    return xywhr_to_corners(np.array(xywhr, dtype=np.float64))


def intersection_area(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Area of each pair's intersection, straight from the polygon code (no cap by the areas)."""
    first, second = _as_float64_points(first), _as_float64_points(second)
    return _hull_area(*_intersection_points(first, second))


# A box collapsed to a point (inside and outside the image), to a segment along the image's left border,
# to a segment across the image and to a turned segment: each has no area.
COLLAPSED = corners(
    (10.0, 10.0, 0.0, 0.0, 0.0),
    (100.0, 100.0, 0.0, 0.0, 0.0),
    (0.0, 50.0, 20.0, 0.0, 90.0),
    (10.0, -10.0, 0.0, 60.0, 0.0),
    (5.0, 5.0, 30.0, 0.0, 30.0),
)


# ---------------------------------------------------------------- collapsed (degenerate) polygons


def test_the_intersection_of_a_collapsed_box_with_the_image_has_no_area() -> None:
    # Before the fix every corner of the image counted as inside a point: the intersection was the image.
    areas = intersection_area(COLLAPSED, np.repeat(CANVAS, len(COLLAPSED), axis=0))
    np.testing.assert_allclose(areas, 0.0, atol=1e-9)
    # Either way round.
    areas = intersection_area(np.repeat(CANVAS, len(COLLAPSED), axis=0), COLLAPSED)
    np.testing.assert_allclose(areas, 0.0, atol=1e-9)


def test_a_thin_box_that_has_area_still_intersects() -> None:
    # 0.001 pixel wide: narrow, but a real box, not a collapsed one.
    thin = corners((10.0, 5.0, 0.001, 20.0, 0.0), (10.0, 5.0, 20.0, 0.001, -33.0))
    areas = intersection_area(thin, np.repeat(CANVAS, 2, axis=0))
    np.testing.assert_allclose(areas, 0.02, rtol=1e-6)


def test_the_iou_of_a_collapsed_box_with_anything_is_zero() -> None:
    others = np.concatenate([CANVAS, corners((5.0, 5.0, 10.0, 10.0, 0.0), (8.0, 3.0, 12.0, 6.0, 30.0))])
    everything = np.concatenate([COLLAPSED, others])
    assert (rotated_iou(COLLAPSED, everything) == 0).all()
    assert (rotated_iou(everything, COLLAPSED) == 0).all()
    # The same through the public box_iou, in xywhr.
    assert (box_iou(corners_to_xywhr(COLLAPSED), corners_to_xywhr(others), "xywhr") == 0).all()


def test_clipping_a_collapsed_box_outside_the_image_collapses_it_as_torchvision_does() -> None:
    # Before the fix a point outside the image "enclosed" the image's corners: clipping gave the whole image.
    boxes = np.array(
        [[100.0, 100.0, 0.0, 0.0, 0.0], [30.0, -5.0, 0.0, 0.0, 0.0], [-5.0, -5.0, 0.0, 0.0, 45.0]]
    )
    clipped = clip_boxes(boxes, "xywhr", image_size=(HEIGHT, WIDTH))
    reference = tvf.clamp_bounding_boxes(
        torch.tensor(boxes), format="XYWHR", canvas_size=(HEIGHT, WIDTH), clamping_mode="soft"
    ).numpy()
    np.testing.assert_array_equal(clipped, [[0.0, HEIGHT, 0.0, 0.0, 0.0]] * 3)
    np.testing.assert_array_equal(clipped, reference)


def test_clipping_a_segment_on_the_border_keeps_only_its_part_in_the_image() -> None:
    # The segment x = 0, y from 30 to 50: its part in a 64 x 40 image runs from y = 30 to 40. Before the
    # fix the image's corners (0, 0) and (0, 40) counted as on it, and the clipped box ran from 0 to 40.
    clamped, changed = clamp_xywhr(np.array([[0.0, 50.0, 20.0, 0.0, 90.0]]), HEIGHT, WIDTH)
    assert changed.tolist() == [True]
    np.testing.assert_allclose(xywhr_to_corners(clamped), [[0, 40, 0, 30, 0, 30, 0, 40]], atol=1e-9)


def test_the_area_in_the_image_of_a_collapsed_box_is_zero() -> None:
    np.testing.assert_array_equal(polygon_area_in_image(COLLAPSED, HEIGHT, WIDTH), 0.0)


# ---------------------------------------------------------------- polygon_area_in_image


def test_area_in_image_of_a_polygon_wholly_inside_is_its_own_area() -> None:
    boxes = corners((10.0, 10.0, 8.0, 5.0, 0.0), (20.0, 20.0, 6.0, 4.0, 30.0), (40.0, 10.0, 3.0, 3.0, -135.0))
    np.testing.assert_allclose(polygon_area_in_image(boxes, HEIGHT, WIDTH), [40.0, 24.0, 9.0], rtol=1e-12)


def test_area_in_image_of_a_polygon_wholly_outside_is_zero() -> None:
    boxes = corners((-20.0, 10.0, 8.0, 5.0, 0.0), (70.0, 20.0, 6.0, 4.0, 30.0), (10.0, 50.0, 3.0, 3.0, 45.0))
    np.testing.assert_array_equal(polygon_area_in_image(boxes, HEIGHT, WIDTH), 0.0)


def test_area_in_image_of_polygons_straddling_a_corner() -> None:
    # A 4 x 4 square centred on the top left corner: a quarter (4) is in the image.
    square = np.array([[-2.0, -2.0, 2.0, -2.0, 2.0, 2.0, -2.0, 2.0]])
    # A diamond (half diagonals 2) centred on the bottom right corner: a quarter of its area 8.
    diamond = np.array([[WIDTH - 2.0, HEIGHT, WIDTH, HEIGHT - 2.0, WIDTH + 2.0, HEIGHT, WIDTH, HEIGHT + 2.0]])
    # A square turned 45 degrees whose top corner pokes 1 pixel out of the top side: the tip outside is a
    # triangle of area 1, of the square's 2 * 3 ** 2 = 18.
    poke = np.array([[10.0, 2.0, 13.0, -1.0, 16.0, 2.0, 13.0, 5.0]])
    areas = polygon_area_in_image(np.concatenate([square, diamond, poke]), HEIGHT, WIDTH)
    np.testing.assert_allclose(areas, [4.0, 2.0, 17.0], rtol=1e-12)
    # Listed the other way round, a quadrilateral has the same area inside.
    reversed_order = square[:, [6, 7, 4, 5, 2, 3, 0, 1]]
    np.testing.assert_allclose(polygon_area_in_image(reversed_order, HEIGHT, WIDTH), [4.0])


def test_area_in_image_of_nan_and_of_nothing() -> None:
    boxes = np.array([[np.nan, 0.0, 2.0, 0.0, 2.0, 2.0, 0.0, 2.0], [0.0, 0.0, 2.0, 0.0, 2.0, 2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(polygon_area_in_image(boxes, HEIGHT, WIDTH), [0.0, 4.0])
    assert polygon_area_in_image(np.zeros((0, 8)), HEIGHT, WIDTH).shape == (0,)


# ---------------------------------------------------------------- clamp_corners


def random_rectangles(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.uniform(-30, WIDTH + 30, count),
            rng.uniform(-30, HEIGHT + 30, count),
            rng.uniform(1, 40, (count, 2)),
            rng.uniform(-180, 180, count),
        ]
    )


def test_clamping_corners_to_the_image_matches_clamp_xywhr_on_rectangles() -> None:
    boxes = random_rectangles(500, seed=3)
    rectangles = xywhr_to_corners(boxes)
    clamped, _ = clamp_xywhr(boxes, HEIGHT, WIDTH)
    np.testing.assert_allclose(
        clamp_corners(rectangles, 0, 0, WIDTH, HEIGHT), xywhr_to_corners(clamped), atol=1e-9
    )


def test_clamped_corners_stay_in_the_region_and_those_inside_do_not_move() -> None:
    rectangles = xywhr_to_corners(random_rectangles(500, seed=4))
    out = clamp_corners(rectangles, 5.0, 3.0, 50.0, 30.0)
    # The clamped box encloses the part inside at the same angle, so its corners may poke out a little, but
    # its area inside the region is the original's and it is never larger than the original.
    inside = (
        (rectangles[:, 0::2] >= 5).all(1)
        & (rectangles[:, 0::2] <= 50).all(1)
        & (rectangles[:, 1::2] >= 3).all(1)
        & (rectangles[:, 1::2] <= 30).all(1)
    )
    assert inside.any() and (~inside).any()
    np.testing.assert_array_equal(out[inside], rectangles[inside])
    shifted = np.tile([5.0, 3.0], 4)
    before = polygon_area_in_image(rectangles - shifted, 27, 45)
    after = polygon_area_in_image(out - shifted, 27, 45)
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert (np.abs(signed_area(out)) <= np.abs(signed_area(rectangles)) + 1e-6).all()


def test_clamping_corners_to_a_region_is_clamping_to_the_image_moved() -> None:
    rectangles = xywhr_to_corners(random_rectangles(200, seed=5))
    offset = np.tile([7.0, -4.0], 4)
    moved = clamp_corners(rectangles + offset, 7.0, -4.0, 7.0 + WIDTH, -4.0 + HEIGHT)
    np.testing.assert_allclose(moved - offset, clamp_corners(rectangles, 0, 0, WIDTH, HEIGHT), atol=1e-9)


def test_clamping_a_box_wholly_outside_collapses_it_to_the_regions_bottom_left() -> None:
    out = clamp_corners(corners((100.0, 5.0, 4.0, 4.0, 20.0)), 10.0, 2.0, 50.0, 30.0)
    np.testing.assert_allclose(out, [[10.0, 30.0] * 4], atol=1e-12)


# ---------------------------------------------------------------- parallelogram_to_rectangle


def sheared_rectangles() -> np.ndarray:
    """Rectangles under shears, unequal scales and rotations: parallelograms, both sides the longer."""
    rng = np.random.default_rng(9)
    rectangles = xywhr_to_corners(
        np.column_stack(
            [
                rng.uniform(0, 50, 300),
                rng.uniform(0, 50, 300),
                rng.uniform(2, 30, (300, 2)),
                rng.uniform(-180, 180, 300),
            ]
        )
    )
    points = rectangles.reshape(-1, 4, 2)
    out = []
    for index, shape in enumerate(points):
        shear = rng.uniform(-0.6, 0.6)
        scale = rng.uniform(0.5, 2.0, 2)
        turn = math.radians(rng.uniform(-180, 180))
        matrix = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
        matrix = (
            matrix
            @ np.diag(scale)
            @ np.array([[1.0, shear if index % 2 else 0.0], [0.0 if index % 2 else shear, 1.0]])
        )
        out.append(shape @ matrix.T)
    return np.array(out).reshape(-1, 8)


def test_parallelogram_to_rectangle_matches_torchvision() -> None:
    geometry = pytest.importorskip("torchvision.transforms.v2.functional._geometry")
    reference_rule = getattr(geometry, "_parallelogram_to_bounding_boxes", None)
    if reference_rule is None:
        pytest.skip("this torchvision has no _parallelogram_to_bounding_boxes")
    parallelograms = sheared_rectangles()
    reference = reference_rule(torch.tensor(parallelograms)).numpy()
    np.testing.assert_allclose(parallelogram_to_rectangle(parallelograms), reference, atol=1e-6)


def test_parallelogram_to_rectangle_by_hand() -> None:
    # Sheared to the right by 1 over a height of 2: the longer diagonal (0, 0) - (5, 2) stays, the width
    # side stays along x and grows to reach it, as torchvision makes it.
    out = parallelogram_to_rectangle(np.array([[0.0, 0.0, 4.0, 0.0, 5.0, 2.0, 1.0, 2.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.0, 5.0, 0.0, 5.0, 2.0, 0.0, 2.0]], atol=1e-12)
    # The result is a rectangle: its sides meet at right angles.
    parallelograms = sheared_rectangles()
    points = parallelogram_to_rectangle(parallelograms).reshape(-1, 4, 2)
    first, second = points[:, 1] - points[:, 0], points[:, 3] - points[:, 0]
    dot = (first * second).sum(1)
    np.testing.assert_allclose(dot / (np.hypot(*first.T) * np.hypot(*second.T)), 0.0, atol=1e-9)


def test_parallelogram_to_rectangle_keeps_rectangles_bit_for_bit() -> None:
    rectangles = xywhr_to_corners(random_rectangles(200, seed=10))
    np.testing.assert_array_equal(parallelogram_to_rectangle(rectangles), rectangles)

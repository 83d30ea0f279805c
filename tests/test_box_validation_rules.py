"""Rules of ``validate_boxes``: exact messages, the float-noise slack at its boundary, borders and convexity.

tests/test_boxes.py and tests/test_oriented_boxes.py check the policies as properties; these pin the exact
rules: each line of the ``"raise"`` message, which box is ``zero_area``, ``inverted`` or ``out_of_bounds``
exactly at the edge of each tolerance, and what ``"clip"`` keeps. Boundary values are powers of two (or
small multiples of them), so that the differences and products the rules compute are exact.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

from visiondata.boxes import clip_boxes, validate_boxes
from visiondata.exceptions import InvalidBoxesError

#: float64 machine epsilon, 2**-52: the rules' slack is 4 of these per unit of coordinate magnitude.
EPS = 2.0**-52
FOOTER = (
    "Fix the annotations, or pass policy='clip' (cut boxes to the image) or policy='drop' "
    "(remove them; both report what changed)."
)


def message_of(boxes: Any, fmt: str, image_size: tuple[float, float] | None = None, **kwargs: Any) -> str:
    """The message of the ``InvalidBoxesError`` that ``policy="raise"`` gives for ``boxes``."""
    with pytest.raises(InvalidBoxesError) as caught:
        validate_boxes(boxes, fmt, image_size, policy="raise", **kwargs)
    return str(caught.value)


def expected_message(head: str, lines: list[str]) -> str:
    """A whole ``"raise"`` message: the head, one ``  - `` line per problem, and the advice."""
    listed = "\n".join(f"  - {line}" for line in lines)
    return f"{head}:\n{listed}\n{FOOTER}"


def reasons_of(boxes: Any, fmt: str, image_size: tuple[float, float] | None = None, **kwargs: Any) -> list:
    """The reason each box is dropped under ``policy="drop"``, ``None`` for a box that is kept."""
    result = validate_boxes(boxes, fmt, image_size, policy="drop", **kwargs)
    reasons: list[str | None] = [None] * len(boxes)
    for change in result.changes:
        assert change["action"] == "dropped", result.changes
        reasons[change["index"]] = change["reason"]
    assert result.keep.tolist() == [reason is None for reason in reasons]
    return reasons


def clipped_changes(boxes: Any, fmt: str, image_size: tuple[float, float] | None = None) -> list:
    """``(keep, changes)`` of ``policy="clip"``."""
    result = validate_boxes(boxes, fmt, image_size, policy="clip")
    return [result.keep.tolist(), result.changes]


# ---------------------------------------------------------------- axis-aligned: the message, line by line


def test_message_of_pixel_boxes_gives_each_problem_its_exact_line() -> None:
    """Every bad box gets its line, in input order, with its values, the coordinate names and the range."""
    boxes = np.array(
        [
            [np.nan, 1.0, 2.0, 3.0],  # a box after a NaN one is still checked
            [30.1234567, 20.0, 10.0, 50.0],  # x_max < x_min; shown rounded to 6 decimals
            # x_max beyond the width; x_min = 0, y_min = 0.5 and y_max = 100 (the height) are inside.
            [0.0, 0.5, 250.0, 100.0],
            [40.0, 60.0, 80.0, 60.0],  # no height
            [1.0, 2.0, 3.0, 4.0],  # fine: not listed
        ]
    )
    assert message_of(boxes, "xyxy", (100, 200)) == expected_message(
        "invalid xyxy boxes, image 100x200 (height x width)",
        [
            "box 0 [nan, 1.0, 2.0, 3.0]: expected finite numbers, got NaN or infinity",
            "box 1 [30.123457, 20.0, 10.0, 50.0]: inverted: expected x_max > x_min and y_max > y_min, "
            "got width -20.1235 and height 30",
            "box 2 [0.0, 0.5, 250.0, 100.0]: x_max = 250 is outside the allowed range [0, 200]",
            "box 3 [40.0, 60.0, 80.0, 60.0]: without area: expected x_max > x_min and y_max > y_min, "
            "got width 40 and height 0",
        ],
    )


def test_message_without_an_image_or_of_normalised_boxes_names_no_image() -> None:
    """Only pixel boxes checked against an image name it; xywh and cxcywhn use their own coordinate names."""
    assert message_of(np.array([[5.0, 5.0, 1.0, 9.0]]), "xyxy") == expected_message(
        "invalid xyxy boxes",
        [
            "box 0 [5.0, 5.0, 1.0, 9.0]: inverted: expected x_max > x_min and y_max > y_min, "
            "got width -4 and height 4"
        ],
    )
    assert message_of(np.array([[10.0, 20.0, -5.0, 30.0]]), "xywh") == expected_message(
        "invalid xywh boxes",
        [
            "box 0 [10.0, 20.0, -5.0, 30.0]: inverted: expected x + w > x and y + h > y, "
            "got width -5 and height 30"
        ],
    )
    # A normalised format is checked against [0, 1] whatever image_size says, and names no image.
    assert message_of(np.array([[0.2, 0.1, 1.5, 0.4]]), "xyxyn", (100, 200)) == expected_message(
        "invalid xyxyn boxes", ["box 0 [0.2, 0.1, 1.5, 0.4]: x_max = 1.5 is outside the allowed range [0, 1]"]
    )
    assert message_of(np.array([[0.1, 0.2, 0.5, 1.5]]), "xyxyn") == expected_message(
        "invalid xyxyn boxes", ["box 0 [0.1, 0.2, 0.5, 1.5]: y_max = 1.5 is outside the allowed range [0, 1]"]
    )
    assert message_of(np.array([[0.5, 0.5, 1.4, 0.2]]), "cxcywhn") == expected_message(
        "invalid cxcywhn boxes",
        [
            "box 0 [0.5, 0.5, 1.4, 0.2]: cx - w/2 = -0.2 is outside the allowed range [0, 1]",
            "box 0 [0.5, 0.5, 1.4, 0.2]: cx + w/2 = 1.2 is outside the allowed range [0, 1]",
        ],
    )


def test_inverted_box_reaching_past_the_far_border_also_names_that_coordinate() -> None:
    """A minimum beyond the far border, or a maximum before the near one, is out of range as well."""
    boxes = np.array(
        [
            [250.0, 10.0, 50.0, 50.0],
            [10.0, 150.0, 50.0, 50.0],
            [10.0, 10.0, -5.0, 50.0],
            [10.0, 10.0, 50.0, -5.0],
        ]
    )
    inverted = "inverted: expected x_max > x_min and y_max > y_min"
    assert message_of(boxes, "xyxy", (100, 200)) == expected_message(
        "invalid xyxy boxes, image 100x200 (height x width)",
        [
            f"box 0 [250.0, 10.0, 50.0, 50.0]: {inverted}, got width -200 and height 40",
            "box 0 [250.0, 10.0, 50.0, 50.0]: x_min = 250 is outside the allowed range [0, 200]",
            f"box 1 [10.0, 150.0, 50.0, 50.0]: {inverted}, got width 40 and height -100",
            "box 1 [10.0, 150.0, 50.0, 50.0]: y_min = 150 is outside the allowed range [0, 100]",
            f"box 2 [10.0, 10.0, -5.0, 50.0]: {inverted}, got width -15 and height 40",
            "box 2 [10.0, 10.0, -5.0, 50.0]: x_max = -5 is outside the allowed range [0, 200]",
            f"box 3 [10.0, 10.0, 50.0, -5.0]: {inverted}, got width 40 and height -15",
            "box 3 [10.0, 10.0, 50.0, -5.0]: y_max = -5 is outside the allowed range [0, 100]",
        ],
    )


def test_float32_box_ending_on_a_fractional_border_is_on_it() -> None:
    """float32(100.3) is the border of a 100.3 wide image in float32: the message lists only the inversion."""
    for boxes in (
        torch.tensor([[10.0, 50.0, 100.3, 20.0]]),
        np.array([[10.0, 50.0, 100.3, 20.0]], np.float32),
    ):
        assert message_of(boxes, "xyxy", (100, 100.3)) == expected_message(
            "invalid xyxy boxes, image 100x100.3 (height x width)",
            [
                "box 0 [10.0, 50.0, 100.300003, 20.0]: inverted: expected x_max > x_min and y_max > y_min, "
                "got width 90.3 and height -30"
            ],
        )


@pytest.mark.parametrize(("count", "more"), [(20, ""), (25, "\n  ... and 5 more")])
def test_message_lists_the_first_20_problems_and_counts_the_rest(count: int, more: str) -> None:
    """At most 20 lines are listed; beyond that the message says how many more there are."""
    boxes = np.array([[5.0, 5.0, 1.0, 9.0]] * count)
    lines = [
        f"  - box {index} [5.0, 5.0, 1.0, 9.0]: inverted: expected x_max > x_min and y_max > y_min, "
        "got width -4 and height 4"
        for index in range(20)
    ]
    listed = "\n".join(lines)
    assert message_of(boxes, "xyxy") == f"invalid xyxy boxes:\n{listed}{more}\n{FOOTER}"


# ---------------------------------------------------------------- axis-aligned: which reason, at the edges


def test_each_border_crossing_is_out_of_bounds_and_a_flat_box_on_the_border_is_zero_area() -> None:
    """Only x_min < 0 is out of bounds; a flat box lying on a border is inside it, without area."""
    boxes = np.array(
        [
            [-5.0, 10.0, 50.0, 50.0],
            [200.0, 10.0, 200.0, 50.0],  # on the right border
            [10.0, 100.0, 50.0, 100.0],  # on the bottom border
            [0.0, 10.0, 0.0, 50.0],  # on the left border
            [10.0, 0.0, 50.0, 0.0],  # on the top border
            [0.0, 0.0, 200.0, 100.0],  # the whole image
        ]
    )
    assert reasons_of(boxes, "xyxy", (100, 200)) == [
        "out_of_bounds",
        "zero_area",
        "zero_area",
        "zero_area",
        "zero_area",
        None,
    ]


def test_side_of_4_float_steps_is_no_side_and_5_steps_is_one() -> None:
    """A side of at most 4 machine epsilons (at magnitude 1) is float noise: zero area, never inverted."""
    boxes = np.array(
        [
            [0.0, 0.0, 5 * EPS, 1.0],  # just wide enough
            [0.0, 0.0, 1.0, 5 * EPS],
            [0.0, 0.0, 4 * EPS, 1.0],  # exactly the slack: no width
            [0.0, 0.0, 1.0, 4 * EPS],
            [0.0, 0.0, 2 * EPS, 1.0],  # a positive sliver is not inverted
            [0.0, 0.0, 1.0, 2 * EPS],
            [4 * EPS, 0.0, 0.0, 1.0],  # minus the slack: still no width rather than inverted
            [0.0, 4 * EPS, 1.0, 0.0],
            [5 * EPS, 0.0, 0.0, 1.0],  # beyond it: inverted
            [0.0, 5 * EPS, 1.0, 0.0],
        ]
    )
    assert reasons_of(boxes, "xyxy") == [None, None] + ["zero_area"] * 6 + ["inverted"] * 2
    assert reasons_of(torch.from_numpy(boxes), "xyxy") == [None, None] + ["zero_area"] * 6 + ["inverted"] * 2


def test_slack_grows_with_the_larger_coordinate_of_each_side() -> None:
    """The slack of a side is 4 epsilons of its larger end's magnitude, whichever end and sign that is."""
    big, side = 2.0**20, 2.0**-30  # side = 4 * EPS * big exactly: no side
    boxes = np.array(
        [
            [-big, 0.0, -big + side, 1.0],  # the larger magnitude is x_min's
            [big - side, 0.0, big, 1.0],  # x_max's
            [0.0, -big, 1.0, -big + side],  # y_min's
            [0.0, big - side, 1.0, big],  # y_max's
            [1e6, 0.0, np.nextafter(1e6, 2e6), 1.0],  # one float step at 1e6
            [0.0, 0.0, 2 * side, 1.0],  # the same side at magnitude 1 is plenty
        ]
    )
    assert reasons_of(boxes, "xyxy") == ["zero_area"] * 5 + [None]


def test_float32_slack_is_measured_in_float32_steps() -> None:
    """float32 boxes get float32 slack: 5 steps of 2**-16 at 128 are a side, 4 are not."""
    boxes = np.array(
        [[128.0, 0.0, 128.0 + 5 * 2.0**-16, 1.0], [128.0, 0.0, 128.0 + 4 * 2.0**-16, 1.0]], np.float32
    )
    assert reasons_of(boxes, "xyxy") == [None, "zero_area"]
    assert reasons_of(torch.from_numpy(boxes), "xyxy") == [None, "zero_area"]


def test_clip_drops_a_box_cut_down_to_a_sliver_and_keeps_a_thin_one() -> None:
    """After clipping, a side of at most 4 epsilons of its magnitude leaves nothing; a longer one is kept."""
    # Normalised boxes cut at 1: 4 epsilons (of magnitude 1) are left in x or y: nothing.
    slivers = np.array([[1 - 4 * EPS, 0.2, 1.5, 0.6], [0.2, 1 - 4 * EPS, 0.6, 1.5]])
    assert clipped_changes(slivers, "xyxyn") == [
        [False, False],
        [
            {"index": 0, "reason": "out_of_bounds", "action": "dropped"},
            {"index": 1, "reason": "out_of_bounds", "action": "dropped"},
        ],
    ]
    # 8 epsilons left at the border 1 are a side, however far the other side is from 0.
    thin_x = clip_boxes(np.array([[1 - 8 * EPS, 3.0, 1.5, 3.5]]), "xyxy", (4, 1))
    result = validate_boxes(np.array([[1 - 8 * EPS, 3.0, 1.5, 3.5]]), "xyxy", (4, 1), policy="clip")
    assert result.changes == [{"index": 0, "reason": "out_of_bounds", "action": "clipped"}]
    assert result.boxes.tolist() == thin_x.tolist() == [[1 - 8 * EPS, 3.0, 1.0, 3.5]]
    assert clipped_changes(np.array([[3.0, 1 - 8 * EPS, 3.5, 1.5]]), "xyxy", (1, 4)) == [
        [True],
        [{"index": 0, "reason": "out_of_bounds", "action": "clipped"}],
    ]


def test_nan_inf_and_overflow_give_no_numpy_warning() -> None:
    """NaN and infinity are reported as not_finite, without RuntimeWarnings from numpy's arithmetic."""
    boxes = np.array([[np.inf, 0.0, np.inf, 1.0], [0.0, -np.inf, 1.0, np.inf], [np.nan, 0.0, 1.0, 1.0]])
    # cx + w/2 overflows to infinity.
    overflowing = np.array([[1.7e308, 10.0, 1e308, 10.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reasons_of(boxes, "xyxy", (10, 10)) == ["not_finite"] * 3
        assert reasons_of(overflowing, "cxcywh") == ["not_finite"]
        assert reasons_of(np.c_[overflowing, [[0.0]]], "cxcywhr") == ["not_finite"]
        assert reasons_of(np.c_[boxes, np.zeros(3)], "xywhr", (10, 10)) == ["not_finite"] * 3


# ---------------------------------------------------------------- oriented boxes: the message


def test_message_of_corner_boxes_lists_each_corner_outside_and_the_area() -> None:
    """Corners are listed by number with both coordinates; a flat box shows its shoelace area."""
    tiny = 2.0**-47  # a 4 x 2**-47 box: area 2**-45 = 2.84217e-14, below the slack
    boxes = np.array(
        [
            # corners 2 and 3 are right of the image; x = 0, 0.5 and y = 0.5, 80 are inside it
            [0.0, 0.5, 120.0, 0.5, 120.0, 80.0, 0.5, 80.0],
            # corner 4 is below the image; x = 100 and y = 0, 80 are inside it
            [10.0, 0.0, 100.0, 0.0, 100.0, 80.0, 10.0, 95.0],
            [3.0, 1.0, 7.0, 1.0, 7.0, 1.0 + tiny, 3.0, 1.0 + tiny],
            # flat, with corners within the tolerance of the border: those are not listed
            [0.0, 0.0, 100.05, 0.0, 100.05, 0.0, 0.0, 0.0],
            [0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0, 10.0],  # a bow tie
        ]
    )
    outside = "is outside the allowed range [0, 100] x [0, 80]"
    first = "box 0 [0.0, 0.5, 120.0, 0.5, 120.0, 80.0, 0.5, 80.0]"
    assert message_of(boxes, "xyxyxyxy", (80, 100)) == expected_message(
        "invalid xyxyxyxy boxes, image 80x100 (height x width)",
        [
            f"{first}: corner 2 (x2, y2) = (120, 0.5) {outside}",
            f"{first}: corner 3 (x3, y3) = (120, 80) {outside}",
            f"box 1 [10.0, 0.0, 100.0, 0.0, 100.0, 80.0, 10.0, 95.0]: corner 4 (x4, y4) = (10, 95) {outside}",
            "box 2 [3.0, 1.0, 7.0, 1.0, 7.0, 1.0, 3.0, 1.0]: without area: expected four corners enclosing an "
            "area, got area 2.84217e-14",
            "box 3 [0.0, 0.0, 100.05, 0.0, 100.05, 0.0, 0.0, 0.0]: without area: expected four corners "
            "enclosing an area, got area 0",
            "box 4 [0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0, 10.0]: inverted: expected four corners in order round "
            "a convex quadrilateral, got sides that cross or turn back; list the corners round the box",
        ],
    )


def test_message_of_rotated_boxes_without_an_image() -> None:
    """Without an image only the box's own problem is listed, its values rounded to 6 decimals."""
    assert message_of(np.array([[50.1234567, 40.0, 0.0, 10.0, 30.0]]), "cxcywhr") == expected_message(
        "invalid cxcywhr boxes",
        [
            "box 0 [50.123457, 40.0, 0.0, 10.0, 30.0]: without area: expected w > 0 and h > 0, got width 0 and height 10"
        ],
    )


@pytest.mark.parametrize(("count", "more"), [(20, ""), (25, "\n  ... and 5 more")])
def test_rotated_message_lists_the_first_20_problems_and_counts_the_rest(count: int, more: str) -> None:
    """At most 20 lines are listed for oriented boxes too."""
    boxes = np.array([[5.0, 5.0, 2.0, 0.0, 10.0]] * count)
    lines = [
        f"  - box {index} [5.0, 5.0, 2.0, 0.0, 10.0]: without area: expected w > 0 and h > 0, "
        "got width 2 and height 0"
        for index in range(20)
    ]
    listed = "\n".join(lines)
    expected = f"invalid xywhr boxes, image 10x10 (height x width):\n{listed}{more}\n{FOOTER}"
    assert message_of(boxes, "xywhr", (10, 10)) == expected


# ---------------------------------------------------------------- oriented boxes: which reason, at the edges


def test_rotated_side_slack_is_4_float_steps_of_the_magnitude() -> None:
    """w and h of at most 4 epsilons per unit of the corners' magnitude (at least 1) are no side."""
    boxes = np.array(
        [
            [0.5, 0.5, 5 * EPS, 0.5, 0.0],  # just wide enough
            [0.5, 0.5, 0.5, 5 * EPS, 0.0],
            [0.5, 0.5, 2 * 4 * EPS, 0.5, 0.0],  # magnitude 0.75 counts as 1, not 2
            [0.5, 0.5, 4 * EPS, 0.5, 0.0],  # exactly the slack
            [0.5, 0.5, 0.5, 4 * EPS, 0.0],
            [0.5, 0.5, 2 * EPS, 0.5, 0.0],  # a positive sliver is not inverted
            [0.5, 0.5, 0.5, 2 * EPS, 0.0],
            [0.5, 0.5, -4 * EPS, 0.5, 0.0],  # minus the slack: no side rather than inverted
            [0.5, 0.5, 0.5, -4 * EPS, 0.0],
            [1e6, 1e6, 1e-10, 10.0, 0.0],  # 1e-10 is below the slack of 4 epsilons at 1e6
            [50.0, 50.0, 20.0, 10.0, 0.0],  # angle 0 is no side
        ]
    )
    assert reasons_of(boxes, "cxcywhr") == [None, None, None] + ["zero_area"] * 7 + [None]


def test_rotated_float32_slack_and_each_box_its_own_magnitude() -> None:
    """float32 boxes get float32 slack, and a far box's magnitude does not make a near box's sides flat."""
    assert reasons_of(np.array([[100.0, 100.0, 1e-5, 10.0, 0.0]], np.float32), "cxcywhr") == ["zero_area"]
    boxes = torch.tensor([[1e6, 1e6, 10.0, 10.0, 0.0], [5.0, 5.0, 0.1, 0.1, 0.0]])  # float32
    result = validate_boxes(boxes, "cxcywhr")
    assert result.keep.tolist() == [True, True]
    assert torch.equal(result.boxes, boxes)


def test_corner_boxes_must_run_round_a_convex_quadrilateral() -> None:
    """Any convex order of corners is fine, either way round; a concave (dart) quadrilateral is inverted."""
    boxes = np.array(
        [
            [0.0, 0.0, 8.0, 1.0, 10.0, 7.0, 2.0, 9.0],  # convex, irregular
            [5.0, 0.0, 10.0, 4.0, 5.0, 10.0, 0.0, 4.0],  # a kite
            [2.0, 9.0, 10.0, 7.0, 8.0, 1.0, 0.0, 0.0],  # the first the other way round
            [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 7.0, 3.0],  # concave at corner 4
            [0.0, 0.0, 10.0, 0.0, 4.0, 4.0, 0.0, 10.0],  # concave at corner 3
            [0.0, 0.0, 10.0, 0.0, 0.0, 10.0, 10.0, 10.0],  # a bow tie
        ]
    )
    assert reasons_of(boxes, "xyxyxyxy", (20, 20)) == [None, None, None, "inverted", "inverted", "inverted"]


def test_corner_box_turn_within_the_slack_is_float_noise() -> None:
    """A turn of at most 4 epsilons of the magnitude squared counts as straight, either way round."""
    # magnitude 1024: slack 2**-40, turn tolerance 2**-30; the turn at corner 2 is -+1024 * offset.
    exact, beyond = 2.0**-40, 2.0**-39
    boxes = np.array(
        [
            [0.0, 0.0, 512.0, exact, 1024.0, 0.0, 512.0, 1024.0],  # dented inwards by the tolerance
            [512.0, 1024.0, 1024.0, 0.0, 512.0, exact, 0.0, 0.0],  # the same, the other way round
            [0.0, 0.0, 512.0, beyond, 1024.0, 0.0, 512.0, 1024.0],  # dented by more: concave
            # float noise at magnitude 1000: the turn is -1e-10, far below the tolerance 8.9e-10
            [0.0, 0.0, 500.0, 2.0**-43, 1000.0, 0.0, 500.0, 1000.0],
            # area 1024 * 2**-40 = 2**-30: exactly the area tolerance, no area
            [0.0, 0.0, 1024.0, 0.0, 1024.0, exact, 0.0, exact],
            [0.0, 0.0, 1024.0, 0.0, 1024.0, beyond, 0.0, beyond],  # twice that is an area
        ]
    )
    assert reasons_of(boxes, "xyxyxyxy") == [None, None, "inverted", None, "zero_area", None]


def test_rotated_corner_within_eps_of_the_border_is_inside() -> None:
    """Corners up to eps times the side beyond the border are inside; further out, in x or y, they are not."""
    corners = [
        [-4.0, 0.0, 10.0, 0.0, 10.0, 10.0, -4.0, 10.0],  # 4 = eps * 64 left of the image
        [-2.0, 0.0, 10.0, 0.0, 10.0, 10.0, -2.0, 10.0],
        [0.0, 0.0, 68.0, 0.0, 68.0, 10.0, 0.0, 10.0],  # 4 right of it
        [0.0, -4.0, 10.0, -4.0, 10.0, 10.0, 0.0, 10.0],
        [0.0, -2.0, 10.0, -2.0, 10.0, 10.0, 0.0, 10.0],
        [0.0, 0.0, 10.0, 0.0, 10.0, 68.0, 0.0, 68.0],
        [-4.5, 0.0, 10.0, 0.0, 10.0, 10.0, -4.5, 10.0],  # further out
        [0.0, 0.0, 68.5, 0.0, 68.5, 10.0, 0.0, 10.0],
        [0.0, -4.5, 10.0, -4.5, 10.0, 10.0, 0.0, 10.0],
        [0.0, 0.0, 10.0, 0.0, 10.0, 68.5, 0.0, 68.5],
        [0.0, 0.0, 10.0, 0.0, 10.0, 100.0, 0.0, 100.0],
    ]
    assert (
        reasons_of(np.array(corners), "xyxyxyxy", (64, 64), eps=1 / 16) == [None] * 6 + ["out_of_bounds"] * 5
    )


def test_rotated_box_whose_corners_overflow_is_not_finite() -> None:
    """Finite numbers whose corners overflow to infinity are not finite boxes."""
    assert reasons_of(np.array([[1.7e308, 10.0, 1e308, 10.0, 0.0]]), "cxcywhr") == ["not_finite"]


# ---------------------------------------------------------------- oriented boxes: results of each policy


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rotated_raise_returns_a_copy_keep_all_true_and_no_changes(backend: str) -> None:
    """Under "raise" valid oriented boxes come back equal (not the same memory), all kept, nothing changed."""
    rows = [[10.0, 10.0, 30.0, 10.0, 30.0, 20.0, 10.0, 20.0], [0.0, 0.0, 8.0, 1.0, 10.0, 7.0, 2.0, 9.0]]
    boxes = torch.tensor(rows, dtype=torch.float64) if backend == "torch" else np.array(rows)
    result = validate_boxes(boxes, "xyxyxyxy", (40, 40))
    assert type(result.boxes) is type(boxes)
    assert result.boxes.tolist() == rows
    assert result.keep.tolist() == [True, True] and type(result.keep) is type(boxes)
    assert result.changes == []
    result.boxes[0, 0] = -1.0
    assert boxes[0, 0] == 10.0


def test_rotated_corner_boxes_as_tensors_under_every_policy() -> None:
    """Tensor corner boxes are checked like arrays; keep is a bool tensor and drop reports "dropped"."""
    rows = [
        [1.0, 1.0, 9.0, 1.0, 9.0, 5.0, 1.0, 5.0],
        [0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0, 10.0],  # a bow tie
        [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 7.0, 3.0],  # concave
    ]
    for policy in ("clip", "drop"):
        result = validate_boxes(torch.tensor(rows), "xyxyxyxy", (20, 20), policy=policy)
        assert result.keep.dtype == torch.bool and result.keep.tolist() == [True, False, False]
        assert torch.equal(result.boxes, torch.tensor(rows[:1]))
        assert result.changes == [
            {"index": 1, "reason": "inverted", "action": "dropped"},
            {"index": 2, "reason": "inverted", "action": "dropped"},
        ]
    with pytest.raises(InvalidBoxesError, match=r"box 1 .*inverted"):
        validate_boxes(torch.tensor(rows), "xyxyxyxy", (20, 20))


def test_rotated_clip_keeps_a_small_box_inside_the_image() -> None:
    """ "clip" keeps a valid box wherever it is small: only boxes cut to nothing are removed."""
    boxes = np.array([[500.0, 500.0, 1e-5, 1e-5, 0.0], [500.0, 500.0, 100.0, 50.0, 30.0]])
    result = validate_boxes(boxes, "cxcywhr", (1000, 1000), policy="clip")
    assert result.keep.tolist() == [True, True] and result.changes == []
    assert result.boxes.tolist() == boxes.tolist()


def test_rotated_clip_drops_a_box_cut_to_an_area_of_at_most_4_epsilons_of_its_magnitude_squared() -> None:
    """An xywhr box cut at x = 1 to a 1-high strip: 36 epsilons of area (magnitude 3) are none, 40 are."""
    boxes = np.array([[1 - k * EPS, 0.0, 2 + k * EPS, 1.0, 0.0] for k in (36, 40)])  # x from 1 - k eps to 3
    result = validate_boxes(boxes, "xywhr", (1, 1), policy="clip")
    assert result.keep.tolist() == [False, True]
    assert result.changes == [
        {"index": 0, "reason": "out_of_bounds", "action": "dropped"},
        {"index": 1, "reason": "out_of_bounds", "action": "clipped"},
    ]
    np.testing.assert_array_equal(result.boxes, clip_boxes(boxes[1:], "xywhr", (1, 1)))


# ---------------------------------------------------------------- arguments, shapes and snapping


def test_plain_boxes_default_to_xyxy_and_bad_arguments_are_refused_by_name() -> None:
    """Without fmt plain boxes are xyxy; an unknown policy or a negative or NaN eps is a ValueError."""
    assert validate_boxes(np.array([[0.0, 0.0, 2.0, 2.0]])).boxes.tolist() == [[0.0, 0.0, 2.0, 2.0]]
    assert message_of(np.array([[0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 1.0, 9.0]]), None).startswith(
        "invalid xyxy boxes:\n  - box 1 [5.0, 5.0, 1.0, 9.0]: inverted"
    )
    with pytest.raises(ValueError, match=r"^policy: expected one of 'raise', 'clip', 'drop', got 'keep'$"):
        validate_boxes(np.zeros((0, 4)), policy="keep")
    for eps in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=r"^eps: expected a fraction of the image side >= 0, got "):
            validate_boxes(np.zeros((0, 4)), eps=eps)


def test_shape_errors_say_what_was_expected_and_what_came() -> None:
    """Boxes of several images, or of the wrong width for their format, are refused with both shapes."""
    with pytest.raises(InvalidBoxesError, match=r"^boxes: expected shape \(N, 4\), got \(2, 3, 4\)$"):
        validate_boxes(np.zeros((2, 3, 4)))
    with pytest.raises(
        InvalidBoxesError, match=r"^boxes: expected shape \(N, 5\) for 'xywhr' boxes, got \(2, 3\)"
    ):
        validate_boxes(np.zeros((2, 3)), "xywhr")
    assert validate_boxes(np.zeros((0, 8)), "xyxyxyxy").boxes.shape == (0, 8)


def test_snapping_reaches_exactly_eps_times_each_side_of_the_image() -> None:
    """On a 32 x 64 image with eps 1/16, x may stray 4 and y 2 beyond the border, no further."""
    boxes = np.array(
        [
            [-4.0, -2.0, 68.0, 34.0],  # every coordinate exactly at the limit: snapped onto the border
            [-3.0, 0.0, 10.0, 10.0],  # x within its tolerance of 4 (beyond y's 2)
            [-4.5, 0.0, 10.0, 10.0],
            [0.0, -2.5, 10.0, 10.0],  # y beyond its tolerance of 2 (within x's 4)
            [0.0, 0.0, 68.5, 10.0],
            [0.0, 0.0, 10.0, 34.5],
        ]
    )
    assert reasons_of(boxes, "xyxy", (32, 64), eps=1 / 16) == [None, None] + ["out_of_bounds"] * 4
    result = validate_boxes(boxes[:2], "xyxy", (32, 64), eps=1 / 16)
    assert result.boxes.tolist() == [[0.0, 0.0, 64.0, 32.0], [0.0, 0.0, 10.0, 10.0]]


def test_snapped_coordinates_are_the_border_in_the_boxes_own_dtype() -> None:
    """A float64 tensor lands on the float64 border 100.3; a float32 array stays float32, on float32's."""
    tensor = validate_boxes(
        torch.tensor([[-0.05, 0.0, 100.35, 10.0]], dtype=torch.float64), "xyxy", (20, 100.3)
    )
    assert tensor.boxes.dtype == torch.float64
    assert tensor.boxes.tolist() == [[0.0, 0.0, 100.3, 10.0]]
    array = validate_boxes(np.array([[-0.05, 0.0, 100.35, 10.0]], np.float32), "xyxy", (20, 100.3))
    assert array.boxes.dtype == np.float32
    assert array.boxes.tolist() == [[0.0, 0.0, float(np.float32(100.3)), 10.0]]

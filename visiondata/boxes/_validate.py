"""``validate_boxes``: find boxes that break their format's rules, then raise, clip or drop."""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np

from visiondata.boxes._convert import (
    as_boxes,
    from_xyxy,
    image_height_width,
    is_normalized,
    is_tensor,
    resolve_format,
    resolve_image_size,
    rewrap,
    stack_columns,
    to_xyxy,
)
from visiondata.boxes._ops import _clip_rotated, clamp, maximum
from visiondata.boxes._rotated import is_rotated, signed_area, to_corners
from visiondata.exceptions import InvalidBoxesError

Boxes = TypeVar("Boxes")

POLICIES = ("raise", "clip", "drop")
#: Why a box was changed or removed.
REASONS = ("not_finite", "out_of_bounds", "inverted", "zero_area")
#: How each corner coordinate is written in each layout, for messages.
_COORDINATE_NAMES = {
    "xyxy": ("x_min", "y_min", "x_max", "y_max"),
    "xywh": ("x", "y", "x + w", "y + h"),
    "cxcywh": ("cx - w/2", "cy - h/2", "cx + w/2", "cy + h/2"),
}
_SHOWN = 20


class BoxValidation(NamedTuple, Generic[Boxes]):
    """What [`validate_boxes`][visiondata.boxes.validate_boxes] returns.

    Attributes:
        boxes: The valid boxes in the input's format and type: every input
            box under ``"raise"``, the kept ones (clipped where needed) under
            ``"clip"`` and ``"drop"``. Float noise within ``eps`` of the border
            is snapped onto it.
        keep: ``(N,)`` booleans (tensor or array, like the input) marking the
            input boxes that are in `boxes`; index per-box fields with it.
        changes: One entry per changed input box, in input order:
            ``{"index": i, "reason": "not_finite" | "out_of_bounds" |
            "inverted" | "zero_area", "action": "clipped" | "dropped"}``.
    """

    boxes: Boxes
    keep: Any
    changes: list[dict[str, Any]]


#: Coordinates beyond the image border by at most this fraction of its side (this much itself in a
#: normalised format) are float noise, snapped onto the border: the one tolerance of the readers, the
#: checks and the pipeline.
BORDER_TOLERANCE = 1e-3


def validate_boxes(
    boxes: Boxes,
    fmt: str | None = None,
    image_size: tuple[float, float] | None = None,
    policy: str = "raise",
    eps: float = BORDER_TOLERANCE,
) -> BoxValidation[Boxes]:
    """Check boxes for NaN or infinite values, inverted corners, zero area and leaving the image.

    Coordinates outside the image by at most ``eps`` times the image side
    (``eps`` itself for normalised formats) are float noise: they are snapped
    onto the border, never an error, so ``x_max = 1.0001`` in a normalised
    format is fine.

    Oriented formats (``xywhr``, ``cxcywhr``, ``xyxyxyxy``) are checked for
    finite numbers, positive ``w`` and ``h`` (a negative side is ``"inverted"``),
    corners that enclose an area and, for ``xyxyxyxy``, run round a convex
    quadrilateral (twisted corners are ``"inverted"``), and all four corners
    inside the image within the tolerance. Their corners are never snapped
    (moving one corner would bend the box); ``"clip"`` clamps them as
    [`clip_boxes`][visiondata.boxes.clip_boxes] does (torchvision's soft mode: the
    smallest box of the same angle around the part inside the image, whose
    corners may still reach past the border) and drops those with nothing left.

    Policies:

    - ``"raise"``: any problem raises [`InvalidBoxesError`][visiondata.exceptions.InvalidBoxesError] naming each
      box's index, the coordinate, its value and the allowed range;
    - ``"clip"``: boxes leaving the image are cut to it (reported as
      ``"clipped"``); boxes that clipping cannot mend (NaN, inverted, zero
      area, or nothing left inside the image) are dropped and reported;
    - ``"drop"``: every box with a problem is dropped and reported.

    Args:
        boxes: ``(N, 4)`` tensor or array (``(N, 5)`` / ``(N, 8)`` for oriented formats). A ``tv_tensors.BoundingBoxes``
            declares its format and canvas size: those are used, and the
            returned boxes are a BoundingBoxes again.
        fmt: Box format, one of `BOX_FORMATS`; ``None`` (the default) is the
            BoundingBoxes' declared format, or ``"xyxy"`` for other input.
            Given with a BoundingBoxes, it must name the declared format.
        image_size: ``(height, width)`` in pixels. For pixel formats without
            it, the bounds are not checked (a BoundingBoxes' canvas size
            serves); normalised formats are always checked against ``[0, 1]``.
        policy: ``"raise"``, ``"clip"`` or ``"drop"``.
        eps: Tolerance as a fraction of the image side.

    Returns:
        A [`BoxValidation`][visiondata.boxes.BoxValidation]: the boxes, which input boxes they are, and what changed.

    Raises:
        InvalidBoxesError: Under ``"raise"``, for any box with a problem (all listed); a
            BoundingBoxes whose format disagrees with ``fmt`` or whose canvas size
            disagrees with ``image_size``.

    Examples:
        >>> import numpy as np
        >>> boxes = np.array([[0.1, 0.2, 1.0001, 0.5], [0.5, 0.5, 1.5, 0.9], [0.3, 0.3, 0.2, 0.4]])
        >>> result = validate_boxes(boxes, "xyxyn", policy="clip")
        >>> result.boxes.tolist(), result.keep.tolist()
        ([[0.1, 0.2, 1.0, 0.5], [0.5, 0.5, 1.0, 0.9]], [True, True, False])
        >>> result.changes
        [{'index': 1, 'reason': 'out_of_bounds', 'action': 'clipped'}, {'index': 2, 'reason': 'inverted', 'action': 'dropped'}]
        >>> validate_boxes(np.array([[50.0, 50.0, 40.0, 0.0, 30.0], [90.0, 50.0, 40.0, 10.0, 30.0]]), "cxcywhr", (100, 100))
        Traceback (most recent call last):
        ...
        visiondata.exceptions.InvalidBoxesError: invalid cxcywhr boxes, image 100x100 (height x width):
          - box 0 [50.0, 50.0, 40.0, 0.0, 30.0]: without area: expected w > 0 and h > 0, got width 40 and height 0
          - box 1 [90.0, 50.0, 40.0, 10.0, 30.0]: corner 2 (x2, y2) = (104.821, 35.6699) is outside the allowed range [0, 100] x [0, 100]
          - box 1 [90.0, 50.0, 40.0, 10.0, 30.0]: corner 3 (x3, y3) = (109.821, 44.3301) is outside the allowed range [0, 100] x [0, 100]
        Fix the annotations, or pass policy='clip' (cut boxes to the image) or policy='drop' (remove them; both report what changed).
    """
    fmt, canvas = resolve_format(boxes, fmt, default="xyxy")
    image_size = resolve_image_size(image_size, canvas)
    if policy not in POLICIES:
        raise ValueError(f"policy: expected one of {', '.join(map(repr, POLICIES))}, got {policy!r}")
    if not eps >= 0:
        raise ValueError(f"eps: expected a fraction of the image side >= 0, got {eps!r}")
    array = check_box_shape(boxes, fmt)
    # NaN and infinity are reported, not warned about: numpy stays quiet on inf - inf.
    with np.errstate(invalid="ignore", over="ignore"):
        if is_rotated(fmt):
            result = _validate_rotated(array, fmt, image_size, policy, eps)
        else:
            result = _validate(array, fmt, image_size, policy, eps)
    return result._replace(boxes=rewrap(result.boxes, boxes, fmt, canvas))


def check_box_shape(boxes: Any, fmt: str | None = None, argument: str = "boxes") -> Any:
    """``boxes`` as a floating-point ``(N, C)`` tensor or array: the one shape check of boxes.

    ``validate_boxes`` and the collates both check with it, so that they refuse the
    same shapes in the same words. ``C`` is 4, or the width of canonical format
    ``fmt`` (5 for ``xywhr`` and ``cxcywhr``, 8 for ``xyxyxyxy``). An empty
    ``[]`` is no boxes; nothing else is reshaped: a ``(2, 6)`` array is refused,
    never read as three boxes.

    Args:
        boxes: A tensor (``tv_tensors.BoundingBoxes`` included), an array or nested lists.
        fmt: The canonical format, or ``None`` for axis-aligned boxes.
        argument: The name the message gives the boxes.

    Returns:
        The boxes as ``as_boxes`` gives them: a plain tensor or an array.

    Raises:
        InvalidBoxesError: Not ``(N, C)`` numbers; the message says expected and got.

    Examples:
        >>> check_box_shape([[0, 0, 2, 2]]).shape
        (1, 4)
        >>> check_box_shape([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
        Traceback (most recent call last):
        ...
        visiondata.exceptions.InvalidBoxesError: boxes: expected shape (N, 4), got (2, 6)
    """
    array = as_boxes(boxes, argument, fmt=fmt)
    # as_boxes checks the last dimension only; (B, N, 4) boxes of several images are not one image's.
    if array.ndim != 2:
        raise InvalidBoxesError(
            f"{argument}: expected shape (N, {array.shape[-1]}), got {tuple(array.shape)}"
        )
    return array


def _validate(array: Any, fmt: str, image_size: Any, policy: str, eps: float) -> BoxValidation[Any]:
    layout = fmt.rstrip("n")
    corners = to_xyxy(array, layout)
    bounds = _bounds(fmt, image_size)

    finite = _isfinite(corners).all(-1)
    if bounds is not None:
        corners = snap_to_border(corners, *bounds, eps)
        height, width = bounds
        low = (corners[:, 0] < 0) | (corners[:, 1] < 0)
        high = (corners[:, 2] > width) | (corners[:, 3] > height)
        # Also the minimum corners beyond the far border and the other way round (a box wholly outside).
        far = (corners[:, 0] > width) | (corners[:, 1] > height) | (corners[:, 2] < 0) | (corners[:, 3] < 0)
        outside = finite & (low | high | far)
    else:
        outside = finite & False
    widths, heights = corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]
    slack_x, slack_y = _rounding(corners[:, 0], corners[:, 2]), _rounding(corners[:, 1], corners[:, 3])
    inverted = finite & ((widths < -slack_x) | (heights < -slack_y))
    flat = finite & ~inverted & ((widths <= slack_x) | (heights <= slack_y))
    problems = ~finite | outside | inverted | flat

    if policy == "raise":
        if bool(problems.any()):
            raise InvalidBoxesError(_message(array, corners, fmt, bounds, finite, outside, inverted, flat))
        # A copy even when nothing changed: the result never shares memory with the input.
        return BoxValidation(_copy(from_xyxy(corners, layout)), finite | True, [])

    reasons = _reasons(finite, outside, inverted, flat)
    if policy == "clip" and bounds is not None:
        height, width = bounds
        clipped = stack_columns(
            [
                clamp(corners[:, 0], 0, width),
                clamp(corners[:, 1], 0, height),
                clamp(corners[:, 2], 0, width),
                clamp(corners[:, 3], 0, height),
            ],
            corners,
        )
        # NaN stays NaN through clamp; those rows are dropped below anyway.
        corners = _where(outside[:, None], clipped, corners)
        empty = (
            outside
            & ~inverted
            & (
                (corners[:, 2] - corners[:, 0] <= _rounding(corners[:, 0], corners[:, 2]))
                | (corners[:, 3] - corners[:, 1] <= _rounding(corners[:, 1], corners[:, 3]))
            )
        )
        keep = finite & ~inverted & ~flat & ~empty
        actions = ["clipped" if kept else "dropped" for kept in _to_list(keep)]
    else:
        keep = ~problems
        actions = ["dropped"] * len(reasons)
    changes = [
        {"index": index, "reason": reason, "action": actions[index]}
        for index, reason in enumerate(reasons)
        if reason is not None
    ]
    return BoxValidation(from_xyxy(corners[keep], layout), keep, changes)


def _validate_rotated(array: Any, fmt: str, image_size: Any, policy: str, eps: float) -> BoxValidation[Any]:
    corners = to_corners(array, fmt)
    bounds = _bounds(fmt, image_size)
    finite = _isfinite(array).all(-1) & _isfinite(corners).all(-1)
    xs, ys = corners[:, 0::2], corners[:, 1::2]
    magnitude = clamp(maximum(_amax(abs(xs)), _amax(abs(ys))), 1)
    step = (torch_finfo(array) if is_tensor(array) else np.finfo(array.dtype)).eps
    slack = 4 * step * magnitude
    if fmt == "xyxyxyxy":
        # Consecutive sides turn the same way round a convex quadrilateral; a twisted one changes direction.
        turns = []
        for k in range(4):
            x0, y0 = xs[:, k], ys[:, k]
            x1, y1 = xs[:, (k + 1) % 4], ys[:, (k + 1) % 4]
            x2, y2 = xs[:, (k + 2) % 4], ys[:, (k + 2) % 4]
            turns.append((x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1))
        tolerance = slack * magnitude
        positive = _stack_rows([turn > tolerance for turn in turns]).any(0)
        negative = _stack_rows([turn < -tolerance for turn in turns]).any(0)
        inverted = finite & positive & negative
        flat = finite & ~inverted & (abs(signed_area(corners)) <= slack * magnitude)
    else:
        widths, heights = array[:, 2], array[:, 3]
        inverted = finite & ((widths < -slack) | (heights < -slack))
        flat = finite & ~inverted & ((widths <= slack) | (heights <= slack))
    if bounds is not None:
        height, width = bounds
        outside_x = (xs < -eps * width) | (xs > width * (1 + eps))
        outside_y = (ys < -eps * height) | (ys > height * (1 + eps))
        outside = finite & (outside_x | outside_y).any(-1)
    else:
        outside = finite & False
    problems = ~finite | outside | inverted | flat

    if policy == "raise":
        if bool(problems.any()):
            raise InvalidBoxesError(
                _message_rotated(array, corners, fmt, bounds, finite, outside, inverted, flat)
            )
        return BoxValidation(_copy(array), finite | True, [])

    reasons = _reasons(finite, outside, inverted, flat)
    if policy == "clip" and bounds is not None:
        height, width = bounds
        repairable = outside & ~inverted & ~flat
        clipped = _clip_rotated(array, fmt, height, width)
        array = _where(repairable[:, None], clipped, array)
        area = abs(signed_area(to_corners(array, fmt)))
        empty = repairable & (area <= 4 * step * magnitude**2)
        keep = finite & ~inverted & ~flat & ~empty
        actions = ["clipped" if kept else "dropped" for kept in _to_list(keep)]
    else:
        keep = ~problems
        actions = ["dropped"] * len(reasons)
    changes = [
        {"index": index, "reason": reason, "action": actions[index]}
        for index, reason in enumerate(reasons)
        if reason is not None
    ]
    return BoxValidation(_copy(array[keep]), keep, changes)


def _amax(values: Any) -> Any:
    """Largest value along the last axis, tensor or array."""
    return values.amax(-1) if is_tensor(values) else values.max(-1)


def _stack_rows(rows: list[Any]) -> Any:
    if is_tensor(rows[0]):
        import torch

        return torch.stack(rows)
    return np.stack(rows)


def _message_rotated(
    array: Any,
    corners: Any,
    fmt: str,
    bounds: tuple[float, float] | None,
    finite: Any,
    outside: Any,
    inverted: Any,
    flat: Any,
) -> str:
    lines = []
    for index, (row, corner, is_finite, is_outside, is_inverted, is_flat) in enumerate(
        zip(
            array.tolist(),
            corners.tolist(),
            _to_list(finite),
            _to_list(outside),
            _to_list(inverted),
            _to_list(flat),
            strict=True,
        )
    ):
        shown = f"box {index} {[round(value, 6) for value in row]}"
        if not is_finite:
            lines.append(f"{shown}: expected finite numbers, got NaN or infinity")
            continue
        if fmt == "xyxyxyxy" and is_inverted:
            lines.append(
                f"{shown}: inverted: expected four corners in order round a convex quadrilateral, "
                "got sides that cross or turn back; list the corners round the box"
            )
        elif fmt == "xyxyxyxy" and is_flat:
            area = (
                abs(
                    sum(
                        corner[2 * k] * corner[(2 * k + 3) % 8] - corner[(2 * k + 2) % 8] * corner[2 * k + 1]
                        for k in range(4)
                    )
                )
                / 2
            )
            lines.append(f"{shown}: without area: expected four corners enclosing an area, got area {area:g}")
        elif is_inverted or is_flat:
            what = "inverted" if is_inverted else "without area"
            lines.append(
                f"{shown}: {what}: expected w > 0 and h > 0, got width {row[2]:g} and height {row[3]:g}"
            )
        if is_outside and bounds is not None:
            height, width = bounds
            for k in range(4):
                x, y = corner[2 * k], corner[2 * k + 1]
                if not (0 <= x <= width and 0 <= y <= height):
                    lines.append(
                        f"{shown}: corner {k + 1} (x{k + 1}, y{k + 1}) = ({x:g}, {y:g}) is outside the allowed "
                        f"range [0, {width:g}] x [0, {height:g}]"
                    )
    more = f"\n  ... and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
    listed = "\n".join(f"  - {line}" for line in lines[:_SHOWN])
    image = "" if bounds is None else f", image {bounds[0]:g}x{bounds[1]:g} (height x width)"
    return (
        f"invalid {fmt} boxes{image}:\n{listed}{more}\n"
        "Fix the annotations, or pass policy='clip' (cut boxes to the image) or policy='drop' "
        "(remove them; both report what changed)."
    )


def _bounds(fmt: str, image_size: Any) -> tuple[float, float] | None:
    if is_normalized(fmt):
        return 1.0, 1.0
    if image_size is None:
        return None
    return image_height_width(image_size)


def _isfinite(values: Any) -> Any:
    if is_tensor(values):
        import torch

        return torch.isfinite(values)
    return np.isfinite(values)


def _where(condition: Any, a: Any, b: Any) -> Any:
    if is_tensor(condition):
        import torch

        return torch.where(condition, a, b)
    return np.where(condition, a, b)


def _to_list(values: Any) -> list[Any]:
    return values.tolist()


def snap_to_border(corners: Any, height: float, width: float, eps: float) -> Any:
    """``xyxy`` corners outside the image by at most ``eps`` times its side, moved onto the border."""
    sides = [width, height, width, height]
    if is_tensor(corners):
        import torch

        sides = torch.tensor(sides, dtype=corners.dtype, device=corners.device)
    else:
        sides = np.asarray(sides, dtype=corners.dtype)
    tolerance = sides * eps
    corners = _where((corners < 0) & (corners >= -tolerance), 0.0, corners)
    return _where((corners > sides) & (corners <= sides + tolerance), sides, corners)


def _rounding(low: Any, high: Any) -> Any:
    """A few float steps at the magnitude of ``low`` and ``high``: a side this short is no side.

    A box snapped onto the border, or clipped to it, can keep a sliver of
    1e-16 that vanishes in the next format conversion; that is no area.
    """
    step = (torch_finfo(low) if is_tensor(low) else np.finfo(low.dtype)).eps
    return 4 * step * clamp(maximum(abs(low), abs(high)), 1)


def torch_finfo(values: Any) -> Any:
    import torch

    return torch.finfo(values.dtype)


def _copy(values: Any) -> Any:
    return values.clone() if is_tensor(values) else values.copy()


def _reasons(finite: Any, outside: Any, inverted: Any, flat: Any) -> list[str | None]:
    """The first problem of each box, in the order of `REASONS`, or ``None``."""
    reasons: list[str | None] = []
    for is_finite, is_outside, is_inverted, is_flat in zip(
        _to_list(finite), _to_list(outside), _to_list(inverted), _to_list(flat), strict=True
    ):
        if not is_finite:
            reasons.append("not_finite")
        elif is_inverted:
            reasons.append("inverted")
        elif is_outside:
            reasons.append("out_of_bounds")
        elif is_flat:
            reasons.append("zero_area")
        else:
            reasons.append(None)
    return reasons


def _message(
    array: Any,
    corners: Any,
    fmt: str,
    bounds: tuple[float, float] | None,
    finite: Any,
    outside: Any,
    inverted: Any,
    flat: Any,
) -> str:
    names = _COORDINATE_NAMES[fmt.rstrip("n")]
    lines = []
    rows = array.tolist()
    values = corners.tolist()
    for index, (row, corner, is_finite, is_outside, is_inverted, is_flat) in enumerate(
        zip(
            rows, values, _to_list(finite), _to_list(outside), _to_list(inverted), _to_list(flat), strict=True
        )
    ):
        shown = f"box {index} {[round(value, 6) for value in row]}"
        if not is_finite:
            lines.append(f"{shown}: expected finite numbers, got NaN or infinity")
            continue
        if is_inverted or is_flat:
            width, height = corner[2] - corner[0], corner[3] - corner[1]
            what = "inverted" if is_inverted else "without area"
            lines.append(
                f"{shown}: {what}: expected {names[2]} > {names[0]} and {names[3]} > {names[1]}, "
                f"got width {width:g} and height {height:g}"
            )
        if is_outside and bounds is not None:
            height, width = bounds
            for name, value, side in zip(names, corner, (width, height, width, height), strict=True):
                if not 0 <= value <= side:
                    lines.append(f"{shown}: {name} = {value:g} is outside the allowed range [0, {side:g}]")
    more = f"\n  ... and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
    listed = "\n".join(f"  - {line}" for line in lines[:_SHOWN])
    image = (
        ""
        if bounds is None or is_normalized(fmt)
        else f", image {bounds[0]:g}x{bounds[1]:g} (height x width)"
    )
    return (
        f"invalid {fmt} boxes{image}:\n{listed}{more}\n"
        "Fix the annotations, or pass policy='clip' (cut boxes to the image) or policy='drop' "
        "(remove them; both report what changed)."
    )

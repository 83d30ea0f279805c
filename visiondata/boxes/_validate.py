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
from visiondata.boxes._ops import clamp, maximum
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


def validate_boxes(
    boxes: Boxes,
    fmt: str | None = None,
    image_size: tuple[float, float] | None = None,
    policy: str = "raise",
    eps: float = 1e-3,
) -> BoxValidation[Boxes]:
    """Check boxes for NaN or infinite values, inverted corners, zero area and leaving the image.

    Coordinates outside the image by at most ``eps`` times the image side
    (``eps`` itself for normalised formats) are float noise: they are snapped
    onto the border, never an error, so ``x_max = 1.0001`` in a normalised
    format is fine.

    Policies:

    - ``"raise"``: any problem raises [`InvalidBoxesError`][visiondata.exceptions.InvalidBoxesError] naming each
      box's index, the coordinate, its value and the allowed range;
    - ``"clip"``: boxes leaving the image are cut to it (reported as
      ``"clipped"``); boxes that clipping cannot mend (NaN, inverted, zero
      area, or nothing left inside the image) are dropped and reported;
    - ``"drop"``: every box with a problem is dropped and reported.

    Args:
        boxes: ``(N, 4)`` tensor or array. A ``tv_tensors.BoundingBoxes``
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
    """
    fmt, canvas = resolve_format(boxes, fmt, default="xyxy")
    image_size = resolve_image_size(image_size, canvas)
    if policy not in POLICIES:
        raise ValueError(f"policy: expected one of {', '.join(map(repr, POLICIES))}, got {policy!r}")
    if not eps >= 0:
        raise ValueError(f"eps: expected a fraction of the image side >= 0, got {eps!r}")
    array = as_boxes(boxes)
    if array.ndim != 2:
        raise InvalidBoxesError(f"boxes: expected shape (N, 4), got {tuple(array.shape)}")
    # NaN and infinity are reported, not warned about: numpy stays quiet on inf - inf.
    with np.errstate(invalid="ignore", over="ignore"):
        result = _validate(array, fmt, image_size, policy, eps)
    return result._replace(boxes=rewrap(result.boxes, boxes, fmt, canvas))


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

"""What a sample is, decided in one place for the pipeline, the collates, the pictures and the report.

A sample is a dict holding ``"image"`` (its other keys are the target), or an ``(image, target)``
pair: a tuple or list of two. Anything else is a bare image, which each caller accepts or refuses
itself (the collates refuse it; ``save_grid`` draws it). Every per-box value (labels, masks,
keypoints, any field) has one row per box, checked by `check_one_row_per_box`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from visiondata.exceptions import InvalidBoxesError

IMAGE_KEY = "image"

SampleKind = Literal["dict", "pair", "other"]


def split_sample(sample: Any, where: str = "sample") -> tuple[SampleKind, Any, Any]:
    """``(kind, image, target)`` of a sample.

    Args:
        sample: A dict with ``"image"``, an ``(image, target)`` pair, or anything else.
        where: How an error names the sample (``"detection_collate: sample 2"``).

    Returns:
        ``("dict", image, target)`` with a new dict of the other keys as the target;
        ``("pair", image, target)`` with the target as given (a dict, a mask, a label, ``None``);
        ``("other", sample, None)`` for anything else.

    Raises:
        TypeError: A dict without an ``"image"`` key; the message names its keys.

    Examples:
        >>> split_sample({"image": "pixels", "boxes": []})
        ('dict', 'pixels', {'boxes': []})
        >>> split_sample(("pixels", 3))
        ('pair', 'pixels', 3)
        >>> split_sample({"boxes": []}, "sample 1")
        Traceback (most recent call last):
        ...
        TypeError: sample 1: expected a dict with an 'image' key, got the keys ['boxes']
    """
    if isinstance(sample, Mapping):
        if IMAGE_KEY not in sample:
            raise TypeError(f"{where}: expected a dict with an 'image' key, got the keys {sorted(sample)}")
        return "dict", sample[IMAGE_KEY], {key: value for key, value in sample.items() if key != IMAGE_KEY}
    if isinstance(sample, (tuple, list)) and len(sample) == 2:
        return "pair", sample[0], sample[1]
    return "other", sample, None


def row_count(value: Any) -> int | None:
    """Rows of a per-box value: an array's first dimension, a list's or tuple's length; ``None`` for
    anything else (a number, a 0-d array)."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "ndim"):
        return int(shape[0]) if value.ndim >= 1 else None
    if isinstance(value, (list, tuple)):
        return len(value)
    return None


def check_one_row_per_box(key: str, value: Any, count: int, where: str = "", why: str = "") -> None:
    """Raise `InvalidBoxesError` unless per-box ``value`` has one row for each of ``count`` boxes.

    A box would otherwise keep another box's label, mask or keypoints, and look right.

    Args:
        key: The target's key, named in the message.
        value: An array (rows: its first dimension) or a list.
        count: The number of boxes.
        where: What the message names first (``"detection_collate: sample 2 of the batch: "``).
        why: Why ``key`` is checked, when it is not obvious (``"named in box_fields, so "``).

    Examples:
        >>> check_one_row_per_box("labels", [1, 2], 2)
        >>> check_one_row_per_box("labels", [1, 2, 3], 2)
        Traceback (most recent call last):
        ...
        visiondata.exceptions.InvalidBoxesError: labels: expected one row per box (2 boxes), got 3; ...
    """
    rows = row_count(value)
    if rows == count:
        return
    if rows is None:
        got = f"a single value {value!r}"
    elif getattr(value, "ndim", 1) > 1:
        got = f"{rows} (shape {tuple(value.shape)})"
    else:
        got = f"{rows}"
    raise InvalidBoxesError(
        f"{where}{key}: {why}expected one row per box ({count} boxes), got {got}; boxes and {key} must describe "
        "the same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )

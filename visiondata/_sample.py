"""What a sample is, decided in one place for the pipeline, the collates, the pictures and the report.

A sample is a dict holding ``"image"`` (its other keys are the target), or an ``(image, target)``
pair: a tuple or list of two. Anything else is a bare image, which each caller accepts or refuses
itself (the collates refuse it; ``save_grid`` draws it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

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

"""Transform presets: ``classification_train``, ``classification_eval``, ``grayscale_normalized``,
``detection_train`` and ``detection_eval``.

Examples:
    >>> from visiondata.transforms import presets
    >>> presets.classification_eval().transforms[-1]
    Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], inplace=False)
"""

from visiondata.transforms._presets import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Grayscale,
    classification_eval,
    classification_train,
    detection_eval,
    detection_train,
    grayscale_normalized,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Grayscale",
    "classification_eval",
    "classification_train",
    "detection_eval",
    "detection_train",
    "grayscale_normalized",
]

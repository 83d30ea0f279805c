"""Dataset metadata and the split vocabulary shared by every dataset."""

from __future__ import annotations

from dataclasses import dataclass, field

from visiondata.exceptions import UnknownSplitError

#: Tasks a dataset can declare; the sample schema of each is documented in docs/datasets.md.
TASKS = (
    "classification",
    "multilabel",
    "regression",
    "detection",
    "segmentation",
    "captioning",
    "video",
    "optical_flow",
    "stereo",
    "keypoints",
    "other",
)

#: Names users write for a standard split, mapped to the one visiondata uses.
SPLIT_ALIASES = {
    "training": "train",
    "valid": "val",
    "validation": "val",
    "eval": "val",
    "evaluation": "val",
    "testing": "test",
}


def normalize_split(split: str, available: tuple[str, ...], dataset: str) -> str:
    """Map ``split`` (or an alias of it) to one of ``available``.

    Raises:
        UnknownSplitError: ``split`` names none of ``available``; the message lists them.

    Examples:
        >>> normalize_split("Validation", ("train", "val"), "demo")
        'val'
    """
    if not isinstance(split, str):
        raise TypeError(f"split: expected a string such as {available[0]!r}, got {split!r}")
    wanted = split.strip().lower()
    wanted = SPLIT_ALIASES.get(wanted, wanted)
    if wanted in available:
        return wanted
    raise UnknownSplitError(
        f"dataset {dataset!r} has no split {split!r}; expected one of {', '.join(repr(s) for s in available)}"
    )


@dataclass(frozen=True)
class DatasetInfo:
    """What is known about a dataset without reading its files.

    Attributes:
        name: Registry name (``"mnist"``).
        task: One of `TASKS`.
        splits: Splits ``get_dataset`` accepts, in the standard vocabulary first
            (``train``, ``val``, ``test``) then dataset-specific ones.
        num_classes: Number of classes, when fixed and known.
        classes: Class names in label order, when known without the files.
        image_size: Typical ``(height, width)`` in pixels.
        channels: Channels of the images as stored (1 for greyscale, 3 for RGB).
        mean: Per-channel mean of the training images, scaled to [0, 1].
        std: Per-channel standard deviation, scaled to [0, 1].
        license: License of the data.
        homepage: Where the dataset is described.
        source: Dotted path of the class or function that builds it.
        wraps: Dotted path of the torchvision class it wraps, if any.
        download: Whether ``download=True`` can fetch the files.
        description: One line on what the dataset holds.

    Examples:
        >>> import visiondata as vd
        >>> info = vd.dataset_info("mnist")
        >>> info.task, info.num_classes, info.splits
        ('classification', 10, ('train', 'test'))
    """

    name: str
    task: str
    splits: tuple[str, ...]
    num_classes: int | None = None
    classes: tuple[str, ...] | None = None
    image_size: tuple[int, int] | None = None
    channels: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    license: str | None = None
    homepage: str | None = None
    source: str = ""
    wraps: str | None = None
    download: bool = False
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(
                f"dataset {self.name!r}: task expected one of {', '.join(TASKS)}, got {self.task!r}"
            )
        if not self.splits:
            raise ValueError(f"dataset {self.name!r}: splits expected at least one name, got none")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
            if self.num_classes is None:
                object.__setattr__(self, "num_classes", len(self.classes))
            elif self.num_classes != len(self.classes):
                raise ValueError(
                    f"dataset {self.name!r}: num_classes is {self.num_classes} but "
                    f"{len(self.classes)} class names were given"
                )
        for attribute in ("mean", "std"):
            value = getattr(self, attribute)
            if value is not None and self.channels is not None and len(value) != self.channels:
                raise ValueError(
                    f"dataset {self.name!r}: {attribute} expected {self.channels} values "
                    f"(one per channel), got {len(value)}"
                )

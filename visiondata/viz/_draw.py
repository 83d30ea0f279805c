"""``draw_boxes`` and ``save_grid`` on ``torchvision.utils.draw_bounding_boxes`` and ``make_grid``."""

from __future__ import annotations

import colorsys
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.utils import draw_bounding_boxes, make_grid

from visiondata._arguments import check_positive_int
from visiondata._files import atomic_path, refuse_non_file_output
from visiondata.boxes._convert import TORCHVISION_FORMATS, check_format, convert_boxes, is_normalized
from visiondata.exceptions import InvalidBoxesError


def displayable(image: Any) -> torch.Tensor:
    """``image`` as a 3-channel ``uint8`` ``C x H x W`` tensor.

    ``uint8`` images are kept; float images in [0, 1] are scaled by 255, and
    other float images (normalised ones) are stretched from their minimum
    to their maximum, per image. One channel is repeated three times.

    Examples:
        >>> import torch
        >>> displayable(torch.tensor([[[-1.0, 1.0]]])).tolist()
        [[[0, 255]], [[0, 255]], [[0, 255]]]
    """
    if isinstance(image, np.ndarray):
        array = image[..., None] if image.ndim == 2 else image
        tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
    elif isinstance(image, torch.Tensor):
        tensor = image.as_subclass(torch.Tensor).detach().cpu()
        tensor = tensor[None] if tensor.ndim == 2 else tensor
    else:
        raise TypeError(
            f"image: expected a C x H x W tensor or an H x W x C array, got {type(image).__name__}"
        )
    if tensor.dtype != torch.uint8:
        values = tensor.to(torch.float32)
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 1:
            values = (values - low) / max(high - low, 1e-12)
        tensor = (values * 255).round_().clamp_(0, 255).to(torch.uint8)
    if tensor.shape[0] == 1:
        tensor = tensor.expand(3, -1, -1)
    return tensor[:3].contiguous()


def _color(label: Any) -> tuple[int, int, int]:
    """A distinct, stable colour per label (golden-ratio hues)."""
    key = label if isinstance(label, int) else sum(map(ord, str(label)))
    red, green, blue = colorsys.hsv_to_rgb((key * 0.618033988749895) % 1.0, 0.75, 1.0)
    return round(red * 255), round(green * 255), round(blue * 255)


def draw_boxes(
    image: Any,
    boxes: Any,
    labels: Sequence[Any] | Any | None = None,
    class_names: Sequence[str] | Mapping[int, str] | None = None,
    box_format: str = "xyxy",
    width: int = 2,
) -> torch.Tensor:
    """The image with its boxes drawn, each labelled and coloured by class.

    Args:
        image: ``C x H x W`` tensor or ``H x W x C`` array, any dtype (see
            `displayable` for how floats are shown).
        boxes: ``(N, 4)`` tensor, array or ``tv_tensors.BoundingBoxes`` (which
            carries its own format).
        labels: ``N`` class ids (or names); drawn as text and used for colour.
        class_names: Names of the class ids (a list indexed by id, or a dict).
        box_format: Format of plain boxes, one of `visiondata.boxes.BOX_FORMATS`.
        width: Line width in pixels.

    Returns:
        A ``uint8`` ``3 x H x W`` tensor.

    Examples:
        >>> import torch
        >>> drawn = draw_boxes(torch.zeros(3, 8, 8, dtype=torch.uint8), torch.tensor([[1.0, 1.0, 6.0, 6.0]]),
        ...                    labels=[0], class_names=["cat"], width=1)
        >>> drawn[:, 1, 1].tolist() != [0, 0, 0], drawn[:, 3, 3].tolist()
        (True, [0, 0, 0])
    """
    canvas = displayable(image)
    height, width_pixels = canvas.shape[-2:]
    if isinstance(boxes, tv_tensors.BoundingBoxes):
        box_format = TORCHVISION_FORMATS[boxes.format.name]
        values = boxes.as_subclass(torch.Tensor).detach().cpu().to(torch.float64).numpy()
    elif isinstance(boxes, torch.Tensor):
        values = boxes.detach().cpu().to(torch.float64).numpy()
    else:
        values = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    box_format = check_format(box_format, "box_format")
    size = (height, width_pixels) if is_normalized(box_format) else None
    xyxy = torch.from_numpy(convert_boxes(values.reshape(-1, 4), box_format, "xyxy", image_size=size))
    if len(xyxy) == 0:
        return canvas
    label_list = _as_list(labels, len(xyxy))
    texts = None
    colors: list[tuple[int, int, int]] | str = "red"
    if label_list is not None:
        texts = [_name(label, class_names) for label in label_list]
        colors = [_color(label) for label in label_list]
    return draw_bounding_boxes(canvas, xyxy, labels=texts, colors=colors, width=width)


def _as_list(labels: Any, count: int) -> list[Any] | None:
    if labels is None:
        return None
    values = labels.tolist() if isinstance(labels, (torch.Tensor, np.ndarray)) else labels
    if not isinstance(values, (list, tuple)) or len(values) != count:
        got = len(values) if isinstance(values, (list, tuple)) else f"a single value {values!r}"
        # A label drawn on another box would show the mistake as if it were right.
        raise InvalidBoxesError(
            f"labels: expected one per box ({count}), got {got}; boxes and labels must describe the same "
            "objects in the same order"
        )
    return list(values)


def _name(label: Any, class_names: Sequence[str] | Mapping[int, str] | None) -> str:
    if class_names is None:
        return str(label)
    try:
        return str(class_names[label])
    except (IndexError, KeyError, TypeError):
        return str(label)


def save_grid(
    samples: Iterable[Any],
    path: str | os.PathLike[str],
    ncols: int = 4,
    class_names: Sequence[str] | Mapping[int, str] | None = None,
    box_format: str = "xyxy",
    padding: int = 4,
) -> Path:
    """Draw each sample's boxes and save the samples as one image grid (PNG; JPEG for a ``.jpg`` name).

    Samples may be detection pairs ``(image, {"boxes", "labels"})``, dicts
    ``{"image", "boxes", "labels"}``, ``(image, label)`` classification
    pairs or bare images; images of different sizes are padded (bottom and
    right) to the largest.

    Args:
        samples: The samples, in grid order.
        path: The file to write (folders are created); ``.jpg``/``.jpeg`` writes
            JPEG (quality 90), any other name PNG.
        ncols: Images per row.
        class_names: Names of the class ids, for the box labels.
        box_format: Format of plain box arrays.
        padding: Pixels between images.

    Returns:
        The path written.

    Raises:
        ValueError: ``ncols`` is not a positive ``int`` (``True`` is refused), or no samples are given.
        OutputConflictError: ``path`` is a folder or a special file (``/dev/null``).

    Examples:
        >>> import tempfile, pathlib, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "grid.png"
        >>> sample = (torch.zeros(3, 10, 10, dtype=torch.uint8), {"boxes": torch.tensor([[1.0, 1.0, 8.0, 8.0]])})
        >>> save_grid([sample, sample], path, ncols=2).is_file()
        True
    """
    from PIL import Image

    check_positive_int("ncols", ncols, expected="a positive int")
    drawn = []
    for sample in samples:
        image, target = _split(sample)
        if isinstance(target, Mapping) and target.get("boxes") is not None:
            drawn.append(draw_boxes(image, target["boxes"], target.get("labels"), class_names, box_format))
        else:
            drawn.append(displayable(image))
    if not drawn:
        raise ValueError("samples: expected at least one sample to draw, got none")
    height = max(image.shape[-2] for image in drawn)
    width = max(image.shape[-1] for image in drawn)
    padded = [
        torch.nn.functional.pad(image, (0, width - image.shape[-1], 0, height - image.shape[-2]))
        for image in drawn
    ]
    grid = make_grid(padded, nrow=ncols, padding=padding, pad_value=255)
    path = Path(path)
    # Never rename over a device or a folder: /dev/null would be replaced by the picture.
    refuse_non_file_output(path, "an image file", "preview.png")
    picture = Image.fromarray(grid.permute(1, 2, 0).numpy())
    # Written under a temporary name and renamed: an interrupted save leaves any previous picture whole.
    with atomic_path(path) as partial:
        if path.suffix.lower() in (".jpg", ".jpeg"):
            picture.save(partial, format="JPEG", quality=90)
        else:
            picture.save(partial, format="PNG")
    return path


def _split(sample: Any) -> tuple[Any, Any]:
    if isinstance(sample, Mapping):
        return sample["image"], sample
    if isinstance(sample, (tuple, list)) and len(sample) == 2:
        return sample[0], sample[1]
    return sample, None

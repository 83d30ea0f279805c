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
from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks, make_grid

from visiondata._arguments import check_positive_int, check_probability
from visiondata._files import atomic_path, refuse_non_file_output
from visiondata._sample import check_one_row_per_box, split_sample
from visiondata.boxes._convert import (
    BOX_FORMATS,
    ROTATED_TORCHVISION_FORMATS,
    TORCHVISION_FORMATS,
    check_format,
    convert_boxes,
    is_normalized,
)
from visiondata.boxes._rotated import ROTATED_FORMATS
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
    boxes: Any = None,
    labels: Sequence[Any] | Any | None = None,
    class_names: Sequence[str] | Mapping[int, str] | None = None,
    box_format: str = "xyxy",
    width: int = 2,
    *,
    keypoints: Any = None,
    skeleton: Sequence[Sequence[int]] | None = None,
    masks: Any = None,
    alpha: float = 0.5,
    ignore_index: int | None = 255,
    background: int | None = 0,
) -> torch.Tensor:
    """The image with its labels drawn: boxes (each named and coloured by class), keypoints, masks.

    Oriented boxes (``xywhr``, ``cxcywhr``, ``xyxyxyxy``, or a ``BoundingBoxes`` of
    format ``XYWHR``, ``CXCYWHR``, ``XYXYXYXY``) are drawn as their rotated
    outline, not their enclosing box. Keypoints are drawn with their
    skeleton: visibility 2 (visible) as a filled dot, 1 (labelled but hidden)
    as a hollow ring, 0 (not labelled) not at all; a skeleton line joins two
    keypoints that are both labelled. Masks are tinted over the image with
    ``alpha``, underneath the boxes and keypoints: a semantic mask (``(H, W)``
    integer class ids) tints each class in its colour, leaving
    ``ignore_index`` (void) and ``background`` pixels as they are; instance
    masks (``(N, H, W)``, or one boolean ``(H, W)``) tint each instance in its
    box's colour.

    Args:
        image: ``C x H x W`` tensor or ``H x W x C`` array, any dtype (see
            `displayable` for how floats are shown).
        boxes: ``(N, 4)`` tensor, array or ``tv_tensors.BoundingBoxes`` (which
            carries its own format); ``(N, 5)`` or ``(N, 8)`` for oriented
            formats; ``None`` for none.
        labels: ``N`` class ids (or names); drawn as text and used for colour.
        class_names: Names of the class ids (a list indexed by id, or a dict).
        box_format: Format of plain boxes, one of `visiondata.boxes.BOX_FORMATS`.
        width: Line width in pixels.
        keypoints: ``(N, K, 3)`` ``x, y, visibility`` in pixels (``(N, K, 2)``: all
            visible), one row per instance, coloured like its box.
        skeleton: Pairs of keypoint indices (from 0) joined by a line (a dataset's ``skeleton``).
        masks: A semantic mask ``(H, W)`` of class ids, or instance masks ``(N, H, W)``
            (boolean or 0/1), of the image's size.
        alpha: Opacity of the mask tint, in [0, 1].
        ignore_index: Class id of void pixels in a semantic mask, left untinted (``None``: none).
        background: Class id of the background in a semantic mask, left untinted (``None``: tint it too).

    Returns:
        A ``uint8`` ``3 x H x W`` tensor.

    Raises:
        InvalidBoxesError: Labels, keypoints or instance masks that are not one per box; boxes or
            keypoints of the wrong shape.
        ValueError: A mask of another size than the image, a skeleton pair outside the keypoints, or
            ``alpha`` outside [0, 1].

    Examples:
        >>> import torch
        >>> drawn = draw_boxes(torch.zeros(3, 8, 8, dtype=torch.uint8), torch.tensor([[1.0, 1.0, 6.0, 6.0]]),
        ...                    labels=[0], class_names=["cat"], width=1)
        >>> drawn[:, 1, 1].tolist() != [0, 0, 0], drawn[:, 3, 3].tolist()
        (True, [0, 0, 0])
        >>> points = torch.tensor([[[2.0, 2.0, 2.0], [6.0, 6.0, 0.0]]])
        >>> dots = draw_boxes(torch.zeros(3, 10, 10, dtype=torch.uint8), None, keypoints=points)
        >>> dots[:, 2, 2].tolist() != [0, 0, 0], dots[:, 6, 6].tolist()
        (True, [0, 0, 0])
    """
    check_probability("alpha", alpha)
    canvas = displayable(image)
    height, width_pixels = canvas.shape[-2:]
    corners = _box_corners(boxes, box_format, (int(height), int(width_pixels)))
    count = 0 if corners is None else len(corners)
    label_list = _as_list(labels, count) if corners is not None else None
    box_colors = [_color(label) for label in label_list] if label_list is not None else None
    if masks is not None:
        canvas = _draw_masks(canvas, masks, count, label_list, alpha, ignore_index, background)
    if corners is not None and count:
        texts = [_name(label, class_names) for label in label_list] if label_list is not None else None
        colors: list[tuple[int, int, int]] | str = box_colors if box_colors is not None else "red"
        canvas = draw_bounding_boxes(canvas, corners, labels=texts, colors=colors, width=width)
    if keypoints is not None:
        canvas = _draw_keypoints(canvas, keypoints, skeleton, corners, box_colors, width)
    return canvas


def _box_corners(boxes: Any, box_format: str, size: tuple[int, int]) -> torch.Tensor | None:
    """``(N, 4)`` ``xyxy`` boxes, or ``(N, 8)`` corners of oriented ones (as ``draw_bounding_boxes`` takes)."""
    if boxes is None:
        return None
    if isinstance(boxes, tv_tensors.BoundingBoxes):
        box_format = {**TORCHVISION_FORMATS, **ROTATED_TORCHVISION_FORMATS}[boxes.format.name]
        values = boxes.as_subclass(torch.Tensor).detach().cpu().to(torch.float64).numpy()
    elif isinstance(boxes, torch.Tensor):
        values = boxes.detach().cpu().to(torch.float64).numpy()
    else:
        values = np.asarray(boxes, dtype=np.float64)
    box_format = check_format(box_format, "box_format", BOX_FORMATS)
    columns = {"xywhr": 5, "cxcywhr": 5, "xyxyxyxy": 8}.get(box_format, 4)
    if values.size == 0:
        return torch.zeros((0, columns), dtype=torch.float64)
    if values.ndim not in (1, 2) or values.shape[-1] != columns:
        raise InvalidBoxesError(
            f"boxes: expected shape (N, {columns}) for box_format {box_format!r}, got {tuple(values.shape)}"
        )
    values = values.reshape(-1, columns)
    if box_format in ROTATED_FORMATS:
        # The outline itself: the enclosing box would show a turned object as an upright one.
        return torch.from_numpy(np.ascontiguousarray(convert_boxes(values, box_format, "xyxyxyxy")))
    normalized = size if is_normalized(box_format) else None
    return torch.from_numpy(convert_boxes(values, box_format, "xyxy", image_size=normalized))


def _draw_masks(
    canvas: torch.Tensor,
    masks: Any,
    count: int,
    labels: list[Any] | None,
    alpha: float,
    ignore_index: int | None,
    background: int | None,
) -> torch.Tensor:
    """``canvas`` with the masks tinted over it (see ``draw_boxes``)."""
    values = (
        masks.as_subclass(torch.Tensor)
        if isinstance(masks, torch.Tensor)
        else torch.as_tensor(np.asarray(masks))
    )
    values = values.detach().cpu()
    size = tuple(canvas.shape[-2:])
    if values.ndim not in (2, 3) or tuple(values.shape[-2:]) != size:
        raise ValueError(
            f"masks: expected a semantic mask ({size[0]}, {size[1]}) or instance masks (N, {size[0]}, "
            f"{size[1]}) of the image's size, got shape {tuple(values.shape)}; resize the mask with its image"
        )
    if values.ndim == 2 and values.dtype != torch.bool:
        if values.is_floating_point():
            raise ValueError(
                f"masks: expected integer class ids in a semantic (H, W) mask, got {values.dtype}; read masks "
                "as indices, not as colours or probabilities"
            )
        skipped = {ignore_index, background} - {None}
        classes = [int(value) for value in torch.unique(values).tolist() if int(value) not in skipped]
        if not classes:
            return canvas
        stack = torch.stack([values == value for value in classes])
        colors = [_color(value) for value in classes]
    else:
        stack = values[None] if values.ndim == 2 else values
        if count:
            check_one_row_per_box("masks", stack, count)
        stack = stack != 0
        if len(stack) == 0:
            return canvas
        colors = (
            [_color(label) for label in labels]
            if labels is not None and len(labels) == len(stack)
            else [_color(position) for position in range(len(stack))]
        )
    return draw_segmentation_masks(canvas, stack, alpha=alpha, colors=colors)


#: Colour of keypoints and skeleton lines of instances without a label.
_KEYPOINT_COLOR = (0, 255, 0)


def _draw_keypoints(
    canvas: torch.Tensor,
    keypoints: Any,
    skeleton: Sequence[Sequence[int]] | None,
    corners: torch.Tensor | None,
    colors: list[tuple[int, int, int]] | None,
    width: int,
) -> torch.Tensor:
    """``canvas`` with each instance's skeleton lines and keypoints (see ``draw_boxes``)."""
    from PIL import Image, ImageDraw

    if isinstance(keypoints, torch.Tensor):
        points = keypoints.as_subclass(torch.Tensor).detach().cpu().to(torch.float64).numpy()
    else:
        points = np.asarray(keypoints, dtype=np.float64)
    if points.size == 0:
        return canvas
    if points.ndim != 3 or points.shape[-1] not in (2, 3):
        raise InvalidBoxesError(
            f"keypoints: expected shape (N, K, 3) (x, y, visibility per keypoint of each instance), got "
            f"{tuple(points.shape)}"
        )
    if corners is not None and len(corners):
        check_one_row_per_box("keypoints", points, len(corners))
    if points.shape[-1] == 2:
        points = np.concatenate([points, np.full((*points.shape[:-1], 1), 2.0)], axis=-1)
    pairs = _skeleton_pairs(skeleton, points.shape[1])
    picture = Image.fromarray(canvas.permute(1, 2, 0).numpy())
    draw = ImageDraw.Draw(picture)
    radius = max(2, width + 1)
    for instance, rows in enumerate(points):
        color = colors[instance] if colors is not None and instance < len(colors) else _KEYPOINT_COLOR
        labelled = np.isfinite(rows).all(axis=1) & (rows[:, 2] > 0)
        for first, second in pairs:
            if labelled[first] and labelled[second]:
                draw.line([tuple(rows[first, :2]), tuple(rows[second, :2])], fill=color, width=max(1, width))
        for x, y, visibility in rows[labelled]:
            box = [x - radius, y - radius, x + radius, y + radius]
            if visibility >= 2:
                draw.ellipse(box, fill=color, outline=color)
            else:  # labelled but hidden: a ring, so that it reads as "there, behind something"
                draw.ellipse(box, outline=color, width=1)
    return torch.from_numpy(np.array(picture)).permute(2, 0, 1).contiguous()


def _skeleton_pairs(skeleton: Sequence[Sequence[int]] | None, keypoint_count: int) -> list[tuple[int, int]]:
    """The skeleton as ``(first, second)`` index pairs, each within ``keypoint_count``.

    Raises:
        ValueError: A pair that is not two int indices in ``0..keypoint_count - 1``.
    """
    if skeleton is None:
        return []
    values = skeleton.tolist() if isinstance(skeleton, (torch.Tensor, np.ndarray)) else skeleton
    pairs = []
    for pair in values:
        ok = isinstance(pair, (list, tuple)) and len(pair) == 2
        ok = ok and all(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in pair
        )
        if not ok or not all(0 <= value < keypoint_count for value in pair):
            raise ValueError(
                f"skeleton: expected pairs of keypoint indices in 0..{keypoint_count - 1}, got {pair!r}; a "
                "skeleton joins keypoints by their index (from 0) in each instance's keypoints"
            )
        pairs.append((int(pair[0]), int(pair[1])))
    return pairs


def _as_list(labels: Any, count: int) -> list[Any] | None:
    if labels is None:
        return None
    values = labels.tolist() if isinstance(labels, (torch.Tensor, np.ndarray)) else labels
    # A label drawn on another box would show the mistake as if it were right.
    check_one_row_per_box("labels", values if isinstance(values, (list, tuple)) else labels, count)
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
    skeleton: Sequence[Sequence[int]] | None = None,
    ignore_index: int | None = 255,
) -> Path:
    """Draw each sample's labels and save the samples as one image grid (PNG; JPEG for a ``.jpg`` name).

    Samples may be detection pairs ``(image, {"boxes", "labels"})``, dicts
    ``{"image", "boxes", "labels"}``, ``(image, label)`` classification
    pairs or bare images; images of different sizes are padded (bottom and
    right) to the largest. What a target has is drawn as `draw_boxes` draws
    it: boxes (oriented ones as their outline), ``keypoints`` with the
    ``skeleton``, and a semantic ``mask`` (or, without one, instance
    ``masks``) as a tint. A classification pair's class name (from
    ``class_names``, else its id) is written at the tile's top left, and a
    tile shorter than `MIN_LABELLED_TILE` pixels is first enlarged by a whole
    factor (nearest neighbour: MNIST's digits become 112 x 112).

    Args:
        samples: The samples, in grid order.
        path: The file to write (folders are created); ``.jpg``/``.jpeg`` writes
            JPEG (quality 90), any other name PNG.
        ncols: Images per row.
        class_names: Names of the class ids, for the box labels.
        box_format: Format of plain box arrays.
        padding: Pixels between images.
        skeleton: Pairs of keypoint indices joined by a line (a dataset's ``skeleton``).
        ignore_index: Class id of void pixels in semantic masks, left untinted.

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
        _, image, target = split_sample(sample)
        if isinstance(target, Mapping) and any(
            target.get(key) is not None for key in ("boxes", "keypoints", "mask", "masks")
        ):
            boxes = target.get("boxes")
            drawn.append(
                draw_boxes(
                    image,
                    boxes,
                    target.get("labels") if boxes is not None else None,
                    class_names,
                    box_format,
                    keypoints=target.get("keypoints"),
                    skeleton=skeleton,
                    masks=target["mask"] if target.get("mask") is not None else target.get("masks"),
                    ignore_index=ignore_index,
                )
            )
        elif (label := _class_label(target)) is not None:
            drawn.append(_captioned(_enlarged(displayable(image)), _class_name(label, class_names)))
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


#: Classification tiles smaller than this on their shorter side are enlarged (nearest neighbour), so that
#: their label fits and their pixels can be told apart: MNIST's 28 x 28 digits become 112 x 112.
MIN_LABELLED_TILE = 96


def _class_label(target: Any) -> int | None:
    """The class id of a classification target (an int, or a 0-d integer tensor or array), else ``None``."""
    if isinstance(target, bool):
        return None
    if isinstance(target, (int, np.integer)):
        return int(target)
    if isinstance(target, torch.Tensor) and target.ndim == 0 and not target.dtype.is_floating_point:
        return None if target.dtype == torch.bool else int(target)
    if isinstance(target, np.ndarray) and target.ndim == 0 and np.issubdtype(target.dtype, np.integer):
        return int(target)
    return None


def _class_name(label: int, class_names: Sequence[str] | Mapping[int, str] | None) -> str:
    if isinstance(class_names, Mapping):
        return str(class_names.get(label, label))
    if class_names is not None and 0 <= label < len(class_names):
        return str(class_names[label])
    return str(label)


def _enlarged(tile: torch.Tensor) -> torch.Tensor:
    shortest = min(tile.shape[-2:])
    factor = -(-MIN_LABELLED_TILE // shortest) if 0 < shortest < MIN_LABELLED_TILE else 1
    return tile.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1) if factor > 1 else tile


def _captioned(tile: torch.Tensor, text: str) -> torch.Tensor:
    """``tile`` with ``text`` in white on a black band at its top left (cut to the tile's width)."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(tile.permute(1, 2, 0).numpy())
    draw = ImageDraw.Draw(picture)
    *_, right, bottom = draw.textbbox((2, 1), text)
    draw.rectangle((0, 0, min(right + 2, picture.width - 1), bottom + 2), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=(255, 255, 255))
    return torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1)

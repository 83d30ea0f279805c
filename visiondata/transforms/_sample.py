"""A sample as the pipeline reads and returns it.

`parse` takes what the user gives (a dict with ``"image"`` and
``"boxes"``, or the detection pair ``(image, target)``), remembers how each
part was given, and `rebuild` returns the transformed parts the
same way: same keys, types, dtypes and box format, plus the drop report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from visiondata._sample import check_one_row_per_box, row_count, split_sample
from visiondata.boxes._convert import (
    BOX_FORMATS,
    ROTATED_TORCHVISION_FORMATS,
    TORCHVISION_FORMATS,
    check_format,
    convert_boxes,
)
from visiondata.boxes._rotated import COLUMNS, corners_to_xyxy, is_rotated, to_corners
from visiondata.boxes._validate import snap_to_border, validate_boxes
from visiondata.exceptions import InvalidBoxesError, TransformSpecError
from visiondata.io._plan import PlannedImage
from visiondata.transforms._work import Work

#: Target keys that hold one row per box whenever a target has boxes (the readers' per-box fields). One of
#: them with another row count is a broken annotation, never a per-image value: it is an error, not a
#: field left alone (a surviving box would otherwise take a dropped box's label). ``collate`` checks the same.
PER_BOX_KEYS = ("labels", "iscrowd", "area", "difficult", "truncated", "scores")


class Sample:
    """A parsed input sample: its parts, and how to give them back the way they came."""

    def __init__(self) -> None:
        self.kind = "dict"  # or "pair"
        self.container: dict[str, Any] = {}  # the dict, or the pair's target
        self.image: Any = None
        self.image_kind = "tensor"  # "tv_image", "tensor", "numpy", "numpy2d"
        self.boxes_given: Any = None
        self.box_format = "xyxy"
        self.boxes: np.ndarray | None = None  # xyxy pixels, float64 (the enclosing boxes of oriented ones)
        self.corners: np.ndarray | None = None  # oriented boxes' (N, 8) corners, float64
        self.fields: list[str] = []
        self.masks: Any = None
        self.mask: Any = None
        self.mask_key: str | None = None
        self.target_is_mask = False
        self.target_is_none = False
        self.previous_dropped: list[dict[str, Any]] | None = None
        self.keypoints_given: Any = None
        self.keypoints: np.ndarray | None = None  # (N, K, 3) x, y, visibility; float64
        # An image decoded for the pipeline's plan (`image` holds its pixels); its boxes, masks and
        # keypoints are in the coordinates of the full-size image the plan was drawn on.
        self.planned: PlannedImage | None = None

    # -- reading -----------------------------------------------------------------

    def image_chw(self) -> torch.Tensor:
        """The image as a plain ``C x H x W`` tensor (a view of a numpy image)."""
        image = self.image
        if isinstance(image, np.ndarray):
            # torch cannot view a read-only array, nor one with a negative stride (BGR to RGB as image[..., ::-1]).
            array = (
                image if image.flags.writeable and all(step >= 0 for step in image.strides) else image.copy()
            )
            tensor = torch.from_numpy(array)
            return tensor[None] if array.ndim == 2 else tensor.permute(2, 0, 1)
        return image.as_subclass(torch.Tensor)

    def image_hwc(self) -> np.ndarray:
        """The image as a contiguous ``H x W x C`` numpy array."""
        image = self.image
        if isinstance(image, np.ndarray):
            return np.ascontiguousarray(image[..., None] if image.ndim == 2 else image)
        return np.ascontiguousarray(image.as_subclass(torch.Tensor).detach().cpu().permute(1, 2, 0).numpy())

    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the image the boxes refer to (a planned image's full size)."""
        if self.planned is not None:
            return self.planned.full_size
        if isinstance(self.image, np.ndarray):
            return int(self.image.shape[0]), int(self.image.shape[1])
        return int(self.image.shape[-2]), int(self.image.shape[-1])

    # -- writing -----------------------------------------------------------------

    def rebuild(self, work: Work) -> Any:
        """The output sample: the transformed parts put back as they were given, plus ``"dropped"``."""
        container = dict(self.container)
        image = self._image_out(work.image)
        height, width = image.shape[-2:] if isinstance(image, torch.Tensor) else image.shape[:2]
        height, width = int(height), int(width)
        ids = work.ids
        if self.boxes is not None:
            visible = work.visible_corners if self.corners is not None else work.visible
            container["boxes"] = self._boxes_out(visible, height, width)
            for key in self.fields:
                container[key] = _select(container[key], ids)
        if self.masks is not None:
            container["masks"] = _like(self.masks, work.masks)
        if self.keypoints is not None:
            container["keypoints"] = keypoints_out(self.keypoints_given, work.keypoints, height, width)
        if self.mask is not None and self.mask_key is not None:
            container[self.mask_key] = _like(self.mask, _squeeze_mask(work.mask, self.mask))
        dropped = sorted(work.dropped, key=lambda entry: entry["index"])
        if self.previous_dropped is not None:
            dropped = compose_reports(
                self.previous_dropped, dropped, len(self.boxes) if self.boxes is not None else 0
            )
        if self.kind == "dict":
            container["image"] = image
            container["dropped"] = dropped
            return container
        if self.target_is_mask:
            return image, _like(self.mask, _squeeze_mask(work.mask, self.mask))
        if self.target_is_none:
            return image, None
        container["dropped"] = dropped
        return image, container

    def _image_out(self, image: torch.Tensor | np.ndarray) -> Any:
        """The backend's image (``C x H x W`` tensor or ``H x W x C`` array) in the type the sample gave."""
        if self.image_kind in ("numpy", "numpy2d"):
            array = image.permute(1, 2, 0).numpy() if isinstance(image, torch.Tensor) else image
            return array[..., 0] if self.image_kind == "numpy2d" else array
        tensor = image if isinstance(image, torch.Tensor) else torch.from_numpy(image).permute(2, 0, 1)
        return tv_tensors.Image(tensor) if self.image_kind == "tv_image" else tensor

    def _boxes_out(self, boxes: np.ndarray, height: int, width: int) -> Any:
        given = self.boxes_given
        source = "xyxyxyxy" if self.corners is not None else "xyxy"
        boxes = convert_boxes(boxes, source, self.box_format, image_size=(height, width))
        if isinstance(given, tv_tensors.BoundingBoxes):
            dtype = safe_box_dtype(given.dtype if given.is_floating_point() else torch.float32, boxes)
            tensor = torch.from_numpy(boxes).to(dtype=dtype, device=given.device)
            return tv_tensors.BoundingBoxes(tensor, format=given.format, canvas_size=(height, width))
        if isinstance(given, torch.Tensor):
            dtype = safe_box_dtype(given.dtype if given.is_floating_point() else torch.float32, boxes)
            return torch.from_numpy(boxes).to(dtype=dtype, device=given.device)
        if isinstance(given, np.ndarray):
            if given.dtype.kind != "f":
                return boxes.astype(np.float64)
            return boxes.astype(
                np.float32 if safe_box_dtype(given.dtype, boxes) is not given.dtype else given.dtype
            )
        return boxes.tolist()


def safe_box_dtype(dtype: Any, boxes: np.ndarray) -> Any:
    """``dtype`` (torch or numpy), or float32 where a coordinate of ``boxes`` would overflow it (float16: 65504).

    The box math runs in float64; only the result is converted back, and never to ``inf``.
    """
    if dtype in (torch.float16, np.float16) and len(boxes) and float(np.abs(boxes).max()) > _FLOAT16_MAX:
        return torch.float32 if isinstance(dtype, torch.dtype) else np.float32
    return dtype


_FLOAT16_MAX = float(np.finfo(np.float16).max)


def parse(inputs: tuple[Any, ...], box_format: str, box_fields: Sequence[str] | None, eps: float) -> Sample:
    """Read a sample given as ``{"image", "boxes", ...}``, ``(image, target)`` or ``image, target``.

    Raises:
        TypeError: Not one of those shapes, or an image type the pipeline cannot take.
        TransformSpecError: An image with no pixels (a side of 0).
        InvalidBoxesError: Boxes that are not ``(N, 4)``, NaN, inverted or without area (each named);
            ``labels``, another per-box field (`PER_BOX_KEYS`, or those named in ``box_fields``) or
            instance masks without exactly one row per box (the message names the field and both counts).
        ValueError: Masks of another size than the image.
        InvalidBoxesError: Keypoints not ``(N, K, 3)`` or ``(N, K, 2)``, without boxes or with
            another instance count than the boxes, or with a visibility other than 0, 1 or 2.
    """
    sample = Sample()
    if len(inputs) not in (1, 2):
        raise TypeError(f"sample: expected one sample or (image, target), got {len(inputs)} arguments")
    kind, image, target = split_sample(inputs[0] if len(inputs) == 1 else inputs)
    if kind == "dict":
        sample.image, sample.container = image, target
    else:
        if kind != "pair":
            raise TypeError(
                "sample: expected a dict {'image': ..., 'boxes': ..., 'labels': ...}, an (image, target) pair "
                f"or two arguments image, target; got {type(inputs[0]).__name__}"
            )
        sample.kind = "pair"
        sample.image = image
        if isinstance(target, tv_tensors.Mask) or (target is not None and not isinstance(target, Mapping)):
            if not isinstance(target, (torch.Tensor, np.ndarray)):
                raise TypeError(f"target: expected a dict, a mask or None, got {type(target).__name__}")
            sample.target_is_mask = True
            sample.container = {}
            sample.mask_key = "mask"
            sample.container["mask"] = target
        else:
            sample.target_is_none = target is None
            sample.container = {} if target is None else dict(target)
    _read_image(sample)
    previous = sample.container.pop("dropped", None)
    if previous is not None:
        sample.previous_dropped = list(previous)
    _read_boxes(sample, box_format, eps)
    _read_masks(sample)
    _read_keypoints(sample)
    _find_fields(sample, box_fields)
    return sample


def _read_image(sample: Sample) -> None:
    image = sample.image
    if isinstance(image, PlannedImage):
        # What a detection dataset decoded for the pipeline's plan: a tv_tensors.Image on the exact path.
        sample.planned, sample.image, sample.image_kind = image, image.image, "tv_image"
        return
    if isinstance(image, tv_tensors.Image):
        sample.image_kind = "tv_image"
    elif isinstance(image, torch.Tensor):
        sample.image_kind = "tensor"
    elif isinstance(image, np.ndarray):
        sample.image_kind = "numpy2d" if image.ndim == 2 else "numpy"
    else:
        raise TypeError(
            f"image: expected a C x H x W tensor (tv_tensors.Image included) or an H x W x C numpy array, got "
            f"{type(image).__name__}; read files with visiondata.io.read_image, or convert PIL images with "
            "torchvision.transforms.v2.functional.pil_to_tensor"
        )
    expected = (2, 3) if isinstance(image, np.ndarray) else (3,)
    if image.ndim not in expected:
        layout = "H x W x C or H x W" if isinstance(image, np.ndarray) else "C x H x W"
        raise TypeError(f"image: expected {layout}, got shape {tuple(image.shape)}")
    height, width = sample.size()
    if height == 0 or width == 0:
        # Every resize divides by a side: refuse here, named, rather than deep inside a step.
        raise TransformSpecError(
            f"image: expected at least 1 x 1 pixels, got shape {tuple(image.shape)} (height {height}, width "
            f"{width}); an image without pixels cannot be augmented: fix or leave out the file it came from"
        )


def _read_boxes(sample: Sample, box_format: str, eps: float) -> None:
    if "boxes" not in sample.container:
        return
    given = sample.container["boxes"]
    sample.boxes_given = given
    if isinstance(given, tv_tensors.BoundingBoxes):
        name = given.format.name
        fmt = TORCHVISION_FORMATS.get(name) or ROTATED_TORCHVISION_FORMATS.get(name)
        if fmt is None:
            raise InvalidBoxesError(
                "boxes: expected BoundingBoxes in XYXY, XYWH, CXCYWH, XYWHR, CXCYWHR or XYXYXYXY format, got "
                f"{name}"
            )
        values = _host_values(given.as_subclass(torch.Tensor))
    else:
        fmt = check_format(box_format, "box_format", formats=BOX_FORMATS)
        values = _host_values(given) if isinstance(given, torch.Tensor) else given
    if is_rotated(fmt):
        _read_rotated_boxes(sample, fmt, values)
        return
    sample.box_format = fmt
    height, width = sample.size()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidBoxesError(
            f"boxes: expected an (N, 4) array of numbers, got {values!r} ({error})"
        ) from None
    if array.size == 0:
        array = array.reshape(0, 4)
    if array.ndim != 2:  # convert_boxes takes batches (..., 4); a sample's boxes are one row each
        raise InvalidBoxesError(f"boxes: expected shape (N, 4) for {fmt!r} boxes, got {tuple(array.shape)}")
    boxes = convert_boxes(array, fmt, "xyxy", image_size=(height, width))
    # NaN, inverted and empty boxes are data errors (named by validate_boxes); leaving the image is
    # the out_of_bounds policy's job. The quick check spares the detailed one for clean boxes.
    if not (
        np.isfinite(boxes).all() and (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    ):
        try:
            validate_boxes(array, fmt, policy="raise")
        except InvalidBoxesError as error:
            # validate_boxes ends with its own policies as the fix; a pipeline has another one to offer.
            problems = str(error).rsplit("\n", 1)[0]
            raise InvalidBoxesError(
                f"{problems}\nFix the annotations, or remove such boxes before the pipeline with "
                "visiondata.boxes.validate_boxes(boxes, fmt, policy='drop') and index the per-box fields with "
                "its keep."
            ) from None
    sample.boxes = snap_to_border(np.ascontiguousarray(boxes, dtype=np.float64), height, width, eps)


def _host_values(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as a float64 numpy array on the host (numpy has no bfloat16)."""
    return tensor.detach().cpu().to(torch.float64).numpy()


def _read_rotated_boxes(sample: Sample, fmt: str, values: Any) -> None:
    """Oriented boxes: their corners, and their enclosing boxes (what box-safe steps and Mosaic read)."""
    sample.box_format = fmt
    columns = COLUMNS[fmt]
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidBoxesError(
            f"boxes: expected an (N, {columns}) array of numbers ({fmt}), got {values!r} ({error})"
        ) from None
    if array.size == 0:
        array = array.reshape(0, columns)
    if array.ndim != 2 or array.shape[1] != columns:
        raise InvalidBoxesError(
            f"boxes: expected an (N, {columns}) array of {fmt} boxes, got shape {tuple(array.shape)}; pass "
            "box_format= the format of the boxes"
        )
    try:
        validate_boxes(array, fmt, policy="raise")
    except InvalidBoxesError as error:
        problems = str(error).rsplit("\n", 1)[0]
        raise InvalidBoxesError(
            f"{problems}\nFix the annotations, or remove such boxes before the pipeline with "
            "visiondata.boxes.validate_boxes(boxes, fmt, policy='drop') and index the per-box fields with "
            "its keep."
        ) from None
    sample.corners = np.ascontiguousarray(to_corners(array, fmt), dtype=np.float64)
    sample.boxes = corners_to_xyxy(sample.corners)


def _read_masks(sample: Sample) -> None:
    container = sample.container
    if sample.target_is_mask:
        sample.mask = container.pop("mask")
        return
    if "masks" in container:
        masks = container["masks"]
        count = None if sample.boxes is None else len(sample.boxes)
        if masks.ndim != 3:
            raise InvalidBoxesError(
                f"masks: expected instance masks of shape (N, H, W), one per box, got shape {tuple(masks.shape)}"
            )
        if count is not None:
            check_one_row_per_box("masks", masks, count)
        _check_mask_size(sample, masks.shape[-2:], "masks")
        sample.masks = masks
    if "mask" in container:
        mask = container["mask"]
        if mask.ndim not in (2, 3) or (mask.ndim == 3 and mask.shape[0] != 1):
            raise ValueError(
                f"mask: expected a semantic mask of shape (H, W) or (1, H, W), got {tuple(mask.shape)}"
            )
        _check_mask_size(sample, mask.shape[-2:], "mask")
        sample.mask, sample.mask_key = mask, "mask"


def _read_keypoints(sample: Sample) -> None:
    if "keypoints" not in sample.container:
        return
    given = sample.container["keypoints"]
    sample.keypoints_given = given
    sample.keypoints = read_keypoints(given, None if sample.boxes is None else len(sample.boxes))


def read_keypoints(given: Any, count: int | None) -> np.ndarray:
    """``(N, K, 3)`` float64 ``x, y, visibility`` from keypoints given as ``(N, K, 3)`` or ``(N, K, 2)``.

    Points given without visibility are visible (2). ``count`` is the number
    of boxes, one keypoint row per box.

    Raises:
        InvalidBoxesError: Another shape, no boxes (``count`` None), another row count, a
            visibility other than 0, 1 or 2, or a labelled point with a NaN or infinite coordinate.
    """
    values = _host_values(given) if isinstance(given, torch.Tensor) else given
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidBoxesError(
            f"keypoints: expected an (N, K, 3) array of x, y, visibility, got {type(given).__name__} ({error})"
        ) from None
    if array.ndim != 3 or array.shape[2] not in (2, 3):
        raise InvalidBoxesError(
            f"keypoints: expected shape (N, K, 3) (x, y, visibility) or (N, K, 2), one row per box, got shape "
            f"{tuple(array.shape)}"
        )
    if count is None:
        raise InvalidBoxesError(
            "keypoints: expected 'boxes' with them (one box per instance, as Keypoint R-CNN takes), got "
            "keypoints without boxes; add each instance's box (the box around its labelled points will do)"
        )
    check_one_row_per_box("keypoints", array, count)
    if array.shape[2] == 2:
        array = np.concatenate([array, np.full((*array.shape[:2], 1), 2.0)], axis=2)
    visibility = array[..., 2]
    bad = ~np.isin(visibility, (0.0, 1.0, 2.0))
    if bad.any():
        instance, point = (int(v) for v in np.argwhere(bad)[0])
        raise InvalidBoxesError(
            f"keypoints[{instance}, {point}]: expected visibility 0 (not labelled), 1 (labelled, hidden) or 2 "
            f"(visible), got {visibility[instance, point]!r}; fix the annotation"
        )
    bad = (visibility > 0) & ~np.isfinite(array[..., :2]).all(axis=2)
    if bad.any():
        instance, point = (int(v) for v in np.argwhere(bad)[0])
        raise InvalidBoxesError(
            f"keypoints[{instance}, {point}]: expected finite x, y for a labelled point, got "
            f"{array[instance, point, :2].tolist()}; give it visibility 0 if it is not labelled"
        )
    return array


def keypoints_out(given: Any, keypoints: np.ndarray, height: int, width: int) -> Any:
    """Transformed ``(M, K, 3)`` keypoints in the type, dtype and column count ``given`` had.

    Points of visibility 0 come back as ``(0, 0, 0)``, COCO's encoding of a
    point not labelled. Keypoints given as ``(N, K, 2)`` (``tv_tensors.KeyPoints``
    included) have no visibility column: their points come back where the
    steps moved them, possibly outside the image (NaN for a point an
    albumentations distortion could not place).
    """
    if isinstance(given, (torch.Tensor, np.ndarray)):
        columns = int(given.shape[-1])
    else:
        columns = 3 if np.asarray(given, dtype=np.float64).shape[-1] == 3 else 2
    values = keypoints.copy()
    if columns == 3:
        values[values[..., 2] == 0] = 0.0
    else:
        values = values[..., :2]
    if isinstance(given, torch.Tensor):
        dtype = given.dtype if given.is_floating_point() else torch.float32
        tensor = torch.from_numpy(np.ascontiguousarray(values)).to(dtype=dtype, device=given.device)
        if isinstance(given, tv_tensors.KeyPoints):
            return tv_tensors.KeyPoints(tensor, canvas_size=(height, width))
        return tv_tensors.wrap(tensor, like=given)
    if isinstance(given, np.ndarray):
        return values.astype(given.dtype if given.dtype.kind == "f" else np.float32)
    return values.tolist()


def _check_mask_size(sample: Sample, size: Any, key: str) -> None:
    if tuple(int(side) for side in size) != sample.size():
        raise ValueError(f"{key}: expected the image's height x width {sample.size()}, got {tuple(size)}")


def _find_fields(sample: Sample, box_fields: Sequence[str] | None) -> None:
    if sample.boxes is None:
        return
    count = len(sample.boxes)
    reserved = {"boxes", "masks", "mask", "keypoints"}
    if box_fields is not None:
        for key in box_fields:
            if key in sample.container:  # fields are optional per sample
                check_one_row_per_box(key, sample.container[key], count, why="named in box_fields, so ")
        sample.fields = [key for key in box_fields if key in sample.container and key not in reserved]
        return
    for key, value in sample.container.items():
        if key in reserved:
            continue
        if row_count(value) != count:
            if key in PER_BOX_KEYS:
                check_one_row_per_box(key, value, count, why="a per-box field, so ")
            continue
        if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim > 1:
            raise ValueError(
                f"{key}: shape {tuple(value.shape)} has one row per box, but only 1-D fields follow the boxes "
                "automatically, and nothing moves its values; pass box_fields=[...] naming every per-box field "
                f"(with {key!r} to filter it with the boxes, without it to leave it alone)"
            )
        sample.fields.append(key)


def check_box_counts(target: Any, box_fields: Sequence[str] | None = None) -> None:
    """Raise `InvalidBoxesError` if a target's labels, per-box fields or masks have not one row per box.

    The cheap check (lengths only) for a target that is passed on without being parsed.
    """
    if not isinstance(target, Mapping) or target.get("boxes") is None:
        return
    count = row_count(target["boxes"])
    if count is None:
        return  # not an (N, 4) array: the parser names it when the sample is transformed
    keys = PER_BOX_KEYS if box_fields is None else box_fields
    for key in keys:
        if key in target and key not in ("boxes", "masks", "mask", "keypoints"):
            check_one_row_per_box(key, target[key], count, why="a per-box field, so ")
    for key in ("keypoints", "masks"):  # whatever box_fields says
        if target.get(key) is not None:
            check_one_row_per_box(key, target[key], count)


def _select(value: Any, ids: np.ndarray) -> Any:
    """Rows ``ids`` of a per-box field, of the same type."""
    if isinstance(value, torch.Tensor):
        return tv_tensors.wrap(value[torch.from_numpy(ids).to(value.device)], like=value)
    if isinstance(value, np.ndarray):
        return value[ids]
    return type(value)(value[int(index)] for index in ids)  # a list or a tuple (or a subclass of one)


def _like(original: Any, transformed: Any) -> Any:
    """``transformed`` masks given back in the type and dtype of ``original``."""
    if isinstance(original, torch.Tensor):
        tensor = (
            transformed
            if isinstance(transformed, torch.Tensor)
            else torch.from_numpy(np.ascontiguousarray(transformed))
        )
        return tv_tensors.wrap(tensor.to(dtype=original.dtype, device=original.device), like=original)
    array = transformed.cpu().numpy() if isinstance(transformed, torch.Tensor) else transformed
    return array.astype(original.dtype, copy=False)


def _squeeze_mask(mask: Any, original: Any) -> Any:
    """A semantic mask back from the ``1 x H x W`` it was transformed as, to the rank it came in."""
    return mask[0] if original.ndim == 2 else mask


def surviving_indices(previous: list[dict[str, Any]], count: int) -> list[int]:
    """The original index of each of ``count`` boxes left after the drops in ``previous``.

    Examples:
        >>> surviving_indices([{"index": 1, "reason": "size"}], 3)
        [0, 2, 3]
    """
    gone = {entry["index"] for entry in previous}
    survivors = [index for index in range(count + len(gone)) if index not in gone]
    return survivors


def compose_reports(
    previous: list[dict[str, Any]], current: list[dict[str, Any]], count: int
) -> list[dict[str, Any]]:
    """One drop report against the first input, when the sample already went through a pipeline.

    ``previous`` names boxes of the original input; the ``count`` boxes this
    pipeline saw are the original ones not in ``previous``, in order.
    """
    survivors = surviving_indices(previous, count)
    mapped = [{**entry, "index": survivors[entry["index"]]} for entry in current]
    return sorted([*previous, *mapped], key=lambda entry: entry["index"])

"""Multi-image augmentation for detection: ``Mosaic`` (four images on one canvas) and ``MixUp`` (two blended).

Both wrap any dataset that yields the detection schema ``(image, {"boxes",
"labels", ...})`` and return the same schema, so they sit between a dataset
and a [`BoxPipeline`][visiondata.transforms.BoxPipeline] (``transform=``) or a
DataLoader. Boxes are clipped and filtered by the pipeline's rules
(``min_visibility``, ``min_area``, ``min_size``), and the drop report
names each dropped box by the dataset index of its sample, the sample's
position in the mix (a dataset index may be drawn twice) and the box's
index there: ``{"sample": 12, "part": 1, "index": 3, "reason": "visibility"}``.

Oriented boxes (``tv_tensors.BoundingBoxes`` in ``XYWHR``, ``CXCYWHR`` or
``XYXYXYXY``, as ``DOTADataset`` and ``YOLODataset(task="obb")`` yield) are
placed by their corners, cut to their tile as the pipeline clips them
(torchvision's soft clamp) and come back in the first sample's format; a mix
of oriented and axis-aligned samples is an error naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors

from visiondata._arguments import check_finite_number, check_positive_int, check_probability, is_finite_number
from visiondata._sample import row_count
from visiondata.boxes._convert import convert_boxes
from visiondata.boxes._rotated import clamp_corners
from visiondata.boxes._validate import BORDER_TOLERANCE
from visiondata.exceptions import InvalidBoxesError, TransformSpecError
from visiondata.transforms._random import RandomStreams
from visiondata.transforms._sample import (
    Sample,
    check_box_counts,
    keypoints_out,
    parse,
    safe_box_dtype,
    surviving_indices,
)
from visiondata.transforms._spec import MAX_SIDE
from visiondata.transforms._torchvision_backend import resize_tensor
from visiondata.transforms._work import Work, as_tensor, warpable_masks


class _MultiImage(Dataset):
    """What Mosaic and MixUp share: drawing partner samples, concatenating per-box fields, the drop report."""

    def __init__(
        self,
        dataset: Any,
        p: float,
        transform: Callable[..., Any] | None,
        min_visibility: float,
        min_area: float,
        min_size: float,
        seed: int | None,
        box_fields: Sequence[str] | None,
    ) -> None:
        check_probability("p", p)
        for name, value in (("min_area", min_area), ("min_size", min_size)):
            check_finite_number(name, value, minimum=0, expected="a finite number >= 0 (pixels)")
        check_probability("min_visibility", min_visibility, expected="a fraction in [0, 1]")
        if len(dataset) == 0:
            raise ValueError("dataset: expected at least one sample, got an empty dataset")
        self.dataset = dataset
        self.p = float(p)
        self.transform = transform
        self.min_visibility, self.min_area, self.min_size = min_visibility, min_area, min_size
        self.box_fields = None if box_fields is None else list(box_fields)
        self._streams = RandomStreams(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        rng = self._streams.generators()[0]
        if self.p < 1.0 and rng.random() >= self.p:
            return self._finish(*self._plain(index), {})
        return self._finish(*self._mix(index, rng))

    def _plain(self, index: int) -> tuple[Any, Any, list[tuple[int, int, int]]]:
        """Sample ``index`` unchanged, with its boxes' provenance."""
        image, target = self.dataset[index]
        try:
            check_box_counts(target, self.box_fields)
        except InvalidBoxesError as error:
            raise InvalidBoxesError(f"{type(self).__name__}: dataset[{index}]: {error}") from None
        # Boxes that cannot be counted (None, a number) pass on unchecked, as check_box_counts leaves them:
        # the parser names them if a step reads them.
        count = (row_count(target.get("boxes")) if isinstance(target, dict) else None) or 0
        previous = target.get("dropped", []) if isinstance(target, dict) else []
        if previous:
            target = dict(target)
            target["dropped"] = [{"sample": index, "part": 0, **entry} for entry in previous]
        original = surviving_indices(previous, count)
        return image, target, [(index, 0, original[box]) for box in range(count)]

    def _mix(
        self, index: int, rng: np.random.Generator
    ) -> tuple[Any, Any, list[tuple[int, int, int]], dict[str, Any]]:
        """The mixed sample, its boxes' provenance, and the keys to add once the transform ran."""
        raise NotImplementedError

    def _read(self, index: int) -> Sample:
        try:
            sample = parse((self.dataset[index],), "xyxy", self.box_fields, BORDER_TOLERANCE)
        except (InvalidBoxesError, TransformSpecError) as error:
            # Name the sample: the mix reads several, and the message alone could be any of them.
            raise type(error)(f"{type(self).__name__}: dataset[{index}]: {error}") from None
        if sample.kind != "pair" or sample.target_is_mask or sample.target_is_none or sample.boxes is None:
            raise TypeError(
                f"{type(self).__name__}: dataset[{index}] is not a detection sample; expected "
                "(image, {'boxes': ..., 'labels': ...})"
            )
        return sample

    def _combine(
        self,
        indices: list[int],
        samples: list[Sample],
        image: torch.Tensor,
        placed: list[tuple[np.ndarray, np.ndarray]],
        masks: list[torch.Tensor] | None,
        mask: torch.Tensor | None,
        points: list[np.ndarray | None] | None = None,
        corners: list[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> tuple[Any, Any, list[tuple[int, int, int]]]:
        """One detection sample from the placed boxes of each source sample; filters and reports drops.

        Args:
            placed: Per sample, ``(whole boxes, visible boxes)`` on the new canvas.
            points: Per sample, its ``(N, K, 3)`` keypoints on the new canvas (or ``None`` without).
            corners: Per sample, ``(whole, visible)`` ``(N, 8)`` corners of its oriented boxes on
                the new canvas, when the samples have oriented boxes.
        """
        height, width = image.shape[-2:]
        full = np.concatenate([whole for whole, _ in placed])
        visible = np.concatenate([seen for _, seen in placed])
        # Each combined box as (position of its sample in the mix, its index in that sample's original
        # boxes: a dataset pipeline may have dropped some before).
        originals = [
            surviving_indices(sample.previous_dropped or [], len(sample.boxes)) for sample in samples
        ]
        provenance = [
            (position, originals[position][box])
            for position, sample in enumerate(samples)
            for box in range(len(sample.boxes))
        ]
        instance_masks = torch.cat([m.to(torch.float32) for m in masks]) if masks else None
        keypoints = _join_keypoints(indices, points)
        rotated = samples[0].box_format if corners is not None else None
        work = Work(
            image,
            full,
            instance_masks,
            mask,
            "clip",
            height,
            width,
            visible=visible,
            keypoints=keypoints,
            corners=None if corners is None else np.concatenate([whole for whole, _ in corners]),
            rotated=rotated,
            visible_corners=None if corners is None else np.concatenate([seen for _, seen in corners]),
        )
        work.filter(self.min_visibility, self.min_area, self.min_size)
        target = _concatenate_targets(samples, work.ids)
        first = samples[0]
        given = first.boxes_given
        dtype = (
            given.dtype if isinstance(given, torch.Tensor) and given.is_floating_point() else torch.float32
        )
        if rotated is not None:
            boxes = convert_boxes(work.visible_corners, "xyxyxyxy", rotated)
            target["boxes"] = tv_tensors.BoundingBoxes(
                torch.from_numpy(boxes).to(safe_box_dtype(dtype, boxes)),
                format=rotated.upper(),
                canvas_size=(int(height), int(width)),
            )
        else:
            dtype = safe_box_dtype(dtype, work.visible)
            target["boxes"] = tv_tensors.BoundingBoxes(
                torch.from_numpy(work.visible).to(dtype), format="XYXY", canvas_size=(int(height), int(width))
            )
        if work.keypoints is not None:
            target["keypoints"] = keypoints_out(
                first.keypoints_given, work.keypoints, int(height), int(width)
            )
        if work.masks is not None:
            target["masks"] = tv_tensors.Mask(work.masks.to(_dtype_of(first.masks)))
        if work.mask is not None:
            mask = work.mask if first.mask.ndim == 3 else work.mask[0]  # the rank it came in
            target["mask"] = tv_tensors.Mask(mask.to(_dtype_of(first.mask)))
        per_sample: list[list[dict[str, Any]]] = [[] for _ in samples]
        for entry in work.dropped:
            position, box = provenance[entry["index"]]
            per_sample[position].append({"index": box, "reason": entry["reason"]})
        dropped = []
        for part, (index, sample, own) in enumerate(zip(indices, samples, per_sample, strict=True)):
            own = sorted([*(sample.previous_dropped or []), *own], key=lambda entry: entry["index"])
            dropped.extend({"sample": index, "part": part, **entry} for entry in own)
        target["dropped"] = dropped
        kept = [(indices[part], part, box) for part, box in (provenance[int(row)] for row in work.ids)]
        return tv_tensors.Image(work.image), target, kept

    def _finish(
        self, image: Any, target: Any, provenance: list[tuple[int, int, int]], extras: dict[str, Any]
    ) -> tuple[Any, Any]:
        if self.transform is None:
            return image, ({**target, **extras} if extras else target)
        if not isinstance(target, dict):
            return self.transform(image, target)
        target = dict(target)
        earlier = target.pop("dropped", [])
        # The mix's own keys are added after the transform, which could take a list of four
        # indices for a per-box field when there are four boxes.
        image, target = self.transform(image, target)
        target = {**target, **extras}
        # The transform numbers boxes as it saw them; name them by their source sample instead.
        later = []
        for entry in target.get("dropped", []):
            sample, part, box = provenance[entry["index"]]
            later.append({"sample": sample, "part": part, "index": box, "reason": entry["reason"]})
        target["dropped"] = sorted([*earlier, *later], key=lambda entry: (entry["part"], entry["index"]))
        return image, target


def _concatenate_targets(samples: list[Sample], ids: np.ndarray) -> dict[str, Any]:
    """The first sample's target keys, with every per-box field concatenated across samples, rows ``ids``."""
    fields = samples[0].fields
    for position, sample in enumerate(samples[1:], start=1):
        if sorted(sample.fields) != sorted(fields):
            raise ValueError(
                f"per-box fields differ between the combined samples: {sorted(fields)} in the first, "
                f"{sorted(sample.fields)} in sample {position}; give every sample the same fields (or pass box_fields=)"
            )
    target = {
        key: value
        for key, value in samples[0].container.items()
        if key not in ("boxes", "masks", "mask", "keypoints")
    }
    for key in fields:
        values = [sample.container[key] for sample in samples]
        if all(isinstance(value, torch.Tensor) for value in values):
            joined = torch.cat([value.as_subclass(torch.Tensor) for value in values])
            target[key] = joined[torch.from_numpy(ids).to(joined.device)]
        elif all(isinstance(value, np.ndarray) for value in values):
            target[key] = np.concatenate(values)[ids]
        else:
            joined_list = [item for value in values for item in value]
            target[key] = [joined_list[int(row)] for row in ids]
    return target


def _oriented(indices: list[int], samples: list[Sample]) -> bool:
    """Whether the combined samples have oriented boxes (all of them), or axis-aligned ones (all of them)."""
    kinds = [sample.corners is not None for sample in samples]
    if all(kinds) or not any(kinds):
        return kinds[0]
    found = ", ".join(
        f"dataset[{index}]: {sample.box_format}" for index, sample in zip(indices, samples, strict=True)
    )
    raise ValueError(
        f"expected oriented boxes in every combined sample or in none, got {found}; combine samples of one "
        "box kind (one dataset), or convert the oriented boxes to their enclosing boxes first"
    )


def _scale_corners(
    corners: np.ndarray, x_scale: float, y_scale: float, left: float, top: float
) -> np.ndarray:
    """``(N, 8)`` corners resized by ``(x_scale, y_scale)`` and moved by ``(left, top)``."""
    return corners * np.tile([x_scale, y_scale], 4) + np.tile([left, top], 4)


def _join_keypoints(indices: list[int], points: list[np.ndarray | None] | None) -> np.ndarray | None:
    """The samples' placed keypoints as one ``(N, K, 3)`` array, or ``None`` when none has keypoints."""
    if points is None or all(value is None for value in points):
        return None
    counts = {None if value is None else value.shape[1] for value in points}
    if len(counts) > 1:
        found = ", ".join(
            f"dataset[{index}]: {'none' if value is None else value.shape[1]}"
            for index, value in zip(indices, points, strict=True)
        )
        raise ValueError(
            f"expected the same number of keypoints per instance in every combined sample, got {found}; "
            "combine samples of one keypoint layout (one dataset)"
        )
    return np.concatenate(points)


def _place_points(
    sample: Sample,
    x_scale: float,
    y_scale: float,
    left: float,
    top: float,
    region: tuple[float, float, float, float] | None = None,
) -> np.ndarray | None:
    """A sample's keypoints resized by ``(x_scale, y_scale)`` and moved by ``(left, top)`` (pixel centres).

    Points outside ``region`` (``x0, y0, x1, y1`` on the canvas, the part of
    the tile that shows) get visibility 0: another tile covers them.
    """
    if sample.keypoints is None:
        return None
    points = sample.keypoints.copy()
    points[..., 0] = (points[..., 0] + 0.5) * x_scale + left - 0.5
    points[..., 1] = (points[..., 1] + 0.5) * y_scale + top - 0.5
    if region is not None:
        x0, y0, x1, y1 = region
        x, y = points[..., 0] + 0.5, points[..., 1] + 0.5
        with np.errstate(invalid="ignore"):
            outside = ~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        points[..., 2][outside] = 0.0
    return points


def _check_channels(samples: list[Sample], indices: list[int]) -> torch.Tensor:
    images = [sample.image_chw() for sample in samples]
    channels = {int(image.shape[0]) for image in images}
    dtypes = {image.dtype for image in images}
    if len(channels) > 1 or len(dtypes) > 1:
        found = ", ".join(
            f"dataset[{i}]: {tuple(image.shape)} {image.dtype}"
            for i, image in zip(indices, images, strict=True)
        )
        raise ValueError(f"expected images with the same channels and dtype to combine, got {found}")
    return images


def _resize(tensor: torch.Tensor, size: tuple[int, int], mask: bool) -> torch.Tensor:
    # The torchvision backend's resize: it also works around torch's kernel failing on a 1 x 1 output
    # (a tile whose quadrant is one pixel wide when the centre is drawn at the canvas' border).
    if tuple(tensor.shape[-2:]) == size:
        return tensor
    return resize_tensor(tensor, size, "bilinear", mask)


class Mosaic(_MultiImage):
    """Four samples on one ``size`` x ``size`` canvas around a random centre (YOLO's mosaic).

    Sample ``index`` and three others drawn at random fill the four quadrants
    around a centre drawn from ``center_range`` (fractions of ``size``): each
    is resized, keeping its aspect ratio, just enough to cover its quadrant,
    with its inner corner at the centre, and cut to the quadrant. Boxes are cut with their image; a box is dropped by
    the rules of [`BoxPipeline`][visiondata.transforms.BoxPipeline] (``min_visibility`` against the whole
    box, ``min_area`` and ``min_size`` in pixels), and reported with the
    dataset index of its sample. With probability ``1 - p`` the sample is
    returned unmixed.

    Per-box fields (1-D, one row per box, or ``box_fields``) are concatenated;
    other target keys come from sample ``index``, and ``"mosaic_indices"``
    lists the four dataset indices. Instance masks and a semantic
    ``"mask"`` are placed like their images.

    Args:
        dataset: Any dataset of ``(image, target)`` detection samples.
        size: Side of the output canvas in pixels (at most 32768).
        p: Probability of building a mosaic.
        center_range: Range of the centre, as fractions of ``size``.
        fill: Value of canvas pixels no image covers.
        transform: Called as ``transform(image, target)`` afterwards (a
            [`BoxPipeline`][visiondata.transforms.BoxPipeline]); its drop report is renamed by source sample.
        min_visibility: Smallest visible fraction of a box to keep.
        min_area: Smallest visible box area in pixels.
        min_size: Smallest visible width and height in pixels.
        seed: Makes the draws repeat; seeded per DataLoader worker like a pipeline.
        box_fields: The per-box fields (default: found by their length).

    Examples:
        >>> import torch
        >>> from torchvision import tv_tensors
        >>> sample = (tv_tensors.Image(torch.zeros(3, 40, 80, dtype=torch.uint8)),
        ...           {"boxes": torch.tensor([[0.0, 0.0, 80.0, 40.0]]), "labels": torch.tensor([1])})
        >>> image, target = Mosaic([sample] * 4, size=64, seed=0)[0]
        >>> image.shape, len(target["boxes"]) + len(target["dropped"])
        (torch.Size([3, 64, 64]), 4)
    """

    def __init__(
        self,
        dataset: Any,
        size: int = 640,
        p: float = 1.0,
        center_range: tuple[float, float] = (0.25, 0.75),
        fill: float = 114,
        transform: Callable[..., Any] | None = None,
        min_visibility: float = 0.0,
        min_area: float = 0.0,
        min_size: float = 0.0,
        seed: int | None = None,
        box_fields: Sequence[str] | None = None,
    ) -> None:
        super().__init__(dataset, p, transform, min_visibility, min_area, min_size, seed, box_fields)
        check_positive_int(
            "size",
            size,
            maximum=MAX_SIDE,
            expected=f"a positive int at most {MAX_SIDE} (2**15, the largest image side supported)",
        )
        if not (
            isinstance(center_range, Sequence)
            and len(center_range) == 2
            and all(is_finite_number(v) for v in center_range)
            and 0 <= center_range[0] <= center_range[1] <= 1
        ):
            raise ValueError(
                f"center_range: expected (min, max) with 0 <= min <= max <= 1, got {center_range!r}"
            )
        low, high = center_range
        check_finite_number("fill", fill)
        self.size = size
        self.center_range = (float(low), float(high))
        self.fill = fill

    def _mix(
        self, index: int, rng: np.random.Generator
    ) -> tuple[Any, Any, list[tuple[int, int, int]], dict[str, Any]]:
        indices = [index, *(int(i) for i in rng.integers(0, len(self.dataset), 3))]
        samples = [self._read(i) for i in indices]
        images = _check_channels(samples, indices)
        size = self.size
        centre_x = int(rng.uniform(*self.center_range) * size)
        centre_y = int(rng.uniform(*self.center_range) * size)
        canvas = torch.full((images[0].shape[0], size, size), self.fill, dtype=images[0].dtype)
        with_masks = all(sample.masks is not None for sample in samples)
        with_mask = all(sample.mask is not None for sample in samples)
        masks: list[torch.Tensor] = []
        semantic = torch.zeros((1, size, size), dtype=torch.float32) if with_mask else None
        placed = []
        points: list[np.ndarray | None] = []
        oriented = _oriented(indices, samples)
        corners: list[tuple[np.ndarray, np.ndarray]] = []
        for quadrant, (sample, image) in enumerate(zip(samples, images, strict=True)):
            height, width = image.shape[-2:]
            # The tile covers its quadrant (cut on its outer sides), its corner at the centre.
            quadrant_width = centre_x if quadrant in (0, 2) else size - centre_x
            quadrant_height = centre_y if quadrant in (0, 1) else size - centre_y
            factor = max(quadrant_width / width, quadrant_height / height)
            new_size = (max(1, round(height * factor)), max(1, round(width * factor)))
            tile = _resize(image, new_size, mask=False)
            tile_height, tile_width = new_size
            # Where the tile goes on the canvas (x0, y0, x1, y1) and which part of it shows.
            left = centre_x - tile_width if quadrant in (0, 2) else centre_x
            top = centre_y - tile_height if quadrant in (0, 1) else centre_y
            x0, y0 = max(left, 0), max(top, 0)
            x1, y1 = (
                min(left + tile_width, centre_x if quadrant in (0, 2) else size),
                min(top + tile_height, centre_y if quadrant in (0, 1) else size),
            )
            if x1 > x0 and y1 > y0:
                canvas[:, y0:y1, x0:x1] = tile[:, y0 - top : y1 - top, x0 - left : x1 - left]
            x_scale, y_scale = new_size[1] / width, new_size[0] / height
            whole = sample.boxes * (x_scale, y_scale, x_scale, y_scale) + (left, top, left, top)
            # Each box is cut to its own tile: the other tiles cover the rest of the canvas.
            low, high = (x0, y0, x0, y0), (max(x1, x0), max(y1, y0), max(x1, x0), max(y1, y0))
            seen = np.clip(whole, low, high)
            placed.append((whole, seen))
            if oriented:
                whole_corners = _scale_corners(sample.corners, x_scale, y_scale, left, top)
                if x1 > x0 and y1 > y0:
                    seen_corners = clamp_corners(whole_corners, x0, y0, x1, y1)
                else:  # a tile with no pixel on the canvas (its centre at the border): none of its boxes is seen
                    seen_corners = np.tile(
                        np.asarray([x0, y0], dtype=whole_corners.dtype), (len(whole_corners), 4)
                    )
                corners.append((whole_corners, seen_corners))
            points.append(_place_points(sample, x_scale, y_scale, left, top, (x0, y0, x1, y1)))
            if with_masks:
                masks.append(
                    self._place(
                        warpable_masks(as_tensor(sample.masks)), new_size, left, top, (x0, y0, x1, y1)
                    )
                )
            if semantic is not None:
                mask = warpable_masks(as_tensor(sample.mask)).to(torch.float32)
                mask = mask[None] if mask.ndim == 2 else mask
                semantic[:, y0:y1, x0:x1] = self._place(mask, new_size, left, top, (x0, y0, x1, y1))[
                    :, y0:y1, x0:x1
                ]
        image, target, kept = self._combine(
            indices,
            samples,
            canvas,
            placed,
            masks if with_masks else None,
            semantic,
            points,
            corners if oriented else None,
        )
        return image, target, kept, {"mosaic_indices": indices}

    def _place(
        self,
        masks: torch.Tensor,
        new_size: tuple[int, int],
        left: int,
        top: int,
        region: tuple[int, int, int, int],
    ) -> torch.Tensor:
        """Masks resized like their tile and placed on an empty canvas, cut to the tile's quadrant."""
        out = torch.zeros((masks.shape[0], self.size, self.size), dtype=masks.dtype)
        x0, y0, x1, y1 = region
        if masks.shape[0] and x1 > x0 and y1 > y0:
            resized = _resize(masks, new_size, mask=True)
            out[:, y0:y1, x0:x1] = resized[:, y0 - top : y1 - top, x0 - left : x1 - left]
        return out


class MixUp(_MultiImage):
    """Sample ``index`` blended with another drawn at random, their boxes together (detection MixUp).

    The ratio ``lam`` is drawn from ``Beta(alpha, alpha)`` (YOLO uses
    ``alpha=32``, about 0.5); the image is ``lam * first + (1 - lam) * second``
    (rounded for integer images), the second resized to the first's size
    with its boxes. Boxes and per-box fields are concatenated, first
    sample's first; ``"mixup_ratio"`` holds ``lam`` and ``"mixup_indices"``
    both dataset indices. With probability ``1 - p`` the sample is returned
    unmixed.

    Args:
        dataset: Any dataset of ``(image, target)`` detection samples.
        alpha: Beta distribution parameter of the blending ratio (finite, > 0).
        p: Probability of mixing.
        transform: Called as ``transform(image, target)`` afterwards.
        min_visibility: Smallest visible fraction of a box to keep.
        min_area: Smallest visible box area in pixels.
        min_size: Smallest visible width and height in pixels.
        seed: Makes the draws repeat; seeded per DataLoader worker like a pipeline.
        box_fields: The per-box fields (default: found by their length).

    Examples:
        >>> import torch
        >>> from torchvision import tv_tensors
        >>> sample = (tv_tensors.Image(torch.full((3, 8, 8), 200, dtype=torch.uint8)),
        ...           {"boxes": torch.tensor([[1.0, 1.0, 4.0, 4.0]]), "labels": torch.tensor([3])})
        >>> image, target = MixUp([sample], p=1.0, seed=0)[0]
        >>> target["labels"].tolist(), int(image.max())
        ([3, 3], 200)
    """

    def __init__(
        self,
        dataset: Any,
        alpha: float = 32.0,
        p: float = 0.5,
        transform: Callable[..., Any] | None = None,
        min_visibility: float = 0.0,
        min_area: float = 0.0,
        min_size: float = 0.0,
        seed: int | None = None,
        box_fields: Sequence[str] | None = None,
    ) -> None:
        super().__init__(dataset, p, transform, min_visibility, min_area, min_size, seed, box_fields)
        # inf (or NaN) makes numpy's beta draw NaN, and a NaN ratio blends a black image.
        check_finite_number("alpha", alpha, minimum=0, inclusive=False)
        self.alpha = float(alpha)

    def _mix(
        self, index: int, rng: np.random.Generator
    ) -> tuple[Any, Any, list[tuple[int, int, int]], dict[str, Any]]:
        indices = [index, int(rng.integers(0, len(self.dataset)))]
        samples = [self._read(i) for i in indices]
        first, second = _check_channels(samples, indices)
        ratio = float(rng.beta(self.alpha, self.alpha))
        height, width = first.shape[-2:]
        other_height, other_width = second.shape[-2:]
        second = _resize(second, (int(height), int(width)), mask=False)
        blended = first.to(torch.float32) * ratio + second.to(torch.float32) * (1 - ratio)
        if not first.is_floating_point():
            blended = blended.round_()
        image = blended.to(first.dtype)
        scale = (width / other_width, height / other_height, width / other_width, height / other_height)
        boxes = [samples[0].boxes, samples[1].boxes * scale]
        placed = [(box, box) for box in boxes]
        masks = None
        if all(sample.masks is not None for sample in samples):
            masks = [
                warpable_masks(as_tensor(samples[0].masks)),
                _resize(warpable_masks(as_tensor(samples[1].masks)), (int(height), int(width)), mask=True),
            ]
        points = [
            _place_points(samples[0], 1.0, 1.0, 0.0, 0.0),
            _place_points(samples[1], scale[0], scale[1], 0.0, 0.0),
        ]
        corners = None
        if _oriented(indices, samples):
            second_corners = _scale_corners(samples[1].corners, scale[0], scale[1], 0.0, 0.0)
            corners = [(samples[0].corners, samples[0].corners), (second_corners, second_corners)]
        image, target, kept = self._combine(indices, samples, image, placed, masks, None, points, corners)
        return image, target, kept, {"mixup_ratio": ratio, "mixup_indices": indices}


def _dtype_of(original: Any) -> torch.dtype:
    if isinstance(original, torch.Tensor):
        return original.dtype
    return torch.from_numpy(np.zeros(0, dtype=original.dtype)).dtype

"""``shapes``: a synthetic detection dataset drawn on the fly, with boxes exact to the pixel.

Every sample is generated in ``__getitem__`` from ``(seed, split, index)`` alone: no files, no
download, the same image and boxes every time, in any process. Each image holds 1 to
``max_shapes`` filled shapes (circle, square, triangle, star, cross, ring, hexagon) of random colour,
size, rotation and position, partly overlapping, on a smooth random background with noise.

How a sample is drawn:

1. Background: a base colour plus two octaves of random colour offsets (a 3x3 and an 8x8 grid),
   bilinearly upsampled to the image size: smooth gradients and soft blobs.
2. Shapes, one after the other: a class, a radius, a rotation and a centre keeping the shape inside
   the image. Its pixel mask (a pixel belongs to the shape when its centre lies inside) is painted
   into an *owner map* (which shape each pixel shows). A placement that would leave an earlier shape
   with less than ``MIN_VISIBLE`` of its pixels is drawn again (up to ``PLACEMENT_TRIES`` times, else
   the shape is left out), so every shape stays recognisable.
3. Colour: the best-contrasting of ``COLOUR_CANDIDATES`` random colours against the background under
   the shape and the shapes it overlaps, with a faint linear shading across the shape.
4. Gaussian noise over the whole image, then rounding to ``uint8``.

Boxes come from the owner map, not from the geometry: each box is the tight box of the pixels its
shape shows in the final image, ``[x_min, y_min, x_max + 1, y_max + 1]`` (pixel edges, XYXY), so a
shape partly hidden by a later one gets the box of what is left of it. No antialiasing: a pixel
belongs to one shape or to the background, so the box is exact.

Splits draw from separate random streams (``numpy.random.SeedSequence`` of ``(split, index, seed)``),
so train, val and test share no image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch.utils.data import Dataset
from torchvision import tv_tensors

from visiondata._arguments import check_positive_int, check_seed, check_size, refuse
from visiondata.datasets._base import BACKGROUND
from visiondata.datasets._info import normalize_split

__all__ = ["SHAPE_NAMES", "SPLIT_COUNTS", "ShapesDataset", "shapes"]

#: Every shape the dataset draws, in label order (label 1 is the first; 0 is the background).
SHAPE_NAMES = ("circle", "square", "triangle", "star", "cross", "ring", "hexagon")
#: Images per split when ``count`` is not given.
SPLIT_COUNTS = {"train": 4000, "val": 500, "test": 500}
#: Each split's random stream: part of every sample's seed, so no two splits share an image.
_SPLIT_STREAMS = {"train": 0, "val": 1, "test": 2}
#: The shape's radius (of its circumscribed circle) as fractions of the image's shorter side.
RADIUS_RANGE = (0.06, 0.2)
#: The smallest radius in pixels, so that a triangle in a small image still has its corners.
MIN_RADIUS = 4.0
#: The smallest side ``size`` accepts: room for a shape of the largest radius.
MIN_SIDE = 24
#: The fraction of its pixels every shape keeps visible after the later shapes are drawn.
MIN_VISIBLE = 0.6
#: Placements tried per shape before it is left out of the image.
PLACEMENT_TRIES = 8
#: Random colours drawn per shape; the one that contrasts most with what lies under it is kept.
COLOUR_CANDIDATES = 8
#: Inner radius of a ring, as a fraction of its outer radius.
RING_HOLE = 0.55
#: Inner radius of a star's notches, and half-width of a cross's arms, as fractions of the radius.
STAR_NOTCH, CROSS_ARM = 0.45, 0.32
#: Grid sizes of the background's two octaves of colour offsets, and their amplitudes (0-255 scale).
_BACKGROUND_OCTAVES = ((3, 60.0), (8, 18.0))


#: 65536 standard normal values at evenly spaced quantiles: indexed by uniform 16-bit draws, they give
#: Gaussian noise (quantised to 1/65536 of probability, far below a grey level).
_NORMAL_TABLE = (
    torch.special.ndtri((torch.arange(1 << 16, dtype=torch.float64) + 0.5) / (1 << 16)).float().numpy()
)


def _regular(corners: int, notch: float | None = None) -> np.ndarray:
    """A regular polygon (or a star with ``notch``) on the unit circle, ``(K, 2)``, first corner up."""
    points = 2 * corners if notch else corners
    angles = -math.pi / 2 + 2 * math.pi * np.arange(points) / points
    radii = np.where(np.arange(points) % 2, notch, 1.0) if notch else np.ones(points)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _cross(arm: float) -> np.ndarray:
    """A plus sign of half-width ``arm`` whose arm ends touch the unit circle, ``(12, 2)``."""
    quarter = np.array([[arm, 1.0], [arm, arm], [1.0, arm]])
    # Each next quarter is the previous one turned by a right angle, (x, y) -> (y, -x), so the outline runs on.
    turns = [quarter]
    for _ in range(3):
        turns.append(turns[-1][:, ::-1] * (1.0, -1.0))
    # The corners (arm, 1) lie sqrt(1 + arm^2) from the centre: shrink onto the unit circle.
    return np.concatenate(turns) / math.hypot(1.0, arm)


#: Outlines of the polygon shapes on the unit circle; circle and ring are drawn from their equations.
_OUTLINES = {
    "square": _regular(4),
    "triangle": _regular(3),
    "star": _regular(5, STAR_NOTCH),
    "cross": _cross(CROSS_ARM),
    "hexagon": _regular(6),
}


def _shape_mask(
    name: str, cx: float, cy: float, radius: float, angle: float, window: tuple[int, int, int, int]
) -> np.ndarray:
    """The shape's pixels in ``window`` ``(y0, y1, x0, x1)``: true where a pixel's centre lies inside."""
    y0, y1, x0, x1 = window
    if name in ("circle", "ring"):
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
        squared = xs * xs + ys * ys
        inside = squared <= radius * radius
        return inside & (squared >= (RING_HOLE * radius) ** 2) if name == "ring" else inside
    cos, sin = math.cos(angle), math.sin(angle)
    outline = _OUTLINES[name] @ np.array([[cos, sin], [-sin, cos]]) * radius
    # PIL puts pixel (i, j)'s centre at (i, j), this module at (i + 0.5, j + 0.5).
    outline += (cx - x0 - 0.5, cy - y0 - 0.5)
    canvas = Image.new("1", (x1 - x0, y1 - y0))
    ImageDraw.Draw(canvas).polygon([tuple(point) for point in outline.tolist()], fill=1)
    return np.asarray(canvas)


class _Interpolation:
    """Bilinear upsampling of ``g x g`` grids to ``height x width``, as two cached weight matrices."""

    def __init__(self, height: int, width: int) -> None:
        self.rows = {grid: self._weights(height, grid) for grid, _ in _BACKGROUND_OCTAVES}
        self.columns = {grid: self._weights(width, grid).T.copy() for grid, _ in _BACKGROUND_OCTAVES}

    @staticmethod
    def _weights(length: int, grid: int) -> np.ndarray:
        position = np.linspace(0.0, grid - 1, length)
        low = np.minimum(position.astype(np.int64), grid - 2)
        fraction = (position - low).astype(np.float32)
        weights = np.zeros((length, grid), dtype=np.float32)
        weights[np.arange(length), low] = 1 - fraction
        weights[np.arange(length), low + 1] = fraction
        return weights

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """``(g, g, 3)`` values -> ``(height, width, 3)``."""
        grid = values.shape[0]
        along_rows = (self.rows[grid] @ values.reshape(grid, -1)).reshape(-1, grid, 3)  # (H, g, 3)
        return np.matmul(along_rows.transpose(0, 2, 1), self.columns[grid]).transpose(0, 2, 1)


def draw_shapes(
    rng: np.random.Generator,
    height: int,
    width: int,
    shape_labels: Sequence[int],
    max_shapes: int,
    interpolation: _Interpolation | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw one image; the boxes come from the pixels each shape shows in it.

    Args:
        rng: The sample's generator (everything random is drawn from it, in a fixed order).
        height: Image height.
        width: Image width.
        shape_labels: Indexes into `SHAPE_NAMES` to choose from, uniformly.
        max_shapes: The most shapes drawn (at least one is).
        interpolation: The cached background upsampler for this size.

    Returns:
        ``(image, boxes, picks, owner)``: ``uint8`` ``(H, W, 3)``; ``float32`` ``(N, 4)`` XYXY pixel
        edges; ``int64`` ``(N,)`` positions in ``shape_labels``; ``int16`` ``(H, W)`` the index of the
        shape each pixel shows (``-1``: background), so ``owner == i`` is shape ``i``'s visible mask.
    """
    interpolation = interpolation or _Interpolation(height, width)
    # The base colour rides on the coarse grid: bilinear weights sum to 1, so it reaches every pixel whole.
    base = rng.uniform(40.0, 215.0, size=3).astype(np.float32)
    (coarse, coarse_amplitude), *finer = _BACKGROUND_OCTAVES
    offsets = rng.uniform(-coarse_amplitude, coarse_amplitude, size=(coarse, coarse, 3)).astype(np.float32)
    background = interpolation(offsets + base)
    for grid, amplitude in finer:
        background += interpolation(
            rng.uniform(-amplitude, amplitude, size=(grid, grid, 3)).astype(np.float32)
        )

    owner = np.full((height, width), -1, dtype=np.int16)
    short = min(height, width)
    low, high = max(MIN_RADIUS, RADIUS_RANGE[0] * short), max(MIN_RADIUS, RADIUS_RANGE[1] * short)
    # Per placed shape: its window (y0, y1, x0, x1), centre and shading slope, for the paint step.
    placed: list[tuple[int, int, int, int, float, float, float, float]] = []
    areas: list[int] = []
    visible: list[int] = []
    colours: list[np.ndarray] = []
    picks: list[int] = []
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        pick = int(rng.integers(len(shape_labels)))
        name = SHAPE_NAMES[shape_labels[pick]]
        for _ in range(PLACEMENT_TRIES):
            radius = float(rng.uniform(low, high))
            angle = float(rng.uniform(0.0, 2 * math.pi))
            cx = float(rng.uniform(radius, width - radius))
            cy = float(rng.uniform(radius, height - radius))
            window = (
                max(int(cy - radius), 0),
                min(math.ceil(cy + radius) + 1, height),
                max(int(cx - radius), 0),
                min(math.ceil(cx + radius) + 1, width),
            )
            mask = _shape_mask(name, cx, cy, radius, angle, window)
            region = owner[window[0] : window[1], window[2] : window[3]]
            # Pixels each earlier shape would lose under this one.
            lost = np.bincount(region[mask].astype(np.int64) + 1, minlength=len(areas) + 1)[1:]
            if mask.any() and all(
                v - d >= MIN_VISIBLE * a for v, d, a in zip(visible, lost, areas, strict=True)
            ):
                break
        else:
            continue  # no placement keeps the others visible: the image holds one shape less
        # The colour that stands out most from the background under the shape and the shapes it covers.
        candidates = rng.uniform(0.0, 255.0, size=(COLOUR_CANDIDATES, 3)).astype(np.float32)
        under = [background[window[0] : window[1], window[2] : window[3]][mask].mean(axis=0)]
        under += [colours[j] for j in np.flatnonzero(lost)]
        distance = np.linalg.norm(candidates[:, None, :] - np.stack(under)[None], axis=2).min(axis=1)
        colours.append(candidates[int(distance.argmax())])
        shading = rng.uniform(-25.0, 25.0, size=2) / radius
        index = len(areas)
        region[mask] = index
        visible = [v - int(d) for v, d in zip(visible, lost, strict=True)]
        areas.append(int(mask.sum()))
        visible.append(areas[-1])
        placed.append((*window, cx, cy, float(shading[0]), float(shading[1])))
        picks.append(pick)

    image = background
    boxes = np.zeros((len(picks), 4), dtype=np.float32)
    for index, (y0, y1, x0, x1, cx, cy, slope_x, slope_y) in enumerate(placed):
        own = owner[y0:y1, x0:x1] == index
        rows, columns = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
        boxes[index] = (x0 + columns[0], y0 + rows[0], x0 + columns[-1] + 1, y0 + rows[-1] + 1)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
        shade = (xs * slope_x + ys * slope_y)[own]
        image[y0:y1, x0:x1][own] = colours[index] + shade[:, None]
    # Gaussian noise looked up from a table by random 16-bit indices: 5 times cheaper than standard_normal.
    image += _NORMAL_TABLE.take(
        rng.integers(0, 1 << 16, size=(height, width, 3), dtype=np.uint16)
    ) * np.float32(rng.uniform(3.0, 12.0))
    pixels = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    return pixels, boxes, np.asarray(picks, dtype=np.int64), owner


class ShapesDataset(Dataset):
    """Synthetic detection images of coloured shapes, generated from the index, with exact boxes.

    A sample is a function of ``(seed, split, index)`` only: the same call gives the same image and
    boxes in any process, and train, val and test share no image (each split has its own random
    stream). Each image shows 1 to ``max_shapes`` filled shapes in random colours, sizes (radius
    6% to 20% of the shorter side), rotations and positions on a smooth, noisy random background.
    Shapes may overlap, but every shape keeps at least 60% of its pixels visible; its box is the
    tight box of the pixels it shows in the final image, ``[x_min, y_min, x_max + 1, y_max + 1]``
    in pixel edges. See the module ``visiondata.datasets._shapes`` for how a sample is drawn.

    Samples follow the detection schema of every visiondata reader: ``(tv_tensors.Image uint8
    3xHxW, {"boxes": tv_tensors.BoundingBoxes XYXY float32, "labels": int64 (N,), "image_id":
    int})``, plus ``"masks"`` (``tv_tensors.Mask`` uint8 ``(N, H, W)``, each shape's visible pixels)
    with ``masks=True``. ``transform`` is called as ``transform(image, target)`` (a
    [`BoxPipeline`][visiondata.transforms.BoxPipeline] fits), then ``target_transform(target)``.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (``"valid"``, ``"validation"`` mean ``"val"``).
        size: ``(height, width)`` of every image, or one int for a square; each side at least 24.
        count: Images in the split; default 4000 for train, 500 for val and test.
        seed: Chooses the whole dataset: another seed, other images.
        transform: Called as ``transform(image, target)``; returns both.
        target_transform: Called on the target after ``transform``.
        classes: Shape names to draw (a subset of `SHAPE_NAMES`, in the label order wanted);
            default all seven. Label ``i`` is ``self.classes[i]``, 0 being ``"__background__"``.
        max_shapes: The most shapes in an image (at least one is drawn; a shape that finds no
            place leaving the others visible is left out).
        masks: Add each shape's visible mask to the target as ``"masks"``.

    Raises:
        UnknownSplitError: ``split`` is none of train, val, test.
        ValueError: A bad ``size``, ``count``, ``seed``, ``max_shapes`` or ``classes``; the message
            says what is expected.

    Examples:
        >>> from visiondata.datasets._shapes import ShapesDataset
        >>> dataset = ShapesDataset("val", size=(96, 128), count=10)
        >>> dataset
        ShapesDataset(split='val', 10 images, size=(96, 128), 7 classes, seed=0)
        >>> image, target = dataset[3]
        >>> image.shape, image.dtype
        (torch.Size([3, 96, 128]), torch.uint8)
        >>> target["boxes"].format.name, target["boxes"].canvas_size
        ('XYXY', (96, 128))
        >>> bool((target["labels"] >= 1).all()), len(target["labels"]) == len(target["boxes"])
        (True, True)
        >>> bool(torch.equal(dataset[3][0], image))  # drawn again, the same
        True
    """

    task = "detection"

    def __init__(
        self,
        split: str = "train",
        size: int | tuple[int, int] = (160, 160),
        count: int | None = None,
        seed: int = 0,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        classes: Sequence[str] | None = None,
        max_shapes: int = 6,
        masks: bool = False,
    ) -> None:
        self.split = normalize_split(split, tuple(SPLIT_COUNTS), "shapes")
        self.size = check_size("size", size, maximum=8192)
        if min(self.size) < MIN_SIDE:
            refuse(
                "size", f"sides of at least {MIN_SIDE} pixels", size, fix="draw larger images and resize them"
            )
        self.count = SPLIT_COUNTS[self.split] if count is None else check_positive_int("count", count)
        if self.count >= 2**32:
            refuse("count", "fewer than 2**32 images", count)
        seed_value = check_seed("seed", seed)
        if seed_value is None:
            refuse("seed", "an int >= 0 (the dataset must be the same every time)", seed)
        self.seed = seed_value
        names = SHAPE_NAMES if classes is None else classes
        if (
            isinstance(names, str)
            or not isinstance(names, Sequence)
            or not names
            or any(name not in SHAPE_NAMES for name in names)
            or len(set(names)) != len(names)
        ):
            refuse("classes", f"distinct names among {', '.join(SHAPE_NAMES)}", classes)
        self.classes = [BACKGROUND, *names]
        self._shape_labels = tuple(SHAPE_NAMES.index(name) for name in names)
        self.max_shapes = check_positive_int("max_shapes", max_shapes)
        if not isinstance(masks, bool):
            refuse("masks", "True or False", masks)
        self.masks = masks
        self.transform = transform
        self.target_transform = target_transform
        self._interpolation = _Interpolation(*self.size)

    def __len__(self) -> int:
        return self.count

    def _generator(self, index: int) -> np.random.Generator:
        # The seed goes last: a seed above 2**32 takes several words, and the fixed-width fields before
        # it keep any two (split, index, seed) apart.
        return np.random.default_rng(np.random.SeedSequence([_SPLIT_STREAMS[self.split], index, self.seed]))

    def draw(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sample ``index`` as arrays, before any transform: ``(image, boxes, labels, owner)``.

        ``image`` is ``uint8`` ``(H, W, 3)``, ``boxes`` ``float32`` ``(N, 4)`` XYXY, ``labels``
        ``int64`` ``(N,)`` (indexes of ``classes``), ``owner`` ``int16`` ``(H, W)``: which shape
        each pixel shows (``-1`` for the background), so ``owner == i`` is box ``i``'s mask.

        Examples:
            >>> from visiondata.datasets._shapes import ShapesDataset
            >>> image, boxes, labels, owner = ShapesDataset(size=64, count=2).draw(0)
            >>> ys, xs = (owner == 0).nonzero()
            >>> boxes[0].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            True
        """
        index = self._check_index(index)
        height, width = self.size
        image, boxes, picks, owner = draw_shapes(
            self._generator(index), height, width, self._shape_labels, self.max_shapes, self._interpolation
        )
        return image, boxes, picks + 1, owner

    def _check_index(self, index: int) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int, got {index!r}")
        position = int(index) + self.count if index < 0 else int(index)
        if not 0 <= position < self.count:
            raise IndexError(f"index: expected -{self.count} to {self.count - 1}, got {index}")
        return position

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        position = self._check_index(index)
        image_array, boxes, labels, owner = self.draw(position)
        height, width = self.size
        # numpy's transposing copy: torch's permute().contiguous() spins up threads for 100 KB.
        image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(image_array.transpose(2, 0, 1))))
        target: dict[str, Any] = {
            "boxes": tv_tensors.BoundingBoxes(
                torch.from_numpy(boxes), format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=(height, width)
            ),
            "labels": torch.from_numpy(labels),
            "image_id": position,
        }
        if self.masks:
            shapes = np.arange(len(labels), dtype=np.int16)[:, None, None]
            target["masks"] = tv_tensors.Mask(torch.from_numpy((owner[None] == shapes).astype(np.uint8)))
        if self.transform is not None:
            image, target = self.transform(image, target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(split={self.split!r}, {self.count} images, size={self.size}, "
            f"{len(self.classes) - 1} classes, seed={self.seed})"
        )


def shapes(
    root: str | None = None,
    split: str = "train",
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
    size: int | tuple[int, int] = (160, 160),
    count: int | None = None,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    max_shapes: int = 6,
    masks: bool = False,
) -> ShapesDataset:
    """The catalog's ``shapes``: a [`ShapesDataset`][visiondata.datasets.ShapesDataset] (``root`` is unused).

    Nothing is read or downloaded: every image is drawn from its index. The other arguments are
    `ShapesDataset`'s.

    Examples:
        >>> from visiondata.datasets._shapes import shapes
        >>> len(shapes(split="test")), shapes(split="test", count=3).classes[:3]
        (500, ['__background__', 'circle', 'square'])
    """
    del root  # accepted so that get_dataset and `visiondata export` can pass it
    return ShapesDataset(
        split,
        size=size,
        count=count,
        seed=seed,
        transform=transform,
        target_transform=target_transform,
        classes=classes,
        max_shapes=max_shapes,
        masks=masks,
    )

"""The report's plots: matplotlib figures of `SplitStatistics`, as inline SVG.

Figures are drawn on ``matplotlib.figure.Figure`` objects, never through
``pyplot``: nothing is registered in pyplot's global list of open figures, no
GUI backend is chosen, and each figure is freed once its SVG is written. Text
stays text (``svg.fonttype = "none"``), dense areas (the heatmaps) are
embedded PNG data, so each SVG stays small and self-contained.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from visiondata.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from visiondata.report._stats import SplitStatistics

#: Colours of the splits, in order (matplotlib's tab10).
SPLIT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
#: Most classes drawn in a per-class bar chart: beyond, the largest and smallest half each.
MAX_CLASSES_DRAWN = 100
_WIDTH = 7.5  # inches


@dataclass(frozen=True)
class Figure:
    """One plot of the report.

    Attributes:
        key: A stable id (``"boxes_per_class"``): the HTML anchor and the JSON key.
        title: The plot's heading.
        caption: One sentence of what it shows, with the numbers a reader needs.
        svg: A complete ``<svg ...>...</svg>`` element (no XML declaration, no external reference).
    """

    key: str
    title: str
    caption: str
    svg: str


def render_figures(statistics: Sequence[SplitStatistics]) -> list[Figure]:
    """Every plot of the report for the splits' statistics, splits side by side or overlaid in each.

    Detection: images and boxes per class, boxes per image, box width and height (pixels and
    relative to the image), aspect ratio, a box-centre heatmap per split, image sizes, brightness
    and contrast. Classification: images per class, image sizes, brightness and contrast.
    Segmentation: masks per class (masks holding each class), the share of pixels per class
    (void pixels apart, pixel imbalance stated), image sizes, brightness and contrast. A plot without
    data in any split is left out.

    Args:
        statistics: One `SplitStatistics` per split (from `collect_statistics`).

    Returns:
        The figures, in the report's order.

    Raises:
        MissingDependencyError: matplotlib is not installed (the ``report`` extra).

    Examples:
        >>> from visiondata.report._stats import SplitStatistics
        >>> split = SplitStatistics("train", "classification", "data/", 3, ["cat", "dog"], [2, 1], imbalance=2.0)
        >>> [figure.key for figure in render_figures([split])]
        ['images_per_class']
        >>> render_figures([split])[0].caption
        'Images of each of the 2 classes; train: 3 images, imbalance 2:1 (most: cat 2, fewest: dog 1).'
    """
    _matplotlib()
    splits = list(statistics)
    detection = [split for split in splits if split.kind == "detection"]
    figures: list[Figure | None] = []
    if detection:
        figures.append(_per_class(detection, "boxes"))
    figures.append(_per_class([split for split in splits if split.images_per_class], "images"))
    figures.append(_pixels_per_class([split for split in splits if split.pixels_per_class]))
    if detection:
        figures += [
            _boxes_per_image(detection),
            _box_sizes(detection, "px"),
            _box_sizes(detection, "rel"),
            _aspect(detection),
        ]
        figures += [_heatmap(split) for split in detection]
    figures += [_image_sizes(splits), _pixels(splits)]
    return [figure for figure in figures if figure is not None]


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise MissingDependencyError(
            "render_figures needs matplotlib, which comes with the report extra: install it (pip install "
            f"'visiondata[report]', or pip install '.[report]' in a visiondata checkout) ({error})"
        ) from error
    return matplotlib


# --- drawing and SVG ---------------------------------------------------------------------------------


def _new_figure(height: float, columns: int = 1) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure as MatplotlibFigure

    figure = MatplotlibFigure(figsize=(_WIDTH, height), layout="constrained")
    axes = figure.subplots(1, columns, squeeze=False)[0].tolist()
    return figure, axes


def _svg(figure: Any) -> str:
    """The figure as one ``<svg>`` element: no XML declaration, no DOCTYPE (its DTD is a URL), no date."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "visiondata", "font.size": 9}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, dpi=100)
    figure.clear()  # free the artists now; nothing else holds the figure
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:].strip()
    # Metadata blocks name matplotlib's site in an RDF namespace; a page needs none of it.
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)


def _colour(position: int) -> str:
    return SPLIT_COLOURS[position % len(SPLIT_COLOURS)]


def _number(value: float) -> str:
    """``12,345`` for whole numbers, three significant digits otherwise."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}"


def _plural(count: int, word: str) -> str:
    """``"1 box"``, ``"3 boxes"``, ``"2 classes"``, ``"5 images"``."""
    if count == 1:
        return f"{count:,} {word}"
    return f"{count:,} {word}{'es' if word.endswith(('s', 'x')) else 's'}"


def _legend(axis: Any, splits: Sequence[Any]) -> None:
    if len(splits) > 1:
        axis.legend(frameon=False)


def _has_counts(histogram: dict[str, list]) -> bool:
    return bool(histogram.get("counts")) and sum(histogram["counts"]) > 0


def _stairs(axis: Any, histogram: dict[str, list], colour: str, label: str, alone: bool) -> None:
    counts = np.asarray(histogram["counts"], dtype=np.float64)
    edges = np.asarray(histogram["edges"], dtype=np.float64)
    axis.stairs(
        counts, edges, color=colour, label=label, fill=alone, alpha=0.6 if alone else 1.0, linewidth=1.5
    )


def _median(histogram: dict[str, list]) -> float | None:
    """The median of a histogram's values, interpolated within its bin."""
    counts = np.asarray(histogram.get("counts", []), dtype=np.float64)
    if not len(counts) or counts.sum() == 0:
        return None
    edges = np.asarray(histogram["edges"], dtype=np.float64)
    cumulative = np.cumsum(counts)
    half = cumulative[-1] / 2
    position = int(np.searchsorted(cumulative, half))
    before = cumulative[position - 1] if position else 0.0
    share = (half - before) / counts[position] if counts[position] else 0.0
    return float(edges[position] + share * (edges[position + 1] - edges[position]))


# --- the figures -----------------------------------------------------------------------------------------


def _per_class(splits: Sequence[SplitStatistics], what: str) -> Figure | None:
    """Grouped horizontal bars: one row per class, one bar per split."""

    def counts_of(split: SplitStatistics) -> list[int]:
        return list(split.boxes_per_class or []) if what == "boxes" else list(split.images_per_class)

    splits = [split for split in splits if counts_of(split)]
    if not splits:
        return None
    masks = what == "images" and all(split.kind == "segmentation" for split in splits)
    classes, table = _class_table(splits, counts_of)
    figure, axis, note = _class_bars(splits, classes, table.astype(np.float64))
    axis.set_xlabel("masks holding the class" if masks else what)
    parts = []
    for split in splits:
        values = np.asarray(counts_of(split)[: len(split.classes)], dtype=np.int64)
        total = split.boxes if what == "boxes" else split.images
        names = split.classes
        # The ratio of this plot's counts (boxes or images), not necessarily the split's `imbalance`.
        empty = [name for name, value in zip(names, values.tolist(), strict=False) if value == 0]
        if len(values) and not empty:
            most, fewest = int(np.argmax(values)), int(np.argmin(values))
            ratio = f"imbalance {values[most] / values[fewest]:.3g}:1"
            extremes = f" (most: {names[most]} {_number(values[most])}, fewest: {names[fewest]} {_number(values[fewest])})"
        elif empty:
            listed = ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
            ratio = (
                f"imbalance undefined: {_plural(len(empty), 'class')} without "
                f"{'masks' if masks else what} ({listed})"
            )
            extremes = ""
        else:
            ratio, extremes = "no classes", ""
        unit = "box" if what == "boxes" else "mask" if masks else "image"
        parts.append(f"{split.split}: {_plural(total, unit)}, {ratio}{extremes}")
    figure_svg = _svg(figure)
    noun = "Boxes" if what == "boxes" else "Masks" if masks else "Images"
    lead = (
        f"Masks in which each of the {len(classes)} classes appears"
        if masks
        else f"{noun} of each of the {len(classes)} classes"
    )
    caption = f"{lead}{note}; " + "; ".join(parts) + "."
    return Figure(f"{what}_per_class", f"{noun} per class", caption, figure_svg)


def _class_table(
    splits: Sequence[SplitStatistics], counts_of: Callable[[SplitStatistics], Sequence[int]]
) -> tuple[list[str], np.ndarray]:
    """The union of the splits' classes, by name (splits read from different files may list others),
    and a ``(splits, classes)`` table of their counts."""
    classes = list(dict.fromkeys(name for split in splits for name in split.classes))
    column = {name: position for position, name in enumerate(classes)}
    table = np.zeros((len(splits), len(classes)), dtype=np.int64)
    for row, split in enumerate(splits):
        for name, value in zip(split.classes, counts_of(split), strict=False):
            table[row, column[name]] = value
    return classes, table


def _class_bars(
    splits: Sequence[SplitStatistics], classes: list[str], table: np.ndarray, log: bool = False
) -> tuple[Any, Any, str]:
    """Grouped horizontal bars, one row per class and one bar per split; the figure, its axis and a
    note of the classes left out (beyond `MAX_CLASSES_DRAWN`: the largest and the smallest half)."""
    shown = np.arange(len(classes))
    note = ""
    if len(classes) > MAX_CLASSES_DRAWN:
        order = np.argsort(-table.sum(axis=0), kind="stable")
        half = MAX_CLASSES_DRAWN // 2
        shown = np.concatenate([order[:half], order[-half:]])
        note = f" ({half} largest and {half} smallest classes drawn)"
    height = min(2.0 + 0.22 * len(shown) * max(1, len(splits) * 0.6), 16.0)
    figure, (axis,) = _new_figure(height)
    thickness = 0.8 / len(splits)
    rows = np.arange(len(shown))
    for position, split in enumerate(splits):
        values = table[position, shown]
        if log:
            # A log axis has no zero: empty classes get no bar (their names stay on the axis).
            values = np.where(values > 0, values, np.nan)
        axis.barh(
            rows + (position - (len(splits) - 1) / 2) * thickness,
            values,
            height=thickness,
            color=_colour(position),
            label=split.split,
            log=log,
        )
    axis.set_yticks(rows, [classes[i] for i in shown.tolist()])
    axis.invert_yaxis()
    axis.grid(axis="x", alpha=0.3)
    _legend(axis, splits)
    return figure, axis, note


def _percent(fraction: float) -> str:
    """``"92.3%"``, ``"2.77%"``, ``"0.003%"``; ``"<0.001%"`` below."""
    value = 100.0 * fraction
    if value >= 10:
        return f"{value:.1f}%"
    return f"{value:.3g}%" if value >= 0.001 else "<0.001%"


#: Pixel shares spanning more than this ratio (largest over smallest non-zero) are drawn on a log axis.
LOG_SHARE_RATIO = 100.0


def _pixels_per_class(splits: Sequence[SplitStatistics]) -> Figure | None:
    """Share of the labelled (non-void) pixels of each class, splits side by side; pixel imbalance stated."""
    splits = [split for split in splits if split.pixels_per_class and sum(split.pixels_per_class) > 0]
    if not splits:
        return None
    classes, table = _class_table(splits, lambda split: split.pixels_per_class or [])
    shares = 100.0 * table / table.sum(axis=1, keepdims=True)
    nonzero = shares[shares > 0]
    log = bool(len(nonzero)) and float(nonzero.max() / nonzero.min()) > LOG_SHARE_RATIO
    figure, axis, note = _class_bars(splits, classes, shares, log=log)
    axis.set_xlabel("share of the labelled pixels (%" + (", log scale)" if log else ")"))
    parts = []
    for split in splits:
        names = split.classes
        values = np.asarray((split.pixels_per_class or [])[: len(names)], dtype=np.int64)
        labelled = int(values.sum())
        void = f"id {split.ignore_index}" if split.ignore_index is not None else "no void id"
        text = (
            f"{split.split}: {labelled:,} labelled pixels and {split.ignored_pixels:,} void pixels ({void})"
        )
        filled = np.flatnonzero(values)
        most = int(filled[np.argmax(values[filled])])
        fewest = int(filled[np.argmin(values[filled])])
        ratio = values[most] / values[fewest]
        text += (
            f", imbalance {f'{ratio:,.0f}' if ratio >= 100 else f'{ratio:.3g}'}:1 (most: {names[most]} "
            f"{_percent(values[most] / labelled)}, fewest: {names[fewest]} {_percent(values[fewest] / labelled)})"
        )
        empty = [name for name, value in zip(names, values.tolist(), strict=False) if value == 0]
        if split.empty_classes or empty:
            listed = list(split.empty_classes) or empty
            text += f", without pixels: {', '.join(listed[:5])}{' ...' if len(listed) > 5 else ''}"
        parts.append(text)
    caption = (
        f"Share of the labelled pixels (void pixels counted apart) of each of the {len(classes)} "
        f"classes{note}{', log scale' if log else ''}; the imbalance is the largest over the smallest "
        "non-zero pixel count; " + "; ".join(parts) + "."
    )
    return Figure("pixels_per_class", "Pixels per class", caption, _svg(figure))


def _boxes_per_image(splits: Sequence[SplitStatistics]) -> Figure | None:
    splits = [split for split in splits if _has_counts(split.boxes_per_image)]
    if not splits:
        return None
    figure, (axis,) = _new_figure(3.2)
    parts = []
    for position, split in enumerate(splits):
        histogram = split.boxes_per_image
        _stairs(axis, histogram, _colour(position), split.split, len(splits) == 1)
        counts = np.asarray(histogram["counts"])
        edges = np.asarray(histogram["edges"])
        filled = np.flatnonzero(counts)
        top = int(edges[filled[-1] + 1] - 1) if len(filled) else 0
        mean = split.boxes / split.images if split.images else 0.0
        parts.append(
            f"{split.split}: mean {mean:.1f} boxes per image, at most {top}, "
            f"{_plural(split.images_without_boxes, 'image')} without boxes"
        )
    axis.set_xlabel("boxes per image")
    axis.set_ylabel("images")
    _legend(axis, splits)
    caption = "Images by their number of boxes; " + "; ".join(parts) + "."
    return Figure("boxes_per_image", "Boxes per image", caption, _svg(figure))


def _box_sizes(splits: Sequence[SplitStatistics], unit: str) -> Figure | None:
    names = ("box_width_px", "box_height_px") if unit == "px" else ("box_width_rel", "box_height_rel")
    splits = [split for split in splits if _has_counts(getattr(split, names[0]))]
    if not splits:
        return None
    figure, axes = _new_figure(3.2, columns=2)
    parts = []
    for axis, name, side in zip(axes, names, ("width", "height"), strict=True):
        for position, split in enumerate(splits):
            _stairs(axis, getattr(split, name), _colour(position), split.split, len(splits) == 1)
        axis.set_xlabel(f"box {side} ({'pixels' if unit == 'px' else 'fraction of the image ' + side})")
        axis.set_ylabel("boxes")
        _legend(axis, splits)
    for split in splits:
        width, height = _median(getattr(split, names[0])), _median(getattr(split, names[1]))
        counted = sum(getattr(split, names[0])["counts"])
        if unit == "px":
            parts.append(f"{split.split}: median about {width:.0f} x {height:.0f} px over {counted:,} boxes")
        else:
            parts.append(
                f"{split.split}: median about {width:.0%} of the width and {height:.0%} of the height over "
                f"{counted:,} boxes"
            )
    what = "in pixels" if unit == "px" else "relative to the image"
    caption = f"Box width and height {what}; " + "; ".join(parts) + "."
    key = "box_size_px" if unit == "px" else "box_size_relative"
    title = "Box sizes (pixels)" if unit == "px" else "Box sizes (relative to the image)"
    return Figure(key, title, caption, _svg(figure))


def _aspect(splits: Sequence[SplitStatistics]) -> Figure | None:
    splits = [split for split in splits if _has_counts(split.box_aspect)]
    if not splits:
        return None
    figure, (axis,) = _new_figure(3.2)
    parts = []
    for position, split in enumerate(splits):
        histogram = split.box_aspect
        _stairs(axis, histogram, _colour(position), split.split, len(splits) == 1)
        counts = np.asarray(histogram["counts"], dtype=np.float64)
        edges = np.asarray(histogram["edges"], dtype=np.float64)
        # The bin holding 1 is "about square"; the bins above it wider than tall, below taller.
        middle = (edges[:-1] < 1) & (edges[1:] > 1)
        total = counts.sum()
        wide, square = counts[edges[:-1] >= 1].sum(), counts[middle].sum()
        low, high = (edges[:-1][middle][0], edges[1:][middle][0]) if middle.any() else (1.0, 1.0)
        parts.append(
            f"{split.split}: of {int(total):,} boxes, {wide / total:.0%} wider than tall, "
            f"{square / total:.0%} about square ({low:.2f}-{high:.2f}), {1 - (wide + square) / total:.0%} taller"
        )
    axis.set_xscale("log")
    axis.axvline(1.0, color="#444444", linewidth=0.8, linestyle="--")
    axis.set_xlabel("aspect ratio (width / height, log scale; ends include everything beyond)")
    axis.set_ylabel("boxes")
    _legend(axis, splits)
    caption = "Box aspect ratio (width over height); " + "; ".join(parts) + "."
    return Figure("box_aspect", "Box aspect ratio", caption, _svg(figure))


def _heatmap(split: SplitStatistics) -> Figure | None:
    counts = np.asarray(split.centre_heatmap.get("counts", []), dtype=np.float64)
    if not counts.size or counts.sum() == 0:
        return None
    figure, (axis,) = _new_figure(3.6)
    # An image is embedded as PNG data in the SVG: 256 cells stay one element.
    shown = axis.imshow(counts, cmap="magma", extent=(0, 1, 1, 0), interpolation="nearest", aspect="auto")
    axis.set_xlabel("box centre x (fraction of the image width)")
    axis.set_ylabel("box centre y (fraction of the height, top down)")
    figure.colorbar(shown, ax=axis, label="boxes")
    total = counts.sum()
    row, column = np.unravel_index(int(np.argmax(counts)), counts.shape)
    bins = counts.shape[0]
    centre = counts[bins // 4 : bins - bins // 4, bins // 4 : bins - bins // 4].sum() / total
    caption = (
        f"Where box centres fall in the frame of {split.split} ({bins} x {bins} cells over {int(total):,} boxes): "
        f"the busiest cell (x {column / bins:.2f}-{(column + 1) / bins:.2f}, y {row / bins:.2f}-"
        f"{(row + 1) / bins:.2f}) holds {counts[row, column] / total:.1%}, the central quarter of the frame "
        f"{centre:.0%}."
    )
    return Figure(f"centre_heatmap_{_key(split.split)}", f"Box centres: {split.split}", caption, _svg(figure))


def _key(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "-", name).strip("-") or "split"


def _image_sizes(splits: Sequence[SplitStatistics]) -> Figure | None:
    splits = [split for split in splits if split.image_sizes]
    if not splits:
        return None
    figure, (axis,) = _new_figure(3.8)
    parts = []
    largest = max(size["count"] for split in splits for size in split.image_sizes)
    for position, split in enumerate(splits):
        widths = [size["width"] for size in split.image_sizes]
        heights = [size["height"] for size in split.image_sizes]
        areas = [12 + 300 * math.sqrt(size["count"] / largest) for size in split.image_sizes]
        axis.scatter(
            widths, heights, s=areas, color=_colour(position), alpha=0.5, label=split.split, linewidths=0
        )
        common = split.image_sizes[0]
        distinct = _plural(len(split.image_sizes) + split.other_sizes, "distinct size")
        if split.other_sizes:  # only the most common sizes are listed
            distinct += f" ({len(split.image_sizes):,} most common drawn)"
        parts.append(
            f"{split.split}: {distinct}, most common {common['width']}x{common['height']} "
            f"({_plural(common['count'], 'image')})"
        )
    axis.set_xlabel("width (pixels)")
    axis.set_ylabel("height (pixels)")
    axis.set_xlim(left=0)
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    _legend(axis, splits)
    caption = "Image sizes, one dot per distinct size, its area growing with the number of images; "
    caption += "; ".join(parts) + "."
    return Figure("image_sizes", "Image sizes", caption, _svg(figure))


def _pixels(splits: Sequence[SplitStatistics]) -> Figure | None:
    splits = [split for split in splits if _has_counts(split.brightness)]
    if not splits:
        return None
    figure, axes = _new_figure(3.2, columns=2)
    for axis, name, label in zip(
        axes,
        ("brightness", "contrast"),
        ("mean grey level (0-255)", "grey level standard deviation"),
        strict=True,
    ):
        for position, split in enumerate(splits):
            _stairs(axis, getattr(split, name), _colour(position), split.split, len(splits) == 1)
        axis.set_xlabel(label)
        axis.set_ylabel("images")
        _legend(axis, splits)
    parts = []
    for split in splits:
        brightness, contrast = _median(split.brightness), _median(split.contrast)
        parts.append(
            f"{split.split}: {_plural(split.decoded, 'image')} decoded of {split.images:,}, median brightness "
            f"about {brightness:.0f}, contrast about {contrast:.0f}"
        )
    caption = (
        "Brightness (mean grey level) and contrast (its standard deviation) per image; "
        + "; ".join(parts)
        + "."
    )
    return Figure("brightness_contrast", "Brightness and contrast", caption, _svg(figure))

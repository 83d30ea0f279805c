"""``build_report``: statistics, duplicates, problems and figures of one or more splits, written as one HTML page."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visiondata.report._duplicates import DuplicateReport
    from visiondata.report._plots import Figure
    from visiondata.report._stats import SplitStatistics

#: Class grids shown on the page at most (the JSON counts every class).
MAX_CLASS_GRIDS = 100
#: Thumbnails per class grid at most (``max_per_section`` lowers it).
SAMPLES_PER_CLASS = 6
#: Members shown per duplicate group at most.
MEMBERS_PER_GROUP = 4
#: Problem lines listed per split at most (the JSON holds them all).
PROBLEM_LINES = 200

# A file name inside a problem line ("a/b.jpg: box ..."), to show the image the problem is about.
_IMAGE_NAME = re.compile(r"[^\s'\"():,]+\.(?:jpe?g|png|bmp|gif|webp|tiff?|ppm|pgm)\b", re.IGNORECASE)


@dataclass
class Report:
    """What `build_report` wrote and found.

    Attributes:
        path: The HTML file.
        json_path: The JSON file, or ``None`` when none was asked for.
        statistics: One `SplitStatistics` per split, in order.
        duplicates: Exact and near duplicates within and across the splits.
        problems: Split -> one line per problem (annotation problems the reader left out, unreadable
            files, boxes without area or outside their image, empty classes, duplicates).
        figures: The plots on the page.
        limits: What the page leaves out or samples (thumbnails per section, decoded images...).
    """

    path: Path
    json_path: Path | None
    statistics: list[SplitStatistics]
    duplicates: DuplicateReport
    problems: dict[str, list[str]]
    figures: list[Figure]
    limits: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """What ``--json`` writes: statistics, duplicates, problems, figure captions and the limits (JSON-ready).

        Examples:
            >>> import inspect
            >>> "statistics" in inspect.getsource(Report.as_dict)
            True
        """
        return {
            "html": str(self.path),
            "splits": [statistics.split for statistics in self.statistics],
            "statistics": [statistics.as_dict() for statistics in self.statistics],
            "duplicates": self.duplicates.as_dict(),
            "problems": {split: list(lines) for split, lines in self.problems.items()},
            "problem_counts": {split: len(lines) for split, lines in self.problems.items()},
            "figures": [
                {"key": figure.key, "title": figure.title, "caption": figure.caption}
                for figure in self.figures
            ],
            "limits": dict(self.limits),
            "seconds": round(self.seconds, 3),
        }


def build_report(
    data: Any,
    path: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
    max_per_section: int = 24,
    thumbnail_size: int = 160,
    near_threshold: int = 6,
    max_decoded: int = 200,
    progress: bool = False,
    title: str | None = None,
    overwrite: bool = True,
) -> Report:
    """Write a dataset health report: one self-contained HTML page, and optionally its numbers as JSON.

    The page has a summary (images, classes, boxes, sizes, formats, bytes, time to read), the plots
    (inline SVG), sample grids per class with boxes drawn, the smallest and largest boxes and the most
    crowded images, every problem found (with a thumbnail where the file is readable) and the exact and
    near duplicates within and across splits. It makes no network request and needs no script.

    Args:
        data: One dataset (reported as split ``"data"``) or a mapping split name -> dataset: any
            dataset visiondata reads (folders, CSV, COCO, VOC, YOLO..., catalog datasets).
        path: The HTML file to write (written whole or not at all).
        json_path: Also write `Report.as_dict` here as JSON.
        max_per_section: Thumbnails per section at most (per class grid, per list of extremes, problems
            and duplicate groups per split); the page states it.
        thumbnail_size: Longer side of the embedded thumbnails, in pixels.
        near_threshold: Hamming distance (of 64 bits) at or below which two perceptual hashes are
            near duplicates.
        max_decoded: Images decoded (at reduced size) for the brightness and contrast statistics.
        progress: Show progress bars on stderr.
        title: The page's title (default: the sources' names).
        overwrite: Replace an existing ``path`` / ``json_path``; ``False`` refuses them.

    Returns:
        The `Report`: statistics, duplicates, problems and figures.

    Raises:
        MissingDependencyError: matplotlib or jinja2 (the ``report`` extra) is not installed.
        OutputConflictError: ``path`` or ``json_path`` is a folder or a special file, or exists and
            ``overwrite`` is ``False``.
        ValueError: ``data`` is an empty mapping, or an argument is out of range.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import ImageFolderDataset
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name, colour in [("cat", (200, 120, 40)), ("dog", (40, 90, 200))]:
        ...     (root / name).mkdir()
        ...     Image.new("RGB", (48, 32), colour).save(root / name / "a.png")
        >>> report = build_report(ImageFolderDataset(root), root.parent / (root.name + ".html"))
        >>> report.statistics[0].images, report.path.read_text().count("<!DOCTYPE html>")
        (2, 1)
    """
    from visiondata._files import refuse_non_file_output, write_text_atomic
    from visiondata.exceptions import OutputConflictError
    from visiondata.report._duplicates import find_duplicates
    from visiondata.report._page import render_page, require_report_extra
    from visiondata.report._plots import render_figures
    from visiondata.report._stats import collect_statistics

    require_report_extra()  # before any work: the page is what was asked for
    splits = _splits(data)
    for name, value in (("max_per_section", max_per_section), ("thumbnail_size", thumbnail_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if (
        isinstance(near_threshold, bool)
        or not isinstance(near_threshold, int)
        or not 0 <= near_threshold <= 32
    ):
        raise ValueError(
            f"near_threshold: expected an integer from 0 to 32 (bits of the 64-bit hash), got {near_threshold!r}"
        )
    path = Path(path)
    outputs = [(path, "an HTML report", "report.html")]
    if json_path is not None:
        json_path = Path(json_path)
        outputs.append((json_path, "a JSON file", "report.json"))
    for target, what, example in outputs:
        refuse_non_file_output(target, what, example)  # before reading anything
        if not overwrite and target.exists():
            raise OutputConflictError(
                f"{target}: expected a new file, got one that exists; choose another name, or pass "
                "overwrite=True to replace it"
            )

    started = time.perf_counter()
    per_class = min(SAMPLES_PER_CLASS, max_per_section)
    statistics = [
        collect_statistics(
            dataset,
            name,
            max_decoded=max_decoded,
            samples_per_class=per_class,
            extremes=max_per_section,
            progress=progress,
            thumbnail_size=thumbnail_size,
        )
        for name, dataset in splits.items()
    ]
    files = {stats.split: list(stats.paths) for stats in statistics}
    for target, _what, _example in outputs:
        _refuse_input(target, statistics)
    # Reading and decoding release the GIL: a few threads hash a large dataset faster; a small one needs none.
    workers = min(4, os.cpu_count() or 1) if sum(map(len, files.values())) > 256 else 0
    duplicates = find_duplicates(files, threshold=near_threshold, progress=progress, workers=workers)
    found = {stats.split: _problems(splits[stats.split], stats, duplicates) for stats in statistics}
    figures = render_figures(statistics)
    limits = {
        "max_per_section": max_per_section,
        "samples_per_class": per_class,
        "class_grids": MAX_CLASS_GRIDS,
        "members_per_group": MEMBERS_PER_GROUP,
        "problem_lines": PROBLEM_LINES,
        "thumbnail_size": thumbnail_size,
        "max_decoded": max_decoded,
        "near_threshold": near_threshold,
    }
    unsearched = _shard_splits(splits)
    if unsearched:
        limits["duplicates_not_searched"] = _unsearched_line(unsearched)
    report = Report(
        path,
        json_path,
        statistics,
        duplicates,
        {split: [problem["text"] for problem in problems] for split, problems in found.items()},
        figures,
        limits,
    )
    context = _context(report, splits, found, title, thumbnail_size, max_per_section, per_class)
    html = render_page(context)
    report.seconds = time.perf_counter() - started
    write_text_atomic(path, html)
    if json_path is not None:
        write_text_atomic(
            json_path, json.dumps(_json_ready(report.as_dict()), indent=2, default=_json_default) + "\n"
        )
    return report


def _refuse_input(target: Path, statistics: Sequence[SplitStatistics]) -> None:
    """Refuse to write the report over one of the files it reports on (an image or an annotation file)."""
    from visiondata.exceptions import OutputConflictError

    if not target.exists():
        return
    candidates = {os.path.abspath(target), os.path.realpath(target)}
    for stats in statistics:
        inputs = {os.path.abspath(path) for path in stats.paths}
        if os.path.isfile(stats.source):
            inputs.add(os.path.realpath(stats.source))
        hit = candidates & inputs
        if hit:
            raise OutputConflictError(
                f"{target}: expected an output that is not one of the dataset's files, got {sorted(hit)[0]} "
                f"(split {stats.split!r}); choose another name for the report"
            )


def _splits(data: Any) -> dict[str, Any]:
    """``data`` as split name -> dataset."""
    if isinstance(data, Mapping):
        if not data:
            raise ValueError(
                "data: expected a dataset or a mapping split name -> dataset, got an empty mapping"
            )
        splits = {}
        for name, dataset in data.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"data: expected split names as non-empty strings, got {name!r}")
            splits[name] = dataset
        return splits
    if isinstance(data, (str, os.PathLike)):
        raise TypeError(
            f"data: expected a dataset (an object with __len__ and __getitem__), got the path {os.fspath(data)!r}; "
            "open it first (visiondata.formats.open_detection, ImageFolderDataset...) or use the "
            "`visiondata report` command, which opens paths"
        )
    return {"data": data}


def _shard_splits(splits: Mapping[str, Any]) -> list[str]:
    """The splits read from WebDataset shards (no image files: no duplicate search)."""
    from visiondata.shards._dataset import ShardDataset

    return [name for name, dataset in splits.items() if isinstance(dataset, ShardDataset)]


def _unsearched_line(splits: list[str]) -> str:
    """The line of the limits saying which splits were not searched for duplicates.

    Examples:
        >>> _unsearched_line(["train"])
        'Duplicates were not searched for in the shard split train: shards hold no image files to hash; report the source dataset for them.'
    """
    return (
        f"Duplicates were not searched for in the shard split{'s' if len(splits) != 1 else ''} "
        f"{', '.join(splits)}: shards hold no image files to hash; report the source dataset for them."
    )


def _problems(dataset: Any, stats: SplitStatistics, duplicates: DuplicateReport) -> list[dict[str, Any]]:
    """Every problem of one split: ``{"text": line, "path": image file or None}``."""
    split = stats.split
    found: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(text: str, path: str | None = None) -> None:
        if text not in seen:
            seen.add(text)
            found.append({"text": text, "path": path})

    for line in getattr(dataset, "problems", None) or []:
        add(str(line), _path_in(str(line), dataset))
    for file, cause in dict(getattr(dataset, "errors", None) or {}).items():
        add(_unreadable(str(file), str(cause)), str(file))
    for unreadable_split, file, cause in duplicates.unreadable:
        if unreadable_split == split:
            add(_unreadable(file, cause), file)
    for entry in getattr(getattr(dataset, "manifest", None), "skipped", None) or []:
        # Samples left out when the shards were written (unreadable in the source).
        if isinstance(entry, dict):
            add(f"source sample {entry.get('index')} not in the shards: {entry.get('reason')}")
    for line, file in _box_problems(dataset):
        add(line, file)
    noun = "boxes" if stats.kind == "detection" else "images"
    for name in stats.empty_classes:
        add(f"class {name!r} has no {noun}: expected at least one, or leave the class out")
    for group in [*duplicates.exact, *duplicates.near]:
        members = [file for member_split, file in group.members if member_split == split]
        if not members:
            continue
        what = "identical files" if group.kind == "exact" else f"near duplicates (distance {group.distance})"
        where = f" across splits {', '.join(group.splits)}" if group.across_splits else ""
        add(f"{what}{where}: " + ", ".join(f"{s}:{f}" for s, f in group.members), members[0])
    return found


def _unreadable(file: str, cause: str) -> str:
    """One line for an unreadable file, naming it once (causes often start with the path already)."""
    cause = cause[len(file) + 2 :] if cause.startswith(f"{file}: ") else cause
    return f"{file}: unreadable: {cause}"


def _box_problems(dataset: Any) -> list[tuple[str, str]]:
    """Boxes without area or outside their image still in a detection index (readers usually drop them)."""
    index = getattr(dataset, "index", None)
    boxes = getattr(index, "boxes", None)
    if boxes is None or getattr(index, "normalized", True) or not len(boxes):
        return []
    import numpy as np

    from visiondata.datasets._detection import box_problems

    counts = np.diff(index.offsets)
    sizes = np.repeat(index.sizes, counts, axis=0)
    owner = np.repeat(np.arange(len(counts)), counts)
    # The readers already checked what they kept: only rows numpy flags as suspicious go to the detailed check.
    with np.errstate(invalid="ignore"):
        suspicious = (
            ~np.isfinite(boxes).all(axis=1)
            | (boxes[:, 2] <= boxes[:, 0])
            | (boxes[:, 3] <= boxes[:, 1])
            | (boxes < 0).any(axis=1)
            | ((sizes[:, [1, 0, 1, 0]] > 0) & (boxes > sizes[:, [1, 0, 1, 0]])).any(axis=1)
        )
    rows = np.flatnonzero(suspicious)
    if not len(rows):
        return []
    lines = box_problems(boxes[rows].astype(np.float64), sizes[rows])
    found = []
    for row, line in zip(rows.tolist(), lines, strict=True):
        if line is not None:
            file = dataset.path(int(owner[row]))
            found.append((f"{file}: {line}", file))
    return found


def _path_in(line: str, dataset: Any) -> str | None:
    """The image file a problem line names, if it names one that exists (for its thumbnail)."""
    root = getattr(dataset, "root", None)
    for match in _IMAGE_NAME.finditer(line):
        name = match.group(0)
        for candidate in (name, os.path.join(str(root), name) if root else None):
            if candidate and os.path.isfile(candidate):
                return candidate
    return None


def _context(
    report: Report,
    splits: Mapping[str, Any],
    found: Mapping[str, list[dict[str, Any]]],
    title: str | None,
    size: int,
    max_per_section: int,
    per_class: int,
) -> dict[str, Any]:
    """What the template renders; thumbnails are made here, only for what is shown."""
    from visiondata.report._page import path_thumbnail

    sources = ", ".join(
        dict.fromkeys(
            os.path.basename(stats.source.rstrip("/")) or stats.source for stats in report.statistics
        )
    )
    split_rows = [_summary_row(stats) for stats in report.statistics]
    totals = {
        "images": sum(stats.images for stats in report.statistics),
        "boxes": sum(stats.boxes for stats in report.statistics),
        "bytes": sum(stats.bytes for stats in report.statistics),
        "read_seconds": round(sum(stats.read_seconds for stats in report.statistics), 3),
        "classes": len(dict.fromkeys(name for stats in report.statistics for name in stats.classes)),
        "problems": sum(len(lines) for lines in report.problems.values()),
        "detection": any(stats.kind == "detection" for stats in report.statistics),
    }
    samples = []
    extremes = []
    for stats in report.statistics:
        dataset = splits[stats.split]
        grids = []
        for name, indices in list(stats.samples_per_class.items())[:MAX_CLASS_GRIDS]:
            cells = [
                _sample_cell(dataset, index, size, caption=f"#{index}", kept=stats.thumbnails)
                for index in indices[:per_class]
            ]
            grids.append({"name": name, "cells": cells})
        samples.append(
            {
                "split": stats.split,
                "grids": grids,
                "hidden_classes": max(0, len(stats.samples_per_class) - MAX_CLASS_GRIDS),
            }
        )
        sections = []
        for key, heading, entries in (
            ("smallest", "Smallest boxes", stats.smallest_boxes),
            ("largest", "Largest boxes", stats.largest_boxes),
        ):
            cells = [
                _sample_cell(
                    dataset,
                    entry["index"],
                    size,
                    caption=f"#{entry['index']} {entry['label']}: {_area(entry['area'])} px²",
                    only_box=(entry["box"], entry["label"]),
                    kept=stats.thumbnails,
                )
                for entry in entries[:max_per_section]
            ]
            if cells:
                sections.append({"key": key, "heading": heading, "cells": cells})
        crowded = [
            _sample_cell(
                dataset,
                entry["index"],
                size,
                caption=f"#{entry['index']}: {entry['boxes']} boxes",
                kept=stats.thumbnails,
            )
            for entry in stats.most_crowded[:max_per_section]
        ]
        if crowded:
            sections.append({"key": "crowded", "heading": "Most crowded images", "cells": crowded})
        extremes.append({"split": stats.split, "sections": sections})

    problem_sections = []
    for split, problems in found.items():
        items = []
        shown_thumbnails = 0
        for problem in problems[:PROBLEM_LINES]:
            thumbnail, why = None, None
            if problem["path"] and shown_thumbnails < max_per_section:
                thumbnail, why = path_thumbnail(problem["path"], size)
                shown_thumbnails += thumbnail is not None
            items.append({"text": problem["text"], "thumbnail": thumbnail, "why": why})
        problem_sections.append(
            {
                "split": split,
                "entries": items,
                "total": len(problems),
                "hidden": max(0, len(problems) - PROBLEM_LINES),
            }
        )

    duplicates = report.duplicates
    summary = duplicates.as_dict()
    groups = []
    for kind, listed in (("exact", duplicates.exact), ("near", duplicates.near)):
        # Leakage first: groups across splits are what makes a test score wrong.
        ordered = sorted(listed, key=lambda group: not group.across_splits)
        shown = []
        for group in ordered[:max_per_section]:
            members = []
            for member_split, file in group.members[:MEMBERS_PER_GROUP]:
                thumbnail, why = path_thumbnail(file, size)
                members.append({"split": member_split, "path": file, "thumbnail": thumbnail, "why": why})
            shown.append(
                {
                    "kind": kind,
                    "distance": group.distance,
                    "splits": group.splits,
                    "across": group.across_splits,
                    "members": members,
                    "more": max(0, len(group.members) - MEMBERS_PER_GROUP),
                }
            )
        groups.append(
            {"kind": kind, "groups": shown, "total": len(listed), "hidden": max(0, len(listed) - len(shown))}
        )

    counts = _duplicate_counts(duplicates)
    limits = [
        f"At most {max_per_section} thumbnails per section ({per_class} per class grid, first {MAX_CLASS_GRIDS} "
        f"classes), {MEMBERS_PER_GROUP} per duplicate group, {PROBLEM_LINES} problem lines per split on the page "
        "(the JSON has every one).",
        f"Thumbnails downscaled to {size} px on the longer side, JPEG quality 80.",
        f"Near duplicates: 64-bit perceptual hashes (DCT) at Hamming distance {duplicates.threshold} or less; "
        "exact duplicates: same SHA-256 of the file's bytes.",
        *([report.limits["duplicates_not_searched"]] if "duplicates_not_searched" in report.limits else []),
        *(f"{stats.split}: {note}" for stats in report.statistics for note in getattr(stats, "notes", [])),
        *(
            _hidden_line(split, dataset)
            for split, dataset in splits.items()
            if getattr(dataset, "hidden", None)
        ),
    ]
    return {
        "title": title or f"Dataset report: {sources}",
        "splits": split_rows,
        "totals": totals,
        "figures": [
            {"key": figure.key, "title": figure.title, "caption": figure.caption, "svg": figure.svg}
            for figure in report.figures
        ],
        "samples": samples,
        "extremes": extremes,
        "problems": problem_sections,
        "duplicates": {
            "summary": summary,
            "counts": counts,
            "groups": groups,
            "threshold": duplicates.threshold,
            "files": duplicates.files,
        },
        "limits": limits,
        "cell_width": size + 10,
    }


def _hidden_line(split: str, dataset: Any) -> str:
    """The hidden entries (``.DS_Store``, dot folders) a folder reader skipped, as a line of the limits."""
    hidden = list(dataset.hidden)
    shown = ", ".join(map(str, hidden[:5])) + (f" and {len(hidden) - 5} more" if len(hidden) > 5 else "")
    return f"{split}: {len(hidden)} hidden entr{'y' if len(hidden) == 1 else 'ies'} not indexed: {shown}."


def _duplicate_counts(duplicates: DuplicateReport) -> dict[str, int]:
    """Groups of exact and near duplicates within one split and across splits."""
    counts = {}
    for kind, groups in (("exact", duplicates.exact), ("near", duplicates.near)):
        across = sum(1 for group in groups if group.across_splits)
        counts[f"{kind}_within"] = len(groups) - across
        counts[f"{kind}_across"] = across
    return counts


def _area(area: float) -> str:
    return f"{area:,.0f}" if area >= 10 else f"{area:.2g}"


def _summary_row(stats: SplitStatistics) -> dict[str, Any]:
    sizes = [f"{size['width']}x{size['height']} ({size['count']})" for size in stats.image_sizes[:3]]
    more = len(stats.image_sizes) - 3 + stats.other_sizes
    return {
        "split": stats.split,
        "kind": stats.kind,
        "source": stats.source,
        "images": stats.images,
        "classes": len(stats.classes),
        "boxes": stats.boxes if stats.kind == "detection" else None,
        "sizes": ", ".join(sizes) + (f", {more} more" if more > 0 else ""),
        "distinct_sizes": len(stats.image_sizes) + stats.other_sizes,
        "formats": ", ".join(
            f"{name} ({count})" for name, count in sorted(stats.formats.items(), key=lambda x: -x[1])
        ),
        "bytes": stats.bytes,
        "read_seconds": round(stats.read_seconds, 3),
        "imbalance": None if stats.imbalance is None else round(stats.imbalance, 1),
        "empty_classes": list(stats.empty_classes),
    }


def _sample_cell(
    dataset: Any,
    index: int,
    size: int,
    caption: str,
    only_box: tuple[list[float], str] | None = None,
    kept: Mapping[int, Any] | None = None,
) -> dict[str, Any]:
    """One thumbnail with the sample's boxes drawn (or only ``only_box``), or why there is none.

    ``kept``: thumbnails the statistics kept while streaming (shards, which cannot be read again by index).
    """
    from visiondata.report._page import draw_on, file_thumbnail, fit, tensor_thumbnail

    try:
        path = dataset.path(index) if hasattr(dataset, "path") else None
        if kept and index in kept:
            thumbnail = kept[index]
            picture, full = fit(thumbnail.picture.copy(), size), thumbnail.full
            if only_box is not None:
                box, label = only_box
                url = draw_on(picture, full, [box], [label])
            else:
                classes = list(getattr(dataset, "classes", []) or []) or None
                url = draw_on(picture, full, thumbnail.boxes, thumbnail.labels, classes)
            return {"thumbnail": url, "caption": caption, "why": None}
        if kept is not None and getattr(dataset, "manifest", None) is not None:
            return {
                "thumbnail": None,
                "caption": caption,
                "why": "not shown: not kept while streaming the shards",
            }
        if path is not None:
            picture, full = file_thumbnail(path, size)
        else:
            sample = dataset[index]
            picture, full = tensor_thumbnail(sample[0] if isinstance(sample, tuple) else sample, size)
        if only_box is not None:
            box, label = only_box
            url = draw_on(picture, full, [box], [label])
        else:
            boxes, labels, normalized = _annotations(dataset, index)
            url = draw_on(
                picture, full, boxes, labels, list(getattr(dataset, "classes", []) or []) or None, normalized
            )
    except Exception as error:
        return {
            "thumbnail": None,
            "caption": caption,
            "why": f"not shown: {type(error).__name__}: {error}"[:200],
        }
    return {"thumbnail": url, "caption": caption, "why": None}


def _annotations(dataset: Any, index: int) -> tuple[Any, Any, bool]:
    """The boxes (pixels or fractions), labels and whether they are normalised, of a detection sample."""
    boxes_of = getattr(dataset, "boxes", None)
    if not callable(boxes_of):
        return None, None, False
    boxes = boxes_of(index)
    labels = dataset.target(index)["labels"].tolist()
    normalized = bool(getattr(getattr(dataset, "index", None), "normalized", False))
    return boxes, labels, normalized


def _json_ready(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays, and paths, as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

"""The report's statistics at COCO train2017's shape: annotation statistics in under a minute.

The script writes a synthetic COCO annotation file of train2017's shape
(118,287 images of varied sizes, 860,001 boxes, 80 categories with ids
between 1 and 90; no image files), then measures, each round:

1. building ``CocoDetectionDataset`` (``check_files=False``);
2. ``collect_statistics(dataset, files=False)``: every statistic the report
   takes from the annotations (class counts, boxes per image, box sizes and
   aspect ratios, the centre heatmap, image sizes, the extremes, samples per
   class); the file headers, bytes and pixel statistics need the image files
   and are skipped.

Target (issue 22): the statistics in under 60 seconds on 2 cores.

Usage: ``python benchmarks/bench_report.py [--images 118287] [--boxes 860001] [--rounds 3] [--file PATH]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from _machine import footer, header, verdict


def make_file(path: Path, images: int, boxes: int) -> None:
    """A COCO file of ``images`` images and ``boxes`` boxes, written once (a marker says it is complete)."""
    marker = path.with_suffix(f".{images}-{boxes}.complete")
    if marker.exists() and path.exists():
        return
    rng = np.random.default_rng(0)
    category_ids = np.sort(rng.choice(np.arange(1, 91), 80, replace=False))
    # COCO's images: mostly 640 on the long side, of a few dozen shapes.
    sides = rng.choice([480, 427, 426, 424, 512, 360, 383, 375, 500, 640], (images, 1))
    landscape = rng.random(images) < 0.7
    widths = np.where(landscape, 640, sides[:, 0])
    heights = np.where(landscape, sides[:, 0], 640)
    # Boxes per image skewed as COCO's (many images with few boxes, a few crowded ones).
    weights = rng.gamma(0.7, size=images)
    image_of = rng.choice(images, boxes, p=weights / weights.sum())
    w = rng.uniform(0.01, 0.9, boxes) * widths[image_of]
    h = rng.uniform(0.01, 0.9, boxes) * heights[image_of]
    x = rng.uniform(0, 1, boxes) * (widths[image_of] - w)
    y = rng.uniform(0, 1, boxes) * (heights[image_of] - h)
    labels = category_ids[rng.integers(0, 80, boxes)]
    with path.open("w") as stream:
        stream.write('{"info": {}, "licenses": [], "images": [')
        stream.write(
            ", ".join(
                f'{{"id": {i + 1}, "file_name": "{i + 1:012d}.jpg", "width": {widths[i]}, "height": {heights[i]}}}'
                for i in range(images)
            )
        )
        stream.write('], "annotations": [')
        rows = zip(
            image_of.tolist(), labels.tolist(), x.round(2).tolist(), y.round(2).tolist(), w.round(2).tolist(),
            h.round(2).tolist(), strict=True,
        )  # fmt: skip
        stream.write(
            ", ".join(
                f'{{"id": {k + 1}, "image_id": {image + 1}, "category_id": {label}, "iscrowd": 0, '
                f'"area": {round(bw * bh, 2)}, "bbox": [{bx}, {by}, {bw}, {bh}]}}'
                for k, (image, label, bx, by, bw, bh) in enumerate(rows)
            )
        )
        stream.write('], "categories": [')
        stream.write(", ".join(f'{{"id": {int(i)}, "name": "class_{int(i)}"}}' for i in category_ids))
        stream.write("]}")
    marker.touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=118_287)
    parser.add_argument("--boxes", type=int, default=860_001)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", default="/tmp/visiondata-bench-report/instances.json")
    options = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    path = Path(options.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    make_file(path, options.images, options.boxes)
    written = time.perf_counter() - started
    print(
        header(
            options.rounds,
            f"{options.images:,} images, {options.boxes:,} boxes, 80 classes, "
            f"{path.stat().st_size / 2**20:.0f} MiB JSON (written or found in {written:.1f} s); "
            "statistics from the annotations alone (files=False)",
        )
    )
    from visiondata.datasets import CocoDetectionDataset
    from visiondata.report._stats import collect_statistics

    builds, collects = [], []
    result = None
    for _ in range(options.rounds):
        started = time.perf_counter()
        dataset = CocoDetectionDataset(path.parent / "images", path, check_files=False)
        builds.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = collect_statistics(dataset, "train", files=False)
        collects.append(time.perf_counter() - started)
        del dataset
    assert result is not None
    build, collect = statistics.median(builds), statistics.median(collects)
    print(f"\nCocoDetectionDataset build, seconds (median of {options.rounds}): {build:8.2f}")
    print(f"  rounds {min(builds):.2f}-{max(builds):.2f}")
    print(f"collect_statistics(files=False), seconds (median of {options.rounds}): {collect:8.2f}")
    print(f"  rounds {min(collects):.2f}-{max(collects):.2f}")
    print(
        f"build + statistics, seconds: {build + collect:8.2f}   (target <= 60: {verdict(build + collect, '<= 60')})"
    )
    print(
        f"checked: {result.images:,} images, {result.boxes:,} boxes, {len(result.classes)} classes, "
        f"{len(result.image_sizes)} image sizes, imbalance {result.imbalance}"
    )
    print(footer())


if __name__ == "__main__":
    main()

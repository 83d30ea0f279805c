"""Export: ``write_shards`` with 0, 1 and 2 worker processes against a plain decode-and-``tarfile`` loop.

A folder of real-size JPEG photos (``bench_shards.py``'s: 500x375, quality 90, about 50 KB each, 10
classes; ``--images`` photos, each linked ``--copies`` times into the folder exported, so that an export
lasts seconds rather than starting and ending its processes in one) is exported with
``write_shards(ImageFolderDataset(folder), encode="keep", max_count=...)``: every file is decoded once
to prove it readable (at the smallest DCT scale: the whole compressed stream, not the full-size pixels),
then copied byte for byte with its label. The files are read once before timing
(all contenders read them from the page cache). One torch thread per process. Contenders, alternating
within each round (images per second of wall time, medians, and for each ratio the median and min-max
of the per-round ratios):

- plain loop: for each file, read its bytes, ``read_image`` them, and add them to one tar with
  Python's ``tarfile`` (no label member, no checksum, no manifest): the least a checked copy does;
- ``write_shards(..., num_workers=0)``: the export in this process;
- ``write_shards(..., num_workers=1)`` and ``num_workers=2``: one and two worker processes, each writing
  whole shards (``max_count`` samples each).

Targets (issue 24): the export in one process >= 1.0x the plain loop (the write path per worker), and two
workers >= 1.7x one worker on 2 cores.

Usage: ``python benchmarks/bench_export.py [--images 2000] [--copies 3] [--max-count 100] [--rounds 5]
[--folder DIR]``
(``pip install 'visiondata[shards]'``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
import warnings
from pathlib import Path

import torch
from _machine import footer, header, ratio_text
from bench_pipeline import per_round
from bench_shards import make_photos, tar_copy_rate

from visiondata.datasets import ImageFolderDataset
from visiondata.shards import write_shards


def export_rate(dataset: ImageFolderDataset, out: Path, max_count: int, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = write_shards(dataset, out / "train-%06d.tar", max_count=max_count, num_workers=workers)
    seconds = time.perf_counter() - started
    assert report.count == len(dataset) and report.copied == report.count, report.summary()
    shutil.rmtree(out)
    return report.count / seconds


def link_copies(photos: Path, linked: Path, copies: int) -> Path:
    """A folder holding ``copies`` hard links to each photo, under the same class folders."""
    shutil.rmtree(linked, ignore_errors=True)
    for photo in sorted(photos.rglob("*.jpg")):
        folder = linked / photo.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        for copy in range(copies):
            (folder / f"{copy}-{photo.name}").hardlink_to(photo)
    return linked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument(
        "--copies", type=int, default=3, help="hard links to each photo in the folder exported"
    )
    parser.add_argument("--max-count", type=int, default=100, help="samples per shard")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", default="/tmp/visiondata-bench-export")
    options = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*hidden entries")  # the photo folder's completion marker
    print(
        header(
            options.rounds,
            f"{options.images} JPEG photos (500x375, about 50 KB) x {options.copies} links, "
            f"{options.max_count} per shard, wall-clock images/s",
        )
    )
    photos = Path(options.folder) / "photos"
    make_photos(photos, options.images, options.classes)
    dataset = ImageFolderDataset(link_copies(photos, Path(options.folder) / "linked", options.copies))
    paths = [dataset.path(index) for index in range(len(dataset))]
    for path in paths:  # into the page cache, for every contender alike
        Path(path).read_bytes()
    out = Path(options.folder) / "out"
    rates = per_round(
        options.rounds,
        {
            "plain loop: read_image + tarfile": lambda: tar_copy_rate(paths, out / "plain", decode=True),
            "write_shards, in this process": lambda: export_rate(dataset, out / "zero", options.max_count, 0),
            "write_shards, 1 worker process": lambda: export_rate(dataset, out / "one", options.max_count, 1),
            "write_shards, 2 worker processes": lambda: export_rate(
                dataset, out / "two", options.max_count, 2
            ),
        },
    )
    plain, zero, one, two = rates
    print(f"\nimages/s (median of {options.rounds} rounds):")
    for name in rates:
        print(f"  {name:<36} {statistics.median(rates[name]):8.1f}")
    print(
        f"\n  in this process / plain loop         {ratio_text(rates[zero], rates[plain], '>= 1.0')}\n"
        f"  2 workers / 1 worker                 {ratio_text(rates[two], rates[one], '>= 1.7')}\n"
        f"  1 worker / in this process           {ratio_text(rates[one], rates[zero])}"
    )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

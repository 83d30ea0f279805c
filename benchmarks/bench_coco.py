"""COCO-scale annotation files: CocoDetectionDataset against torchvision's CocoDetection (pycocotools).

The script writes a synthetic annotation file of COCO train2017's shape
(118,000 images, 685,000 boxes with 4-point polygons, 80 categories with
ids between 1 and 90; about 150 MB of JSON), then measures, for each
reader in a fresh process of its own:

1. build time;
2. resident memory the dataset holds (the process's resident size after
   building, minus before, after a garbage collection);
3. copy-on-read: the private memory a forked worker adds while it reads
   every image's annotations once, as a DataLoader worker does;

and, in one process with both built, alternating rounds:

4. target construction per sample: torchvision's ``CocoDetection`` wrapped
   for transforms v2 (boxes as ``BoundingBoxes``, labels) against ours, with
   image decoding stubbed out in both (a fixed image is returned).

Targets: memory <= 0.2x, copy-on-read <= 10 MB per worker, build time <=
0.7x, target construction >= 2x torchvision's.

Usage: ``python benchmarks/bench_coco.py [--images 118000] [--boxes 685000] [--rounds 3] [--file PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import multiprocessing
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from _machine import footer, header, ratio_text


def make_file(path: Path, images: int, boxes: int) -> None:
    marker = path.with_suffix(f".{images}-{boxes}.complete")
    if marker.exists() and path.exists():
        return
    rng = np.random.default_rng(0)
    category_ids = sorted(rng.choice(np.arange(1, 91), 80, replace=False).tolist())
    image_of = rng.integers(1, images + 1, boxes)
    x, y = rng.uniform(0, 500, boxes), rng.uniform(0, 380, boxes)
    w, h = rng.uniform(2, 140, boxes), rng.uniform(2, 100, boxes)
    categories = np.array(category_ids)[rng.integers(0, 80, boxes)]
    with path.open("w") as stream:
        stream.write('{"info": {}, "licenses": [], "images": [')
        stream.write(
            ", ".join(
                json.dumps(
                    {
                        "id": i,
                        "file_name": f"{i:012d}.jpg",
                        "width": 640,
                        "height": 480,
                        "license": 1,
                        "coco_url": f"http://images.cocodataset.org/train2017/{i:012d}.jpg",
                        "date_captured": "2013-11-14 16:28:13",
                    }
                )
                for i in range(1, images + 1)
            )
        )
        stream.write('], "annotations": [')
        for k in range(boxes):
            polygon = [
                round(float(v), 2)
                for v in (x[k], y[k], x[k] + w[k], y[k], x[k] + w[k], y[k] + h[k], x[k], y[k] + h[k])
            ]
            record = {
                "segmentation": [polygon],
                "area": round(float(w[k] * h[k]), 2),
                "iscrowd": 0,
                "image_id": int(image_of[k]),
                "bbox": [
                    round(float(x[k]), 2),
                    round(float(y[k]), 2),
                    round(float(w[k]), 2),
                    round(float(h[k]), 2),
                ],
                "category_id": int(categories[k]),
                "id": k + 1,
            }
            stream.write(("" if k == 0 else ", ") + json.dumps(record))
        stream.write('], "categories": ')
        stream.write(
            json.dumps([{"id": i, "name": f"class_{i}", "supercategory": "thing"} for i in category_ids])
        )
        stream.write("}")
    marker.touch()


def resident_mib() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def private_dirty_kib() -> int:
    with open("/proc/self/smaps_rollup") as stream:
        for line in stream:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty line in /proc/self/smaps_rollup")


def build(name: str, path: str) -> Any:
    if name == "torchvision":
        from torchvision.datasets import CocoDetection

        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            return CocoDetection(str(Path(path).parent), path)
    from visiondata.datasets import CocoDetectionDataset

    return CocoDetectionDataset(Path(path).parent, path, check_files=False)


def read_all(name: str, dataset: Any, order: list[int]) -> None:
    """Every image's annotations once, as ``__getitem__`` reads them before decoding."""
    if name == "torchvision":
        for index in order:
            dataset._load_target(dataset.ids[index])
    else:
        for index in order:
            dataset.target(index), dataset.boxes(index)


def _forked_reader(name: str, results: Any) -> None:
    dataset = _BUILT[name]
    order = list(range(len(dataset)))  # the sampler's order is made in the worker
    random.Random(0).shuffle(order)
    before = private_dirty_kib()
    read_all(name, dataset, order)
    results.put(private_dirty_kib() - before)


_BUILT: dict[str, Any] = {}


def measure_build(name: str, path: str, results: Any) -> None:
    """In a fresh process: build time, memory held, copy-on-read of a forked worker."""
    import torch  # noqa: F401  (imported before measuring, as any training script has)
    import torchvision  # noqa: F401

    gc.collect()
    before = resident_mib()
    started = time.perf_counter()
    dataset = build(name, path)
    seconds = time.perf_counter() - started
    gc.collect()
    held = resident_mib() - before
    _BUILT[name] = dataset
    gc.freeze()  # a worker's collections must not write to every object the parent holds
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_forked_reader, args=(name, queue))
    worker.start()
    copied = queue.get(timeout=1800) / 1024
    worker.join()
    results.put((seconds, held, copied))


def target_rates(path: str, rounds: int, samples: int) -> dict[str, list[float]]:
    import torch
    from PIL import Image
    from torchvision import tv_tensors
    from torchvision.datasets import CocoDetection, wrap_dataset_for_transforms_v2

    from visiondata.datasets import CocoDetectionDataset

    picture = Image.new("RGB", (640, 480))
    tensor = tv_tensors.Image(torch.zeros(3, 480, 640, dtype=torch.uint8))

    class StubbedCoco(CocoDetection):
        def _load_image(self, id: int) -> Image.Image:
            return picture

    with contextlib.redirect_stdout(io.StringIO()):
        theirs = wrap_dataset_for_transforms_v2(
            StubbedCoco(str(Path(path).parent), path), target_keys={"boxes", "labels", "image_id"}
        )
    ours = CocoDetectionDataset(Path(path).parent, path, check_files=False, loader=lambda _path: tensor)
    order = random.Random(1).sample(range(len(ours)), min(samples, len(ours)))
    rates: dict[str, list[float]] = {"torchvision": [], "visiondata": []}
    for _ in range(rounds):
        for name, dataset in (("torchvision", theirs), ("visiondata", ours)):
            started = time.perf_counter()
            for index in order:
                dataset[index]
            rates[name].append(len(order) / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=118_000)
    parser.add_argument("--boxes", type=int, default=685_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--file", default="/tmp/visiondata-bench-coco/instances.json")
    options = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    path = Path(options.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_file(path, options.images, options.boxes)
    from importlib.metadata import version

    import msgspec

    print(
        header(
            options.rounds,
            f"pycocotools {version('pycocotools')}, msgspec {msgspec.__version__}; "
            f"{options.images:,} images, {options.boxes:,} boxes, {path.stat().st_size / 2**20:.0f} MiB JSON; "
            "build, memory and copy-on-read: each reader in a fresh spawned process, once a round",
        )
    )
    context = multiprocessing.get_context("spawn")  # each reader measured in a process of its own
    figures: dict[str, list[tuple[float, float, float]]] = {"torchvision": [], "visiondata": []}
    for _ in range(options.rounds):
        for name in figures:
            queue = context.Queue()
            process = context.Process(target=measure_build, args=(name, str(path), queue))
            process.start()
            figures[name].append(queue.get(timeout=3600))
            process.join()
    medians = {
        name: [statistics.median(values) for values in zip(*rows, strict=True)]
        for name, rows in figures.items()
    }
    labels = ("build, seconds", "resident memory held, MiB", "copy-on-read per forked worker, MiB")
    targets = ("<= 0.7x", "<= 0.2x", "<= 10 MiB")
    for column, (label, target) in enumerate(zip(labels, targets, strict=True)):
        theirs, ours = medians["torchvision"][column], medians["visiondata"][column]
        mine = [row[column] for row in figures["visiondata"]]
        base = [row[column] for row in figures["torchvision"]]
        print(f"\n{label} (median of {options.rounds}), target {target}:")
        print(f"  torchvision CocoDetection   {theirs:10.2f}")
        if target.endswith("x"):  # a ratio to torchvision's
            print(
                f"  visiondata CocoDetectionDataset {ours:10.2f}   "
                f"{ratio_text(mine, base, target.removesuffix('x'))}"
            )
        else:  # an absolute bound, in MiB
            bound = float(target.split()[1])
            print(
                f"  visiondata CocoDetectionDataset {ours:10.2f}   "
                f"(rounds {min(mine):.2f}-{max(mine):.2f}; target {target}: "
                f"{'met' if ours <= bound else 'MISSED'})"
            )
    rates = target_rates(str(path), options.rounds, options.samples)
    print(
        f"\ntarget construction, samples/s (median of {options.rounds}), image decoding stubbed, target >= 2x:"
    )
    print(
        f"  torchvision CocoDetection + wrap_dataset_for_transforms_v2 {statistics.median(rates['torchvision']):10.0f}"
    )
    print(
        f"  visiondata CocoDetectionDataset {statistics.median(rates['visiondata']):10.0f}   "
        f"{ratio_text(rates['visiondata'], rates['torchvision'], '>= 2')}"
    )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

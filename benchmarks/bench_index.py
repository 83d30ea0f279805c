"""Folder index: ``ImageFolderDataset`` versus torchvision's ``ImageFolder`` on 200,000 files.

Both run in one process, alternating rounds, one thread. Three figures:

1. scan: seconds to build the dataset from a 100-class, 200,000-file tree (median, and the
   median and min-max of the per-round ratios; target >= 1.6x faster);
2. pickled size: bytes of ``pickle.dumps(dataset)``, what every spawned worker receives;
3. copy-on-read: memory a forked worker copies from its parent while it reads
   the index of every sample once (one epoch of index access, in random
   order), measured as the growth of the worker's Private_Dirty memory.

Targets: scan >= 1.6x faster, pickled size <= 0.4x, copy-on-read <= 1 MiB.

Usage: ``python benchmarks/bench_index.py [--files 200000] [--classes 100] [--rounds 5] [--tree DIR]``
(the tree of empty files is created once and reused).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import pickle
import random
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from _machine import footer, header, ratio_text, verdict

from visiondata.datasets import ImageFolderDataset


def make_tree(root: Path, files: int, classes: int) -> None:
    marker = root / f".complete-{files}-{classes}"
    if marker.exists():
        return
    per_class = files // classes
    for label in range(classes):
        folder = root / f"class_{label:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            (folder / f"img_{index:06d}.jpg").touch()
    marker.touch()


def private_dirty_kib() -> int:
    with open("/proc/self/smaps_rollup") as stream:
        for line in stream:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty line in /proc/self/smaps_rollup")


def touch_torchvision(dataset: torchvision.datasets.ImageFolder, order: list[int]) -> None:
    for index in order:  # what ImageFolder.__getitem__ does before opening the file
        _path, _target = dataset.samples[index]


def touch_ours(dataset: ImageFolderDataset, order: list[int]) -> None:
    for index in order:  # what ImageFolderDataset.__getitem__ does before opening the file
        _path, _target = dataset.path(index), dataset.target(index)


_FORKED: dict[str, object] = {}


def _worker(name: str, results: multiprocessing.Queue) -> None:
    dataset, touch = _FORKED[name]  # inherited from the parent by fork, as a DataLoader worker
    # The sampler's order is made in the worker: a list built in the parent would itself be
    # copied page by page as the loop touches its int objects.
    order = list(range(len(dataset)))  # type: ignore[arg-type]
    random.Random(0).shuffle(order)
    before = private_dirty_kib()
    touch(dataset, order)  # type: ignore[operator]
    results.put(private_dirty_kib() - before)


def copy_on_read_mib(name: str, dataset: object, touch: Callable) -> float:
    _FORKED[name] = (dataset, touch)
    # Both datasets live in this process; freezing the collector keeps a worker's garbage
    # collections from writing to every object the parent holds (the other dataset included),
    # so each figure is what reading that dataset's index costs.
    gc.freeze()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_worker, args=(name, results))
    process.start()
    grown = results.get(timeout=600)
    process.join()
    return grown / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", default="/tmp/visiondata-bench-index/train")
    options = parser.parse_args()
    torch.set_num_threads(1)
    print(header(options.rounds))
    root = Path(options.tree)
    started = time.perf_counter()
    make_tree(root, options.files, options.classes)
    warnings.filterwarnings("ignore", message=".*hidden entries")  # the tree's completion marker
    print(
        f"tree: {root} ({options.files:,} files, {options.classes} classes; ready in {time.perf_counter() - started:.1f}s)"
    )

    scans: dict[str, list[float]] = {"torchvision ImageFolder": [], "visiondata ImageFolderDataset": []}
    builders = {
        "torchvision ImageFolder": lambda: torchvision.datasets.ImageFolder(str(root)),
        "visiondata ImageFolderDataset": lambda: ImageFolderDataset(root),
    }
    built = {}
    for _ in range(options.rounds):
        for name, build in builders.items():
            begin = time.perf_counter()
            built[name] = build()
            scans[name].append(time.perf_counter() - begin)
    theirs, ours = built["torchvision ImageFolder"], built["visiondata ImageFolderDataset"]
    assert list(ours.samples[:5]) == theirs.samples[:5] and len(ours) == len(theirs)

    sizes = {name: len(pickle.dumps(dataset)) for name, dataset in built.items()}
    growth = {
        "torchvision ImageFolder": copy_on_read_mib("theirs", theirs, touch_torchvision),
        "visiondata ImageFolderDataset": copy_on_read_mib("ours", ours, touch_ours),
    }

    base, mine = scans["torchvision ImageFolder"], scans["visiondata ImageFolderDataset"]
    print(f"\nscan, seconds (median of {options.rounds} rounds):")
    print(f"  torchvision ImageFolder        {statistics.median(base):8.3f}")
    # "Faster": torchvision's seconds over ours, per round.
    print(f"  visiondata ImageFolderDataset  {statistics.median(mine):8.3f}   "
          f"{ratio_text(base, mine, '>= 1.6', word='faster')}")  # fmt: skip
    print("\npickled dataset, MB (one measurement: the size does not vary):")
    ratio = sizes["visiondata ImageFolderDataset"] / sizes["torchvision ImageFolder"]
    print(f"  torchvision ImageFolder        {sizes['torchvision ImageFolder'] / 1e6:8.2f}")
    print(f"  visiondata ImageFolderDataset  {sizes['visiondata ImageFolderDataset'] / 1e6:8.2f}   "
          f"{ratio:.2f}x the size (target <= 0.4x: {verdict(ratio, '<= 0.4')})")  # fmt: skip
    print("\ncopy-on-read growth of one forked worker over one epoch of index reads, MiB (one measurement):")
    print(f"  torchvision ImageFolder        {growth['torchvision ImageFolder']:8.2f}")
    mib = growth["visiondata ImageFolderDataset"]
    print(f"  visiondata ImageFolderDataset  {mib:8.2f}   (target <= 1 MiB: {verdict(mib, '<= 1')})")
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

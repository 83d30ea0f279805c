"""Shards: ``write_shards`` and ``ShardDataset`` against reading the image folder (ours and torchvision's).

A tree of real-size JPEG photos (500x375, quality 90, about 50 KB each:
smooth gradients, a ripple, drawn shapes, a slight blur and sensor-like
noise; 10 class folders) is made once under ``/tmp`` and reused. One
process, one thread (``torch.set_num_threads(1)``, no DataLoader workers),
contenders alternating within each round; medians, with the spread (min-max)
of the per-round ratios. Three figures:

1. write: ``write_shards(ImageFolderDataset(tree), encode="keep")``, images/s
   (every file is decoded once to prove it readable, then copied byte for
   byte); for reference, the same bytes put in a tar by ``tarfile`` alone,
   without and with a ``read_image`` of each first (what ``"keep"`` must do);
2. read + decode to a ``uint8`` ``C x H x W`` tensor, images/s, over the same
   images: ``ShardDataset(shuffle_buffer=0)`` iterated to the end, against
   ``ImageFolderDataset`` (``dataset[i]`` for every ``i``) and torchvision's
   ``ImageFolder`` with its default loader (PIL ``open().convert("RGB")``)
   and ``transforms.PILToTensor()``; the three give equal tensors (checked
   before timing). Targets: shards >= 1.0x our folder, >= 1.2x torchvision's;
3. reader memory: the peak resident size (``VmHWM``, restarted after the
   imports; see :func:`peak_kib`) a fresh process gains while it builds a
   ``ShardDataset`` and iterates it to the end, for shard sets of 10,000 and
   100,000 tiny samples (8x8 PNGs written by ``write_shards`` from a
   synthetic dataset, default ``max_count`` of 10,000 per shard). Target:
   growth(100,000) - growth(10,000) <= 10 MB.

Usage: ``python benchmarks/bench_shards.py [--images 3000] [--classes 10] [--rounds 5]
[--tiny-small 10000] [--tiny-large 100000] [--tiny-max-count 10000] [--folder DIR]`` (``pip install 'visiondata[shards]'``).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from _machine import footer, header
from torch.utils.data import Dataset

SIZE = (375, 500)  # height, width
QUALITY = 90
MB = 1e6


# ---------------------------------------------------------------- data
def photo(seed: int) -> np.ndarray:
    """A natural-looking ``H x W x 3`` photo: gradient, ripple, shapes, slight blur, noise."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    height, width = SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (x * np.cos(angle) + y * np.sin(angle)) / (width + height)
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    base = low + (high - low) * ramp[..., None]
    direction = rng.uniform(-1, 1, 2)
    ripple = np.sin((x * direction[0] + y * direction[1]) / rng.uniform(20, 80) * 2 * np.pi)
    base += rng.uniform(10, 40) * ripple[..., None]
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 9))):
        x0, y0 = rng.uniform(-0.1, 0.9) * width, rng.uniform(-0.1, 0.9) * height
        x1, y1 = x0 + rng.uniform(0.05, 0.5) * width, y0 + rng.uniform(0.05, 0.5) * height
        colour = tuple(int(value) for value in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), (x1, y1), ((x0 + x1) / 2, y0)], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    noise = rng.normal(0, rng.uniform(4, 10), (height, width, 3)).astype(np.float32)
    return np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)


def _save_photo(job: tuple[int, str]) -> None:
    from PIL import Image

    index, path = job
    Image.fromarray(photo(index)).save(path, quality=QUALITY)


def make_photos(root: Path, count: int, classes: int) -> None:
    """``count`` JPEGs in ``classes`` class folders (made once; the marker sits beside the tree)."""
    marker = root.parent / f".{root.name}-complete-{count}-{classes}"
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    jobs = []
    for index in range(count):
        folder = root / f"class_{index % classes:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        jobs.append((index, str(folder / f"photo_{index:05d}.jpg")))
    if count < 500:  # starting the pool's processes would take longer
        for job in jobs:
            _save_photo(job)
    else:
        with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as pool:
            pool.map(_save_photo, jobs, chunksize=16)
    marker.touch()


class TinyImages(Dataset):
    """``count`` samples of an 8x8 ``uint8`` RGB tensor and a class id (``write_shards`` stores PNGs)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.classes = [f"class_{label}" for label in range(10)]
        self.pattern = torch.arange(3 * 8 * 8, dtype=torch.uint8).reshape(3, 8, 8)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.pattern + (index % 251), index % 10


def make_tiny_shards(folder: Path, count: int, max_count: int) -> None:
    marker = folder / f".complete-{count}-{max_count}"
    if marker.exists():
        return
    from visiondata.shards import write_shards

    shutil.rmtree(folder, ignore_errors=True)
    write_shards(
        TinyImages(count),
        folder / "train-%06d.tar",
        max_count=max_count,
        num_workers=min(os.cpu_count() or 1, 4),
    )
    marker.touch()


# ---------------------------------------------------------------- measures
def write_rate(root: Path, out: Path, max_count: int) -> float:
    from visiondata.datasets import ImageFolderDataset
    from visiondata.shards import write_shards

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = write_shards(
        ImageFolderDataset(root), out / "train-%06d.tar", max_count=max_count, encode="keep"
    )
    seconds = time.perf_counter() - started
    assert report.copied == report.count and not report.skipped, report.summary()
    return report.count / seconds


def tar_copy_rate(paths: list[str], out: Path, decode: bool) -> float:
    """The files' bytes into one tar with ``tarfile`` alone, each decoded first if ``decode``; no target member."""
    from visiondata.io import read_image

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tarfile.open(out / "copy.tar", "w") as archive:
        for index, path in enumerate(paths):
            with open(path, "rb") as stream:
                data = stream.read()
            if decode:
                read_image(data)
            info = tarfile.TarInfo(f"{index:09d}.jpg")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    seconds = time.perf_counter() - started
    (out / "copy.tar").unlink()
    return len(paths) / seconds


def iterate_rate(dataset: object) -> float:
    started = time.perf_counter()
    count = sum(1 for _ in dataset)  # type: ignore[attr-defined]
    return count / (time.perf_counter() - started)


def index_rate(dataset: Dataset) -> float:
    started = time.perf_counter()
    for index in range(len(dataset)):  # type: ignore[arg-type]
        dataset[index]
    return len(dataset) / (time.perf_counter() - started)  # type: ignore[arg-type]


def check_equal(shards: object, ours: Dataset, theirs: Dataset, count: int) -> None:
    """The three readers give the same tensors and labels, in the same order."""
    for index, (image, label) in enumerate(shards):  # type: ignore[attr-defined]
        if index == count:
            break
        for name, (other, other_label) in (
            ("ImageFolderDataset", ours[index]),
            ("torchvision", theirs[index]),
        ):
            assert torch.equal(image, other) and label == other_label, f"sample {index} differs from {name}'s"
            assert image.dtype == other.dtype == torch.uint8 and image.shape == other.shape


def peak_kib() -> int:
    """This process's peak resident size so far, KiB: ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` also counts the peak of the process image ``exec`` replaced, here a fork of
    the large benchmark process, so it would hide everything the child does; ``VmHWM`` is the
    child's own and can be restarted (:func:`reset_peak`).
    """
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak() -> bool:
    """Restart the peak resident size from the current one (Linux ``clear_refs``), where allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def rss_child(folder: str) -> None:
    """In a fresh process: peak resident growth while building and iterating a ``ShardDataset``."""
    import gc

    torch.set_num_threads(1)
    from PIL import Image
    from torchvision import tv_tensors  # noqa: F401  (what the first sample would import)
    from webdataset.gopen import gopen  # noqa: F401
    from webdataset.utils import pytorch_worker_info  # noqa: F401

    from visiondata.io import read_image
    from visiondata.shards import ShardDataset, _records  # noqa: F401  (_records: what the first sample imports)

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    read_image(buffer.getvalue())  # loads the decoders
    gc.collect()
    # The imports' own peak (torch's) would hide a smaller growth: restart the peak from here.
    reset = reset_peak()
    before = peak_kib()
    started = time.perf_counter()
    dataset = ShardDataset(folder, split="train", shuffle_buffer=0)
    count = sum(1 for _ in dataset)
    seconds = time.perf_counter() - started
    growth = peak_kib() - before
    print(
        json.dumps(
            {
                "count": count,
                "shards": len(dataset.urls),
                "growth_kib": growth,
                "seconds": seconds,
                "reset": reset,
            }
        )
    )


def reader_growth(folder: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def medians(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, measure in contenders.items():
            rates[name].append(measure())
    return rates


def ratio_text(ours: list[float], theirs: list[float], target: float, what: str = "") -> str:
    ratios = [mine / base for mine, base in zip(ours, theirs, strict=True)]
    median = statistics.median(ratios)
    verdict = "met" if median >= target else "MISSED"
    return (
        f"{median:.3f}x{what} (rounds {min(ratios):.3f}-{max(ratios):.3f}x, target >= {target}x: {verdict})"
    )


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--max-count", type=int, default=1000, help="samples per shard of the photo shards")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny-small", type=int, default=10_000)
    parser.add_argument("--tiny-large", type=int, default=100_000)
    parser.add_argument(
        "--tiny-max-count",
        type=int,
        default=10_000,
        help="samples per shard of the tiny sets (default: write_shards' own)",
    )
    parser.add_argument("--folder", default="/tmp/visiondata-bench-shards")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.rss_child:
        rss_child(options.rss_child)
        return
    import PIL
    import webdataset
    from torchvision import transforms

    from visiondata.datasets import ImageFolderDataset
    from visiondata.shards import ShardDataset

    torch.set_num_threads(1)
    folder = Path(options.folder)
    root = folder / "photos"
    print(
        header(
            options.rounds,
            f"webdataset {webdataset.__version__}, Pillow {PIL.__version__}; 1 process, no DataLoader workers",
        )
    )
    started = time.perf_counter()
    make_photos(root, options.images, options.classes)
    paths = sorted(str(path) for path in root.glob("*/*.jpg"))
    megabytes = sum(os.path.getsize(path) for path in paths) / MB
    print(
        f"photos: {root} ({len(paths):,} JPEGs {SIZE[1]}x{SIZE[0]} quality {QUALITY}, {options.classes} classes, "
        f"{megabytes:.0f} MB, {megabytes * 1e3 / len(paths):.0f} KB each; ready in "
        f"{time.perf_counter() - started:.1f}s)"
    )

    # 1. write
    out = folder / "shards"
    write_rate(root, out, options.max_count)  # warm-up: the files into the page cache, lazy imports
    writes = medians(
        options.rounds,
        {
            "tar": lambda: tar_copy_rate(paths, folder / "tar-copy", decode=False),
            "decode + tar": lambda: tar_copy_rate(paths, folder / "tar-copy", decode=True),
            "write": lambda: write_rate(root, out, options.max_count),
        },
    )
    shards = ShardDataset(out, split="train", shuffle_buffer=0)
    print(f"\nwrite, images/s (median of {options.rounds} rounds; {len(shards.urls)} shards), no target:")
    for key, label in (
        ("tar", "reference: the bytes into a tar (tarfile), no decode"),
        ("decode + tar", "reference: read_image(bytes), then into a tar (tarfile)"),
    ):
        print(f"  {label:<58} {statistics.median(writes[key]):8.1f}")
    ratios = [mine / base for mine, base in zip(writes["write"], writes["decode + tar"], strict=True)]
    label = 'write_shards(ImageFolderDataset, encode="keep")'
    print(
        f"  {label:<58} {statistics.median(writes['write']):8.1f}   "
        f"{statistics.median(ratios):.3f}x decode + tar (rounds {min(ratios):.3f}-{max(ratios):.3f}x; "
        f"{statistics.median(writes['write']) * megabytes / len(paths):.1f} MB/s)"
    )

    # 2. read + decode
    ours = ImageFolderDataset(root)
    theirs = torchvision.datasets.ImageFolder(str(root), transform=transforms.PILToTensor())
    assert len(shards) == len(ours) == len(theirs) == len(paths)
    check_equal(shards, ours, theirs, 20)
    names = {
        "torchvision": "torchvision ImageFolder (PIL loader + PILToTensor)",
        "folder": "visiondata ImageFolderDataset",
        "shards": "visiondata ShardDataset(shuffle_buffer=0)",
    }
    reads = medians(
        options.rounds,
        {
            "torchvision": lambda: index_rate(theirs),
            "folder": lambda: index_rate(ours),
            "shards": lambda: iterate_rate(shards),
        },
    )
    print(f"\nread + decode to uint8 C x H x W tensors, images/s (median of {options.rounds} rounds):")
    for key in ("torchvision", "folder"):
        print(f"  {names[key]:<58} {statistics.median(reads[key]):8.1f}")
    print(
        f"  {names['shards']:<58} {statistics.median(reads['shards']):8.1f}   "
        f"{ratio_text(reads['shards'], reads['folder'], 1.0, ' our folder')}"
    )
    print(f"  {'':<58} {'':8}   {ratio_text(reads['shards'], reads['torchvision'], 1.2, ' torchvision')}")

    # 3. reader memory
    growth = {}
    for count in (options.tiny_small, options.tiny_large):
        tiny = folder / f"tiny-{count}-per-shard-{options.tiny_max_count}"
        begin = time.perf_counter()
        make_tiny_shards(tiny, count, options.tiny_max_count)
        made = time.perf_counter() - begin
        growth[count] = reader_growth(tiny)
        growth[count]["made"] = made
    print(
        "\nreader memory: peak resident growth of a fresh process building a ShardDataset and iterating it, MB:"
    )
    for count, figures in growth.items():
        assert figures["count"] == count, figures
        shards_text = f"{figures['shards']} shard{'s' if figures['shards'] != 1 else ''}"
        label = f"{count:,} samples of 8x8 PNG ({shards_text})"
        print(
            f"  {label:<58} "
            f"{figures['growth_kib'] * 1024 / MB:8.2f}   "
            f"({count / figures['seconds']:,.0f} samples/s; shards ready in {figures['made']:.1f}s)"
        )
    small, large = (
        growth[count]["growth_kib"] * 1024 / MB for count in (options.tiny_small, options.tiny_large)
    )
    print(
        f"  {'difference':<58} {large - small:8.2f}   (target <= 10 MB: {'met' if large - small <= 10 else 'MISSED'})"
    )
    if not all(figures["reset"] for figures in growth.values()):
        print("  (the peak could not be reset after the imports here: growth below their peak is not seen)")
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

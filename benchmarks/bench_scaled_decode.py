"""Decode for the output: JPEG file -> RandomResizedCrop 224 -> flip -> normalised tensor, with a scaled JPEG decode.

Contenders, one thread, one process, alternating within each round (medians, and for each ratio
the median and min-max of the per-round ratios):

- baseline: torchvision ``ImageFolder`` (PIL) with the v1 transforms ``RandomResizedCrop(224)``,
  ``RandomHorizontalFlip()``, ``ToTensor()``, ``Normalize()``;
- ours, exact: ``ImageFolderDataset(..., scaled_decode=False)`` with ``presets.classification_train(224)``
  (full-resolution libjpeg-turbo decode);
- ours, scaled: the same dataset with the default ``scaled_decode``: the crop is drawn on the
  header's size and the JPEG decoded at 1/2, 1/4 or 1/8 scale when the crop keeps at least twice
  the output's pixels per side at that scale.

Targets (issue 21): scaled >= 2.5x torchvision at 0.4 MP and >= 5x at 2 MP.

Quality: for many crops (fixed torch seeds, so the same crop parameters on both paths), the
PSNR of the scaled path's output against the exact path's, on the [0, 1] pixel scale before
normalisation; printed as min, 5th percentile and median over the crops that decoded scaled
(crops at scale 1 are identical), and the share of crops per scale. Stated bound: >= 30 dB.

Where the time goes: the CPU milliseconds per image of each stage (reading the file, the full and the
planned decode, the preset on the full and on the planned image), the same crop on both paths.

Then a ``DataLoader`` with 2 workers (batch 16) over the 2 MP folder: images per second of ours
(scaled), of torchvision's ``ImageFolder`` + v1, and of a decode-only loop of the same files
(``read_image``, full size, no transform: the limit a full decode sets), as ratios.

The photos are the two that scikit-learn ships, resized with Lanczos to about 0.4 and 2
megapixels (as ``bench_pipeline.py`` makes them), JPEG quality 90 (``pip install scikit-learn``).

Usage: ``python benchmarks/bench_scaled_decode.py [--images 48] [--rounds 9] [--crops 64] [--stage-rounds 3]
[--folder DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from _machine import footer, header, ratio_text
from bench_pipeline import make_photos, per_round, throughput
from torchvision import transforms as v1

from visiondata.datasets import ImageFolderDataset
from visiondata.io import read_image
from visiondata.transforms import presets

SIZES = {"0.4MP": (548, 730), "2MP": (1225, 1633)}
TARGETS = {"0.4MP": ">= 2.5", "2MP": ">= 5"}
MEAN = torch.tensor(presets.IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(presets.IMAGENET_STD).view(3, 1, 1)


def baseline_transform() -> v1.Compose:
    return v1.Compose(
        [
            v1.RandomResizedCrop(224),
            v1.RandomHorizontalFlip(),
            v1.ToTensor(),
            v1.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD),
        ]
    )


def psnr(scaled: torch.Tensor, exact: torch.Tensor) -> float:
    """PSNR in dB of two normalised outputs, on the [0, 1] scale of the pixels they came from."""
    error = float(((scaled - exact) * STD).pow(2).mean())
    return float("inf") if error == 0 else 10 * float(np.log10(1.0 / error))


def quality(
    scaled: ImageFolderDataset, exact: ImageFolderDataset, crops: int
) -> tuple[list[float], list[int]]:
    """PSNR of each scaled crop against the exact one (same seed: same crop and flip), and each crop's scale."""
    from visiondata.io import read_planned

    values, scales = [], []
    planner = scaled.transform.decode_plan
    for crop in range(crops):
        index = crop % len(scaled)
        torch.manual_seed(crop)
        planned = read_planned(scaled.path(index), planner)
        scales.append(planned.scale)
        if planned.scale == 1:
            continue  # the exact pixels
        torch.manual_seed(crop)
        ours = scaled[index][0]
        torch.manual_seed(crop)
        values.append(psnr(ours, exact[index][0]))
    return values, scales


class _DecodeOnly(torch.utils.data.Dataset):
    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return read_image(self.paths[index])


def _single_thread(_: int) -> None:
    torch.set_num_threads(1)


def loader_rate(dataset: torch.utils.data.Dataset, batch: int = 16) -> float:
    """Images per second of a 2-worker DataLoader over ``dataset`` (after a first epoch that starts the workers)."""
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        num_workers=2,
        persistent_workers=True,
        worker_init_fn=_single_thread,
        collate_fn=lambda samples: len(samples),
    )
    for _ in loader:  # start the workers
        pass
    started = time.perf_counter()
    count = sum(loader)
    rate = count / (time.perf_counter() - started)
    del loader
    return rate


def stage_times(paths: list[str], rounds: int) -> dict[str, float]:
    """CPU milliseconds per image of each stage, exact and scaled: median over images of the best of ``rounds``.

    The crop parameters are drawn once per image (with the preset's own plan) and used by both paths, so
    the two columns do the same work apart from the decode scale. Two more rows bound what any decode
    plan can reach: the decode at 1/8 (libjpeg-turbo's smallest DCT scale; what is left is mostly the
    Huffman decoding of the whole file, which no scale or crop skips) and torchvision's whole sample.
    """
    import simplejpeg

    from visiondata.io import read_planned
    from visiondata.io._read import read_file

    transform = presets.classification_train(224)
    baseline = baseline_transform()
    loader = torchvision.datasets.folder.default_loader
    best: dict[str, list[float]] = {}

    def timed(name: str, call: Any) -> Any:
        start = time.process_time()
        value = call()
        best.setdefault(name, []).append((time.process_time() - start) * 1000)
        return value

    per_image: dict[str, list[float]] = {}
    for path in paths:
        best.clear()
        for _ in range(rounds):
            timed("read the file (read_file)", lambda path=path: read_file(path))
            timed("decode, full size (read_image)", lambda path=path: read_image(path))
            data = read_file(path)
            timed(
                "decode at 1/8 (the entropy-decoding floor)",
                lambda data=data: simplejpeg.decode_jpeg(data, min_height=1, min_width=1),
            )
            torch.manual_seed(0)
            planned = timed(
                "decode for the output (read_planned)",
                lambda path=path: read_planned(path, transform.decode_plan),
            )
            exact = read_image(path)
            torch.manual_seed(0)  # from the same seed, the preset draws the crop the plan drew
            timed("preset on the full image", lambda exact=exact: transform(exact))
            torch.manual_seed(0)
            timed("preset on the planned image", lambda planned=planned: transform(planned))
            timed("torchvision ImageFolder + v1, whole sample", lambda path=path: baseline(loader(path)))
        for name, values in best.items():
            per_image.setdefault(name, []).append(min(values))
    return {name: statistics.median(values) for name, values in per_image.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--crops", type=int, default=64, help="crops whose PSNR is measured, per size")
    parser.add_argument("--loader-rounds", type=int, default=3)
    parser.add_argument("--folder", default="/tmp/visiondata-bench-scaled")
    parser.add_argument("--stage-rounds", type=int, default=3, help="rounds of the per-stage CPU times")
    options = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*hidden entries")  # the photo folders' completion markers
    import PIL
    import simplejpeg

    print(
        header(
            options.rounds,
            f"Pillow {PIL.__version__}, simplejpeg {simplejpeg.__version__}; {options.images} photos per size, "
            "each read once a round",
        )
    )
    transform = presets.classification_train(224)
    folders = {}
    for label, size in SIZES.items():
        folder = Path(options.folder) / label
        folders[label] = folder
        make_photos(folder, size, options.images)
        scaled = ImageFolderDataset(folder, transform=transform)
        exact = ImageFolderDataset(folder, transform=transform, scaled_decode=False)
        theirs = torchvision.datasets.ImageFolder(str(folder), transform=baseline_transform())
        rates = per_round(
            options.rounds,
            {
                "torchvision ImageFolder + v1 on PIL": lambda theirs=theirs: throughput(theirs),
                "visiondata, exact decode": lambda exact=exact: throughput(exact),
                "visiondata, scaled decode": lambda scaled=scaled: throughput(scaled),
            },
        )
        base, ours_exact, ours_scaled = rates
        print(f"\n{label} photos ({size[1]}x{size[0]}), images/s (median of {options.rounds} rounds):")
        print(f"  {base:<40} {statistics.median(rates[base]):8.1f}")
        print(
            f"  {ours_exact:<40} {statistics.median(rates[ours_exact]):8.1f}   "
            f"{ratio_text(rates[ours_exact], rates[base])} torchvision"
        )
        print(
            f"  {ours_scaled:<40} {statistics.median(rates[ours_scaled]):8.1f}   "
            f"{ratio_text(rates[ours_scaled], rates[base], TARGETS[label])} torchvision"
        )
        print(f"  {'scaled / exact':<40} {'':8}   {ratio_text(rates[ours_scaled], rates[ours_exact])}")
        values, scales = quality(scaled, exact, options.crops)
        shares = ", ".join(
            f"1/{scale}: {scales.count(scale)}" for scale in (1, 2, 4, 8) if scales.count(scale)
        )
        print(f"  crops per decode scale ({len(scales)} crops): {shares}")
        if values:
            print(
                f"  PSNR of scaled against exact over {len(values)} scaled crops: min {min(values):.1f} dB, "
                f"5th percentile {float(np.percentile(values, 5)):.1f} dB, median "
                f"{statistics.median(values):.1f} dB (stated bound >= 30 dB: "
                f"{'met' if min(values) >= 30 else 'MISSED'})"
            )
    print(
        "\nWhere the time goes, CPU ms per image (median over the photos of the best of "
        f"{options.stage_rounds} rounds; the same crop on both paths):"
    )
    stages = {
        label: stage_times(
            [str(path) for path in sorted(folders[label].rglob("*.jpg"))], options.stage_rounds
        )
        for label in SIZES
    }
    print(f"  {'stage':<40} " + " ".join(f"{label:>8}" for label in SIZES))
    for name in stages[next(iter(SIZES))]:
        print(f"  {name:<40} " + " ".join(f"{stages[label][name]:8.2f}" for label in SIZES))
    for label in SIZES:
        factor = float(TARGETS[label].removeprefix(">= "))
        budget = stages[label]["torchvision ImageFolder + v1, whole sample"] / factor
        floor = sum(
            stages[label][name]
            for name in (
                "read the file (read_file)",
                "decode at 1/8 (the entropy-decoding floor)",
                "preset on the planned image",
            )
        )
        print(
            f"  {label}: the {factor:g}x target leaves {budget:.2f} ms per image; reading, the 1/8 decode and "
            f"the preset alone take {floor:.2f} ms"
        )
    folder = folders["2MP"]
    scaled = ImageFolderDataset(folder, transform=transform)
    theirs = torchvision.datasets.ImageFolder(str(folder), transform=baseline_transform())
    decode_only = _DecodeOnly([scaled.path(index) for index in range(len(scaled))])
    rates = per_round(
        options.loader_rounds,
        {
            "torchvision ImageFolder + v1": lambda: loader_rate(theirs),
            "visiondata, scaled decode": lambda: loader_rate(scaled),
            "decode only (read_image, full size)": lambda: loader_rate(decode_only),
        },
    )
    base, ours, limit = rates
    print(
        f"\nDataLoader, 2 workers, batch 16, 2MP photos, images/s (median of {options.loader_rounds} rounds):"
    )
    print(f"  {base:<40} {statistics.median(rates[base]):8.1f}")
    print(f"  {limit:<40} {statistics.median(rates[limit]):8.1f}")
    print(
        f"  {ours:<40} {statistics.median(rates[ours]):8.1f}   {ratio_text(rates[ours], rates[base])} "
        f"torchvision; {ratio_text(rates[ours], rates[limit])} the decode-only loop"
    )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

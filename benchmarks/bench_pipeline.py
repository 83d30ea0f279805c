"""Classification training pipeline: JPEG file -> RandomResizedCrop 224 -> flip -> normalised float tensor.

Ours: ``ImageFolderDataset`` (libjpeg-turbo decode straight to a uint8 tensor)
with ``presets.classification_train(224)`` (torchvision v2 on uint8, float only
for the final crop). Baseline: torchvision ``ImageFolder`` (PIL) with the v1
transforms ``RandomResizedCrop(224)``, ``RandomHorizontalFlip()``,
``ToTensor()``, ``Normalize()``. Also the decode-only ceiling (PIL
``open().convert("RGB")`` versus ``read_image``). One thread, one process,
contenders alternating within each round; medians, and for each ratio the
median and min-max of the per-round ratios. Target: the pipeline at least
1.5x torchvision's at both sizes.

The photos are the two that scikit-learn ships (``load_sample_images``,
427x640), cropped, flipped and resized with Lanczos to about 0.4 and 0.8
megapixels, saved as JPEG quality 90 (``pip install scikit-learn``).

Before timing, the script checks that our output equals torchvision v2's
``resized_crop`` of PIL's decode for the same crop parameters.

Usage: ``python benchmarks/bench_pipeline.py [--images 48] [--rounds 9] [--folder DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from _machine import footer, header, ratio_text
from PIL import Image
from torchvision import transforms as v1
from torchvision.transforms import v2

from visiondata.datasets import ImageFolderDataset
from visiondata.io import read_image
from visiondata.transforms import presets

SIZES = {"0.4MP": (548, 730), "0.8MP": (775, 1032)}
TARGET = ">= 1.5"


def make_photos(folder: Path, size: tuple[int, int], count: int) -> None:
    marker = folder / f".complete-{count}"
    if marker.exists():
        return
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(array) for array in load_sample_images().images]
    rng = np.random.default_rng(0)
    height, width = size
    for index in range(count):
        photo = photos[index % len(photos)]
        # A random crop of 80-100% of the photo, possibly mirrored, resized to the target size.
        scale = rng.uniform(0.8, 1.0)
        crop_w, crop_h = int(photo.width * scale), int(photo.height * scale)
        left, top = (
            int(rng.integers(0, photo.width - crop_w + 1)),
            int(rng.integers(0, photo.height - crop_h + 1)),
        )
        image = photo.crop((left, top, left + crop_w, top + crop_h)).resize((width, height), Image.LANCZOS)
        if index % 3 == 0:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        target = folder / f"class_{index % 4}" / f"photo_{index:04d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, quality=90)
    marker.touch()


def check_identical(dataset: ImageFolderDataset) -> None:
    """Our decode + v2 resized_crop equals v2 resized_crop of PIL's decode, for fixed crop parameters."""
    path = dataset.path(0)
    ours = read_image(path)
    theirs = v2.functional.pil_to_tensor(Image.open(path).convert("RGB"))
    assert torch.equal(ours, theirs), "decoded pixels differ from PIL's"
    for top, left, height, width in [
        (10, 20, 300, 400),
        (0, 0, ours.shape[1], ours.shape[2]),
        (50, 7, 123, 321),
    ]:
        a = v2.functional.resized_crop(ours, top, left, height, width, [224, 224], antialias=True)
        b = v2.functional.resized_crop(theirs, top, left, height, width, [224, 224], antialias=True)
        assert torch.equal(a, b), "crop output differs"


def throughput(dataset: torch.utils.data.Dataset) -> float:
    started = time.perf_counter()
    for index in range(len(dataset)):
        dataset[index]
    return len(dataset) / (time.perf_counter() - started)


def decode_rate(paths: list[str], decode: Callable[[str], object]) -> float:
    started = time.perf_counter()
    for path in paths:
        decode(path)
    return len(paths) / (time.perf_counter() - started)


def per_round(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, measure in contenders.items():
            results[name].append(measure())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--folder", default="/tmp/visiondata-bench-photos")
    options = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*hidden entries")  # the photo folders' completion markers
    baseline_transform = v1.Compose(
        [
            v1.RandomResizedCrop(224),
            v1.RandomHorizontalFlip(),
            v1.ToTensor(),
            v1.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD),
        ]
    )
    import PIL

    print(
        header(
            options.rounds,
            f"Pillow {PIL.__version__}; {options.images} photos per size, each read once a round",
        )
    )
    for label, size in SIZES.items():
        folder = Path(options.folder) / label
        make_photos(folder, size, options.images)
        ours = ImageFolderDataset(folder, transform=presets.classification_train(224))
        theirs = torchvision.datasets.ImageFolder(str(folder), transform=baseline_transform)
        check_identical(ours)
        paths = [ours.path(index) for index in range(len(ours))]
        rates = per_round(
            options.rounds,
            {
                "pipeline: torchvision ImageFolder + v1 on PIL": lambda theirs=theirs: throughput(theirs),
                "pipeline: visiondata ImageFolderDataset + preset": lambda ours=ours: throughput(ours),
                "decode only: PIL open().convert('RGB')": lambda paths=paths: decode_rate(
                    paths, lambda p: np.asarray(Image.open(p).convert("RGB"))
                ),
                "decode only: visiondata read_image": lambda paths=paths: decode_rate(paths, read_image),
            },
        )
        names = list(rates)
        print(f"\n{label} photos ({size[1]}x{size[0]}), images/s (median of {options.rounds} rounds):")
        for baseline, contender, target in ((names[0], names[1], TARGET), (names[2], names[3], None)):
            print(f"  {baseline:<52} {statistics.median(rates[baseline]):8.1f}")
            print(
                f"  {contender:<52} {statistics.median(rates[contender]):8.1f}   "
                f"{ratio_text(rates[contender], rates[baseline], target)}"
            )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

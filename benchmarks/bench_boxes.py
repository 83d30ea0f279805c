"""Box-aware augmentation: BoxPipeline on each backend against albumentations and torchvision v2 called directly.

Real photos (scikit-learn's two sample photos, cropped, flipped and resized
as in ``bench_pipeline.py``) with 10 boxes each, decoded once; one thread
(torch and OpenCV), one process, contenders alternating within each round.

Pipelines:

1. ``RandomResizedCrop`` 512 + horizontal flip + ``Normalize``:
   - albumentations ``Compose`` with ``BboxParams`` (Pascal VOC boxes, a label field), on an ``H x W x 3`` array;
   - ``BoxPipeline(backend="albumentations")`` on the same array;
   - torchvision v2 ``Compose`` + ``ToDtype`` + ``Normalize`` + ``SanitizeBoundingBoxes`` on ``tv_tensors``;
   - ``BoxPipeline(backend="torchvision")`` on the same ``tv_tensors``.
2. ``RandomIoUCrop`` (SSD) + ``Resize`` 512 + flip, and the crop alone: torchvision v2
   (+ ``SanitizeBoundingBoxes``) against ``BoxPipeline(backend="torchvision")``.

Each round times every contender over all photos; the script prints the
median images/s, the median ratio and the spread (min-max) of the per-round
ratios. Targets: albumentations backend >= 0.95x albumentations; torchvision
backend >= 1.2x torchvision v2; IoU crop >= 1.5x torchvision's.

Usage: ``python benchmarks/bench_boxes.py [--images 24] [--rounds 9] [--folder DIR]``
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
from _machine import footer, header, ratio_text
from torchvision import tv_tensors
from torchvision.transforms import v2

from visiondata.io import read_image
from visiondata.transforms import BoxPipeline
from visiondata.transforms.presets import IMAGENET_MEAN, IMAGENET_STD

BOXES_PER_IMAGE = 10
SIZE = (548, 730)  # about 0.4 megapixels, as in bench_pipeline.py


def make_photos(folder: Path, count: int) -> list[Path]:
    """``count`` JPEG photos made from scikit-learn's two sample photos (random crops, some mirrored)."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"photo_{index:04d}.jpg" for index in range(count)]
    if all(path.is_file() for path in paths):
        return paths
    photos = [Image.fromarray(array) for array in load_sample_images().images]
    rng = np.random.default_rng(0)
    height, width = SIZE
    for index, path in enumerate(paths):
        photo = photos[index % len(photos)]
        scale = rng.uniform(0.8, 1.0)
        crop_w, crop_h = int(photo.width * scale), int(photo.height * scale)
        left = int(rng.integers(0, photo.width - crop_w + 1))
        top = int(rng.integers(0, photo.height - crop_h + 1))
        image = photo.crop((left, top, left + crop_w, top + crop_h)).resize((width, height), Image.LANCZOS)
        if index % 3 == 0:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        image.save(path, quality=90)
    return paths


def random_boxes(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Ten boxes of 5-40% of each side, inside the image."""
    sizes = rng.uniform(0.05, 0.4, (BOXES_PER_IMAGE, 2)) * (width, height)
    corners = rng.uniform(0, 1, (BOXES_PER_IMAGE, 2)) * ((width, height) - sizes)
    return np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)


def timed(calls: list[Callable[[], object]]) -> float:
    started = time.perf_counter()
    for call in calls:
        call()
    return len(calls) / (time.perf_counter() - started)


def compare(
    title: str,
    rounds: int,
    pairs: list[tuple[str, list[Callable[[], object]], str, list[Callable[[], object]], float]],
) -> list[str]:
    """Time each (baseline, contender) pair, alternating; print medians, ratios and their spread."""
    rates: dict[str, list[float]] = {}
    for call_list in [calls for pair in pairs for calls in (pair[1], pair[3])]:
        call_list[0]()  # warm-up: first calls build caches and import lazily
    for _ in range(rounds):
        for baseline, baseline_calls, contender, contender_calls, _target in pairs:
            rates.setdefault(baseline, []).append(timed(baseline_calls))
            rates.setdefault(contender, []).append(timed(contender_calls))
    lines = [f"\n{title}, images/s (median of {rounds} rounds):"]
    for baseline, _, contender, _, target in pairs:
        lines.append(f"  {baseline:<58} {statistics.median(rates[baseline]):8.1f}")
        lines.append(
            f"  {contender:<58} {statistics.median(rates[contender]):8.1f}   "
            f"{ratio_text(rates[contender], rates[baseline], f'>= {target}')}"
        )
    print("\n".join(lines))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--folder", default="/tmp/visiondata-bench-box-photos")
    options = parser.parse_args()
    import albumentations as A  # noqa: N812 (albumentations' own convention)
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    print(
        header(
            options.rounds,
            f"albumentations {A.__version__}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} thread); "
            f"{options.images} photos {SIZE[1]}x{SIZE[0]}, {BOXES_PER_IMAGE} boxes each",
        )
    )
    paths = make_photos(Path(options.folder), options.images)
    rng = np.random.default_rng(0)
    tensors = [read_image(path) for path in paths]
    arrays = [np.ascontiguousarray(tensor.permute(1, 2, 0).numpy()) for tensor in tensors]
    boxes = [random_boxes(rng, *tensor.shape[-2:]) for tensor in tensors]
    labels = [np.arange(1, BOXES_PER_IMAGE + 1, dtype=np.int64) for _ in tensors]
    tv_samples = [
        (
            tv_tensors.Image(tensor),
            {
                "boxes": tv_tensors.BoundingBoxes(
                    torch.from_numpy(box), format="XYXY", canvas_size=tuple(tensor.shape[-2:])
                ),
                "labels": torch.from_numpy(label),
            },
        )
        for tensor, box, label in zip(tensors, boxes, labels, strict=True)
    ]

    raw_albumentations = A.Compose(
        [A.RandomResizedCrop(size=(512, 512)), A.HorizontalFlip(), A.Normalize(IMAGENET_MEAN, IMAGENET_STD)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        seed=0,
    )
    spec = [
        {"name": "RandomResizedCrop", "size": 512},
        {"name": "HorizontalFlip", "p": 0.5},
        {"name": "Normalize", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
    ]
    ours_albumentations = BoxPipeline(spec, backend="albumentations", seed=0)
    raw_torchvision = v2.Compose(
        [
            v2.RandomResizedCrop(512, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            v2.SanitizeBoundingBoxes(),
        ]
    )
    ours_torchvision = BoxPipeline(spec, backend="torchvision", seed=0)
    compare(
        "RandomResizedCrop 512 + flip + Normalize",
        options.rounds,
        [
            (
                "albumentations Compose + BboxParams",
                [
                    lambda a=a, b=b, n=n: raw_albumentations(image=a, bboxes=b, labels=n)
                    for a, b, n in zip(arrays, boxes, labels, strict=True)
                ],
                "BoxPipeline(backend='albumentations')",
                [
                    lambda a=a, b=b, n=n: ours_albumentations({"image": a, "boxes": b, "labels": n})
                    for a, b, n in zip(arrays, boxes, labels, strict=True)
                ],
                0.95,
            ),
            (
                "torchvision v2 Compose + SanitizeBoundingBoxes",
                [lambda s=s: raw_torchvision(*s) for s in tv_samples],
                "BoxPipeline(backend='torchvision')",
                [lambda s=s: ours_torchvision(*s) for s in tv_samples],
                1.2,
            ),
        ],
    )

    iou_pipeline = v2.Compose(
        [
            v2.RandomIoUCrop(),
            v2.Resize((512, 512), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.SanitizeBoundingBoxes(),
        ]
    )
    iou_crop = v2.Compose([v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes()])
    ours_iou_pipeline = BoxPipeline(
        ["RandomIoUCrop", {"name": "Resize", "size": [512, 512]}, {"name": "HorizontalFlip", "p": 0.5}],
        seed=0,
    )
    ours_iou_crop = BoxPipeline(["RandomIoUCrop"], seed=0)
    compare(
        "RandomIoUCrop (SSD)",
        options.rounds,
        [
            (
                "torchvision v2 RandomIoUCrop + Resize 512 + flip + Sanitize",
                [lambda s=s: iou_pipeline(*s) for s in tv_samples],
                "BoxPipeline: RandomIoUCrop + Resize 512 + flip",
                [lambda s=s: ours_iou_pipeline(*s) for s in tv_samples],
                1.5,
            ),
            (
                "torchvision v2 RandomIoUCrop + SanitizeBoundingBoxes",
                [lambda s=s: iou_crop(*s) for s in tv_samples],
                "BoxPipeline: RandomIoUCrop",
                [lambda s=s: ours_iou_crop(*s) for s in tv_samples],
                1.5,
            ),
        ],
    )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

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
2. albumentations' own transforms, a detection pipeline (``RandomResizedCrop`` 512, ``HorizontalFlip``,
   ``RandomBrightnessContrast``, ``HueSaturationValue``, ``MotionBlur``): ``albumentations.Compose`` with
   ``BboxParams`` against ``BoxPipeline`` naming them ``"albumentations.<Name>"``. The three photometric
   transforms have ``p=1`` on both sides, so that both do the same work on every call (with ``p=0.5``
   which of them run differs between the two random streams, a few percent of noise per round).
3. Composition: each backend's pipeline (2 on albumentations, 1's portable one on torchvision) flat
   against the same steps wrapped in ``Sequential(p=1)`` nodes (one nested) and a ``OneOf`` of one child
   with ``p=1``, and against itself (a control: the noise), on the photos and on 96x72 thumbnails
   (cropped to 64, where the children cost little). Both pipelines of a pair draw the same crops and
   flips for a photo (checked: the same boxes come out) and run call by call, alternating; besides the
   ratio, the script prints the per-sample difference in microseconds (per round the median over the
   photos; then the median over rounds, with its min-max). These pairs are timed in CPU time (of the one
   thread everything runs on), which leaves out the waits that other work on a shared machine causes,
   over twice the rounds (18 by default): the differences sought are small.
4. ``RandomIoUCrop`` (SSD) + ``Resize`` 512 + flip, and the crop alone: torchvision v2
   (+ ``SanitizeBoundingBoxes``) against ``BoxPipeline(backend="torchvision")``.
5. The kernel-dominated case on the same parameters: 1's pipeline on the torchvision backend, and the
   same with ``LongestMaxSize`` 640 instead of the crop, against torchvision v2's ``Compose``
   replaying, photo by photo, the resize and flip that ``BoxPipeline`` drew (v2's own
   ``RandomResizedCrop`` with its window given, or ``Resize`` to the size ours computed;
   ``RandomHorizontalFlip(p=1)`` where ours flipped), so that both resize the same windows: the ratio
   measures the path, not the luck of the draw (in 1, each draws its own crops, and a round's crops
   decide much of its time). On uint8 photos as decoded (channels-last memory), the same as contiguous
   ``C x H x W`` tensors, and as float32 in [0, 1]. Before timing, the script checks that both give the
   same pixels (the largest difference printed: float32 rounding of the fused normalisation) and the
   same boxes. Timed call by call, alternating, in CPU time (as 3), which leaves out the waits that
   other work on a shared machine causes. The ratio depends on the memory allocator: each sample's
   output is freed before the next call here, and whether glibc hands that memory back (or returns it
   to the system, so that the next sample's buffers fault their pages in again) moves both contenders'
   times by a third; a ``DataLoader`` keeps a batch of outputs alive, so every large buffer is new
   there, and the path with fewer buffers gains. ``MALLOC_MMAP_THRESHOLD_=131072`` models that
   regime, ``MALLOC_TRIM_THRESHOLD_=2000000000 MALLOC_MMAP_THRESHOLD_=1000000000`` the opposite one.

Each round times every contender over all photos; the script prints the
median images/s, the median ratio and the spread (min-max) of the per-round
ratios. Targets: albumentations backend >= 0.95x albumentations (portable and
own transforms); torchvision backend >= 1.2x torchvision v2 (in 1, and in 5 on uint8 photos); composition
within 2% or 20 us per sample of the flat pipeline; IoU crop >= 1.5x
torchvision's.

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
#: The photos' size (height, width) in the composition benchmark's second part, and its crop's side.
THUMBNAIL = (72, 96)
THUMBNAIL_CROP = 64


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


def timed_pair(
    first: list[Callable[[], object]], second: list[Callable[[], object]]
) -> tuple[float, float, list[float]]:
    """Two call lists run call by call, alternating which of the two goes first, timed in CPU time.

    Returns the two rates (calls per CPU second of this thread) and, for each pair of calls, the
    second's CPU time minus the first's in microseconds. CPU time leaves out the time the thread waits
    while other work on a shared machine runs, and the two calls of a pair run back to back; the median
    of these differences resolves a few microseconds per call, which wall-clock rates of whole rounds
    (`timed`) leave in their noise. (Every library here runs on this one thread: one torch and one
    OpenCV thread.)
    """
    spent = [0.0, 0.0]
    differences = []
    clock = time.thread_time
    for index, calls in enumerate(zip(first, second, strict=True)):
        took = [0.0, 0.0]
        for slot in (0, 1) if index % 2 == 0 else (1, 0):
            started = clock()
            calls[slot]()
            took[slot] = clock() - started
        spent[0] += took[0]
        spent[1] += took[1]
        differences.append((took[1] - took[0]) * 1e6)
    return len(first) / spent[0], len(second) / spent[1], differences


#: Composition's target: the wrapped pipeline within this fraction, or this many microseconds, of the flat.
COMPOSITION_FRACTION = 0.02
COMPOSITION_MICROSECONDS = 20.0


def compare(
    title: str,
    rounds: int,
    pairs: list[tuple[str, list[Callable[[], object]], str, list[Callable[[], object]], float | None]],
    per_sample: bool = False,
    controls: frozenset[str] = frozenset(),
    cpu_time: bool = False,
) -> list[str]:
    """Time each (baseline, contender) pair, alternating; print medians, ratios and their spread.

    Each round times the baseline's calls, then the contender's (labels must be unique). A pair's
    target ``None`` prints the ratio without a verdict. ``per_sample`` alternates the two call by call
    instead, in CPU time (`timed_pair`), and adds under each contender the per-sample difference in
    microseconds (contender minus baseline on the same photo: per round the median over the photos,
    taken for each order of the two calls and averaged, then the median over rounds with its min-max),
    judged against the composition target (`COMPOSITION_FRACTION` or `COMPOSITION_MICROSECONDS`),
    except for the contenders in ``controls``: the same pipeline as their baseline, whose difference
    is the noise. ``cpu_time`` alternates call by call in CPU time too, without the per-sample lines.
    """
    rates: dict[str, list[float]] = {}
    differences: dict[str, list[float]] = {}  # per round: the per-call difference (its median), in us
    for call_list in [calls for pair in pairs for calls in (pair[1], pair[3])]:
        call_list[0]()  # warm-up: first calls build caches and import lazily
    for _ in range(rounds):
        for baseline, baseline_calls, contender, contender_calls, _target in pairs:
            if cpu_time and not per_sample:
                baseline_rate, contender_rate, _ = timed_pair(baseline_calls, contender_calls)
            elif per_sample:
                baseline_rate, contender_rate, paired = timed_pair(baseline_calls, contender_calls)
                # The call that runs second in a pair finds the photo in cache: the median of each order
                # separately, averaged, cancels that (one median of both would fall anywhere between them).
                differences.setdefault(contender, []).append(
                    (statistics.median(paired[0::2]) + statistics.median(paired[1::2])) / 2
                )
            else:
                baseline_rate, contender_rate = timed(baseline_calls), timed(contender_calls)
            rates.setdefault(baseline, []).append(baseline_rate)
            rates.setdefault(contender, []).append(contender_rate)
    unit = "images per CPU second" if per_sample or cpu_time else "images/s"
    lines = [f"\n{title}, {unit} (median of {rounds} rounds):"]
    for baseline, _, contender, _, target in pairs:
        lines.append(f"  {baseline:<58} {statistics.median(rates[baseline]):8.1f}")
        lines.append(
            f"  {contender:<58} {statistics.median(rates[contender]):8.1f}   "
            f"{ratio_text(rates[contender], rates[baseline], None if target is None else f'>= {target}')}"
        )
        if per_sample:
            judged = contender not in controls
            lines.append(f"    {per_sample_text(differences[contender], rates[baseline], judged)}")
    print("\n".join(lines))
    return lines


def per_sample_text(differences: list[float], baseline_rates: list[float], judged: bool = True) -> str:
    """``"cost per sample: +3.1 us, +0.2% (rounds -5.0 to +8.0 us); target ...: met"``.

    ``differences``: per round, the median over the round's photos of the contender's time minus the
    baseline's on the same photo (`timed_pair`), in microseconds; the percentage is of the baseline's
    median time per sample. Not ``judged``: a noise control, labelled as such, without a verdict.
    """
    median = statistics.median(differences)
    fraction = median / (1e6 / statistics.median(baseline_rates))
    text = (
        f"{'cost per sample' if judged else 'noise (same pipeline)'}: {median:+.1f} us, {fraction:+.1%} "
        f"(rounds {min(differences):+.1f} to {max(differences):+.1f} us)"
    )
    if not judged:
        return text
    met = abs(median) < COMPOSITION_MICROSECONDS or abs(fraction) < COMPOSITION_FRACTION
    target = f"< {COMPOSITION_FRACTION:.0%} or < {COMPOSITION_MICROSECONDS:.0f} us"
    return f"{text}; target {target}: {'met' if met else 'MISSED'}"


def wrapped(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    """``steps`` wrapped in composition nodes that always run them all.

    ``Sequential(p=1)`` nodes (one of them nested) and, last, a ``OneOf(p=1)`` of the last step alone.
    The ``OneOf`` comes last so that its draw (which child) moves only the draws of the step it wraps.
    """
    *head, last = steps
    nodes: list[dict[str, object]] = []
    if len(head) > 2:
        nodes.append({"name": "Sequential", "p": 1.0, "transforms": head[:2]})
        head = head[2:]
    nodes.append(
        {"name": "Sequential", "p": 1.0, "transforms": [{"name": "Sequential", "p": 1.0, "transforms": head}]}
    )
    nodes.append({"name": "OneOf", "p": 1.0, "transforms": [last]})
    return nodes


def check_same_boxes(
    first: list[Callable[[], object]], second: list[Callable[[], object]], what: str
) -> None:
    """Raise unless each call of ``first`` returns the boxes the same call of ``second`` does.

    The two pipelines of a composition pair must do the same work for the difference to be the nodes' cost.
    """
    for index, (one, other) in enumerate(zip(first, second, strict=True)):
        ours, theirs = one()[1], other()[1]  # type: ignore[index]
        ours, theirs = (out["boxes"] if isinstance(out, dict) else out[1]["boxes"] for out in (ours, theirs))
        if not np.array_equal(np.asarray(ours), np.asarray(theirs)):
            raise RuntimeError(f"{what}: photo {index}: the composed pipeline moved the boxes differently")


def composition(
    title: str,
    rounds: int,
    own_spec: list[dict[str, object]],
    portable_spec: list[dict[str, object]],
    own_samples: list[tuple[object, ...]],
    tv_samples: list[tuple[object, ...]],
) -> list[str]:
    """The per-sample cost of composition: each backend's pipeline flat against `wrapped` and itself.

    The second pair of each backend (the pipeline against an identical one) measures the noise.
    ``own_spec`` (albumentations' own transforms) runs on the albumentations backend, ``portable_spec``
    on the torchvision backend. All pipelines are built with ``seed=None`` and called through `seeded`,
    so the two of a pair draw the same crops and flips for the same photo and do the same work.
    """

    def calls(steps: list[dict[str, object]], backend: str) -> list[Callable[[], object]]:
        return seeded(
            BoxPipeline(steps, backend=backend), own_samples if backend == "albumentations" else tv_samples
        )

    pairs: list[tuple[str, list[Callable[[], object]], str, list[Callable[[], object]], float | None]] = []
    controls = set()
    for backend, steps, what in (
        ("albumentations", own_spec, "own transforms"),
        ("torchvision", portable_spec, "portable"),
    ):
        label = f"{backend} backend ({what})"
        flat, composed = calls(steps, backend), calls(wrapped(steps), backend)
        check_same_boxes(flat, composed, label)
        pairs.append((f"{label}, flat", flat, f"{label}, composed", composed, None))
        pairs.append(
            (
                f"{label}, flat (control)",
                calls(steps, backend),
                f"{label}, flat again",
                calls(steps, backend),
                None,
            )
        )
        controls.add(f"{label}, flat again")
    return compare(title, rounds, pairs, per_sample=True, controls=frozenset(controls))


def seeded(pipeline: BoxPipeline, samples: list[tuple[object, ...]]) -> list[Callable[[], object]]:
    """Calls of ``pipeline`` (built with ``seed=None``) on each sample, seeded by the sample's index.

    A pipeline without a seed draws each call's streams from torch's default (CPU) generator, seeded here
    directly: ``torch.manual_seed`` would also seed CUDA on a CUDA build (about 110 us a call, against 1).
    """
    generator = torch.default_generator
    return [
        lambda index=index, sample=sample: (generator.manual_seed(index), pipeline(*sample))
        for index, sample in enumerate(samples)
    ]


class ReplayedResizedCrop(v2.RandomResizedCrop):
    """torchvision v2's ``RandomResizedCrop`` cutting a given window: v2's whole per-call path, our draw.

    ``window`` is ``{"top", "left", "height", "width"}`` (what v2's ``make_params`` returns), taken from
    the crop ``BoxPipeline`` drew for the same photo.
    """

    def __init__(self, size: int, window: dict[str, int]) -> None:
        super().__init__(size, antialias=True)
        self.window = window

    def make_params(self, flat_inputs: list[object]) -> dict[str, int]:
        return dict(self.window)


def replay_draws(
    pipeline: BoxPipeline, samples: list[tuple[object, ...]], first: Callable[[dict[str, object]], object]
) -> list[v2.Compose]:
    """For each sample, a v2 ``Compose`` that resizes and flips as ``pipeline`` does on it through `seeded`.

    ``pipeline`` is a portable resizing step, ``HorizontalFlip`` and ``Normalize``; its two first steps'
    parameters are recorded (the flip's ``get_params`` runs only when the step does) on one `seeded`
    pass, which later passes repeat. ``first`` makes v2's transform for the resizing step's parameters.
    """
    resizing, flip = (step.transform for step in pipeline._steps[:2])  # the bench knows the pipeline's steps
    drawn: list[dict[str, object]] = []

    def resizing_params(*args: object) -> dict[str, object]:
        params = type(resizing).get_params(resizing, *args)
        drawn.append({"resize": params})
        return params

    def flip_params(*args: object) -> dict[str, object]:
        drawn[-1]["flip"] = True
        return {}

    resizing.get_params, flip.get_params = resizing_params, flip_params  # instance attributes, deleted below
    try:
        for call in seeded(pipeline, samples):
            call()
    finally:
        del resizing.get_params, flip.get_params
    return [
        v2.Compose(
            [
                first(params["resize"]),  # type: ignore[arg-type]
                *([v2.RandomHorizontalFlip(p=1.0)] if params.get("flip") else []),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
                v2.SanitizeBoundingBoxes(),
            ]
        )
        for params in drawn
    ]


def replayed_crop(params: dict[str, object]) -> v2.Transform:
    top, left, height, width = params["crop"]  # type: ignore[misc]
    return ReplayedResizedCrop(512, {"top": top, "left": left, "height": height, "width": width})


def replayed_resize(params: dict[str, object]) -> v2.Transform:
    return v2.Resize(list(params["size"]), antialias=True)  # type: ignore[call-overload]


def check_same_output(ours: list[Callable[[], object]], theirs: list[Callable[[], object]], what: str) -> str:
    """Raise unless both give images of one shape and the same boxes; the largest pixel difference, as text.

    v2's ``SanitizeBoundingBoxes`` also drops boxes under 1 pixel wide or high, which ``BoxPipeline``
    (``min_size=0``) keeps: ours are compared after the same rule.
    """
    largest = 0.0
    for index, (one, other) in enumerate(zip(ours, theirs, strict=True)):
        (image, target), (their_image, their_target) = one()[1], other()  # type: ignore[index,misc]
        if image.shape != their_image.shape:
            raise RuntimeError(
                f"{what}: photo {index}: images of shapes {image.shape} and {their_image.shape}"
            )
        largest = max(largest, (image - their_image).abs().max().item())
        boxes = target["boxes"].as_subclass(torch.Tensor)
        sides = boxes[:, 2:] - boxes[:, :2]
        boxes = boxes[(sides >= 1).all(dim=1)]
        their_boxes = their_target["boxes"].as_subclass(torch.Tensor)
        if boxes.shape != their_boxes.shape or not torch.allclose(boxes, their_boxes, atol=1e-3):
            raise RuntimeError(f"{what}: photo {index}: the boxes differ from v2's on the same parameters")
    if largest > 1e-5:
        raise RuntimeError(f"{what}: the pixels differ from v2's by up to {largest:.3g}")
    return f"same boxes; pixels within {largest:.1e} of v2's (float32 rounding of the fused normalisation)"


def kernel_dominated(rounds: int, tv_samples: list[tuple[object, ...]]) -> list[str]:
    """Section 5: the torchvision backend against v2 replaying its draws, on three input layouts."""
    normalize = {"name": "Normalize", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    flip = {"name": "HorizontalFlip", "p": 0.5}
    cases = [
        ("RandomResizedCrop 512", {"name": "RandomResizedCrop", "size": 512}, replayed_crop),
        ("LongestMaxSize 640", {"name": "LongestMaxSize", "max_size": 640}, replayed_resize),
    ]
    variants = {
        "uint8, channels-last": lambda image: image,
        "uint8, contiguous": lambda image: image.contiguous(),
        "float32": functional_to_float,
    }
    lines = []
    for title, resizing, first in cases:
        ours = BoxPipeline([resizing, flip, normalize], backend="torchvision")
        pairs: list[
            tuple[str, list[Callable[[], object]], str, list[Callable[[], object]], float | None]
        ] = []
        checks = []
        for name, convert in variants.items():
            samples = [
                (tv_tensors.Image(convert(image.as_subclass(torch.Tensor))), target)
                for image, target in tv_samples
            ]
            ours_calls = seeded(ours, samples)
            their_calls = [
                lambda c=c, s=s: c(*s)
                for c, s in zip(replay_draws(ours, samples, first), samples, strict=True)
            ]
            checks.append(f"  {name}: {check_same_output(ours_calls, their_calls, f'{title}, {name}')}")
            pairs.append(
                (
                    f"torchvision v2, same draws ({name})",
                    their_calls,
                    f"BoxPipeline(backend='torchvision') ({name})",
                    ours_calls,
                    1.2 if name.startswith("uint8") else None,
                )
            )
        print("\n".join([f"\nKernel-dominated, {title}: the same parameters on both sides", *checks]))
        lines += compare(
            f"Kernel-dominated: {title} + flip + Normalize, same draws", rounds, pairs, cpu_time=True
        )
    return lines


def functional_to_float(image: torch.Tensor) -> torch.Tensor:
    return v2.functional.to_dtype(image, torch.float32, scale=True).contiguous()


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

    # albumentations' own transforms, named "albumentations.<Name>": a detection pipeline.
    raw_own = A.Compose(
        [
            A.RandomResizedCrop(size=(512, 512)),
            A.HorizontalFlip(),
            A.RandomBrightnessContrast(p=1.0),
            A.HueSaturationValue(p=1.0),
            A.MotionBlur(blur_limit=(5, 5), p=1.0),
        ],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        seed=0,
    )
    crop_flip = [
        {"name": "albumentations.RandomResizedCrop", "size": [512, 512]},
        {"name": "albumentations.HorizontalFlip", "p": 0.5},
    ]
    colour = [
        {"name": "albumentations.RandomBrightnessContrast", "p": 1.0},
        {"name": "albumentations.HueSaturationValue", "p": 1.0},
    ]
    # One kernel size: its cost grows with the size, and the composed pipeline below draws it differently.
    blur = {"name": "albumentations.MotionBlur", "blur_limit": [5, 5], "p": 1.0}
    own_spec = [*crop_flip, *colour, blur]
    ours_own = BoxPipeline(own_spec, backend="albumentations", seed=0)
    compare(
        "albumentations' own transforms: RandomResizedCrop 512 + flip + brightness/contrast + HSV + blur",
        options.rounds,
        [
            (
                "albumentations Compose + BboxParams",
                [
                    lambda a=a, b=b, n=n: raw_own(image=a, bboxes=b, labels=n)
                    for a, b, n in zip(arrays, boxes, labels, strict=True)
                ],
                "BoxPipeline: 'albumentations.<Name>' specs",
                [
                    lambda a=a, b=b, n=n: ours_own({"image": a, "boxes": b, "labels": n})
                    for a, b, n in zip(arrays, boxes, labels, strict=True)
                ],
                0.95,
            )
        ],
    )

    # The same steps wrapped in composition nodes that always run them: what the nodes cost per sample,
    # on the photos, then on thumbnails, where the children cost little and a few microseconds show.
    own_samples = [
        ({"image": a, "boxes": b, "labels": n},) for a, b, n in zip(arrays, boxes, labels, strict=True)
    ]
    composition(
        "Composition: the same steps flat, and wrapped in Sequential(p=1) (nested) and OneOf(p=1)",
        2 * options.rounds,
        own_spec,
        spec,
        own_samples,
        tv_samples,
    )
    small_arrays = [
        np.ascontiguousarray(cv2.resize(array, THUMBNAIL[::-1], interpolation=cv2.INTER_AREA))
        for array in arrays
    ]
    scale = np.array([THUMBNAIL[1] / SIZE[1], THUMBNAIL[0] / SIZE[0]] * 2, dtype=np.float32)
    small_boxes = [box * scale for box in boxes]
    small_size = {"name": "albumentations.RandomResizedCrop", "size": [THUMBNAIL_CROP, THUMBNAIL_CROP]}
    composition(
        f"Composition on {THUMBNAIL[1]}x{THUMBNAIL[0]} thumbnails, cropped to {THUMBNAIL_CROP}",
        2 * options.rounds,
        [small_size, *own_spec[1:]],
        [{"name": "RandomResizedCrop", "size": THUMBNAIL_CROP}, *spec[1:]],
        [
            ({"image": a, "boxes": b, "labels": n},)
            for a, b, n in zip(small_arrays, small_boxes, labels, strict=True)
        ],
        [
            (
                tv_tensors.Image(torch.from_numpy(a).permute(2, 0, 1).contiguous()),
                {
                    "boxes": tv_tensors.BoundingBoxes(
                        torch.from_numpy(b), format="XYXY", canvas_size=THUMBNAIL
                    ),
                    "labels": torch.from_numpy(n),
                },
            )
            for a, b, n in zip(small_arrays, small_boxes, labels, strict=True)
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
    kernel_dominated(options.rounds, tv_samples)
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()

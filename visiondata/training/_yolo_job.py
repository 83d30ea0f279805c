"""The ``yolo-shapes`` training job: [`YOLOv3Tiny`][visiondata.models.YOLOv3Tiny] on the ``shapes`` dataset.

The detection counterpart of ``mnist-cnn``: offline (the images are drawn from their index), a few
minutes on two CPU cores, and a stated quality (mAP@0.5 on the test split). It runs the library's
own detection path end to end:

1. data: ``shapes`` (train and test splits drawn at ``image_size``), or with ``data`` a user's
   folder opened by [`open_detection`][visiondata.formats.open_detection] and resized once to
   ``image_size``; the training samples are kept in memory as ``uint8`` (drawing or decoding an image
   costs as much as augmenting it, and every epoch would pay it again);
2. anchors: [`fit_anchors`][visiondata.models.fit_anchors] on the training boxes' sides at the size
   the model sees;
3. augmentation: a [`BoxPipeline`][visiondata.transforms.BoxPipeline] (horizontal flip, a small
   shift and scale, colour jitter, then the fixed size and ``ToDtype`` float32);
4. batches: [`build_loader`][visiondata.loaders.build_loader] with
   [`yolo_collate`][visiondata.collate.yolo_collate] (``first_label=1``: label 0 is the background);
5. training: [`YOLOLoss`][visiondata.models.YOLOLoss], AdamW and a one-cycle schedule;
6. evaluation: torchmetrics' ``MeanAveragePrecision`` on the test split (``map50``, ``map`` over
   IoU 0.5:0.95, AP per class), ``predictions.png`` and ``model.pt``.

Importing this module costs no torch import (torch is imported when training starts), so
``visiondata --help`` stays fast. The job registers itself on import.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from visiondata._arguments import (
    check_finite_number,
    check_positive_int,
    positive_int_option,
)
from visiondata.training._jobs import TrainingJob, add_optimisation_arguments, register_job, save_run
from visiondata.training._threads import add_threads_argument

__all__ = ["YOLOShapesConfig", "train_yolo_shapes"]

#: Test images drawn into ``predictions.png``.
_PICTURE_IMAGES = 8
#: Score above which a prediction is drawn in ``predictions.png`` (mAP itself uses every box).
_PICTURE_THRESHOLD = 0.3
#: Score threshold of the boxes scored by mAP: low, so that the precision-recall curve is whole.
_EVAL_THRESHOLD = 0.001
#: Batches averaged for the loss "at the start" and "at the end" of training in ``metrics.json``.
_LOSS_WINDOW = 5


@dataclass(frozen=True)
class YOLOShapesConfig:
    """Settings of [`train_yolo_shapes`][visiondata.training.train_yolo_shapes]; the defaults are the benchmarked recipe.

    Attributes:
        epochs: Passes over the training images.
        batch_size: Images per step.
        lr: Peak learning rate of the one-cycle schedule (AdamW).
        weight_decay: AdamW's weight decay.
        image_size: Side of the square images the model sees (a multiple of 32).
        train_count: Training images (``shapes``: drawn; ``data``: the first ones, all when ``None``).
        test_count: Test images evaluated (``shapes``: drawn; ``data``: the first ones, all when ``None``).
        width: Channels of the model's first layer (see ``YOLOv3Tiny``).
        seed: Seeds the model, the order, the augmentation and the anchors; the ``shapes`` images
            themselves are always those of dataset seed 0, so runs of different seeds see the same data.
        threads: torch threads for the run (``None``: torch's default); the process gets its own
            count back afterwards.
        data: A user's detection dataset (YOLO ``data.yaml`` or folder, COCO, VOC...) instead of ``shapes``.
        out: Folder of ``metrics.json``, ``predictions.png`` and ``model.pt``.
        progress: Show a progress bar (on a terminal only).
    """

    epochs: int = 30
    batch_size: int = 16
    lr: float = 4e-3
    weight_decay: float = 5e-4
    image_size: int = 160
    train_count: int | None = 1000
    test_count: int | None = None
    width: int = 16
    seed: int = 0
    threads: int | None = None
    data: str | None = None
    out: str = "runs/yolo-shapes"
    progress: bool = True


def train_yolo_shapes(config: YOLOShapesConfig | None = None, **overrides: Any) -> dict[str, Any]:
    """Train the one-stage detector, evaluate it on the test split, save the results.

    Writes ``<out>/metrics.json`` (``map50``, ``map`` (IoU 0.5:0.95), ``per_class`` AP 0.5:0.95 by
    class name, ``per_class_50`` AP@0.5 by class name, ``seconds`` (the whole run),
    ``train_seconds``, ``epochs``, ``seed``, ``threads``, ``images`` (training images),
    ``test_images``, ``parameters``, ``anchors``, ``first_loss`` / ``last_loss`` (mean loss of
    the first and the last few batches), ``history`` with one entry per epoch, and the
    configuration), ``<out>/predictions.png`` (test images with the predicted boxes) and
    ``<out>/model.pt`` (the ``state_dict``, anchors included). The same seed gives the same
    result on the same machine with the same number of threads.

    Args:
        config: Settings; defaults to [`YOLOShapesConfig`][visiondata.training.YOLOShapesConfig].
        **overrides: Fields of the configuration to change (``epochs=3``).

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        ValueError: A count is not a positive integer, ``image_size`` not a multiple of 32,
            ``lr`` not a positive finite number, or ``weight_decay`` negative.

    Examples:
        >>> metrics = train_yolo_shapes(epochs=1, train_count=32, out="/tmp/yolo-run")  # doctest: +SKIP
        >>> sorted(metrics)[:3]  # doctest: +SKIP
        ['anchors', 'config', 'epochs']
    """
    config = config or YOLOShapesConfig()
    if overrides:
        config = YOLOShapesConfig(**{**asdict(config), **overrides})
    _check(config)
    _require_metrics_extra()
    from visiondata.training._threads import torch_threads

    with torch_threads(config.threads):
        return _train_evaluate_save(config)


def _train_evaluate_save(config: YOLOShapesConfig) -> dict[str, Any]:
    import torch

    started = time.perf_counter()
    torch.manual_seed(config.seed)
    train_samples, test_samples, classes = _load_samples(config)
    model, criterion = _build_model(config, train_samples, classes)
    loader = _train_loader(config, train_samples)
    training = _train(config, model, criterion, loader)
    evaluation = _evaluate(config, model, test_samples, classes)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    _save_picture(model, test_samples, classes, out / "predictions.png")
    metrics: dict[str, Any] = {
        **evaluation,
        "seconds": time.perf_counter() - started,
        "train_seconds": training["seconds"],
        "epochs": config.epochs,
        "seed": config.seed,
        "threads": torch.get_num_threads(),
        "images": len(train_samples),
        "test_images": len(test_samples),
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "anchors": [[round(float(v), 2) for v in anchor] for anchor in model.anchors.tolist()],
        "first_loss": training["first_loss"],
        "last_loss": training["last_loss"],
        "history": training["history"],
        "config": asdict(config),
        "torch": torch.__version__,
    }
    save_run(out, model, metrics)
    return metrics


def _check(config: YOLOShapesConfig) -> None:
    """Refuse bad settings before any image is drawn: the loader and the model would fail later, less clearly."""
    from visiondata._arguments import refuse

    for keyword in ("epochs", "batch_size", "image_size", "width"):
        check_positive_int(keyword, getattr(config, keyword))
    for keyword in ("train_count", "test_count", "threads"):
        if getattr(config, keyword) is not None:
            check_positive_int(keyword, getattr(config, keyword))
    if config.image_size % 32:
        refuse(
            "image_size",
            "a multiple of 32 (the coarse grid's stride)",
            config.image_size,
            fix=f"use {max(32, round(config.image_size / 32) * 32)}",
        )
    check_finite_number("lr", config.lr, minimum=0, inclusive=False, expected="a positive finite number")
    check_finite_number("weight_decay", config.weight_decay, minimum=0)


def _require_metrics_extra() -> None:
    """Raise a `MissingDependencyError` naming the ``metrics`` extra, before minutes of training are spent."""
    from visiondata.exceptions import MissingDependencyError

    try:
        import pycocotools  # noqa: F401  (torchmetrics' mAP backend)
        import torchmetrics  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(
            "visiondata train yolo-shapes scores its detector with torchmetrics and pycocotools, which come "
            "with the metrics extra: install it (pip install 'visiondata[metrics]', or pip install "
            f"'.[metrics]' in a checkout) ({error})"
        ) from error


def _load_samples(config: YOLOShapesConfig) -> tuple[list[Any], list[Any], list[str]]:
    """Training and test samples at ``image_size`` (uint8 images, XYXY pixel boxes) and the class names."""
    if config.data is None:
        from visiondata.datasets._shapes import ShapesDataset

        size = config.image_size
        train = ShapesDataset("train", size=size, count=config.train_count)
        test = ShapesDataset("test", size=size, count=config.test_count)
        return [train[i] for i in range(len(train))], [test[i] for i in range(len(test))], list(train.classes)
    train, test = _open_user_data(config.data)
    return (
        _resized(train, config.image_size, config.train_count),
        _resized(test, config.image_size, config.test_count),
        list(train.classes),
    )


def _open_user_data(path: str) -> tuple[Any, Any]:
    """The training split of ``path`` and the split to evaluate on: ``test``, else ``val``, else training itself."""
    from visiondata.exceptions import DatasetFormatError
    from visiondata.formats._open import open_detection

    train = open_detection(path, split="train")
    for split in ("test", "val"):
        try:
            test = open_detection(path, split=split)
        except (DatasetFormatError, FileNotFoundError, KeyError, ValueError):
            continue
        if len(test) and getattr(test, "split_name", split) == split:
            return train, test
    print(f"{path}: no test or val split; evaluating on the training images", file=sys.stderr)
    return train, train


def _resized(dataset: Any, size: int, count: int | None) -> list[Any]:
    """The first ``count`` samples of ``dataset`` resized once to ``size x size`` (boxes moved with them)."""
    from visiondata.transforms import BoxPipeline

    resize = BoxPipeline([{"name": "Resize", "size": [size, size], "p": 1.0}], seed=0)
    total = len(dataset) if count is None else min(count, len(dataset))
    samples = []
    for index in range(total):
        image, target = resize(*dataset[index])
        # Grey images get three channels: the model's stem takes RGB.
        samples.append((image.expand(3, -1, -1).clone() if image.shape[0] == 1 else image[:3], target))
    return samples


def _build_model(config: YOLOShapesConfig, samples: list[Any], classes: list[str]) -> tuple[Any, Any]:
    """``YOLOv3Tiny`` with anchors fitted on the training boxes, and its loss."""
    import torch

    from visiondata.models._yolo import YOLOLoss, YOLOv3Tiny, fit_anchors

    boxes = torch.cat([torch.as_tensor(target["boxes"]).reshape(-1, 4) for _, target in samples])
    sides = boxes[:, 2:] - boxes[:, :2]
    sides = sides[(sides > 0).all(dim=1)]
    anchors = fit_anchors(sides, k=6, seed=config.seed) if len(sides) >= 6 else None
    model = YOLOv3Tiny(num_classes=len(classes) - 1, anchors=anchors, width=config.width, first_label=1)
    return model, YOLOLoss(model)


class _Augmented:
    """The in-memory samples, each passed through ``pipeline`` when read (a map-style dataset)."""

    def __init__(self, samples: list[Any], pipeline: Any) -> None:
        self.samples = samples
        self.pipeline = pipeline

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Any:
        image, target = self.samples[index]
        return self.pipeline(image, target)


def _train_pipeline(size: int) -> Any:
    from visiondata.transforms import BoxPipeline

    return BoxPipeline(
        [
            {"name": "HorizontalFlip", "p": 0.5},
            # A small shift and zoom: the shapes' positions and sizes are already random, so this
            # mostly moves objects across cell borders, where the grid sees them least.
            {"name": "Affine", "degrees": 0, "translate": [0.1, 0.1], "scale": [0.85, 1.15], "p": 0.5},
            # No hue jitter: the shapes' colours are random already, and hue costs more than the
            # rest of the pipeline together (1.7 ms of 2.8 ms an image at 160 px).
            {"name": "ColorJitter", "brightness": 0.25, "contrast": 0.25, "saturation": 0.25},
            {"name": "Resize", "size": [size, size], "p": 1.0},
            {"name": "ToDtype", "dtype": "float32", "scale": True, "p": 1.0},
        ],
        min_visibility=0.4,
    )


def _eval_pipeline(size: int) -> Any:
    from visiondata.transforms import BoxPipeline

    return BoxPipeline(
        [
            {"name": "Resize", "size": [size, size], "p": 1.0},
            {"name": "ToDtype", "dtype": "float32", "scale": True, "p": 1.0},
        ]
    )


def _train_loader(config: YOLOShapesConfig, samples: list[Any]) -> Any:
    import functools

    from visiondata.collate import yolo_collate
    from visiondata.loaders import build_loader

    return build_loader(
        _Augmented(samples, _train_pipeline(config.image_size)),
        config.batch_size,
        shuffle=True,
        collate=functools.partial(yolo_collate, first_label=1),
        seed=config.seed,
        # A batch of one would make BatchNorm's batch statistics meaningless.
        drop_last=len(samples) > config.batch_size,
    )


def _train(config: YOLOShapesConfig, model: Any, criterion: Any, loader: Any) -> dict[str, Any]:
    import torch
    from tqdm.auto import tqdm

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * len(loader), pct_start=0.15
    )
    started = time.perf_counter()
    losses: list[float] = []
    history = []
    model.train()
    for epoch in range(1, config.epochs + 1):
        totals = {"loss": 0.0, "box": 0.0, "objectness": 0.0, "class": 0.0}
        steps = 0
        # disable=None: tqdm's own "only on a terminal"; a log gets the one line per epoch below.
        bar = tqdm(
            loader,
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=None if config.progress else True,
            unit="batch",
            file=sys.stderr,
        )
        for images, targets in bar:
            loss, parts = criterion(model(images), targets, image_size=config.image_size)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            totals["loss"] += losses[-1]
            for name, value in parts.items():
                totals[name] += float(value)
            steps += 1
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
        entry = {"epoch": epoch, **{name: value / max(steps, 1) for name, value in totals.items()}}
        entry["seconds"] = time.perf_counter() - started
        history.append(entry)
        print(
            f"epoch {epoch}/{config.epochs}: loss {entry['loss']:.4f} (box {entry['box']:.3f}, "
            f"objectness {entry['objectness']:.3f}, class {entry['class']:.3f}), {entry['seconds']:.1f}s",
            flush=True,
        )
    window = min(_LOSS_WINDOW, len(losses))
    return {
        "seconds": time.perf_counter() - started,
        "first_loss": sum(losses[:window]) / max(window, 1),
        "last_loss": sum(losses[-window:]) / max(window, 1),
        "history": history,
    }


def _evaluate(config: YOLOShapesConfig, model: Any, samples: list[Any], classes: list[str]) -> dict[str, Any]:
    """mAP@0.5, mAP@0.5:0.95 and AP per class on ``samples`` (torchmetrics, COCO's definition)."""
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    pipeline = _eval_pipeline(config.image_size)
    coco = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True)
    at_50 = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", iou_thresholds=[0.5], class_metrics=True)
    for start in range(0, len(samples), 64):
        pairs = [pipeline(*sample) for sample in samples[start : start + 64]]
        images = torch.stack([image for image, _ in pairs])
        with torch.no_grad():
            predictions = model.predict(images, conf_threshold=_EVAL_THRESHOLD)
        truth = [
            {"boxes": torch.as_tensor(target["boxes"]).reshape(-1, 4).float(), "labels": target["labels"]}
            for _, target in pairs
        ]
        coco.update(predictions, truth)
        at_50.update(predictions, truth)
    results, results_50 = coco.compute(), at_50.compute()

    def by_name(values: Any, labels: Any) -> dict[str, float]:
        # torchmetrics reports the classes present in predictions or truth, in label order; -1 marks
        # a class with no ground truth.
        return {
            classes[int(label)]: float(value)
            for label, value in zip(labels.reshape(-1).tolist(), values.reshape(-1).tolist(), strict=True)
        }

    return {
        "map50": float(results["map_50"]),
        "map": float(results["map"]),
        "per_class": by_name(results["map_per_class"], results["classes"]),
        "per_class_50": by_name(results_50["map_per_class"], results_50["classes"]),
    }


def _save_picture(model: Any, samples: list[Any], classes: list[str], path: Path) -> None:
    import torch

    from visiondata.viz import save_grid

    pipeline = _eval_pipeline(int(samples[0][0].shape[-1]))
    images = torch.stack([pipeline(*sample)[0] for sample in samples[:_PICTURE_IMAGES]])
    with torch.no_grad():
        predictions = model.predict(images, conf_threshold=_PICTURE_THRESHOLD)
    drawn = [
        (image, {"boxes": found["boxes"], "labels": found["labels"]})
        for image, found in zip(images, predictions, strict=True)
    ]
    save_grid(drawn, path, ncols=4, class_names=classes)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = YOLOShapesConfig()
    add_optimisation_arguments(parser, defaults, "passes over the training images")
    parser.add_argument(
        "--image-size",
        type=positive_int_option,
        default=defaults.image_size,
        help="side of the square images the model sees, a multiple of 32 (default: %(default)s)",
    )
    parser.add_argument(
        "--train-count",
        type=positive_int_option,
        default=None,
        help=f"training images (default: {defaults.train_count} for shapes, all with --data)",
    )
    parser.add_argument(
        "--test-count",
        type=positive_int_option,
        default=defaults.test_count,
        help="test images evaluated (default: the whole test split, 500 for shapes)",
    )
    parser.add_argument(
        "--width",
        type=positive_int_option,
        default=defaults.width,
        help="channels of the model's first layer; each stage doubles them (default: %(default)s)",
    )
    add_threads_argument(parser, defaults.threads)
    parser.add_argument(
        "--data",
        default=None,
        help="train on this detection dataset instead of shapes: a YOLO data.yaml or folder, COCO, VOC... "
        "(evaluated on its test split, else val, else its training images)",
    )
    parser.add_argument(
        "--out",
        default=defaults.out,
        help="where metrics.json, predictions.png and model.pt go (default: %(default)s)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress bar (it is shown only when stderr is a terminal; a log gets one line per epoch)",
    )


def _run(options: argparse.Namespace) -> dict[str, Any]:
    # --train-count's default is for shapes; a user's folder is used whole unless it is given.
    train_count = options.train_count
    if train_count is None and options.data is None:
        train_count = YOLOShapesConfig.train_count
    config = YOLOShapesConfig(
        epochs=options.epochs,
        batch_size=options.batch_size,
        lr=options.lr,
        weight_decay=options.weight_decay,
        image_size=options.image_size,
        train_count=train_count,
        test_count=options.test_count,
        width=options.width,
        seed=options.seed,
        threads=options.threads,
        data=options.data,
        out=options.out,
        progress=not options.no_progress,
    )
    metrics = train_yolo_shapes(config)
    print(
        f"test mAP@0.5 {metrics['map50']:.4f}, mAP@0.5:0.95 {metrics['map']:.4f} "
        f"({metrics['parameters']:,} parameters, {metrics['images']} training images, "
        f"{metrics['seconds']:.1f}s, threads: {metrics['threads']}); wrote "
        f"{os.path.join(options.out, 'metrics.json')}, predictions.png and model.pt"
    )
    return metrics


register_job(
    TrainingJob(
        "yolo-shapes",
        "train the reference one-stage detector (YOLOv3Tiny) on synthetic shapes and report test mAP",
        _add_arguments,
        _run,
    )
)

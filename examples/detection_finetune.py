"""Fine-tune a detector on a COCO-format folder, on one process or several under torchrun.

COCO folder -> ``CocoDetectionDataset`` + ``BoxPipeline`` -> ``build_loader``
(``detection_collate``; a ``DistributedSampler`` under torchrun) -> Faster
R-CNN (MobileNetV3, from ``create_model``) -> training steps with a progress
bar -> COCO-style mAP from ``torchmetrics.detection.MeanAveragePrecision``
on the evaluation images, before and after training.

Offline by default: ``--weights none`` and ``--weights-backbone none`` start
from random weights; give local files (``.pth``, ``.safetensors``) to start
from pretrained ones (read safely: no code is unpickled). mAP needs the
``metrics`` extra: ``pip install ".[metrics]"``.

Usage::

    python examples/detection_finetune.py --make-demo-data /tmp/shapes-coco     # a tiny synthetic COCO folder
    python examples/detection_finetune.py --data /tmp/shapes-coco --steps 80
    torchrun --nproc_per_node=2 examples/detection_finetune.py --data /tmp/shapes-coco --steps 20

Under torchrun each process trains on its own shard of every epoch (gloo on
the CPU, NCCL on GPUs), gradients are averaged by ``DistributedDataParallel``,
and the first process evaluates and writes ``metrics.json``.

One torch thread by default (``--threads``): on the demo folder, 80 steps
raise mAP from 0.003 to 0.334 (mAP@0.5 from 0.011 to 0.629) in 43 s on an
idle 2-core machine and 48 s beside another CPU-bound process; two threads
take 33 s idle, 78 s beside it, and end at 0.112, since the order of float
sums changes where training goes (measured 2026-12-07,
benchmarks/bench_threads.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from visiondata.collate import detection_collate, to_device
from visiondata.datasets import CocoDetectionDataset
from visiondata.loaders import build_loader
from visiondata.models import create_model
from visiondata.transforms import BoxPipeline

COLOURS = {"red": (230, 40, 40), "blue": (40, 60, 230)}


def make_demo_data(folder: Path, images: int = 4, size: int = 128, seed: int = 0) -> None:
    """A COCO folder of ``images`` pictures, each with one red or blue rectangle on a gray background."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    names = list(COLOURS)
    records, annotations = [], []
    for index in range(images):
        pixels = np.full((size, size, 3), 50, dtype=np.uint8) + rng.integers(
            0, 20, (size, size, 3), dtype=np.uint8
        )
        width, height = (int(side) for side in rng.integers(size // 3, size * 2 // 3, 2))
        left, top = int(rng.integers(0, size - width)), int(rng.integers(0, size - height))
        name = names[index % len(names)]
        pixels[top : top + height, left : left + width] = COLOURS[name]
        file_name = f"{index:04d}.png"
        Image.fromarray(pixels).save(folder / "images" / file_name)
        records.append({"id": index + 1, "file_name": file_name, "width": size, "height": size})
        annotations.append(
            {
                "id": index + 1,
                "image_id": index + 1,
                "category_id": names.index(name) + 1,
                "bbox": [left, top, width, height],
                "area": width * height,
                "iscrowd": 0,
            }
        )
    categories = [{"id": position + 1, "name": name} for position, name in enumerate(names)]
    (folder / "annotations.json").write_text(
        json.dumps({"images": records, "annotations": annotations, "categories": categories})
    )


def mean_average_precision(
    model: torch.nn.Module, dataset: CocoDetectionDataset, device: torch.device
) -> tuple[float, float]:
    """COCO-style mAP (IoU 0.5:0.95) and mAP@0.5 of ``model`` on ``dataset``, by torchmetrics."""
    try:
        from torchmetrics.detection import MeanAveragePrecision
    except ImportError as error:
        raise SystemExit(f"mAP needs torchmetrics: pip install '.[metrics]' ({error})") from None
    # This process evaluates every image itself: no gathering of results from the other processes.
    metric = MeanAveragePrecision(iou_type="bbox", sync_on_compute=False)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), 4):
            images, targets = detection_collate(
                [dataset[index] for index in range(start, min(start + 4, len(dataset)))]
            )
            predictions = model(to_device(images, device))
            metric.update(
                [{key: value.cpu() for key, value in prediction.items()} for prediction in predictions],
                [
                    {"boxes": target["boxes"].as_subclass(torch.Tensor), "labels": target["labels"]}
                    for target in targets
                ],
            )
    model.train(was_training)
    result = metric.compute()
    return float(result["map"]), float(result["map_50"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="COCO folder: images/ and annotations.json")
    parser.add_argument(
        "--make-demo-data", type=Path, help="write a tiny synthetic COCO folder here and stop"
    )
    parser.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_320_fpn")
    parser.add_argument("--weights", default="none", help="'none', 'DEFAULT' or a local weights file")
    parser.add_argument(
        "--weights-backbone", default="none", help="'none', 'DEFAULT' or a local weights file"
    )
    parser.add_argument(
        "--size", type=int, default=128, help="the model's input size (its min_size and max_size)"
    )
    parser.add_argument("--steps", type=int, default=80, help="optimiser steps")
    parser.add_argument("--batch-size", type=int, default=2, help="images per step and process")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default: %(default)s: the documented results, unaffected by other work on the machine)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/detection"))
    options = parser.parse_args(argv)
    if options.make_demo_data is not None:
        make_demo_data(options.make_demo_data)
        print(f"wrote a COCO folder to {options.make_demo_data}")
        return {}
    if options.data is None:
        parser.error("--data is required (or --make-demo-data to create a demo folder)")

    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        if torch.cuda.is_available()
        else torch.device("cpu")
    )
    if distributed:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = torch.distributed.get_rank() if distributed else 0
    # The path 80 steps take on 4 images depends on the order of float sums, and so on the thread count.
    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)

    augment = BoxPipeline(
        [{"name": "HorizontalFlip", "p": 0.5}, {"name": "ToDtype", "dtype": "float32", "scale": True}],
        seed=options.seed,
    )
    plain = BoxPipeline([{"name": "ToDtype", "dtype": "float32", "scale": True}])
    images_dir, annotation_file = options.data / "images", options.data / "annotations.json"
    train = CocoDetectionDataset(images_dir, annotation_file, transform=augment)
    evaluation = CocoDetectionDataset(images_dir, annotation_file, transform=plain)
    loader = build_loader(
        train, batch_size=options.batch_size, shuffle=True, num_workers=options.num_workers, seed=options.seed
    )

    weights = None if options.weights.lower() == "none" else options.weights
    backbone = None if options.weights_backbone.lower() == "none" else options.weights_backbone
    model = create_model(
        options.model,
        num_classes=len(train.classes),
        weights=weights,
        weights_backbone=backbone,
        min_size=options.size,
        max_size=options.size,
    ).to(device)
    trained = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=options.lr, total_steps=options.steps)

    map_before, map50_before = (
        mean_average_precision(model, evaluation, device) if rank == 0 else (math.nan, math.nan)
    )
    losses: list[float] = []
    progress = tqdm(total=options.steps, desc="training", unit="step", disable=rank != 0)
    while len(losses) < options.steps:
        for images, targets in loader:  # the loader sets the sampler's epoch itself
            images, targets = to_device((images, targets), device)
            loss = sum(trained(images, targets).values())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            progress.update()
            progress.set_postfix(loss=f"{losses[-1]:.3f}")
            if len(losses) == options.steps:
                break
    progress.close()

    metrics: dict[str, Any] = {}
    if rank == 0:
        map_after, map50_after = mean_average_precision(model, evaluation, device)
        metrics = {
            "steps": len(losses),
            "threads": torch.get_num_threads(),
            "processes": torch.distributed.get_world_size() if distributed else 1,
            "first_losses": losses[:5],
            "last_losses": losses[-5:],
            "map_before": map_before,
            "map_after": map_after,
            "map50_before": map50_before,
            "map50_after": map50_after,
        }
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        print(
            f"loss {np.mean(losses[:5]):.3f} -> {np.mean(losses[-5:]):.3f}; "
            f"mAP {map_before:.3f} -> {map_after:.3f}, mAP@0.5 {map50_before:.3f} -> {map50_after:.3f} "
            f"(threads: {torch.get_num_threads()}; {options.out / 'metrics.json'})"
        )
    if distributed:
        torch.distributed.destroy_process_group()
    return metrics


if __name__ == "__main__":
    main()

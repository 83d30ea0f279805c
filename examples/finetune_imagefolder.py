"""Transfer learning on an image folder, in the two phases of our lecture notes.

1. Feature extraction: the pretrained backbone is frozen (BatchNorm included)
   and only the new head trains.
2. Fine-tuning: the last backbone stages are unfrozen and train with a
   smaller learning rate than the head.

The accuracy on a held-out, stratified 20% is printed after each phase.
``--weights DEFAULT`` uses torchvision's released weights (downloaded once
into ``$TORCH_HOME``); ``--weights path/to/file.pth`` loads a local file
(safely: no code is unpickled) and runs offline.

``--weights none`` (the default) has nothing to transfer: a frozen random
backbone gives random features, and a head trained on them stays near chance
(0.357 on the demo's 3 classes, when this example still froze it). So the
whole network trains from scratch
instead, for ``--epochs-scratch`` epochs with a one-cycle learning rate. On the
demo folder (60 images per class, 36 held out) at ``--image-size 32``, resnet18
reaches 0.917 held-out accuracy in 15 epochs with the default seed 0, with one
CPU thread (the default, ``--threads``) and with two alike: 135 steps in 23 s
with one thread on an idle 2-core machine, 28 s beside another CPU-bound
process; two threads take 19 s idle but 50 s beside it (measured 2026-12-07,
benchmarks/bench_threads.py). Earlier runs over seeds 0 to 7 gave 0.89 to 1.00.

Usage::

    python examples/finetune_imagefolder.py --make-demo-data /tmp/shapes      # a small synthetic folder
    python examples/finetune_imagefolder.py --data /tmp/shapes --weights none --image-size 32
    python examples/finetune_imagefolder.py --data photos/ --model resnet18 --weights DEFAULT
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader, Subset

from visiondata import ImageFolderDataset
from visiondata.models import (
    count_parameters,
    create_model,
    freeze_backbone,
    model_data_config,
    param_groups,
    unfreeze_last,
)
from visiondata.training import evaluate, fit
from visiondata.transforms import presets


def make_demo_data(folder: Path, per_class: int = 60, size: int = 64, seed: int = 0) -> None:
    """Three classes of synthetic photos: circles, squares and triangles on noisy backgrounds."""
    rng = np.random.default_rng(seed)
    for shape in ("circle", "square", "triangle"):
        (folder / shape).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            background = rng.integers(0, 120, (size, size, 3), dtype=np.uint8)
            image = Image.fromarray(background)
            draw = ImageDraw.Draw(image)
            low, high = sorted(rng.integers(size // 8, size - size // 8, 2))
            high = max(high, low + size // 4)
            colour = tuple(int(c) for c in rng.integers(150, 256, 3))
            if shape == "circle":
                draw.ellipse((low, low, high, high), fill=colour)
            elif shape == "square":
                draw.rectangle((low, low, high, high), fill=colour)
            else:
                draw.polygon([(low, high), (high, high), ((low + high) // 2, low)], fill=colour)
            image.save(folder / shape / f"{index:03d}.png")


def loaders(
    data: Path, model_name: str, image_size: int, batch_size: int, seed: int
) -> tuple[DataLoader, DataLoader, int]:
    config = model_data_config(model_name)
    # Crops keep at least half the image: ImageNet's default (8%) often cuts the object out of a small
    # image, and a few hundred images cannot average that label noise away.
    train_set = ImageFolderDataset(
        data, transform=presets.classification_train(image_size, config.mean, config.std, scale=(0.5, 1.0))
    )
    eval_set = ImageFolderDataset(
        data,
        transform=presets.classification_eval(image_size, round(image_size / 0.875), config.mean, config.std),
    )
    train_part, held_out = train_set.split((0.8, 0.2), stratify=True, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_part, batch_size=batch_size, shuffle=True, generator=generator)
    eval_loader = DataLoader(Subset(eval_set, held_out.indices), batch_size=batch_size)
    return train_loader, eval_loader, len(train_set.classes)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the example; returns the held-out accuracies printed, by phase."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="image folder with one sub-folder per class")
    parser.add_argument(
        "--make-demo-data", type=Path, metavar="FOLDER", help="write a synthetic folder and exit"
    )
    parser.add_argument("--model", default="resnet18")
    parser.add_argument(
        "--weights", default="none", help="none, DEFAULT, a torchvision weights name, or a file"
    )
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs-head", type=int, default=3)
    parser.add_argument("--epochs-finetune", type=int, default=3)
    parser.add_argument(
        "--epochs-scratch", type=int, default=15, help="epochs of the whole network with --weights none"
    )
    parser.add_argument("--unfreeze", type=int, default=1, help="backbone stages unfrozen for fine-tuning")
    parser.add_argument(
        "--lr", type=float, default=3e-3, help="head learning rate (peak rate when training from scratch)"
    )
    parser.add_argument(
        "--backbone-lr", type=float, default=3e-4, help="backbone learning rate when fine-tuning"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default: %(default)s: the documented results, unaffected by other work on the machine)",
    )
    options = parser.parse_args(argv)
    if options.make_demo_data:
        make_demo_data(options.make_demo_data)
        print(f"wrote a demo folder to {options.make_demo_data}")
        return {}
    if options.data is None:
        parser.error("--data is required (or --make-demo-data FOLDER)")

    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    train_loader, eval_loader, classes = loaders(
        options.data, options.model, options.image_size, options.batch_size, options.seed
    )
    weights = None if options.weights.lower() == "none" else options.weights
    model = create_model(options.model, num_classes=classes, weights=weights)

    if weights is None:
        # No pretrained features to keep: freezing would fix random ones (freeze_backbone warns), so every
        # layer learns, from a one-cycle schedule (warm-up, then decay) that settles in a few epochs.
        print(f"from scratch (no pretrained weights): all {count_parameters(model):,} parameters train")
        optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=1e-4)
        steps = options.epochs_scratch * len(train_loader)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=options.lr, total_steps=steps)
        fit(model, train_loader, optimizer, options.epochs_scratch, scheduler=scheduler,
            eval_batches=eval_loader, eval_name="val")  # fmt: skip
        scratch_accuracy = evaluate(model, eval_loader)["accuracy"]
        print(f"from scratch: accuracy {scratch_accuracy:.3f} (threads: {torch.get_num_threads()})")
        return {"scratch": scratch_accuracy}

    # Phase 1: a frozen feature extractor; only the head learns.
    freeze_backbone(model, bn="frozen")
    print(f"feature extraction: {count_parameters(model, trainable_only=True):,} of "
          f"{count_parameters(model):,} parameters train")  # fmt: skip
    optimizer = torch.optim.AdamW(param_groups(model, lr=options.lr, weight_decay=1e-4))
    fit(model, train_loader, optimizer, options.epochs_head, eval_batches=eval_loader, eval_name="val")
    head_accuracy = evaluate(model, eval_loader)["accuracy"]
    print(f"feature extraction: accuracy {head_accuracy:.3f}")

    # Phase 2: unfreeze the last stages; the backbone moves more slowly than the head.
    unfreeze_last(model, options.unfreeze)
    print(f"fine-tuning: {count_parameters(model, trainable_only=True):,} parameters train")
    optimizer = torch.optim.AdamW(
        param_groups(model, lr=options.lr / 3, backbone_lr=options.backbone_lr, weight_decay=1e-4)
    )
    fit(model, train_loader, optimizer, options.epochs_finetune, eval_batches=eval_loader, eval_name="val")
    tuned_accuracy = evaluate(model, eval_loader)["accuracy"]
    print(f"fine-tuning: accuracy {tuned_accuracy:.3f}")
    return {"feature_extraction": head_accuracy, "fine_tuning": tuned_accuracy}


if __name__ == "__main__":
    main()

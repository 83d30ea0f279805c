"""Fine-tune Keypoint R-CNN on a COCO keypoints folder, with keypoint mAP before and after.

COCO keypoints folder (a ``person_keypoints``-style ``annotations.json``:
categories with ``keypoints`` names and a ``skeleton``) ->
``CocoDetectionDataset`` (``target["keypoints"]``: ``float32`` ``(N, K, 3)``
``x y visibility`` in pixels, and the dataset's ``flip_pairs`` derived from
its ``left_``/``right_`` names) -> ``BoxPipeline`` with a horizontal flip
that swaps those pairs -> ``build_loader`` (``detection_collate``) ->
torchvision's ``KeypointRCNN`` -> training steps with a progress bar ->
keypoint mAP (OKS 0.5:0.95) from pycocotools' ``COCOeval(iouType="keypoints")``
on the evaluation images, before and after training, written to
``metrics.json``.

The model: ``--model mobilenet_v3_large_fpn`` (the default) is Keypoint
R-CNN on a MobileNetV3 FPN backbone with a lighter keypoint head (four
64-channel convolutions instead of eight of 512) and fewer sampled regions;
a training step of two 160-pixel images takes about 0.5 s on one CPU thread.
``--model resnet50_fpn`` is torchvision's ``keypointrcnn_resnet50_fpn`` as it
is (about 20 times slower on a CPU: 10 s a step); use it on a GPU.

Offline by default: weights are random (``--weights-backbone none``);
``--weights-backbone DEFAULT`` starts from torchvision's ImageNet backbone
(downloaded once). Keypoint mAP needs pycocotools (``pip install ".[coco]"``).

The demo data (``--make-demo-data``) is real: crops, mirror images and
rescalings of scikit-learn's ``flower.jpg`` (640x427, CC BY 2.0, by
vultilion on Flickr; ``pip install scikit-learn``), with five keypoints
placed by hand on the dahlia: its centre and the petal tips at its left,
right, top and bottom. A mirrored crop swaps ``left_tip`` and ``right_tip``,
as a horizontal flip in the pipeline does through ``flip_pairs``.

On that demo folder (six images), 30 steps on one CPU thread take about
20 seconds; over seeds 0-4 the loss falls to 0.55-0.65 of its start and
keypoint mAP rises from 0.000 to 0.41-0.76 on the training images (0.30-0.50
for seeds 0-2 on six other crops, ``--eval-data`` a folder made with
``--seed 1``). Before each evaluation the batch norm statistics are averaged
over one pass of the training images (`recalibrate_batch_norm`).

Usage::

    python examples/keypoint_finetune.py --make-demo-data /tmp/flower-keypoints
    python examples/keypoint_finetune.py --data /tmp/flower-keypoints --steps 60
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from visiondata.collate import to_device
from visiondata.formats import CocoDetectionDataset
from visiondata.loaders import build_loader
from visiondata.transforms import BoxPipeline

#: The dahlia in scikit-learn's flower.jpg (640x427): its box and five keypoints, placed by hand.
FLOWER_BOX = (168.0, 85.0, 447.0, 360.0)
KEYPOINT_NAMES = ["centre", "left_tip", "right_tip", "top_tip", "bottom_tip"]
FLOWER_KEYPOINTS = {
    "centre": (305.0, 222.0),
    "left_tip": (170.0, 225.0),
    "right_tip": (446.0, 232.0),
    "top_tip": (316.0, 86.0),
    "bottom_tip": (322.0, 358.0),
}
#: The keypoint a mirror image shows in each place.
MIRRORED = {"left_tip": "right_tip", "right_tip": "left_tip"}
#: COCO's 1-based skeleton: the centre joined to each tip.
SKELETON = [[1, 2], [1, 3], [1, 4], [1, 5]]
#: Crops end above this row: below it a second, cut-off dahlia that is not labelled would teach the model
#: that a flower is background.
LOWEST_ROW = 372


def sklearn_photo(name: str) -> Image.Image:
    """One of the photos that scikit-learn ships (``china.jpg``, ``flower.jpg``), as RGB."""
    try:
        import sklearn.datasets
    except ImportError as error:
        raise SystemExit(
            f"the demo data is cut from scikit-learn's photos: pip install scikit-learn ({error})"
        ) from None
    return Image.open(Path(sklearn.datasets.__file__).parent / "images" / name).convert("RGB")


def make_demo_data(folder: Path, images: int = 6, seed: int = 0) -> None:
    """A COCO keypoints folder: ``images`` crops of flower.jpg (128-192 pixels), each with the dahlia labelled.

    Each crop holds the whole flower (the crop windows are drawn so that it
    does), is mirrored half of the time (``left_tip`` and ``right_tip`` then
    swap) and is scaled so that its longer side is 128 to 192 pixels.
    """
    photo = sklearn_photo("flower.jpg")
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    left_box, top_box, right_box, bottom_box = FLOWER_BOX
    records, annotations = [], []
    for index in range(images):
        width, height = int(rng.integers(300, 460)), int(rng.integers(290, LOWEST_ROW))
        # The window holds the whole box (a few pixels of margin) and stays above LOWEST_ROW.
        left = int(rng.integers(max(0, int(right_box) + 8 - width), min(int(left_box) - 8, 640 - width) + 1))
        top = int(
            rng.integers(max(0, int(bottom_box) + 5 - height), min(int(top_box) - 5, LOWEST_ROW - height) + 1)
        )
        longer = int(rng.integers(128, 193))
        scale = longer / max(width, height)
        size = (round(width * scale), round(height * scale))
        crop = photo.crop((left, top, left + width, top + height)).resize(size, Image.Resampling.BILINEAR)
        mirrored = bool(rng.integers(0, 2))
        if mirrored:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        scale_x, scale_y = size[0] / width, size[1] / height
        # Photo pixels -> crop pixels: shift, scale, then mirror (x -> width - x, as for boxes).
        names = [MIRRORED.get(name, name) if mirrored else name for name in KEYPOINT_NAMES]
        xy = np.array([FLOWER_KEYPOINTS[name] for name in names] + [FLOWER_BOX[:2], FLOWER_BOX[2:]])
        xy = (xy - (left, top)) * (scale_x, scale_y)
        if mirrored:
            xy[:, 0] = size[0] - xy[:, 0]
        points = [value for x, y in xy[:-2].round(1).tolist() for value in (x, y, 2)]
        (x0, y0), (x1, y1) = xy[-2:].tolist()
        x0, x1 = min(x0, x1), max(x0, x1)
        box = [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]
        file_name = f"flower_{index:02d}.jpg"
        crop.save(folder / "images" / file_name, quality=92)
        records.append({"id": index + 1, "file_name": file_name, "width": size[0], "height": size[1]})
        annotations.append(
            {
                "id": index + 1,
                "image_id": index + 1,
                "category_id": 1,
                "bbox": box,
                "area": round(box[2] * box[3], 1),
                "iscrowd": 0,
                "keypoints": points,
                "num_keypoints": len(KEYPOINT_NAMES),
            }
        )
    categories = [
        {
            "id": 1,
            "name": "flower",
            "supercategory": "plant",
            "keypoints": KEYPOINT_NAMES,
            "skeleton": SKELETON,
        }
    ]
    (folder / "annotations.json").write_text(
        json.dumps({"images": records, "annotations": annotations, "categories": categories}, indent=1)
    )


def build_model(name: str, num_classes: int, num_keypoints: int, size: int, weights_backbone: Any) -> Any:
    """Keypoint R-CNN for ``num_keypoints`` keypoints on the backbone ``name``, for ``size``-pixel inputs."""
    from torchvision.models.detection import KeypointRCNN, keypointrcnn_resnet50_fpn

    if name == "resnet50_fpn":
        return keypointrcnn_resnet50_fpn(
            weights=None,
            weights_backbone=weights_backbone,
            num_classes=num_classes,
            num_keypoints=num_keypoints,
            min_size=size,
            max_size=size,
        )
    from torchvision.models import MobileNet_V3_Large_Weights
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import mobilenet_backbone
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
    from torchvision.ops import FrozenBatchNorm2d

    weights = None if weights_backbone is None else MobileNet_V3_Large_Weights.verify(weights_backbone)
    # As torchvision's own builders: batch norm trains with random weights, and is frozen on pretrained ones.
    backbone = mobilenet_backbone(
        backbone_name="mobilenet_v3_large",
        weights=weights,
        fpn=True,
        trainable_layers=6 if weights is None else 3,
        norm_layer=torch.nn.BatchNorm2d if weights is None else FrozenBatchNorm2d,
    )
    anchors = AnchorGenerator(((32, 64, 128, 256, 512),) * 3, ((0.5, 1.0, 2.0),) * 3)
    # A lighter keypoint head and fewer sampled regions than torchvision's defaults (eight 512-channel
    # convolutions, 512 regions an image): a CPU step is 20 times faster, and one object an image needs no more.
    return KeypointRCNN(
        backbone,
        num_classes=num_classes,
        rpn_anchor_generator=anchors,
        min_size=size,
        max_size=size,
        keypoint_head=KeypointRCNNHeads(backbone.out_channels, (64,) * 4),
        keypoint_predictor=KeypointRCNNPredictor(64, num_keypoints),
        box_batch_size_per_image=64,
        rpn_pre_nms_top_n_train=300,
        rpn_post_nms_top_n_train=100,
        rpn_pre_nms_top_n_test=300,
        rpn_post_nms_top_n_test=100,
    )


def recalibrate_batch_norm(model: torch.nn.Module, loader: Any, device: torch.device) -> None:
    """Set the running statistics of the backbone's batch norm layers to their averages over one pass of ``loader``.

    Trained from random weights for a few dozen steps, running statistics
    (an exponential average, momentum 0.1) lag far behind the batch
    statistics the weights were trained with, and in eval mode the model
    finds nothing. One pass without gradients, averaging equally over the
    batches, fixes that (the "precise BN" of detectron2 and timm). A
    pretrained backbone has frozen batch norm (``FrozenBatchNorm2d``): then
    this does nothing.
    """
    norms = [
        module for module in model.modules() if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
    ]
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the pass
    was_training = model.training
    model.train()
    with torch.no_grad():
        for images, _ in loader:
            model.backbone(model.transform(to_device(images, device))[0].tensors)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.train(was_training)


def keypoint_average_precision(
    model: torch.nn.Module,
    dataset: CocoDetectionDataset,
    device: torch.device,
    sigma: float = 0.07,
) -> float:
    """Keypoint mAP (OKS 0.5:0.95, COCO's ``AP``) of ``model`` on ``dataset``, by pycocotools.

    The ground truth is what the dataset yields (so any transform of the
    evaluation dataset applies to it), with each object's area taken as its
    box's (COCO's files give the segmentation's area: OKS is then a little
    stricter here). Every keypoint gets the same OKS ``sigma`` (COCO's 17
    person keypoints have their own, 0.025 to 0.107).
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as error:
        raise SystemExit(f"keypoint mAP needs pycocotools: pip install '.[coco]' ({error})") from None
    images, annotations, results = [], [], []
    labels = dataset.classes
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for index in range(len(dataset)):
            image, target = dataset[index]
            height, width = image.shape[-2:]
            images.append({"id": index, "width": int(width), "height": int(height)})
            for box, label, points in zip(
                target["boxes"].tolist(), target["labels"].tolist(), target["keypoints"].tolist(), strict=True
            ):
                x0, y0, x1, y1 = box
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": index,
                        "category_id": int(label),
                        "bbox": [x0, y0, x1 - x0, y1 - y0],
                        "area": (x1 - x0) * (y1 - y0),
                        "iscrowd": 0,
                        "keypoints": [value for point in points for value in point],
                        "num_keypoints": sum(point[2] > 0 for point in points),
                    }
                )
            (prediction,) = model([image.to(device)])
            for label, score, points in zip(
                prediction["labels"].tolist(),
                prediction["scores"].tolist(),
                prediction["keypoints"].tolist(),
                strict=True,
            ):
                results.append(
                    {
                        "image_id": index,
                        "category_id": int(label),
                        "keypoints": [value for point in points for value in point],
                        "score": score,
                    }
                )
    model.train(was_training)
    if not results:
        return 0.0  # no detection at all: nothing is found, so the precision of every threshold is 0
    categories = [{"id": label, "name": name} for label, name in enumerate(labels) if label > 0]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations, "categories": categories}
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), iouType="keypoints")
        evaluation.params.kpt_oks_sigmas = np.full(len(dataset.keypoint_names), sigma)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return max(float(evaluation.stats[0]), 0.0)  # -1: no ground truth to score


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="COCO keypoints folder: images/ and annotations.json")
    parser.add_argument(
        "--make-demo-data", type=Path, help="write a tiny COCO keypoints folder (real photos) here and stop"
    )
    parser.add_argument(
        "--model", choices=["mobilenet_v3_large_fpn", "resnet50_fpn"], default="mobilenet_v3_large_fpn"
    )
    parser.add_argument(
        "--weights-backbone", default="none", help="'none' or 'DEFAULT' (downloads ImageNet weights)"
    )
    parser.add_argument(
        "--size", type=int, default=160, help="the model's input size (its min_size and max_size)"
    )
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--oks-sigma", type=float, default=0.07, help="OKS sigma of every keypoint")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument(
        "--eval-data",
        type=Path,
        help="COCO keypoints folder to evaluate on (default: --data, the training images)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="of training, and of the crops of --make-demo-data"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/keypoints"))
    options = parser.parse_args(argv)
    if options.make_demo_data is not None:
        make_demo_data(options.make_demo_data, seed=options.seed)
        print(f"wrote a COCO keypoints folder to {options.make_demo_data}")
        return {}
    if options.data is None:
        parser.error("--data is required (or --make-demo-data to create a demo folder)")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(options.seed)
    images_dir, annotation_file = options.data / "images", options.data / "annotations.json"
    # The file's categories name keypoints, so they are read; flip_pairs come from the left_/right_ names.
    train = CocoDetectionDataset(images_dir, annotation_file)
    held_out = options.eval_data or options.data
    evaluation = CocoDetectionDataset(held_out / "images", held_out / "annotations.json")
    if evaluation.keypoint_names != train.keypoint_names:
        parser.error(
            f"--eval-data: expected the keypoints of --data {train.keypoint_names}, got {evaluation.keypoint_names}"
        )
    # The mirror swaps each flip pair (left_tip <-> right_tip), so the labels keep their meaning.
    train.transform = BoxPipeline(
        [{"name": "HorizontalFlip", "p": 0.5}, {"name": "ToDtype", "dtype": "float32", "scale": True}],
        seed=options.seed,
        flip_pairs=train.flip_pairs,
    )
    evaluation.transform = BoxPipeline([{"name": "ToDtype", "dtype": "float32", "scale": True}])
    loader = build_loader(
        train, batch_size=options.batch_size, shuffle=True, num_workers=options.num_workers, seed=options.seed
    )
    backbone = None if options.weights_backbone.lower() == "none" else options.weights_backbone
    model = build_model(
        options.model, len(train.classes), len(train.keypoint_names), options.size, backbone
    ).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=options.lr, total_steps=options.steps)

    recalibrate_batch_norm(model, loader, device)
    map_before = keypoint_average_precision(model, evaluation, device, options.oks_sigma)
    losses: list[float] = []
    keypoint_losses: list[float] = []
    progress = tqdm(total=options.steps, desc="training", unit="step")
    while len(losses) < options.steps:
        for images, targets in loader:
            images, targets = to_device((images, targets), device)
            # The tensors only, as plain tensors: the model needs nothing else from a target.
            targets = [
                {
                    key: value.as_subclass(torch.Tensor)
                    for key, value in target.items()
                    if torch.is_tensor(value)
                }
                for target in targets
            ]
            parts = model(images, targets)
            loss = sum(parts.values())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            keypoint_losses.append(parts["loss_keypoint"].item())
            progress.update()
            progress.set_postfix(loss=f"{losses[-1]:.3f}")
            if len(losses) == options.steps:
                break
    progress.close()

    recalibrate_batch_norm(model, loader, device)
    metrics: dict[str, Any] = {
        "steps": len(losses),
        "keypoint_names": train.keypoint_names,
        "flip_pairs": [list(pair) for pair in train.flip_pairs or []],
        "first_losses": losses[:5],
        "last_losses": losses[-5:],
        "first_keypoint_losses": keypoint_losses[:5],
        "last_keypoint_losses": keypoint_losses[-5:],
        "keypoint_map_before": map_before,
        "keypoint_map_after": keypoint_average_precision(model, evaluation, device, options.oks_sigma),
    }
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(
        f"loss {np.mean(losses[:5]):.3f} -> {np.mean(losses[-5:]):.3f}; keypoint mAP "
        f"{metrics['keypoint_map_before']:.3f} -> {metrics['keypoint_map_after']:.3f} ({options.out / 'metrics.json'})"
    )
    return metrics


if __name__ == "__main__":
    main()

"""Decode for the output on the detection path (issue 21): every reader, the shard reader, the switches.

A ``BoxPipeline`` whose first step is a resize or resized crop draws that step on the JPEG header's size
(``decode_plan``); the dataset decodes at a DCT scale and hands the ``PlannedImage`` with the full-size
target. The targets (boxes, labels, masks, keypoints, oriented corners, what was dropped) must be those
of the exact path, the image the same shape and within 30 dB PSNR of it, and at least one sample must
really be decoded below full scale. Every fixture is a real file written here (JPEG/PNG via PIL, each
format's annotation file, shards by visiondata's own writer).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image, ImageDraw, ImageFilter

from visiondata.formats import (
    CocoDetectionDataset,
    CSVDetectionDataset,
    CVATDataset,
    DOTADataset,
    LabelMeDataset,
    LabelStudioDataset,
    SegmentationFolderDataset,
    VOCDetectionDataset,
    YOLODataset,
)
from visiondata.io import PlannedImage, read_image, read_planned, set_scaled_decode
from visiondata.transforms import BoxPipeline, presets

WIDTH, HEIGHT = 640, 480
CLASSES = ["cat", "dog"]
# Image stem -> boxes (x0, y0, x1, y1, class), whole pixels so that every format holds them exactly.
BOXES: dict[str, list[tuple[int, int, int, int, str]]] = {
    "a": [(40, 50, 260, 300, "cat"), (300, 120, 600, 420, "dog"), (500, 20, 630, 110, "cat")],
    "b": [(10, 200, 330, 470, "dog"), (360, 40, 560, 260, "cat")],
}
CROP = [{"name": "RandomResizedCrop", "size": 96, "scale": [0.3, 1.0]}, "HorizontalFlip"]
LONGEST = [{"name": "LongestMaxSize", "max_size": 96}, "HorizontalFlip", {"name": "PadIfNeeded", "min_height": 96, "min_width": 96}]
SEED = 11
READS = 3  # passes over the dataset per path


# ---------------------------------------------------------------- images
def _photo(path: Path, seed: int, size: tuple[int, int] = (WIDTH, HEIGHT), **save: Any) -> None:
    """A photo-like JPEG: smooth gradients, a few shapes, soft edges and fine noise (quality 90)."""
    width, height = size
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            120 + 80 * np.sin(columns / (37 + seed) + rows / 91),
            100 + 70 * np.cos(rows / (29 + seed)),
            90 + 60 * np.sin((rows + columns) / 53),
        ],
        axis=-1,
    )
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        x1, y1 = x0 + int(rng.integers(20, 200)), y0 + int(rng.integers(20, 160))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.5))
    noisy = np.asarray(image, dtype=np.int16) + rng.integers(-6, 7, (height, width, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90, **save)


def _images(folder: Path, extension: str = ".jpg") -> None:
    for number, stem in enumerate(BOXES):
        if extension == ".jpg":
            _photo(folder / f"{stem}.jpg", number)
        else:
            _photo(folder / "tmp.jpg", number)
            Image.open(folder / "tmp.jpg").save(folder / f"{stem}{extension}")
            (folder / "tmp.jpg").unlink()


def _polygon(box: tuple[int, int, int, int, str]) -> list[tuple[float, float]]:
    """A pentagon inside the box (so masks are not the boxes)."""
    x0, y0, x1, y1, _ = box
    middle = (x0 + x1) / 2
    return [(middle, y0), (x1, y0 + (y1 - y0) / 3), (x1 - 10, y1), (x0 + 10, y1), (x0, y0 + (y1 - y0) / 3)]


def _keypoints(box: tuple[int, int, int, int, str]) -> list[tuple[float, float, int]]:
    """Three keypoints inside the box: left, right (a flip pair) and a middle one, one of them hidden."""
    x0, y0, x1, y1, _ = box
    return [(x0 + 0.25 * (x1 - x0), y0 + 0.3 * (y1 - y0), 2), (x0 + 0.75 * (x1 - x0), y0 + 0.3 * (y1 - y0), 1), (0, 0, 0)]


def _corners(box: tuple[int, int, int, int, str]) -> list[tuple[float, float]]:
    """A rotated rectangle (diamond-like quadrilateral) inside the box, clockwise."""
    x0, y0, x1, y1, _ = box
    return [((x0 + x1) / 2, y0), (x1, (y0 + y1) / 2), ((x0 + x1) / 2, y1), (x0, (y0 + y1) / 2)]


# ---------------------------------------------------------------- one writer per format
def coco(root: Path, keypoints: bool = False, **options: Any) -> Any:
    _images(root / "images")
    categories = [{"id": i + 1, "name": name, "supercategory": "thing"} for i, name in enumerate(CLASSES)]
    if keypoints:
        for category in categories:
            category["keypoints"] = ["left", "right", "middle"]
    images, annotations = [], []
    for number, (stem, boxes) in enumerate(BOXES.items(), start=1):
        images.append({"id": number, "file_name": f"{stem}.jpg", "width": WIDTH, "height": HEIGHT})
        for box in boxes:
            x0, y0, x1, y1, label = box
            annotation: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": number,
                "category_id": CLASSES.index(label) + 1,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
                "segmentation": [[value for point in _polygon(box) for value in point]],
            }
            if keypoints:
                annotation["keypoints"] = [value for point in _keypoints(box) for value in point]
                annotation["num_keypoints"] = 2
            annotations.append(annotation)
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    if keypoints:
        return lambda **kw: CocoDetectionDataset(root / "images", path, keypoints=True, flip_pairs=[(0, 1)], **kw)
    return lambda **kw: CocoDetectionDataset(root / "images", path, masks=True, **kw)


def voc(root: Path) -> Any:
    _images(root / "JPEGImages")
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for stem, boxes in BOXES.items():
        objects = "".join(
            f"<object><name>{label}</name><difficult>0</difficult><bndbox><xmin>{x0 + 1}</xmin>"
            f"<ymin>{y0 + 1}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
            for x0, y0, x1, y1, label in boxes
        )
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>{WIDTH}</width><height>{HEIGHT}</height>"
            f"<depth>3</depth></size>{objects}</annotation>"
        )
    (root / "ImageSets" / "Main" / "train.txt").write_text("".join(f"{stem}\n" for stem in BOXES))
    return lambda **kw: VOCDetectionDataset(root, classes=CLASSES, **kw)


def yolo(root: Path, task: str = "detect") -> Any:
    _images(root / "images" / "train")
    labels = root / "labels" / "train"
    labels.mkdir(parents=True)
    spec: dict[str, Any] = {"path": ".", "train": "images/train", "val": "images/train", "names": CLASSES}
    for stem, boxes in BOXES.items():
        lines = []
        for box in boxes:
            x0, y0, x1, y1, label = box
            values: list[float]
            if task == "segment":
                values = [v for x, y in _polygon(box) for v in (x / WIDTH, y / HEIGHT)]
            elif task == "obb":
                values = [v for x, y in _corners(box) for v in (x / WIDTH, y / HEIGHT)]
            else:
                values = [(x0 + x1) / 2 / WIDTH, (y0 + y1) / 2 / HEIGHT, (x1 - x0) / WIDTH, (y1 - y0) / HEIGHT]
                if task == "pose":
                    values += [v for x, y, seen in _keypoints(box) for v in (x / WIDTH, y / HEIGHT, seen)]
            lines.append(f"{CLASSES.index(label)} " + " ".join(f"{v:.6f}" for v in values))
        (labels / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    if task == "pose":
        spec.update(kpt_shape=[3, 3], flip_idx=[1, 0, 2])
    (root / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    masks = {"masks": True} if task == "segment" else {}
    return lambda **kw: YOLODataset(data_yaml=root / "data.yaml", task=task, **masks, **kw)


def dota(root: Path) -> Any:
    _images(root / "images")
    (root / "labelTxt").mkdir()
    for stem, boxes in BOXES.items():
        (root / "labelTxt" / f"{stem}.txt").write_text(
            "".join(
                " ".join(f"{v:.1f}" for point in _corners(box) for v in point) + f" {box[4]} 0\n" for box in boxes
            )
        )
    return lambda **kw: DOTADataset(root / "images", classes=CLASSES, **kw)


def cvat(root: Path) -> Any:
    _images(root / "images")
    labels = "".join(f"<label><name>{name}</name><type>any</type></label>" for name in CLASSES)
    images = []
    for number, (stem, boxes) in enumerate(BOXES.items()):
        shapes = []
        for index, box in enumerate(boxes):
            x0, y0, x1, y1, label = box
            if index == 0:  # a polygon, drawn as a mask
                points = ";".join(f"{x:.2f},{y:.2f}" for x, y in _polygon(box))
                shapes.append(f'<polygon label="{label}" occluded="0" points="{points}" z_order="0"/>')
            else:
                shapes.append(
                    f'<box label="{label}" occluded="0" xtl="{x0}" ytl="{y0}" xbr="{x1}" ybr="{y1}" z_order="0"/>'
                )
        images.append(
            f'<image id="{number}" name="{stem}.jpg" width="{WIDTH}" height="{HEIGHT}">{"".join(shapes)}</image>'
        )
    (root / "annotations.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta><task><id>1</id>'
        f"<name>pets</name><size>2</size><labels>{labels}</labels></task></meta>{''.join(images)}</annotations>"
    )
    return lambda **kw: CVATDataset(root / "annotations.xml", root / "images", masks=True, **kw)


def labelme(root: Path) -> Any:
    _images(root)
    for stem, boxes in BOXES.items():
        shapes = []
        for index, box in enumerate(boxes):
            x0, y0, x1, y1, label = box
            points, kind = ([list(p) for p in _polygon(box)], "polygon") if index == 0 else ([[x0, y0], [x1, y1]], "rectangle")
            shapes.append({"label": label, "points": points, "group_id": None, "shape_type": kind, "flags": {}})
        document = {
            "version": "5.4.1",
            "flags": {},
            "shapes": shapes,
            "imagePath": f"{stem}.jpg",
            "imageData": None,
            "imageHeight": HEIGHT,
            "imageWidth": WIDTH,
        }
        (root / f"{stem}.json").write_text(json.dumps(document))
    return lambda **kw: LabelMeDataset(root, classes=CLASSES, masks=True, **kw)


def label_studio(root: Path) -> Any:
    _images(root / "images")
    tasks = []
    for number, (stem, boxes) in enumerate(BOXES.items(), start=1):
        results = []
        for index, box in enumerate(boxes):
            x0, y0, x1, y1, label = box
            common = {"from_name": "label", "to_name": "image", "original_width": WIDTH, "original_height": HEIGHT}
            if index == 0:
                points = [[100 * x / WIDTH, 100 * y / HEIGHT] for x, y in _polygon(box)]
                value = {"points": points, "polygonlabels": [label]}
                results.append({"id": f"p{index}", "type": "polygonlabels", **common, "value": value})
            else:
                value = {
                    "x": 100 * x0 / WIDTH,
                    "y": 100 * y0 / HEIGHT,
                    "width": 100 * (x1 - x0) / WIDTH,
                    "height": 100 * (y1 - y0) / HEIGHT,
                    "rotation": 0,
                    "rectanglelabels": [label],
                }
                results.append({"id": f"r{index}", "type": "rectanglelabels", **common, "value": value})
        tasks.append(
            {
                "id": number,
                "data": {"image": f"/data/upload/1/{stem}.jpg"},
                "annotations": [{"id": number, "was_cancelled": False, "result": results}],
            }
        )
    (root / "export.json").write_text(json.dumps(tasks))
    return lambda **kw: LabelStudioDataset(root / "export.json", root / "images", masks=True, **kw)


def csv_boxes(root: Path) -> Any:
    _images(root)
    rows = ["image,x_min,y_min,x_max,y_max,label"]
    rows += [f"{stem}.jpg,{x0},{y0},{x1},{y1},{label}" for stem, boxes in BOXES.items() for x0, y0, x1, y1, label in boxes]
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    return lambda **kw: CSVDetectionDataset(root / "boxes.csv", root, classes=["__background__", *CLASSES], **kw)


def segmentation(root: Path) -> Any:
    _images(root / "images")
    (root / "masks").mkdir()
    for stem, boxes in BOXES.items():
        mask = Image.new("L", (WIDTH, HEIGHT), 0)
        for box in boxes:
            ImageDraw.Draw(mask).polygon(_polygon(box), fill=CLASSES.index(box[4]) + 1)
        mask.save(root / "masks" / f"{stem}.png")
    return lambda **kw: SegmentationFolderDataset(
        root / "images", root / "masks", classes=["background", *CLASSES], **kw
    )


READERS: dict[str, Callable[[Path], Any]] = {
    "coco-masks": coco,
    "coco-keypoints": lambda root: coco(root, keypoints=True),
    "voc": voc,
    "yolo-detect": yolo,
    "yolo-segment": lambda root: yolo(root, "segment"),
    "yolo-pose": lambda root: yolo(root, "pose"),
    "yolo-obb": lambda root: yolo(root, "obb"),
    "dota": dota,
    "cvat": cvat,
    "labelme": labelme,
    "label-studio": label_studio,
    "csv": csv_boxes,
    "segmentation-folder": segmentation,
}


#: Readers whose images are not decoded for the plan yet (a library bug: LabelMeDataset overrides
#: load_image, for the embedded imageData, and ImageFileDataset._planner then offers no plan).
NOT_PLANNED = {"labelme"}


# ---------------------------------------------------------------- comparing the two paths
class Recording(BoxPipeline):
    """A BoxPipeline that notes the DCT scale of each planned image it receives (0: a plain image)."""

    def __call__(self, *inputs: Any) -> Any:
        first = inputs[0]
        self.scales = [*getattr(self, "scales", []), first.scale if isinstance(first, PlannedImage) else 0]
        return super().__call__(*inputs)


def psnr(ours: torch.Tensor, exact: torch.Tensor) -> float:
    error = float((ours.double() - exact.double()).pow(2).mean())
    return math.inf if error == 0 else 10 * math.log10(255.0**2 / error)


def assert_same_target(ours: Any, exact: Any, where: str) -> None:
    """Every key equal: tensors exactly (float boxes within 1e-4 px), lists and plain values as they are."""
    if isinstance(exact, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(exact), where
        for key in exact:
            assert_same_target(ours[key], exact[key], f"{where}[{key!r}]")
    elif isinstance(exact, (list, tuple)):
        assert type(ours) is type(exact) and len(ours) == len(exact), where
        for number, (got, want) in enumerate(zip(ours, exact, strict=True)):
            assert_same_target(got, want, f"{where}[{number}]")
    elif isinstance(exact, torch.Tensor):
        assert isinstance(ours, torch.Tensor) and type(ours) is type(exact), where
        assert ours.shape == exact.shape and ours.dtype == exact.dtype, where
        if hasattr(exact, "canvas_size"):
            assert tuple(ours.canvas_size) == tuple(exact.canvas_size), where
            assert ours.format == exact.format, where
        if exact.is_floating_point():
            assert torch.allclose(ours, exact, atol=1e-4, rtol=0), f"{where}: {(ours - exact).abs().max()}"
        else:
            assert torch.equal(ours, exact), where
    elif isinstance(exact, np.ndarray):
        assert np.allclose(ours, exact, atol=1e-4, rtol=0), where
    else:
        assert ours == exact, where


def samples(dataset: Any) -> list[tuple[Any, Any]]:
    """One pass over a map-style dataset (by index) or a stream (a ShardDataset, in written order)."""
    if hasattr(dataset, "__getitem__"):
        return [dataset[index] for index in range(len(dataset))]
    return list(dataset)


def compare(planned: Any, exact: Any, reads: int = READS, torch_seeded: bool = False) -> list[int]:
    """Read both datasets ``reads`` times (their transforms: `Recording` pipelines of the same seed); assert
    equal targets, equal image shapes and PSNR >= 30 dB. Returns the scales the planned path decoded at.

    ``torch_seeded``: pipelines with ``seed=None``, so torch's global generator is seeded alike before
    each pass of either path."""
    for read in range(reads):
        if torch_seeded:
            torch.manual_seed(read)
        ours = samples(planned)
        if torch_seeded:
            torch.manual_seed(read)
        theirs = samples(exact)
        assert len(ours) == len(theirs) == len(BOXES)
        for index, ((ours_image, ours_target), (exact_image, exact_target)) in enumerate(zip(ours, theirs)):
            where = f"read {read}, sample {index}"
            assert_same_target(ours_target, exact_target, where)
            assert type(ours_image) is type(exact_image), where
            assert ours_image.shape == exact_image.shape and ours_image.dtype == exact_image.dtype, where
            assert psnr(ours_image, exact_image) >= 30, (where, psnr(ours_image, exact_image))
    assert exact.transform.scales == [0] * (reads * len(BOXES))  # decoded exactly: never a PlannedImage
    return planned.transform.scales


def compare_paths(make: Callable[..., Any], transforms: list, reads: int = READS, **options: Any) -> list[int]:
    """`compare` on a reader built twice: ``scaled_decode=True`` and ``False``, fresh pipelines of one seed."""
    options = {"seed": SEED, "min_visibility": 0.3, **options}
    planned = make(transform=Recording(transforms, **options), scaled_decode=True)
    exact = make(transform=Recording(transforms, **options), scaled_decode=False)
    return compare(planned, exact, reads, torch_seeded=options["seed"] is None)


# ---------------------------------------------------------------- 1. every reader
@pytest.mark.parametrize("name", list(READERS))
def test_every_reader_gives_the_exact_targets_from_a_smaller_decode(name: str, tmp_path: Path) -> None:
    make = READERS[name](tmp_path)
    targets = make()[0][1]
    if name in ("coco-keypoints", "yolo-pose"):
        assert targets["keypoints"].shape == (3, 3, 3)  # the fixture reaches the pipeline's keypoint path
    if name in ("coco-masks", "yolo-segment", "cvat", "labelme", "label-studio"):
        assert targets["masks"].shape == (3, HEIGHT, WIDTH)
    for transforms in (CROP, LONGEST):
        scales = compare_paths(make, transforms)
        if name in NOT_PLANNED:
            continue  # equal targets, but decoded exactly (see test_labelme_decodes_for_the_plan)
        assert max(scales) > 1, (transforms, scales)  # the plan was used: some decode below full scale
        assert min(scales) >= 1  # every JPEG was planned


@pytest.mark.xfail(
    strict=True,
    reason="library bug: LabelMeDataset overrides load_image (embedded imageData), so _planner gives no plan",
)
def test_labelme_decodes_for_the_plan(tmp_path: Path) -> None:
    pipeline = Recording(CROP, seed=SEED)
    dataset = labelme(tmp_path)(transform=pipeline, scaled_decode=True)
    for index in range(len(dataset)):
        dataset[index]
    assert min(pipeline.scales) >= 1

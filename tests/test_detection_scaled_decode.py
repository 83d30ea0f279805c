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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import IterableDataset

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
from visiondata.io import DecodePlan, PlannedImage, plan_scale, read_image, read_planned, set_scaled_decode
from visiondata.transforms import BoxPipeline, presets

# 640 x 480: RandomResizedCrop(96) then keeps >= 2x the output at 1/2 scale for its larger crops only,
# so both full and 1/2-scale decodes are met; LongestMaxSize(96) always decodes at 1/2.
WIDTH, HEIGHT = 640, 480
CLASSES = ["cat", "dog"]
# Image stem -> boxes (x0, y0, x1, y1, class), whole pixels so that every format holds them exactly.
BOXES: dict[str, list[tuple[int, int, int, int, str]]] = {
    "a": [(40, 50, 260, 300, "cat"), (300, 120, 600, 420, "dog"), (500, 20, 630, 110, "cat")],
    "b": [(10, 200, 330, 470, "dog"), (360, 40, 560, 260, "cat")],
}
CROP = [{"name": "RandomResizedCrop", "size": 96, "scale": [0.3, 1.0]}, "HorizontalFlip"]
LONGEST = [
    {"name": "LongestMaxSize", "max_size": 96},
    "HorizontalFlip",
    {"name": "PadIfNeeded", "min_height": 96, "min_width": 96},
]
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
    return [
        (x0 + 0.25 * (x1 - x0), y0 + 0.3 * (y1 - y0), 2),
        (x0 + 0.75 * (x1 - x0), y0 + 0.3 * (y1 - y0), 1),
        (0, 0, 0),
    ]


def _corners(box: tuple[int, int, int, int, str]) -> list[tuple[float, float]]:
    """A rotated rectangle (diamond-like quadrilateral) inside the box, clockwise."""
    x0, y0, x1, y1, _ = box
    return [((x0 + x1) / 2, y0), (x1, (y0 + y1) / 2), ((x0 + x1) / 2, y1), (x0, (y0 + y1) / 2)]


# ---------------------------------------------------------------- one writer per format
def coco(root: Path, keypoints: bool = False) -> Any:
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
        return lambda **kw: CocoDetectionDataset(
            root / "images", path, keypoints=True, flip_pairs=[(0, 1)], **kw
        )
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
                values = [
                    (x0 + x1) / 2 / WIDTH,
                    (y0 + y1) / 2 / HEIGHT,
                    (x1 - x0) / WIDTH,
                    (y1 - y0) / HEIGHT,
                ]
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
                " ".join(f"{v:.1f}" for point in _corners(box) for v in point) + f" {box[4]} 0\n"
                for box in boxes
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
            points, kind = (
                ([list(p) for p in _polygon(box)], "polygon")
                if index == 0
                else ([[x0, y0], [x1, y1]], "rectangle")
            )
            shapes.append(
                {"label": label, "points": points, "group_id": None, "shape_type": kind, "flags": {}}
            )
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
            common = {
                "from_name": "label",
                "to_name": "image",
                "original_width": WIDTH,
                "original_height": HEIGHT,
            }
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


def csv_boxes(root: Path, extension: str = ".jpg") -> Any:
    _images(root, extension)
    rows = ["image,x_min,y_min,x_max,y_max,label"]
    rows += [
        f"{stem}{extension},{x0},{y0},{x1},{y1},{label}"
        for stem, boxes in BOXES.items()
        for x0, y0, x1, y1, label in boxes
    ]
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    return lambda **kw: CSVDetectionDataset(
        root / "boxes.csv", root, classes=["__background__", *CLASSES], **kw
    )


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


# ---------------------------------------------------------------- comparing the two paths
class Recording(BoxPipeline):
    """A BoxPipeline that notes the DCT scale of each planned image it receives (0: a plain image)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scales: list[int] = []

    def __call__(self, *inputs: Any) -> Any:
        first = inputs[0]
        self.scales.append(first.scale if isinstance(first, PlannedImage) else 0)
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
    if isinstance(dataset, IterableDataset):
        return list(dataset)
    return [dataset[index] for index in range(len(dataset))]


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


def compare_paths(
    make: Callable[..., Any], transforms: list, reads: int = READS, **options: Any
) -> list[int]:
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
    # The crop with the pipeline's own stream; the resize (which draws only the flip) with seed=None,
    # torch's global generator seeded alike before each pass.
    for transforms, reads, seed in ((CROP, READS, SEED), (LONGEST, 2, None)):
        scales = compare_paths(make, transforms, reads, seed=seed)
        assert max(scales) > 1, (transforms, scales)  # the plan was used: some decode below full scale
        assert min(scales) >= 1  # every JPEG was planned


def test_labelme_decodes_for_the_plan(tmp_path: Path) -> None:
    pipeline = Recording(CROP, seed=SEED)
    dataset = labelme(tmp_path)(transform=pipeline, scaled_decode=True)
    for index in range(len(dataset)):
        dataset[index]
    assert min(pipeline.scales) >= 1


# ---------------------------------------------------------------- 2. the same crops
@pytest.mark.parametrize("seed", [5, None])
def test_the_plan_draws_the_crops_and_later_draws_of_the_exact_path(seed: int | None) -> None:
    # A small header size keeps 200 draws fast; a 24 px output still lets crops decode at 1/2 or in full.
    height, width, size = 120, 160, 24
    transforms = [{**CROP[0], "size": size}, {"name": "HorizontalFlip", "p": 0.5}]
    planning, exact = BoxPipeline(transforms, seed=seed), BoxPipeline(transforms, seed=seed)
    full = torch.zeros(3, height, width, dtype=torch.uint8)
    decoded = {d: full[:, ::d, ::d] for d in (1, 2, 4, 8)}  # ceil(height / d) x ceil(width / d), as libjpeg
    # The whole image, a box at the left and one at the bottom right: where each lands fixes crop and flip.
    boxes = torch.tensor([[0.0, 0.0, width, height], [3.0, 10.0, 50.0, 75.0], [100.0, 75.0, 157.0, 117.0]])
    regions, scales = set(), []
    for draw in range(200):
        if seed is None:
            torch.manual_seed(draw)
        plan = planning.decode_plan(height, width)
        scale = plan_scale(plan, height, width)
        image = PlannedImage(decoded[scale], plan, (height, width), scale)
        ours_image, ours = planning(image, {"boxes": boxes.clone(), "labels": torch.arange(3)})
        if seed is None:
            torch.manual_seed(draw)
        exact_image, theirs = exact(full, {"boxes": boxes.clone(), "labels": torch.arange(3)})
        assert ours_image.shape == exact_image.shape == (3, size, size)
        assert_same_target(ours, theirs, f"draw {draw}")
        regions.add((plan.top, plan.left, plan.height, plan.width))
        scales.append(scale)
    assert len(regions) > 150  # a real distribution of crops, not one repeated
    assert {1, 2} <= set(scales)  # both exact and scaled decodes are covered


# ---------------------------------------------------------------- 3. later steps draw the same
def test_random_steps_after_the_first_draw_as_on_the_exact_path(tmp_path: Path) -> None:
    transforms = [
        *CROP[:1],
        {"name": "HorizontalFlip", "p": 0.5},
        {"name": "ColorJitter", "brightness": 0.3, "contrast": 0.3, "saturation": 0.3},
        {"name": "Affine", "degrees": 15, "translate": [0.1, 0.1], "scale": [0.8, 1.2]},
    ]
    make = READERS["coco-keypoints"](tmp_path)  # keypoints with a flip pair: the flip must swap them alike
    scales = compare_paths(make, transforms, reads=15, flip_pairs=[(0, 1)])  # 30 samples
    assert max(scales) > 1


# ---------------------------------------------------------------- 4. fallbacks and switches
def test_png_files_are_decoded_exactly_and_give_the_exact_pixels(tmp_path: Path) -> None:
    make = csv_boxes(tmp_path, extension=".png")
    options = {"seed": SEED, "min_visibility": 0.3}
    planned = make(transform=Recording(CROP, **options), scaled_decode=True)
    exact = make(transform=Recording(CROP, **options), scaled_decode=False)
    for (ours_image, ours), (exact_image, theirs) in zip(samples(planned), samples(exact), strict=True):
        assert torch.equal(ours_image, exact_image)
        assert_same_target(ours, theirs, "png")
    assert planned.transform.scales == [0, 0]  # no plan: the pipeline drew on the decoded image


def test_the_process_switch_and_the_dataset_switch_turn_planning_off(tmp_path: Path) -> None:
    make = csv_boxes(tmp_path)
    previous = set_scaled_decode(False)
    try:
        off = make(transform=Recording(LONGEST, seed=SEED))  # scaled_decode=None follows the switch
        exact = make(transform=Recording(LONGEST, seed=SEED), scaled_decode=False)
        for (image, target), (exact_image, exact_target) in zip(samples(off), samples(exact), strict=True):
            assert torch.equal(image, exact_image)
            assert_same_target(target, exact_target, "switch off")
        assert off.transform.scales == [0, 0]
        forced = make(transform=Recording(LONGEST, seed=SEED), scaled_decode=True)  # the dataset's own word
        samples(forced)
        assert forced.transform.scales == [2, 2]
        set_scaled_decode(True)  # (VISIONDATA_SCALED_DECODE=0 sets it off at import: test_scaled_decode.py)
        on = make(transform=Recording(LONGEST, seed=SEED))
        samples(on)
        assert on.transform.scales == [2, 2]
        # A custom loader decides the decoding itself: never planned, even when asked to.
        loaded = make(transform=Recording(LONGEST, seed=SEED), loader=read_image, scaled_decode=True)
        exact = make(transform=Recording(LONGEST, seed=SEED), scaled_decode=False)
        for (image, _), (exact_image, _) in zip(samples(loaded), samples(exact), strict=True):
            assert torch.equal(image, exact_image)
        assert loaded.transform.scales == [0, 0]
    finally:
        set_scaled_decode(previous)


def test_scaled_decode_true_without_a_plan_names_the_transforms_that_offer_one(tmp_path: Path) -> None:
    make = csv_boxes(tmp_path)
    with pytest.raises(TypeError, match=r"presets\.classification_train.*BoxPipeline"):
        make(transform=lambda image, target: (image, target), scaled_decode=True)
    with pytest.raises(TypeError, match="scaled_decode"):
        make(transform=None, scaled_decode=True)


def test_which_pipelines_offer_a_plan() -> None:
    assert presets.detection_eval(96).decode_plan(HEIGHT, WIDTH) is None  # exact pixels for scoring
    assert presets.detection_eval(96, scaled_decode=True).decode_plan(HEIGHT, WIDTH) == DecodePlan(
        0, 0, HEIGHT, WIDTH, 72, 96
    )
    assert presets.detection_train(96, seed=0).decode_plan(HEIGHT, WIDTH) == DecodePlan(
        0, 0, HEIGHT, WIDTH, 72, 96
    )
    resize = {"name": "LongestMaxSize", "max_size": 96}
    assert BoxPipeline([resize]).decode_plan(HEIGHT, WIDTH) is not None
    assert (
        BoxPipeline([{**resize, "p": 0.5}]).decode_plan(HEIGHT, WIDTH) is None
    )  # skipped or not: drawn later
    assert BoxPipeline(["HorizontalFlip", resize]).decode_plan(HEIGHT, WIDTH) is None
    assert (
        BoxPipeline([{"name": "OneOf", "transforms": [resize, CROP[0]]}]).decode_plan(HEIGHT, WIDTH) is None
    )
    assert BoxPipeline([{"name": "Sequential", "transforms": [resize]}]).decode_plan(HEIGHT, WIDTH) is None
    assert BoxPipeline([resize], scaled_decode=False).decode_plan(HEIGHT, WIDTH) is None
    for name in ("Resize", "SmallestMaxSize", "RandomScale", "RandomResizedCrop"):
        spec = {"name": name, "size": [72, 96]} if name == "Resize" else {"name": name}
        spec.update({"max_size": 96} if name == "SmallestMaxSize" else {})
        spec.update({"size": 96} if name == "RandomResizedCrop" else {})
        assert BoxPipeline([spec], seed=0).decode_plan(HEIGHT, WIDTH) is not None, name


def test_albumentations_backend_plans_the_resizes_that_draw_nothing(tmp_path: Path) -> None:
    pytest.importorskip("albumentations")
    assert BoxPipeline(LONGEST, backend="albumentations").decode_plan(HEIGHT, WIDTH) is not None
    assert BoxPipeline(CROP, backend="albumentations").decode_plan(HEIGHT, WIDTH) is None
    scales = compare_paths(READERS["coco-masks"](tmp_path), LONGEST, reads=1, backend="albumentations")
    assert scales == [2, 2]


def test_a_planned_image_from_another_pipeline_is_the_full_resolution_image(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    _photo(path, 0)
    other = BoxPipeline(LONGEST, seed=SEED)
    planned = read_planned(path, other.decode_plan)
    assert isinstance(planned, PlannedImage) and planned.scale == 2
    target = {"boxes": torch.tensor([[40.0, 50.0, 260.0, 300.0]]), "labels": torch.tensor([1])}
    # A pipeline that made no plan, and one holding a plan of its own that is not this image's: each
    # draws on the image as given, as an exact pipeline in the same state does on the decoded file.
    for planned_before in (False, True):
        pipeline, exact = BoxPipeline(CROP, seed=SEED), BoxPipeline(CROP, seed=SEED)
        if planned_before:
            pipeline.decode_plan(HEIGHT, WIDTH)
            exact.decode_plan(HEIGHT, WIDTH)
        image, ours = pipeline(planned, {key: value.clone() for key, value in target.items()})
        exact_image, theirs = exact(read_image(path), {key: value.clone() for key, value in target.items()})
        assert image.shape == exact_image.shape
        assert_same_target(ours, theirs, f"not this pipeline's plan (planned before: {planned_before})")
        assert psnr(image, exact_image) >= 25


# ---------------------------------------------------------------- 5. shards
@pytest.mark.parametrize("name", ["coco-masks", "segmentation-folder"])
def test_shards_decode_for_the_plan_with_the_exact_targets(name: str, tmp_path: Path) -> None:
    from visiondata.shards import ShardDataset, write_shards

    source = READERS[name](tmp_path / "source")()
    write_shards(source, tmp_path / "out" / "train-%06d.tar")  # the JPEG bytes copied as they are
    streams = []
    for scaled in (True, False):
        pipeline = Recording(CROP, seed=SEED, min_visibility=0.3)
        streams.append(
            ShardDataset(
                tmp_path / "out", split="train", shuffle_buffer=0, transform=pipeline, scaled_decode=scaled
            )
        )
    assert streams[0].task == ("detection" if name == "coco-masks" else "segmentation")
    scales = compare(*streams)
    assert max(scales) > 1 and min(scales) >= 1
    assert ("masks" if name == "coco-masks" else "mask") in samples(streams[1])[0][1]


# ---------------------------------------------------------------- 6. EXIF orientation
def test_exif_rotated_jpeg_is_planned_in_the_shown_frame(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 640 x 480, shown 480 x 640 (a quarter turn)
    for number, stem in enumerate(BOXES):
        _photo(tmp_path / f"{stem}.jpg", number, exif=exif.tobytes())
    assert tuple(read_image(tmp_path / "a.jpg").shape) == (3, WIDTH, HEIGHT)
    rows = ["image,x_min,y_min,x_max,y_max,label"]  # boxes in the shown frame (transposed)
    rows += [
        f"{stem}.jpg,{y0},{x0},{y1},{x1},{label}"
        for stem, boxes in BOXES.items()
        for x0, y0, x1, y1, label in boxes
    ]
    (tmp_path / "boxes.csv").write_text("\n".join(rows) + "\n")

    def make(**kw: Any) -> Any:
        return CSVDetectionDataset(
            tmp_path / "boxes.csv", tmp_path, classes=["__background__", *CLASSES], **kw
        )

    for transforms in (CROP, LONGEST):
        scales = compare_paths(make, transforms, reads=2)
        assert max(scales) > 1


# ---------------------------------------------------------------- 7. the setting is part of the pipeline
@pytest.mark.parametrize("scaled", [True, False])
def test_scaled_decode_round_trips_through_to_dict_and_files(scaled: bool, tmp_path: Path) -> None:
    pipeline = BoxPipeline(LONGEST, seed=3, scaled_decode=scaled)
    assert pipeline.to_dict()["scaled_decode"] is scaled
    copies = [BoxPipeline.from_dict(pipeline.to_dict())]
    for name in ("pipeline.yaml", "pipeline.json"):
        copies.append(BoxPipeline.load(pipeline.save(tmp_path / name)))
    for copy in copies:
        assert copy.scaled_decode is scaled
        assert (copy.decode_plan(HEIGHT, WIDTH) is not None) is scaled
        assert copy.to_dict() == pipeline.to_dict()

"""``CocoDetectionDataset``, ``VOCDetectionDataset`` and ``YOLODataset`` on real files in ``tmp_path``."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import pickle
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from pycocotools import mask as coco_mask
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional

import visiondata
from visiondata.datasets import CocoDetectionDataset, VOCDetectionDataset, YOLODataset
from visiondata.datasets._detection import DetectionFileDataset
from visiondata.exceptions import (
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetValidationError,
    ImageReadError,
    InvalidBoxesError,
    SkippedSampleWarning,
)
from visiondata.transforms import BoxPipeline

KINDS = ("coco", "voc", "yolo")
# (class, x_min, y_min, x_max, y_max): 0-based pixel corners, the samples' convention.
Box = tuple[str, int, int, int, int]
# The 20 Pascal VOC classes in the challenge's order, written out here independently of the library.
VOC_ORDER = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]
COCO_CATEGORY_IDS = {"cat": 1, "dog": 3, "bird": 90}  # COCO's ids are not contiguous
YOLO_NAMES = ["cat", "dog", "bird"]


@dataclass(frozen=True)
class Picture:
    """One image of a scene: its file stem, size and boxes."""

    stem: str
    width: int
    height: int
    boxes: tuple[Box, ...]


SCENE = (
    Picture("a", 40, 30, (("cat", 2, 3, 20, 15), ("dog", 10, 0, 40, 30))),
    Picture("b", 24, 32, ()),
    Picture("c", 32, 16, (("bird", 0, 4, 8, 16),)),
    Picture("d", 16, 16, (("dog", 4, 4, 12, 12), ("cat", 1, 2, 3, 4))),
)
# pycocotools' decoder itself trips numpy 2's copy-keyword deprecation.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)

MANY = (Picture("m", 64, 64, tuple(("dog", i % 50, i % 40, i % 50 + 10, i % 40 + 20) for i in range(2000))),)


# ---------------------------------------------------------------- helpers


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """Random RGB pixels; PNG or JPEG from the suffix."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def decoded(path: Path) -> torch.Tensor:
    """The file's pixels as PIL decodes them, C x H x W uint8."""
    with Image.open(path) as image:
        return functional.pil_to_tensor(image.convert("RGB"))


def write_json(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def coco_image_id(position: int) -> int:
    return 9 + 16 * position


def write_coco(root: Path, scene: Sequence[Picture] = SCENE) -> tuple[Path, Path]:
    """``root/images/<stem>.png`` and ``root/annotations/instances.json``; returns both locations."""
    images, annotations = [], []
    for position, picture in enumerate(scene):
        write_image(root / "images" / f"{picture.stem}.png", picture.width, picture.height, seed=position)
        image_id = coco_image_id(position)
        images.append(
            {
                "id": image_id,
                "file_name": f"{picture.stem}.png",
                "width": picture.width,
                "height": picture.height,
            }
        )
        for name, x_min, y_min, x_max, y_max in picture.boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": COCO_CATEGORY_IDS[name],
                    "bbox": [x_min, y_min, x_max - x_min, y_max - y_min],
                    "iscrowd": 0,
                }
            )
    categories = [{"id": number, "name": name} for name, number in COCO_CATEGORY_IDS.items()]
    file = write_json(
        root / "annotations" / "instances.json",
        {"images": images, "annotations": annotations, "categories": categories},
    )
    return root / "images", file


def voc_xml(filename: str | None, width: int, height: int, objects: Iterable[dict[str, Any]]) -> str:
    """A Pascal VOC annotation; each object: name, bndbox (xmin, ymin, xmax, ymax as written), difficult..."""
    annotation = ElementTree.Element("annotation")

    def child(parent: ElementTree.Element, tag: str, text: object = None) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, tag)
        if text is not None:
            element.text = str(text)
        return element

    child(annotation, "folder", "VOC2007")
    if filename is not None:
        child(annotation, "filename", filename)
    size = child(annotation, "size")
    child(size, "width", width)
    child(size, "height", height)
    child(size, "depth", 3)
    for obj in objects:
        node = child(annotation, "object")
        child(node, "name", obj["name"])
        child(node, "pose", "Unspecified")
        child(node, "truncated", obj.get("truncated", 0))
        child(node, "difficult", obj.get("difficult", 0))
        if obj.get("bndbox") is not None:
            bndbox = child(node, "bndbox")
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), obj["bndbox"]):
                child(bndbox, tag, value)
    return ElementTree.tostring(annotation, encoding="unicode")


def voc_objects(picture: Picture) -> list[dict[str, Any]]:
    """VOC counts pixels from 1, both ends included: corner x_min is written as xmin = x_min + 1."""
    return [
        {"name": name, "bndbox": (x_min + 1, y_min + 1, x_max, y_max)}
        for name, x_min, y_min, x_max, y_max in picture.boxes
    ]


def write_voc_year(
    base: Path, scene: Sequence[Picture] = SCENE, splits: dict[str, Sequence[str]] | None = None
) -> Path:
    """A ``VOC20xx`` folder: Annotations/, JPEGImages/ and ImageSets/Main/<split>.txt."""
    for position, picture in enumerate(scene):
        write_image(base / "JPEGImages" / f"{picture.stem}.jpg", picture.width, picture.height, seed=position)
        (base / "Annotations").mkdir(parents=True, exist_ok=True)
        (base / "Annotations" / f"{picture.stem}.xml").write_text(
            voc_xml(f"{picture.stem}.jpg", picture.width, picture.height, voc_objects(picture))
        )
    main = base / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    for split, stems in (splits or {"train": [picture.stem for picture in scene]}).items():
        (main / f"{split}.txt").write_text("".join(f"{stem}\n" for stem in stems))
    return base


def yolo_line(class_id: int, box: Box, width: int, height: int) -> str:
    _, x_min, y_min, x_max, y_max = box
    centre_x, centre_y = (x_min + x_max) / 2 / width, (y_min + y_max) / 2 / height
    return f"{class_id} {centre_x!r} {centre_y!r} {(x_max - x_min) / width!r} {(y_max - y_min) / height!r}"


def write_yolo(root: Path, scene: Sequence[Picture] = SCENE) -> Path:
    """``root/images/<stem>.png`` and ``root/labels/<stem>.txt`` (none for an image without boxes)."""
    for position, picture in enumerate(scene):
        write_image(root / "images" / f"{picture.stem}.png", picture.width, picture.height, seed=position)
        if picture.boxes:
            lines = [
                yolo_line(YOLO_NAMES.index(box[0]), box, picture.width, picture.height)
                for box in picture.boxes
            ]
            (root / "labels").mkdir(parents=True, exist_ok=True)
            (root / "labels" / f"{picture.stem}.txt").write_text("\n".join(lines) + "\n")
    return root / "images"


def make(kind: str, root: Path, scene: Sequence[Picture] = SCENE, **kwargs: Any) -> DetectionFileDataset:
    """The ``kind`` reader over ``scene`` written in its own format under ``root``."""
    if kind == "coco":
        images, annotation_file = write_coco(root, scene)
        return CocoDetectionDataset(images, annotation_file, **kwargs)
    if kind == "voc":
        write_voc_year(root / "VOCdevkit" / "VOC2007", scene)
        return VOCDetectionDataset(root, split="train", **kwargs)
    return YOLODataset(write_yolo(root, scene), classes=YOLO_NAMES, **kwargs)


def image_file(kind: str, root: Path, picture: Picture) -> Path:
    if kind == "voc":
        return root / "VOCdevkit" / "VOC2007" / "JPEGImages" / f"{picture.stem}.jpg"
    return root / "images" / f"{picture.stem}.png"


def plain(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.as_subclass(torch.Tensor)


def assert_boxes(boxes: torch.Tensor, expected: Sequence[Sequence[float]], atol: float = 1e-4) -> None:
    torch.testing.assert_close(
        plain(boxes).double(), torch.tensor(expected, dtype=torch.float64).reshape(-1, 4), atol=atol, rtol=0
    )


def assert_sample(sample: tuple[Any, Any], picture: Picture, file: Path, classes: list[str]) -> None:
    """A detection sample: the decoded image and the boxes and labels of ``picture``."""
    image, target = sample
    assert isinstance(image, tv_tensors.Image)
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, picture.height, picture.width)
    assert torch.equal(plain(image), decoded(file))
    boxes = target["boxes"]
    assert isinstance(boxes, tv_tensors.BoundingBoxes)
    assert boxes.format is tv_tensors.BoundingBoxFormat.XYXY
    assert tuple(boxes.canvas_size) == (picture.height, picture.width)
    assert tuple(boxes.shape) == (len(picture.boxes), 4)
    assert_boxes(boxes, [box[1:] for box in picture.boxes])
    assert target["labels"].dtype == torch.int64
    assert [classes[label] for label in target["labels"].tolist()] == [box[0] for box in picture.boxes]


def assert_same_sample(first: tuple[Any, Any], second: tuple[Any, Any]) -> None:
    assert torch.equal(plain(first[0]), plain(second[0]))
    assert first[1].keys() == second[1].keys()
    for key, value in first[1].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(plain(value), plain(second[1][key])), key
        else:
            assert value == second[1][key], key
    assert tuple(first[1]["boxes"].canvas_size) == tuple(second[1]["boxes"].canvas_size)


def validation_error(make_dataset: Callable[[], Any]) -> DatasetValidationError:
    with pytest.raises(DatasetValidationError) as caught:
        make_dataset()
    return caught.value


def one_problem(problems: list[str], start: str) -> str:
    """The single problem that starts with ``start``."""
    found = [problem for problem in problems if problem.startswith(start)]
    assert len(found) == 1, (start, problems)
    return found[0]


def as_list(batch: list[Any]) -> list[Any]:
    return batch


# ---------------------------------------------------------------- all three readers


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_images_with_xyxy_boxes_of_the_decoded_size(kind: str, tmp_path: Path) -> None:
    dataset = make(kind, tmp_path)
    assert len(dataset) == len(SCENE)
    for index, picture in enumerate(SCENE):
        assert_sample(dataset[index], picture, image_file(kind, tmp_path, picture), dataset.classes)
    assert dataset[-1][1]["labels"].tolist() == dataset[3][1]["labels"].tolist()
    with pytest.raises(IndexError):
        dataset[len(SCENE)]


@pytest.mark.parametrize("kind", KINDS)
def test_editing_a_sample_does_not_change_the_next_read(kind: str, tmp_path: Path) -> None:
    dataset = make(kind, tmp_path)
    reference = pickle.loads(pickle.dumps(dataset[0]))  # a deep copy
    image, target = dataset[0]
    image.fill_(7)
    for value in target.values():
        if isinstance(value, torch.Tensor):
            value.fill_(7)
    again = dataset[0]
    assert_same_sample(again, reference)
    assert_boxes(again[1]["boxes"], [box[1:] for box in SCENE[0].boxes])
    assert [dataset.classes[label] for label in again[1]["labels"].tolist()] == ["cat", "dog"]


@pytest.mark.parametrize("kind", KINDS)
def test_transform_gets_image_and_target_and_target_transform_runs_last(kind: str, tmp_path: Path) -> None:
    calls: list[tuple[Any, Any]] = []

    def transform(image: Any, target: dict[str, Any]) -> tuple[Any, Any]:
        calls.append((image, target))
        return "image out", {**target, "transformed": True}

    def target_transform(target: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "last", target

    plain_dataset = make(kind, tmp_path)
    dataset = make(kind, tmp_path, transform=transform, target_transform=target_transform)
    image, target = dataset[2]
    assert image == "image out"
    assert target[0] == "last" and target[1]["transformed"] is True
    assert len(calls) == 1
    assert_same_sample(calls[0], plain_dataset[2])
    assert_boxes(target[1]["boxes"], [box[1:] for box in SCENE[2].boxes])


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.parametrize("kind", KINDS)
def test_forked_dataloader_workers_and_pickling_give_the_same_samples(kind: str, tmp_path: Path) -> None:
    dataset = make(kind, tmp_path)
    expected = [dataset[index] for index in range(len(dataset))]
    loader = DataLoader(
        dataset, batch_size=2, num_workers=2, collate_fn=as_list, multiprocessing_context="fork"
    )
    loaded = [sample for batch in loader for sample in batch]
    assert len(loaded) == len(expected)
    for got, want in zip(loaded, expected):
        assert_same_sample(got, want)
    copy = pickle.loads(pickle.dumps(dataset))
    assert type(copy) is type(dataset) and len(copy) == len(dataset) and copy.classes == dataset.classes
    for index, want in enumerate(expected):
        assert_same_sample(copy[index], want)


@pytest.mark.parametrize("kind", KINDS)
def test_split_gives_disjoint_subsets_covering_every_image(kind: str, tmp_path: Path) -> None:
    dataset = make(kind, tmp_path)
    first, second = dataset.split((0.5, 0.5), seed=3)
    indices_first, indices_second = set(first.indices), set(second.indices)
    assert not indices_first & indices_second
    assert indices_first | indices_second == set(range(len(SCENE)))
    assert len(first) == len(second) == 2
    assert [subset.indices for subset in dataset.split((0.5, 0.5), seed=3)] == [first.indices, second.indices]
    position = first.indices[0]
    assert_same_sample(first[0], dataset[position])


@pytest.mark.parametrize("kind", KINDS)
def test_the_index_costs_a_few_bytes_per_box_in_memory_and_in_each_worker(kind: str, tmp_path: Path) -> None:
    dataset = make(kind, tmp_path, scene=MANY)
    count = len(MANY[0].boxes)
    # What each spawned DataLoader worker receives. A Python dict or tuple per annotation pickles to 60
    # bytes or more; four coordinates, a label, two flags and COCO's annotation id and area fit in 48.
    assert len(pickle.dumps(dataset)) <= 48 * count + 4096
    # And in this process: the index is a few arrays, not one Python object per box (a fork's workers
    # would copy every page such objects' reference counts touch).
    objects = python_objects_reachable_from(dataset)
    assert objects < 500, f"{objects} Python objects for {count} boxes"
    assert_sample(dataset[0], MANY[0], image_file(kind, tmp_path, MANY[0]), dataset.classes)


def python_objects_reachable_from(root: object) -> int:
    """How many Python objects ``root`` reaches (classes, modules and functions aside); an array is one."""
    import types

    seen: set[int] = set()
    pending = [root]
    while pending:
        value = pending.pop()
        if id(value) in seen or isinstance(value, (type, types.ModuleType)) or callable(value):
            continue
        seen.add(id(value))
        if not isinstance(value, np.ndarray):  # its elements are not objects
            pending.extend(gc.get_referents(value))
    return len(seen)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("coco", "CocoDetectionDataset"), ("voc", "VOCDetectionDataset"), ("yolo", "YOLODataset")],
)
def test_repr_names_the_class_and_counts(kind: str, name: str, tmp_path: Path) -> None:
    dataset = make(kind, tmp_path)
    text = repr(dataset)
    assert text.startswith(f"{name}(")
    boxes = sum(len(picture.boxes) for picture in SCENE)
    assert "4 images" in text and f"{boxes} boxes" in text and f"{len(dataset.classes)} classes" in text


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreadable_image_follows_on_error(kind: str, tmp_path: Path) -> None:
    make(kind, tmp_path)
    broken = image_file(kind, tmp_path, SCENE[1])
    broken.write_bytes(b"this is not an image")
    raising = _reopen(kind, tmp_path, on_error="raise")  # construction does not decode images
    assert_sample(raising[0], SCENE[0], image_file(kind, tmp_path, SCENE[0]), raising.classes)
    with pytest.raises(ImageReadError, match=broken.name):
        raising[1]
    skipping = _reopen(kind, tmp_path, on_error="skip")
    # The next readable image, with its own boxes: nothing is mislabelled.
    assert_sample(skipping[1], SCENE[2], image_file(kind, tmp_path, SCENE[2]), skipping.classes)
    assert list(skipping.errors) == [str(broken)]
    assert_sample(skipping[0], SCENE[0], image_file(kind, tmp_path, SCENE[0]), skipping.classes)
    warning = _reopen(kind, tmp_path, on_error="warn")
    with pytest.warns(SkippedSampleWarning, match=broken.name):
        assert_sample(warning[1], SCENE[2], image_file(kind, tmp_path, SCENE[2]), warning.classes)


def _reopen(kind: str, root: Path, **kwargs: Any) -> DetectionFileDataset:
    """The reader over the files ``make`` wrote under ``root``, without rewriting them."""
    if kind == "coco":
        return CocoDetectionDataset(root / "images", root / "annotations" / "instances.json", **kwargs)
    if kind == "voc":
        return VOCDetectionDataset(root, split="train", **kwargs)
    return YOLODataset(root / "images", classes=YOLO_NAMES, **kwargs)


@pytest.mark.parametrize("name", ["CocoDetectionDataset", "VOCDetectionDataset", "YOLODataset"])
def test_top_level_lazy_reexports(name: str) -> None:
    assert getattr(visiondata, name) is getattr(visiondata.datasets, name)
    assert name in visiondata.__all__ and name in dir(visiondata)


# ---------------------------------------------------------------- COCO


def coco_file(root: Path) -> Path:
    """Two 64x48 images (ids 9 and 25, the second without annotations) and categories 1, 3 and 90."""
    write_image(root / "images" / "a.png", 64, 48, seed=1)
    write_image(root / "images" / "b.png", 64, 48, seed=2)
    return write_json(
        root / "instances.json",
        {
            "images": [
                {"id": 9, "file_name": "a.png", "width": 64, "height": 48},
                {"id": 25, "file_name": "b.png", "width": 64, "height": 48},
            ],
            # Listed out of id order: labels follow the ids.
            "categories": [
                {"id": 90, "name": "toothbrush"},
                {"id": 1, "name": "person"},
                {"id": 3, "name": "car"},
            ],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 9,
                    "category_id": 90,
                    "bbox": [2, 4, 20, 10],
                    "area": 150.5,
                    "iscrowd": 0,
                },
                {"id": 2, "image_id": 9, "category_id": 1, "bbox": [0, 0, 64, 48], "iscrowd": 1},
                {"id": 3, "image_id": 9, "category_id": 3, "bbox": [1.5, 2.25, 3, 4], "iscrowd": 0},
            ],
        },
    )


def test_coco_category_ids_become_contiguous_labels_after_the_background(tmp_path: Path) -> None:
    # include_crowd=True: the crowd region (left out by default) is kept, flagged.
    dataset = CocoDetectionDataset(tmp_path / "images", coco_file(tmp_path), include_crowd=True)
    assert dataset.classes == ["__background__", "person", "car", "toothbrush"]
    assert dataset.category_ids == [None, 1, 3, 90]
    assert dataset.label_to_category_id == {1: 1, 2: 3, 3: 90}
    image, target = dataset[0]
    # bbox [x, y, w, h] -> [x, y, x + w, y + h]
    assert_boxes(target["boxes"], [[2, 4, 22, 14], [0, 0, 64, 48], [1.5, 2.25, 4.5, 6.25]])
    assert target["labels"].tolist() == [3, 1, 2]
    assert [dataset.label_to_category_id[label] for label in target["labels"].tolist()] == [90, 1, 3]
    assert target["image_id"] == 9
    assert target["iscrowd"].dtype == torch.int64 and target["iscrowd"].tolist() == [0, 1, 0]
    # area: the file's when given, else w * h of the bbox
    assert target["area"].dtype == torch.float32 and target["area"].tolist() == [150.5, 64 * 48, 12.0]
    assert torch.equal(plain(image), decoded(tmp_path / "images" / "a.png"))

    no_background = CocoDetectionDataset(
        tmp_path / "images", tmp_path / "instances.json", background=False, include_crowd=True
    )
    assert no_background.classes == ["person", "car", "toothbrush"]
    assert no_background.category_ids == [1, 3, 90]
    assert no_background.label_to_category_id == {0: 1, 1: 3, 2: 90}
    assert no_background[0][1]["labels"].tolist() == [2, 0, 1]


def test_coco_an_image_without_annotations_is_kept_unless_drop_empty(tmp_path: Path) -> None:
    dataset = CocoDetectionDataset(tmp_path / "images", coco_file(tmp_path))
    assert len(dataset) == 2
    image, target = dataset[1]
    assert target["image_id"] == 25
    assert tuple(target["boxes"].shape) == (0, 4) and tuple(target["boxes"].canvas_size) == (48, 64)
    assert target["labels"].shape == (0,) and target["labels"].dtype == torch.int64
    assert target["iscrowd"].shape == (0,) and target["area"].shape == (0,)
    assert tuple(image.shape) == (3, 48, 64)
    dropped = CocoDetectionDataset(tmp_path / "images", tmp_path / "instances.json", drop_empty=True)
    assert len(dropped) == 1 and dropped[0][1]["image_id"] == 9 and dropped.image_id(0) == 9


def test_coco_include_crowd_false_leaves_crowd_boxes_out(tmp_path: Path) -> None:
    dataset = CocoDetectionDataset(tmp_path / "images", coco_file(tmp_path), include_crowd=False)
    target = dataset[0][1]
    assert_boxes(target["boxes"], [[2, 4, 22, 14], [1.5, 2.25, 4.5, 6.25]])
    assert target["labels"].tolist() == [3, 2] and target["iscrowd"].tolist() == [0, 0]
    assert dataset.problems == []


def test_coco_classes_fix_the_list_by_name(tmp_path: Path) -> None:
    file = coco_file(tmp_path)
    error = validation_error(
        lambda: CocoDetectionDataset(
            tmp_path / "images", file, classes=["toothbrush", "person"], include_crowd=True
        )
    )
    assert len(error.problems) == 1
    assert error.problems[0].startswith("annotation 3: category_id 3 is 'car'")
    assert "toothbrush" in error.problems[0] and "person" in error.problems[0]
    dataset = CocoDetectionDataset(
        tmp_path / "images", file, classes=["toothbrush", "person"], on_error="skip", include_crowd=True
    )
    assert dataset.classes == ["toothbrush", "person"]
    assert dataset.category_ids == [90, 1] and dataset.label_to_category_id == {0: 90, 1: 1}
    target = dataset[0][1]
    assert target["labels"].tolist() == [0, 1]
    assert_boxes(target["boxes"], [[2, 4, 22, 14], [0, 0, 64, 48]])
    assert len(dataset.problems) == 1 and dataset.problems[0].startswith("annotation 3:")


@pytest.mark.parametrize("image_ids", [(9, 25, 30), (2**40, 7, 2**40 + 3)], ids=["dense", "sparse"])
def test_coco_image_id_is_the_file_id_and_boxes_follow_it(image_ids: tuple[int, ...], tmp_path: Path) -> None:
    for number in range(3):
        write_image(tmp_path / f"{number}.png", 16, 16, seed=number)
    # Annotations in an order unrelated to the images': each goes to the image its image_id names.
    annotations = [
        {"id": 1, "image_id": image_ids[2], "category_id": 1, "bbox": [3, 3, 2, 2]},
        {"id": 2, "image_id": image_ids[0], "category_id": 1, "bbox": [0, 0, 1, 1]},
        {"id": 3, "image_id": image_ids[2], "category_id": 1, "bbox": [4, 4, 2, 2]},
        {"id": 4, "image_id": 123456, "category_id": 1, "bbox": [1, 1, 1, 1]},
    ]
    file = write_json(
        tmp_path / "ann.json",
        {
            "images": [
                {"id": image_id, "file_name": f"{number}.png", "width": 16, "height": 16}
                for number, image_id in enumerate(image_ids)
            ],
            "categories": [{"id": 1, "name": "x"}],
            "annotations": annotations,
        },
    )
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert dataset.problems == ["annotation 4: image_id 123456 is not in the file's images"]
    assert [dataset[index][1]["image_id"] for index in range(3)] == list(image_ids)
    assert [dataset.image_id(index) for index in range(3)] == list(image_ids)
    assert_boxes(dataset[0][1]["boxes"], [[0, 0, 1, 1]])
    assert dataset[1][1]["boxes"].shape == (0, 4)
    assert_boxes(dataset[2][1]["boxes"], [[3, 3, 5, 5], [4, 4, 6, 6]])  # file order within an image
    assert dataset[2][1]["iscrowd"].tolist() == [0, 0]  # absent: not a crowd


def test_coco_matches_torchvision_coco_detection_wrapped_for_v2(tmp_path: Path) -> None:
    file = coco_file(tmp_path)
    ours = CocoDetectionDataset(tmp_path / "images", file, include_crowd=True)  # torchvision keeps crowds
    theirs = torchvision.datasets.wrap_dataset_for_transforms_v2(
        torchvision.datasets.CocoDetection(str(tmp_path / "images"), str(file)),
        target_keys={"boxes", "labels", "image_id", "iscrowd"},
    )
    theirs_by_id = {theirs[index][1]["image_id"]: theirs[index] for index in range(len(theirs))}
    assert len(ours) == len(theirs) == 2
    for index in range(len(ours)):
        image, target = ours[index]
        their_image, their_target = theirs_by_id[target["image_id"]]
        assert torch.equal(plain(image), functional.pil_to_tensor(their_image))
        if "boxes" not in their_target:  # torchvision gives no boxes for an image without annotations
            assert target["boxes"].shape == (0, 4)
            continue
        torch.testing.assert_close(plain(target["boxes"]), plain(their_target["boxes"]).float())
        assert tuple(target["boxes"].canvas_size) == tuple(their_target["boxes"].canvas_size)
        # torchvision's labels are the raw category ids.
        assert [ours.label_to_category_id[label] for label in target["labels"].tolist()] == (
            their_target["labels"].tolist()
        )
        assert target["iscrowd"].tolist() == list(their_target["iscrowd"])


def uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE: lengths of the runs of column-major pixels, starting with a run of 0s."""
    counts: list[int] = []
    current, run = 0, 0
    for value in mask.flatten(order="F").tolist():
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


MASK_HEIGHT, MASK_WIDTH = 24, 32
POLYGON = [[4.0, 4.0, 12.0, 4.0, 12.0, 10.0, 4.0, 10.0]]


def rectangle(top: int, bottom: int, left: int, right: int) -> np.ndarray:
    mask = np.zeros((MASK_HEIGHT, MASK_WIDTH), dtype=np.uint8)
    mask[top:bottom, left:right] = 1
    return mask


UNCOMPRESSED = rectangle(12, 20, 2, 8)  # bbox [2, 12, 6, 8]
COMPRESSED = rectangle(1, 5, 20, 30)  # bbox [20, 1, 10, 4]


def masks_file(root: Path) -> Path:
    write_image(root / "images" / "m.png", MASK_WIDTH, MASK_HEIGHT, seed=5)
    compressed = coco_mask.encode(np.asfortranarray(COMPRESSED))
    compressed["counts"] = compressed["counts"].decode("ascii")
    assert isinstance(compressed["counts"], str)
    return write_json(
        root / "masks.json",
        {
            "images": [{"id": 4, "file_name": "m.png", "width": MASK_WIDTH, "height": MASK_HEIGHT}],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 7, "name": "c"}],
            "annotations": [
                {"id": 1, "image_id": 4, "category_id": 1, "bbox": [4, 4, 8, 6], "segmentation": POLYGON},
                {
                    "id": 2,
                    "image_id": 4,
                    "category_id": 2,
                    "bbox": [2, 12, 6, 8],
                    "iscrowd": 1,
                    "segmentation": uncompressed_rle(UNCOMPRESSED),
                },
                {
                    "id": 3,
                    "image_id": 4,
                    "category_id": 7,
                    "bbox": [20, 1, 10, 4],
                    "iscrowd": 1,
                    "segmentation": compressed,
                },
            ],
        },
    )


def test_coco_masks_from_polygons_and_both_rle_kinds(tmp_path: Path) -> None:
    file = masks_file(tmp_path)
    dataset = CocoDetectionDataset(tmp_path / "images", file, masks=True, include_crowd=True)
    _, target = dataset[0]
    masks = target["masks"]
    assert isinstance(masks, tv_tensors.Mask)
    assert masks.dtype == torch.uint8 and tuple(masks.shape) == (3, MASK_HEIGHT, MASK_WIDTH)
    annotations = json.loads(file.read_text())["annotations"]
    # pycocotools' own decoding of each segmentation
    polygon = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(POLYGON, MASK_HEIGHT, MASK_WIDTH)))
    uncompressed = coco_mask.decode(
        coco_mask.frPyObjects(annotations[1]["segmentation"], MASK_HEIGHT, MASK_WIDTH)
    )
    compressed = dict(annotations[2]["segmentation"])
    compressed["counts"] = compressed["counts"].encode("ascii")
    assert np.array_equal(plain(masks[0]).numpy(), polygon)
    assert polygon[6, 8] == 1 and polygon[:, 20:].sum() == 0  # the rasterised rectangle, roughly
    assert np.array_equal(plain(masks[1]).numpy(), uncompressed)
    assert np.array_equal(plain(masks[2]).numpy(), coco_mask.decode(compressed))
    # The RLE masks are exactly the rectangles encoded.
    assert np.array_equal(plain(masks[1]).numpy(), UNCOMPRESSED)
    assert np.array_equal(plain(masks[2]).numpy(), COMPRESSED)
    # Without masks=True, no masks key.
    assert "masks" not in CocoDetectionDataset(tmp_path / "images", file)[0][1]

    theirs = torchvision.datasets.wrap_dataset_for_transforms_v2(
        torchvision.datasets.CocoDetection(str(tmp_path / "images"), str(file)),
        target_keys={"boxes", "labels", "masks"},
    )
    their_target = theirs[0][1]
    assert torch.equal(plain(masks), plain(their_target["masks"]).to(torch.uint8))
    torch.testing.assert_close(plain(target["boxes"]), plain(their_target["boxes"]).float())
    assert [dataset.label_to_category_id[label] for label in target["labels"].tolist()] == [1, 2, 7]
    assert their_target["labels"].tolist() == [1, 2, 7]


def test_coco_masks_stay_aligned_with_boxes_through_a_box_pipeline(tmp_path: Path) -> None:
    file = masks_file(tmp_path)
    plain_target = CocoDetectionDataset(tmp_path / "images", file, masks=True, include_crowd=True)[0][1]
    # Flip, then keep the left half: the flipped polygon (x 20..28) and first RLE (x 24..30) leave the image.
    pipeline = BoxPipeline(
        [
            {"name": "HorizontalFlip", "p": 1.0},
            {"name": "Crop", "top": 0, "left": 0, "height": MASK_HEIGHT, "width": 16},
        ]
    )
    dataset = CocoDetectionDataset(
        tmp_path / "images", file, masks=True, transform=pipeline, include_crowd=True
    )
    image, target = dataset[0]
    assert tuple(image.shape) == (3, MASK_HEIGHT, 16)
    assert sorted(entry["index"] for entry in target["dropped"]) == [0, 1]
    assert_boxes(target["boxes"], [[32 - 30, 1, 32 - 20, 5]])
    assert target["labels"].tolist() == [plain_target["labels"][2].item()]
    assert target["iscrowd"].tolist() == [1]
    assert tuple(target["masks"].shape) == (1, MASK_HEIGHT, 16)
    assert np.array_equal(plain(target["masks"][0]).numpy(), COMPRESSED[:, ::-1][:, :16])
    # The mask's extent is its box.
    rows, columns = np.nonzero(plain(target["masks"][0]).numpy())
    assert [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1] == [2, 1, 12, 5]

    flipped = CocoDetectionDataset(
        tmp_path / "images",
        file,
        masks=True,
        include_crowd=True,
        transform=BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}]),
    )[0][1]
    assert torch.equal(plain(flipped["masks"]), plain(plain_target["masks"]).flip(-1))
    assert_boxes(flipped["boxes"], [[20, 4, 28, 10], [24, 12, 30, 20], [2, 1, 12, 5]])


def bad_coco_file(root: Path) -> Path:
    """One good 64x48 image, bad images (missing, outside the root) and every kind of bad annotation."""
    write_image(root / "images" / "a.png", 64, 48)
    write_image(root / "outside.png", 8, 8)
    return write_json(
        root / "bad.json",
        {
            "images": [
                {"id": 1, "file_name": "a.png", "width": 64, "height": 48},
                {"id": 2, "file_name": "missing.png", "width": 64, "height": 48},
                {"id": 3, "file_name": "../outside.png", "width": 8, "height": 8},
                {"id": 4, "file_name": str(root / "outside.png"), "width": 8, "height": 8},
            ],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [
                {"id": 11, "image_id": 1, "category_id": 1, "bbox": [10, 10, 0, 5]},  # zero width
                {"id": 12, "image_id": 1, "category_id": 1, "bbox": [10, 10, 5, -2]},  # negative height
                {"id": 13, "image_id": 1, "category_id": 1, "bbox": [40, 10, 25, 5]},  # x_max 65 > 64
                # x_max 64.032: 0.05% of the width beyond the border, snapped onto it
                {"id": 14, "image_id": 1, "category_id": 1, "bbox": [40, 10, 24.032, 5]},
                {"id": 16, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]},  # unknown image
                {"id": 17, "image_id": 1, "category_id": 5, "bbox": [1, 1, 2, 2]},  # unknown category
                {"id": 18, "image_id": 1, "category_id": 1},  # no bbox
                {"id": 19, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},
                # x_min -0.03: 0.05% of the width before the border, snapped onto it
                {"id": 21, "image_id": 1, "category_id": 1, "bbox": [-0.03, 0, 10, 10]},
                {"id": 22, "image_id": 3, "category_id": 1, "bbox": [1, 1, 2, 2]},
            ],
        },
    )


def assert_bad_coco_problems(problems: list[str], root: Path) -> None:
    assert len(problems) == 9, problems
    assert "does not exist" in one_problem(problems, "image 2:")
    assert str(root / "images" / "missing.png") in one_problem(problems, "image 2:")
    assert "outside the root" in one_problem(problems, "image 3:")
    assert "allow_outside_root" in one_problem(problems, "image 4:")
    assert "no area" in one_problem(problems, "annotation 11 (image 1, a.png):")
    assert "no area" in one_problem(problems, "annotation 12 (image 1, a.png):")
    assert "outside the 64x48 image" in one_problem(problems, "annotation 13 (image 1, a.png):")
    assert "image_id 99" in one_problem(problems, "annotation 16:")
    assert "category_id 5" in one_problem(problems, "annotation 17:")
    assert "no bbox" in one_problem(problems, "annotation 18:")
    assert not [problem for problem in problems if problem.startswith(("annotation 14", "annotation 19"))]


def test_coco_problems_raise_one_error_listing_them_all(tmp_path: Path) -> None:
    file = bad_coco_file(tmp_path)
    error = validation_error(lambda: CocoDetectionDataset(tmp_path / "images", file))
    assert_bad_coco_problems(error.problems, tmp_path)
    assert str(file) in str(error) and "9 problems" in str(error)


@pytest.mark.parametrize("on_error", ["skip", "warn"])
def test_coco_problems_are_left_out_and_listed_under_skip_and_warn(on_error: str, tmp_path: Path) -> None:
    file = bad_coco_file(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = CocoDetectionDataset(tmp_path / "images", file, on_error=on_error)
    skipped = [warning for warning in caught if issubclass(warning.category, SkippedSampleWarning)]
    assert len(skipped) == (1 if on_error == "warn" else 0)
    if skipped:
        assert "9 annotation problems" in str(skipped[0].message)
    assert_bad_coco_problems(dataset.problems, tmp_path)
    assert len(dataset) == 1 and dataset.image_id(0) == 1
    target = dataset[0][1]
    # 14 and 21 snapped onto the border; 19 as written
    assert_boxes(target["boxes"], [[40, 10, 64, 15], [1, 2, 4, 6], [0, 0, 9.97, 10]])
    assert target["labels"].tolist() == [1, 1, 1]


def test_coco_image_paths_outside_the_root_with_allow_outside_root(tmp_path: Path) -> None:
    file = bad_coco_file(tmp_path)
    dataset = CocoDetectionDataset(tmp_path / "images", file, on_error="skip", allow_outside_root=True)
    assert len(dataset.problems) == 7
    assert [dataset.image_id(index) for index in range(len(dataset))] == [1, 3, 4]
    outside = decoded(tmp_path / "outside.png")
    assert os.path.realpath(dataset.path(1)) == os.path.realpath(tmp_path / "outside.png")
    assert dataset.path(2) == str(tmp_path / "outside.png")
    for index in (1, 2):
        assert torch.equal(plain(dataset[index][0]), outside)
    assert_boxes(dataset[1][1]["boxes"], [[1, 1, 3, 3]])
    assert dataset[2][1]["boxes"].shape == (0, 4)
    unchecked = CocoDetectionDataset(tmp_path / "images", file, on_error="skip", check_files=False)
    assert [problem.split(":")[0] for problem in unchecked.problems if problem.startswith("image ")] == [
        "image 3",
        "image 4",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"images": [{"id": 1, "file_name": "a.png"}', "not valid JSON"),
        ('{"categories": [], "annotations": []}', "images"),
        ("[1, 2]", "not a COCO annotation file"),
        ('{"images": [{"id": "one", "file_name": "a.png"}]}', "not a COCO annotation file"),
    ],
    ids=["truncated", "no-images", "a-list", "string-id"],
)
def test_coco_malformed_files_raise_format_errors_naming_the_file(
    content: str, message: str, tmp_path: Path
) -> None:
    file = tmp_path / "ann.json"
    file.write_text(content)
    with pytest.raises(DatasetFormatError, match=message) as caught:
        CocoDetectionDataset(tmp_path, file)
    assert str(file) in str(caught.value)


def test_coco_a_missing_annotation_file_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="nothing"):
        CocoDetectionDataset(tmp_path, tmp_path / "missing.json")
    with pytest.raises(DatasetNotFoundError, match="a folder"):
        CocoDetectionDataset(tmp_path, tmp_path)


def test_coco_a_nan_coordinate_is_a_problem_of_its_annotation(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", 16, 16)
    file = tmp_path / "ann.json"
    file.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 16, "height": 16}],
                "categories": [{"id": 1, "name": "cat"}],
                "annotations": [
                    {"id": 15, "image_id": 1, "category_id": 1, "bbox": [float("nan"), 1, 2, 3]},
                    {"id": 16, "image_id": 1, "category_id": 1, "bbox": [0, 1, 2, 3]},
                ],
            }
        )
    )
    assert "NaN" in file.read_text()
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert len(dataset.problems) == 1 and dataset.problems[0].startswith("annotation 15")
    assert "finite" in dataset.problems[0]
    assert_boxes(dataset[0][1]["boxes"], [[0, 1, 2, 4]])


def test_coco_large_category_ids_are_accepted(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", 16, 16)
    file = write_json(
        tmp_path / "ann.json",
        {
            "images": [{"id": 1, "file_name": "a.png", "width": 16, "height": 16}],
            "categories": [{"id": 2**62, "name": "big"}, {"id": 5, "name": "small"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 2**62, "bbox": [1, 1, 2, 2]}],
        },
    )
    dataset = CocoDetectionDataset(tmp_path, file)
    assert dataset.classes == ["__background__", "small", "big"]
    assert dataset.label_to_category_id == {1: 5, 2: 2**62}
    assert dataset[0][1]["labels"].tolist() == [2]


def test_coco_boxes_of_an_image_without_a_declared_size_stay_inside_it(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", 64, 48)
    file = write_json(
        tmp_path / "ann.json",
        {
            "images": [{"id": 1, "file_name": "a.png"}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [-5, -3, 10, 10]}],
        },
    )
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    try:
        boxes = plain(dataset[0][1]["boxes"])
    except InvalidBoxesError:
        return  # refused, as a box beyond the width is
    assert (boxes >= 0).all() or dataset.problems


def test_coco_a_box_beyond_the_decoded_image_of_an_undeclared_size_is_refused(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", 64, 48)
    file = write_json(
        tmp_path / "ann.json",
        {
            "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "a.png"}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 1, 60, 3]},  # x_max 70 > 64
                {"id": 2, "image_id": 2, "category_id": 1, "bbox": [10, 1, 54, 47]},  # fits exactly
            ],
        },
    )
    dataset = CocoDetectionDataset(tmp_path, file)
    with pytest.raises(InvalidBoxesError, match="64x48"):
        dataset[0]
    target = dataset[1][1]
    assert_boxes(target["boxes"], [[10, 1, 64, 48]])
    assert tuple(target["boxes"].canvas_size) == (48, 64)


# ---------------------------------------------------------------- Pascal VOC

VOC_2012_SCENE = (Picture("2012_000001", 20, 10, (("person", 0, 0, 5, 5),)),)


@pytest.mark.parametrize("inside", [False, True], ids=["parent", "VOCdevkit"])
def test_voc_devkit_with_two_years_needs_year(inside: bool, tmp_path: Path) -> None:
    write_voc_year(tmp_path / "VOCdevkit" / "VOC2007")
    write_voc_year(tmp_path / "VOCdevkit" / "VOC2012", VOC_2012_SCENE)
    root = tmp_path / "VOCdevkit" if inside else tmp_path
    with pytest.raises(DatasetNotFoundError, match="VOC2007, VOC2012") as caught:
        VOCDetectionDataset(root)
    assert "year=" in str(caught.value)
    for year in (2012, "2012", "VOC2012"):
        dataset = VOCDetectionDataset(root, year=year)
        assert len(dataset) == 1
        assert dataset.path(0) == str(tmp_path / "VOCdevkit" / "VOC2012" / "JPEGImages" / "2012_000001.jpg")
        assert_boxes(dataset[0][1]["boxes"], [[0, 0, 5, 5]])
    assert len(VOCDetectionDataset(root, year=2007)) == len(SCENE)
    with pytest.raises(DatasetNotFoundError, match="no VOC2010 folder; found VOC2007, VOC2012"):
        VOCDetectionDataset(root, year=2010)


def test_voc_a_single_year_folder_and_its_split_lists(tmp_path: Path) -> None:
    base = write_voc_year(
        tmp_path / "VOC2007",
        splits={"train": ["a", "c"], "val": ["d", "b"], "trainval": ["a", "b", "c", "d"]},
    )
    # Class lists (<class>_<split>.txt) are not splits.
    (base / "ImageSets" / "Main" / "cat_train.txt").write_text("a  1\nc -1\n")
    train = VOCDetectionDataset(base, split="train")
    assert [Path(train.relative_path(index)).stem for index in range(len(train))] == ["a", "c"]
    assert_sample(train[1], SCENE[2], base / "JPEGImages" / "c.jpg", train.classes)
    val = VOCDetectionDataset(base, split="val")
    assert [Path(val.relative_path(index)).stem for index in range(len(val))] == ["d", "b"]
    assert [val[index][1]["image_id"] for index in range(len(val))] == [0, 1]
    assert len(VOCDetectionDataset(base, split="trainval")) == 4
    assert len(VOCDetectionDataset(base, split=None)) == 4  # every XML file
    with pytest.raises(DatasetNotFoundError, match=r"splits found: train, trainval, val\b") as caught:
        VOCDetectionDataset(base, split="test")
    assert "test.txt" in str(caught.value) and "cat_train" not in str(caught.value)


def test_voc_a_split_listing_a_missing_annotation_is_a_problem(tmp_path: Path) -> None:
    base = write_voc_year(tmp_path / "VOC2007", splits={"train": ["a", "ghost", "c"]})
    error = validation_error(lambda: VOCDetectionDataset(base))
    assert len(error.problems) == 1 and "ghost.xml" in error.problems[0]
    assert len(VOCDetectionDataset(base, on_error="skip")) == 2


def test_voc_a_flat_folder_of_xml_files_with_images_beside(tmp_path: Path) -> None:
    for position, picture in enumerate(SCENE):
        write_image(tmp_path / f"{picture.stem}.png", picture.width, picture.height, seed=position)
        (tmp_path / f"{picture.stem}.xml").write_text(
            voc_xml(f"{picture.stem}.png", picture.width, picture.height, voc_objects(picture))
        )
    dataset = VOCDetectionDataset(tmp_path, split=None)
    assert len(dataset) == len(SCENE)
    for index, picture in enumerate(SCENE):
        assert_sample(dataset[index], picture, tmp_path / f"{picture.stem}.png", dataset.classes)
    # images_dir= points elsewhere
    elsewhere = tmp_path / "pictures"
    elsewhere.mkdir()
    for picture in SCENE:
        (tmp_path / f"{picture.stem}.png").rename(elsewhere / f"{picture.stem}.png")
    moved = VOCDetectionDataset(tmp_path, split=None, images_dir=elsewhere)
    assert moved.path(0) == str(elsewhere / "a.png")
    assert_sample(moved[0], SCENE[0], elsewhere / "a.png", moved.classes)
    with pytest.raises(DatasetNotFoundError, match="XML files"):
        VOCDetectionDataset(elsewhere, split=None)
    with pytest.raises(DatasetNotFoundError, match="nothing"):
        VOCDetectionDataset(tmp_path / "missing", split=None)


def test_voc_boxes_are_torchvision_boxes_minus_one_on_the_low_corner(tmp_path: Path) -> None:
    scene = [picture for picture in SCENE if picture.boxes]  # torchvision's VOC wrapper needs an <object>
    write_voc_year(tmp_path / "VOCdevkit" / "VOC2007", scene)
    ours = VOCDetectionDataset(tmp_path, split="train")
    theirs = torchvision.datasets.wrap_dataset_for_transforms_v2(
        torchvision.datasets.VOCDetection(str(tmp_path), year="2007", image_set="train")
    )
    assert len(ours) == len(theirs) == len(scene)
    for index in range(len(ours)):
        image, target = ours[index]
        their_image, their_target = theirs[index]
        assert torch.equal(plain(image), functional.pil_to_tensor(their_image))
        shift = torch.tensor([1.0, 1.0, 0.0, 0.0])
        torch.testing.assert_close(plain(target["boxes"]), plain(their_target["boxes"]).float() - shift)
        assert tuple(target["boxes"].canvas_size) == tuple(their_target["boxes"].canvas_size)
        # Both number the 20 classes after the background in the challenge's order.
        assert target["labels"].tolist() == their_target["labels"].tolist()
    # Hand-computed: <xmin>3 <ymin>4 <xmax>20 <ymax>15 is the corners (2, 3) and (20, 15).
    assert_boxes(ours[0][1]["boxes"], [[2, 3, 20, 15], [10, 0, 40, 30]])


def test_voc_difficult_and_truncated_fields_and_keep_difficult(tmp_path: Path) -> None:
    write_image(tmp_path / "a.jpg", 40, 30)
    objects = [
        {"name": "cat", "bndbox": (1, 1, 10, 10), "difficult": 1, "truncated": 0},
        {"name": "dog", "bndbox": (5, 6, 40, 30), "difficult": 0, "truncated": 1},
        {"name": "cat", "bndbox": (2, 2, 3, 3)},
    ]
    (tmp_path / "a.xml").write_text(voc_xml("a.jpg", 40, 30, objects))
    target = VOCDetectionDataset(tmp_path, split=None)[0][1]
    assert_boxes(target["boxes"], [[0, 0, 10, 10], [4, 5, 40, 30], [1, 1, 3, 3]])
    assert target["difficult"].dtype == torch.int64 and target["difficult"].tolist() == [1, 0, 0]
    assert target["truncated"].dtype == torch.int64 and target["truncated"].tolist() == [0, 1, 0]
    assert target["labels"].tolist() == [
        8,
        12,
        8,
    ]  # cat and dog among the 20 VOC classes, after the background
    easy = VOCDetectionDataset(tmp_path, split=None, keep_difficult=False)[0][1]
    assert_boxes(easy["boxes"], [[4, 5, 40, 30], [1, 1, 3, 3]])
    assert easy["difficult"].tolist() == [0, 0] and easy["truncated"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("names", "background", "expected"),
    [
        (["dog", "cat"], True, ["__background__", *VOC_ORDER]),
        (["dog", "cat"], False, VOC_ORDER),
        (["kiwi", "apple", "cat"], True, ["__background__", "apple", "cat", "kiwi"]),
        (["kiwi", "apple", "cat"], False, ["apple", "cat", "kiwi"]),
    ],
    ids=["voc-names", "voc-names-no-background", "other-names", "other-names-no-background"],
)
def test_voc_default_classes(names: list[str], background: bool, expected: list[str], tmp_path: Path) -> None:
    write_image(tmp_path / "a.jpg", 20, 20)
    objects = [{"name": name, "bndbox": (1, 1, 5 + number, 5)} for number, name in enumerate(names)]
    (tmp_path / "a.xml").write_text(voc_xml("a.jpg", 20, 20, objects))
    dataset = VOCDetectionDataset(tmp_path, split=None, background=background)
    assert dataset.classes == expected
    assert dataset.category_ids == [None] * len(expected) and dataset.label_to_category_id == {}
    labels = dataset[0][1]["labels"].tolist()
    assert [expected[label] for label in labels] == names


def test_voc_classes_fix_the_list_and_an_unknown_class_is_a_problem(tmp_path: Path) -> None:
    write_image(tmp_path / "a.jpg", 20, 20)
    objects = [
        {"name": "dog", "bndbox": (1, 1, 5, 5)},
        {"name": "kiwi", "bndbox": (1, 1, 6, 6)},
        {"name": "cat", "bndbox": (2, 2, 7, 7)},
    ]
    (tmp_path / "a.xml").write_text(voc_xml("a.jpg", 20, 20, objects))
    error = validation_error(lambda: VOCDetectionDataset(tmp_path, split=None, classes=["cat", "dog"]))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("a.xml object 2 ('kiwi'):")
    assert "['cat', 'dog']" in error.problems[0]
    dataset = VOCDetectionDataset(tmp_path, split=None, classes=["cat", "dog"], on_error="skip")
    assert dataset.classes == ["cat", "dog"]
    assert dataset[0][1]["labels"].tolist() == [1, 0]
    assert_boxes(dataset[0][1]["boxes"], [[0, 0, 5, 5], [1, 1, 7, 7]])


def bad_voc_folder(root: Path) -> None:
    for stem in ("good", "broken", "nobox", "words", "inverted", "outside"):
        write_image(root / f"{stem}.jpg", 40, 30)
    write_image(root.parent / "away.jpg", 40, 30)
    good = {"name": "cat", "bndbox": (1, 1, 10, 10)}
    (root / "good.xml").write_text(voc_xml("good.jpg", 40, 30, [good]))
    (root / "broken.xml").write_text("<annotation><filename>broken.jpg</filename><object>")
    (root / "nobox.xml").write_text(voc_xml("nobox.jpg", 40, 30, [{"name": "dog"}, good]))
    (root / "words.xml").write_text(
        voc_xml("words.jpg", 40, 30, [{"name": "cat", "bndbox": ("ten", 1, 5, 5)}])
    )
    (root / "inverted.xml").write_text(
        voc_xml("inverted.jpg", 40, 30, [good, {"name": "dog", "bndbox": (20, 1, 10, 5)}])
    )
    (root / "outside.xml").write_text(
        voc_xml("outside.jpg", 40, 30, [{"name": "cat", "bndbox": (1, 1, 50, 5)}])
    )
    (root / "away.xml").write_text(voc_xml("../away.jpg", 40, 30, [good]))
    (root / "gone.xml").write_text(voc_xml("gone.jpg", 40, 30, [good]))


def assert_bad_voc_problems(problems: list[str]) -> None:
    assert len(problems) == 7, problems
    assert "not valid XML" in one_problem(problems, "broken.xml:")
    assert "<bndbox>" in one_problem(problems, "nobox.xml object 1 ('dog'):")
    assert "numeric" in one_problem(problems, "words.xml object 1 ('cat'):")
    assert "no area" in one_problem(problems, "inverted.xml object 2 ('dog'):")
    assert "outside the 40x30 image" in one_problem(problems, "outside.xml object 1 ('cat'):")
    assert "outside the root" in one_problem(problems, "away.xml:")
    assert "does not exist" in one_problem(problems, "gone.xml:")


def test_voc_problems_name_the_file_and_object(tmp_path: Path) -> None:
    root = tmp_path / "voc"
    bad_voc_folder(root)
    error = validation_error(lambda: VOCDetectionDataset(root, split=None))
    assert_bad_voc_problems(error.problems)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = VOCDetectionDataset(root, split=None, on_error="warn")
    assert [warning.category for warning in caught] == [SkippedSampleWarning]
    assert_bad_voc_problems(dataset.problems)
    # The readable files stay, without their bad objects.
    kept = {Path(dataset.relative_path(index)).stem: dataset[index][1] for index in range(len(dataset))}
    assert sorted(kept) == ["good", "inverted", "nobox", "outside", "words"]
    for stem in ("good", "inverted", "nobox"):
        assert_boxes(kept[stem]["boxes"], [[0, 0, 10, 10]])
    for stem in ("outside", "words"):
        assert kept[stem]["boxes"].shape == (0, 4)
    allowed = VOCDetectionDataset(root, split=None, on_error="skip", allow_outside_root=True)
    assert len(allowed.problems) == 6
    away = [
        index
        for index in range(len(allowed))
        if allowed.relative_path(index) == os.path.join("..", "away.jpg")
    ]
    assert len(away) == 1
    assert torch.equal(plain(allowed[away[0]][0]), decoded(tmp_path / "away.jpg"))


# ---------------------------------------------------------------- YOLO


def test_yolo_boxes_are_normalised_centres_times_the_decoded_size(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 40, 20)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("1 0.25 0.5 0.3 0.4\n0 0.875 0.125 0.25 0.25\n")
    dataset = YOLODataset(tmp_path / "images", classes=["cat", "dog"])
    image, target = dataset[0]
    assert tuple(image.shape) == (3, 20, 40) and tuple(target["boxes"].canvas_size) == (20, 40)
    # x: (0.25 -+ 0.15) * 40 = 4, 16; y: (0.5 -+ 0.2) * 20 = 6, 14. x: (0.875 -+ 0.125) * 40 = 30, 40; y: 0, 5
    assert_boxes(target["boxes"], [[4, 6, 16, 14], [30, 0, 40, 5]])
    assert target["labels"].tolist() == [2, 1]
    assert dataset.classes == ["__background__", "cat", "dog"]
    assert dataset.category_ids == [None, 0, 1] and dataset.label_to_category_id == {1: 0, 2: 1}
    assert target["image_id"] == 0
    own = YOLODataset(tmp_path / "images", classes=["cat", "dog"], background=False)
    assert own.classes == ["cat", "dog"] and own[0][1]["labels"].tolist() == [1, 0]
    assert own.label_to_category_id == {0: 0, 1: 1}


def test_yolo_labels_live_where_the_last_images_folder_becomes_labels(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_image(data / "images" / "top.png", 10, 10)
    write_image(data / "images" / "train" / "deep" / "x.png", 20, 10)
    # Two "images" folders on the path: only the last becomes "labels".
    write_image(data / "images" / "extra" / "images" / "y.png", 10, 20)
    (data / "labels" / "train" / "deep").mkdir(parents=True)
    (data / "labels" / "top.txt").write_text("0 0.5 0.5 1 1\n")
    (data / "labels" / "train" / "deep" / "x.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (data / "images" / "extra" / "labels").mkdir()
    (data / "images" / "extra" / "labels" / "y.txt").write_text("0 0.5 0.5 0.4 0.2\n")
    dataset = YOLODataset(data / "images", classes=["thing"])
    position = {dataset.relative_path(index): index for index in range(len(dataset))}
    assert sorted(position) == sorted(
        [os.path.join("extra", "images", "y.png"), "top.png", os.path.join("train", "deep", "x.png")]
    )
    assert_boxes(dataset[position[os.path.join("extra", "images", "y.png")]][1]["boxes"], [[3, 8, 7, 12]])
    assert_boxes(dataset[position["top.png"]][1]["boxes"], [[0, 0, 10, 10]])
    assert_boxes(dataset[position[os.path.join("train", "deep", "x.png")]][1]["boxes"], [[5, 2.5, 15, 7.5]])


def test_yolo_an_explicit_labels_dir_mirrors_the_images(tmp_path: Path) -> None:
    write_image(tmp_path / "pictures" / "a.png", 20, 10)
    write_image(tmp_path / "pictures" / "sub" / "b.png", 20, 10)
    (tmp_path / "annotations" / "sub").mkdir(parents=True)
    (tmp_path / "annotations" / "a.txt").write_text("0 0.5 0.5 0.5 0.2\n")
    (tmp_path / "annotations" / "sub" / "b.txt").write_text("1 0.25 0.5 0.5 1\n")
    dataset = YOLODataset(tmp_path / "pictures", labels_dir=tmp_path / "annotations", classes=["a", "b"])
    assert_boxes(dataset[0][1]["boxes"], [[5, 4, 15, 6]])
    assert_boxes(dataset[1][1]["boxes"], [[0, 0, 10, 10]])
    assert dataset[1][1]["labels"].tolist() == [2]


def test_yolo_images_without_a_label_file_or_with_an_empty_one_have_no_boxes(tmp_path: Path) -> None:
    for stem in ("bare", "blank", "boxed"):
        write_image(tmp_path / "images" / f"{stem}.png", 8, 6)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "blank.txt").write_text("")
    (tmp_path / "labels" / "boxed.txt").write_text("\n0 0.5 0.5 0.5 0.5\n\n")
    dataset = YOLODataset(tmp_path / "images")
    for index in (0, 1):
        target = dataset[index][1]
        assert tuple(target["boxes"].shape) == (0, 4) and tuple(target["boxes"].canvas_size) == (6, 8)
        assert target["labels"].shape == (0,) and target["labels"].dtype == torch.int64
    assert_boxes(dataset[2][1]["boxes"], [[2, 1.5, 6, 4.5]])
    assert dataset.problems == []


def yolo_project(root: Path) -> None:
    """``images/{train,val}`` and ``labels/{train,val}`` of an Ultralytics dataset."""
    write_image(root / "images" / "train" / "t.png", 20, 10)
    write_image(root / "images" / "val" / "v1.png", 10, 20)
    write_image(root / "images" / "val" / "v2.png", 16, 16)
    for split in ("train", "val"):
        (root / "labels" / split).mkdir(parents=True)
    (root / "labels" / "train" / "t.txt").write_text("0 0.5 0.5 1 1\n")
    (root / "labels" / "val" / "v1.txt").write_text("2 0.5 0.25 0.2 0.5\n")
    (root / "labels" / "val" / "v2.txt").write_text("1 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.5 0.5\n")


@pytest.mark.parametrize(
    "names",
    ["[cat, dog, bird]", "{0: cat, 1: dog, 2: bird}", "\n  2: bird\n  0: cat\n  1: dog"],
    ids=["list", "dict", "dict-unordered"],
)
def test_yolo_data_yaml_with_split_folders(names: str, tmp_path: Path) -> None:
    yolo_project(tmp_path)
    yaml_file = tmp_path / "data.yaml"
    yaml_file.write_text(f"path: .\ntrain: images/train\nval: images/val\nnames: {names}\n")
    val = YOLODataset(data_yaml=yaml_file, split="val")
    assert val.classes == ["__background__", "cat", "dog", "bird"]
    assert len(val) == 2
    assert val.path(0) == str(tmp_path.resolve() / "images" / "val" / "v1.png")
    assert_boxes(val[0][1]["boxes"], [[4, 0, 6, 10]])
    assert val[0][1]["labels"].tolist() == [3]
    assert_boxes(val[1][1]["boxes"], [[4, 4, 12, 12], [0, 0, 8, 8]])
    assert val[1][1]["labels"].tolist() == [2, 1]
    train = YOLODataset(data_yaml=yaml_file)
    assert len(train) == 1 and train[0][1]["labels"].tolist() == [1]
    assert_boxes(train[0][1]["boxes"], [[0, 0, 20, 10]])
    with pytest.raises(DatasetNotFoundError, match="no 'test' entry; it has train, val"):
        YOLODataset(data_yaml=yaml_file, split="test")


def test_yolo_data_yaml_with_a_list_file_of_images(tmp_path: Path) -> None:
    yolo_project(tmp_path)
    write_image(tmp_path.parent / f"{tmp_path.name}-outside.png", 8, 8)
    listing = tmp_path / "val.txt"
    listing.write_text(
        "images/val/v2.png\n"
        "\n"
        f"{tmp_path / 'images' / 'train' / 't.png'}\n"
        "./images/val/v1.png\n"
        f"../{tmp_path.name}-outside.png\n"
        "images/val/missing.png\n"
    )
    yaml_file = tmp_path / "data.yaml"
    yaml_file.write_text(
        f"path: {tmp_path}\ntrain: images/train\nval: val.txt\nnames: {{0: cat, 1: dog, 2: bird}}\n"
    )
    error = validation_error(lambda: YOLODataset(data_yaml=yaml_file, split="val"))
    assert len(error.problems) == 2
    assert "outside" in one_problem(error.problems, f"{listing}:5:")
    assert "does not exist" in one_problem(error.problems, f"{listing}:6:")
    dataset = YOLODataset(data_yaml=yaml_file, split="val", on_error="skip")
    assert [dataset.relative_path(index) for index in range(len(dataset))] == [
        os.path.join("images", "val", "v2.png"),
        os.path.join("images", "train", "t.png"),
        os.path.join("images", "val", "v1.png"),
    ]
    assert_boxes(dataset[0][1]["boxes"], [[4, 4, 12, 12], [0, 0, 8, 8]])
    assert_boxes(dataset[1][1]["boxes"], [[0, 0, 20, 10]])
    assert_boxes(dataset[2][1]["boxes"], [[4, 0, 6, 10]])
    allowed = YOLODataset(data_yaml=yaml_file, split="val", on_error="skip", allow_outside_root=True)
    assert len(allowed) == 4 and len(allowed.problems) == 1
    assert tuple(allowed[3][0].shape) == (3, 8, 8)


def test_yolo_data_yaml_that_is_missing_or_malformed(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="nothing"):
        YOLODataset(data_yaml=tmp_path / "data.yaml")
    (tmp_path / "data.yaml").write_text("train: [unclosed\n")
    with pytest.raises(DatasetFormatError, match="not valid YAML"):
        YOLODataset(data_yaml=tmp_path / "data.yaml")
    (tmp_path / "data.yaml").write_text("train: nowhere\n")
    with pytest.raises(DatasetNotFoundError, match="neither a folder nor a list file"):
        YOLODataset(data_yaml=tmp_path / "data.yaml")
    with pytest.raises(ValueError, match="images_dir= or data_yaml="):
        YOLODataset()


def test_yolo_problems_name_the_file_and_line(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 20, 10)
    (tmp_path / "labels").mkdir()
    label_file = tmp_path / "labels" / "a.txt"
    label_file.write_text(
        "0 0.5 0.5 0.2 0.2\n"  # 1: fine
        "0 0.5 0.5 0.2\n"  # 2: four values
        "0 0.5 zero 0.2 0.2\n"  # 3: a word
        "5 0.5 0.5 0.2 0.2\n"  # 4: class 5 of 2 names
        "1.5 0.5 0.5 0.2 0.2\n"  # 5: not an integer class
        "1 1.2 0.5 0.2 0.2\n"  # 6: x from 1.1 to 1.3
        "1 0.5 0.5 0 0.2\n"  # 7: no width
        "1 0.9005 0.5 0.2 0.2\n"  # 8: x_max 1.0005, within 0.001 of the border: snapped
        "-1 0.5 0.5 0.2 0.2\n"  # 9: a negative class
        "1 0.5 -0.01 0.2 0.01\n"  # 10: y from -0.015, beyond 0.001
    )
    error = validation_error(lambda: YOLODataset(tmp_path / "images", classes=["cat", "dog"]))
    problems = error.problems
    assert len(problems) == 8, problems
    assert "5 values" in one_problem(problems, f"{label_file}:2:")
    assert "numbers" in one_problem(problems, f"{label_file}:3:")
    assert "out of range" in one_problem(problems, f"{label_file}:4:")
    assert "integer" in one_problem(problems, f"{label_file}:5:")
    assert "[0, 1]" in one_problem(problems, f"{label_file}:6:")
    assert "no area" in one_problem(problems, f"{label_file}:7:")
    assert "integer" in one_problem(problems, f"{label_file}:9:")
    assert "[0, 1]" in one_problem(problems, f"{label_file}:10:")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = YOLODataset(tmp_path / "images", classes=["cat", "dog"], on_error="warn")
    assert [warning.category for warning in caught] == [SkippedSampleWarning]
    assert "8 annotation problems" in str(caught[0].message)
    assert dataset.problems == problems
    target = dataset[0][1]
    # line 1: [0.4, 0.4, 0.6, 0.6] of 20x10; line 8: x from 0.8005 to 1.0005, snapped to 1.0
    assert_boxes(target["boxes"], [[8, 4, 12, 6], [16.01, 4, 20, 6]])
    assert target["labels"].tolist() == [1, 2]


def test_yolo_without_names_classes_are_the_ids_up_to_the_largest(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 10, 10)
    write_image(tmp_path / "images" / "b.png", 10, 10)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("3 0.5 0.5 0.2 0.2\n")
    (tmp_path / "labels" / "b.txt").write_text("0 0.5 0.5 0.2 0.2\n12 0.5 0.5 0.2 0.2\n")
    dataset = YOLODataset(tmp_path / "images")
    assert dataset.classes == ["__background__", *(str(number) for number in range(13))]
    assert dataset[0][1]["labels"].tolist() == [4]
    assert dataset[1][1]["labels"].tolist() == [1, 13]
    assert dataset.label_to_category_id[13] == 12
    own = YOLODataset(tmp_path / "images", background=False)
    assert own.classes == [str(number) for number in range(13)]
    assert own[1][1]["labels"].tolist() == [0, 12] and own.label_to_category_id[12] == 12


def test_yolo_names_dict_with_a_gap_is_not_shifted(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 20, 10)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.4 0.4\n")
    (tmp_path / "data.yaml").write_text("path: .\ntrain: images\nnames: {0: cat, 2: dog}\n")
    try:
        dataset = YOLODataset(data_yaml=tmp_path / "data.yaml", on_error="skip")
    except DatasetFormatError:
        return  # refused, as Ultralytics does
    target = dataset[0][1]
    named = [dataset.classes[label] for label in target["labels"].tolist()]
    assert "dog" not in named[:1]  # class 1 has no name: it must not be called 'dog'
    assert named[-1] == "dog"  # class 2 is 'dog'


def test_yolo_a_nan_coordinate_is_reported_as_not_finite(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 20, 10)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 nan 0.5 0.2 0.2\n0 0.5 inf 0.2 0.2\n")
    dataset = YOLODataset(tmp_path / "images", on_error="skip")
    assert len(dataset.problems) == 2
    for problem in dataset.problems:
        assert "no area" not in problem and ("finite" in problem or "nan" in problem.lower())


def test_flat_voc_folder_reads_a_split_list_beside_its_xml_files(tmp_path: Path) -> None:
    for stem in ("a", "b"):
        Image.new("RGB", (20, 10)).save(tmp_path / f"{stem}.jpg")
        (tmp_path / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>20</width><height>10</height></size>"
            "<object><name>kiwi</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>"
            "</object></annotation>"
        )
    with pytest.raises(DatasetNotFoundError, match=r"no 'train' list .*split=None"):
        VOCDetectionDataset(tmp_path, split="train")
    (tmp_path / "val.txt").write_text("b\n")
    dataset = VOCDetectionDataset(tmp_path, split="val")
    assert [dataset.relative_path(i) for i in range(len(dataset))] == ["b.jpg"]
    assert len(VOCDetectionDataset(tmp_path, split=None)) == 2


@pytest.mark.parametrize("on_error", ["skip", "warn"])
def test_declared_size_smaller_than_the_file_clips_under_the_skip_policies(
    on_error: str, tmp_path: Path
) -> None:
    # The file says 64x48, the image is 32x24: the box [10, 10, 50, 40] fits the declared size only.
    Image.new("RGB", (32, 24)).save(tmp_path / "a.png")
    (tmp_path / "ann.json").write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
                "categories": [{"id": 1, "name": "cat"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 30]}],
            }
        )
    )
    with pytest.raises(InvalidBoxesError, match="outside the decoded 32x24 image"):
        CocoDetectionDataset(tmp_path, tmp_path / "ann.json")[0]
    dataset = CocoDetectionDataset(tmp_path, tmp_path / "ann.json", on_error=on_error)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, target = dataset[0]
    assert target["boxes"].tolist() == [[10.0, 10.0, 32.0, 24.0]]
    assert len(dataset.problems) == 1 and "a.png" in dataset.problems[0]
    assert any(issubclass(w.category, SkippedSampleWarning) for w in caught) == (on_error == "warn")

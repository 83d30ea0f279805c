"""Annotated catalog datasets, read from tiny files in the exact layout torchvision 0.29 reads.

Each test writes a few small images and the real annotation files (VOC XML and
palette PNG masks, COCO JSON, the CelebA text lists, the Flickr8k web page,
KITTI label files, the WIDER FACE lists) under ``tmp_path``, builds the dataset
through ``vd.get_dataset`` for every split the catalog lists, and compares the
samples with the values written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
import torchvision.datasets.celeba
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional

import visiondata as vd
from visiondata.exceptions import DatasetNotFoundError
from visiondata.formats import CocoDetectionDataset, VOCDetectionDataset

Box = tuple[float, float, float, float]


# ---------------------------------------------------------------- shared helpers
def write_image(path: Path, height: int, width: int, seed: int) -> np.ndarray:
    """Write random RGB pixels (format from the suffix: JPEG or PNG); return the array written."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def decoded(path: Path) -> torch.Tensor:
    """The file's pixels as torchvision decodes them (CHW uint8): exact even for lossy JPEG."""
    with Image.open(path) as image:
        return functional.pil_to_tensor(image.convert("RGB"))


def xywh_to_xyxy(box: Box) -> list[float]:
    x, y, width, height = box
    return [x, y, x + width, y + height]


def assert_detection_sample(
    sample: tuple[Any, Any],
    *,
    image_file: Path,
    size: tuple[int, int],
    boxes: list[list[float]],
    labels: list[int],
    image_id: int,
) -> None:
    """A detection sample: tv_tensors.Image uint8 CHW and boxes/labels/image_id as written."""
    image, target = sample
    height, width = size
    assert isinstance(image, tv_tensors.Image)
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, height, width)
    assert torch.equal(image.as_subclass(torch.Tensor), decoded(image_file))
    assert isinstance(target, dict)
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
    assert target["boxes"].format is tv_tensors.BoundingBoxFormat.XYXY
    assert tuple(target["boxes"].canvas_size) == (height, width)
    assert tuple(target["boxes"].shape) == (len(boxes), 4)
    torch.testing.assert_close(
        target["boxes"].as_subclass(torch.Tensor).double(),
        torch.tensor(boxes, dtype=torch.float64).reshape(-1, 4),
    )
    assert target["labels"].dtype == torch.int64
    assert target["labels"].tolist() == labels
    assert target["image_id"] == image_id


def splits_of(name: str, *, excluded: tuple[str, ...] = ()) -> list[str]:
    return [split for split in vd.dataset_info(name).splits if split not in excluded]


# ---------------------------------------------------------------- PASCAL VOC
# Literal class indices (0 is the background), independent of the catalog's metadata.
VOC_LABEL = {"aeroplane": 1, "car": 7, "chair": 9, "horse": 13, "person": 15, "tvmonitor": 20}
VOC_SIZES: dict[str, tuple[int, int]] = {
    "000005": (30, 40),
    "000007": (24, 36),
    "000009": (32, 28),
    "000012": (20, 26),
}
# (name, (xmin, ymin, xmax, ymax)) per image, in the order of the <object> elements.
VOC_OBJECTS: dict[str, list[tuple[str, tuple[int, int, int, int]]]] = {
    "000005": [("chair", (3, 4, 20, 25)), ("person", (10, 2, 38, 29)), ("aeroplane", (1, 1, 5, 6))],
    "000007": [("tvmonitor", (5, 6, 30, 20))],  # exactly one <object>
    "000009": [("horse", (2, 3, 27, 31)), ("person", (8, 1, 20, 18))],
    "000012": [("car", (4, 5, 22, 17))],
}
VOC_IMAGE_SETS = {
    "train": ["000005", "000007"],
    "val": ["000009"],
    "trainval": ["000005", "000007", "000009"],
    "test": ["000012"],  # VOC2007 only
}
VOC_YEAR_SPLITS = [
    (year, split)
    for year in ("2012", "2007")
    for split in splits_of("voc_detection")
    if not (year == "2012" and split == "test")
]


def voc_corners(box: tuple[int, int, int, int]) -> list[float]:
    """VOC's 1-based inclusive pixels as 0-based corners, as VOCDetectionDataset gives them."""
    xmin, ymin, xmax, ymax = box
    return [xmin - 1, ymin - 1, xmax, ymax]


def voc_file_id(year: str, stem: str) -> str:
    """VOC2007 names files 000005, later years 2008_000005."""
    return stem if year == "2007" else f"2008_{stem}"


def voc_palette() -> list[int]:
    """The PASCAL VOC colour map that SegmentationClass PNGs carry as their palette."""
    palette: list[int] = []
    for index in range(256):
        red = green = blue = 0
        bits = index
        for shift in range(7, -1, -1):
            red |= (bits & 1) << shift
            green |= ((bits >> 1) & 1) << shift
            blue |= ((bits >> 2) & 1) << shift
            bits >>= 3
        palette += [red, green, blue]
    return palette


def voc_mask(stem: str) -> np.ndarray:
    """Class indices inside each object, 255 on a one-pixel border around it, 0 elsewhere."""
    mask = np.zeros(VOC_SIZES[stem], dtype=np.uint8)
    for name, (xmin, ymin, xmax, ymax) in VOC_OBJECTS[stem]:
        mask[ymin - 1 : ymax, xmin - 1 : xmax] = 255  # VOC pixel coordinates are 1-based, inclusive
        mask[ymin : ymax - 1, xmin : xmax - 1] = VOC_LABEL[name]
    return mask


def voc_annotation_xml(year: str, stem: str) -> bytes:
    height, width = VOC_SIZES[stem]
    annotation = ElementTree.Element("annotation")

    def child(parent: ElementTree.Element, tag: str, text: object = None) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, tag)
        if text is not None:
            element.text = str(text)
        return element

    child(annotation, "folder", f"VOC{year}")
    child(annotation, "filename", f"{voc_file_id(year, stem)}.jpg")
    source = child(annotation, "source")
    child(source, "database", f"The VOC{year} Database")
    child(source, "annotation", f"PASCAL VOC{year}")  # a nested <annotation>, as in the real files
    child(source, "image", "flickr")
    size = child(annotation, "size")
    child(size, "width", width)
    child(size, "height", height)
    child(size, "depth", 3)
    child(annotation, "segmented", 1)
    for name, (xmin, ymin, xmax, ymax) in VOC_OBJECTS[stem]:
        obj = child(annotation, "object")
        child(obj, "name", name)
        child(obj, "pose", "Unspecified")
        child(obj, "truncated", 0)
        child(obj, "difficult", 0)
        bndbox = child(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax)):
            child(bndbox, tag, value)
    ElementTree.indent(annotation, space="\t")
    return ElementTree.tostring(annotation)


def make_voc_tree(root: Path, year: str) -> Path:
    """root/VOCdevkit/VOC<year>/{JPEGImages,Annotations,SegmentationClass,ImageSets/{Main,Segmentation}}."""
    base = root / "VOCdevkit" / f"VOC{year}"
    for stem, (height, width) in VOC_SIZES.items():
        file_id = voc_file_id(year, stem)
        write_image(base / "JPEGImages" / f"{file_id}.jpg", height, width, seed=int(stem))
        (base / "Annotations").mkdir(parents=True, exist_ok=True)
        (base / "Annotations" / f"{file_id}.xml").write_bytes(voc_annotation_xml(year, stem))
        mask = Image.fromarray(voc_mask(stem), mode="P")
        mask.putpalette(voc_palette())
        (base / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        mask.save(base / "SegmentationClass" / f"{file_id}.png")
    for image_set, stems in VOC_IMAGE_SETS.items():
        if image_set == "test" and year != "2007":
            continue
        for kind in ("Main", "Segmentation"):
            folder = base / "ImageSets" / kind
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{image_set}.txt").write_text("".join(f"{voc_file_id(year, s)}\n" for s in stems))
    return base


def test_voc_metadata_matches_the_label_indices_written() -> None:
    for name in ("voc_detection", "voc_segmentation"):
        classes = vd.dataset_info(name).classes
        assert classes is not None and len(classes) == 21 and classes[0] == "__background__"
        for class_name, index in VOC_LABEL.items():
            assert classes[index] == class_name


@pytest.mark.parametrize(("year", "split"), VOC_YEAR_SPLITS)
def test_voc_detection_samples_match_the_xml(tmp_path: Path, year: str, split: str) -> None:
    base = make_voc_tree(tmp_path, year)
    extra = {} if year == "2012" else {"year": year}  # 2012 is the default
    dataset = vd.get_dataset("voc_detection", root=tmp_path, split=split, **extra)
    assert isinstance(dataset, VOCDetectionDataset)  # the one VOC reader
    stems = VOC_IMAGE_SETS[split]
    assert len(dataset) == len(stems)
    for index, stem in enumerate(stems):
        assert_detection_sample(
            dataset[index],
            image_file=base / "JPEGImages" / f"{voc_file_id(year, stem)}.jpg",
            size=VOC_SIZES[stem],
            boxes=[voc_corners(box) for _, box in VOC_OBJECTS[stem]],
            labels=[VOC_LABEL[name] for name, _ in VOC_OBJECTS[stem]],
            image_id=index,
        )


def test_voc_detection_labels_are_class_indices_with_background_zero(tmp_path: Path) -> None:
    make_voc_tree(tmp_path, "2012")
    dataset = vd.get_dataset("voc_detection", root=tmp_path, split="train")
    _, several = dataset[0]  # chair, person, aeroplane
    _, single = dataset[1]  # one tvmonitor
    assert several["labels"].tolist() == [9, 15, 1]
    assert several["boxes"].tolist() == [[2, 3, 20, 25], [9, 1, 38, 29], [0, 0, 5, 6]]
    assert several["boxes"].dtype == torch.float32
    assert single["labels"].tolist() == [20]
    assert tuple(single["boxes"].shape) == (1, 4) and single["boxes"].tolist() == [[4, 5, 30, 20]]


def test_voc_detection_flip_moves_pixels_and_boxes_then_target_transform_runs_last(tmp_path: Path) -> None:
    make_voc_tree(tmp_path, "2012")
    plain = vd.get_dataset("voc_detection", root=tmp_path, split="train")
    seen: list[dict[str, Any]] = []

    def keep(target: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        seen.append(target)
        return ("kept", target)

    flipped = vd.get_dataset(
        "voc_detection",
        root=tmp_path,
        split="train",
        transform=v2.RandomHorizontalFlip(p=1.0),
        target_transform=keep,
    )
    for index, stem in enumerate(VOC_IMAGE_SETS["train"]):
        _, width = VOC_SIZES[stem]
        image, _ = plain[index]
        flipped_image, (marker, target) = flipped[index]
        assert marker == "kept" and target is seen[-1]
        assert isinstance(flipped_image, tv_tensors.Image)
        assert torch.equal(flipped_image.as_subclass(torch.Tensor), image.as_subclass(torch.Tensor).flip(-1))
        expected = [
            [width - xmax, ymin - 1, width - (xmin - 1), ymax]
            for _, (xmin, ymin, xmax, ymax) in VOC_OBJECTS[stem]
        ]
        assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
        assert target["boxes"].tolist() == expected
        assert tuple(target["boxes"].canvas_size) == VOC_SIZES[stem]
        assert target["labels"].tolist() == [VOC_LABEL[name] for name, _ in VOC_OBJECTS[stem]]
    assert len(seen) == len(VOC_IMAGE_SETS["train"])


def test_voc_test_split_is_voc_2007s(tmp_path: Path) -> None:
    make_voc_tree(tmp_path, "2012")
    with pytest.raises(TypeError, match=r"split='test' sets year='2007'; got year='2012'"):
        vd.get_dataset("voc_detection", root=tmp_path, split="test", year="2012")
    with pytest.raises(DatasetNotFoundError, match=r"VOCtest_06-Nov-2007\.tar"):
        vd.get_dataset("voc_detection", root=tmp_path, split="test")  # only 2012 is on disk


@pytest.mark.parametrize(("year", "split"), VOC_YEAR_SPLITS)
def test_voc_segmentation_masks_keep_the_palette_indices(tmp_path: Path, year: str, split: str) -> None:
    base = make_voc_tree(tmp_path, year)
    extra = {} if year == "2012" else {"year": year}
    dataset = vd.get_dataset("voc_segmentation", root=tmp_path, split=split, **extra)
    stems = VOC_IMAGE_SETS[split]
    assert len(dataset) == len(stems)
    for index, stem in enumerate(stems):
        height, width = VOC_SIZES[stem]
        image, target = dataset[index]
        assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8
        assert tuple(image.shape) == (3, height, width)
        assert torch.equal(
            image.as_subclass(torch.Tensor),
            decoded(base / "JPEGImages" / f"{voc_file_id(year, stem)}.jpg"),
        )
        # The pinned segmentation schema (issue 20): a dict with an int64 (H, W) mask of class ids.
        assert set(target) == {"mask", "image_id"} and target["image_id"] == index
        mask = target["mask"]
        assert isinstance(mask, tv_tensors.Mask) and mask.dtype == torch.int64
        assert tuple(mask.shape[-2:]) == (height, width)
        expected = torch.from_numpy(voc_mask(stem))
        assert mask.shape == (height, width)
        assert torch.equal(mask.as_subclass(torch.Tensor), expected)
        assert {0, 255} <= set(mask.unique().tolist())


def test_voc_segmentation_flip_moves_image_and_mask_together(tmp_path: Path) -> None:
    make_voc_tree(tmp_path, "2012")
    dataset = vd.get_dataset(
        "voc_segmentation", root=tmp_path, split="val", transform=v2.RandomHorizontalFlip(p=1.0)
    )
    image, target = dataset[0]
    mask = target["mask"]
    height, width = VOC_SIZES["000009"]
    assert isinstance(mask, tv_tensors.Mask) and isinstance(image, tv_tensors.Image)
    expected = torch.from_numpy(voc_mask("000009")).flip(-1)
    assert mask.shape == (height, width)
    assert torch.equal(mask.as_subclass(torch.Tensor), expected)
    original = decoded(tmp_path / "VOCdevkit" / "VOC2012" / "JPEGImages" / "2008_000009.jpg")
    assert torch.equal(image.as_subclass(torch.Tensor), original.flip(-1))


# ---------------------------------------------------------------- COCO
# (id, height, width) per split; written to the JSON in this (unsorted) order.
COCO_IMAGES: dict[str, list[tuple[int, int, int]]] = {
    "train": [(25, 20, 30), (9, 24, 32), (30, 18, 22)],
    "val": [(285, 16, 20), (139, 26, 34)],
}
COCO_EMPTY = {"train": 30, "val": 285}  # images without any annotation
# category id -> (name, supercategory)
COCO_CATEGORIES = {
    1: ("person", "person"),
    18: ("dog", "animal"),
    44: ("bottle", "kitchen"),
    62: ("chair", "furniture"),
    90: ("toothbrush", "indoor"),
}
# image id -> (category id, XYWH box) per annotation, in annotation-id order.
COCO_OBJECTS: dict[int, list[tuple[int, Box]]] = {
    9: [(1, (2.0, 3.0, 10.0, 8.0)), (62, (0.5, 1.5, 20.25, 12.0))],
    25: [(18, (4.0, 5.0, 6.0, 7.0))],
    139: [(90, (1.0, 2.0, 3.0, 4.0)), (1, (10.5, 0.0, 20.0, 25.75)), (44, (30.0, 20.0, 4.0, 6.0))],
}
COCO_CAPTIONS: dict[int, list[str]] = {
    9: ["A plate of food next to a fork.", "Two bowls of vegetables on a table."],
    25: ["A giraffe eating leaves from a tree."],
    30: ["A vase of white flowers.", "Flowers in a pot.", "A white vase on a shelf."],
    139: ["A living room with a television."],
    285: ["A big brown bear."],
}


def coco_image_entries(split: str) -> list[dict[str, Any]]:
    return [
        {
            "license": 1,
            "file_name": f"{image_id:012d}.jpg",
            "coco_url": f"http://images.cocodataset.org/{split}2017/{image_id:012d}.jpg",
            "height": height,
            "width": width,
            "date_captured": "2013-11-14 16:28:13",
            "flickr_url": "http://farm1.staticflickr.com/1/1.jpg",
            "id": image_id,
        }
        for image_id, height, width in COCO_IMAGES[split]
    ]


def make_coco_tree(root: Path) -> Path:
    """root/coco/{train,val}2017/*.jpg and root/coco/annotations/{instances,captions}_{split}2017.json."""
    coco = root / "coco"
    (coco / "annotations").mkdir(parents=True)
    header = {
        "info": {"description": "tiny COCO", "version": "1.0", "year": 2017},
        "licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 1, "name": "CC BY"}],
    }
    annotation_id = 1
    for split, images in COCO_IMAGES.items():
        for image_id, height, width in images:
            write_image(coco / f"{split}2017" / f"{image_id:012d}.jpg", height, width, seed=image_id)
        instances = []
        captions = []
        for image_id, _, _ in images:
            for category_id, (x, y, w, h) in COCO_OBJECTS.get(image_id, []):
                instances.append(
                    {
                        "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                        "area": w * h,
                        "iscrowd": 0,
                        "image_id": image_id,
                        "bbox": [x, y, w, h],
                        "category_id": category_id,
                        "id": annotation_id,
                    }
                )
                annotation_id += 1
            for caption in COCO_CAPTIONS[image_id]:
                captions.append({"image_id": image_id, "id": annotation_id, "caption": caption})
                annotation_id += 1
        categories = [
            {"supercategory": supercategory, "id": category_id, "name": name}
            for category_id, (name, supercategory) in COCO_CATEGORIES.items()
        ]
        instances_file = coco / "annotations" / f"instances_{split}2017.json"
        instances_file.write_text(
            json.dumps(
                {
                    **header,
                    "images": coco_image_entries(split),
                    "annotations": instances,
                    "categories": categories,
                }
            )
        )
        captions_file = coco / "annotations" / f"captions_{split}2017.json"
        captions_file.write_text(
            json.dumps({**header, "images": coco_image_entries(split), "annotations": captions})
        )
    return coco


# COCO category id -> label: the background, then the 80 categories in order of their ids (literal values).
COCO_LABEL = {1: 1, 18: 17, 44: 40, 62: 57, 90: 80}


def test_coco_metadata_names_the_labels_and_category_ids_written(tmp_path: Path) -> None:
    classes = vd.dataset_info("coco_detection").classes
    assert classes is not None and len(classes) == 81 and classes[0] == "__background__"
    make_coco_tree(tmp_path)
    dataset = vd.get_dataset("coco_detection", root=tmp_path, split="val")
    assert dataset.classes == list(classes)
    for category_id, (name, _) in COCO_CATEGORIES.items():
        assert classes[COCO_LABEL[category_id]] == name
        assert dataset.category_ids[COCO_LABEL[category_id]] == category_id


@pytest.mark.parametrize("split", splits_of("coco_detection"))
def test_coco_detection_boxes_are_xyxy_and_labels_index_the_classes(tmp_path: Path, split: str) -> None:
    coco = make_coco_tree(tmp_path)
    dataset = vd.get_dataset("coco_detection", root=tmp_path, split=split)
    assert isinstance(dataset, CocoDetectionDataset)  # the one COCO reader
    ordered = COCO_IMAGES[split]  # the file's order
    assert len(dataset) == len(ordered)
    for index, (image_id, height, width) in enumerate(ordered):
        objects = COCO_OBJECTS.get(image_id, [])
        assert_detection_sample(
            dataset[index],
            image_file=coco / f"{split}2017" / f"{image_id:012d}.jpg",
            size=(height, width),
            boxes=[xywh_to_xyxy(box) for _, box in objects],
            labels=[COCO_LABEL[category_id] for category_id, _ in objects],
            image_id=image_id,
        )
        assert dataset[index][1]["boxes"].dtype == torch.float32


@pytest.mark.parametrize("split", splits_of("coco_detection"))
def test_coco_image_without_annotations_has_empty_boxes_and_labels(tmp_path: Path, split: str) -> None:
    make_coco_tree(tmp_path)
    dataset = vd.get_dataset("coco_detection", root=tmp_path, split=split)
    index = [image_id for image_id, _, _ in COCO_IMAGES[split]].index(COCO_EMPTY[split])
    image, target = dataset[index]
    assert set(target) >= {"boxes", "labels", "image_id"}
    assert target["image_id"] == COCO_EMPTY[split]
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
    assert tuple(target["boxes"].shape) == (0, 4)
    assert target["boxes"].format is tv_tensors.BoundingBoxFormat.XYXY
    assert tuple(target["boxes"].canvas_size) == tuple(image.shape[-2:])
    assert target["labels"].dtype == torch.int64 and tuple(target["labels"].shape) == (0,)


@pytest.mark.parametrize("split", splits_of("coco_captions"))
def test_coco_captions_are_the_strings_of_that_image(tmp_path: Path, split: str) -> None:
    coco = make_coco_tree(tmp_path)
    dataset = vd.get_dataset("coco_captions", root=tmp_path, split=split)
    ordered = sorted(COCO_IMAGES[split])
    assert len(dataset) == len(ordered)
    for index, (image_id, height, width) in enumerate(ordered):
        image, captions = dataset[index]
        assert isinstance(image, Image.Image) and image.size == (width, height)
        assert torch.equal(
            functional.pil_to_tensor(image), decoded(coco / f"{split}2017" / f"{image_id:012d}.jpg")
        )
        assert captions == COCO_CAPTIONS[image_id]
        assert all(isinstance(caption, str) for caption in captions)


def test_coco_captions_transform_applies_to_the_image_only(tmp_path: Path) -> None:
    make_coco_tree(tmp_path)
    dataset = vd.get_dataset("coco_captions", root=tmp_path, split="val", transform=functional.pil_to_tensor)
    image, captions = dataset[0]  # image 139, 26 x 34
    assert isinstance(image, torch.Tensor) and tuple(image.shape) == (3, 26, 34)
    assert captions == COCO_CAPTIONS[139]


@pytest.mark.parametrize(
    ("target_transform", "expected"),
    [
        (lambda captions: captions[0], "A living room with a television."),
        (len, 1),
    ],
    ids=["first-caption", "count"],
)
def test_coco_captions_target_transform_result_is_returned_as_is(
    tmp_path: Path, target_transform: Callable[[list[str]], Any], expected: Any
) -> None:
    make_coco_tree(tmp_path)
    dataset = vd.get_dataset("coco_captions", root=tmp_path, split="val", target_transform=target_transform)
    _, target = dataset[0]
    assert target == expected and type(target) is type(expected)


# ---------------------------------------------------------------- CelebA
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)  # fmt: skip
CELEBA_SIZE = (14, 12)  # height, width (the real aligned images are 218 x 178)
# file -> partition (0 train, 1 valid, 2 test), in file order.
CELEBA_PARTITION = {f"{number:06d}.jpg": part for number, part in enumerate((0, 0, 1, 2, 0, 2, 1), start=1)}
CELEBA_SPLIT_FILES = {
    "train": ["000001.jpg", "000002.jpg", "000005.jpg"],
    "val": ["000003.jpg", "000007.jpg"],
    "test": ["000004.jpg", "000006.jpg"],
    "all": list(CELEBA_PARTITION),
}
CELEBA_ATTR = {
    name: np.where(np.random.default_rng(index).random(40) < 0.4, 1, -1).tolist()
    for index, name in enumerate(CELEBA_PARTITION)
}
CELEBA_IDENTITY = dict(zip(CELEBA_PARTITION, (2880, 2937, 8692, 5805, 9295, 4153, 2880)))
CELEBA_BBOX = {name: [95 + i, 71 - i, 226 + 2 * i, 313 - 3 * i] for i, name in enumerate(CELEBA_PARTITION)}
CELEBA_LANDMARKS = {
    name: [69 + i, 109, 106, 113 - i, 77, 142, 73, 152 + i, 108, 154]
    for i, name in enumerate(CELEBA_PARTITION)
}


def make_celeba_tree(root: Path) -> Path:
    """root/celeba/img_align_celeba/*.jpg and the five text lists, with their real header lines."""
    base = root / "celeba"
    for index, name in enumerate(CELEBA_PARTITION):
        write_image(base / "img_align_celeba" / name, *CELEBA_SIZE, seed=100 + index)
    count = len(CELEBA_PARTITION)
    (base / "list_eval_partition.txt").write_text(
        "".join(f"{name} {part}\n" for name, part in CELEBA_PARTITION.items())
    )
    (base / "identity_CelebA.txt").write_text(
        "".join(f"{name} {identity}\n" for name, identity in CELEBA_IDENTITY.items())
    )
    (base / "list_attr_celeba.txt").write_text(
        f"{count}\n{' '.join(CELEBA_ATTRIBUTES)}\n"
        + "".join(f"{name} {' '.join(f'{v:2d}' for v in values)}\n" for name, values in CELEBA_ATTR.items())
    )
    (base / "list_bbox_celeba.txt").write_text(
        f"{count}\nimage_id x_1 y_1 width height\n"
        + "".join(f"{name} {' '.join(f'{v:4d}' for v in box)}\n" for name, box in CELEBA_BBOX.items())
    )
    (base / "list_landmarks_align_celeba.txt").write_text(
        f"{count}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
        "rightmouth_x rightmouth_y\n"
        + "".join(
            f"{name} {' '.join(f'{v:4d}' for v in points)}\n" for name, points in CELEBA_LANDMARKS.items()
        )
    )
    return base


@pytest.fixture
def celeba_without_md5(monkeypatch: pytest.MonkeyPatch) -> None:
    """CelebA checks the md5 of each real list file: accept any file that exists (as torchvision's tests do)."""

    def exists(fpath: str, md5: str | None = None) -> bool:
        return os.path.isfile(fpath)

    monkeypatch.setattr(torchvision.datasets.celeba, "check_integrity", exists)


@pytest.mark.usefixtures("celeba_without_md5")
@pytest.mark.parametrize("split", [*splits_of("celeba"), "valid"])
def test_celeba_split_selects_the_partition_and_maps_attributes_to_0_1(tmp_path: Path, split: str) -> None:
    base = make_celeba_tree(tmp_path)
    dataset = vd.get_dataset("celeba", root=tmp_path, split=split)
    files = CELEBA_SPLIT_FILES["val" if split == "valid" else split]
    assert list(dataset.filename) == files
    assert len(dataset) == len(files)
    assert list(dataset.attr_names) == list(CELEBA_ATTRIBUTES)
    for index, name in enumerate(files):
        image, attributes = dataset[index]
        assert isinstance(image, Image.Image) and image.size == (CELEBA_SIZE[1], CELEBA_SIZE[0])
        assert torch.equal(functional.pil_to_tensor(image), decoded(base / "img_align_celeba" / name))
        assert isinstance(attributes, torch.Tensor) and tuple(attributes.shape) == (40,)
        assert attributes.tolist() == [(value + 1) // 2 for value in CELEBA_ATTR[name]]
        assert set(attributes.tolist()) <= {0, 1}


@pytest.mark.usefixtures("celeba_without_md5")
@pytest.mark.parametrize(
    ("target_type", "written"),
    [
        ("identity", CELEBA_IDENTITY),
        ("bbox", CELEBA_BBOX),
        ("landmarks", CELEBA_LANDMARKS),
    ],
)
def test_celeba_other_target_types_pass_through(
    tmp_path: Path, target_type: str, written: dict[str, Any]
) -> None:
    make_celeba_tree(tmp_path)
    dataset = vd.get_dataset("celeba", root=tmp_path, split="test", target_type=target_type)
    for index, name in enumerate(CELEBA_SPLIT_FILES["test"]):
        _, target = dataset[index]
        assert isinstance(target, torch.Tensor)
        assert target.tolist() == written[name]


@pytest.mark.usefixtures("celeba_without_md5")
def test_celeba_transforms_and_several_target_types(tmp_path: Path) -> None:
    make_celeba_tree(tmp_path)
    dataset = vd.get_dataset(
        "celeba",
        root=tmp_path,
        split="val",
        target_type=["identity", "attr"],
        transform=functional.pil_to_tensor,
        target_transform=lambda target: (int(target[0]), target[1].sum().item()),
    )
    image, (identity, positives) = dataset[1]  # 000007.jpg
    assert tuple(image.shape) == (3, *CELEBA_SIZE)
    assert identity == 2880
    assert positives == CELEBA_ATTR["000007.jpg"].count(1)


@pytest.mark.usefixtures("celeba_without_md5")
def test_celeba_missing_list_file_is_reported_under_root(tmp_path: Path) -> None:
    base = make_celeba_tree(tmp_path)
    (base / "identity_CelebA.txt").unlink()
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("celeba", root=tmp_path, split="train")
    assert str(tmp_path) in str(caught.value)


# ---------------------------------------------------------------- Flickr8k
# Image files are "<flickr id>_<secret>.jpg"; the page links the photo by its id only.
FLICKR8K_FILES = {
    "2513260012": ("2513260012_03d33305cf.jpg", (18, 24)),
    "1000268201": ("1000268201_693b08cb0e.jpg", (20, 16)),
    "3637013": ("3637013_c675de7705.jpg", (12, 22)),
}
FLICKR8K_CAPTIONS = {
    "2513260012": ["A black dog is running after a white dog in the snow .", "Two dogs chase each other ."],
    "1000268201": [
        "A child in a pink dress is climbing up a set of stairs in an entry way .",
        "A girl going into a wooden building .",
        "A little girl climbing into a wooden playhouse .",
    ],
    "3637013": ["A dog & a cat on a sofa ."],
}


def make_flickr8k_tree(root: Path) -> Path:
    """root/flickr8k/images/<id>_<secret>.jpg and the captions web page as root/flickr8k/captions.html."""
    base = root / "flickr8k"
    for seed, (file_name, (height, width)) in enumerate(FLICKR8K_FILES.values()):
        write_image(base / "images" / file_name, height, width, seed=200 + seed)
    rows = [
        # A photo the page could not show: its captions belong to no image.
        "<tr><td>Image Not Found</td></tr>\n<tr><td><ul>\n<li>A caption without a picture .</li>\n</ul></td></tr>\n"
    ]
    for flickr_id, captions in FLICKR8K_CAPTIONS.items():
        url = f"http://www.flickr.com/photos/someuser/{flickr_id}/"
        items = "".join(f"<li>{caption.replace('&', '&amp;')}</li>\n" for caption in captions)
        rows.append(f'<tr><td><a href="{url}">{url}</a></td></tr>\n<tr><td><ul>\n{items}</ul></td></tr>\n')
    page = (
        "<html>\n<head><title>Flickr 8k captions</title></head>\n<body>\n<h1>Flickr 8k</h1>\n"
        f"<table>\n{''.join(rows)}</table>\n</body>\n</html>\n"
    )
    (base / "captions.html").write_text(page)
    return base


@pytest.mark.parametrize("split", splits_of("flickr8k"))
def test_flickr8k_captions_follow_their_image(tmp_path: Path, split: str) -> None:
    base = make_flickr8k_tree(tmp_path)
    dataset = vd.get_dataset("flickr8k", root=tmp_path, split=split)
    ordered = sorted(FLICKR8K_FILES, key=lambda flickr_id: FLICKR8K_FILES[flickr_id][0])
    assert len(dataset) == len(ordered)
    for index, flickr_id in enumerate(ordered):
        file_name, (height, width) = FLICKR8K_FILES[flickr_id]
        image, captions = dataset[index]
        assert isinstance(image, Image.Image) and image.size == (width, height)
        assert torch.equal(functional.pil_to_tensor(image), decoded(base / "images" / file_name))
        assert captions == FLICKR8K_CAPTIONS[flickr_id]
    assert all("without a picture" not in caption for _, captions in dataset for caption in captions)


# ---------------------------------------------------------------- KITTI
# Label lines: type truncated occluded alpha left top right bottom height width length x y z rotation_y.
KITTI_TRAIN: dict[str, tuple[tuple[int, int], list[str]]] = {
    "000000": (
        (20, 60),
        ["Pedestrian 0.00 0 -0.20 12.50 3.25 20.75 18.00 1.89 0.48 1.20 1.84 1.47 8.41 0.01"],
    ),
    "000001": (
        (24, 64),
        [
            "Car 0.00 0 -1.58 5.50 3.25 30.00 15.75 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59",
            "Cyclist 0.12 1 1.85 40.00 2.00 55.25 20.50 1.72 0.57 1.73 8.21 1.55 12.13 2.42",
            "DontCare -1 -1 -10 0.00 10.00 4.50 14.00 -1 -1 -1 -1000 -1000 -1000 -10",
        ],
    ),
    "000002": ((16, 48), ["Van 0.00 2 1.20 1.00 1.00 47.00 15.00 2.10 1.90 4.90 3.10 1.70 20.20 1.35"]),
}
KITTI_TEST_SIZES = {"000000": (18, 40), "000001": (22, 50)}
KITTI_LABEL = {"Car": 0, "Van": 1, "Pedestrian": 3, "Cyclist": 5, "DontCare": 8}


def make_kitti_tree(root: Path) -> Path:
    """root/Kitti/raw/training/{image_2/*.png,label_2/*.txt} and root/Kitti/raw/testing/image_2/*.png."""
    raw = root / "Kitti" / "raw"
    for stem, ((height, width), lines) in KITTI_TRAIN.items():
        write_image(raw / "training" / "image_2" / f"{stem}.png", height, width, seed=300 + int(stem))
        (raw / "training" / "label_2").mkdir(parents=True, exist_ok=True)
        (raw / "training" / "label_2" / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))
    for stem, (height, width) in KITTI_TEST_SIZES.items():
        write_image(raw / "testing" / "image_2" / f"{stem}.png", height, width, seed=400 + int(stem))
    return raw


def test_kitti_train_boxes_and_labels_follow_the_label_files(tmp_path: Path) -> None:
    raw = make_kitti_tree(tmp_path)
    dataset = vd.get_dataset("kitti", root=tmp_path, split="train")
    assert len(dataset) == len(KITTI_TRAIN)
    seen = set()
    for index in range(len(dataset)):
        stem = Path(dataset.images[index]).stem  # torchvision lists image_2 in os.listdir order
        seen.add(stem)
        size, lines = KITTI_TRAIN[stem]
        fields = [line.split(" ") for line in lines]
        assert_detection_sample(
            dataset[index],
            image_file=raw / "training" / "image_2" / f"{stem}.png",
            size=size,
            boxes=[[float(value) for value in row[4:8]] for row in fields],
            labels=[KITTI_LABEL[row[0]] for row in fields],
            image_id=index,
        )
    assert seen == set(KITTI_TRAIN)
    assert [vd.dataset_info("kitti").classes[i] for i in KITTI_LABEL.values()] == list(KITTI_LABEL)


def test_kitti_test_split_has_images_and_no_target(tmp_path: Path) -> None:
    raw = make_kitti_tree(tmp_path)
    dataset = vd.get_dataset("kitti", root=tmp_path, split="test")
    assert len(dataset) == len(KITTI_TEST_SIZES)
    for index in range(len(dataset)):
        stem = Path(dataset.images[index]).stem
        image, target = dataset[index]
        assert target is None
        assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8
        assert tuple(image.shape) == (3, *KITTI_TEST_SIZES[stem])
        assert torch.equal(
            image.as_subclass(torch.Tensor), decoded(raw / "testing" / "image_2" / f"{stem}.png")
        )


# ---------------------------------------------------------------- WIDER FACE
# Per image: (height, width) and face rows "x y w h blur expression illumination invalid occlusion pose".
WIDER_ANNOTATED: dict[str, dict[str, tuple[tuple[int, int], list[list[int]]]]] = {
    "train": {
        "0--Parade/0_Parade_marchingband_1_849.jpg": (
            (24, 32),
            [[4, 5, 10, 12, 0, 0, 0, 0, 0, 0], [15, 3, 8, 9, 2, 0, 0, 0, 1, 0]],
        ),
        "12--Group/12_Group_Group_12_Group_Group_12_10.jpg": ((20, 30), [[2, 2, 6, 7, 1, 1, 0, 0, 0, 1]]),
    },
    "val": {
        "1--Handshaking/1_Handshaking_Handshaking_1_35.jpg": (
            (26, 36),
            [
                [1, 1, 5, 5, 0, 0, 0, 0, 0, 0],
                [10, 4, 12, 15, 0, 0, 1, 0, 0, 0],
                [25, 9, 9, 11, 1, 0, 0, 0, 2, 0],
            ],
        ),
    },
}
WIDER_TEST = {
    "0--Parade/0_Parade_marchingband_1_737.jpg": (16, 20),
    "1--Handshaking/1_Handshaking_Handshaking_1_94.jpg": (18, 26),
}
WIDER_NO_FACE = "0--Parade/0_Parade_Parade_0_452.jpg"


def make_widerface_tree(root: Path, *, image_without_faces: bool = False) -> Path:
    """root/widerface/{WIDER_train,WIDER_val,WIDER_test}/images/<event>/*.jpg and wider_face_split/*.txt."""
    base = root / "widerface"
    seed = 500
    for split, images in WIDER_ANNOTATED.items():
        lines: list[str] = []
        for file_name, ((height, width), faces) in images.items():
            write_image(base / f"WIDER_{split}" / "images" / file_name, height, width, seed=seed)
            seed += 1
            lines += [file_name, str(len(faces))]
            lines += ["".join(f"{value} " for value in face) for face in faces]  # trailing space, as written
        if split == "train" and image_without_faces:
            write_image(base / "WIDER_train" / "images" / WIDER_NO_FACE, 12, 14, seed=seed)
            # The real files list a face-less image with a count of 0 and one line of zeros.
            lines += [WIDER_NO_FACE, "0", "0 0 0 0 0 0 0 0 0 0 "]
        (base / "wider_face_split").mkdir(parents=True, exist_ok=True)
        (base / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt").write_text("\n".join(lines) + "\n")
    for file_name, (height, width) in WIDER_TEST.items():
        write_image(base / "WIDER_test" / "images" / file_name, height, width, seed=seed)
        seed += 1
    (base / "wider_face_split" / "wider_face_test_filelist.txt").write_text("\n".join(WIDER_TEST) + "\n")
    return base


@pytest.mark.parametrize("split", splits_of("widerface", excluded=("test",)))
def test_widerface_faces_are_xyxy_boxes_labelled_1(tmp_path: Path, split: str) -> None:
    base = make_widerface_tree(tmp_path)
    dataset = vd.get_dataset("widerface", root=tmp_path, split=split)
    images = WIDER_ANNOTATED[split]
    assert len(dataset) == len(images)
    for index, (file_name, (size, faces)) in enumerate(images.items()):
        assert_detection_sample(
            dataset[index],
            image_file=base / f"WIDER_{split}" / "images" / file_name,
            size=size,
            boxes=[xywh_to_xyxy(tuple(face[:4])) for face in faces],
            labels=[1] * len(faces),
            image_id=index,
        )


def test_widerface_test_split_has_images_and_no_target(tmp_path: Path) -> None:
    base = make_widerface_tree(tmp_path)
    dataset = vd.get_dataset("widerface", root=tmp_path, split="test")
    assert len(dataset) == len(WIDER_TEST)
    for index, (file_name, size) in enumerate(WIDER_TEST.items()):
        image, target = dataset[index]
        assert target is None
        assert isinstance(image, tv_tensors.Image) and tuple(image.shape) == (3, *size)
        assert torch.equal(
            image.as_subclass(torch.Tensor), decoded(base / "WIDER_test" / "images" / file_name)
        )


def test_widerface_image_without_faces_has_no_boxes(tmp_path: Path) -> None:
    make_widerface_tree(tmp_path, image_without_faces=True)
    dataset = vd.get_dataset("widerface", root=tmp_path, split="train")
    assert len(dataset) == len(WIDER_ANNOTATED["train"]) + 1
    image, target = dataset[len(dataset) - 1]
    assert tuple(image.shape) == (3, 12, 14)
    assert tuple(target["boxes"].shape) == (0, 4)
    assert target["labels"].dtype == torch.int64 and tuple(target["labels"].shape) == (0,)

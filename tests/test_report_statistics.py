"""``visiondata.report._stats.collect_statistics`` on real files in ``tmp_path``, with known numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
from fixture_files import make_mnist_tree
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from visiondata.datasets import (
    CocoDetectionDataset,
    CSVDataset,
    CSVDetectionDataset,
    ImageFolderDataset,
    MNISTDataset,
    VOCDetectionDataset,
    YOLODataset,
)
from visiondata.formats._mask_folder import SegmentationFolderDataset
from visiondata.report._stats import SplitStatistics, collect_statistics

CLASSES = ["cat", "dog", "bird", "fish"]  # fish has no box: the empty class
# (stem, width, height, boxes as (class, x_min, y_min, x_max, y_max) pixels)
SCENE: list[tuple[str, int, int, list[tuple[str, int, int, int, int]]]] = [
    ("a", 64, 48, [("cat", 4, 4, 20, 20), ("dog", 30, 10, 60, 40)]),
    ("b", 48, 64, []),
    ("c", 80, 40, [("bird", 0, 0, 8, 4), ("cat", 10, 10, 70, 38)]),
    ("d", 32, 32, [("dog", 2, 2, 30, 30), ("dog", 0, 0, 10, 10), ("cat", 5, 5, 9, 9)]),
]
BOXES = sum(len(boxes) for *_, boxes in SCENE)


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A photo-like picture: a smooth gradient and a few shapes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack(
        [
            x * 255 // max(width - 1, 1),
            y * 255 // max(height - 1, 1),
            (x + y) * 127 // max(width + height, 1),
        ],
        axis=-1,
    ).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        draw.ellipse(
            (x0, y0, x0 + width // 3, y0 + height // 3), fill=tuple(int(v) for v in rng.integers(0, 256, 3))
        )
    return image


def write_images(folder: Path, suffix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for position, (stem, width, height, _) in enumerate(SCENE):
        photo(width, height, position).save(folder / f"{stem}{suffix}")


def coco(root: Path, **kwargs: Any) -> CocoDetectionDataset:
    write_images(root / "images", ".jpg")
    images, annotations = [], []
    for position, (stem, width, height, boxes) in enumerate(SCENE):
        images.append({"id": position + 1, "file_name": f"{stem}.jpg", "width": width, "height": height})
        for name, x0, y0, x1, y1 in boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": position + 1,
                    "category_id": CLASSES.index(name) + 1,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]
    file = root / "instances.json"
    file.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return CocoDetectionDataset(root / "images", file, **kwargs)


def voc(root: Path) -> VOCDetectionDataset:
    base = root / "VOCdevkit" / "VOC2007"
    write_images(base / "JPEGImages", ".jpg")
    (base / "Annotations").mkdir(parents=True)
    for stem, width, height, boxes in SCENE:
        annotation = ElementTree.Element("annotation")
        ElementTree.SubElement(annotation, "filename").text = f"{stem}.jpg"
        size = ElementTree.SubElement(annotation, "size")
        for tag, value in (("width", width), ("height", height), ("depth", 3)):
            ElementTree.SubElement(size, tag).text = str(value)
        for name, x0, y0, x1, y1 in boxes:
            node = ElementTree.SubElement(annotation, "object")
            ElementTree.SubElement(node, "name").text = name
            ElementTree.SubElement(node, "difficult").text = "0"
            box = ElementTree.SubElement(node, "bndbox")
            # VOC counts pixels from 1, both ends included.
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), (x0 + 1, y0 + 1, x1, y1), strict=True):
                ElementTree.SubElement(box, tag).text = str(value)
        (base / "Annotations" / f"{stem}.xml").write_text(
            ElementTree.tostring(annotation, encoding="unicode")
        )
    (base / "ImageSets" / "Main").mkdir(parents=True)
    (base / "ImageSets" / "Main" / "train.txt").write_text("".join(f"{stem}\n" for stem, *_ in SCENE))
    return VOCDetectionDataset(root, split="train", classes=CLASSES)


def yolo(root: Path) -> YOLODataset:
    write_images(root / "images", ".png")
    (root / "labels").mkdir()
    for stem, width, height, boxes in SCENE:
        lines = [
            f"{CLASSES.index(name)} {(x0 + x1) / 2 / width!r} {(y0 + y1) / 2 / height!r} "
            f"{(x1 - x0) / width!r} {(y1 - y0) / height!r}"
            for name, x0, y0, x1, y1 in boxes
        ]
        (root / "labels" / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    return YOLODataset(root / "images", classes=CLASSES)


def csv_detection(root: Path) -> CSVDetectionDataset:
    write_images(root, ".jpg")
    rows = ["image,x_min,y_min,x_max,y_max,label"]
    for stem, _, _, boxes in SCENE:
        rows += [f"{stem}.jpg,{x0},{y0},{x1},{y1},{name}" for name, x0, y0, x1, y1 in boxes] or [
            f"{stem}.jpg,,,,,"
        ]
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    return CSVDetectionDataset(root / "boxes.csv", root, classes=["__background__", *CLASSES])


READERS = {"coco": coco, "voc": voc, "yolo": yolo, "csv": csv_detection}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_detection_numbers(kind: str, tmp_path: Path) -> None:
    statistics = collect_statistics(READERS[kind](tmp_path), "train")
    assert statistics.kind == "detection" and statistics.split == "train"
    assert statistics.images == 4 and statistics.boxes == BOXES
    assert statistics.classes == CLASSES  # the background of label 0 is not a class of the report
    assert statistics.boxes_per_class == [3, 3, 1, 0]
    assert statistics.images_per_class == [3, 2, 1, 0]
    assert statistics.empty_classes == ["fish"] and statistics.imbalance is None
    assert statistics.images_without_boxes == 1
    assert statistics.boxes_per_image == {"edges": [0, 1, 2, 3, 4], "counts": [1, 0, 2, 1]}
    for name in ("box_width_px", "box_height_px", "box_aspect", "box_width_rel", "box_height_rel"):
        histogram = getattr(statistics, name)
        assert sum(histogram["counts"]) == BOXES, name
        assert len(histogram["edges"]) == len(histogram["counts"]) + 1
    heat = np.array(statistics.centre_heatmap["counts"])
    assert heat.shape == (16, 16) and heat.sum() == BOXES
    # The bird of c (0, 0, 8, 4) of an 80 x 40 image: centre (0.05, 0.05) -> row 0, column 0.
    assert heat[0, 0] >= 1
    # Sizes from the annotations (COCO, VOC) or the file headers (YOLO, CSV): the same numbers.
    assert sorted(
        (size["width"], size["height"], size["count"]) for size in statistics.image_sizes
    ) == sorted((width, height, 1) for _, width, height, _ in SCENE)
    assert statistics.unknown_sizes == 0
    smallest = [(box["label"], box["index"], box["area"]) for box in statistics.smallest_boxes[:3]]
    assert [(label, index) for label, index, _ in smallest] == [("cat", 3), ("bird", 2), ("dog", 3)]
    assert [area for *_, area in smallest] == pytest.approx([16, 32, 100], rel=1e-4)
    largest = statistics.largest_boxes[0]
    assert (largest["label"], largest["index"]) == ("cat", 2)
    assert largest["box"] == pytest.approx([10, 10, 70, 38], abs=1e-3)
    assert largest["area"] == pytest.approx(1680, rel=1e-4)
    assert statistics.most_crowded == [
        {"index": 3, "boxes": 3},
        {"index": 0, "boxes": 2},
        {"index": 2, "boxes": 2},
    ]
    assert statistics.samples_per_class == {"cat": [0, 2, 3], "dog": [0, 3], "bird": [2], "fish": []}
    assert len(statistics.paths) == 4 and all(Path(path).is_file() for path in statistics.paths)
    expected_format = "png" if kind == "yolo" else "jpeg"
    assert statistics.formats == {expected_format: 4}
    assert statistics.bytes == sum(Path(path).stat().st_size for path in statistics.paths)
    assert statistics.decoded == 4 and sum(statistics.brightness["counts"]) == 4
    assert statistics.read_seconds >= 0
    json.dumps(statistics.as_dict(), allow_nan=False)
    assert "paths" not in statistics.as_dict()


def test_yolo_without_files_has_relative_sizes_only(tmp_path: Path) -> None:
    statistics = collect_statistics(yolo(tmp_path), files=False)
    assert statistics.unknown_sizes == 4 and statistics.image_sizes == []
    assert sum(statistics.box_width_rel["counts"]) == BOXES
    assert np.array(statistics.centre_heatmap["counts"]).sum() == BOXES
    assert sum(statistics.box_width_px["counts"]) == 0  # pixels need the image size
    assert statistics.formats == {} and statistics.decoded == 0
    assert any("files=False" in note for note in statistics.notes)


def test_imbalance_without_empty_class(tmp_path: Path) -> None:
    dataset = coco(tmp_path, classes=["cat", "dog", "bird"])
    statistics = collect_statistics(dataset, files=False)
    assert statistics.boxes_per_class == [3, 3, 1]
    assert statistics.imbalance == 3.0 and statistics.empty_classes == []


def test_samples_per_class_are_deterministic_and_spread(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    records, annotations = [], []
    for index in range(40):
        records.append({"id": index + 1, "file_name": f"{index}.jpg", "width": 100, "height": 100})
        annotations.append(
            {"id": index + 1, "image_id": index + 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0}
        )
    file = tmp_path / "instances.json"
    file.write_text(
        json.dumps({"images": records, "annotations": annotations, "categories": [{"id": 1, "name": "cat"}]})
    )
    dataset = CocoDetectionDataset(images, file, check_files=False)
    first = collect_statistics(dataset, files=False, samples_per_class=5).samples_per_class
    second = collect_statistics(dataset, files=False, samples_per_class=5).samples_per_class
    assert first == second == {"cat": [0, 10, 20, 29, 39]}


def test_brightness_of_a_uniform_grey_image(tmp_path: Path) -> None:
    for name, level in (("grey", 100), ("light", 220)):
        (tmp_path / name).mkdir()
        Image.new("RGB", (300, 200), (level, level, level)).save(tmp_path / name / "x.jpg", quality=95)
    statistics = collect_statistics(ImageFolderDataset(tmp_path))
    edges, counts = statistics.brightness["edges"], statistics.brightness["counts"]
    filled = [(edges[i], edges[i + 1]) for i, count in enumerate(counts) if count]
    assert len(filled) == 2
    assert filled[0][0] <= 100 < filled[0][1] and filled[1][0] <= 220 < filled[1][1]
    # Uniform: no contrast.
    assert statistics.contrast["counts"][0] == 2
    assert statistics.decoded == 2


def test_image_folder_classification(tmp_path: Path) -> None:
    sizes = {"cat": [(40, 30), (40, 30), (50, 20)], "dog": [(40, 30)]}
    for name, shapes in sizes.items():
        (tmp_path / name).mkdir()
        for position, (width, height) in enumerate(shapes):
            photo(width, height, position).save(tmp_path / name / f"{position}.png")
    statistics = collect_statistics(ImageFolderDataset(tmp_path), "val", max_decoded=1)
    assert statistics.kind == "classification" and statistics.classes == ["cat", "dog"]
    assert statistics.images_per_class == [3, 1] and statistics.boxes_per_class is None
    assert statistics.imbalance == 3.0 and statistics.empty_classes == []
    assert statistics.image_sizes == [
        {"width": 40, "height": 30, "count": 3},
        {"width": 50, "height": 20, "count": 1},
    ]
    assert statistics.samples_per_class == {"cat": [0, 1, 2], "dog": [3]}
    assert statistics.formats == {"png": 4} and statistics.decoded == 1
    json.dumps(statistics.as_dict(), allow_nan=False)


def test_csv_classification_lists_the_empty_class(tmp_path: Path) -> None:
    for index in range(3):
        photo(20, 10, index).save(tmp_path / f"{index}.jpg")
    (tmp_path / "labels.csv").write_text("image,label\n0.jpg,cat\n1.jpg,cat\n2.jpg,dog\n")
    dataset = CSVDataset(tmp_path / "labels.csv", tmp_path, classes=["cat", "dog", "fish"])
    statistics = collect_statistics(dataset)
    assert statistics.images_per_class == [2, 1, 0]
    assert statistics.empty_classes == ["fish"] and statistics.imbalance is None
    assert statistics.image_sizes == [{"width": 20, "height": 10, "count": 3}]


def test_segmentation_folder_images_and_sizes(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for index, (width, height) in enumerate([(30, 20), (30, 20), (16, 16)]):
        photo(width, height, index).save(tmp_path / "images" / f"{index}.jpg")
        Image.new("L", (width, height)).save(tmp_path / "masks" / f"{index}.png")
    dataset = SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks", classes=["bg", "road"])
    statistics = collect_statistics(dataset)
    assert statistics.kind == "segmentation" and statistics.images == 3
    assert statistics.image_sizes == [
        {"width": 30, "height": 20, "count": 2},
        {"width": 16, "height": 16, "count": 1},
    ]
    assert statistics.formats == {"jpeg": 3}
    json.dumps(statistics.as_dict(), allow_nan=False)


def test_mnist_through_its_stored_pixels(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=30, test=10), split="train")
    statistics = collect_statistics(dataset, max_decoded=10)
    assert statistics.kind == "classification" and statistics.images == 30
    assert statistics.images_per_class == [3] * 10 and statistics.imbalance == 1.0
    assert statistics.image_sizes == [{"width": 28, "height": 28, "count": 30}]
    # Random uint8 pixels: mean grey near 127.5, though the samples come normalised.
    assert statistics.decoded == 10
    centres = np.array(statistics.brightness["edges"][:-1]) + 4
    mean = float(np.average(centres, weights=statistics.brightness["counts"]))
    assert 110 < mean < 145
    assert statistics.paths == []


class _Boxes(torch.utils.data.Dataset):
    """A map-style detection dataset without files: tensors and dict targets."""

    def __init__(
        self, targets: list[tuple[np.ndarray, np.ndarray]], size: tuple[int, int] = (40, 60)
    ) -> None:
        self.classes = ["__background__", "a", "b"]
        self.targets_ = targets
        self.size = size

    def __len__(self) -> int:
        return len(self.targets_)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        boxes, labels = self.targets_[index]
        image = torch.full((3, *self.size), 50, dtype=torch.uint8)
        return image, {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels)}


@st.composite
def box_sets(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    images = []
    for _ in range(draw(st.integers(1, 6))):
        count = draw(st.integers(0, 5))
        corners = draw(
            st.lists(st.tuples(st.integers(0, 58), st.integers(0, 38)), min_size=count, max_size=count)
        )
        sides = draw(
            st.lists(st.tuples(st.integers(1, 20), st.integers(1, 20)), min_size=count, max_size=count)
        )
        boxes = np.array(
            [[x, y, min(x + w, 60), min(y + h, 40)] for (x, y), (w, h) in zip(corners, sides, strict=True)],
            dtype=np.float32,
        ).reshape(-1, 4)
        labels = np.array(draw(st.lists(st.integers(1, 2), min_size=count, max_size=count)), dtype=np.int64)
        images.append((boxes, labels))
    return images


@settings(max_examples=25, deadline=None)
@given(box_sets())
def test_generic_detection_totals(images: list[tuple[np.ndarray, np.ndarray]]) -> None:
    statistics = collect_statistics(_Boxes(images), max_decoded=2, extremes=3)
    total = sum(len(labels) for _, labels in images)
    assert statistics.kind == "detection" and statistics.classes == ["a", "b"]
    assert statistics.boxes == total and sum(statistics.boxes_per_class or []) == total
    assert sum(statistics.boxes_per_image["counts"]) == len(images)
    for name in ("box_width_px", "box_height_px", "box_aspect", "box_width_rel", "box_height_rel"):
        assert sum(getattr(statistics, name)["counts"]) == total, name
    assert np.array(statistics.centre_heatmap["counts"]).sum() == total
    areas = sorted(
        float((box[2] - box[0]) * (box[3] - box[1]))
        for boxes, _ in images
        for box in boxes.astype(np.float64)
    )
    assert [box["area"] for box in statistics.smallest_boxes] == pytest.approx(areas[:3])
    assert [box["area"] for box in statistics.largest_boxes] == pytest.approx(areas[::-1][:3])
    assert statistics.image_sizes[0] == {
        "width": 60,
        "height": 40,
        "count": len(images),
    } or statistics.decoded < len(images)
    json.dumps(statistics.as_dict(), allow_nan=False)


def test_subset_of_a_reader(tmp_path: Path) -> None:
    dataset = coco(tmp_path)
    subset = torch.utils.data.Subset(dataset, [3, 1])
    statistics = collect_statistics(subset, files=False)
    assert statistics.images == 2 and statistics.boxes == 3
    assert statistics.boxes_per_class == [1, 2, 0, 0]
    assert statistics.most_crowded == [{"index": 0, "boxes": 3}]
    assert statistics.paths == [dataset.path(3), dataset.path(1)]


def test_scale_check_twenty_thousand_boxes(tmp_path: Path) -> None:
    """Correctness (not time) on a COCO file of 2,000 images and 20,000 boxes, without image files."""
    rng = np.random.default_rng(1)
    images, boxes_per_image, classes = 2000, 10, 7
    widths = rng.integers(100, 640, images)
    heights = rng.integers(100, 480, images)
    box_image = np.repeat(np.arange(images), boxes_per_image)
    x0 = rng.uniform(0, 0.5, len(box_image)) * widths[box_image]
    y0 = rng.uniform(0, 0.5, len(box_image)) * heights[box_image]
    w = rng.uniform(0.05, 0.5, len(box_image)) * widths[box_image]
    h = rng.uniform(0.05, 0.5, len(box_image)) * heights[box_image]
    labels = rng.integers(0, classes, len(box_image))
    document = {
        "images": [
            {"id": i + 1, "file_name": f"{i}.jpg", "width": int(widths[i]), "height": int(heights[i])}
            for i in range(images)
        ],
        "annotations": [
            {
                "id": j + 1,
                "image_id": int(box_image[j]) + 1,
                "category_id": int(labels[j]) + 1,
                "bbox": [float(x0[j]), float(y0[j]), float(w[j]), float(h[j])],
                "iscrowd": 0,
            }
            for j in range(len(box_image))
        ],
        "categories": [{"id": c + 1, "name": f"class{c}"} for c in range(classes)],
    }
    file = tmp_path / "instances.json"
    file.write_text(json.dumps(document))
    dataset = CocoDetectionDataset(tmp_path / "images", file, check_files=False)
    statistics = collect_statistics(dataset, files=False)
    assert statistics.boxes == 20_000
    assert statistics.boxes_per_class == np.bincount(labels, minlength=classes).tolist()
    assert statistics.images_per_class == [len(np.unique(box_image[labels == c])) for c in range(classes)]
    assert np.array(statistics.centre_heatmap["counts"]).sum() == 20_000
    assert statistics.boxes_per_image["counts"][boxes_per_image] == images
    distinct = len({(int(w_), int(h_)) for w_, h_ in zip(widths, heights, strict=True)})
    assert distinct > 500 and len(statistics.image_sizes) == 500
    assert len(statistics.image_sizes) + statistics.other_sizes == distinct
    listed = [size["count"] for size in statistics.image_sizes]
    assert listed == sorted(listed, reverse=True) and sum(listed) < images
    smallest = float((w * h).min())
    assert statistics.smallest_boxes[0]["area"] == pytest.approx(smallest, rel=1e-3)
    assert math.isclose(
        statistics.imbalance or 0,
        max(statistics.boxes_per_class) / min(statistics.boxes_per_class),
        rel_tol=1e-3,
    )


def test_refuses_what_is_not_a_dataset() -> None:
    with pytest.raises(TypeError, match="map-style dataset"):
        collect_statistics(iter([1, 2]))
    with pytest.raises(ValueError, match="max_decoded: expected a whole number >= 0, got -1"):
        collect_statistics([], max_decoded=-1)


def test_as_dict_round_trips_through_json() -> None:
    statistics = SplitStatistics("s", "classification", "x", 1, ["a"], [1])
    statistics.image_sizes = [{"width": np.int64(3), "height": np.int32(2), "count": 1}]
    assert json.loads(json.dumps(statistics.as_dict()))["image_sizes"] == [
        {"width": 3, "height": 2, "count": 1}
    ]


def test_oriented_and_keypoint_readers(tmp_path: Path) -> None:
    # YOLO-OBB: an axis-aligned square and a diamond in an 80 x 60 image.
    obb = tmp_path / "obb"
    (obb / "images").mkdir(parents=True)
    (obb / "labels").mkdir()
    photo(80, 60).save(obb / "images" / "a.png")
    (obb / "labels" / "a.txt").write_text(
        "0 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n0 0.5 0.166667 0.75 0.5 0.5 0.833333 0.25 0.5\n"
    )
    statistics = collect_statistics(YOLODataset(obb / "images", classes=["plane"]))
    assert statistics.oriented_boxes == 2 and statistics.keypoint_instances == 0
    assert statistics.boxes_per_class == [2] and statistics.image_sizes == [
        {"width": 80, "height": 60, "count": 1}
    ]
    # The enclosing boxes: 40 x 30 and 40 x 40 pixels (the diamond reaches x 20-60, y 10-50).
    assert sorted(box["area"] for box in statistics.smallest_boxes) == pytest.approx([1200, 1600], rel=1e-3)
    # YOLO-pose: one person with two of three keypoints labelled, one without any.
    pose = tmp_path / "pose"
    for folder in ("images/train", "labels/train"):
        (pose / folder).mkdir(parents=True)
    photo(80, 60).save(pose / "images" / "train" / "a.png")
    (pose / "labels" / "train" / "a.txt").write_text(
        "0 0.5 0.5 0.5 0.5 0.375 0.333333 2 0.625 0.333333 1 0 0 0\n0 0.2 0.2 0.2 0.2 0 0 0 0 0 0 0 0 0\n"
    )
    (pose / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/train\nnames:\n  0: person\nkpt_shape: [3, 3]\n"
    )
    statistics = collect_statistics(YOLODataset(data_yaml=pose / "data.yaml"))
    assert statistics.keypoint_instances == 1 and statistics.oriented_boxes == 0
    assert statistics.boxes == 2 and statistics.classes == ["person"]


def test_header_sizes_follow_the_exif_rotation_as_the_reader_does(tmp_path: Path) -> None:
    from visiondata.formats._writing import image_size

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: shown 30 wide and 50 high
    photo(50, 30).save(tmp_path / "images" / "a.jpg", exif=exif.tobytes())
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    dataset = YOLODataset(tmp_path / "images", classes=["cat"])
    statistics = collect_statistics(dataset)
    assert image_size(dataset.path(0)) == (50, 30)
    assert statistics.image_sizes == [{"width": 30, "height": 50, "count": 1}]
    assert statistics.largest_boxes[0]["box"] == pytest.approx([7.5, 12.5, 22.5, 37.5])

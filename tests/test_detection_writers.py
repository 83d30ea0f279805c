"""``to_coco``, ``to_voc``, ``to_yolo``, ``visiondata convert`` and ``visiondata check`` on real detection files."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors

from visiondata.cli import main
from visiondata.datasets import (
    CocoDetectionDataset,
    ConversionReport,
    CSVDetectionDataset,
    VOCDetectionDataset,
    YOLODataset,
    to_coco,
    to_voc,
    to_yolo,
)
from visiondata.formats._voc import VOC_CLASSES
from visiondata.io import read_image

# ---------------------------------------------------------------- the data, by hand

Box = tuple[float, float, float, float, str]  # x_min, y_min, x_max, y_max (0-based corners, pixels), class

#: (relative path, (width, height), colour, boxes): JPEG and PNG, one image in a sub-folder, one without boxes.
#: Fractional corners exercise VOC's whole-pixel rounding.
IMAGES: list[tuple[str, tuple[int, int], tuple[int, int, int], list[Box]]] = [
    ("a.jpg", (64, 48), (200, 30, 30), [(2.3, 4.6, 20.9, 30.2, "cat"), (10.0, 10.0, 40.4, 47.0, "dog")]),
    ("b.png", (32, 32), (30, 200, 30), [(0.0, 0.0, 32.0, 32.0, "person"), (5.2, 6.7, 9.8, 12.1, "cat")]),
    ("sub/c.png", (48, 40), (30, 30, 200), [(1.6, 2.4, 30.3, 39.9, "dog")]),
    ("d.jpg", (40, 30), (120, 120, 0), []),
]
NAMES = ["a.jpg", "b.png", "sub/c.png", "d.jpg"]
CLASSES = ["cat", "dog", "person"]
BACKGROUND = "__background__"
#: The classes each reader gives the source by default: background, then the names (all 20 for VOC's own).
SOURCE_CLASSES = {
    "coco": [BACKGROUND, *CLASSES],
    "voc": [BACKGROUND, *VOC_CLASSES],
    "yolo": [BACKGROUND, *CLASSES],
    "csv": [BACKGROUND, *CLASSES],
}
COCO_CATEGORY_IDS = {"cat": 1, "dog": 3, "person": 90}
COCO_IMAGE_IDS = [7, 12, 30, 41]
SOURCES = ("coco", "voc", "yolo", "csv")
TARGETS = ("coco", "voc", "yolo")
WRITERS: dict[str, Callable[..., ConversionReport]] = {"coco": to_coco, "voc": to_voc, "yolo": to_yolo}


def write_image(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    """A real image of ``size`` (W, H): JPEG for ``.jpg``, else PNG, with a stripe so no two are alike."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, color)
    image.paste((255, 255, 255), (0, 0, size[0], 2))
    image.save(path, "JPEG" if path.suffix.lower() == ".jpg" else "PNG")
    return path


def flat(name: str) -> str:
    """VOC's one folder of images: ``sub/c.png`` -> ``sub_c.png``."""
    return name.replace("/", "_")


def coco_json(images_dir: Path, json_file: Path, image_ids: list[int] = COCO_IMAGE_IDS) -> Path:
    annotations = []
    images = []
    for image_id, (name, (width, height), color, boxes) in zip(image_ids, IMAGES):
        write_image(images_dir / name, (width, height), color)
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        for x0, y0, x1, y1, label in boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": COCO_CATEGORY_IDS[label],
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "iscrowd": 0,
                }
            )
    categories = [{"id": number, "name": name} for name, number in COCO_CATEGORY_IDS.items()]
    json_file.parent.mkdir(parents=True, exist_ok=True)
    json_file.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return json_file


def voc_object(
    name: str, box: tuple[float, float, float, float], difficult: int = 0, truncated: int = 0
) -> str:
    x0, y0, x1, y1 = box
    # VOC's pixels are 1-based and inclusive: xmin = x_min + 1, xmax = x_max.
    return (
        f"<object><name>{name}</name><difficult>{difficult}</difficult><truncated>{truncated}</truncated>"
        f"<bndbox><xmin>{x0 + 1!r}</xmin><ymin>{y0 + 1!r}</ymin><xmax>{x1!r}</xmax><ymax>{y1!r}</ymax></bndbox>"
        "</object>"
    )


def voc_xml(filename: str, size: tuple[int, int], objects: list[str]) -> str:
    return (
        f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width>"
        f"<height>{size[1]}</height><depth>3</depth></size>{''.join(objects)}</annotation>"
    )


def voc_folder(root: Path) -> Path:
    for folder in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    stems = []
    for name, size, color, boxes in IMAGES:
        write_image(root / "JPEGImages" / name, size, color)
        stem = Path(flat(name)).stem
        objects = [voc_object(label, (x0, y0, x1, y1)) for x0, y0, x1, y1, label in boxes]
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(name, size, objects))
        stems.append(stem)
    (root / "ImageSets" / "Main" / "train.txt").write_text("".join(f"{stem}\n" for stem in stems))
    return root


def yolo_line(class_id: int, box: tuple[float, float, float, float], size: tuple[int, int]) -> str:
    (x0, y0, x1, y1), (width, height) = box, size
    centre_x, centre_y = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
    return f"{class_id} {centre_x!r} {centre_y!r} {(x1 - x0) / width!r} {(y1 - y0) / height!r}\n"


def yolo_folder(root: Path) -> Path:
    """``images/train``, ``labels/train`` (no label file for the image without boxes) and ``data.yaml``."""
    for name, size, color, boxes in IMAGES:
        write_image(root / "images" / "train" / name, size, color)
        if boxes:
            label_file = (root / "labels" / "train" / name).with_suffix(".txt")
            label_file.parent.mkdir(parents=True, exist_ok=True)
            label_file.write_text(
                "".join(
                    yolo_line(CLASSES.index(label), (x0, y0, x1, y1), size) for x0, y0, x1, y1, label in boxes
                )
            )
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [cat, dog, person]\n")
    return root


def csv_file(images_root: Path, csv_path: Path) -> Path:
    rows = ["image,x_min,y_min,x_max,y_max,label"]
    for name, size, color, boxes in IMAGES:
        write_image(images_root / name, size, color)
        rows += [f"{name},{x0!r},{y0!r},{x1!r},{y1!r},{label}" for x0, y0, x1, y1, label in boxes] or [
            f"{name},,,,,"
        ]
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text("\n".join(rows) + "\n")
    return csv_path


def make_source(fmt: str, root: Path) -> tuple[Any, Path]:
    """The source dataset of ``fmt`` written under ``root``, and the folder its relative paths start from."""
    if fmt == "coco":
        json_file = coco_json(root / "images", root / "instances.json")
        return CocoDetectionDataset(root / "images", json_file), root / "images"
    if fmt == "voc":
        return VOCDetectionDataset(voc_folder(root / "VOC"), split="train"), root / "VOC" / "JPEGImages"
    if fmt == "yolo":
        yolo_folder(root)
        images = root / "images" / "train"
        return YOLODataset(images, classes=CLASSES), images
    return CSVDetectionDataset(csv_file(root / "pics", root / "boxes.csv"), root / "pics"), root / "pics"


def read_back(fmt: str, out: Path, classes: list[str] | None = None, split: str = "train") -> Any:
    if fmt == "coco":
        return CocoDetectionDataset(out / "images", out / "annotations.json", classes=classes)
    if fmt == "voc":
        return VOCDetectionDataset(out, split=split, classes=classes)
    # YOLO's classes= names its class ids; the reader puts the background before them.
    names = None if classes is None else [name for name in classes if name != BACKGROUND]
    return YOLODataset(data_yaml=out / "data.yaml", split=split, classes=names)


def written_image(fmt: str, out: Path, name: str, split: str = "train") -> Path:
    return {
        "coco": out / "images" / name,
        "voc": out / "JPEGImages" / flat(name),
        "yolo": out / "images" / split / name,
    }[fmt]


def key_of(fmt: str, relative: str, split: str = "train") -> str:
    """The source's file name of a read-back image path."""
    relative = Path(relative).as_posix()
    return relative.removeprefix(f"images/{split}/") if fmt == "yolo" else relative


def samples_by_name(
    dataset: Any, fmt: str, split: str = "train"
) -> dict[str, tuple[list[str], list[list[float]]]]:
    """File name -> (class name per box, XYXY pixel boxes), from the decoded samples."""
    found = {}
    for index in range(len(dataset)):
        image, target = dataset[index]
        labels = target["labels"].tolist()
        found[key_of(fmt, dataset.relative_path(index), split)] = (
            [dataset.classes[label] for label in labels],
            target["boxes"].tolist(),
        )
        assert isinstance(image, tv_tensors.Image)
    return found


def expected_by_name(rename: Callable[[str], str] = str) -> dict[str, tuple[list[str], list[list[float]]]]:
    return {
        rename(name): ([box[4] for box in boxes], [list(box[:4]) for box in boxes])
        for name, _, _, boxes in IMAGES
    }


def assert_same_boxes(
    found: dict[str, tuple[list[str], list[list[float]]]],
    expected: dict[str, tuple[list[str], list[list[float]]]],
    tolerance: float,
) -> None:
    assert sorted(found) == sorted(expected)
    for name, (names, boxes) in expected.items():
        got_names, got_boxes = found[name]
        assert got_names == names, name
        assert np.asarray(got_boxes).reshape(-1, 4) == pytest.approx(
            np.asarray(boxes).reshape(-1, 4), abs=tolerance
        )


def vd_main(capsys: pytest.CaptureFixture[str], *arguments: str | Path) -> tuple[int, str, str]:
    status = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------- 1. round trips


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", SOURCES)
def test_round_trip_keeps_images_class_names_and_boxes(source: str, target: str, tmp_path: Path) -> None:
    dataset, images_root = make_source(source, tmp_path / "src")
    assert dataset.classes == SOURCE_CLASSES[source]
    out = tmp_path / "out"
    report = WRITERS[target](dataset, out)
    assert (report.format, report.out_dir, report.images, report.boxes) == (target, str(out), 4, 5)
    assert report.classes == SOURCE_CLASSES[source][1:]
    assert report.skipped == [] and report.encoded == 0

    # Read back with the reader's own class order: the same images, class names and boxes.
    tolerance = 0.5 if "voc" in (source, target) else 1e-3
    rename = flat if target == "voc" else str
    back = read_back(target, out)
    assert_same_boxes(samples_by_name(back, target), expected_by_name(rename), tolerance)
    for name in NAMES:  # images="copy": byte-identical files
        copy = written_image(target, out, name)
        assert copy.read_bytes() == (images_root / name).read_bytes()
        assert not copy.is_symlink()

    # With the source's classes, the labels are the source's, exactly.
    same = read_back(target, out, classes=SOURCE_CLASSES[source])
    assert same.classes == SOURCE_CLASSES[source]
    for index in range(len(same)):
        name = key_of(target, same.relative_path(index))
        boxes = expected_by_name(rename)[name][0]
        assert same.target(index)["labels"].tolist() == [
            SOURCE_CLASSES[source].index(label) for label in boxes
        ]


def test_yolo_reads_back_labels_without_classes_given(tmp_path: Path) -> None:
    # data.yaml names the classes in id order: the reader's default classes are the source's.
    dataset, _ = make_source("csv", tmp_path / "src")
    to_yolo(dataset, tmp_path / "out")
    back = read_back("yolo", tmp_path / "out")
    assert back.classes == dataset.classes
    labels = {
        key_of("yolo", back.relative_path(i)): back.target(i)["labels"].tolist() for i in range(len(back))
    }
    assert labels == {"a.jpg": [1, 2], "b.png": [3, 1], "sub/c.png": [2], "d.jpg": []}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("mode", ["copy", "link", "symlink"])
def test_image_modes_copy_hard_link_and_symlink(target: str, mode: str, tmp_path: Path) -> None:
    dataset, images_root = make_source("csv", tmp_path / "src")
    out = tmp_path / "out"
    WRITERS[target](dataset, out, images=mode)
    for name in NAMES:
        source, placed = images_root / name, written_image(target, out, name)
        assert placed.read_bytes() == source.read_bytes()
        same_inode = os.stat(placed).st_ino == os.stat(source).st_ino
        assert placed.is_symlink() == (mode == "symlink")
        assert same_inode == (mode in ("link", "symlink"))
        if mode == "link":
            assert os.stat(source).st_nlink == 2
        if mode == "symlink":
            assert Path(os.readlink(placed)).is_absolute() and placed.resolve() == source.resolve()
    assert len(read_back(target, out)) == 4


@pytest.mark.parametrize("target", TARGETS)
def test_bad_images_mode_is_a_value_error(target: str, tmp_path: Path) -> None:
    dataset, _ = make_source("csv", tmp_path / "src")
    with pytest.raises(ValueError, match=r"images: expected one of 'copy', 'link', 'symlink', got 'move'"):
        WRITERS[target](dataset, tmp_path / "out", images="move")


def test_yolo_from_data_yaml_round_trips_to_yolo(tmp_path: Path) -> None:
    # A YOLO source read through its data.yaml has paths "images/train/a.jpg": to_yolo must still write
    # label files where YOLODataset looks for them (the last "images" folder of a path becomes "labels").
    yolo_folder(tmp_path / "src")
    source = YOLODataset(data_yaml=tmp_path / "src" / "data.yaml")
    to_yolo(source, tmp_path / "out")
    back = YOLODataset(data_yaml=tmp_path / "out" / "data.yaml")
    counts = sorted(int(back.target(index)["labels"].numel()) for index in range(len(back)))
    assert counts == [0, 1, 2, 2]


# ---------------------------------------------------------------- 2. COCO


def test_to_coco_keeps_coco_ids_and_crowd_and_area(tmp_path: Path) -> None:
    json_file = coco_json(tmp_path / "images", tmp_path / "instances.json")
    data = json.loads(json_file.read_text())
    data["annotations"][1]["iscrowd"] = 1  # a.jpg's dog
    data["annotations"][2]["area"] = 99.5  # b.png's person: an area that is not w * h
    json_file.write_text(json.dumps(data))
    out = tmp_path / "out"
    # include_crowd=True: the reader keeps the crowd region (left out by default), and to_coco writes it.
    to_coco(CocoDetectionDataset(tmp_path / "images", json_file, include_crowd=True), out)

    written = json.loads((out / "annotations.json").read_text())
    assert set(written) == {"images", "annotations", "categories"}
    assert written["categories"] == [
        {"id": 1, "name": "cat"},
        {"id": 3, "name": "dog"},
        {"id": 90, "name": "person"},
    ]
    assert [
        (image["id"], image["file_name"], image["width"], image["height"]) for image in written["images"]
    ] == [
        (7, "a.jpg", 64, 48),
        (12, "b.png", 32, 32),
        (30, "sub/c.png", 48, 40),
        (41, "d.jpg", 40, 30),
    ]
    rows = [(a["image_id"], a["category_id"], a["iscrowd"]) for a in written["annotations"]]
    assert rows == [(7, 1, 0), (7, 3, 1), (12, 90, 0), (12, 1, 0), (30, 3, 0)]
    assert [a["id"] for a in written["annotations"]] == [1, 2, 3, 4, 5]
    bboxes = np.array([a["bbox"] for a in written["annotations"]])
    assert bboxes == pytest.approx(
        np.array(
            [
                [2.3, 4.6, 18.6, 25.6],
                [10, 10, 30.4, 37],
                [0, 0, 32, 32],
                [5.2, 6.7, 4.6, 5.4],
                [1.6, 2.4, 28.7, 37.5],
            ]
        ),
        abs=1e-4,
    )
    areas = [a["area"] for a in written["annotations"]]
    assert areas == pytest.approx([18.6 * 25.6, 30.4 * 37, 99.5, 4.6 * 5.4, 28.7 * 37.5], abs=1e-3)

    # pycocotools reads the file and agrees.
    from pycocotools.coco import COCO

    coco = COCO(str(out / "annotations.json"))
    assert sorted(coco.getCatIds()) == [1, 3, 90] and sorted(coco.getImgIds()) == COCO_IMAGE_IDS
    assert len(coco.getAnnIds(imgIds=[7])) == 2 and coco.getAnnIds(imgIds=[41]) == []
    back = CocoDetectionDataset(out / "images", out / "annotations.json", include_crowd=True)
    assert back.label_to_category_id == {1: 1, 2: 3, 3: 90}
    assert back.target(0)["iscrowd"].tolist() == [0, 1]
    assert back.target(1)["area"].tolist() == pytest.approx([99.5, 4.6 * 5.4], abs=1e-3)


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        (None, [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "person"}]),
        (  # label 0 is the background: category id = label
            [BACKGROUND, "person", "dog", "cat"],
            [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "cat"}],
        ),
        (  # no background: category id = label + 1
            ["dog", "person", "cat"],
            [{"id": 1, "name": "dog"}, {"id": 2, "name": "person"}, {"id": 3, "name": "cat"}],
        ),
    ],
)
def test_to_coco_category_ids_of_a_non_coco_source(
    classes: list[str] | None, expected: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "pics", tmp_path / "boxes.csv")
    to_coco(CSVDetectionDataset(path, tmp_path / "pics", classes=classes), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert written["categories"] == expected
    id_of = {category["name"]: category["id"] for category in expected}
    assert [a["category_id"] for a in written["annotations"]] == [
        id_of[n] for n in ["cat", "dog", "person", "cat", "dog"]
    ]
    assert [image["id"] for image in written["images"]] == [1, 2, 3, 4]


def test_to_coco_category_ids_of_a_voc_source_are_its_labels(tmp_path: Path) -> None:
    to_coco(VOCDetectionDataset(voc_folder(tmp_path / "VOC"), split="train"), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert written["categories"] == [{"id": label, "name": name} for label, name in enumerate(VOC_CLASSES, 1)]
    # cat, dog, person are VOC's 8th, 12th and 15th classes.
    assert [a["category_id"] for a in written["annotations"]] == [8, 12, 15, 8, 12]


def test_to_coco_category_ids_of_a_yolo_source_start_at_1(tmp_path: Path) -> None:
    dataset, _ = make_source("yolo", tmp_path / "src")
    to_coco(dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert written["categories"] == [
        {"id": 1, "name": "cat"},
        {"id": 2, "name": "dog"},
        {"id": 3, "name": "person"},
    ]


@pytest.mark.parametrize(
    "source",
    [
        "csv",
        "voc",
        "yolo",
    ],
)
def test_to_coco_image_ids_of_a_non_coco_source_count_from_1(source: str, tmp_path: Path) -> None:
    dataset, _ = make_source(source, tmp_path / "src")
    to_coco(dataset, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [image["id"] for image in written["images"]] == [1, 2, 3, 4]


# ---------------------------------------------------------------- 3. VOC


def test_to_voc_whole_pixels_difficult_truncated_and_split_list(tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "VOC")
    # b.png's objects: the person difficult, the cat truncated.
    objects = [
        voc_object("person", (0, 0, 32, 32), difficult=1),
        voc_object("cat", (5.2, 6.7, 9.8, 12.1), truncated=1),
    ]
    (root / "Annotations" / "b.xml").write_text(voc_xml("b.png", (32, 32), objects))
    out = tmp_path / "out"
    report = to_voc(VOCDetectionDataset(root, split="train"), out, split="val")
    assert (report.images, report.boxes) == (4, 5)

    assert (out / "ImageSets" / "Main" / "val.txt").read_text().splitlines() == ["a", "b", "sub_c", "d"]
    assert sorted(path.name for path in (out / "Annotations").iterdir()) == [
        "a.xml",
        "b.xml",
        "d.xml",
        "sub_c.xml",
    ]
    a = ElementTree.parse(out / "Annotations" / "a.xml").getroot()
    assert a.findtext("filename") == "a.jpg"
    assert (a.findtext("size/width"), a.findtext("size/height")) == ("64", "48")
    # (2.3, 4.6, 20.9, 30.2): xmin = round(2.3) + 1, ymin = round(4.6) + 1, xmax = round(20.9), ymax = round(30.2)
    boxes = [
        [int(obj.findtext(f"bndbox/{tag}")) for tag in ("xmin", "ymin", "xmax", "ymax")]
        for obj in a.iter("object")
    ]
    assert boxes == [[3, 6, 21, 30], [11, 11, 40, 47]]
    b = ElementTree.parse(out / "Annotations" / "b.xml").getroot()
    flags = [
        (obj.findtext("name"), obj.findtext("difficult"), obj.findtext("truncated"))
        for obj in b.iter("object")
    ]
    assert flags == [("person", "1", "0"), ("cat", "0", "1")]
    assert ElementTree.parse(out / "Annotations" / "d.xml").getroot().findall("object") == []
    assert ElementTree.parse(out / "Annotations" / "sub_c.xml").getroot().findtext("filename") == "sub_c.png"

    back = VOCDetectionDataset(out, split="val")
    index = [back.relative_path(i) for i in range(len(back))].index("b.png")
    assert back.target(index)["difficult"].tolist() == [1, 0]
    assert back.target(index)["truncated"].tolist() == [0, 1]
    assert back[0][1]["boxes"].tolist() == [[2, 5, 21, 30], [10, 10, 40, 47]]


def test_to_voc_escapes_class_and_file_names(tmp_path: Path) -> None:
    write_image(tmp_path / "pics" / "r&d.png", (20, 10), (1, 2, 3))
    path = tmp_path / "boxes.csv"
    path.write_text('image,x_min,y_min,x_max,y_max,label\nr&d.png,1,2,5,6,"a&b<c"\n')
    to_voc(CSVDetectionDataset(path, tmp_path / "pics"), tmp_path / "out")
    text = (tmp_path / "out" / "Annotations" / "r&d.xml").read_text()
    assert "<name>a&amp;b&lt;c</name>" in text and "<filename>r&amp;d.png</filename>" in text
    back = VOCDetectionDataset(tmp_path / "out", split="train")
    assert back.classes == [BACKGROUND, "a&b<c"]
    _, target = back[0]
    assert back.relative_path(0) == "r&d.png" and target["boxes"].tolist() == [[1, 2, 5, 6]]


def test_to_voc_keeps_images_that_share_a_stem(tmp_path: Path) -> None:
    write_image(tmp_path / "pics" / "a.jpg", (20, 10), (1, 2, 3))
    write_image(tmp_path / "pics" / "a.png", (20, 10), (9, 8, 7))
    path = tmp_path / "boxes.csv"
    path.write_text("image,x_min,y_min,x_max,y_max,label\na.jpg,1,2,5,6,cat\na.png,3,3,9,9,dog\n")
    to_voc(CSVDetectionDataset(path, tmp_path / "pics"), tmp_path / "out")
    back = VOCDetectionDataset(tmp_path / "out", split="train")
    assert sorted(back.relative_path(i) for i in range(len(back))) == ["a.jpg", "a.png"]


# ---------------------------------------------------------------- 4. YOLO


def test_to_yolo_lines_class_ids_and_data_yaml(tmp_path: Path) -> None:
    dataset, _ = make_source("csv", tmp_path / "src")
    out = tmp_path / "out"
    to_yolo(dataset, out, split="val")
    labels = out / "labels" / "val"
    # a.jpg is 64 x 48: cat (2.3, 4.6, 20.9, 30.2) has centre (11.6 / 64, 17.4 / 48), sides (18.6 / 64, 25.6 / 48);
    # dog (10, 10, 40.4, 47): centre (25.2 / 64, 28.5 / 48), sides (30.4 / 64, 37 / 48).
    assert (labels / "a.txt").read_text().splitlines() == [
        "0 0.181250 0.362500 0.290625 0.533333",
        "1 0.393750 0.593750 0.475000 0.770833",
    ]
    # b.png is 32 x 32: person the whole image; cat (5.2, 6.7, 9.8, 12.1): centre (7.5 / 32, 9.4 / 32),
    # sides (4.6 / 32, 5.4 / 32).
    assert (labels / "b.txt").read_text().splitlines() == [
        "2 0.500000 0.500000 1.000000 1.000000",
        "0 0.234375 0.293750 0.143750 0.168750",
    ]
    assert (labels / "sub" / "c.txt").is_file() and (labels / "d.txt").read_text() == ""
    for line in (labels / "sub" / "c.txt").read_text().splitlines():
        assert re.fullmatch(r"1 0\.\d{6} 0\.\d{6} 0\.\d{6} 0\.\d{6}", line)
    assert sorted(
        p.relative_to(out / "images" / "val").as_posix() for p in (out / "images" / "val").rglob("*.*")
    ) == [
        "a.jpg",
        "b.png",
        "d.jpg",
        "sub/c.png",
    ]

    spec = yaml.safe_load((out / "data.yaml").read_text())
    # No path: (Ultralytics takes the YAML's folder); train and val are both required (issue 19, item 2).
    assert spec == {
        "train": "images/val",
        "val": "images/val",
        "nc": 3,
        "names": {0: "cat", 1: "dog", 2: "person"},
    }
    back = YOLODataset(data_yaml=out / "data.yaml", split="val")
    assert back.classes == [BACKGROUND, "cat", "dog", "person"] and len(back) == 4


def test_to_yolo_class_ids_without_background_are_the_labels(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "pics", tmp_path / "boxes.csv")
    to_yolo(CSVDetectionDataset(path, tmp_path / "pics", classes=["dog", "cat", "person"]), tmp_path / "out")
    lines = (tmp_path / "out" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "0"]  # cat is label 1, dog label 0
    assert yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())["names"] == {
        0: "dog",
        1: "cat",
        2: "person",
    }


# ---------------------------------------------------------------- 5. datasets without files, refusals, reports


class ListDetection(Dataset):
    """In-memory detection samples with ``classes``, like the catalog's detection sets (no image files)."""

    def __init__(
        self, samples: list[tuple[Any, dict[str, Any]]], classes: list[str] | None, broken: int = -1
    ) -> None:
        self.samples = samples
        if classes is not None:
            self.classes = classes
        self.broken = broken

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, dict[str, Any]]:
        if index == self.broken:
            raise OSError("the disk is on fire")
        return self.samples[index]


def in_memory_samples() -> list[tuple[Any, dict[str, Any]]]:
    generator = torch.Generator().manual_seed(0)
    first = tv_tensors.Image(torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8, generator=generator))
    second = tv_tensors.Image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8, generator=generator))
    xywh = tv_tensors.BoundingBoxFormat.XYWH
    return [
        (
            first,
            {
                "boxes": tv_tensors.BoundingBoxes(
                    [[2, 3, 10, 5], [0, 0, 30, 20]], format=xywh, canvas_size=(20, 30)
                ),
                "labels": torch.tensor([1, 2]),
            },
        ),
        (
            second,
            {
                "boxes": tv_tensors.BoundingBoxes(torch.zeros(0, 4), format=xywh, canvas_size=(16, 16)),
                "labels": torch.zeros(0, dtype=torch.int64),
            },
        ),
    ]


@pytest.mark.parametrize("target", TARGETS)
def test_dataset_without_files_is_written_as_png_with_xyxy_boxes(target: str, tmp_path: Path) -> None:
    samples = in_memory_samples()
    out = tmp_path / "out"
    report = WRITERS[target](ListDetection(samples, [BACKGROUND, "kiwi", "lime"]), out)
    assert (report.images, report.boxes, report.encoded, report.classes) == (2, 2, 2, ["kiwi", "lime"])
    assert "2 images had no file to copy and were written as PNG" in report.summary()
    for index, (image, _) in enumerate(samples):
        png = written_image(target, out, flat(f"{index:08d}.png"))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert torch.equal(read_image(png).as_subclass(torch.Tensor), image.as_subclass(torch.Tensor))
    back = read_back(target, out)
    names = [back.classes[label] for label in back.target(0)["labels"].tolist()]
    assert names == ["kiwi", "lime"]
    # XYWH (2, 3, 10, 5) is XYXY (2, 3, 12, 8).
    assert back[0][1]["boxes"].numpy() == pytest.approx(np.array([[2, 3, 12, 8], [0, 0, 30, 20]]), abs=1e-3)
    assert back[1][1]["boxes"].shape == (0, 4)


def test_samples_that_fail_to_load_are_skipped_and_reported(tmp_path: Path) -> None:
    report = to_coco(
        ListDetection(in_memory_samples(), [BACKGROUND, "kiwi", "lime"], broken=0), tmp_path / "out"
    )
    assert report.skipped == ["sample 0: the disk is on fire"]
    assert (report.images, report.boxes, report.encoded) == (1, 0, 1)
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [image["file_name"] for image in written["images"]] == ["00000001.png"]

    # An image file that is not an image.
    path = csv_file(tmp_path / "pics", tmp_path / "boxes.csv")
    (tmp_path / "pics" / "b.png").write_bytes(b"not an image at all")
    report = to_yolo(CSVDetectionDataset(path, tmp_path / "pics"), tmp_path / "yolo")
    assert len(report.skipped) == 1 and report.skipped[0].startswith("sample 1: ")
    assert "b.png" in report.skipped[0]
    assert (report.images, report.boxes) == (3, 3)
    assert not (tmp_path / "yolo" / "images" / "train" / "b.png").exists()
    assert "skipped (1):" in report.summary()


def test_a_file_dataset_with_a_transform_is_refused(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "pics", tmp_path / "boxes.csv")
    dataset = CSVDetectionDataset(path, tmp_path / "pics", transform=lambda image, target: (image, target))
    for writer in WRITERS.values():
        with pytest.raises(ValueError, match=r"CSVDetectionDataset has a transform.*without transform="):
            writer(dataset, tmp_path / "out")


def test_a_dataset_without_classes_is_a_type_error(tmp_path: Path) -> None:
    for writer in WRITERS.values():
        with pytest.raises(
            TypeError, match=r"ListDetection: expected a detection dataset with a classes list"
        ):
            writer(ListDetection(in_memory_samples(), None), tmp_path / "out")


def test_reader_problems_are_carried_into_the_report(tmp_path: Path) -> None:
    json_file = coco_json(tmp_path / "images", tmp_path / "instances.json")
    data = json.loads(json_file.read_text())
    data["annotations"].append({"id": 99, "image_id": 7, "category_id": 1, "bbox": [60, 10, 20, 5]})
    json_file.write_text(json.dumps(data))
    dataset = CocoDetectionDataset(tmp_path / "images", json_file, on_error="skip")
    assert len(dataset.problems) == 1 and dataset.problems[0].startswith("annotation 99 (image 7, a.jpg)")
    report = to_voc(dataset, tmp_path / "out")
    assert report.source_problems == dataset.problems
    assert (report.images, report.boxes) == (4, 5)
    summary = report.summary()
    assert summary.splitlines()[0] == f"wrote voc to {tmp_path / 'out'}: 4 images, 5 boxes, 3 classes"
    assert "left out by the reader (1):" in summary and "annotation 99" in summary
    assert report.as_dict() == {
        "out_dir": str(tmp_path / "out"),
        "format": "voc",
        "images": 4,
        "boxes": 5,
        "classes": ["cat", "dog", "person"],
        "encoded": 0,
        "skipped": [],
        "source_problems": dataset.problems,
        "crowd_left_out": 0,
        "source_crowd_left_out": 0,
        "masks_left_out": 0,
        "empty_images": 1,
        "fields_left_out": {"area": 5},  # COCO areas: VOC has no such field
    }
    json.dumps(report.as_dict())


# ---------------------------------------------------------------- 6. visiondata convert


def source_path(fmt: str, root: Path) -> Path:
    """The path ``visiondata convert`` is given for a source of ``fmt``: COCO and CSV images beside their file."""
    if fmt == "coco":
        return coco_json(root, root / "instances.json")
    if fmt == "csv":
        return csv_file(root, root / "boxes.csv")
    if fmt == "voc":
        return voc_folder(root / "VOC")
    return yolo_folder(root) / "data.yaml"


def base_name(path: str) -> str:
    """``images/train/sub/c.png`` and VOC's ``sub_c.png`` -> ``c.png``."""
    return re.split(r"[/_]", Path(path).as_posix())[-1]


def boxes_by_base_name(dataset: Any) -> dict[str, tuple[list[str], list[list[float]]]]:
    found = {}
    for index in range(len(dataset)):
        _, target = dataset[index]
        names = [dataset.classes[label] for label in target["labels"].tolist()]
        found[base_name(dataset.relative_path(index))] = (names, target["boxes"].tolist())
    return found


@pytest.mark.parametrize(
    ("source", "target"),
    [(source, target) for source in SOURCES for target in TARGETS],
)
def test_convert_guesses_the_source_format(
    source: str, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = source_path(source, tmp_path / "src")
    out = tmp_path / "out"
    status, stdout, _ = vd_main(capsys, "convert", path, out, "--to", target)
    assert status == 0
    classes = 20 if source == "voc" else 3
    lines = stdout.strip().splitlines()
    assert lines[0] == f"wrote {target} to {out}: 4 images, 5 boxes, {classes} classes"
    # What the target cannot hold is said: the image without boxes (and what it became), COCO's areas.
    written_as = {
        "coco": "an image record with no annotations",
        "voc": "an XML file with no <object>",
        "yolo": "an empty label file",
    }[target]
    expected = [f"  1 images without boxes, each written as {written_as}"]
    if source == "coco" and target != "coco":
        expected.append(f"  per-box fields {target} cannot hold, left out: area (5 boxes)")
    assert lines[1:] == expected
    tolerance = 0.5 if "voc" in (source, target) else 1e-3
    assert_same_boxes(boxes_by_base_name(read_back(target, out)), expected_by_name(base_name), tolerance)


def test_convert_with_explicit_format_images_and_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # COCO: a JSON file with another suffix, its images in another folder.
    json_file = coco_json(tmp_path / "pictures", tmp_path / "meta" / "instances.dat")
    status, _, _ = vd_main(
        capsys,
        "convert",
        json_file,
        tmp_path / "a",
        "--from",
        "coco",
        "--images",
        tmp_path / "pictures",
        "--to",
        "voc",
    )
    assert status == 0
    assert_same_boxes(boxes_by_base_name(read_back("voc", tmp_path / "a")), expected_by_name(base_name), 0.5)

    # CSV: a .txt file, paths relative to --root.
    csv_path = csv_file(tmp_path / "imgs", tmp_path / "meta" / "boxes.txt")
    status, stdout, _ = vd_main(
        capsys,
        "convert",
        csv_path,
        tmp_path / "b",
        "--from",
        "csv",
        "--root",
        tmp_path / "imgs",
        "--to",
        "coco",
    )
    assert status == 0 and "4 images, 5 boxes, 3 classes" in stdout
    assert_same_boxes(
        boxes_by_base_name(read_back("coco", tmp_path / "b")), expected_by_name(base_name), 1e-3
    )

    # YOLO: the folder that holds data.yaml, said explicitly.
    yolo_folder(tmp_path / "y")
    status, stdout, _ = vd_main(
        capsys, "convert", tmp_path / "y", tmp_path / "c", "--from", "yolo", "--to", "coco"
    )
    assert status == 0 and "4 images, 5 boxes, 3 classes" in stdout


def test_convert_split_and_out_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = voc_folder(tmp_path / "VOC")
    (root / "ImageSets" / "Main" / "val.txt").write_text("b\nd\n")
    status, stdout, _ = vd_main(
        capsys, "convert", root, tmp_path / "y", "--split", "val", "--out-split", "test", "--to", "yolo"
    )
    assert status == 0 and "2 images, 2 boxes" in stdout
    assert yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())["test"] == "images/test"
    back = YOLODataset(data_yaml=tmp_path / "y" / "data.yaml", split="test")
    assert sorted(back.relative_path(i) for i in range(len(back))) == [
        "images/test/b.png",
        "images/test/d.jpg",
    ]

    status, _, _ = vd_main(
        capsys, "convert", root, tmp_path / "v", "--split", "val", "--out-split", "test", "--to", "voc"
    )
    assert status == 0
    assert (tmp_path / "v" / "ImageSets" / "Main" / "test.txt").read_text().splitlines() == ["b", "d"]
    assert not (tmp_path / "v" / "ImageSets" / "Main" / "train.txt").exists()


@pytest.mark.parametrize("mode", ["link", "symlink"])
def test_convert_link(mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = source_path("coco", tmp_path / "src")
    status, _, _ = vd_main(capsys, "convert", path, tmp_path / "out", "--to", "coco", "--link", mode)
    assert status == 0
    for name in NAMES:
        placed, source = tmp_path / "out" / "images" / name, tmp_path / "src" / name
        assert placed.is_symlink() == (mode == "symlink")
        assert os.stat(placed).st_ino == os.stat(source).st_ino


def test_convert_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = source_path("csv", tmp_path / "src")
    status, stdout, _ = vd_main(capsys, "convert", path, tmp_path / "out", "--to", "yolo", "--json")
    assert status == 0
    assert json.loads(stdout) == {
        "out_dir": str(tmp_path / "out"),
        "format": "yolo",
        "images": 4,
        "boxes": 5,
        "classes": ["cat", "dog", "person"],
        "encoded": 0,
        "skipped": [],
        "source_problems": [],
        "crowd_left_out": 0,
        "source_crowd_left_out": 0,
        "masks_left_out": 0,
        "empty_images": 1,
        "fields_left_out": {},
    }


def test_convert_unknown_source_format_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("nothing to see\n")
    status, _, stderr = vd_main(capsys, "convert", notes, tmp_path / "out", "--to", "coco")
    assert status == 1
    assert stderr.startswith("visiondata: error: ") and "cannot tell the detection format" in stderr


def test_unknown_source_format_message(tmp_path: Path) -> None:
    from visiondata.formats._open import guess_format, open_detection

    notes = tmp_path / "notes.txt"
    notes.write_text("nothing to see\n")
    assert guess_format(notes) is None and guess_format(tmp_path / "missing.json") is None
    with pytest.raises(
        ValueError, match=r"notes\.txt: cannot tell the detection format; pass one of coco, voc"
    ):
        open_detection(notes)


def test_convert_skip_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The images sit beside the JSON (its folder is their root), so OUT lies elsewhere: an OUT inside an
    # input folder is refused.
    json_file = coco_json(tmp_path / "src", tmp_path / "src" / "instances.json")
    data = json.loads(json_file.read_text())
    data["annotations"].append({"id": 99, "image_id": 12, "category_id": 4, "bbox": [1, 1, 5, 5]})
    json_file.write_text(json.dumps(data))

    status, _, stderr = vd_main(capsys, "convert", json_file, tmp_path / "out", "--to", "yolo")
    assert status == 1
    assert (
        stderr.startswith("visiondata: error: ") and "annotation 99" in stderr and "category_id 4" in stderr
    )

    status, stdout, _ = vd_main(capsys, "convert", json_file, tmp_path / "out", "--to", "yolo", "--skip-bad")
    assert status == 0
    lines = stdout.splitlines()
    assert lines[0] == f"wrote yolo to {tmp_path / 'out'}: 4 images, 5 boxes, 3 classes"
    assert lines[1:3] == [
        "  1 images without boxes, each written as an empty label file",
        "  per-box fields yolo cannot hold, left out: area (5 boxes)",
    ]
    assert lines[3] == "  left out by the reader (1):"
    assert lines[4].startswith("    annotation 99: category_id 4 is not in the file's categories [1, 3, 90]")
    assert len((tmp_path / "out" / "labels" / "train" / "b.txt").read_text().splitlines()) == 2


# ---------------------------------------------------------------- 7. visiondata check


def messy_images(images: Path) -> None:
    """a.jpg 64x48, b.png 32x32, sub/c.png 48x40, d.jpg 40x30 (no boxes), e.jpg (corrupt)."""
    for name, size, color, _ in IMAGES:
        write_image(images / name, size, color)
    (images / "e.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")


def messy_coco(root: Path) -> Path:
    messy_images(root)
    sizes = [(64, 48), (32, 32), (48, 40), (40, 30), (40, 30)]
    names = ["a.jpg", "b.png", "sub/c.png", "d.jpg", "e.jpg"]
    images = [
        {"id": n, "file_name": name, "width": w, "height": h}
        for n, (name, (w, h)) in enumerate(zip(names, sizes), 1)
    ]
    annotations = [
        (1, 1, 1, [2, 4, 10, 10]),  # cat
        (2, 1, 1, [2, 4, 10, 10]),  # the same cat again: a duplicate
        (3, 1, 3, [60, 10, 20, 5]),  # reaches x = 80 in a 64 wide image
        (4, 2, 90, [0, 0, 32, 32]),  # person
        (5, 2, 3, [5, 5, 0, 4]),  # no width
        (6, 3, 3, [1, 2, 20, 20]),  # dog
        (7, 3, 5, [3, 3, 5, 5]),  # category 5 does not exist
        (8, 5, 1, [1, 1, 5, 5]),  # cat, on the corrupt image
    ]
    data = {
        "images": images,
        "categories": [{"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}, {"id": 90, "name": "person"}],
        "annotations": [
            {"id": n, "image_id": image, "category_id": category, "bbox": bbox}
            for n, image, category, bbox in annotations
        ],
    }
    (root / "ann.json").write_text(json.dumps(data))
    return root / "ann.json"


def messy_voc(root: Path) -> Path:
    messy_images(root / "JPEGImages")
    (root / "Annotations").mkdir()
    files = {
        "a": voc_xml(
            "a.jpg",
            (64, 48),
            [
                voc_object("cat", (2, 4, 12, 14)),
                voc_object("cat", (2, 4, 12, 14)),
                voc_object("dog", (60, 10, 80, 15)),
            ],
        ),
        "b": voc_xml(
            "b.png", (32, 32), [voc_object("person", (0, 0, 32, 32)), voc_object("dog", (5, 5, 5, 9))]
        ),
        "sub_c": voc_xml("sub/c.png", (48, 40), [voc_object("dog", (1, 2, 21, 22))]),
        "d": voc_xml("d.jpg", (40, 30), []),
        "e": voc_xml("e.jpg", (40, 30), [voc_object("cat", (1, 1, 6, 6))]),
    }
    for stem, text in files.items():
        (root / "Annotations" / f"{stem}.xml").write_text(text)
    return root


def messy_yolo(root: Path) -> Path:
    messy_images(root / "images" / "train")
    labels = root / "labels" / "train"
    (labels / "sub").mkdir(parents=True)
    # a.jpg: a cat twice (a duplicate), a dog reaching x = 1.1; b.png: a person, a dog without width;
    # sub/c.png: a dog, class 5 (3 names), a line of 2 values; d.jpg: no label file; e.jpg (corrupt): a cat.
    (labels / "a.txt").write_text("0 0.1 0.2 0.1 0.2\n0 0.1 0.2 0.1 0.2\n1 0.95 0.5 0.3 0.2\n")
    (labels / "b.txt").write_text("2 0.5 0.5 1 1\n1 0.5 0.5 0 0.2\n")
    (labels / "sub" / "c.txt").write_text("1 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.1 0.1\n1 0.5\n")
    (labels / "e.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [cat, dog, person]\n")
    return root / "data.yaml"


def messy_csv(root: Path) -> Path:
    messy_images(root)
    (root / "boxes.csv").write_text(
        "image,x_min,y_min,x_max,y_max,label\n"
        "a.jpg,2,4,12,14,cat\na.jpg,2,4,12,14,cat\nb.png,0,0,32,32,person\n"
        "sub/c.png,1,2,21,22,dog\nd.jpg,,,,,\ne.jpg,1,1,6,6,cat\n"
    )
    return root / "boxes.csv"


MESSY: dict[str, tuple[Callable[[Path], Path], str, int]] = {
    # format: (builder, reader, annotation problems)
    "coco": (messy_coco, "CocoDetectionDataset", 3),
    "voc": (messy_voc, "VOCDetectionDataset", 2),
    "yolo": (messy_yolo, "YOLODataset", 4),
    "csv": (messy_csv, "CSVDetectionDataset", 0),
}


@pytest.mark.parametrize("given", [False, True], ids=["guessed", "--format"])
@pytest.mark.parametrize("fmt", SOURCES)
def test_check_reports_detection_problems(
    fmt: str, given: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, reader, annotation_problems = MESSY[fmt]
    path = build(tmp_path / "data")
    status, stdout, _ = vd_main(capsys, "check", path, "--json", *(["--format", fmt] if given else []))
    assert status == 1
    report = json.loads(stdout)
    assert report["format"] == reader
    assert report["images"] == 5 and report["boxes"] == 5
    counts = {name: count for name, count in report["class_counts"].items() if count}
    assert counts == {"cat": 3, "dog": 1, "person": 1}
    assert len(report["class_counts"]) == (20 if fmt == "voc" else 3)
    assert len(report["annotation_problems"]) == annotation_problems
    assert len(report["duplicate_boxes"]) == 1
    assert report["duplicate_boxes"][0].startswith(
        f"{'images/train/' if fmt == 'yolo' else ''}a.jpg: cat box "
    )
    assert report["duplicate_boxes"][0].endswith("appears 2 times")
    assert report["images_without_boxes"] == [f"{'images/train/' if fmt == 'yolo' else ''}d.jpg"]
    assert [item["path"].split("/")[-1] for item in report["unreadable"]] == ["e.jpg"]
    assert "cannot read image" in report["unreadable"][0]["reason"]
    assert report["imbalance"] == 3.0
    expected = ["1 unreadable file", "1 duplicate box"]
    if annotation_problems:
        expected.insert(0, f"{annotation_problems} annotation problems")
    assert report["problems"] == expected


def test_check_names_each_coco_annotation_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = messy_coco(tmp_path)
    status, stdout, _ = vd_main(capsys, "check", path, "--images", tmp_path)
    assert status == 1
    lines = stdout.splitlines()
    assert lines[0] == f"{path} (CocoDetectionDataset): 5 images, 5 boxes in 3 classes"
    assert [line.split() for line in lines[1:4]] == [["cat", "3"], ["dog", "1"], ["person", "1"]]
    section = lines[lines.index("annotation problems (3):") + 1 : lines.index("annotation problems (3):") + 4]
    assert [line.split(":")[0].split(" (")[0].strip() for line in sorted(section)] == [
        "annotation 3",
        "annotation 5",
        "annotation 7",
    ]
    assert "outside the 64x48 image" in stdout and "has no area" in stdout and "category_id 5" in stdout
    for title in ("duplicate boxes (1):", "images without boxes (1):", "unreadable files (1):"):
        assert title in lines
    assert lines[-1] == "problems: 3 annotation problems; 1 unreadable file; 1 duplicate box"


def test_check_names_each_yolo_and_voc_problem(tmp_path: Path) -> None:
    from visiondata.datasets._check import check_detection

    yolo = check_detection(messy_yolo(tmp_path / "yolo"), progress=False)
    text = "\n".join(yolo.annotation_problems)
    assert "a.txt:3" in text and "b.txt:2" in text and "c.txt:2" in text and "c.txt:3" in text
    voc = check_detection(messy_voc(tmp_path / "voc"), progress=False)
    assert sorted(problem.split(":")[0] for problem in voc.annotation_problems) == [
        "a.xml object 3 ('dog')",
        "b.xml object 2 ('dog')",
    ]


def test_check_csv_boxes_without_area_are_validation_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_image(tmp_path / "a.jpg", (64, 48), (1, 2, 3))
    (tmp_path / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\na.jpg,5,5,5,9,cat\n")
    status, stdout, _ = vd_main(capsys, "check", tmp_path / "boxes.csv", "--json")
    assert status == 1
    report = json.loads(stdout)
    assert len(report["validation"]) == 1 and report["validation"][0].startswith("line 2: box ")
    assert "has no area" in report["validation"][0] and report["problems"] == ["1 validation problem"]


def test_check_csv_box_outside_the_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "a.jpg", (64, 48), (1, 2, 3))
    (tmp_path / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\na.jpg,60,10,80,15,cat\n")
    status, stdout, _ = vd_main(capsys, "check", tmp_path / "boxes.csv", "--json")
    report = json.loads(stdout)
    assert status == 1
    assert len(report["annotation_problems"]) == 1


@pytest.mark.parametrize("fmt", [*SOURCES, "yolo-images-folder", "coco-with-format"])
def test_check_clean_detection_dataset_exits_0(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "src"
    arguments: list[str | Path]
    if fmt == "yolo-images-folder":
        yolo_folder(root)
        arguments = [root / "images" / "train"]
    elif fmt == "coco-with-format":
        arguments = [coco_json(root / "pictures", root / "meta" / "ann.dat"), "--format", "coco"]
        arguments += ["--images", root / "pictures"]
    else:
        arguments = [source_path(fmt, root)]
    status, stdout, _ = vd_main(capsys, "check", *arguments, "--json")
    report = json.loads(stdout)
    assert status == 0, report["problems"]
    assert report["problems"] == [] and report["images"] == 4 and report["boxes"] == 5
    # A YOLO images folder takes the names of the data.yaml beside its dataset folder.
    names = ("cat", "dog", "person")
    assert {name: count for name, count in report["class_counts"].items() if count} == dict(
        zip(names, (2, 2, 1))
    )
    if fmt == "yolo-images-folder":
        # Without one, it has no names: its classes are named by their ids.
        (root / "data.yaml").unlink()
        status, stdout, _ = vd_main(capsys, "check", *arguments, "--json")
        counts = json.loads(stdout)["class_counts"]
        assert status == 0 and {name: count for name, count in counts.items() if count} == {
            "0": 2,
            "1": 2,
            "2": 1,
        }
    assert [path.split("/")[-1] for path in report["images_without_boxes"]] == ["d.jpg"]
    assert (
        report["annotation_problems"] == [] and report["duplicate_boxes"] == [] and report["unreadable"] == []
    )


def test_check_still_checks_class_folders_and_csv_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pets"
    write_image(folder / "cat" / "1.png", (8, 8), (1, 2, 3))
    write_image(folder / "cat" / "2.jpg", (8, 8), (200, 2, 3))
    write_image(folder / "dog" / "3.png", (8, 8), (1, 200, 3))
    status, stdout, _ = vd_main(capsys, "check", folder, "--json")
    report = json.loads(stdout)
    assert status == 0 and "format" not in report and "boxes" not in report
    assert report["class_counts"] == {"cat": 2, "dog": 1} and report["images"] == 3

    status, stdout, _ = vd_main(capsys, "check", folder, "--format", "folder")
    assert status == 0 and stdout.startswith(f"{folder}: 3 images in 2 classes")

    (tmp_path / "labels.csv").write_text(
        "image,label\npets/cat/1.png,cat\npets/dog/3.png,dog\npets/cat/2.jpg,dog\n"
    )
    status, stdout, _ = vd_main(capsys, "check", "--csv", tmp_path / "labels.csv", "--json")
    report = json.loads(stdout)
    assert status == 0 and report["class_counts"] == {"cat": 1, "dog": 2} and "format" not in report

"""Every source format x every writer: the class order and each box's class survive, and the report says what is lost.

Sources are written by hand in each tool's documented layout: COCO ``instances.json`` (category ids
not in name order, a crowd region with RLE, a polygon), Pascal VOC with datumaro's ``labelmap.txt``,
Ultralytics YOLO (``data.yaml`` ``names``, one label file per image, an empty one for an image without
objects), a CSV of boxes, CVAT for images 1.1 XML (``<meta><task><labels>`` in order, a polygon) and
LabelMe JSON (one file per image, ``shape_type`` rectangle and polygon). The classes are named so that
sorting them would change their order: ``zebra``, ``apple``, ``mango``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from visiondata.datasets._base import BACKGROUND
from visiondata.formats import (
    CocoDetectionDataset,
    CSVDetectionDataset,
    CVATDataset,
    LabelMeDataset,
    VOCDetectionDataset,
    YOLODataset,
    to_coco,
    to_voc,
    to_yolo,
)

CLASSES = ["zebra", "apple", "mango"]  # not sorted: a writer or reader that sorts changes the labels
SIZE = (40, 30)  # width, height
# name -> boxes (x0, y0, x1, y1, class name), whole pixels so that VOC keeps them exactly.
BOXES: dict[str, list[tuple[int, int, int, int, str]]] = {
    "a.png": [(2, 3, 12, 20, "zebra"), (20, 5, 30, 15, "mango")],
    "b.png": [(5, 5, 25, 25, "apple")],
    "c.png": [],  # an image without boxes
}


def _images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, name in enumerate(BOXES):
        Image.new("RGB", SIZE, (40 * number, 90, 120)).save(folder / name)


def coco_source(root: Path) -> Any:
    _images(root)
    category_ids = {"zebra": 1, "apple": 4, "mango": 7}  # ids give the order, names would not
    images, annotations = [], []
    for number, (name, boxes) in enumerate(BOXES.items(), start=1):
        images.append({"id": number, "file_name": name, "width": SIZE[0], "height": SIZE[1]})
        for x0, y0, x1, y1, label in boxes:
            annotation = {
                "id": len(annotations) + 1,
                "image_id": number,
                "category_id": category_ids[label],
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
            }
            if label == "zebra":  # a polygon: VOC cannot hold it
                annotation["segmentation"] = [[x0, y0, x1, y0, x1, y1, x0, y1]]
            annotations.append(annotation)
    # A crowd region (uncompressed RLE over the whole of a.png): left out by the reader by default.
    annotations.append(
        {
            "id": 99,
            "image_id": 1,
            "category_id": 4,
            "bbox": [0, 0, SIZE[0], SIZE[1]],
            "area": SIZE[0] * SIZE[1],
            "iscrowd": 1,
            "segmentation": {"size": [SIZE[1], SIZE[0]], "counts": [0, SIZE[0] * SIZE[1]]},
        }
    )
    categories = [
        {"id": number, "name": name, "supercategory": "thing"} for name, number in category_ids.items()
    ]
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return CocoDetectionDataset(root, path)


def voc_source(root: Path) -> Any:
    _images(root / "JPEGImages")
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for name, boxes in BOXES.items():
        objects = "".join(
            f"<object><name>{label}</name><pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>{int(label == 'apple')}</difficult><bndbox><xmin>{x0 + 1}</xmin><ymin>{y0 + 1}</ymin>"
            f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
            for x0, y0, x1, y1, label in boxes
        )
        (root / "Annotations" / f"{Path(name).stem}.xml").write_text(
            f"<annotation><folder>VOC</folder><filename>{name}</filename><size><width>{SIZE[0]}</width>"
            f"<height>{SIZE[1]}</height><depth>3</depth></size><segmented>0</segmented>{objects}</annotation>"
        )
    (root / "ImageSets" / "Main" / "train.txt").write_text("".join(f"{Path(n).stem}\n" for n in BOXES))
    # datumaro's labelmap.txt: the header, the background, then each class in label order.
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\n"
        + "".join(f"{name}:{10 * i},0,0::\n" for i, name in enumerate(CLASSES, start=1))
    )
    return VOCDetectionDataset(root)


def yolo_source(root: Path) -> Any:
    _images(root / "images" / "train")
    labels = root / "labels" / "train"
    labels.mkdir(parents=True)
    width, height = SIZE
    for name, boxes in BOXES.items():
        (labels / f"{Path(name).stem}.txt").write_text(
            "".join(
                f"{CLASSES.index(label)} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}\n"
                for x0, y0, x1, y1, label in boxes
            )
        )
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/train\nnames:\n" + "".join(f"  - {n}\n" for n in CLASSES)
    )
    return YOLODataset(data_yaml=root / "data.yaml")


def csv_source(root: Path) -> Any:
    _images(root)
    rows = ["image,x_min,y_min,x_max,y_max,label"]
    for name, boxes in BOXES.items():
        rows += [f"{name},{x0},{y0},{x1},{y1},{label}" for x0, y0, x1, y1, label in boxes] or [f"{name},,,,,"]
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    # A CSV holds no class list: the order is the one given.
    return CSVDetectionDataset(root / "boxes.csv", root, classes=[BACKGROUND, *CLASSES])


def cvat_source(root: Path) -> Any:
    _images(root / "images")
    labels = "".join(
        f"<label><name>{name}</name><type>any</type><attributes></attributes></label>" for name in CLASSES
    )
    images = []
    for number, (name, boxes) in enumerate(BOXES.items()):
        shapes = []
        for x0, y0, x1, y1, label in boxes:
            if label == "mango":  # a polygon: VOC cannot hold it
                points = f"{x0:.2f},{y0:.2f};{x1:.2f},{y0:.2f};{x1:.2f},{y1:.2f};{x0:.2f},{y1:.2f}"
                shapes.append(
                    f'<polygon label="{label}" occluded="0" points="{points}" z_order="0"></polygon>'
                )
            else:
                shapes.append(
                    f'<box label="{label}" occluded="0" xtl="{x0:.2f}" ytl="{y0:.2f}" xbr="{x1:.2f}" '
                    f'ybr="{y1:.2f}" z_order="0"></box>'
                )
        images.append(
            f'<image id="{number}" name="{name}" width="{SIZE[0]}" height="{SIZE[1]}">{"".join(shapes)}</image>'
        )
    (root / "annotations.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta><task><id>1</id>'
        f"<name>fruit</name><size>3</size><labels>{labels}</labels></task></meta>{''.join(images)}</annotations>"
    )
    return CVATDataset(root / "annotations.xml", root / "images")


def labelme_source(root: Path) -> Any:
    _images(root)
    for name, boxes in BOXES.items():
        shapes = []
        for x0, y0, x1, y1, label in boxes:
            if label == "mango":
                points, kind = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "polygon"
            else:
                points, kind = [[x0, y0], [x1, y1]], "rectangle"
            shapes.append(
                {"label": label, "points": points, "group_id": None, "shape_type": kind, "flags": {}}
            )
        document = {
            "version": "5.4.1",
            "flags": {},
            "shapes": shapes,
            "imagePath": name,
            "imageData": None,
            "imageHeight": SIZE[1],
            "imageWidth": SIZE[0],
        }
        (root / f"{Path(name).stem}.json").write_text(json.dumps(document))
    # LabelMe files hold no class list (the reader sorts the names found): the order is the one given.
    return LabelMeDataset(root, classes=CLASSES)


SOURCES: dict[str, Callable[[Path], Any]] = {
    "coco": coco_source,
    "voc": voc_source,
    "yolo": yolo_source,
    "csv": csv_source,
    "cvat": cvat_source,
    "labelme": labelme_source,
}
WRITERS = {"coco": to_coco, "voc": to_voc, "yolo": to_yolo}


def read_back(target: str, out: Path) -> Any:
    if target == "coco":
        return CocoDetectionDataset(out / "images", out / "annotations.json")
    if target == "voc":
        return VOCDetectionDataset(out)
    return YOLODataset(data_yaml=out / "data.yaml")


def names_of(dataset: Any) -> list[str]:
    return [name for name in dataset.classes if name != BACKGROUND]


def boxes_by_image(dataset: Any) -> dict[str, list[tuple[str, list[float]]]]:
    """Image file name -> (class name, box) of each box: labels read through the dataset's own classes."""
    found = {}
    for index in range(len(dataset)):
        target = dataset.target(index)
        boxes = dataset[index][1]["boxes"].tolist()
        names = [dataset.classes[label] for label in target["labels"].tolist()]
        # VOC flattens nested paths (images/train/a.png -> images_train_a.png): compare the base names.
        found[Path(dataset.relative_path(index)).name.split("_")[-1]] = sorted(zip(names, boxes, strict=True))
    return found


@pytest.mark.parametrize("target", list(WRITERS))
@pytest.mark.parametrize("source", list(SOURCES))
def test_class_order_and_each_box_class_survive(source: str, target: str, tmp_path: Path) -> None:
    dataset = SOURCES[source](tmp_path / "src")
    assert names_of(dataset) == CLASSES  # each source gives the order (the file's, or the one passed)
    report = WRITERS[target](dataset, tmp_path / "out")
    back = read_back(target, tmp_path / "out")
    # The same names in the same order: every target records it (COCO ids, labelmap.txt, names).
    assert names_of(back) == CLASSES and report.classes == CLASSES
    # The same label per box (after the background offset rule: compared through the class names).
    expected, written = boxes_by_image(dataset), boxes_by_image(back)
    assert sorted(written) == sorted(BOXES)
    for name in BOXES:
        assert [label for label, _ in written[name]] == [label for label, _ in expected[name]], name
        for (_, got), (_, want) in zip(written[name], expected[name], strict=True):
            assert got == pytest.approx(want, abs=0.01), name
    # The image without boxes is written, and said to be.
    assert report.empty_images == 1 and len(back) == 3
    assert report.images == 3 and report.boxes == 3 and report.skipped == []


@pytest.mark.parametrize("target", list(WRITERS))
def test_the_coco_crowd_region_left_out_by_the_reader_is_reported(target: str, tmp_path: Path) -> None:
    report = WRITERS[target](coco_source(tmp_path / "src"), tmp_path / "out")
    assert (report.source_crowd_left_out, report.crowd_left_out) == (1, 0)
    manifest = json.loads((tmp_path / "out" / "visiondata-conversion.json").read_text())
    assert manifest["source_crowd_left_out"] == 1 and manifest["empty_images"] == 1


@pytest.mark.parametrize("source", ["coco", "cvat", "labelme"])
def test_polygons_into_voc_are_counted_with_the_format_that_keeps_them(source: str, tmp_path: Path) -> None:
    report = to_voc(SOURCES[source](tmp_path / "src"), tmp_path / "out")
    assert report.masks_left_out == 1 and report.boxes == 3  # the box is written, its polygon is not
    summary = report.summary()
    assert "1 instance masks or polygons left out (VOC detection XML holds boxes only)" in summary
    assert "COCO" in summary and "pycocotools" not in summary
    assert json.loads((tmp_path / "out" / "visiondata-conversion.json").read_text())["masks_left_out"] == 1


@pytest.mark.parametrize("source", ["cvat", "labelme"])
def test_polygons_into_coco_are_written_as_pixel_polygons(source: str, tmp_path: Path) -> None:
    report = to_coco(SOURCES[source](tmp_path / "src"), tmp_path / "out")
    assert report.masks_left_out == 0
    annotations = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
    polygons = [a["segmentation"] for a in annotations if "segmentation" in a]
    assert len(polygons) == 1
    assert sorted(zip(polygons[0][0][0::2], polygons[0][0][1::2])) == [(20, 5), (20, 15), (30, 5), (30, 15)]


@pytest.mark.parametrize(("target", "fields"), [("coco", {"difficult": 1}), ("yolo", {"difficult": 1})])
def test_voc_difficult_is_counted_where_the_target_has_no_such_field(
    target: str, fields: dict[str, int], tmp_path: Path
) -> None:
    report = WRITERS[target](voc_source(tmp_path / "src"), tmp_path / "out")
    assert report.fields_left_out == fields
    assert f"per-box fields {target} cannot hold, left out: difficult (1 boxes)" in report.summary()


def test_voc_to_voc_keeps_difficult_and_drops_nothing(tmp_path: Path) -> None:
    report = to_voc(voc_source(tmp_path / "src"), tmp_path / "out")
    assert report.fields_left_out == {} and report.masks_left_out == 0
    assert VOCDetectionDataset(tmp_path / "out").target(1)["difficult"].tolist() == [1]


@pytest.mark.parametrize("target", ["voc", "yolo"])
def test_coco_area_is_counted_where_the_target_has_no_such_field(target: str, tmp_path: Path) -> None:
    report = WRITERS[target](coco_source(tmp_path / "src"), tmp_path / "out")
    assert report.fields_left_out == {"area": 3}


def test_empty_images_are_said_with_what_they_became(tmp_path: Path) -> None:
    dataset = csv_source(tmp_path / "src")
    expected = {
        "coco": "1 images without boxes, each written as an image record with no annotations",
        "voc": "1 images without boxes, each written as an XML file with no <object>",
        "yolo": "1 images without boxes, each written as an empty label file",
    }
    for target, line in expected.items():
        assert line in WRITERS[target](dataset, tmp_path / target).summary()
    assert (tmp_path / "yolo" / "labels" / "train" / "c.txt").read_text() == ""


def test_coco_polygons_become_yolo_segment_lines_and_rle_is_counted(tmp_path: Path) -> None:
    coco_source(tmp_path / "src")
    # The crowd region (an RLE) kept by the reader and written as an object: it has no outline to write.
    dataset = CocoDetectionDataset(tmp_path / "src", tmp_path / "src" / "instances.json", include_crowd=True)
    assert dataset.polygons(0)[0].tolist() == [[2, 3], [12, 3], [12, 20], [2, 20]]
    assert dataset.mask_only(0) == [False, False, True]  # zebra: a polygon; mango: none; the crowd: RLE
    report = to_yolo(dataset, tmp_path / "yolo", include_crowd=True)
    lines = (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert lines[0] == "0 0.050000 0.100000 0.300000 0.100000 0.300000 0.666667 0.050000 0.666667"
    assert report.masks_left_out == 1  # the RLE: its box is written, as 4 corners
    assert (
        "1 instance masks or polygons left out (the YOLO labels written hold no such shape"
        in report.summary()
    )
    assert "pycocotools" not in report.summary()
    voc = to_voc(dataset, tmp_path / "voc", include_crowd=True)
    assert voc.masks_left_out == 2  # the polygon and the RLE

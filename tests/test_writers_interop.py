"""Issue 19, items 2, 5 and 6: what ``to_yolo`` / ``to_voc`` write, as Ultralytics, supervision and datumaro read it.

No test imports Ultralytics (AGPL) or datumaro: their documented rules are written out here by hand
(Ultralytics 8.4 ``check_det_dataset``, supervision's ``DetectionDataset.from_yolo`` class names,
datumaro's VOC ``labelmap.txt``) and applied to the files we write.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from visiondata.cli import main
from visiondata.datasets import (
    CocoDetectionDataset,
    VOCDetectionDataset,
    YOLODataset,
    to_coco,
    to_voc,
    to_yolo,
)
from visiondata.exceptions import DatasetFormatError

# A COCO file as pycocotools / the COCO site write it: category ids not 1..n, and in id order "zebra" (3)
# comes before "apple" (7), unlike in name order; one crowd annotation (iscrowd=1, RLE) per image.
SIZES = {"a.jpg": (48, 64), "b.jpg": (40, 50)}


def coco_source(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, (height, width) in SIZES.items():
        Image.new("RGB", (width, height), (90, 120, 30)).save(root / name)

    def crowd(height: int, width: int) -> dict[str, Any]:
        return {"counts": [0, height * width], "size": [height, width]}

    spec = {
        "images": [
            {"id": 11, "file_name": "a.jpg", "height": 48, "width": 64},
            {"id": 12, "file_name": "b.jpg", "height": 40, "width": 50},
        ],
        "categories": [{"id": 7, "name": "apple"}, {"id": 3, "name": "zebra"}],
        "annotations": [
            {"id": 1, "image_id": 11, "category_id": 3, "bbox": [2, 3, 10, 12], "area": 120, "iscrowd": 0},
            {"id": 2, "image_id": 11, "category_id": 7, "bbox": [20, 5, 30, 30], "area": 900, "iscrowd": 0},
            {
                "id": 3,
                "image_id": 11,
                "category_id": 3,
                "bbox": [0, 0, 64, 40],
                "area": 2000,
                "iscrowd": 1,
                "segmentation": crowd(48, 64),
            },
            {"id": 4, "image_id": 12, "category_id": 7, "bbox": [1, 1, 8, 9], "area": 72, "iscrowd": 0},
            {
                "id": 5,
                "image_id": 12,
                "category_id": 7,
                "bbox": [10, 10, 30, 20],
                "area": 500,
                "iscrowd": 1,
                "segmentation": crowd(40, 50),
            },
        ],
    }
    path = root / "instances.json"
    path.write_text(json.dumps(spec))
    return path


def source(tmp_path: Path) -> CocoDetectionDataset:
    path = coco_source(tmp_path / "src")
    # include_crowd=True: the reader keeps the crowd regions (left out by default) so that each writer's
    # own include_crowd decides what becomes of them.
    return CocoDetectionDataset(tmp_path / "src", path, include_crowd=True)


# --- Ultralytics' documented rules (check_det_dataset, 8.4), written out by hand -----------------------


def ultralytics_check(yaml_argument: str, datasets_dir: Path) -> dict[str, Any]:
    """Resolve a data.yaml as Ultralytics' ``check_det_dataset`` does; a broken rule is an AssertionError.

    ``yaml_argument`` is the string a user passes as ``data=`` (relative to the working directory or
    absolute).
    """
    data = yaml.safe_load(Path(yaml_argument).read_text())
    data["yaml_file"] = yaml_argument
    for key in ("train", "val"):
        assert key in data or (key == "val" and "validation" in data), f"'{key}:' key missing"
    assert "names" in data or "nc" in data, "either 'names' or 'nc' are required"
    if "names" in data and "nc" in data:
        assert len(data["names"]) == data["nc"], "'names' length and 'nc' must match"
    names = data["names"]
    if isinstance(names, dict):  # check_class_names: integer keys 0..n-1
        keys = [int(key) for key in names]
        assert sorted(keys) == list(range(len(keys))), f"names keys must be 0..n-1, got {keys}"
        names = [names[key] for key in sorted(names)]
    path = Path(data.get("path") or Path(data["yaml_file"]).parent)
    if not path.exists() and not path.is_absolute():
        path = (datasets_dir / path).resolve()
    resolved = {}
    for key in ("train", "val", "test"):
        if data.get(key):
            folder = (path / data[key]).resolve()
            assert folder.is_dir(), f"{key}: {folder} does not exist"
            images = sorted(p for p in folder.rglob("*") if p.suffix in (".jpg", ".png"))
            assert images, f"{key}: no images in {folder}"
            for image in images:  # img2label_paths: the last /images/ becomes /labels/, suffix .txt
                head, _, tail = str(image).rpartition(f"{os.sep}images{os.sep}")
                assert Path(head, "labels", tail).with_suffix(".txt").is_file(), f"no label file for {image}"
            resolved[key] = folder
    return {"names": [str(name) for name in names], **resolved}


def supervision_class_names(yaml_path: Path) -> list[str]:
    """supervision's ``from_yolo``: only ``names`` is read; a mapping is taken in key order."""
    names = yaml.safe_load(yaml_path.read_text())["names"]
    return [names[key] for key in sorted(names)] if isinstance(names, dict) else list(names)


def samples(dataset: Any) -> list[tuple[list[list[float]], list[int]]]:
    """``(boxes in pixels, labels)`` of each sample, as ``__getitem__`` gives them."""
    out = []
    for index in range(len(dataset)):
        target = dataset[index][1]
        out.append((np.asarray(target["boxes"], dtype=np.float64).tolist(), target["labels"].tolist()))
    return out


# --- item 2: data.yaml -------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_to_yolo_data_yaml_loads_by_ultralytics_rules_from_anywhere(
    split: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = source(tmp_path)
    out = tmp_path / "work" / "yolo"
    to_yolo(dataset, out, split=split)
    datasets_dir = tmp_path / "ultralytics-datasets"
    datasets_dir.mkdir()
    expected = out.resolve() / "images" / split
    # As `yolo train data=yolo/data.yaml` from the folder above, and with an absolute path from elsewhere.
    for cwd, argument in ((tmp_path / "work", "yolo/data.yaml"), (datasets_dir, str(out / "data.yaml"))):
        monkeypatch.chdir(cwd)
        resolved = ultralytics_check(argument, datasets_dir)
        # One split written: train and val both name it.
        assert resolved["train"] == resolved["val"] == expected
        assert resolved.get(split) == expected
        assert resolved["names"] == ["zebra", "apple"]
    assert supervision_class_names(out / "data.yaml") == ["zebra", "apple"]
    assert "path" not in yaml.safe_load((out / "data.yaml").read_text())


def test_to_yolo_data_yaml_still_loads_after_the_folder_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "yolo"
    to_yolo(source(tmp_path), out)
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(out, moved.parent / "copy")
    shutil.rmtree(out)
    monkeypatch.chdir(tmp_path)
    resolved = ultralytics_check("elsewhere/copy/data.yaml", tmp_path / "datasets")
    assert resolved["train"] == moved.resolve() / "images" / "train"


@pytest.mark.parametrize("split", ["train", "val"])
def test_to_yolo_output_reads_back_through_data_yaml_from_another_working_directory(
    split: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = source(tmp_path)
    to_yolo(dataset, tmp_path / "out", split=split, include_crowd=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for wanted in ("train", "val"):  # both entries name the one split written
        back = YOLODataset(data_yaml=Path("..") / "out" / "data.yaml", split=wanted)
        assert back.classes == dataset.classes == ["__background__", "zebra", "apple"]
        assert [labels for _, labels in samples(back)] == [labels for _, labels in samples(dataset)]
        np.testing.assert_allclose(
            np.concatenate([np.asarray(boxes) for boxes, _ in samples(back)]),
            np.concatenate([np.asarray(boxes) for boxes, _ in samples(dataset)]),
            atol=1e-3,
        )


# --- item 5: crowd regions ---------------------------------------------------------------------------


def test_to_yolo_leaves_crowd_regions_out_and_counts_them(tmp_path: Path) -> None:
    report = to_yolo(source(tmp_path), tmp_path / "out")
    labels = tmp_path / "out" / "labels" / "train"
    assert len((labels / "a.txt").read_text().splitlines()) == 2
    assert len((labels / "b.txt").read_text().splitlines()) == 1
    assert report.boxes == 3 and report.crowd_left_out == 2
    assert "2 crowd regions (iscrowd=1) left out" in report.summary()
    assert report.as_dict()["crowd_left_out"] == 2
    manifest = json.loads((tmp_path / "out" / "visiondata-conversion.json").read_text())
    assert manifest["crowd_left_out"] == 2 and manifest["boxes"] == 3


def test_to_yolo_include_crowd_writes_them_as_boxes(tmp_path: Path) -> None:
    report = to_yolo(source(tmp_path), tmp_path / "out", include_crowd=True)
    lines = (tmp_path / "out" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert len(lines) == 3 and lines[2].startswith("0 0.500000 0.416667 1.000000 0.833333")
    assert report.boxes == 5 and report.crowd_left_out == 0
    assert "crowd regions" not in report.summary()


def test_to_voc_leaves_crowd_regions_out_and_counts_them(tmp_path: Path) -> None:
    report = to_voc(source(tmp_path), tmp_path / "out")
    objects = ElementTree.parse(tmp_path / "out" / "Annotations" / "a.xml").findall("object")
    assert [obj.findtext("name") for obj in objects] == ["zebra", "apple"]
    assert report.boxes == 3 and report.crowd_left_out == 2
    kept = to_voc(source(tmp_path / "again"), tmp_path / "all", include_crowd=True)
    objects = ElementTree.parse(tmp_path / "all" / "Annotations" / "a.xml").findall("object")
    assert [obj.findtext("name") for obj in objects] == ["zebra", "apple", "zebra"]
    assert kept.boxes == 5 and kept.crowd_left_out == 0


def test_to_coco_keeps_crowd_regions_flagged(tmp_path: Path) -> None:
    report = to_coco(source(tmp_path), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
    assert [a["iscrowd"] for a in written] == [0, 0, 1, 0, 1]
    assert report.crowd_left_out == 0


def test_convert_json_reports_crowd_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = coco_source(tmp_path / "src")
    capsys.readouterr()
    status = main(["convert", str(path), str(tmp_path / "out"), "--to", "yolo", "--json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert report["crowd_left_out"] == 2
    status = main(
        ["convert", str(path), str(tmp_path / "with-crowd"), "--to", "yolo", "--json", "--include-crowd"]
    )
    assert status == 0
    with_crowd = json.loads(capsys.readouterr().out)
    assert with_crowd["crowd_left_out"] == 0 and with_crowd["boxes"] == report["boxes"] + 2


# --- item 6: VOC labelmap.txt ------------------------------------------------------------------------


def test_to_voc_writes_datumaro_labelmap_in_source_order(tmp_path: Path) -> None:
    to_voc(source(tmp_path), tmp_path / "out")
    lines = (tmp_path / "out" / "labelmap.txt").read_text().splitlines()
    # datumaro's write_label_map: header, then name:r,g,b:parts:actions, background first.
    assert lines == [
        "# label:color_rgb:parts:actions",
        "background:0,0,0::",
        "zebra:128,0,0::",
        "apple:0,128,0::",
    ]
    for line in lines[1:]:  # datumaro's parse_label_map: exactly four ':' fields, colour r,g,b
        name, color, parts, actions = line.split(":")
        assert name and len(color.split(",")) == 3 and parts == actions == ""


@pytest.mark.parametrize("include_crowd", [False, True])
def test_coco_to_voc_round_trip_keeps_label_ids(include_crowd: bool, tmp_path: Path) -> None:
    dataset = source(tmp_path)
    assert dataset.classes == ["__background__", "zebra", "apple"]  # not in name order
    to_voc(dataset, tmp_path / "out", include_crowd=include_crowd)
    back = VOCDetectionDataset(tmp_path / "out")
    assert back.classes == dataset.classes
    expected = []
    for index in range(len(dataset)):
        target = dataset.target(index)
        keep = np.ones(len(target["labels"]), bool) if include_crowd else np.asarray(target["iscrowd"]) == 0
        expected.append(np.asarray(target["labels"])[keep].tolist())
    assert [labels for _, labels in samples(back)] == expected


def test_voc_reader_follows_a_datumaro_labelmap(tmp_path: Path) -> None:
    # A CVAT / datumaro VOC export: labelmap.txt beside Annotations/, classes in the project's order,
    # one ("unused") on no object.
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "ImageSets" / "Main").mkdir(parents=True)
    Image.new("RGB", (40, 30)).save(root / "JPEGImages" / "f.jpg")
    objects = "".join(
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>2</xmin><ymin>2</ymin>"
        "<xmax>20</xmax><ymax>20</ymax></bndbox></object>"
        for name in ("tree", "car")
    )
    (root / "Annotations" / "f.xml").write_text(
        f"<annotation><filename>f.jpg</filename><size><width>40</width><height>30</height><depth>3</depth>"
        f"</size>{objects}</annotation>"
    )
    (root / "ImageSets" / "Main" / "default.txt").write_text("f\n")
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ntree:0,128,0::\nunused:1,2,3::\ncar:128,0,0::\n"
    )
    dataset = VOCDetectionDataset(root, split="default")
    assert dataset.classes == ["__background__", "tree", "unused", "car"]
    assert dataset.target(0)["labels"].tolist() == [1, 3]
    assert dataset.labelmap_file == str(root / "labelmap.txt")
    no_background = VOCDetectionDataset(root, split="default", background=False)
    assert no_background.classes == ["tree", "unused", "car"]
    assert no_background.target(0)["labels"].tolist() == [0, 2]
    # classes= still wins over the file.
    assert VOCDetectionDataset(root, split="default", classes=["car", "tree"]).classes == ["car", "tree"]


def test_voc_reader_labelmap_in_a_folder_of_xml_files(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30)).save(tmp_path / "f.jpg")
    (tmp_path / "f.xml").write_text(
        "<annotation><filename>f.jpg</filename><size><width>40</width><height>30</height></size>"
        "<object><name>b</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
        "</object></annotation>"
    )
    (tmp_path / "labelmap.txt").write_text("b:0,0,128::\na:0,128,0::\n")  # no background line
    dataset = VOCDetectionDataset(tmp_path, split=None)
    assert dataset.classes == ["__background__", "b", "a"]
    assert dataset.target(0)["labels"].tolist() == [1]


def test_voc_reader_names_a_malformed_labelmap_line(tmp_path: Path) -> None:
    to_voc(source(tmp_path), tmp_path / "out")
    (tmp_path / "out" / "labelmap.txt").write_text("# header\nbackground:0,0,0::\nzebra:1,2,3:::extra\n")
    with pytest.raises(
        DatasetFormatError, match=r"labelmap\.txt line 3: expected 'name:r,g,b:parts:actions'"
    ):
        VOCDetectionDataset(tmp_path / "out")


def test_voc_reader_labelmap_object_of_another_class_is_a_problem(tmp_path: Path) -> None:
    to_voc(source(tmp_path), tmp_path / "out")
    (tmp_path / "out" / "labelmap.txt").write_text("background:0,0,0::\nzebra:1,2,3::\n")
    dataset = VOCDetectionDataset(tmp_path / "out", on_error="skip")
    assert dataset.classes == ["__background__", "zebra"]
    assert any("'apple'" in problem for problem in dataset.problems)


@pytest.mark.parametrize("name", ["a:b", "#tag", "background"])
def test_to_voc_refuses_a_class_name_labelmap_cannot_hold(name: str, tmp_path: Path) -> None:
    from visiondata.datasets import CSVDetectionDataset

    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (20, 20)).save(src / "a.jpg")
    (src / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\na.jpg,1,2,10,12,cat\n")
    dataset = CSVDetectionDataset(src / "boxes.csv", src, classes=["__background__", "cat", name])
    with pytest.raises(DatasetFormatError, match=r"\(label 2\): expected a name labelmap\.txt can hold"):
        to_voc(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()

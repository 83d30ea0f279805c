"""YOLO variants as ultralytics, supervision and CVAT/datumaro write and read them (issue 19, YOLO variants).

Fixtures are written by hand from the tools' documented layouts (no test imports ultralytics, which is AGPL):

- Ultralytics' segment format (docs.ultralytics.com, datasets/segment): ``class x1 y1 ... xn yn`` per object,
  normalised. Its ``verify_image_label`` reads a file as segments when any line has more than 5 values, then
  reads every line as a polygon and takes each box from the polygon (``segments2boxes``).
- CVAT's "YOLO 1.1" (docs.cvat.ai, formats/format-yolo; datumaro's yolo format): ``obj.data``
  (``classes = N``, ``train = data/train.txt``, ``names = data/obj.names``, ``backup = backup/``),
  ``obj.names``, ``obj_train_data/`` with each image and its ``.txt`` side by side, and ``train.txt`` of
  ``data/obj_train_data/<image>`` lines.
- Ultralytics' ``data.yaml`` (docs.ultralytics.com, datasets/detect): ``path`` (absolute, relative or
  missing), ``train``/``val``/``test`` as folders, list files or lists of those, ``names`` as a list or a
  ``{id: name}`` mapping, or ``nc`` alone; Roboflow's exports write ``train: ../train/images``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata.cli import main
from visiondata.exceptions import DatasetFormatError
from visiondata.formats import CVATDataset, LabelMeDataset, YOLODataset, to_yolo
from visiondata.formats._open import guess_format, open_detection

WIDTH, HEIGHT = 200, 100
TRIANGLE = "0.100000 0.200000 0.500000 0.200000 0.300000 0.800000"
PENTAGON = "0.600000 0.100000 0.900000 0.100000 0.950000 0.500000 0.750000 0.900000 0.550000 0.500000"


def yolo_folder(root: Path, labels: dict[str, str], size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    """``root/images``, ``root/labels``: one PNG and one label file per entry."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for stem, text in labels.items():
        Image.new("RGB", size).save(root / "images" / f"{stem}.png")
        (root / "labels" / f"{stem}.txt").write_text(text)
    return root / "images"


def label_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ item 2: to_yolo writes segment lines


def test_segment_lines_round_trip_and_rectangles_become_four_corners(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path / "src", {"a": f"0 {TRIANGLE}\n1 0.5 0.5 0.2 0.4\n1 {PENTAGON}\n"})
    source = YOLODataset(images, classes=["kiwi", "fig"])
    report = to_yolo(source, tmp_path / "out")
    lines = label_lines(tmp_path / "out" / "labels" / "train" / "a.txt")
    # Before: 'class cx cy w h' lines only, the polygons lost. Now every line is a polygon: a 5-value
    # line beside segment lines would be read by Ultralytics as a 2-point polygon.
    assert [len(line) for line in lines] == [7, 9, 11]
    assert " ".join(lines[0][1:]) == TRIANGLE and " ".join(lines[2][1:]) == PENTAGON
    assert lines[1] == [
        "1",
        "0.400000",
        "0.300000",
        "0.600000",
        "0.300000",
        "0.600000",
        "0.700000",
        "0.400000",
        "0.700000",
    ]
    assert report.masks_left_out == 0 and report.boxes == 3
    back = YOLODataset(tmp_path / "out" / "images" / "train", classes=["kiwi", "fig"])
    for before, after in zip(source.polygons(0), back.polygons(0), strict=True):
        expected = before if before is not None else np.array([[80, 30], [120, 30], [120, 70], [80, 70]])
        np.testing.assert_allclose(after / (WIDTH, HEIGHT), expected / (WIDTH, HEIGHT), atol=1e-6)
    np.testing.assert_allclose(back[0][1]["boxes"].numpy(), source[0][1]["boxes"].numpy(), atol=1e-4)
    assert back[0][1]["labels"].tolist() == source[0][1]["labels"].tolist()


def test_segments_false_writes_boxes_and_counts_the_polygons_left_out(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path / "src", {"a": f"0 {TRIANGLE}\n0 0.5 0.5 0.2 0.4\n"})
    report = to_yolo(YOLODataset(images), tmp_path / "out", segments=False)
    lines = label_lines(tmp_path / "out" / "labels" / "train" / "a.txt")
    assert [len(line) for line in lines] == [5, 5]
    assert lines[0] == ["0", "0.300000", "0.500000", "0.400000", "0.600000"]
    assert report.masks_left_out == 1


def test_segments_true_writes_a_box_only_source_as_corners(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path / "src", {"a": "0 0.5 0.5 0.2 0.4\n"})
    to_yolo(YOLODataset(images), tmp_path / "boxes")
    assert label_lines(tmp_path / "boxes" / "labels" / "train" / "a.txt") == [
        ["0", "0.500000", "0.500000", "0.200000", "0.400000"]
    ]  # None: a source without polygons stays a detect dataset
    to_yolo(YOLODataset(images), tmp_path / "corners", segments=True)
    assert len(label_lines(tmp_path / "corners" / "labels" / "train" / "a.txt")[0]) == 9
    with pytest.raises(TypeError, match="segments: expected True, False or None"):
        to_yolo(YOLODataset(images), tmp_path / "bad", segments="yes")  # type: ignore[arg-type]


def test_labelme_polygons_to_yolo_segments(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (WIDTH, HEIGHT)).save(src / "a.png")
    shapes = [
        {
            "label": "kiwi",
            "points": [[20, 20], [100, 20], [60, 80]],
            "group_id": None,
            "shape_type": "polygon",
            "flags": {},
        },
        {
            "label": "fig",
            "points": [[120, 10], [160, 50]],
            "group_id": None,
            "shape_type": "rectangle",
            "flags": {},
        },
    ]
    (src / "a.json").write_text(
        json.dumps(
            {
                "version": "5.4.1",
                "flags": {},
                "shapes": shapes,
                "imagePath": "a.png",
                "imageData": None,
                "imageHeight": HEIGHT,
                "imageWidth": WIDTH,
            }
        )
    )
    source = LabelMeDataset(src)
    to_yolo(source, tmp_path / "out")
    back = YOLODataset(tmp_path / "out" / "images" / "train", classes=source.classes[1:])
    triangle, rectangle = back.polygons(0)
    np.testing.assert_allclose(triangle, [[20, 20], [100, 20], [60, 80]], atol=1e-3)
    np.testing.assert_allclose(rectangle, [[120, 10], [160, 10], [160, 50], [120, 50]], atol=1e-3)
    assert back[0][1]["labels"].tolist() == source[0][1]["labels"].tolist()


CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>kiwi</name></label><label><name>fig</name></label></labels></task></meta>
  <image id="0" name="a.png" width="200" height="100">
    <polygon label="kiwi" occluded="0" source="manual" points="20.00,20.00;100.00,20.00;60.00,80.00" z_order="0">
    </polygon>
    <mask label="fig" source="manual" occluded="0" rle="1, 2, 2, 1" left="150" top="40" width="2" height="3"
      z_order="0">
    </mask>
  </image>
</annotations>
"""


def test_cvat_polygons_to_yolo_segments_and_masks_counted(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (WIDTH, HEIGHT)).save(src / "a.png")
    (src / "annotations.xml").write_text(CVAT)
    source = CVATDataset(src / "annotations.xml")
    report = to_yolo(source, tmp_path / "out")
    # The RLE mask has no outline: its box is written (as 4 corners), the mask counted as left out.
    assert report.masks_left_out == 1 and report.boxes == 2
    back = YOLODataset(tmp_path / "out" / "images" / "train", classes=["kiwi", "fig"])
    triangle, region = back.polygons(0)
    np.testing.assert_allclose(triangle, [[20, 20], [100, 20], [60, 80]], atol=1e-3)
    np.testing.assert_allclose(region, [[150, 40], [152, 40], [152, 43], [150, 43]], atol=1e-3)


def test_crowd_regions_left_out_keep_the_polygons_aligned(tmp_path: Path) -> None:
    # COCO-like source without polygons() but with iscrowd: here a YOLO source whose target gains iscrowd.
    images = yolo_folder(tmp_path / "src", {"a": f"0 {TRIANGLE}\n1 {PENTAGON}\n"})
    source = YOLODataset(images, classes=["kiwi", "fig"])
    source.index.fields["iscrowd"] = np.array([1, 0], dtype=np.int64)
    report = to_yolo(source, tmp_path / "out")
    assert report.crowd_left_out == 1
    (line,) = label_lines(tmp_path / "out" / "labels" / "train" / "a.txt")
    assert line[0] == "1" and " ".join(line[1:]) == PENTAGON


# ------------------------------------------------------------------ item 3: Darknet / CVAT "YOLO 1.1"


def darknet_export(root: Path, valid: bool = False) -> Path:
    """A CVAT "YOLO 1.1" export as datumaro writes it."""
    (root / "obj_train_data").mkdir(parents=True)
    Image.new("RGB", (WIDTH, HEIGHT)).save(root / "obj_train_data" / "frame_000000.jpg")
    Image.new("RGB", (WIDTH, HEIGHT), "white").save(root / "obj_train_data" / "frame_000001.jpg")
    (root / "obj_train_data" / "frame_000000.txt").write_text("1 0.300000 0.800000 0.100000 0.300000\n")
    (root / "obj_train_data" / "frame_000001.txt").write_text("")
    (root / "obj.names").write_text("cat\ndog\nairplane\n")
    (root / "train.txt").write_text(
        "data/obj_train_data/frame_000000.jpg\ndata/obj_train_data/frame_000001.jpg\n"
    )
    text = "classes = 3\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    if valid:
        (root / "obj_valid_data").mkdir()
        Image.new("RGB", (WIDTH, HEIGHT)).save(root / "obj_valid_data" / "v.jpg")
        (root / "obj_valid_data" / "v.txt").write_text("2 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.1 0.1\n")
        (root / "valid.txt").write_text("data/obj_valid_data/v.jpg\n")
        text += "valid = data/valid.txt\n"
    (root / "obj.data").write_text(text)
    return root


def test_darknet_export_reads_by_its_folder_or_obj_data(tmp_path: Path) -> None:
    root = darknet_export(tmp_path / "cvat", valid=True)
    for given in (root, root / "obj.data"):
        dataset = YOLODataset(given)
        assert dataset.layout == "darknet" and dataset.classes == ["__background__", "cat", "dog", "airplane"]
        assert list(dataset.paths) == [os.path.join("obj_train_data", f"frame_00000{n}.jpg") for n in (0, 1)]
        _image, target = dataset[0]
        np.testing.assert_allclose(target["boxes"].tolist(), [[50, 65, 70, 95]], atol=1e-4)
        assert target["labels"].tolist() == [2] and len(dataset[1][1]["boxes"]) == 0
    valid = YOLODataset(root, split="val")
    assert list(valid.paths) == [os.path.join("obj_valid_data", "v.jpg")]
    assert valid[0][1]["labels"].tolist() == [3, 1]


def test_darknet_without_list_files_reads_the_subset_folder(tmp_path: Path) -> None:
    root = darknet_export(tmp_path / "cvat")
    (root / "train.txt").unlink()
    (root / "obj.data").unlink()  # obj.names and obj_train_data/ alone
    dataset = YOLODataset(root)
    assert len(dataset) == 2 and dataset.classes[1:] == ["cat", "dog", "airplane"]


def test_darknet_classes_that_disagree_with_obj_names_are_named(tmp_path: Path) -> None:
    root = darknet_export(tmp_path / "cvat")
    (root / "obj.data").write_text("classes = 2\ntrain = data/train.txt\nnames = data/obj.names\n")
    with pytest.raises(DatasetFormatError, match=r"classes = 2 but .*obj.names holds 3 names"):
        YOLODataset(root)


def test_darknet_is_guessed_and_converted_by_the_cli(tmp_path: Path) -> None:
    root = darknet_export(tmp_path / "cvat")
    assert guess_format(root) == "yolo" and guess_format(root / "obj.data") == "yolo"
    assert open_detection(root).layout == "darknet"
    assert main(["convert", str(root), str(tmp_path / "coco"), "--to", "coco"]) == 0
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["cat", "dog", "airplane"]
    assert len(coco["images"]) == 2 and len(coco["annotations"]) == 1


def test_to_yolo_darknet_layout_is_what_cvat_imports(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path / "src", {"a": "1 0.5 0.5 0.2 0.4\n", "b": f"0 {TRIANGLE}\n"})
    report = to_yolo(YOLODataset(images, classes=["kiwi", "fig"]), tmp_path / "out", layout="darknet")
    out = tmp_path / "out"
    assert (out / "obj.data").read_text() == (
        "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    )
    assert (out / "obj.names").read_text() == "kiwi\nfig\n"
    assert (out / "train.txt").read_text() == "data/obj_train_data/a.png\ndata/obj_train_data/b.png\n"
    assert (out / "obj_train_data" / "a.png").is_file()
    assert (out / "obj_train_data" / "a.txt").read_text() == "1 0.500000 0.500000 0.200000 0.400000\n"
    # Darknet holds boxes only: the triangle is written as its box and counted.
    assert label_lines(out / "obj_train_data" / "b.txt") == [
        ["0", "0.300000", "0.500000", "0.400000", "0.600000"]
    ]
    assert report.masks_left_out == 1
    back = YOLODataset(out)
    assert back.classes[1:] == ["kiwi", "fig"] and len(back) == 2 and back[0][1]["labels"].tolist() == [2]
    with pytest.raises(ValueError, match="Darknet layout holds boxes only"):
        to_yolo(YOLODataset(images), tmp_path / "bad", layout="darknet", segments=True)
    with pytest.raises(ValueError, match="layout: expected 'ultralytics' or 'darknet'"):
        to_yolo(YOLODataset(images), tmp_path / "bad", layout="cvat")


def test_to_yolo_darknet_val_split_is_cvats_valid_subset(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path / "src", {"a": "0 0.5 0.5 0.2 0.4\n"})
    assert (
        main(
            [
                "convert",
                str(images),
                str(tmp_path / "out"),
                "--to",
                "yolo",
                "--layout",
                "darknet",
                "--out-split",
                "val",
            ]
        )
        == 0
    )
    out = tmp_path / "out"
    assert "valid = data/valid.txt\n" in (out / "obj.data").read_text()
    assert (out / "valid.txt").read_text() == "data/obj_valid_data/a.png\n"
    assert len(YOLODataset(out, split="val")) == 1


# ------------------------------------------------------------------ item 4: data.yaml variants


def ultralytics_tree(root: Path) -> Path:
    """``root/images/{train,val}``, ``root/labels/{train,val}``: one image each (docs: datasets/detect)."""
    for split, line in (("train", "0 0.5 0.5 0.5 0.5\n"), ("val", "1 0.25 0.25 0.1 0.1\n")):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        Image.new("RGB", (WIDTH, HEIGHT)).save(root / "images" / split / f"{split}.jpg")
        (root / "labels" / split / f"{split}.txt").write_text(line)
    return root


@pytest.mark.parametrize(
    "path_line",
    ["path: {root}\n", "path: .\n", "path: ../{name}\n", ""],
    ids=["absolute", "dot", "up", "missing"],
)
def test_path_absolute_relative_or_missing(tmp_path: Path, path_line: str) -> None:
    root = ultralytics_tree(tmp_path / "ds")
    (root / "data.yaml").write_text(
        path_line.format(root=root, name=root.name)
        + "train: images/train\nval: images/val\nnames: [cat, dog]\n"
    )
    dataset = YOLODataset(data_yaml=root / "data.yaml", split="val")
    assert list(dataset.paths) == [os.path.join("images", "val", "val.jpg")]
    assert dataset[0][1]["labels"].tolist() == [2]


def test_splits_as_list_files_and_lists_of_folders_and_list_files(tmp_path: Path) -> None:
    root = ultralytics_tree(tmp_path / "ds")
    (root / "train.txt").write_text("./images/train/train.jpg\n")
    (root / "data.yaml").write_text(
        "path: .\ntrain: [images/val, train.txt]\nval: train.txt\ntest:\n  - images/val\n  - images/train\n"
        "names: [cat, dog]\n"
    )
    train = YOLODataset(data_yaml=root / "data.yaml")
    assert sorted(train.paths) == [
        os.path.join("images", "train", "train.jpg"),
        os.path.join("images", "val", "val.jpg"),
    ]
    assert list(YOLODataset(data_yaml=root / "data.yaml", split="val").paths) == [
        os.path.join("images", "train", "train.jpg")
    ]
    assert len(YOLODataset(data_yaml=root / "data.yaml", split="test")) == 2


def test_names_as_a_mapping_with_ids_out_of_order(tmp_path: Path) -> None:
    root = ultralytics_tree(tmp_path / "ds")
    (root / "data.yaml").write_text(
        "train: images/train\nval: images/val\nnames:\n  1: dog\n  0: cat\n  2: bird\n"
    )
    assert YOLODataset(data_yaml=root / "data.yaml").classes == ["__background__", "cat", "dog", "bird"]


def test_nc_alone_names_the_classes_by_id(tmp_path: Path) -> None:
    root = ultralytics_tree(tmp_path / "ds")
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnc: 3\n")
    assert YOLODataset(data_yaml=root / "data.yaml").classes == ["__background__", "0", "1", "2"]


def test_roboflow_up_level_entries_resolve_like_ultralytics(tmp_path: Path) -> None:
    # Roboflow's "YOLOv8" export: data.yaml beside train/ valid/ test/, each with images/ and labels/.
    root = tmp_path / "rf"
    for split in ("train", "valid"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir()
        Image.new("RGB", (WIDTH, HEIGHT)).save(root / split / "images" / f"{split}.jpg")
        (root / split / "labels" / f"{split}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: 1\nnames: ['fruit']\n"
    )
    # Before: "../train/images" was read from rf/../train/images, which is not there.
    dataset = YOLODataset(data_yaml=root / "data.yaml", split="val")
    assert list(dataset.paths) == [os.path.join("valid", "images", "valid.jpg")]
    assert dataset[0][1]["labels"].tolist() == [1]


def test_check_and_preview_open_a_darknet_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = darknet_export(tmp_path / "cvat")
    assert main(["check", str(root)]) == 0
    assert "(YOLODataset): 2 images, 1 box in 3 classes" in capsys.readouterr().out


def test_layout_is_refused_for_other_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = yolo_folder(tmp_path / "src", {"a": "0 0.5 0.5 0.2 0.4\n"})
    assert main(["convert", str(images), str(tmp_path / "out"), "--to", "coco", "--layout", "darknet"]) == 1
    assert "only --to yolo takes them" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

"""Issue 18: ``to_coco``/``to_voc``/``to_yolo`` and ``visiondata convert`` never destroy, mix or mislabel data.

Items 1 and 5 (outputs that are inputs, non-empty outputs, interrupted writes, the manifest), 4 (colliding
label files, category ids), 11 (files outside the root), 13 (VOC XML and whole pixels), 12 (the format
guess) and the convert parts of 15 and 17 (errors on the command line, split names).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from isolated import run_isolated
from PIL import Image

from visiondata.cli import main
from visiondata.datasets import (
    CocoDetectionDataset,
    CSVDetectionDataset,
    VOCDetectionDataset,
    YOLODataset,
    to_coco,
    to_voc,
    to_yolo,
)
from visiondata.exceptions import DatasetFormatError, OutputConflictError
from visiondata.formats._open import guess_format
from visiondata.formats._voc import _voc_pixels
from visiondata.formats._writing import MANIFEST_NAME

WRITERS = {"coco": to_coco, "voc": to_voc, "yolo": to_yolo}
HEADER = "image,x_min,y_min,x_max,y_max,label\n"


# ---------------------------------------------------------------- real files


def image(path: Path, size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG" if path.suffix == ".jpg" else "PNG")
    return path


def voc_folder(root: Path) -> Path:
    """A VOC folder of two images, a.jpg (a cat) and b.png (a dog), listed in train.txt."""
    for folder in ("Annotations", "ImageSets/Main"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for stem, suffix, label in (("a", ".jpg", "cat"), ("b", ".png", "dog")):
        image(root / "JPEGImages" / f"{stem}{suffix}")
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}{suffix}</filename><size><width>40</width><height>30</height>"
            f"</size><object><name>{label}</name><bndbox><xmin>3</xmin><ymin>4</ymin><xmax>20</xmax>"
            "<ymax>25</ymax></bndbox></object></annotation>"
        )
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\nb\n")
    return root


def coco_file(images: Path, json_file: Path, categories: list[dict] | None = None) -> Path:
    image(images / "a.jpg")
    image(images / "b.png", color=(0, 90, 0))
    categories = categories or [{"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}]
    data = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.png", "width": 40, "height": 30},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": categories[0]["id"],
                "bbox": [2, 3, 10, 10],
                "iscrowd": 0,
            },
            {"id": 2, "image_id": 2, "category_id": categories[-1]["id"], "bbox": [5, 5, 8, 8], "iscrowd": 0},
        ],
        "categories": categories,
    }
    json_file.parent.mkdir(parents=True, exist_ok=True)
    json_file.write_text(json.dumps(data))
    return json_file


def yolo_folder(root: Path) -> Path:
    for stem, class_id in (("a", 0), ("b", 1)):
        image(root / "images" / "train" / f"{stem}.jpg")
        label = root / "labels" / "train" / f"{stem}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(f"{class_id} 0.5 0.5 0.25 0.5\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [cat, dog]\n")
    return root


def csv_boxes(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def snapshot(root: Path) -> dict[str, tuple[bool, bytes | str]]:
    """Every path under ``root``: whether it is a link, and its bytes (or link target)."""
    found: dict[str, tuple[bool, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = (True, os.readlink(path))
        elif path.is_file():
            found[key] = (False, path.read_bytes())
        else:
            found[key] = (False, "folder")
    return found


def convert(capsys: pytest.CaptureFixture[str], *arguments: object) -> tuple[int, str, str]:
    status = main(["convert", *map(str, arguments)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_refused(status: int, stderr: str, *words: str) -> None:
    assert status == 1, stderr
    assert stderr.startswith("visiondata: error: "), stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in stderr, stderr


def partial_folders(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(".visiondata-"))


# ---------------------------------------------------------------- 1. an output that is an input


@pytest.mark.parametrize("link", ["copy", "link", "symlink"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_convert_voc_folder_into_itself_is_refused_and_keeps_every_file(
    link: str, overwrite: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = voc_folder(tmp_path / "VOC")
    before = snapshot(root)
    extra = ["--overwrite"] if overwrite else []
    status, _, stderr = convert(capsys, root, root, "--to", "voc", "--link", link, *extra)
    assert_refused(status, stderr, "apart from the input", "choose another output folder")
    assert snapshot(root) == before
    assert partial_folders(tmp_path) == []


@pytest.mark.parametrize("link", ["copy", "symlink"])
def test_convert_coco_whose_images_sit_where_the_output_puts_them_is_refused(
    link: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # OUT/images is the images folder and OUT holds the JSON: OUT/images/a.jpg would be the source.
    out = tmp_path / "out"
    json_file = coco_file(out / "images", out / "instances.json")
    before = snapshot(out)
    status, _, stderr = convert(
        capsys, json_file, out, "--images", out / "images", "--to", "coco", "--link", link, "--overwrite"
    )
    assert_refused(status, stderr, "apart from the input")
    assert snapshot(out) == before


def test_convert_csv_to_voc_when_out_jpegimages_is_the_csv_root_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    image(out / "JPEGImages" / "a.jpg")
    csv_path = csv_boxes(tmp_path / "boxes.csv", ["a.jpg,1,2,10,12,cat"])
    before = snapshot(out)
    status, _, stderr = convert(
        capsys, csv_path, out, "--root", out / "JPEGImages", "--to", "voc", "--link", "symlink", "--overwrite"
    )
    assert_refused(status, stderr, "apart from the input")
    assert snapshot(out) == before


def test_convert_yolo_whose_images_train_is_the_source_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = yolo_folder(tmp_path / "ds")
    before = snapshot(root)
    status, _, stderr = convert(
        capsys, root / "images" / "train", root, "--from", "yolo", "--to", "yolo", "--overwrite"
    )
    assert_refused(status, stderr, "apart from the input")
    assert snapshot(root) == before


def test_an_output_inside_an_input_or_linking_to_one_is_refused_before_writing(tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "VOC")
    dataset = VOCDetectionDataset(root, split="train")
    (tmp_path / "alias").symlink_to(root)  # a link to the input is the input
    before = snapshot(root)
    for out in (root, root / "JPEGImages" / "out", tmp_path / "alias"):
        for writer in WRITERS.values():
            with pytest.raises(OutputConflictError, match=r"expected a folder apart from the input"):
                writer(dataset, out, images="symlink", overwrite=True)
    assert snapshot(root) == before
    assert partial_folders(tmp_path) == [] and partial_folders(root) == []


def test_a_subset_of_a_file_dataset_protects_the_files_too(tmp_path: Path) -> None:
    # A Subset is written sample by sample (decoded), but overwrite=True must not replace its folder.
    from torch.utils.data import ConcatDataset, Subset

    root = voc_folder(tmp_path / "VOC")
    dataset = VOCDetectionDataset(root, split="train")
    subset = Subset(dataset, [1])
    subset.classes = dataset.classes  # type: ignore[attr-defined]
    both = ConcatDataset([subset, subset])
    both.classes = dataset.classes  # type: ignore[attr-defined]
    before = snapshot(root)
    for source in (subset, both):
        with pytest.raises(OutputConflictError, match=r"apart from the input"):
            to_yolo(source, root, overwrite=True)
    assert snapshot(root) == before


def test_an_output_holding_an_image_listed_from_outside_the_root_is_refused(tmp_path: Path) -> None:
    # allow_outside_root=True: the image lies in OUT, not under the CSV's root.
    image(tmp_path / "out" / "a.jpg")
    csv_path = csv_boxes(tmp_path / "meta" / "boxes.csv", ["../out/a.jpg,1,2,10,12,cat"])
    dataset = CSVDetectionDataset(csv_path, tmp_path / "meta", allow_outside_root=True)
    before = snapshot(tmp_path / "out")
    with pytest.raises(OutputConflictError):
        to_coco(dataset, tmp_path / "out", overwrite=True)
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize("mode", ["link", "symlink"])
def test_link_modes_point_at_the_source_from_the_finished_output(mode: str, tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "VOC")
    to_coco(VOCDetectionDataset(root, split="train"), tmp_path / "out", images=mode)
    for name in ("a.jpg", "b.png"):
        placed, source = tmp_path / "out" / "images" / name, root / "JPEGImages" / name
        assert placed.is_symlink() == (mode == "symlink")
        assert os.stat(placed).st_ino == os.stat(source).st_ino
        if mode == "symlink":  # absolute: the link was made in the staging folder, then moved
            assert Path(os.readlink(placed)).is_absolute() and placed.resolve() == source.resolve()


# ---------------------------------------------------------------- 5. an output that holds data


@pytest.mark.parametrize("target", ["coco", "voc", "yolo"])
def test_a_non_empty_output_is_refused_unless_overwrite_then_replaced_whole(
    target: str, tmp_path: Path
) -> None:
    dataset = VOCDetectionDataset(voc_folder(tmp_path / "VOC"), split="train")
    out = tmp_path / "out"
    (out / "JPEGImages").mkdir(parents=True)
    (out / "JPEGImages" / "old.jpg").write_bytes(b"old")
    (out / "Annotations").mkdir()
    (out / "Annotations" / "old.xml").write_text("<annotation/>")
    before = snapshot(out)
    with pytest.raises(OutputConflictError, match=r"expected a new or empty folder.*overwrite=True"):
        WRITERS[target](dataset, out)
    assert snapshot(out) == before

    report = WRITERS[target](dataset, out, overwrite=True)
    assert report.images == 2
    assert not (out / "JPEGImages" / "old.jpg").exists() and not (out / "Annotations" / "old.xml").exists()
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    written = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert sorted([*manifest["files"], MANIFEST_NAME]) == written
    assert partial_folders(tmp_path) == []


def test_convert_twice_with_overwrite_does_not_double_the_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = yolo_folder(tmp_path / "src") / "data.yaml"
    out = tmp_path / "out"
    assert convert(capsys, source, out, "--to", "yolo")[0] == 0
    status, _, stderr = convert(capsys, source, out, "--to", "yolo")
    assert_refused(status, stderr, "expected a new or empty folder", "--overwrite")
    assert convert(capsys, source, out, "--to", "yolo", "--overwrite")[0] == 0
    assert convert(capsys, out / "data.yaml", tmp_path / "again", "--to", "yolo")[0] == 0
    assert len(YOLODataset(data_yaml=out / "data.yaml")) == 2
    assert len(YOLODataset(data_yaml=tmp_path / "again" / "data.yaml")) == 2


def test_the_manifest_names_format_counts_files_and_source(tmp_path: Path) -> None:
    json_file = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json")
    out = tmp_path / "out"
    report = to_yolo(CocoDetectionDataset(tmp_path / "src", json_file), out, split="val")
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["format"] == "yolo" and manifest["complete"] is True
    assert (manifest["images"], manifest["boxes"], manifest["classes"]) == (2, 2, ["cat", "dog"])
    assert manifest["files"] == [
        "images/val/a.jpg",
        "labels/val/a.txt",
        "images/val/b.png",
        "labels/val/b.txt",
        "data.yaml",
    ]
    assert manifest["source"]["type"] == "CocoDetectionDataset"
    assert str(json_file) in manifest["source"]["paths"]
    assert report.out_dir == str(out)


INTERRUPTED = """
import os, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from visiondata.datasets import CSVDetectionDataset, to_coco

class Dying(CSVDetectionDataset):
    def boxes(self, index):
        if index == 1:
            os._exit(3)  # the process dies mid-write: no clean-up runs
        return super().boxes(index)

dataset = Dying({csv!r}, {root!r})
to_coco(dataset, {out!r}, overwrite=True)
"""


def test_an_interrupted_conversion_leaves_out_untouched_and_a_partial_folder(tmp_path: Path) -> None:
    image(tmp_path / "src" / "a.jpg")
    image(tmp_path / "src" / "b.png")
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["a.jpg,1,2,10,12,cat", "b.png,1,2,10,12,dog"])
    out = tmp_path / "out"
    # The previous complete conversion: old annotations.json and manifest.
    to_coco(CSVDetectionDataset(csv_path, tmp_path / "src"), out)
    before = snapshot(out)
    code = INTERRUPTED.format(
        tests=str(Path(__file__).parent), csv=str(csv_path), root=str(tmp_path / "src"), out=str(out)
    )
    result = run_isolated(code, timeout=120)
    assert result.returncode == 3, result.stderr
    assert snapshot(out) == before  # no new image next to the old annotations.json
    leftovers = partial_folders(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".visiondata-partial-out-")
    assert not (tmp_path / leftovers[0] / MANIFEST_NAME).exists()


def test_an_error_midway_leaves_out_as_it_was_and_no_staging(tmp_path: Path) -> None:
    image(tmp_path / "src" / "a.jpg")
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["a.jpg,1,2,10,12,cat"])
    out = tmp_path / "out"
    to_voc(CSVDetectionDataset(csv_path, tmp_path / "src"), out)
    before = snapshot(out)

    class Failing(CSVDetectionDataset):
        def boxes(self, index: int) -> np.ndarray:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        to_voc(Failing(csv_path, tmp_path / "src"), out, overwrite=True)
    assert snapshot(out) == before and partial_folders(tmp_path) == []


# ---------------------------------------------------------------- 4. silent wrong labels


def test_to_yolo_keeps_a_png_and_a_jpg_of_the_same_stem_apart(tmp_path: Path) -> None:
    image(tmp_path / "src" / "a.png", color=(1, 1, 1))
    image(tmp_path / "src" / "a.jpg", color=(250, 250, 250))
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["a.png,1,2,10,12,cat", "a.jpg,5,5,30,25,dog"])
    dataset = CSVDetectionDataset(csv_path, tmp_path / "src")
    report = to_yolo(dataset, tmp_path / "out")
    assert (report.images, report.boxes) == (2, 2)
    labels = sorted(path.name for path in (tmp_path / "out" / "labels" / "train").iterdir())
    assert labels == ["a.txt", "a_2.txt"]
    back = YOLODataset(data_yaml=tmp_path / "out" / "data.yaml")
    found = {}
    for index in range(len(back)):
        picture, target = back[index]
        names = [back.classes[label] for label in target["labels"].tolist()]
        found[int(picture[0, 0, 0])] = (names, [round(value) for value in target["boxes"][0].tolist()])
    # Each image keeps its own class and box (the pixel tells the images apart).
    assert found == {1: (["cat"], [1, 2, 10, 12]), 250: (["dog"], [5, 5, 30, 25])}


def test_to_coco_paths_leaving_the_root_stay_inside_out_and_apart(tmp_path: Path) -> None:
    # allow_outside_root=True: "../pics/a.png" and "pics/a.png" are two files; both land in OUT/images.
    image(tmp_path / "pics" / "a.png", color=(1, 1, 1))
    image(tmp_path / "root" / "pics" / "a.png", color=(250, 250, 250))
    csv_path = csv_boxes(
        tmp_path / "root" / "boxes.csv", ["../pics/a.png,1,2,10,12,cat", "pics/a.png,5,5,30,25,dog"]
    )
    dataset = CSVDetectionDataset(csv_path, tmp_path / "root", allow_outside_root=True)
    before = snapshot(tmp_path / "pics")
    to_coco(dataset, tmp_path / "out")
    assert snapshot(tmp_path / "pics") == before
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [entry["file_name"] for entry in data["images"]] == ["pics/a.png", "pics/a_2.png"]
    back = CocoDetectionDataset(tmp_path / "out" / "images", tmp_path / "out" / "annotations.json")
    colours = [int(back[index][0][0, 0, 0]) for index in range(2)]
    assert colours == [1, 250]


def test_to_coco_category_ids_are_distinct_with_a_class_list_given_by_hand(tmp_path: Path) -> None:
    json_file = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json")
    # "bird" is not in the file: label 1 would get id 1, which is cat's own id.
    dataset = CocoDetectionDataset(
        tmp_path / "src", json_file, classes=["__background__", "bird", "cat", "dog"]
    )
    to_coco(dataset, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    ids = {category["name"]: category["id"] for category in data["categories"]}
    assert len(set(ids.values())) == 3
    assert (ids["cat"], ids["dog"]) == (1, 3)  # the file's own ids are kept
    back = CocoDetectionDataset(tmp_path / "out" / "images", tmp_path / "out" / "annotations.json")
    names = [[back.classes[label] for label in back.target(index)["labels"].tolist()] for index in range(2)]
    assert names == [["cat"], ["dog"]]


class InMemory:
    """Detection samples without files (as the catalog's), with the labels given."""

    classes = ("__background__", "cat", "dog")

    def __init__(self, labels: list[list[int]]) -> None:
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[object, dict]:
        import torch
        from torchvision import tv_tensors

        boxes = torch.tensor([[1.0, 1.0, 5.0, 5.0]])
        return tv_tensors.Image(torch.zeros(3, 10, 10, dtype=torch.uint8)), {
            "boxes": boxes,
            "labels": torch.tensor(self.labels[index]),
        }


@pytest.mark.parametrize("target", ["coco", "voc", "yolo"])
def test_labels_that_are_not_classes_are_skipped_and_reported_not_written(
    target: str, tmp_path: Path
) -> None:
    # Label 0 is the background, 3 is past the classes, and two labels for one box: none is a class of a box.
    report = WRITERS[target](InMemory([[1], [0], [3], [1, 2]]), tmp_path / "out")
    assert report.images == 1 and report.boxes == 1
    assert [line.split(":")[0] for line in report.skipped] == ["sample 1", "sample 2", "sample 3"]
    assert "expected a label of one of the classes (1..2), got 0" in report.skipped[0]
    assert "expected one label per box, got 2 labels for 1 boxes" in report.skipped[2]


# ---------------------------------------------------------------- 11. files outside the root


@pytest.mark.parametrize("target", ["coco", "voc", "yolo"])
def test_a_link_leaving_the_root_is_not_copied(target: str, tmp_path: Path) -> None:
    image(tmp_path / "secret" / "s.png", color=(9, 9, 9))
    image(tmp_path / "src" / "a.jpg")
    (tmp_path / "src" / "b.png").symlink_to(tmp_path / "secret" / "s.png")
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["a.jpg,1,2,10,12,cat", "b.png,1,2,10,12,cat"])
    dataset = CSVDetectionDataset(csv_path, tmp_path / "src")
    with pytest.raises(OSError, match="outside the dataset root"):
        dataset[1]  # the dataset refuses to read it ...
    report = WRITERS[target](dataset, tmp_path / "out")  # ... so the writer does not copy it
    assert report.images == 1 and len(report.skipped) == 1
    assert report.skipped[0].startswith("sample 1: ") and "outside the dataset root" in report.skipped[0]
    copied = [path.read_bytes() for path in (tmp_path / "out").rglob("*.png")]
    assert (tmp_path / "secret" / "s.png").read_bytes() not in copied


# ---------------------------------------------------------------- 13. VOC XML and whole pixels


@pytest.mark.parametrize("name", ["bell\x07", "tab\tname", "nul\x00", " padded"])
def test_to_voc_refuses_a_class_name_xml_cannot_hold(name: str, tmp_path: Path) -> None:
    image(tmp_path / "src" / "a.jpg")
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["a.jpg,1,2,10,12,cat"])
    # Refused even before a box of that class is met: nothing is written.
    dataset = CSVDetectionDataset(csv_path, tmp_path / "src", classes=["__background__", "cat", name])
    with pytest.raises(DatasetFormatError, match=r"class .* \(label 2\): expected a name VOC XML can hold"):
        to_voc(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_to_voc_refusal_names_the_character(tmp_path: Path) -> None:
    image(tmp_path / "src" / "a.jpg")
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["a.jpg,1,2,10,12,cat"])
    dataset = CSVDetectionDataset(csv_path, tmp_path / "src", classes=["__background__", "cat", "c\x07t"])
    with pytest.raises(DatasetFormatError, match=r"U\+0007, which XML 1\.0 cannot hold"):
        to_voc(dataset, tmp_path / "out")


def test_to_voc_file_names_with_spaces_read_back(tmp_path: Path) -> None:
    image(tmp_path / "src" / "my cat.jpg")
    csv_path = csv_boxes(tmp_path / "src" / "boxes.csv", ["my cat.jpg,1,2,10,12,cat"])
    to_voc(CSVDetectionDataset(csv_path, tmp_path / "src"), tmp_path / "out")
    back = VOCDetectionDataset(tmp_path / "out", split="train")
    assert len(back) == 1 and back.relative_path(0) == "my_cat.jpg"
    assert back[0][1]["boxes"].tolist() == [[1, 2, 10, 12]]


def test_to_voc_file_names_with_control_characters_give_valid_xml(tmp_path: Path) -> None:
    json_file = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json")
    data = json.loads(json_file.read_text())
    os.rename(tmp_path / "src" / "a.jpg", tmp_path / "src" / "a\x01b.jpg")
    data["images"][0]["file_name"] = "a\x01b.jpg"
    json_file.write_text(json.dumps(data))
    report = to_voc(CocoDetectionDataset(tmp_path / "src", json_file), tmp_path / "out")
    assert report.images == 2
    for xml in (tmp_path / "out" / "Annotations").iterdir():
        ElementTree.parse(xml)  # well-formed XML 1.0
    back = VOCDetectionDataset(tmp_path / "out", split="train")
    assert sorted(back.relative_path(index) for index in range(len(back))) == ["a_b.jpg", "b.png"]


@settings(max_examples=300, deadline=None)
@given(
    side=st.integers(1, 2000),
    low=st.floats(0, 1, allow_nan=False),
    high=st.floats(0, 1, allow_nan=False),
)
def test_voc_pixels_stay_on_the_image_and_within_half_a_pixel(side: int, low: float, high: float) -> None:
    x0, x1 = sorted((low * side, high * side))
    first, last = _voc_pixels(x0, x1, side)
    assert 1 <= first <= last <= side
    if x1 - x0 >= 1:
        # Read back as x_min = first - 1, x_max = last.
        assert abs((first - 1) - x0) <= 0.5 and abs(last - x1) <= 0.5


#: Boxes at the border of a 40x30 image, and ties (x.5) that round() would round to even.
BORDER_BOXES = [
    (0.0, 0.0, 40.0, 30.0),
    (0.4, 0.49, 39.6, 29.51),
    (38.5, 28.5, 40.0, 30.0),
    (39.0, 29.0, 40.0, 30.0),
    (1.5, 2.5, 2.5, 3.5),
    (38.6, 28.7, 39.9, 29.9),
    (0.0, 0.0, 1.0, 1.0),
    (39.6, 29.6, 40.0, 30.0),  # narrower than a pixel: round(x_min) + 1 = 41 lay beyond the image
]


def test_to_voc_border_boxes_read_back_on_the_image_within_half_a_pixel(tmp_path: Path) -> None:
    image(tmp_path / "src" / "a.png")
    rows = [f"a.png,{x0},{y0},{x1},{y1},cat" for x0, y0, x1, y1 in BORDER_BOXES]
    to_voc(
        CSVDetectionDataset(csv_boxes(tmp_path / "src" / "boxes.csv", rows), tmp_path / "src"),
        tmp_path / "out",
    )
    xml = ElementTree.parse(tmp_path / "out" / "Annotations" / "a.xml").getroot()
    for box in xml.iter("bndbox"):
        xmin, ymin, xmax, ymax = (int(box.findtext(tag)) for tag in ("xmin", "ymin", "xmax", "ymax"))
        assert 1 <= xmin <= xmax <= 40 and 1 <= ymin <= ymax <= 30
    back = VOCDetectionDataset(tmp_path / "out", split="train")
    found = back[0][1]["boxes"].numpy()
    assert found.shape == (len(BORDER_BOXES), 4)
    # Within half a pixel for boxes at least a pixel wide and tall; a narrower one becomes one pixel.
    error = np.abs(found - np.asarray(BORDER_BOXES))
    assert error[:-1].max() <= 0.5 and error[-1].max() <= 1


def test_to_voc_skips_and_reports_a_box_beyond_its_image(tmp_path: Path) -> None:
    from torch.utils.data import Dataset
    from torchvision import tv_tensors

    class Beyond(Dataset):
        classes = ("__background__", "cat")

        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: int) -> tuple[object, dict]:
            import torch

            return tv_tensors.Image(torch.zeros(3, 10, 10, dtype=torch.uint8)), {
                "boxes": torch.tensor([[2.0, 2.0, 15.0, 8.0]]),
                "labels": torch.tensor([1]),
            }

    report = to_voc(Beyond(), tmp_path / "out")
    assert report.images == 0 and len(report.skipped) == 1
    assert "expected corners within the 10x10 image" in report.skipped[0]


# ---------------------------------------------------------------- 12. the format guess


def class_folder(root: Path) -> Path:
    for label in ("cat", "dog"):
        for number in range(2):
            image(root / label / f"{number}.jpg", color=(number * 100, 0, 0))
    return root


def test_guess_format_needs_real_yolo_structure(tmp_path: Path) -> None:
    # A class folder beside an unrelated labels/ folder, with one of its own classes named "labels",
    # and two levels down from a labels/ folder: none of it is YOLO.
    root = class_folder(tmp_path / "project" / "data" / "train")
    (tmp_path / "project" / "labels").mkdir()
    (tmp_path / "project" / "labels" / "notes.txt").write_text("not YOLO\n")
    image(root / "labels" / "0.jpg")
    (tmp_path / "project" / "data" / "labels").mkdir()
    assert guess_format(root) is None
    # Real YOLO: images/ and labels/ with matching .txt files, or data.yaml.
    yolo = tmp_path / "yolo"
    image(yolo / "images" / "train" / "a.jpg")
    (yolo / "labels" / "train").mkdir(parents=True)
    (yolo / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    assert guess_format(yolo) == "yolo"
    assert guess_format(yolo / "images" / "train") == "yolo"
    assert guess_format(yolo / "images") == "yolo"
    assert guess_format(yolo_folder(tmp_path / "with_yaml")) == "yolo"


def test_export_of_a_class_folder_beside_labels_keeps_the_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visiondata.shards import ShardDataset

    root = class_folder(tmp_path / "data" / "train")
    (tmp_path / "labels").mkdir()  # path.parent.parent / "labels"
    image(root / "labels" / "0.jpg")  # a class named "labels"
    assert main(["export", str(root), str(tmp_path / "shards"), "--split", "train"]) == 0
    capsys.readouterr()
    shards = ShardDataset(tmp_path / "shards", split="train")
    assert shards.classes == ["cat", "dog", "labels"]
    assert sorted(label for _, label in shards) == [0, 0, 1, 1, 2]


# ---------------------------------------------------------------- 15 and 17. the command line


def test_convert_out_equal_to_the_input_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    json_file = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json")
    before = json_file.read_bytes()
    status, _, stderr = convert(capsys, json_file, json_file, "--to", "coco")
    assert_refused(status, stderr, "expected a folder, got a regular file")
    assert json_file.read_bytes() == before


def test_convert_out_under_dev_null_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    json_file = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json")
    for out in ("/dev/null", "/dev/null/out"):
        status, _, stderr = convert(capsys, json_file, out, "--to", "yolo")
        assert_refused(status, stderr, "character device")


@pytest.mark.parametrize("split", ["%d", "..", "../x", "a/b", "a\\b", ""])
def test_convert_split_must_be_a_plain_name(
    split: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = voc_folder(tmp_path / "VOC")
    (root / "x.txt").write_text("a\n")  # ImageSets/Main/../../x.txt
    status, _, stderr = convert(capsys, root, tmp_path / "out", "--split", split, "--to", "yolo")
    assert_refused(status, stderr, "--split: expected a plain name")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out_split", ["../../x", "..", "a/b", "%s"])
def test_convert_out_split_must_be_a_plain_name(
    out_split: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = voc_folder(tmp_path / "VOC")
    for target in ("voc", "yolo"):
        status, _, stderr = convert(capsys, root, tmp_path / "out", "--out-split", out_split, "--to", target)
        assert_refused(status, stderr, "--out-split: expected a plain name")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["VOC"]


@pytest.mark.parametrize("writer", [to_voc, to_yolo])
def test_writers_refuse_a_split_that_is_a_path(writer: object, tmp_path: Path) -> None:
    dataset = VOCDetectionDataset(voc_folder(tmp_path / "VOC"), split="train")
    with pytest.raises(DatasetFormatError, match=r"split: expected a plain name .* got '\.\./\.\./x'"):
        writer(dataset, tmp_path / "out" / "inner", split="../../x")  # type: ignore[operator]
    assert not (tmp_path / "out").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("source", ["coco", "yolo"])
def test_convert_duplicate_category_names_is_an_error_not_a_traceback(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if source == "coco":
        categories = [{"id": 1, "name": "cat"}, {"id": 2, "name": "cat"}]
        path = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json", categories)
    else:
        path = yolo_folder(tmp_path / "src") / "data.yaml"
        path.write_text("path: .\ntrain: images/train\nnames: [cat, cat]\n")
    status, _, stderr = convert(capsys, path, tmp_path / "out", "--to", "voc")
    assert_refused(status, stderr, path.name, "'cat'")
    assert not (tmp_path / "out").exists()


def test_python_writers_show_no_progress_by_default() -> None:
    for writer in WRITERS.values():
        parameters = inspect.signature(writer).parameters
        assert parameters["progress"].default is False
        assert parameters["overwrite"].default is False


def test_convert_shows_progress_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    json_file = coco_file(tmp_path / "src", tmp_path / "src" / "instances.json")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    status, _, stderr = convert(capsys, json_file, tmp_path / "out", "--to", "yolo")
    assert status == 0 and "converting" not in stderr
    assert len(YOLODataset(data_yaml=tmp_path / "out" / "data.yaml")) == 2

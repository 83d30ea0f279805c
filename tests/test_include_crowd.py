"""``include_crowd`` has one meaning for readers and writers: crowd regions are left out and counted by default.

The COCO file is written as COCO writes ``instances_*.json``: a crowd region is an annotation with
``iscrowd: 1`` and an uncompressed RLE ``segmentation`` (``counts`` a list, ``size`` ``[height, width]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image

from visiondata.formats import CocoDetectionDataset, to_coco, to_voc, to_yolo

HEIGHT, WIDTH = 30, 40


def _crowd_rle() -> dict:
    # A crowd over rows 0..9 of columns 0..39 (column-major runs: 10 ones, 20 zeros per column).
    counts = [0]
    for _ in range(WIDTH):
        counts += [10, 20]
    return {"size": [HEIGHT, WIDTH], "counts": counts}


def coco_with_crowd(root: Path) -> Path:
    """Two images: a.png with two objects and one crowd region, b.png with only a crowd region."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (WIDTH, HEIGHT), (20, 40, 60)).save(root / name)
    content = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": WIDTH, "height": HEIGHT},
            {"id": 2, "file_name": "b.png", "width": WIDTH, "height": HEIGHT},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 12, 10, 10], "area": 100, "iscrowd": 0},
            {
                "id": 11,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 40, 10],
                "area": 400,
                "iscrowd": 1,
                "segmentation": _crowd_rle(),
            },
            {"id": 12, "image_id": 1, "category_id": 2, "bbox": [20, 15, 8, 6], "area": 48, "iscrowd": 0},
            {
                "id": 13,
                "image_id": 2,
                "category_id": 2,
                "bbox": [0, 0, 40, 10],
                "area": 400,
                "iscrowd": 1,
                "segmentation": _crowd_rle(),
            },
        ],
    }
    path = root / "instances.json"
    path.write_text(json.dumps(content))
    return path


def test_coco_reader_leaves_crowd_regions_out_by_default_and_counts_them(tmp_path: Path) -> None:
    path = coco_with_crowd(tmp_path / "src")
    dataset = CocoDetectionDataset(tmp_path / "src", path)
    # What a torchvision detection model trains on: no crowd region among the objects.
    assert [dataset[index][1]["iscrowd"].tolist() for index in range(2)] == [[0, 0], []]
    assert dataset[0][1]["labels"].tolist() == [1, 2]
    assert dataset.crowd_left_out == 2 and dataset.problems == []  # a choice, not a problem
    assert "2 crowd regions left out: include_crowd=False" in repr(dataset)


def test_coco_reader_include_crowd_keeps_them_flagged(tmp_path: Path) -> None:
    path = coco_with_crowd(tmp_path / "src")
    dataset = CocoDetectionDataset(tmp_path / "src", path, include_crowd=True)
    assert [dataset[index][1]["iscrowd"].tolist() for index in range(2)] == [[0, 1, 0], [1]]
    assert dataset.crowd_left_out == 0 and "crowd regions" not in repr(dataset)


def test_to_coco_from_the_default_reader_says_the_reader_left_crowds_out(tmp_path: Path) -> None:
    path = coco_with_crowd(tmp_path / "src")
    report = to_coco(CocoDetectionDataset(tmp_path / "src", path), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
    assert [a["id"] for a in written] == [10, 12]
    assert (report.crowd_left_out, report.source_crowd_left_out) == (0, 2)
    assert "2 crowd regions (iscrowd=1) were left out by the source reader" in report.summary()
    assert "include_crowd=True" in report.summary()
    manifest = json.loads((tmp_path / "out" / "visiondata-conversion.json").read_text())
    assert manifest["source_crowd_left_out"] == 2


def test_to_coco_writes_every_crowd_region_its_source_holds(tmp_path: Path) -> None:
    path = coco_with_crowd(tmp_path / "src")
    report = to_coco(CocoDetectionDataset(tmp_path / "src", path, include_crowd=True), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
    assert [(a["id"], a["iscrowd"]) for a in written] == [(10, 0), (11, 1), (12, 0), (13, 1)]
    assert written[1]["segmentation"] == _crowd_rle()
    assert (report.crowd_left_out, report.source_crowd_left_out) == (0, 0)
    assert "crowd" not in report.summary()


@pytest.mark.parametrize("writer", ["voc", "yolo"])
def test_writers_leave_crowds_out_by_default_and_write_them_as_objects_when_asked(
    writer: str, tmp_path: Path
) -> None:
    path = coco_with_crowd(tmp_path / "src")
    dataset = CocoDetectionDataset(tmp_path / "src", path, include_crowd=True)
    write = {"voc": to_voc, "yolo": to_yolo}[writer]
    left_out = write(dataset, tmp_path / "default")
    assert (left_out.boxes, left_out.crowd_left_out) == (2, 2)
    # b.png held only a crowd region: it is written as an image without boxes, and the report says so.
    assert left_out.empty_images == 1
    assert "iscrowd" not in left_out.fields_left_out
    kept = write(dataset, tmp_path / "with-crowd", include_crowd=True)
    assert (kept.boxes, kept.crowd_left_out, kept.empty_images) == (4, 0, 0)
    # Written as ordinary objects: the crowd flag itself is what the format could not hold.
    assert kept.fields_left_out["iscrowd"] == 2
    assert (
        f"per-box fields {writer} cannot hold, left out: area (4 boxes), iscrowd (2 boxes)" in kept.summary()
    )
    if writer == "voc":
        objects = ElementTree.parse(tmp_path / "with-crowd" / "Annotations" / "a.xml").findall("object")
        assert [obj.findtext("name") for obj in objects] == ["person", "person", "car"]
    else:
        lines = (tmp_path / "with-crowd" / "labels" / "train" / "a.txt").read_text().splitlines()
        assert len(lines) == 3


def test_writers_of_the_default_reader_count_the_crowds_it_left_out(tmp_path: Path) -> None:
    path = coco_with_crowd(tmp_path / "src")
    report = to_voc(CocoDetectionDataset(tmp_path / "src", path), tmp_path / "out")
    assert (report.boxes, report.crowd_left_out, report.source_crowd_left_out) == (2, 0, 2)
    assert "left out by the source reader (include_crowd=False, the default)" in report.summary()


def test_convert_coco_to_coco_keeps_crowd_regions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `visiondata convert` opens a COCO source with include_crowd=True and lets the writer decide: COCO keeps
    # them (lossless), VOC and YOLO leave them out and count them (--include-crowd writes them as objects).
    from visiondata.cli import main

    path = coco_with_crowd(tmp_path / "src")
    capsys.readouterr()
    assert main(["convert", str(path), str(tmp_path / "coco"), "--to", "coco", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    written = json.loads((tmp_path / "coco" / "annotations.json").read_text())["annotations"]
    assert [(a["id"], a["iscrowd"]) for a in written] == [(10, 0), (11, 1), (12, 0), (13, 1)]
    assert (report["crowd_left_out"], report["source_crowd_left_out"]) == (0, 0)
    assert main(["convert", str(path), str(tmp_path / "voc"), "--to", "voc", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["boxes"], report["crowd_left_out"], report["source_crowd_left_out"]) == (2, 2, 0)


def test_check_says_how_many_crowd_regions_training_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visiondata.cli import main

    path = coco_with_crowd(tmp_path / "coco")
    Image.new("RGB", (WIDTH, HEIGHT), (90, 40, 60)).save(path.parent / "b.png")  # not a duplicate of a.png
    code = main(["check", str(path)])
    out = capsys.readouterr().out
    # Two boxes are read; the two crowd regions are named as left out, not as boxes and not as problems.
    assert code == 0, out
    assert "2 boxes" in out.splitlines()[0]
    assert "2 crowd regions (iscrowd=1) left out, as training reads the file (include_crowd=False)" in out
    assert main(["check", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["crowd_left_out"] == 2

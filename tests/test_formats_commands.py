"""The annotation-tool readers are formats of `visiondata convert`, `check` and `export` like the others:
guessed from the path, opened by the same function, converted with their classes in the file's order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cvat import write_export

from visiondata.cli import main
from visiondata.datasets import CocoDetectionDataset
from visiondata.formats import CVATDataset
from visiondata.formats._open import guess_format, open_detection


def test_a_cvat_export_is_guessed_as_cvat_not_voc(tmp_path: Path) -> None:
    path = write_export(tmp_path / "task")
    assert guess_format(path) == "cvat" and guess_format(path.parent) == "cvat"
    assert isinstance(open_detection(path.parent), CVATDataset)
    (tmp_path / "voc").mkdir()
    (tmp_path / "voc" / "a.xml").write_text("<annotation><filename>a.png</filename></annotation>")
    assert guess_format(tmp_path / "voc") == "voc"


def test_convert_cvat_to_coco_keeps_boxes_and_the_files_class_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_export(tmp_path / "task")
    source = CVATDataset(path)
    assert main(["convert", str(path), str(tmp_path / "coco"), "--to", "coco", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 2 and report["boxes"] == sum(len(source.boxes(i)) for i in range(2))
    converted = CocoDetectionDataset(tmp_path / "coco" / "images", tmp_path / "coco" / "annotations.json")
    assert converted.classes == source.classes  # kiwi, apple, fig: CVAT's <meta> order, not sorted
    for index in range(2):
        assert converted.boxes(index).tolist() == source.boxes(index).tolist()
        assert converted.target(index)["labels"].tolist() == source.target(index)["labels"].tolist()


def test_check_and_export_open_a_cvat_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_export(tmp_path / "task")
    assert main(["check", str(path), "--json"]) == 1  # the fixture's two images are identical
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "CVATDataset" and report["images"] == 2 and report["boxes"] == 3
    assert report["problems"] == ["1 group of identical images"]
    assert main(["export", str(path), str(tmp_path / "shards"), "--split", "train"]) == 0
    manifest = json.loads((tmp_path / "shards" / "train.shards.json").read_text())
    assert manifest["task"] == "detection" and manifest["count"] == 2
    assert manifest["classes"][1:] == ["kiwi", "apple", "fig"]


def test_labelme_and_label_studio_exports_are_guessed_and_converted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_labelme_label_studio import _export, _labelme, _png, _rect, _shape, _task

    from visiondata.formats import LabelMeDataset, LabelStudioDataset

    labelme = tmp_path / "labelme"
    _png(labelme / "a.png", (40, 30))
    _labelme(labelme / "a.json", "a.png", [_shape("cat", [[2, 3], [20, 25]], "rectangle")], size=(30, 40))
    assert guess_format(labelme) == "labelme" and guess_format(labelme / "a.json") == "labelme"
    assert isinstance(open_detection(labelme), LabelMeDataset)

    studio = tmp_path / "studio"
    _png(studio / "cat.png", (200, 100))
    export = _export(studio, [_task(7, "/data/upload/1/cat.png", [_rect("cat", 10, 20, 50, 30)])])
    assert guess_format(export) == "label-studio"
    assert isinstance(open_detection(export), LabelStudioDataset)

    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    assert guess_format(coco) == "coco"  # a COCO file is neither

    for source, expected in ((labelme, [[2.0, 3.0, 20.0, 25.0]]), (export, [[20.0, 20.0, 120.0, 50.0]])):
        out = tmp_path / f"out-{source.name}"
        assert main(["convert", str(source), str(out), "--to", "coco"]) == 0
        capsys.readouterr()
        converted = CocoDetectionDataset(out / "images", out / "annotations.json")
        assert converted.boxes(0).tolist() == expected

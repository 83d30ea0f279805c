"""``visiondata check`` reports what the readers refuse: damaged annotation files, special files standing for
them, out-of-range ids and duplicate ids are listed (or named, for a file that cannot be read at all), with the
documented exit status, never a traceback or a hang."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from isolated import assert_clean_exit, run_isolated
from PIL import Image

from visiondata.cli import main
from visiondata.datasets._check import EXIT_NOT_FOUND, EXIT_PROBLEMS


def yolo_folder(root: Path, labels: dict[str, str]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for stem, text in labels.items():
        Image.new("RGB", (40, 30), (90, 120, 150)).save(root / "images" / f"{stem}.png")
        (root / "labels" / f"{stem}.txt").write_text(text)
    (root / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [cat, dog]\n")
    return root


def test_check_lists_yolo_lines_the_reader_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = yolo_folder(
        tmp_path / "yolo",
        {"a": "0 0.5 0.5 0.2 0.2\n", "b": "1000000000 0.5 0.5 0.2 0.2\n", "c": "1 nan 0.5 0.2 0.2\n"},
    )
    assert main(["check", str(root / "data.yaml"), "--json"]) == EXIT_PROBLEMS
    report = json.loads(capsys.readouterr().out)
    problems = "\n".join(report["annotation_problems"])
    assert "b.txt" in problems and "1000000000" in problems
    assert "c.txt" in problems and "nan" in problems.lower()
    assert report["boxes"] == 1


def test_check_names_a_coco_file_with_duplicate_category_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    (tmp_path / "coco.json").write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
                "categories": [{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
            }
        )
    )
    assert main(["check", str(tmp_path / "coco.json")]) == EXIT_NOT_FOUND
    error = capsys.readouterr().err
    assert "coco.json" in error and "'cat'" in error and "'dog'" in error and "Traceback" not in error


def test_check_reports_special_files_standing_for_label_and_annotation_files(tmp_path: Path) -> None:
    # A FIFO as a label file or a VOC annotation used to hang the reader, and /dev/zero to fill the memory.
    yolo = yolo_folder(tmp_path / "yolo", {"a": "0 0.5 0.5 0.2 0.2\n", "b": "", "c": ""})
    os.unlink(yolo / "labels" / "b.txt")
    os.mkfifo(yolo / "labels" / "b.txt")
    os.unlink(yolo / "labels" / "c.txt")
    os.symlink("/dev/zero", yolo / "labels" / "c.txt")
    voc = tmp_path / "voc"
    (voc / "Annotations").mkdir(parents=True)
    (voc / "JPEGImages").mkdir()
    os.mkfifo(voc / "Annotations" / "a.xml")
    result = run_isolated(
        f"""
        from visiondata.cli import main
        print("STATUS", main(["check", {str(yolo / "data.yaml")!r}]))
        print("STATUS", main(["check", {str(voc)!r}, "--format", "voc"]))
        """,
        timeout=120,
    )
    assert_clean_exit(result)
    statuses = [line for line in result.stdout.splitlines() if line.startswith("STATUS")]
    assert statuses == [f"STATUS {EXIT_PROBLEMS}", f"STATUS {EXIT_PROBLEMS}"]
    assert "b.txt: YOLO label file: expected a regular file, got a FIFO" in result.stdout
    assert "c.txt: YOLO label file: expected a regular file, got a character device" in result.stdout
    assert "a.xml: VOC annotation: expected a regular file, got a FIFO" in result.stdout
    assert "Traceback" not in result.stderr

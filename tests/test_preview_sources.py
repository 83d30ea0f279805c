"""`visiondata preview` opens every source `convert`, `check` and `export` open, through the same function
(``open_detection``), and draws their boxes (issue 19, "One reader per format")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cvat import write_export

from visiondata.cli import main

# Each fixture is laid out as the tool writes it: two 40x30 images, three boxes in all.
BOXES = 3


def png(path: Path, color: tuple[int, int, int] = (10, 20, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), color).save(path)


def coco_export(folder: Path) -> Path:
    """A COCO file as pycocotools / CVAT / Roboflow write it: ``bbox`` is [x, y, width, height]."""
    png(folder / "a.png")
    png(folder / "b.png", (0, 90, 0))
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.png", "width": 40, "height": 30},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 3, "bbox": [20, 5, 8, 8], "area": 64, "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 3, "bbox": [5, 5, 8, 8], "area": 64, "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}],
    }
    path = folder / "annotations.json"
    path.write_text(json.dumps(data))
    return path


def voc_folder(root: Path) -> Path:
    """A VOC folder: Annotations/*.xml, JPEGImages/, ImageSets/Main/train.txt."""
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    objects = {"a": [("cat", (3, 4, 20, 25)), ("dog", (22, 2, 35, 12))], "b": [("dog", (1, 1, 9, 9))]}
    for stem, boxes in objects.items():
        png(root / "JPEGImages" / f"{stem}.png")
        xml = "".join(
            f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
            for name, (x1, y1, x2, y2) in boxes
        )
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><folder>VOC</folder><filename>{stem}.png</filename><size><width>40</width>"
            f"<height>30</height><depth>3</depth></size>{xml}</annotation>"
        )
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\nb\n")
    return root


def yolo_folder(root: Path) -> Path:
    """A YOLO dataset as Ultralytics documents it: images/train, labels/train, data.yaml with names."""
    labels = {"a": ["0 0.5 0.5 0.25 0.5", "1 0.25 0.25 0.2 0.2"], "b": ["1 0.5 0.5 0.5 0.5"]}
    for stem, lines in labels.items():
        png(root / "images" / "train" / f"{stem}.png")
        label = root / "labels" / "train" / f"{stem}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/train\nnames:\n  0: cat\n  1: dog\n"
    )
    return root


def preview(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(["preview", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_drawn(out: Path, stdout: str, samples: int = 2, boxes: int = BOXES) -> None:
    assert stdout == f"wrote {out}: {samples} samples, {boxes} boxes, 0 dropped\n"
    with Image.open(out) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"))
    # The boxes are drawn: colours other than the fixtures' flat fills and the grid's background.
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 3


@pytest.mark.parametrize(
    ("make", "source"),
    [
        (coco_export, lambda folder: folder / "annotations.json"),
        (voc_folder, lambda folder: folder),
        (yolo_folder, lambda folder: folder / "data.yaml"),
        (yolo_folder, lambda folder: folder),
        (write_export, lambda folder: folder / "annotations.xml"),  # CVAT for images 1.1
        (write_export, lambda folder: folder),  # CVAT: the folder holding annotations.xml
    ],
    ids=["coco-json", "voc-folder", "yolo-data-yaml", "yolo-folder", "cvat-xml", "cvat-folder"],
)
def test_preview_draws_the_boxes_of_each_detection_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, source
) -> None:
    folder = tmp_path / "data"
    make(folder)
    out = tmp_path / "grid.png"
    status, stdout, stderr = preview(capsys, str(source(folder)), "--out", str(out), "-n", "2")
    assert (status, stderr) == (0, "")
    assert_drawn(out, stdout)


def test_preview_from_names_the_format_and_images_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # COCO annotations apart from their images, with a name guess_format cannot read as COCO.
    annotations = coco_export(tmp_path / "pictures")
    moved = tmp_path / "labels" / "instances.txt"
    moved.parent.mkdir()
    annotations.rename(moved)
    out = tmp_path / "grid.png"
    arguments = ("--from", "coco", "--images", str(tmp_path / "pictures"), "--out", str(out), "-n", "2")
    status, stdout, stderr = preview(capsys, str(moved), *arguments)
    assert (status, stderr) == (0, "")
    assert_drawn(out, stdout)
    # Without --from, the file is named with what was tried and how to say the format.
    status, stdout, stderr = preview(capsys, str(moved), "--out", str(tmp_path / "other.png"))
    assert status == 1 and stdout == ""
    assert stderr.startswith(f"visiondata: error: {moved}: cannot tell the format") and "--from" in stderr
    assert not (tmp_path / "other.png").exists()


def test_preview_labelme_and_label_studio_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_labelme_label_studio import _export, _labelme, _png, _rect, _shape, _task

    labelme = tmp_path / "labelme"
    _png(labelme / "a.png", (40, 30))
    _labelme(labelme / "a.json", "a.png", [_shape("cat", [[2, 3], [20, 25]], "rectangle")], size=(30, 40))
    studio = tmp_path / "studio"
    _png(studio / "cat.png", (200, 100))
    export = _export(studio, [_task(7, "/data/upload/1/cat.png", [_rect("cat", 10, 20, 50, 30)])])
    for source in (labelme, export):
        out = tmp_path / f"{source.name}.png"
        status, stdout, stderr = preview(capsys, str(source), "--out", str(out), "-n", "1")
        assert (status, stderr) == (0, "")
        assert_drawn(out, stdout, samples=1, boxes=1)


def test_preview_voc_split_and_folder_of_classes_still_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = voc_folder(tmp_path / "voc")
    (root / "ImageSets" / "Main" / "val.txt").write_text("b\n")
    out = tmp_path / "val.png"
    status, stdout, _ = preview(capsys, str(root), "--split", "val", "--out", str(out), "-n", "1")
    assert status == 0 and stdout == f"wrote {out}: 1 samples, 1 boxes, 0 dropped\n"
    # A folder of class sub-folders is none of the detection formats: drawn as before, without boxes.
    tree = tmp_path / "tree"
    png(tree / "cat" / "a.png")
    png(tree / "dog" / "b.png")
    status, stdout, _ = preview(capsys, str(tree), "--out", str(tmp_path / "tree.png"), "-n", "2")
    assert status == 0 and stdout == f"wrote {tmp_path / 'tree.png'}: 2 samples, 0 boxes, 0 dropped\n"
    status, stdout, _ = preview(
        capsys, str(tree), "--from", "folder", "--out", str(tmp_path / "folder.png"), "-n", "1"
    )
    assert status == 0 and stdout == f"wrote {tmp_path / 'folder.png'}: 1 samples, 0 boxes, 0 dropped\n"


def test_preview_unknown_path_says_what_it_tried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "data" / "annotations.json"
    out = tmp_path / "x.png"
    status, stdout, stderr = preview(capsys, str(missing), "--out", str(out))
    assert status == 1 and stdout == ""  # status 1: a VisionDataError, as the cli documents
    assert stderr.startswith(
        f"visiondata: error: {missing}: no such file or folder, and not a catalog dataset"
    )
    assert "\n" not in stderr.rstrip("\n") and not out.exists()


def test_preview_refuses_an_out_inside_the_images_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    annotations = coco_export(tmp_path / "pictures")
    moved = annotations.rename(tmp_path / "annotations.json")
    out = tmp_path / "pictures" / "grid.png"
    status, _, stderr = preview(capsys, str(moved), "--images", str(tmp_path / "pictures"), "--out", str(out))
    assert status == 1 and "--out: expected a file apart from the inputs" in stderr and not out.exists()


def test_preview_bad_format_choice_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["preview", str(tmp_path), "--from", "tfrecord"])
    assert caught.value.code == 2
    stderr = capsys.readouterr().err
    # The choices are the detection formats convert reads plus preview's own (class folders, catalog).
    assert "invalid choice: 'tfrecord'" in stderr
    assert all(
        name in stderr for name in ("coco", "voc", "yolo", "cvat", "label-studio", "folder", "catalog")
    )


def test_preview_of_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    from isolated import assert_clean_exit, run_isolated

    fifo = tmp_path / "boxes.json"
    os.mkfifo(fifo)
    code = f"""
from visiondata.cli import main
status = main(["preview", {str(fifo)!r}, "--out", {str(tmp_path / "x.png")!r}])
print("status", status)
"""
    result = run_isolated(code, timeout=60)
    assert_clean_exit(result)
    assert "status 1" in result.stdout
    assert f"{fifo}: expected a dataset file or folder, got a FIFO" in result.stderr

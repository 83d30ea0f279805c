"""``build_report`` on real photos in every file layout, with planted problems, checked through its JSON.

Each dataset has a train and a val split of scikit-learn's two sample photos (random crops, 320x240 JPEGs)
with the same plants: a corrupt file in train, an exact copy of a train photo in val (same bytes), a
near copy of another train photo in val (re-encoded, slightly brightened), a box without area in train
(detection formats) and a class without any image or box ("bird").
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageEnhance

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")
pytest.importorskip("jinja2", reason="the report extra (jinja2) is not installed")

CLASSES = ["cat", "dog", "bird"]  # "bird" has no image and no box: the planted empty class
WIDTH, HEIGHT = 320, 240
TRAIN, VAL = 6, 3  # photos per split, besides the plants


@cache
def _sources() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_sample_images

    return tuple(load_sample_images().images)


def photo(number: int) -> Image.Image:
    """A 320x240 crop of one of the two sample photos: different numbers give different pictures."""
    source = _sources()[number % 2]
    rng = np.random.default_rng(number)
    scale = 0.35 + 0.1 * (number // 2 % 4)  # crops of 35-65 % of the photo, each number its own region
    crop_h, crop_w = int(source.shape[0] * scale), int(source.shape[1] * scale)
    top = int(rng.integers(0, source.shape[0] - crop_h + 1))
    left = int(rng.integers(0, source.shape[1] - crop_w + 1))
    image = Image.fromarray(source[top : top + crop_h, left : left + crop_w]).resize(
        (WIDTH, HEIGHT), Image.LANCZOS
    )
    return image.transpose(Image.FLIP_LEFT_RIGHT) if number % 3 == 0 else image


def boxes_of(number: int) -> list[tuple[str, list[float]]]:
    """1 to 3 boxes (class name, xyxy pixels) of photo ``number``; cats on even numbers, dogs on odd."""
    name = CLASSES[number % 2]
    rng = np.random.default_rng(100 + number)
    found = []
    for _ in range(1 + number % 3):
        x1, y1 = float(rng.integers(0, WIDTH - 80)), float(rng.integers(0, HEIGHT - 60))
        w, h = float(rng.integers(12, 80)), float(rng.integers(10, 60))
        found.append((name, [x1, y1, x1 + w, y1 + h]))
    return found


def split_files(folder: Path, split: str, train_folder: Path | None = None) -> list[tuple[str, int | None]]:
    """Write the split's JPEGs into ``folder``; returns ``(file name, photo number)`` (None: the corrupt file).

    val also gets ``copy_0.jpg`` (the bytes of train's ``photo_0.jpg``) and ``near_1.jpg`` (train's
    photo 1 re-encoded at quality 70 and 4 % brighter); train gets ``broken.jpg`` (a cut JPEG).
    """
    folder.mkdir(parents=True, exist_ok=True)
    numbers = range(TRAIN) if split == "train" else range(TRAIN, TRAIN + VAL)
    files: list[tuple[str, int | None]] = []
    for number in numbers:
        photo(number).save(folder / f"photo_{number}.jpg", quality=90)
        files.append((f"photo_{number}.jpg", number))
    if split == "train":
        data = (folder / "photo_5.jpg").read_bytes()
        (folder / "broken.jpg").write_bytes(data[: len(data) // 3])  # cut in the middle of the scan
        files.append(("broken.jpg", None))
    else:
        assert train_folder is not None
        shutil.copyfile(train_folder / "photo_0.jpg", folder / "copy_0.jpg")
        files.append(("copy_0.jpg", 0))
        ImageEnhance.Brightness(photo(1)).enhance(1.04).save(folder / "near_1.jpg", quality=70)
        files.append(("near_1.jpg", 1))
    return files


def _boxes(number: int | None, degenerate: bool) -> list[tuple[str, list[float]]]:
    found = boxes_of(5 if number is None else number)
    if degenerate:
        found.append(("dog", [50.0, 40.0, 50.0, 90.0]))  # no width: the planted degenerate box
    return found


# ---------------------------------------------------------------- the five layouts


def make_folder(root: Path) -> dict[str, Any]:
    from visiondata.datasets import ImageFolderDataset

    splits = {}
    for split in ("train", "val"):
        staging = root / f"_{split}"
        files = split_files(staging, split, root / "_train")
        for name in CLASSES:
            (root / split / name).mkdir(parents=True, exist_ok=True)  # bird stays empty
        for file, number in files:
            name = CLASSES[(5 if number is None else number) % 2]
            shutil.copyfile(staging / file, root / split / name / file)
        splits[split] = ImageFolderDataset(root / split, allow_empty=True, on_error="skip")
    return splits


def make_csv(root: Path) -> dict[str, Any]:
    from visiondata.datasets import CSVDataset

    splits = {}
    for split in ("train", "val"):
        files = split_files(root / "images" / split, split, root / "images" / "train")
        with open(root / f"{split}.csv", "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["image", "label"])
            for file, number in files:
                writer.writerow([f"images/{split}/{file}", CLASSES[(5 if number is None else number) % 2]])
        splits[split] = CSVDataset(root / f"{split}.csv", root, classes=CLASSES, on_error="skip")
    return splits


def make_coco(root: Path) -> dict[str, Any]:
    from visiondata.formats import CocoDetectionDataset

    splits = {}
    for split in ("train", "val"):
        files = split_files(root / split, split, root / "train")
        images, annotations = [], []
        for image_id, (file, number) in enumerate(files, 1):
            images.append({"id": image_id, "file_name": file, "width": WIDTH, "height": HEIGHT})
            for name, (x1, y1, x2, y2) in _boxes(number, degenerate=split == "train" and number == 2):
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": CLASSES.index(name) + 1,
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "area": (x2 - x1) * (y2 - y1),
                        "iscrowd": 0,
                    }
                )
        categories = [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]
        document = {"images": images, "annotations": annotations, "categories": categories}
        (root / f"{split}.json").write_text(json.dumps(document))
        splits[split] = CocoDetectionDataset(root / split, root / f"{split}.json", on_error="skip")
    return splits


def make_voc(root: Path) -> dict[str, Any]:
    from visiondata.formats import VOCDetectionDataset

    splits = {}
    for split in ("train", "val"):
        folder = root / split
        files = split_files(folder, split, root / "train")
        for file, number in files:
            objects = "".join(
                # VOC's pixels are 1-based with inclusive maxima: the degenerate box gets xmax < xmin.
                f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x1 + 1:g}</xmin>"
                f"<ymin>{y1 + 1:g}</ymin><xmax>{x2:g}</xmax><ymax>{y2:g}</ymax></bndbox></object>"
                for name, (x1, y1, x2, y2) in _boxes(number, degenerate=split == "train" and number == 2)
            )
            (folder / f"{Path(file).stem}.xml").write_text(
                f"<annotation><filename>{file}</filename><size><width>{WIDTH}</width><height>{HEIGHT}</height>"
                f"<depth>3</depth></size>{objects}</annotation>"
            )
        splits[split] = VOCDetectionDataset(folder, split=None, classes=CLASSES, on_error="skip")
    return splits


def make_yolo(root: Path) -> dict[str, Any]:
    from visiondata.formats import YOLODataset

    for split in ("train", "val"):
        files = split_files(root / "images" / split, split, root / "images" / "train")
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for file, number in files:
            lines = []
            for name, (x1, y1, x2, y2) in _boxes(number, degenerate=split == "train" and number == 2):
                centre_x, centre_y = (x1 + x2) / 2 / WIDTH, (y1 + y2) / 2 / HEIGHT
                lines.append(
                    f"{CLASSES.index(name)} {centre_x:.6f} {centre_y:.6f} {(x2 - x1) / WIDTH:.6f} "
                    f"{(y2 - y1) / HEIGHT:.6f}"
                )
            (root / "labels" / split / f"{Path(file).stem}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames: [{', '.join(CLASSES)}]\n"
    )
    return {
        split: YOLODataset(data_yaml=root / "data.yaml", split=split, on_error="skip")
        for split in ("train", "val")
    }


MAKERS = {"folder": make_folder, "csv": make_csv, "coco": make_coco, "voc": make_voc, "yolo": make_yolo}
DETECTION = {"coco", "voc", "yolo"}


def expected_boxes(split: str) -> int:
    """Boxes the readers keep (the degenerate one is left out and reported)."""
    numbers = [*range(TRAIN), 5] if split == "train" else [*range(TRAIN, TRAIN + VAL), 0, 1]
    return sum(len(boxes_of(number)) for number in numbers)


@pytest.fixture(scope="module", params=sorted(MAKERS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any, dict]:
    from visiondata.report import build_report

    layout = request.param
    root = tmp_path_factory.mktemp(layout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the readers warn about what they skip; the report lists it
        splits = MAKERS[layout](root / "data")
        report = build_report(splits, root / "report.html", json_path=root / "report.json", max_per_section=4)
    return layout, report, json.loads((root / "report.json").read_text())


# ---------------------------------------------------------------- the numbers in the JSON


def test_summary_numbers(built: tuple[str, Any, dict]) -> None:
    layout, report, document = built
    assert document["splits"] == ["train", "val"]
    by_split = {entry["split"]: entry for entry in document["statistics"]}
    train, val = by_split["train"], by_split["val"]
    assert train["images"] == TRAIN + 1 and val["images"] == VAL + 2
    assert sorted(train["classes"]) == sorted(CLASSES)  # a folder sorts its class folders
    per_class = dict(zip(train["classes"], train["images_per_class"], strict=True))
    assert train["empty_classes"] == ["bird"] and train["imbalance"] is None
    assert val["empty_classes"] == ["bird"]
    assert train["formats"] == {"jpeg": TRAIN + 1} and val["formats"] == {"jpeg": VAL + 2}
    assert train["bytes"] == sum(Path(path).stat().st_size for path in report.statistics[0].paths)
    assert {"width": WIDTH, "height": HEIGHT, "count": TRAIN + 1} in train["image_sizes"]
    if layout in DETECTION:
        assert train["kind"] == "detection"
        assert train["boxes"] == expected_boxes("train") and val["boxes"] == expected_boxes("val")
        assert dict(zip(train["classes"], train["boxes_per_class"], strict=True))["bird"] == 0
        assert sum(train["boxes_per_class"]) == train["boxes"]
        assert sum(train["boxes_per_image"]["counts"]) == train["images"]
        assert np.asarray(train["centre_heatmap"]["counts"]).sum() == train["boxes"]
    else:
        assert train["kind"] == "classification"
        assert per_class == {
            "cat": 3,
            "dog": 4,
            "bird": 0,
        }  # cats: photos 0 2 4; dogs: 1 3 5 and the broken one


def test_planted_problems(built: tuple[str, Any, dict]) -> None:
    layout, _, document = built
    train_problems = document["problems"]["train"]
    assert any("broken.jpg" in line for line in train_problems), train_problems
    assert any("'bird'" in line for line in train_problems)
    assert any("'bird'" in line for line in document["problems"]["val"])
    unreadable = document["duplicates"]["unreadable"]
    assert [(entry["split"], Path(entry["path"]).name) for entry in unreadable] == [("train", "broken.jpg")]
    if layout in DETECTION:
        degenerate = [line for line in train_problems if re.search(r"area|width|zero|degenerate", line, re.I)]
        assert len(degenerate) >= 1, train_problems
        assert document["problem_counts"]["train"] == len(train_problems)


def test_duplicates_across_splits(built: tuple[str, Any, dict]) -> None:
    _, _, document = built
    duplicates = document["duplicates"]
    assert duplicates["threshold"] == 6
    exact = [
        sorted(Path(member["path"]).name for member in group["members"]) for group in duplicates["exact"]
    ]
    assert exact == [["copy_0.jpg", "photo_0.jpg"]]
    assert duplicates["exact"][0]["splits"] == ["train", "val"] and duplicates["exact"][0]["across_splits"]
    near = [sorted(Path(member["path"]).name for member in group["members"]) for group in duplicates["near"]]
    assert ["near_1.jpg", "photo_1.jpg"] in near
    planted = duplicates["near"][near.index(["near_1.jpg", "photo_1.jpg"])]
    assert planted["across_splits"] and 0 <= planted["distance"] <= 6
    assert duplicates["counts"]["exact_across_splits"] == 1


def test_page_holds_every_section(built: tuple[str, Any, dict]) -> None:
    _, report, document = built
    html = report.path.read_text()
    for anchor in ("summary", "plots", "samples", "problems", "duplicates", "limits"):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    assert "<script" not in html.lower()
    # No reference leaves the file: every src is a data: URL, every href an anchor.
    assert set(re.findall(r'src="([a-z]+):', html)) <= {"data"}
    assert all(href.startswith(("#", "data:")) for href in re.findall(r'href="([^"]*)"', html))
    assert not re.search(r"url\((?!#)", html) and "@import" not in html  # url(#clip) inside an SVG is local
    assert html.count("<svg") >= len(report.figures) >= 1
    for figure in document["figures"]:
        assert figure["caption"] and f'id="figure-{figure["key"]}"' in html
    assert "Hamming distance <strong>6</strong>" in html
    thumbnails = html.count("data:image/jpeg;base64,")
    assert thumbnails >= 4  # class grids, duplicates side by side
    assert "At most 4 thumbnails per section" in html


def test_outputs_refused_and_written_atomically(tmp_path: Path) -> None:
    from visiondata.exceptions import OutputConflictError
    from visiondata.report import build_report

    folder = tmp_path / "photos"
    (folder / "cat").mkdir(parents=True)
    photo(0).save(folder / "cat" / "a.jpg")
    from visiondata.datasets import ImageFolderDataset

    dataset = ImageFolderDataset(folder)
    with pytest.raises(OutputConflictError, match="expected an HTML report to write"):
        build_report(dataset, tmp_path)
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(OutputConflictError, match="overwrite=True"):
        build_report(dataset, target, overwrite=False)
    assert target.read_text() == "old"
    report = build_report(dataset, target, max_decoded=1)
    assert report.statistics[0].split == "data" and report.json_path is None
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".visiondata-partial-")]
    with pytest.raises(ValueError, match="max_per_section"):
        build_report(dataset, target, max_per_section=0)
    image = folder / "cat" / "a.jpg"
    before = image.read_bytes()
    for output in ({"path": image}, {"path": target, "json_path": image}):
        with pytest.raises(OutputConflictError, match="not one of the dataset's files"):
            build_report(dataset, max_decoded=1, **output)
    assert image.read_bytes() == before


@pytest.mark.parametrize("missing", ["jinja2", "matplotlib"])
def test_missing_extra_named_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    from visiondata.exceptions import MissingDependencyError
    from visiondata.report import build_report

    monkeypatch.setitem(__import__("sys").modules, missing, None)  # `import <missing>` now fails

    class Untouchable:
        def __len__(self) -> int:
            raise AssertionError("the dataset was read before the extra was checked")

    with pytest.raises(MissingDependencyError, match=rf"{missing}.*report extra"):
        build_report(Untouchable(), tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()

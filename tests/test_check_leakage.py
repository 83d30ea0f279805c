"""``visiondata check PATH --leakage OTHER ...``: images of PATH copied (exactly or nearly) into other datasets.

Real folders, COCO files and CSV files of real photos (scikit-learn's sample photos and crops of them);
the validation set holds an exact copy of a training image and a re-encoded, resized copy of another.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from fixture_files import write_distinct_photos
from PIL import Image

from visiondata.cli import main
from visiondata.datasets._check import EXIT_CLEAN, EXIT_NOT_FOUND, EXIT_PROBLEMS, EXIT_USAGE


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six different pictures as JPEG files: two photos and their halves."""
    return write_distinct_photos(tmp_path_factory.mktemp("pictures"))


def near_copy(source: Path, target: Path) -> None:
    """``source`` re-encoded at quality 60 and 10% smaller."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.resize((image.width * 9 // 10, image.height * 9 // 10), Image.LANCZOS).save(target, quality=60)


def place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)


@pytest.fixture(scope="module")
def folders(pictures: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("folders")
    place(pictures["china_left"], root / "train" / "city" / "a.jpg")
    place(pictures["china_right"], root / "train" / "city" / "b.jpg")
    place(pictures["flower_top"], root / "train" / "plant" / "c.jpg")
    place(pictures["flower_bottom"], root / "train" / "plant" / "d.jpg")
    place(pictures["china_left"], root / "val" / "city" / "copy_of_a.jpg")  # exact copy
    near_copy(pictures["flower_top"], root / "val" / "plant" / "near_c.jpg")  # the same picture, other bytes
    place(pictures["china"], root / "val" / "city" / "whole.jpg")
    place(pictures["china"], root / "clean" / "city" / "e.jpg")
    place(pictures["flower"], root / "clean" / "plant" / "f.jpg")
    return {name: root / name for name in ("train", "val", "clean")}


def test_a_copy_and_a_near_copy_in_val_are_two_leaked_images(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, val = str(folders["train"]), str(folders["val"])
    assert main(["check", train, "--leakage", val]) == EXIT_PROBLEMS
    text = capsys.readouterr().out
    assert f"leakage against {val}: 2 images of {train} with an exact or near duplicate there" in text
    assert f"problems: 2 images with an exact or near duplicate in {val}" in text
    assert f"  identical: {train}: {train}/city/a.jpg | {val}: {val}/city/copy_of_a.jpg" in text
    assert "  near, distance " in text
    assert main(["check", train, "--leakage", val, "--json"]) == EXIT_PROBLEMS
    report = json.loads(capsys.readouterr().out)
    leakage = report["leakage"]
    assert leakage["path"] == train and leakage["against"] == [val]
    assert leakage["leaked_images"] == 2
    assert sorted(Path(path).name for path in leakage["leaked"]) == ["a.jpg", "c.jpg"]
    assert leakage["files"] == 7 and leakage["threshold"] == 6
    assert leakage["counts"]["exact_across_splits"] == 1 and leakage["counts"]["near_across_splits"] == 1
    assert leakage["counts"]["exact_within_split"] == leakage["counts"]["near_within_split"] == 0
    near = leakage["near"][0]
    assert [member["split"] for member in near["members"]] == [train, val]
    assert 0 <= near["distance"] <= 6  # other bytes; the hash may not even change
    assert report["problems"] == [f"2 images with an exact or near duplicate in {val}"]


def test_no_leakage_is_a_clean_check_and_no_search_leaves_no_key(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, clean, val = str(folders["train"]), str(folders["clean"]), str(folders["val"])
    assert main(["check", train, "--leakage", clean, "--json"]) == EXIT_CLEAN
    report = json.loads(capsys.readouterr().out)
    assert report["leakage"]["leaked_images"] == 0 and report["leakage"]["exact"] == []
    assert report["problems"] == []
    assert main(["check", train, "--json"]) == EXIT_CLEAN
    assert "leakage" not in json.loads(capsys.readouterr().out)
    # Copies between the other datasets (val's whole.jpg is clean's e.jpg) are listed, not counted.
    assert main(["check", train, "--leakage", clean, val, "--json"]) == EXIT_PROBLEMS
    leakage = json.loads(capsys.readouterr().out)["leakage"]
    assert leakage["leaked_images"] == 2
    assert leakage["counts"]["exact_across_splits"] == 2
    assert main(["check", train, "--leakage", clean]) == EXIT_CLEAN
    assert f"leakage against {clean}: 0 images of {train}" in capsys.readouterr().out


def test_missing_or_repeated_other_datasets_are_refused(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = str(folders["train"])
    assert main(["check", train, "--leakage", str(tmp_path / "missing")]) == EXIT_NOT_FOUND
    assert "--leakage " in capsys.readouterr().err
    assert main(["check", train, "--leakage", train]) == EXIT_USAGE
    assert "got the same path twice" in capsys.readouterr().err
    assert main(["check", train, "--leakage", "/dev/null"]) == EXIT_NOT_FOUND
    assert "special files are never opened" in capsys.readouterr().err


def coco(folder: Path, names: list[str]) -> Path:
    images = []
    for number, name in enumerate(names, start=1):
        with Image.open(folder / name) as image:
            images.append({"id": number, "file_name": name, "width": image.width, "height": image.height})
    annotations = [
        {"id": number, "image_id": number, "category_id": 1, "bbox": [10, 10, 50, 40]}
        for number in range(1, len(names) + 1)
    ]
    path = folder / f"{Path(names[0]).stem}_set.json"
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "thing"}]})
    )
    return path


def test_coco_files_and_csv_files_are_opened_as_path_is(
    pictures: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(pictures["china_left"], tmp_path / "a.jpg")
    place(pictures["flower_top"], tmp_path / "b.jpg")
    place(pictures["china_left"], tmp_path / "val_a.jpg")
    place(pictures["flower"], tmp_path / "val_b.jpg")
    train_json, val_json = coco(tmp_path, ["a.jpg", "b.jpg"]), coco(tmp_path, ["val_a.jpg", "val_b.jpg"])
    assert main(["check", str(train_json), "--leakage", str(val_json), "--json"]) == EXIT_PROBLEMS
    leakage = json.loads(capsys.readouterr().out)["leakage"]
    assert leakage["leaked_images"] == 1 and leakage["leaked"] == [str(tmp_path / "a.jpg")]
    assert leakage["counts"]["exact_across_splits"] == 1 and leakage["counts"]["near_groups"] == 0

    for name, rows in (
        ("train.csv", [("a.jpg", "city"), ("b.jpg", "plant")]),
        ("val.csv", [("val_a.jpg", "city")]),
    ):
        with open(tmp_path / name, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["image", "label"])
            writer.writerows(rows)
    arguments = ["check", "--csv", str(tmp_path / "train.csv"), "--leakage", str(tmp_path / "val.csv")]
    assert main(arguments) == EXIT_PROBLEMS
    assert f"1 image with an exact or near duplicate in {tmp_path / 'val.csv'}" in capsys.readouterr().out

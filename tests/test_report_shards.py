"""``build_report`` and ``visiondata report`` on WebDataset shards: the same numbers as the source dataset.

A COCO dataset and an image folder of real photos (scikit-learn's sample photos, two image sizes) are
written as shards with ``write_shards`` (several shards each); the report of the shards, streamed once,
must count what the report of the source counts, show thumbnails in its samples section and say that
shard splits were not searched for duplicates.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")
pytest.importorskip("jinja2", reason="the report extra (jinja2) is not installed")
pytest.importorskip("webdataset", reason="shards need webdataset")

from test_report_build import boxes_of, photo

from visiondata.cli import main

CLASSES = ["cat", "dog", "bird"]  # bird: no box and no image, in the source and in the shards
IMAGES = 7
#: Numbers compared between the source's report and the shards' report.
SAME = (
    "kind",
    "images",
    "classes",
    "images_per_class",
    "boxes_per_class",
    "imbalance",
    "empty_classes",
    "boxes",
    "boxes_per_image",
    "images_without_boxes",
    "box_width_px",
    "box_height_px",
    "box_aspect",
    "box_width_rel",
    "box_height_rel",
    "centre_heatmap",
    "image_sizes",
    "formats",
    "bytes",
    "decoded",
    "smallest_boxes",
    "largest_boxes",
    "most_crowded",
)


def _size(number: int) -> tuple[int, int]:
    return (320, 240) if number % 3 else (200, 150)  # two sizes: the size list is checked too


def _save(number: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    photo(number).resize(_size(number)).save(path, quality=88)


def make_coco(root: Path) -> Any:
    from visiondata.formats import CocoDetectionDataset

    images, annotations = [], []
    for number in range(IMAGES):
        width, height = _size(number)
        _save(number, root / "images" / f"photo_{number}.jpg")
        images.append(
            {"id": number + 1, "file_name": f"photo_{number}.jpg", "width": width, "height": height}
        )
        if number == 4:
            continue  # an image without boxes
        for name, (x1, y1, x2, y2) in boxes_of(number):
            x1, x2 = x1 * width / 320, x2 * width / 320
            y1, y2 = y1 * height / 240, y2 * height / 240
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": number + 1,
                    "category_id": CLASSES.index(name) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]
    (root / "train.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    return CocoDetectionDataset(root / "images", root / "train.json")


def make_folder(root: Path) -> Any:
    from visiondata.datasets import ImageFolderDataset

    for name in CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
    for number in range(IMAGES):
        _save(number, root / CLASSES[number % 2] / f"photo_{number}.jpg")
    return ImageFolderDataset(root, allow_empty=True)


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both datasets, their shards (3 samples a shard) and the report of each source."""
    from visiondata.report import build_report
    from visiondata.shards import write_shards

    root = tmp_path_factory.mktemp("shards")
    made: dict[str, Any] = {"root": root}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, maker in (("coco", make_coco), ("folder", make_folder)):
            source = maker(root / name)
            write_shards(source, root / f"{name}-out" / "train-%06d.tar", max_count=3)
            report = build_report(
                {"train": source}, root / f"{name}.html", json_path=root / f"{name}.json", max_per_section=4
            )
            made[name] = {
                "out": root / f"{name}-out",
                "source": json.loads(report.json_path.read_text())["statistics"][0],
                # Thumbnails of the source's samples section: class grids, extremes, most crowded.
                "thumbnails": _thumbnails(report.path.read_text()),
            }
    return made


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.DOTALL)
    assert match, f"no {name} section"
    return match.group(1)


def _thumbnails(html: str) -> int:
    return _section(html, "samples").count('src="data:image/jpeg;base64,')


def _check_report(html_path: Path, json_path: Path, source: dict[str, Any], thumbnails: int) -> None:
    numbers = json.loads(json_path.read_text())
    statistics = numbers["statistics"][0]
    for key in SAME:
        assert statistics[key] == source[key], key
    assert "paths" not in statistics and "thumbnails" not in statistics
    assert numbers["duplicates"]["files"] == 0
    line = numbers["limits"]["duplicates_not_searched"]
    assert "not searched" in line and "train" in line
    html = html_path.read_text()
    assert line in _section(html, "limits")
    assert _thumbnails(html) == thumbnails > 0
    assert "not shown" not in html


@pytest.mark.parametrize("name", ["coco", "folder"])
def test_build_report_of_shards_counts_what_the_source_counts(shards: dict[str, Any], name: str) -> None:
    from visiondata.report import build_report
    from visiondata.shards import ShardDataset

    made = shards[name]
    dataset = ShardDataset(made["out"], split="train", shuffle_buffer=0)
    page, numbers = shards["root"] / f"{name}-shards.html", shards["root"] / f"{name}-shards.json"
    report = build_report({"train": dataset}, page, json_path=numbers, max_per_section=4)
    statistics = report.statistics[0]
    assert statistics.paths == []
    # Every listed sample has its thumbnail, kept while streaming; nothing else is kept.
    listed = {index for indices in statistics.samples_per_class.values() for index in indices}
    listed |= {entry["index"] for entry in statistics.smallest_boxes + statistics.largest_boxes}
    listed |= {entry["index"] for entry in statistics.most_crowded}
    assert set(statistics.thumbnails) == listed
    # cat: photos 0, 2, 4, 6; dog: 1, 3, 5 (each image's classes in the detection set; 4 has no box).
    per_class = {"coco": {"cat": 3, "dog": 3, "bird": 0}, "folder": {"cat": 4, "dog": 3, "bird": 0}}[name]
    assert {key: len(value) for key, value in statistics.samples_per_class.items()} == per_class
    assert "thumbnails" not in statistics.as_dict()
    _check_report(page, numbers, made["source"], made["thumbnails"])


def test_cli_reads_a_shard_folder_and_a_manifest(
    shards: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    made = shards["coco"]
    root = shards["root"]
    for argv, stem in (
        ([str(made["out"]), "--split", "train"], "by-folder"),
        ([str(made["out"] / "train.shards.json")], "by-manifest"),
        ([str(made["out"]), "--format", "shards"], "by-format"),
    ):
        page, numbers = root / f"{stem}.html", root / f"{stem}.json"
        assert main(["report", *argv, "-o", str(page), "--json", str(numbers), "--max-per-section", "4"]) == 0
        assert json.loads(numbers.read_text())["splits"] == ["train"]
        _check_report(page, numbers, made["source"], made["thumbnails"])
    assert f"{IMAGES} images in 1 split" in capsys.readouterr().out


def test_cli_errors_are_one_line(shards: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    out = shards["coco"]["out"]
    page = str(shards["root"] / "error.html")
    for argv, expected in (
        ([str(out), "--split", "val"], "val.shards.json"),
        ([str(out / "train.shards.json"), "--split", "val"], "the manifest of 'train'"),
        ([str(out / "train-000000.tar"), "--format", "shards"], "expected a <split>.shards.json manifest"),
    ):
        capsys.readouterr()
        assert main(["report", *argv, "-o", page]) == 1
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and expected in error, error
    assert not Path(page).exists()


@pytest.mark.parametrize("seed", [0, 1])
def test_thumbnails_kept_while_streaming_are_bounded(seed: int) -> None:
    """However long the stream, the kept thumbnails stay bounded, and the final lists find theirs."""
    import numpy as np

    from visiondata.report._stats import _evenly, _Kept

    rng = np.random.default_rng(seed)
    per_class, extremes, classes = 3, 4, 5
    kept = _Kept(per_class, extremes, 16)
    most = 0
    areas_all: list[tuple[float, int]] = []
    images_of: list[list[int]] = [[] for _ in range(classes)]
    counts: list[int] = []
    for index in range(3000):
        boxes = int(rng.integers(0, 4))
        areas = rng.integers(1, 50, boxes).astype(
            np.float64
        )  # ties: the earlier box wins, as in the statistics
        present = np.unique(rng.integers(0, classes, boxes)) if boxes else np.zeros(0, dtype=np.int64)
        for position in present.tolist():
            images_of[position].append(index)
        kept.add(index, present, areas, len(areas_all), boxes, lambda: object())
        areas_all.extend((area, index) for area in areas.tolist())
        counts.append(boxes)
        most = max(most, len(kept.thumbnails))
    assert most <= classes * (2 * per_class + 1) + 3 * extremes
    area = np.array([area for area, _ in areas_all])
    owner = np.array([index for _, index in areas_all])
    smallest = owner[np.argsort(area, kind="stable")[:extremes]]
    largest = owner[np.argsort(-area, kind="stable")[:extremes]]
    crowded = np.argsort(-np.array(counts), kind="stable")[:extremes]
    assert sorted(index for *_, index in kept.smallest) == sorted(smallest.tolist())
    assert sorted(index for *_, index in kept.largest) == sorted(largest.tolist())
    assert sorted(index for *_, index in kept.crowded) == sorted(crowded.tolist())
    for index in [*smallest.tolist(), *largest.tolist(), *crowded.tolist()]:
        assert index in kept.thumbnails
    for position in range(classes):
        chosen = kept.samples(position)
        assert len(chosen) == per_class and all(index in kept.thumbnails for index in chosen)
        # Spread over the whole stream, not only its start.
        assert chosen[-1] > images_of[position][len(images_of[position]) // 2]
        assert len(_evenly(len(images_of[position]), per_class)) == per_class


def test_progress_bar_while_streaming(shards: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from visiondata.report import collect_statistics
    from visiondata.shards import ShardDataset

    dataset = ShardDataset(shards["folder"]["out"], split="train", shuffle_buffer=0)
    statistics = collect_statistics(dataset, "train", progress=True, max_decoded=2)
    assert statistics.images == IMAGES and statistics.decoded == 2
    assert sum(statistics.images_per_class) == IMAGES

"""Segmentation masks in the dataset report: pixels and masks per class, void pixels, the pixel figure.

A mask folder of four photo-like JPEGs and palette-PNG masks whose class pixels are known exactly
(an empty class, void pixels of id 255), read as a folder, as a ``Subset``, as a generic dataset of
``{"mask": ...}`` targets, and as shards written from the folder: the numbers agree everywhere.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from visiondata.formats import SegmentationFolderDataset, voc_palette
from visiondata.report._stats import collect_statistics

HEIGHT, WIDTH = 24, 32
CLASSES = ["background", "cat", "dog", "bird"]  # bird: no pixel anywhere

# The exact counts of the masks `_masks` draws (768 pixels each).
PIXELS = [636 + 704 + 688 + 768, 100 + 50, 64 + 20, 0]
MASKS = [4, 2, 2, 0]
IGNORED = 32 + 10
IMBALANCE = round(PIXELS[0] / PIXELS[2], 3)


def _masks() -> list[np.ndarray]:
    first = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    first[:10, :10] = 1  # cat: 100
    first[-1, :] = 255  # void: 32
    second = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    second[8:16, 8:16] = 2  # dog: 64
    third = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    third[0:5, 0:10] = 1  # cat: 50
    third[10:12, 10:20] = 2  # dog: 20
    third[20, 0:10] = 255  # void: 10
    return [first, second, third, np.zeros((HEIGHT, WIDTH), dtype=np.uint8)]


def _photo(number: int) -> Any:
    """A smooth gradient with a few shapes: JPEG-compressible like a photo."""
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    pixels = np.stack([x * 7 + number * 30, y * 9, (x + y) * 4 + 40 * number], axis=-1) % 256
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4 + number, 3, 18 + number, 15), fill=(220, 60 + 30 * number, 40))
    draw.rectangle((20, 10 + number, 29, 20), fill=(30, 140, 200 - 20 * number))
    return image


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> SegmentationFolderDataset:
    from PIL import Image

    root = tmp_path_factory.mktemp("masks")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    palette = [channel for colour in voc_palette() for channel in colour]
    for number, ids in enumerate(_masks()):
        _photo(number).save(root / "images" / f"photo_{number}.jpg", quality=90)
        mask = Image.frombytes("P", (WIDTH, HEIGHT), ids.tobytes())
        mask.putpalette(palette)
        mask.save(root / "masks" / f"photo_{number}.png")
    return SegmentationFolderDataset(root / "images", root / "masks", classes=CLASSES)


def _check_numbers(numbers: dict[str, Any], images: int = 4) -> None:
    assert numbers["kind"] == "segmentation"
    assert numbers["images"] == images
    assert numbers["classes"] == CLASSES
    assert numbers["pixels_per_class"] == PIXELS
    assert numbers["images_per_class"] == MASKS
    assert numbers["ignored_pixels"] == IGNORED
    assert numbers["ignore_index"] == 255
    assert numbers["imbalance"] == IMBALANCE
    assert numbers["empty_classes"] == ["bird"]
    assert numbers["unreadable_masks"] == 0
    # Every pixel is a class pixel or a void one.
    assert sum(numbers["pixels_per_class"]) + numbers["ignored_pixels"] == images * HEIGHT * WIDTH
    assert numbers["samples_per_class"] == {
        "background": [0, 1, 2, 3],
        "cat": [0, 2],
        "dog": [1, 2],
        "bird": [],
    }


def test_folder_statistics_count_every_class_pixel(folder: SegmentationFolderDataset) -> None:
    statistics = collect_statistics(folder, "train", max_decoded=2)
    numbers = json.loads(json.dumps(statistics.as_dict()))
    _check_numbers(numbers)
    assert numbers["image_sizes"] == [{"width": WIDTH, "height": HEIGHT, "count": 4}]
    assert numbers["formats"] == {"jpeg": 4}
    assert not any("not computed" in note for note in numbers["notes"])
    assert any("void pixels (void id 255)" in note for note in numbers["notes"])


def test_subset_and_generic_datasets_give_the_same_counts(folder: SegmentationFolderDataset) -> None:
    from torch.utils.data import Subset

    subset = collect_statistics(Subset(folder, [2, 0]), "val", max_decoded=0).as_dict()
    assert subset["images_per_class"] == [2, 2, 1, 0]
    assert subset["pixels_per_class"] == [688 + 636, 150, 20, 0]
    assert subset["ignored_pixels"] == IGNORED
    assert subset["samples_per_class"]["dog"] == [0]  # position in the subset

    class Samples:
        """A catalog-style dataset: ``(image, {"mask", "image_id"})``, no files, ignore_index 255."""

        classes = CLASSES
        ignore_index = 255

        def __len__(self) -> int:
            return len(folder)

        def __getitem__(self, index: int) -> Any:
            return folder[index]

    generic = collect_statistics(Samples(), "train", max_decoded=2).as_dict()
    _check_numbers(generic)
    # Through a Subset of a generic dataset: the base's rows are selected, not re-read.
    picked = collect_statistics(Subset(Samples(), [3, 1]), "val", max_decoded=0).as_dict()
    assert picked["pixels_per_class"] == [768 + 704, 0, 64, 0]
    assert picked["images_per_class"] == [2, 0, 1, 0]
    assert picked["ignored_pixels"] == 0
    assert picked["empty_classes"] == ["cat", "bird"]


def test_unnamed_ids_are_numbered_up_to_the_largest_seen(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for number, ids in enumerate(_masks()[:2]):
        _photo(number).save(tmp_path / "images" / f"p{number}.jpg")
        Image.fromarray(ids, mode="L").save(tmp_path / "masks" / f"p{number}.png")
    numbers = collect_statistics(SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks")).as_dict()
    assert numbers["classes"] == ["0", "1", "2"]
    assert numbers["pixels_per_class"] == [636 + 704, 100, 64]
    assert numbers["ignored_pixels"] == 32
    assert numbers["imbalance"] == round(1340 / 64, 3)
    assert numbers["empty_classes"] == []


def test_figures_show_masks_and_pixel_shares(folder: SegmentationFolderDataset) -> None:
    from torch.utils.data import Subset

    from visiondata.report import render_figures

    splits = [
        collect_statistics(folder, "train", max_decoded=0),
        collect_statistics(Subset(folder, [1, 3]), "val", max_decoded=0),
    ]
    figures = {figure.key: figure for figure in render_figures(splits)}
    assert {"images_per_class", "pixels_per_class", "image_sizes"} <= set(figures)
    masks, pixels = figures["images_per_class"], figures["pixels_per_class"]
    assert masks.title == "Masks per class"
    assert masks.caption.startswith("Masks in which each of the 4 classes appears")
    assert pixels.title == "Pixels per class"
    assert f"imbalance {IMBALANCE:.3g}:1" in pixels.caption  # train
    assert "bird" in pixels.caption and "void" in pixels.caption
    assert f"{IGNORED:,} void pixels" in pixels.caption
    for figure in (masks, pixels):
        assert figure.svg.startswith("<svg") and figure.svg.rstrip().endswith("</svg>")
        assert len(figure.svg) < 300_000
        for name in ("train", "val", "background", "dog"):
            assert name in figure.svg  # splits side by side, classes on the axis (text kept as text)


def test_report_page_and_shards_give_the_same_numbers(
    folder: SegmentationFolderDataset, tmp_path: Path
) -> None:
    from visiondata.report import build_report
    from visiondata.shards import ShardDataset, write_shards

    page, numbers = tmp_path / "report.html", tmp_path / "report.json"
    build_report({"train": folder}, page, json_path=numbers, max_per_section=4, max_decoded=4)
    html = page.read_text()
    assert 'id="figure-pixels_per_class"' in html
    assert 'id="figure-images_per_class"' in html
    written = json.loads(numbers.read_text())
    _check_numbers(written["statistics"][0])
    assert "pixels_per_class" in [figure["key"] for figure in written["figures"]]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_shards(folder, tmp_path / "shards" / "train-%06d.tar", max_count=3)
    shards = ShardDataset(tmp_path / "shards", split="train", shuffle_buffer=0)
    streamed = collect_statistics(shards, "train", max_decoded=2, samples_per_class=8).as_dict()
    _check_numbers(streamed)
    shard_page = tmp_path / "shards.html"
    build_report({"train": shards}, shard_page, max_per_section=4)
    assert 'id="figure-pixels_per_class"' in shard_page.read_text()

"""``visiondata.report._plots.render_figures``: one self-contained SVG per plot, captions with the numbers."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from test_report_statistics import coco, photo, yolo

from visiondata.datasets import ImageFolderDataset
from visiondata.exceptions import MissingDependencyError
from visiondata.report._plots import Figure, render_figures
from visiondata.report._stats import SplitStatistics, collect_statistics

SVG = "{http://www.w3.org/2000/svg}"
DETECTION_KEYS = [
    "boxes_per_class",
    "images_per_class",
    "boxes_per_image",
    "box_size_px",
    "box_size_relative",
    "box_aspect",
    "centre_heatmap_train",
    "centre_heatmap_val",
    "image_sizes",
    "brightness_contrast",
]
CLASSIFICATION_KEYS = ["images_per_class", "image_sizes", "brightness_contrast"]


def assert_self_contained_svg(figure: Figure) -> None:
    root = ElementTree.fromstring(figure.svg)
    assert root.tag == f"{SVG}svg", figure.key
    assert not figure.svg.lstrip().startswith("<?xml") and "<!DOCTYPE" not in figure.svg
    # Every reference is inside the SVG (#id) or inline data: nothing for the browser to fetch.
    references = re.findall(r'(?:xlink:)?href="([^"]*)"', figure.svg)
    assert all(reference.startswith(("#", "data:")) for reference in references), (figure.key, references)
    assert 'href="http' not in figure.svg and "url(http" not in figure.svg
    drawn = [element for element in root.iter() if element.tag in (f"{SVG}path", f"{SVG}rect", f"{SVG}image")]
    assert len(drawn) > 5, figure.key
    assert len(figure.svg) < 300_000, (figure.key, len(figure.svg))
    assert figure.title and figure.caption.endswith(".")


@pytest.fixture(scope="module")
def detection(tmp_path_factory: pytest.TempPathFactory) -> list[SplitStatistics]:
    train = coco(tmp_path_factory.mktemp("train"), classes=["cat", "dog", "bird"])
    val = yolo(tmp_path_factory.mktemp("val"))
    return [collect_statistics(train, "train"), collect_statistics(val, "val")]


def test_detection_figures(detection: list[SplitStatistics]) -> None:
    figures = render_figures(detection)
    assert [figure.key for figure in figures] == DETECTION_KEYS
    for figure in figures:
        assert_self_contained_svg(figure)
    captions = {figure.key: figure.caption for figure in figures}
    # train: cat 3, dog 3, bird 1 -> 3:1; val has the empty class fish.
    assert "train: 7 boxes, imbalance 3:1 (most: cat 3, fewest: bird 1)" in captions["boxes_per_class"]
    assert "val: 7 boxes, imbalance undefined: 1 class without boxes (fish)" in captions["boxes_per_class"]
    assert "train: 4 images, imbalance 3:1" in captions["images_per_class"]
    assert "mean 1.8 boxes per image, at most 3, 1 image without boxes" in captions["boxes_per_image"]
    assert "over 7 boxes" in captions["box_size_px"] and "over 7 boxes" in captions["box_size_relative"]
    # Square: 16x16, 30x30, 28x28, 10x10, 4x4; wider: 8x4 and 60x28.
    assert (
        "train: of 7 boxes, 29% wider than tall, 71% about square (0.92-1.09), 0% taller"
        in captions["box_aspect"]
    )
    assert "16 x 16 cells over 7 boxes" in captions["centre_heatmap_val"]
    assert "4 distinct sizes" in captions["image_sizes"]
    assert "4 images decoded of 4" in captions["brightness_contrast"]
    # The heatmap is one embedded image, not 256 rectangles.
    assert "data:image/png;base64," in figures[DETECTION_KEYS.index("centre_heatmap_train")].svg
    # The splits are in each plot: both names in the legend text.
    per_class = ElementTree.fromstring(figures[0].svg)
    texts = "".join(element.text or "" for element in per_class.iter(f"{SVG}text"))
    assert "train" in texts and "val" in texts and "bird" in texts


def test_classification_figures(tmp_path: Path) -> None:
    for name, count in (("cat", 5), ("dog", 2)):
        (tmp_path / name).mkdir()
        for index in range(count):
            photo(40 + 8 * index, 30, index).save(tmp_path / name / f"{index}.jpg")
    statistics = collect_statistics(ImageFolderDataset(tmp_path), "train")
    figures = render_figures([statistics])
    assert [figure.key for figure in figures] == CLASSIFICATION_KEYS
    for figure in figures:
        assert_self_contained_svg(figure)
    assert "imbalance 2.5:1 (most: cat 5, fewest: dog 2)" in figures[0].caption
    assert "5 distinct sizes, most common 40x30 (2 images)" in figures[1].caption


def test_rendering_is_deterministic(detection: list[SplitStatistics]) -> None:
    first = [figure.svg for figure in render_figures(detection[:1])]
    second = [figure.svg for figure in render_figures(detection[:1])]
    assert first == second


def test_many_classes_draw_the_largest_and_smallest() -> None:
    classes = [f"class{index}" for index in range(200)]
    counts = [index + 1 for index in range(200)]
    statistics = SplitStatistics(
        "train", "classification", "x", sum(counts), classes, counts, imbalance=200.0
    )
    (figure,) = render_figures([statistics])
    assert (
        "50 largest and 50 smallest classes drawn" in figure.caption and "imbalance 200:1" in figure.caption
    )
    texts = [element.text for element in ElementTree.fromstring(figure.svg).iter(f"{SVG}text")]
    assert "class199" in texts and "class0" in texts and "class75" not in texts
    assert_self_contained_svg(figure)


def test_nothing_to_draw_gives_no_figures() -> None:
    assert render_figures([SplitStatistics("train", "segmentation", "x", 0, [])]) == []


def test_missing_matplotlib_names_the_report_extra(
    detection: list[SplitStatistics], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"visiondata\[report\]"):
        render_figures(detection)

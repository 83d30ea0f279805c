"""examples/keypoint_finetune.py and examples/segmentation_finetune.py (issue 20) run as written.

Their demo data are real photos (scikit-learn's ``flower.jpg`` and
``china.jpg``) with keypoints and mask polygons placed by hand; the tests
check that the labels lie on the right pixels, that the library's readers
take the files as written, and that a few training steps lower the loss and
raise the metric.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from visiondata.formats import CocoDetectionDataset, SegmentationFolderDataset
from visiondata.transforms import BoxPipeline

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("sklearn", reason="the demo data are cut from scikit-learn's photos")


def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread() -> Any:
    # As tests/test_examples.py: the figures do not move with the core count, and OpenMP spin-waits badly
    # on a loaded machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def keypoints_example() -> Any:
    return _example("keypoint_finetune")


@pytest.fixture(scope="module")
def segmentation_example() -> Any:
    return _example("segmentation_finetune")


@pytest.fixture(scope="module")
def flower_folder(keypoints_example: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keypoints") / "flower"
    keypoints_example.main(["--make-demo-data", str(folder)])
    return folder


@pytest.fixture(scope="module")
def mask_folder(segmentation_example: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("segmentation") / "photos"
    segmentation_example.main(["--make-demo-data", str(folder)])
    return folder


def _orange(pixel: np.ndarray) -> bool:
    """The dahlia's petals: red well above blue (the blurred leaves behind it are blue-green)."""
    red, _, blue = (int(channel) for channel in pixel)
    return red > blue + 40


# -- keypoints


def test_keypoint_demo_data_is_a_coco_keypoints_file_with_hand_placed_points_on_the_flower(
    flower_folder: Path,
) -> None:
    dataset = CocoDetectionDataset(flower_folder / "images", flower_folder / "annotations.json")
    assert len(dataset) == 6
    assert dataset.classes[1:] == ["flower"]
    assert dataset.keypoint_names == ["centre", "left_tip", "right_tip", "top_tip", "bottom_tip"]
    # COCO's 1-based skeleton read as 0-based pairs; the flip pair derived from the left_/right_ names.
    assert [tuple(pair) for pair in dataset.skeleton] == [(0, 1), (0, 2), (0, 3), (0, 4)]
    assert [tuple(pair) for pair in dataset.flip_pairs] == [(1, 2)]
    sizes = set()
    for index in range(len(dataset)):
        image, target = dataset[index]
        height, width = image.shape[-2:]
        sizes.add((height, width))
        assert 128 <= max(height, width) <= 192
        points = target["keypoints"]
        assert points.dtype == torch.float32 and points.shape == (1, 5, 3)
        (x, y, visibility), box = points[0].T, target["boxes"][0]
        assert visibility.tolist() == [2] * 5
        assert bool(((x >= box[0] - 1) & (x <= box[2] + 1) & (y >= box[1] - 1) & (y <= box[3] + 1)).all())
        # Mirrored crops swapped left_tip and right_tip: "left" is the image's left in every picture.
        assert x[1] < x[0] < x[2] and y[3] < y[0] < y[4]
        pixels = image.permute(1, 2, 0).numpy()
        # The centre lies on the orange flower, and a point beyond the left tip on the blue-green leaves.
        assert _orange(pixels[int(y[0]), int(x[0])])
        outside = int(x[1]) - 4
        if outside >= 0:
            assert not _orange(pixels[int(y[1]), outside])
    assert len(sizes) > 1  # crops of several sizes


def test_flip_pairs_keep_left_tip_on_the_left_through_the_example_pipeline(flower_folder: Path) -> None:
    dataset = CocoDetectionDataset(flower_folder / "images", flower_folder / "annotations.json")
    image, target = dataset[0]
    flip = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}], flip_pairs=dataset.flip_pairs)
    _, flipped = flip(image, target)
    before, after = target["keypoints"][0], flipped["keypoints"][0]
    width = image.shape[-1]
    # Each point is mirrored, and left_tip / right_tip trade places so that left stays left.
    assert after[1, 0] < after[0, 0] < after[2, 0]
    torch.testing.assert_close(after[1, 0], width - before[2, 0], atol=1.0, rtol=0)
    torch.testing.assert_close(after[:, 1], before[[0, 2, 1, 3, 4], 1])


def test_keypoint_example_trains_keypoint_rcnn_and_raises_keypoint_map(
    keypoints_example: Any, flower_folder: Path, tmp_path: Path, one_thread: None
) -> None:
    metrics = keypoints_example.main(
        ["--data", str(flower_folder), "--steps", "30", "--out", str(tmp_path / "run")]
    )
    assert metrics["steps"] == 30 and metrics["flip_pairs"] == [[1, 2]]
    losses = metrics["first_losses"] + metrics["last_losses"]
    assert all(math.isfinite(loss) for loss in losses)
    # Seeds 0-4, 30 steps: the last five losses sum to 0.55-0.65 of the first five (the keypoint loss alone
    # 0.59-0.68), and keypoint mAP rises from 0.000 to 0.414-0.757.
    assert sum(metrics["last_losses"]) < 0.8 * sum(metrics["first_losses"])
    assert sum(metrics["last_keypoint_losses"]) < 0.8 * sum(metrics["first_keypoint_losses"])
    assert 0.0 <= metrics["keypoint_map_before"] < 0.05
    assert metrics["keypoint_map_after"] <= 1.0
    assert metrics["keypoint_map_after"] > metrics["keypoint_map_before"] + 0.25
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics


# -- segmentation


def test_segmentation_demo_data_is_a_mask_folder_with_hand_drawn_classes_on_the_right_pixels(
    mask_folder: Path,
) -> None:
    dataset = SegmentationFolderDataset(mask_folder / "images", mask_folder / "masks")
    assert dataset.classes == ["background", "flower", "pagoda"]  # from classes.txt beside masks/
    assert len(dataset) == 8
    seen: set[int] = set()
    for index in range(len(dataset)):
        image, target = dataset[index]
        mask = target["mask"]
        assert mask.dtype == torch.int64 and mask.shape == image.shape[-2:]
        assert 128 <= max(mask.shape) <= 192
        ids = set(mask.unique().tolist())
        assert ids <= {0, 1, 2, 255}
        seen |= ids
        name = Path(dataset.paths[index]).name
        pixels = image.permute(1, 2, 0).numpy().astype(np.float32)
        if name.startswith("flower"):
            assert 2 not in ids
            flower, background = pixels[mask.numpy() == 1], pixels[mask.numpy() == 0]
            # The flower class covers orange petals; the background the blue-green leaves.
            assert flower[:, 0].mean() > flower[:, 2].mean() + 60
            assert background[:, 2].mean() > background[:, 0].mean()
        else:
            assert 1 not in ids
    assert seen == {0, 1, 2, 255}  # every class, and the void band along the outlines


def test_segmentation_example_trains_lraspp_past_the_majority_class(
    segmentation_example: Any, mask_folder: Path, tmp_path: Path, one_thread: None
) -> None:
    metrics = segmentation_example.main(
        ["--data", str(mask_folder), "--steps", "30", "--out", str(tmp_path / "run")]
    )
    losses = metrics["first_losses"] + metrics["last_losses"]
    assert all(math.isfinite(loss) for loss in losses)
    assert sum(metrics["last_losses"]) < 0.5 * sum(metrics["first_losses"])  # 0.09-0.33 over seeds 0-4
    # Seeds 0-4, 30 steps: mIoU 0.908-0.952 after, 0.117-0.272 before, 0.223 for the majority class (and
    # 0.804-0.896 on crops it never saw: examples/segmentation_finetune.py --eval-data).
    assert metrics["miou_after"] > metrics["miou_majority_class"] + 0.4
    assert metrics["miou_after"] > metrics["miou_before"] + 0.4
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics

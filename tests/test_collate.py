"""The collate layouts against their consumers; None samples, pickling, DataLoader workers, to_device."""

from __future__ import annotations

import functools
import math
import pickle
import warnings
from collections import OrderedDict, defaultdict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors

from visiondata.collate import (
    CollatedBatch,
    detection_collate,
    padded_boxes_collate,
    padded_collate,
    to_device,
    yolo_collate,
)
from visiondata.exceptions import SkippedSampleWarning
from visiondata.models import create_model

Collate = Callable[..., Any]
ALL_COLLATES: list[Collate] = [detection_collate, padded_collate, yolo_collate, padded_boxes_collate]
COLLATE_IDS = ["detection", "padded", "yolo", "padded_boxes"]

# A namedtuple batch, for to_device (module level, so that it pickles).
Extra = namedtuple("Extra", ["images", "note"])

# ---------------------------------------------------------------- helpers


def image(height: int, width: int, seed: int = 0, channels: int = 3) -> tv_tensors.Image:
    """A float ``tv_tensors.Image`` of random values in [0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    return tv_tensors.Image(torch.rand(channels, height, width, generator=generator))


def boxes(
    rows: list[list[float]], height: int, width: int, box_format: str = "XYXY"
) -> tv_tensors.BoundingBoxes:
    return tv_tensors.BoundingBoxes(
        torch.tensor(rows, dtype=torch.float32).reshape(-1, 4), format=box_format, canvas_size=(height, width)
    )


def pair(height: int, width: int, rows: list[list[float]], labels: list[int], seed: int = 0) -> Any:
    """An ``(image, target)`` detection sample."""
    target = {"boxes": boxes(rows, height, width), "labels": torch.tensor(labels, dtype=torch.int64)}
    return image(height, width, seed), target


def same_size_batch() -> list[Any]:
    """Three 40 x 60 samples with 2, 0 and 3 boxes (a pair, an empty pair, a dict sample)."""
    first = pair(40, 60, [[0, 0, 30, 20], [10, 5, 60, 40]], [1, 2], seed=1)
    empty = (image(40, 60, seed=2), {})
    third_image, third_target = pair(40, 60, [[5, 5, 15, 25], [0, 30, 6, 40], [20, 10, 44, 16]], [2, 1, 2], 3)
    return [first, empty, {"image": third_image, **third_target}]


def mixed_size_batch() -> list[Any]:
    """Three samples of different sizes: a pair, a dict sample, an image without boxes."""
    first = pair(48, 40, [[2, 3, 30, 40], [10, 10, 20, 20]], [1, 2], seed=1)
    second_image, second_target = pair(36, 56, [[0, 0, 56, 36]], [2], seed=2)
    dict_sample = {"image": second_image, **second_target}
    return [first, dict_sample, (image(64, 32, seed=3), {"image_id": 7})]


def walk(value: Any, path: str = "batch") -> Iterator[tuple[str, Any]]:
    """Every leaf of a nested batch, with its path."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            yield from walk(item, f"{path}[{position}]")
    else:
        yield path, value


def assert_same_structure(moved: Any, original: Any, device_type: str, path: str = "batch") -> None:
    """``moved`` has the types, keys, metadata and values of ``original``; tensors on ``device_type``."""
    assert type(moved) is type(original), f"{path}: {type(moved).__name__} != {type(original).__name__}"
    if isinstance(original, torch.Tensor):
        assert moved.device.type == device_type, f"{path} is on {moved.device}"
        assert moved.shape == original.shape and moved.dtype == original.dtype, path
        if isinstance(original, tv_tensors.BoundingBoxes):
            assert moved.format == original.format and moved.canvas_size == original.canvas_size, path
        if device_type != "meta":
            assert torch.equal(moved.as_subclass(torch.Tensor), original.as_subclass(torch.Tensor)), path
    elif isinstance(original, dict):
        assert list(moved) == list(original), path
        for key in original:
            assert_same_structure(moved[key], original[key], device_type, f"{path}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        assert len(moved) == len(original), path
        for position, (left, right) in enumerate(zip(moved, original)):
            assert_same_structure(left, right, device_type, f"{path}[{position}]")
    else:
        assert moved == original, path
    if isinstance(original, CollatedBatch):
        assert moved.skipped == original.skipped, path


def assert_equal_batches(left: Any, right: Any) -> None:
    """Two batches are equal: same structure and types, equal tensors (on the CPU)."""
    assert_same_structure(left, right, "cpu")


# ---------------------------------------------------------------- detection_collate


def test_detection_collate_keeps_images_targets_and_types() -> None:
    batch = mixed_size_batch()
    images, targets = result = detection_collate(batch)
    assert isinstance(result, CollatedBatch) and result.skipped == 0 and len(result) == 2
    assert [tuple(item.shape) for item in images] == [(3, 48, 40), (3, 36, 56), (3, 64, 32)]
    assert all(type(item) is tv_tensors.Image for item in images)
    assert images[0] is batch[0][0] and images[1] is batch[1]["image"]
    # Targets keep every key and the boxes their type; the dict sample's target has no "image".
    assert targets[0]["boxes"] is batch[0][1]["boxes"] and targets[0]["labels"] is batch[0][1]["labels"]
    assert set(targets[1]) == {"boxes", "labels"}
    assert isinstance(targets[1]["boxes"], tv_tensors.BoundingBoxes)
    assert targets[1]["boxes"].tolist() == [[0.0, 0.0, 56.0, 36.0]]
    # The image without boxes gets (0, 4) boxes on its own canvas and empty int64 labels.
    empty = targets[2]
    assert empty["image_id"] == 7
    assert isinstance(empty["boxes"], tv_tensors.BoundingBoxes) and empty["boxes"].shape == (0, 4)
    assert empty["boxes"].canvas_size == (64, 32)
    assert empty["labels"].dtype == torch.int64 and empty["labels"].shape == (0,)
    # The samples' own target dicts are not modified.
    assert "boxes" not in batch[2][1]


def test_detection_collate_makes_empty_labels_int64_and_accepts_a_none_target() -> None:
    samples = [
        (image(8, 8), {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}),
        (image(8, 8), None),
        [image(8, 8), {"labels": torch.tensor([], dtype=torch.float32)}],
    ]
    _, targets = detection_collate(samples)
    for target in targets:
        assert target["boxes"].shape == (0, 4) and target["boxes"].dtype == torch.float32
        assert target["labels"].dtype == torch.int64 and target["labels"].numel() == 0


@pytest.mark.parametrize("kind", ["list", "numpy"])
def test_detection_collate_converts_list_and_numpy_boxes(kind: str) -> None:
    rows = [[0.0, 0.0, 2.0, 2.0]]
    plain = rows if kind == "list" else np.array(rows, dtype=np.float32)
    _, targets = detection_collate([(image(4, 4), {"boxes": plain, "labels": [1]})])
    assert targets[0]["boxes"].dtype == torch.float32 and targets[0]["boxes"].tolist() == rows
    assert targets[0]["labels"].dtype == torch.int64


@pytest.fixture(scope="module")
def faster_rcnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        num_classes=3,
        weights=None,
        weights_backbone=None,
        min_size=64,
        max_size=64,
    )


def test_detection_collate_trains_faster_rcnn(faster_rcnn: torch.nn.Module) -> None:
    images, targets = detection_collate(mixed_size_batch())
    faster_rcnn.train()
    faster_rcnn.zero_grad(set_to_none=True)
    losses = faster_rcnn(images, targets)
    assert isinstance(losses, dict)
    assert {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"} <= set(losses)
    for name, loss in losses.items():
        assert loss.ndim == 0 and torch.isfinite(loss), (name, loss)
    total = sum(losses.values())
    total.backward()
    gradients = [p.grad for p in faster_rcnn.parameters() if p.requires_grad and p.grad is not None]
    assert gradients, "no parameter received a gradient"
    assert all(torch.isfinite(gradient).all() for gradient in gradients)
    assert any(gradient.abs().sum() > 0 for gradient in gradients)
    faster_rcnn.zero_grad(set_to_none=True)


def test_detection_collate_feeds_faster_rcnn_inference(faster_rcnn: torch.nn.Module) -> None:
    samples = mixed_size_batch()
    images, _ = detection_collate(samples)
    # Each image as its sample gave it, at its own size: the detector scales its boxes back to that size.
    originals = [samples[0][0], samples[1]["image"], samples[2][0]]
    assert [tuple(image.shape) for image in images] == [(3, 48, 40), (3, 36, 56), (3, 64, 32)]
    assert all(torch.equal(image, original) for image, original in zip(images, originals))
    faster_rcnn.eval()
    threshold = faster_rcnn.roi_heads.score_thresh
    faster_rcnn.roi_heads.score_thresh = 0.0  # random weights: keep every detection, so there are boxes
    try:
        with torch.no_grad():
            predictions = faster_rcnn(images)
    finally:
        faster_rcnn.train()
        faster_rcnn.roi_heads.score_thresh = threshold
    assert len(predictions) == len(images)
    for image, prediction in zip(images, predictions):
        height, width = image.shape[-2:]
        boxes = prediction["boxes"]
        assert len(boxes) > 0
        # In the frame of this image, not of the padded batch the model ran on.
        assert boxes[:, 0::2].max() <= width and boxes[:, 1::2].max() <= height
    # The tall narrow image's boxes reach past the others' widths only if it kept its own size.
    assert predictions[2]["boxes"][:, 1::2].max() > 48


# ---------------------------------------------------------------- padded_collate


@pytest.mark.parametrize("size_divisor", [1, 7, 32])
def test_padded_collate_mask_is_exactly_the_padding(size_divisor: int) -> None:
    batch = mixed_size_batch()
    out = padded_collate(batch, size_divisor=size_divisor, pad_value=-2.5)
    sizes = [(48, 40), (36, 56), (64, 32)]
    height = math.ceil(64 / size_divisor) * size_divisor
    width = math.ceil(56 / size_divisor) * size_divisor
    assert height % size_divisor == 0 and width % size_divisor == 0
    assert out["images"].shape == (3, 3, height, width) and type(out["images"]) is torch.Tensor
    assert out["mask"].shape == (3, height, width) and out["mask"].dtype == torch.bool
    assert out["image_sizes"] == sizes
    assert out["skipped"] == 0
    originals = [batch[0][0], batch[1]["image"], batch[2][0]]
    for position, ((h, w), original) in enumerate(zip(sizes, originals)):
        expected = torch.ones(height, width, dtype=torch.bool)
        expected[:h, :w] = False
        assert torch.equal(out["mask"][position], expected), position
        assert torch.equal(out["images"][position, :, :h, :w], original.as_subclass(torch.Tensor))
        padding = out["images"][position][:, expected]
        assert (padding == -2.5).all(), position
    # Images sit at the top left, so boxes are unchanged (the very tensors).
    assert out["targets"][0]["boxes"] is batch[0][1]["boxes"]
    assert out["targets"][1]["boxes"] is batch[1]["boxes"]
    assert out["targets"][2]["boxes"].shape == (0, 4)


def test_padded_collate_default_divisor_and_dtype() -> None:
    samples = [
        (torch.full((1, 30, 40), 7, dtype=torch.uint8), {}),
        (torch.full((1, 50, 20), 9, dtype=torch.uint8), {}),
    ]
    out = padded_collate(samples)
    assert out["images"].shape == (2, 1, 64, 64) and out["images"].dtype == torch.uint8
    assert out["images"][0, 0, 29, 39] == 7 and out["images"][0, 0, 30, 39] == 0
    assert not out["mask"][0, 29, 39] and out["mask"][0, 29, 40] and out["mask"][1, 50, 0]


@pytest.mark.parametrize(
    ("second", "named"),
    [
        (torch.zeros(1, 8, 8), ["(3, 8, 8) torch.float32", "(1, 8, 8) torch.float32"]),
        (torch.zeros(3, 8, 8, dtype=torch.uint8), ["(3, 8, 8) torch.float32", "(3, 8, 8) torch.uint8"]),
    ],
    ids=["channels", "dtype"],
)
def test_padded_collate_rejects_mismatched_images_naming_them(second: torch.Tensor, named: list[str]) -> None:
    with pytest.raises(ValueError, match="padded_collate: expected images with the same channels") as error:
        padded_collate([(torch.zeros(3, 8, 8), {}), (second, {})])
    for text in named:
        assert text in str(error.value)


@pytest.mark.parametrize("size_divisor", [0, -32, 2.5, "32", None])
def test_padded_collate_rejects_a_bad_size_divisor(size_divisor: Any) -> None:
    with pytest.raises(ValueError, match=r"size_divisor: expected a positive int, got"):
        padded_collate([(torch.zeros(3, 8, 8), {})], size_divisor=size_divisor)


# ---------------------------------------------------------------- yolo_collate


def yolo_back_to_xyxy(row: torch.Tensor, height: int, width: int) -> list[float]:
    """Pixel corners of one ``[batch_index, class, cx, cy, w, h]`` row, converted by hand."""
    _, _, cx, cy, w, h = row.tolist()
    return [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]


@pytest.mark.parametrize("first_label", [0, 1])
def test_yolo_collate_rows_reproduce_every_box(first_label: int) -> None:
    batch = same_size_batch()
    images, table = result = yolo_collate(batch, first_label=first_label)
    assert isinstance(result, CollatedBatch) and result.skipped == 0
    assert images.shape == (3, 3, 40, 60) and type(images) is torch.Tensor
    assert torch.equal(images[2], batch[2]["image"].as_subclass(torch.Tensor))
    assert table.dtype == torch.float32 and table.shape == (5, 6)
    targets = [batch[0][1], {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}, batch[2]]
    # Rows come image by image; the image without boxes contributes none.
    assert table[:, 0].tolist() == [0, 0, 2, 2, 2]
    for position, target in enumerate(targets):
        rows = table[table[:, 0] == position]
        assert rows[:, 1].tolist() == [label - first_label for label in target["labels"].tolist()]
        back = [yolo_back_to_xyxy(row, 40, 60) for row in rows]
        torch.testing.assert_close(
            torch.tensor(back).reshape(-1, 4), target["boxes"].as_subclass(torch.Tensor)
        )
        assert ((rows[:, 2:] >= 0) & (rows[:, 2:] <= 1)).all()


def test_yolo_collate_numbers_by_hand() -> None:
    sample = (
        torch.zeros(3, 10, 20),
        {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([2])},
    )
    _, table = yolo_collate([sample, sample], first_label=1)
    assert table.tolist() == [[0.0, 1.0, 0.25, 0.5, 0.5, 1.0], [1.0, 1.0, 0.25, 0.5, 0.5, 1.0]]


@pytest.mark.parametrize(
    ("box_format", "rows"),
    [("XYWH", [[10, 5, 20, 30], [0, 0, 60, 40]]), ("CXCYWH", [[20, 20, 20, 30], [30, 20, 60, 40]])],
)
def test_yolo_collate_converts_bounding_box_formats(box_format: str, rows: list[list[float]]) -> None:
    xyxy = [[10, 5, 30, 35], [0, 0, 60, 40]]  # both parametrisations describe these corners
    labels = torch.tensor([1, 2])
    formatted = (image(40, 60), {"boxes": boxes(rows, 40, 60, box_format), "labels": labels})
    reference = (image(40, 60), {"boxes": boxes(xyxy, 40, 60), "labels": labels})
    _, table = yolo_collate([formatted])
    _, expected = yolo_collate([reference])
    torch.testing.assert_close(table, expected)
    back = [yolo_back_to_xyxy(row, 40, 60) for row in table]
    torch.testing.assert_close(torch.tensor(back), torch.tensor(xyxy, dtype=torch.float32))


def test_yolo_collate_empty_targets_give_no_rows() -> None:
    images, table = yolo_collate([(image(8, 8), {}), (image(8, 8), {"boxes": torch.zeros(0, 4)})])
    assert images.shape == (2, 3, 8, 8)
    assert table.shape == (0, 6) and table.dtype == torch.float32


def test_yolo_collate_refuses_images_of_different_sizes_naming_them_and_the_fix() -> None:
    batch = [pair(40, 60, [[0, 0, 4, 4]], [1]), pair(32, 60, [], []), pair(40, 60, [], [])]
    with pytest.raises(ValueError, match="yolo_collate: expected images of one size") as error:
        yolo_collate(batch)
    message = str(error.value)
    for text in ("2 sizes", "32x60", "40x60", "Resize", "LongestMaxSize", "PadIfNeeded"):
        assert text in message, (text, message)


# ---------------------------------------------------------------- padded_boxes_collate


def test_padded_boxes_collate_marks_valid_boxes_and_pads_labels() -> None:
    batch = same_size_batch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = padded_boxes_collate(batch)
    assert out["boxes"].shape == (3, 3, 4) and out["boxes"].dtype == torch.float32
    assert out["labels"].shape == (3, 3) and out["labels"].dtype == torch.int64
    assert out["valid"].dtype == torch.bool
    assert out["valid"].sum(dim=1).tolist() == [2, 0, 3]
    assert out["labels"].tolist() == [[1, 2, -1], [-1, -1, -1], [2, 1, 2]]
    assert (out["labels"][~out["valid"]] == -1).all() and (out["boxes"][~out["valid"]] == 0).all()
    assert torch.equal(out["boxes"][0, :2], batch[0][1]["boxes"].as_subclass(torch.Tensor))
    assert torch.equal(out["boxes"][2], batch[2]["boxes"].as_subclass(torch.Tensor))
    assert out["images"].shape == (3, 3, 40, 60) and out["image_sizes"] == [(40, 60)] * 3
    assert out["truncated"] == [] and out["skipped"] == 0


def test_padded_boxes_collate_converts_formats_to_xyxy() -> None:
    sample = (image(40, 60), {"boxes": boxes([[10, 5, 20, 30]], 40, 60, "XYWH"), "labels": torch.tensor([1])})
    out = padded_boxes_collate([sample])
    assert out["boxes"].tolist() == [[[10.0, 5.0, 30.0, 35.0]]]


def test_padded_boxes_collate_max_boxes_fixes_the_shape() -> None:
    out = padded_boxes_collate(same_size_batch(), max_boxes=5)
    assert out["boxes"].shape == (3, 5, 4) and out["labels"].shape == (3, 5) and out["valid"].shape == (3, 5)
    assert out["valid"].sum(dim=1).tolist() == [2, 0, 3] and out["truncated"] == []


def test_padded_boxes_collate_max_boxes_cuts_and_reports() -> None:
    batch = same_size_batch()
    with pytest.warns(SkippedSampleWarning, match=r"max_boxes=2 cut 1 boxes from 1 images"):
        out = padded_boxes_collate(batch, max_boxes=2)
    assert out["truncated"] == [{"sample": 2, "boxes": 3, "kept": 2}]
    assert out["boxes"].shape == (3, 2, 4) and out["valid"].sum(dim=1).tolist() == [2, 0, 2]
    assert torch.equal(out["boxes"][2], batch[2]["boxes"][:2].as_subclass(torch.Tensor))
    assert out["labels"][2].tolist() == [2, 1]


def test_padded_boxes_collate_max_boxes_zero() -> None:
    with pytest.warns(SkippedSampleWarning, match=r"max_boxes=0 cut 5 boxes from 2 images"):
        out = padded_boxes_collate(same_size_batch(), max_boxes=0)
    assert out["boxes"].shape == (3, 0, 4) and out["labels"].shape == (3, 0) and out["valid"].shape == (3, 0)
    assert out["truncated"] == [{"sample": 0, "boxes": 2, "kept": 0}, {"sample": 2, "boxes": 3, "kept": 0}]


@pytest.mark.parametrize("max_boxes", [-1, 1.5, "4"])
def test_padded_boxes_collate_rejects_a_bad_max_boxes(max_boxes: Any) -> None:
    with pytest.raises(ValueError, match=r"max_boxes: expected an int >= 0 or None"):
        padded_boxes_collate(same_size_batch(), max_boxes=max_boxes)


def test_padded_boxes_collate_pads_images_of_different_sizes() -> None:
    batch = mixed_size_batch()
    out = padded_boxes_collate(batch, pad_value=3.0)
    assert out["images"].shape == (3, 3, 64, 56)
    assert out["image_sizes"] == [(48, 40), (36, 56), (64, 32)]
    assert torch.equal(out["images"][1, :, :36, :56], batch[1]["image"].as_subclass(torch.Tensor))
    assert (out["images"][1, :, 36:, :] == 3.0).all() and (out["images"][2, :, :, 32:] == 3.0).all()
    assert out["valid"].sum(dim=1).tolist() == [2, 1, 0]


# ---------------------------------------------------------------- None samples and wrong types


def skipped_of(result: Any) -> int:
    return result.skipped if isinstance(result, CollatedBatch) else result["skipped"]


def batch_size_of(result: Any) -> int:
    if isinstance(result, CollatedBatch):
        return len(result[0])
    return len(result["images"])


@pytest.mark.parametrize("collate", ALL_COLLATES, ids=COLLATE_IDS)
def test_none_samples_raise_by_default(collate: Collate) -> None:
    batch = same_size_batch()
    with pytest.raises(ValueError, match=r"sample 1 of the batch is None; pass skip_none=True"):
        collate([batch[0], None, batch[2]])


@pytest.mark.parametrize("collate", ALL_COLLATES, ids=COLLATE_IDS)
def test_skip_none_leaves_out_and_counts(collate: Collate) -> None:
    batch = same_size_batch()
    skipping = functools.partial(collate, skip_none=True)
    with pytest.warns(SkippedSampleWarning, match=r"skipped 2 None samples of a batch of 4"):
        result = skipping([None, batch[0], None, batch[2]])
    assert skipped_of(result) == 2 and batch_size_of(result) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert skipped_of(skipping(batch)) == 0
    with pytest.warns(SkippedSampleWarning, match=r"skipped 2 None samples of a batch of 2"):
        assert skipped_of(skipping([None, None])) == 2


def test_skipped_batch_equals_the_batch_without_the_nones() -> None:
    batch = same_size_batch()
    with pytest.warns(SkippedSampleWarning):
        skipped = yolo_collate([batch[0], None, batch[2]], skip_none=True)
    kept = yolo_collate([batch[0], batch[2]])
    assert torch.equal(skipped[0], kept[0]) and torch.equal(skipped[1], kept[1])
    assert skipped.skipped == 1 and kept.skipped == 0


@pytest.mark.parametrize("collate", ALL_COLLATES, ids=COLLATE_IDS)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.zeros(3, 40, 60), "sample 1 is a Tensor; expected (image, target) or a dict with 'image'"),
        ((torch.zeros(3, 40, 60), {}, {}), "sample 1 is a tuple; expected (image, target)"),
        (
            {"boxes": torch.zeros(0, 4)},
            "sample 1: expected a dict with an 'image' key, got the keys ['boxes']",
        ),
        ((torch.zeros(3, 40, 60), [1, 2]), "sample 1 has a list target; expected a dict"),
        ((np.zeros((40, 60, 3)), {}), "sample 1's image is a ndarray; expected a C x H x W tensor"),
    ],
    ids=["tensor", "triple", "dict-without-image", "list-target", "numpy-image"],
)
def test_wrong_sample_types_raise_naming_the_position(collate: Collate, bad: Any, message: str) -> None:
    batch = same_size_batch()
    with pytest.raises(TypeError) as error:
        collate([batch[0], bad, batch[2]], skip_none=True)
    assert message in str(error.value)
    assert str(error.value).startswith(collate.__name__ + ":")


# ---------------------------------------------------------------- pickling and DataLoader workers

PICKLABLE: list[Collate] = [*ALL_COLLATES, functools.partial(padded_collate, size_divisor=16)]
PICKLABLE_IDS = [*COLLATE_IDS, "partial-padded"]


@pytest.mark.parametrize("collate", PICKLABLE, ids=PICKLABLE_IDS)
def test_collates_pickle(collate: Collate) -> None:
    loaded = pickle.loads(pickle.dumps(collate))
    batch = same_size_batch()
    assert_equal_batches(loaded(batch), collate(batch))


def test_partial_options_survive_pickling() -> None:
    loaded = pickle.loads(pickle.dumps(functools.partial(padded_collate, size_divisor=16)))
    assert loaded([(torch.zeros(3, 17, 5), {})])["images"].shape == (1, 3, 32, 16)


def test_collated_batch_pickles_and_unpacks_as_a_pair() -> None:
    with pytest.warns(SkippedSampleWarning):
        batch = detection_collate([*same_size_batch(), None], skip_none=True)
    loaded = pickle.loads(pickle.dumps(batch))
    assert type(loaded) is CollatedBatch and loaded.skipped == 1 and len(loaded) == 2
    images, targets = loaded
    assert len(images) == 3 and len(targets) == 3
    assert type(images[0]) is tv_tensors.Image and isinstance(targets[0]["boxes"], tv_tensors.BoundingBoxes)
    assert_equal_batches(loaded, batch)


class SameSizeSamples(Dataset):
    """Four 40 x 60 samples with 2, 0, 3 and 2 boxes."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> Any:
        samples = same_size_batch()
        return samples[index] if index < 3 else pair(40, 60, [[1, 2, 3, 4], [5, 6, 7, 8]], [2, 2], seed=9)


@pytest.mark.parametrize("collate", PICKLABLE, ids=PICKLABLE_IDS)
def test_collates_work_in_dataloader_workers(collate: Collate) -> None:
    dataset = SameSizeSamples()
    loader = DataLoader(
        dataset, batch_size=2, num_workers=2, collate_fn=collate, multiprocessing_context="fork"
    )
    batches = list(loader)
    assert len(batches) == 2
    for start, batch in zip((0, 2), batches):
        assert_equal_batches(batch, collate([dataset[start], dataset[start + 1]]))


# ---------------------------------------------------------------- to_device


def every_layout() -> dict[str, Any]:
    """A batch of each layout (tuple layouts with a skipped sample), a namedtuple and nested plain dicts."""
    batch = same_size_batch()
    with pytest.warns(SkippedSampleWarning):
        detection = detection_collate([*batch, None], skip_none=True)
    with pytest.warns(SkippedSampleWarning):
        yolo = yolo_collate([None, *batch], skip_none=True)
    with pytest.warns(SkippedSampleWarning):
        dense = padded_boxes_collate(batch, max_boxes=1)
    return {
        "detection": detection,
        "padded": padded_collate(batch),
        "yolo": yolo,
        "padded_boxes": dense,
        "namedtuple": Extra(images=[torch.ones(2)], note="kept"),
        "plain": {
            "nested": {"values": [torch.arange(3), (torch.zeros(1, dtype=torch.bool), 4.5)]},
            "name": "x",
        },
        "ordered": OrderedDict(a=torch.ones(1), b=None),
    }


@pytest.mark.parametrize(
    "name", ["detection", "padded", "yolo", "padded_boxes", "namedtuple", "plain", "ordered"]
)
def test_to_device_cpu_keeps_structure_and_types(name: str) -> None:
    original = every_layout()[name]
    assert_same_structure(to_device(original, "cpu"), original, "cpu")
    assert_same_structure(to_device(original, torch.device("cpu"), non_blocking=False), original, "cpu")


@pytest.mark.parametrize(
    "name", ["detection", "padded", "yolo", "padded_boxes", "namedtuple", "plain", "ordered"]
)
def test_to_device_moves_every_tensor(name: str) -> None:
    original = every_layout()[name]
    moved = to_device(original, torch.device("meta"))
    assert_same_structure(moved, original, "meta")
    tensors = [(path, leaf) for path, leaf in walk(moved) if isinstance(leaf, torch.Tensor)]
    assert tensors
    assert all(leaf.device.type == "meta" for _, leaf in tensors), [
        p for p, t in tensors if t.device.type != "meta"
    ]
    # The originals stay where they were.
    assert all(leaf.device.type == "cpu" for _, leaf in walk(original) if isinstance(leaf, torch.Tensor))


def test_to_device_keeps_collated_batch_metadata() -> None:
    layouts = every_layout()
    moved = to_device(layouts["detection"], "meta")
    assert type(moved) is CollatedBatch and moved.skipped == 1
    images, targets = moved
    assert type(images[0]) is tv_tensors.Image and images[0].device.type == "meta"
    assert targets[0]["boxes"].canvas_size == (40, 60) and targets[0]["boxes"].device.type == "meta"
    assert to_device(layouts["yolo"], "meta").skipped == 1
    dense = to_device(layouts["padded_boxes"], "meta")
    assert dense["truncated"] == layouts["padded_boxes"]["truncated"] and dense["skipped"] == 0


def test_to_device_keeps_a_defaultdict() -> None:
    batch = defaultdict(list, images=torch.ones(2))
    moved = to_device(batch, "meta")
    assert type(moved) is defaultdict and moved.default_factory is list
    assert moved["images"].device.type == "meta"

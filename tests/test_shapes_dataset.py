"""The synthetic ``shapes`` detection dataset: determinism, splits, exact boxes, schema, writers."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

import visiondata as vd
from visiondata.datasets._shapes import SHAPE_NAMES, SPLIT_COUNTS, ShapesDataset, shapes
from visiondata.exceptions import UnknownSplitError

SMALL = (64, 80)  # height != width, so a swapped axis shows


def digest(image: torch.Tensor) -> str:
    return hashlib.sha1(image.numpy().tobytes()).hexdigest()


def tight_box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def test_a_sample_is_a_function_of_seed_split_and_index() -> None:
    first, again = ShapesDataset(size=SMALL, count=8), ShapesDataset(size=SMALL, count=8)
    for index in (0, 5, -1):
        image, target = first[index]
        image_2, target_2 = again[index]
        assert torch.equal(image, image_2) and torch.equal(image, first[index][0])
        assert torch.equal(target["boxes"], target_2["boxes"])
        assert torch.equal(target["labels"], target_2["labels"])
    assert first[-1][1]["image_id"] == 7
    other_seed = ShapesDataset(size=SMALL, count=8, seed=1)
    assert all(not torch.equal(first[index][0], other_seed[index][0]) for index in range(8))
    assert len({digest(first[index][0]) for index in range(8)}) == 8  # no two indexes alike


def test_splits_are_disjoint_and_have_their_default_counts() -> None:
    digests = {
        split: {digest(ShapesDataset(split, size=SMALL, count=30)[index][0]) for index in range(30)}
        for split in ("train", "val", "test")
    }
    assert digests["train"].isdisjoint(digests["val"])
    assert digests["train"].isdisjoint(digests["test"])
    assert digests["val"].isdisjoint(digests["test"])
    assert {split: len(ShapesDataset(split)) for split in SPLIT_COUNTS} == SPLIT_COUNTS
    assert ShapesDataset("validation").split == "val"


def test_every_box_is_the_tight_box_of_the_pixels_its_shape_shows() -> None:
    dataset = ShapesDataset(size=SMALL, count=60, masks=True)
    overlapping = 0
    for index in range(len(dataset)):
        image, target = dataset[index]
        pixels, boxes, labels, owner = dataset.draw(index)
        masks = target["masks"].numpy().astype(bool)
        assert isinstance(target["masks"], tv_tensors.Mask) and masks.shape == (len(boxes), *SMALL)
        assert torch.equal(image, torch.from_numpy(pixels).permute(2, 0, 1))
        assert target["boxes"].tolist() == boxes.tolist() and target["labels"].tolist() == labels.tolist()
        # Masks are disjoint, and each is exactly the owner map's pixels of its shape.
        assert (masks.sum(axis=0) <= 1).all()
        for row, mask in enumerate(masks):
            assert np.array_equal(mask, owner == row) and mask.any()
            assert target["boxes"][row].tolist() == tight_box(mask)
        # Pairs where a later shape covers pixels inside an earlier one's box: the overlaps the boxes survived.
        overlapping += sum(
            _box_overlaps(boxes[earlier], masks[later])
            for earlier in range(len(masks))
            for later in range(earlier + 1, len(masks))
        )
    assert overlapping > 0  # the check above met overlapping shapes, not only isolated ones


def _box_overlaps(box: np.ndarray, mask: np.ndarray) -> bool:
    x0, y0, x1, y1 = (int(value) for value in box)
    return bool(mask[y0:y1, x0:x1].any())


def test_shapes_differ_in_colour_from_the_background_around_them() -> None:
    dataset = ShapesDataset(size=SMALL, count=30)
    for index in range(len(dataset)):
        pixels, _, _, owner = dataset.draw(index)
        image = pixels.astype(np.float32)
        background = image[owner < 0].mean(axis=0)
        for shape in range(owner.max() + 1):
            # Shading and noise aside, a shape's mean colour lies far from the mean background's.
            assert np.linalg.norm(image[owner == shape].mean(axis=0) - background) > 25


def test_labels_and_boxes_are_in_range_and_classes_roughly_balanced() -> None:
    dataset = ShapesDataset(size=SMALL, count=200)
    assert dataset.classes == ["__background__", *SHAPE_NAMES]
    counts: Counter[int] = Counter()
    shapes_per_image = []
    for index in range(len(dataset)):
        image, target = dataset[index]
        boxes, labels = target["boxes"], target["labels"]
        assert image.dtype == torch.uint8 and image.shape == (3, *SMALL)
        assert isinstance(boxes, tv_tensors.BoundingBoxes) and boxes.format.name == "XYXY"
        assert boxes.dtype == torch.float32 and tuple(boxes.canvas_size) == SMALL
        assert labels.dtype == torch.int64 and len(labels) == len(boxes) >= 1
        assert ((labels >= 1) & (labels < len(dataset.classes))).all()
        assert (
            (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= SMALL[1]).all() and (boxes[:, 3] <= SMALL[0]).all()
        )
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        counts.update(labels.tolist())
        shapes_per_image.append(len(labels))
    mean = sum(counts.values()) / len(SHAPE_NAMES)
    assert set(counts) == set(range(1, len(SHAPE_NAMES) + 1))
    assert all(0.6 * mean < count < 1.4 * mean for count in counts.values()), counts
    assert min(shapes_per_image) == 1 and max(shapes_per_image) == 6


def test_classes_chooses_the_shapes_and_their_labels() -> None:
    dataset = ShapesDataset(size=SMALL, count=30, classes=("ring", "circle"), max_shapes=3)
    assert dataset.classes == ["__background__", "ring", "circle"]
    labels = torch.cat([dataset[index][1]["labels"] for index in range(len(dataset))])
    assert set(labels.tolist()) == {1, 2} and all(len(dataset[i][1]["labels"]) <= 3 for i in range(30))
    # Alone in its image, a ring leaves its centre to the background; a circle owns it.
    single = ShapesDataset(size=SMALL, count=20, classes=("ring", "circle"), max_shapes=1)
    for index in range(len(single)):
        _, boxes, kinds, owner = single.draw(index)
        centre_x, centre_y = (int(value) for value in (boxes[0, :2] + boxes[0, 2:]) / 2)
        assert owner[centre_y, centre_x] == (-1 if kinds[0] == 1 else 0)


def test_transforms_are_called_jointly_and_box_pipeline_fits() -> None:
    from visiondata.transforms import BoxPipeline

    plain = ShapesDataset(size=SMALL, count=4)
    flipped = ShapesDataset(
        size=SMALL,
        count=4,
        transform=BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}]),
        target_transform=lambda target: {**target, "seen": True},
    )
    for index in range(4):
        image, target = plain[index]
        image_f, target_f = flipped[index]
        assert torch.equal(image_f, image.flip(-1)) and target_f["seen"]
        expected = target["boxes"].clone()
        expected[:, [0, 2]] = SMALL[1] - target["boxes"][:, [2, 0]]
        assert torch.allclose(target_f["boxes"], expected) and torch.equal(
            target_f["labels"], target["labels"]
        )


def test_bad_arguments_name_what_is_expected() -> None:
    with pytest.raises(UnknownSplitError, match="has no split 'dev'"):
        ShapesDataset("dev")
    with pytest.raises(ValueError, match="size: expected sides of at least 24"):
        ShapesDataset(size=(16, 64))
    with pytest.raises(ValueError, match="classes: expected distinct names among circle"):
        ShapesDataset(classes=("circle", "blob"))
    with pytest.raises(ValueError, match="classes: expected"):
        ShapesDataset(classes=("circle", "circle"))
    with pytest.raises(ValueError, match="count: expected a positive integer"):
        ShapesDataset(count=0)
    with pytest.raises(ValueError, match="seed: expected an int >= 0"):
        ShapesDataset(seed=None)  # type: ignore[arg-type]
    dataset = ShapesDataset(count=3)
    with pytest.raises(IndexError, match="index: expected -3 to 2, got 3"):
        dataset[3]
    assert repr(dataset) == "ShapesDataset(split='train', 3 images, size=(160, 160), 7 classes, seed=0)"


def test_written_as_yolo_and_as_shards_the_boxes_come_back(tmp_path: Path) -> None:
    from visiondata.formats import YOLODataset, to_yolo
    from visiondata.shards import ShardDataset, write_shards

    source = ShapesDataset("val", size=SMALL, count=3)
    report = to_yolo(source, tmp_path / "yolo", split="val")
    assert report.classes == list(SHAPE_NAMES)
    back = YOLODataset(tmp_path / "yolo" / "images" / "val", classes=list(SHAPE_NAMES))
    write_shards(source, str(tmp_path / "shards" / "val-%06d.tar"))
    shards = ShardDataset(tmp_path / "shards", split="val", shuffle_buffer=0)
    assert shards.task == "detection" and shards.classes == source.classes
    for (image, target), (image_y, target_y), (image_s, target_s) in zip(source, back, shards, strict=True):
        assert torch.equal(image_y, image) and torch.equal(image_s, image)  # PNG: lossless
        assert target_y["labels"].tolist() == target_s["labels"].tolist() == target["labels"].tolist()
        assert torch.allclose(target_y["boxes"], target["boxes"], atol=1e-3)
        assert torch.equal(
            target_s["boxes"].as_subclass(torch.Tensor), target["boxes"].as_subclass(torch.Tensor)
        )


def test_the_factory_takes_what_get_dataset_and_export_pass() -> None:
    dataset = shapes(root="/nowhere", split="test", size=96, count=2, seed=3)
    assert (dataset.split, dataset.size, len(dataset), dataset.seed) == ("test", (96, 96), 2, 3)
    assert torch.equal(dataset[1][0], ShapesDataset("test", size=96, count=2, seed=3)[1][0])


@pytest.mark.skipif("shapes" not in vd.list_datasets(), reason="the catalog does not list shapes yet")
def test_the_catalog_entry_builds_the_dataset() -> None:
    info = vd.dataset_info("shapes")
    assert info.task == "detection" and tuple(info.classes) == ("__background__", *SHAPE_NAMES)
    dataset = vd.get_dataset("shapes", split="valid", count=2, size=SMALL)
    assert isinstance(dataset, ShapesDataset) and dataset.split == "val" and len(dataset) == 2
    assert torch.equal(dataset[0][0], ShapesDataset("val", size=SMALL, count=2)[0][0])

"""``Mosaic`` and ``MixUp``: geometry, per-box fields, masks, the drop report, seeding and DataLoader workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors

from visiondata.transforms import BoxPipeline, MixUp, Mosaic

Pair = tuple[Any, dict[str, Any]]

# ---------------------------------------------------------------- helpers

# The fixed geometry: 16 x 32 images (height x width) on a 64 x 64 canvas with the centre at (32, 32).
# Every quadrant is 32 x 32, so each tile is the image scaled by 2 (32 x 64), its inner corner at the centre:
# quadrant 0 at (left, top) = (-32, 0), 1 at (32, 0), 2 at (-32, 32), 3 at (32, 32).
A, B, C = (0.0, 0.0, 8.0, 8.0), (12.0, 4.0, 20.0, 12.0), (24.0, 2.0, 32.0, 6.0)
# A scaled is (0, 0, 16, 16), B (24, 8, 40, 24), C (48, 4, 64, 12); shifted by each quadrant's corner and cut
# to its quadrant: A leaves quadrants 0 and 2 (nothing left), B is half visible everywhere, C leaves 1 and 3.
FIXED_VISIBLE: dict[int, dict[int, list[float]]] = {
    0: {1: [0, 8, 8, 24], 2: [16, 4, 32, 12]},
    1: {0: [32, 0, 48, 16], 1: [56, 8, 64, 24]},
    2: {1: [0, 40, 8, 56], 2: [16, 36, 32, 44]},
    3: {0: [32, 32, 48, 48], 1: [56, 40, 64, 56]},
}
FIXED_GONE = {(0, 0), (1, 2), (2, 0), (3, 2)}  # (part, box) with nothing left on the canvas


def value_of(index: int) -> int:
    """The constant pixel value of dataset image ``index``."""
    return 10 + 40 * index


def pair(
    index: int,
    height: int,
    width: int,
    boxes: Sequence[Sequence[float]],
    channels: int = 3,
    dtype: torch.dtype = torch.uint8,
) -> Pair:
    """A constant image of ``value_of(index)`` with labels ``100 * index + box``."""
    image = tv_tensors.Image(torch.full((channels, height, width), value_of(index), dtype=dtype))
    labels = torch.tensor([100 * index + box for box in range(len(boxes))], dtype=torch.int64)
    return image, {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": labels,
        "image_id": index,
    }


def fixed_dataset(count: int = 3, **extra: Any) -> list[Pair]:
    return [pair(index, 16, 32, [A, B, C], **extra) for index in range(count)]


def fixed_mosaic(dataset: Any, **kwargs: Any) -> Mosaic:
    return Mosaic(dataset, size=64, center_range=(0.5, 0.5), seed=0, **kwargs)


def box_rect(box: Sequence[float], height: int, width: int) -> torch.Tensor:
    """A bool mask of the pixels of an integer box."""
    x0, y0, x1, y1 = (int(v) for v in box)
    rect = torch.zeros(height, width, dtype=torch.bool)
    rect[y0:y1, x0:x1] = True
    return rect


def general_dataset(with_masks: bool = False) -> list[Pair]:
    """Five samples of different sizes and box types, with tensor, numpy and list per-box fields."""
    sizes = [(24, 40), (40, 24), (32, 32), (48, 64), (20, 80)]
    relative = [(0.05, 0.1, 0.4, 0.5), (0.5, 0.5, 0.95, 0.9), (0.3, 0.05, 0.7, 0.3)]
    samples = []
    for index, (height, width) in enumerate(sizes):
        boxes = [
            [round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height)]
            for x0, y0, x1, y1 in relative
        ]
        image, target = pair(index, height, width, boxes)
        target["scores"] = np.array([index + box / 10 for box in range(3)], dtype=np.float32)
        target["names"] = [f"{index}-{box}" for box in range(3)]
        if index == 3:  # the same boxes as BoundingBoxes in XYWH
            xywh = [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in boxes]
            target["boxes"] = tv_tensors.BoundingBoxes(
                torch.tensor(xywh, dtype=torch.float32), format="XYWH", canvas_size=(height, width)
            )
        if with_masks:
            target["masks"] = torch.stack([box_rect(box, height, width) for box in boxes])
        samples.append((image, target))
    return samples


def expected_labels(indices: list[int], counts: list[int], dropped: list[dict[str, Any]]) -> list[int]:
    """The labels a mix keeps: every box of every part in order, less those reported."""
    gone = {(entry["part"], entry["index"]) for entry in dropped}
    return [
        100 * index + box
        for part, (index, count) in enumerate(zip(indices, counts))
        for box in range(count)
        if (part, box) not in gone
    ]


def check_report(dropped: list[dict[str, Any]], indices: list[int], counts: list[int]) -> None:
    """Each entry names a real box of a real part, once."""
    for entry in dropped:
        assert set(entry) == {"sample", "part", "index", "reason"}
        assert entry["sample"] == indices[entry["part"]]
        assert 0 <= entry["index"] < counts[entry["part"]]
        assert entry["reason"] in ("out_of_bounds", "visibility", "area", "size")
    assert len({(entry["part"], entry["index"]) for entry in dropped}) == len(dropped)


def plain(value: Any) -> Any:
    """A comparable form of an output: tensors and arrays as lists."""
    if isinstance(value, torch.Tensor):
        return (str(value.dtype), tuple(value.shape), value.as_subclass(torch.Tensor).tolist())
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.tolist())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


class Transformed(Dataset):
    """A dataset of pairs passed through ``transform(image, target)``, like the catalog's detection datasets."""

    def __init__(self, samples: list[Pair], transform: Any) -> None:
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Any:
        image, target = self.samples[index]
        return self.transform(image, dict(target))


# ---------------------------------------------------------------- Mosaic: geometry by hand


def test_mosaic_fixed_centre_places_each_tile_and_its_boxes() -> None:
    dataset = fixed_dataset()
    image, target = fixed_mosaic(dataset)[1]
    indices = target["mosaic_indices"]
    assert len(indices) == 4 and indices[0] == 1 and all(0 <= i < 3 for i in indices)
    assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8 and image.shape == (3, 64, 64)
    quadrants = [(slice(0, 32), slice(0, 32)), (slice(0, 32), slice(32, 64))]
    quadrants += [(slice(32, 64), slice(0, 32)), (slice(32, 64), slice(32, 64))]
    for part, (rows, cols) in enumerate(quadrants):
        assert (image[:, rows, cols] == value_of(indices[part])).all()
    boxes = target["boxes"]
    assert isinstance(boxes, tv_tensors.BoundingBoxes)
    assert boxes.format == tv_tensors.BoundingBoxFormat.XYXY and tuple(boxes.canvas_size) == (64, 64)
    assert boxes.dtype == torch.float32
    expected = [FIXED_VISIBLE[part][box] for part in range(4) for box in sorted(FIXED_VISIBLE[part])]
    assert boxes.tolist() == expected
    assert target["labels"].tolist() == [
        100 * indices[part] + box for part in range(4) for box in sorted(FIXED_VISIBLE[part])
    ]
    assert target["dropped"] == [
        {"sample": indices[part], "part": part, "index": box, "reason": "out_of_bounds"}
        for part, box in sorted(FIXED_GONE)
    ]
    assert target["image_id"] == 1  # other keys come from the requested sample


@pytest.mark.parametrize(
    ("filters", "reasons"),
    [
        ({"min_visibility": 0.6}, {1: "visibility"}),  # B is half visible in every quadrant
        ({"min_area": 200.0}, {1: "area", 2: "area"}),  # B and C have 128 px, A 256 px
        ({"min_size": 10.0}, {1: "size", 2: "size"}),  # B is 8 wide, C 8 high
        ({"min_visibility": 0.6, "min_area": 200.0}, {1: "visibility", 2: "area"}),  # visibility first
        ({"min_visibility": 1.0}, {1: "visibility"}),  # C and A wholly in view are kept
    ],
)
def test_mosaic_filters_report_their_reason(filters: dict[str, float], reasons: dict[int, str]) -> None:
    _, target = fixed_mosaic(fixed_dataset(), **filters)[0]
    indices = target["mosaic_indices"]
    expected_dropped = []
    kept = []
    for part in range(4):
        for box in range(3):
            if (part, box) in FIXED_GONE:
                reason = "out_of_bounds"
            elif box in reasons:
                reason = reasons[box]
            else:
                kept.append((FIXED_VISIBLE[part][box], 100 * indices[part] + box))
                continue
            expected_dropped.append({"sample": indices[part], "part": part, "index": box, "reason": reason})
    assert target["dropped"] == expected_dropped
    assert target["boxes"].tolist() == [box for box, _ in kept]
    assert target["labels"].tolist() == [label for _, label in kept]


def test_mosaic_instance_masks_move_with_their_tiles() -> None:
    dataset = fixed_dataset()
    for _, target in dataset:
        target["masks"] = torch.stack([box_rect(box, 16, 32) for box in (A, B, C)])
    _, target = fixed_mosaic(dataset)[2]
    masks = target["masks"]
    assert isinstance(masks, tv_tensors.Mask) and masks.dtype == torch.bool
    assert masks.shape == (len(target["boxes"]), 64, 64) == (8, 64, 64)
    for mask, box in zip(masks, target["boxes"].tolist()):
        # Integer boxes scaled by 2 with nearest-neighbour: the mask is exactly the box, cut to its quadrant.
        assert torch.equal(mask.as_subclass(torch.Tensor), box_rect(box, 64, 64))


def test_mosaic_semantic_mask_is_placed_like_the_image() -> None:
    dataset = fixed_dataset()
    for _, target in dataset:
        mask = torch.ones(16, 32, dtype=torch.uint8)
        mask[:, 16:] = 2  # left half 1, right half 2
        target["mask"] = mask
    _, target = fixed_mosaic(dataset)[0]
    # Tiles left of the centre show their right halves (columns 32..63 of the 64-wide tile), the others
    # their left halves.
    expected = torch.ones(64, 64, dtype=torch.uint8)
    expected[:, :32] = 2
    assert target["mask"].dtype == torch.uint8
    assert torch.equal(target["mask"].as_subclass(torch.Tensor), expected)


def test_mosaic_semantic_mask_keeps_its_rank() -> None:
    dataset = fixed_dataset()
    for _, target in dataset:
        target["mask"] = torch.ones(1, 16, 32, dtype=torch.uint8)
    assert BoxPipeline([])(*dataset[0])[1]["mask"].shape == (1, 16, 32)
    _, target = fixed_mosaic(dataset)[0]
    assert target["mask"].shape == (1, 64, 64)


# ---------------------------------------------------------------- Mosaic: invariants over random draws


def test_mosaic_keeps_or_reports_every_box_with_its_fields_and_pixels() -> None:
    dataset = general_dataset()
    counts = [len(target["boxes"]) for _, target in dataset]
    seen_drops = 0
    for seed in range(6):
        mosaic = Mosaic(dataset, size=64, seed=seed)
        for index in range(len(dataset)):
            image, target = mosaic[index]
            assert isinstance(image, tv_tensors.Image) and image.shape == (3, 64, 64)
            assert image.dtype == torch.uint8
            indices = target["mosaic_indices"]
            assert len(indices) == 4 and indices[0] == index
            assert all(isinstance(i, int) and 0 <= i < len(dataset) for i in indices)
            assert target["image_id"] == index
            boxes = target["boxes"]
            assert boxes.format == tv_tensors.BoundingBoxFormat.XYXY and tuple(boxes.canvas_size) == (64, 64)
            values = boxes.as_subclass(torch.Tensor)
            assert ((values >= 0) & (values <= 64)).all()
            assert ((values[:, 2] > values[:, 0]) & (values[:, 3] > values[:, 1])).all()
            check_report(target["dropped"], indices, [counts[i] for i in indices])
            labels = target["labels"].tolist()
            assert labels == expected_labels(indices, [counts[i] for i in indices], target["dropped"])
            assert isinstance(target["scores"], np.ndarray) and target["scores"].dtype == np.float32
            assert np.allclose(target["scores"], [label // 100 + (label % 100) / 10 for label in labels])
            assert target["names"] == [f"{label // 100}-{label % 100}" for label in labels]
            for (x0, y0, x1, y1), label in zip(values.tolist(), labels):
                # The pixel under the box's centre is from the box's own image.
                row, col = int((y0 + y1) / 2), int((x0 + x1) / 2)
                assert (image[:, row, col] == value_of(label // 100)).all(), (seed, index, label)
            seen_drops += len(target["dropped"])
    assert seen_drops > 0  # the draws did cut some boxes away


def test_mosaic_instance_masks_of_different_sizes_stay_inside_their_boxes() -> None:
    dataset = general_dataset(with_masks=True)
    for seed in range(4):
        mosaic = Mosaic(dataset, size=64, seed=seed)
        for index in range(len(dataset)):
            _, target = mosaic[index]
            masks = target["masks"]
            assert masks.dtype == torch.bool and masks.shape == (len(target["boxes"]), 64, 64)
            for mask, (x0, y0, x1, y1) in zip(masks, target["boxes"].tolist()):
                rows, cols = torch.nonzero(mask, as_tuple=True)
                if len(rows):
                    # Pixel centres, with a pixel of rounding from the nearest-neighbour resize.
                    assert x0 - 1 <= float(cols.min()) + 0.5 and float(cols.max()) + 0.5 <= x1 + 1
                    assert y0 - 1 <= float(rows.min()) + 0.5 and float(rows.max()) + 0.5 <= y1 + 1
                if x1 - x0 >= 2 and y1 - y0 >= 2:
                    assert len(rows) > 0


def test_mosaic_p0_returns_the_sample_unchanged() -> None:
    dataset = general_dataset()
    mosaic = Mosaic(dataset, size=64, p=0.0, seed=0)
    for index in range(len(dataset)):
        image, target = mosaic[index]
        assert plain(image) == plain(dataset[index][0])
        assert plain(target) == plain(dataset[index][1])
        assert "mosaic_indices" not in target


@pytest.mark.parametrize("mixing", [Mosaic, MixUp])
@pytest.mark.parametrize("boxes", [None, torch.tensor(3.0)], ids=["none", "zero-dimensional"])
def test_a_sample_passed_on_unmixed_with_boxes_that_cannot_be_counted_comes_back_as_it_was(
    mixing: type, boxes: Any
) -> None:
    """``boxes: None`` (no boxes) or a 0-d tensor is passed on as it is, not a bare TypeError from len()."""
    image = torch.zeros(3, 8, 8, dtype=torch.uint8)
    target = {"boxes": boxes, "labels": None}
    image_out, target_out = mixing([(image, target)], p=0.0, seed=0)[0]
    assert image_out is image and target_out is target


def test_mosaic_seed_repeats_and_different_seeds_differ() -> None:
    dataset = general_dataset()

    def run(seed: int) -> list[Any]:
        mosaic = Mosaic(dataset, size=64, seed=seed)
        return [plain(mosaic[index]) for index in range(len(dataset))]

    first = run(7)
    assert run(7) == first
    assert run(8) != first
    # The stream goes on: the same index twice from one object draws anew.
    mosaic = Mosaic(dataset, size=64, seed=7)
    assert len({repr(plain(mosaic[0])) for _ in range(4)}) > 1


def test_mosaic_accepts_samples_without_boxes() -> None:
    empty = (
        tv_tensors.Image(torch.zeros(3, 10, 10, dtype=torch.uint8)),
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},
    )
    image, target = Mosaic([empty], size=32, seed=0)[0]
    assert image.shape == (3, 32, 32) and target["boxes"].shape == (0, 4)
    assert target["labels"].tolist() == [] and target["dropped"] == [] and target["mosaic_indices"] == [0] * 4


# ---------------------------------------------------------------- Mosaic: transform= and earlier drops


def test_mosaic_transform_drops_are_named_by_source_sample() -> None:
    # Keep rows 0..31 and columns 0..39: quadrant 0's boxes stay; A of quadrant 1, (32, 0, 48, 16), is cut
    # to half (below the pipeline's min_visibility); everything else leaves the crop.
    crop = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 32, "width": 40}], min_visibility=0.6)
    image, target = fixed_mosaic(fixed_dataset(), transform=crop)[2]
    indices = target["mosaic_indices"]
    assert indices[0] == 2 and image.shape == (3, 32, 40)
    assert target["boxes"].tolist() == [[0, 8, 8, 24], [16, 4, 32, 12]]
    assert tuple(target["boxes"].canvas_size) == (32, 40)
    assert target["labels"].tolist() == [201, 202]
    reasons = {(1, 0): "visibility"}
    expected = [
        {
            "sample": indices[part],
            "part": part,
            "index": box,
            "reason": reasons.get((part, box), "out_of_bounds"),
        }
        for part in range(4)
        for box in range(3)
        if (part, box) not in {(0, 1), (0, 2)}
    ]
    assert target["dropped"] == expected


def test_mosaic_p0_with_transform_reports_against_the_sample() -> None:
    crop = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 16, "width": 20}])
    _, target = Mosaic(fixed_dataset(), p=0.0, transform=crop)[1]
    assert target["boxes"].tolist() == [list(A), list(B)]
    assert target["dropped"] == [{"sample": 1, "part": 0, "index": 2, "reason": "out_of_bounds"}]


def pre_dropped_dataset() -> Transformed:
    """Boxes A, T (2 x 2 px) and C; the dataset's own pipeline drops T (index 1) for its size."""
    tiny = (10.0, 10.0, 12.0, 12.0)
    samples = [pair(index, 16, 32, [A, tiny, C]) for index in range(2)]
    return Transformed(samples, BoxPipeline([], min_size=3))


def test_mosaic_keeps_the_dataset_drops_against_original_indices() -> None:
    dataset = pre_dropped_dataset()
    assert dataset[0][1]["dropped"] == [{"index": 1, "reason": "size"}]
    _, target = fixed_mosaic(dataset)[0]
    indices = target["mosaic_indices"]
    # A (index 0) leaves quadrants 0 and 2, C (index 2) quadrants 1 and 3; T is reported in every part.
    gone = {0: 0, 1: 2, 2: 0, 3: 2}
    expected = []
    for part in range(4):
        entries = [(gone[part], "out_of_bounds"), (1, "size")]
        expected += [
            {"sample": indices[part], "part": part, "index": box, "reason": reason}
            for box, reason in sorted(entries)
        ]
    assert target["dropped"] == expected
    assert target["labels"].tolist() == [
        100 * indices[part] + (2 if part in (0, 2) else 0) for part in range(4)
    ]


def test_mosaic_p0_keeps_the_dataset_drops() -> None:
    _, target = Mosaic(pre_dropped_dataset(), p=0.0)[1]
    assert target["dropped"] == [{"sample": 1, "part": 0, "index": 1, "reason": "size"}]


@pytest.mark.parametrize("p", [1.0, 0.0])
def test_mosaic_transform_drops_after_dataset_drops_use_original_indices(p: float) -> None:
    # The dataset drops T (index 1); the crop to columns 0..19 then drops C (original index 2, position 1
    # among the boxes the mosaic received) wherever it is still present.
    crop = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 16 if p == 0 else 32, "width": 20}])
    _, target = Mosaic(pre_dropped_dataset(), size=64, center_range=(0.5, 0.5), p=p, seed=0, transform=crop)[
        0
    ]
    parts = 4 if p else 1
    for part in range(parts):
        reported = [entry["index"] for entry in target["dropped"] if entry["part"] == part]
        assert len(reported) == len(set(reported)), target["dropped"]
    if p == 0:
        assert target["dropped"] == [
            {"sample": 0, "part": 0, "index": 1, "reason": "size"},
            {"sample": 0, "part": 0, "index": 2, "reason": "out_of_bounds"},
        ]
    else:
        # Every part loses all three boxes but C of quadrant 0, cut to (16, 4, 20, 12).
        assert target["labels"].tolist() == [2]
        assert sorted((entry["part"], entry["index"]) for entry in target["dropped"]) == [
            (part, box) for part in range(4) for box in range(3) if (part, box) != (0, 2)
        ]


@pytest.mark.parametrize("kind", ["mosaic", "mixup"])
def test_mix_indices_survive_a_transform_that_drops_boxes(kind: str) -> None:
    # One box per sample, so the mix has one box per index; the crop keeps only the first sample's.
    whole = [pair(0, 16, 32, [[0, 0, 32, 16]])]
    if kind == "mosaic":
        crop = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 32, "width": 32}])
        _, target = fixed_mosaic(whole, transform=crop)[0]
        assert len(target["boxes"]) == 1 and len(target["dropped"]) == 3
        assert target["mosaic_indices"] == [0, 0, 0, 0]
    else:
        second = pair(1, 16, 32, [[24, 8, 32, 16]])
        crop = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 8, "width": 16}])
        mixup = MixUp([whole[0], second], p=1.0, seed=0, transform=crop)
        _, target = next(t for t in (mixup[0] for _ in range(20)) if t[1]["dropped"])
        assert target["dropped"] == [{"sample": 1, "part": 1, "index": 0, "reason": "out_of_bounds"}]
        assert target["mixup_indices"] == [0, 1]


# ---------------------------------------------------------------- Mosaic: errors


def test_mosaic_images_with_different_channels_raise_naming_them() -> None:
    dataset = [pair(0, 16, 16, [A])] + [pair(index, 16, 16, [A], channels=1) for index in range(1, 4)]
    with pytest.raises(ValueError, match="same channels") as caught:
        Mosaic(dataset, size=32, seed=0)[0]
    message = str(caught.value)
    assert "dataset[0]: (3, 16, 16)" in message and "(1, 16, 16)" in message


def test_mosaic_images_with_different_dtypes_raise() -> None:
    dataset = [pair(0, 16, 16, [A])] + [
        pair(index, 16, 16, [A], dtype=torch.float32) for index in range(1, 4)
    ]
    with pytest.raises(ValueError, match=r"torch\.uint8.*torch\.float32|torch\.float32.*torch\.uint8"):
        Mosaic(dataset, size=32, seed=0)[0]


def test_mosaic_different_per_box_fields_raise() -> None:
    dataset = fixed_dataset(4)
    dataset[0][1]["scores"] = torch.ones(3)
    with pytest.raises(ValueError, match="per-box fields differ") as caught:
        Mosaic(dataset, size=64, seed=0)[0]
    assert "'scores'" in str(caught.value)


def test_mosaic_and_mixup_reject_an_empty_dataset() -> None:
    for cls in (Mosaic, MixUp):
        with pytest.raises(ValueError, match="empty dataset"):
            cls([])


@pytest.mark.parametrize(
    "target", [3, None, tv_tensors.Mask(torch.zeros(8, 8, dtype=torch.uint8))], ids=["int", "none", "mask"]
)
@pytest.mark.parametrize("cls", [Mosaic, MixUp])
def test_non_detection_samples_raise_type_error(cls: type, target: Any) -> None:
    image = tv_tensors.Image(torch.zeros(3, 8, 8, dtype=torch.uint8))
    mixer = cls([(image, target)], seed=0, p=1.0)
    with pytest.raises(TypeError, match=r"detection sample|target: expected a dict"):
        mixer[0]


@pytest.mark.parametrize("cls", [Mosaic, MixUp])
def test_target_without_boxes_is_named_as_not_a_detection_sample(cls: type) -> None:
    image = tv_tensors.Image(torch.zeros(3, 8, 8, dtype=torch.uint8))
    mixer = cls([(image, {"labels": torch.tensor([1])})], seed=0, p=1.0)
    with pytest.raises(TypeError, match="not a detection sample"):
        mixer[0]


def test_mosaic_and_mixup_validate_their_arguments() -> None:
    dataset = fixed_dataset(1)
    for bad in ({"p": 1.5}, {"p": -0.1}, {"size": 0}, {"size": 32.0}, {"center_range": (0.8, 0.2)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Mosaic(dataset, **bad)
    for alpha in (0.0, -1.0):
        with pytest.raises(ValueError, match="alpha"):
            MixUp(dataset, alpha=alpha)
    with pytest.raises(ValueError, match="seed"):
        MixUp(dataset, seed=-1)


# ---------------------------------------------------------------- MixUp


def two_sizes() -> list[Pair]:
    """A 32 x 48 image of 200 and a 64 x 24 image of 10 (height x width)."""
    first = pair(0, 32, 48, [[1, 2, 10, 20], [30, 4, 46, 30]])
    second = pair(1, 64, 24, [[2, 4, 12, 40]])
    first[0][:] = 200
    second[0][:] = 10
    return [first, second]


def test_mixup_blends_rounds_and_scales_the_second_sample() -> None:
    dataset = two_sizes()
    mixup = MixUp(dataset, p=1.0, seed=0)
    partners = set()
    for _ in range(12):
        image, target = mixup[0]
        ratio = target["mixup_ratio"]
        assert isinstance(ratio, float) and 0 < ratio < 1
        indices = target["mixup_indices"]
        assert indices[0] == 0 and indices[1] in (0, 1)
        partners.add(indices[1])
        assert (
            isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8 and image.shape == (3, 32, 48)
        )
        other = 200 if indices[1] == 0 else 10
        assert (image == round(ratio * 200 + (1 - ratio) * other)).all()
        assert target["boxes"].format == tv_tensors.BoundingBoxFormat.XYXY
        assert tuple(target["boxes"].canvas_size) == (32, 48)
        if indices[1] == 1:
            # 24 -> 48 wide (x2), 64 -> 32 high (x0.5): (2, 4, 12, 40) becomes (4, 2, 24, 20).
            assert target["boxes"].tolist() == [[1, 2, 10, 20], [30, 4, 46, 30], [4, 2, 24, 20]]
            assert target["labels"].tolist() == [0, 1, 100]
        else:
            assert target["boxes"].tolist() == [[1, 2, 10, 20], [30, 4, 46, 30]] * 2
            assert target["labels"].tolist() == [0, 1, 0, 1]
        assert target["dropped"] == [] and target["image_id"] == 0
    assert partners == {0, 1}


def test_mixup_ratio_follows_alpha() -> None:
    dataset = two_sizes()
    sharp = [MixUp(dataset, alpha=200.0, p=1.0, seed=s)[0][1]["mixup_ratio"] for s in range(20)]
    assert all(0.4 < ratio < 0.6 for ratio in sharp)
    loose = [MixUp(dataset, alpha=0.1, p=1.0, seed=s)[0][1]["mixup_ratio"] for s in range(20)]
    assert sum(ratio < 0.1 or ratio > 0.9 for ratio in loose) >= 10


def test_mixup_float_images_blend_without_rounding() -> None:
    first = (
        tv_tensors.Image(torch.full((3, 8, 8), 0.3)),
        {"boxes": torch.tensor([[0.0, 0, 4, 4]]), "labels": torch.tensor([1])},
    )
    second = (
        tv_tensors.Image(torch.full((3, 8, 8), 0.9)),
        {"boxes": torch.tensor([[4.0, 4, 8, 8]]), "labels": torch.tensor([2])},
    )
    mixup = MixUp([first, second], p=1.0, seed=3)
    for _ in range(6):
        image, target = mixup[0]
        ratio = target["mixup_ratio"]
        other = 0.3 if target["mixup_indices"][1] == 0 else 0.9
        assert image.dtype == torch.float32
        assert torch.allclose(image, torch.full((3, 8, 8), ratio * 0.3 + (1 - ratio) * other), atol=1e-6)
        if other == 0.9:
            assert not torch.equal(image, image.round())


def test_mixup_per_box_fields_and_masks_follow_first_sample_first() -> None:
    dataset = two_sizes()
    for index, (image, target) in enumerate(dataset):
        height, width = image.shape[-2:]
        target["names"] = [f"{index}-{box}" for box in range(len(target["boxes"]))]
        target["masks"] = torch.stack([box_rect(box, height, width) for box in target["boxes"].tolist()])
    mixup = MixUp(dataset, p=1.0, seed=0)
    for _ in range(8):
        _, target = mixup[1]
        assert target["mixup_indices"][0] == 1
        labels = target["labels"].tolist()
        assert labels[0] == 100  # the requested sample's boxes first
        assert target["names"] == [f"{label // 100}-{label % 100}" for label in labels]
        masks = target["masks"]
        assert masks.dtype == torch.bool and masks.shape == (len(labels), 64, 24)
        for mask, box in zip(masks, target["boxes"].tolist()):
            rows, cols = torch.nonzero(mask, as_tuple=True)
            assert len(rows) > 0
            x0, y0, x1, y1 = box
            assert x0 - 1 <= float(cols.min()) + 0.5 and float(cols.max()) + 0.5 <= x1 + 1
            assert y0 - 1 <= float(rows.min()) + 0.5 and float(rows.max()) + 0.5 <= y1 + 1


def test_mixup_filters_apply_to_the_combined_boxes() -> None:
    dataset = two_sizes()
    # Areas: (1, 2, 10, 20) 162, (30, 4, 46, 30) 416, the scaled (4, 2, 24, 20) 360.
    _, target = MixUp(dataset, p=1.0, seed=0, min_area=200.0)[0]
    if target["mixup_indices"][1] == 1:
        assert target["labels"].tolist() == [1, 100]
        assert target["dropped"] == [{"sample": 0, "part": 0, "index": 0, "reason": "area"}]
    else:
        assert target["labels"].tolist() == [1, 1]
        assert target["dropped"] == [
            {"sample": 0, "part": part, "index": 0, "reason": "area"} for part in range(2)
        ]


def test_mixup_p0_returns_the_sample_unchanged_and_seed_repeats() -> None:
    dataset = two_sizes()
    unchanged = MixUp(dataset, p=0.0, seed=0)
    for index in range(2):
        assert plain(unchanged[index]) == plain(dataset[index])
        assert "mixup_ratio" not in unchanged[index][1]

    def run(seed: int) -> list[Any]:
        mixup = MixUp(dataset, p=0.5, seed=seed)
        return [plain(mixup[index % 2]) for index in range(8)]

    assert run(4) == run(4)
    assert run(4) != run(5)
    mixed = [sample[1].get("mixup_ratio") is not None for sample in run(4)]
    assert any(mixed) and not all(mixed)  # p=0.5 mixes some samples and leaves others


def test_mixup_transform_drops_are_named_by_source_sample() -> None:
    dataset = two_sizes()
    crop = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 32, "width": 28}])
    mixup = MixUp(dataset, p=1.0, seed=0, transform=crop)
    for _ in range(6):
        _, target = mixup[0]
        # (30, 4, 46, 30) of sample 0 lies right of column 28 and leaves the crop, in each part it is in.
        partner = target["mixup_indices"][1]
        parts = [(0, 0), (1, 0)] if partner == 0 else [(0, 0)]
        assert target["dropped"] == [
            {"sample": sample, "part": part, "index": 1, "reason": "out_of_bounds"} for part, sample in parts
        ]


# ---------------------------------------------------------------- DataLoader workers


def same_content_dataset() -> list[Pair]:
    """Eight identical samples, so that an output depends only on the draws."""
    return [pair(0, 16, 32, [A, B, C]) for _ in range(8)]


def load(dataset: Any) -> list[Any]:
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=2,
        multiprocessing_context="fork",
        generator=torch.Generator().manual_seed(1234),
    )
    return [plain(sample) for sample in loader]


@pytest.mark.parametrize("kind", ["mosaic", "mixup"])
def test_dataloader_workers_repeat_and_draw_differently(kind: str) -> None:
    def build() -> Any:
        if kind == "mosaic":
            return Mosaic(same_content_dataset(), size=32, seed=5)
        return MixUp(same_content_dataset(), p=1.0, seed=5)

    first = load(build())
    assert len(first) == 8
    assert load(build()) == first

    def draws(sample: Any) -> Any:
        target = sample[1]
        if kind == "mosaic":
            return target["mosaic_indices"][1:], sample[0]
        return target["mixup_indices"][1], target["mixup_ratio"]

    # Batches without batch_size go round-robin: worker 0 loads the even indices, worker 1 the odd ones.
    worker_0 = [draws(sample) for sample in first[0::2]]
    worker_1 = [draws(sample) for sample in first[1::2]]
    assert worker_0 != worker_1
    assert len({repr(draw) for draw in worker_0 + worker_1}) > 2


@pytest.mark.parametrize("centre", [(0.0, 0.0), (1.0, 1.0)])
def test_mosaic_centre_at_the_canvas_border_keeps_or_reports_every_box(centre: tuple[float, float]) -> None:
    # A centre on the border leaves a quadrant one pixel wide: its tile was resized to 1 x 1 pixel, where
    # torch's antialiased kernel failed an internal assert on a contiguous 3-channel image.
    dataset = general_dataset()
    counts = [len(target["boxes"]) for _, target in dataset]
    image, target = Mosaic(dataset, size=64, center_range=centre, seed=0)[0]
    assert image.shape == (3, 64, 64)
    kept = target["boxes"]
    assert len(kept) + len(target["dropped"]) == sum(counts[i] for i in target["mosaic_indices"])
    assert (kept[:, 2:] > kept[:, :2]).all()  # every box kept has an area on the canvas

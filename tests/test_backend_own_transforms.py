"""Each backend's own transforms by name (``albumentations.<Name>``, ``torchvision.<Name>``) in ``BoxPipeline``.

The photo is built deterministically: smooth gradients, a grey disc, and a white and a red rectangle
drawn with PIL exactly at their boxes, so that after any geometric step each kept box must still enclose
its object's pixels ("boxes follow the pixels"), and the instance masks (the rectangles) must move with
them.
"""

from __future__ import annotations

import multiprocessing
import warnings
from typing import Any

import albumentations
import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader, Dataset, get_worker_info
from torchvision import tv_tensors
from torchvision.transforms import v2

from visiondata.exceptions import TransformSpecError, UnknownNameError
from visiondata.transforms import BoxPipeline, list_transforms
from visiondata.transforms._own import (
    OwnAlbumentationsStep,
    TorchvisionOwnStep,
    own_names,
    transform_targets,
)
from visiondata.transforms._spec import spec_kind

HEIGHT, WIDTH = 96, 128
WHITE_BOX = (30.0, 20.0, 70.0, 60.0)  # label 1
RED_BOX = (84.0, 50.0, 120.0, 90.0)  # label 2
# Resampling smears an object's edge over a pixel or two on each side.
TOLERANCE = 2.5


def photo_hwc() -> np.ndarray:
    """A photo-like ``H x W x 3`` uint8 image: gradients, a grey disc, a white and a red rectangle at the boxes."""
    x = np.linspace(0, 1, WIDTH)[None, :]
    y = np.linspace(0, 1, HEIGHT)[:, None]
    background = np.stack([60 * x + 0 * y, 60 * y + 0 * x, 30 + 20 * np.sin(6 * x + 4 * y)], axis=-1)
    image = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((5, 65, 35, 90), fill=(120, 110, 100))
    # PIL's rectangle includes its last pixel: the box [x1, x2) covers columns x1..x2-1.
    draw.rectangle((WHITE_BOX[0], WHITE_BOX[1], WHITE_BOX[2] - 1, WHITE_BOX[3] - 1), fill=(250, 250, 250))
    draw.rectangle((RED_BOX[0], RED_BOX[1], RED_BOX[2] - 1, RED_BOX[3] - 1), fill=(250, 10, 10))
    return np.asarray(image).copy()


def instance_masks() -> np.ndarray:
    masks = np.zeros((2, HEIGHT, WIDTH), dtype=np.uint8)
    for index, (x1, y1, x2, y2) in enumerate((WHITE_BOX, RED_BOX)):
        masks[index, int(y1) : int(y2), int(x1) : int(x2)] = 1
    return masks


def semantic_mask() -> np.ndarray:
    """``H x W`` class ids: 0 background, then the label of each rectangle."""
    masks = instance_masks()
    return (masks[0] * 1 + masks[1] * 2).astype(np.uint8)


def sample(backend: str, masks: bool = False) -> dict[str, Any]:
    """The photo with its two boxes, in the backend's natural layout (numpy HWC or a CHW tensor)."""
    image = photo_hwc()
    boxes = np.array([WHITE_BOX, RED_BOX])
    result: dict[str, Any]
    if backend == "albumentations":
        result = {"image": image, "boxes": boxes, "labels": np.array([1, 2])}
        if masks:
            result["masks"] = instance_masks()
            result["mask"] = semantic_mask()
    else:
        result = {
            "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
            "boxes": torch.from_numpy(boxes),
            "labels": torch.tensor([1, 2]),
        }
        if masks:
            result["masks"] = torch.from_numpy(instance_masks())
            result["mask"] = torch.from_numpy(semantic_mask())
    return result


def hwc(image: Any) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        return image.permute(1, 2, 0).numpy()
    return np.asarray(image)


def object_pixels(image: Any, label: int) -> np.ndarray:
    """Where the object of ``label`` is, as an ``H x W`` bool mask."""
    pixels = hwc(image).astype(np.int32)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    if label == 1:
        return (red > 200) & (green > 200) & (blue > 200)
    return (red > 200) & (green < 90) & (blue < 90)


def pixel_box(where: np.ndarray) -> tuple[float, float, float, float] | None:
    rows, columns = np.nonzero(where)
    if not len(rows):
        return None
    return float(columns.min()), float(rows.min()), float(columns.max() + 1), float(rows.max() + 1)


def assert_boxes_follow_pixels(out: dict[str, Any], tight: bool = True, partly_dropped: bool = False) -> None:
    """Each kept box encloses its object's pixels (and, if ``tight``, is not much larger).

    Dropped objects are out of view, unless ``partly_dropped`` (RandomIoUCrop drops a box whose centre
    leaves its crop).
    """
    boxes = np.asarray(out["boxes"], dtype=np.float64)
    labels = np.asarray(out["labels"]).tolist()
    height, width = hwc(out["image"]).shape[:2]
    for label in (1, 2):
        where = object_pixels(out["image"], label)
        found = pixel_box(where)
        if label not in labels:
            if partly_dropped:
                continue
            # Dropped: at most a sliver of the object is left in view.
            assert where.sum() < 0.02 * 40 * 40, (label, out["dropped"])
            continue
        box = boxes[labels.index(label)]
        assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height
        assert found is not None, (label, box)
        assert box[0] - TOLERANCE <= found[0] and box[1] - TOLERANCE <= found[1], (label, box, found)
        assert found[2] <= box[2] + TOLERANCE and found[3] <= box[3] + TOLERANCE, (label, box, found)
        if tight:
            assert np.allclose(box, found, atol=TOLERANCE + 1), (label, box, found)


def assert_masks_follow_pixels(out: dict[str, Any]) -> None:
    """One mask per kept box, at the image's size, covering its object's pixels."""
    masks = np.asarray(out["masks"])
    assert masks.shape[0] == len(out["labels"]) and masks.shape[1:] == hwc(out["image"]).shape[:2]
    for mask, label in zip(masks, np.asarray(out["labels"]).tolist(), strict=True):
        where = object_pixels(out["image"], label)
        found = pixel_box(where)
        if found is None or min(found[2] - found[0], found[3] - found[1]) < 8:
            continue  # a sliver: resampling decides its few pixels differently for masks and images
        overlap = (where & (mask > 0)).sum() / max(1, (where | (mask > 0)).sum())
        assert overlap > 0.7, (label, overlap)
        assert np.allclose(pixel_box(mask > 0), found, atol=TOLERANCE + 1)
        if "mask" in out:
            semantic = np.asarray(out["mask"]) == label
            assert semantic.shape == where.shape
            assert np.allclose(pixel_box(semantic), found, atol=TOLERANCE + 1)


# -- the same result as the library itself ------------------------------------------------------------------

ALBUMENTATIONS_DETERMINISTIC = [
    ("Transpose", {}),
    ("HorizontalFlip", {}),
    ("VerticalFlip", {}),
    ("CLAHE", {"clip_limit": [2.0, 2.0]}),
    ("ToGray", {}),
    ("InvertImg", {}),
    ("Equalize", {}),
    ("Resize", {"height": 64, "width": 80}),
    ("CenterCrop", {"height": 80, "width": 110}),
    ("PadIfNeeded", {"min_height": 128, "min_width": 160, "border_mode": 0}),
    ("LongestMaxSize", {"max_size": 100}),
]


# Compose warns that an image-only transform leaves its bbox processor idle: expected here.
@pytest.mark.filterwarnings("ignore:Got processor for bboxes")
@pytest.mark.parametrize(
    ("name", "parameters"), ALBUMENTATIONS_DETERMINISTIC, ids=[n for n, _ in ALBUMENTATIONS_DETERMINISTIC]
)
def test_albumentations_own_deterministic_transforms_match_albumentations_compose(
    name: str, parameters: dict[str, Any]
) -> None:
    data = sample("albumentations", masks=True)
    pipeline = BoxPipeline(
        [{"name": f"albumentations.{name}", "p": 1.0, **parameters}], backend="albumentations", seed=0
    )
    out = pipeline(data)
    reference = albumentations.Compose(
        [getattr(albumentations, name)(**parameters, p=1.0)],
        bbox_params=albumentations.BboxParams(format="pascal_voc", label_fields=["labels"]),
        seed=0,
    )(
        image=data["image"],
        bboxes=data["boxes"],
        labels=data["labels"],
        masks=data["masks"],
        mask=data["mask"],
    )
    assert np.array_equal(out["image"], reference["image"])
    assert np.allclose(out["boxes"], reference["bboxes"], atol=1e-4)
    assert out["labels"].tolist() == list(reference["labels"]) and out["dropped"] == []
    assert np.array_equal(out["masks"], np.asarray(reference["masks"]))
    assert np.array_equal(out["mask"], reference["mask"])


TORCHVISION_DETERMINISTIC = [
    ("RandomHorizontalFlip", {"p": 1.0}),
    ("RandomVerticalFlip", {"p": 1.0}),
    ("Resize", {"size": [64, 80]}),
    ("Grayscale", {"num_output_channels": 3}),
    ("RandomAdjustSharpness", {"sharpness_factor": 2.0, "p": 1.0}),
    ("RandomInvert", {"p": 1.0}),
    ("RandomEqualize", {"p": 1.0}),
    ("RandomPosterize", {"bits": 3, "p": 1.0}),
    ("CenterCrop", {"size": [80, 110]}),
    ("Pad", {"padding": [5, 7]}),
]


@pytest.mark.parametrize(
    ("name", "parameters"), TORCHVISION_DETERMINISTIC, ids=[n for n, _ in TORCHVISION_DETERMINISTIC]
)
def test_torchvision_own_deterministic_transforms_match_torchvision_v2(
    name: str, parameters: dict[str, Any]
) -> None:
    data = sample("torchvision", masks=True)
    spec = {"name": f"torchvision.{name}", **parameters}
    out = BoxPipeline([spec], seed=0)(data)
    reference_class = getattr(v2, name)
    image, boxes, masks, mask = reference_class(**parameters)(
        tv_tensors.Image(data["image"]),
        tv_tensors.BoundingBoxes(data["boxes"], format="XYXY", canvas_size=(HEIGHT, WIDTH)),
        tv_tensors.Mask(data["masks"]),
        tv_tensors.Mask(data["mask"]),
    )
    assert torch.equal(out["image"], image.as_subclass(torch.Tensor))
    assert torch.allclose(out["boxes"].double(), boxes.as_subclass(torch.Tensor).double(), atol=1e-4)
    assert out["labels"].tolist() == [1, 2] and out["dropped"] == []
    assert torch.equal(out["masks"], masks.as_subclass(torch.Tensor))
    assert torch.equal(out["mask"], mask.as_subclass(torch.Tensor))


# -- random transforms: boxes follow the pixels whatever was drawn ------------------------------------------

ALBUMENTATIONS_RANDOM = [
    ({"name": "albumentations.RandomRotate90"}, True),
    ({"name": "albumentations.D4"}, True),
    (
        {
            "name": "albumentations.Affine",
            "rotate": [-40, 40],
            "scale": [0.7, 1.2],
            "translate_percent": [-0.1, 0.1],
        },
        False,
    ),
    ({"name": "albumentations.SafeRotate", "limit": 30}, False),
    ({"name": "albumentations.Perspective", "scale": [0.05, 0.1]}, False),
    ({"name": "albumentations.RandomResizedCrop", "size": [80, 80], "scale": [0.3, 1.0]}, True),
    ({"name": "albumentations.RandomCrop", "height": 60, "width": 70}, True),
]
TORCHVISION_RANDOM = [
    ({"name": "torchvision.RandomRotation", "degrees": 40}, False),
    ({"name": "torchvision.RandomRotation", "degrees": 40, "expand": True}, False),
    (
        {"name": "torchvision.RandomAffine", "degrees": 20, "translate": [0.1, 0.1], "scale": [0.8, 1.2]},
        False,
    ),
    ({"name": "torchvision.RandomPerspective", "distortion_scale": 0.3}, False),
    ({"name": "torchvision.RandomZoomOut", "side_range": [1.0, 2.0]}, True),
    ({"name": "torchvision.ScaleJitter", "target_size": [96, 128], "scale_range": [0.5, 1.5]}, True),
    ({"name": "torchvision.RandomResizedCrop", "size": [80, 80], "scale": [0.3, 1.0]}, True),
    ({"name": "torchvision.RandomIoUCrop"}, True),
    ({"name": "torchvision.RandomShortestSize", "min_size": [60, 80, 100]}, True),
]


@pytest.mark.parametrize(
    ("backend", "spec", "tight"),
    [("albumentations", spec, tight) for spec, tight in ALBUMENTATIONS_RANDOM]
    + [("torchvision", spec, tight) for spec, tight in TORCHVISION_RANDOM],
    ids=lambda value: value["name"] if isinstance(value, dict) else str(value),
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1))
def test_random_own_transforms_move_boxes_and_masks_with_the_pixels(
    backend: str, spec: dict[str, Any], tight: bool, seed: int
) -> None:
    pipeline = BoxPipeline([{**spec, "p": 1.0}], backend=backend, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pipeline(sample(backend, masks=True))
    assert_boxes_follow_pixels(out, tight=tight, partly_dropped=spec["name"].endswith("IoUCrop"))
    assert_masks_follow_pixels(out)
    kept = len(out["labels"])
    assert kept + len(out["dropped"]) == 2
    assert all(entry["reason"] == "out_of_bounds" for entry in out["dropped"])
    assert sorted(np.asarray(out["labels"]).tolist() + [e["index"] + 1 for e in out["dropped"]]) == [1, 2]


@pytest.mark.parametrize("backend", ["albumentations", "torchvision"])
def test_random_own_transforms_draw_different_outcomes(backend: str) -> None:
    spec = (
        {"name": "albumentations.Affine", "rotate": [-40, 40]}
        if backend == "albumentations"
        else {"name": "torchvision.RandomRotation", "degrees": 40}
    )
    pipeline = BoxPipeline([{**spec, "p": 1.0}], backend=backend, seed=3)
    outcomes = {tuple(np.round(np.asarray(pipeline(sample(backend))["boxes"]), 3).ravel()) for _ in range(6)}
    assert len(outcomes) > 3


# -- dropped boxes, visibility ------------------------------------------------------------------------------


def test_albumentations_own_crop_reports_the_box_it_cuts_out() -> None:
    data = sample("albumentations", masks=True)
    spec = {"name": "albumentations.Crop", "x_min": 0, "y_min": 0, "x_max": 80, "y_max": 70}
    out = BoxPipeline([spec], backend="albumentations")(data)
    assert out["dropped"] == [{"index": 1, "reason": "out_of_bounds"}]
    assert out["labels"].tolist() == [1] and out["masks"].shape == (1, 70, 80)
    assert np.allclose(out["boxes"], [WHITE_BOX])
    assert_boxes_follow_pixels(out)


def test_torchvision_own_crop_measures_visibility_against_the_whole_box() -> None:
    # CenterCrop 40 x 40 of 96 x 128 keeps rows 28..68 and columns 44..84: the white box (30..70 x 20..60)
    # keeps 26 x 32 of its 40 x 40 pixels (52 %), and the red one (from column 84) nothing.
    spec = [{"name": "torchvision.CenterCrop", "size": [40, 40]}]
    data = sample("torchvision", masks=True)
    out = BoxPipeline(spec, min_visibility=0.5)(data)
    assert out["dropped"] == [{"index": 1, "reason": "out_of_bounds"}]
    assert out["boxes"].tolist() == [[0.0, 0.0, 26.0, 32.0]]
    # After a pad the whole box must still be the uncut object (torchvision would clamp it at the crop).
    padded = [*spec, {"name": "torchvision.Pad", "padding": 20}]
    assert BoxPipeline(padded, min_visibility=0.5)(sample("torchvision"))["labels"].tolist() == [1]
    strict = BoxPipeline(padded, min_visibility=0.6)(sample("torchvision"))
    assert strict["dropped"] == [
        {"index": 0, "reason": "visibility"},
        {"index": 1, "reason": "out_of_bounds"},
    ]
    assert len(strict["boxes"]) == 0


def test_albumentations_own_crop_measures_visibility_against_the_whole_box() -> None:
    spec = [{"name": "albumentations.Crop", "x_min": 44, "y_min": 28, "x_max": 84, "y_max": 68}]
    kept = BoxPipeline(spec, backend="albumentations", min_visibility=0.5)(sample("albumentations"))
    assert kept["labels"].tolist() == [1] and np.allclose(kept["boxes"], [[0.0, 0.0, 26.0, 32.0]])
    strict = BoxPipeline(spec, backend="albumentations", min_visibility=0.6)(sample("albumentations"))
    assert strict["dropped"] == [
        {"index": 0, "reason": "visibility"},
        {"index": 1, "reason": "out_of_bounds"},
    ]


def test_torchvision_own_iou_crop_reports_removed_boxes() -> None:
    # RandomIoUCrop removes the boxes whose centre leaves its crop: each must be reported, never lost.
    pipeline = BoxPipeline([{"name": "torchvision.RandomIoUCrop"}], seed=5)
    seen_drop = False
    for _ in range(30):
        out = pipeline(sample("torchvision", masks=True))
        assert len(out["labels"]) + len(out["dropped"]) == 2
        assert len(out["masks"]) == len(out["labels"])
        seen_drop |= bool(out["dropped"])
    assert seen_drop


# -- randomness: the pipeline's streams drive them ----------------------------------------------------------


class _SameSample(Dataset):
    def __init__(self, pipeline: BoxPipeline, backend: str) -> None:
        self.pipeline = pipeline
        self.backend = backend

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        out = self.pipeline(sample(self.backend))
        info = get_worker_info()
        return (-1 if info is None else info.id), np.asarray(hwc(out["image"])), np.asarray(out["boxes"])


def _worker_outputs(backend: str, spec: dict[str, Any], seed: int) -> dict[int, list[bytes]]:
    pipeline = BoxPipeline([spec], backend=backend, seed=0)
    loader = DataLoader(
        _SameSample(pipeline, backend),
        batch_size=None,
        num_workers=2,
        multiprocessing_context="fork",
        generator=torch.Generator().manual_seed(seed),
    )
    outputs: dict[int, list[bytes]] = {}
    for worker, image, boxes in loader:
        outputs.setdefault(int(worker), []).append(np.asarray(image).tobytes() + np.asarray(boxes).tobytes())
    return outputs


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
@pytest.mark.parametrize(
    ("backend", "spec"),
    [
        ("albumentations", {"name": "albumentations.Affine", "rotate": [-30, 30], "p": 1.0}),
        ("albumentations", {"name": "albumentations.RandomBrightnessContrast", "p": 1.0}),
        ("torchvision", {"name": "torchvision.RandomRotation", "degrees": 30}),
        ("torchvision", {"name": "torchvision.ColorJitter", "brightness": 0.5}),
    ],
    ids=["albumentations-Affine", "albumentations-brightness", "torchvision-rotation", "torchvision-jitter"],
)
def test_dataloader_workers_draw_their_own_streams_through_own_transforms(
    backend: str, spec: dict[str, Any]
) -> None:
    first = _worker_outputs(backend, spec, seed=0)
    assert sorted(first) == [0, 1] and len(first[0]) == len(first[1]) == 4
    assert first[0] != first[1]
    assert len({output for outputs in first.values() for output in outputs}) > 2
    assert _worker_outputs(backend, spec, seed=0) == first
    assert _worker_outputs(backend, spec, seed=1) != first


@pytest.mark.parametrize("backend", ["albumentations", "torchvision"])
def test_a_seed_repeats_and_torch_global_state_is_left_alone(backend: str) -> None:
    spec = (
        [
            {"name": "albumentations.Affine", "rotate": [-30, 30], "p": 1.0},
            {"name": "albumentations.HueSaturationValue"},
        ]
        if backend == "albumentations"
        else [
            {"name": "torchvision.RandomRotation", "degrees": 30},
            {"name": "torchvision.ColorJitter", "hue": 0.2},
        ]
    )
    first = BoxPipeline(spec, backend=backend, seed=7)(sample(backend))
    pipeline = BoxPipeline(spec, backend=backend, seed=7)
    state = torch.random.get_rng_state()
    again = pipeline(sample(backend))
    # A seeded pipeline draws nothing from torch's global generator, even through torchvision's classes.
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.array_equal(hwc(first["image"]), hwc(again["image"]))
    assert np.array_equal(np.asarray(first["boxes"]), np.asarray(again["boxes"]))
    assert not np.array_equal(np.asarray(pipeline(sample(backend))["boxes"]), np.asarray(first["boxes"]))


def test_unseeded_torchvision_own_transform_repeats_after_manual_seed() -> None:
    pipeline = BoxPipeline([{"name": "torchvision.RandomRotation", "degrees": 45}])
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(11)
        first = pipeline(sample("torchvision"))["boxes"]
        torch.manual_seed(11)
        assert torch.equal(pipeline(sample("torchvision"))["boxes"], first)
        torch.manual_seed(12)
        assert not torch.equal(pipeline(sample("torchvision"))["boxes"], first)
    finally:
        torch.random.set_rng_state(state)


# -- probability ----------------------------------------------------------------------------------------------


def test_spec_p_defaults_to_the_class_default_and_the_pipeline_applies_it() -> None:
    assert BoxPipeline(["albumentations.HorizontalFlip"], backend="albumentations").specs[0]["p"] == 0.5
    assert BoxPipeline(["torchvision.RandomHorizontalFlip"]).specs[0]["p"] == 0.5
    assert BoxPipeline([{"name": "torchvision.Resize", "size": 32}]).specs[0]["p"] == 1.0
    assert BoxPipeline(["albumentations.CLAHE"], backend="albumentations").specs[0]["p"] == 0.5
    # The pipeline draws p; the class itself always runs when drawn (its own p is forced to 1).
    for backend, name in (
        ("albumentations", "albumentations.HorizontalFlip"),
        ("torchvision", "torchvision.RandomHorizontalFlip"),
    ):
        pipeline = BoxPipeline([{"name": name, "p": 1.0}], backend=backend, seed=0)
        flipped = [np.asarray(pipeline(sample(backend))["boxes"])[0, 0] for _ in range(8)]
        assert flipped == [WIDTH - WHITE_BOX[2]] * 8
        never = BoxPipeline([{"name": name, "p": 0.0}], backend=backend, seed=0)
        assert np.asarray(never(sample(backend))["boxes"])[0, 0] == WHITE_BOX[0]
    half = BoxPipeline([{"name": "torchvision.RandomHorizontalFlip"}], seed=1)
    flips = sum(float(half(sample("torchvision"))["boxes"][0, 0]) != WHITE_BOX[0] for _ in range(200))
    assert 60 < flips < 140


def test_explicit_prefix_means_the_backends_own_class_even_where_a_portable_one_exists() -> None:
    assert spec_kind("HorizontalFlip") == "portable"
    assert spec_kind("albumentations.HorizontalFlip") == spec_kind("torchvision.RandomRotation") == "own"
    pipeline = BoxPipeline([{"name": "albumentations.HorizontalFlip", "p": 1.0}], backend="albumentations")
    assert isinstance(pipeline._steps[0], OwnAlbumentationsStep)
    assert type(pipeline._steps[0].transform) is albumentations.HorizontalFlip
    torchvision = BoxPipeline([{"name": "torchvision.Resize", "size": [10, 12]}])
    assert isinstance(torchvision._steps[0], TorchvisionOwnStep)
    assert type(torchvision._steps[0].transform) is v2.Resize


def test_unprefixed_names_fall_back_to_the_backends_own_class() -> None:
    # Emboss / RandomInvert are no portable transform: the pipeline's backend's own class runs.
    assert spec_kind("Emboss") == "own"
    pipeline = BoxPipeline([{"name": "Emboss", "p": 1.0}], backend="albumentations", seed=0)
    assert type(pipeline._steps[0].transform) is albumentations.Emboss
    out = BoxPipeline([{"name": "RandomInvert", "p": 1.0}], seed=0)(sample("torchvision"))
    assert torch.equal(out["image"], 255 - sample("torchvision")["image"])
    assert out["boxes"].tolist() == [list(WHITE_BOX), list(RED_BOX)]


# -- serialisation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["albumentations", "torchvision"])
def test_yaml_round_trip_keeps_own_transforms_and_repeats_the_output(backend: str, tmp_path: Any) -> None:
    spec: list[Any] = (
        [
            {"name": "albumentations.Affine", "rotate": [-30, 30], "scale": [0.8, 1.1], "p": 0.9},
            {"name": "albumentations.CLAHE", "clip_limit": [1, 3]},
            "albumentations.RandomRotate90",
            {"name": "HorizontalFlip"},
        ]
        if backend == "albumentations"
        else [
            {"name": "torchvision.RandomRotation", "degrees": [-30, 30]},
            {"name": "torchvision.RandomPhotometricDistort", "p": 0.8},
            {"name": "torchvision.ScaleJitter", "target_size": [96, 128]},
            {"name": "HorizontalFlip"},
        ]
    )
    pipeline = BoxPipeline(spec, backend=backend, seed=4)
    path = pipeline.save(tmp_path / "augment.yaml")
    written = yaml.safe_load(path.read_text())
    assert [entry["name"] for entry in written["transforms"]] == [
        entry if isinstance(entry, str) else entry["name"] for entry in spec
    ]
    assert written["transforms"][0]["p"] == (0.9 if backend == "albumentations" else 1.0)
    loaded = BoxPipeline.load(path)
    assert loaded.to_dict() == pipeline.to_dict()
    for _ in range(5):
        expected, actual = pipeline(sample(backend, masks=True)), loaded(sample(backend, masks=True))
        assert np.array_equal(hwc(expected["image"]), hwc(actual["image"]))
        assert np.array_equal(np.asarray(expected["boxes"]), np.asarray(actual["boxes"]))
        assert np.array_equal(np.asarray(expected["masks"]), np.asarray(actual["masks"]))
        assert expected["dropped"] == actual["dropped"]


# -- errors -----------------------------------------------------------------------------------------------------


def test_unknown_own_name_suggests_close_matches() -> None:
    with pytest.raises(
        UnknownNameError,
        match=r"transforms\[0\]: unknown transform 'albumentations.CLAHEE'; did you mean 'albumentations.CLAHE'",
    ) as info:
        BoxPipeline(["albumentations.CLAHEE"], backend="albumentations")
    assert "albumentations.CLAHE" in info.value.suggestions
    with pytest.raises(
        UnknownNameError,
        match=r"transforms\[1\]: unknown transform 'torchvision.RandomRotatoin'; did you mean 'torchvision.RandomRotation'",
    ):
        BoxPipeline(["HorizontalFlip", "torchvision.RandomRotatoin"])
    # An unprefixed typo suggests portable names first, else the backend's own classes.
    with pytest.raises(UnknownNameError, match=r"did you mean 'RandomPhotometricDistort'") as info:
        BoxPipeline(["RandomPhotometricDistrot"])
    with pytest.raises(UnknownNameError, match=r"HorizontalFlip"):
        BoxPipeline(["HorizontalFlp"], backend="albumentations")


def test_unknown_own_parameter_is_named_with_close_matches() -> None:
    with pytest.raises(
        UnknownNameError,
        match=r"transforms\[0\] \(albumentations.CLAHE\): unknown parameter 'clip_limt'; did you mean 'clip_limit'",
    ) as info:
        BoxPipeline([{"name": "albumentations.CLAHE", "clip_limt": 2}], backend="albumentations")
    assert info.value.name == "clip_limt"
    with pytest.raises(
        UnknownNameError,
        match=r"transforms\[0\] \(torchvision.RandomRotation\): unknown parameter 'degree'.*'degrees'",
    ):
        BoxPipeline([{"name": "torchvision.RandomRotation", "degree": 3}])


def test_a_value_the_library_refuses_is_a_spec_error_naming_the_parameter() -> None:
    with pytest.raises(
        TransformSpecError,
        match=r"transforms\[0\] \(albumentations.CLAHE\): clip_limit: .*refuses the value 'x'",
    ):
        BoxPipeline([{"name": "albumentations.CLAHE", "clip_limit": "x"}], backend="albumentations")
    with pytest.raises(TransformSpecError, match=r"transforms\[1\] \(albumentations.Affine\): rotate:"):
        BoxPipeline(
            ["HorizontalFlip", {"name": "albumentations.Affine", "scale": 1.0, "rotate": "a lot"}],
            backend="albumentations",
        )
    with pytest.raises(
        TransformSpecError,
        match=r"transforms\[0\] \(torchvision.RandomRotation\): degrees: .*refuses the value -5",
    ):
        BoxPipeline([{"name": "torchvision.RandomRotation", "degrees": -5, "expand": True}])
    with pytest.raises(
        TransformSpecError, match=r"transforms\[0\] \(torchvision.GaussianBlur\): kernel_size: .*4"
    ):
        BoxPipeline([{"name": "torchvision.GaussianBlur", "kernel_size": 4}])
    with pytest.raises(
        TransformSpecError, match=r"transforms\[0\] \(torchvision.Resize\): expected the parameter 'size'"
    ):
        BoxPipeline(["torchvision.Resize"])
    with pytest.raises(TransformSpecError, match=r"p: expected a probability in \[0, 1\], got 2"):
        BoxPipeline([{"name": "torchvision.RandomRotation", "degrees": 5, "p": 2}])


@pytest.mark.parametrize(
    ("backend", "name", "reason"),
    [
        ("torchvision", "torchvision.RandAugment", "does not move bounding boxes"),
        ("torchvision", "TrivialAugmentWide", "does not move bounding boxes"),
        ("torchvision", "torchvision.FiveCrop", "several images"),
        ("torchvision", "torchvision.SanitizeBoundingBoxes", "min_area"),
        ("albumentations", "albumentations.RandomGridShuffle", "several pieces"),
        ("albumentations", "albumentations.CenterCrop3D", "volumes"),
        ("albumentations", "albumentations.Mosaic", "visiondata.transforms.Mosaic"),
        ("albumentations", "albumentations.ToTensorV2", "layout"),
    ],
)
def test_a_transform_that_cannot_keep_boxes_correct_is_refused_with_the_reason(
    backend: str, name: str, reason: str
) -> None:
    spec = {"name": name}
    if name.endswith(("FiveCrop", "CenterCrop3D")):
        spec["size"] = 8
    with pytest.raises(
        TransformSpecError, match=rf"transforms\[0\] \({name}\): cannot run in a BoxPipeline: .*{reason}"
    ):
        BoxPipeline([spec], backend=backend)
    with pytest.raises(TransformSpecError, match=reason):
        transform_targets(name, backend)


def test_an_own_transform_of_the_other_backend_is_refused() -> None:
    with pytest.raises(
        TransformSpecError,
        match=r"transforms\[0\] \(torchvision.RandomRotation\): names torchvision's own transform, but the pipeline runs on backend='albumentations'",
    ):
        BoxPipeline([{"name": "torchvision.RandomRotation", "degrees": 5}], backend="albumentations")
    with pytest.raises(TransformSpecError, match=r"use backend='albumentations'"):
        BoxPipeline(["albumentations.CLAHE"])


def test_a_failure_inside_the_library_names_the_step() -> None:
    # torchvision's Normalize needs a float image: the error names the step and the image, not a bare traceback.
    pipeline = BoxPipeline([{"name": "torchvision.Normalize", "mean": [0.5] * 3, "std": [0.2] * 3}])
    with pytest.raises(
        TransformSpecError,
        match=r"transforms\[0\] \(torchvision.Normalize\): torchvision.Normalize failed on a 3x96x128 \(chw\) uint8 image",
    ):
        pipeline(sample("torchvision"))


# -- listing ------------------------------------------------------------------------------------------------------


def test_list_transforms_lists_portable_and_own_names_per_backend() -> None:
    on_albumentations = list_transforms(backend="albumentations")
    on_torchvision = list_transforms(backend="torchvision")
    assert "HorizontalFlip" in on_albumentations and "HorizontalFlip" in on_torchvision
    assert {"albumentations.CLAHE", "albumentations.Transpose", "albumentations.ElasticTransform"} <= set(
        on_albumentations
    )
    assert {"torchvision.RandomZoomOut", "torchvision.ScaleJitter", "torchvision.JPEG"} <= set(on_torchvision)
    # Refused classes, and the other backend's, are not listed.
    assert (
        "albumentations.RandomGridShuffle" not in on_albumentations
        and "albumentations.Lambda" not in on_albumentations
    )
    assert "torchvision.RandAugment" not in on_torchvision and not any(
        n.startswith("albumentations.") for n in on_torchvision
    )
    assert len([n for n in on_albumentations if n.startswith("albumentations.")]) > 90
    assert list_transforms("albumentations.*Flip", backend="albumentations") == [
        "albumentations.HorizontalFlip",
        "albumentations.VerticalFlip",
    ]
    # Without a backend, only the registered transforms (as before).
    assert not any("." in name for name in list_transforms())
    # Every listed name builds a pipeline on its backend (given its required parameters).
    for name in own_names("torchvision"):
        assert transform_targets(name, "torchvision") in (("image",), ("image", "boxes", "masks"))


def test_transform_targets_says_what_a_name_moves() -> None:
    assert transform_targets("HorizontalFlip", "albumentations") == ("image", "boxes", "masks")
    assert transform_targets("ColorJitter", "torchvision") == ("image",)
    assert transform_targets("albumentations.CLAHE", "albumentations") == ("image",)
    assert transform_targets("albumentations.GridDistortion", "albumentations") == ("image", "boxes", "masks")
    assert transform_targets("torchvision.ElasticTransform", "torchvision") == ("image", "boxes", "masks")
    assert transform_targets("torchvision.RandomErasing", "torchvision") == ("image",)
    with pytest.raises(UnknownNameError):
        transform_targets("albumentations.NoSuchThing", "albumentations")


@pytest.mark.parametrize("backend", ["albumentations", "torchvision"])
def test_own_transforms_inside_compositions_round_trip_through_yaml(backend: str, tmp_path: Any) -> None:
    own = (
        [
            {"name": "albumentations.Affine", "rotate": [-30, 30]},
            {"name": "albumentations.Transpose"},
            {"name": "albumentations.Blur", "blur_limit": [3, 3]},
        ]
        if backend == "albumentations"
        else [
            {"name": "torchvision.RandomRotation", "degrees": 30},
            {"name": "torchvision.RandomVerticalFlip"},
            {"name": "torchvision.GaussianBlur", "kernel_size": 3},
        ]
    )
    spec = [{"name": "Sequential", "p": 1.0, "transforms": [{"name": "OneOf", "p": 1.0, "transforms": own}]}]
    pipeline = BoxPipeline(spec, backend=backend, seed=2)
    loaded = BoxPipeline.load(pipeline.save(tmp_path / "nested.yaml"))
    assert loaded.to_dict() == pipeline.to_dict()
    for _ in range(6):
        expected, actual = pipeline(sample(backend, masks=True)), loaded(sample(backend, masks=True))
        assert np.array_equal(hwc(expected["image"]), hwc(actual["image"]))
        assert np.array_equal(np.asarray(expected["boxes"]), np.asarray(actual["boxes"]))
        assert_boxes_follow_pixels(expected, tight=False)

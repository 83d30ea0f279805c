"""The portable photometric transforms: one spec, the same meaning on both backends and as the libraries they name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import albumentations as A  # noqa: N812
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from torchvision.transforms.v2 import functional as F  # noqa: N812

from visiondata.exceptions import MissingDependencyError, TransformSpecError
from visiondata.transforms import BoxPipeline, list_transforms
from visiondata.transforms._photometric import TRANSFORMS

BACKENDS = ("torchvision", "albumentations")
NAMES = sorted(TRANSFORMS)
HEIGHT, WIDTH = 48, 64
# Objects drawn on the photo: (box xyxy, colour). Bright on a darker gradient, so that they stay findable.
OBJECTS = [
    ((6, 8, 26, 30), (250, 240, 60)),
    ((34, 14, 58, 40), (40, 220, 250)),
    ((20, 32, 40, 46), (230, 50, 90)),
]

# Per transform: a random spec (ranges) and a deterministic one (zero-width ranges), both applied with p=1.
RANDOM: dict[str, dict[str, Any]] = {
    "RandomBrightnessContrast": {"brightness_limit": 0.3, "contrast_limit": 0.3},
    "HueSaturationValue": {},
    "RandomGamma": {"gamma_limit": [60, 160]},
    "CLAHE": {"clip_limit": [1, 6], "tile_grid_size": [4, 4]},
    "Sharpen": {"alpha": [0.2, 1.0]},
    "MotionBlur": {"blur_limit": [3, 9]},
    "MedianBlur": {"blur_limit": [3, 7]},
    "ToGray": {},
    "ChannelShuffle": {},
    "Posterize": {"num_bits": [1, 6]},
    "Solarize": {"threshold_range": [0.2, 0.8]},
    "Equalize": {},
    "ImageCompression": {"quality_range": [5, 60]},
    "CoarseDropout": {"num_holes_range": [1, 4], "hole_height_range": [0.1, 0.4], "fill": "random"},
    "InvertImg": {},
}
# Random transforms whose output need not change between seeds (they draw nothing).
DRAWS_NOTHING = {"ToGray", "Equalize", "InvertImg"}
DETERMINISTIC: dict[str, dict[str, Any]] = {
    "RandomBrightnessContrast": {"brightness_limit": [0.1, 0.1], "contrast_limit": [0.25, 0.25]},
    "HueSaturationValue": {
        "hue_shift_limit": [15, 15],
        "sat_shift_limit": [-20, -20],
        "val_shift_limit": [10, 10],
    },
    "RandomGamma": {"gamma_limit": [70, 70]},
    "CLAHE": {"clip_limit": [3, 3], "tile_grid_size": [4, 4]},
    "Sharpen": {"alpha": [0.6, 0.6], "lightness": [0.8, 0.8]},
    "MotionBlur": {
        "blur_limit": [5, 5],
        "angle_range": [30, 30],
        "direction_range": [0, 0],
        "allow_shifted": False,
    },
    "MedianBlur": {"blur_limit": [5, 5]},
    "ToGray": {},
    "ChannelShuffle": {},  # deterministic enough below: the output is a permutation of the channels
    "Posterize": {"num_bits": 3},
    "Solarize": {"threshold_range": [0.6, 0.6]},
    "Equalize": {},
    "ImageCompression": {"quality_range": [40, 40]},
    "CoarseDropout": {
        "num_holes_range": [2, 2],
        "hole_height_range": [8, 8],
        "hole_width_range": [8, 8],
        "fill": 0,
    },
    "InvertImg": {},
}
# Mean absolute difference allowed, in levels of 255: 2. Both backends share one JPEG encoder (torchvision's);
# albumentations' own ImageCompression encodes with OpenCV, about 8 levels apart at quality 40 on this photo.
TOLERANCE: dict[str, float] = {}
REFERENCE_TOLERANCE = {"ImageCompression": 10.0}


def photo() -> tuple[np.ndarray, np.ndarray]:
    """A photo-like ``H x W x 3`` uint8 image (smooth gradients, noise, shapes) and the boxes of its shapes."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    base = np.stack([40 + 80 * x / WIDTH, 30 + 90 * y / HEIGHT, 90 + 40 * np.sin(x / 9) * np.cos(y / 7)], -1)
    base += np.random.default_rng(0).normal(0, 6, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for index, (box, colour) in enumerate(OBJECTS):
        shape = draw.ellipse if index % 2 else draw.rectangle
        shape([box[0], box[1], box[2] - 1, box[3] - 1], fill=colour)
    return np.asarray(image).copy(), np.array([box for box, _ in OBJECTS], dtype=np.float32)


def sample() -> dict[str, Any]:
    image, boxes = photo()
    masks = torch.zeros(len(boxes), HEIGHT, WIDTH, dtype=torch.uint8)
    for index, (left, top, right, bottom) in enumerate(boxes.astype(int)):
        masks[index, top:bottom, left:right] = 1
    return {
        "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
        "boxes": torch.from_numpy(boxes),
        "labels": torch.tensor([3, 1, 2]),
        "masks": masks,
    }


def run(
    name: str, parameters: dict[str, Any], backend: str, seed: int = 0, data: Any = None
) -> dict[str, Any]:
    pipeline = BoxPipeline([{"name": name, "p": 1.0, **parameters}], backend=backend, seed=seed)
    return pipeline(sample() if data is None else data)


def mean_difference(first: torch.Tensor, second: torch.Tensor) -> float:
    return float((first.to(torch.float64) - second.to(torch.float64)).abs().mean())


def hwc(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.permute(1, 2, 0).numpy())


def test_every_registered_photometric_transform_is_covered_here() -> None:
    assert set(RANDOM) == set(DETERMINISTIC) == set(TRANSFORMS)
    for backend in BACKENDS:
        assert set(TRANSFORMS) <= set(list_transforms(backend=backend))


# ------------------------------------------------------------------ geometry untouched


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_boxes_labels_and_masks_pass_through(name: str, backend: str) -> None:
    given_sample = sample()
    for seed in range(3):
        out = run(name, RANDOM[name], backend, seed=seed)
        assert torch.equal(out["boxes"], given_sample["boxes"]) and out["boxes"].dtype == torch.float32
        assert torch.equal(out["labels"], given_sample["labels"])
        assert torch.equal(out["masks"], given_sample["masks"])
        assert out["dropped"] == []
        image = out["image"]
        assert image.shape == (3, HEIGHT, WIDTH) and image.dtype == torch.uint8
    assert not torch.equal(image, given_sample["image"])  # it did change the pixels


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_float_images_stay_float_in_range_and_match_the_uint8_result(name: str, backend: str) -> None:
    data = sample()
    data["image"] = data["image"].float() / 255
    out = run(name, DETERMINISTIC[name], backend, data=data)
    image = out["image"]
    assert image.dtype == torch.float32 and float(image.min()) >= 0 and float(image.max()) <= 1
    if name != "ChannelShuffle":
        reference = run(name, DETERMINISTIC[name], backend)["image"].float()
        assert mean_difference(image * 255, reference) <= TOLERANCE.get(name, 2.0)


# ------------------------------------------------------------------ the two backends agree


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_settings_give_nearly_the_same_pixels_on_both_backends(name: str) -> None:
    outputs = [run(name, DETERMINISTIC[name], backend)["image"] for backend in BACKENDS]
    if name == "ChannelShuffle":
        channels = [sorted(image.reshape(3, -1).sum(1).tolist()) for image in outputs]
        assert channels[0] == channels[1]
        return
    assert mean_difference(*outputs) <= TOLERANCE.get(name, 2.0)
    assert not torch.equal(outputs[0], sample()["image"])


# ------------------------------------------------------------------ the libraries they name


def _albumentations_reference(name: str, parameters: dict[str, Any]) -> Any:
    """The albumentations transform of the same name and parameters, as a user would write it."""
    return getattr(A, name)(**parameters, p=1.0)


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"ChannelShuffle", "CoarseDropout"}))
def test_the_torchvision_backend_matches_albumentations_on_the_same_image(name: str) -> None:
    image = photo()[0]
    expected = _albumentations_reference(name, DETERMINISTIC[name])(image=image)["image"]
    got = run(name, DETERMINISTIC[name], "torchvision")["image"]
    expected_tensor = torch.from_numpy(np.ascontiguousarray(expected)).permute(2, 0, 1)
    assert mean_difference(got, expected_tensor) <= REFERENCE_TOLERANCE.get(name, 2.0), name


@pytest.mark.parametrize(
    ("name", "parameters", "reference"),
    [
        ("Solarize", {"threshold_range": [0.6, 0.6]}, lambda image: F.solarize(image, 0.6 * 255)),
        ("Posterize", {"num_bits": 3}, lambda image: F.posterize(image, 3)),
        ("InvertImg", {}, F.invert),
        ("RandomGamma", {"gamma_limit": [70, 70]}, lambda image: F.adjust_gamma(image, 0.7)),
        ("ToGray", {}, lambda image: F.rgb_to_grayscale(image, num_output_channels=3)),
        ("ImageCompression", {"quality_range": [40, 40]}, lambda image: F.jpeg(image, 40)),
        (
            "RandomBrightnessContrast",
            {"brightness_limit": 0, "contrast_limit": [0.3, 0.3]},
            lambda image: F.adjust_brightness(image, 1.3),  # contrast around 0 is torchvision's brightness
        ),
    ],
)
def test_both_backends_match_the_torchvision_kernel(
    name: str, parameters: dict[str, Any], reference: Any
) -> None:
    expected = reference(sample()["image"])
    for backend in BACKENDS:
        got = run(name, parameters, backend)["image"]
        assert mean_difference(got, expected) <= 2.0, (name, backend)


def test_channel_shuffle_permutes_channels_whole() -> None:
    original = sample()["image"]
    for backend in BACKENDS:
        orders = set()
        for seed in range(12):
            image = run("ChannelShuffle", {}, backend, seed=seed)["image"]
            order = tuple(
                next(index for index in range(3) if torch.equal(image[channel], original[index]))
                for channel in range(3)
            )
            orders.add(order)
        assert len(orders) > 2 and all(sorted(order) == [0, 1, 2] for order in orders)


def test_hue_shift_is_in_opencv_units() -> None:
    # 60 units of 2 degrees: red turns green, the object stays where it was.
    image = torch.zeros(3, 8, 8, dtype=torch.uint8)
    image[0, 2:6, 2:6] = 255
    spec = {"hue_shift_limit": [60, 60], "sat_shift_limit": 0, "val_shift_limit": 0}
    for backend in BACKENDS:
        out = run("HueSaturationValue", spec, backend, data={"image": image})["image"]
        assert out[1, 2:6, 2:6].min() == 255 and out[0].max() == 0 and out[2].max() == 0


# ------------------------------------------------------------------ CoarseDropout: holes, boxes and masks


@pytest.mark.parametrize("backend", BACKENDS)
def test_coarse_dropout_erases_whole_holes_and_keeps_boxes(backend: str) -> None:
    spec = {"num_holes_range": [3, 3], "hole_height_range": [10, 10], "hole_width_range": [12, 12], "fill": 0}
    original = sample()
    out = run("CoarseDropout", spec, backend, seed=4)
    erased = (out["image"] == 0).all(0) & (original["image"] != 0).any(0)
    rows, columns = erased.any(1).nonzero().flatten(), erased.any(0).nonzero().flatten()
    assert 10 <= len(rows) <= 30 and 12 <= len(columns) <= 36  # three 10 x 12 holes, maybe overlapping
    assert int(erased.sum()) >= 10 * 12
    unchanged = ~erased
    assert torch.equal(out["image"][:, unchanged], original["image"][:, unchanged])
    assert torch.equal(out["boxes"], original["boxes"]) and torch.equal(out["masks"], original["masks"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_coarse_dropout_erases_masks_only_when_fill_mask_is_given(backend: str) -> None:
    spec = {"num_holes_range": [1, 1], "hole_height_range": [48, 48], "hole_width_range": [64, 64]}
    data = sample()
    data["mask"] = torch.ones(HEIGHT, WIDTH, dtype=torch.int64)
    out = run("CoarseDropout", {**spec, "fill": 5, "fill_mask": 0}, backend, data=data)
    assert bool((out["image"] == 5).all())
    assert int(out["masks"].sum()) == 0 and int(out["mask"].sum()) == 0 and out["mask"].dtype == torch.int64
    assert torch.equal(out["boxes"], data["boxes"]) and out["dropped"] == []
    kept = run("CoarseDropout", {**spec, "fill": 5}, backend, data=sample())
    assert torch.equal(kept["masks"], sample()["masks"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_coarse_dropout_random_fills_repeat_for_a_seed(backend: str) -> None:
    for fill in ("random", "random_uniform"):
        spec = {
            "num_holes_range": [1, 1],
            "hole_height_range": [20, 20],
            "hole_width_range": [20, 20],
            "fill": fill,
        }
        first, again = (run("CoarseDropout", spec, backend, seed=3)["image"] for _ in range(2))
        assert torch.equal(first, again)
        assert not torch.equal(first, run("CoarseDropout", spec, backend, seed=4)["image"])


# ------------------------------------------------------------------ randomness


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(set(NAMES) - DRAWS_NOTHING))
def test_random_transforms_repeat_for_a_seed_and_differ_between_seeds(name: str, backend: str) -> None:
    spec = [{"name": name, "p": 1.0, **RANDOM[name]}]

    def images(seed: int) -> list[torch.Tensor]:
        pipeline = BoxPipeline(spec, backend=backend, seed=seed)
        return [pipeline(sample())["image"] for _ in range(4)]

    first, again, other = images(1), images(1), images(2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))
    assert not all(torch.equal(first[0], image) for image in first[1:])  # successive calls draw afresh


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**31),
    boxes=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 20), st.integers(2, 30), st.integers(2, 25)),
        min_size=0,
        max_size=5,
    ),
)
def test_no_photometric_transform_moves_or_drops_a_box(
    name: str, backend: str, seed: int, boxes: list[tuple[int, int, int, int]]
) -> None:
    given_boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes], dtype=torch.float32).reshape(
        -1, 4
    )
    data = {"image": sample()["image"], "boxes": given_boxes, "labels": torch.arange(len(boxes))}
    out = BoxPipeline([{"name": name, **RANDOM[name]}], backend=backend, seed=seed)(data)
    assert torch.equal(out["boxes"], given_boxes) and torch.equal(out["labels"], data["labels"])
    assert out["dropped"] == [] and out["image"].shape == (3, HEIGHT, WIDTH)


# ------------------------------------------------------------------ specs: defaults, YAML, errors


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_albumentations_and_the_yaml_round_trip_repeats_the_output(
    name: str, tmp_path: Path
) -> None:
    pipeline = BoxPipeline([{"name": name, **RANDOM[name]}], seed=5)
    assert pipeline.specs[0]["p"] == getattr(A, name)().p == 0.5
    path = pipeline.save(tmp_path / "augment.yaml")
    loaded = BoxPipeline.load(path)
    assert loaded.to_dict() == pipeline.to_dict() == BoxPipeline.from_dict(pipeline.to_dict()).to_dict()
    for _ in range(3):
        assert torch.equal(pipeline(sample())["image"], loaded(sample())["image"])


@pytest.mark.parametrize(
    ("name", "parameters", "fragments"),
    [
        (
            "RandomBrightnessContrast",
            {"brightness_limit": [0.5, 0.1]},
            ["brightness_limit", "min <= max", "[0.5, 0.1]"],
        ),
        (
            "RandomBrightnessContrast",
            {"contrast_limit": "high"},
            ["contrast_limit", "expected a number", "'high'"],
        ),
        ("HueSaturationValue", {"hue_shift_limit": 400}, ["hue_shift_limit", "[-180, 180]", "400"]),
        ("RandomGamma", {"gamma_limit": [0, 100]}, ["gamma_limit", "expected", "[0, 100]"]),
        ("CLAHE", {"tile_grid_size": [0, 8]}, ["tile_grid_size", "two positive ints", "[0, 8]"]),
        ("Sharpen", {"method": "unsharp"}, ["method", "'kernel', 'gaussian'", "'unsharp'"]),
        ("Sharpen", {"kernel_size": 4}, ["kernel_size", "odd int", "4"]),
        ("MotionBlur", {"blur_limit": [4, 8]}, ["blur_limit", "odd ints", "[4, 8]"]),
        ("MedianBlur", {"blur_limit": 1}, ["blur_limit", "3 <= min <= max <= 255", "got 1"]),
        ("ToGray", {"method": "pca"}, ["method", "'weighted_average'", "'pca'", "albumentations.ToGray"]),
        ("ToGray", {"num_output_channels": 0}, ["num_output_channels", "positive int", "0"]),
        ("Posterize", {"num_bits": 9}, ["num_bits", "1 <= min <= max <= 8", "9"]),
        ("Solarize", {"threshold_range": [0.2, 1.5]}, ["threshold_range", "[0, 1]", "1.5"]),
        ("Equalize", {"by_channels": False}, ["by_channels", "True", "False", "albumentations.Equalize"]),
        ("Equalize", {"mode": "numpy"}, ["mode", "'cv', 'pil'", "'numpy'"]),
        ("ImageCompression", {"compression_type": "webp"}, ["compression_type", "'jpeg'", "'webp'"]),
        ("ImageCompression", {"quality_range": [0, 100]}, ["quality_range", "1 <= min", "[0, 100]"]),
        ("CoarseDropout", {"num_holes_range": [3, 1]}, ["num_holes_range", "min <= max", "[3, 1]"]),
        (
            "CoarseDropout",
            {"hole_height_range": [2.5, 4.5]},
            ["hole_height_range", "ints (pixels)", "[2.5, 4.5]"],
        ),
        (
            "CoarseDropout",
            {"fill": "inpaint_ns"},
            ["fill", "'random'", "'inpaint_ns'", "albumentations.CoarseDropout"],
        ),
        ("CoarseDropout", {"fill_mask": "zero"}, ["fill_mask", "or None", "'zero'"]),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_parameters_name_the_transform_parameter_expected_and_got(
    backend: str, name: str, parameters: dict[str, Any], fragments: list[str]
) -> None:
    with pytest.raises(TransformSpecError) as error:
        BoxPipeline([{"name": "HorizontalFlip"}, {"name": name, **parameters}], backend=backend)
    message = str(error.value)
    assert message.startswith(f"transforms[1] ({name}): "), message
    assert "expected" in message and all(fragment in message for fragment in fragments), message


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_that_depend_on_the_image_name_the_step(backend: str) -> None:
    image = torch.zeros(4, 8, 8, dtype=torch.uint8)
    with pytest.raises(
        TransformSpecError, match=r"transforms\[0\] \(ToGray\): .*RGB \(3-channel\).*got 4 channels"
    ):
        run("ToGray", {}, backend, data={"image": image})
    with pytest.raises(
        TransformSpecError, match=r"transforms\[0\] \(MotionBlur\): a 9x9 kernel does not fit"
    ):
        run(
            "MotionBlur", {"blur_limit": 9}, backend, data={"image": torch.zeros(3, 4, 30, dtype=torch.uint8)}
        )
    with pytest.raises(
        TransformSpecError, match=r"transforms\[0\] \(CoarseDropout\): fill: expected .*3 channels"
    ):
        run("CoarseDropout", {"fill": [1, 2]}, backend)
    with pytest.raises(TransformSpecError, match=r"CoarseDropout\): fill: expected values in 0..255"):
        run("CoarseDropout", {"fill": 300}, backend)


def test_clahe_without_opencv_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # what `import cv2` sees when OpenCV is not installed
    with pytest.raises(MissingDependencyError, match=r"CLAHE needs OpenCV.*albumentations extra"):
        run("CLAHE", {}, "torchvision")

"""The portable spatial transforms of ``visiondata.transforms._spatial`` on both backends.

Every test runs on a photo-like image (smooth gradients, dark shapes) with bright rectangles drawn at
the boxes, so that "the boxes follow the pixels" is checked on the pixels themselves.
"""

from __future__ import annotations

from typing import Any

import albumentations
import numpy as np
import pytest
import torch
from albumentations.augmentations.geometric import functional as album_functional
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from torchvision import tv_tensors
from torchvision.transforms import v2

from visiondata.exceptions import TransformSpecError, UnknownNameError
from visiondata.transforms import BoxPipeline, list_transforms
from visiondata.transforms._spatial import D4_ELEMENTS, TRANSFORMS

BACKENDS = ("torchvision", "albumentations")
NAMES = list(TRANSFORMS)
# Settings under which every object stays large enough to be found in the pixels.
SETTINGS: dict[str, dict[str, Any]] = {
    "RandomRotate90": {},
    "Transpose": {},
    "D4": {},
    "RandomZoomOut": {"side_range": [1.0, 2.5], "fill": 0},
    "ScaleJitter": {"target_size": [96, 80], "scale_range": [0.6, 1.5]},
    "RandomShortestSize": {"min_size": [40, 72, 100], "max_size": 150},
}
# Pixels only change places: masks and boxes match the pixels exactly.
EXACT = {"RandomRotate90", "Transpose", "D4", "RandomZoomOut"}
HEIGHT, WIDTH = 60, 80
# Objects as (x_min, y_min, x_max, y_max) pixel boxes; the areas differ (224, 540, 600).
OBJECTS = [(8, 6, 24, 20), (40, 10, 70, 28), (20, 36, 50, 56)]
BRIGHT = 200


def photo(height: int = HEIGHT, width: int = WIDTH, objects: Any = OBJECTS) -> np.ndarray:
    """An ``H x W x 3`` uint8 image: gradients and dark shapes (all below ``BRIGHT``), bright objects."""
    y, x = np.mgrid[0:height, 0:width]
    background = np.stack(
        [40 + 100 * x / max(width - 1, 1), 40 + 100 * y / max(height - 1, 1), np.full(x.shape, 90.0)], axis=-1
    )
    image = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse([width * 0.55, height * 0.6, width * 0.95, height * 0.95], fill=(10, 30, 20))
    draw.line([0, height - 1, width - 1, 0], fill=(120, 20, 60), width=2)
    for x_min, y_min, x_max, y_max in objects:
        draw.rectangle([x_min, y_min, x_max - 1, y_max - 1], fill=(255, 250, 245))
    return np.asarray(image).copy()


def sample(objects: Any = OBJECTS, height: int = HEIGHT, width: int = WIDTH) -> dict[str, Any]:
    masks = np.zeros((len(objects), height, width), dtype=bool)
    semantic = np.zeros((height, width), dtype=np.uint8)
    for index, (x_min, y_min, x_max, y_max) in enumerate(objects):
        masks[index, y_min:y_max, x_min:x_max] = True
        semantic[y_min:y_max, x_min:x_max] = index + 1
    return {
        "image": torch.from_numpy(photo(height, width, objects)).permute(2, 0, 1).contiguous(),
        "boxes": torch.tensor(objects, dtype=torch.float32),
        "labels": torch.arange(len(objects)) * 10 + 10,
        "scores": torch.linspace(0.5, 0.9, len(objects)),
        "masks": torch.from_numpy(masks),
        "mask": torch.from_numpy(semantic),
    }


def run(name: str, backend: str, seed: int, **settings: Any) -> dict[str, Any]:
    spec = {"name": name, "p": 1.0, **SETTINGS[name]}
    return BoxPipeline([spec], backend=backend, seed=seed, **settings)(sample())


def bright(image: torch.Tensor) -> np.ndarray:
    return image.min(dim=0).values.numpy() > BRIGHT


def extent(region: np.ndarray) -> np.ndarray:
    """The ``xyxy`` box around the True pixels of a 2-D array."""
    rows, columns = np.nonzero(region)
    return np.array([columns.min(), rows.min(), columns.max() + 1, rows.max() + 1], dtype=np.float64)


def window(box: np.ndarray, shape: tuple[int, ...], margin: int = 2) -> tuple[slice, slice]:
    x_min, y_min, x_max, y_max = box
    return (
        slice(max(int(np.floor(y_min)) - margin, 0), min(int(np.ceil(y_max)) + margin, shape[0])),
        slice(max(int(np.floor(x_min)) - margin, 0), min(int(np.ceil(x_max)) + margin, shape[1])),
    )


def assert_boxes_follow_pixels(out: dict[str, Any], exact: bool) -> None:
    """Each box encloses its bright object within a pixel, its masks match, and no bright pixel is left over."""
    lit = bright(out["image"])
    boxes = out["boxes"].numpy().astype(np.float64)
    claimed = np.zeros_like(lit)
    tolerance = 1e-4 if exact else 1.0 + 1e-4
    for index, box in enumerate(boxes):
        rows, columns = window(box, lit.shape)
        local = np.zeros_like(lit)
        local[rows, columns] = lit[rows, columns]
        assert local.any(), f"box {index} {box} holds no bright pixels"
        found = extent(local)
        assert np.abs(found - box).max() <= tolerance, (index, found, box)
        claimed[rows, columns] = True
        mask = out["masks"][index].numpy().astype(bool)
        assert mask.any() and np.abs(extent(mask) - box).max() <= tolerance, (index, extent(mask), box)
        if exact:
            # The mask's pixels are the object's pixels.
            assert np.array_equal(mask, local)
        else:
            assert (mask & local).sum() >= 0.7 * max(mask.sum(), local.sum())
    assert not (lit & ~claimed).any(), "bright pixels outside every box"
    # The semantic mask moved with the instance masks (both by nearest-neighbour kernels).
    labels = out["labels"].numpy() // 10
    expected = np.zeros(lit.shape, dtype=np.int64)
    for label, mask in zip(labels, out["masks"].numpy().astype(bool), strict=True):
        expected[mask] = label
    assert np.array_equal(out["mask"].numpy().astype(np.int64), expected)


def test_the_family_is_registered_on_both_backends() -> None:
    for backend in BACKENDS:
        assert set(NAMES) <= set(list_transforms(backend=backend))
    assert set(NAMES) >= {
        "RandomRotate90",
        "Transpose",
        "RandomZoomOut",
        "ScaleJitter",
        "D4",
        "RandomShortestSize",
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_boxes_masks_and_fields_follow_the_pixels(name: str, backend: str) -> None:
    for seed in range(4):
        out = run(name, backend, seed)
        assert out["dropped"] == []
        assert out["labels"].tolist() == [10, 20, 30]
        assert torch.equal(out["scores"], torch.linspace(0.5, 0.9, 3))
        height, width = out["image"].shape[-2:]
        assert out["masks"].shape == (3, height, width) and out["masks"].dtype == torch.bool
        assert out["mask"].shape == (height, width) and out["mask"].dtype == torch.uint8
        assert_boxes_follow_pixels(out, exact=name in EXACT)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_dropped_boxes_are_reported_and_the_rest_stay_aligned(name: str, backend: str) -> None:
    plain = run(name, backend, seed=1)
    areas = ((plain["boxes"][:, 2:] - plain["boxes"][:, :2]).prod(dim=1)).numpy()
    order = np.argsort(areas)
    smallest = int(order[0])
    threshold = float(areas[order[0]] + areas[order[1]]) / 2
    out = run(name, backend, seed=1, min_area=threshold)
    assert out["dropped"] == [{"index": smallest, "reason": "area"}]
    kept = [index for index in range(3) if index != smallest]
    assert torch.equal(out["boxes"], plain["boxes"][kept])
    assert out["labels"].tolist() == [10 * (index + 1) for index in kept]
    assert torch.equal(out["scores"], plain["scores"][kept])
    assert torch.equal(out["masks"], plain["masks"][kept])
    assert torch.equal(out["image"], plain["image"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_a_seed_repeats_and_seeds_differ(name: str, backend: str) -> None:
    first, again = run(name, backend, seed=7), run(name, backend, seed=7)
    assert torch.equal(first["image"], again["image"]) and torch.equal(first["boxes"], again["boxes"])
    if name != "Transpose":  # the one transform that draws nothing
        shapes = {tuple(run(name, backend, seed=seed)["boxes"].flatten().tolist()) for seed in range(8)}
        assert len(shapes) > 1


def _element_of(source: np.ndarray, output: np.ndarray) -> str:
    """The D4 element (albumentations' functional) that turns ``source`` into ``output``."""
    matches = [
        element
        for element in D4_ELEMENTS
        if album_functional.d4(source, element).shape == output.shape
        and np.array_equal(album_functional.d4(source, element), output)
    ]
    assert matches, "the output is none of the 8 symmetries of the input"
    return matches[0]


@pytest.mark.parametrize("name", ["RandomRotate90", "Transpose", "D4"])
def test_symmetries_match_albumentations_on_whatever_element_was_drawn(name: str) -> None:
    """Each backend against albumentations' own functions for the element it drew; same element, same output."""
    source = photo()
    seen: dict[str, dict[str, Any]] = {}
    allowed = {"RandomRotate90": {"e", "r90", "r180", "r270"}, "Transpose": {"t"}, "D4": set(D4_ELEMENTS)}[
        name
    ]
    spec = {"name": name, "p": 1.0}
    for backend in BACKENDS:
        pipeline = BoxPipeline([spec], backend=backend, seed=0)
        for _ in range(48):
            out = pipeline(sample())
            image = out["image"].permute(1, 2, 0).numpy()
            element = _element_of(source, image)
            assert element in allowed
            height, width = image.shape[:2]
            normalised = np.array(OBJECTS, dtype=np.float64) / (WIDTH, HEIGHT, WIDTH, HEIGHT)
            expected = album_functional.bboxes_d4(normalised, element) * (width, height, width, height)
            np.testing.assert_allclose(out["boxes"].numpy(), expected, atol=1e-4)
            if element in seen:
                assert torch.equal(seen[element]["image"], out["image"])
                assert torch.equal(seen[element]["boxes"], out["boxes"])
                assert torch.equal(seen[element]["masks"], out["masks"])
            seen[element] = out
    assert set(seen) == allowed  # every element drawn, on the two backends together


def test_d4_draws_the_same_element_on_both_backends_for_a_seed() -> None:
    source = photo()
    drawn = [
        [
            _element_of(source, run("D4", backend, seed)["image"].permute(1, 2, 0).numpy())
            for seed in range(10)
        ]
        for backend in BACKENDS
    ]
    assert drawn[0] == drawn[1] and len(set(drawn[0])) > 3


@pytest.mark.parametrize("name", ["RandomZoomOut", "ScaleJitter", "RandomShortestSize"])
def test_both_backends_draw_the_same_and_give_nearly_the_same_pixels(name: str) -> None:
    for seed in range(3):
        torchvision_out, album_out = (run(name, backend, seed) for backend in BACKENDS)
        assert torchvision_out["image"].shape == album_out["image"].shape
        torch.testing.assert_close(torchvision_out["boxes"], album_out["boxes"], atol=1e-3, rtol=0)
        assert torch.equal(torchvision_out["masks"], album_out["masks"])
        assert torch.equal(torchvision_out["mask"], album_out["mask"])
        difference = (torchvision_out["image"].float() - album_out["image"].float()).abs()
        if name == "RandomZoomOut":
            assert torch.equal(torchvision_out["image"], album_out["image"])
        else:  # the same kernel shrinking; OpenCV's and torch's bilinear enlarging differ in rounding
            assert difference.mean() < 0.5 and difference.max() <= 2, (difference.mean(), difference.max())


def test_zoom_out_places_the_whole_image_on_a_filled_canvas() -> None:
    source = sample()["image"]
    for backend in BACKENDS:
        out = BoxPipeline(
            [{"name": "RandomZoomOut", "side_range": [2.0, 3.0], "fill": [1, 2, 3], "p": 1.0}],
            backend=backend,
            seed=4,
        )(sample())
        left, top = (out["boxes"][0, :2] - torch.tensor(OBJECTS[0][:2])).int().tolist()
        image = out["image"]
        assert 2 * HEIGHT <= image.shape[1] <= 3 * HEIGHT and 2 * WIDTH <= image.shape[2] <= 3 * WIDTH
        assert torch.equal(image[:, top : top + HEIGHT, left : left + WIDTH], source)
        canvas = image.clone()
        canvas[:, top : top + HEIGHT, left : left + WIDTH] = torch.tensor([1, 2, 3], dtype=torch.uint8)[
            :, None, None
        ]
        assert bool((canvas == torch.tensor([1, 2, 3], dtype=torch.uint8)[:, None, None]).all())


@pytest.mark.parametrize(
    ("name", "spec", "reference"),
    [
        (
            "ScaleJitter",
            {"target_size": [96, 80], "scale_range": [1.5, 1.5]},
            v2.ScaleJitter((96, 80), (1.5, 1.5)),
        ),
        (
            "ScaleJitter",
            {"target_size": [40, 50], "scale_range": [0.5, 0.5]},
            v2.ScaleJitter((40, 50), (0.5, 0.5)),
        ),
        ("RandomShortestSize", {"min_size": 90, "max_size": 100}, v2.RandomShortestSize(90, 100)),
        ("RandomShortestSize", {"min_size": [45]}, v2.RandomShortestSize([45])),
    ],
)
def test_resizes_match_torchvision_v2(name: str, spec: dict[str, Any], reference: Any) -> None:
    source = sample()
    boxes = tv_tensors.BoundingBoxes(source["boxes"], format="XYXY", canvas_size=(HEIGHT, WIDTH))
    expected_image, expected_boxes = reference(tv_tensors.Image(source["image"]), boxes)
    for backend in BACKENDS:
        out = BoxPipeline([{"name": name, **spec}], backend=backend)(sample())
        assert out["image"].shape == expected_image.shape
        torch.testing.assert_close(out["boxes"], expected_boxes.as_subclass(torch.Tensor), atol=1e-3, rtol=0)
        difference = (out["image"].float() - expected_image.float()).abs()
        if backend == "torchvision":
            assert torch.equal(out["image"], expected_image.as_subclass(torch.Tensor))
        assert difference.mean() < 0.5 and difference.max() <= 2, (difference.mean(), difference.max())


def test_antialias_false_samples_instead_of_averaging() -> None:
    spec = {"name": "ScaleJitter", "target_size": [20, 20], "scale_range": [1.0, 1.0]}
    for backend in BACKENDS:
        smooth = BoxPipeline([spec], backend=backend)(sample())["image"]
        sharp = BoxPipeline([{**spec, "antialias": False}], backend=backend)(sample())["image"]
        reference = v2.ScaleJitter((20, 20), (1.0, 1.0), antialias=False)(tv_tensors.Image(sample()["image"]))
        assert smooth.shape == sharp.shape == reference.shape
        assert not torch.equal(smooth, sharp)
        difference = (sharp.float() - reference.float()).abs()
        assert difference.mean() < 0.5 and difference.max() <= 2, (
            backend,
            difference.mean(),
            difference.max(),
        )


def _boxes_strategy() -> Any:
    @st.composite
    def draw(draw_: Any) -> tuple[int, int, list[tuple[int, int, int, int]]]:
        height, width = draw_(st.integers(4, 40)), draw_(st.integers(4, 40))
        count = draw_(st.integers(0, 4))
        boxes = []
        for _ in range(count):
            x_min, y_min = draw_(st.integers(0, width - 1)), draw_(st.integers(0, height - 1))
            boxes.append(
                (x_min, y_min, draw_(st.integers(x_min + 1, width)), draw_(st.integers(y_min + 1, height)))
            )
        return height, width, boxes

    return draw()


@settings(max_examples=40, deadline=None)
@given(
    case=_boxes_strategy(),
    name=st.sampled_from(NAMES),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**16),
)
def test_boxes_stay_in_the_image_and_match_their_masks(
    case: tuple[int, int, list[tuple[int, int, int, int]]], name: str, backend: str, seed: int
) -> None:
    height, width, objects = case
    spec = {"name": name, "p": 1.0, **SETTINGS[name]}
    data = sample(objects, height, width)
    out = BoxPipeline([spec], backend=backend, seed=seed)(data)
    out_height, out_width = out["image"].shape[-2:]
    boxes = out["boxes"].numpy().astype(np.float64).reshape(-1, 4)
    assert len(boxes) + len(out["dropped"]) == len(objects)
    assert (
        (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= out_width).all() and (boxes[:, 3] <= out_height).all()
    )
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    tolerance = 1e-4 if name in EXACT else 1.0 + 1e-4
    for box, mask in zip(boxes, out["masks"].numpy(), strict=True):
        if name in EXACT or mask.any():  # a nearest-neighbour shrink may miss a box thinner than a pixel
            assert np.abs(extent(mask) - box).max() <= tolerance, (extent(mask), box)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"name": "RandomZoomOut", "side_range": [0.5, 2.0]},
            r"side_range: expected \(min, max\) with 1 <= min",
        ),
        ({"name": "RandomZoomOut", "side_range": [3.0, 2.0]}, r"side_range: expected .*got \[3.0, 2.0\]"),
        ({"name": "RandomZoomOut", "side_range": 2.0}, r"side_range: expected \(min, max\).*got 2.0"),
        ({"name": "RandomZoomOut", "side_range": [1, 1e9]}, r"side_range: expected .*<= 32768"),
        (
            {"name": "RandomZoomOut", "fill": "red"},
            r"fill: expected a number or one number per channel, got 'red'",
        ),
        (
            {"name": "ScaleJitter", "target_size": 0},
            r"target_size: expected a positive int or \(width, height\)",
        ),
        ({"name": "ScaleJitter", "target_size": [10]}, r"target_size: expected .*got \[10\]"),
        (
            {"name": "ScaleJitter", "target_size": 10, "scale_range": [0, 1]},
            r"scale_range: expected .*0 < min",
        ),
        (
            {"name": "ScaleJitter", "target_size": 10, "scale_range": [2, 1]},
            r"scale_range: expected .*got \[2, 1\]",
        ),
        (
            {"name": "ScaleJitter", "target_size": 20000},
            r"scale_range: the largest output side would be .*40000",
        ),
        (
            {"name": "ScaleJitter", "target_size": 10, "antialias": "yes"},
            r"antialias: expected true or false",
        ),
        (
            {"name": "ScaleJitter", "target_size": 10, "interpolation": "cubic"},
            r"interpolation: expected one of",
        ),
        (
            {"name": "RandomShortestSize", "min_size": []},
            r"min_size: expected a positive int or a non-empty list",
        ),
        ({"name": "RandomShortestSize", "min_size": [10, 0]}, r"min_size: expected .*got \[10, 0\]"),
        ({"name": "RandomShortestSize", "min_size": 10, "max_size": 0}, r"max_size: expected a positive int"),
        ({"name": "RandomRotate90", "p": 2}, r"p: expected a probability in \[0, 1\], got 2"),
    ],
)
def test_bad_parameters_name_the_transform_parameter_and_expectation(
    backend: str, spec: dict[str, Any], expected: str
) -> None:
    with pytest.raises(TransformSpecError, match=rf"transforms\[0\] \({spec['name']}\).*{expected}"):
        BoxPipeline([spec], backend=backend)


def test_unknown_parameters_suggest_what_the_transform_takes() -> None:
    with pytest.raises(UnknownNameError, match=r"RandomZoomOut\): unknown parameter 'side'.*'side_range'"):
        BoxPipeline([{"name": "RandomZoomOut", "side": [1, 2]}])
    with pytest.raises(
        UnknownNameError, match=r"RandomRotate90\): unknown parameter 'limit'; RandomRotate90 takes p$"
    ):
        BoxPipeline([{"name": "RandomRotate90", "limit": 90}])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("spec", "size", "expected"),
    [
        # The largest canvas (4 x 10000 rows) is refused whatever the draw, before it is allocated.
        ({"name": "RandomZoomOut", "p": 1.0}, (10_000, 8), r"would make the 10000x8 image 40000x32"),
        ({"name": "RandomShortestSize", "min_size": [8, 1000]}, (8, 400), r"50000 .*; or set max_size"),
        ({"name": "D4"}, (40_000, 2), r"D4: the 40000x2 image .* side above 32768"),
        ({"name": "Transpose", "p": 1.0}, (2, 40_000), r"Transpose: the 2x40000 image"),
    ],
)
def test_output_sizes_above_the_largest_side_are_refused_before_allocating(
    backend: str, spec: dict[str, Any], size: tuple[int, int], expected: str
) -> None:
    pipeline = BoxPipeline([spec], backend=backend, seed=0)
    with pytest.raises(TransformSpecError, match=rf"transforms\[0\] \({spec['name']}\): .*{expected}"):
        pipeline({"image": torch.zeros(1, *size, dtype=torch.uint8)})


@pytest.mark.parametrize("backend", BACKENDS)
def test_yaml_round_trip_gives_the_same_spec_and_output(backend: str, tmp_path: Any) -> None:
    specs = [{"name": name, "p": 0.7, **SETTINGS[name]} for name in NAMES]
    pipeline = BoxPipeline(specs, backend=backend, seed=11)
    path = pipeline.save(tmp_path / "spatial.yaml")
    loaded = BoxPipeline.load(path)
    assert loaded.to_dict() == pipeline.to_dict()
    assert [spec["name"] for spec in loaded.to_dict()["transforms"]] == NAMES
    for _ in range(3):
        first, second = pipeline(sample()), loaded(sample())
        for key in ("image", "boxes", "labels", "masks", "mask"):
            assert torch.equal(first[key], second[key])


def test_default_probabilities_are_the_libraries() -> None:
    transforms = BoxPipeline([*NAMES[:3], {"name": "RandomZoomOut"}]).to_dict()["transforms"]
    assert {spec["name"]: spec["p"] for spec in transforms} == {
        "RandomRotate90": albumentations.RandomRotate90().p,
        "Transpose": albumentations.Transpose().p,
        "D4": albumentations.D4().p,
        "RandomZoomOut": v2.RandomZoomOut().p,
    }
    defaults = BoxPipeline([{"name": "ScaleJitter", "target_size": 8}]).to_dict()["transforms"][0]
    assert defaults["scale_range"] == [0.1, 2.0] and defaults["antialias"] is True and defaults["p"] == 1.0

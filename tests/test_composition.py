"""Composition nodes (``OneOf``, ``SomeOf``, ``Sequential``, ``RandomOrder``) in ``BoxPipeline``, on both backends.

The photos are built deterministically: a smooth gradient with a white rectangle and a red rectangle drawn
with PIL exactly at their boxes, so that after any geometric step the box of each object must still
enclose the object's pixels ("boxes follow the pixels").
"""

from __future__ import annotations

import json
import multiprocessing
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader, Dataset, get_worker_info

from visiondata.exceptions import TransformSpecError, UnknownNameError
from visiondata.transforms import BoxPipeline

BACKENDS = ("torchvision", "albumentations")
HEIGHT, WIDTH = 96, 128
WHITE_BOX = (30.0, 20.0, 70.0, 60.0)  # label 1
RED_BOX = (84.0, 50.0, 120.0, 90.0)  # label 2
# Resampling smears an object's edge over a pixel or so on each side.
TOLERANCE = 2.5


def photo() -> torch.Tensor:
    """A photo-like ``3 x H x W`` uint8 image: gradients, a grey disc, a white and a red rectangle at the boxes."""
    x = np.linspace(0, 1, WIDTH)[None, :]
    y = np.linspace(0, 1, HEIGHT)[:, None]
    background = np.stack(
        [60 * x + 0 * y, 60 * y + 0 * x, 30 + 20 * np.sin(6 * x + 4 * y)], axis=-1
    )  # every channel below 61
    image = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((5, 65, 35, 90), fill=(120, 110, 100))
    # PIL's rectangle includes its last pixel: the box [x1, x2) covers columns x1..x2-1.
    draw.rectangle((WHITE_BOX[0], WHITE_BOX[1], WHITE_BOX[2] - 1, WHITE_BOX[3] - 1), fill=(250, 250, 250))
    draw.rectangle((RED_BOX[0], RED_BOX[1], RED_BOX[2] - 1, RED_BOX[3] - 1), fill=(250, 10, 10))
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).contiguous()


def sample() -> dict[str, Any]:
    return {"image": photo(), "boxes": torch.tensor([WHITE_BOX, RED_BOX]), "labels": torch.tensor([1, 2])}


def object_pixels(image: torch.Tensor, label: int) -> np.ndarray:
    """Where the object of ``label`` is, as an ``H x W`` bool mask."""
    red, green, blue = (channel.numpy().astype(np.int32) for channel in image)
    if label == 1:
        return (red > 180) & (green > 180) & (blue > 180)
    return (red > 180) & (green < 100) & (blue < 100)


def region(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    rows, columns = np.nonzero(mask)
    if not len(rows):
        return None
    return float(columns.min()), float(rows.min()), float(columns.max() + 1), float(rows.max() + 1)


def assert_boxes_follow_pixels(out: dict[str, Any]) -> None:
    """Each kept box sits on its object's pixels; each dropped object has no pixels left in view."""
    kept = {int(label): box.tolist() for label, box in zip(out["labels"], out["boxes"], strict=True)}
    for label in (1, 2):
        mask = object_pixels(out["image"], label)
        if label not in kept:
            # Dropped: at most an edge smear is left.
            assert mask.sum() <= 2 * max(mask.shape), (label, out["dropped"])
            continue
        found = region(mask)
        assert found is not None, (label, kept[label])
        assert np.allclose(kept[label], found, atol=TOLERANCE), (label, kept[label], found)


def tiny() -> torch.Tensor:
    """A 1 x 4 x 6 image whose pixels are all different, so each flip gives a different picture."""
    return torch.arange(24, dtype=torch.uint8).reshape(1, 4, 6)


def outcome(image: torch.Tensor) -> str:
    """Which flips made ``image`` from `tiny`: ``"none"``, ``"h"``, ``"v"`` or ``"hv"``."""
    base = tiny()
    for name, candidate in (
        ("none", base),
        ("h", base.flip(-1)),
        ("v", base.flip(-2)),
        ("hv", base.flip(-1).flip(-2)),
    ):
        if candidate.shape == image.shape and torch.equal(candidate, image):
            return name
    raise AssertionError(f"not a flip of the input: {image}")


def outcomes(pipeline: BoxPipeline, calls: int) -> Counter[str]:
    return Counter(outcome(pipeline({"image": tiny()})["image"]) for _ in range(calls))


def run_many(
    pipeline: BoxPipeline, calls: int
) -> list[tuple[bytes, list[list[float]], list[dict[str, Any]]]]:
    results = []
    for _ in range(calls):
        out = pipeline(sample())
        results.append((out["image"].numpy().tobytes(), out["boxes"].tolist(), out["dropped"]))
    return results


# -- every node, both backends, boxes on the pixels ------------------------------------------------------

GEOMETRIC_CHILDREN = [
    {"name": "HorizontalFlip", "p": 1.0},
    {"name": "VerticalFlip", "p": 0.7},
    {"name": "RandomCrop", "size": [64, 80]},
    {"name": "Resize", "size": [72, 100]},
]

NODES = {
    "OneOf": {"name": "OneOf", "p": 0.9, "transforms": GEOMETRIC_CHILDREN},
    "SomeOf": {"name": "SomeOf", "n": 2, "transforms": GEOMETRIC_CHILDREN},
    "SomeOf-replace": {"name": "SomeOf", "n": 5, "replace": True, "transforms": GEOMETRIC_CHILDREN},
    "Sequential": {"name": "Sequential", "p": 0.8, "transforms": GEOMETRIC_CHILDREN},
    "RandomOrder": {"name": "RandomOrder", "transforms": GEOMETRIC_CHILDREN},
    "RandomOrder-n": {"name": "RandomOrder", "n": 2, "transforms": GEOMETRIC_CHILDREN},
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("node", sorted(NODES))
def test_each_node_moves_boxes_with_the_pixels(backend: str, node: str) -> None:
    pipeline = BoxPipeline([NODES[node]], backend=backend, seed=11)
    shapes = set()
    for _ in range(30):
        out = pipeline(sample())
        assert out["image"].dtype == torch.uint8 and out["image"].shape[0] == 3
        shapes.add(tuple(out["image"].shape))
        assert_boxes_follow_pixels(out)
    # The children really ran: several output sizes (crop, resize, neither) were seen.
    assert len(shapes) > 1


NESTED = [
    {
        "name": "OneOf",
        "p": 1.0,
        "transforms": [
            {
                "name": "Sequential",
                "p": 1.0,
                "transforms": [
                    {"name": "RandomCrop", "size": [80, 100]},
                    {"name": "HorizontalFlip", "p": 0.5},
                ],
            },
            {
                "name": "RandomOrder",
                "p": 0.8,
                "transforms": [
                    {"name": "VerticalFlip", "p": 0.5},
                    {"name": "Resize", "size": [60, 90]},
                    {
                        "name": "SomeOf",
                        "n": 1,
                        "transforms": ["HorizontalFlip", {"name": "Rotate", "degrees": 12}],
                    },
                ],
            },
        ],
    },
    {"name": "ColorJitter", "brightness": 0.1},
]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_nested_compositions_move_boxes_with_the_pixels(backend: str, seed: int) -> None:
    pipeline = BoxPipeline(NESTED, backend=backend, seed=seed)
    for _ in range(3):
        out = pipeline(sample())
        assert_boxes_follow_pixels(out)
        # Nothing left the image: boxes that remain are within it, every other one is reported.
        assert len(out["boxes"]) + len(out["dropped"]) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_children_of_a_composition_see_the_output_of_the_previous_child(backend: str) -> None:
    # A crop of the top-left corner, then a flip of that crop: the flip works on the crop's width.
    pipeline = BoxPipeline(
        [
            {
                "name": "Sequential",
                "p": 1.0,
                "transforms": [
                    {"name": "Crop", "top": 0, "left": 0, "height": 80, "width": 100},
                    {"name": "HorizontalFlip", "p": 1.0},
                ],
            }
        ],
        backend=backend,
        seed=0,
    )
    out = pipeline(sample())
    expected = photo()[:, :80, :100].flip(-1)
    assert torch.equal(out["image"], expected)
    assert out["boxes"].tolist() == [[100 - 70, 20, 100 - 30, 60], [100 - 100, 50, 100 - 84, 80]]
    assert_boxes_follow_pixels(out)


# -- the draws: albumentations' semantics, the pipeline's streams ------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_of_picks_children_by_their_p_as_weights(backend: str) -> None:
    pipeline = BoxPipeline(
        [
            {
                "name": "OneOf",
                "p": 1.0,
                "transforms": [
                    {"name": "HorizontalFlip", "p": 0.2},
                    {"name": "VerticalFlip", "p": 0.6},
                    # Weight 0: never chosen; would change the size if it were.
                    {"name": "Resize", "size": [3, 3], "p": 0.0},
                ],
            }
        ],
        backend=backend,
        seed=5,
    )
    counts = outcomes(pipeline, 2000)
    assert set(counts) <= {"h", "v"}
    # Weights 0.2 : 0.6 are 1/4 : 3/4; a chosen child runs whatever its own p (else v would be 9/16).
    assert abs(counts["h"] / 2000 - 0.25) < 0.04, counts
    assert abs(counts["v"] / 2000 - 0.75) < 0.04, counts


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_of_runs_with_its_own_p(backend: str) -> None:
    pipeline = BoxPipeline(
        [{"name": "OneOf", "p": 0.3, "transforms": [{"name": "HorizontalFlip", "p": 0.01}]}],
        backend=backend,
        seed=6,
    )
    counts = outcomes(pipeline, 2000)
    assert abs(counts["h"] / 2000 - 0.3) < 0.04, counts
    assert counts["h"] + counts["none"] == 2000


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequential_runs_all_children_or_none(backend: str) -> None:
    both = [{"name": "HorizontalFlip", "p": 1.0}, {"name": "VerticalFlip", "p": 1.0}]
    pipeline = BoxPipeline([{"name": "Sequential", "p": 0.3, "transforms": both}], backend=backend, seed=7)
    counts = outcomes(pipeline, 2000)
    assert set(counts) <= {"none", "hv"}, counts
    assert abs(counts["hv"] / 2000 - 0.3) < 0.04, counts


@pytest.mark.parametrize("backend", BACKENDS)
def test_children_of_sequential_some_of_and_random_order_keep_their_own_p(backend: str) -> None:
    for node in (
        {"name": "Sequential", "p": 1.0},
        {"name": "SomeOf", "n": 1},
        {"name": "RandomOrder"},
    ):
        spec = {**node, "transforms": [{"name": "HorizontalFlip", "p": 0.2}]}
        counts = outcomes(BoxPipeline([spec], backend=backend, seed=8), 2000)
        assert abs(counts["h"] / 2000 - 0.2) < 0.04, (node, counts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_some_of_draws_n_distinct_children_uniformly(backend: str) -> None:
    # Pad changes the size, the flips the pixels: every pair of the three can be told apart.
    children = [
        {"name": "HorizontalFlip", "p": 1.0},
        {"name": "VerticalFlip", "p": 1.0},
        {"name": "Pad", "padding": 1, "fill": 255},
    ]
    pipeline = BoxPipeline([{"name": "SomeOf", "n": 2, "transforms": children}], backend=backend, seed=9)
    pairs: Counter[str] = Counter()
    for _ in range(1500):
        image = pipeline({"image": tiny()})["image"]
        padded = image.shape[-2:] == (6, 8)
        flips = outcome(image[:, 1:-1, 1:-1] if padded else image)
        pairs[flips + ("+pad" if padded else "")] += 1
    # Without replacement, exactly two different children: {h, v}, {h, pad}, {v, pad}, a third each.
    assert set(pairs) == {"hv", "h+pad", "v+pad"}, pairs
    for count in pairs.values():
        assert abs(count / 1500 - 1 / 3) < 0.05, pairs


@pytest.mark.parametrize("backend", BACKENDS)
def test_some_of_with_replace_can_draw_a_child_twice(backend: str) -> None:
    children = [{"name": "HorizontalFlip", "p": 1.0}, {"name": "VerticalFlip", "p": 1.0}]
    pipeline = BoxPipeline(
        [{"name": "SomeOf", "n": 2, "replace": True, "transforms": children}], backend=backend, seed=10
    )
    counts = outcomes(pipeline, 2000)
    # h,h and v,v cancel out (1/2 together); h,v or v,h flip both ways (1/2).
    assert set(counts) == {"none", "hv"}, counts
    assert abs(counts["hv"] / 2000 - 0.5) < 0.04, counts


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_order_runs_every_child_in_a_random_order(backend: str) -> None:
    # A fixed crop of the left part and a flip do not commute: the output tells the order.
    crop = {"name": "Crop", "top": 0, "left": 0, "height": 96, "width": 64}
    pipeline = BoxPipeline(
        [{"name": "RandomOrder", "transforms": [crop, {"name": "HorizontalFlip", "p": 1.0}]}],
        backend=backend,
        seed=12,
    )
    assert pipeline.specs[0]["n"] == 2  # every child, unless told otherwise
    image = photo()
    crop_then_flip = image[:, :, :64].flip(-1)
    flip_then_crop = image.flip(-1)[:, :, :64]
    orders: Counter[str] = Counter()
    for _ in range(400):
        out = pipeline(sample())
        assert_boxes_follow_pixels(out)
        if torch.equal(out["image"], crop_then_flip):
            orders["crop, flip"] += 1
        elif torch.equal(out["image"], flip_then_crop):
            orders["flip, crop"] += 1
        else:
            raise AssertionError("neither order of the two children")
    assert abs(orders["crop, flip"] / 400 - 0.5) < 0.1, orders


@pytest.mark.parametrize("backend", BACKENDS)
def test_some_of_runs_the_drawn_children_in_list_order(backend: str) -> None:
    # As albumentations' SomeOf does: the draw picks children, the list decides their order.
    crop = {"name": "Crop", "top": 0, "left": 0, "height": 96, "width": 64}
    flip = {"name": "HorizontalFlip", "p": 1.0}
    for children, expected in (
        ([crop, flip], photo()[:, :, :64].flip(-1)),
        ([flip, crop], photo().flip(-1)[:, :, :64]),
    ):
        pipeline = BoxPipeline([{"name": "SomeOf", "n": 2, "transforms": children}], backend=backend, seed=14)
        for _ in range(40):
            out = pipeline(sample())
            assert torch.equal(out["image"], expected)
            assert_boxes_follow_pixels(out)


def test_random_order_with_n_runs_n_children() -> None:
    children = [
        {"name": "HorizontalFlip", "p": 1.0},
        {"name": "VerticalFlip", "p": 1.0},
        {"name": "Pad", "padding": 1, "fill": 255},
    ]
    pipeline = BoxPipeline([{"name": "RandomOrder", "n": 1, "transforms": children}], seed=13)
    seen: Counter[str] = Counter()
    for _ in range(600):
        image = pipeline({"image": tiny()})["image"]
        seen["pad" if image.shape[-2:] == (6, 8) else outcome(image)] += 1
    assert set(seen) == {"h", "v", "pad"}, seen
    assert all(abs(count / 600 - 1 / 3) < 0.07 for count in seen.values()), seen


def test_a_composition_with_p_zero_never_runs_its_children() -> None:
    for name in ("OneOf", "SomeOf", "Sequential", "RandomOrder"):
        spec = {"name": name, "p": 0.0, "transforms": [{"name": "HorizontalFlip", "p": 1.0}]}
        assert outcomes(BoxPipeline([spec], seed=0), 200) == {"none": 200}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_seed_repeats_and_global_random_state_is_neither_used_nor_changed(backend: str) -> None:
    first = run_many(BoxPipeline(NESTED, backend=backend, seed=3), 12)
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    pipeline = BoxPipeline(NESTED, backend=backend, seed=3)
    assert run_many(pipeline, 12) == first
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    # Another seed draws otherwise.
    assert run_many(BoxPipeline(NESTED, backend=backend, seed=4), 12) != first


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_a_seed_torch_manual_seed_repeats_a_call(backend: str) -> None:
    pipeline = BoxPipeline(NESTED, backend=backend)
    torch.manual_seed(21)
    first = run_many(pipeline, 6)
    torch.manual_seed(21)
    assert run_many(pipeline, 6) == first


# -- spec round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_to_dict_save_and_load_give_identical_output_for_a_seed(backend: str, tmp_path: Path) -> None:
    pipeline = BoxPipeline(NESTED, backend=backend, seed=17, min_visibility=0.2)
    spec = pipeline.to_dict()
    node = spec["transforms"][0]
    # Normalised: defaults filled in, children normalised in a plain list.
    assert node["name"] == "OneOf" and node["p"] == 1.0
    sequential, random_order = node["transforms"]
    assert sequential["transforms"][0] == {
        "name": "RandomCrop",
        "p": 1.0,
        "size": [80, 100],
        "pad_if_needed": False,
        "fill": 0,
    }
    assert random_order["n"] == 3 and random_order["replace"] is False
    assert random_order["transforms"][2]["transforms"][0] == {"name": "HorizontalFlip", "p": 0.5}
    # Plain data: JSON and YAML write it and read it back unchanged.
    assert json.loads(json.dumps(spec)) == spec
    assert yaml.safe_load(yaml.safe_dump(spec)) == spec

    expected = run_many(pipeline, 15)
    copies = [
        BoxPipeline.from_dict(spec),
        BoxPipeline.load(pipeline.save(tmp_path / "augment.yaml")),
        BoxPipeline.load(pipeline.save(tmp_path / "augment.json")),
    ]
    for copy in copies:
        assert copy.to_dict() == spec
        assert run_many(copy, 15) == expected
    # The normalised spec is a fixed point.
    assert BoxPipeline(spec["transforms"], backend=backend).specs == pipeline.specs


def test_a_hand_written_yaml_spec_with_compositions_loads(tmp_path: Path) -> None:
    path = tmp_path / "augment.yaml"
    path.write_text(
        "transforms:\n"
        "  - name: OneOf\n"
        "    p: 1.0\n"
        "    transforms:\n"
        "      - {name: HorizontalFlip, p: 1.0}\n"
        "      - name: Sequential\n"
        "        p: 1\n"
        "        transforms: [VerticalFlip, {name: Resize, size: [48, 64]}]\n"
        "seed: 2\n"
    )
    pipeline = BoxPipeline.load(path)
    assert pipeline.specs[0]["transforms"][1]["transforms"][1]["size"] == [48, 64]
    for _ in range(10):
        assert_boxes_follow_pixels(pipeline(sample()))


def test_to_dict_is_a_copy_that_cannot_change_the_pipeline() -> None:
    pipeline = BoxPipeline(
        [{"name": "Sequential", "p": 1.0, "transforms": [{"name": "HorizontalFlip", "p": 1.0}]}]
    )
    spec = pipeline.to_dict()
    spec["transforms"][0]["transforms"][0]["p"] = 0.0
    spec["transforms"][0]["transforms"].append({"name": "VerticalFlip"})
    assert pipeline.specs[0]["transforms"] == [{"name": "HorizontalFlip", "p": 1.0}]


def test_repr_shows_each_child_on_its_own_line() -> None:
    pipeline = BoxPipeline(
        [
            {
                "name": "OneOf",
                "transforms": ["HorizontalFlip", {"name": "Sequential", "transforms": ["VerticalFlip"]}],
            }
        ]
    )
    lines = repr(pipeline).splitlines()
    assert lines[1] == "  {'name': 'OneOf', 'p': 0.5, 'transforms': ["
    assert lines[2] == "    {'name': 'HorizontalFlip', 'p': 0.5},"
    assert lines[3] == "    {'name': 'Sequential', 'p': 0.5, 'transforms': ["
    assert lines[4] == "      {'name': 'VerticalFlip', 'p': 0.5},"
    assert lines[5:7] == ["    ]},", "  ]},"]


# -- errors ----------------------------------------------------------------------------------------------

FLIP = {"name": "HorizontalFlip"}


@pytest.mark.parametrize(
    ("transforms", "error", "pattern"),
    [
        (
            [{"name": "OneOf"}],
            TransformSpecError,
            r"^transforms\[0\] \(OneOf\): expected a 'transforms' list",
        ),
        (
            [{"name": "SomeOf", "transforms": []}],
            TransformSpecError,
            r"non-empty list of child specs.*got \[\]",
        ),
        (
            [{"name": "Sequential", "transforms": "HorizontalFlip"}],
            TransformSpecError,
            r"got 'HorizontalFlip'",
        ),
        (
            [{"name": "Sequential", "transforms": {"name": "HorizontalFlip"}}],
            TransformSpecError,
            r"non-empty list",
        ),
        (
            [{"name": "OneOf", "transforms": [FLIP], "p": 1.5}],
            TransformSpecError,
            r"p: expected a probability in \[0, 1\], got 1.5",
        ),
        (
            [{"name": "OneOf", "transforms": [FLIP], "p": True}],
            TransformSpecError,
            r"p: expected a probability",
        ),
        (
            [{"name": "OneOf", "transforms": [FLIP], "p": float("nan")}],
            TransformSpecError,
            r"p: expected a probability",
        ),
        (
            [{"name": "SomeOf", "transforms": [FLIP], "n": 2}],
            TransformSpecError,
            r"n: expected an int from 1 to 1, the number of children \(or replace=true",
        ),
        (
            [{"name": "SomeOf", "transforms": [FLIP], "n": 0}],
            TransformSpecError,
            r"n: expected an int from 1 to 1.*got 0",
        ),
        (
            [{"name": "RandomOrder", "transforms": [FLIP], "n": 1.0}],
            TransformSpecError,
            r"n: expected an int.*got 1.0",
        ),
        (
            [{"name": "SomeOf", "transforms": [FLIP], "n": 10**6, "replace": True}],
            TransformSpecError,
            r"n: expected an int from 1 to 1024, with replace=true",
        ),
        (
            [{"name": "SomeOf", "transforms": [FLIP], "replace": "yes"}],
            TransformSpecError,
            r"replace: expected true or false, got 'yes'",
        ),
        (
            [{"name": "Sequential", "transforms": [FLIP], "n": 1}],
            UnknownNameError,
            r"unknown parameter 'n';.* Sequential takes transforms, p$",
        ),
        (
            [{"name": "SomeOf", "transforms": [FLIP], "replac": True}],
            UnknownNameError,
            r"unknown parameter 'replac'; did you mean 'replace'\?",
        ),
        (
            [{"name": "OneOf", "transform": [FLIP]}],
            UnknownNameError,
            r"unknown parameter 'transform'; did you mean 'transforms'\?",
        ),
        (
            [
                {
                    "name": "OneOf",
                    "transforms": [{"name": "HorizontalFlip", "p": 0}, {"name": "VerticalFlip", "p": 0.0}],
                }
            ],
            TransformSpecError,
            r"^transforms\[0\] \(OneOf\): expected at least one child with p > 0.*got \[0.0, 0.0\]",
        ),
        # Children's errors name their path.
        (
            [
                FLIP,
                {
                    "name": "Sequential",
                    "transforms": [
                        FLIP,
                        {"name": "OneOf", "transforms": [FLIP, {"name": "Resize", "size": -3}]},
                    ],
                },
            ],
            TransformSpecError,
            r"^transforms\[1\]\.transforms\[1\]\.transforms\[1\] \(Resize\): size: expected a positive int",
        ),
        (
            [{"name": "SomeOf", "transforms": [FLIP, {"name": "Resize", "siz": 3}]}],
            UnknownNameError,
            r"^transforms\[0\]\.transforms\[1\] \(Resize\): unknown parameter 'siz'; did you mean 'size'\?",
        ),
        (
            [{"name": "OneOf", "transforms": [FLIP, {"name": "RandomOrder", "transforms": [FLIP, 5]}]}],
            TransformSpecError,
            r"^transforms\[0\]\.transforms\[1\]\.transforms\[1\]: expected a dict .* got 5",
        ),
        (
            [{"name": "OneOf", "transforms": [FLIP, {"name": "RandomOrder", "p": 2, "transforms": [FLIP]}]}],
            TransformSpecError,
            r"^transforms\[0\]\.transforms\[1\] \(RandomOrder\): p: expected a probability",
        ),
        (
            [{"name": "OneOf", "transforms": [{"p": 1.0}]}],
            TransformSpecError,
            r"^transforms\[0\]\.transforms\[0\]: expected a 'name' key",
        ),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_specs_are_named_errors(backend: str, transforms: list[Any], error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        BoxPipeline(transforms, backend=backend)


def test_an_unknown_child_transform_names_its_path() -> None:
    with pytest.raises(
        UnknownNameError, match=r"^transforms\[0\]\.transforms\[1\].*HorizontalFlipp"
    ) as caught:
        BoxPipeline([{"name": "OneOf", "transforms": [FLIP, "HorizontalFlipp"]}])
    assert "HorizontalFlip" in caught.value.suggestions


def test_compositions_nested_too_deep_are_refused_before_python_runs_out_of_stack() -> None:
    spec: Any = FLIP
    for _ in range(2000):
        spec = {"name": "Sequential", "transforms": [spec]}
    with pytest.raises(TransformSpecError, match=r"expected compositions nested at most 32 deep"):
        BoxPipeline([spec])
    # 32 levels are fine.
    spec = FLIP
    for _ in range(32):
        spec = {"name": "Sequential", "p": 1.0, "transforms": [spec]}
    assert BoxPipeline([spec], seed=0)(sample())["image"].shape == (3, HEIGHT, WIDTH)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_error_while_running_names_the_child(backend: str) -> None:
    pipeline = BoxPipeline(
        [
            {
                "name": "Sequential",
                "p": 1.0,
                "transforms": [
                    FLIP,
                    {"name": "OneOf", "p": 1.0, "transforms": [{"name": "Resize", "size": 30000}]},
                ],
            }
        ],
        backend=backend,
    )
    with pytest.raises(
        TransformSpecError,
        match=r"transforms\[0\]\.transforms\[1\]\.transforms\[0\] \(Resize\): .*expected sides of at most 32768",
    ):
        pipeline({"image": torch.zeros(3, 10, 2000, dtype=torch.uint8)})


def test_a_bad_child_in_a_spec_file_names_the_file_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "augment.yaml"
    path.write_text(
        "transforms:\n  - name: OneOf\n    transforms:\n      - HorizontalFlip\n      - {name: Rotate}\n"
    )
    with pytest.raises(
        TransformSpecError, match=r"augment\.yaml: transforms\[0\]\.transforms\[1\] \(Rotate\): .*degrees"
    ):
        BoxPipeline.load(path)


# -- DataLoader workers ----------------------------------------------------------------------------------


class _SameSample(Dataset):
    """Eight copies of one sample through a pipeline, with the worker that made each."""

    def __init__(self, pipeline: BoxPipeline) -> None:
        self.pipeline = pipeline

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor, torch.Tensor]:
        out = self.pipeline(sample())
        info = get_worker_info()
        return (-1 if info is None else info.id), out["image"], out["boxes"]


def _worker_outputs(backend: str, loader_seed: int) -> dict[int, list[tuple[bytes, tuple[float, ...]]]]:
    spec = {
        "name": "OneOf",
        "p": 1.0,
        "transforms": [
            {
                "name": "RandomOrder",
                "transforms": [{"name": "RandomCrop", "size": [60, 70]}, {"name": "HorizontalFlip"}],
            },
            {
                "name": "SomeOf",
                "n": 1,
                "transforms": [{"name": "RandomCrop", "size": [50, 50]}, "VerticalFlip"],
            },
        ],
    }
    loader = DataLoader(
        _SameSample(BoxPipeline([spec], backend=backend, seed=0)),
        batch_size=None,
        num_workers=2,
        multiprocessing_context="fork",
        generator=torch.Generator().manual_seed(loader_seed),
    )
    outputs: dict[int, list[tuple[bytes, tuple[float, ...]]]] = {}
    for worker, image, boxes in loader:
        outputs.setdefault(int(worker), []).append((image.numpy().tobytes(), tuple(boxes.flatten().tolist())))
    return outputs


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_dataloader_workers_draw_their_own_compositions_and_a_seeded_loader_repeats(backend: str) -> None:
    first = _worker_outputs(backend, loader_seed=0)
    assert sorted(first) == [0, 1] and len(first[0]) == len(first[1]) == 4
    # Forked workers inherit one generator state; each must still draw its own choices.
    assert first[0] != first[1]
    assert len({output for outputs in first.values() for output in outputs}) > 2
    assert _worker_outputs(backend, loader_seed=0) == first
    assert _worker_outputs(backend, loader_seed=1) != first


# -- a backend's own transforms as children ----------------------------------------------------------------

OWN_CHILDREN = {
    "albumentations": [
        {"name": "albumentations.HorizontalFlip", "p": 0.5},
        {"name": "albumentations.RandomCrop", "height": 70, "width": 90, "p": 1.0},
        {"name": "albumentations.Transpose", "p": 0.5},
    ],
    "torchvision": [
        {"name": "torchvision.RandomHorizontalFlip", "p": 0.5},
        {"name": "torchvision.RandomCrop", "size": [70, 90]},
        {"name": "torchvision.RandomVerticalFlip", "p": 0.5},
    ],
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_compositions_of_the_backends_own_transforms_move_boxes_and_round_trip(
    backend: str, tmp_path: Path
) -> None:
    own = OWN_CHILDREN[backend]
    spec = [
        {
            "name": "OneOf",
            "p": 1.0,
            "transforms": [
                {"name": "RandomOrder", "transforms": own},
                {"name": "SomeOf", "n": 2, "transforms": [*own, {"name": "VerticalFlip"}]},
            ],
        }
    ]
    pipeline = BoxPipeline(spec, backend=backend, seed=23)
    expected = run_many(pipeline, 20)
    assert expected[0][0] != photo().numpy().tobytes()  # the children ran
    pipeline = BoxPipeline(spec, backend=backend, seed=23)
    shapes = set()
    for _ in range(20):
        out = pipeline(sample())
        shapes.add(tuple(out["image"].shape))
        assert_boxes_follow_pixels(out)
    assert len(shapes) > 1
    loaded = BoxPipeline.load(BoxPipeline(spec, backend=backend, seed=23).save(tmp_path / "own.yaml"))
    assert run_many(loaded, 20) == expected

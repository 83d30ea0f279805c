"""Behaviour of visiondata.boxes: conversions, area, IoU, clipping and validation, on tensors and arrays."""

from __future__ import annotations

import itertools
import math
import re
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors

# These tests are of (N, 4) boxes; tests/test_oriented_boxes.py has the oriented formats.
from visiondata.boxes import AXIS_ALIGNED_FORMATS as BOX_FORMATS
from visiondata.boxes import (
    BoxValidation,
    box_area,
    box_iou,
    clip_boxes,
    convert_boxes,
    validate_boxes,
)
from visiondata.exceptions import InvalidBoxesError, VisionDataError

NORMALISED = tuple(fmt for fmt in BOX_FORMATS if fmt.endswith("n"))
PIXEL = tuple(fmt for fmt in BOX_FORMATS if not fmt.endswith("n"))
ALIASES = {"pascal_voc": "xyxy", "coco": "xywh", "albumentations": "xyxyn", "yolo": "cxcywhn"}
REASONS = {"not_finite", "out_of_bounds", "inverted", "zero_area"}

# One box, written by hand in every format, on an image of height 100 and width 200:
# x from 80 to 120, y from 30 to 70 (the YOLO box cx 0.5, cy 0.5, w 0.2, h 0.4).
IMAGE_100_BY_200 = (100, 200)
SAME_BOX = {
    "xyxy": [80.0, 30.0, 120.0, 70.0],
    "xywh": [80.0, 30.0, 40.0, 40.0],
    "cxcywh": [100.0, 50.0, 40.0, 40.0],
    "xyxyn": [0.4, 0.3, 0.6, 0.7],
    "xywhn": [0.4, 0.3, 0.2, 0.4],
    "cxcywhn": [0.5, 0.5, 0.2, 0.4],
}


# ---------------------------------------------------------------- helpers


def numpy64(values: Any) -> np.ndarray:
    """A tensor or an array as a float64 numpy array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def to_pixels(boxes: Any, fmt: str, image_size: tuple[int, int]) -> np.ndarray:
    """Boxes of format ``fmt`` as float64 ``xyxy`` pixel corners, for comparisons in pixels."""
    return convert_boxes(numpy64(boxes), fmt, "xyxy", image_size=image_size)


def corner_format(fmt: str) -> str:
    """The corner format with the same units as ``fmt``."""
    return "xyxyn" if fmt.endswith("n") else "xyxy"


def sides(fmt: str, image_size: tuple[int, int]) -> np.ndarray:
    """``[W, H, W, H]`` in the units of ``fmt``: the image's extent along each corner coordinate."""
    height, width = image_size
    return np.array([1.0, 1.0, 1.0, 1.0]) if fmt.endswith("n") else np.array([width, height, width, height])


def passes_raise(boxes: Any, fmt: str, image_size: tuple[int, int]) -> bool:
    try:
        validate_boxes(boxes, fmt, image_size=image_size, policy="raise")
    except InvalidBoxesError:
        return False
    return True


def make(values: Any, backend: str) -> Any:
    """``values`` as a float64 array (``"numpy"``) or tensor (``"torch"``)."""
    array = np.asarray(values, dtype=np.float64)
    return torch.from_numpy(array) if backend == "torch" else array


# ---------------------------------------------------------------- strategies

image_sizes = st.tuples(st.integers(1, 4000), st.integers(1, 4000))
unit_floats = st.floats(-0.5, 1.5, allow_nan=False, allow_infinity=False)


def unit_boxes(max_size: int = 8) -> st.SearchStrategy[np.ndarray]:
    """Arbitrary float64 box values as fractions of the image side (inverted and outside boxes included)."""
    rows = st.lists(st.tuples(unit_floats, unit_floats, unit_floats, unit_floats), max_size=max_size)
    return rows.map(lambda values: np.array(values, dtype=np.float64).reshape(-1, 4))


@st.composite
def raw_boxes(draw: st.DrawFn, fmt: str, image_size: tuple[int, int], max_size: int = 8) -> np.ndarray:
    """Arbitrary float64 values in format ``fmt`` (inverted and outside boxes included), scaled to the image."""
    return draw(unit_boxes(max_size)) * sides(fmt, image_size)


@st.composite
def positive_xyxy(draw: st.DrawFn, min_size: int = 0, max_size: int = 8) -> np.ndarray:
    """Pixel ``xyxy`` boxes with positive width and height."""
    corner = st.floats(-100, 4000, allow_nan=False, allow_infinity=False)
    extent = st.floats(0.01, 2000, allow_nan=False, allow_infinity=False)
    rows = draw(st.lists(st.tuples(corner, corner, extent, extent), min_size=min_size, max_size=max_size))
    array = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([array[:, :2], array[:, :2] + array[:, 2:]], axis=1)


# A coordinate as a fraction of the image side: anywhere, on the border, within the snapping
# tolerance of it (half of eps = 1e-3), clearly outside, or not a number at all.
problem_fractions = st.one_of(
    unit_floats,
    st.sampled_from(
        [0.0, 1.0, 0.5, -5e-4, 1 + 5e-4, -0.25, 1.25, -0.75, 1.75, math.nan, math.inf, -math.inf]
    ),
)


@st.composite
def problem_boxes(draw: st.DrawFn, fmt: str) -> tuple[np.ndarray, tuple[int, int]]:
    """A mixture of valid and broken boxes in format ``fmt``, with the image they belong to."""
    image_size = draw(image_sizes)
    count = draw(st.integers(0, 8))
    rows = []
    for _ in range(count):
        row = np.array([draw(problem_fractions) for _ in range(4)])
        if draw(st.booleans()):  # half the boxes get ordered corners, so that not every box is inverted
            row = np.concatenate([np.sort(row[[0, 2]]), np.sort(row[[1, 3]])])[[0, 2, 1, 3]]
        rows.append(row)
    corners = np.array(rows, dtype=np.float64).reshape(-1, 4) * sides(fmt, image_size)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN: still not finite, as intended
        boxes = convert_boxes(corners, corner_format(fmt), fmt)
    return boxes, image_size


# ---------------------------------------------------------------- conversion: properties


@settings(max_examples=100, deadline=None)
@given(image_size=image_sizes, units=unit_boxes())
def test_round_trip_through_every_pair_of_formats_is_exact_to_1e4_pixel(
    image_size: tuple[int, int], units: np.ndarray
) -> None:
    errors = {}
    for src, dst in itertools.product(BOX_FORMATS, BOX_FORMATS):
        boxes = units * sides(src, image_size)
        there = convert_boxes(boxes, src, dst, image_size=image_size)
        back = convert_boxes(there, dst, src, image_size=image_size)
        assert there.shape == back.shape == boxes.shape
        errors[f"{src} -> {dst} -> {src}"] = np.abs(
            to_pixels(back, src, image_size) - to_pixels(boxes, src, image_size)
        ).max(initial=0.0)
    assert max(errors.values()) <= 1e-4, {pair: error for pair, error in errors.items() if error > 1e-4}


@settings(max_examples=150, deadline=None)
@given(
    image_size=image_sizes,
    units=unit_boxes(),
    src=st.sampled_from(BOX_FORMATS),
    middle=st.sampled_from(BOX_FORMATS),
    dst=st.sampled_from(BOX_FORMATS),
)
def test_converting_via_an_intermediate_format_equals_converting_directly(
    image_size: tuple[int, int], units: np.ndarray, src: str, middle: str, dst: str
) -> None:
    boxes = units * sides(src, image_size)
    direct = convert_boxes(boxes, src, dst, image_size=image_size)
    via = convert_boxes(
        convert_boxes(boxes, src, middle, image_size=image_size), middle, dst, image_size=image_size
    )
    np.testing.assert_allclose(
        to_pixels(via, dst, image_size), to_pixels(direct, dst, image_size), rtol=0, atol=1e-4
    )


KINDS = {
    "torch float32": (lambda a: torch.tensor(a, dtype=torch.float32), torch.float32),
    "torch float64": (lambda a: torch.tensor(a, dtype=torch.float64), torch.float64),
    "numpy float32": (lambda a: np.asarray(a, dtype=np.float32), np.float32),
    "numpy float64": (lambda a: np.asarray(a, dtype=np.float64), np.float64),
    "torch int64": (lambda a: torch.tensor(np.round(a), dtype=torch.int64), None),
    "numpy int32": (lambda a: np.round(a).astype(np.int32), None),
}


def assert_same_kind(result: Any, kind: str) -> None:
    """``result`` is of the type the input of ``kind`` had, and of its float dtype (floats for integers)."""
    _, dtype = KINDS[kind]
    if kind.startswith("torch"):
        assert type(result) is torch.Tensor, type(result)
        assert result.is_floating_point()
    else:
        assert isinstance(result, np.ndarray), type(result)
        assert result.dtype.kind == "f", result.dtype
    if dtype is not None:
        assert result.dtype == dtype, (result.dtype, dtype)


@settings(max_examples=100, deadline=None)
@given(fmt=st.sampled_from(BOX_FORMATS), data=st.data())
def test_every_function_keeps_the_input_type_and_float_dtype_and_makes_integers_float(
    fmt: str, data: st.DataObject
) -> None:
    image_size = data.draw(image_sizes)
    kind = data.draw(st.sampled_from(sorted(KINDS)))
    if "int" in kind and fmt.endswith("n"):  # integer fractions: 0 or 1 only, still a valid input
        values = data.draw(st.lists(st.tuples(*[st.integers(0, 1)] * 4), max_size=6))
    else:
        values = data.draw(raw_boxes(fmt, image_size, max_size=6)).tolist()
    boxes = KINDS[kind][0](np.array(values, dtype=np.float64).reshape(-1, 4))
    dst = data.draw(st.sampled_from(BOX_FORMATS))

    converted = convert_boxes(boxes, fmt, dst, image_size=image_size)
    assert_same_kind(converted, kind)
    assert tuple(converted.shape) == tuple(boxes.shape)
    assert_same_kind(clip_boxes(boxes, fmt, image_size=image_size), kind)
    area = box_area(boxes, fmt)
    assert_same_kind(area, kind)
    assert tuple(area.shape) == (boxes.shape[0],)
    iou = box_iou(boxes, boxes, fmt)
    assert_same_kind(iou, kind)
    assert tuple(iou.shape) == (boxes.shape[0], boxes.shape[0])
    for policy in ("clip", "drop"):
        result = validate_boxes(boxes, fmt, image_size=image_size, policy=policy)
        assert_same_kind(result.boxes, kind)
        assert isinstance(result.keep, torch.Tensor if kind.startswith("torch") else np.ndarray)


def test_float32_tensor_conversion_stays_float32_and_accurate_to_float32_precision() -> None:
    boxes = torch.tensor([[0.123456, 0.654321, 0.75, 0.9], [0.0, 0.0, 1.0, 1.0]], dtype=torch.float32)
    pixels = convert_boxes(boxes, "xyxyn", "xywh", image_size=(3000, 4000))
    assert pixels.dtype == torch.float32
    back = convert_boxes(pixels, "xywh", "xyxyn", image_size=(3000, 4000))
    assert back.dtype == torch.float32
    torch.testing.assert_close(back, boxes, rtol=0, atol=1e-6)


def test_bounding_boxes_tv_tensor_stays_a_bounding_boxes_in_the_new_format() -> None:
    # Issue 19 item 7: a BoundingBoxes keeps being one, with the new format and its canvas size.
    boxes = tv_tensors.BoundingBoxes([[10, 20, 30, 40]], format="XYWH", canvas_size=(100, 100))
    converted = convert_boxes(boxes, "coco", "pascal_voc")
    assert isinstance(converted, tv_tensors.BoundingBoxes)
    assert converted.format == tv_tensors.BoundingBoxFormat.XYXY and tuple(converted.canvas_size) == (
        100,
        100,
    )
    assert converted.tolist() == [[10.0, 20.0, 40.0, 60.0]]


def test_nested_lists_become_a_float64_numpy_array() -> None:
    converted = convert_boxes([[10, 20, 30, 40]], "xywh", "xyxy")
    assert isinstance(converted, np.ndarray)
    assert converted.dtype == np.float64
    assert converted.tolist() == [[10.0, 20.0, 40.0, 60.0]]


# ---------------------------------------------------------------- conversion: hand-computed examples


def test_coco_xywh_to_xyxy_adds_width_and_height() -> None:
    converted = convert_boxes(np.array([[10, 20, 30, 40]]), "xywh", "xyxy")
    np.testing.assert_array_equal(converted, [[10.0, 20.0, 40.0, 60.0]])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_yolo_box_on_100_high_200_wide_image_is_80_30_120_70(backend: str) -> None:
    boxes = make([[0.5, 0.5, 0.2, 0.4]], backend)
    converted = convert_boxes(boxes, "yolo", "xyxy", image_size=IMAGE_100_BY_200)
    np.testing.assert_allclose(numpy64(converted), [[80.0, 30.0, 120.0, 70.0]], rtol=0, atol=1e-9)


@pytest.mark.parametrize("dst", BOX_FORMATS)
@pytest.mark.parametrize("src", BOX_FORMATS)
def test_hand_written_box_converts_between_every_pair_of_formats(src: str, dst: str) -> None:
    converted = convert_boxes(np.array([SAME_BOX[src]]), src, dst, image_size=IMAGE_100_BY_200)
    np.testing.assert_allclose(converted, [SAME_BOX[dst]], rtol=0, atol=1e-9)


@pytest.mark.parametrize(("alias", "fmt"), sorted(ALIASES.items()))
def test_alias_means_the_same_format(alias: str, fmt: str) -> None:
    boxes = np.array([SAME_BOX[fmt]])
    np.testing.assert_allclose(
        convert_boxes(boxes, alias, "xyxy", image_size=IMAGE_100_BY_200), [SAME_BOX["xyxy"]], atol=1e-9
    )
    np.testing.assert_allclose(
        convert_boxes(np.array([SAME_BOX["xyxy"]]), "xyxy", alias, image_size=IMAGE_100_BY_200),
        boxes,
        atol=1e-9,
    )
    np.testing.assert_allclose(convert_boxes(boxes, alias.upper(), fmt), boxes)


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_conversions_within_pixel_or_within_normalised_formats_need_no_image_size(fmt: str) -> None:
    same_units = NORMALISED if fmt.endswith("n") else PIXEL
    for dst in same_units:
        converted = convert_boxes(np.array([SAME_BOX[fmt]]), fmt, dst)
        np.testing.assert_allclose(converted, [SAME_BOX[dst]], rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_empty_boxes_work_for_every_function(fmt: str, backend: str) -> None:
    empty = make(np.zeros((0, 4)), backend)
    some = make([SAME_BOX[fmt]], backend)
    for dst in BOX_FORMATS:
        assert tuple(convert_boxes(empty, fmt, dst, image_size=IMAGE_100_BY_200).shape) == (0, 4)
    assert tuple(clip_boxes(empty, fmt, image_size=IMAGE_100_BY_200).shape) == (0, 4)
    assert tuple(box_area(empty, fmt).shape) == (0,)
    assert tuple(box_iou(empty, some, fmt).shape) == (0, 1)
    assert tuple(box_iou(some, empty, fmt).shape) == (1, 0)
    assert tuple(box_iou(empty, empty, fmt).shape) == (0, 0)
    for policy in ("raise", "clip", "drop"):
        result = validate_boxes(empty, fmt, image_size=IMAGE_100_BY_200, policy=policy)
        assert tuple(result.boxes.shape) == (0, 4)
        assert tuple(result.keep.shape) == (0,)
        assert result.changes == []


def test_empty_1d_integer_array_is_an_empty_box_array() -> None:
    assert convert_boxes(np.array([], dtype=np.int64), "xyxy", "xywh").shape == (0, 4)


@pytest.mark.parametrize("backend", ["list", "torch"])
def test_empty_list_or_empty_1d_tensor_is_an_empty_box_array(backend: str) -> None:
    empty = torch.tensor([]) if backend == "torch" else []
    assert tuple(convert_boxes(empty, "xyxy", "xywh").shape) == (0, 4)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_batched_boxes_are_handled_like_each_batch_alone(fmt: str, backend: str) -> None:
    rng = np.random.default_rng(0)
    batch = rng.uniform(-0.2, 1.2, size=(2, 3, 4)) * sides(fmt, IMAGE_100_BY_200)
    boxes = make(batch, backend)
    dst = "xywh" if fmt.endswith("n") else "cxcywhn"  # the other units: through image_size
    converted = convert_boxes(boxes, fmt, dst, image_size=IMAGE_100_BY_200)
    clipped = clip_boxes(boxes, fmt, image_size=IMAGE_100_BY_200)
    area = box_area(boxes, fmt)
    assert tuple(converted.shape) == (2, 3, 4)
    assert tuple(clipped.shape) == (2, 3, 4)
    assert tuple(area.shape) == (2, 3)
    for index in range(2):
        alone = make(batch[index], backend)
        np.testing.assert_allclose(
            numpy64(converted[index]), numpy64(convert_boxes(alone, fmt, dst, image_size=IMAGE_100_BY_200))
        )
        np.testing.assert_allclose(
            numpy64(clipped[index]), numpy64(clip_boxes(alone, fmt, image_size=IMAGE_100_BY_200))
        )
        np.testing.assert_allclose(numpy64(area[index]), numpy64(box_area(alone, fmt)))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("src", "dst"),
    [(src, dst) for src in BOX_FORMATS for dst in BOX_FORMATS if src.endswith("n") != dst.endswith("n")],
)
def test_normalised_to_pixel_without_image_size_says_image_size_is_needed(src: str, dst: str) -> None:
    with pytest.raises(ValueError, match=r"image_size") as caught:
        convert_boxes(np.array([SAME_BOX[src]]), src, dst)
    assert "(height, width)" in str(caught.value)
    assert "None" in str(caught.value)


@pytest.mark.parametrize("image_size", [(0, 100), (100, -1), (100,), "big", (math.nan, 100)])
def test_bad_image_size_raises_value_error(image_size: Any) -> None:
    with pytest.raises(ValueError, match="image_size"):
        convert_boxes(np.array([SAME_BOX["xyxyn"]]), "xyxyn", "xyxy", image_size=image_size)


def unknown_format_calls() -> dict[str, Any]:
    boxes = np.array([SAME_BOX["xyxy"]])
    return {
        "convert src": lambda: convert_boxes(boxes, "xyxz", "xyxy"),
        "convert dst": lambda: convert_boxes(boxes, "xyxy", "voc"),
        "box_area": lambda: box_area(boxes, "corners"),
        "box_iou": lambda: box_iou(boxes, boxes, "corners"),
        "clip_boxes": lambda: clip_boxes(boxes, "corners", image_size=(10, 10)),
        "validate_boxes": lambda: validate_boxes(boxes, "corners"),
        "not a string": lambda: convert_boxes(boxes, None, "xyxy"),
    }


@pytest.mark.parametrize("call", sorted(unknown_format_calls()))
def test_unknown_format_raises_value_error_listing_every_format(call: str) -> None:
    with pytest.raises(ValueError, match="box format") as caught:
        unknown_format_calls()[call]()
    message = str(caught.value)
    for fmt in BOX_FORMATS:
        assert repr(fmt) in message
    for alias in ALIASES:
        assert repr(alias) in message


def single_box_calls(box: Any) -> dict[str, Any]:
    return {
        "convert_boxes": lambda: convert_boxes(box, "xyxy", "xywh"),
        "clip_boxes": lambda: clip_boxes(box, "xyxy", image_size=(10, 10)),
        "box_area": lambda: box_area(box),
        "box_iou": lambda: box_iou(box, box),
        "validate_boxes": lambda: validate_boxes(box),
    }


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("call", sorted(single_box_calls(None)))
def test_single_box_of_shape_4_raises_invalid_boxes_error_suggesting_boxes_none(
    call: str, backend: str
) -> None:
    box = make([1.0, 2.0, 3.0, 4.0], backend)
    with pytest.raises(InvalidBoxesError, match=r"boxes\[None\]") as caught:
        single_box_calls(box)[call]()
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, VisionDataError)
    assert "(4,)" in str(caught.value)


@pytest.mark.parametrize("shape", [(3, 5), (2, 3), (4, 4, 2)])
def test_last_dimension_other_than_4_raises_invalid_boxes_error_with_the_shape(
    shape: tuple[int, ...],
) -> None:
    with pytest.raises(InvalidBoxesError, match=re.escape(str(shape))) as caught:
        convert_boxes(np.zeros(shape), "xyxy", "xywh")
    assert "boxes[None]" not in str(caught.value)


def test_non_numeric_boxes_raise_invalid_boxes_error() -> None:
    with pytest.raises(InvalidBoxesError, match="numbers"):
        convert_boxes(np.array([["a", "b", "c", "d"]]), "xyxy", "xywh")


def test_box_iou_of_a_tensor_and_an_array_raises_type_error() -> None:
    tensor = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    array = np.array([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(TypeError, match="same type"):
        box_iou(tensor, array)
    with pytest.raises(TypeError, match="same type"):
        box_iou(array, tensor)


def test_box_iou_of_batched_boxes_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        box_iou(np.zeros((2, 3, 4)), np.zeros((3, 4)))


def test_clip_boxes_in_pixels_without_image_size_raises_value_error() -> None:
    with pytest.raises(ValueError, match="image_size"):
        clip_boxes(np.array([[0.0, 0.0, 1.0, 1.0]]), "xywh")


# ---------------------------------------------------------------- box_iou


@settings(max_examples=100, deadline=None)
@given(fmt=st.sampled_from(BOX_FORMATS), data=st.data())
def test_box_iou_is_symmetric_and_between_0_and_1(fmt: str, data: st.DataObject) -> None:
    image_size = data.draw(image_sizes)
    first = data.draw(raw_boxes(fmt, image_size))
    second = data.draw(raw_boxes(fmt, image_size))
    iou = box_iou(first, second, fmt)
    assert iou.shape == (len(first), len(second))
    assert not np.isnan(iou).any()
    assert ((iou >= 0) & (iou <= 1)).all(), iou
    np.testing.assert_allclose(iou, box_iou(second, first, fmt).T, rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(boxes=positive_xyxy())
def test_box_iou_of_boxes_with_area_with_themselves_is_1_on_the_diagonal(boxes: np.ndarray) -> None:
    iou = box_iou(boxes, boxes)
    np.testing.assert_allclose(np.diag(iou), np.ones(len(boxes)), rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(first=positive_xyxy(), second=positive_xyxy())
def test_box_iou_equals_torchvision_box_iou(first: np.ndarray, second: np.ndarray) -> None:
    ours = box_iou(torch.from_numpy(first), torch.from_numpy(second))
    theirs = torchvision.ops.box_iou(torch.from_numpy(first), torch.from_numpy(second))
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(box_iou(first, second), theirs.numpy(), rtol=1e-9, atol=1e-12)


@settings(max_examples=75, deadline=None)
@given(image_size=image_sizes, first=positive_xyxy(min_size=1), second=positive_xyxy(min_size=1))
def test_box_iou_does_not_depend_on_the_format_the_boxes_are_written_in(
    image_size: tuple[int, int], first: np.ndarray, second: np.ndarray
) -> None:
    # IoU is a ratio of areas, so it survives the (anisotropic) scaling between pixels and fractions too.
    expected = box_iou(first, second)
    for fmt in BOX_FORMATS:
        converted = [convert_boxes(boxes, "xyxy", fmt, image_size=image_size) for boxes in (first, second)]
        np.testing.assert_allclose(box_iou(*converted, fmt), expected, rtol=1e-6, atol=1e-9, err_msg=fmt)


def test_box_iou_hand_computed_values() -> None:
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [10.0, 10.0, 11.0, 11.0]])
    others = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0]])
    iou = box_iou(boxes, others)
    # overlap 1 of union 4 + 4 - 1; identical; inside a 16-pixel box; the second box meets none of them.
    torch.testing.assert_close(iou, torch.tensor([[1 / 7, 1.0, 4 / 16], [0.0, 0.0, 0.0]]))


def test_box_iou_of_boxes_without_area_is_0_not_nan() -> None:
    points = np.array([[5.0, 5.0, 5.0, 5.0], [1.0, 1.0, 1.0, 3.0]])
    iou = box_iou(points, points)
    np.testing.assert_array_equal(iou, np.zeros((2, 2)))


def test_box_iou_of_a_float32_and_a_float64_tensor_works() -> None:
    iou = box_iou(
        torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([[1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    )
    assert iou.dtype == torch.float32
    torch.testing.assert_close(iou, torch.tensor([[1 / 7]]))


# ---------------------------------------------------------------- box_area


@settings(max_examples=100, deadline=None)
@given(image_size=image_sizes, units=unit_boxes())
def test_box_area_is_width_times_height_and_0_for_inverted_boxes(
    image_size: tuple[int, int], units: np.ndarray
) -> None:
    for fmt in BOX_FORMATS:
        corners = units * sides(fmt, image_size)
        widths, heights = corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]
        expected = np.where((widths > 0) & (heights > 0), widths * heights, 0.0)
        boxes = convert_boxes(corners, corner_format(fmt), fmt)
        area = box_area(boxes, fmt)
        scale = float(np.prod(sides(fmt, image_size)[:2]))
        np.testing.assert_allclose(area, expected, rtol=1e-9, atol=1e-9 * scale, err_msg=fmt)
        inverted = (widths < 0) | (heights < 0)
        np.testing.assert_array_equal(area[inverted], 0.0, err_msg=fmt)


def test_box_area_hand_computed_values() -> None:
    np.testing.assert_array_equal(
        box_area(torch.tensor([[0.0, 0.0, 4.0, 3.0], [5.0, 5.0, 2.0, 2.0]])), [12, 0]
    )
    np.testing.assert_array_equal(box_area(np.array([[1, 1, 4, 3], [1, 1, -4, 3]]), "coco"), [12.0, 0.0])
    np.testing.assert_allclose(box_area(np.array([[0.5, 0.5, 0.5, 0.2]]), "yolo"), [0.1])


# ---------------------------------------------------------------- clip_boxes


@settings(max_examples=100, deadline=None)
@given(image_size=image_sizes, units=unit_boxes())
def test_clip_boxes_lands_inside_the_image_is_idempotent_and_keeps_inside_boxes(
    image_size: tuple[int, int], units: np.ndarray
) -> None:
    for fmt in BOX_FORMATS:
        check_clip_boxes(units * sides(fmt, image_size), fmt, image_size)


def check_clip_boxes(boxes: np.ndarray, fmt: str, image_size: tuple[int, int]) -> None:
    extent = sides(fmt, image_size)
    tolerance = 1e-9 * extent  # conversion rounding of the width/height formats
    clipped = clip_boxes(boxes, fmt, image_size=image_size)
    assert clipped.shape == boxes.shape, fmt

    corners = convert_boxes(clipped, fmt, corner_format(fmt))
    assert (corners >= -tolerance).all() and (corners <= extent + tolerance).all(), (fmt, corners)

    again = clip_boxes(clipped, fmt, image_size=image_size)
    np.testing.assert_allclose(again, clipped, rtol=0, atol=tolerance.max(), err_msg=f"{fmt}: not idempotent")

    original = convert_boxes(boxes, fmt, corner_format(fmt))
    inside = ((original >= 0) & (original <= extent)).all(axis=1)
    np.testing.assert_allclose(
        clipped[inside], boxes[inside], rtol=0, atol=tolerance.max(), err_msg=f"{fmt}: inside box changed"
    )


def test_clip_boxes_hand_computed_values() -> None:
    clipped = clip_boxes(
        torch.tensor([[-5.0, 2.0, 30.0, 8.0], [25.0, 1.0, 40.0, 2.0]]), "xyxy", image_size=(10, 20)
    )
    # the second box is wholly right of the image: it becomes a box without area on the border
    torch.testing.assert_close(clipped, torch.tensor([[0.0, 2.0, 20.0, 8.0], [20.0, 1.0, 20.0, 2.0]]))
    coco = clip_boxes(np.array([[15.0, -4.0, 10.0, 8.0]]), "coco", image_size=(10, 20))
    np.testing.assert_allclose(coco, [[15.0, 0.0, 5.0, 4.0]])
    yolo = clip_boxes(np.array([[0.75, 0.5, 1.0, 0.25]]), "yolo", image_size=(1234, 5678))  # size is ignored
    np.testing.assert_allclose(yolo, [[0.625, 0.5, 0.75, 0.25]])


def test_clip_boxes_of_normalised_formats_needs_no_image_size() -> None:
    np.testing.assert_allclose(clip_boxes(np.array([[-0.5, 0.2, 1.5, 0.4]]), "xyxyn"), [[0.0, 0.2, 1.0, 0.4]])


# ---------------------------------------------------------------- validate_boxes: properties


@pytest.mark.parametrize("fmt", BOX_FORMATS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_clip_and_drop_return_valid_boxes_and_report_exactly_what_changed(
    fmt: str, data: st.DataObject
) -> None:
    boxes, image_size = data.draw(problem_boxes(fmt))
    # Which boxes policy="raise" accepts, alone and all together.
    valid_alone = [passes_raise(boxes[index : index + 1], fmt, image_size) for index in range(len(boxes))]
    assert passes_raise(boxes, fmt, image_size) == all(valid_alone)
    for policy in ("clip", "drop"):
        changes = check_clip_or_drop(boxes, fmt, image_size, policy)
        # Exactly the boxes policy="raise" rejects are reported (and policy="raise" raises iff any are).
        assert sorted(changes) == [index for index, valid in enumerate(valid_alone) if not valid], policy


def check_clip_or_drop(
    boxes: np.ndarray, fmt: str, image_size: tuple[int, int], policy: str
) -> dict[int, dict[str, Any]]:
    """Check one ``validate_boxes`` call under ``policy``; return its changes by box index."""
    count = len(boxes)
    result = validate_boxes(boxes, fmt, image_size=image_size, policy=policy)
    assert isinstance(result, BoxValidation)
    returned = convert_boxes(result.boxes, fmt, corner_format(fmt))

    # The returned boxes pass the strictest check for the same image.
    assert passes_raise(result.boxes, fmt, image_size)

    # keep: one boolean per input box, as many True as boxes returned.
    assert result.keep.shape == (count,)
    assert result.keep.dtype == np.bool_
    kept = np.flatnonzero(result.keep)
    assert result.boxes.shape == (len(kept), 4)

    # changes: well formed, in input order, at most one entry per box.
    indices = [change["index"] for change in result.changes]
    assert indices == sorted(set(indices))
    for change in result.changes:
        assert set(change) == {"index", "reason", "action"}
        assert change["reason"] in REASONS
        assert change["action"] in ({"clipped", "dropped"} if policy == "clip" else {"dropped"})
    changes = {change["index"]: change for change in result.changes}

    # Every box not kept is reported as dropped; every kept box is clipped or unchanged.
    for index in range(count):
        if not result.keep[index]:
            assert changes[index]["action"] == "dropped", (index, result.changes)
        elif index in changes:
            assert changes[index]["action"] == "clipped"

    # A box is reported exactly when it was not returned unchanged (snapping float noise within eps
    # of the border onto it does not count as a change).
    snap = 1e-3 * sides(fmt, image_size)
    slack = 1e-9 * sides(fmt, image_size)
    original = convert_boxes(boxes, fmt, corner_format(fmt))
    for row, index in enumerate(kept):
        moved = np.abs(returned[row] - original[index])
        if index in changes:  # clipped: cut to the image, and moved by more than snapping would
            expected = convert_boxes(
                clip_boxes(boxes[index : index + 1], fmt, image_size=image_size), fmt, corner_format(fmt)
            )
            np.testing.assert_allclose(returned[row], expected[0], rtol=0, atol=slack.max())
            assert (moved > snap - slack).any(), (index, original[index], returned[row])
        else:
            assert (moved <= snap + slack).all(), (index, original[index], returned[row])
    return changes


@settings(max_examples=75, deadline=None)
@given(fmt=st.sampled_from(BOX_FORMATS), image_size=image_sizes, boxes=positive_xyxy())
def test_raise_returns_every_valid_box_with_keep_all_true(
    fmt: str, image_size: tuple[int, int], boxes: np.ndarray
) -> None:
    height, width = image_size
    boxes = np.clip(boxes, 0, None)
    inside = (boxes[:, 2] <= width) & (boxes[:, 3] <= height)
    boxes = boxes[inside & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]
    boxes = convert_boxes(boxes, "xyxy", fmt, image_size=image_size)
    result = validate_boxes(boxes, fmt, image_size=image_size)
    assert result.changes == []
    assert result.keep.tolist() == [True] * len(boxes)
    np.testing.assert_allclose(result.boxes, boxes, rtol=0, atol=1e-9 * max(image_size))


# ---------------------------------------------------------------- validate_boxes: snapping float noise


@pytest.mark.parametrize("fmt", NORMALISED)
def test_normalised_coordinate_at_1_0001_or_minus_0_0001_is_snapped_onto_the_border(fmt: str) -> None:
    corners = np.array([[0.1, -0.0001, 1.0001, 0.5], [0.2, 0.3, 0.4, 1.0001]])
    boxes = convert_boxes(corners, "xyxyn", fmt)
    for policy in ("raise", "clip", "drop"):
        result = validate_boxes(boxes, fmt, policy=policy)
        assert result.changes == []
        assert result.keep.tolist() == [True, True]
        returned = convert_boxes(result.boxes, fmt, "xyxyn")
        np.testing.assert_allclose(returned, [[0.1, 0.0, 1.0, 0.5], [0.2, 0.3, 0.4, 1.0]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("fmt", PIXEL)
def test_pixel_coordinate_0_05_percent_of_the_side_outside_is_snapped_onto_the_border(fmt: str) -> None:
    # 0.05 % of 640 is 0.32 and of 480 is 0.24, within the default tolerance of 0.1 %.
    corners = np.array([[-0.32, 10.0, 640.32, 480.24], [5.0, -0.24, 50.0, 60.0]])
    boxes = convert_boxes(corners, "xyxy", fmt)
    result = validate_boxes(boxes, fmt, image_size=(480, 640))
    returned = convert_boxes(result.boxes, fmt, "xyxy")
    np.testing.assert_allclose(
        returned, [[0.0, 10.0, 640.0, 480.0], [5.0, 0.0, 50.0, 60.0]], rtol=0, atol=1e-9
    )


def test_snapping_is_limited_to_eps_and_eps_0_turns_it_off() -> None:
    with pytest.raises(InvalidBoxesError, match="x_max"):
        validate_boxes(np.array([[0.1, 0.1, 1.002, 0.5]]), "xyxyn")
    validate_boxes(np.array([[0.1, 0.1, 1.002, 0.5]]), "xyxyn", eps=0.01)
    with pytest.raises(InvalidBoxesError, match="x_max"):
        validate_boxes(np.array([[0.1, 0.1, 1.0001, 0.5]]), "xyxyn", eps=0)
    with pytest.raises(InvalidBoxesError, match="x_max"):
        validate_boxes(np.array([[0.0, 0.0, 640.7, 10.0]]), "xyxy", image_size=(480, 640))


@pytest.mark.parametrize("policy", ["raise", "clip", "drop"])
def test_box_snapped_to_a_float_noise_sliver_is_dropped_or_validates_again(policy: str) -> None:
    # convert_boxes([[0.0, 1.0, 1.0, 1.0005]], "xyxyn", "cxcywhn"): a 0.0005-high box just below the image.
    boxes = np.array([[0.5, 1.0002499999999999, 1.0, 0.0004999999999999449]])
    try:
        result = validate_boxes(boxes, "cxcywhn", policy=policy)
    except InvalidBoxesError:
        return  # rejected as a whole: consistent
    if result.changes:
        assert result.changes == [{"index": 0, "reason": "zero_area", "action": "dropped"}]
    assert passes_raise(result.boxes, "cxcywhn", (1, 1))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_albumentations_848_922_1431_box_at_x_max_1_0001_does_not_raise_and_comes_back_as_1(
    backend: str,
) -> None:
    # albumentations rejects normalised boxes whose x_max is 1.0001, float noise from a pixel -> fraction
    # conversion; visiondata snaps such values onto the border.
    boxes = make([[0.2, 0.3, 1.0001, 0.9], [0.0, 0.1, 0.5, 1.0001]], backend)
    result = validate_boxes(boxes, "albumentations", policy="raise")
    assert result.boxes.tolist() == [[0.2, 0.3, 1.0, 0.9], [0.0, 0.1, 0.5, 1.0]]
    assert result.changes == []


# ---------------------------------------------------------------- validate_boxes: reports and policies


def test_raise_message_lists_every_bad_box_with_index_coordinate_value_and_range() -> None:
    boxes = np.array(
        [
            [10.0, 10.0, 250.0, 50.0],  # 0: x_max beyond the width 200
            [10.0, 10.0, 50.0, 50.0],  # 1: fine
            [10.0, -30.0, 50.0, 50.0],  # 2: y_min above the image
            [20.0, 20.0, 60.0, 60.0],  # 3: fine
            [10.0, 10.0, 50.0, 130.0],  # 4: y_max beyond the height 100
        ]
    )
    with pytest.raises(InvalidBoxesError) as caught:
        validate_boxes(boxes, "xyxy", image_size=IMAGE_100_BY_200)
    message = str(caught.value)
    lines = message.splitlines()

    def line_of(index: int) -> str:
        found = [line for line in lines if f"box {index} " in line]
        assert len(found) == 1, message
        return found[0]

    assert "x_max = 250" in line_of(0) and "[0, 200]" in line_of(0)
    assert "y_min = -30" in line_of(2) and "[0, 100]" in line_of(2)
    assert "y_max = 130" in line_of(4) and "[0, 100]" in line_of(4)
    assert "box 1 " not in message and "box 3 " not in message
    assert "policy='clip'" in message and "policy='drop'" in message


@pytest.mark.parametrize(
    ("fmt", "name", "value", "allowed"),
    [
        ("xyxy", "x_max", "250", "[0, 200]"),
        ("xywh", "x + w", "250", "[0, 200]"),
        ("cxcywh", "cx + w/2", "250", "[0, 200]"),
        ("xyxyn", "x_max", "1.25", "[0, 1]"),
        ("xywhn", "x + w", "1.25", "[0, 1]"),
        ("cxcywhn", "cx + w/2", "1.25", "[0, 1]"),
    ],
)
def test_raise_message_names_the_coordinate_as_the_format_writes_it(
    fmt: str, name: str, value: str, allowed: str
) -> None:
    # x from 150 to 250 on a 200-pixel-wide image (0.75 to 1.25 as fractions)
    corners = np.array([[150.0, 10.0, 250.0, 50.0]]) / (
        np.array([200, 100, 200, 100]) if fmt.endswith("n") else 1
    )
    boxes = convert_boxes(corners, corner_format(fmt), fmt)
    with pytest.raises(InvalidBoxesError) as caught:
        validate_boxes(boxes, fmt, image_size=IMAGE_100_BY_200)
    assert "box 0 " in str(caught.value)
    assert f"{name} = {value} is outside the allowed range {allowed}" in str(caught.value)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_reported_as_not_finite(bad: float, backend: str) -> None:
    boxes = make([[1.0, 1.0, 5.0, 5.0], [1.0, bad, 5.0, 5.0]], backend)
    for policy in ("clip", "drop"):
        result = validate_boxes(boxes, "xyxy", image_size=(10, 10), policy=policy)
        assert result.changes == [{"index": 1, "reason": "not_finite", "action": "dropped"}]
        assert result.keep.tolist() == [True, False]
    with pytest.raises(InvalidBoxesError, match=r"box 1 .*NaN or infinity"):
        validate_boxes(boxes, "xyxy", image_size=(10, 10))


@pytest.mark.parametrize("policy", ["raise", "clip", "drop"])
def test_infinity_in_xyxy_numpy_boxes_is_reported_without_a_numpy_runtime_warning(policy: str) -> None:
    boxes = np.array([[1.0, 1.0, 5.0, 5.0], [1.0, 1.0, math.inf, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if policy == "raise":
            with pytest.raises(InvalidBoxesError, match="box 1 "):
                validate_boxes(boxes, "xyxy", image_size=(10, 10), policy=policy)
        else:
            result = validate_boxes(boxes, "xyxy", image_size=(10, 10), policy=policy)
            assert result.changes == [{"index": 1, "reason": "not_finite", "action": "dropped"}]


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_inverted_and_zero_area_boxes_are_reported_with_those_reasons(fmt: str) -> None:
    corners = np.array([[10.0, 10.0, 40.0, 40.0], [40.0, 10.0, 10.0, 40.0], [10.0, 20.0, 40.0, 20.0]])
    corners = corners / (np.array([200, 100, 200, 100]) if fmt.endswith("n") else 1)
    boxes = convert_boxes(corners, corner_format(fmt), fmt)
    for policy in ("clip", "drop"):
        result = validate_boxes(boxes, fmt, image_size=IMAGE_100_BY_200, policy=policy)
        assert result.changes == [
            {"index": 1, "reason": "inverted", "action": "dropped"},
            {"index": 2, "reason": "zero_area", "action": "dropped"},
        ]
        assert result.keep.tolist() == [True, False, False]
    with pytest.raises(InvalidBoxesError) as caught:
        validate_boxes(boxes, fmt, image_size=IMAGE_100_BY_200)
    message = str(caught.value)
    assert re.search(r"box 1 .*inverted", message)
    assert re.search(r"box 2 .*without area", message)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_clip_cuts_a_box_partly_outside_and_drops_one_wholly_outside(backend: str) -> None:
    boxes = make(
        [
            [10.0, 10.0, 50.0, 50.0],  # inside
            [150.0, -20.0, 260.0, 60.0],  # partly outside: cut to [150, 0, 200, 60]
            [210.0, 10.0, 260.0, 50.0],  # wholly right of the image
            [10.0, -50.0, 50.0, -10.0],  # wholly above it
        ],
        backend,
    )
    result = validate_boxes(boxes, "xyxy", image_size=IMAGE_100_BY_200, policy="clip")
    assert result.boxes.tolist() == [[10.0, 10.0, 50.0, 50.0], [150.0, 0.0, 200.0, 60.0]]
    assert result.keep.tolist() == [True, True, False, False]
    assert result.changes == [
        {"index": 1, "reason": "out_of_bounds", "action": "clipped"},
        {"index": 2, "reason": "out_of_bounds", "action": "dropped"},
        {"index": 3, "reason": "out_of_bounds", "action": "dropped"},
    ]


def test_drop_removes_and_reports_every_problem_box() -> None:
    boxes = np.array(
        [
            [10.0, 10.0, 50.0, 50.0],  # fine
            [150.0, -20.0, 260.0, 60.0],  # partly outside
            [math.nan, 10.0, 50.0, 50.0],  # NaN
            [50.0, 10.0, 10.0, 50.0],  # inverted
            [10.0, 30.0, 50.0, 30.0],  # zero area
            [20.0, 20.0, 30.0, 30.0],  # fine
        ]
    )
    result = validate_boxes(boxes, "xyxy", image_size=IMAGE_100_BY_200, policy="drop")
    assert result.boxes.tolist() == [[10.0, 10.0, 50.0, 50.0], [20.0, 20.0, 30.0, 30.0]]
    assert result.keep.tolist() == [True, False, False, False, False, True]
    assert result.changes == [
        {"index": 1, "reason": "out_of_bounds", "action": "dropped"},
        {"index": 2, "reason": "not_finite", "action": "dropped"},
        {"index": 3, "reason": "inverted", "action": "dropped"},
        {"index": 4, "reason": "zero_area", "action": "dropped"},
    ]


@pytest.mark.parametrize("policy", ["clip", "drop"])
def test_keep_selects_the_labels_of_the_returned_boxes(policy: str) -> None:
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.4, 0.9], [0.2, 0.2, 0.6, 0.6], [1.2, 0.1, 1.5, 0.3]])
    labels = np.array([7, 8, 9, 10])
    names = ["cat", "dog", "car", "bus"]
    result = validate_boxes(boxes, "xyxyn", policy=policy)
    assert labels[result.keep].tolist() == [7, 9]
    assert [name for name, kept in zip(names, result.keep) if kept] == ["cat", "car"]
    np.testing.assert_array_equal(result.boxes, boxes[result.keep])


@pytest.mark.parametrize("policy", ["raise", "clip", "drop"])
def test_tensors_in_give_tensors_out_for_boxes_and_keep(policy: str) -> None:
    boxes = torch.tensor([[0.1, 0.1, 0.3, 0.3], [0.2, 0.2, 0.6, 1.0001]])
    if policy != "raise":
        boxes = torch.cat([boxes, torch.tensor([[0.5, 0.5, 0.4, 0.9]])])
    labels = torch.arange(len(boxes))
    result = validate_boxes(boxes, "xyxyn", policy=policy)
    assert type(result.boxes) is torch.Tensor and result.boxes.dtype == torch.float32
    assert isinstance(result.keep, torch.Tensor) and result.keep.dtype == torch.bool
    assert labels[result.keep].tolist() == [0, 1]
    torch.testing.assert_close(result.boxes, torch.tensor([[0.1, 0.1, 0.3, 0.3], [0.2, 0.2, 0.6, 1.0]]))


def test_pixel_boxes_without_image_size_are_not_checked_against_the_border() -> None:
    boxes = np.array([[-50.0, -50.0, 5000.0, 5000.0], [10.0, 10.0, 5.0, 20.0]])
    result = validate_boxes(boxes, "xyxy", policy="clip")
    assert result.keep.tolist() == [True, False]
    assert result.changes == [{"index": 1, "reason": "inverted", "action": "dropped"}]


@pytest.mark.parametrize("policy", ["Raise", "ignore", "", None])
def test_unknown_policy_raises_value_error(policy: Any) -> None:
    with pytest.raises(ValueError, match="policy"):
        validate_boxes(np.array([[0.0, 0.0, 1.0, 1.0]]), policy=policy)


@pytest.mark.parametrize("eps", [-1e-3, -1.0, math.nan])
def test_negative_or_nan_eps_raises_value_error(eps: float) -> None:
    with pytest.raises(ValueError, match="eps"):
        validate_boxes(np.array([[0.0, 0.0, 1.0, 1.0]]), eps=eps)


def test_validate_boxes_rejects_batched_boxes() -> None:
    with pytest.raises(InvalidBoxesError, match=r"\(N, 4\)"):
        validate_boxes(np.zeros((2, 3, 4)))

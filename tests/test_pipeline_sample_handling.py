"""How ``BoxPipeline`` reads a sample and gives it back, and the exact edges of its box filter.

Issue 26's mutation run of ``visiondata/transforms/_sample.py`` (parsing and rebuilding a sample: its image,
boxes, masks, keypoints and per-box fields) and of the box filter in ``visiondata/transforms/_work.py``
(``Work.filter``, ``Work.remove``, ``inside_image``, ``_snap_corners``) left these behaviours untested; each
test states one and checks it through the public API with values worked out by hand (or, where no sample can
reach a difference, through the module function that promises it: ``parse``, ``read_keypoints``,
``safe_box_dtype``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from visiondata.exceptions import InvalidBoxesError, TransformSpecError
from visiondata.io import DecodePlan, PlannedImage
from visiondata.transforms import BoxPipeline
from visiondata.transforms._sample import parse, read_keypoints, safe_box_dtype

BACKENDS = ("torchvision", "albumentations")
FLIP = [{"name": "HorizontalFlip", "p": 1.0}]


def hwc(height: int = 20, width: int = 30, channels: int = 3) -> np.ndarray:
    """A deterministic ``H x W x C`` uint8 image."""
    return np.arange(height * width * channels, dtype=np.uint8).reshape(height, width, channels)


def chw(height: int = 20, width: int = 30) -> torch.Tensor:
    """A deterministic ``3 x H x W`` uint8 image tensor."""
    return torch.from_numpy(hwc(height, width)).permute(2, 0, 1).contiguous()


def identity(**settings: Any) -> BoxPipeline:
    """A pipeline that moves nothing: only parsing, the filter and rebuilding run."""
    return BoxPipeline([], **settings)


# --- the shape of a sample ------------------------------------------------------------------------


def test_more_than_two_arguments_are_refused_with_their_count() -> None:
    """Three positional arguments are no sample: a TypeError that counts them."""
    with pytest.raises(
        TypeError, match=r"^sample: expected one sample or \(image, target\), got 3 arguments$"
    ):
        identity()(chw(), {}, {})
    with pytest.raises(TypeError, match="got 0 arguments"):
        identity()()


def test_a_bare_image_is_refused_naming_its_type() -> None:
    """One argument that is neither a dict nor a pair: a TypeError naming the accepted shapes and its type."""
    with pytest.raises(TypeError, match=r"^sample: expected a dict \{'image': \.\.\., 'boxes'") as error:
        identity()(chw())
    assert str(error.value).endswith("or two arguments image, target; got Tensor")


def test_a_target_of_another_type_is_refused() -> None:
    """A pair's target must be a dict, a mask or None: a number is a TypeError naming its type."""
    with pytest.raises(TypeError, match=r"^target: expected a dict, a mask or None, got int$"):
        identity()(chw(), 3)


@pytest.mark.parametrize("form", ["tuple", "list", "two-arguments"])
def test_the_three_pair_forms_return_a_tuple_with_the_report(form: str) -> None:
    """``(image, target)``, ``[image, target]`` and ``image, target`` all come back as a tuple with the report."""
    image, target = chw(), {"boxes": [[1.0, 2.0, 5.0, 6.0]], "labels": [4]}
    if form == "tuple":
        out = identity()((image, target))
    elif form == "list":
        out = identity()([image, target])
    else:
        out = identity()(image, target)
    assert isinstance(out, tuple) and len(out) == 2
    out_image, out_target = out
    assert torch.equal(out_image, image)
    assert out_target == {"boxes": out_target["boxes"], "labels": [4], "dropped": []}
    assert out_target["boxes"] == [[1.0, 2.0, 5.0, 6.0]]
    assert "image" not in out_target


def test_a_pair_target_of_none_comes_back_as_none() -> None:
    """``(image, None)`` returns ``(image, None)``: no report is invented."""
    out = identity()(chw(), None)
    assert isinstance(out, tuple) and out[1] is None
    assert torch.equal(out[0], chw())


def test_the_dict_keeps_its_keys_and_gets_image_and_report() -> None:
    """A dict sample comes back as a new dict: its keys, the image, and ``dropped``; the input is untouched."""
    sample = {"image": chw(), "boxes": [[1.0, 2.0, 5.0, 6.0]], "id": "a", "labels": [3]}
    out = identity()(sample)
    assert set(out) == {"image", "boxes", "id", "labels", "dropped"}
    assert out["id"] == "a" and out["dropped"] == []
    assert sample == {"image": sample["image"], "boxes": [[1.0, 2.0, 5.0, 6.0]], "id": "a", "labels": [3]}
    assert out is not sample


# --- the image ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["tensor", "tv_image", "numpy", "numpy2d"])
def test_the_image_comes_back_in_its_type_layout_and_pixels(backend: str, kind: str) -> None:
    """Each image type comes back as the same type, layout, dtype and pixels (a flip moves them)."""
    pixels = hwc(4, 6)
    given: Any = {
        "tensor": torch.from_numpy(pixels).permute(2, 0, 1).contiguous(),
        "tv_image": tv_tensors.Image(torch.from_numpy(pixels).permute(2, 0, 1)),
        "numpy": pixels,
        "numpy2d": pixels[..., 0].copy(),
    }[kind]
    out = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}], backend=backend)({"image": given})["image"]
    flipped = pixels[:, ::-1]
    if kind in ("tensor", "tv_image"):
        assert type(out) is (tv_tensors.Image if kind == "tv_image" else torch.Tensor)
        assert out.dtype == torch.uint8 and tuple(out.shape) == (3, 4, 6)
        assert np.array_equal(out.permute(1, 2, 0).numpy(), flipped)
    else:
        assert type(out) is np.ndarray and out.dtype == np.uint8
        expected = flipped[..., 0] if kind == "numpy2d" else flipped
        assert out.shape == expected.shape and np.array_equal(out, expected)


def test_a_read_only_numpy_image_is_read_without_a_warning() -> None:
    """A read-only array (a memory-mapped file's) is copied for torch, not shared: no warning, same pixels."""
    pixels = hwc(4, 6)
    pixels.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = identity()({"image": pixels})
    assert np.array_equal(out["image"], pixels)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_numpy_image_with_its_channels_reversed_in_place_is_read(backend: str) -> None:
    """OpenCV's BGR to RGB as a view (``image[..., ::-1]``, a negative stride) is read like a copy of it."""
    pixels = hwc(4, 6)
    reversed_channels = pixels[..., ::-1]
    out = BoxPipeline(FLIP, backend=backend)({"image": reversed_channels})["image"]
    assert np.array_equal(out, np.ascontiguousarray(reversed_channels)[:, ::-1])


def test_a_pipeline_that_changes_nothing_copies_no_numpy_image_or_masks() -> None:
    """A writable numpy image and masks are viewed, not copied, when no step moves them: an identity pipeline
    (a validation set's) costs no copy of the pixels."""
    pixels = hwc()
    masks = np.zeros((1, 20, 30), dtype=np.uint8)
    out = identity()({"image": pixels, "boxes": [[1.0, 1.0, 5.0, 5.0]], "masks": masks})
    assert np.shares_memory(out["image"], pixels) and np.shares_memory(out["masks"], masks)


class Tagged(torch.Tensor):
    """A user's tensor subclass (not a tv_tensor)."""


class TaggedList(list):
    """A user's list subclass."""


def test_tensor_and_list_subclasses_come_back_as_themselves() -> None:
    """Masks, keypoints and per-box fields of a user's tensor or list subclass keep their type, as promised."""
    boxes = [[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 6.0, 6.0]]
    sample = {
        "image": chw(),
        "boxes": boxes,
        "masks": torch.zeros(2, 20, 30, dtype=torch.uint8).as_subclass(Tagged),
        "keypoints": torch.ones(2, 1, 3).as_subclass(Tagged),
        "labels": torch.tensor([1, 2]).as_subclass(Tagged),
        "names": TaggedList(["cat", "dog"]),
    }
    out = BoxPipeline(FLIP)(sample)
    assert [type(out[key]) for key in ("masks", "keypoints", "labels", "names")] == [
        Tagged,
        Tagged,
        Tagged,
        TaggedList,
    ]
    assert out["names"] == ["cat", "dog"] and out["labels"].tolist() == [1, 2]


def test_an_image_that_is_not_an_array_points_to_read_image() -> None:
    """A list of pixels is no image: the TypeError names its type and the two ways to convert one."""
    with pytest.raises(TypeError, match=r"^image: expected a C x H x W tensor .*got list; read files with "):
        identity()({"image": [[0, 1], [2, 3]]})
    with pytest.raises(TypeError, match=r"visiondata\.io\.read_image, or convert PIL images with "):
        identity()({"image": [[0, 1], [2, 3]]})


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (
            np.zeros((2, 2, 3, 1), dtype=np.uint8),
            r"^image: expected H x W x C or H x W, got shape \(2, 2, 3, 1\)$",
        ),
        (np.zeros(5, dtype=np.uint8), r"^image: expected H x W x C or H x W, got shape \(5,\)$"),
        (
            torch.zeros(1, 3, 4, 4, dtype=torch.uint8),
            r"^image: expected C x H x W, got shape \(1, 3, 4, 4\)$",
        ),
    ],
    ids=["numpy-4d", "numpy-1d", "tensor-4d"],
)
def test_an_image_of_another_rank_is_refused_with_its_shape(image: Any, message: str) -> None:
    """Numpy images are ``H x W x C`` or ``H x W``, tensors ``C x H x W``; any other rank names its shape."""
    with pytest.raises(TypeError, match=message):
        identity()({"image": image})


@pytest.mark.parametrize(
    ("image", "height", "width"),
    [
        (torch.zeros(3, 0, 5, dtype=torch.uint8), 0, 5),
        (torch.zeros(3, 5, 0, dtype=torch.uint8), 5, 0),
        (np.zeros((0, 4, 3), dtype=np.uint8), 0, 4),
        (np.zeros((4, 0), dtype=np.uint8), 4, 0),
    ],
    ids=["tensor-no-rows", "tensor-no-columns", "numpy-no-rows", "numpy2d-no-columns"],
)
def test_an_image_without_pixels_is_refused_naming_both_sides(image: Any, height: int, width: int) -> None:
    """A side of 0 is a TransformSpecError that gives the height and the width it read."""
    with pytest.raises(
        TransformSpecError, match=r"^image: expected at least 1 x 1 pixels, got shape "
    ) as error:
        identity()({"image": image})
    assert f"(height {height}, width {width}); an image without pixels cannot be augmented" in str(
        error.value
    )


def test_a_one_pixel_image_is_accepted() -> None:
    """1 x 1 is the smallest image: it is augmented, not refused."""
    out = identity()({"image": torch.full((3, 1, 1), 7, dtype=torch.uint8), "boxes": [[0.0, 0.0, 1.0, 1.0]]})
    assert out["boxes"] == [[0.0, 0.0, 1.0, 1.0]] and out["image"].shape == (3, 1, 1)


@pytest.mark.parametrize(("scale", "full_size"), [(1, (4, 6)), (2, (8, 12))], ids=["exact", "half-scale"])
def test_a_planned_image_this_pipeline_did_not_plan_comes_back_as_a_full_size_tv_image(
    scale: int, full_size: tuple[int, int]
) -> None:
    """A dataset's ``PlannedImage`` is its full-size image: augmented as such, given back as a tv_tensors.Image."""
    height, width = full_size
    # A 4 x 6 decode of the full-size image (itself, or at half scale): its boxes are in full-size pixels.
    planned = PlannedImage(chw(4, 6), DecodePlan(0, 0, height, width, height, width), full_size, scale)
    image, target = BoxPipeline(FLIP)(planned, {"boxes": [[0.0, 1.0, 2.0, 4.0]]})
    assert type(image) is tv_tensors.Image and image.dtype == torch.uint8
    assert tuple(image.shape) == (3, height, width)
    # x 0..2 flips to width - 2..width.
    assert target == {"boxes": [[width - 2.0, 1.0, float(width), 4.0]], "dropped": []}
    if scale == 1:
        assert torch.equal(image.as_subclass(torch.Tensor), chw(4, 6).flip(-1))


# --- boxes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_list_boxes_in_the_declared_format_come_back_as_lists_in_it(backend: str) -> None:
    """``box_format="xywh"`` boxes are read and given back as ``xywh`` lists, moved by the step."""
    out = BoxPipeline(FLIP, box_format="xywh", backend=backend)({"image": hwc(), "boxes": [[2, 3, 4, 5]]})
    # x 2..6 in a 30 wide image flips to 24..28.
    assert out["boxes"] == [[24.0, 3.0, 4.0, 5.0]]


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (torch.float64, torch.float64),
        (torch.float32, torch.float32),
        (torch.float16, torch.float16),
        (torch.int64, torch.float32),
        (torch.int32, torch.float32),
    ],
)
def test_tensor_boxes_keep_a_floating_dtype_and_integers_become_float32(
    dtype: torch.dtype, expected: torch.dtype
) -> None:
    """Tensor boxes come back as a plain tensor of their floating dtype; integer ones as float32."""
    boxes = torch.tensor([[2, 3, 6, 8]], dtype=dtype)
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": boxes})["boxes"]
    assert type(out) is torch.Tensor and out.dtype == expected
    assert out.tolist() == [[24.0, 3.0, 28.0, 8.0]]


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float16, np.float16),
        (np.int64, np.float64),
        (np.int32, np.float64),
        (np.uint8, np.float64),
    ],
)
def test_numpy_boxes_keep_a_floating_dtype_and_integers_become_float64(dtype: Any, expected: Any) -> None:
    """Numpy boxes come back as an array of their floating dtype; integer ones as float64."""
    boxes = np.array([[2, 3, 6, 8]], dtype=dtype)
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": boxes})["boxes"]
    assert type(out) is np.ndarray and out.dtype == expected
    assert out.tolist() == [[24.0, 3.0, 28.0, 8.0]]


def float16_boxes(kind: str, values: list[list[float]], canvas: tuple[int, int]) -> Any:
    """``values`` as float16 boxes of ``kind``: a tensor, ``BoundingBoxes`` on ``canvas``, or a numpy array."""
    if kind == "tensor":
        return torch.tensor(values, dtype=torch.float16)
    if kind == "bounding_boxes":
        return tv_tensors.BoundingBoxes(
            torch.tensor(values, dtype=torch.float16), format="XYXY", canvas_size=canvas
        )
    return np.array(values, dtype=np.float16)


@pytest.mark.parametrize("kind", ["tensor", "bounding_boxes", "numpy"])
def test_float16_boxes_that_would_overflow_come_back_as_float32(kind: str) -> None:
    """A coordinate beyond float16's 65504 after the steps never becomes inf: those boxes come back float32."""
    # An image wider than float16 reaches (larger than any step may make one, but taken as given): the box
    # 0..1000 flips to 69000..70000.
    image = torch.zeros(3, 1, 70000, dtype=torch.uint8)
    values = [[0.0, 0.0, 1000.0, 1.0]]
    boxes = float16_boxes(kind, values, (1, 70000))
    out = BoxPipeline(FLIP)({"image": image, "boxes": boxes})["boxes"]
    assert out.dtype == (np.float32 if kind == "numpy" else torch.float32)
    assert out.tolist() == [[69000.0, 0.0, 70000.0, 1.0]]


@pytest.mark.parametrize("kind", ["tensor", "bounding_boxes", "numpy"])
def test_float16_boxes_within_range_stay_float16(kind: str) -> None:
    """float16 boxes whose coordinates fit float16 keep it (the overflow rule is not a blanket float32)."""
    values = [[2.0, 3.0, 6.0, 8.0]]
    boxes = float16_boxes(kind, values, (20, 30))
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": boxes})["boxes"]
    assert out.dtype == (np.float16 if kind == "numpy" else torch.float16)
    assert out.tolist() == [[24.0, 3.0, 28.0, 8.0]]


@pytest.mark.parametrize("kind", ["tensor", "bounding_boxes", "numpy"])
def test_float16_boxes_reaching_exactly_the_float16_maximum_stay_float16(kind: str) -> None:
    """65504 is float16's largest finite value, so a box ending on it still fits: only beyond it is float32 needed."""
    image = torch.zeros(3, 1, 65504, dtype=torch.uint8)
    values = [[0.0, 0.0, 65504.0, 1.0]]
    boxes = float16_boxes(kind, values, (1, 65504))
    out = identity()({"image": image, "boxes": boxes})["boxes"]
    assert out.dtype == (np.float16 if kind == "numpy" else torch.float16)
    assert out.tolist() == values


def test_the_overflow_dtype_is_float32_of_the_library_the_dtype_came_from() -> None:
    """``safe_box_dtype`` answers a numpy dtype with numpy's float32 and a torch dtype with torch's."""
    beyond = np.array([[0.0, 0.0, 70000.0, 1.0]])
    within = np.array([[0.0, 0.0, 65504.0, 1.0]])
    assert safe_box_dtype(np.dtype(np.float16), beyond) is np.float32
    assert safe_box_dtype(torch.float16, beyond) is torch.float32
    # Within range (or another dtype) the dtype given comes back itself.
    float16 = np.dtype(np.float16)
    assert safe_box_dtype(float16, within) is float16
    assert safe_box_dtype(torch.float16, within) is torch.float16
    assert safe_box_dtype(torch.float32, beyond) is torch.float32


def test_bfloat16_boxes_are_read_and_keep_their_dtype() -> None:
    """bfloat16 is a floating dtype like float16: its boxes are read and come back in it."""
    boxes = torch.tensor([[2, 3, 6, 8]], dtype=torch.bfloat16)
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": boxes})["boxes"]
    assert out.dtype == torch.bfloat16 and out.tolist() == [[24.0, 3.0, 28.0, 8.0]]


@pytest.mark.parametrize(
    ("fmt", "values", "flipped"),
    [
        ("XYWH", [2.0, 3.0, 4.0, 5.0], [24.0, 3.0, 4.0, 5.0]),
        ("CXCYWH", [4.0, 5.5, 4.0, 5.0], [26.0, 5.5, 4.0, 5.0]),
    ],
)
def test_bounding_boxes_are_read_in_their_own_format_not_box_format(
    fmt: str, values: list[float], flipped: list[float]
) -> None:
    """A ``BoundingBoxes`` declares its format: ``box_format`` is ignored for it, and it comes back in it."""
    boxes = tv_tensors.BoundingBoxes(torch.tensor([values]), format=fmt, canvas_size=(20, 30))
    out = BoxPipeline(FLIP, box_format="xyxy")({"image": chw(), "boxes": boxes})["boxes"]
    assert type(out) is tv_tensors.BoundingBoxes and out.format.name == fmt
    assert out.dtype == torch.float32 and out.tolist() == [flipped]


def test_bounding_boxes_take_the_output_canvas_and_integers_become_float32() -> None:
    """Integer ``BoundingBoxes`` come back float32 with the canvas of the output image."""
    boxes = tv_tensors.BoundingBoxes(torch.tensor([[2, 4, 6, 8]]), format="XYXY", canvas_size=(20, 30))
    out = BoxPipeline([{"name": "Resize", "size": [10, 15]}])({"image": chw(), "boxes": boxes})["boxes"]
    assert out.dtype == torch.float32 and tuple(out.canvas_size) == (10, 15)
    assert out.tolist() == [[1.0, 2.0, 3.0, 4.0]]


def test_per_box_fields_and_masks_on_the_meta_device_stay_on_it() -> None:
    """Labels and instance masks on another device than the CPU (here ``meta``) come back on that device."""
    sample = {
        "image": chw(),
        "boxes": [[1.0, 1.0, 3.0, 3.0], [2.0, 2.0, 5.0, 5.0]],
        "labels": torch.tensor([1, 2], device="meta"),
        "masks": torch.zeros(2, 20, 30, dtype=torch.bool, device="meta"),
    }
    out = BoxPipeline(FLIP, min_area=5)(sample)
    assert out["dropped"] == [{"index": 0, "reason": "area"}]
    assert out["labels"].device.type == "meta" and tuple(out["labels"].shape) == (1,)
    assert out["masks"].device.type == "meta" and out["masks"].dtype == torch.bool
    assert tuple(out["masks"].shape) == (1, 20, 30)


@pytest.mark.parametrize(("boxes", "shape"), [([[1, 2, 3]], "(1, 3)"), (np.zeros((2, 5)), "(2, 5)")])
def test_boxes_of_another_width_are_refused_with_their_shape(boxes: Any, shape: str) -> None:
    """Rows of 3 or 5 numbers are no ``xyxy`` boxes: an InvalidBoxesError with the shape given."""
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": boxes})
    assert str(error.value) == f"boxes: expected shape (N, 4) for 'xyxy' boxes, got {shape}"


def test_boxes_of_three_dimensions_are_refused_as_invalid_boxes() -> None:
    """Boxes nested one level too deep are an InvalidBoxesError naming the shape, as oriented boxes are."""
    with pytest.raises(InvalidBoxesError, match=r"\(1, 1, 4\)"):
        identity()({"image": chw(), "boxes": [[[1, 2, 3, 4]]]})


def test_parse_names_box_format_when_the_format_is_unknown() -> None:
    """``parse`` takes the box format unchecked from its caller: an unknown one is a ValueError naming ``box_format``."""
    # BoxPipeline checks box_format when it is built, so only a direct call of parse can pass an unknown one.
    with pytest.raises(ValueError, match=r"^box_format: expected a box format") as error:
        parse(({"image": chw(), "boxes": [[1.0, 1.0, 4.0, 4.0]]},), "bogus", None, 1e-3)
    assert str(error.value) == (
        "box_format: expected a box format, one of 'xyxy', 'xywh', 'cxcywh', 'xyxyn', 'xywhn', 'cxcywhn', 'xywhr', "
        "'cxcywhr', 'xyxyxyxy' or an alias 'pascal_voc' (xyxy), 'coco' (xywh), 'albumentations' (xyxyn), 'yolo' "
        "(cxcywhn); got 'bogus'"
    )


def test_boxes_of_text_name_the_values_and_the_cause() -> None:
    """Boxes numpy cannot read as numbers name what was given and numpy's reason."""
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": [["a", 1, 2, 3]]})
    assert str(error.value).startswith("boxes: expected an (N, 4) array of numbers, got [['a', 1, 2, 3]] (")
    assert "could not convert string to float" in str(error.value)


@pytest.mark.parametrize("kind", ["list", "numpy-0", "numpy-0x4", "tensor-0"])
def test_no_boxes_come_back_as_no_boxes_of_the_same_kind(kind: str) -> None:
    """An empty box list (``[]``, ``(0,)`` or ``(0, 4)``) is zero boxes: given back empty, with an empty report."""
    boxes: Any = {
        "list": [],
        "numpy-0": np.zeros(0),
        "numpy-0x4": np.zeros((0, 4), dtype=np.float32),
        "tensor-0": torch.zeros(0),
    }[kind]
    out = BoxPipeline(FLIP, min_area=5, min_visibility=0.5)({"image": chw(), "boxes": boxes, "labels": []})
    assert out["labels"] == [] and out["dropped"] == []
    if kind == "list":
        assert out["boxes"] == []
    else:
        assert tuple(out["boxes"].shape) == (0, 4)


@pytest.mark.parametrize(
    ("box", "problem"),
    [
        (
            [5.0, 2.0, 3.0, 6.0],
            "inverted: expected x_max > x_min and y_max > y_min, got width -2 and height 4",
        ),
        (
            [2.0, 6.0, 5.0, 3.0],
            "inverted: expected x_max > x_min and y_max > y_min, got width 3 and height -3",
        ),
        # Inverted in y although y_max (6) lies beyond x_max (4), as in box 0: y_max is compared with y_min only.
        (
            [1.0, 8.0, 4.0, 6.0],
            "inverted: expected x_max > x_min and y_max > y_min, got width 3 and height -2",
        ),
        ([2.0, 2.0, 2.0, 6.0], "without area: expected x_max > x_min and y_max > y_min, got width 0"),
        (
            [2.0, 2.0, 6.0, 2.0],
            "without area: expected x_max > x_min and y_max > y_min, got width 4 and height 0",
        ),
        ([float("nan"), 2.0, 6.0, 8.0], "expected finite numbers, got NaN or infinity"),
        ([1.0, 2.0, float("inf"), 8.0], "expected finite numbers, got NaN or infinity"),
    ],
)
def test_each_kind_of_invalid_box_is_refused_with_the_pipeline_fix(box: list[float], problem: str) -> None:
    """Inverted, empty, NaN or infinite boxes (either axis) are refused; the message offers the pipeline's fix."""
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": [[1.0, 1.0, 4.0, 5.0], box]})
    # Three lines: the heading, the one bad box, and the pipeline's fix in place of validate_boxes' own.
    heading, named, fix = str(error.value).split("\n")
    assert heading == "invalid xyxy boxes:"
    assert named.startswith("  - box 1 [") and problem in named
    assert fix == (
        "Fix the annotations, or remove such boxes before the pipeline with "
        "visiondata.boxes.validate_boxes(boxes, fmt, policy='drop') and index the per-box fields with its keep."
    )


def test_invalid_boxes_are_checked_and_named_in_the_box_format_they_were_given_in() -> None:
    """An ``xywh`` box of width 0 is a box without area in ``xywh`` terms, shown as it was given."""
    with pytest.raises(InvalidBoxesError) as error:
        identity(box_format="xywh")({"image": chw(), "boxes": [[1.0, 1.0, 4.0, 4.0], [5.0, 5.0, 0.0, 3.0]]})
    assert str(error.value) == (
        "invalid xywh boxes:\n  - box 1 [5.0, 5.0, 0.0, 3.0]: without area: expected x + w > x and y + h > y, got "
        "width 0 and height 3\nFix the annotations, or remove such boxes before the pipeline with "
        "visiondata.boxes.validate_boxes(boxes, fmt, policy='drop') and index the per-box fields with its keep."
    )


def test_coordinates_within_the_border_noise_are_snapped_onto_it_and_beyond_it_are_out() -> None:
    """Up to 1e-3 of the side beyond an edge is float noise: on the border, not out of bounds; more is outside."""
    # The tolerance is 0.03 across the 30 pixel width and 0.02 down the 20 pixel height.
    boxes = [[-0.02, -0.01, 30.02, 20.01], [1.0, 1.0, 5.0, 20.05]]
    out = identity(out_of_bounds="drop")({"image": hwc(), "boxes": boxes})
    assert out["boxes"] == [[0.0, 0.0, 30.0, 20.0]]
    assert out["dropped"] == [{"index": 1, "reason": "out_of_bounds"}]


# --- masks ----------------------------------------------------------------------------------------


def test_instance_masks_of_another_rank_name_the_shape_and_of_another_count_both_counts() -> None:
    """Instance masks are ``(N, H, W)``, one per box: another rank names the shape, another count both counts."""
    boxes = [[1.0, 1.0, 4.0, 4.0], [2.0, 2.0, 6.0, 6.0]]
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": boxes, "masks": torch.zeros(20, 30, dtype=torch.uint8)})
    assert (
        str(error.value)
        == "masks: expected instance masks of shape (N, H, W), one per box, got shape (20, 30)"
    )
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": boxes, "masks": np.zeros((3, 20, 30), dtype=np.uint8)})
    assert str(error.value) == (
        "masks: expected one row per box (2 boxes), got 3 (shape (3, 20, 30)); boxes and masks must describe the "
        "same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_instance_masks_without_boxes_are_taken_at_any_count(backend: str) -> None:
    """Without boxes there is no count to match: masks of any count move with the image and come back."""
    masks = np.zeros((3, 4, 6), dtype=np.uint8)
    masks[:, 0, 0] = 1
    out = BoxPipeline(FLIP, backend=backend)({"image": hwc(4, 6), "masks": masks})
    assert "boxes" not in out and out["dropped"] == []
    assert type(out["masks"]) is np.ndarray and out["masks"].dtype == np.uint8
    assert out["masks"].shape == (3, 4, 6)
    assert out["masks"][:, 0, 5].tolist() == [1, 1, 1] and int(out["masks"].sum()) == 3


@pytest.mark.parametrize("key", ["masks", "mask"])
def test_masks_of_another_size_than_the_image_are_refused(key: str) -> None:
    """Masks must cover the image pixel for pixel: another height or width is a ValueError naming both."""
    mask = torch.zeros((1, 20, 31) if key == "masks" else (19, 30), dtype=torch.uint8)
    sample = {"image": chw(), key: mask}
    if key == "masks":
        sample["boxes"] = [[1.0, 1.0, 4.0, 4.0]]
    got = "(20, 31)" if key == "masks" else "(19, 30)"
    with pytest.raises(ValueError, match="expected the image's height x width") as error:
        identity()(sample)
    assert str(error.value) == f"{key}: expected the image's height x width (20, 30), got {got}"


@pytest.mark.parametrize("shape", [(2, 20, 30), (1, 1, 20, 30), (20,)])
def test_a_semantic_mask_of_another_shape_is_refused(shape: tuple[int, ...]) -> None:
    """A semantic mask is ``(H, W)`` or ``(1, H, W)``: two channels, four dimensions or one are refused."""
    with pytest.raises(ValueError, match="expected a semantic mask of shape") as error:
        identity()({"image": chw(), "mask": torch.zeros(shape, dtype=torch.uint8)})
    assert str(error.value) == f"mask: expected a semantic mask of shape (H, W) or (1, H, W), got {shape}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(4, 6), (1, 4, 6)])
@pytest.mark.parametrize("kind", ["tensor", "numpy"])
def test_a_semantic_mask_keeps_its_rank_type_and_dtype(
    backend: str, shape: tuple[int, ...], kind: str
) -> None:
    """A semantic mask in a dict comes back flipped with its own rank, type and dtype (int32 labels exact)."""
    values = np.zeros((4, 6), dtype=np.int32)
    values[1, 0] = 70000  # above uint8 and float16: must come back exactly
    values = values.reshape(shape)
    mask: Any = torch.from_numpy(values) if kind == "tensor" else values
    out = BoxPipeline(FLIP, backend=backend)({"image": hwc(4, 6), "mask": mask})["mask"]
    assert type(out) is (torch.Tensor if kind == "tensor" else np.ndarray)
    assert tuple(out.shape) == shape
    assert out.dtype == (torch.int32 if kind == "tensor" else np.int32)
    flat = np.asarray(out).reshape(4, 6)
    assert flat[1, 5] == 70000 and int((flat != 0).sum()) == 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["tensor", "numpy", "tv_mask"])
def test_a_mask_target_comes_back_as_the_pair_target(backend: str, kind: str) -> None:
    """``(image, mask)`` returns ``(image, mask)``: the mask moved with the image, in its type, no report."""
    values = np.zeros((4, 6), dtype=np.uint8)
    values[0, 0] = 3
    mask: Any = {
        "tensor": torch.from_numpy(values),
        "numpy": values,
        "tv_mask": tv_tensors.Mask(torch.from_numpy(values)),
    }[kind]
    out = BoxPipeline(FLIP, backend=backend)(hwc(4, 6), mask)
    assert isinstance(out, tuple) and len(out) == 2
    image, target = out
    assert type(image) is np.ndarray and image.shape == (4, 6, 3)
    assert type(target) is {"tensor": torch.Tensor, "numpy": np.ndarray, "tv_mask": tv_tensors.Mask}[kind]
    assert tuple(target.shape) == (4, 6) and np.asarray(target)[0, 5] == 3 and np.asarray(target).sum() == 3


def test_a_one_channel_semantic_mask_is_not_taken_for_the_field_of_a_single_box() -> None:
    """A ``(1, H, W)`` semantic mask has one row, as many as one box: it is still the image's mask, moved with it."""
    mask = np.zeros((1, 4, 6), dtype=np.uint8)
    mask[0, 0, 0] = 5
    out = BoxPipeline(FLIP)({"image": hwc(4, 6), "boxes": [[0.0, 1.0, 2.0, 3.0]], "mask": mask})
    assert out["boxes"] == [[4.0, 1.0, 6.0, 3.0]]
    assert type(out["mask"]) is np.ndarray and out["mask"].shape == (1, 4, 6)
    assert np.argwhere(out["mask"]).tolist() == [[0, 0, 5]] and out["mask"][0, 0, 5] == 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_instance_masks_leave_with_their_box(backend: str) -> None:
    """A box the filter drops takes its instance mask with it; the survivor keeps its own, in numpy bool."""
    masks = np.zeros((2, 4, 6), dtype=bool)
    masks[0, 0, 0] = True
    masks[1, 3, 3] = True
    sample = {"image": hwc(4, 6), "boxes": [[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 5.0, 4.0]], "masks": masks}
    out = BoxPipeline([], min_area=2, backend=backend)(sample)
    assert out["dropped"] == [{"index": 0, "reason": "area"}]
    assert out["masks"].dtype == np.bool_ and out["masks"].shape == (1, 4, 6)
    assert np.argwhere(out["masks"]).tolist() == [[0, 3, 3]]


# --- keypoints ------------------------------------------------------------------------------------

ONE_BOX = [[1.0, 1.0, 5.0, 4.0]]


@pytest.mark.parametrize(
    ("keypoints", "message"),
    [
        (
            [[["a", 1.0, 2.0]]],
            r"^keypoints: expected an \(N, K, 3\) array of x, y, visibility, got list \(could not convert",
        ),
        (
            [[1.0, 1.0, 2.0]],
            r"^keypoints: expected shape \(N, K, 3\) \(x, y, visibility\) or \(N, K, 2\), one row per box, "
            r"got shape \(1, 3\)$",
        ),
        ([[[1.0, 1.0, 2.0, 0.0]]], r"or \(N, K, 2\), one row per box, got shape \(1, 1, 4\)$"),
        ([[[1.0]]], r"or \(N, K, 2\), one row per box, got shape \(1, 1, 1\)$"),
    ],
    ids=["text", "two-dimensional", "four-columns", "one-column"],
)
def test_keypoints_that_are_not_n_k_3_numbers_are_refused(keypoints: Any, message: str) -> None:
    """Keypoints are numbers shaped ``(N, K, 3)`` or ``(N, K, 2)``: anything else is named."""
    with pytest.raises(InvalidBoxesError, match=message):
        identity()({"image": chw(), "boxes": ONE_BOX, "keypoints": keypoints})


def test_keypoints_without_boxes_are_refused() -> None:
    """Keypoints belong to instances, and instances have boxes: keypoints alone are refused."""
    with pytest.raises(
        InvalidBoxesError, match=r"^keypoints: expected 'boxes' with them \(one box per instance"
    ):
        identity()({"image": chw(), "keypoints": [[[1.0, 1.0, 2.0]]]})


def test_keypoints_with_another_row_count_than_the_boxes_are_refused() -> None:
    """One keypoint row per box: two rows for one box names both counts and the shape."""
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": ONE_BOX, "keypoints": np.ones((2, 3, 3))})
    assert str(error.value) == (
        "keypoints: expected one row per box (1 boxes), got 2 (shape (2, 3, 3)); boxes and keypoints must "
        "describe the same objects in the same order: fix the annotation (or the step that changed one without "
        "the other)"
    )


@pytest.mark.parametrize(("value", "shown"), [(3.0, "3.0"), (-1.0, "-1.0"), (0.5, "0.5")])
def test_a_visibility_other_than_0_1_2_is_refused_naming_the_point(value: float, shown: str) -> None:
    """Visibility is 0, 1 or 2: the first other value names its instance, point and value."""
    keypoints = np.full((2, 3, 3), 2.0)
    keypoints[1, 2, 2] = value
    keypoints[1, 1, 2] = 1.0
    keypoints[0, 0, 2] = 0.0
    boxes = [[1.0, 1.0, 5.0, 4.0], [2.0, 2.0, 6.0, 6.0]]
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": boxes, "keypoints": keypoints})
    prefix = (
        "keypoints[1, 2]: expected visibility 0 (not labelled), 1 (labelled, hidden) or 2 (visible), got "
    )
    message = str(error.value)
    assert message.startswith(prefix) and message.endswith("; fix the annotation")
    # numpy 2 shows the value as np.float64(3.0): the value is what matters.
    assert message[len(prefix) :].removesuffix("; fix the annotation") in (shown, f"np.float64({shown})")


@pytest.mark.parametrize("visibility", [1.0, 2.0])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_labelled_point_without_finite_coordinates_is_refused(visibility: float, bad: float) -> None:
    """A point of visibility 1 or 2 needs finite ``x, y``: the message names it and its coordinates."""
    keypoints = [[[1.0, 1.0, 2.0], [2.0, bad, visibility]]]
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": ONE_BOX, "keypoints": keypoints})
    assert str(error.value).startswith(
        f"keypoints[0, 1]: expected finite x, y for a labelled point, got [2.0, {bad}]; give it visibility 0"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_keypoints_come_back_flipped_and_unlabelled_points_as_zeros(backend: str) -> None:
    """Points move with the image (pixel ``i`` to ``W - 1 - i``); a point of visibility 0, even NaN, is ``0, 0, 0``."""
    keypoints = [[[3.0, 2.0, 2.0], [float("nan"), float("nan"), 0.0], [0.0, 4.0, 1.0]]]
    out = BoxPipeline(FLIP, backend=backend)({"image": hwc(), "boxes": ONE_BOX, "keypoints": keypoints})
    assert out["keypoints"] == [[[26.0, 2.0, 2.0], [0.0, 0.0, 0.0], [29.0, 4.0, 1.0]]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_point_outside_the_image_comes_back_unlabelled(backend: str) -> None:
    """An input point off the image gets visibility 0 (and ``0, 0, 0``); the border's half pixel is inside."""
    keypoints = [[[-0.5, -0.5, 2.0], [29.5, 19.5, 2.0], [-0.6, 3.0, 2.0], [3.0, 19.6, 1.0]]]
    out = BoxPipeline([], backend=backend)({"image": hwc(), "boxes": ONE_BOX, "keypoints": keypoints})
    assert out["keypoints"] == [[[-0.5, -0.5, 2.0], [29.5, 19.5, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_column_keypoints_come_back_with_two_columns(backend: str) -> None:
    """``(N, K, 2)`` keypoints (read as visible) come back as ``(N, K, 2)``, with no visibility added."""
    out = BoxPipeline(FLIP, backend=backend)({"image": hwc(), "boxes": ONE_BOX, "keypoints": [[[3.0, 2.0]]]})
    assert out["keypoints"] == [[[26.0, 2.0]]]
    given = np.array([[[3.0, 2.0], [1.0, 1.0]]], dtype=np.float32)
    out = BoxPipeline(FLIP, backend=backend)({"image": hwc(), "boxes": ONE_BOX, "keypoints": given})
    assert out["keypoints"].dtype == np.float32 and out["keypoints"].tolist() == [[[26.0, 2.0], [28.0, 1.0]]]


@pytest.mark.parametrize(
    ("given", "dtype"),
    [
        (torch.tensor([[[3, 2, 2]]], dtype=torch.int64), torch.float32),
        (torch.tensor([[[3, 2, 2]]], dtype=torch.float64), torch.float64),
        (torch.tensor([[[3, 2, 2]]], dtype=torch.float16), torch.float16),
        (np.array([[[3, 2, 2]]], dtype=np.int64), np.float32),
        (np.array([[[3, 2, 2]]], dtype=np.float64), np.float64),
        (np.array([[[3, 2, 2]]], dtype=np.float16), np.float16),
    ],
    ids=["tensor-int", "tensor-float64", "tensor-float16", "numpy-int", "numpy-float64", "numpy-float16"],
)
def test_keypoints_keep_their_type_and_a_floating_dtype(given: Any, dtype: Any) -> None:
    """Tensor and numpy keypoints come back as the same type, floating dtypes kept, integers as float32."""
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": ONE_BOX, "keypoints": given})["keypoints"]
    assert type(out) is type(given) and out.dtype == dtype
    assert out.tolist() == [[[26.0, 2.0, 2.0]]]


def test_two_column_keypoints_are_read_as_visible_points_with_three_columns() -> None:
    """``read_keypoints`` gives ``(N, K, 3)`` float64: ``x, y`` given alone get one visibility column of 2."""
    read = read_keypoints([[[1.0, 2.0], [3.0, 4.0]]], 1)
    assert read.dtype == np.float64 and read.shape == (1, 2, 3)
    assert read.tolist() == [[[1.0, 2.0, 2.0], [3.0, 4.0, 2.0]]]


def test_tv_keypoints_come_back_as_keypoints_on_the_output_canvas() -> None:
    """``tv_tensors.KeyPoints`` (``x, y`` only) come back as KeyPoints with the output image's canvas."""
    given = tv_tensors.KeyPoints(torch.tensor([[[4.0, 2.0]]]), canvas_size=(20, 30))
    out = BoxPipeline([{"name": "Resize", "size": [10, 15]}])(
        {"image": chw(), "boxes": ONE_BOX, "keypoints": given}
    )
    keypoints = out["keypoints"]
    assert type(keypoints) is tv_tensors.KeyPoints and tuple(keypoints.canvas_size) == (10, 15)
    # Pixel centres map to pixel centres: (4 + 0.5) / 2 - 0.5 = 1.75, (2 + 0.5) / 2 - 0.5 = 0.75.
    assert keypoints.dtype == torch.float32 and keypoints.tolist() == [[[1.75, 0.75]]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_keypoints_leave_with_their_box(backend: str) -> None:
    """A dropped box takes its keypoint row along; the survivor keeps its own points."""
    boxes = [[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 5.0, 4.0]]
    keypoints = [[[0.0, 0.0, 2.0]], [[3.0, 2.0, 1.0]]]
    out = BoxPipeline([], min_area=2, backend=backend)(
        {"image": hwc(), "boxes": boxes, "keypoints": keypoints}
    )
    assert out["keypoints"] == [[[3.0, 2.0, 1.0]]]
    assert out["dropped"] == [{"index": 0, "reason": "area"}]


# --- the count check of a target passed on unparsed (Mosaic / MixUp left unmixed) -----------------


def unmixed(target: Any, box_fields: list[str] | None = None) -> tuple[Any, Any]:
    """Sample 0 of a one-sample dataset through MixUp with ``p=0``: the count check alone, no parsing."""
    from visiondata.transforms import MixUp

    return MixUp([(chw(), target)], p=0.0, seed=0, box_fields=box_fields)[0]


TWO_BOXES = torch.tensor([[1.0, 1.0, 4.0, 4.0], [2.0, 2.0, 6.0, 6.0]])


@pytest.mark.parametrize("key", ["labels", "iscrowd", "area", "difficult", "truncated", "scores"])
def test_an_unmixed_sample_with_a_per_box_field_of_another_length_is_refused(key: str) -> None:
    """Each of the readers' per-box fields must have one row per box even when nothing is mixed."""
    with pytest.raises(InvalidBoxesError) as error:
        unmixed({"boxes": TWO_BOXES, key: [1, 2, 3]})
    assert str(error.value) == (
        f"MixUp: dataset[0]: {key}: a per-box field, so expected one row per box (2 boxes), got 3; boxes and "
        f"{key} must describe the same objects in the same order: fix the annotation (or the step that changed one "
        "without the other)"
    )


def test_an_unmixed_sample_with_a_single_label_for_its_boxes_is_refused() -> None:
    """A 0-d tensor of labels is one value, not one per box: named as a single value."""
    with pytest.raises(InvalidBoxesError) as error:
        unmixed({"boxes": TWO_BOXES, "labels": torch.tensor(7)})
    assert str(error.value) == (
        "MixUp: dataset[0]: labels: a per-box field, so expected one row per box (2 boxes), got a single value "
        "tensor(7); boxes and labels must describe the same objects in the same order: fix the annotation (or the "
        "step that changed one without the other)"
    )


def test_an_unmixed_sample_checks_the_named_box_fields_only() -> None:
    """With ``box_fields`` the named fields are checked, and the readers' keys not named are left alone."""
    target = {"boxes": TWO_BOXES, "labels": [1, 2, 3], "weights": [0.5]}
    with pytest.raises(InvalidBoxesError, match=r"^MixUp: dataset\[0\]: weights: a per-box field, so "):
        unmixed(target, box_fields=["weights"])
    _image, out = unmixed(target, box_fields=["boxes", "keypoints", "mask", "masks", "other"])
    assert out is target


def test_an_unmixed_sample_never_counts_its_semantic_mask_as_a_per_box_field() -> None:
    """A semantic mask named in ``box_fields`` is still one mask for the image: its 20 rows are no count error."""
    target = {"boxes": TWO_BOXES, "labels": [1, 2], "mask": torch.zeros(20, 30, dtype=torch.uint8)}
    _image, out = unmixed(target, box_fields=["labels", "mask"])
    assert out is target


def test_an_unmixed_sample_with_matching_fields_is_given_back_unchanged() -> None:
    """A target whose fields, keypoints and masks have one row per box passes untouched."""
    target = {
        "boxes": TWO_BOXES,
        "labels": [1, 2],
        "keypoints": torch.zeros(2, 3, 3),
        "masks": torch.zeros(2, 20, 30, dtype=torch.uint8),
        "image_id": 4,
    }
    image, out = unmixed(target)
    assert out is target and torch.equal(image, chw())


@pytest.mark.parametrize("key", ["keypoints", "masks"])
@pytest.mark.parametrize("box_fields", [None, ["keypoints", "masks"]])
def test_an_unmixed_sample_with_keypoints_or_masks_of_another_count_is_refused(
    key: str, box_fields: list[str] | None
) -> None:
    """Keypoints and masks need one row per box (whatever ``box_fields`` says): their own message names both."""
    value = torch.zeros(3, 3, 3) if key == "keypoints" else torch.zeros(3, 20, 30, dtype=torch.uint8)
    with pytest.raises(InvalidBoxesError) as error:
        unmixed({"boxes": TWO_BOXES, "labels": [1, 2], key: value}, box_fields=box_fields)
    assert str(error.value) == (
        f"MixUp: dataset[0]: {key}: expected one row per box (2 boxes), got 3 (shape {tuple(value.shape)}); boxes "
        f"and {key} must describe the same objects in the same order: fix the annotation (or the step that changed "
        "one without the other)"
    )


@pytest.mark.parametrize(
    "target",
    [None, {"labels": [1, 2, 3]}, {"boxes": "not boxes", "labels": [1, 2]}],
    ids=["none", "no-boxes", "boxes-not-an-array"],
)
def test_an_unmixed_target_without_countable_boxes_is_not_checked(target: Any) -> None:
    """Without boxes to count (none, or not an array: the parser names those), the target comes back as it was."""
    _image, out = unmixed(target)
    assert out is target


# --- per-box fields -------------------------------------------------------------------------------

BOXES_3 = [[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 6.0, 6.0], [10.0, 10.0, 11.0, 11.0]]


def test_one_dimensional_fields_of_every_kind_follow_their_boxes() -> None:
    """Lists, tuples, arrays, tensors and tv_tensors with a row per box keep the rows of the boxes kept."""
    sample = {
        "image": chw(),
        "boxes": BOXES_3,
        "names": ["a", "b", "c"],
        "ids": (7, 8, 9),
        "weights": np.array([0.1, 0.2, 0.3]),
        "labels": torch.tensor([1, 2, 3]),
        "classes": tv_tensors.TVTensor(torch.tensor([4, 5, 6])) if hasattr(tv_tensors, "TVTensor") else None,
        "caption": "abc",  # a string is one value, not a row per box
        "image_id": 12,
    }
    sample = {key: value for key, value in sample.items() if value is not None}
    out = identity(min_area=2)(sample)
    assert out["dropped"] == [{"index": 0, "reason": "area"}, {"index": 2, "reason": "area"}]
    assert out["names"] == ["b"]
    assert type(out["ids"]) is tuple and out["ids"] == (8,)
    assert type(out["weights"]) is np.ndarray and out["weights"].tolist() == [0.2]
    assert type(out["labels"]) is torch.Tensor and out["labels"].tolist() == [2]
    if "classes" in sample:
        assert type(out["classes"]) is type(sample["classes"]) and out["classes"].tolist() == [5]
    assert out["caption"] == "abc" and out["image_id"] == 12


def test_a_field_of_another_length_is_left_alone_unless_it_is_a_per_box_key() -> None:
    """Without ``box_fields`` a list of another length is a per-image value, left as it is."""
    out = identity(min_area=2)({"image": chw(), "boxes": BOXES_3, "sizes": [1, 2], "labels": [1, 2, 3]})
    assert out["sizes"] == [1, 2] and out["labels"] == [2]


@pytest.mark.parametrize("key", ["labels", "iscrowd", "area", "difficult", "truncated", "scores"])
def test_a_per_box_key_of_another_length_is_refused(key: str) -> None:
    """The readers' per-box keys with another row count are a broken annotation, named with both counts."""
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": BOXES_3, key: [1, 2]})
    assert str(error.value) == (
        f"{key}: a per-box field, so expected one row per box (3 boxes), got 2; boxes and {key} must describe the "
        "same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )


@pytest.mark.parametrize(("value", "shown"), [(5, "5"), (torch.tensor(5), "tensor(5)"), ("cat", "'cat'")])
def test_a_single_label_for_several_boxes_is_refused_as_a_single_value(value: Any, shown: str) -> None:
    """``labels`` given as one value (a number, a 0-d tensor, a string) is named as a single value."""
    with pytest.raises(InvalidBoxesError) as error:
        identity()({"image": chw(), "boxes": BOXES_3, "labels": value})
    assert str(error.value) == (
        f"labels: a per-box field, so expected one row per box (3 boxes), got a single value {shown}; boxes and "
        "labels must describe the same objects in the same order: fix the annotation (or the step that changed one "
        "without the other)"
    )


def test_a_two_dimensional_field_with_a_row_per_box_needs_box_fields() -> None:
    """A ``(N, D)`` field cannot follow the boxes on its own: a ValueError says to name it in box_fields."""
    with pytest.raises(ValueError, match="has one row per box") as error:
        identity()({"image": chw(), "boxes": BOXES_3, "embeddings": np.zeros((3, 2))})
    assert str(error.value).startswith(
        "embeddings: shape (3, 2) has one row per box, but only 1-D fields follow the boxes automatically"
    )
    assert "(with 'embeddings' to filter it with the boxes, without it to leave it alone)" in str(error.value)
    # Named, it follows its boxes.
    out = identity(min_area=2, box_fields=["embeddings"])(
        {"image": chw(), "boxes": BOXES_3, "embeddings": np.arange(6).reshape(3, 2)}
    )
    assert out["embeddings"].tolist() == [[2, 3]]


def test_box_fields_filters_exactly_the_fields_it_names() -> None:
    """With ``box_fields`` only the named fields follow the boxes; others of the same length stay whole."""
    sample = {
        "image": chw(),
        "boxes": BOXES_3,
        "labels": [1, 2, 3],
        "tags": ["x", "y", "z"],
        "masks": torch.zeros(3, 20, 30, dtype=torch.uint8),
    }
    out = identity(min_area=2, box_fields=["tags", "masks", "missing"])(sample)
    assert out["tags"] == ["y"] and out["labels"] == [1, 2, 3]
    assert tuple(out["masks"].shape) == (1, 20, 30)


def test_a_named_box_field_of_another_length_is_refused() -> None:
    """A field named in ``box_fields`` must have one row per box: the message says it was named."""
    with pytest.raises(InvalidBoxesError) as error:
        identity(box_fields=["tags"])({"image": chw(), "boxes": BOXES_3, "tags": ["x"]})
    assert str(error.value) == (
        "tags: named in box_fields, so expected one row per box (3 boxes), got 1; boxes and tags must describe the "
        "same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )


def test_without_boxes_no_field_is_checked_or_filtered() -> None:
    """A sample without boxes has no per-box fields: labels of any length pass through untouched."""
    out = identity(box_fields=["labels"])({"image": chw(), "labels": [1, 2, 3]})
    assert out["labels"] == [1, 2, 3] and "boxes" not in out


# --- the drop report of a chained pipeline --------------------------------------------------------


def test_a_second_pipeline_reports_its_drops_against_the_first_input() -> None:
    """A report already in the sample maps the later drops back to the input's indices, merged in order."""
    boxes = [[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 6.0, 6.0], [0.0, 0.0, 2.0, 2.0], [10.0, 10.0, 12.0, 12.0]]
    first = identity(min_area=2)({"image": chw(), "boxes": boxes, "labels": [0, 1, 2, 3]})
    assert first["dropped"] == [{"index": 0, "reason": "area"}]
    # The second sees boxes 1, 2, 3 of the input as its 0, 1, 2 and drops its 1 and 2.
    second = identity(min_area=5)(first)
    assert second["labels"] == [1]
    assert second["dropped"] == [
        {"index": 0, "reason": "area"},
        {"index": 2, "reason": "area"},
        {"index": 3, "reason": "area"},
    ]


def test_a_pair_target_with_a_report_keeps_reporting_against_the_first_input() -> None:
    """The report of a pair's target is read and extended the same way, and an empty one stays empty."""
    target = {
        "boxes": [[2.0, 2.0, 6.0, 6.0], [0.0, 0.0, 1.0, 1.0]],
        "dropped": [{"index": 1, "reason": "size"}],
    }
    _image, out = identity(min_area=2)(chw(), target)
    assert out["dropped"] == [{"index": 1, "reason": "size"}, {"index": 2, "reason": "area"}]
    assert target["dropped"] == [{"index": 1, "reason": "size"}]  # the input's report is not changed
    _image, out = identity()(chw(), {"boxes": [[2.0, 2.0, 6.0, 6.0]], "dropped": []})
    assert out["dropped"] == []


def test_a_report_without_boxes_stays_as_it_was() -> None:
    """A sample that lost all its boxes' key keeps its earlier report unchanged."""
    out = identity()({"image": chw(), "dropped": [{"index": 0, "reason": "area"}]})
    assert out["dropped"] == [{"index": 0, "reason": "area"}]


# --- the border: oriented corners in float noise of it, points on its half pixel -----------------


@pytest.mark.parametrize("out_of_bounds", ["clip", "drop"])
def test_oriented_corners_within_float_noise_of_the_border_are_put_on_it(out_of_bounds: str) -> None:
    """Corners within ``side * 1e-9`` of an edge (inclusive) land on it; a corner near 0 inside becomes 0."""
    side = 32 * 1e-9  # the tolerance of a 32 wide image
    image = np.zeros((20, 32, 3), dtype=np.uint8)
    boxes = [
        [-side, 0.0, 32 + side / 2, 0.0, 32 + side / 2, 20.0, -side, 20.0],
        [1e-12, 0.0, 10.0, 0.0, 10.0, 20.0, 1e-12, 20.0],
    ]
    out = BoxPipeline([], box_format="xyxyxyxy", out_of_bounds=out_of_bounds)(
        {"image": image, "boxes": boxes}
    )
    assert out["dropped"] == []
    assert out["boxes"] == [
        [0.0, 0.0, 32.0, 0.0, 32.0, 20.0, 0.0, 20.0],
        [0.0, 0.0, 10.0, 0.0, 10.0, 20.0, 0.0, 20.0],
    ]


def test_oriented_corners_beyond_the_noise_of_a_one_pixel_side_stay_where_they_are() -> None:
    """On a 1-pixel side the tolerance is 1e-9: a corner 1.5e-9 beyond the edge is not moved onto it."""
    image = np.zeros((1, 1, 3), dtype=np.uint8)
    boxes = [[0.0, 0.0, 1 + 1.5e-9, 0.0, 1 + 1.5e-9, 1.0, 0.0, 1.0]]
    out = BoxPipeline([], box_format="xyxyxyxy")({"image": image, "boxes": boxes})
    assert out["boxes"] == boxes


@pytest.mark.parametrize("backend", BACKENDS)
def test_points_on_the_border_with_its_float_noise_are_inside_and_beyond_it_outside(backend: str) -> None:
    """Pixel ``i`` spans ``i - 0.5`` to ``i + 0.5``: a point up to 1e-4 beyond that (inclusive) is in view."""
    noise = 1e-4
    inside = [[-0.5 - noise, 3.0], [29.5 + noise, 3.0], [3.0, -0.5 - noise], [3.0, 19.5 + noise]]
    outside = [
        [-0.5 - 2 * noise, 3.0],
        [29.5 + 2 * noise, 3.0],
        [3.0, -0.5 - 2 * noise],
        [3.0, 19.5 + 2 * noise],
    ]
    keypoints = [[[x, y, 2.0] for x, y in inside + outside]]
    out = BoxPipeline([], backend=backend)({"image": hwc(), "boxes": ONE_BOX, "keypoints": keypoints})
    assert [point[2] for point in out["keypoints"][0]] == [2.0] * 4 + [0.0] * 4
    assert [point[:2] for point in out["keypoints"][0][:4]] == inside


def test_a_nan_point_marked_visible_is_refused_not_hidden() -> None:
    """A labelled NaN point is a data error (named), never silently taken as a point outside the image."""
    with pytest.raises(InvalidBoxesError, match=r"^keypoints\[0, 0\]: expected finite x, y"):
        identity()({"image": chw(), "boxes": ONE_BOX, "keypoints": [[[float("nan"), 1.0, 2.0]]]})


def test_an_unlabelled_point_may_have_no_coordinates() -> None:
    """A point of visibility 0 may be given as ``None, None`` (read as NaN): it comes back as ``0, 0, 0``."""
    out = identity()({"image": chw(), "boxes": ONE_BOX, "keypoints": [[[None, None, 0], [1, 2, 2]]]})
    assert out["keypoints"] == [[[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]]]


@pytest.mark.parametrize(("points", "columns"), [(3, 2), (2, 3)])
def test_list_keypoints_keep_their_column_count_whatever_the_point_count(points: int, columns: int) -> None:
    """The column count comes from the last axis: 3 points of ``x, y`` stay 2 columns, 2 of ``x, y, v`` 3."""
    keypoints = [[[1.0, 2.0, 2.0][:columns] for _ in range(points)]]
    out = identity()({"image": chw(), "boxes": ONE_BOX, "keypoints": keypoints})
    assert out["keypoints"] == keypoints


def test_keypoints_of_another_tv_tensor_type_come_back_as_that_type() -> None:
    """Keypoints given as a plain ``TVTensor`` come back wrapped as one, not as a bare tensor."""
    given = tv_tensors.TVTensor(torch.tensor([[[3.0, 2.0, 2.0]]]))
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": ONE_BOX, "keypoints": given})["keypoints"]
    assert type(out) is tv_tensors.TVTensor and out.tolist() == [[[26.0, 2.0, 2.0]]]


# --- oriented boxes as read ------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "columns"), [("xywhr", 5), ("cxcywhr", 5), ("xyxyxyxy", 8)])
def test_no_oriented_boxes_come_back_as_no_boxes(fmt: str, columns: int) -> None:
    """An empty list or array of oriented boxes is zero boxes, given back empty."""
    out = identity(box_format=fmt)({"image": chw(), "boxes": [], "labels": []})
    assert out["boxes"] == [] and out["dropped"] == []
    out = identity(box_format=fmt)({"image": chw(), "boxes": np.zeros(0)})
    assert out["boxes"].shape == (0, columns)


def test_oriented_boxes_of_text_name_the_values_the_format_and_the_cause() -> None:
    """Oriented boxes numpy cannot read as numbers name their columns, format, the values and numpy's reason."""
    with pytest.raises(InvalidBoxesError) as error:
        identity(box_format="xywhr")({"image": chw(), "boxes": [["a", 5.0, 4.0, 3.0, 10.0]]})
    assert str(error.value) == (
        "boxes: expected an (N, 5) array of numbers (xywhr), got [['a', 5.0, 4.0, 3.0, 10.0]] (could not convert "
        "string to float: 'a')"
    )


def test_an_oriented_box_without_area_is_refused_with_the_pipeline_fix() -> None:
    """An ``xywhr`` box of width 0 is refused (not dropped): its problem and the pipeline's fix are named."""
    with pytest.raises(InvalidBoxesError) as error:
        identity(box_format="xywhr")(
            {"image": chw(), "boxes": [[5.0, 5.0, 4.0, 3.0, 10.0], [5.0, 5.0, 0.0, 3.0, 10.0]]}
        )
    message = str(error.value)
    assert "box 1" in message and "box 0" not in message
    assert message.endswith(
        "\nFix the annotations, or remove such boxes before the pipeline with "
        "visiondata.boxes.validate_boxes(boxes, fmt, policy='drop') and index the per-box fields with its keep."
    )
    assert message.count("\n") == 2


def test_boxes_and_keypoints_that_require_grad_are_read() -> None:
    """Tensors that track gradients (a model's output) are read as values, not refused by numpy."""
    boxes = torch.tensor([[2.0, 3.0, 6.0, 8.0]], requires_grad=True)
    keypoints = torch.tensor([[[3.0, 2.0, 2.0]]], requires_grad=True)
    out = BoxPipeline(FLIP)({"image": chw(), "boxes": boxes, "keypoints": keypoints})
    assert out["boxes"].tolist() == [[24.0, 3.0, 28.0, 8.0]]
    assert out["keypoints"].tolist() == [[[26.0, 2.0, 2.0]]]

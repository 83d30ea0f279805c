"""Edge cases of the four collates and ``to_device`` that mutation testing found untested (issue 26).

Each test pins one behaviour of ``visiondata.collate``: the forms of "no boxes" and "no keypoints", the
per-box checks and the words of their errors (each names its layout), the dtypes promised whatever
``torch.get_default_dtype()`` is, the device of every output (tensors on the ``"meta"`` device show it
on a CPU-only machine), semantic masks given as numpy arrays or ``(1, H, W)``, the ultralytics OBB rows to
the last float32 bit, and ``to_device``'s ``non_blocking``. The survivors that no test can kill are
explained in ``tests/mutation/collate.txt``.
"""

from __future__ import annotations

import math
import re
from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors

from visiondata.collate import (
    CollatedBatch,
    detection_collate,
    padded_boxes_collate,
    padded_collate,
    to_device,
    yolo_collate,
)
from visiondata.exceptions import InvalidBoxesError

META = torch.device("meta")
Collate = Callable[..., Any]
#: The layouts that batch semantic masks (``"semantic_masks"``).
MASK_COLLATES: list[Collate] = [padded_collate, padded_boxes_collate]

# ---------------------------------------------------------------- helpers


def picture(height: int = 8, width: int = 8, device: torch.device | str = "cpu") -> torch.Tensor:
    """A float image of ones: the collates read its size, dtype and device."""
    return torch.ones(3, height, width, device=device)


def one_box(**extra: Any) -> dict[str, Any]:
    """A target with one box of class 4, plus ``extra`` keys."""
    return {"boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]]), "labels": torch.tensor([4]), **extra}


def targets_of(batch: list[Any]) -> list[dict[str, Any]]:
    return detection_collate(batch)[1]


@pytest.fixture
def float64_default() -> Iterator[None]:
    """``torch.get_default_dtype()`` float64 for one test (what some numerical code sets globally)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


# ---------------------------------------------------------------- boxes and labels of one sample


@pytest.mark.parametrize("empty", [torch.zeros(0, 5), torch.zeros(0, 3, dtype=torch.int32), np.zeros((0, 7))])
def test_empty_boxes_of_any_width_mean_no_boxes(empty: Any) -> None:
    """Boxes with no row are "no boxes" whatever their column count: ``(0, 4)`` float32, never a shape error."""
    (target,) = targets_of([(picture(), {"boxes": empty})])
    assert target["boxes"].shape == (0, 4)
    assert target["boxes"].dtype == torch.float32
    assert target["labels"].shape == (0,)


def test_an_image_without_boxes_gets_empty_boxes_and_labels_on_its_device() -> None:
    """The ``(0, 4)`` boxes and ``(0,)`` labels made for an image without boxes live on the image's device."""
    (target,) = targets_of([(picture(device=META), {})])
    assert target["boxes"].device == META
    assert target["labels"].device == META
    assert target["labels"].dtype == torch.int64


def test_labels_without_boxes_are_refused() -> None:
    """A label with no box would describe nothing: an image without boxes must have no labels."""
    with pytest.raises(
        InvalidBoxesError,
        match="^"
        + re.escape(
            "detection_collate: sample 0 of the batch: labels: expected one row per box (0 boxes), got 1; boxes "
            "and labels must describe the same objects in the same order: fix the annotation (or the step that "
            "changed one without the other)"
        )
        + "$",
    ):
        detection_collate([(picture(), {"labels": [3]})])


@pytest.mark.parametrize("columns", [5, 8])
def test_plain_oriented_looking_boxes_get_the_oriented_hint(columns: int) -> None:
    """Plain ``(N, 5)`` and ``(N, 8)`` boxes are refused with the hint to declare them oriented."""
    sample = (picture(), {"boxes": torch.zeros(1, columns), "labels": [1]})
    with pytest.raises(
        InvalidBoxesError, match=r"^yolo_collate: sample 0 .*oriented boxes travel as a tv_tensors"
    ):
        yolo_collate([sample])


def test_plain_boxes_of_another_width_get_no_oriented_hint() -> None:
    """The oriented hint is only for the widths of oriented formats."""
    with pytest.raises(InvalidBoxesError) as raised:
        detection_collate([(picture(), {"boxes": torch.zeros(1, 6), "labels": [1]})])
    assert "oriented" not in str(raised.value)


def test_a_fractional_label_is_named_with_its_box() -> None:
    """A float label that is no whole number is quoted with the index of its box."""
    sample = (picture(), {"boxes": torch.zeros(3, 4), "labels": torch.tensor([1.0, 2.0, 2.5])})
    with pytest.raises(InvalidBoxesError, match=r"labels: expected integer class ids, got 2\.5 for box 2 "):
        detection_collate([sample])


def test_every_per_box_field_is_checked_even_after_an_absent_one() -> None:
    """``masks`` (the last per-box key) is checked although ``iscrowd`` and ``area`` are absent."""
    sample = (picture(), one_box(masks=torch.zeros(2, 8, 8, dtype=torch.uint8)))
    with pytest.raises(
        InvalidBoxesError,
        match="^"
        + re.escape(
            "detection_collate: sample 0 of the batch: masks: expected one row per box (1 boxes), got 2 (shape "
            "(2, 8, 8)); boxes and masks must describe the same objects in the same order: fix the annotation (or "
            "the step that changed one without the other)"
        )
        + "$",
    ):
        detection_collate([sample])


def test_a_per_box_field_that_is_a_single_number_is_refused_by_name() -> None:
    """A scalar where one value per box is expected is an ``InvalidBoxesError`` quoting it, not a ``TypeError``."""
    with pytest.raises(
        InvalidBoxesError,
        match="^"
        + re.escape(
            "detection_collate: sample 0 of the batch: iscrowd: expected one row per box (1 boxes), got a single "
            "value 0; boxes and iscrowd must describe the same objects in the same order: fix the annotation (or "
            "the step that changed one without the other)"
        )
        + "$",
    ):
        detection_collate([(picture(), one_box(iscrowd=0))])


# ---------------------------------------------------------------- keypoints


def test_list_keypoints_become_float32() -> None:
    """Keypoints given as nested Python floats become a float32 ``(N, K, 3)`` tensor (not float64)."""
    (target,) = targets_of([(picture(), one_box(keypoints=[[[1.5, 2.5, 2.0], [3.0, 4.0, 1.0]]]))])
    assert target["keypoints"].dtype == torch.float32
    assert target["keypoints"].tolist() == [[[1.5, 2.5, 2.0], [3.0, 4.0, 1.0]]]


def test_integer_keypoints_become_float32_and_float_keypoints_pass_through() -> None:
    """Integer keypoints are made float32; float keypoints keep their dtype."""
    ints = torch.tensor([[[1, 2, 2]]], dtype=torch.int64)
    (target,) = targets_of([(picture(), one_box(keypoints=ints))])
    assert target["keypoints"].dtype == torch.float32
    assert target["keypoints"].tolist() == [[[1.0, 2.0, 2.0]]]
    doubles = torch.tensor([[[1.25, 2.0, 2.0]]], dtype=torch.float64)
    (target,) = targets_of([(picture(), one_box(keypoints=doubles))])
    assert target["keypoints"].dtype == torch.float64
    assert torch.equal(target["keypoints"], doubles)


@pytest.mark.parametrize("empty", [[], (), np.zeros(0)])
def test_an_empty_keypoint_list_of_an_image_without_boxes_is_zero_by_zero_by_three(empty: Any) -> None:
    """``keypoints=[]`` on an image without boxes is ``(0, 0, 3)`` float32: no box, no keypoint."""
    (target,) = targets_of([(picture(), {"keypoints": empty})])
    assert target["keypoints"].shape == (0, 0, 3)
    assert target["keypoints"].dtype == torch.float32


def test_keypoints_on_an_image_without_boxes_are_refused() -> None:
    """A keypoint row with no box to belong to is refused, naming the row counts."""
    with pytest.raises(
        InvalidBoxesError,
        match="^"
        + re.escape(
            "detection_collate: sample 0 of the batch: keypoints: expected one row per box (0 boxes), got 1 (shape "
            "(1, 1, 3)); boxes and keypoints must describe the same objects in the same order: fix the annotation "
            "(or the step that changed one without the other)"
        )
        + "$",
    ):
        detection_collate([(picture(), {"keypoints": [[[1.0, 2.0, 2.0]]]})])


def test_keypoints_of_the_wrong_shape_are_refused_naming_the_layout() -> None:
    """Keypoints that are not ``(N, K, 3)`` raise an error that starts with the collate's name."""
    with pytest.raises(
        InvalidBoxesError,
        match=r"^detection_collate: sample 1 of the batch: keypoints: expected shape \(N, K, 3\)",
    ):
        detection_collate([(picture(), one_box()), (picture(), one_box(keypoints=torch.zeros(1, 2)))])


# ---------------------------------------------------------------- errors name their layout


def test_padded_boxes_collate_names_itself_in_image_box_and_keypoint_errors() -> None:
    """Mismatched images, mixed box kinds and different keypoint counts each name ``padded_boxes_collate``."""
    with pytest.raises(ValueError, match=r"^padded_boxes_collate: expected images with the same channels"):
        padded_boxes_collate([(picture(), {}), (torch.ones(1, 8, 8), {})])
    xywhr = tv_tensors.BoundingBoxes(
        torch.tensor([[1.0, 1.0, 4.0, 2.0, 0.0]]), format="XYWHR", canvas_size=(8, 8)
    )
    with pytest.raises(
        InvalidBoxesError, match=r"^padded_boxes_collate: expected one kind of boxes in a batch"
    ):
        padded_boxes_collate([(picture(), {"boxes": xywhr, "labels": [1]}), (picture(), one_box())])
    two, three = torch.zeros(1, 2, 3), torch.zeros(1, 3, 3)
    with pytest.raises(
        InvalidBoxesError, match=r"^padded_boxes_collate: keypoints: expected the same number"
    ):
        padded_boxes_collate([(picture(), one_box(keypoints=two)), (picture(), one_box(keypoints=three))])


def test_yolo_collate_names_itself_in_box_kind_and_keypoint_errors() -> None:
    """Mixed box kinds and different keypoint counts each name ``yolo_collate``."""
    xywhr = tv_tensors.BoundingBoxes(
        torch.tensor([[1.0, 1.0, 4.0, 2.0, 0.0]]), format="XYWHR", canvas_size=(8, 8)
    )
    with pytest.raises(InvalidBoxesError, match=r"^yolo_collate: expected one kind of boxes in a batch"):
        yolo_collate([(picture(), {"boxes": xywhr, "labels": [1]}), (picture(), one_box())])
    two, three = torch.zeros(1, 2, 3), torch.zeros(1, 3, 3)
    with pytest.raises(InvalidBoxesError, match=r"^yolo_collate: keypoints: expected the same number"):
        yolo_collate([(picture(), one_box(keypoints=two)), (picture(), one_box(keypoints=three))])


def test_mismatched_images_are_listed_comma_separated() -> None:
    """The error for images of different channels lists each image's shape and dtype, comma separated."""
    message = "padded_collate: expected images with the same channels and dtype, got (3, 4, 4) torch.float32, (1, 4, 4) torch.float32"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        padded_collate([(torch.zeros(3, 4, 4), {}), (torch.zeros(1, 4, 4), {})])


@pytest.mark.parametrize("collate", MASK_COLLATES)
def test_bad_ignore_index_and_size_divisor_are_refused_in_the_documented_words(collate: Collate) -> None:
    """``ignore_index`` and ``size_divisor`` refusals use the collates' own wording, naming the argument."""
    expected = "ignore_index: expected an int (the class id of void pixels, 255 by default), got 1.5"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        collate([(picture(), {})], ignore_index=1.5)
    with pytest.raises(ValueError, match=r"^size_divisor: expected a positive int, got 0$"):
        collate([(picture(), {})], size_divisor=0)


@pytest.mark.parametrize("collate", MASK_COLLATES)
def test_samples_missing_a_semantic_mask_are_listed_by_position(collate: Collate) -> None:
    """When only some samples carry a ``mask``, the error names the collate and each sample without one."""
    mask = torch.zeros(8, 8, dtype=torch.int64)
    batch = [(picture(), {"mask": mask}), (picture(), {}), (picture(), {})]
    with pytest.raises(
        ValueError, match=rf"^{collate.__name__}: samples 1, 2 of the batch: mask: expected an \(H, W\)"
    ):
        collate(batch)


@pytest.mark.parametrize("collate", MASK_COLLATES)
def test_a_semantic_mask_of_the_wrong_size_names_the_collate(collate: Collate) -> None:
    """A mask that is not its image's size is refused with the collate's name and the sample's position."""
    batch = [(picture(), {"mask": torch.zeros(8, 7, dtype=torch.int64)})]
    with pytest.raises(
        ValueError, match=rf"^{collate.__name__}: sample 0 of the batch: mask: expected shape \(8, 8\)"
    ):
        collate(batch)


# ---------------------------------------------------------------- semantic masks


@pytest.mark.parametrize("collate", MASK_COLLATES)
def test_numpy_and_single_channel_semantic_masks_are_batched(collate: Collate) -> None:
    """A numpy ``(h, w)`` mask and a ``(1, h, w)`` tensor mask are batched like ``(h, w)`` tensors."""
    flat = np.arange(12, dtype=np.uint8).reshape(3, 4)
    channel = torch.arange(6, dtype=torch.int32).reshape(1, 2, 3) + 20
    out = collate([(picture(3, 4), {"mask": flat}), (picture(2, 3), {"mask": channel})], size_divisor=1)
    masks = out["semantic_masks"]
    assert masks.dtype == torch.int64
    assert masks.shape == (2, 3, 4)
    assert masks[0].tolist() == flat.tolist()
    assert masks[1].tolist() == [[20, 21, 22, 255], [23, 24, 25, 255], [255, 255, 255, 255]]


def test_a_one_row_mask_of_a_one_row_image_is_kept_whole() -> None:
    """An ``(1, w)`` mask of an image one pixel high is its ``(h, w)`` mask, not a channel to drop."""
    out = padded_collate([(picture(1, 3), {"mask": torch.tensor([[1, 2, 3]])})], size_divisor=2)
    assert out["semantic_masks"].tolist() == [[[1, 2, 3, 255], [255, 255, 255, 255]]]


# ---------------------------------------------------------------- devices and dtypes


def test_padded_collate_outputs_live_on_the_images_device() -> None:
    """Images, padding mask and semantic masks of ``padded_collate`` are on the images' device."""
    out = padded_collate(
        [(picture(5, 6, META), {"mask": torch.zeros(5, 6, dtype=torch.uint8)})], size_divisor=4
    )
    assert out["images"].device == META
    assert out["mask"].device == META
    assert out["semantic_masks"].device == META
    assert out["semantic_masks"].shape == (1, 8, 8)


def test_padded_boxes_collate_outputs_live_on_the_images_device() -> None:
    """Every tensor of ``padded_boxes_collate`` is on the images' device, whatever device the target used."""
    target = one_box(keypoints=torch.zeros(1, 2, 3), mask=torch.zeros(8, 8, dtype=torch.uint8))
    empty = {"mask": torch.zeros(8, 8, dtype=torch.uint8)}
    out = padded_boxes_collate([(picture(device=META), target), (picture(device=META), empty)])
    for key in ("images", "mask", "boxes", "labels", "valid", "keypoints", "semantic_masks"):
        assert out[key].device == META, key
    assert out["keypoints"].shape == (2, 1, 2, 3)


def test_padded_boxes_collate_dtypes_do_not_follow_the_default_dtype(float64_default: None) -> None:
    """Boxes and keypoints are float32, labels int64, valid bool, even when the default dtype is float64."""
    out = padded_boxes_collate([(picture(), one_box(keypoints=torch.zeros(1, 2, 3)))])
    assert out["boxes"].dtype == torch.float32
    assert out["keypoints"].dtype == torch.float32
    assert out["labels"].dtype == torch.int64
    assert out["valid"].dtype == torch.bool


@pytest.mark.parametrize("collate", [padded_collate, padded_boxes_collate, yolo_collate])
def test_a_batch_of_skipped_samples_has_float32_images_and_a_bool_mask(
    collate: Collate, float64_default: None
) -> None:
    """All samples skipped: ``(0, 0, 0, 0)`` float32 images (and a ``(0, 0, 0)`` bool mask), any default dtype."""
    with pytest.warns(match="skipped 2 None samples"):
        out = collate([None, None], skip_none=True)
    images = out[0] if collate is yolo_collate else out["images"]
    assert images.shape == (0, 0, 0, 0)
    assert images.dtype == torch.float32
    if collate is not yolo_collate:
        assert out["mask"].shape == (0, 0, 0)
        assert out["mask"].dtype == torch.bool


def test_padded_boxes_collate_defaults_pad_with_zeros_to_the_largest_size() -> None:
    """By default images are padded with 0 to exactly the largest size (no rounding), masks with 255."""
    big = (picture(5, 7), {"mask": torch.ones(5, 7, dtype=torch.int64)})
    small = (picture(3, 3), {"mask": torch.ones(3, 3, dtype=torch.int64)})
    out = padded_boxes_collate([big, small])
    assert out["images"].shape == (2, 3, 5, 7)
    assert out["images"][1, :, :3, :3].eq(1).all()
    assert out["images"][1, :, 3:, :].eq(0).all() and out["images"][1, :, :, 3:].eq(0).all()
    assert out["semantic_masks"][1, 3:, :].eq(255).all() and out["semantic_masks"][1, :, 3:].eq(255).all()
    assert out["semantic_masks"][1, :3, :3].eq(1).all()


# ---------------------------------------------------------------- oriented boxes


def test_padded_boxes_collate_keeps_oriented_boxes_in_the_first_samples_format() -> None:
    """``XYWHR`` boxes fill ``(B, M, 5)`` as they are; ``CXCYWHR`` ones of the next sample are converted to it."""
    xywhr = tv_tensors.BoundingBoxes(
        torch.tensor([[1.0, 2.0, 4.0, 2.0, 0.0], [3.0, 3.0, 2.0, 2.0, 90.0]]),
        format="XYWHR",
        canvas_size=(8, 8),
    )
    cxcywhr = tv_tensors.BoundingBoxes(
        torch.tensor([[3.0, 3.0, 4.0, 2.0, 0.0]]), format="CXCYWHR", canvas_size=(8, 8)
    )
    out = padded_boxes_collate(
        [(picture(), {"boxes": xywhr, "labels": [1, 2]}), (picture(), {"boxes": cxcywhr, "labels": [3]})]
    )
    assert out["box_format"] == "xywhr"
    assert out["boxes"].shape == (2, 2, 5)
    assert out["boxes"][0].tolist() == [[1.0, 2.0, 4.0, 2.0, 0.0], [3.0, 3.0, 2.0, 2.0, 90.0]]
    assert out["boxes"][1].tolist() == [[1.0, 2.0, 4.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    assert out["labels"].tolist() == [[1, 2], [3, -1]]


def test_yolo_collate_of_empty_oriented_boxes_is_a_seven_column_table() -> None:
    """Samples that carry empty oriented boxes give a ``(0, 7)`` float32 table (the OBB layout)."""
    empty = tv_tensors.BoundingBoxes(torch.zeros(0, 5), format="XYWHR", canvas_size=(8, 8))
    _, table = yolo_collate([(picture(), {"boxes": empty}), (picture(), {})])
    assert table.shape == (0, 7)
    assert table.dtype == torch.float32


def test_yolo_obb_rows_are_the_float32_nearest_the_exact_values() -> None:
    """An ``XYWHR`` box's row is ultralytics' normalised xywhr, each number the float32 nearest the exact one.

    The box (10, 20, 8, 4) turned 30 degrees counter-clockwise has its centre at (11 + 2 sqrt 3, 18 + sqrt 3),
    the width side along (cos 30, -sin 30); ultralytics' angle is -30 degrees in radians.
    """
    height, width = 30, 30
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor([[10.0, 20.0, 8.0, 4.0, 30.0]]), format="XYWHR", canvas_size=(30, 30)
    )
    _, table = yolo_collate([(picture(height, width), {"boxes": boxes, "labels": [3]})], first_label=1)
    exact = [
        0.0,
        2.0,
        (11 + 2 * math.sqrt(3)) / width,
        (18 + math.sqrt(3)) / height,
        8 / width,
        4 / height,
        -math.pi / 6,
    ]
    assert table.dtype == torch.float32
    assert torch.equal(table, torch.tensor([exact], dtype=torch.float32))


def test_yolo_obb_square_keeps_its_angle() -> None:
    """A square has no longer side: its width and angle stay as given (no quarter turn)."""
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor([[4.0, 4.0, 2.0, 2.0, -20.0]]), format="CXCYWHR", canvas_size=(8, 8)
    )
    _, table = yolo_collate([(picture(), {"boxes": boxes, "labels": [0]})])
    assert table[0, 2:6].tolist() == [0.5, 0.5, 0.25, 0.25]
    assert table[0, 6].item() == pytest.approx(math.radians(20.0), abs=1e-6)


@given(
    side=st.floats(1.0, 6.0),
    ratio=st.floats(0.2, 5.0),
    degrees=st.floats(-360.0, 360.0),
)
@settings(max_examples=40, deadline=None)
def test_yolo_obb_width_is_the_longer_side_and_the_angle_in_range(
    side: float, ratio: float, degrees: float
) -> None:
    """Whatever the box, ``w >= h`` and the angle lies in ``[-pi/4, 3pi/4)``, as ultralytics' ``xyxyxyxy2xywhr``."""
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor([[16.0, 16.0, side, side * ratio, degrees]]), format="CXCYWHR", canvas_size=(32, 32)
    )
    _, table = yolo_collate([(picture(32, 32), {"boxes": boxes, "labels": [0]})])
    w, h, angle = table[0, 4:].tolist()
    assert w >= h
    assert -math.pi / 4 - 1e-6 <= angle < 3 * math.pi / 4 + 1e-6
    assert sorted([w * 32, h * 32]) == pytest.approx(sorted([side, side * ratio]), rel=1e-5)


def test_yolo_obb_rows_follow_the_boxes_device_when_labels_are_elsewhere() -> None:
    """Labels on another device than the oriented boxes (on the CPU, boxes on the GPU) still give a table."""
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor([[1.0, 1.0, 4.0, 2.0, 0.0]], device=META), format="XYWHR", canvas_size=(8, 8)
    )
    _, table = yolo_collate([(picture(device=META), {"boxes": boxes, "labels": torch.tensor([1])})])
    assert table.device == META
    assert table.shape == (1, 7)


# ---------------------------------------------------------------- yolo tables


def test_yolo_rows_follow_the_boxes_device_when_labels_and_keypoints_are_elsewhere() -> None:
    """Labels and keypoints on the CPU with boxes on another device give one table on the boxes' device."""
    target = {
        "boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0]], device=META),
        "labels": torch.tensor([1]),
        "keypoints": torch.zeros(1, 2, 3),
    }
    _, table = yolo_collate([(picture(device=META), target)])
    assert table.device == META
    assert table.shape == (1, 12)


def test_yolo_table_is_float32_for_float64_boxes_and_keypoints() -> None:
    """float64 boxes and keypoints give a float32 table with the same numbers."""
    target = {
        "boxes": torch.tensor([[0.0, 0.0, 4.0, 2.0]], dtype=torch.float64),
        "labels": torch.tensor([2]),
        "keypoints": torch.tensor([[[2.0, 1.0, 2.0]]], dtype=torch.float64),
    }
    _, table = yolo_collate([(picture(), target)])
    assert table.dtype == torch.float32
    assert table.tolist() == [[0.0, 2.0, 0.25, 0.125, 0.5, 0.25, 0.25, 0.125, 2.0]]


def test_yolo_class_column_is_label_minus_first_label_for_large_ids() -> None:
    """The class column is ``label - first_label`` (rounded once to float32), also for ids above 2**24."""
    target = {"boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]]), "labels": torch.tensor([2**24 + 1])}
    _, table = yolo_collate([(picture(), target)], first_label=1)
    assert table[0, 1].item() == 2.0**24


# ---------------------------------------------------------------- to_device


class Recorded(torch.Tensor):
    """A tensor that records the ``non_blocking`` of each ``.to`` copy made of it (into ``flags``)."""

    flags: ClassVar[list[bool]] = []

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.Tensor.to:
            positional = [arg for arg in args[1:] if isinstance(arg, bool)]
            cls.flags.append(kwargs.get("non_blocking", positional[0] if positional else False))
        return super().__torch_function__(func, types, args, kwargs)


Pair = namedtuple("Pair", ["left", "right"])


@pytest.mark.parametrize("non_blocking", [True, False])
def test_to_device_passes_non_blocking_to_every_copy(non_blocking: bool) -> None:
    """Every tensor of a nested batch is copied with the ``non_blocking`` asked for (True by default)."""

    def tensor() -> Recorded:
        return torch.zeros(2).as_subclass(Recorded)

    batch = {
        "direct": tensor(),
        "list": [tensor(), (tensor(),)],
        "collated": CollatedBatch([tensor(), {"labels": tensor()}], skipped=1),
        "named": Pair(tensor(), tensor()),
    }
    Recorded.flags = []
    moved = to_device(batch, "cpu", non_blocking) if not non_blocking else to_device(batch, "cpu")
    assert Recorded.flags == [non_blocking] * 7
    assert moved["collated"].skipped == 1
    assert isinstance(moved["named"], Pair)


def test_to_device_of_a_plain_dict_is_a_new_plain_dict() -> None:
    """A plain dict comes back as a new plain dict with every tensor moved; the input is unchanged."""
    batch = {"images": torch.zeros(1, 3, 2, 2), "skipped": 0}
    moved = to_device(batch, META)
    assert type(moved) is dict
    assert moved is not batch
    assert moved["images"].device == META
    assert batch["images"].device.type == "cpu"
    assert moved["skipped"] == 0

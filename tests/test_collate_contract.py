"""What every collate promises about boxes and labels (issue 26).

First the four run-time defects the review found, each with the input that showed it; then the
consolidations: one box shape check shared with ``visiondata.boxes``, ``int64`` labels always, one
shape for "no boxes", and ``padded_boxes_collate``'s ``size_divisor`` and padding ``mask``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors

from visiondata.boxes import validate_boxes
from visiondata.boxes._validate import check_box_shape
from visiondata.collate import detection_collate, padded_boxes_collate, padded_collate, yolo_collate
from visiondata.exceptions import InvalidBoxesError

Collate = Callable[..., Any]
COLLATES: list[Collate] = [detection_collate, padded_collate, yolo_collate, padded_boxes_collate]
#: The layouts that hand each sample's target dict back (their labels are the target's own).
TARGET_COLLATES: list[Collate] = [detection_collate, padded_collate]

INTEGER_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
NUMPY_INTEGER_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32]

# ---------------------------------------------------------------- helpers


def picture(height: int = 8, width: int = 8) -> tv_tensors.Image:
    """A float image: the collates only read its size."""
    return tv_tensors.Image(torch.zeros(3, height, width))


def boxed(rows: list[list[float]], height: int = 8, width: int = 8) -> tv_tensors.BoundingBoxes:
    return tv_tensors.BoundingBoxes(
        torch.tensor(rows, dtype=torch.float32).reshape(len(rows), 4),
        format="XYXY",
        canvas_size=(height, width),
    )


def good(height: int = 8, width: int = 8) -> tuple[Any, dict[str, Any]]:
    """A sample with one box of class 4."""
    return picture(height, width), {"boxes": boxed([[0.0, 0.0, 2.0, 2.0]], height, width), "labels": [4]}


def targets_of(collate: Collate, batch: list[Any]) -> list[dict[str, Any]]:
    out = collate(batch)
    return out[1] if collate is detection_collate else out["targets"]


def per_sample_labels(collate: Collate, batch: list[Any]) -> Iterator[torch.Tensor]:
    """The labels each sample ends up with in ``collate``'s layout (yolo's class column, without padding)."""
    out = collate(batch)
    if collate is yolo_collate:
        for position in range(len(batch)):
            yield out[1][out[1][:, 0] == position, 1]
    elif collate is padded_boxes_collate:
        for row, valid in zip(out["labels"], out["valid"], strict=True):
            yield row[valid]
    else:
        for target in out[1] if collate is detection_collate else out["targets"]:
            yield target["labels"]


# ---------------------------------------------------------------- the four defects


@pytest.mark.parametrize("collate", TARGET_COLLATES, ids=lambda f: f.__name__)
def test_defect_int32_labels_come_out_int64(collate: Collate) -> None:
    # Before: a non-empty int32 tensor passed through as int32 although the docstring promises int64.
    sample = (
        picture(),
        {"boxes": boxed([[0, 0, 2, 2], [1, 1, 4, 4]]), "labels": torch.tensor([3, 1], dtype=torch.int32)},
    )
    (target,) = targets_of(collate, [sample])
    assert target["labels"].dtype == torch.int64
    assert target["labels"].tolist() == [3, 1]


def test_defect_padded_boxes_collate_counts_boxes_from_the_boxes() -> None:
    # Before: the slots were counted from the labels' first dimension and filled with labels[:count]: labels
    # of shape (1, 2) for one box (two class ids for one object) raised torch's raw "expanded size" error,
    # and (2, 1) labels for two boxes (one class id per box, as a column) raised too.
    column = (picture(), {"boxes": boxed([[0, 0, 2, 2], [1, 1, 4, 4]]), "labels": torch.tensor([[5], [6]])})
    out = padded_boxes_collate([good(), column])
    assert out["valid"].tolist() == [[True, False], [True, True]]
    assert out["labels"].tolist() == [[4, -1], [5, 6]]
    two_ids = (picture(), {"boxes": boxed([[0, 0, 2, 2]]), "labels": torch.tensor([[5, 6]])})
    with pytest.raises(InvalidBoxesError) as error:
        padded_boxes_collate([good(), two_ids])
    message = str(error.value)
    assert message.startswith("padded_boxes_collate: sample 1 of the batch: labels: expected shape (N,)")
    assert "got (1, 2)" in message and "one class id per box" in message


def test_defect_yolo_collate_names_a_label_that_does_not_fit_the_boxes() -> None:
    # Before: torch's raw "Sizes of tensors must match except in dimension 1" from the row concatenation.
    two_ids = (picture(), {"boxes": boxed([[0, 0, 2, 2]]), "labels": torch.tensor([[5, 6]])})
    with pytest.raises(InvalidBoxesError) as error:
        yolo_collate([good(), two_ids])
    message = str(error.value)
    assert message.startswith("yolo_collate: sample 1 of the batch: labels: expected shape (N,)")
    assert "got (1, 2)" in message
    assert "Sizes of tensors" not in message


@pytest.mark.parametrize("collate", COLLATES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["numpy", "list"])
def test_defect_a_2_by_6_box_array_is_refused_not_read_as_three_boxes(collate: Collate, kind: str) -> None:
    # Before: np.asarray(boxes).reshape(-1, 4) turned two rows of six numbers into three "boxes".
    rows = np.arange(12, dtype=np.float32).reshape(2, 6)
    sample = (picture(), {"boxes": rows if kind == "numpy" else rows.tolist(), "labels": [1, 2, 3]})
    with pytest.raises(InvalidBoxesError) as error:
        collate([good(), sample])
    message = str(error.value)
    assert message.startswith(
        f"{collate.__name__}: sample 1 of the batch: boxes: expected shape (N, 4), got (2, 6)"
    )


# ---------------------------------------------------------------- one box shape check, shared with boxes


@pytest.mark.parametrize(
    "given_boxes",
    [
        np.zeros((2, 6), dtype=np.float32),
        torch.zeros((2, 6)),
        torch.zeros((1, 2, 4)),
        [0.0, 0.0, 2.0, 2.0],  # one box, flat: was silently read as (1, 4)
        [0.0, 0.0, 2.0, 2.0, 1.0, 1.0, 3.0, 3.0],  # two boxes, flat: was silently read as (2, 4)
        np.zeros((3, 0), dtype=np.float32),  # three rows of nothing: was silently read as no boxes
    ],
    ids=["numpy-2x6", "tensor-2x6", "tensor-1x2x4", "flat-4", "flat-8", "numpy-3x0"],
)
@pytest.mark.parametrize("collate", COLLATES, ids=lambda f: f.__name__)
def test_the_collates_and_validate_boxes_refuse_the_same_shapes_with_one_check(
    collate: Collate, given_boxes: Any
) -> None:
    with pytest.raises(InvalidBoxesError) as from_check:
        check_box_shape(given_boxes)
    shape = re.search(r"got (\([0-9, ]*\))", str(from_check.value)).group(1)
    with pytest.raises(InvalidBoxesError, match=re.escape(f"got {shape}")):
        validate_boxes(given_boxes)
    with pytest.raises(InvalidBoxesError) as from_collate:
        collate([(picture(), {"boxes": given_boxes, "labels": [1]})])
    # The shared check's words, after the sample is named.
    assert str(from_collate.value) == f"{collate.__name__}: sample 0 of the batch: {from_check.value}"


def test_a_single_flat_box_is_refused_with_the_way_to_give_it() -> None:
    with pytest.raises(InvalidBoxesError, match=re.escape("got (4,); a single box is boxes[None]")):
        detection_collate([(picture(), {"boxes": [0.0, 0.0, 2.0, 2.0], "labels": [1]})])


def test_plain_five_column_boxes_still_name_the_oriented_types() -> None:
    with pytest.raises(
        InvalidBoxesError, match=r"got \(1, 5\); oriented boxes travel as a tv_tensors.BoundingBoxes"
    ):
        detection_collate([(picture(), {"boxes": np.zeros((1, 5)), "labels": [1]})])


def test_oriented_boxes_of_the_wrong_width_are_refused_naming_their_format() -> None:
    # A BoundingBoxes declares its format, so its width is that format's: 5 columns for CXCYWHR.
    turned = tv_tensors.BoundingBoxes(torch.zeros((1, 5)), format="CXCYWHR", canvas_size=(8, 8))
    wrong = turned.as_subclass(torch.Tensor)[:, :4].contiguous()
    bad = tv_tensors.wrap(wrong, like=turned)
    with pytest.raises(InvalidBoxesError) as error:
        detection_collate([(picture(), {"boxes": bad, "labels": [1]})])
    assert str(error.value).startswith(
        "detection_collate: sample 0 of the batch: boxes: expected shape (N, 5)"
    )
    assert "cxcywhr" in str(error.value).lower() and "got (1, 4)" in str(error.value)


@pytest.mark.parametrize("collate", COLLATES, ids=lambda f: f.__name__)
def test_every_collate_names_the_sample_whose_label_count_differs(collate: Collate) -> None:
    bad = (picture(), {"boxes": boxed([[0, 0, 2, 2], [1, 1, 3, 3]]), "labels": [1, 2, 3]})
    with pytest.raises(InvalidBoxesError) as error:
        collate([good(), good(), bad])
    message = str(error.value)
    assert message == (
        f"{collate.__name__}: sample 2 of the batch: labels: expected one row per box (2 boxes), got 3; boxes and "
        "labels must describe the same objects in the same order: fix the annotation (or the step that changed "
        "one without the other)"
    )


# ---------------------------------------------------------------- int64 labels, always


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dtype=st.sampled_from(INTEGER_DTYPES + NUMPY_INTEGER_DTYPES + ["list", "float-whole", "column"]),
    values=st.lists(st.integers(0, 120), min_size=0, max_size=5),
    collate=st.sampled_from(TARGET_COLLATES),
)
def test_labels_are_int64_with_the_same_values_for_every_integer_input(
    dtype: Any, values: list[int], collate: Collate
) -> None:
    if dtype == "list":
        labels: Any = list(values)
    elif dtype == "float-whole":  # whole numbers stored as floats: class ids all the same
        labels = torch.tensor(values, dtype=torch.float32)
    elif dtype == "column":  # (N, 1): one class id per box, as ultralytics' "cls"
        labels = torch.tensor(values, dtype=torch.int64).reshape(-1, 1)
    elif isinstance(dtype, torch.dtype):
        labels = torch.tensor(values, dtype=dtype)
    else:
        labels = np.asarray(values, dtype=dtype)
    rows = [[0.0, 0.0, 1.0 + i, 1.0 + i] for i in range(len(values))]
    (target,) = targets_of(collate, [(picture(), {"boxes": boxed(rows) if rows else None, "labels": labels})])
    assert target["labels"].dtype == torch.int64
    assert target["labels"].shape == (len(values),)
    assert target["labels"].tolist() == values


@pytest.mark.parametrize("collate", COLLATES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("labels", "shown"),
    [([1.5], "1.5"), (torch.tensor([float("nan")]), "nan"), (["cat"], "cat")],
    ids=["fraction", "nan", "text"],
)
def test_labels_that_are_not_class_ids_are_refused_naming_the_sample(
    collate: Collate, labels: Any, shown: str
) -> None:
    # Before: float labels passed through detection_collate as floats, and padded_boxes_collate cut 1.5 to 1.
    with pytest.raises(InvalidBoxesError) as error:
        collate([good(), (picture(), {"boxes": boxed([[0, 0, 2, 2]]), "labels": labels})])
    message = str(error.value)
    assert message.startswith(
        f"{collate.__name__}: sample 1 of the batch: labels: expected integer class ids"
    )
    assert shown in message


def test_int64_labels_are_passed_on_as_they_are() -> None:
    labels = torch.tensor([2, 3])
    _, targets = detection_collate(
        [(picture(), {"boxes": boxed([[0, 0, 2, 2], [1, 1, 3, 3]]), "labels": labels})]
    )
    assert targets[0]["labels"] is labels


# ---------------------------------------------------------------- a batch's boxes are the samples' boxes


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    kind=st.sampled_from(["bounding_boxes", "tensor", "numpy", "list"]),
)
def test_a_batch_holds_every_box_of_its_samples_once(counts: list[int], kind: str) -> None:
    batch = []
    for position, count in enumerate(counts):
        rows = [[float(i), float(position), float(i) + 2.0, float(position) + 3.0] for i in range(count)]
        given_boxes: Any = {
            "bounding_boxes": boxed(rows, 16, 16),
            "tensor": torch.tensor(rows, dtype=torch.float32).reshape(count, 4),
            "numpy": np.asarray(rows, dtype=np.float64).reshape(count, 4),
            "list": rows,
        }[kind]
        labels = list(range(position, position + count))
        batch.append((picture(16, 16), {"boxes": given_boxes, "labels": labels}))
    dense = padded_boxes_collate(batch)
    assert dense["valid"].sum(dim=1).tolist() == counts
    assert dense["boxes"].shape == (len(counts), max(counts), 4)
    _, table = yolo_collate(batch)
    assert len(table) == sum(counts)
    assert torch.bincount(table[:, 0].long(), minlength=len(counts)).tolist() == counts
    _, targets = detection_collate(batch)
    assert [len(target["boxes"]) for target in targets] == counts
    for collate in COLLATES:
        got = [labels.tolist() for labels in per_sample_labels(collate, batch)]
        assert got == [list(range(p, p + c)) for p, c in enumerate(counts)], collate.__name__


# ---------------------------------------------------------------- empty batches, one shape


EMPTY_TARGETS = [
    {},  # no boxes key
    {"boxes": None, "labels": None},
    {"boxes": [], "labels": []},
    {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, dtype=np.int32)},
    {"boxes": torch.zeros((0, 4), dtype=torch.float64), "labels": torch.zeros(0)},
    {"boxes": torch.zeros((0, 4), dtype=torch.int64)},
    {"boxes": tv_tensors.BoundingBoxes(torch.zeros((0, 4)), format="XYWH", canvas_size=(8, 8))},
]
EMPTY_IDS = ["no-key", "none", "lists", "numpy", "float64", "int64", "xywh"]


@pytest.mark.parametrize("empty", EMPTY_TARGETS, ids=EMPTY_IDS)
@pytest.mark.parametrize("collate", TARGET_COLLATES, ids=lambda f: f.__name__)
def test_an_image_without_boxes_gets_xyxy_float32_0_by_4_boxes_and_int64_labels(
    collate: Collate, empty: dict[str, Any]
) -> None:
    (target,) = targets_of(collate, [(picture(8, 12), dict(empty))])
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
    assert target["boxes"].shape == (0, 4) and target["boxes"].dtype == torch.float32
    assert target["boxes"].format.name == "XYXY" and target["boxes"].canvas_size == (8, 12)
    assert target["labels"].shape == (0,) and target["labels"].dtype == torch.int64


@pytest.mark.parametrize("empty", EMPTY_TARGETS, ids=EMPTY_IDS)
def test_a_batch_without_any_box_has_zero_rows_in_every_layout(empty: dict[str, Any]) -> None:
    batch = [(picture(), dict(empty)), (picture(), dict(empty))]
    _, table = yolo_collate(batch)
    assert table.shape == (0, 6) and table.dtype == torch.float32
    dense = padded_boxes_collate(batch)
    assert dense["boxes"].shape == (2, 0, 4) and dense["boxes"].dtype == torch.float32
    assert dense["labels"].shape == (2, 0) and dense["labels"].dtype == torch.int64
    assert dense["valid"].shape == (2, 0) and dense["valid"].dtype == torch.bool
    assert dense["box_format"] == "xyxy"


@pytest.mark.filterwarnings("ignore::visiondata.exceptions.SkippedSampleWarning")
def test_the_empty_shapes_do_not_follow_torch_default_dtype() -> None:
    # Before: "no boxes" was torch.zeros((0, 4)), float64 under torch.set_default_dtype(torch.float64),
    # while the same image with boxes from a list got float32.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _, targets = detection_collate([(picture(), {})])
        _, table = yolo_collate([(picture(), {})])
        _, no_images = yolo_collate([None], skip_none=True)
        padded = padded_collate([None], skip_none=True)
    finally:
        torch.set_default_dtype(previous)
    assert targets[0]["boxes"].dtype == torch.float32
    assert table.dtype == torch.float32 and no_images.dtype == torch.float32
    assert padded["images"].dtype == torch.float32


@pytest.mark.filterwarnings("ignore::visiondata.exceptions.SkippedSampleWarning")
def test_a_batch_of_only_skipped_samples_has_zero_images_in_one_shape() -> None:
    # Before: yolo_collate gave torch.zeros(0), shape (0,), where the padded layouts give (0, 0, 0, 0).
    nothing = [None, None]
    images, table = yolo_collate(nothing, skip_none=True)
    assert images.shape == (0, 0, 0, 0) and images.dtype == torch.float32
    assert table.shape == (0, 6)
    for collate in (padded_collate, padded_boxes_collate):
        out = collate(nothing, skip_none=True)
        assert out["images"].shape == (0, 0, 0, 0) and out["images"].dtype == torch.float32
        assert out["mask"].shape == (0, 0, 0) and out["image_sizes"] == [] and out["skipped"] == 2
    dense = padded_boxes_collate(nothing, skip_none=True)
    assert dense["boxes"].shape == (0, 0, 4) and dense["labels"].shape == (0, 0)
    images, targets = detection_collate(nothing, skip_none=True)
    assert images == [] and targets == []


# ---------------------------------------------------------------- padded_boxes_collate: size_divisor and mask


def test_padded_boxes_collate_rounds_the_padded_size_up_to_size_divisor() -> None:
    batch = [good(30, 40), (picture(50, 20), {})]
    out = padded_boxes_collate(batch, size_divisor=32)
    assert out["images"].shape == (2, 3, 64, 64)
    assert out["image_sizes"] == [(30, 40), (50, 20)]
    assert out["boxes"].tolist() == [[[0.0, 0.0, 2.0, 2.0]], [[0.0, 0.0, 0.0, 0.0]]]  # boxes need no change
    assert padded_boxes_collate(batch)["images"].shape == (
        2,
        3,
        50,
        40,
    )  # the default: no rounding, as before


def test_padded_boxes_collate_mask_is_true_exactly_on_the_padding() -> None:
    batch = [good(3, 4), (picture(2, 5), {})]
    mask = padded_boxes_collate(batch, size_divisor=3)["mask"]
    assert mask.dtype == torch.bool
    assert mask.int().tolist() == [
        [[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1]],
        [[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]],
    ]
    assert torch.equal(mask, padded_collate(batch, size_divisor=3)["mask"])


def test_padded_boxes_collate_keeps_its_keys_and_adds_the_mask() -> None:
    out = padded_boxes_collate([good()])
    assert set(out) == {
        "images",
        "mask",
        "image_sizes",
        "boxes",
        "box_format",
        "labels",
        "valid",
        "truncated",
        "skipped",
    }
    assert out["mask"].shape == (1, 8, 8) and not out["mask"].any()


@pytest.mark.parametrize("size_divisor", [0, -32, 1.5, "32"])
def test_padded_boxes_collate_refuses_a_bad_size_divisor(size_divisor: Any) -> None:
    with pytest.raises(ValueError, match=r"size_divisor: expected a positive int"):
        padded_boxes_collate([good()], size_divisor=size_divisor)


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.integers(1, 20), st.integers(1, 20)), min_size=1, max_size=3),
    size_divisor=st.integers(1, 9),
)
def test_padded_boxes_collate_pads_to_a_multiple_and_masks_only_the_padding(
    sizes: list[tuple[int, int]], size_divisor: int
) -> None:
    out = padded_boxes_collate([(picture(h, w), {}) for h, w in sizes], size_divisor=size_divisor)
    height, width = out["images"].shape[-2:]
    assert height % size_divisor == 0 and width % size_divisor == 0
    assert (
        height - max(h for h, _ in sizes) < size_divisor and width - max(w for _, w in sizes) < size_divisor
    )
    for position, (h, w) in enumerate(sizes):
        assert not out["mask"][position, :h, :w].any()
        assert int(out["mask"][position].sum()) == height * width - h * w


def test_the_collates_the_pipeline_and_the_drawing_word_a_label_count_mismatch_the_same_way() -> None:
    """One check (visiondata._sample.check_one_row_per_box) words the mismatch for every reader of samples."""
    from visiondata.transforms import BoxPipeline
    from visiondata.viz import draw_boxes

    image = torch.zeros(3, 16, 16, dtype=torch.uint8)
    boxes = torch.tensor([[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 9.0, 9.0]])
    labels = torch.tensor([1, 2, 3])
    messages = []
    for run in (
        lambda: detection_collate([{"image": image, "boxes": boxes, "labels": labels}]),
        lambda: BoxPipeline([])({"image": image, "boxes": boxes, "labels": labels}),
        lambda: draw_boxes(image, boxes, labels=labels),
    ):
        with pytest.raises(InvalidBoxesError) as error:
            run()
        messages.append(str(error.value))
    fix = (
        "expected one row per box (2 boxes), got 3; boxes and labels must describe the same objects in the same "
        "order: fix the annotation (or the step that changed one without the other)"
    )
    assert messages == [
        f"detection_collate: sample 0 of the batch: labels: {fix}",
        f"labels: a per-box field, so {fix}",
        f"labels: {fix}",
    ]
